//! The credit worker: asks collections' `CheckCredit` for every order that
//! waits for a decision, and applies the answer. If collections cannot be
//! reached the order stays `pending_credit` and is asked again with
//! exponential backoff: it is never approved by default.

use std::time::Duration;

use futures::StreamExt;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::commands::orders::{CreditDecision, apply_credit_decision};
use crate::store::orders::{self, DueCreditCheck};
use otc_proto::collections::credit_service_client::CreditServiceClient;
use otc_proto::collections::{
    CheckCreditRequest, CheckCreditResponse, CreditDecision as WireDecision,
};
use otc_shared::TenantId;
use otc_shared::db;
use otc_shared::ids::OrderId;
use otc_shared::peers::PeerChannel;

const CHANNEL: &str = "otc_order_credit_check";
/// A claimed order is not claimed again for this long (a crashed worker's
/// claims come back after it).
const LEASE_MILLIS: i64 = 30_000;
/// Loops claiming, asking and recording batches side by side.
const PARALLEL_BATCHES: usize = 4;

#[derive(Clone)]
pub struct CreditChecker {
    pool: PgPool,
    peer: PeerChannel,
    batch_size: i64,
    concurrency: usize,
}

use otc_shared::peers::retry_backoff_millis as backoff_millis;

fn format_money(money: Option<&otc_proto::types::Money>) -> String {
    money.map_or_else(
        || "?".to_owned(),
        |money| format!("{} {}", money.amount, money.currency_code),
    )
}

fn decision_of(response: &CheckCreditResponse) -> Option<CreditDecision> {
    let figures = format!(
        "limit {}, open AR {}, unbilled orders {}, exposure {}",
        format_money(response.credit_limit.as_ref()),
        format_money(response.open_receivables.as_ref()),
        format_money(response.unbilled_orders.as_ref()),
        format_money(response.exposure.as_ref()),
    );
    match WireDecision::try_from(response.decision).ok()? {
        WireDecision::Approve => Some(CreditDecision::Approve {
            summary: format!("approved by collections: {figures}"),
        }),
        WireDecision::Hold => Some(CreditDecision::Hold {
            reason: if response.reason.is_empty() {
                format!("held by collections: {figures}")
            } else {
                format!("{} ({figures})", response.reason)
            },
        }),
        WireDecision::Unspecified => None,
    }
}

impl CreditChecker {
    pub fn new(pool: PgPool, peer: PeerChannel) -> Self {
        Self {
            pool,
            peer,
            batch_size: 50,
            concurrency: 32,
        }
    }

    /// Claims one order right away (the gRPC path, to answer with the
    /// decision); `false` if the worker already has it.
    pub async fn check_now(&self, order: OrderId) -> anyhow::Result<bool> {
        let mut tx = db::begin_for_all_tenants(&self.pool).await?;
        let claimed =
            orders::claim_due_credit_checks(&mut tx, Some(order), 1, LEASE_MILLIS).await?;
        tx.commit().await?;
        let Some(due) = claimed.into_iter().next() else {
            return Ok(false);
        };
        self.check(due).await;
        Ok(true)
    }

    async fn ask(
        &self,
        due: &DueCreditCheck,
        tenant: &TenantId,
    ) -> Result<CheckCreditResponse, tonic::Status> {
        let request = self.peer.request(
            tenant,
            CheckCreditRequest {
                customer_id: due.customer_id.to_string(),
                order_id: due.id.to_string(),
                order_amount: Some(otc_proto::types::Money {
                    amount: due.total.round_dp(6).normalize().to_string(),
                    currency_code: due.currency.clone(),
                }),
            },
        )?;
        let mut client = CreditServiceClient::new(self.peer.channel.clone());
        Ok(client.check_credit(request).await?.into_inner())
    }

    /// Asks collections about one claimed order and records the outcome.
    async fn check(&self, due: DueCreditCheck) {
        let span = tracing::info_span!("credit_check", order_id = %due.id, tenant = %due.tenant);
        let outcome = self.ask_outcome(&due).instrument(span.clone()).await;
        if let Err(error) = self.record_one(&due, &outcome).instrument(span).await {
            // The lease runs out and the order is claimed again.
            tracing::warn!(
                error = format!("{error:#}"),
                "could not record the credit check outcome"
            );
        }
    }

    /// Collections' decision, or why there is none.
    async fn ask_outcome(&self, due: &DueCreditCheck) -> Result<CreditDecision, String> {
        let tenant =
            TenantId::parse(&due.tenant).map_err(|error| format!("stored tenant: {error}"))?;
        match self.ask(due, &tenant).await {
            Ok(response) => {
                decision_of(&response).ok_or_else(|| "collections gave no decision".to_owned())
            }
            Err(status) => Err(format!(
                "collections unavailable ({:?}): {}",
                status.code(),
                status.message()
            )),
        }
    }

    /// Records one outcome inside `tx`: the decision, or a retry later.
    async fn record_in(
        tx: &mut crate::store::customers::Tx,
        due: &DueCreditCheck,
        outcome: &Result<CreditDecision, String>,
    ) -> anyhow::Result<()> {
        let tenant = TenantId::parse(&due.tenant)?;
        db::set_tenant(tx, tenant.as_str()).await?;
        match outcome {
            Ok(decision) => {
                apply_credit_decision(tx, &tenant, due.id, due.revision, decision).await?;
            }
            Err(reason) => {
                let delay = backoff_millis(due.attempts);
                tracing::warn!(order_id = %due.id, %reason, retry_in_millis = delay, "credit check failed; the order stays pending");
                orders::postpone_credit_check(
                    tx,
                    due.id,
                    delay,
                    &format!("credit check failed: {reason}; retrying"),
                )
                .await?;
            }
        }
        Ok(())
    }

    fn count(outcome: &Result<CreditDecision, String>) {
        match outcome {
            Ok(CreditDecision::Approve { .. }) => {
                metrics::counter!("otc_order_credit_decisions_total", "decision" => "approve")
                    .increment(1);
            }
            Ok(CreditDecision::Hold { .. }) => {
                metrics::counter!("otc_order_credit_decisions_total", "decision" => "hold")
                    .increment(1);
            }
            Err(_) => metrics::counter!("otc_order_credit_check_failures_total").increment(1),
        }
    }

    async fn record_one(
        &self,
        due: &DueCreditCheck,
        outcome: &Result<CreditDecision, String>,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        Self::record_in(&mut tx, due, outcome).await?;
        tx.commit().await?;
        Self::count(outcome);
        Ok(())
    }

    /// Claims and checks one batch; how many orders it claimed. The answers
    /// are recorded in one transaction (one commit for the batch); if that
    /// fails, order by order.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let mut tx = db::begin_for_all_tenants(&self.pool).await?;
        let due =
            orders::claim_due_credit_checks(&mut tx, None, self.batch_size, LEASE_MILLIS).await?;
        tx.commit().await?;
        let claimed = due.len();
        if claimed == 0 {
            return Ok(0);
        }
        let answers: Vec<(DueCreditCheck, Result<CreditDecision, String>)> = futures::stream::iter(
            due,
        )
        .map(|due| async move {
            let span =
                tracing::info_span!("credit_check", order_id = %due.id, tenant = %due.tenant);
            let outcome = self.ask_outcome(&due).instrument(span).await;
            (due, outcome)
        })
        .buffer_unordered(self.concurrency)
        .collect()
        .await;
        let together = async {
            let mut tx = self.pool.begin().await?;
            for (due, outcome) in &answers {
                Self::record_in(&mut tx, due, outcome).await?;
            }
            tx.commit().await?;
            anyhow::Ok(())
        };
        match together.await {
            Ok(()) => answers.iter().for_each(|(_, outcome)| Self::count(outcome)),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "recording the batch failed; recording order by order"
                );
                for (due, outcome) in &answers {
                    if let Err(error) = self.record_one(due, outcome).await {
                        tracing::warn!(order_id = %due.id, error = format!("{error:#}"), "could not record the credit check outcome");
                    }
                }
            }
        }
        Ok(claimed)
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot open a LISTEN connection; polling only");
                return None;
            }
        };
        match listener.listen(CHANNEL).await {
            Ok(()) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN; polling only");
                None
            }
        }
    }

    /// Works until shutdown: woken by `pg_notify` when an order is placed or
    /// a hold may be lifted, and every second for retries that fall due.
    /// `PARALLEL_BATCHES` loops claim, ask and record side by side, each at
    /// its own pace (SKIP LOCKED keeps their claims apart), so that while one
    /// waits for collections another records its answers.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut listener = self.listen().await;
        tracing::info!(peer = %self.peer.callee, "credit worker started");
        // Every notification bumps the value; each loop sees a bump it has
        // not seen yet even if it came while the loop was busy.
        let (wake, woken) = tokio::sync::watch::channel(0_u64);
        let loops: Vec<_> = (0..PARALLEL_BATCHES)
            .map(|_| {
                let this = self.clone();
                let shutdown = shutdown.clone();
                let mut woken = woken.clone();
                tokio::spawn(async move { this.work(&shutdown, &mut woken).await })
            })
            .collect();
        drop(woken);
        loop {
            match listener.as_mut() {
                Some(connection) => tokio::select! {
                    () = shutdown.cancelled() => break,
                    notification = connection.recv() => {
                        wake.send_modify(|count| *count = count.wrapping_add(1));
                        if let Err(error) = notification {
                            // It reconnects on the next call; while the
                            // database is away that fails at once, so pause
                            // (the loops poll every second meanwhile).
                            tracing::debug!(%error, "LISTEN connection lost; it reconnects");
                            tokio::select! {
                                () = shutdown.cancelled() => break,
                                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                            }
                        }
                    }
                },
                None => {
                    shutdown.cancelled().await;
                    break;
                }
            }
        }
        for worker in loops {
            if let Err(error) = worker.await {
                tracing::warn!(%error, "a credit worker loop ended abnormally");
            }
        }
        tracing::info!("credit worker stopped");
        Ok(())
    }

    /// One loop of the worker: a batch as long as batches come full, then
    /// a wait for a notification or a second.
    async fn work(
        &self,
        shutdown: &CancellationToken,
        woken: &mut tokio::sync::watch::Receiver<u64>,
    ) {
        while !shutdown.is_cancelled() {
            let full = match self.run_once().await {
                Ok(claimed) => i64::try_from(claimed).unwrap_or(i64::MAX) >= self.batch_size,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "credit worker: batch failed");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                changed = woken.changed() => {
                    if changed.is_err() {
                        // The notifier is gone: poll once a second.
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
            }
        }
    }
}

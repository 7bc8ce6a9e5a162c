//! Runs the exception re-match for every tenant with a queue: soon after
//! the projections consumer brings in new open items (a receipt that came
//! before its invoice is applied as soon as the invoice is known), and at
//! the latest every interval.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::commands::Actor;
use crate::commands::rematch::rematch_exceptions;
use crate::store::receipts;
use otc_shared::TenantId;

/// Receipts re-matched per tenant and transaction.
const BATCH: i64 = 200;
/// After new open items arrive, wait this long, so that their transaction
/// has committed and the items of a burst are matched in one round.
const SETTLE: Duration = Duration::from_millis(200);

pub struct ExceptionRematcher {
    pool: PgPool,
    interval: Duration,
    items_arrived: Arc<Notify>,
}

impl ExceptionRematcher {
    /// `items_arrived` is notified by the projections consumer when it
    /// applied an invoice or a debit note.
    pub fn new(pool: PgPool, interval_seconds: u64, items_arrived: Arc<Notify>) -> Self {
        Self {
            pool,
            interval: Duration::from_secs(interval_seconds.max(1)),
            items_arrived,
        }
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(self.interval) => {}
                () = self.items_arrived.notified() => {
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = tokio::time::sleep(SETTLE) => {}
                    }
                }
            }
            // Round after round while a tenant's batch comes full.
            loop {
                match self.run_once().await {
                    Ok((_, true)) if !shutdown.is_cancelled() => {}
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(%error, "exception re-match failed; retrying at the next interval");
                        break;
                    }
                }
            }
        }
    }

    /// One round over every tenant with a queue: receipts applied, and
    /// whether a tenant's batch came full (more may be waiting).
    pub async fn run_once(&self) -> anyhow::Result<(usize, bool)> {
        let mut tx = otc_shared::db::begin_for_all_tenants(&self.pool).await?;
        let tenants = receipts::tenants_with_exceptions(&mut tx).await?;
        tx.commit().await?;
        let mut applied_total = 0;
        let mut full = false;
        for tenant in tenants {
            let tenant = TenantId::parse(&tenant)?;
            let actor = Actor::new(tenant.clone(), "system:cash-application");
            let mut tx = otc_shared::db::begin_for_tenant(&self.pool, &tenant).await?;
            let (matched, applied) = rematch_exceptions(&mut tx, &actor, BATCH).await?;
            tx.commit().await?;
            full |= i64::try_from(matched).unwrap_or(i64::MAX) >= BATCH;
            if matched > 0 {
                tracing::info!(%tenant, matched, applied, "exception queue matched again");
            }
            applied_total += applied;
        }
        Ok((applied_total, full))
    }
}

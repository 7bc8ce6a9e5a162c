//! The dispute resolver: asks billing's `IssueCreditNote` for every item of
//! a dispute in `resolution_pending` that has no credit note yet, outside
//! any transaction, then records what billing answered in a transaction of
//! its own. Each request carries `dispute:<dispute id>:<item id>` as its
//! idempotency key, so a retry after a crash or a lost answer never issues a
//! second note. If billing cannot be reached the dispute stays pending and
//! is claimed again with exponential backoff (the claim is a lease in the
//! database, so a crashed resolver's work comes back).

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::commands::Actor;
use crate::commands::disputes::{self, IssuedNote};
use crate::store::disputes::{self as store, DisputeItemRow, DisputeRow, DueResolution};
use otc_proto::billing::invoice_service_client::InvoiceServiceClient;
use otc_proto::billing::{IssueCreditNoteRequest, issue_credit_note_request::Scope};
use otc_shared::TenantId;
use otc_shared::db;
use otc_shared::money::column_to_proto as money;
use otc_shared::peers::PeerChannel;

/// A claimed dispute is not claimed again for this long.
const LEASE_MILLIS: i64 = 30_000;
const BATCH: i64 = 20;
pub const RESOLVER_ACTOR: &str = "system:dispute-resolution";

use otc_shared::peers::retry_backoff_millis as backoff_millis;

/// The idempotency key of the credit note of one item of a dispute.
pub fn credit_note_key(dispute_id: Uuid, item_id: Uuid) -> String {
    format!("dispute:{dispute_id}:{item_id}")
}

#[derive(Clone)]
pub struct DisputeResolver {
    pool: PgPool,
    peer: PeerChannel,
}

/// What one attempt achieved: the notes issued, and why it stopped short.
struct Attempt {
    issued: Vec<IssuedNote>,
    failure: Option<String>,
}

impl DisputeResolver {
    pub fn new(pool: PgPool, peer: PeerChannel) -> Self {
        Self { pool, peer }
    }

    /// Claims one dispute right away (the gRPC path); `false` if the
    /// resolver already has it.
    pub async fn resolve_now(&self, dispute_id: Uuid) -> anyhow::Result<bool> {
        let mut tx = db::begin_for_all_tenants(&self.pool).await?;
        let claimed = store::claim_due(&mut tx, Some(dispute_id), 1, LEASE_MILLIS).await?;
        tx.commit().await?;
        let Some(due) = claimed.into_iter().next() else {
            return Ok(false);
        };
        self.work(&due).await?;
        Ok(true)
    }

    async fn read(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> anyhow::Result<Option<(DisputeRow, Vec<DisputeItemRow>)>> {
        let mut tx = db::begin_for_tenant(&self.pool, tenant).await?;
        let Some(dispute) = store::get(&mut tx, id).await? else {
            return Ok(None);
        };
        let items = store::items(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Some((dispute, items)))
    }

    async fn ask(
        &self,
        tenant: &TenantId,
        dispute: &DisputeRow,
        item: &DisputeItemRow,
    ) -> Result<IssuedNote, tonic::Status> {
        // Everything in the request comes from stored data, so a retry is
        // the very same request (billing refuses a key reused for another).
        let request = self.peer.request(
            tenant,
            IssueCreditNoteRequest {
                idempotency_key: credit_note_key(dispute.id, item.item_id),
                invoice_id: item.item_id.to_string(),
                reason: format!("dispute {} ({})", dispute.id, dispute.reason_code),
                scope: Some(Scope::Amount(money(item.amount, &dispute.currency))),
            },
        )?;
        let mut client = InvoiceServiceClient::new(self.peer.channel.clone());
        let note = client.issue_credit_note(request).await?.into_inner();
        let credit_note_id = Uuid::parse_str(&note.invoice_id).map_err(|error| {
            tonic::Status::internal(format!(
                "billing answered a credit note id that is not a UUID: {error}"
            ))
        })?;
        Ok(IssuedNote {
            item_id: item.item_id,
            credit_note_id,
            number: note.number,
        })
    }

    async fn attempt(
        &self,
        tenant: &TenantId,
        dispute: &DisputeRow,
        items: &[DisputeItemRow],
    ) -> Attempt {
        let mut attempt = Attempt {
            issued: Vec::new(),
            failure: None,
        };
        for item in items.iter().filter(|item| item.credit_note_id.is_none()) {
            match self.ask(tenant, dispute, item).await {
                Ok(note) => attempt.issued.push(note),
                Err(status) => {
                    attempt.failure = Some(format!(
                        "billing did not issue the credit note for item {} ({:?}): {}",
                        item.item_id,
                        status.code(),
                        status.message()
                    ));
                    break;
                }
            }
        }
        attempt
    }

    /// Asks billing for one claimed dispute's notes and records the outcome.
    async fn work(&self, due: &DueResolution) -> anyhow::Result<()> {
        let tenant = TenantId::parse(&due.tenant)?;
        let Some((dispute, items)) = self.read(&tenant, due.id).await? else {
            return Ok(());
        };
        if dispute.state != "resolution_pending" {
            return Ok(());
        }
        let attempt = self.attempt(&tenant, &dispute, &items).await;
        let actor = Actor::new(tenant.clone(), RESOLVER_ACTOR);
        let mut tx = db::begin_for_tenant(&self.pool, &tenant).await?;
        let resolved = disputes::record_credit_notes(&mut tx, &actor, due.id, &attempt.issued)
            .await
            .map_err(|error| anyhow::anyhow!("recording the credit notes: {error}"))?;
        if !resolved {
            let reason = attempt
                .failure
                .unwrap_or_else(|| "some items have no credit note yet".to_owned());
            let delay = backoff_millis(due.attempts);
            tracing::warn!(dispute_id = %due.id, %reason, retry_in_millis = delay, "dispute resolution stays pending");
            store::postpone(&mut tx, due.id, delay, &reason).await?;
        }
        tx.commit().await?;
        if resolved {
            tracing::info!(dispute_id = %due.id, "dispute resolved by credit note");
        }
        Ok(())
    }

    /// Claims and works one batch; how many disputes it claimed.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let mut tx = db::begin_for_all_tenants(&self.pool).await?;
        let due = store::claim_due(&mut tx, None, BATCH, LEASE_MILLIS).await?;
        tx.commit().await?;
        for claimed in &due {
            if let Err(error) = self.work(claimed).await {
                // The lease runs out and the dispute is claimed again.
                tracing::warn!(dispute_id = %claimed.id, error = format!("{error:#}"), "dispute resolution failed");
            }
        }
        Ok(due.len())
    }

    /// Works until shutdown, every second (sooner while batches are full).
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(peer = %self.peer.callee, "dispute resolver started");
        loop {
            let full = match self.run_once().await {
                Ok(claimed) => i64::try_from(claimed).unwrap_or(i64::MAX) >= BATCH,
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "dispute resolver: batch failed"
                    );
                    false
                }
            };
            if shutdown.is_cancelled() {
                break;
            }
            if full {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        tracing::info!("dispute resolver stopped");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_item_of_a_dispute_has_its_own_stable_key() {
        let dispute = Uuid::now_v7();
        let first = Uuid::now_v7();
        let second = Uuid::now_v7();
        assert_eq!(
            credit_note_key(dispute, first),
            credit_note_key(dispute, first)
        );
        assert_ne!(
            credit_note_key(dispute, first),
            credit_note_key(dispute, second)
        );
    }
}

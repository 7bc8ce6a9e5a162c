//! Write-offs: requested against one open item (at most its open amount);
//! at or below the tenant's threshold applied at once, above it left for a
//! credit manager other than the requester. Applying posts a `write_off`
//! movement (so the balance identity keeps holding), publishes
//! `WriteOffApproved` and re-assesses the customer's credit, in one
//! transaction.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::credit_control::reassess;
use super::{Actor, CommandError, ledger};
use crate::events::outgoing;
use crate::store::Tx;
use crate::store::movements::NewMovement;
use crate::store::open_items;
use crate::store::settings;
use crate::store::write_offs::{self as store, NewWriteOff, WriteOffRow};
use otc_shared::audit::{self, AuditEntry};
use otc_shared::outbox;

/// Who approves a write-off that needs no approval.
pub const THRESHOLD_APPROVER: &str = "system:write-off-threshold";

pub struct WriteOffRequest<'a> {
    pub request_key: &'a str,
    pub item_id: Uuid,
    pub amount: Decimal,
    /// The amount's currency, when the caller gave one (must be the item's).
    pub currency: Option<&'a str>,
    pub reason: &'a str,
    pub dispute_id: Option<Uuid>,
}

fn json(row: &WriteOffRow) -> serde_json::Value {
    serde_json::json!({
        "item_id": row.item_id,
        "customer_id": row.customer_id,
        "amount": row.amount,
        "currency": row.currency,
        "reason": row.reason,
        "state": row.state,
        "requested_by": row.requested_by,
        "decided_by": row.decided_by,
        "decision_note": row.decision_note,
        "dispute_id": row.dispute_id,
        "version": row.version,
    })
}

async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    before: Option<&WriteOffRow>,
    after: &WriteOffRow,
) -> Result<(), sqlx::Error> {
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action,
            entity_type: "write_off",
            entity_id: &after.id.to_string(),
            before: before.map(json),
            after: Some(json(after)),
        },
    )
    .await
}

/// Requests a write-off; the same key again is the same write-off.
pub async fn request(
    tx: &mut Tx,
    actor: &Actor,
    wanted: &WriteOffRequest<'_>,
) -> Result<WriteOffRow, CommandError> {
    if let Some(existing) = store::by_key(tx, wanted.request_key).await? {
        if existing.item_id != wanted.item_id || existing.amount != wanted.amount {
            return Err(CommandError::AlreadyExists(format!(
                "idempotency key `{}` was used for another write-off",
                wanted.request_key
            )));
        }
        return Ok(existing);
    }
    if wanted.amount <= Decimal::ZERO {
        return Err(CommandError::invalid("amount.amount", "must be positive"));
    }
    open_items::lock_key(tx, wanted.item_id).await?;
    let item = open_items::lock(tx, wanted.item_id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("item {} is not known", wanted.item_id)))?;
    if let Some(currency) = wanted.currency
        && currency != item.currency
    {
        return Err(CommandError::invalid(
            "amount.currency_code",
            format!("the item is in {}, not {currency}", item.currency),
        ));
    }
    if wanted.amount > item.open_amount {
        return Err(CommandError::invalid(
            "amount.amount",
            format!(
                "{} is more than the item's open amount {} {}",
                wanted.amount, item.open_amount, item.currency
            ),
        ));
    }
    let new = NewWriteOff {
        id: Uuid::now_v7(),
        request_key: wanted.request_key,
        customer_id: item.customer_id,
        item_id: item.id,
        currency: &item.currency,
        amount: wanted.amount,
        reason: wanted.reason,
        dispute_id: wanted.dispute_id,
        requested_by: &actor.subject,
    };
    let Some(row) = store::insert(tx, actor.tenant.as_str(), &new).await? else {
        return Err(CommandError::Aborted(format!(
            "idempotency key `{}` is being used concurrently: retry",
            wanted.request_key
        )));
    };
    record(tx, actor, "write_off.requested", None, &row).await?;
    let threshold = settings::get(tx).await?.write_off_threshold;
    if row.amount <= threshold {
        return apply(
            tx,
            actor,
            &row,
            THRESHOLD_APPROVER,
            "within the approval threshold",
        )
        .await;
    }
    Ok(row)
}

/// Posts a pending write-off to the ledger and marks it applied.
async fn apply(
    tx: &mut Tx,
    actor: &Actor,
    pending: &WriteOffRow,
    approved_by: &str,
    note: &str,
) -> Result<WriteOffRow, CommandError> {
    let event_id = format!("write_off:{}", pending.id);
    let movement = NewMovement {
        item_id: pending.item_id,
        customer_id: pending.customer_id,
        kind: "write_off",
        document_id: pending.id,
        event_id: &event_id,
        event_type: "otc.collections.v1.WriteOffApproved",
        currency: &pending.currency,
        amount: -pending.amount,
        functional: None,
        occurred_at: otc_shared::time::now(),
    };
    let posted = ledger::record_movement(tx, actor.tenant.as_str(), &movement).await?;
    if posted.customers.is_empty() {
        return Err(CommandError::FailedPrecondition(format!(
            "the write-off could not be posted to item {}",
            pending.item_id
        )));
    }
    let applied = store::decide(tx, pending.id, "applied", approved_by, note).await?;
    outbox::enqueue(
        tx,
        &outgoing::write_off_approved(&actor.tenant, &applied, approved_by),
    )
    .await?;
    record(tx, actor, "write_off.applied", Some(pending), &applied).await?;
    reassess(tx, &actor.tenant, applied.customer_id, "write_off.applied").await?;
    Ok(applied)
}

async fn lock_pending(
    tx: &mut Tx,
    actor: &Actor,
    id: Uuid,
    expected_version: i64,
) -> Result<WriteOffRow, CommandError> {
    let row = store::lock(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("write-off {id} is not known")))?;
    if expected_version != 0 && expected_version != row.version {
        return Err(CommandError::Aborted(format!(
            "the write-off is at version {}, not {expected_version}: read it again",
            row.version
        )));
    }
    if row.state != "pending_approval" {
        return Err(CommandError::FailedPrecondition(format!(
            "write-off {id} is {}, not pending approval",
            row.state
        )));
    }
    if row.requested_by == actor.subject {
        return Err(CommandError::FailedPrecondition(
            "segregation of duties: the requester cannot decide their own write-off".to_owned(),
        ));
    }
    Ok(row)
}

/// A credit manager's approval: applied now, if the item still owes it.
pub async fn approve(
    tx: &mut Tx,
    actor: &Actor,
    id: Uuid,
    note: &str,
    expected_version: i64,
) -> Result<WriteOffRow, CommandError> {
    let pending = lock_pending(tx, actor, id, expected_version).await?;
    open_items::lock_key(tx, pending.item_id).await?;
    let item = open_items::lock(tx, pending.item_id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("item {} is not known", pending.item_id)))?;
    if pending.amount > item.open_amount {
        return Err(CommandError::FailedPrecondition(format!(
            "the item now owes {} {}, less than the write-off's {}",
            item.open_amount, item.currency, pending.amount
        )));
    }
    apply(tx, actor, &pending, &actor.subject, note).await
}

pub async fn reject(
    tx: &mut Tx,
    actor: &Actor,
    id: Uuid,
    note: &str,
    expected_version: i64,
) -> Result<WriteOffRow, CommandError> {
    let pending = lock_pending(tx, actor, id, expected_version).await?;
    let rejected = store::decide(tx, id, "rejected", &actor.subject, note).await?;
    record(tx, actor, "write_off.rejected", Some(&pending), &rejected).await?;
    Ok(rejected)
}

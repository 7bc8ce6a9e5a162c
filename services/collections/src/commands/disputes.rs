//! Disputes: opened on open items of one customer (by a user, or from a
//! payment's deduction), reviewed, annotated (append-only), and resolved.
//! A credit-note resolution is asked of billing outside any transaction
//! (see [`crate::resolution`]): here it only becomes `resolution_pending`,
//! and [`record_credit_notes`] completes it once billing has answered.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::write_offs::{self, WriteOffRequest};
use super::{Actor, CommandError};
use crate::events::outgoing::{self, Resolution};
use crate::store::Tx;
use crate::store::disputes::{self as store, DisputeRow, NewDispute, StateChange};
use crate::store::open_items;
use crate::store::settings;
use otc_shared::audit::{self, AuditEntry};
use otc_shared::outbox;

pub const REASON_CODES: [&str; 6] = [
    "pricing",
    "quantity",
    "quality",
    "not_received",
    "duplicate_billing",
    "other",
];

pub struct DisputedAmount {
    pub item_id: Uuid,
    pub amount: Decimal,
}

pub struct OpenDispute<'a> {
    pub request_key: &'a str,
    pub customer_id: Uuid,
    pub reason_code: &'a str,
    pub description: &'a str,
    pub items: Vec<DisputedAmount>,
    /// The amounts' currency, when the caller gave one.
    pub currency: Option<&'a str>,
    pub owner: &'a str,
    pub sla_due_date: Option<NaiveDate>,
    pub attachment_uris: &'a [String],
}

fn json(row: &DisputeRow) -> serde_json::Value {
    serde_json::json!({
        "customer_id": row.customer_id,
        "reason_code": row.reason_code,
        "amount": row.amount,
        "currency": row.currency,
        "state": row.state,
        "resolution": row.resolution,
        "resolution_note": row.resolution_note,
        "owner": row.owner,
        "sla_due_date": row.sla_due_date,
        "source": row.source,
        "deduction_id": row.deduction_id,
        "resolved_by": row.resolved_by,
        "version": row.version,
    })
}

async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    before: Option<&DisputeRow>,
    after: &DisputeRow,
) -> Result<(), sqlx::Error> {
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action,
            entity_type: "dispute",
            entity_id: &after.id.to_string(),
            before: before.map(json),
            after: Some(json(after)),
        },
    )
    .await
}

async fn reread(tx: &mut Tx, id: Uuid) -> Result<DisputeRow, CommandError> {
    store::get(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("dispute {id} is not known")))
}

/// Opens a dispute checked against the ledger: every item known, of the
/// customer, in one currency, and what is disputed on it (with what other
/// open disputes contest) at most its open amount.
pub async fn open(
    tx: &mut Tx,
    actor: &Actor,
    wanted: &OpenDispute<'_>,
) -> Result<DisputeRow, CommandError> {
    if let Some(existing) = store::by_key(tx, wanted.request_key).await? {
        return same_dispute(tx, existing, wanted).await;
    }
    if !REASON_CODES.contains(&wanted.reason_code) {
        return Err(CommandError::invalid(
            "reason_code",
            format!(
                "`{}` is not one of {}",
                wanted.reason_code,
                REASON_CODES.join(", ")
            ),
        ));
    }
    let mut currency: Option<String> = wanted.currency.map(str::to_owned);
    let mut total = Decimal::ZERO;
    let mut ids = wanted
        .items
        .iter()
        .map(|item| item.item_id)
        .collect::<Vec<_>>();
    ids.sort();
    for (index, wanted_item) in wanted.items.iter().enumerate() {
        let field = format!("items[{index}]");
        if ids.iter().filter(|id| **id == wanted_item.item_id).count() > 1 {
            return Err(CommandError::invalid(&field, "the item is listed twice"));
        }
        open_items::lock_key(tx, wanted_item.item_id).await?;
        let item = open_items::lock(tx, wanted_item.item_id)
            .await?
            .ok_or_else(|| {
                CommandError::invalid(
                    &format!("{field}.item_id"),
                    format!("item {} is not known", wanted_item.item_id),
                )
            })?;
        if item.customer_id != wanted.customer_id {
            return Err(CommandError::invalid(
                &format!("{field}.item_id"),
                "the item belongs to another customer",
            ));
        }
        match &currency {
            Some(code) if *code != item.currency => {
                return Err(CommandError::invalid(
                    &format!("{field}.amount.currency_code"),
                    format!("the item is in {}, the dispute in {code}", item.currency),
                ));
            }
            Some(_) => {}
            None => currency = Some(item.currency.clone()),
        }
        if wanted_item.amount <= Decimal::ZERO {
            return Err(CommandError::invalid(
                &format!("{field}.amount.amount"),
                "must be positive",
            ));
        }
        let already = store::disputed_on(tx, item.id).await?;
        if wanted_item.amount + already > item.open_amount {
            return Err(CommandError::invalid(
                &format!("{field}.amount.amount"),
                format!(
                    "{} is more than the item's open amount {} {} (of which {} already disputed)",
                    wanted_item.amount, item.open_amount, item.currency, already
                ),
            ));
        }
        total += wanted_item.amount;
    }
    let Some(currency) = currency else {
        return Err(CommandError::invalid("items", "at least one item"));
    };
    insert(tx, actor, wanted, &currency, total, "manual", None).await
}

/// A retried open: the same dispute if it is the same request.
async fn same_dispute(
    tx: &mut Tx,
    existing: DisputeRow,
    wanted: &OpenDispute<'_>,
) -> Result<DisputeRow, CommandError> {
    let items = store::items(tx, existing.id).await?;
    let mut stored: Vec<(Uuid, Decimal)> = items
        .iter()
        .map(|item| (item.item_id, item.amount))
        .collect();
    let mut asked: Vec<(Uuid, Decimal)> = wanted
        .items
        .iter()
        .map(|item| (item.item_id, item.amount))
        .collect();
    stored.sort();
    asked.sort();
    if existing.customer_id != wanted.customer_id || stored != asked {
        return Err(CommandError::AlreadyExists(format!(
            "idempotency key `{}` was used for another dispute",
            wanted.request_key
        )));
    }
    Ok(existing)
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    tx: &mut Tx,
    actor: &Actor,
    wanted: &OpenDispute<'_>,
    currency: &str,
    total: Decimal,
    source: &str,
    deduction_id: Option<Uuid>,
) -> Result<DisputeRow, CommandError> {
    let sla_due_date = match wanted.sla_due_date {
        Some(date) => date,
        None => {
            let days = settings::get(tx).await?.dispute_sla_days;
            let days = u64::try_from(days).unwrap_or(0);
            super::today()
                .checked_add_days(Days::new(days))
                .unwrap_or(NaiveDate::MAX)
        }
    };
    let id = Uuid::now_v7();
    let new = NewDispute {
        id,
        request_key: wanted.request_key,
        customer_id: wanted.customer_id,
        reason_code: wanted.reason_code,
        description: wanted.description,
        currency,
        amount: total,
        owner: wanted.owner,
        sla_due_date,
        source,
        deduction_id,
        opened_by: &actor.subject,
    };
    if !store::insert(tx, actor.tenant.as_str(), &new).await? {
        // Opened by a concurrent call under the same key since we looked.
        let existing = store::by_key(tx, wanted.request_key)
            .await?
            .ok_or_else(|| {
                CommandError::Aborted("the dispute is being opened concurrently: retry".to_owned())
            })?;
        return same_dispute(tx, existing, wanted).await;
    }
    for item in &wanted.items {
        store::insert_item(tx, actor.tenant.as_str(), id, item.item_id, item.amount).await?;
    }
    if !wanted.attachment_uris.is_empty() || !wanted.description.is_empty() {
        store::insert_note(
            tx,
            actor.tenant.as_str(),
            id,
            &actor.subject,
            wanted.description,
            wanted.attachment_uris,
        )
        .await?;
    }
    let row = reread(tx, id).await?;
    let item_ids: Vec<Uuid> = wanted.items.iter().map(|item| item.item_id).collect();
    outbox::enqueue(
        tx,
        &outgoing::dispute_opened(&actor.tenant, &row, &item_ids),
    )
    .await?;
    record(tx, actor, "dispute.opened", None, &row).await?;
    tracing::info!(dispute_id = %id, customer_id = %row.customer_id, source, "dispute opened");
    Ok(row)
}

/// What a `DeductionTaken` tells: the customer short-paid an item.
pub struct Deduction<'a> {
    pub deduction_id: Uuid,
    pub customer_id: Uuid,
    pub item_id: Uuid,
    pub amount: Decimal,
    pub currency: &'a str,
    pub reason: &'a str,
}

/// The reason code a deduction's free-text reason names, else `other`.
pub fn reason_code_of(reason: &str) -> &'static str {
    let normalized = reason.trim().to_lowercase().replace([' ', '-'], "_");
    REASON_CODES
        .iter()
        .find(|code| normalized == **code)
        .copied()
        .unwrap_or("other")
}

/// Opens the dispute a deduction stands for, once per deduction. The
/// deduction is a fact (the cash is already short), so it is recorded as
/// given; the item need not have arrived yet.
pub async fn open_from_deduction(
    tx: &mut Tx,
    actor: &Actor,
    deduction: &Deduction<'_>,
) -> Result<Option<DisputeRow>, CommandError> {
    let key = format!("deduction:{}", deduction.deduction_id);
    if store::by_key(tx, &key).await?.is_some() {
        tracing::info!(deduction_id = %deduction.deduction_id, "deduction already disputed; nothing to do");
        return Ok(None);
    }
    if deduction.amount <= Decimal::ZERO {
        return Ok(None);
    }
    let wanted = OpenDispute {
        request_key: &key,
        customer_id: deduction.customer_id,
        reason_code: reason_code_of(deduction.reason),
        description: deduction.reason,
        items: vec![DisputedAmount {
            item_id: deduction.item_id,
            amount: deduction.amount,
        }],
        currency: Some(deduction.currency),
        owner: "",
        sla_due_date: None,
        attachment_uris: &[],
    };
    let row = insert(
        tx,
        actor,
        &wanted,
        deduction.currency,
        deduction.amount,
        "deduction",
        Some(deduction.deduction_id),
    )
    .await?;
    Ok(Some(row))
}

async fn lock_active(
    tx: &mut Tx,
    id: Uuid,
    expected_version: i64,
) -> Result<DisputeRow, CommandError> {
    let row = store::lock(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("dispute {id} is not known")))?;
    if expected_version != 0 && expected_version != row.version {
        return Err(CommandError::Aborted(format!(
            "the dispute is at version {}, not {expected_version}: read it again",
            row.version
        )));
    }
    if !matches!(row.state.as_str(), "open" | "under_review") {
        return Err(CommandError::FailedPrecondition(format!(
            "dispute {id} is {}: it can no longer be changed this way",
            row.state
        )));
    }
    Ok(row)
}

pub async fn review(
    tx: &mut Tx,
    actor: &Actor,
    id: Uuid,
    owner: Option<&str>,
    expected_version: i64,
) -> Result<DisputeRow, CommandError> {
    let before = lock_active(tx, id, expected_version).await?;
    let owner = owner.unwrap_or(if before.owner.is_empty() {
        actor.subject.as_str()
    } else {
        before.owner.as_str()
    });
    store::change_state(
        tx,
        id,
        &StateChange {
            state: "under_review",
            resolution: None,
            resolution_note: "",
            owner,
            resolved_by: None,
            resolved: false,
            due_now: false,
        },
    )
    .await?;
    let after = reread(tx, id).await?;
    record(tx, actor, "dispute.under_review", Some(&before), &after).await?;
    Ok(after)
}

/// Appends a note (any state: a closed dispute may still be annotated).
pub async fn add_note(
    tx: &mut Tx,
    actor: &Actor,
    id: Uuid,
    body: &str,
    attachment_uris: &[String],
) -> Result<DisputeRow, CommandError> {
    let before = store::lock(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("dispute {id} is not known")))?;
    store::insert_note(
        tx,
        actor.tenant.as_str(),
        id,
        &actor.subject,
        body,
        attachment_uris,
    )
    .await?;
    store::touch(tx, id).await?;
    let after = reread(tx, id).await?;
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action: "dispute.note_added",
            entity_type: "dispute",
            entity_id: &id.to_string(),
            before: Some(json(&before)),
            after: Some(serde_json::json!({
                "body": body,
                "attachment_uris": attachment_uris,
                "version": after.version,
            })),
        },
    )
    .await?;
    Ok(after)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolutionKind {
    CreditNote,
    WriteOff,
    Rejected,
}

impl ResolutionKind {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_uppercase().as_str() {
            "CREDIT_NOTE" => Some(Self::CreditNote),
            "WRITE_OFF" => Some(Self::WriteOff),
            "REJECTED" => Some(Self::Rejected),
            _ => None,
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            Self::CreditNote => "credit_note",
            Self::WriteOff => "write_off",
            Self::Rejected => "rejected",
        }
    }
}

/// Decides a dispute. A credit note is only asked for here (the dispute
/// becomes `resolution_pending`, claimable by the resolver at once); a
/// write-off is requested per item (applied at once within the threshold);
/// a rejection returns the items to normal.
pub async fn resolve(
    tx: &mut Tx,
    actor: &Actor,
    id: Uuid,
    kind: ResolutionKind,
    note: &str,
    expected_version: i64,
) -> Result<DisputeRow, CommandError> {
    let before = lock_active(tx, id, expected_version).await?;
    let pending = kind == ResolutionKind::CreditNote;
    let state = match kind {
        ResolutionKind::CreditNote => "resolution_pending",
        ResolutionKind::WriteOff => "resolved",
        ResolutionKind::Rejected => "rejected",
    };
    let mut write_off_ids = Vec::new();
    if kind == ResolutionKind::WriteOff {
        for item in store::items(tx, id).await? {
            let key = format!("dispute:{id}:{}", item.item_id);
            let reason = format!("dispute {id} ({}): {note}", before.reason_code);
            let written = write_offs::request(
                tx,
                actor,
                &WriteOffRequest {
                    request_key: &key,
                    item_id: item.item_id,
                    amount: item.amount,
                    currency: Some(&before.currency),
                    reason: &reason,
                    dispute_id: Some(id),
                },
            )
            .await?;
            write_off_ids.push(written.id.to_string());
        }
    }
    store::change_state(
        tx,
        id,
        &StateChange {
            state,
            resolution: Some(kind.column()),
            resolution_note: note,
            owner: &before.owner,
            resolved_by: Some(&actor.subject),
            resolved: !pending,
            due_now: pending,
        },
    )
    .await?;
    let after = reread(tx, id).await?;
    if !pending {
        let event = outgoing::dispute_resolved(
            &actor.tenant,
            &after,
            Resolution {
                resolution: kind.column(),
                resolved_by: &actor.subject,
                credit_note_ids: Vec::new(),
                write_off_ids,
            },
        );
        outbox::enqueue(tx, &event).await?;
    }
    let action = match kind {
        ResolutionKind::CreditNote => "dispute.credit_note_requested",
        ResolutionKind::WriteOff => "dispute.resolved",
        ResolutionKind::Rejected => "dispute.rejected",
    };
    record(tx, actor, action, Some(&before), &after).await?;
    Ok(after)
}

/// A credit note billing issued for one item of a dispute.
pub struct IssuedNote {
    pub item_id: Uuid,
    pub credit_note_id: Uuid,
    pub number: String,
}

/// Records the notes billing issued; once every item has one the dispute
/// is resolved and `DisputeResolved` published. Whether it is resolved.
pub async fn record_credit_notes(
    tx: &mut Tx,
    actor: &Actor,
    id: Uuid,
    issued: &[IssuedNote],
) -> Result<bool, CommandError> {
    let before = store::lock(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("dispute {id} is not known")))?;
    if before.state != "resolution_pending" {
        return Ok(before.state == "resolved");
    }
    for note in issued {
        store::set_credit_note(tx, id, note.item_id, note.credit_note_id, &note.number).await?;
    }
    let items = store::items(tx, id).await?;
    if items.iter().any(|item| item.credit_note_id.is_none()) {
        return Ok(false);
    }
    let resolved_by = before
        .resolved_by
        .clone()
        .unwrap_or_else(|| actor.subject.clone());
    store::change_state(
        tx,
        id,
        &StateChange {
            state: "resolved",
            resolution: Some("credit_note"),
            resolution_note: &before.resolution_note,
            owner: &before.owner,
            resolved_by: Some(&resolved_by),
            resolved: true,
            due_now: false,
        },
    )
    .await?;
    let after = reread(tx, id).await?;
    let event = outgoing::dispute_resolved(
        &actor.tenant,
        &after,
        Resolution {
            resolution: "credit_note",
            resolved_by: &resolved_by,
            credit_note_ids: items
                .iter()
                .filter_map(|item| item.credit_note_id.map(|note| note.to_string()))
                .collect(),
            write_off_ids: Vec::new(),
        },
    );
    outbox::enqueue(tx, &event).await?;
    record(tx, actor, "dispute.resolved", Some(&before), &after).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deduction_reason_names_its_code_or_is_other() {
        assert_eq!(reason_code_of("Pricing"), "pricing");
        assert_eq!(reason_code_of("not received"), "not_received");
        assert_eq!(reason_code_of("duplicate-billing"), "duplicate_billing");
        assert_eq!(reason_code_of("short shipped 2 pallets"), "other");
    }

    #[test]
    fn resolutions_parse_from_the_wire() {
        assert_eq!(
            ResolutionKind::parse("credit_note"),
            Some(ResolutionKind::CreditNote)
        );
        assert_eq!(
            ResolutionKind::parse("WRITE_OFF"),
            Some(ResolutionKind::WriteOff)
        );
        assert_eq!(
            ResolutionKind::parse("REJECTED"),
            Some(ResolutionKind::Rejected)
        );
        assert_eq!(ResolutionKind::parse("maybe"), None);
    }
}

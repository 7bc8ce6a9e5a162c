//! Applying receipts' cash to open items: the one path automatic and manual
//! applications share. An item is settled only if that much is still open,
//! and the receipts' balances move with it.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::{Actor, CommandError};
use crate::events::outgoing;
use crate::store::applications::{self, ApplicationRow, NewApplication};
use crate::store::open_items::OpenItemRow;
use crate::store::receipts::ReceiptRow;
use crate::store::{Tx, open_items};
use otc_shared::audit::{self, AuditEntry};
use otc_shared::outbox;

/// One invoice's share of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAllocation {
    pub invoice_id: Uuid,
    /// The currency the caller gave the amounts in, if any (must be the
    /// receipt's).
    pub currency: Option<String>,
    pub amount: Decimal,
    pub discount: Decimal,
    pub deduction: Decimal,
}

/// How the applications came about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationMode {
    pub automatic: bool,
    pub confidence: u8,
    pub method: String,
}

/// Applications to write: which receipt (an index into the receipts given
/// to [`write_applications`]), for which customer, how much of which item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingApplication {
    pub receipt: usize,
    /// The customer the receipt is from (for a manual application, the one
    /// every item must belong to).
    pub payer: Uuid,
    pub allocation: PlannedAllocation,
    pub mode: ApplicationMode,
    /// Items must belong to `payer` (manual work); the engine's proposals
    /// may settle a group company's items.
    pub same_customer_only: bool,
}

/// Applies cash of locked receipts (the caller writes them back) in a few
/// statements: the items are locked and checked (owner, currency, enough
/// open, enough unapplied cash), settled, the applications inserted, and
/// their events and audit records written. Any refusal fails the whole call.
pub async fn write_applications(
    tx: &mut Tx,
    actor: &Actor,
    receipts: &mut [ReceiptRow],
    pending: &[PendingApplication],
) -> Result<Vec<ApplicationRow>, CommandError> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let mut item_ids: Vec<Uuid> = pending.iter().map(|p| p.allocation.invoice_id).collect();
    item_ids.sort();
    item_ids.dedup();
    let items: BTreeMap<Uuid, OpenItemRow> = open_items::lock_by_ids(tx, &item_ids)
        .await?
        .into_iter()
        .map(|item| (item.id, item))
        .collect();
    let mut settling: BTreeMap<Uuid, (Decimal, Decimal, Decimal)> = BTreeMap::new();
    let mut cash_by_receipt: BTreeMap<usize, Decimal> = BTreeMap::new();
    for (index, entry) in pending.iter().enumerate() {
        let receipt = receipts
            .get(entry.receipt)
            .ok_or_else(|| CommandError::NotFound(format!("receipt #{}", entry.receipt)))?;
        let item = check(
            index,
            entry,
            receipt,
            items.get(&entry.allocation.invoice_id),
        )?;
        let total = settling.entry(item.id).or_default();
        total.0 += entry.allocation.amount;
        total.1 += entry.allocation.discount;
        total.2 += entry.allocation.deduction;
        if total.0 + total.1 + total.2 > item.open_amount {
            return Err(CommandError::FailedPrecondition(format!(
                "{} has {} {} open, less than the {} allocated",
                item.number,
                item.open_amount,
                item.currency,
                total.0 + total.1 + total.2
            )));
        }
        *cash_by_receipt.entry(entry.receipt).or_default() += entry.allocation.amount;
    }
    for (index, cash) in &cash_by_receipt {
        let receipt = &receipts[*index];
        if *cash > receipt.unapplied {
            return Err(CommandError::FailedPrecondition(format!(
                "the allocations apply {cash} {} but receipt {} has {} unapplied",
                receipt.currency, receipt.id, receipt.unapplied
            )));
        }
    }
    let ids: Vec<Uuid> = settling.keys().copied().collect();
    let cash: Vec<Decimal> = settling.values().map(|total| total.0).collect();
    let discount: Vec<Decimal> = settling.values().map(|total| total.1).collect();
    let deduction: Vec<Decimal> = settling.values().map(|total| total.2).collect();
    let settled = open_items::settle_many(tx, &ids, &cash, &discount, &deduction).await?;
    if settled != u64::try_from(ids.len()).unwrap_or(u64::MAX) {
        return Err(CommandError::Aborted(
            "an item changed while being applied; retry".to_owned(),
        ));
    }
    let new_rows: Vec<NewApplication<'_>> = pending
        .iter()
        .map(|entry| {
            let receipt = &receipts[entry.receipt];
            let owner = items
                .get(&entry.allocation.invoice_id)
                .map_or(entry.payer, |item| item.customer_id);
            NewApplication {
                id: Uuid::now_v7(),
                receipt_id: receipt.id,
                invoice_id: entry.allocation.invoice_id,
                customer_id: owner,
                currency: &receipt.currency,
                amount: entry.allocation.amount,
                discount: entry.allocation.discount,
                deduction: entry.allocation.deduction,
                automatic: entry.mode.automatic,
                confidence: i16::from(entry.mode.confidence.min(100)),
                method: &entry.mode.method,
                applied_by: &actor.subject,
            }
        })
        .collect();
    let applied_at = applications::insert_many(tx, actor.tenant.as_str(), &new_rows).await?;
    let applied: Vec<ApplicationRow> = new_rows
        .iter()
        .map(|row| ApplicationRow {
            id: row.id,
            receipt_id: row.receipt_id,
            invoice_id: row.invoice_id,
            invoice_number: items
                .get(&row.invoice_id)
                .map(|item| item.number.clone())
                .unwrap_or_default(),
            customer_id: row.customer_id,
            currency: row.currency.to_owned(),
            amount: row.amount,
            discount: row.discount,
            deduction: row.deduction,
            automatic: row.automatic,
            confidence: row.confidence,
            method: row.method.to_owned(),
            applied_by: row.applied_by.to_owned(),
            applied_at,
            reversed_at: None,
            reversal_reason: None,
        })
        .collect();
    for entry in pending {
        receipts[entry.receipt].customer_id = Some(entry.payer);
    }
    for (index, cash) in cash_by_receipt {
        receipts[index].applied += cash;
        receipts[index].unapplied -= cash;
    }
    publish_applied(tx, actor, receipts, &applied).await?;
    Ok(applied)
}

/// Why one allocation cannot be applied, or the item it settles.
fn check<'a>(
    index: usize,
    entry: &PendingApplication,
    receipt: &ReceiptRow,
    item: Option<&'a OpenItemRow>,
) -> Result<&'a OpenItemRow, CommandError> {
    let field = |name: &str| format!("allocations[{index}].{name}");
    let allocation = &entry.allocation;
    if receipt.reversed > Decimal::ZERO {
        return Err(CommandError::FailedPrecondition(format!(
            "receipt {} was reversed",
            receipt.id
        )));
    }
    if allocation.amount.is_sign_negative()
        || allocation.discount.is_sign_negative()
        || allocation.deduction.is_sign_negative()
    {
        return Err(CommandError::invalid(
            &field("amount"),
            "must not be negative",
        ));
    }
    if let Some(currency) = &allocation.currency
        && *currency != receipt.currency
    {
        return Err(CommandError::invalid(
            &field("amount.currency_code"),
            format!("the receipt is in {}", receipt.currency),
        ));
    }
    if (allocation.amount + allocation.discount + allocation.deduction).is_zero() {
        return Err(CommandError::invalid(&field("amount"), "settles nothing"));
    }
    let Some(item) = item else {
        return Err(CommandError::invalid(
            &field("invoice_id"),
            format!("no invoice {}", allocation.invoice_id),
        ));
    };
    if entry.same_customer_only && item.customer_id != entry.payer {
        return Err(CommandError::invalid(
            &field("invoice_id"),
            format!("{} belongs to another customer", item.number),
        ));
    }
    if item.currency != receipt.currency {
        return Err(CommandError::invalid(
            &field("invoice_id"),
            format!(
                "{} is in {}, the receipt in {}",
                item.number, item.currency, receipt.currency
            ),
        ));
    }
    Ok(item)
}

async fn publish_applied(
    tx: &mut Tx,
    actor: &Actor,
    receipts: &[ReceiptRow],
    applied: &[ApplicationRow],
) -> Result<(), CommandError> {
    let by_id: BTreeMap<Uuid, &ReceiptRow> = receipts.iter().map(|row| (row.id, row)).collect();
    let mut events = Vec::with_capacity(applied.len());
    for application in applied {
        let Some(receipt) = by_id.get(&application.receipt_id) else {
            continue;
        };
        events.push(outgoing::payment_applied(
            &actor.tenant,
            receipt,
            application,
        ));
        if application.deduction > Decimal::ZERO {
            events.push(outgoing::deduction_taken(
                &actor.tenant,
                receipt,
                application,
            ));
        }
    }
    outbox::enqueue_many(tx, &events).await?;
    let ids: Vec<String> = applied.iter().map(|row| row.id.to_string()).collect();
    let entries: Vec<AuditEntry<'_>> = applied
        .iter()
        .zip(&ids)
        .map(|(application, id)| AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action: if application.automatic {
                "payment.auto_apply"
            } else {
                "payment.apply"
            },
            entity_type: "application",
            entity_id: id,
            before: None,
            after: Some(serde_json::json!({
                "receipt_id": application.receipt_id,
                "invoice_id": application.invoice_id,
                "invoice_number": application.invoice_number,
                "amount": application.amount,
                "discount": application.discount,
                "deduction": application.deduction,
                "confidence": application.confidence,
                "method": application.method,
            })),
        })
        .collect();
    audit::record_many(tx, &entries).await?;
    Ok(())
}

/// Reverses one application of a locked receipt: the item re-opens and the
/// cash is unapplied again.
pub async fn reverse_application(
    tx: &mut Tx,
    actor: &Actor,
    receipt: &mut ReceiptRow,
    application: &ApplicationRow,
    reason: &str,
) -> Result<(), CommandError> {
    open_items::reopen(
        tx,
        application.invoice_id,
        application.amount,
        application.discount,
        application.deduction,
    )
    .await?;
    applications::mark_reversed(tx, application.id, &actor.subject, reason).await?;
    receipt.applied -= application.amount;
    receipt.unapplied += application.amount;
    outbox::enqueue(
        tx,
        &outgoing::payment_unapplied(&actor.tenant, receipt, application, reason),
    )
    .await?;
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action: "payment.unapply",
            entity_type: "application",
            entity_id: &application.id.to_string(),
            before: Some(serde_json::json!({
                "receipt_id": receipt.id,
                "invoice_id": application.invoice_id,
                "amount": application.amount,
            })),
            after: Some(serde_json::json!({ "reversed": true, "reason": reason })),
        },
    )
    .await?;
    Ok(())
}

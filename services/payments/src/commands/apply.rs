//! Applying a receipt's cash to open items: the one path automatic and
//! manual applications share. The open item is settled only if that much is
//! still open, and the receipt's balances move with it.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::{Actor, CommandError};
use crate::events::outgoing;
use crate::store::applications::{self, ApplicationRow, NewApplication};
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

/// Applies `allocations` of `receipt` (locked by the caller, who writes it
/// back) for `customer_id`. Fails without a trace if an item is not open
/// for that much, belongs to another customer or is in another currency.
pub async fn apply_allocations(
    tx: &mut Tx,
    actor: &Actor,
    receipt: &mut ReceiptRow,
    customer_id: Uuid,
    allocations: &[PlannedAllocation],
    mode: &ApplicationMode,
) -> Result<Vec<ApplicationRow>, CommandError> {
    let cash: Decimal = allocations.iter().map(|allocation| allocation.amount).sum();
    if cash > receipt.unapplied {
        return Err(CommandError::FailedPrecondition(format!(
            "the allocations apply {cash} {} but the receipt has {} unapplied",
            receipt.currency, receipt.unapplied
        )));
    }
    let mut applied = Vec::with_capacity(allocations.len());
    for (index, allocation) in allocations.iter().enumerate() {
        let field = |name: &str| format!("allocations[{index}].{name}");
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
        let Some(item) = open_items::get(tx, allocation.invoice_id).await? else {
            return Err(CommandError::invalid(
                &field("invoice_id"),
                format!("no invoice {}", allocation.invoice_id),
            ));
        };
        if item.customer_id != customer_id {
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
        let settled = open_items::settle(
            tx,
            item.id,
            allocation.amount,
            allocation.discount,
            allocation.deduction,
        )
        .await?;
        if settled.is_none() {
            return Err(CommandError::FailedPrecondition(format!(
                "{} has {} {} open, less than the {} allocated",
                item.number,
                item.open_amount,
                item.currency,
                allocation.amount + allocation.discount + allocation.deduction
            )));
        }
        let id = Uuid::now_v7();
        let confidence = i16::from(mode.confidence.min(100));
        let applied_at = applications::insert(
            tx,
            actor.tenant.as_str(),
            &NewApplication {
                id,
                receipt_id: receipt.id,
                invoice_id: item.id,
                customer_id,
                currency: &receipt.currency,
                amount: allocation.amount,
                discount: allocation.discount,
                deduction: allocation.deduction,
                automatic: mode.automatic,
                confidence,
                method: &mode.method,
                applied_by: &actor.subject,
            },
        )
        .await?;
        applied.push(ApplicationRow {
            id,
            receipt_id: receipt.id,
            invoice_id: item.id,
            invoice_number: item.number.clone(),
            customer_id,
            currency: receipt.currency.clone(),
            amount: allocation.amount,
            discount: allocation.discount,
            deduction: allocation.deduction,
            automatic: mode.automatic,
            confidence,
            method: mode.method.clone(),
            applied_by: actor.subject.clone(),
            applied_at,
            reversed_at: None,
            reversal_reason: None,
        });
    }
    receipt.customer_id = Some(customer_id);
    receipt.applied += cash;
    receipt.unapplied -= cash;
    publish_applied(tx, actor, receipt, &applied).await?;
    Ok(applied)
}

async fn publish_applied(
    tx: &mut Tx,
    actor: &Actor,
    receipt: &ReceiptRow,
    applied: &[ApplicationRow],
) -> Result<(), CommandError> {
    let mut events = Vec::with_capacity(applied.len());
    for application in applied {
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
                "receipt_id": receipt.id,
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

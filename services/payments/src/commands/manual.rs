//! What a cash application specialist does by hand: apply or split unapplied
//! cash, dismiss suggestions, reverse a wrong application, refund, and
//! reverse a payment that bounced (NSF) or was charged back.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::apply::{self, ApplicationMode, PendingApplication, PlannedAllocation};
use super::{Actor, CommandError};
use crate::domain::suggestions;
use crate::events::outgoing;
use crate::store::applications::{self, NewRefund};
use crate::store::receipts::{self, ReceiptRow};
use crate::store::{Tx, customers};
use otc_shared::Money;
use otc_shared::audit::{self, AuditEntry};
use otc_shared::outbox;

async fn locked_receipt(tx: &mut Tx, id: Uuid) -> Result<ReceiptRow, CommandError> {
    receipts::lock(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("no receipt {id}")))
}

fn refuse_if_reversed(receipt: &ReceiptRow) -> Result<(), CommandError> {
    if receipt.reversed > Decimal::ZERO {
        return Err(CommandError::FailedPrecondition(format!(
            "receipt {} was reversed ({})",
            receipt.id,
            receipt
                .reversal_reason
                .as_deref()
                .unwrap_or("no reason given")
        )));
    }
    Ok(())
}

/// Applies unapplied cash of a receipt to one or more invoices.
pub async fn apply_receipt(
    tx: &mut Tx,
    actor: &Actor,
    receipt_id: Uuid,
    customer_id: Option<Uuid>,
    allocations: &[PlannedAllocation],
) -> Result<ReceiptRow, CommandError> {
    let mut receipt = locked_receipt(tx, receipt_id).await?;
    refuse_if_reversed(&receipt)?;
    let customer_id = match (receipt.customer_id, customer_id) {
        (Some(known), Some(given)) if known != given => {
            return Err(CommandError::invalid(
                "customer_id",
                format!("the receipt is already identified as customer {known}"),
            ));
        }
        (Some(known), _) => known,
        (None, Some(given)) => {
            if !customers::exists(tx, given).await? {
                return Err(CommandError::invalid(
                    "customer_id",
                    format!("no customer {given}"),
                ));
            }
            given
        }
        (None, None) => {
            return Err(CommandError::invalid(
                "customer_id",
                "is required: the payer of this receipt is not identified",
            ));
        }
    };
    let mode = ApplicationMode {
        automatic: false,
        confidence: 100,
        method: "manual".to_owned(),
    };
    let pending: Vec<PendingApplication> = allocations
        .iter()
        .map(|allocation| PendingApplication {
            receipt: 0,
            payer: customer_id,
            allocation: allocation.clone(),
            mode: mode.clone(),
            same_customer_only: true,
        })
        .collect();
    apply::write_applications(tx, actor, std::slice::from_mut(&mut receipt), &pending).await?;
    receipt.match_state = "manual".to_owned();
    receipt.suggestions = suggestions::to_json(&[]);
    receipts::update(tx, &receipt).await?;
    Ok(receipt)
}

/// Takes a receipt out of the exception queue; its cash stays unapplied.
pub async fn reject_suggestions(
    tx: &mut Tx,
    actor: &Actor,
    receipt_id: Uuid,
    customer_id: Option<Uuid>,
    reason: &str,
) -> Result<ReceiptRow, CommandError> {
    let mut receipt = locked_receipt(tx, receipt_id).await?;
    if receipt.match_state != "exception" {
        return Err(CommandError::FailedPrecondition(format!(
            "receipt {receipt_id} is not in the exception queue"
        )));
    }
    if let Some(given) = customer_id {
        if receipt.customer_id.is_some_and(|known| known != given) {
            return Err(CommandError::invalid(
                "customer_id",
                "the receipt is already identified as another customer",
            ));
        }
        if !customers::exists(tx, given).await? {
            return Err(CommandError::invalid(
                "customer_id",
                format!("no customer {given}"),
            ));
        }
        receipt.customer_id = Some(given);
    }
    let before = serde_json::json!({ "match_state": receipt.match_state });
    receipt.match_state = "rejected".to_owned();
    receipt.suggestions = suggestions::to_json(&[]);
    receipts::update(tx, &receipt).await?;
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action: "payment.reject_suggestions",
            entity_type: "receipt",
            entity_id: &receipt_id.to_string(),
            before: Some(before),
            after: Some(serde_json::json!({
                "match_state": "rejected",
                "reason": reason,
                "customer_id": receipt.customer_id,
            })),
        },
    )
    .await?;
    Ok(receipt)
}

pub async fn reverse_application(
    tx: &mut Tx,
    actor: &Actor,
    application_id: Uuid,
    reason: &str,
) -> Result<ReceiptRow, CommandError> {
    let receipt_id = applications::receipt_of(tx, application_id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("no application {application_id}")))?;
    let mut receipt = locked_receipt(tx, receipt_id).await?;
    let application = applications::lock(tx, application_id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("no application {application_id}")))?;
    if application.reversed_at.is_some() {
        return Err(CommandError::FailedPrecondition(format!(
            "application {application_id} was already reversed"
        )));
    }
    apply::reverse_application(tx, actor, &mut receipt, &application, reason).await?;
    receipts::update(tx, &receipt).await?;
    Ok(receipt)
}

pub struct RefundRequest<'a> {
    pub receipt_id: Uuid,
    pub idempotency_key: &'a str,
    pub request_hash: &'a str,
    pub amount: Money,
    pub reason: &'a str,
}

/// Pays back unapplied cash; the same key again returns the receipt as it is.
pub async fn issue_refund(
    tx: &mut Tx,
    actor: &Actor,
    request: &RefundRequest<'_>,
) -> Result<ReceiptRow, CommandError> {
    let mut receipt = locked_receipt(tx, request.receipt_id).await?;
    if let Some(previous) = applications::refund_by_key(tx, request.idempotency_key).await? {
        if previous.request_hash != request.request_hash {
            return Err(CommandError::AlreadyExists(format!(
                "idempotency key `{}` was used for a different refund ({})",
                request.idempotency_key, previous.id
            )));
        }
        return Ok(receipt);
    }
    refuse_if_reversed(&receipt)?;
    if request.amount.currency().code() != receipt.currency {
        return Err(CommandError::invalid(
            "amount.currency_code",
            format!("the receipt is in {}", receipt.currency),
        ));
    }
    let amount = request.amount.amount();
    if !request.amount.is_positive() {
        return Err(CommandError::invalid("amount", "must be positive"));
    }
    if amount > receipt.unapplied {
        return Err(CommandError::FailedPrecondition(format!(
            "only {} {} of the receipt is unapplied",
            receipt.unapplied, receipt.currency
        )));
    }
    let refund_id = Uuid::now_v7();
    applications::insert_refund(
        tx,
        actor.tenant.as_str(),
        &NewRefund {
            id: refund_id,
            receipt_id: receipt.id,
            idempotency_key: request.idempotency_key,
            request_hash: request.request_hash,
            amount,
            currency: &receipt.currency,
            reason: request.reason,
            issued_by: &actor.subject,
        },
    )
    .await?;
    receipt.unapplied -= amount;
    receipt.refunded += amount;
    if receipt.match_state == "exception" {
        receipt.match_state = "rejected".to_owned();
        receipt.suggestions = suggestions::to_json(&[]);
    }
    receipts::update(tx, &receipt).await?;
    outbox::enqueue(
        tx,
        &outgoing::refund_issued(&actor.tenant, &receipt, refund_id, amount, request.reason),
    )
    .await?;
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action: "payment.refund",
            entity_type: "refund",
            entity_id: &refund_id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "receipt_id": receipt.id,
                "amount": amount,
                "currency": receipt.currency,
                "reason": request.reason,
            })),
        },
    )
    .await?;
    Ok(receipt)
}

/// NSF, chargeback or a returned direct debit: every live application is
/// reversed (its item re-opens) and the receipt stops counting as cash.
/// Reversing a reversed receipt changes nothing.
pub async fn reverse_payment(
    tx: &mut Tx,
    actor: &Actor,
    receipt_id: Uuid,
    reason: &str,
) -> Result<ReceiptRow, CommandError> {
    let mut receipt = locked_receipt(tx, receipt_id).await?;
    if receipt.reversed > Decimal::ZERO {
        return Ok(receipt);
    }
    if receipt.refunded > Decimal::ZERO {
        return Err(CommandError::FailedPrecondition(format!(
            "{} {} of receipt {receipt_id} was refunded; reverse the refund with the provider first",
            receipt.refunded, receipt.currency
        )));
    }
    let live = applications::list(tx, Some(&[receipt_id]), None, None, i64::MAX, None).await?;
    for application in live.iter().filter(|row| row.reversed_at.is_none()) {
        apply::reverse_application(tx, actor, &mut receipt, application, reason).await?;
    }
    receipt.reversed = receipt.amount;
    receipt.unapplied = Decimal::ZERO;
    receipt.reversal_reason = Some(reason.to_owned());
    receipt.suggestions = suggestions::to_json(&[]);
    if receipt.match_state == "exception" {
        receipt.match_state = "rejected".to_owned();
    }
    receipts::update(tx, &receipt).await?;
    outbox::enqueue(tx, &outgoing::payment_reversed(&actor.tenant, &receipt)).await?;
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action: "payment.reverse",
            entity_type: "receipt",
            entity_id: &receipt_id.to_string(),
            before: Some(serde_json::json!({ "amount": receipt.amount })),
            after: Some(serde_json::json!({ "reversed": receipt.reversed, "reason": reason })),
        },
    )
    .await?;
    Ok(receipt)
}

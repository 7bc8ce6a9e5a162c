//! Money in: receipts are recorded once per source key (gRPC idempotency
//! key, statement line, provider event, direct-debit end-to-end id),
//! published, and cash-applied in the same transaction, a batch at a time.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use uuid::Uuid;

use super::cash_application::{self, KnownAllocation, Outcome};
use super::{Actor, CommandError};
use crate::events::outgoing;
use crate::store::policies::PolicyRow;
use crate::store::receipts::{self, NewReceipt, ReceiptRow};
use crate::store::{Tx, customers};
use otc_shared::Money;
use otc_shared::audit::{self, AuditEntry};
use otc_shared::outbox;

#[derive(Debug, Clone)]
pub struct IncomingPayment {
    pub source_key: String,
    /// Same key, different request: refused.
    pub request_hash: String,
    pub channel: &'static str,
    pub customer_id: Option<Uuid>,
    pub amount: Money,
    pub value_date: NaiveDate,
    pub payer_name: String,
    pub payer_account: String,
    pub remittance: String,
    pub external_reference: String,
    pub statement_id: Option<Uuid>,
    pub known_allocation: Option<KnownAllocation>,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub receipt: ReceiptRow,
    /// `false` when the source key had been recorded before.
    pub created: bool,
    pub outcome: Option<Outcome>,
}

pub async fn receive(
    tx: &mut Tx,
    actor: &Actor,
    policy: &PolicyRow,
    payment: &IncomingPayment,
) -> Result<Received, CommandError> {
    receive_many(tx, actor, policy, std::slice::from_ref(payment))
        .await?
        .pop()
        .ok_or_else(|| CommandError::Aborted("the receipt was not recorded; retry".to_owned()))
}

/// Records, publishes and cash-applies payments; the answer is in the order
/// given. A payment whose source key was recorded before is answered with
/// that receipt (or refused if the request differs).
pub async fn receive_many(
    tx: &mut Tx,
    actor: &Actor,
    policy: &PolicyRow,
    payments: &[IncomingPayment],
) -> Result<Vec<Received>, CommandError> {
    check(tx, payments).await?;
    let ids: Vec<Uuid> = payments.iter().map(|_| Uuid::now_v7()).collect();
    let accounts: Vec<String> = payments
        .iter()
        .map(|payment| crate::domain::normalise_account(&payment.payer_account))
        .collect();
    let rows: Vec<NewReceipt<'_>> = payments
        .iter()
        .zip(&ids)
        .zip(&accounts)
        .map(|((payment, id), account)| NewReceipt {
            id: *id,
            source_key: &payment.source_key,
            request_hash: &payment.request_hash,
            channel: payment.channel,
            customer_id: payment.customer_id,
            currency: payment.amount.currency().code(),
            amount: payment.amount.amount(),
            value_date: payment.value_date,
            payer_name: payment.payer_name.trim(),
            payer_account: account,
            remittance: payment.remittance.trim(),
            external_reference: payment.external_reference.trim(),
            statement_id: payment.statement_id,
            received_by: &actor.subject,
        })
        .collect();
    let inserted = receipts::insert_many(tx, actor.tenant.as_str(), &rows).await?;
    let mut fresh = receipts::lock_many(tx, &inserted).await?;
    // Locked in id order; put them back in the order given.
    let positions: BTreeMap<Uuid, usize> = ids
        .iter()
        .enumerate()
        .map(|(index, id)| (*id, index))
        .collect();
    fresh.sort_by_key(|row| positions.get(&row.id).copied());
    let known: Vec<Option<KnownAllocation>> = fresh
        .iter()
        .map(|row| {
            positions
                .get(&row.id)
                .and_then(|index| payments[*index].known_allocation.clone())
        })
        .collect();
    let inserted: BTreeSet<Uuid> = inserted.into_iter().collect();
    publish_received(tx, actor, &fresh).await?;
    let outcomes = if fresh.is_empty() {
        Vec::new()
    } else {
        cash_application::run_batch(tx, actor, policy, &mut fresh, &known).await?
    };
    receipts::update_many(tx, &fresh).await?;
    let mut answers = Vec::with_capacity(payments.len());
    let mut fresh = fresh.into_iter().zip(outcomes);
    for (payment, id) in payments.iter().zip(&ids) {
        if inserted.contains(id) {
            if let Some((receipt, outcome)) = fresh.next() {
                answers.push(Received {
                    receipt,
                    created: true,
                    outcome: Some(outcome),
                });
            }
            continue;
        }
        answers.push(Received {
            receipt: existing(tx, payment).await?,
            created: false,
            outcome: None,
        });
    }
    Ok(answers)
}

async fn check(tx: &mut Tx, payments: &[IncomingPayment]) -> Result<(), CommandError> {
    for payment in payments {
        if !payment.amount.is_positive() {
            return Err(CommandError::invalid("amount", "must be positive"));
        }
    }
    let mut given: Vec<Uuid> = payments
        .iter()
        .filter_map(|payment| payment.customer_id)
        .collect();
    given.sort();
    given.dedup();
    for customer_id in given {
        if !customers::exists(tx, customer_id).await? {
            return Err(CommandError::invalid(
                "customer_id",
                format!("no customer {customer_id}"),
            ));
        }
    }
    Ok(())
}

/// The receipt recorded before under this payment's source key.
async fn existing(tx: &mut Tx, payment: &IncomingPayment) -> Result<ReceiptRow, CommandError> {
    let existing = receipts::by_source_key(tx, &payment.source_key)
        .await?
        .ok_or_else(|| CommandError::Aborted("the receipt is being recorded; retry".into()))?;
    if existing.request_hash != payment.request_hash {
        return Err(CommandError::AlreadyExists(format!(
            "`{}` was already used for a different payment (receipt {})",
            payment.source_key, existing.id
        )));
    }
    Ok(existing)
}

async fn publish_received(
    tx: &mut Tx,
    actor: &Actor,
    receipts: &[ReceiptRow],
) -> Result<(), CommandError> {
    let events: Vec<_> = receipts
        .iter()
        .map(|receipt| outgoing::payment_received(&actor.tenant, receipt))
        .collect();
    outbox::enqueue_many(tx, &events).await?;
    let ids: Vec<String> = receipts
        .iter()
        .map(|receipt| receipt.id.to_string())
        .collect();
    let entries: Vec<AuditEntry<'_>> = receipts
        .iter()
        .zip(&ids)
        .map(|(receipt, id)| AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action: "payment.receive",
            entity_type: "receipt",
            entity_id: id,
            before: None,
            after: Some(serde_json::json!({
                "channel": receipt.channel,
                "amount": receipt.amount,
                "currency": receipt.currency,
                "customer_id": receipt.customer_id,
                "source_key": receipt.source_key,
            })),
        })
        .collect();
    audit::record_many(tx, &entries).await?;
    Ok(())
}

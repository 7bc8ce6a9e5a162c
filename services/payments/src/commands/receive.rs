//! Money in: a receipt is recorded once per source key (gRPC idempotency
//! key, statement line, provider event), published, and cash-applied in the
//! same transaction.

use chrono::NaiveDate;
use uuid::Uuid;

use super::apply::PlannedAllocation;
use super::cash_application::{self, Outcome};
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
    /// The invoice this payment is known to settle, and how it is known
    /// (`direct_debit`); cash application proper runs only if it no longer fits.
    pub known_allocation: Option<(PlannedAllocation, &'static str)>,
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
    if !payment.amount.is_positive() {
        return Err(CommandError::invalid("amount", "must be positive"));
    }
    if let Some(customer_id) = payment.customer_id
        && !customers::exists(tx, customer_id).await?
    {
        return Err(CommandError::invalid(
            "customer_id",
            format!("no customer {customer_id}"),
        ));
    }
    let id = Uuid::now_v7();
    let payer_account = crate::domain::normalise_account(&payment.payer_account);
    let inserted = receipts::insert(
        tx,
        actor.tenant.as_str(),
        &NewReceipt {
            id,
            source_key: &payment.source_key,
            request_hash: &payment.request_hash,
            channel: payment.channel,
            customer_id: payment.customer_id,
            currency: payment.amount.currency().code(),
            amount: payment.amount.amount(),
            value_date: payment.value_date,
            payer_name: payment.payer_name.trim(),
            payer_account: &payer_account,
            remittance: payment.remittance.trim(),
            external_reference: payment.external_reference.trim(),
            statement_id: payment.statement_id,
            received_by: &actor.subject,
        },
    )
    .await?;
    if !inserted {
        let existing = receipts::by_source_key(tx, &payment.source_key)
            .await?
            .ok_or_else(|| CommandError::Aborted("the receipt is being recorded; retry".into()))?;
        if existing.request_hash != payment.request_hash {
            return Err(CommandError::AlreadyExists(format!(
                "`{}` was already used for a different payment (receipt {})",
                payment.source_key, existing.id
            )));
        }
        return Ok(Received {
            receipt: existing,
            created: false,
            outcome: None,
        });
    }
    let mut receipt = receipts::lock(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("receipt {id}")))?;
    outbox::enqueue(tx, &outgoing::payment_received(&actor.tenant, &receipt)).await?;
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action: "payment.receive",
            entity_type: "receipt",
            entity_id: &id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "channel": receipt.channel,
                "amount": receipt.amount,
                "currency": receipt.currency,
                "customer_id": receipt.customer_id,
                "source_key": receipt.source_key,
            })),
        },
    )
    .await?;
    let outcome = match (&payment.known_allocation, payment.customer_id) {
        (Some((known, method)), Some(customer_id)) => {
            cash_application::apply_known(
                tx,
                actor,
                policy,
                &mut receipt,
                customer_id,
                known,
                method,
            )
            .await?
        }
        _ => cash_application::run(tx, actor, policy, &mut receipt).await?,
    };
    receipts::update(tx, &receipt).await?;
    Ok(Received {
        receipt,
        created: true,
        outcome: Some(outcome),
    })
}

//! Direct debit: SEPA mandates, the due-date collection run that writes a
//! pain.008 batch and records each collection as an expected receipt, and
//! the bank's results (camt.054 / statement lines) that settle or return
//! those collections.

pub mod collect;
pub mod store;

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::commands::apply::PlannedAllocation;
use crate::commands::cash_application::KnownAllocation;
use crate::commands::receive::IncomingPayment;
use crate::commands::{Actor, CommandError, manual};
use crate::store::Tx;
use otc_bank_formats::{Entry, Transaction};
use otc_shared::Money;

/// One transaction of a statement entry.
pub struct StatementLine<'a> {
    pub entry: &'a Entry,
    pub transaction: &'a Transaction,
}

/// What a credit line is to direct debit.
#[derive(Debug)]
pub enum Settlement {
    /// Not a collection of ours: an ordinary receipt.
    NotOurs,
    /// Pays an expected collection: the payment to record (applied to the
    /// collection's invoice) and the collection it settles.
    Settles(Box<IncomingPayment>, Uuid),
    /// A collection already settled from another bank file (the camt.054
    /// notification, then the day's camt.053 statement): the money is
    /// already a receipt, and must not become a second one.
    AlreadySettled,
}

/// Whether a credit line settles one of our collections (same end-to-end
/// id, amount and currency).
pub async fn settlement(
    tx: &mut Tx,
    line: &StatementLine<'_>,
    statement_id: Uuid,
) -> Result<Settlement, CommandError> {
    let Some(end_to_end_id) = line.transaction.end_to_end_id.as_deref() else {
        return Ok(Settlement::NotOurs);
    };
    let Some(collection) = store::collection_by_end_to_end(tx, end_to_end_id).await? else {
        return Ok(Settlement::NotOurs);
    };
    if collection.amount != line.transaction.amount
        || collection.currency != line.transaction.currency
    {
        return Ok(Settlement::NotOurs);
    }
    match collection.status.as_str() {
        "expected" => {}
        "settled" => return Ok(Settlement::AlreadySettled),
        _ => return Ok(Settlement::NotOurs),
    }
    let amount = Money::from_columns(collection.amount, &collection.currency)
        .map_err(|error| CommandError::invalid("content", error.to_string()))?;
    let payment = IncomingPayment {
        source_key: format!("direct_debit:{end_to_end_id}"),
        request_hash: crate::commands::import::sha256_hex(
            format!(
                "{end_to_end_id}|{}|{}",
                collection.amount, collection.currency
            )
            .as_bytes(),
        ),
        channel: "direct_debit",
        customer_id: Some(collection.customer_id),
        amount,
        value_date: line.entry.value_date,
        payer_name: line
            .transaction
            .counterparty_name
            .clone()
            .unwrap_or_default(),
        payer_account: line
            .transaction
            .counterparty_account
            .clone()
            .unwrap_or_default(),
        remittance: format!(
            "SEPA direct debit {} mandate {}",
            collection.invoice_number, collection.mandate_reference
        ),
        external_reference: end_to_end_id.to_owned(),
        statement_id: Some(statement_id),
        known_allocation: Some(KnownAllocation {
            allocation: PlannedAllocation {
                invoice_id: collection.invoice_id,
                currency: None,
                amount: collection.amount,
                discount: Decimal::ZERO,
                deduction: Decimal::ZERO,
            },
            method: "direct_debit",
        }),
    };
    Ok(Settlement::Settles(Box::new(payment), collection.id))
}

/// A returned collection (R-transaction): before settlement it just fails;
/// after, its receipt is reversed and the invoice re-opens. `false` when
/// the line returns nothing of ours.
pub async fn record_return(
    tx: &mut Tx,
    actor: &Actor,
    line: &StatementLine<'_>,
) -> Result<bool, CommandError> {
    let Some(end_to_end_id) = line.transaction.end_to_end_id.as_deref() else {
        return Ok(false);
    };
    let Some(collection) = store::collection_by_end_to_end(tx, end_to_end_id).await? else {
        return Ok(false);
    };
    let reason = format!(
        "RETURNED {}",
        line.transaction
            .return_reason
            .as_deref()
            .unwrap_or("(no reason code)")
    );
    match (collection.status.as_str(), collection.receipt_id) {
        ("returned", _) => return Ok(true),
        ("settled", Some(receipt_id)) => {
            manual::reverse_payment(tx, actor, receipt_id, &reason).await?;
        }
        _ => {}
    }
    store::mark_returned(tx, collection.id, &reason).await?;
    Ok(true)
}

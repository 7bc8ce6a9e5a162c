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

/// A credit line that pays an expected collection (same end-to-end id,
/// amount and currency), as the payment to record (applied to the
/// collection's invoice) and the collection it settles; `None` when the
/// line is not a collection of ours.
pub async fn settlement(
    tx: &mut Tx,
    line: &StatementLine<'_>,
    statement_id: Uuid,
) -> Result<Option<(IncomingPayment, Uuid)>, CommandError> {
    let Some(end_to_end_id) = line.transaction.end_to_end_id.as_deref() else {
        return Ok(None);
    };
    let Some(collection) = store::collection_by_end_to_end(tx, end_to_end_id).await? else {
        return Ok(None);
    };
    if collection.status != "expected"
        || collection.amount != line.transaction.amount
        || collection.currency != line.transaction.currency
    {
        return Ok(None);
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
    Ok(Some((payment, collection.id)))
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

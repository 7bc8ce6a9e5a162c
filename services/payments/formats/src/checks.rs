//! Consistency checks every reader runs on a finished statement: unique references,
//! one currency, and opening balance + movements = closing balance.

use std::collections::HashSet;

use rust_decimal::Decimal;

use crate::error::Fail;
use crate::model::{Direction, Statement};

/// Where the reader found the parts a failed check should point at.
pub(crate) struct Places<'a> {
    /// One location per entry, in order.
    pub entries: &'a [String],
    /// The closing balance (or the statement when it has none).
    pub closing: &'a str,
}

pub(crate) fn check_statement(statement: &Statement, places: &Places<'_>) -> Result<(), Fail> {
    unique_references(statement, places)?;
    one_currency(statement, places)?;
    reconcile(statement, places.closing)
}

/// Downstream de-duplication keys on these references, so a repeat would silently
/// drop a payment.
fn unique_references(statement: &Statement, places: &Places<'_>) -> Result<(), Fail> {
    let mut entries = HashSet::new();
    let mut transactions = HashSet::new();
    for (index, entry) in statement.entries.iter().enumerate() {
        let place = || places.entries.get(index).cloned().unwrap_or_default();
        if !entries.insert(entry.reference.as_str()) {
            let reason = format!(
                "entry reference `{}` is used twice in the statement",
                entry.reference
            );
            return Err(Fail::new(place(), reason));
        }
        for transaction in &entry.transactions {
            if !transactions.insert(transaction.reference.as_str()) {
                let reason = format!(
                    "transaction reference `{}` is used twice in the statement",
                    transaction.reference
                );
                return Err(Fail::new(place(), reason));
            }
        }
    }
    Ok(())
}

fn one_currency(statement: &Statement, places: &Places<'_>) -> Result<(), Fail> {
    let Some(currency) = statement.account.currency.as_deref() else {
        return Ok(());
    };
    for balance in [&statement.opening_balance, &statement.closing_balance]
        .into_iter()
        .flatten()
    {
        if balance.currency != currency {
            let reason = format!(
                "balance is in {} but the account is in {currency}",
                balance.currency
            );
            return Err(Fail::new(places.closing, reason));
        }
    }
    for (index, entry) in statement.entries.iter().enumerate() {
        if entry.currency != currency {
            let reason = format!(
                "entry is in {} but the account is in {currency}",
                entry.currency
            );
            let place = places.entries.get(index).cloned().unwrap_or_default();
            return Err(Fail::new(place, reason));
        }
    }
    Ok(())
}

fn reconcile(statement: &Statement, closing_place: &str) -> Result<(), Fail> {
    let (Some(opening), Some(closing)) = (&statement.opening_balance, &statement.closing_balance)
    else {
        return Ok(());
    };
    let booked = statement.entries.iter().filter(|entry| entry.booked);
    let (mut credits, mut debits) = (Decimal::ZERO, Decimal::ZERO);
    for entry in booked {
        match entry.direction {
            Direction::Credit => credits += entry.amount,
            Direction::Debit => debits += entry.amount,
        }
    }
    let expected = opening.amount + credits - debits;
    if expected == closing.amount {
        return Ok(());
    }
    let reason = format!(
        "closing balance {} {} does not equal opening balance {} + credits {credits} - debits {debits} = {expected}",
        closing.amount, closing.currency, opening.amount
    );
    Err(Fail::new(closing_place, reason))
}

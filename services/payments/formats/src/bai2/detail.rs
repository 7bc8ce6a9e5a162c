//! The BAI2 `16` transaction detail record and the funds-type fields it shares with
//! the `03` summary items.

use chrono::NaiveDate;

use super::labels;
use super::records::{Fields, Record};
use crate::dates::{hhmm, yymmdd};
use crate::error::Fail;
use crate::model::{Direction, Entry, Transaction};
use crate::money::{from_minor_units, minor_units};

/// What the funds type says about availability; only a value date matters here.
pub(super) fn funds_type(fields: &mut Fields<'_>) -> Result<Option<NaiveDate>, String> {
    let code = fields.next_field();
    match code {
        "" | "0" | "1" | "2" | "Z" => Ok(None),
        // Immediate, one-day and two-or-more-day availability amounts.
        "S" => {
            for _ in 0..3 {
                let amount = fields.next_field();
                if !amount.is_empty() {
                    minor_units(amount, true)?;
                }
            }
            Ok(None)
        }
        "V" => {
            let date = yymmdd(fields.next_field())?;
            let time = fields.next_field();
            if !time.is_empty() {
                hhmm(time)?;
            }
            Ok(Some(date))
        }
        // A count of distributions, then (days, amount) pairs.
        "D" => {
            let count_field = fields.next_field();
            let count: usize = count_field
                .parse()
                .map_err(|_| format!("invalid distribution count `{count_field}`"))?;
            for _ in 0..count {
                let days = fields.next_field();
                if days.is_empty() || !days.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("invalid availability days `{days}`"));
                }
                minor_units(fields.next_field(), true)?;
            }
            Ok(None)
        }
        other => Err(format!(
            "unknown funds type `{other}` (expected 0, 1, 2, Z, S, V or D)"
        )),
    }
}

/// BAI detail type codes 100-399 are credits, 400-699 debits.
fn direction(code: &str) -> Result<Direction, String> {
    let number: u16 = code
        .parse()
        .ok()
        .filter(|_| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("invalid type code `{code}`"))?;
    match number {
        100..=399 => Ok(Direction::Credit),
        400..=699 => Ok(Direction::Debit),
        _ => Err(format!(
            "type code {code} is not a credit (100-399) or debit (400-699) detail"
        )),
    }
}

/// `16,type,amount,funds type[,...],bank ref,customer ref,text` plus `88` text. Returns
/// the entry and its amount in minor units for the control total.
pub(super) fn read(
    record: &Record,
    currency: &str,
    as_of: NaiveDate,
    position: usize,
) -> Result<(Entry, i128), Fail> {
    let fail = |reason: String| Fail::new(record.place(), reason);
    let mut fields = record.fields();
    let code = fields.next_field();
    let direction = direction(code).map_err(fail)?;
    let amount_text = fields.next_field();
    let units = minor_units(amount_text, false).map_err(fail)?;
    let amount = from_minor_units(amount_text, false, currency).map_err(fail)?;
    let value_date = funds_type(&mut fields).map_err(fail)?.unwrap_or(as_of);
    let bank_reference = fields.next_field().trim();
    let _customer_reference = fields.next_field();
    let text = std::iter::once(fields.remainder().trim())
        .chain(record.continued_text().iter().map(String::as_str))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let reference = if bank_reference.is_empty() {
        format!("N{position}")
    } else {
        bank_reference.to_owned()
    };
    let found = labels::read(&text);
    let transaction = Transaction {
        counterparty_name: found.name,
        counterparty_account: found.account,
        counterparty_bic: found.bic,
        return_reason: found.reason,
        remittance: text,
        ..Transaction::whole(&reference, amount, currency)
    };
    let entry = Entry {
        reference,
        direction,
        amount,
        currency: currency.to_owned(),
        booking_date: Some(as_of),
        value_date,
        reversal: false,
        booked: true,
        bank_transaction_code: Some(code.to_owned()),
        transactions: vec![transaction],
    };
    Ok((entry, units))
}

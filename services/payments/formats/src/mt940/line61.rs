//! The MT940 statement line `:61:` and the balance fields `:60F:`/`:62F:`/`:64:`/`:65:`.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::dates::{mmdd_near, yymmdd};
use crate::model::{Balance, Direction};
use crate::money::{Separator, check_currency, parse_amount};

/// A parsed `:61:`.
#[derive(Debug)]
pub(crate) struct Line61 {
    pub value_date: NaiveDate,
    pub booking_date: Option<NaiveDate>,
    pub direction: Direction,
    pub reversal: bool,
    pub amount: Decimal,
    /// Transaction type identification, e.g. `NTRF` or `S103`.
    pub type_code: String,
    pub bank_reference: Option<String>,
}

/// `YYMMDD[MMDD](C|D|RC|RD)[funds code]amount(N|F|S)xxx customer-ref[//bank-ref]`,
/// an optional second line of supplementary details.
pub(crate) fn parse_61(value: &str, currency: &str) -> Result<Line61, String> {
    let first = value.lines().next().unwrap_or_default();
    let value_date = yymmdd(first.get(..6).unwrap_or(first))?;
    let mut rest = first.get(6..).unwrap_or_default();
    let booking_date = match rest.get(..4) {
        Some(mmdd) if mmdd.bytes().all(|b| b.is_ascii_digit()) => {
            rest = rest.get(4..).unwrap_or_default();
            Some(mmdd_near(mmdd, value_date)?)
        }
        _ => None,
    };
    let (direction, reversal, after_mark) = mark(rest)?;
    // The funds code is the third letter of an ISO currency code; amounts start with a digit.
    let after_funds = match after_mark.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => after_mark.get(1..).unwrap_or_default(),
        _ => after_mark,
    };
    let amount_end = after_funds
        .find(['N', 'F', 'S'])
        .unwrap_or(after_funds.len());
    let (amount_text, after_amount) = after_funds.split_at(amount_end);
    let amount = parse_amount(amount_text, Separator::Comma, currency)?;
    let type_code = after_amount.get(..4).unwrap_or_default();
    if type_code.len() != 4 || !type_code.chars().skip(1).all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "invalid transaction type `{type_code}` (expected e.g. NTRF)"
        ));
    }
    let references = after_amount.get(4..).unwrap_or_default();
    let (customer, bank) = match references.split_once("//") {
        Some((customer, bank)) => (customer, Some(bank.trim())),
        None => (references, None),
    };
    if customer.trim().is_empty() {
        return Err("missing customer reference (use NONREF when there is none)".to_owned());
    }
    Ok(Line61 {
        value_date,
        booking_date,
        direction,
        reversal,
        amount,
        type_code: type_code.to_owned(),
        bank_reference: bank
            .filter(|b| !b.is_empty() && *b != "NONREF")
            .map(str::to_owned),
    })
}

/// `RC` is the reversal of a credit, so money leaves the account: a debit.
fn mark(text: &str) -> Result<(Direction, bool, &str), String> {
    for (prefix, direction, reversal) in [
        ("RC", Direction::Debit, true),
        ("RD", Direction::Credit, true),
        ("C", Direction::Credit, false),
        ("D", Direction::Debit, false),
    ] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return Ok((direction, reversal, rest));
        }
    }
    let shown: String = text.chars().take(2).collect();
    Err(format!(
        "invalid debit/credit mark `{shown}` (expected C, D, RC or RD)"
    ))
}

/// `C240301EUR1234,56`: mark, date, currency, amount. Debit balances are negative.
pub(crate) fn parse_balance(value: &str) -> Result<Balance, String> {
    let value = value.trim();
    let negative = match value.get(..1) {
        Some("C") => false,
        Some("D") => true,
        _ => return Err(format!("invalid balance `{value}` (expected C or D first)")),
    };
    let date = yymmdd(value.get(1..7).unwrap_or_default())?;
    let currency = check_currency(value.get(7..10).unwrap_or_default())?;
    let amount = parse_amount(
        value.get(10..).unwrap_or_default(),
        Separator::Comma,
        &currency,
    )?;
    let amount = if negative { -amount } else { amount };
    Ok(Balance {
        amount,
        currency,
        date,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn statement_lines() {
        let line = parse_61(
            "2403010301CR1250,00NTRFE2E-1//BANKREF1\nsupplementary",
            "EUR",
        )
        .unwrap();
        assert_eq!(line.amount.to_string(), "1250.00");
        assert_eq!(line.direction, Direction::Credit);
        assert_eq!(line.booking_date, NaiveDate::from_ymd_opt(2024, 3, 1));
        assert_eq!(line.bank_reference.as_deref(), Some("BANKREF1"));
        let reversal = parse_61("240302RC10,NCHGNONREF", "EUR").unwrap();
        assert_eq!(
            (reversal.direction, reversal.reversal),
            (Direction::Debit, true)
        );
        assert_eq!(reversal.bank_reference, None);
        assert_eq!(
            parse_61("240301C12,3xNTRFREF", "EUR").unwrap_err(),
            "invalid amount `12,3x`"
        );
        assert!(parse_61("240301X12,NTRFREF", "EUR").is_err());
        assert!(parse_61("240301C12,NTRF", "EUR").is_err());
    }

    #[test]
    fn balances() {
        let balance = parse_balance("D240301EUR100,5").unwrap();
        assert_eq!(balance.amount.to_string(), "-100.5");
        assert!(parse_balance("C240301EU100,5").is_err());
    }
}

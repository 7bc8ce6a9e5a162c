//! The payments service's own rules that need no I/O: receipt status,
//! channels, payer accounts and the stored form of suggestions.

pub mod keys;
pub mod suggestions;

use rust_decimal::Decimal;

use otc_proto::payments::Channel;

/// A receipt's status from its balances (`store::receipts` has the same
/// rule in SQL for filtering).
pub fn receipt_status(
    applied: Decimal,
    unapplied: Decimal,
    refunded: Decimal,
    reversed: Decimal,
) -> &'static str {
    // Nothing left to apply: applied (the rest, if any, was refunded), or
    // refunded altogether.
    if reversed > Decimal::ZERO {
        "REVERSED"
    } else if unapplied.is_zero() && applied > Decimal::ZERO {
        "APPLIED"
    } else if unapplied.is_zero() && refunded > Decimal::ZERO {
        "REFUNDED"
    } else if applied > Decimal::ZERO {
        "PARTIALLY_APPLIED"
    } else {
        "UNAPPLIED"
    }
}

pub const STATUSES: [&str; 5] = [
    "UNAPPLIED",
    "PARTIALLY_APPLIED",
    "APPLIED",
    "REFUNDED",
    "REVERSED",
];

pub fn channel_name(channel: Channel) -> Option<&'static str> {
    match channel {
        Channel::Unspecified => None,
        Channel::Cash => Some("cash"),
        Channel::Cheque => Some("cheque"),
        Channel::Card => Some("card"),
        Channel::Wire => Some("wire"),
        Channel::Manual => Some("manual"),
        Channel::BankStatement => Some("bank_statement"),
        Channel::Provider => Some("provider"),
        Channel::DirectDebit => Some("direct_debit"),
    }
}

pub fn channel_of(name: &str) -> Channel {
    match name {
        "cash" => Channel::Cash,
        "cheque" => Channel::Cheque,
        "card" => Channel::Card,
        "wire" => Channel::Wire,
        "manual" => Channel::Manual,
        "bank_statement" => Channel::BankStatement,
        "provider" => Channel::Provider,
        "direct_debit" => Channel::DirectDebit,
        _ => Channel::Unspecified,
    }
}

/// A payer account as stored and looked up: no spaces, upper case (IBANs
/// are printed in groups of four, and banks differ in case).
pub fn normalise_account(account: &str) -> String {
    account
        .chars()
        .filter(|character| !character.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn status_follows_the_balances() {
        assert_eq!(
            receipt_status(dec!(10), dec!(0), dec!(0), dec!(0)),
            "APPLIED"
        );
        assert_eq!(
            receipt_status(dec!(8), dec!(0), dec!(2), dec!(0)),
            "APPLIED"
        );
        assert_eq!(
            receipt_status(dec!(4), dec!(6), dec!(0), dec!(0)),
            "PARTIALLY_APPLIED"
        );
        assert_eq!(
            receipt_status(dec!(0), dec!(0), dec!(10), dec!(0)),
            "REFUNDED"
        );
        assert_eq!(
            receipt_status(dec!(0), dec!(4), dec!(6), dec!(0)),
            "UNAPPLIED"
        );
        assert_eq!(
            receipt_status(dec!(0), dec!(0), dec!(0), dec!(10)),
            "REVERSED"
        );
    }

    #[test]
    fn accounts_are_compared_without_spaces_or_case() {
        assert_eq!(
            normalise_account("de89 3704 0044 0532 0130 00"),
            "DE89370400440532013000"
        );
    }
}

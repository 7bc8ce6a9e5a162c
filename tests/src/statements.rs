//! Bank files for tests: the camt writers of `otc_bank_formats::write`
//! with the tests' account currency (EUR) and dates (statements of
//! 2026-11-02, notifications of 2026-11-05).

use rust_decimal::Decimal;

pub use otc_bank_formats::write::Line;
use otc_bank_formats::write::{self, Header};

/// The lines' value date when they give none.
const STATEMENT_DATE: &str = "2026-11-02";

/// A camt.053.001.02 EUR statement of `own_iban` whose closing balance is
/// the opening balance plus the lines.
pub fn camt053(statement_id: &str, own_iban: &str, opening: Decimal, lines: &[Line]) -> String {
    write::camt053(
        &Header {
            id: statement_id,
            own_iban,
            currency: "EUR",
            date: STATEMENT_DATE,
        },
        opening,
        &dated(lines),
    )
}

/// A camt.054.001.02 EUR notification (direct-debit results: settled
/// collections are credits, returns are debits with a reason).
pub fn camt054(notification_id: &str, own_iban: &str, lines: &[Line]) -> String {
    write::camt054(
        &Header {
            id: notification_id,
            own_iban,
            currency: "EUR",
            date: "2026-11-05",
        },
        &dated(lines),
    )
}

/// Lines without a value date get the statement's, as they always had.
fn dated(lines: &[Line]) -> Vec<Line> {
    lines
        .iter()
        .map(|line| {
            let mut line = line.clone();
            if line.value_date.is_empty() {
                line.value_date = STATEMENT_DATE.to_owned();
            }
            line
        })
        .collect()
}

//! Bank file formats of the payments service: camt.053/camt.054, MT940 and BAI2
//! statements in, as one exact model; SEPA pain.008 direct-debit batches out.
//!
//! Parsing is all-or-nothing: a file with any error yields a [`ParseError`] naming the
//! line or element, never a partial list of statements.

mod bai2;
mod camt;
mod checks;
mod dates;
mod detect;
mod error;
mod ids;
mod model;
mod money;
mod mt940;
pub mod pain008;
pub mod write;

pub use detect::detect;

/// Why an IBAN is refused (checksum or the country's format), or `None`.
pub fn iban_problem(text: &str) -> Option<String> {
    ids::iban_problem(text)
}

/// Why a SEPA creditor identifier is refused, or `None`.
pub fn creditor_id_problem(text: &str) -> Option<String> {
    pain008::creditor_id_problem(text)
}
pub use error::{Pain008Error, ParseError};
pub use model::{
    Account, Balance, Direction, Entry, Format, Statement, Transaction, UnknownFormat,
};

/// Reads every statement (or notification, or BAI2 account report) in a bank file.
///
/// # Errors
/// The first problem found: malformed syntax, a missing mandatory field, an invalid
/// amount, currency or date, or a failed consistency check (balances, control totals,
/// record counts, batch sums).
pub fn parse(format: Format, bytes: &[u8]) -> Result<Vec<Statement>, ParseError> {
    let result = match format {
        Format::Camt053 | Format::Camt054 => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            let xml = std::str::from_utf8(bytes).map_err(|error| {
                let reason = format!(
                    "not UTF-8 (byte {}): ISO 20022 files are UTF-8",
                    error.valid_up_to()
                );
                ParseError {
                    format,
                    location: "Document".to_owned(),
                    reason,
                }
            })?;
            camt::parse(format, xml)
        }
        Format::Mt940 => mt940::parse(&text(bytes)),
        Format::Bai2 => bai2::parse(&text(bytes)),
    };
    result.map_err(|fail| fail.into_error(format))
}

/// Line formats come from bank systems that still write ISO 8859-1: take UTF-8 when the
/// bytes are UTF-8, else read each byte as the Latin-1 character of that code.
fn text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().copied().map(char::from).collect(),
    }
}

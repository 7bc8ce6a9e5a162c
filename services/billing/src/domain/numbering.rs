//! Document numbers as printed on invoices and notes (`INV-2026-000123`); the
//! gapless sequence itself is allocated in the store, per tenant and series.

use std::fmt;

/// Sequences are zero-padded to this many digits and grow beyond it.
const MIN_SEQUENCE_DIGITS: usize = 6;

/// The numbering series: each kind of document counts on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocumentSeries {
    Invoice,
    CreditNote,
    DebitNote,
}

impl DocumentSeries {
    pub const ALL: [DocumentSeries; 3] = [Self::Invoice, Self::CreditNote, Self::DebitNote];

    pub fn prefix(&self) -> &'static str {
        match self {
            Self::Invoice => "INV",
            Self::CreditNote => "CN",
            Self::DebitNote => "DN",
        }
    }

    /// The printed number of the `sequence`-th document of `year`.
    pub fn document_number(&self, year: i32, sequence: i64) -> String {
        format_document_number(self.prefix(), year, sequence)
    }
}

impl fmt::Display for DocumentSeries {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.prefix())
    }
}

/// `INV-2026-000123`; a sequence past 999999 keeps all its digits
/// (`INV-2026-1234567`) rather than wrapping. Sequences start at 1.
pub fn format_document_number(prefix: &str, year: i32, sequence: i64) -> String {
    debug_assert!(
        sequence > 0,
        "document sequences start at 1, got {sequence}"
    );
    format!(
        "{prefix}-{year}-{sequence:0width$}",
        width = MIN_SEQUENCE_DIGITS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_six_digits_and_grows_beyond() {
        let cases = [
            ("INV", 2026, 1, "INV-2026-000001"),
            ("INV", 2026, 123, "INV-2026-000123"),
            ("INV", 2026, 999_999, "INV-2026-999999"),
            ("INV", 2026, 1_000_000, "INV-2026-1000000"),
            ("CN", 2027, 42, "CN-2027-000042"),
            ("DN", 1999, 9_876_543_210, "DN-1999-9876543210"),
        ];
        for (prefix, year, sequence, expected) in cases {
            assert_eq!(format_document_number(prefix, year, sequence), expected);
        }
    }

    #[test]
    fn each_series_has_its_own_prefix() {
        let numbers: Vec<String> = DocumentSeries::ALL
            .iter()
            .map(|series| series.document_number(2026, 7))
            .collect();
        assert_eq!(
            numbers,
            ["INV-2026-000007", "CN-2026-000007", "DN-2026-000007"]
        );
        assert_eq!(DocumentSeries::CreditNote.to_string(), "CN");
    }
}

//! Errors: where in the bank file a problem is and what it is, so that a finance
//! user can find the line or element and tell the bank.

use crate::model::Format;

/// A bank file was refused. Parsing is all-or-nothing: no statement of a file with an
/// error is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{format} {location}: {reason}")]
pub struct ParseError {
    pub format: Format,
    /// `line 12` or `line 12 (:61:)` for MT940/BAI2 (1-based); an element path such as
    /// `Document/BkToCstmrStmt/Stmt[2]/Ntry[3]/Amt` for camt.
    pub location: String,
    pub reason: String,
}

/// A problem found by a reader, before the format is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub location: String,
    pub reason: String,
}

impl Fail {
    pub(crate) fn new(location: impl Into<String>, reason: impl Into<String>) -> Self {
        Fail {
            location: location.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn into_error(self, format: Format) -> ParseError {
        ParseError {
            format,
            location: self.location,
            reason: self.reason,
        }
    }
}

/// A direct-debit batch that cannot be written, naming the offending field
/// (e.g. `collections[2].debtor_iban`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Pain008Error {
    pub field: String,
    pub reason: String,
}

impl Pain008Error {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Pain008Error {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

//! SEPA Core direct-debit batches written as ISO 20022 pain.008.001.02, validated
//! first so that the bank never sees a file it would reject for form.
//!
//! Text fields (names, remittance) are transliterated into the SEPA Latin character
//! set (`ä` → `ae`, `é` → `e`, `&` → `+`); identifiers (message, end-to-end and mandate
//! ids, creditor id) are rejected instead, since changing them would break matching.

mod charset;
mod validate;
mod xml;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use crate::error::Pain008Error;

/// A direct-debit batch file: one creditor, any number of collections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// GrpHdr/MsgId, unique per file (at most 35 characters).
    pub message_id: String,
    pub created_at: NaiveDateTime,
    /// InitgPty/Nm.
    pub initiating_party: String,
    pub creditor: Creditor,
    pub collections: Vec<Collection>,
}

/// The party collecting the money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creditor {
    pub name: String,
    pub iban: String,
    /// Without one, the agent is written as `NOTPROVIDED` (IBAN-only SEPA).
    pub bic: Option<String>,
    /// SEPA creditor identifier, e.g. `DE98ZZZ09999999999`.
    pub creditor_id: String,
}

/// SEPA sequence type of a collection under its mandate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SequenceType {
    /// FRST: first collection of a recurrent mandate.
    First,
    /// RCUR: a following collection.
    Recurring,
    /// OOFF: a one-off mandate.
    OneOff,
    /// FNAL: the last collection of a recurrent mandate.
    Final,
}

impl SequenceType {
    pub fn code(self) -> &'static str {
        match self {
            SequenceType::First => "FRST",
            SequenceType::Recurring => "RCUR",
            SequenceType::OneOff => "OOFF",
            SequenceType::Final => "FNAL",
        }
    }
}

/// One debit of one debtor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub end_to_end_id: String,
    /// In EUR, more than zero, at most two decimals.
    pub amount: Decimal,
    pub currency: String,
    pub mandate_id: String,
    pub mandate_signed_on: NaiveDate,
    pub sequence_type: SequenceType,
    pub collection_date: NaiveDate,
    pub debtor_name: String,
    pub debtor_iban: String,
    pub debtor_bic: Option<String>,
    /// Unstructured remittance (at most 140 characters); empty leaves RmtInf out.
    pub remittance: String,
}

/// Writes the batch as pain.008.001.02 XML: one `PmtInf` per (collection date, sequence
/// type), ordered by date then FRST/RCUR/OOFF/FNAL, collections in input order inside.
/// The same batch always gives the same bytes.
///
/// # Errors
/// The first field that breaks a SEPA rule, named as `collections[2].debtor_iban`
/// (0-based index) or `creditor.creditor_id`.
/// Why a SEPA creditor identifier is refused, or `None`.
pub fn creditor_id_problem(text: &str) -> Option<String> {
    validate::creditor_id("creditor_id", text)
        .err()
        .map(|error| error.reason)
}

pub fn write(batch: &Batch) -> Result<String, Pain008Error> {
    let document = validate::validate(batch)?;
    Ok(xml::render(&document))
}

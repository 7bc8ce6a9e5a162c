//! Checks a batch against the SEPA Core rules and turns it into the exact values the
//! XML will carry, grouped into payment-information blocks.

use std::collections::{BTreeMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::charset::{identifier_problem, to_sepa_text};
use super::{Batch, Collection, SequenceType};
use crate::error::Pain008Error;
use crate::ids::{iban_problem, is_bic, normalise_iban};

/// EPC limits for one instructed amount, and what CtrlSum (18 digits) can hold.
const MAX_AMOUNT: Decimal = Decimal::from_parts(1_215_752_191, 23, 0, false, 2);
const MAX_TOTAL: Decimal = Decimal::from_parts(2_808_348_671, 232_830_643, 0, false, 2);

pub(super) struct Document {
    pub message_id: String,
    pub created_at: NaiveDateTime,
    pub initiating_party: String,
    pub creditor: Creditor,
    pub groups: Vec<Group>,
    pub count: usize,
    pub total: Decimal,
}

pub(super) struct Creditor {
    pub name: String,
    pub iban: String,
    pub bic: Option<String>,
    pub creditor_id: String,
}

/// One PmtInf: all collections of one sequence type due on one date.
pub(super) struct Group {
    pub id: String,
    pub sequence: SequenceType,
    pub date: NaiveDate,
    pub collections: Vec<Debit>,
    pub total: Decimal,
}

pub(super) struct Debit {
    pub end_to_end_id: String,
    pub amount: Decimal,
    pub mandate_id: String,
    pub mandate_signed_on: NaiveDate,
    pub debtor_name: String,
    pub debtor_iban: String,
    pub debtor_bic: Option<String>,
    pub remittance: String,
}

pub(super) fn validate(batch: &Batch) -> Result<Document, Pain008Error> {
    let message_id = identifier("message_id", &batch.message_id)?;
    let initiating_party = text("initiating_party", &batch.initiating_party, 70, true)?;
    let creditor = creditor(&batch.creditor)?;
    if batch.collections.is_empty() {
        return Err(Pain008Error::new(
            "collections",
            "a batch needs at least one collection",
        ));
    }
    let mut seen = HashSet::new();
    let mut grouped: BTreeMap<(NaiveDate, SequenceType), Vec<Debit>> = BTreeMap::new();
    for (index, collection) in batch.collections.iter().enumerate() {
        let debit = debit(
            &format!("collections[{index}]"),
            collection,
            batch.created_at.date(),
        )?;
        if !seen.insert(debit.end_to_end_id.clone()) {
            let field = format!("collections[{index}].end_to_end_id");
            return Err(Pain008Error::new(field, "used twice in the batch"));
        }
        let key = (collection.collection_date, collection.sequence_type);
        grouped.entry(key).or_default().push(debit);
    }
    let groups = groups(&message_id, grouped)?;
    let total: Decimal = groups.iter().map(|group| group.total).sum();
    if total > MAX_TOTAL {
        return Err(Pain008Error::new(
            "collections",
            "the control sum exceeds 18 digits",
        ));
    }
    Ok(Document {
        initiating_party,
        created_at: batch.created_at,
        count: batch.collections.len(),
        message_id,
        creditor,
        groups,
        total,
    })
}

fn creditor(creditor: &super::Creditor) -> Result<Creditor, Pain008Error> {
    Ok(Creditor {
        name: text("creditor.name", &creditor.name, 70, true)?,
        iban: iban("creditor.iban", &creditor.iban)?,
        bic: bic("creditor.bic", creditor.bic.as_deref())?,
        creditor_id: creditor_id("creditor.creditor_id", &creditor.creditor_id)?,
    })
}

/// PmtInfId is the message id (cut to 31 characters) and a 3-digit group number, so it
/// is unique within the file and traceable to it.
fn groups(
    message_id: &str,
    grouped: BTreeMap<(NaiveDate, SequenceType), Vec<Debit>>,
) -> Result<Vec<Group>, Pain008Error> {
    if grouped.len() > 999 {
        return Err(Pain008Error::new(
            "collections",
            "more than 999 (date, sequence type) groups",
        ));
    }
    let prefix: String = message_id.chars().take(31).collect();
    let groups = grouped
        .into_iter()
        .enumerate()
        .map(|(index, ((date, sequence), collections))| Group {
            id: format!("{prefix}-{:03}", index + 1),
            total: collections.iter().map(|debit| debit.amount).sum(),
            sequence,
            date,
            collections,
        })
        .collect();
    Ok(groups)
}

fn debit(
    prefix: &str,
    collection: &Collection,
    created_on: NaiveDate,
) -> Result<Debit, Pain008Error> {
    let field = |name: &str| format!("{prefix}.{name}");
    if collection.currency != "EUR" {
        let reason = format!(
            "currency `{}` is not EUR (SEPA direct debits are in euro)",
            collection.currency
        );
        return Err(Pain008Error::new(field("currency"), reason));
    }
    if collection.collection_date < created_on {
        return Err(Pain008Error::new(
            field("collection_date"),
            "lies before the batch creation date",
        ));
    }
    if collection.mandate_signed_on > collection.collection_date {
        return Err(Pain008Error::new(
            field("mandate_signed_on"),
            "lies after the collection date",
        ));
    }
    Ok(Debit {
        end_to_end_id: identifier(&field("end_to_end_id"), &collection.end_to_end_id)?,
        amount: amount(&field("amount"), collection.amount)?,
        mandate_id: identifier(&field("mandate_id"), &collection.mandate_id)?,
        mandate_signed_on: collection.mandate_signed_on,
        debtor_name: text(&field("debtor_name"), &collection.debtor_name, 70, true)?,
        debtor_iban: iban(&field("debtor_iban"), &collection.debtor_iban)?,
        debtor_bic: bic(&field("debtor_bic"), collection.debtor_bic.as_deref())?,
        remittance: text(&field("remittance"), &collection.remittance, 140, false)?,
    })
}

fn amount(field: &str, amount: Decimal) -> Result<Decimal, Pain008Error> {
    if amount <= Decimal::ZERO {
        return Err(Pain008Error::new(
            field,
            format!("{amount} is not more than zero"),
        ));
    }
    if amount.normalize().scale() > 2 {
        return Err(Pain008Error::new(
            field,
            format!("{amount} has more than 2 decimal places"),
        ));
    }
    if amount > MAX_AMOUNT {
        return Err(Pain008Error::new(
            field,
            format!("{amount} exceeds the SEPA maximum of 999999999.99"),
        ));
    }
    Ok(amount)
}

/// MsgId, EndToEndId and MndtId: 1-35 SEPA characters, no leading, trailing or double
/// `/` (EPC rule), never transliterated.
fn identifier(field: &str, id: &str) -> Result<String, Pain008Error> {
    let fail = |reason: String| Err(Pain008Error::new(field, reason));
    let length = id.chars().count();
    if id.is_empty() {
        return fail("must not be empty".to_owned());
    }
    if length > 35 {
        return fail(format!(
            "is {length} characters long, at most 35 are allowed"
        ));
    }
    if let Some(c) = identifier_problem(id) {
        return fail(format!(
            "character `{c}` is outside the SEPA Latin character set (identifiers are not transliterated)"
        ));
    }
    if id.starts_with('/') || id.ends_with('/') || id.contains("//") {
        return fail("must not start or end with `/` or contain `//`".to_owned());
    }
    if id.trim() != id {
        return fail("must not start or end with a space".to_owned());
    }
    Ok(id.to_owned())
}

/// Names and remittance, transliterated; the length limit applies to the result.
fn text(field: &str, value: &str, max: usize, mandatory: bool) -> Result<String, Pain008Error> {
    let converted = to_sepa_text(value.trim()).map_err(|c| {
        let reason = format!(
            "character `{c}` is outside the SEPA Latin character set and has no transliteration"
        );
        Pain008Error::new(field, reason)
    })?;
    let length = converted.chars().count();
    if mandatory && length == 0 {
        return Err(Pain008Error::new(field, "must not be empty"));
    }
    if length > max {
        let reason = format!(
            "is {length} characters long (after transliteration), at most {max} are allowed"
        );
        return Err(Pain008Error::new(field, reason));
    }
    Ok(converted)
}

fn iban(field: &str, value: &str) -> Result<String, Pain008Error> {
    match iban_problem(value) {
        None => Ok(normalise_iban(value)),
        Some(problem) => Err(Pain008Error::new(
            field,
            format!("invalid IBAN `{value}`: {problem}"),
        )),
    }
}

fn bic(field: &str, value: Option<&str>) -> Result<Option<String>, Pain008Error> {
    let Some(value) = value else { return Ok(None) };
    let normalised = value.trim().to_ascii_uppercase();
    if !is_bic(&normalised) {
        return Err(Pain008Error::new(
            field,
            format!("invalid BIC `{value}` (expected 8 or 11 characters, e.g. COBADEFFXXX)"),
        ));
    }
    Ok(Some(normalised))
}

/// `CCkkBBBid`: country, check digits, creditor business code (not part of the check),
/// national id. The check digits make `id + country + kk` ≡ 1 (mod 97), letters read
/// as A=10 … Z=35, as for IBANs.
pub(super) fn creditor_id(field: &str, value: &str) -> Result<String, Pain008Error> {
    let fail = |reason: &str| {
        Err(Pain008Error::new(
            field,
            format!("invalid SEPA creditor identifier `{value}`: {reason}"),
        ))
    };
    let b = value.as_bytes();
    if b.len() < 8 || b.len() > 35 {
        return fail("expected 8 to 35 characters");
    }
    let shape = b.iter().take(2).all(u8::is_ascii_uppercase)
        && b.iter().skip(2).take(2).all(u8::is_ascii_digit)
        && b.iter()
            .skip(4)
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !shape {
        return fail("expected country code, 2 check digits, then upper-case letters and digits");
    }
    let (country, check) = (
        value.get(..2).unwrap_or_default(),
        value.get(2..4).unwrap_or_default(),
    );
    let national = value.get(7..).unwrap_or_default();
    if mod97(&format!("{national}{country}{check}")) != Some(1) {
        return fail("wrong check digits");
    }
    Ok(value.to_owned())
}

fn mod97(text: &str) -> Option<u32> {
    text.chars().try_fold(0_u32, |remainder, c| {
        let value = c.to_digit(36)?;
        let shift = if value < 10 { 10 } else { 100 };
        Some((remainder * shift + value) % 97)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creditor_identifier_checksum() {
        assert!(creditor_id("f", "DE98ZZZ09999999999").is_ok());
        assert!(creditor_id("f", "DE97ZZZ09999999999").is_err());
        assert!(creditor_id("f", "NL45ZZZ302009040000").is_ok());
        assert!(creditor_id("f", "de98ZZZ09999999999").is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(MAX_AMOUNT.to_string(), "999999999.99");
        assert_eq!(MAX_TOTAL.to_string(), "9999999999999999.99");
    }
}

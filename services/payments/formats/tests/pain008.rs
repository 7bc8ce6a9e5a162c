//! SEPA direct-debit batches: valid output checked against the official
//! pain.008.001.02 schema with the JDK's validator, and every rule that refuses input.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDateTime;
use common::{day, dec};
use otc_bank_formats::pain008::{Batch, Collection, Creditor, SequenceType, write};

fn collection(id: &str, amount: &str, sequence: SequenceType) -> Collection {
    Collection {
        end_to_end_id: id.to_owned(),
        amount: dec(amount),
        currency: "EUR".to_owned(),
        mandate_id: format!("MNDT-{id}"),
        mandate_signed_on: day(2023, 11, 20),
        sequence_type: sequence,
        collection_date: day(2024, 3, 8),
        debtor_name: "Erika Mustermann".to_owned(),
        debtor_iban: "DE02 1203 0000 0000 2020 51".to_owned(),
        debtor_bic: None,
        remittance: format!("Subscription March 2024 {id}"),
    }
}

fn batch() -> Batch {
    let mut first = collection("OTC-DD-2024-0201", "49.90", SequenceType::First);
    first.debtor_name = "Jürgen Groß & Söhne".to_owned();
    first.debtor_bic = Some("BYLADEM1001".to_owned());
    let mut later = collection("OTC-DD-2024-0203", "0.01", SequenceType::Recurring);
    later.collection_date = day(2024, 3, 12);
    Batch {
        message_id: "OTC-DD-20240304-0001".to_owned(),
        created_at: NaiveDateTime::parse_from_str("2024-03-04 09:30:00", "%Y-%m-%d %H:%M:%S")
            .unwrap(),
        initiating_party: "OTC Suite GmbH".to_owned(),
        creditor: Creditor {
            name: "OTC Suite GmbH".to_owned(),
            iban: "DE89370400440532013000".to_owned(),
            bic: Some("COBADEFFXXX".to_owned()),
            creditor_id: "DE98ZZZ09999999999".to_owned(),
        },
        collections: vec![
            first,
            collection("OTC-DD-2024-0202", "120", SequenceType::Recurring),
            later,
            collection("OTC-DD-2024-0204", "1000.5", SequenceType::Recurring),
        ],
    }
}

fn schema() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/pain.008.001.02.xsd")
}

/// Runs the JDK validator; `Ok` when every file is schema-valid, else its report.
fn validate(files: &[&Path]) -> Result<(), String> {
    let validator = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/xsd/Validate.java");
    let output = Command::new("java")
        .arg(validator)
        .arg(schema())
        .args(files)
        .output()
        .unwrap_or_else(|error| panic!("java must be on PATH for the schema test: {error}"));
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn write_temp(name: &str, xml: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, xml).unwrap();
    path
}

#[test]
fn valid_batch_passes_the_official_schema() {
    let xml = write(&batch()).unwrap();
    let mut iban_only = batch();
    iban_only.creditor.bic = None;
    iban_only.collections.truncate(1);
    iban_only.collections[0].remittance = String::new();
    let files = [
        write_temp("pain008-valid.xml", &xml),
        write_temp("pain008-iban-only.xml", &write(&iban_only).unwrap()),
    ];
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    if let Err(report) = validate(&paths) {
        panic!("generated pain.008 is not schema-valid:\n{report}\n{xml}");
    }
}

#[test]
fn the_validator_rejects_an_invalid_document() {
    let xml = write(&batch()).unwrap();
    // Elements out of schema order and an amount with three decimals.
    let broken = xml
        .replacen("<PmtMtd>DD</PmtMtd>", "", 1)
        .replacen(">49.90<", ">49.901<", 1);
    let file = write_temp("pain008-invalid.xml", &broken);
    let report = validate(&[&file]).unwrap_err();
    assert!(report.contains("invalid"), "{report}");
}

#[test]
fn groups_totals_and_transliteration() {
    let xml = write(&batch()).unwrap();
    assert_eq!(xml, write(&batch()).unwrap(), "deterministic");
    assert!(
        xml.contains("<NbOfTxs>4</NbOfTxs>\n      <CtrlSum>1170.41</CtrlSum>"),
        "{xml}"
    );
    let groups = xml.matches("<PmtInfId>").count();
    assert_eq!(groups, 3, "FRST and RCUR on 8 March, RCUR on 12 March");
    let first = xml.find("<SeqTp>FRST</SeqTp>").unwrap();
    let recurring = xml.find("<SeqTp>RCUR</SeqTp>").unwrap();
    assert!(first < recurring);
    assert!(xml.contains("<PmtInfId>OTC-DD-20240304-0001-001</PmtInfId>"));
    assert!(
        xml.contains("<NbOfTxs>2</NbOfTxs>\n      <CtrlSum>1120.50</CtrlSum>"),
        "{xml}"
    );
    assert!(xml.contains("<InstdAmt Ccy=\"EUR\">120.00</InstdAmt>"));
    assert!(xml.contains("<InstdAmt Ccy=\"EUR\">0.01</InstdAmt>"));
    assert!(xml.contains("<Nm>Juergen Gross + Soehne</Nm>"));
    assert!(
        xml.contains("<IBAN>DE02120300000000202051</IBAN>"),
        "IBAN in electronic format"
    );
    assert!(xml.contains("<Othr>\n              <Id>NOTPROVIDED</Id>"));
    assert!(xml.contains("<Id>DE98ZZZ09999999999</Id>"));
    assert!(xml.contains("<ReqdColltnDt>2024-03-12</ReqdColltnDt>"));
    assert!(xml.contains("<CreDtTm>2024-03-04T09:30:00</CreDtTm>"));
}

/// Applies `change` to a valid batch and asserts the named field is refused.
fn refused(change: impl FnOnce(&mut Batch), field: &str, reason: &str) {
    let mut batch = batch();
    change(&mut batch);
    let error = write(&batch).unwrap_err();
    assert_eq!(error.field, field, "{error}");
    assert!(
        error.reason.contains(reason),
        "reason of `{error}` lacks `{reason}`"
    );
}

#[test]
fn invalid_amounts_and_currency() {
    refused(
        |b| b.collections[1].amount = dec("0"),
        "collections[1].amount",
        "not more than zero",
    );
    refused(
        |b| b.collections[1].amount = dec("-5.00"),
        "collections[1].amount",
        "not more than zero",
    );
    refused(
        |b| b.collections[1].amount = dec("10.001"),
        "collections[1].amount",
        "more than 2 decimal places",
    );
    refused(
        |b| b.collections[1].amount = dec("1000000000.00"),
        "collections[1].amount",
        "SEPA maximum",
    );
    refused(
        |b| b.collections[2].currency = "USD".into(),
        "collections[2].currency",
        "not EUR",
    );
}

#[test]
fn invalid_accounts_and_identifiers() {
    refused(
        |b| b.collections[0].debtor_iban = "DE02120300000000202052".into(),
        "collections[0].debtor_iban",
        "checksum",
    );
    refused(
        |b| b.creditor.iban = "XX89370400440532013000".into(),
        "creditor.iban",
        "invalid IBAN",
    );
    refused(
        |b| b.creditor.creditor_id = "DE97ZZZ09999999999".into(),
        "creditor.creditor_id",
        "wrong check digits",
    );
    refused(
        |b| b.creditor.bic = Some("COBADEF".into()),
        "creditor.bic",
        "invalid BIC",
    );
    refused(
        |b| b.collections[3].debtor_bic = Some("COBA DE FF".into()),
        "collections[3].debtor_bic",
        "invalid BIC",
    );
    refused(
        |b| b.message_id = "M".repeat(36),
        "message_id",
        "at most 35",
    );
    refused(
        |b| b.collections[1].end_to_end_id = "E2E/ü".into(),
        "collections[1].end_to_end_id",
        "character `ü`",
    );
    refused(
        |b| b.collections[1].end_to_end_id = "/E2E".into(),
        "collections[1].end_to_end_id",
        "must not start or end with `/`",
    );
    refused(
        |b| b.collections[1].mandate_id = "M".repeat(36),
        "collections[1].mandate_id",
        "at most 35",
    );
    refused(
        |b| b.collections[2].end_to_end_id = "OTC-DD-2024-0201".into(),
        "collections[2].end_to_end_id",
        "used twice",
    );
}

#[test]
fn invalid_texts_and_dates() {
    refused(
        |b| b.creditor.name = "N".repeat(71),
        "creditor.name",
        "at most 70",
    );
    refused(
        |b| b.collections[0].debtor_name = "ä".repeat(36),
        "collections[0].debtor_name",
        "after transliteration",
    );
    refused(
        |b| b.collections[0].debtor_name = "  ".into(),
        "collections[0].debtor_name",
        "must not be empty",
    );
    refused(
        |b| b.collections[1].remittance = "R".repeat(141),
        "collections[1].remittance",
        "at most 140",
    );
    refused(
        |b| b.collections[1].remittance = "Invoice №7".into(),
        "collections[1].remittance",
        "no transliteration",
    );
    refused(
        |b| b.initiating_party = "<OTC>".into(),
        "initiating_party",
        "character `<`",
    );
    refused(
        |b| b.collections.clear(),
        "collections",
        "at least one collection",
    );
    refused(
        |b| b.collections[1].collection_date = day(2024, 3, 1),
        "collections[1].collection_date",
        "before the batch creation",
    );
    refused(
        |b| b.collections[1].mandate_signed_on = day(2024, 3, 9),
        "collections[1].mandate_signed_on",
        "after the collection date",
    );
}

#[test]
fn apostrophes_are_escaped() {
    let mut batch = batch();
    batch.collections[1].debtor_name = "Patrick O'Brien".into();
    let xml = write(&batch).unwrap();
    assert!(xml.contains("<Nm>Patrick O&apos;Brien</Nm>"), "{xml}");
}

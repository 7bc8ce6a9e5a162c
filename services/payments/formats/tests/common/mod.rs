//! Shared helpers of the integration tests: fixtures and exact values.
#![allow(dead_code, reason = "each test binary uses a different part")]
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use std::path::PathBuf;
use std::str::FromStr;

use chrono::NaiveDate;
use otc_bank_formats::{Format, Statement, Transaction, parse};
use rust_decimal::Decimal;

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap()
}

pub fn parse_fixture(format: Format, name: &str) -> Vec<Statement> {
    match parse(format, fixture(name).as_bytes()) {
        Ok(statements) => statements,
        Err(error) => panic!("{name} does not parse: {error}"),
    }
}

pub fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The only transaction of an entry without batch details.
pub fn single(statement: &Statement, entry: usize) -> &Transaction {
    let transactions = &statement.entries[entry].transactions;
    assert_eq!(
        transactions.len(),
        1,
        "entry {entry} should have one transaction"
    );
    &transactions[0]
}

/// Asserts that `text` fails with exactly this location and a reason containing `reason`.
pub fn assert_fails(format: Format, text: &str, location: &str, reason: &str) {
    match parse(format, text.as_bytes()) {
        Ok(_) => panic!("expected {format} to fail at {location} with `{reason}`"),
        Err(error) => {
            assert_eq!(error.format, format, "{error}");
            assert_eq!(error.location, location, "{error}");
            assert!(
                error.reason.contains(reason),
                "reason of `{error}` lacks `{reason}`"
            );
        }
    }
}

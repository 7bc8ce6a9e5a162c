//! Reference extraction from remittance text: each kind of noise a bank statement shows.

use otc_cash_matching::{extract_references, invoice_references};

fn keys(text: &str) -> Vec<String> {
    invoice_references(text)
}

#[test]
fn clean_number() {
    assert_eq!(keys("INV-2026-000123"), ["INV-2026-000123"]);
    assert_eq!(
        keys("Payment for DN-2025-004711 thank you"),
        ["DN-2025-004711"]
    );
    let refs = extract_references("INV-2026-000123");
    assert!(!refs[0].corrected);
}

#[test]
fn spacing_and_case() {
    assert_eq!(keys("inv 2026 000123"), ["INV-2026-000123"]);
    assert_eq!(keys("INV 2026 000 123"), ["INV-2026-000123"]);
    assert_eq!(keys("INV/2026/000123"), ["INV-2026-000123"]);
}

#[test]
fn labels_before_the_number() {
    assert_eq!(keys("RE: INV-2026-000123"), ["INV-2026-000123"]);
    assert_eq!(keys("Rechnung 2026-000123"), ["2026-000123"]);
    assert_eq!(keys("invoice#2026-000123"), ["2026-000123"]);
    assert_eq!(keys("Inv. no. 2026-000123"), ["2026-000123"]);
    assert_eq!(keys("Inv. INV-2026-000123"), ["INV-2026-000123"]);
    assert_eq!(keys("RE:INV-2026-000123"), ["INV-2026-000123"]);
}

#[test]
fn missing_prefix_and_zeros() {
    assert_eq!(keys("2026-000123"), ["2026-000123"]);
    assert_eq!(keys("INV-2026-123"), ["INV-2026-000123"]);
    assert!(extract_references("INV-2026-123")[0].corrected);
}

#[test]
fn dropped_and_doubled_separators() {
    assert_eq!(keys("INV2026-000123"), ["INV-2026-000123"]);
    assert_eq!(keys("INV-2026000123"), ["INV-2026-000123"]);
    assert_eq!(keys("INV--2026--000123"), ["INV-2026-000123"]);
    assert_eq!(keys("Rechnung 2026000123"), ["2026-000123"]);
    assert_eq!(keys("INV-2026-0000123"), ["INV-2026-000123"]);
}

#[test]
fn ocr_noise_in_digit_positions() {
    assert_eq!(keys("lNV 2O26 000l23"), ["INV-2026-000123"]);
    assert_eq!(keys("INV-2026-OOO123"), ["INV-2026-000123"]);
    assert_eq!(keys("INV-2026-000|23"), ["INV-2026-000123"]);
    assert_eq!(keys("INV-2026-0001Z3"), ["INV-2026-000123"]);
    assert_eq!(keys("INV-2026-00S1B3"), ["INV-2026-005183"]);
    assert_eq!(keys("1NV-2026-000123"), ["INV-2026-000123"]);
    let refs = extract_references("lNV 2026 000l23");
    assert!(refs[0].corrected);
    assert_eq!(refs[0].raw, "lNV 2026 000l23");
}

#[test]
fn several_numbers() {
    assert_eq!(
        keys("INV-2026-000123, INV-2026-000124 and DN-2026-000007"),
        ["INV-2026-000123", "INV-2026-000124", "DN-2026-000007"]
    );
    assert_eq!(keys("INV-2026-000123 INV-2026-000123"), ["INV-2026-000123"]);
}

#[test]
fn no_false_readings() {
    assert!(keys("").is_empty());
    assert!(
        keys("Payment 2026-03-15").is_empty(),
        "a date is no invoice"
    );
    assert!(keys("value 15.03.2026").is_empty());
    assert!(keys("IBAN DE89370400440532013000").is_empty());
    assert!(keys("amount 1.190,00 EUR").is_empty());
    assert!(keys("BOSS SOLO ZOIS").is_empty());
    assert!(keys("order 1999-000123").is_empty(), "years outside 20xx");
}

//! A small hand-made ledger for the behaviour tests.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixture"
)]
#![allow(
    clippy::unwrap_used,
    reason = "fixture values are literals known to be valid"
)]

use chrono::NaiveDate;
use otc_cash_matching::{Customer, Index, OpenInvoice, Receipt};
use rust_decimal::Decimal;
use uuid::Uuid;

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub const HOLDING: u128 = 1;
pub const EUROPE: u128 = 2;
pub const FRANCE: u128 = 3;
pub const BETA: u128 = 4;
pub const GAMMA: u128 = 5;

pub const HOLDING_IBAN: &str = "DE44500105175407324931";
pub const EUROPE_IBAN: &str = "DE89370400440532013000";
pub const BETA_IBAN: &str = "GB29NWBK60161331926819";
pub const GAMMA_IBAN: &str = "FR1420041010050500013M02606";

pub fn customer(n: u128, name: &str, accounts: &[&str], parent: Option<u128>) -> Customer {
    Customer {
        customer_id: id(n),
        name: name.to_string(),
        bank_accounts: accounts.iter().map(|a| (*a).to_string()).collect(),
        parent_id: parent.map(id),
    }
}

pub fn invoice(n: u128, number: &str, customer: u128, amount: &str, due: u32) -> OpenInvoice {
    OpenInvoice {
        invoice_id: id(1000 + n),
        number: number.to_string(),
        customer_id: id(customer),
        currency: "EUR".to_string(),
        open_amount: dec(amount),
        issue_date: day(1),
        due_date: day(due),
        discount_date: None,
        discount_amount: Decimal::ZERO,
    }
}

/// ACME group (holding, Europe, France), Beta Ltd and Gamma SARL with a few invoices.
pub fn ledger() -> Index {
    let mut index = Index::new();
    index.upsert_customer(customer(HOLDING, "ACME Holding AG", &[HOLDING_IBAN], None));
    index.upsert_customer(customer(
        EUROPE,
        "ACME Europe GmbH",
        &[EUROPE_IBAN],
        Some(HOLDING),
    ));
    index.upsert_customer(customer(FRANCE, "ACME France SARL", &[], Some(HOLDING)));
    index.upsert_customer(customer(BETA, "Beta Logistics Ltd", &[BETA_IBAN], None));
    index.upsert_customer(customer(GAMMA, "Gamma Systèmes SARL", &[GAMMA_IBAN], None));
    for i in [
        invoice(1, "INV-2026-000123", EUROPE, "1190.00", 10),
        invoice(2, "INV-2026-000124", EUROPE, "250.00", 12),
        invoice(3, "INV-2026-000130", EUROPE, "480.50", 14),
        invoice(4, "INV-2026-000131", FRANCE, "2000.00", 20),
        invoice(5, "INV-2026-000200", BETA, "99.00", 5),
        invoice(6, "INV-2026-000201", BETA, "99.00", 15),
        invoice(7, "INV-2026-000202", BETA, "310.00", 25),
        invoice(8, "DN-2026-000007", BETA, "45.00", 25),
        invoice(9, "INV-2026-000300", GAMMA, "1000.00", 10),
    ] {
        index.upsert_invoice(i);
    }
    index
}

pub fn receipt(amount: &str, remittance: &str) -> Receipt {
    Receipt {
        amount: dec(amount),
        currency: "EUR".to_string(),
        value_date: day(16),
        payer_name: None,
        payer_account: None,
        remittance: remittance.to_string(),
        customer_id: None,
    }
}

pub fn from_account(amount: &str, remittance: &str, account: &str) -> Receipt {
    Receipt {
        payer_account: Some(account.to_string()),
        ..receipt(amount, remittance)
    }
}

pub fn from_name(amount: &str, remittance: &str, name: &str) -> Receipt {
    Receipt {
        payer_name: Some(name.to_string()),
        ..receipt(amount, remittance)
    }
}

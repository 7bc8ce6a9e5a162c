//! BAI2 files: two groups, continuation records, funds types, a returned item and
//! trailers whose totals and counts are checked.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

mod common;

use chrono::NaiveDateTime;
use common::{day, dec, parse_fixture, single};
use otc_bank_formats::{Balance, Direction, Format};

#[test]
fn first_account_balances_and_identity() {
    let statements = parse_fixture(Format::Bai2, "bai2.txt");
    assert_eq!(statements.len(), 2);
    let usd = &statements[0];
    assert_eq!(usd.format, Format::Bai2);
    assert_eq!(usd.message_id, "FILE0001");
    assert_eq!(usd.statement_id, "FILE0001/1/0001234567");
    assert_eq!(usd.account.number.as_deref(), Some("0001234567"));
    assert_eq!(usd.account.currency.as_deref(), Some("USD"));
    let created = NaiveDateTime::parse_from_str("2024-03-04 06:00", "%Y-%m-%d %H:%M").unwrap();
    assert_eq!(usd.created_at, Some(created));
    assert_eq!(
        (usd.from_date, usd.to_date),
        (Some(day(2024, 3, 3)), Some(day(2024, 3, 3)))
    );
    let opening = Balance {
        amount: dec("5000.00"),
        currency: "USD".into(),
        date: day(2024, 3, 3),
    };
    assert_eq!(usd.opening_balance, Some(opening));
    assert_eq!(
        usd.closing_balance.as_ref().unwrap().amount,
        dec("13250.50")
    );
    assert_eq!(usd.entries.len(), 4);
    assert_eq!(usd.identity(), "0001234567|USD|FILE0001/1/0001234567|");
}

#[test]
fn details_with_labels_and_continuations() {
    let statements = parse_fixture(Format::Bai2, "bai2.txt");
    let usd = &statements[0];
    let wire = &usd.entries[0];
    assert_eq!(
        (wire.reference.as_str(), wire.direction),
        ("WIRE0001", Direction::Credit)
    );
    assert_eq!(wire.amount, dec("10000.00"));
    assert_eq!(wire.bank_transaction_code.as_deref(), Some("195"));
    assert_eq!(
        (wire.value_date, wire.booking_date),
        (day(2024, 3, 3), Some(day(2024, 3, 3)))
    );
    let details = single(usd, 0);
    assert_eq!(
        details.remittance,
        "INCOMING WIRE B/O: GLOBEX LTD IBAN: GB29 NWBK 6016 1331 9268 19 REF: INV-1001, INV-1002"
    );
    assert_eq!(details.counterparty_name.as_deref(), Some("GLOBEX LTD"));
    assert_eq!(
        details.counterparty_account.as_deref(),
        Some("GB29NWBK60161331926819")
    );

    let ach = single(usd, 1);
    assert_eq!(ach.amount, dec("250.50"));
    assert_eq!(
        ach.remittance,
        "ACH CREDIT ORIG CO NAME:ACME CORP ORIG ID:1234567890 ENTRY DESCR:PAYMENT SEC:CCD"
    );
    assert_eq!(ach.counterparty_name.as_deref(), Some("ACME CORP"));

    let check = &usd.entries[2];
    assert_eq!(
        (check.direction, check.amount),
        (Direction::Debit, dec("1500.00"))
    );
    assert_eq!(single(usd, 2).remittance, "CHECK PAID");
}

#[test]
fn returned_item_with_value_date() {
    let statements = parse_fixture(Format::Bai2, "bai2.txt");
    let usd = &statements[0];
    let returned = &usd.entries[3];
    assert_eq!(returned.reference, "RET0004");
    assert_eq!(returned.bank_transaction_code.as_deref(), Some("555"));
    assert_eq!(
        (returned.direction, returned.amount),
        (Direction::Debit, dec("500.00"))
    );
    assert_eq!(
        returned.value_date,
        day(2024, 3, 4),
        "funds type V carries the value date"
    );
    let details = single(usd, 3);
    assert_eq!(details.return_reason.as_deref(), Some("R01"));
    assert_eq!(details.counterparty_name.as_deref(), Some("JOHN DOE"));
    assert_eq!(
        details.remittance,
        "RETURNED ITEM RETURN REASON: R01 INSUFFICIENT FUNDS NAME: JOHN DOE"
    );
}

#[test]
fn second_group_takes_its_currency() {
    let statements = parse_fixture(Format::Bai2, "bai2.txt");
    let eur = &statements[1];
    assert_eq!(eur.statement_id, "FILE0001/2/DE89370400440532013000");
    assert_eq!(eur.account.currency.as_deref(), Some("EUR"));
    assert_eq!(eur.opening_balance.as_ref().unwrap().amount, dec("1000.00"));
    assert_eq!(eur.closing_balance.as_ref().unwrap().amount, dec("1300.00"));
    let entry = &eur.entries[0];
    assert_eq!(
        (entry.reference.as_str(), entry.amount),
        ("N1", dec("300.00"))
    );
    assert_eq!(entry.currency, "EUR");
    assert_eq!(
        single(eur, 0).counterparty_name.as_deref(),
        Some("Muster GmbH")
    );
}

#[test]
fn minor_units_follow_the_currency() {
    let file = "01,BANK,CUST,240304,0600,F2,,,2/\n\
                02,CUST,BANK,1,240303,,JPY,2/\n\
                03,ACC-JP,,010,100000,,,015,150000,,/\n\
                16,195,50000,0,J1,,YEN WIRE/\n\
                49,300000,3/\n\
                98,300000,1,5/\n\
                02,CUST,BANK,1,240303,,KWD,2/\n\
                03,ACC-KW,,010,1000,,/\n\
                16,475,1250,0,K1,,/\n\
                49,2250,3/\n\
                98,2250,1,5/\n\
                99,302250,2,12/\n";
    let statements = otc_bank_formats::parse(Format::Bai2, file.as_bytes()).unwrap();
    assert_eq!(statements[0].entries[0].amount, dec("50000"));
    assert_eq!(
        statements[0].closing_balance.as_ref().unwrap().amount,
        dec("150000")
    );
    assert_eq!(statements[1].entries[0].amount, dec("1.250"));
    assert_eq!(statements[1].closing_balance, None);
}

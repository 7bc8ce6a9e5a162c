//! camt.053 (.02 and .08) statements and camt.054 direct-debit notifications, read
//! from realistic fixtures and checked value by value.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

mod common;

use chrono::NaiveDateTime;
use common::{day, dec, parse_fixture, single};
use otc_bank_formats::{Balance, Direction, Format};

#[test]
fn camt053_v02_reads_both_statements() {
    let statements = parse_fixture(Format::Camt053, "camt053_v02.xml");
    assert_eq!(statements.len(), 2);
    let eur = &statements[0];
    assert_eq!(eur.format, Format::Camt053);
    assert_eq!(eur.message_id, "CAMT053-20240304-001");
    assert_eq!(eur.statement_id, "STMT-EUR-20240304");
    assert_eq!(eur.sequence.as_deref(), Some("64"));
    assert_eq!(eur.account.iban.as_deref(), Some("DE89370400440532013000"));
    assert_eq!(eur.account.currency.as_deref(), Some("EUR"));
    assert_eq!(eur.account.bic.as_deref(), Some("COBADEFFXXX"));
    assert_eq!(eur.account.owner_name.as_deref(), Some("OTC Suite GmbH"));
    let created =
        NaiveDateTime::parse_from_str("2024-03-04 18:30:00", "%Y-%m-%d %H:%M:%S").unwrap();
    assert_eq!(eur.created_at, Some(created));
    assert_eq!(
        (eur.from_date, eur.to_date),
        (Some(day(2024, 3, 4)), Some(day(2024, 3, 4)))
    );
    let opening = Balance {
        amount: dec("10000.00"),
        currency: "EUR".into(),
        date: day(2024, 3, 4),
    };
    let closing = Balance {
        amount: dec("12814.60"),
        currency: "EUR".into(),
        date: day(2024, 3, 4),
    };
    assert_eq!(eur.opening_balance, Some(opening));
    assert_eq!(eur.closing_balance, Some(closing));
    assert_eq!(eur.entries.len(), 5);
    assert_eq!(
        eur.identity(),
        "DE89370400440532013000|EUR|STMT-EUR-20240304|64"
    );
}

#[test]
fn camt053_batch_booking_splits_into_details() {
    let statements = parse_fixture(Format::Camt053, "camt053_v02.xml");
    let batch = &statements[0].entries[0];
    assert_eq!(batch.reference, "2024030400001");
    assert_eq!(batch.direction, Direction::Credit);
    assert_eq!(batch.amount, dec("1500.00"));
    assert_eq!(
        batch.bank_transaction_code.as_deref(),
        Some("PMNT/RCDT/ESCT")
    );
    assert_eq!(
        (batch.booking_date, batch.value_date),
        (Some(day(2024, 3, 4)), day(2024, 3, 4))
    );
    let refs: Vec<&str> = batch
        .transactions
        .iter()
        .map(|t| t.reference.as_str())
        .collect();
    assert_eq!(
        refs,
        ["2024030400001/1", "2024030400001/2", "2024030400001/3"]
    );
    let amounts: Vec<_> = batch.transactions.iter().map(|t| t.amount).collect();
    assert_eq!(amounts, [dec("500.00"), dec("750.25"), dec("249.75")]);
    let first = &batch.transactions[0];
    assert_eq!(first.end_to_end_id.as_deref(), Some("ACME-PAY-2024-03-01"));
    assert_eq!(
        first.counterparty_name.as_deref(),
        Some("ACME Trading B.V.")
    );
    assert_eq!(
        first.counterparty_account.as_deref(),
        Some("NL91ABNA0417164300")
    );
    assert_eq!(first.counterparty_bic.as_deref(), Some("ABNANL2A"));
    assert_eq!(first.remittance, "INV-2024-0031");
    let second = &batch.transactions[1];
    assert_eq!(second.end_to_end_id, None, "NOTPROVIDED is no reference");
    assert_eq!(
        second.counterparty_name.as_deref(),
        Some("Société Générale Clients & Co")
    );
    assert_eq!(second.remittance, "INV-2024-0032 INV-2024-0033");
}

#[test]
fn camt053_single_credits_and_remittance() {
    let statements = parse_fixture(Format::Camt053, "camt053_v02.xml");
    let eur = &statements[0];
    let structured = single(eur, 1);
    assert_eq!(structured.reference, "2024030400002");
    assert_eq!(
        structured.amount,
        dec("1190.00"),
        "single detail without amount takes the entry's"
    );
    assert_eq!(structured.currency, "EUR");
    assert_eq!(structured.end_to_end_id.as_deref(), Some("GLOBEX-PAY-0815"));
    assert_eq!(
        structured.counterparty_name.as_deref(),
        Some("Globex Handels AG")
    );
    assert_eq!(
        structured.counterparty_account.as_deref(),
        Some("DE02120300000000202051")
    );
    assert_eq!(structured.counterparty_bic.as_deref(), Some("BYLADEM1001"));
    assert_eq!(structured.remittance, "RF18539007547034");

    let unstructured = &eur.entries[2];
    assert_eq!(
        unstructured.reference, "NTRY-3",
        "NtryRef when there is no AcctSvcrRef"
    );
    assert_eq!(unstructured.booking_date, Some(day(2024, 3, 4)));
    assert_eq!(unstructured.value_date, day(2024, 3, 5));
    assert_eq!(unstructured.bank_transaction_code, None);
    let transaction = single(eur, 2);
    assert_eq!(
        transaction.remittance,
        "Invoice INV-2024-0042 Customer 4711"
    );
    assert_eq!(
        transaction.counterparty_account.as_deref(),
        Some("GB29NWBK60161331926819")
    );
}

#[test]
fn camt053_return_and_entry_without_details() {
    let statements = parse_fixture(Format::Camt053, "camt053_v02.xml");
    let eur = &statements[0];
    let returned = &eur.entries[3];
    assert_eq!(returned.direction, Direction::Debit);
    assert!(returned.reversal);
    assert_eq!(returned.amount, dec("89.90"));
    assert_eq!(
        returned.bank_transaction_code.as_deref(),
        Some("PMNT/IDDT/UPDD")
    );
    let transaction = single(eur, 3);
    assert_eq!(transaction.return_reason.as_deref(), Some("AC04"));
    assert_eq!(transaction.mandate_id.as_deref(), Some("MNDT-2023-0007"));
    assert_eq!(
        transaction.end_to_end_id.as_deref(),
        Some("OTC-DD-2024-0001")
    );
    // The creditor side is our own account, so the debtor is the counterparty.
    assert_eq!(
        transaction.counterparty_name.as_deref(),
        Some("Hans Müller")
    );
    assert_eq!(
        transaction.counterparty_account.as_deref(),
        Some("DE75512108001245126199")
    );

    let fee = &eur.entries[4];
    assert_eq!(fee.reference, "2024030400005");
    assert!(!fee.reversal);
    let whole = single(eur, 4);
    assert_eq!(
        (whole.reference.as_str(), whole.amount),
        ("2024030400005", dec("35.50"))
    );
    assert_eq!(whole.remittance, "");
}

#[test]
fn camt053_second_statement_is_in_usd() {
    let statements = parse_fixture(Format::Camt053, "camt053_v02.xml");
    let usd = &statements[1];
    assert_eq!(usd.statement_id, "STMT-USD-20240304");
    assert_eq!(usd.account.iban, None);
    assert_eq!(usd.account.number.as_deref(), Some("987654321"));
    assert_eq!(usd.account.currency.as_deref(), Some("USD"));
    assert_eq!(usd.account.bic.as_deref(), Some("CHASUS33"));
    let opening = usd.opening_balance.as_ref().unwrap();
    assert_eq!(
        (opening.amount, opening.date),
        (dec("25000.00"), day(2024, 3, 3)),
        "PRCD as opening"
    );
    assert_eq!(
        usd.closing_balance.as_ref().unwrap().amount,
        dec("34000.00")
    );
    assert_eq!(usd.entries.len(), 3);
    let wire = single(usd, 0);
    assert_eq!(wire.currency, "USD");
    assert_eq!(wire.counterparty_account.as_deref(), Some("123456789"));
    assert_eq!(wire.remittance, "PO 5567");
    assert_eq!(
        usd.entries[0].bank_transaction_code.as_deref(),
        Some("WIRE-IN")
    );
    assert_eq!(
        single(usd, 1).counterparty_name.as_deref(),
        Some("Hooli Inc")
    );
    let pending = &usd.entries[2];
    assert!(!pending.booked, "PDNG is left out of the balance check");
    assert_eq!(pending.booking_date, None);
    assert_eq!(usd.identity(), "987654321|USD|STMT-USD-20240304|12");
}

#[test]
fn camt053_v08_with_prefixed_elements() {
    let statements = parse_fixture(Format::Camt053, "camt053_v08.xml");
    assert_eq!(statements.len(), 1);
    let statement = &statements[0];
    assert_eq!(statement.message_id, "ING-CAMT-20240311-0001");
    assert_eq!(
        statement.account.iban.as_deref(),
        Some("NL91ABNA0417164300")
    );
    assert_eq!(statement.account.bic.as_deref(), Some("ABNANL2A"));
    assert_eq!(statement.sequence.as_deref(), Some("58"));
    let created =
        NaiveDateTime::parse_from_str("2024-03-11 06:02:13.417", "%Y-%m-%d %H:%M:%S%.f").unwrap();
    assert_eq!(
        statement.created_at,
        Some(created),
        "group header time when Stmt has none"
    );
    assert_eq!(
        statement.opening_balance.as_ref().unwrap().amount,
        dec("-150.00")
    );
    let closing = statement.closing_balance.as_ref().unwrap();
    assert_eq!(
        (closing.amount, closing.date),
        (dec("1850.00"), day(2024, 3, 8))
    );
    let credit = single(statement, 0);
    assert_eq!(statement.entries[0].reference, "ING-8812733");
    assert_eq!(
        credit.counterparty_name.as_deref(),
        Some("Wayne Enterprises BV")
    );
    assert_eq!(
        credit.counterparty_account.as_deref(),
        Some("DE02500105170137075030")
    );
    assert_eq!(credit.counterparty_bic.as_deref(), Some("INGDDEFFXXX"));
    assert_eq!(credit.amount, dec("2500.00"));
    assert_eq!(credit.remittance, "INV-2024-0118");
    let debit = single(statement, 1);
    assert_eq!(statement.entries[1].direction, Direction::Debit);
    assert_eq!(
        debit.counterparty_name.as_deref(),
        Some("Stark Logistics GmbH")
    );
    assert_eq!(
        debit.counterparty_account.as_deref(),
        Some("AT611904300234573201")
    );
    assert_eq!(debit.remittance, "SL-2024-77");
}

#[test]
fn camt054_direct_debit_results() {
    let statements = parse_fixture(Format::Camt054, "camt054_v02.xml");
    assert_eq!(statements.len(), 1);
    let notification = &statements[0];
    assert_eq!(notification.format, Format::Camt054);
    assert_eq!(notification.statement_id, "NTFCTN-20240306-01");
    assert_eq!(
        (
            notification.opening_balance.clone(),
            notification.closing_balance.clone()
        ),
        (None, None)
    );
    assert_eq!(
        notification.identity(),
        "DE89370400440532013000|EUR|NTFCTN-20240306-01|17"
    );

    let settled = &notification.entries[0];
    assert_eq!(
        (settled.direction, settled.amount),
        (Direction::Credit, dec("169.90"))
    );
    assert_eq!(
        settled.bank_transaction_code.as_deref(),
        Some("PMNT/IDDT/ESDD")
    );
    let [first, second] = settled.transactions.as_slice() else {
        panic!("two collections")
    };
    assert_eq!(first.reference, "DD-SETTLE-20240306/1");
    assert_eq!(first.amount, dec("49.90"));
    assert_eq!(first.mandate_id.as_deref(), Some("MNDT-2023-0001"));
    assert_eq!(first.end_to_end_id.as_deref(), Some("OTC-DD-2024-0101"));
    assert_eq!(first.counterparty_name.as_deref(), Some("Erika Mustermann"));
    assert_eq!(first.remittance, "Subscription March 2024 contract 1001");
    assert_eq!(second.amount, dec("120.00"));
    assert_eq!(
        second.counterparty_account.as_deref(),
        Some("FR1420041010050500013M02606")
    );
    assert_eq!(first.return_reason, None);

    let returned = &notification.entries[1];
    assert_eq!(
        (returned.direction, returned.reversal),
        (Direction::Debit, true)
    );
    let transaction = single(notification, 1);
    assert_eq!(transaction.return_reason.as_deref(), Some("MD06"));
    assert_eq!(transaction.mandate_id.as_deref(), Some("MNDT-2023-0003"));
    assert_eq!(
        transaction.end_to_end_id.as_deref(),
        Some("OTC-DD-2024-0090")
    );
    assert_eq!(
        transaction.counterparty_name.as_deref(),
        Some("Max Mustermann")
    );
    assert_eq!(transaction.amount, dec("75.00"));
}

#[test]
fn camt_with_byte_order_mark() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(common::fixture("camt054_v02.xml").as_bytes());
    assert_eq!(otc_bank_formats::detect(&bytes), Some(Format::Camt054));
    assert_eq!(
        otc_bank_formats::parse(Format::Camt054, &bytes)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn camt_files_are_refused_under_the_other_camt_format() {
    let error = otc_bank_formats::parse(
        Format::Camt054,
        common::fixture("camt053_v02.xml").as_bytes(),
    )
    .unwrap_err();
    assert_eq!(error.location, "Document");
    assert!(
        error.reason.contains("is camt.053, not camt.054"),
        "{error}"
    );
}

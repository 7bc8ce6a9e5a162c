//! MT940 statements, plain with `-` separators and in SWIFT block wrappers, with
//! structured and free-text `:86:` details.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

mod common;

use common::{day, dec, parse_fixture, single};
use otc_bank_formats::{Balance, Direction, Format};

#[test]
fn first_statement_structured_details() {
    let statements = parse_fixture(Format::Mt940, "mt940.sta");
    assert_eq!(statements.len(), 2);
    let first = &statements[0];
    assert_eq!(first.message_id, "STARTUMS");
    assert_eq!(first.statement_id, "STARTUMS/00064/001");
    assert_eq!(first.sequence.as_deref(), Some("00064/001"));
    assert_eq!(first.account.iban, None);
    assert_eq!(first.account.number.as_deref(), Some("37040044/0532013000"));
    assert_eq!(first.account.currency.as_deref(), Some("EUR"));
    let opening = Balance {
        amount: dec("10000.00"),
        currency: "EUR".into(),
        date: day(2024, 3, 4),
    };
    assert_eq!(first.opening_balance, Some(opening));
    assert_eq!(
        first.closing_balance.as_ref().unwrap().amount,
        dec("11374.60")
    );
    assert_eq!(
        (first.from_date, first.to_date),
        (Some(day(2024, 3, 4)), Some(day(2024, 3, 5)))
    );
    assert_eq!(
        first.identity(),
        "37040044/0532013000|EUR|STARTUMS/00064/001|00064/001"
    );

    let credit = &first.entries[0];
    assert_eq!(credit.reference, "BR24030400001");
    assert_eq!(
        (credit.direction, credit.amount),
        (Direction::Credit, dec("1500.00"))
    );
    assert_eq!(credit.bank_transaction_code.as_deref(), Some("NTRF"));
    assert_eq!(
        (credit.value_date, credit.booking_date),
        (day(2024, 3, 4), Some(day(2024, 3, 4)))
    );
    let details = single(first, 0);
    assert_eq!(details.end_to_end_id.as_deref(), Some("OTC-INV-2024-0042"));
    assert_eq!(details.remittance, "Rechnung INV-2024-0042 Kunde 4711");
    assert_eq!(
        details.counterparty_name.as_deref(),
        Some("Globex Handels AG")
    );
    assert_eq!(
        details.counterparty_account.as_deref(),
        Some("DE02120300000000202051")
    );
    assert_eq!(details.counterparty_bic.as_deref(), Some("COBADEFFXXX"));
}

#[test]
fn first_statement_free_text_and_reversal() {
    let statements = parse_fixture(Format::Mt940, "mt940.sta");
    let first = &statements[0];
    let fee = &first.entries[1];
    assert_eq!(
        (fee.direction, fee.amount, fee.booking_date),
        (Direction::Debit, dec("35.50"), None)
    );
    assert_eq!(
        single(first, 1).remittance,
        "Kontofuehrungsgebuehren Maerz 2024"
    );
    assert_eq!(single(first, 1).counterparty_name, None);

    let reversal = &first.entries[2];
    assert_eq!(reversal.reference, "BR24030500003");
    assert!(reversal.reversal, "RC marks a reversed credit");
    assert_eq!(
        (reversal.direction, reversal.amount),
        (Direction::Debit, dec("89.90"))
    );
    assert_eq!(reversal.bank_transaction_code.as_deref(), Some("NDDT"));
    let returned = single(first, 2);
    assert_eq!(returned.end_to_end_id.as_deref(), Some("OTC-DD-2024-0001"));
    assert_eq!(returned.mandate_id.as_deref(), Some("MNDT-2023-0007"));
    assert_eq!(returned.return_reason.as_deref(), Some("AC04"));
    assert_eq!(returned.counterparty_name.as_deref(), Some("Hans Mueller"));
    assert_eq!(
        returned.counterparty_account.as_deref(),
        Some("DE75512108001245126199")
    );
    assert_eq!(returned.remittance, "Ruecklastschrift Rechnung 4711");
}

#[test]
fn second_statement_with_optional_fields() {
    let statements = parse_fixture(Format::Mt940, "mt940.sta");
    let second = &statements[1];
    assert_eq!(second.statement_id, "STARTUMS2/00065/001");
    assert_eq!(
        second.account.iban.as_deref(),
        Some("DE89370400440532013000")
    );
    assert_eq!(
        second.closing_balance.as_ref().unwrap().amount,
        dec("12874.60")
    );
    let credit = &second.entries[0];
    assert_eq!(
        (credit.reference.as_str(), credit.amount),
        ("BR24030600001", dec("2000"))
    );
    assert_eq!(
        single(second, 0).remittance,
        "Payment invoice INV-0043 from Initech GmbH"
    );
    let transfer = &second.entries[1];
    assert_eq!(transfer.reference, "N2", "no bank reference: positional");
    let details = single(second, 1);
    assert_eq!(details.reference, "N2");
    assert_eq!(details.end_to_end_id, None);
    assert_eq!(details.remittance, "Miete Maerz");
    assert_eq!(
        details.counterparty_name.as_deref(),
        Some("Hausverwaltung Schmidt")
    );
    assert_eq!(
        details.counterparty_account.as_deref(),
        Some("DE02500105170137075030")
    );
}

#[test]
fn swift_block_wrapped_messages() {
    let statements = parse_fixture(Format::Mt940, "mt940_swift.sta");
    assert_eq!(statements.len(), 2);
    let first = &statements[0];
    assert_eq!(first.statement_id, "STMT240305/65/1");
    assert_eq!(
        first.account.iban.as_deref(),
        Some("DE89370400440532013000")
    );
    assert_eq!(first.account.bic.as_deref(), Some("COBADEFFXXX"));
    assert_eq!(
        first.opening_balance.as_ref().unwrap().amount,
        dec("-100.00"),
        "D is a debit balance"
    );
    let credit = single(first, 0);
    assert_eq!(credit.reference, "B240305001");
    assert_eq!(credit.counterparty_name.as_deref(), Some("ACME BV"));
    assert_eq!(credit.remittance, "Order 77");
    let second = &statements[1];
    assert_eq!(
        second.account.iban.as_deref(),
        Some("DE89370400440532013000"),
        "currency suffix dropped"
    );
    assert_eq!(second.closing_balance.as_ref().unwrap().amount, dec("0.00"));
    assert_eq!(single(second, 0).remittance, "Transfer to savings");
    let trailer_on_own_line = common::fixture("mt940_swift.sta").replacen("-}{5:", "-}\n{5:", 1);
    let again = otc_bank_formats::parse(Format::Mt940, trailer_on_own_line.as_bytes()).unwrap();
    assert_eq!(again, statements);
}

#[test]
fn latin1_and_crlf_files() {
    let text = common::fixture("mt940.sta").replace("Kunde 4711", "K\u{fc}nde 4711");
    let latin1: Vec<u8> = text
        .replace('\n', "\r\n")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    let statements = otc_bank_formats::parse(Format::Mt940, &latin1).unwrap();
    assert_eq!(
        single(&statements[0], 0).remittance,
        "Rechnung INV-2024-0042 K\u{fc}nde 4711"
    );
    assert_eq!(statements[1].entries.len(), 2);
}

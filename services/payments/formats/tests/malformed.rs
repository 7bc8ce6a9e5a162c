//! Broken files are refused whole, each error naming the line or element and why.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

mod common;

use common::{assert_fails, fixture};
use otc_bank_formats::Format;

/// The fixture with `from` replaced once; fails the test if `from` is not there.
fn edited(name: &str, from: &str, to: &str) -> String {
    let text = fixture(name);
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` should occur once in {name}"
    );
    text.replacen(from, to, 1)
}

const STMT1: &str = "Document/BkToCstmrStmt/Stmt[1]";

#[test]
fn mt940_bad_amount() {
    let text = edited("mt940.sta", ":61:240304D35,50NCHG", ":61:240304D12,3xNCHG");
    assert_fails(
        Format::Mt940,
        &text,
        "line 9 (:61:)",
        "invalid amount `12,3x`",
    );
}

#[test]
fn mt940_missing_account() {
    let text = edited("mt940.sta", ":25:37040044/0532013000\n", "");
    assert_fails(
        Format::Mt940,
        &text,
        "line 2 (:28C:)",
        "missing mandatory field :25: before :28C:",
    );
}

#[test]
fn mt940_unbalanced_statement() {
    let text = edited(
        "mt940.sta",
        ":62F:C240305EUR11374,60",
        ":62F:C240305EUR11374,61",
    );
    let reason = "closing balance 11374.61 EUR does not equal opening balance 10000.00 + credits 1500.00 - debits 125.40 = 11374.60";
    assert_fails(Format::Mt940, &text, "line 16 (:62F:)", reason);
}

#[test]
fn mt940_invalid_date_and_currency() {
    let text = edited(
        "mt940.sta",
        ":60F:C240304EUR10000,00",
        ":60F:C240231EUR10000,00",
    );
    assert_fails(
        Format::Mt940,
        &text,
        "line 4 (:60F:)",
        "invalid date `240231`",
    );
    let text = edited(
        "mt940.sta",
        ":60F:C240304EUR10000,00",
        ":60F:C240304EUX10000,00",
    );
    assert_fails(
        Format::Mt940,
        &text,
        "line 4 (:60F:)",
        "invalid currency `EUX`",
    );
}

#[test]
fn mt940_truncated_and_unknown_fields() {
    let text = fixture("mt940.sta");
    let cut = text.get(..text.find(":62F:C240305").unwrap()).unwrap();
    assert_fails(
        Format::Mt940,
        cut,
        "line 15",
        "statement ends before mandatory field :62F:",
    );
    let swift = fixture("mt940_swift.sta");
    let cut = swift.get(..swift.rfind("-}").unwrap()).unwrap();
    assert_fails(Format::Mt940, cut, "line 17", "never closed with `-}`");
    let text = edited("mt940.sta", ":21:NONREF", ":13D:2403061200+0100");
    assert_fails(
        Format::Mt940,
        &text,
        "line 19 (:13D:)",
        "unknown field :13D:",
    );
}

#[test]
fn bai2_wrong_control_total() {
    let text = edited("bai2.txt", "49,4275150,9/", "49,4275151,9/");
    let reason =
        "account control total 4275151 does not equal the sum of the account's amounts 4275150";
    assert_fails(Format::Bai2, &text, "line 11 (49)", reason);
    let text = edited("bai2.txt", "99,4535150,2,18/", "99,4535100,2,18/");
    assert_fails(
        Format::Bai2,
        &text,
        "line 18 (99)",
        "file control total 4535100",
    );
}

#[test]
fn bai2_wrong_record_count() {
    let text = edited("bai2.txt", "49,4275150,9/", "49,4275150,8/");
    let reason = "number of records 8 does not equal the 9 records of the account";
    assert_fails(Format::Bai2, &text, "line 11 (49)", reason);
    let text = edited("bai2.txt", "98,260000,1,5/", "98,260000,2,5/");
    assert_fails(
        Format::Bai2,
        &text,
        "line 17 (98)",
        "number of accounts 2 does not equal the 1",
    );
    let text = edited("bai2.txt", "99,4535150,2,18/", "99,4535150,2,17/");
    assert_fails(
        Format::Bai2,
        &text,
        "line 18 (99)",
        "number of records 17 does not equal the 18",
    );
}

#[test]
fn bai2_unbalanced_and_invalid_values() {
    let mut text = edited("bai2.txt", "015,1325050", "015,1325000");
    for (from, to) in [
        ("49,4275150", "49,4275100"),
        ("98,4275150", "98,4275100"),
        ("99,4535150", "99,4535100"),
    ] {
        text = text.replacen(from, to, 1);
    }
    assert_fails(
        Format::Bai2,
        &text,
        "line 3 (03)",
        "closing balance 13250.00 USD does not equal",
    );
    let text = edited(
        "bai2.txt",
        "02,OTCSUITE,BANKUS33,1,240303,2359,USD,2/",
        "02,OTCSUITE,BANKUS33,1,240303,2359,usd,2/",
    );
    assert_fails(Format::Bai2, &text, "line 2 (02)", "invalid currency `usd`");
    let text = edited("bai2.txt", "V,240304,,RET0004", "V,240230,,RET0004");
    assert_fails(Format::Bai2, &text, "line 9 (16)", "invalid date `240230`");
    let text = edited("bai2.txt", "16,475,150000,Z", "16,475,1500.00,Z");
    assert_fails(
        Format::Bai2,
        &text,
        "line 8 (16)",
        "invalid amount `1500.00`",
    );
    let text = edited("bai2.txt", "16,475,150000,Z", "16,475,150000,Q");
    assert_fails(Format::Bai2, &text, "line 8 (16)", "unknown funds type `Q`");
    let text = edited("bai2.txt", "16,475,150000,Z", "16,890,150000,Z");
    assert_fails(
        Format::Bai2,
        &text,
        "line 8 (16)",
        "type code 890 is not a credit",
    );
}

#[test]
fn bai2_structure_errors() {
    let text = fixture("bai2.txt");
    let cut = text.get(..text.find("99,4535150").unwrap()).unwrap();
    assert_fails(
        Format::Bai2,
        cut,
        "line 17",
        "file ends before the 99 file trailer",
    );
    let text = edited("bai2.txt", "49,260000,3/\n", "");
    assert_fails(
        Format::Bai2,
        &text,
        "line 16 (98)",
        "unexpected record 98, expected a 16 transaction detail",
    );
    let text = edited("bai2.txt", "49,4275150,9/", "49,4275150,9");
    assert_fails(
        Format::Bai2,
        &text,
        "line 11 (49)",
        "record is not terminated by `/`",
    );
}

#[test]
fn camt_truncated() {
    let text = fixture("camt053_v02.xml");
    let end = text.find("750.25").unwrap() + "750.25".len();
    let location = format!("{STMT1}/Ntry[1]/NtryDtls[1]/TxDtls[2]/AmtDtls/TxAmt/Amt");
    assert_fails(
        Format::Camt053,
        text.get(..end).unwrap(),
        &location,
        "truncated document: <Amt> is never closed",
    );
}

#[test]
fn camt_batch_details_not_summing() {
    let text = edited(
        "camt053_v02.xml",
        "<Amt Ccy=\"EUR\">249.75</Amt>",
        "<Amt Ccy=\"EUR\">249.70</Amt>",
    );
    let location = format!("{STMT1}/Ntry[1]/NtryDtls[1]");
    let reason = "transaction details sum to 1499.95 EUR but the entry amount is 1500.00";
    assert_fails(Format::Camt053, &text, &location, reason);
}

#[test]
fn camt_unbalanced_statement() {
    let text = edited(
        "camt053_v02.xml",
        "<Amt Ccy=\"USD\">34000.00</Amt>",
        "<Amt Ccy=\"USD\">34100.00</Amt>",
    );
    let reason = "closing balance 34100.00 USD does not equal opening balance 25000.00 + credits 12000.00 - debits 3000.00 = 34000.00";
    assert_fails(
        Format::Camt053,
        &text,
        "Document/BkToCstmrStmt/Stmt[2]/Bal[2]",
        reason,
    );
}

#[test]
fn camt_invalid_values() {
    let text = edited(
        "camt053_v02.xml",
        "<Amt Ccy=\"EUR\">1190.00</Amt>",
        "<Amt Ccy=\"EUX\">1190.00</Amt>",
    );
    assert_fails(
        Format::Camt053,
        &text,
        &format!("{STMT1}/Ntry[2]/Amt"),
        "invalid currency `EUX`",
    );
    let text = edited(
        "camt053_v02.xml",
        "<Amt Ccy=\"EUR\">1190.00</Amt>",
        "<Amt Ccy=\"EUR\">12,3x</Amt>",
    );
    assert_fails(
        Format::Camt053,
        &text,
        &format!("{STMT1}/Ntry[2]/Amt"),
        "invalid amount `12,3x`",
    );
    let text = edited(
        "camt053_v02.xml",
        "<Amt Ccy=\"EUR\">1190.00</Amt>",
        "<Amt Ccy=\"EUR\">1190.001</Amt>",
    );
    assert_fails(
        Format::Camt053,
        &text,
        &format!("{STMT1}/Ntry[2]/Amt"),
        "more than 2 decimal places",
    );
    let value_date = "</BookgDt>\n        <ValDt>\n          <Dt>2024-03-05</Dt>";
    let text = edited(
        "camt053_v02.xml",
        value_date,
        &value_date.replace("2024-03-05", "2024-02-30"),
    );
    assert_fails(
        Format::Camt053,
        &text,
        &format!("{STMT1}/Ntry[3]/ValDt/Dt"),
        "invalid date `2024-02-30`",
    );
    let text = edited(
        "camt053_v02.xml",
        "<DtTm>2024-03-04T09:12:00</DtTm>",
        "<DtTm>2024-03-04 09:12</DtTm>",
    );
    assert_fails(
        Format::Camt053,
        &text,
        &format!("{STMT1}/Ntry[3]/BookgDt/DtTm"),
        "invalid date-time",
    );
}

#[test]
fn camt_missing_or_unknown_elements() {
    let text = edited("camt053_v02.xml", "<MsgId>CAMT053-20240304-001</MsgId>", "");
    assert_fails(
        Format::Camt053,
        &text,
        "Document/BkToCstmrStmt/GrpHdr/MsgId",
        "missing mandatory element",
    );
    let text = edited(
        "camt053_v02.xml",
        "<NtryRef>NTRY-3</NtryRef>\n        <Amt Ccy=\"EUR\">250.00</Amt>\n        <CdtDbtInd>CRDT</CdtDbtInd>",
        "<NtryRef>NTRY-3</NtryRef>\n        <Amt Ccy=\"EUR\">250.00</Amt>",
    );
    assert_fails(
        Format::Camt053,
        &text,
        &format!("{STMT1}/Ntry[3]/CdtDbtInd"),
        "missing mandatory element",
    );
    let text = edited(
        "camt053_v02.xml",
        "<RvslInd>true</RvslInd>\n        <Sts>BOOK</Sts>",
        "<RvslInd>true</RvslInd>\n        <Sts>BOOKED</Sts>",
    );
    assert_fails(
        Format::Camt053,
        &text,
        &format!("{STMT1}/Ntry[4]/Sts"),
        "unknown entry status `BOOKED`",
    );
    let text = edited("camt053_v02.xml", "<Cd>CLAV</Cd>", "<Cd>XXXX</Cd>");
    assert_fails(
        Format::Camt053,
        &text,
        &format!("{STMT1}/Bal[3]/Tp/CdOrPrtry/Cd"),
        "unknown balance type `XXXX`",
    );
    let text = edited("camt053_v02.xml", "camt.053.001.02\"", "camt.053.001.01\"");
    assert_fails(Format::Camt053, &text, "Document", "unsupported namespace");
}

#[test]
fn camt_malformed_xml_and_duplicate_references() {
    let text = edited(
        "camt053_v02.xml",
        "<Nm>Initech GmbH</Nm>",
        "<Nm>Initech GmbH</Name>",
    );
    let location = format!("{STMT1}/Ntry[1]/NtryDtls[1]/TxDtls[3]/RltdPties/Dbtr/Nm");
    assert_fails(Format::Camt053, &text, &location, "malformed XML");
    let text = edited(
        "camt053_v02.xml",
        "<AcctSvcrRef>2024030400005</AcctSvcrRef>",
        "<AcctSvcrRef>2024030400002</AcctSvcrRef>",
    );
    assert_fails(
        Format::Camt053,
        &text,
        &format!("{STMT1}/Ntry[5]"),
        "entry reference `2024030400002` is used twice",
    );
}

#[test]
fn camt054_return_detail_in_other_currency() {
    let text = edited(
        "camt054_v02.xml",
        "<Amt Ccy=\"EUR\">75.00</Amt>\n              </TxAmt>",
        "<Amt Ccy=\"USD\">75.00</Amt>\n              </TxAmt>",
    );
    let location =
        "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[2]/NtryDtls[1]/TxDtls[1]/AmtDtls/TxAmt/Amt";
    assert_fails(
        Format::Camt054,
        &text,
        location,
        "detail is in USD but the entry is in EUR",
    );
}

#[test]
fn error_display_names_format_location_and_reason() {
    let text = edited("mt940.sta", ":61:240304D35,50NCHG", ":61:240304D12,3xNCHG");
    let error = otc_bank_formats::parse(Format::Mt940, text.as_bytes()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "MT940 line 9 (:61:): invalid amount `12,3x`"
    );
}

#[test]
fn no_prefix_of_a_fixture_panics() {
    for (name, format) in [
        ("camt053_v02.xml", Format::Camt053),
        ("camt053_v08.xml", Format::Camt053),
        ("camt054_v02.xml", Format::Camt054),
        ("mt940.sta", Format::Mt940),
        ("mt940_swift.sta", Format::Mt940),
        ("bai2.txt", Format::Bai2),
    ] {
        let bytes = fixture(name).into_bytes();
        for end in 0..bytes.len() {
            // Every cut either still parses (a whole statement) or is refused; never a panic.
            let _ = otc_bank_formats::parse(format, &bytes[..end]);
        }
    }
}

#[test]
fn deeply_nested_xml_is_refused() {
    let namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02";
    let xml = format!("<Document xmlns=\"{namespace}\">{}", "<a>".repeat(100_000));
    let error = otc_bank_formats::parse(Format::Camt053, xml.as_bytes()).unwrap_err();
    assert!(error.reason.contains("nested too deeply"), "{error}");
}

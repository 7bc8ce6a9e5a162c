//! Format sniffing on every fixture and on files that are none of the formats.

mod common;

use std::str::FromStr;

use common::fixture;
use otc_bank_formats::{Format, detect};

#[test]
fn every_fixture_is_recognised() {
    for (name, format) in [
        ("camt053_v02.xml", Format::Camt053),
        ("camt053_v08.xml", Format::Camt053),
        ("camt054_v02.xml", Format::Camt054),
        ("mt940.sta", Format::Mt940),
        ("mt940_swift.sta", Format::Mt940),
        ("bai2.txt", Format::Bai2),
    ] {
        assert_eq!(detect(fixture(name).as_bytes()), Some(format), "{name}");
    }
}

#[test]
fn other_content_is_not_a_bank_file() {
    assert_eq!(detect(b""), None);
    assert_eq!(detect(b"{\"id\": 1}"), None);
    assert_eq!(detect(b"<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.008.001.02\"/>"), None);
    assert_eq!(detect(b"<html><body>camt.053</body></html>"), None);
    assert_eq!(detect(b"{1:F01BANK}{2:O940}{4:\r\n:25:X\r\n"), None);
    assert_eq!(detect(b"\xEF\xBB\xBF\r\n:20:REF\r\n"), Some(Format::Mt940));
    assert_eq!(detect(b"02,A,B,1,240101,,USD,2/"), None);
}

#[test]
fn format_names_round_trip() {
    for format in [
        Format::Camt053,
        Format::Camt054,
        Format::Mt940,
        Format::Bai2,
    ] {
        assert_eq!(Format::from_str(&format.to_string()), Ok(format));
    }
    assert_eq!(Format::from_str("CAMT053"), Ok(Format::Camt053));
    assert_eq!(Format::from_str("mt940"), Ok(Format::Mt940));
    assert_eq!(Format::from_str("bai2"), Ok(Format::Bai2));
    assert!(Format::from_str("mt942").is_err());
    assert_eq!(Format::Camt054.to_string(), "camt.054");
}

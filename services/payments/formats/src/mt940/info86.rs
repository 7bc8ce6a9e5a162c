//! The MT940 `:86:` information to the account owner, in the German structured form
//! (`166?00GUTSCHRIFT?20...?32Name`) or as free text, with or without `/EREF/`-style
//! keywords.

use crate::ids::{is_bic, normalise_iban};

/// What `:86:` says about the transaction.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Info86 {
    pub remittance: String,
    pub end_to_end_id: Option<String>,
    pub mandate_id: Option<String>,
    pub name: Option<String>,
    pub account: Option<String>,
    pub bic: Option<String>,
    pub return_reason: Option<String>,
}

/// German banks wrap the 27-character `?2x`/`?3x` lines wherever the line is full, so a
/// full line continues without a space; a shorter line ended where a word ended.
const SUBFIELD_WIDTH: usize = 27;

pub(crate) fn parse_86(value: &str) -> Result<Info86, String> {
    let separator = structured_separator(value);
    match separator {
        Some(separator) => structured(&value.replace('\n', ""), separator),
        None if has_keywords(value) => Ok(keywords(&value.replace('\n', ""))),
        // Plain text is wrapped between words, so the line breaks stand for spaces.
        None => Ok(Info86 {
            remittance: value.lines().map(str::trim).collect::<Vec<_>>().join(" "),
            ..Info86::default()
        }),
    }
}

/// Structured `:86:` starts with a three-digit transaction code and the separator.
fn structured_separator(value: &str) -> Option<char> {
    let mut chars = value.chars();
    let code: String = chars.by_ref().take(3).collect();
    let separator = chars.next()?;
    (code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) && matches!(separator, '?' | '>'))
        .then_some(separator)
}

fn structured(value: &str, separator: char) -> Result<Info86, String> {
    let mut purpose = Vec::new();
    let mut name = Vec::new();
    let mut info = Info86::default();
    let mut bank_code = None;
    for part in value.split(separator).skip(1) {
        let code = part
            .get(..2)
            .filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
        let Some(code) = code.and_then(|c| c.parse::<u8>().ok()) else {
            return Err(format!("malformed :86: subfield `{separator}{part}`"));
        };
        let text = part.get(2..).unwrap_or_default();
        match code {
            20..=29 | 60..=63 => purpose.push(text),
            30 if is_bic(text.trim()) => info.bic = Some(text.trim().to_owned()),
            30 if is_bank_code(text.trim()) => bank_code = Some(text.trim().to_owned()),
            31 if !text.trim().is_empty() => info.account = Some(account(text)),
            32 | 33 => name.push(text),
            _ => {}
        }
    }
    // A German bank code in ?30 belongs to a national account number in ?31.
    if let (Some(code), Some(number)) = (&bank_code, &info.account)
        && !number.bytes().take(2).all(|b| b.is_ascii_uppercase())
    {
        info.account = Some(format!("{code}/{number}"));
    }
    let purpose = join_wrapped(&purpose);
    info.name = Some(join_wrapped(&name)).filter(|n| !n.is_empty());
    sepa_purpose(&purpose, &mut info);
    Ok(info)
}

fn is_bank_code(text: &str) -> bool {
    text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit())
}

fn join_wrapped(lines: &[&str]) -> String {
    let mut joined = String::new();
    let mut previous_full = true;
    for line in lines {
        if !previous_full && !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line);
        previous_full = line.chars().count() >= SUBFIELD_WIDTH;
    }
    joined.trim().to_owned()
}

/// SEPA purpose keywords of the German structured form.
const SEPA_KEYWORDS: &[&str] = &[
    "EREF+", "KREF+", "MREF+", "CRED+", "DEBT+", "SVWZ+", "ABWA+", "ABWE+", "COAM+", "OAMT+",
    "BREF+", "RREF+", "IBAN+", "BIC+",
];

/// `EREF+e2e MREF+mandate SVWZ+text`: the remittance is the SVWZ text when present.
fn sepa_purpose(purpose: &str, info: &mut Info86) {
    let values = keyed_values(purpose, SEPA_KEYWORDS, |keyword| keyword.to_owned());
    if values.is_empty() {
        info.remittance = purpose.to_owned();
        return;
    }
    let get = |key: &str| {
        values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    info.end_to_end_id = get("EREF+").filter(|id| id != "NOTPROVIDED");
    info.mandate_id = get("MREF+");
    info.remittance = get("SVWZ+").unwrap_or_else(|| purpose.to_owned());
}

/// Keywords of the SWIFT free-text form, `/EREF/.../REMI/...`.
const SLASH_KEYWORDS: &[&str] = &[
    "EREF", "REMI", "NAME", "IBAN", "BIC", "MARF", "RTRN", "TRTP", "CSID", "ORDP", "BENM", "ADDR",
    "PREF", "SVCL", "PURP", "ULTC", "ULTD", "CNTP", "KREF",
];

fn has_keywords(value: &str) -> bool {
    SLASH_KEYWORDS
        .iter()
        .any(|key| value.contains(&format!("/{key}/")))
}

fn keywords(value: &str) -> Info86 {
    let marks: Vec<String> = SLASH_KEYWORDS
        .iter()
        .map(|key| format!("/{key}/"))
        .collect();
    let marks: Vec<&str> = marks.iter().map(String::as_str).collect();
    let values = keyed_values(value, &marks, |mark| mark.trim_matches('/').to_owned());
    let get = |key: &str| {
        values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim_end_matches('/').trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let remittance = get("REMI").unwrap_or_default();
    // ABN AMRO and others prefix unstructured remittance with `USTD//`.
    let remittance = remittance
        .strip_prefix("USTD//")
        .unwrap_or(&remittance)
        .to_owned();
    Info86 {
        remittance,
        end_to_end_id: get("EREF").filter(|id| id != "NOTPROVIDED"),
        mandate_id: get("MARF"),
        name: get("NAME"),
        account: get("IBAN").map(|iban| account(&iban)),
        bic: get("BIC"),
        return_reason: get("RTRN"),
    }
}

/// Splits `text` at every occurrence of a keyword into (key, value) pairs, in order.
fn keyed_values(
    text: &str,
    keywords: &[&str],
    key: impl Fn(&str) -> String,
) -> Vec<(String, String)> {
    let mut found: Vec<(usize, &str)> = keywords
        .iter()
        .flat_map(|keyword| {
            text.match_indices(keyword)
                .map(|(at, _)| (at, *keyword))
                .collect::<Vec<_>>()
        })
        .collect();
    found.sort_unstable();
    let mut values = Vec::new();
    for (index, (at, keyword)) in found.iter().enumerate() {
        let start = at + keyword.len();
        let end = found.get(index + 1).map_or(text.len(), |(next, _)| *next);
        let value = text.get(start..end.max(start)).unwrap_or_default().trim();
        values.push((key(keyword), value.to_owned()));
    }
    values
}

/// An IBAN is normalised; other account numbers are kept as written.
fn account(text: &str) -> String {
    let normalised = normalise_iban(text);
    let iban_like = normalised.len() > 4
        && normalised.bytes().take(2).all(|b| b.is_ascii_uppercase())
        && normalised
            .bytes()
            .skip(2)
            .take(2)
            .all(|b| b.is_ascii_digit());
    if iban_like {
        normalised
    } else {
        text.trim().to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn structured_german_form() {
        let raw = "166?00SEPA-GUTSCHRIFT?100599?20EREF+E2E-2024-0001?21SVWZ+Re\n\
                   chnung 2024-1001 Kunde 4?2277?30COBADEFFXXX?31DE8937040044053\n\
                   2013000?32Muster GmbH?34000";
        let info = parse_86(raw).unwrap();
        assert_eq!(info.end_to_end_id.as_deref(), Some("E2E-2024-0001"));
        assert_eq!(info.remittance, "Rechnung 2024-1001 Kunde 477");
        assert_eq!(info.bic.as_deref(), Some("COBADEFFXXX"));
        assert_eq!(info.account.as_deref(), Some("DE89370400440532013000"));
        assert_eq!(info.name.as_deref(), Some("Muster GmbH"));
        assert!(parse_86("166?0").is_err());
        let national = parse_86("005?00LASTSCHRIFT?2012345?3010020030?311234567890").unwrap();
        assert_eq!(national.account.as_deref(), Some("10020030/1234567890"));
        assert_eq!(national.remittance, "12345");
    }

    #[test]
    fn keyword_and_plain_forms() {
        let info = parse_86("/EREF/E2E-7//RTRN/AC04/REMI/USTD//Invoice 9/NAME/ACME BV").unwrap();
        assert_eq!(info.end_to_end_id.as_deref(), Some("E2E-7"));
        assert_eq!(info.return_reason.as_deref(), Some("AC04"));
        assert_eq!(info.remittance, "Invoice 9");
        assert_eq!(info.name.as_deref(), Some("ACME BV"));
        let plain = parse_86("Payment for\ninvoice 12").unwrap();
        assert_eq!(plain.remittance, "Payment for invoice 12");
        assert_eq!(plain.name, None);
    }
}

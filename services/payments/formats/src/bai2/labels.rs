//! Labelled values inside BAI2 free text (`ORIG CO NAME:ACME CORP ...`, `B/O: ...`),
//! which banks use to name the counterparty and a return reason.

/// Labels that name the counterparty, most specific first.
const NAME_LABELS: &[&str] = &[
    "ORIG CO NAME:",
    "ORIGINATOR:",
    "B/O:",
    "BNF:",
    "BENEFICIARY:",
    "NAME:",
];
const ACCOUNT_LABELS: &[&str] = &["IBAN:", "ACCT:"];
const BIC_LABELS: &[&str] = &["BIC:"];
const REASON_LABELS: &[&str] = &["RETURN REASON:", "REASON:"];
/// Labels that only end the value before them.
const OTHER_LABELS: &[&str] = &[
    "ORIG ID:",
    "DESC DATE:",
    "ENTRY DESCR:",
    "SEC:",
    "IND ID:",
    "IND NAME:",
    "TRACE#:",
    "EED:",
    "REF:",
    "RMT:",
    "OBI:",
];

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Labelled {
    pub name: Option<String>,
    pub account: Option<String>,
    pub bic: Option<String>,
    pub reason: Option<String>,
}

pub(crate) fn read(text: &str) -> Labelled {
    Labelled {
        name: value(text, NAME_LABELS),
        account: value(text, ACCOUNT_LABELS).map(|a| a.replace(' ', "").to_uppercase()),
        bic: value(text, BIC_LABELS),
        // A reason code is one token: `RETURN REASON: MD06 REFUSED BY DEBTOR` gives MD06.
        reason: value(text, REASON_LABELS)
            .and_then(|r| r.split_whitespace().next().map(str::to_owned)),
    }
}

/// The value after the first of `labels` found, up to the next known label.
fn value(text: &str, labels: &[&str]) -> Option<String> {
    let (at, label) = labels
        .iter()
        .find_map(|label| find_label(text, label).map(|at| (at, *label)))?;
    let start = at + label.len();
    let tail = text.get(start..)?;
    let end = all_labels()
        .filter_map(|other| find_label(tail, other))
        .min()
        .unwrap_or(tail.len());
    let found = tail.get(..end)?.trim();
    (!found.is_empty()).then(|| found.to_owned())
}

/// A label counts at the start of the text or after a space, and not as the tail of
/// a longer label: `NAME:` is not found inside `ORIG CO NAME:` or `IND NAME:`.
fn find_label(text: &str, label: &str) -> Option<usize> {
    text.match_indices(label).map(|(at, _)| at).find(|at| {
        let before = text.get(..*at).unwrap_or_default();
        let through = text.get(..at + label.len()).unwrap_or_default();
        let starts_word = before.is_empty() || before.ends_with(' ');
        let inside_longer = all_labels()
            .any(|longer| longer != label && longer.ends_with(label) && through.ends_with(longer));
        starts_word && !inside_longer
    })
}

fn all_labels() -> impl Iterator<Item = &'static str> {
    [
        NAME_LABELS,
        ACCOUNT_LABELS,
        BIC_LABELS,
        REASON_LABELS,
        OTHER_LABELS,
    ]
    .into_iter()
    .flatten()
    .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_values() {
        let found =
            read("ACH CREDIT ORIG CO NAME:ACME CORP ORIG ID:1234567890 ENTRY DESCR:PAYMENT");
        assert_eq!(found.name.as_deref(), Some("ACME CORP"));
        let wire =
            read("INCOMING WIRE B/O: GLOBEX LTD IBAN: GB29 NWBK 6016 1331 9268 19 REF: INV-7");
        assert_eq!(wire.name.as_deref(), Some("GLOBEX LTD"));
        assert_eq!(wire.account.as_deref(), Some("GB29NWBK60161331926819"));
        let returned = read("RETURNED ITEM RETURN REASON: AC04 CLOSED ACCOUNT NAME: JOHN DOE");
        assert_eq!(read("ACH DEBIT IND NAME:US INC").name, None);
        assert_eq!(returned.reason.as_deref(), Some("AC04"));
        assert_eq!(returned.name.as_deref(), Some("JOHN DOE"));
        assert_eq!(read("DEPOSIT"), Labelled::default());
    }
}

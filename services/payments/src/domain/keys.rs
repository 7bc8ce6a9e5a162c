//! The lookup keys of the open-item projection: an invoice number's
//! series-free `YYYY-NNNNNN` (so `INV-2026-000123` is found from
//! "2026-000123" or "RE 2026 123" too) and a payer name folded the way the
//! matching engine compares names.

use otc_cash_matching as matching;

/// The key a document number is stored under.
pub fn invoice_key(number: &str) -> String {
    match matching::parse_number(number) {
        Some((_, key)) => format!("{}-{:06}", key.year(), key.seq()),
        // A number outside the suite's series scheme is found only as written.
        None => number.trim().to_uppercase(),
    }
}

/// The keys to look up for the invoice numbers found in remittance text.
pub fn reference_keys(text: &str) -> Vec<String> {
    let mut keys: Vec<String> = matching::extract_references(text)
        .iter()
        .map(|reference| format!("{}-{:06}", reference.key.year(), reference.key.seq()))
        .collect();
    keys.dedup();
    keys
}

/// The folded legal name the trigram index searches.
pub fn match_name(name: &str) -> String {
    matching::fold_tokens(name).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_and_its_noisy_mentions_share_a_key() {
        assert_eq!(invoice_key("INV-2026-000123"), "2026-000123");
        assert!(
            reference_keys("Payment for inv 2026 000123, thanks")
                .contains(&"2026-000123".to_owned())
        );
        assert!(reference_keys("RE: INV-2026-123").contains(&"2026-000123".to_owned()));
    }

    #[test]
    fn names_fold_case_and_legal_forms() {
        assert_eq!(match_name("ACME Europe GmbH"), match_name("acme europe"));
    }
}

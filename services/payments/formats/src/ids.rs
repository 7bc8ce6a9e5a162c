//! Account and bank identifiers (IBAN, BIC) as they appear in bank files.

use iban::Iban;

/// IBANs are compared and stored in electronic format: no spaces, upper case.
pub(crate) fn normalise_iban(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

/// A valid IBAN (checksum and the country's BBAN format), in electronic format.
pub(crate) fn valid_iban(text: &str) -> Option<String> {
    let normalised = normalise_iban(text);
    normalised.parse::<Iban>().ok().map(|_| normalised)
}

/// Why an IBAN is refused, for error messages.
pub(crate) fn iban_problem(text: &str) -> Option<String> {
    match normalise_iban(text).parse::<Iban>() {
        Ok(_) => None,
        // The outer message hides whether the format or the checksum is wrong.
        Err(iban::ParseIbanError::InvalidBaseIban { source }) => Some(source.to_string()),
        Err(error) => Some(error.to_string()),
    }
}

/// The ISO 9362 shape the pain.008 schema also checks:
/// `[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?`.
pub(crate) fn is_bic(text: &str) -> bool {
    let b = text.as_bytes();
    let upper_or_digit = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    (b.len() == 8 || b.len() == 11)
        && b.iter().take(6).all(u8::is_ascii_uppercase)
        && b.get(6)
            .is_some_and(|c| c.is_ascii_uppercase() || (b'2'..=b'9').contains(c))
        && b.get(7).is_some_and(|c| upper_or_digit(c) && *c != b'O')
        && b.iter().skip(8).all(upper_or_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_and_bics() {
        assert_eq!(
            valid_iban("de89 3704 0044 0532 0130 00"),
            Some("DE89370400440532013000".to_owned())
        );
        assert_eq!(valid_iban("DE89370400440532013001"), None);
        assert!(iban_problem("DE00370400440532013000").is_some());
        assert!(is_bic("COBADEFFXXX"));
        assert!(is_bic("DEUTDEFF"));
        assert!(!is_bic("DEUTDE1F"));
        assert!(!is_bic("deutdeff"));
        assert!(!is_bic("DEUTDEFF1"));
    }
}

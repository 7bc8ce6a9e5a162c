//! Currencies and amounts as the bank files write them, read straight into exact
//! decimals (never through a float).

use iso_currency::Currency;
use rust_decimal::Decimal;

/// The number of minor-unit digits of an ISO 4217 currency, or why the code is refused.
///
/// Codes without a minor unit (gold, SDR, test codes) are refused: a cash account
/// statement in them would have no defined amount precision to check against.
pub(crate) fn minor_digits(code: &str) -> Result<u32, String> {
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "invalid currency `{code}` (expected 3 upper-case letters)"
        ));
    }
    let currency = Currency::from_code(code)
        .ok_or_else(|| format!("invalid currency `{code}` (not an ISO 4217 code)"))?;
    currency
        .exponent()
        .map(u32::from)
        .ok_or_else(|| format!("invalid currency `{code}` (it has no minor unit)"))
}

/// Checks a currency code; see [`minor_digits`].
pub(crate) fn check_currency(code: &str) -> Result<String, String> {
    minor_digits(code).map(|_| code.to_owned())
}

/// ISO 20022 amounts have at most 18 digits (SWIFT ones fewer). Holding every amount to
/// that keeps any realistic sum of them far inside `Decimal`, whose `+` would panic on
/// overflow.
const MAX_DIGITS: usize = 18;

/// How the decimal separator of a format works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Separator {
    /// ISO 20022: `1234.5`, the point and fraction optional.
    Point,
    /// SWIFT: `1234,5`, the comma mandatory, the fraction optional (`1234,`).
    Comma,
}

/// A non-negative amount with at most the currency's minor digits.
pub(crate) fn parse_amount(
    text: &str,
    separator: Separator,
    currency: &str,
) -> Result<Decimal, String> {
    let digits = minor_digits(currency)?;
    let invalid = || format!("invalid amount `{text}`");
    let (whole, fraction) = match separator {
        Separator::Point => text.split_once('.').unwrap_or((text, "")),
        Separator::Comma => text.split_once(',').ok_or_else(invalid)?,
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(invalid());
    }
    let significant = whole.trim_start_matches('0').len() + fraction.len();
    if significant > MAX_DIGITS {
        return Err(format!("amount `{text}` has more than {MAX_DIGITS} digits"));
    }
    if u32::try_from(fraction.len()).map_or(true, |len| len > digits) {
        return Err(format!(
            "amount `{text}` has more than {digits} decimal places for {currency}"
        ));
    }
    let normalised = if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    };
    Decimal::from_str_exact(&normalised).map_err(|_| format!("amount `{text}` is out of range"))
}

/// An amount written as an integer number of minor units (BAI2), e.g. `123456` USD is
/// 1234.56. `signed` allows a leading `+` or `-` (balances); details are unsigned.
pub(crate) fn from_minor_units(
    text: &str,
    signed: bool,
    currency: &str,
) -> Result<Decimal, String> {
    let units = minor_units(text, signed)?;
    let digits = minor_digits(currency)?;
    Decimal::try_from_i128_with_scale(units, digits)
        .map_err(|_| format!("amount `{text}` is out of range"))
}

/// The integer in a BAI2 amount field, for control totals that are summed unscaled.
pub(crate) fn minor_units(text: &str, signed: bool) -> Result<i128, String> {
    let invalid = || format!("invalid amount `{text}`");
    let (negative, magnitude) = match text.as_bytes().first() {
        Some(b'-') if signed => (true, text.get(1..).unwrap_or_default()),
        Some(b'+') if signed => (false, text.get(1..).unwrap_or_default()),
        _ => (false, text),
    };
    if magnitude.is_empty() || !magnitude.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    if magnitude.trim_start_matches('0').len() > MAX_DIGITS {
        return Err(format!("amount `{text}` has more than {MAX_DIGITS} digits"));
    }
    let value: i128 = magnitude.parse().map_err(|_| invalid())?;
    Ok(if negative { -value } else { value })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts_respect_the_currency_precision() {
        assert_eq!(
            parse_amount("12.30", Separator::Point, "EUR"),
            Ok(dec("12.30"))
        );
        assert_eq!(parse_amount("12,", Separator::Comma, "EUR"), Ok(dec("12")));
        assert_eq!(
            parse_amount("1000", Separator::Point, "JPY"),
            Ok(dec("1000"))
        );
        assert!(parse_amount("10.5", Separator::Point, "JPY").is_err());
        assert_eq!(
            parse_amount("1.125", Separator::Point, "KWD"),
            Ok(dec("1.125"))
        );
        assert!(parse_amount("12.345", Separator::Point, "EUR").is_err());
        assert!(parse_amount("-1.00", Separator::Point, "EUR").is_err());
        assert!(parse_amount("1e3", Separator::Point, "EUR").is_err());
        assert!(parse_amount("12", Separator::Comma, "EUR").is_err());
        assert!(parse_amount("0000000000000000000000001.00", Separator::Point, "EUR").is_ok());
        assert!(parse_amount("79228162514264337593543950335", Separator::Point, "JPY").is_err());
        assert!(minor_units("1234567890123456789", false).is_err());
        assert_eq!(
            parse_amount("12,3x", Separator::Comma, "EUR"),
            Err("invalid amount `12,3x`".to_owned())
        );
    }

    #[test]
    fn minor_units_use_the_currency_exponent() {
        assert_eq!(from_minor_units("123456", false, "USD"), Ok(dec("1234.56")));
        assert_eq!(from_minor_units("123456", false, "JPY"), Ok(dec("123456")));
        assert_eq!(from_minor_units("123456", false, "BHD"), Ok(dec("123.456")));
        assert_eq!(from_minor_units("-500", true, "USD"), Ok(dec("-5.00")));
        assert!(from_minor_units("-500", false, "USD").is_err());
        assert!(from_minor_units("12.5", false, "USD").is_err());
    }

    #[test]
    fn currencies_must_be_iso_4217() {
        assert_eq!(minor_digits("EUR"), Ok(2));
        assert!(minor_digits("eur").is_err());
        assert!(minor_digits("EU").is_err());
        assert!(minor_digits("QQQ").is_err());
        assert!(minor_digits("XAU").is_err());
    }
}

//! Laws of money: property tests over random amounts, currencies and ratios.

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;

fn currency(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn any_currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["EUR", "USD", "JPY", "KWD", "GBP", "CHF", "BHD", "CLP"])
        .prop_map(currency)
}

/// Any valid amount of the currency: up to ±10^13 units, at its minor scale.
fn any_money() -> impl Strategy<Value = Money> {
    (
        any_currency(),
        -10_000_000_000_000_000i64..10_000_000_000_000_000i64,
    )
        .prop_map(|(currency, minor)| {
            let amount = Decimal::new(minor, 0) / Decimal::from(10i64.pow(4));
            Money::rounded(amount, currency).unwrap()
        })
}

fn any_ratios() -> impl Strategy<Value = Vec<Decimal>> {
    prop::collection::vec(0u32..1_000_000, 1..12)
        .prop_filter("not all zero", |ratios| {
            ratios.iter().any(|ratio| *ratio > 0)
        })
        .prop_map(|ratios| {
            ratios
                .into_iter()
                .map(|ratio| Decimal::new(i64::from(ratio), 3))
                .collect()
        })
}

proptest! {
    #[test]
    fn allocation_preserves_the_total(money in any_money(), ratios in any_ratios()) {
        let parts = money.allocate(&ratios).unwrap();
        prop_assert_eq!(parts.len(), ratios.len());
        prop_assert_eq!(Money::sum(money.currency(), &parts).unwrap(), money);
        for (part, ratio) in parts.iter().zip(&ratios) {
            prop_assert_eq!(part.currency(), money.currency());
            if ratio.is_zero() {
                prop_assert!(part.is_zero());
            }
            // Every part has the total's sign (or is zero).
            prop_assert!(!(part.is_negative() && money.is_positive()));
            prop_assert!(!(part.is_positive() && money.is_negative()));
        }
    }

    #[test]
    fn allocation_is_fair_to_within_one_minor_unit(money in any_money(), ratios in any_ratios()) {
        let parts = money.allocate(&ratios).unwrap();
        let ratio_sum: Decimal = ratios.iter().sum();
        for (part, ratio) in parts.iter().zip(&ratios) {
            let exact = Decimal::from_i128_with_scale(money.minor_units(), 0) * ratio / ratio_sum;
            let difference = (Decimal::from_i128_with_scale(part.minor_units(), 0) - exact).abs();
            prop_assert!(difference < Decimal::ONE, "part {} exact {}", part, exact);
        }
    }

    #[test]
    fn split_into_n_parts_preserves_the_total(money in any_money(), count in 1usize..40) {
        let parts = money.split(count).unwrap();
        prop_assert_eq!(Money::sum(money.currency(), &parts).unwrap(), money);
        let smallest = parts.iter().map(Money::minor_units).min().unwrap();
        let largest = parts.iter().map(Money::minor_units).max().unwrap();
        prop_assert!(largest - smallest <= 1);
    }

    #[test]
    fn addition_is_exact_commutative_and_reversible(left in any_money(), right_minor in -1_000_000_000i64..1_000_000_000) {
        let right = Money::rounded(Decimal::new(right_minor, 2), left.currency()).unwrap();
        let sum = left.checked_add(&right).unwrap();
        prop_assert_eq!(sum, right.checked_add(&left).unwrap());
        prop_assert_eq!(sum.checked_sub(&right).unwrap(), left);
        prop_assert_eq!(sum.minor_units(), left.minor_units() + right.minor_units());
    }

    #[test]
    fn mixing_currencies_is_refused(left in any_money(), right in any_money()) {
        prop_assume!(left.currency() != right.currency());
        let is_mismatch = matches!(left.checked_add(&right), Err(MoneyError::CurrencyMismatch { .. }));
        prop_assert!(is_mismatch);
        let is_mismatch = matches!(left.checked_sub(&right), Err(MoneyError::CurrencyMismatch { .. }));
        prop_assert!(is_mismatch);
    }

    #[test]
    fn rounding_is_half_even_and_idempotent(units in -1_000_000_000i64..1_000_000_000, extra_digits in 1u32..6, currency in any_currency()) {
        let scale = currency.minor_units() + extra_digits;
        let amount = Decimal::new(units, scale);
        let rounded = Money::rounded(amount, currency).unwrap();
        prop_assert_eq!(rounded.amount().scale(), currency.minor_units());
        // Never more than half a minor unit away.
        let half_minor = Decimal::new(5, currency.minor_units() + 1);
        prop_assert!((rounded.amount() - amount).abs() <= half_minor);
        prop_assert_eq!(Money::rounded(rounded.amount(), currency).unwrap(), rounded);
        prop_assert_eq!(Money::new(rounded.amount(), currency).unwrap(), rounded);
    }

    #[test]
    fn proto_round_trip(money in any_money()) {
        let wire = money.to_proto();
        prop_assert_eq!(Money::from_proto("total", Some(&wire)).unwrap(), money);
    }

    #[test]
    fn string_round_trip(money in any_money()) {
        let text = money.amount().to_string();
        prop_assert_eq!(Money::parse(&text, money.currency().code()).unwrap(), money);
    }
}

#[test]
fn half_even_examples() {
    let eur = currency("EUR");
    for (input, expected) in [
        (dec!(2.345), dec!(2.34)),
        (dec!(2.355), dec!(2.36)),
        (dec!(-2.345), dec!(-2.34)),
        (dec!(0.005), dec!(0.00)),
        (dec!(0.015), dec!(0.02)),
    ] {
        assert_eq!(
            Money::rounded(input, eur).unwrap().amount(),
            expected,
            "{input}"
        );
    }
    assert_eq!(
        Money::rounded(dec!(2.5), currency("JPY")).unwrap().amount(),
        dec!(2)
    );
    assert_eq!(
        Money::rounded(dec!(1.0005), currency("KWD"))
            .unwrap()
            .amount(),
        dec!(1.000)
    );
}

#[test]
fn amounts_are_held_at_the_minor_unit_scale() {
    let money = Money::parse("10.5", "EUR").unwrap();
    assert_eq!(money.amount().to_string(), "10.50");
    assert_eq!(money.to_string(), "10.50 EUR");
    assert_eq!(
        Money::parse("1200", "JPY").unwrap().to_proto().amount,
        "1200"
    );
    assert_eq!(
        Money::parse("-0.00", "EUR").unwrap().to_proto().amount,
        "0.00"
    );
    assert_eq!(Money::parse("1.250", "KWD").unwrap().minor_units(), 1250);
}

#[test]
fn thirds_of_a_hundred() {
    let hundred = Money::parse("100.00", "EUR").unwrap();
    let parts: Vec<String> = hundred
        .split(3)
        .unwrap()
        .iter()
        .map(|part| part.amount().to_string())
        .collect();
    assert_eq!(parts, ["33.34", "33.33", "33.33"]);
    let negative: Vec<String> = hundred
        .negated()
        .split(3)
        .unwrap()
        .iter()
        .map(|part| part.amount().to_string())
        .collect();
    assert_eq!(negative, ["-33.34", "-33.33", "-33.33"]);
}

#[test]
fn bad_input_is_named() {
    let cases = [
        (
            ("12.5", "ZZZ"),
            "total.currency_code: `ZZZ` is not an ISO 4217 currency code",
        ),
        (
            ("12.5", "XAU"),
            "total.currency_code: XAU has no minor unit (it is not a currency amounts can be kept in)",
        ),
        (
            ("12,50", "EUR"),
            "total.amount: `12,50` is not a decimal number (expected e.g. \"1234.50\")",
        ),
        (
            ("1e5", "EUR"),
            "total.amount: `1e5` is not a decimal number (expected e.g. \"1234.50\")",
        ),
        (
            ("", "EUR"),
            "total.amount: `` is not a decimal number (expected e.g. \"1234.50\")",
        ),
        (
            ("NaN", "EUR"),
            "total.amount: `NaN` is not a decimal number (expected e.g. \"1234.50\")",
        ),
        (
            ("12.345", "EUR"),
            "total.amount: `12.345` has more decimals than EUR allows (2)",
        ),
        (
            ("1.5", "JPY"),
            "total.amount: `1.5` has more decimals than JPY allows (0)",
        ),
        (
            ("1000000000000000", "EUR"),
            "total.amount: `1000000000000000` is out of range (the magnitude must be below 1000000000000000)",
        ),
        (
            ("99999999999999999999999999999999999", "EUR"),
            "total.amount: `99999999999999999999999999999999999` is out of range (the magnitude must be below 1000000000000000)",
        ),
    ];
    for ((amount, code), expected) in cases {
        let wire = otc_proto::types::Money {
            amount: amount.to_owned(),
            currency_code: code.to_owned(),
        };
        let error = Money::from_proto("total", Some(&wire)).unwrap_err();
        assert_eq!(error.to_string(), expected);
    }
    let missing = Money::from_proto("lines[1].unit_price", None).unwrap_err();
    assert_eq!(missing.to_string(), "lines[1].unit_price: is required");
}

#[test]
fn trailing_zeros_beyond_the_minor_unit_are_accepted() {
    assert_eq!(
        Money::parse("12.3400", "EUR").unwrap().amount(),
        dec!(12.34)
    );
    assert!(Money::from_columns(dec!(12.3400), "EUR").is_ok());
    assert!(matches!(
        Money::from_columns(dec!(12.3401), "EUR"),
        Err(MoneyError::TooManyDecimals { .. })
    ));
}

#[test]
fn allocation_rejects_bad_ratios() {
    let money = Money::parse("10.00", "EUR").unwrap();
    assert!(matches!(
        money.allocate(&[]),
        Err(MoneyError::InvalidAllocation { .. })
    ));
    assert!(matches!(
        money.allocate(&[dec!(0), dec!(0)]),
        Err(MoneyError::InvalidAllocation { .. })
    ));
    assert!(matches!(
        money.allocate(&[dec!(1), dec!(-1)]),
        Err(MoneyError::InvalidAllocation { .. })
    ));
    assert!(matches!(
        money.split(0),
        Err(MoneyError::InvalidAllocation { .. })
    ));
}

#[test]
fn times_rounded_applies_a_rate() {
    let net = Money::parse("19.99", "EUR").unwrap();
    assert_eq!(net.times_rounded(dec!(0.19)).unwrap().amount(), dec!(3.80));
    assert_eq!(net.times_rounded(dec!(3)).unwrap().amount(), dec!(59.97));
}

#[test]
fn serde_uses_decimal_strings() {
    let money = Money::parse("1234.5", "USD").unwrap();
    let json = serde_json::to_string(&money).unwrap();
    assert_eq!(json, r#"{"amount":"1234.50","currency":"USD"}"#);
    assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), money);
    assert!(serde_json::from_str::<Money>(r#"{"amount":"1.234","currency":"USD"}"#).is_err());
}

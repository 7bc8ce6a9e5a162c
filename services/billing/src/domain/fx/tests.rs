//! FX look-ups along each path, staleness and weekend gaps, and conversion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rust_decimal_macros::dec;

use super::*;

fn currency(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn fx(from: &str, to: &str, on: &str, rate: Decimal) -> FxRate {
    FxRate {
        from: currency(from),
        to: currency(to),
        rate_date: date(on),
        rate,
    }
}

/// ECB-style: EUR-based rates for Thu 19 and Fri 20 November 2026, then
/// nothing over the weekend, then Monday 23.
fn table() -> FxTable {
    FxTable::new(vec![
        fx("EUR", "USD", "2026-11-19", dec!(1.0850)),
        fx("EUR", "USD", "2026-11-20", dec!(1.0866)),
        fx("EUR", "USD", "2026-11-23", dec!(1.0901)),
        fx("EUR", "GBP", "2026-11-20", dec!(0.8571)),
        fx("EUR", "JPY", "2026-11-20", dec!(162.35)),
        fx("EUR", "KWD", "2026-11-20", dec!(0.3342)),
        fx("EUR", "CHF", "2026-11-05", dec!(0.9400)),
    ])
}

fn rate(from: &str, to: &str, on: &str, max_age_days: i64) -> Result<AppliedRate, FxError> {
    table().rate(currency(from), currency(to), date(on), max_age_days)
}

#[test]
fn each_path_gives_its_rate() {
    // (from, to, on, expected rate, rate date, source)
    let cases = [
        (
            "EUR",
            "USD",
            "2026-11-20",
            dec!(1.0866),
            "2026-11-20",
            RateSource::Direct,
        ),
        (
            "EUR",
            "USD",
            "2026-11-19",
            dec!(1.0850),
            "2026-11-19",
            RateSource::Direct,
        ),
        (
            "USD",
            "EUR",
            "2026-11-20",
            dec!(0.9203018590),
            "2026-11-20",
            RateSource::Inverse,
        ),
        (
            "USD",
            "GBP",
            "2026-11-20",
            dec!(0.7887907234),
            "2026-11-20",
            RateSource::Cross,
        ),
        (
            "JPY",
            "USD",
            "2026-11-20",
            dec!(0.0066929473),
            "2026-11-20",
            RateSource::Cross,
        ),
        (
            "JPY",
            "GBP",
            "2026-11-20",
            dec!(0.0052793348),
            "2026-11-20",
            RateSource::Cross,
        ),
        (
            "GBP",
            "GBP",
            "2026-11-20",
            dec!(1),
            "2026-11-20",
            RateSource::Direct,
        ),
    ];
    for (from, to, on, expected, rate_date, source) in cases {
        let applied = rate(from, to, on, 3).unwrap();
        assert_eq!(
            (applied.rate, applied.rate_date, applied.source),
            (expected, date(rate_date), source),
            "{from}->{to} on {on}"
        );
    }
}

#[test]
fn direct_is_preferred_to_inverse_and_both_to_cross() {
    let table = FxTable::new(vec![
        fx("EUR", "USD", "2026-11-20", dec!(1.0866)),
        fx("USD", "EUR", "2026-11-18", dec!(0.9200)),
        fx("EUR", "GBP", "2026-11-20", dec!(0.8571)),
        fx("GBP", "USD", "2026-11-17", dec!(1.2700)),
    ]);
    let usd_eur = table
        .rate(currency("USD"), currency("EUR"), date("2026-11-20"), 7)
        .unwrap();
    assert_eq!(
        (usd_eur.rate, usd_eur.source),
        (dec!(0.9200), RateSource::Direct)
    );
    let usd_gbp = table
        .rate(currency("USD"), currency("GBP"), date("2026-11-20"), 7)
        .unwrap();
    assert_eq!(usd_gbp.source, RateSource::Inverse);
    assert_eq!(usd_gbp.rate, dec!(0.7874015748));
    assert_eq!(usd_gbp.rate_date, date("2026-11-17"));
}

#[test]
fn the_latest_rate_on_or_before_the_date_within_the_age_limit() {
    // Weekend: Saturday and Sunday use Friday's rate if it is young enough.
    assert_eq!(
        rate("EUR", "USD", "2026-11-21", 1).unwrap().rate_date,
        date("2026-11-20")
    );
    assert_eq!(
        rate("EUR", "USD", "2026-11-22", 2).unwrap().rate_date,
        date("2026-11-20")
    );
    assert_eq!(
        rate("EUR", "USD", "2026-11-23", 0).unwrap().rate,
        dec!(1.0901)
    );
    // A rate dated after the conversion date is never used.
    assert_eq!(
        rate("EUR", "USD", "2026-11-22", 30).unwrap().rate,
        dec!(1.0866)
    );
    assert!(rate("EUR", "USD", "2026-11-18", 30).is_err());
    // Exactly max_age_days old is still fresh; one more day is stale.
    assert_eq!(
        rate("EUR", "CHF", "2026-11-12", 7).unwrap().rate,
        dec!(0.9400)
    );
    let stale = rate("EUR", "CHF", "2026-11-13", 7).unwrap_err();
    assert_eq!(
        stale.to_string(),
        "no EUR->CHF rate dated between 2026-11-06 and 2026-11-13"
    );
}

#[test]
fn missing_rates_name_the_pair_and_the_window() {
    let error = rate("EUR", "USD", "2026-11-22", 1).unwrap_err();
    assert_eq!(
        error,
        FxError::Missing {
            from: currency("EUR"),
            to: currency("USD"),
            on: date("2026-11-22"),
            max_age_days: 1,
        }
    );
    assert_eq!(
        error.to_string(),
        "no EUR->USD rate dated between 2026-11-21 and 2026-11-22"
    );
    let table = FxTable::new(vec![fx("EUR", "USD", "2026-11-15", dec!(1.08))]);
    let stale = table
        .rate(currency("EUR"), currency("USD"), date("2026-11-23"), 7)
        .unwrap_err();
    assert_eq!(
        stale.to_string(),
        "no EUR->USD rate dated between 2026-11-16 and 2026-11-23"
    );
    // A cross rate needs both legs fresh: CHF's leg is two weeks old.
    assert!(matches!(
        rate("CHF", "USD", "2026-11-20", 7),
        Err(FxError::Missing { .. })
    ));
    assert!(matches!(
        rate("EUR", "SEK", "2026-11-20", 7),
        Err(FxError::Missing { .. })
    ));
    assert!(matches!(
        rate("SEK", "NOK", "2026-11-20", 7),
        Err(FxError::Missing { .. })
    ));
    // Without any EUR rate there is nothing to cross through.
    let no_pivot = FxTable::new(vec![fx("USD", "GBP", "2026-11-20", dec!(0.79))]);
    assert!(
        no_pivot
            .rate(currency("USD"), currency("JPY"), date("2026-11-20"), 7)
            .is_err()
    );
}

#[test]
fn a_correction_entered_later_wins_and_bad_rates_are_refused() {
    let corrected = FxTable::new(vec![
        fx("EUR", "USD", "2026-11-20", dec!(1.0866)),
        fx("EUR", "USD", "2026-11-20", dec!(1.0868)),
    ]);
    let applied = corrected
        .rate(currency("EUR"), currency("USD"), date("2026-11-20"), 0)
        .unwrap();
    assert_eq!(applied.rate, dec!(1.0868));
    let zero = FxTable::new(vec![fx("EUR", "USD", "2026-11-20", dec!(0))]);
    let error = zero
        .rate(currency("USD"), currency("EUR"), date("2026-11-20"), 0)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the EUR->USD rate of 2026-11-20 is 0: a rate must be positive"
    );
}

#[test]
fn conversion_rounds_half_even_to_the_target_minor_unit() {
    let applied = |from: &str, to: &str, rate: Decimal| AppliedRate {
        from: currency(from),
        to: currency(to),
        rate,
        rate_date: date("2026-11-20"),
        source: RateSource::Direct,
    };
    // (from amount, from, to, rate, expected)
    let cases = [
        ("100.00", "EUR", "USD", dec!(1.0866), "108.66"),
        ("100.00", "EUR", "JPY", dec!(162.345), "16234"), // 16234.5 -> even
        ("100.00", "EUR", "JPY", dec!(162.355), "16236"), // 16235.5 -> even
        ("10.00", "EUR", "KWD", dec!(0.33425), "3.342"),  // 3.3425 -> even
        ("1", "JPY", "EUR", dec!(0.0061595319), "0.01"),
        ("-250.00", "EUR", "GBP", dec!(0.8571), "-214.28"), // -214.275 -> even
    ];
    for (amount, from, to, rate, expected) in cases {
        let converted =
            applied(from, to, rate).convert(&Money::parse(amount, from).unwrap(), currency(to));
        assert_eq!(
            converted.unwrap(),
            Money::parse(expected, to).unwrap(),
            "{amount} {from} -> {to}"
        );
    }
    let cross = rate("USD", "GBP", "2026-11-20", 0).unwrap();
    let converted = cross.convert(&Money::parse("100.00", "USD").unwrap(), currency("GBP"));
    assert_eq!(converted.unwrap(), Money::parse("78.88", "GBP").unwrap());
}

#[test]
fn conversion_refuses_the_wrong_pair() {
    let applied = rate("EUR", "USD", "2026-11-20", 0).unwrap();
    let gbp = Money::parse("1.00", "GBP").unwrap();
    assert!(matches!(
        applied.convert(&gbp, currency("USD")),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
    let eur = Money::parse("1.00", "EUR").unwrap();
    assert!(matches!(
        applied.convert(&eur, currency("GBP")),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
}

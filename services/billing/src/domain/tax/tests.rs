//! Table tests of the rule tax engine, and a property test of its invariants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn money(amount: &str, currency: &str) -> Money {
    Money::parse(amount, currency).unwrap()
}

fn rule(region: &str, tax_code: &str, rate: Decimal, from: &str, to: Option<&str>) -> TaxRule {
    TaxRule {
        region: region.to_owned(),
        tax_code: tax_code.to_owned(),
        rate,
        valid_from: date(from),
        valid_to: to.map(date),
    }
}

/// German-style rules: standard, reduced, a zero-rated code, and the
/// temporary 2020 cut to 16 % that overlaps the open-ended 19 % rule.
fn rules() -> Vec<TaxRule> {
    vec![
        rule("DE", "STD", dec!(0.19), "2007-01-01", None),
        rule("DE", "STD", dec!(0.16), "2020-07-01", Some("2021-01-01")),
        rule("DE", "RED", dec!(0.07), "2007-01-01", None),
        rule("DE", "RED", dec!(0.05), "2020-07-01", Some("2021-01-01")),
        rule("DE", "ZERO", dec!(0), "2023-01-01", None),
        rule("JP", "STD", dec!(0.10), "2019-10-01", None),
        rule("JP", "RED", dec!(0.08), "2019-10-01", None),
        rule("BH", "STD", dec!(0.10), "2022-01-01", None),
    ]
}

fn document(
    region: &str,
    currency: &str,
    basis: PriceBasis,
    lines: &[(&str, &str)],
) -> TaxableDocument {
    TaxableDocument {
        region: region.to_owned(),
        tax_date: date("2026-11-20"),
        currency: Currency::parse(currency).unwrap(),
        basis,
        treatment: TaxTreatment::Standard,
        lines: lines
            .iter()
            .enumerate()
            .map(|(index, (tax_code, amount))| TaxableLine {
                line_ref: format!("L{}", index + 1),
                tax_code: (*tax_code).to_owned(),
                amount: money(amount, currency),
            })
            .collect(),
    }
}

fn assess(document: &TaxableDocument) -> TaxAssessment {
    let assessment = RuleTaxEngine::new(rules()).assess_now(document).unwrap();
    assert_balanced(document, &assessment);
    assessment
}

/// The invariants every assessment keeps, whatever the input.
fn assert_balanced(document: &TaxableDocument, assessment: &TaxAssessment) {
    let currency = document.currency;
    assert_eq!(assessment.lines.len(), document.lines.len());
    for (taxed, line) in assessment.lines.iter().zip(&document.lines) {
        assert_eq!(taxed.line_ref, line.line_ref);
        assert_eq!(taxed.net.checked_add(&taxed.tax).unwrap(), taxed.gross);
        assert_eq!(taxed.gross.currency(), currency);
        match document.basis {
            PriceBasis::Exclusive => assert_eq!(taxed.net, line.amount),
            PriceBasis::Inclusive => assert_eq!(taxed.gross, line.amount),
        }
    }
    let sum = |pick: fn(&TaxedLine) -> &Money| {
        Money::sum(currency, assessment.lines.iter().map(pick)).unwrap()
    };
    assert_eq!(assessment.net_total, sum(|line| &line.net));
    assert_eq!(assessment.tax_total, sum(|line| &line.tax));
    assert_eq!(assessment.gross_total, sum(|line| &line.gross));
    assert_eq!(
        assessment
            .net_total
            .checked_add(&assessment.tax_total)
            .unwrap(),
        assessment.gross_total
    );
    let rows = &assessment.summary;
    assert_eq!(
        Money::sum(currency, rows.iter().map(|row| &row.net)).unwrap(),
        assessment.net_total
    );
    assert_eq!(
        Money::sum(currency, rows.iter().map(|row| &row.tax)).unwrap(),
        assessment.tax_total
    );
    assert!(
        rows.windows(2)
            .all(|pair| (pair[0].category, pair[0].rate) < (pair[1].category, pair[1].rate))
    );
}

/// (net, tax, gross) of each line, as strings.
fn splits(assessment: &TaxAssessment) -> Vec<(String, String, String)> {
    assessment
        .lines
        .iter()
        .map(|line| {
            (
                line.net.amount().to_string(),
                line.tax.amount().to_string(),
                line.gross.amount().to_string(),
            )
        })
        .collect()
}

#[test]
fn exclusive_prices_round_each_line_half_even() {
    // (currency, tax code, net, expected tax)
    let cases = [
        ("EUR", "STD", "100.00", "19.00"),
        ("EUR", "STD", "10.05", "1.91"), // 1.9095
        ("EUR", "STD", "-10.05", "-1.91"),
        ("EUR", "RED", "0.50", "0.04"), // 0.035 -> even 4
        ("EUR", "RED", "1.50", "0.10"), // 0.105 -> even 0
        ("EUR", "ZERO", "99.99", "0.00"),
        ("JPY", "RED", "1234", "99"),      // 98.72
        ("JPY", "STD", "1005", "100"),     // 100.5 -> even 100
        ("JPY", "STD", "1015", "102"),     // 101.5 -> even 102
        ("BHD", "STD", "12.345", "1.234"), // 1.2345 -> even 4
        ("BHD", "STD", "0.015", "0.002"),  // 0.0015 -> even 2
    ];
    for (currency, code, net, tax) in cases {
        let region = match currency {
            "JPY" => "JP",
            "BHD" => "BH",
            _ => "DE",
        };
        let assessment = assess(&document(
            region,
            currency,
            PriceBasis::Exclusive,
            &[(code, net)],
        ));
        assert_eq!(
            assessment.lines[0].tax,
            money(tax, currency),
            "{net} {currency} {code}"
        );
    }
}

#[test]
fn inclusive_prices_keep_the_gross_and_round_the_net() {
    // (currency, tax code, gross, expected net, expected tax)
    let cases = [
        ("EUR", "STD", "119.00", "100.00", "19.00"),
        ("EUR", "STD", "10.00", "8.40", "1.60"), // 8.4033...
        ("EUR", "STD", "0.01", "0.01", "0.00"),
        ("EUR", "RED", "1.07", "1.00", "0.07"),
        ("EUR", "ZERO", "100.00", "100.00", "0.00"),
        ("EUR", "STD", "-119.00", "-100.00", "-19.00"),
        ("JPY", "STD", "1100", "1000", "100"),
        ("JPY", "RED", "1080", "1000", "80"),
        ("JPY", "STD", "999", "908", "91"), // 908.18
        ("BHD", "STD", "11.000", "10.000", "1.000"),
        ("BHD", "STD", "1.001", "0.910", "0.091"),
    ];
    for (currency, code, gross, net, tax) in cases {
        let region = match currency {
            "JPY" => "JP",
            "BHD" => "BH",
            _ => "DE",
        };
        let assessment = assess(&document(
            region,
            currency,
            PriceBasis::Inclusive,
            &[(code, gross)],
        ));
        let line = &assessment.lines[0];
        assert_eq!(
            (line.net, line.tax),
            (money(net, currency), money(tax, currency)),
            "{gross} {currency} {code}"
        );
    }
    // 1.35 / 1.2 = 1.125 and 1.29 / 1.2 = 1.075 exactly: half-even on the net.
    let engine = RuleTaxEngine::new(vec![rule("XX", "T", dec!(0.2), "2000-01-01", None)]);
    let doc = document(
        "XX",
        "EUR",
        PriceBasis::Inclusive,
        &[("T", "1.35"), ("T", "1.29")],
    );
    let assessment = engine.assess_now(&doc).unwrap();
    assert_eq!(
        splits(&assessment),
        [
            ("1.12".into(), "0.23".into(), "1.35".into()),
            ("1.08".into(), "0.21".into(), "1.29".into())
        ]
    );
}

#[test]
fn several_rates_in_one_document_give_one_summary_row_each() {
    let doc = document(
        "DE",
        "EUR",
        PriceBasis::Exclusive,
        &[
            ("STD", "100.00"),
            ("RED", "50.00"),
            ("STD", "20.05"),
            ("ZERO", "10.00"),
            ("RED", "0.99"),
        ],
    );
    let assessment = assess(&doc);
    let eur = |amount| money(amount, "EUR");
    let row = |category, rate, net, tax| TaxSummaryRow {
        category,
        rate,
        net: eur(net),
        tax: eur(tax),
    };
    assert_eq!(
        assessment.summary,
        [
            row(TaxCategory::Standard, dec!(0.07), "50.99", "3.57"),
            row(TaxCategory::Standard, dec!(0.19), "120.05", "22.81"),
            row(TaxCategory::Zero, dec!(0), "10.00", "0.00"),
        ]
    );
    assert_eq!(
        (
            assessment.net_total,
            assessment.tax_total,
            assessment.gross_total
        ),
        (eur("181.04"), eur("26.38"), eur("207.42"))
    );
    assert_eq!(assessment.lines[3].category, TaxCategory::Zero);
}

#[test]
fn totals_equal_the_sums_over_many_awkward_lines() {
    let codes = ["STD", "RED", "ZERO"];
    let amounts: Vec<(&str, String)> = (0..200i64)
        .map(|index| {
            let cents = (index * 7919 + 13) % 100_003 + 1;
            let signed = if index % 17 == 0 { -cents } else { cents };
            let code = codes[usize::try_from(index).unwrap() % codes.len()];
            (code, Decimal::new(signed, 2).to_string())
        })
        .collect();
    let lines: Vec<(&str, &str)> = amounts
        .iter()
        .map(|(code, amount)| (*code, amount.as_str()))
        .collect();
    for basis in [PriceBasis::Exclusive, PriceBasis::Inclusive] {
        let assessment = assess(&document("DE", "EUR", basis, &lines));
        assert_eq!(assessment.lines.len(), 200);
        assert_eq!(assessment.summary.len(), 3);
    }
}

#[test]
fn the_rule_in_force_on_the_tax_date_applies() {
    let engine = RuleTaxEngine::new(rules());
    // (date, expected standard rate): valid_to is exclusive, and the later
    // valid_from wins while both rules cover the date.
    let cases = [
        ("2007-01-01", Some(dec!(0.19))),
        ("2020-06-30", Some(dec!(0.19))),
        ("2020-07-01", Some(dec!(0.16))),
        ("2020-12-31", Some(dec!(0.16))),
        ("2021-01-01", Some(dec!(0.19))),
        ("2006-12-31", None),
    ];
    for (on, expected) in cases {
        assert_eq!(
            engine.rule_for("DE", "STD", date(on)).map(|rule| rule.rate),
            expected,
            "{on}"
        );
    }
    let mut doc = document("DE", "EUR", PriceBasis::Exclusive, &[("STD", "100.00")]);
    doc.tax_date = date("2020-12-31");
    assert_eq!(
        engine.assess_now(&doc).unwrap().tax_total,
        money("16.00", "EUR")
    );
    doc.tax_date = date("2021-01-01");
    assert_eq!(
        engine.assess_now(&doc).unwrap().tax_total,
        money("19.00", "EUR")
    );
    // Zero-rated only from 2023: before that the code has no rule at all.
    assert!(engine.rule_for("DE", "ZERO", date("2022-12-31")).is_none());
}

#[test]
fn every_missing_rule_is_reported_at_once() {
    let doc = document(
        "DE",
        "EUR",
        PriceBasis::Exclusive,
        &[
            ("STD", "1.00"),
            ("BOOKS", "2.00"),
            ("WINE", "3.00"),
            ("BOOKS", "4.00"),
        ],
    );
    let error = RuleTaxEngine::new(rules()).assess_now(&doc).unwrap_err();
    let missing = |code: &str, refs: &[&str]| MissingTaxRule {
        region: "DE".into(),
        tax_code: code.into(),
        tax_date: date("2026-11-20"),
        line_refs: refs.iter().map(|line| (*line).to_owned()).collect(),
    };
    assert_eq!(
        error,
        TaxError::MissingRules(vec![
            missing("BOOKS", &["L2", "L4"]),
            missing("WINE", &["L3"])
        ])
    );
    assert_eq!(
        error.to_string(),
        "no tax rate is set up for region DE, tax code BOOKS on 2026-11-20 (lines L2, L4); \
         region DE, tax code WINE on 2026-11-20 (line L3); \
         add the missing tax rules, then issue the document again"
    );
    // A region without rules is missing too, never taxed at zero.
    let elsewhere = document("FR", "EUR", PriceBasis::Exclusive, &[("STD", "1.00")]);
    assert!(matches!(
        RuleTaxEngine::new(rules()).assess_now(&elsewhere),
        Err(TaxError::MissingRules(missing)) if missing.len() == 1 && missing[0].region == "FR"
    ));
}

#[test]
fn exempt_and_reverse_charge_need_no_rule_and_carry_no_tax() {
    let treatments = [
        (
            TaxTreatment::Exempt {
                reason: "charity, §4 Nr. 18 UStG".into(),
            },
            TaxCategory::Exempt,
        ),
        (
            TaxTreatment::ReverseCharge {
                buyer_tax_id: "FR40303265045".into(),
            },
            TaxCategory::ReverseCharge,
        ),
    ];
    for (treatment, category) in treatments {
        for basis in [PriceBasis::Exclusive, PriceBasis::Inclusive] {
            let mut doc = document(
                "DE",
                "EUR",
                basis,
                &[("STD", "100.00"), ("UNKNOWN", "0.99")],
            );
            doc.treatment = treatment.clone();
            let assessment = RuleTaxEngine::new(Vec::new()).assess_now(&doc).unwrap();
            assert_balanced(&doc, &assessment);
            assert!(
                assessment
                    .lines
                    .iter()
                    .all(|line| line.category == category && line.tax.is_zero())
            );
            assert_eq!(assessment.gross_total, money("100.99", "EUR"));
            assert_eq!(assessment.summary.len(), 1);
            assert_eq!(
                (assessment.summary[0].category, assessment.summary[0].rate),
                (category, dec!(0))
            );
        }
    }
}

#[test]
fn bad_input_is_an_error_naming_the_line() {
    let mut doc = document("DE", "EUR", PriceBasis::Exclusive, &[("STD", "1.00")]);
    doc.lines[0].amount = money("1.00", "USD");
    let error = RuleTaxEngine::new(rules()).assess_now(&doc).unwrap_err();
    assert_eq!(
        error.to_string(),
        "line L1: amount 1.00 USD is not in the document currency EUR"
    );

    let negative = RuleTaxEngine::new(vec![rule("DE", "STD", dec!(-0.19), "2000-01-01", None)]);
    let doc = document("DE", "EUR", PriceBasis::Exclusive, &[("STD", "1.00")]);
    assert!(matches!(
        negative.assess_now(&doc),
        Err(TaxError::NegativeRate { .. })
    ));

    let empty = document("DE", "EUR", PriceBasis::Exclusive, &[]);
    let assessment = assess(&empty);
    assert!(assessment.gross_total.is_zero() && assessment.summary.is_empty());
}

#[test]
fn the_engine_trait_answers_like_the_sync_call() {
    let engine: Box<dyn TaxEngine> = Box::new(RuleTaxEngine::new(rules()));
    let doc = document(
        "DE",
        "EUR",
        PriceBasis::Inclusive,
        &[("STD", "119.00"), ("RED", "10.70")],
    );
    let from_trait = futures::executor::block_on(engine.assess(&doc)).unwrap();
    assert_eq!(
        from_trait,
        RuleTaxEngine::new(rules()).assess_now(&doc).unwrap()
    );
}

proptest! {
    #[test]
    fn any_document_balances(
        currency in prop::sample::select(vec!["EUR", "JPY", "BHD", "KWD", "USD"]),
        rates in prop::collection::vec(0i64..=3_000, 4),
        inclusive in any::<bool>(),
        lines in prop::collection::vec((-1_000_000_000i64..1_000_000_000, 0usize..4), 0..60),
    ) {
        let currency = Currency::parse(currency).unwrap();
        let engine = RuleTaxEngine::new(
            rates
                .iter()
                .enumerate()
                .map(|(code, rate)| rule("R", &format!("C{code}"), Decimal::new(*rate, 4), "2000-01-01", None))
                .collect(),
        );
        let doc = TaxableDocument {
            region: "R".into(),
            tax_date: date("2026-01-01"),
            currency,
            basis: if inclusive { PriceBasis::Inclusive } else { PriceBasis::Exclusive },
            treatment: TaxTreatment::Standard,
            lines: lines
                .iter()
                .enumerate()
                .map(|(index, (minor, code))| TaxableLine {
                    line_ref: index.to_string(),
                    tax_code: format!("C{code}"),
                    amount: Money::rounded(Decimal::new(*minor, currency.minor_units()), currency).unwrap(),
                })
                .collect(),
        };
        let assessment = engine.assess_now(&doc).unwrap();
        assert_balanced(&doc, &assessment);
        for line in &assessment.lines {
            // Tax never has the opposite sign of the amount.
            prop_assert!(!(line.tax.is_negative() && line.gross.is_positive()));
            prop_assert!(!(line.tax.is_positive() && line.gross.is_negative()));
        }
    }
}

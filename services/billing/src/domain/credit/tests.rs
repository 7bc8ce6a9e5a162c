//! Credit-note amounts: worked examples, every refusal, and a property test
//! that no sequence of credit notes takes more than was invoiced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn currency(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn line(
    line_ref: &str,
    quantity: Decimal,
    net: Money,
    tax: Money,
    rate: Decimal,
) -> CreditableLine {
    CreditableLine {
        line_ref: line_ref.to_owned(),
        quantity,
        net,
        tax,
        credited_quantity: Decimal::ZERO,
        credited_net: Money::zero(net.currency()),
        credited_tax: Money::zero(net.currency()),
        category: if rate.is_zero() {
            TaxCategory::Zero
        } else {
            TaxCategory::Standard
        },
        rate,
    }
}

/// 3 × 100.00 at 19 %, 1 × 50.00 at 7 %, 7 × 10.00 (an awkward unit price) at 19 %.
fn invoice() -> Vec<CreditableLine> {
    vec![
        line("L1", dec!(3), eur("100.00"), eur("19.00"), dec!(0.19)),
        line("L2", dec!(1), eur("50.00"), eur("3.50"), dec!(0.07)),
        line("L3", dec!(7), eur("10.00"), eur("1.90"), dec!(0.19)),
    ]
}

/// Books a computed credit note onto the invoice, as the store would.
fn book(lines: &mut [CreditableLine], credit: &CreditNoteAmounts) {
    for credited in &credit.lines {
        let line = lines
            .iter_mut()
            .find(|line| line.line_ref == credited.line_ref)
            .unwrap();
        line.credited_quantity += credited.quantity;
        line.credited_net = line.credited_net.checked_add(&credited.net).unwrap();
        line.credited_tax = line.credited_tax.checked_add(&credited.tax).unwrap();
    }
}

fn by_quantity(line_ref: &str, quantity: Decimal) -> CreditRequest {
    CreditRequest::Lines(vec![LineCredit {
        line_ref: line_ref.into(),
        quantity: Some(quantity),
        net_amount: None,
    }])
}

fn by_net(line_ref: &str, amount: Money) -> CreditRequest {
    CreditRequest::Lines(vec![LineCredit {
        line_ref: line_ref.into(),
        quantity: None,
        net_amount: Some(amount),
    }])
}

fn amounts(credit: &CreditNoteAmounts) -> Vec<(&str, String, String)> {
    credit
        .lines
        .iter()
        .map(|line| {
            (
                line.line_ref.as_str(),
                line.net.amount().to_string(),
                line.tax.amount().to_string(),
            )
        })
        .collect()
}

fn run(
    lines: &[CreditableLine],
    request: &CreditRequest,
) -> Result<CreditNoteAmounts, CreditError> {
    compute_credit(currency("EUR"), lines, request)
}

#[test]
fn full_credit_takes_everything_that_remains_once() {
    let mut lines = invoice();
    let earlier = run(&lines, &by_quantity("L1", dec!(1))).unwrap();
    book(&mut lines, &earlier);
    let full = run(&lines, &CreditRequest::Full).unwrap();
    assert_eq!(
        amounts(&full),
        [
            ("L1", "66.67".into(), "12.67".into()),
            ("L2", "50.00".into(), "3.50".into()),
            ("L3", "10.00".into(), "1.90".into())
        ]
    );
    assert_eq!(full.lines[0].quantity, dec!(2));
    assert_eq!(
        (full.net_total, full.tax_total, full.gross_total),
        (eur("126.67"), eur("18.07"), eur("144.74"))
    );
    book(&mut lines, &full);
    assert!(
        lines
            .iter()
            .all(|line| line.credited_net == line.net && line.credited_tax == line.tax)
    );
    assert_eq!(
        run(&lines, &CreditRequest::Full).unwrap_err().to_string(),
        "the invoice: nothing left to credit"
    );
}

#[test]
fn the_credit_returning_the_last_unit_takes_exactly_the_remainder() {
    let mut lines = invoice();
    // (quantity, expected net, expected tax): 10.00 / 7 per unit.
    let steps = [
        (dec!(1), "1.43", "0.27"),
        (dec!(5), "7.14", "1.36"),
        (dec!(1), "1.43", "0.27"),
    ];
    for (quantity, net, tax) in steps {
        let credit = run(&lines, &by_quantity("L3", quantity)).unwrap();
        assert_eq!(amounts(&credit), [("L3", net.into(), tax.into())]);
        assert_eq!(
            credit.gross_total,
            credit.net_total.checked_add(&credit.tax_total).unwrap()
        );
        book(&mut lines, &credit);
    }
    assert_eq!(
        (lines[2].credited_net, lines[2].credited_tax),
        (eur("10.00"), eur("1.90"))
    );
    assert_eq!(
        run(&lines, &by_quantity("L3", dec!(1)))
            .unwrap_err()
            .to_string(),
        "line L3: nothing left to credit"
    );
}

#[test]
fn returning_goods_after_a_price_reduction_takes_what_is_left() {
    let mut lines = invoice();
    let earlier = run(&lines, &by_net("L1", eur("60.00"))).unwrap();
    book(&mut lines, &earlier);
    let error = run(&lines, &by_quantity("L1", dec!(2))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "line L1 quantity: would exceed what remains creditable: remaining 40.00 EUR"
    );
    let last = run(&lines, &by_quantity("L1", dec!(3))).unwrap();
    assert_eq!(amounts(&last), [("L1", "40.00".into(), "7.60".into())]);
}

#[test]
fn crediting_a_net_amount_takes_tax_in_proportion() {
    let mut lines = invoice();
    let credit = run(&lines, &by_net("L1", eur("12.30"))).unwrap();
    // 19.00 × 12.30 / 100.00 = 2.337
    assert_eq!(amounts(&credit), [("L1", "12.30".into(), "2.34".into())]);
    assert_eq!(credit.lines[0].quantity, Decimal::ZERO);
    lines[0].credited_net = eur("87.70");
    lines[0].credited_tax = eur("16.66");
    let error = run(&lines, &by_net("L1", eur("12.31"))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "line L1 net_amount: would exceed what remains creditable: remaining 12.30 EUR"
    );
    let rest = run(&lines, &by_net("L1", eur("12.30"))).unwrap();
    assert_eq!(amounts(&rest), [("L1", "12.30".into(), "2.34".into())]);
    book(&mut lines, &rest);
    assert_eq!(lines[0].credited_tax, lines[0].tax);
}

#[test]
fn a_gross_amount_is_spread_by_what_remains_of_each_line() {
    let lines = invoice();
    let tenth = run(
        &lines,
        &CreditRequest::Amount {
            gross: eur("18.44"),
        },
    )
    .unwrap();
    assert_eq!(
        amounts(&tenth),
        [
            ("L1", "10.00".into(), "1.90".into()),
            ("L2", "5.00".into(), "0.35".into()),
            ("L3", "1.00".into(), "0.19".into())
        ]
    );
    let awkward = run(
        &lines,
        &CreditRequest::Amount {
            gross: eur("100.00"),
        },
    )
    .unwrap();
    assert_eq!(
        amounts(&awkward),
        [
            ("L1", "54.24".into(), "10.30".into()),
            ("L2", "27.11".into(), "1.90".into()),
            ("L3", "5.42".into(), "1.03".into())
        ]
    );
    assert_eq!(
        (awkward.net_total, awkward.tax_total, awkward.gross_total),
        (eur("86.77"), eur("13.23"), eur("100.00"))
    );
    let mut partly = invoice();
    let earlier = run(&partly, &by_quantity("L2", dec!(1))).unwrap();
    book(&mut partly, &earlier);
    let rest = run(
        &partly,
        &CreditRequest::Amount {
            gross: eur("130.90"),
        },
    )
    .unwrap();
    assert_eq!(
        amounts(&rest),
        [
            ("L1", "100.00".into(), "19.00".into()),
            ("L3", "10.00".into(), "1.90".into())
        ]
    );
    let error = run(
        &lines,
        &CreditRequest::Amount {
            gross: eur("184.41"),
        },
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "gross: would exceed what remains creditable: remaining 184.40 EUR"
    );
}

#[test]
fn other_currencies_round_to_their_own_minor_unit() {
    let yen = |amount: &str| Money::parse(amount, "JPY").unwrap();
    let lines = vec![line("J1", dec!(3), yen("1000"), yen("100"), dec!(0.10))];
    let credit = compute_credit(currency("JPY"), &lines, &by_quantity("J1", dec!(1))).unwrap();
    assert_eq!(amounts(&credit), [("J1", "333".into(), "33".into())]);
    let dinar = |amount: &str| Money::parse(amount, "KWD").unwrap();
    let lines = vec![line(
        "K1",
        dec!(3),
        dinar("10.000"),
        dinar("0.500"),
        dec!(0.05),
    )];
    let credit = compute_credit(
        currency("KWD"),
        &lines,
        &CreditRequest::Amount {
            gross: dinar("1.000"),
        },
    )
    .unwrap();
    // 0.500 × 1.000 / 10.500 = 0.047619
    assert_eq!(amounts(&credit), [("K1", "0.952".into(), "0.048".into())]);
}

#[test]
fn refusals_name_the_field() {
    let usd = Money::parse("1.00", "USD").unwrap();
    let line_credit =
        |line_ref: &str, quantity: Option<Decimal>, net_amount: Option<Money>| LineCredit {
            line_ref: line_ref.into(),
            quantity,
            net_amount,
        };
    let mut fully_credited = invoice();
    fully_credited[1].credited_net = eur("50.00");
    fully_credited[1].credited_tax = eur("3.50");
    let mut inconsistent = invoice();
    inconsistent[0].credited_net = eur("100.01");
    let cases: Vec<(Vec<CreditableLine>, CreditRequest, &str)> = vec![
        (
            invoice(),
            by_quantity("L9", dec!(1)),
            "lines[0]: the invoice has no line `L9`",
        ),
        (
            invoice(),
            by_quantity("L1", dec!(0)),
            "line L1 quantity: must be greater than zero, not 0",
        ),
        (
            invoice(),
            by_quantity("L1", dec!(-1)),
            "line L1 quantity: must be greater than zero, not -1",
        ),
        (
            invoice(),
            by_quantity("L1", dec!(3.5)),
            "line L1 quantity: would exceed what remains creditable: remaining 3",
        ),
        (
            invoice(),
            by_quantity("L3", dec!(0.001)),
            "line L3 quantity: 0.001 of the line is worth less than the smallest unit of EUR",
        ),
        (
            invoice(),
            by_net("L1", eur("0.00")),
            "line L1 net_amount: must be greater than zero, not 0.00 EUR",
        ),
        (
            invoice(),
            by_net("L1", eur("-5.00")),
            "line L1 net_amount: must be greater than zero, not -5.00 EUR",
        ),
        (
            invoice(),
            by_net("L1", usd),
            "line L1 net_amount: USD is not the invoice currency EUR",
        ),
        (
            invoice(),
            by_net("L1", eur("100.01")),
            "line L1 net_amount: would exceed what remains creditable: remaining 100.00 EUR",
        ),
        (
            invoice(),
            CreditRequest::Lines(vec![line_credit("L1", Some(dec!(1)), Some(eur("1.00")))]),
            "line L1: give a quantity or a net_amount, not both",
        ),
        (
            invoice(),
            CreditRequest::Lines(vec![line_credit("L1", None, None)]),
            "line L1: give a quantity or a net_amount to credit",
        ),
        (
            invoice(),
            CreditRequest::Lines(vec![
                line_credit("L1", Some(dec!(1)), None),
                line_credit("L1", Some(dec!(1)), None),
            ]),
            "line L1: is requested twice; give it once with the total to credit",
        ),
        (
            invoice(),
            CreditRequest::Lines(Vec::new()),
            "lines: name at least one line to credit",
        ),
        (
            fully_credited.clone(),
            by_quantity("L2", dec!(1)),
            "line L2: nothing left to credit",
        ),
        (
            invoice(),
            CreditRequest::Amount { gross: eur("0.00") },
            "gross: must be greater than zero, not 0.00 EUR",
        ),
        (
            invoice(),
            CreditRequest::Amount { gross: usd },
            "gross: USD is not the invoice currency EUR",
        ),
        (
            inconsistent,
            CreditRequest::Full,
            "invoice line L1 credited_net: is inconsistent with what was invoiced",
        ),
    ];
    for (lines, request, message) in cases {
        assert_eq!(run(&lines, &request).unwrap_err().to_string(), message);
    }
    let mut dollars = invoice();
    dollars[2].tax = Money::parse("1.90", "USD").unwrap();
    assert!(matches!(
        run(&dollars, &CreditRequest::Full),
        Err(CreditError::CurrencyMismatch { .. })
    ));
}

/// One step of a random credit history; amounts are fractions (in ‰) of what
/// remains, so that some steps ask for more than remains.
#[derive(Debug, Clone)]
enum Step {
    Full,
    Amount(u32),
    Quantity(usize, u32),
    Net(usize, u32),
}

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => Just(Step::Full),
        3 => (0u32..1_200).prop_map(Step::Amount),
        4 => (0usize..6, 0u32..1_200).prop_map(|(line, per_mille)| Step::Quantity(line, per_mille)),
        4 => (0usize..6, 0u32..1_200).prop_map(|(line, per_mille)| Step::Net(line, per_mille)),
    ]
}

fn any_invoice() -> impl Strategy<Value = (Currency, Vec<CreditableLine>)> {
    let currency = prop::sample::select(vec!["EUR", "JPY", "KWD"]).prop_map(currency);
    let lines = prop::collection::vec(
        (
            1i64..200,
            any::<bool>(),
            0i64..5_000_000,
            prop::sample::select(vec![dec!(0), dec!(0.07), dec!(0.19), dec!(0.055)]),
        ),
        1..6,
    );
    (currency, lines).prop_map(|(currency, specs)| {
        let lines = specs
            .into_iter()
            .enumerate()
            .map(|(index, (quantity, tenths, minor, rate))| {
                let quantity = if tenths {
                    Decimal::new(quantity, 1)
                } else {
                    Decimal::from(quantity)
                };
                let net =
                    Money::rounded(Decimal::new(minor, currency.minor_units()), currency).unwrap();
                line(
                    &format!("L{index}"),
                    quantity,
                    net,
                    net.times_rounded(rate).unwrap(),
                    rate,
                )
            })
            .collect();
        (currency, lines)
    })
}

fn fraction(value: Decimal, per_mille: u32) -> Decimal {
    value * Decimal::from(per_mille) / Decimal::ONE_THOUSAND
}

fn request_for(step: &Step, currency: Currency, lines: &[CreditableLine]) -> CreditRequest {
    let pick = |index: usize| &lines[index % lines.len()];
    match step {
        Step::Full => CreditRequest::Full,
        Step::Amount(per_mille) => {
            let left: Decimal = lines
                .iter()
                .map(|line| {
                    line.net.amount() + line.tax.amount()
                        - line.credited_net.amount()
                        - line.credited_tax.amount()
                })
                .sum();
            CreditRequest::Amount {
                gross: Money::rounded(fraction(left, *per_mille), currency).unwrap(),
            }
        }
        Step::Quantity(index, per_mille) => {
            let line = pick(*index);
            by_quantity(
                &line.line_ref,
                fraction(line.quantity - line.credited_quantity, *per_mille).round_dp(1),
            )
        }
        Step::Net(index, per_mille) => {
            let line = pick(*index);
            let left = line.net.amount() - line.credited_net.amount();
            by_net(
                &line.line_ref,
                Money::rounded(fraction(left, *per_mille), currency).unwrap(),
            )
        }
    }
}

proptest! {
    #[test]
    fn credits_never_exceed_what_was_invoiced(
        (currency, mut lines) in any_invoice(),
        steps in prop::collection::vec(any_step(), 1..12),
    ) {
        let invoiced_gross: Decimal = lines.iter().map(|line| line.net.amount() + line.tax.amount()).sum();
        for step in steps.iter().chain([Step::Full].iter()) {
            let request = request_for(step, currency, &lines);
            let Ok(credit) = compute_credit(currency, &lines, &request) else {
                continue;
            };
            for credited in &credit.lines {
                prop_assert!(!credited.net.is_negative() && !credited.tax.is_negative());
                prop_assert_eq!(credited.net.checked_add(&credited.tax).unwrap(), credited.gross);
            }
            prop_assert_eq!(Money::sum(currency, credit.lines.iter().map(|line| &line.net)).unwrap(), credit.net_total);
            prop_assert_eq!(Money::sum(currency, credit.lines.iter().map(|line| &line.tax)).unwrap(), credit.tax_total);
            prop_assert_eq!(credit.net_total.checked_add(&credit.tax_total).unwrap(), credit.gross_total);
            if let CreditRequest::Amount { gross } = &request {
                prop_assert_eq!(&credit.gross_total, gross);
            }
            book(&mut lines, &credit);
            for line in &lines {
                prop_assert!(line.credited_net.amount() <= line.net.amount(), "{:?}", line);
                prop_assert!(line.credited_tax.amount() <= line.tax.amount(), "{:?}", line);
                prop_assert!(line.credited_quantity <= line.quantity, "{:?}", line);
            }
        }
        // The closing full credit leaves exactly nothing.
        for line in &lines {
            prop_assert_eq!(line.credited_net, line.net);
            prop_assert_eq!(line.credited_tax, line.tax);
        }
        let credited_gross: Decimal = lines.iter().map(|line| line.credited_net.amount() + line.credited_tax.amount()).sum();
        prop_assert_eq!(credited_gross, invoiced_gross);
    }
}

//! The ECB parser against realistic samples and their broken variants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rust_decimal_macros::dec;

use super::*;

const DAILY: &str = include_str!("../../../tests/data/eurofxref-daily.xml");
/// The `eurofxref-hist-90d.xml` shape, cut to three days.
const HISTORY: &str = include_str!("../../../tests/data/eurofxref-hist-3days.xml");

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn rate_of(rates: &[EcbRate], on: &str, code: &str) -> Decimal {
    rates
        .iter()
        .find(|rate| rate.date == date(on) && rate.currency.code() == code)
        .map(|rate| rate.rate)
        .unwrap()
}

#[test]
fn reads_the_daily_file() {
    let rates = parse_ecb_rates(DAILY).unwrap();
    assert_eq!(rates.len(), 29);
    assert!(rates.iter().all(|rate| rate.date == date("2026-11-20")));
    let codes: HashSet<&str> = rates.iter().map(|rate| rate.currency.code()).collect();
    assert_eq!(codes.len(), 29);
    assert!(!codes.contains("EUR"));
    assert_eq!(
        rates[0],
        EcbRate {
            date: date("2026-11-20"),
            currency: Currency::parse("USD").unwrap(),
            rate: dec!(1.0866)
        }
    );
    // Published precision is kept (GBP has five decimals, IDR two).
    assert_eq!(rate_of(&rates, "2026-11-20", "GBP").to_string(), "0.85710");
    assert_eq!(rate_of(&rates, "2026-11-20", "IDR"), dec!(17853.21));
    assert_eq!(rate_of(&rates, "2026-11-20", "ISK"), dec!(149.90));
}

#[test]
fn reads_several_days_in_file_order() {
    let rates = parse_ecb_rates(HISTORY).unwrap();
    assert_eq!(rates.len(), 3 * 29);
    let mut dates: Vec<NaiveDate> = rates.iter().map(|rate| rate.date).collect();
    dates.dedup();
    assert_eq!(
        dates,
        [date("2026-11-20"), date("2026-11-19"), date("2026-11-18")]
    );
    assert_eq!(rate_of(&rates, "2026-11-20", "USD"), dec!(1.0866));
    assert_eq!(rate_of(&rates, "2026-11-19", "USD"), dec!(1.0853));
    assert_eq!(rate_of(&rates, "2026-11-18", "USD"), dec!(1.0874));
    assert_eq!(rate_of(&rates, "2026-11-18", "JPY"), dec!(162.46));
}

#[test]
fn accepts_double_quotes_and_no_declaration() {
    let xml = r#"<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube><Cube time="2026-11-20"><Cube currency="USD" rate="1.0866"></Cube></Cube><Cube time="2026-11-19"/></Cube></gesmes:Envelope>"#;
    let rates = parse_ecb_rates(xml).unwrap();
    assert_eq!(rates.len(), 1);
    assert_eq!(rates[0].rate, dec!(1.0866));
}

/// (case, file, expected line, element, attribute, problem).
type MalformedCase = (
    &'static str,
    String,
    usize,
    Option<&'static str>,
    Option<&'static str>,
    EcbProblem,
);

/// (case, file, what the problem must be).
type NotRatesCase = (&'static str, String, fn(&EcbProblem) -> bool);

/// The daily sample with one piece of text replaced (the first occurrence).
fn broken(from: &str, to: &str) -> String {
    assert!(DAILY.contains(from), "{from}");
    DAILY.replacen(from, to, 1)
}

#[test]
fn refuses_malformed_files_saying_where_and_why() {
    let usd = "<Cube currency='USD' rate='1.0866'/>";
    let bad_currency = |code: &str| EcbProblem::BadCurrency {
        code: code.into(),
        reason: String::new(),
    };
    // A BadCurrency reason is checked apart.
    let cases: Vec<MalformedCase> = vec![
        (
            "comma rate",
            broken("'1.0866'", "'1,0866'"),
            9,
            Some("Cube"),
            Some("rate"),
            EcbProblem::BadRate("1,0866".into()),
        ),
        (
            "negative rate",
            broken("'1.0866'", "'-1.0866'"),
            9,
            Some("Cube"),
            Some("rate"),
            EcbProblem::BadRate("-1.0866".into()),
        ),
        (
            "zero rate",
            broken("'162.35'", "'0.00'"),
            10,
            Some("Cube"),
            Some("rate"),
            EcbProblem::BadRate("0.00".into()),
        ),
        (
            "empty rate",
            broken("'162.35'", "''"),
            10,
            Some("Cube"),
            Some("rate"),
            EcbProblem::BadRate(String::new()),
        ),
        (
            "exponent rate",
            broken("'162.35'", "'1.6235E2'"),
            10,
            Some("Cube"),
            Some("rate"),
            EcbProblem::BadRate("1.6235E2".into()),
        ),
        (
            "unknown code",
            broken("'USD'", "'XYZ'"),
            9,
            Some("Cube"),
            Some("currency"),
            bad_currency("XYZ"),
        ),
        (
            "withdrawn code",
            broken("'ZAR'", "'CYP'"),
            37,
            Some("Cube"),
            Some("currency"),
            bad_currency("CYP"),
        ),
        (
            "no minor unit",
            broken("'USD'", "'XAU'"),
            9,
            Some("Cube"),
            Some("currency"),
            bad_currency("XAU"),
        ),
        (
            "euro",
            broken("'USD'", "'EUR'"),
            9,
            Some("Cube"),
            Some("currency"),
            bad_currency("EUR"),
        ),
        (
            "bad date",
            broken("2026-11-20", "2026-13-01"),
            8,
            Some("Cube"),
            Some("time"),
            EcbProblem::BadDate("2026-13-01".into()),
        ),
        (
            "german date",
            broken("2026-11-20", "20.11.2026"),
            8,
            Some("Cube"),
            Some("time"),
            EcbProblem::BadDate("20.11.2026".into()),
        ),
        (
            "no rate",
            broken(" rate='1.0866'", ""),
            9,
            Some("Cube"),
            Some("rate"),
            EcbProblem::MissingAttribute,
        ),
        (
            "no currency",
            broken("currency='USD' ", ""),
            9,
            Some("Cube"),
            Some("currency"),
            EcbProblem::MissingAttribute,
        ),
        (
            "no day",
            broken("<Cube time='2026-11-20'>", "<Cube>"),
            9,
            Some("Cube"),
            None,
            EcbProblem::RateOutsideDay,
        ),
        (
            "twice",
            broken(usd, &format!("{usd}\n{usd}")),
            10,
            Some("Cube"),
            Some("currency"),
            EcbProblem::DuplicateRate {
                currency: "USD".into(),
                date: date("2026-11-20"),
            },
        ),
        (
            "date and rate",
            broken(
                "<Cube time='2026-11-20'>",
                "<Cube time='2026-11-20' rate='1'>",
            ),
            8,
            Some("Cube"),
            Some("time"),
            EcbProblem::Unexpected("a dated <Cube> must not carry a currency or rate".into()),
        ),
    ];
    for (case, xml, line, element, attribute, problem) in cases {
        let error = parse_ecb_rates(&xml).unwrap_err();
        assert_eq!(error.line, line, "{case}: {error}");
        assert_eq!(error.element.as_deref(), element, "{case}");
        assert_eq!(error.attribute.as_deref(), attribute, "{case}");
        match (&error.problem, &problem) {
            (
                EcbProblem::BadCurrency { code, .. },
                EcbProblem::BadCurrency { code: expected, .. },
            ) => {
                assert_eq!(code, expected, "{case}");
            }
            _ => assert_eq!(error.problem, problem, "{case}"),
        }
        let offset = usize::try_from(error.offset).unwrap();
        assert!(
            xml[offset..].starts_with('<'),
            "{case}: the offset points at the element"
        );
    }
}

#[test]
fn the_message_tells_a_clerk_what_to_fix() {
    let error = parse_ecb_rates(&broken("'1.0866'", "'1,0866'")).unwrap_err();
    let offset = DAILY.find("<Cube currency='USD'").unwrap();
    assert_eq!(
        error.to_string(),
        format!(
            "ECB reference rates, line 9, column 4 (byte {offset}), element <Cube>, attribute `rate`: \
             `1,0866` is not a positive decimal rate (expected e.g. 1.0866)"
        )
    );
    let gold = parse_ecb_rates(&broken("'USD'", "'XAU'"))
        .unwrap_err()
        .to_string();
    assert!(gold.ends_with("currency `XAU` cannot be imported: XAU has no minor unit (it is not a currency amounts can be kept in)"), "{gold}");
    let withdrawn = parse_ecb_rates(&broken("'USD'", "'CYP'"))
        .unwrap_err()
        .to_string();
    assert!(
        withdrawn
            .ends_with("currency `CYP` cannot be imported: `CYP` is not an ISO 4217 currency code"),
        "{withdrawn}"
    );
}

#[test]
fn refuses_what_is_not_an_ecb_rates_file() {
    let truncated = &DAILY[..DAILY.find("<Cube currency='SEK'").unwrap()];
    let no_rates = "<?xml version=\"1.0\"?>\n<gesmes:Envelope xmlns:gesmes=\"http://www.gesmes.org/xml/2002-08-01\">\n<gesmes:subject>Reference rates</gesmes:subject>\n<Cube>\n<Cube time='2026-11-20'/>\n</Cube>\n</gesmes:Envelope>\n";
    let cases: Vec<NotRatesCase> = vec![
        ("empty", String::new(), |problem| {
            matches!(problem, EcbProblem::NotXml(_))
        }),
        ("json", "{\"error\": \"rate limited\"}".into(), |problem| {
            matches!(problem, EcbProblem::NotXml(_))
        }),
        (
            "html page",
            "<html><body>Service unavailable</body></html>".into(),
            |problem| *problem == EcbProblem::NotEcbRates,
        ),
        (
            "truncated",
            truncated.to_owned(),
            |problem| matches!(problem, EcbProblem::NotXml(reason) if reason.contains("ends inside <Cube>")),
        ),
        (
            "mismatched end tag",
            broken("\t</Cube>\n</gesmes", "\t</Cubes>\n</gesmes"),
            |problem| matches!(problem, EcbProblem::NotXml(_)),
        ),
        (
            "broken attribute",
            broken("rate='1.0866'", "rate=1.0866"),
            |problem| matches!(problem, EcbProblem::NotXml(_)),
        ),
        (
            "two roots",
            format!("{DAILY}\n<gesmes:Envelope/>"),
            |problem| matches!(problem, EcbProblem::NotXml(reason) if reason.contains("after the end of the root")),
        ),
        ("no days", no_rates.to_owned(), |problem| {
            *problem == EcbProblem::NoRates
        }),
        (
            "no cubes",
            no_rates.replace("<Cube>\n<Cube time='2026-11-20'/>\n</Cube>\n", ""),
            |problem| *problem == EcbProblem::NoRates,
        ),
    ];
    for (case, xml, expected) in cases {
        let error = parse_ecb_rates(&xml).unwrap_err();
        assert!(expected(&error.problem), "{case}: {error}");
        assert!(error.line >= 1 && error.column >= 1, "{case}");
    }
}

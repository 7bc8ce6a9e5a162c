//! Payment terms (`NET30`, `EOM15`, `2/10NET30`, ...): the one parser of the
//! suite, and the due date and early-payment discount they give an invoice.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;

use crate::money::{Money, MoneyError};

/// The forms [`PaymentTerms::parse`] accepts, for error messages.
pub const ACCEPTED_FORMS: &str = "NETn (e.g. NET30, NET0), EOM, EOMn (e.g. EOM15), \
     d/nNETm (e.g. 2/10NET30, 1.5/15NET45), DUE_ON_RECEIPT";

/// Day counts have at most three digits: nobody grants terms beyond 999 days,
/// and the bound keeps every date computation far from chrono's limits.
const MAX_DAY_DIGITS: usize = 3;
/// A discount percentage has at most two digits before and after the point.
const MAX_PERCENT_DIGITS: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    #[error("`{code}` is not a payment terms code (accepted: {ACCEPTED_FORMS})")]
    Invalid { code: String },
}

/// How long a customer has to pay, as agreed in the customer master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentTerms {
    /// `DUE_ON_RECEIPT`: due on the issue date.
    DueOnReceipt,
    /// `NETn`: due `days` after the issue date.
    Net { days: u16 },
    /// `EOM` / `EOMn`: due `days_after` days after the end of the issue month.
    EndOfMonth { days_after: u16 },
    /// `d/nNETm`: `percent`% off if paid within `discount_days`, otherwise due
    /// after `net_days`.
    EarlyPaymentDiscount {
        percent: Decimal,
        discount_days: u16,
        net_days: u16,
    },
}

/// What the terms give one invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsSchedule {
    pub due_date: NaiveDate,
    pub discount_date: Option<NaiveDate>,
    pub discount_amount: Option<Money>,
}

impl PaymentTerms {
    /// Parses a code exactly as stored (upper case, no spaces); callers that
    /// take user input normalise it first, as the order service does.
    pub fn parse(code: &str) -> Result<Self, TermsError> {
        Self::parse_known(code).ok_or_else(|| TermsError::Invalid {
            code: code.to_owned(),
        })
    }

    fn parse_known(code: &str) -> Option<Self> {
        if code == "DUE_ON_RECEIPT" {
            return Some(Self::DueOnReceipt);
        }
        if code == "EOM" {
            return Some(Self::EndOfMonth { days_after: 0 });
        }
        if let Some(days) = code.strip_prefix("NET") {
            return day_count(days).map(|days| Self::Net { days });
        }
        if let Some(days) = code.strip_prefix("EOM") {
            return day_count(days).map(|days_after| Self::EndOfMonth { days_after });
        }
        let (percent, rest) = code.split_once('/')?;
        let (discount_days, net_days) = rest.split_once("NET")?;
        Some(Self::EarlyPaymentDiscount {
            percent: discount_percent(percent)?,
            discount_days: day_count(discount_days)?,
            net_days: day_count(net_days)?,
        })
    }

    /// The canonical code (`NET030` parses, and reads back as `NET30`).
    pub fn code(&self) -> String {
        match self {
            Self::DueOnReceipt => "DUE_ON_RECEIPT".to_owned(),
            Self::Net { days } => format!("NET{days}"),
            Self::EndOfMonth { days_after: 0 } => "EOM".to_owned(),
            Self::EndOfMonth { days_after } => format!("EOM{days_after}"),
            Self::EarlyPaymentDiscount {
                percent,
                discount_days,
                net_days,
            } => format!("{}/{discount_days}NET{net_days}", percent.normalize()),
        }
    }

    /// The terms in words, as printed on an invoice.
    pub fn describe(&self) -> String {
        match self {
            Self::DueOnReceipt => "due on receipt".to_owned(),
            Self::Net { days: 0 } => "net 0 days (due on the invoice date)".to_owned(),
            Self::Net { days } => format!("net {}", day_phrase(*days)),
            Self::EndOfMonth { days_after: 0 } => "due at the end of the invoice month".to_owned(),
            Self::EndOfMonth { days_after } => format!(
                "due {} after the end of the invoice month",
                day_phrase(*days_after)
            ),
            Self::EarlyPaymentDiscount {
                percent,
                discount_days,
                net_days,
            } => format!(
                "{}% discount if paid within {}, net {}",
                percent.normalize(),
                day_phrase(*discount_days),
                day_phrase(*net_days)
            ),
        }
    }

    /// The due date, and for discount terms the last day the discount may be
    /// taken and its amount (`total × d / 100`, half-even to the minor unit).
    pub fn schedule(
        &self,
        issue_date: NaiveDate,
        total: &Money,
    ) -> Result<TermsSchedule, MoneyError> {
        match self {
            Self::DueOnReceipt => Ok(TermsSchedule {
                due_date: issue_date,
                discount_date: None,
                discount_amount: None,
            }),
            Self::Net { days } => Ok(TermsSchedule {
                due_date: add_days(issue_date, *days)?,
                discount_date: None,
                discount_amount: None,
            }),
            Self::EndOfMonth { days_after } => Ok(TermsSchedule {
                due_date: add_days(last_day_of_month(issue_date)?, *days_after)?,
                discount_date: None,
                discount_amount: None,
            }),
            Self::EarlyPaymentDiscount {
                percent,
                discount_days,
                net_days,
            } => Ok(TermsSchedule {
                due_date: add_days(issue_date, *net_days)?,
                discount_date: Some(add_days(issue_date, *discount_days)?),
                discount_amount: Some(total.times_rounded(*percent / Decimal::ONE_HUNDRED)?),
            }),
        }
    }
}

impl fmt::Display for PaymentTerms {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.code())
    }
}

impl std::str::FromStr for PaymentTerms {
    type Err = TermsError;
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::parse(code)
    }
}

fn all_digits(text: &str, max_digits: usize) -> bool {
    !text.is_empty() && text.len() <= max_digits && text.bytes().all(|byte| byte.is_ascii_digit())
}

fn day_count(text: &str) -> Option<u16> {
    if !all_digits(text, MAX_DAY_DIGITS) {
        return None;
    }
    text.parse().ok()
}

/// `2`, `1.5`, `12.25`: up to two digits either side of an optional point.
fn discount_percent(text: &str) -> Option<Decimal> {
    let well_formed = match text.split_once('.') {
        Some((whole, fraction)) => {
            all_digits(whole, MAX_PERCENT_DIGITS) && all_digits(fraction, MAX_PERCENT_DIGITS)
        }
        None => all_digits(text, MAX_PERCENT_DIGITS),
    };
    if !well_formed {
        return None;
    }
    text.parse().ok()
}

fn day_phrase(days: u16) -> String {
    if days == 1 {
        "1 day".to_owned()
    } else {
        format!("{days} days")
    }
}

/// Only reachable near chrono's last representable date; reported rather than
/// clamped so that no invoice ever gets a made-up due date.
fn date_out_of_range(date: NaiveDate, days: u16) -> MoneyError {
    MoneyError::OutOfRange {
        value: format!("{date} + {days} days"),
    }
}

fn add_days(date: NaiveDate, days: u16) -> Result<NaiveDate, MoneyError> {
    date.checked_add_days(Days::new(u64::from(days)))
        .ok_or_else(|| date_out_of_range(date, days))
}

fn last_day_of_month(date: NaiveDate) -> Result<NaiveDate, MoneyError> {
    let first_of_next = if date.month() == 12 {
        NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
    };
    first_of_next
        .and_then(|first| first.pred_opt())
        .ok_or_else(|| date_out_of_range(date, 0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::Currency;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn eur(amount: &str) -> Money {
        Money::parse(amount, "EUR").unwrap()
    }

    #[test]
    fn parses_every_form_the_order_service_accepts() {
        let cases = [
            ("NET30", PaymentTerms::Net { days: 30 }),
            ("NET0", PaymentTerms::Net { days: 0 }),
            ("EOM", PaymentTerms::EndOfMonth { days_after: 0 }),
            ("EOM15", PaymentTerms::EndOfMonth { days_after: 15 }),
            (
                "2/10NET30",
                PaymentTerms::EarlyPaymentDiscount {
                    percent: dec!(2),
                    discount_days: 10,
                    net_days: 30,
                },
            ),
            (
                "1.5/15NET45",
                PaymentTerms::EarlyPaymentDiscount {
                    percent: dec!(1.5),
                    discount_days: 15,
                    net_days: 45,
                },
            ),
            ("DUE_ON_RECEIPT", PaymentTerms::DueOnReceipt),
        ];
        for (code, expected) in cases {
            let terms = PaymentTerms::parse(code).unwrap();
            assert_eq!(terms, expected, "{code}");
            assert_eq!(terms.code(), code, "{code} reads back unchanged");
            assert_eq!(code.parse::<PaymentTerms>().unwrap(), expected);
        }
    }

    #[test]
    fn codes_read_back_in_canonical_form() {
        assert_eq!(PaymentTerms::parse("NET030").unwrap().code(), "NET30");
        assert_eq!(PaymentTerms::parse("EOM0").unwrap().code(), "EOM");
        assert_eq!(
            PaymentTerms::parse("1.50/5NET20").unwrap().code(),
            "1.5/5NET20"
        );
        assert_eq!(
            PaymentTerms::parse("12.25/999NET999").unwrap().code(),
            "12.25/999NET999"
        );
    }

    #[test]
    fn rejects_malformed_codes_naming_the_code_and_the_accepted_forms() {
        for bad in [
            "",
            "NET",
            "30",
            "NET30D",
            "2/NET30",
            "EOMX",
            "net30",
            " NET30",
            "NET1000",
            "EOM1000",
            "NET-5",
            "NET+5",
            "2/10NET",
            "/10NET30",
            "123/10NET30",
            "1.555/10NET30",
            "1./10NET30",
            ".5/10NET30",
            "2/10NET30/5",
            "2/10EOM30",
            "DUE ON RECEIPT",
            "2,5/10NET30",
        ] {
            let error = PaymentTerms::parse(bad).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(&format!("`{bad}`")), "{message}");
            assert!(
                message.contains("2/10NET30") && message.contains("DUE_ON_RECEIPT"),
                "{message}"
            );
        }
    }

    #[test]
    fn describes_terms_in_words() {
        let cases = [
            (
                "2/10NET30",
                "2% discount if paid within 10 days, net 30 days",
            ),
            (
                "1.5/15NET45",
                "1.5% discount if paid within 15 days, net 45 days",
            ),
            ("3/1NET1", "3% discount if paid within 1 day, net 1 day"),
            ("NET30", "net 30 days"),
            ("NET0", "net 0 days (due on the invoice date)"),
            ("EOM", "due at the end of the invoice month"),
            ("EOM15", "due 15 days after the end of the invoice month"),
            ("DUE_ON_RECEIPT", "due on receipt"),
        ];
        for (code, text) in cases {
            assert_eq!(
                PaymentTerms::parse(code).unwrap().describe(),
                text,
                "{code}"
            );
        }
    }

    #[test]
    fn due_dates() {
        let total = eur("1000.00");
        let cases = [
            ("NET30", "2026-01-15", "2026-02-14"),
            ("NET0", "2026-01-15", "2026-01-15"),
            ("NET30", "2026-12-15", "2027-01-14"),
            ("NET60", "2024-01-31", "2024-03-31"),
            ("DUE_ON_RECEIPT", "2026-03-31", "2026-03-31"),
            ("EOM", "2026-01-01", "2026-01-31"),
            ("EOM", "2026-04-30", "2026-04-30"),
            ("EOM", "2026-12-03", "2026-12-31"),
            ("EOM", "2024-02-10", "2024-02-29"),
            ("EOM", "2026-02-10", "2026-02-28"),
            ("EOM", "2000-02-01", "2000-02-29"),
            ("EOM", "2100-02-01", "2100-02-28"),
            ("EOM15", "2026-01-20", "2026-02-15"),
            ("EOM15", "2026-12-31", "2027-01-15"),
            ("EOM1", "2024-02-29", "2024-03-01"),
            ("EOM10", "2024-01-31", "2024-02-10"),
            ("EOM30", "2024-01-05", "2024-03-01"),
            ("EOM30", "2025-01-05", "2025-03-02"),
        ];
        for (code, issue, due) in cases {
            let schedule = PaymentTerms::parse(code)
                .unwrap()
                .schedule(date(issue), &total)
                .unwrap();
            assert_eq!(schedule.due_date, date(due), "{code} issued {issue}");
            assert_eq!(schedule.discount_date, None);
            assert_eq!(schedule.discount_amount, None);
        }
    }

    #[test]
    fn early_payment_discount_schedule() {
        let terms = PaymentTerms::parse("2/10NET30").unwrap();
        let schedule = terms.schedule(date("2026-12-25"), &eur("1234.56")).unwrap();
        assert_eq!(
            schedule,
            TermsSchedule {
                due_date: date("2027-01-24"),
                discount_date: Some(date("2027-01-04")),
                discount_amount: Some(eur("24.69")),
            }
        );
    }

    #[test]
    fn discount_rounds_half_even_to_the_minor_unit() {
        let cases = [
            // 1.5% of 100.50 = 1.5075 -> 1.51
            ("1.5/15NET45", "100.50", "EUR", "1.51"),
            // 2% of 0.25 = 0.005 -> 0.00 (half to even)
            ("2/10NET30", "0.25", "EUR", "0.00"),
            // 2% of 0.75 = 0.015 -> 0.02 (half to even)
            ("2/10NET30", "0.75", "EUR", "0.02"),
            // 2% of 1025 JPY = 20.5 -> 20
            ("2/10NET30", "1025", "JPY", "20"),
            // 2% of 1075 JPY = 21.5 -> 22
            ("2/10NET30", "1075", "JPY", "22"),
            // 1.5% of 10.333 KWD = 0.154995 -> 0.155
            ("1.5/15NET45", "10.333", "KWD", "0.155"),
            // a credit total gives a negative discount
            ("2/10NET30", "-50.00", "EUR", "-1.00"),
        ];
        for (code, total, currency, discount) in cases {
            let total = Money::parse(total, currency).unwrap();
            let schedule = PaymentTerms::parse(code)
                .unwrap()
                .schedule(date("2026-06-01"), &total)
                .unwrap();
            assert_eq!(
                schedule.discount_amount,
                Some(Money::parse(discount, currency).unwrap()),
                "{code} of {total}"
            );
            assert_eq!(
                schedule.discount_amount.map(|amount| amount.currency()),
                Some(Currency::parse(currency).unwrap())
            );
        }
    }

    #[test]
    fn dates_beyond_the_calendar_are_errors_not_panics() {
        let terms = PaymentTerms::parse("NET999").unwrap();
        assert!(terms.schedule(NaiveDate::MAX, &eur("1.00")).is_err());
        let end_of_month = PaymentTerms::parse("EOM").unwrap();
        assert!(end_of_month.schedule(NaiveDate::MAX, &eur("1.00")).is_err());
    }
}

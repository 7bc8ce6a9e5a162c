//! A customer statement for a date range, per currency: the opening
//! balance (posted movements dated before the range), the movements in the
//! range with a running balance, the closing balance, and the aging of what
//! each item still has open at the end date. Pure: the store reads the
//! rows, this adds them up, so that opening + movements = closing and
//! closing = the sum of the aging buckets hold by construction and by test.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// A posted movement dated inside the range, with its item's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementMovement {
    pub id: Uuid,
    pub item_id: Uuid,
    pub item_number: String,
    pub kind: String,
    pub document_id: Uuid,
    pub currency: String,
    /// Signed: positive raises what is owed.
    pub amount: Decimal,
    pub functional_currency: Option<String>,
    pub functional_amount: Option<Decimal>,
    pub occurred_at: DateTime<Utc>,
}

/// The posted movements of one currency dated before the range, summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    pub currency: String,
    pub amount: Decimal,
    /// The functional sum, when every one of them had a functional amount
    /// in one and the same functional currency.
    pub functional: Option<(Decimal, String)>,
}

/// What one item has open at the end date (its movements up to then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPosition {
    pub item_id: Uuid,
    pub currency: String,
    pub due_date: NaiveDate,
    pub open: Decimal,
}

/// Days past due, in the buckets finance teams age receivables by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgingBucket {
    NotDue,
    Days1To30,
    Days31To60,
    Days61To90,
    Over90,
}

impl AgingBucket {
    /// The bucket of an item due on `due_date`, seen on `at`.
    pub fn of(due_date: NaiveDate, at: NaiveDate) -> Self {
        let days_past_due = (at - due_date).num_days();
        match days_past_due {
            ..=0 => Self::NotDue,
            1..=30 => Self::Days1To30,
            31..=60 => Self::Days31To60,
            61..=90 => Self::Days61To90,
            _ => Self::Over90,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aging {
    pub not_due: Decimal,
    pub days_1_30: Decimal,
    pub days_31_60: Decimal,
    pub days_61_90: Decimal,
    pub over_90: Decimal,
}

impl Aging {
    fn add(&mut self, bucket: AgingBucket, amount: Decimal) {
        let slot = match bucket {
            AgingBucket::NotDue => &mut self.not_due,
            AgingBucket::Days1To30 => &mut self.days_1_30,
            AgingBucket::Days31To60 => &mut self.days_31_60,
            AgingBucket::Days61To90 => &mut self.days_61_90,
            AgingBucket::Over90 => &mut self.over_90,
        };
        *slot += amount;
    }

    pub fn total(&self) -> Decimal {
        self.not_due + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.over_90
    }
}

/// A running functional-currency sum: known while every amount added had
/// one in the same functional currency.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FunctionalSum {
    Empty,
    Known(Decimal, String),
    Unknown,
}

impl FunctionalSum {
    fn add(self, amount: Option<(Decimal, &str)>) -> Self {
        match (self, amount) {
            (Self::Empty, Some((value, currency))) => Self::Known(value, currency.to_owned()),
            (Self::Known(sum, currency), Some((value, code))) if currency == code => {
                Self::Known(sum + value, currency)
            }
            _ => Self::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub movement: StatementMovement,
    /// The balance after this line.
    pub balance: Decimal,
}

impl StatementLine {
    /// What raises the balance (zero for a line that lowers it).
    pub fn debit(&self) -> Decimal {
        self.movement.amount.max(Decimal::ZERO)
    }

    /// What lowers the balance, as a positive amount.
    pub fn credit(&self) -> Decimal {
        (-self.movement.amount).max(Decimal::ZERO)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyStatement {
    pub currency: String,
    pub opening: Decimal,
    pub lines: Vec<StatementLine>,
    pub debits: Decimal,
    pub credits: Decimal,
    pub closing: Decimal,
    pub functional_opening: Option<(Decimal, String)>,
    pub functional_closing: Option<(Decimal, String)>,
    pub aging: Aging,
}

/// Builds the statement of every currency that has an opening balance, a
/// movement in the range or something open at `to_date`, in currency
/// order. `movements` must be in date order (ties in id order).
pub fn build(
    openings: &[Opening],
    movements: Vec<StatementMovement>,
    positions: &[ItemPosition],
    to_date: NaiveDate,
) -> Vec<CurrencyStatement> {
    let mut currencies: Vec<String> = openings
        .iter()
        .map(|opening| opening.currency.clone())
        .chain(movements.iter().map(|movement| movement.currency.clone()))
        .chain(positions.iter().map(|position| position.currency.clone()))
        .collect();
    currencies.sort();
    currencies.dedup();
    currencies
        .into_iter()
        .map(|currency| {
            let opening = openings.iter().find(|row| row.currency == currency);
            let in_currency: Vec<StatementMovement> = movements
                .iter()
                .filter(|movement| movement.currency == currency)
                .cloned()
                .collect();
            let items: Vec<&ItemPosition> = positions
                .iter()
                .filter(|position| position.currency == currency)
                .collect();
            one_currency(currency, opening, in_currency, &items, to_date)
        })
        .collect()
}

fn one_currency(
    currency: String,
    opening: Option<&Opening>,
    movements: Vec<StatementMovement>,
    items: &[&ItemPosition],
    to_date: NaiveDate,
) -> CurrencyStatement {
    let opening_amount = opening.map_or(Decimal::ZERO, |row| row.amount);
    let mut functional = match opening {
        None => FunctionalSum::Empty,
        Some(Opening {
            functional: Some((amount, code)),
            ..
        }) => FunctionalSum::Known(*amount, code.clone()),
        Some(_) => FunctionalSum::Unknown,
    };
    let functional_at_opening = functional.clone();
    let mut balance = opening_amount;
    let mut lines = Vec::with_capacity(movements.len());
    for movement in movements {
        balance += movement.amount;
        functional = functional.add(
            movement
                .functional_amount
                .zip(movement.functional_currency.as_deref()),
        );
        lines.push(StatementLine { movement, balance });
    }
    let debits = lines.iter().map(StatementLine::debit).sum();
    let credits = lines.iter().map(StatementLine::credit).sum();
    let mut aging = Aging::default();
    for item in items {
        aging.add(AgingBucket::of(item.due_date, to_date), item.open);
    }
    let functional_closing = match &functional {
        FunctionalSum::Known(amount, code) => Some((*amount, code.clone())),
        _ => None,
    };
    let functional_opening = match (functional_at_opening, &functional_closing) {
        (FunctionalSum::Known(amount, code), Some(_)) => Some((amount, code)),
        // Nothing before the range: the functional opening is zero in the
        // currency the range's movements are in.
        (FunctionalSum::Empty, Some((_, code))) => Some((Decimal::ZERO, code.clone())),
        _ => None,
    };
    CurrencyStatement {
        currency,
        opening: opening_amount,
        lines,
        debits,
        credits,
        closing: balance,
        functional_opening,
        functional_closing,
        aging,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn movement(
        kind: &str,
        amount: Decimal,
        day: u32,
        functional: Option<Decimal>,
    ) -> StatementMovement {
        StatementMovement {
            id: Uuid::now_v7(),
            item_id: Uuid::nil(),
            item_number: "INV-1".to_owned(),
            kind: kind.to_owned(),
            document_id: Uuid::now_v7(),
            currency: "USD".to_owned(),
            amount,
            functional_currency: functional.map(|_| "EUR".to_owned()),
            functional_amount: functional,
            occurred_at: Utc.with_ymd_and_hms(2026, 3, day, 10, 0, 0).unwrap(),
        }
    }

    fn position(currency: &str, due: &str, open: Decimal) -> ItemPosition {
        ItemPosition {
            item_id: Uuid::now_v7(),
            currency: currency.to_owned(),
            due_date: date(due),
            open,
        }
    }

    #[test]
    fn buckets_count_days_past_due_at_the_end_date() {
        let at = date("2026-03-31");
        assert_eq!(AgingBucket::of(date("2026-04-10"), at), AgingBucket::NotDue);
        assert_eq!(AgingBucket::of(at, at), AgingBucket::NotDue);
        assert_eq!(
            AgingBucket::of(date("2026-03-30"), at),
            AgingBucket::Days1To30
        );
        assert_eq!(
            AgingBucket::of(date("2026-03-01"), at),
            AgingBucket::Days1To30
        );
        assert_eq!(
            AgingBucket::of(date("2026-02-28"), at),
            AgingBucket::Days31To60
        );
        assert_eq!(
            AgingBucket::of(date("2026-01-30"), at),
            AgingBucket::Days31To60
        );
        assert_eq!(
            AgingBucket::of(date("2026-01-29"), at),
            AgingBucket::Days61To90
        );
        assert_eq!(
            AgingBucket::of(date("2025-12-31"), at),
            AgingBucket::Days61To90
        );
        assert_eq!(AgingBucket::of(date("2025-12-30"), at), AgingBucket::Over90);
    }

    #[test]
    fn opening_plus_movements_is_closing_and_the_aging_adds_up_to_it() {
        let openings = [Opening {
            currency: "USD".to_owned(),
            amount: dec!(100.00),
            functional: Some((dec!(91.37), "EUR".to_owned())),
        }];
        let movements = vec![
            movement("invoice", dec!(250.00), 3, Some(dec!(230.00))),
            movement("cash_applied", dec!(-100.00), 5, Some(dec!(-91.37))),
            movement("credit_note", dec!(-50.00), 9, Some(dec!(-46.00))),
        ];
        let positions = [
            position("USD", "2026-04-15", dec!(150.00)),
            position("USD", "2026-01-15", dec!(50.00)),
        ];
        let statements = build(&openings, movements, &positions, date("2026-03-31"));
        assert_eq!(statements.len(), 1);
        let usd = &statements[0];
        assert_eq!(usd.opening, dec!(100.00));
        let balances: Vec<Decimal> = usd.lines.iter().map(|line| line.balance).collect();
        assert_eq!(balances, vec![dec!(350.00), dec!(250.00), dec!(200.00)]);
        assert_eq!(usd.debits, dec!(250.00));
        assert_eq!(usd.credits, dec!(150.00));
        assert_eq!(usd.closing, usd.opening + usd.debits - usd.credits);
        assert_eq!(usd.aging.not_due, dec!(150.00));
        assert_eq!(usd.aging.days_61_90, dec!(50.00));
        assert_eq!(usd.aging.total(), usd.closing);
        assert_eq!(
            usd.functional_opening,
            Some((dec!(91.37), "EUR".to_owned()))
        );
        assert_eq!(
            usd.functional_closing,
            Some((dec!(184.00), "EUR".to_owned()))
        );
    }

    #[test]
    fn a_movement_without_a_functional_amount_makes_the_functional_figures_unknown() {
        let movements = vec![
            movement("invoice", dec!(10), 3, Some(dec!(9))),
            movement("invoice", dec!(10), 4, None),
        ];
        let statements = build(&[], movements, &[], date("2026-03-31"));
        assert_eq!(statements[0].functional_opening, None);
        assert_eq!(statements[0].functional_closing, None);
        let only_known = build(
            &[],
            vec![movement("invoice", dec!(10), 3, Some(dec!(9)))],
            &[],
            date("2026-03-31"),
        );
        assert_eq!(
            only_known[0].functional_opening,
            Some((Decimal::ZERO, "EUR".to_owned()))
        );
    }

    #[test]
    fn each_currency_has_its_own_statement_even_with_only_an_opening_balance() {
        let openings = [Opening {
            currency: "EUR".to_owned(),
            amount: dec!(-20),
            functional: None,
        }];
        let positions = [position("EUR", "2025-12-01", dec!(-20))];
        let statements = build(
            &openings,
            vec![movement("invoice", dec!(5), 2, None)],
            &positions,
            date("2026-03-31"),
        );
        let codes: Vec<&str> = statements.iter().map(|row| row.currency.as_str()).collect();
        assert_eq!(codes, vec!["EUR", "USD"]);
        assert_eq!(statements[0].closing, dec!(-20));
        assert_eq!(statements[0].aging.over_90, dec!(-20));
        assert!(statements[0].lines.is_empty());
        // USD has a movement but nothing open at the end date in the input.
        assert_eq!(statements[1].closing, dec!(5));
    }
}

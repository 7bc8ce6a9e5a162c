//! Dunning rules: which level an item has reached, which items a run
//! skips, how a run's items become notices (one per customer, currency and
//! level), and the fee and interest a notice states.
//!
//! An item's level only moves up: a run dunns an item at the highest level
//! its age has reached when that level is above the last one it was sent,
//! so no level is ever sent twice for one item, and an item first seen late
//! (a new strategy, a run missed for days) gets the level it is at rather
//! than every level it passed.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use otc_shared::money::{Currency, Money};
use otc_shared::violations::Violations;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Most levels a strategy may have.
pub const MAX_LEVELS: usize = 20;
/// Days in the interest year (simple interest, actual days / 365).
const INTEREST_YEAR_DAYS: i64 = 365;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Email,
    Webhook,
    Letter,
}

impl Channel {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "email" => Some(Self::Email),
            "webhook" => Some(Self::Webhook),
            "letter" => Some(Self::Letter),
            _ => None,
        }
    }

    /// The column value (`email`, `webhook`, `letter`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
            Self::Letter => "letter",
        }
    }
}

/// A flat fee stated on notices in its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    pub amount: Decimal,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// 1, 2, ... in the order the levels fire.
    pub level: i32,
    /// Days past the due date it fires at; negative is before the due date.
    pub days_after_due: i32,
    pub channel: Channel,
    /// Empty: the built-in text (see [`super::dunning_text`]).
    pub subject_template: String,
    pub body_template: String,
    pub fee: Option<Fee>,
    /// Percent per year, simple interest on each overdue item.
    pub interest_rate: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strategy {
    pub id: Uuid,
    /// '' is the tenant's default.
    pub segment: String,
    pub name: String,
    pub version: i64,
    /// In level order.
    pub levels: Vec<Level>,
}

impl Strategy {
    /// The level an item `days_overdue` days past due has reached, if it is
    /// above `last_level` (the highest it was sent so far, 0 for none).
    pub fn due_level(&self, days_overdue: i64, last_level: i32) -> Option<&Level> {
        self.levels
            .iter()
            .rev()
            .find(|level| i64::from(level.days_after_due) <= days_overdue)
            .filter(|level| level.level > last_level)
    }
}

/// Checks levels as a strategy will hold them (numbered 1..n in order,
/// firing on strictly later days, valid fee currency, positive rates); each
/// problem names its field, e.g. `levels[2].days_after_due`.
pub fn validate_levels(levels: &[Level], violations: &mut Violations) {
    if levels.is_empty() {
        violations.add("levels", "a strategy needs at least one level");
    }
    if levels.len() > MAX_LEVELS {
        violations.add("levels", format!("at most {MAX_LEVELS} levels"));
    }
    let mut previous_days: Option<i32> = None;
    for (index, level) in levels.iter().enumerate() {
        let field = |name: &str| format!("levels[{index}].{name}");
        let expected = i32::try_from(index).unwrap_or(i32::MAX).saturating_add(1);
        if level.level != expected {
            violations.add(
                &field("level"),
                format!(
                    "levels are numbered 1, 2, ... in order; expected {expected}, got {}",
                    level.level
                ),
            );
        }
        if !(-365..=3650).contains(&level.days_after_due) {
            violations.add(&field("days_after_due"), "must be between -365 and 3650");
        }
        if let Some(previous) = previous_days
            && level.days_after_due <= previous
        {
            violations.add(
                &field("days_after_due"),
                format!(
                    "must be later than the previous level's ({previous}); got {}",
                    level.days_after_due
                ),
            );
        }
        previous_days = Some(level.days_after_due);
        if let Some(fee) = &level.fee {
            if fee.amount <= Decimal::ZERO {
                violations.add(&field("fee.amount.amount"), "must be positive");
            }
            match Currency::parse(&fee.currency) {
                Ok(currency) if fee.amount.scale() > currency.minor_units() => violations.add(
                    &field("fee.amount.amount"),
                    format!(
                        "{} has more decimals than {} allows ({})",
                        fee.amount,
                        currency.code(),
                        currency.minor_units()
                    ),
                ),
                Ok(_) => {}
                Err(error) => violations.add(&field("fee.amount.currency_code"), error.to_string()),
            }
        }
        if let Some(rate) = level.interest_rate
            && (rate <= Decimal::ZERO || rate > Decimal::ONE_HUNDRED)
        {
            violations.add(
                &field("interest_rate"),
                "must be above 0 and at most 100 (percent per year)",
            );
        }
    }
}

/// An open item as a run sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub item_id: Uuid,
    pub customer_id: Uuid,
    pub number: String,
    pub currency: String,
    pub open_amount: Decimal,
    pub due_date: NaiveDate,
    /// The customer's segment strategy, else the tenant default; None: the
    /// customer is not dunned.
    pub strategy_id: Option<Uuid>,
    /// The highest level sent for the item so far (0: none).
    pub last_level: i32,
    /// An open dispute covers the item.
    pub disputed: bool,
    /// An open (not kept, not broken) promise to pay covers it.
    pub promised: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedItem {
    pub item_id: Uuid,
    pub number: String,
    pub due_date: NaiveDate,
    pub days_overdue: i32,
    pub open_amount: Decimal,
    pub interest_amount: Decimal,
}

/// One notice to generate: a customer's items in one currency that reached
/// one level of their strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNotice {
    pub customer_id: Uuid,
    pub strategy_id: Uuid,
    pub level: Level,
    pub currency: String,
    pub items: Vec<PlannedItem>,
    /// The items' open amounts.
    pub overdue_amount: Decimal,
    pub fee_amount: Decimal,
    pub interest_amount: Decimal,
    /// Overdue + fee + interest.
    pub total_due: Decimal,
}

/// What a run did with the items it looked at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub considered: i64,
    pub skipped_disputed: i64,
    pub skipped_promised: i64,
    pub dunned: i64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.considered = self.considered.saturating_add(other.considered);
        self.skipped_disputed = self.skipped_disputed.saturating_add(other.skipped_disputed);
        self.skipped_promised = self.skipped_promised.saturating_add(other.skipped_promised);
        self.dunned = self.dunned.saturating_add(other.dunned);
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("item {item_id}: currency `{currency}` is not ISO 4217")]
    Currency { item_id: Uuid, currency: String },
    #[error("item {item_id}: an amount is out of range")]
    OutOfRange { item_id: Uuid },
}

/// Groups the items due a level into notices (ordered by customer,
/// currency, level), skipping disputed and promised items and items of
/// customers without a strategy.
pub fn plan(
    candidates: &[Candidate],
    strategies: &BTreeMap<Uuid, Strategy>,
    as_of: NaiveDate,
) -> Result<(Vec<PlannedNotice>, Tally), PlanError> {
    let mut tally = Tally::default();
    let mut grouped: BTreeMap<(Uuid, String, i32), PlannedNotice> = BTreeMap::new();
    for candidate in candidates {
        tally.considered = tally.considered.saturating_add(1);
        if candidate.open_amount <= Decimal::ZERO {
            continue;
        }
        let Some(strategy) = candidate.strategy_id.and_then(|id| strategies.get(&id)) else {
            continue;
        };
        let days_overdue = (as_of - candidate.due_date).num_days();
        let Some(level) = strategy.due_level(days_overdue, candidate.last_level) else {
            continue;
        };
        // Checked after the level: an item not due anything is not "skipped".
        if candidate.disputed {
            tally.skipped_disputed = tally.skipped_disputed.saturating_add(1);
            continue;
        }
        if candidate.promised {
            tally.skipped_promised = tally.skipped_promised.saturating_add(1);
            continue;
        }
        let currency = Currency::parse(&candidate.currency).map_err(|_| PlanError::Currency {
            item_id: candidate.item_id,
            currency: candidate.currency.clone(),
        })?;
        let interest = match level.interest_rate {
            Some(rate) if days_overdue > 0 => {
                interest_on(candidate.open_amount, rate, days_overdue, currency).ok_or(
                    PlanError::OutOfRange {
                        item_id: candidate.item_id,
                    },
                )?
            }
            _ => Decimal::ZERO,
        };
        let notice = grouped
            .entry((
                candidate.customer_id,
                currency.code().to_owned(),
                level.level,
            ))
            .or_insert_with(|| PlannedNotice {
                customer_id: candidate.customer_id,
                strategy_id: strategy.id,
                level: level.clone(),
                currency: currency.code().to_owned(),
                items: Vec::new(),
                overdue_amount: Decimal::ZERO,
                fee_amount: level
                    .fee
                    .as_ref()
                    .filter(|fee| fee.currency == currency.code())
                    .map_or(Decimal::ZERO, |fee| fee.amount),
                interest_amount: Decimal::ZERO,
                total_due: Decimal::ZERO,
            });
        let out_of_range = || PlanError::OutOfRange {
            item_id: candidate.item_id,
        };
        notice.overdue_amount = notice
            .overdue_amount
            .checked_add(candidate.open_amount)
            .ok_or_else(out_of_range)?;
        notice.interest_amount = notice
            .interest_amount
            .checked_add(interest)
            .ok_or_else(out_of_range)?;
        notice.items.push(PlannedItem {
            item_id: candidate.item_id,
            number: candidate.number.clone(),
            due_date: candidate.due_date,
            days_overdue: i32::try_from(days_overdue).map_err(|_| out_of_range())?,
            open_amount: candidate.open_amount,
            interest_amount: interest,
        });
        tally.dunned = tally.dunned.saturating_add(1);
    }
    let mut notices: Vec<PlannedNotice> = grouped.into_values().collect();
    for notice in &mut notices {
        notice.items.sort_by(|left, right| {
            (left.due_date, &left.number).cmp(&(right.due_date, &right.number))
        });
        notice.total_due = notice
            .overdue_amount
            .checked_add(notice.fee_amount)
            .and_then(|sum| sum.checked_add(notice.interest_amount))
            .ok_or(PlanError::OutOfRange {
                item_id: notice
                    .items
                    .first()
                    .map_or(Uuid::nil(), |item| item.item_id),
            })?;
    }
    Ok((notices, tally))
}

/// `open × rate% × days / 365`, rounded half-even to the currency's minor unit.
pub fn interest_on(
    open: Decimal,
    rate_percent: Decimal,
    days_overdue: i64,
    currency: Currency,
) -> Option<Decimal> {
    let factor = rate_percent
        .checked_mul(Decimal::from(days_overdue))?
        .checked_div(Decimal::from(INTEREST_YEAR_DAYS.checked_mul(100)?))?;
    let amount = Money::new(open, currency)
        .or_else(|_| Money::rounded(open, currency))
        .ok()?;
    amount
        .times_rounded(factor)
        .ok()
        .map(|money| money.amount())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use rust_decimal_macros::dec;

    fn level(number: i32, days: i32) -> Level {
        Level {
            level: number,
            days_after_due: days,
            channel: Channel::Email,
            subject_template: String::new(),
            body_template: String::new(),
            fee: None,
            interest_rate: None,
        }
    }

    fn strategy() -> Strategy {
        Strategy {
            id: Uuid::from_u128(7),
            segment: String::new(),
            name: "standard".to_owned(),
            version: 1,
            levels: vec![level(1, -3), level(2, 7), level(3, 21), level(4, 45)],
        }
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn candidate(item: u128, customer: u128, due: &str, amount: Decimal) -> Candidate {
        Candidate {
            item_id: Uuid::from_u128(item),
            customer_id: Uuid::from_u128(customer),
            number: format!("INV-{item}"),
            currency: "EUR".to_owned(),
            open_amount: amount,
            due_date: date(due),
            strategy_id: Some(Uuid::from_u128(7)),
            last_level: 0,
            disputed: false,
            promised: false,
        }
    }

    #[test]
    fn levels_fire_on_their_day_and_not_the_day_before() {
        let strategy = strategy();
        let fired = |days, last| strategy.due_level(days, last).map(|level| level.level);
        assert_eq!(fired(-4, 0), None);
        assert_eq!(fired(-3, 0), Some(1));
        assert_eq!(fired(6, 1), None);
        assert_eq!(fired(7, 1), Some(2));
        assert_eq!(fired(20, 2), None);
        assert_eq!(fired(21, 2), Some(3));
        assert_eq!(fired(45, 3), Some(4));
        assert_eq!(fired(400, 4), None, "nothing after the last level");
    }

    #[test]
    fn a_level_is_never_sent_twice_and_a_late_item_jumps_to_its_level() {
        let strategy = strategy();
        assert_eq!(strategy.due_level(7, 2), None);
        assert_eq!(strategy.due_level(10, 2), None);
        assert_eq!(strategy.due_level(30, 0).map(|level| level.level), Some(3));
    }

    #[test]
    fn a_plan_groups_by_customer_currency_and_level_and_skips_what_it_must() {
        let strategies = BTreeMap::from([(Uuid::from_u128(7), strategy())]);
        let as_of = date("2026-03-31");
        let mut usd = candidate(5, 1, "2026-03-24", dec!(40));
        usd.currency = "USD".to_owned();
        let mut disputed = candidate(6, 1, "2026-03-24", dec!(1));
        disputed.disputed = true;
        let mut promised = candidate(7, 2, "2026-03-01", dec!(1));
        promised.promised = true;
        let mut unmanaged = candidate(8, 3, "2026-01-01", dec!(1));
        unmanaged.strategy_id = None;
        let mut already = candidate(9, 2, "2026-03-24", dec!(5));
        already.last_level = 2;
        let candidates = vec![
            candidate(1, 1, "2026-03-24", dec!(100)),
            candidate(2, 1, "2026-03-20", dec!(50.50)),
            candidate(3, 1, "2026-03-01", dec!(10)),
            candidate(4, 2, "2026-04-03", dec!(70)),
            usd,
            disputed,
            promised,
            unmanaged,
            already,
            candidate(10, 2, "2026-04-10", dec!(3)),
        ];
        let (notices, tally) = plan(&candidates, &strategies, as_of).unwrap();
        let summary: Vec<_> = notices
            .iter()
            .map(|notice| {
                (
                    notice.customer_id.as_u128(),
                    notice.currency.as_str(),
                    notice.level.level,
                    notice.overdue_amount,
                    notice.items.len(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, "EUR", 2, dec!(150.50), 2),
                (1, "EUR", 3, dec!(10), 1),
                (1, "USD", 2, dec!(40), 1),
                (2, "EUR", 1, dec!(70), 1),
            ]
        );
        assert_eq!(
            tally,
            Tally {
                considered: 10,
                skipped_disputed: 1,
                skipped_promised: 1,
                dunned: 5,
            }
        );
        // Oldest first within a notice.
        assert_eq!(notices[0].items[0].number, "INV-2");
    }

    #[test]
    fn fees_apply_in_their_currency_and_interest_is_simple_and_rounded() {
        let mut strategy = strategy();
        strategy.levels[1].fee = Some(Fee {
            amount: dec!(15),
            currency: "EUR".to_owned(),
        });
        strategy.levels[1].interest_rate = Some(dec!(9.5));
        let strategies = BTreeMap::from([(Uuid::from_u128(7), strategy)]);
        let mut usd = candidate(2, 1, "2026-03-21", dec!(1000));
        usd.currency = "USD".to_owned();
        let (notices, _) = plan(
            &[candidate(1, 1, "2026-03-21", dec!(1000)), usd],
            &strategies,
            date("2026-03-31"),
        )
        .unwrap();
        // 1000 × 9.5% × 10 / 365 = 2.6027... -> 2.60
        assert_eq!(notices[0].interest_amount, dec!(2.60));
        assert_eq!(notices[0].fee_amount, dec!(15));
        assert_eq!(notices[0].total_due, dec!(1017.60));
        assert_eq!(notices[1].currency, "USD");
        assert_eq!(notices[1].fee_amount, Decimal::ZERO, "the fee is in EUR");
        assert_eq!(notices[1].total_due, dec!(1002.60));
        assert_eq!(
            interest_on(dec!(100), dec!(10), 0, Currency::parse("JPY").unwrap()),
            Some(Decimal::ZERO)
        );
    }

    #[test]
    fn level_problems_name_their_field() {
        let mut violations = Violations::new();
        let mut bad_fee = level(3, 30);
        bad_fee.fee = Some(Fee {
            amount: dec!(1.234),
            currency: "EUR".to_owned(),
        });
        let mut bad_rate = level(4, 40);
        bad_rate.interest_rate = Some(dec!(0));
        validate_levels(
            &[level(1, 10), level(3, 5), bad_fee, bad_rate],
            &mut violations,
        );
        let fields: Vec<_> = violations.iter().map(|v| v.field.clone()).collect();
        assert_eq!(
            fields,
            vec![
                "levels[1].level",
                "levels[1].days_after_due",
                "levels[2].fee.amount.amount",
                "levels[3].interest_rate",
            ]
        );
        let mut violations = Violations::new();
        validate_levels(&[], &mut violations);
        assert_eq!(violations.len(), 1);
    }
}

//! Credit decisions, without I/O: exposure = open receivables + approved
//! unbilled orders + what is asked about, against the limit, in the limit's
//! currency only (credit control does no FX), plus the overdue rule.
//!
//! Choices, and why:
//! - A customer without a limit of its own takes the tenant's default limit;
//!   without either it is held ("no credit limit set"): approving unknown
//!   risk silently is what a credit manager would not want, and a hold is
//!   something they can release.
//! - Receivables or unbilled orders in another currency than the limit are
//!   not converted: the decision is HOLD with the reason, since comparing
//!   them would need a rate credit control does not own.
//! - Overdue items count in every currency: being late is not a matter of
//!   exchange rates.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitSource {
    Customer,
    TenantDefault,
}

impl LimitSource {
    pub fn wire_name(source: Option<LimitSource>) -> &'static str {
        match source {
            Some(LimitSource::Customer) => "CUSTOMER",
            Some(LimitSource::TenantDefault) => "TENANT_DEFAULT",
            None => "NONE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditLimit {
    pub amount: Decimal,
    pub currency: String,
    pub source: LimitSource,
}

/// What a customer owes and has ordered in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrencyExposure {
    pub receivables: Decimal,
    pub unbilled: Decimal,
    /// The smallest order on credit hold (what a release would let through first).
    pub smallest_held_order: Option<Decimal>,
    pub overdue_items: i64,
    pub oldest_overdue: Option<NaiveDate>,
}

impl CurrencyExposure {
    fn is_empty(&self) -> bool {
        self.receivables.is_zero() && self.unbilled.is_zero()
    }
}

/// Everything a decision about one customer is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditPosition {
    pub limit: Option<CreditLimit>,
    pub blocked: bool,
    pub overdue_hold_days: i32,
    /// The currency figures are given in when there is no limit.
    pub customer_currency: Option<String>,
    pub by_currency: BTreeMap<String, CurrencyExposure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Hold,
}

impl Decision {
    pub fn wire_name(self) -> &'static str {
        match self {
            Decision::Approve => "APPROVE",
            Decision::Hold => "HOLD",
        }
    }
}

/// An amount asked about on top of the current exposure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    pub amount: Decimal,
    pub currency: String,
}

/// A decision and the figures it was made from, in `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub decision: Decision,
    pub reasons: Vec<String>,
    pub currency: String,
    pub limit: Option<Decimal>,
    pub receivables: Decimal,
    pub unbilled: Decimal,
    /// Receivables + unbilled + the addition.
    pub exposure: Decimal,
}

impl Assessment {
    pub fn reason(&self) -> String {
        self.reasons.join("; ")
    }
}

impl CreditPosition {
    /// The currency the figures are shown in: the limit's, else the asked
    /// amount's, else the customer's, else the only one it owes in.
    fn figures_currency(&self, addition: Option<&Addition>) -> String {
        self.limit
            .as_ref()
            .map(|limit| limit.currency.clone())
            .or_else(|| addition.map(|addition| addition.currency.clone()))
            .or_else(|| self.customer_currency.clone())
            .or_else(|| self.by_currency.keys().next().cloned())
            .unwrap_or_default()
    }

    pub fn overdue_items(&self) -> i64 {
        self.by_currency
            .values()
            .map(|line| line.overdue_items)
            .sum()
    }

    fn oldest_overdue(&self) -> Option<NaiveDate> {
        self.by_currency
            .values()
            .filter_map(|line| line.oldest_overdue)
            .min()
    }

    /// The smallest held order in the limit's currency, if any.
    pub fn smallest_held_order(&self) -> Option<Addition> {
        let currency = self.limit.as_ref()?.currency.clone();
        let amount = self.by_currency.get(&currency)?.smallest_held_order?;
        Some(Addition { amount, currency })
    }
}

/// Decides whether `addition` (an order, or nothing) can be given credit.
pub fn assess(position: &CreditPosition, addition: Option<&Addition>) -> Assessment {
    let currency = position.figures_currency(addition);
    let here = position
        .by_currency
        .get(&currency)
        .cloned()
        .unwrap_or_default();
    let added = addition.map_or(Decimal::ZERO, |addition| addition.amount);
    let exposure = here.receivables + here.unbilled + added;
    let mut reasons = Vec::new();
    if position.blocked {
        reasons.push("customer is blocked".to_owned());
    }
    match &position.limit {
        None => reasons.push("no credit limit set".to_owned()),
        Some(limit) => limit_reasons(position, limit, addition, exposure, &mut reasons),
    }
    let overdue = position.overdue_items();
    if overdue > 0 {
        let oldest = position
            .oldest_overdue()
            .map(|date| format!(" (oldest due {date})"))
            .unwrap_or_default();
        reasons.push(format!(
            "{overdue} item(s) more than {} days overdue{oldest}",
            position.overdue_hold_days
        ));
    }
    Assessment {
        decision: if reasons.is_empty() {
            Decision::Approve
        } else {
            Decision::Hold
        },
        reasons,
        limit: position.limit.as_ref().map(|limit| limit.amount),
        currency,
        receivables: here.receivables,
        unbilled: here.unbilled,
        exposure,
    }
}

fn limit_reasons(
    position: &CreditPosition,
    limit: &CreditLimit,
    addition: Option<&Addition>,
    exposure: Decimal,
    reasons: &mut Vec<String>,
) {
    if let Some(addition) = addition.filter(|addition| addition.currency != limit.currency) {
        reasons.push(format!(
            "the order is in {} but the credit limit is in {} (credit control converts no currencies)",
            addition.currency, limit.currency
        ));
    }
    let foreign: Vec<&str> = position
        .by_currency
        .iter()
        .filter(|(code, line)| **code != limit.currency && !line.is_empty())
        .map(|(code, _)| code.as_str())
        .collect();
    if !foreign.is_empty() {
        reasons.push(format!(
            "receivables or orders in {} cannot be compared with the credit limit in {}",
            foreign.join(", "),
            limit.currency
        ));
    }
    if exposure > limit.amount {
        reasons.push(format!(
            "over credit limit: exposure {} exceeds the limit of {}",
            shown(exposure, &limit.currency),
            shown(limit.amount, &limit.currency)
        ));
    }
}

/// An amount as people read it: at the currency's minor unit ("150.00 EUR").
fn shown(amount: Decimal, currency: &str) -> String {
    let wire = otc_shared::money::column_to_proto(amount, currency);
    format!("{} {}", wire.amount, wire.currency_code)
}

/// What a change of the ledger, the orders or the limit means for a
/// customer's hold status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Held before, and now within limit with nothing overdue, with room
    /// for at least its smallest held order.
    Release(Assessment),
    /// Not held before, has a limit, and is now over it or overdue.
    Hold(Assessment),
    Unchanged,
}

/// The transition a change causes. Customers without any limit are not put
/// on hold by ledger changes (every customer would be), only by an answer
/// to a credit check.
pub fn transition(position: &CreditPosition, on_hold: bool) -> Transition {
    if on_hold {
        let waiting = position.smallest_held_order();
        let assessment = assess(position, waiting.as_ref());
        if assessment.decision == Decision::Approve {
            return Transition::Release(assessment);
        }
        return Transition::Unchanged;
    }
    if position.limit.is_none() {
        return Transition::Unchanged;
    }
    let assessment = assess(position, None);
    if assessment.decision == Decision::Hold {
        return Transition::Hold(assessment);
    }
    Transition::Unchanged
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn position(limit: Option<Decimal>) -> CreditPosition {
        CreditPosition {
            limit: limit.map(|amount| CreditLimit {
                amount,
                currency: "EUR".to_owned(),
                source: LimitSource::Customer,
            }),
            blocked: false,
            overdue_hold_days: 30,
            customer_currency: Some("EUR".to_owned()),
            by_currency: BTreeMap::new(),
        }
    }

    fn with(
        mut position: CreditPosition,
        currency: &str,
        line: CurrencyExposure,
    ) -> CreditPosition {
        position.by_currency.insert(currency.to_owned(), line);
        position
    }

    fn order(amount: Decimal, currency: &str) -> Addition {
        Addition {
            amount,
            currency: currency.to_owned(),
        }
    }

    fn owing(receivables: Decimal, unbilled: Decimal) -> CurrencyExposure {
        CurrencyExposure {
            receivables,
            unbilled,
            ..CurrencyExposure::default()
        }
    }

    #[test]
    fn within_the_limit_is_approved_with_the_figures() {
        let customer = with(
            position(Some(dec!(1000))),
            "EUR",
            owing(dec!(400), dec!(100)),
        );
        let answer = assess(&customer, Some(&order(dec!(500), "EUR")));
        assert_eq!(answer.decision, Decision::Approve, "{answer:?}");
        assert_eq!(answer.exposure, dec!(1000), "at the limit is within it");
        assert_eq!(answer.receivables, dec!(400));
        assert_eq!(answer.unbilled, dec!(100));
    }

    #[test]
    fn one_cent_over_the_limit_is_held() {
        let customer = with(
            position(Some(dec!(1000))),
            "EUR",
            owing(dec!(400), dec!(100)),
        );
        let answer = assess(&customer, Some(&order(dec!(500.01), "EUR")));
        assert_eq!(answer.decision, Decision::Hold);
        assert!(answer.reason().contains("over credit limit"), "{answer:?}");
        assert_eq!(
            answer.reason(),
            "over credit limit: exposure 1000.01 EUR exceeds the limit of 1000.00 EUR"
        );
    }

    #[test]
    fn no_limit_holds_and_says_so() {
        let answer = assess(&position(None), Some(&order(dec!(1), "EUR")));
        assert_eq!(answer.decision, Decision::Hold);
        assert_eq!(answer.reason(), "no credit limit set");
        assert_eq!(answer.currency, "EUR");
    }

    #[test]
    fn overdue_items_hold_even_within_the_limit() {
        let line = CurrencyExposure {
            receivables: dec!(10),
            overdue_items: 2,
            oldest_overdue: NaiveDate::from_ymd_opt(2026, 1, 5),
            ..CurrencyExposure::default()
        };
        let answer = assess(&with(position(Some(dec!(1000))), "EUR", line), None);
        assert_eq!(answer.decision, Decision::Hold);
        assert_eq!(
            answer.reason(),
            "2 item(s) more than 30 days overdue (oldest due 2026-01-05)"
        );
    }

    #[test]
    fn other_currencies_are_not_compared_but_held() {
        let customer = with(position(Some(dec!(1000))), "USD", owing(dec!(5), dec!(0)));
        let answer = assess(&customer, Some(&order(dec!(10), "EUR")));
        assert_eq!(answer.decision, Decision::Hold);
        assert!(
            answer.reason().contains("USD cannot be compared"),
            "{answer:?}"
        );
        let foreign_order = assess(&position(Some(dec!(1000))), Some(&order(dec!(10), "CHF")));
        assert_eq!(foreign_order.decision, Decision::Hold);
        assert!(foreign_order.reason().contains("the order is in CHF"));
        // Settled business in another currency does not stand in the way.
        let settled = with(position(Some(dec!(1000))), "USD", owing(dec!(0), dec!(0)));
        assert_eq!(
            assess(&settled, Some(&order(dec!(10), "EUR"))).decision,
            Decision::Approve
        );
    }

    #[test]
    fn a_blocked_customer_is_held() {
        let mut customer = position(Some(dec!(1000)));
        customer.blocked = true;
        assert_eq!(assess(&customer, None).reason(), "customer is blocked");
    }

    #[test]
    fn a_held_customer_is_released_only_when_its_smallest_held_order_fits() {
        let held = |receivables| {
            with(
                position(Some(dec!(100))),
                "EUR",
                CurrencyExposure {
                    receivables,
                    smallest_held_order: Some(dec!(80)),
                    ..CurrencyExposure::default()
                },
            )
        };
        assert_eq!(transition(&held(dec!(50)), true), Transition::Unchanged);
        match transition(&held(dec!(20)), true) {
            Transition::Release(assessment) => assert_eq!(assessment.exposure, dec!(100)),
            other => panic!("expected a release, got {other:?}"),
        }
        // Not held: nothing to release.
        assert_eq!(transition(&held(dec!(20)), false), Transition::Unchanged);
    }

    #[test]
    fn going_over_the_limit_holds_once_and_no_limit_never_by_itself() {
        let over = with(position(Some(dec!(100))), "EUR", owing(dec!(90), dec!(20)));
        assert!(matches!(transition(&over, false), Transition::Hold(_)));
        assert_eq!(transition(&over, true), Transition::Unchanged);
        let unlimited = with(position(None), "EUR", owing(dec!(90), dec!(20)));
        assert_eq!(transition(&unlimited, false), Transition::Unchanged);
    }
}

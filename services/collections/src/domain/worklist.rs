//! The collector worklist's rules: who works a customer (manual assignment,
//! else the first matching assignment rule), how customers rank (score =
//! sum over overdue items of functional open amount x days past due, capped,
//! times the risk class weight; ties by customer id), and what to do next.
//! The worklist query in `store::worklist` computes the same ranking and
//! assignment in SQL, with the weights and cap taken from here.

use std::cmp::Ordering;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Days past due counted at most: beyond a year an item's age says nothing
/// more about urgency (it is a write-off question), and the cap keeps one
/// ancient item from outranking a large recent overdue balance.
pub const MAX_DAYS_COUNTED: i32 = 365;

/// Weights of the credit limit's risk class (A best, D worst). A customer
/// without a class, or with a class not listed here, weighs
/// [`NEUTRAL_WEIGHT`]: unknown risk neither raises nor lowers the rank.
pub const RISK_WEIGHTS: [(&str, Decimal); 4] = [
    ("A", Decimal::from_parts(75, 0, 0, false, 2)),
    ("B", Decimal::from_parts(100, 0, 0, false, 2)),
    ("C", Decimal::from_parts(150, 0, 0, false, 2)),
    ("D", Decimal::from_parts(200, 0, 0, false, 2)),
];
pub const NEUTRAL_WEIGHT: Decimal = Decimal::from_parts(100, 0, 0, false, 2);

/// Past this many days overdue a collector calls rather than writes.
pub const CALL_AFTER_DAYS: i32 = 45;

pub fn risk_weight(risk_class: Option<&str>) -> Decimal {
    risk_class
        .and_then(|class| {
            RISK_WEIGHTS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(class.trim()))
        })
        .map_or(NEUTRAL_WEIGHT, |(_, weight)| *weight)
}

/// Days past due counted for an item due on `due_date`: none before it is
/// overdue, at most [`MAX_DAYS_COUNTED`].
pub fn days_counted(due_date: NaiveDate, today: NaiveDate) -> i32 {
    let days = (today - due_date)
        .num_days()
        .clamp(0, i64::from(MAX_DAYS_COUNTED));
    i32::try_from(days).unwrap_or(MAX_DAYS_COUNTED)
}

/// One overdue item: its open amount in the functional currency and due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverdueItem {
    pub functional_open: Decimal,
    pub due_date: NaiveDate,
}

/// The score of a customer's overdue items; `None` only on overflow.
pub fn score(items: &[OverdueItem], risk_class: Option<&str>, today: NaiveDate) -> Option<Decimal> {
    let mut money_days = Decimal::ZERO;
    for item in items {
        let days = days_counted(item.due_date, today);
        let weighted = item.functional_open.checked_mul(Decimal::from(days))?;
        money_days = money_days.checked_add(weighted)?;
    }
    money_days.checked_mul(risk_weight(risk_class))
}

/// Worklist order: the higher score first, then the customer id, so that a
/// page boundary is always the same whatever the ties.
pub fn rank_order(left: (Decimal, Uuid), right: (Decimal, Uuid)) -> Ordering {
    right.0.cmp(&left.0).then(left.1.cmp(&right.1))
}

/// Where the next page starts: after this (score, customer id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub score: Decimal,
    pub customer_id: Uuid,
}

impl Cursor {
    pub fn token(&self) -> String {
        format!("{}_{}", self.score.normalize(), self.customer_id)
    }

    pub fn parse(token: &str) -> Option<Self> {
        let (score, customer_id) = token.trim().split_once('_')?;
        Some(Self {
            score: score.parse().ok()?,
            customer_id: Uuid::parse_str(customer_id).ok()?,
        })
    }
}

/// An assignment rule: every criterion it sets must equal the customer's
/// (case-insensitively); `None` matches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: Uuid,
    pub collector: String,
    pub segment: Option<String>,
    pub region: Option<String>,
    pub priority: i32,
}

impl Rule {
    pub fn specificity(&self) -> u8 {
        u8::from(self.segment.is_some()) + u8::from(self.region.is_some())
    }

    pub fn matches(&self, segment: &str, region: &str) -> bool {
        let fits = |criterion: &Option<String>, value: &str| {
            criterion
                .as_deref()
                .is_none_or(|wanted| wanted.trim().eq_ignore_ascii_case(value.trim()))
        };
        fits(&self.segment, segment) && fits(&self.region, region)
    }

    /// The order rules are tried in: lower priority first, then the more
    /// specific, then the older (ids are time-ordered v7 UUIDs).
    pub fn try_order(&self, other: &Rule) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then(other.specificity().cmp(&self.specificity()))
            .then(self.id.cmp(&other.id))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignment {
    Manual { collector: String },
    Rule { collector: String, rule_id: Uuid },
    Unassigned,
}

impl Assignment {
    pub fn collector(&self) -> Option<&str> {
        match self {
            Assignment::Manual { collector } | Assignment::Rule { collector, .. } => {
                Some(collector)
            }
            Assignment::Unassigned => None,
        }
    }

    pub fn wire_name(&self) -> &'static str {
        match self {
            Assignment::Manual { .. } => "MANUAL",
            Assignment::Rule { .. } => "RULE",
            Assignment::Unassigned => "UNASSIGNED",
        }
    }
}

/// Who works a customer of `segment` and `region`: the manual assignment if
/// there is one, else the first matching rule, else nobody.
pub fn assign(manual: Option<&str>, rules: &[Rule], segment: &str, region: &str) -> Assignment {
    if let Some(collector) = manual {
        return Assignment::Manual {
            collector: collector.to_owned(),
        };
    }
    rules
        .iter()
        .filter(|rule| rule.matches(segment, region))
        .min_by(|left, right| left.try_order(right))
        .map_or(Assignment::Unassigned, |rule| Assignment::Rule {
            collector: rule.collector.clone(),
            rule_id: rule.id,
        })
}

/// What the next action is decided from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Situation {
    pub today: NaiveDate,
    /// The latest collector contact: when, and the action it planned.
    pub latest_contact: Option<PlannedContact>,
    /// When the latest broken promise was found broken.
    pub last_broken_promise: Option<chrono::DateTime<chrono::Utc>>,
    /// The first date an open promise falls due.
    pub next_promised_date: Option<NaiveDate>,
    pub open_disputes: u32,
    /// The first SLA due date of the open disputes.
    pub dispute_sla_due: Option<NaiveDate>,
    /// Whether every overdue item is under an open dispute.
    pub all_overdue_disputed: bool,
    pub oldest_days_past_due: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedContact {
    pub contacted_at: chrono::DateTime<chrono::Utc>,
    pub next_action: Option<String>,
    pub next_action_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionCode {
    Planned,
    FollowUpBrokenPromise,
    WaitForPromiseDate,
    AwaitDisputeResolution,
    Call,
    SendReminder,
}

impl ActionCode {
    pub fn wire_name(self) -> &'static str {
        match self {
            ActionCode::Planned => "PLANNED",
            ActionCode::FollowUpBrokenPromise => "FOLLOW_UP_BROKEN_PROMISE",
            ActionCode::WaitForPromiseDate => "WAIT_FOR_PROMISE_DATE",
            ActionCode::AwaitDisputeResolution => "AWAIT_DISPUTE_RESOLUTION",
            ActionCode::Call => "CALL",
            ActionCode::SendReminder => "SEND_REMINDER",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAction {
    pub code: ActionCode,
    pub description: String,
    pub due_date: Option<NaiveDate>,
}

fn derived(code: ActionCode, description: &str, due_date: NaiveDate) -> NextAction {
    NextAction {
        code,
        description: description.to_owned(),
        due_date: Some(due_date),
    }
}

/// The next action, first rule that applies:
/// 1. the latest contact planned one, undated or dated today or later;
/// 2. a promise was broken after the latest contact (or never contacted):
///    follow it up today;
/// 3. an open promise: wait for its date;
/// 4. open disputes cover every overdue item: await their resolution (by
///    the first SLA date);
/// 5. more than [`CALL_AFTER_DAYS`] days overdue: call today;
/// 6. otherwise: send a reminder today.
pub fn next_action(situation: &Situation) -> NextAction {
    let today = situation.today;
    if let Some(contact) = &situation.latest_contact
        && let Some(action) = &contact.next_action
        && contact.next_action_date.is_none_or(|date| date >= today)
    {
        return NextAction {
            code: ActionCode::Planned,
            description: action.clone(),
            due_date: contact.next_action_date,
        };
    }
    let contacted_at = situation
        .latest_contact
        .as_ref()
        .map(|contact| contact.contacted_at);
    if let Some(broken_at) = situation.last_broken_promise
        && contacted_at.is_none_or(|contacted| broken_at > contacted)
    {
        return derived(
            ActionCode::FollowUpBrokenPromise,
            "follow up the broken promise",
            today,
        );
    }
    if let Some(date) = situation.next_promised_date {
        return derived(
            ActionCode::WaitForPromiseDate,
            "wait for the promised date",
            date.max(today),
        );
    }
    if situation.open_disputes > 0 && situation.all_overdue_disputed {
        return derived(
            ActionCode::AwaitDisputeResolution,
            "await the dispute resolution",
            situation.dispute_sla_due.unwrap_or(today).max(today),
        );
    }
    if situation.oldest_days_past_due > CALL_AFTER_DAYS {
        return derived(ActionCode::Call, "call the customer", today);
    }
    derived(ActionCode::SendReminder, "send a payment reminder", today)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;

    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn weights_are_documented_and_unknown_classes_are_neutral() {
        assert_eq!(risk_weight(Some("A")), dec!(0.75));
        assert_eq!(risk_weight(Some("b")), dec!(1.00));
        assert_eq!(risk_weight(Some("C")), dec!(1.50));
        assert_eq!(risk_weight(Some("D")), dec!(2.00));
        assert_eq!(risk_weight(Some("Z")), NEUTRAL_WEIGHT);
        assert_eq!(risk_weight(None), dec!(1));
    }

    #[test]
    fn days_count_from_the_day_after_the_due_date_up_to_the_cap() {
        let today = date("2026-06-30");
        assert_eq!(days_counted(date("2026-06-30"), today), 0);
        assert_eq!(days_counted(date("2026-07-15"), today), 0);
        assert_eq!(days_counted(date("2026-06-29"), today), 1);
        assert_eq!(days_counted(date("2025-06-30"), today), 365);
        assert_eq!(days_counted(date("2020-01-01"), today), MAX_DAYS_COUNTED);
    }

    #[test]
    fn the_score_is_money_days_times_the_risk_weight_exactly() {
        let today = date("2026-06-30");
        let items = [
            // 1000.10 x 10 days
            OverdueItem {
                functional_open: dec!(1000.10),
                due_date: date("2026-06-20"),
            },
            // 33.333333 x 365 (capped from 911)
            OverdueItem {
                functional_open: dec!(33.333333),
                due_date: date("2024-01-01"),
            },
        ];
        // (10001.00 + 12166.666545) x 1.50
        assert_eq!(score(&items, Some("C"), today), Some(dec!(33251.4998175)));
        assert_eq!(score(&items, None, today), Some(dec!(22167.666545)));
        assert_eq!(score(&[], Some("D"), today), Some(Decimal::ZERO));
        let huge = [OverdueItem {
            functional_open: Decimal::MAX,
            due_date: date("2026-06-01"),
        }];
        assert_eq!(score(&huge, None, today), None);
    }

    #[test]
    fn higher_scores_rank_first_and_ties_go_by_customer_id() {
        let mut rows = [
            (dec!(10), id(3)),
            (dec!(20), id(2)),
            (dec!(10.0), id(1)),
            (dec!(5), id(0)),
        ];
        rows.sort_by(|left, right| rank_order(*left, *right));
        let order: Vec<Uuid> = rows.iter().map(|row| row.1).collect();
        assert_eq!(order, vec![id(2), id(1), id(3), id(0)]);
    }

    #[test]
    fn cursors_round_trip_and_refuse_what_we_did_not_give_out() {
        let cursor = Cursor {
            score: dec!(1500.250000),
            customer_id: id(7),
        };
        assert_eq!(cursor.token(), format!("1500.25_{}", id(7)));
        assert_eq!(Cursor::parse(&cursor.token()), Some(cursor));
        assert_eq!(Cursor::parse("nonsense"), None);
        assert_eq!(Cursor::parse("12_not-a-uuid"), None);
        assert_eq!(Cursor::parse(&format!("x_{}", id(1))), None);
    }

    fn rule(
        n: u128,
        collector: &str,
        segment: Option<&str>,
        region: Option<&str>,
        priority: i32,
    ) -> Rule {
        Rule {
            id: id(n),
            collector: collector.to_owned(),
            segment: segment.map(str::to_owned),
            region: region.map(str::to_owned),
            priority,
        }
    }

    #[test]
    fn the_first_matching_rule_by_priority_assigns_and_specific_breaks_ties() {
        let rules = vec![
            rule(1, "sam", Some("smb"), None, 20),
            rule(2, "rita", None, Some("DE-BY"), 20),
            rule(3, "erin", Some("enterprise"), None, 10),
            rule(4, "bo", Some("smb"), Some("de-by"), 20),
            rule(5, "late", Some("smb"), Some("DE-BY"), 20),
        ];
        // Priority first: enterprise customers go to erin wherever they are.
        assert_eq!(
            assign(None, &rules, "enterprise", "DE-BY").collector(),
            Some("erin")
        );
        // Same priority: segment and region beat one of them; the older of
        // two equally specific rules wins; case does not matter.
        assert_eq!(
            assign(None, &rules, "SMB", "DE-BY"),
            Assignment::Rule {
                collector: "bo".to_owned(),
                rule_id: id(4)
            }
        );
        assert_eq!(assign(None, &rules, "smb", "FR").collector(), Some("sam"));
        assert_eq!(
            assign(None, &rules, "public", "DE-BY").collector(),
            Some("rita")
        );
        assert_eq!(assign(None, &rules, "public", "FR"), Assignment::Unassigned);
        // A manual assignment overrides every rule.
        assert_eq!(
            assign(Some("mia"), &rules, "smb", "DE-BY"),
            Assignment::Manual {
                collector: "mia".to_owned()
            }
        );
        assert_eq!(Assignment::Unassigned.wire_name(), "UNASSIGNED");
    }

    fn situation() -> Situation {
        Situation {
            today: date("2026-06-30"),
            latest_contact: None,
            last_broken_promise: None,
            next_promised_date: None,
            open_disputes: 0,
            dispute_sla_due: None,
            all_overdue_disputed: false,
            oldest_days_past_due: 10,
        }
    }

    fn at(day: u32) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, day, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_planned_action_not_past_comes_first() {
        let planned = Situation {
            latest_contact: Some(PlannedContact {
                contacted_at: at(20),
                next_action: Some("send invoice copies".to_owned()),
                next_action_date: Some(date("2026-06-30")),
            }),
            last_broken_promise: Some(at(25)),
            ..situation()
        };
        let action = next_action(&planned);
        assert_eq!(action.code, ActionCode::Planned);
        assert_eq!(action.description, "send invoice copies");
        assert_eq!(action.due_date, Some(date("2026-06-30")));
        // Past its date it no longer counts: the broken promise after the
        // contact is followed up.
        let past = Situation {
            latest_contact: Some(PlannedContact {
                next_action_date: Some(date("2026-06-29")),
                ..planned.latest_contact.clone().unwrap()
            }),
            ..planned
        };
        assert_eq!(next_action(&past).code, ActionCode::FollowUpBrokenPromise);
        assert_eq!(next_action(&past).due_date, Some(date("2026-06-30")));
    }

    #[test]
    fn a_broken_promise_already_talked_about_is_not_followed_up_again() {
        let talked = Situation {
            latest_contact: Some(PlannedContact {
                contacted_at: at(26),
                next_action: None,
                next_action_date: None,
            }),
            last_broken_promise: Some(at(25)),
            oldest_days_past_due: 50,
            ..situation()
        };
        assert_eq!(next_action(&talked).code, ActionCode::Call);
    }

    #[test]
    fn promises_then_disputes_then_age_decide_the_rest() {
        let promised = Situation {
            next_promised_date: Some(date("2026-07-05")),
            open_disputes: 1,
            all_overdue_disputed: true,
            ..situation()
        };
        let action = next_action(&promised);
        assert_eq!(action.code, ActionCode::WaitForPromiseDate);
        assert_eq!(action.due_date, Some(date("2026-07-05")));
        let disputed = Situation {
            next_promised_date: None,
            dispute_sla_due: Some(date("2026-07-03")),
            ..promised.clone()
        };
        let action = next_action(&disputed);
        assert_eq!(action.code, ActionCode::AwaitDisputeResolution);
        assert_eq!(action.due_date, Some(date("2026-07-03")));
        // A dispute on part of what is overdue leaves the rest to collect.
        let partly = Situation {
            all_overdue_disputed: false,
            oldest_days_past_due: 46,
            ..disputed
        };
        assert_eq!(next_action(&partly).code, ActionCode::Call);
        let fresh = Situation {
            oldest_days_past_due: CALL_AFTER_DAYS,
            ..situation()
        };
        assert_eq!(next_action(&fresh).code, ActionCode::SendReminder);
        assert_eq!(ActionCode::SendReminder.wire_name(), "SEND_REMINDER");
    }
}

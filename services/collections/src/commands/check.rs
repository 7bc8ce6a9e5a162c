//! `CheckCredit`: the decision for each order, made under its customer's
//! credit lock so that concurrent checks of one customer see each other.
//! An approved order is reserved in unbilled at once (keyed by its id, so
//! asking again replaces rather than adds); a held one is remembered as
//! held, and the customer goes on hold (told once) until a change lets it
//! through.
//!
//! Checks are decided a batch at a time (see [`crate::credit_batcher`]):
//! the batch's customers are locked in id order, each check is decided in
//! arrival order against what is stored plus what the checks before it in
//! the batch decided, and everything is written with one statement per
//! table. A batch of one is the same as deciding the checks one after the
//! other in their own transactions.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::Days;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::credit_control::{self, NewHold, overdue_hold_days, position_of};
use super::{Actor, today};
use crate::domain::credit::{self, Addition, Assessment, Decision};
use crate::domain::orders::OrderState;
use crate::store::Tx;
use crate::store::credit::{self as store, ExposureLine, Terms};
use crate::store::orders::{self, OrderFigures, OrderRow};
use otc_shared::TenantId;

pub const TRIGGER: &str = "CheckCredit";

#[derive(Debug, Clone)]
pub struct CreditAsk {
    pub customer_id: Uuid,
    pub order_id: Uuid,
    pub amount: Decimal,
    pub currency: String,
}

#[derive(Debug, Clone)]
pub struct CreditAnswer {
    pub assessment: Assessment,
    pub risk_class: Option<String>,
}

/// One check on its own.
pub async fn check_credit(
    tx: &mut Tx,
    actor: &Actor,
    ask: &CreditAsk,
) -> Result<CreditAnswer, sqlx::Error> {
    let mut answers = check_credits(tx, &actor.tenant, &[(actor, ask)]).await?;
    answers
        .pop()
        .ok_or_else(|| sqlx::Error::Protocol("a credit check went unanswered".to_owned()))
}

/// Decides `asks` of one tenant in their order, in the caller's transaction;
/// one answer per ask, in the same order.
pub async fn check_credits(
    tx: &mut Tx,
    tenant: &TenantId,
    asks: &[(&Actor, &CreditAsk)],
) -> Result<Vec<CreditAnswer>, sqlx::Error> {
    let customer_ids: Vec<Uuid> = asks
        .iter()
        .map(|(_, ask)| ask.customer_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut terms: HashMap<Uuid, Terms> =
        store::lock_terms_many(tx, tenant.as_str(), &customer_ids)
            .await?
            .into_iter()
            .map(store::CustomerTerms::split)
            .collect();
    let today = today();
    let mut overdue_before = Vec::with_capacity(customer_ids.len());
    for customer_id in &customer_ids {
        let days = terms
            .get(customer_id)
            .map_or(0, |terms| overdue_hold_days(terms).max(0));
        let days = u64::try_from(days).unwrap_or(0);
        overdue_before.push(today.checked_sub_days(Days::new(days)).unwrap_or(today));
    }
    let order_ids: Vec<Uuid> = asks
        .iter()
        .map(|(_, ask)| ask.order_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // What is stored, leaving out the batch's own orders: those are
    // counted from `batch_orders`, which each decision updates.
    let mut stored_lines: HashMap<Uuid, Vec<ExposureLine>> = HashMap::new();
    for line in store::exposure_lines_many(tx, &customer_ids, &overdue_before, &order_ids).await? {
        let (customer_id, line) = line.split();
        stored_lines.entry(customer_id).or_default().push(line);
    }
    let mut batch_orders: BTreeMap<Uuid, OrderRow> = orders::read_many(tx, &order_ids)
        .await?
        .into_iter()
        .map(|row| (row.order_id, row))
        .collect();

    let mut answers = Vec::with_capacity(asks.len());
    let mut holds: Vec<NewHold> = Vec::new();
    for (actor, ask) in asks {
        let customer_terms = terms
            .get_mut(&ask.customer_id)
            .ok_or_else(|| sqlx::Error::RowNotFound)?;
        let mut lines = stored_lines
            .get(&ask.customer_id)
            .cloned()
            .unwrap_or_default();
        add_batch_orders(&mut lines, &batch_orders, ask);
        let current = position_of(customer_terms, &lines);
        let addition = Addition {
            amount: ask.amount,
            currency: ask.currency.clone(),
        };
        let assessment = credit::assess(&current, Some(&addition));
        let state = match assessment.decision {
            Decision::Approve => OrderState::Reserved,
            Decision::Hold => OrderState::Held,
        };
        decide(&mut batch_orders, ask, state);
        if assessment.decision == Decision::Hold && !customer_terms.on_hold {
            let reason = assessment.reason();
            customer_terms.on_hold = true;
            customer_terms.hold_reason.clone_from(&reason);
            holds.push(NewHold {
                customer_id: ask.customer_id,
                assessment: assessment.clone(),
                reason,
            });
        }
        // Per call at debug: thousands a second at info cost the batch
        // worker more than deciding them; the batch logs one line.
        tracing::debug!(
            customer_id = %ask.customer_id,
            order_id = %ask.order_id,
            decision = assessment.decision.wire_name(),
            exposure = %assessment.exposure,
            caller = %actor.subject,
            "credit checked"
        );
        answers.push(CreditAnswer {
            assessment,
            risk_class: customer_terms.risk_class.clone(),
        });
    }

    // Each order once, as the last check of it in the batch left it.
    let mut written: Vec<(OrderFigures<'_>, OrderState)> = Vec::with_capacity(order_ids.len());
    let mut seen = BTreeSet::new();
    for ((_, ask), answer) in asks.iter().zip(&answers).rev() {
        if seen.insert(ask.order_id) {
            let state = match answer.assessment.decision {
                Decision::Approve => OrderState::Reserved,
                Decision::Hold => OrderState::Held,
            };
            written.push((
                OrderFigures {
                    order_id: ask.order_id,
                    customer_id: ask.customer_id,
                    currency: &ask.currency,
                    total: ask.amount,
                },
                state,
            ));
        }
    }
    written.reverse();
    orders::set_many(tx, tenant.as_str(), &written).await?;
    credit_control::hold_many(tx, tenant, &holds, TRIGGER).await?;
    let held = answers
        .iter()
        .filter(|answer| answer.assessment.decision == Decision::Hold)
        .count();
    tracing::info!(
        tenant = %tenant,
        checks = answers.len(),
        approved = answers.len() - held,
        held,
        customers_put_on_hold = holds.len(),
        "credit checks decided"
    );
    Ok(answers)
}

/// Adds the batch's orders of the asking customer, other than the one
/// asked about, the way [`store::exposure_lines`] counts stored ones:
/// reserved and approved ones summed per currency, held ones as the
/// smallest per currency.
fn add_batch_orders(
    lines: &mut Vec<ExposureLine>,
    batch_orders: &BTreeMap<Uuid, OrderRow>,
    ask: &CreditAsk,
) {
    for row in batch_orders.values() {
        if row.customer_id != ask.customer_id || row.order_id == ask.order_id {
            continue;
        }
        let remaining = (row.order_total - row.shipped).max(Decimal::ZERO);
        let source = match row.state.as_str() {
            "reserved" | "approved" => "unbilled",
            "held" => "held",
            _ => continue,
        };
        let existing = lines
            .iter_mut()
            .find(|line| line.source == source && line.currency == row.currency);
        match existing {
            Some(line) if source == "held" => line.amount = line.amount.min(remaining),
            Some(line) => line.amount += remaining,
            None => lines.push(ExposureLine {
                source: source.to_owned(),
                currency: row.currency.clone(),
                amount: remaining,
                overdue_items: 0,
                oldest_overdue: None,
            }),
        }
    }
}

/// What [`orders::set`] will have made of the asked order (an ended order
/// stays ended), for the checks after it in the batch.
fn decide(batch_orders: &mut BTreeMap<Uuid, OrderRow>, ask: &CreditAsk, state: OrderState) {
    let row = batch_orders
        .entry(ask.order_id)
        .or_insert_with(|| OrderRow {
            order_id: ask.order_id,
            customer_id: ask.customer_id,
            currency: ask.currency.clone(),
            order_total: ask.amount,
            shipped: Decimal::ZERO,
            state: state.as_str().to_owned(),
        });
    if row.state == OrderState::Ended.as_str() {
        return;
    }
    row.customer_id = ask.customer_id;
    row.currency.clone_from(&ask.currency);
    row.order_total = ask.amount;
    row.state = state.as_str().to_owned();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(customer_id: Uuid, order_id: Uuid, amount: i64) -> CreditAsk {
        CreditAsk {
            customer_id,
            order_id,
            amount: Decimal::new(amount, 0),
            currency: "EUR".to_owned(),
        }
    }

    fn row(customer_id: Uuid, order_id: Uuid, total: i64, shipped: i64, state: &str) -> OrderRow {
        OrderRow {
            order_id,
            customer_id,
            currency: "EUR".to_owned(),
            order_total: Decimal::new(total, 0),
            shipped: Decimal::new(shipped, 0),
            state: state.to_owned(),
        }
    }

    #[test]
    fn batch_orders_count_like_stored_ones_except_the_asked_one() {
        let customer = Uuid::now_v7();
        let other_customer = Uuid::now_v7();
        let asked = Uuid::now_v7();
        let (reserved, approved, held, bigger_held, ended, elsewhere) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let batch: BTreeMap<Uuid, OrderRow> = [
            row(customer, asked, 900, 0, "reserved"),
            row(customer, reserved, 100, 30, "reserved"),
            row(customer, approved, 50, 80, "approved"),
            row(customer, held, 40, 0, "held"),
            row(customer, bigger_held, 70, 0, "held"),
            row(customer, ended, 500, 0, "ended"),
            row(other_customer, elsewhere, 300, 0, "reserved"),
        ]
        .into_iter()
        .map(|row| (row.order_id, row))
        .collect();
        let mut lines = vec![
            ExposureLine {
                source: "unbilled".to_owned(),
                currency: "EUR".to_owned(),
                amount: Decimal::new(1000, 0),
                overdue_items: 0,
                oldest_overdue: None,
            },
            ExposureLine {
                source: "held".to_owned(),
                currency: "EUR".to_owned(),
                amount: Decimal::new(60, 0),
                overdue_items: 0,
                oldest_overdue: None,
            },
        ];
        add_batch_orders(&mut lines, &batch, &ask(customer, asked, 10));
        // 1000 stored + 70 left of the reserved one + nothing left of the
        // over-shipped approved one; the asked, ended and other customer's
        // orders do not count.
        assert_eq!(lines[0].amount, Decimal::new(1070, 0));
        assert_eq!(lines[1].amount, Decimal::new(40, 0));
        assert_eq!(lines.len(), 2);

        let mut fresh = Vec::new();
        add_batch_orders(&mut fresh, &batch, &ask(other_customer, Uuid::now_v7(), 1));
        assert_eq!(fresh.len(), 1);
        assert_eq!(fresh[0].source, "unbilled");
        assert_eq!(fresh[0].amount, Decimal::new(300, 0));
    }

    #[test]
    fn a_decision_replaces_the_order_unless_it_ended() {
        let customer = Uuid::now_v7();
        let (open, ended) = (Uuid::now_v7(), Uuid::now_v7());
        let mut batch: BTreeMap<Uuid, OrderRow> = [
            row(customer, open, 100, 20, "held"),
            row(customer, ended, 100, 0, "ended"),
        ]
        .into_iter()
        .map(|row| (row.order_id, row))
        .collect();
        decide(&mut batch, &ask(customer, open, 250), OrderState::Reserved);
        decide(&mut batch, &ask(customer, ended, 250), OrderState::Reserved);
        let new = Uuid::now_v7();
        decide(&mut batch, &ask(customer, new, 5), OrderState::Held);
        assert_eq!(batch[&open].order_total, Decimal::new(250, 0));
        assert_eq!(batch[&open].shipped, Decimal::new(20, 0));
        assert_eq!(batch[&open].state, "reserved");
        assert_eq!(batch[&ended].state, "ended");
        assert_eq!(batch[&ended].order_total, Decimal::new(100, 0));
        assert_eq!(batch[&new].state, "held");
    }
}

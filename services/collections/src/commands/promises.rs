//! Promises to pay: recorded on open items of one customer; kept as soon as
//! the cash applied to those items since the promise, dated on or before
//! the promised date, covers the amount (checked when cash is applied);
//! broken when a check finds the date passed without that (the daily check,
//! or `EvaluatePromises` with a given date).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{Actor, CommandError};
use crate::events::outgoing;
use crate::store::Tx;
use crate::store::open_items;
use crate::store::promises::{self as store, NewPromise, PromiseRow};
use otc_shared::audit::{self, AuditEntry};
use otc_shared::outbox;

pub struct RecordPromise<'a> {
    pub request_key: &'a str,
    pub customer_id: Uuid,
    pub item_ids: Vec<Uuid>,
    pub amount: Decimal,
    pub currency: &'a str,
    pub promised_date: NaiveDate,
    pub note: &'a str,
    pub today: NaiveDate,
}

fn json(row: &PromiseRow) -> serde_json::Value {
    serde_json::json!({
        "customer_id": row.customer_id,
        "amount": row.amount,
        "currency": row.currency,
        "promised_date": row.promised_date,
        "state": row.state,
        "paid": row.paid,
        "note": row.note,
    })
}

async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    before: Option<&PromiseRow>,
    after: &PromiseRow,
) -> Result<(), sqlx::Error> {
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action,
            entity_type: "promise_to_pay",
            entity_id: &after.id.to_string(),
            before: before.map(json),
            after: Some(json(after)),
        },
    )
    .await
}

pub async fn record_promise(
    tx: &mut Tx,
    actor: &Actor,
    wanted: &RecordPromise<'_>,
) -> Result<PromiseRow, CommandError> {
    if let Some(existing) = store::by_key(tx, wanted.request_key).await? {
        let mut stored = store::items(tx, existing.id).await?;
        let mut asked = wanted.item_ids.clone();
        stored.sort();
        asked.sort();
        if existing.amount != wanted.amount || stored != asked {
            return Err(CommandError::AlreadyExists(format!(
                "idempotency key `{}` was used for another promise",
                wanted.request_key
            )));
        }
        return Ok(existing);
    }
    if wanted.amount <= Decimal::ZERO {
        return Err(CommandError::invalid("amount.amount", "must be positive"));
    }
    if wanted.promised_date < wanted.today {
        return Err(CommandError::invalid(
            "promised_date",
            "must be today or later",
        ));
    }
    let mut owed = Decimal::ZERO;
    for (index, item_id) in wanted.item_ids.iter().enumerate() {
        let field = format!("item_ids[{index}]");
        if wanted.item_ids[..index].contains(item_id) {
            return Err(CommandError::invalid(&field, "the item is listed twice"));
        }
        let item = open_items::lock(tx, *item_id)
            .await?
            .ok_or_else(|| CommandError::invalid(&field, format!("item {item_id} is not known")))?;
        if item.customer_id != wanted.customer_id {
            return Err(CommandError::invalid(
                &field,
                "the item belongs to another customer",
            ));
        }
        if item.currency != wanted.currency {
            return Err(CommandError::invalid(
                &field,
                format!(
                    "the item is in {}, the promise in {}",
                    item.currency, wanted.currency
                ),
            ));
        }
        owed += item.open_amount.max(Decimal::ZERO);
    }
    if wanted.item_ids.is_empty() {
        return Err(CommandError::invalid("item_ids", "at least one item"));
    }
    if wanted.amount > owed {
        return Err(CommandError::invalid(
            "amount.amount",
            format!("{} is more than the items owe ({owed})", wanted.amount),
        ));
    }
    let new = NewPromise {
        id: Uuid::now_v7(),
        request_key: wanted.request_key,
        customer_id: wanted.customer_id,
        currency: wanted.currency,
        amount: wanted.amount,
        promised_date: wanted.promised_date,
        note: wanted.note,
        recorded_by: &actor.subject,
    };
    let Some(row) = store::insert(tx, actor.tenant.as_str(), &new).await? else {
        return Err(CommandError::Aborted(format!(
            "idempotency key `{}` is being used concurrently: retry",
            wanted.request_key
        )));
    };
    for item_id in &wanted.item_ids {
        store::insert_item(tx, actor.tenant.as_str(), row.id, *item_id).await?;
    }
    outbox::enqueue(
        tx,
        &outgoing::promise_to_pay_recorded(&actor.tenant, &row, &wanted.item_ids),
    )
    .await?;
    record(tx, actor, "promise_to_pay.recorded", None, &row).await?;
    Ok(row)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Kept,
    Broken,
    Open,
}

/// Settles one (locked, open) promise if it can be: kept if covered,
/// broken if `as_of` is given and the promised date is before it.
async fn settle_one(
    tx: &mut Tx,
    actor: &Actor,
    promise: &PromiseRow,
    as_of: Option<NaiveDate>,
) -> Result<Outcome, sqlx::Error> {
    let paid = store::paid(tx, promise).await?;
    let outcome = if paid >= promise.amount {
        Outcome::Kept
    } else if as_of.is_some_and(|date| promise.promised_date < date) {
        Outcome::Broken
    } else {
        return Ok(Outcome::Open);
    };
    let state = if outcome == Outcome::Kept {
        "kept"
    } else {
        "broken"
    };
    let after = store::settle(tx, promise.id, state, paid).await?;
    let items = store::items(tx, promise.id).await?;
    let event = match (outcome, as_of) {
        (Outcome::Broken, Some(date)) => {
            outgoing::promise_broken(&actor.tenant, &after, &items, date)
        }
        _ => outgoing::promise_kept(&actor.tenant, &after, &items),
    };
    outbox::enqueue(tx, &event).await?;
    record(
        tx,
        actor,
        &format!("promise_to_pay.{state}"),
        Some(promise),
        &after,
    )
    .await?;
    tracing::info!(promise_id = %promise.id, state, %paid, "promise to pay settled");
    Ok(outcome)
}

/// Cash was applied to `item_id`: the open promises on it may be kept now.
pub async fn cash_applied(tx: &mut Tx, actor: &Actor, item_id: Uuid) -> Result<(), sqlx::Error> {
    for promise in store::open_for_item(tx, item_id).await? {
        settle_one(tx, actor, &promise, None).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub kept: u32,
    pub broken: u32,
    pub still_open: u32,
}

/// Settles the tenant's open promises as of `as_of`.
pub async fn evaluate(
    tx: &mut Tx,
    actor: &Actor,
    as_of: NaiveDate,
) -> Result<Evaluation, sqlx::Error> {
    let mut evaluation = Evaluation::default();
    for promise in store::open_promises(tx).await? {
        match settle_one(tx, actor, &promise, Some(as_of)).await? {
            Outcome::Kept => evaluation.kept += 1,
            Outcome::Broken => evaluation.broken += 1,
            Outcome::Open => evaluation.still_open += 1,
        }
    }
    Ok(evaluation)
}

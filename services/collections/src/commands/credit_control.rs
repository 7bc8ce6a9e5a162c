//! Credit control after a change: a customer's position is read under its
//! lock, and a transition (held, released) is written with its event and
//! audit record in the caller's transaction, once per transition.

use std::collections::BTreeMap;

use chrono::Days;
use uuid::Uuid;

use super::today;
use crate::domain::credit::{
    self, Assessment, CreditLimit, CreditPosition, CurrencyExposure, LimitSource, Transition,
};
use crate::events::outgoing;
use crate::store::Tx;
use crate::store::credit::{self as store, DEFAULT_OVERDUE_HOLD_DAYS, ExposureLine, Terms};
use otc_shared::TenantId;
use otc_shared::audit::{self, AuditEntry};
use otc_shared::money::column_to_proto;
use otc_shared::outbox;

/// The actor of automatic credit transitions in the audit trail.
pub const SYSTEM_ACTOR: &str = "system:credit-control";

/// The limit that applies: the customer's own, else the tenant's default.
pub fn limit_of(terms: &Terms) -> Option<CreditLimit> {
    let own = terms
        .limit_amount
        .zip(terms.limit_currency.clone())
        .map(|(amount, currency)| (amount, currency, LimitSource::Customer));
    let default = terms
        .default_limit_amount
        .zip(terms.default_limit_currency.clone())
        .map(|(amount, currency)| (amount, currency, LimitSource::TenantDefault));
    own.or(default)
        .map(|(amount, currency, source)| CreditLimit {
            amount,
            currency,
            source,
        })
}

pub fn overdue_hold_days(terms: &Terms) -> i32 {
    terms.overdue_hold_days.unwrap_or(DEFAULT_OVERDUE_HOLD_DAYS)
}

/// The decision's inputs from the terms and the exposure lines.
pub fn position_of(terms: &Terms, lines: &[ExposureLine]) -> CreditPosition {
    let mut by_currency: BTreeMap<String, CurrencyExposure> = BTreeMap::new();
    for line in lines {
        let entry = by_currency.entry(line.currency.clone()).or_default();
        match line.source.as_str() {
            "receivable" => {
                entry.receivables += line.amount;
                entry.overdue_items += line.overdue_items;
                entry.oldest_overdue = match (entry.oldest_overdue, line.oldest_overdue) {
                    (Some(known), Some(found)) => Some(known.min(found)),
                    (known, found) => known.or(found),
                };
            }
            "held" => entry.smallest_held_order = Some(line.amount),
            _ => entry.unbilled += line.amount,
        }
    }
    CreditPosition {
        limit: limit_of(terms),
        blocked: terms
            .customer_status
            .as_deref()
            .is_some_and(|status| status.trim().eq_ignore_ascii_case("blocked")),
        overdue_hold_days: overdue_hold_days(terms),
        customer_currency: terms.customer_currency.clone(),
        by_currency,
    }
}

/// Reads the customer's position (`except_order` left out of the orders).
pub async fn position(
    tx: &mut Tx,
    terms: &Terms,
    customer_id: Uuid,
    except_order: Option<Uuid>,
) -> Result<CreditPosition, sqlx::Error> {
    let days = u64::try_from(overdue_hold_days(terms).max(0)).unwrap_or(0);
    let today = today();
    let overdue_before = today.checked_sub_days(Days::new(days)).unwrap_or(today);
    let lines = store::exposure_lines(tx, customer_id, overdue_before, except_order).await?;
    Ok(position_of(terms, &lines))
}

/// After a change to a customer's ledger, orders, limit or master data:
/// releases a held customer that now fits, or holds one that went over.
pub async fn reassess(
    tx: &mut Tx,
    tenant: &TenantId,
    customer_id: Uuid,
    trigger: &str,
) -> Result<(), sqlx::Error> {
    let terms = store::lock_terms(tx, tenant.as_str(), customer_id).await?;
    let position = position(tx, &terms, customer_id, None).await?;
    match credit::transition(&position, terms.on_hold) {
        Transition::Release(assessment) => {
            release(tx, tenant, customer_id, &assessment, trigger).await
        }
        Transition::Hold(assessment) => {
            let reason = assessment.reason();
            hold(tx, tenant, customer_id, &assessment, &reason, trigger).await
        }
        Transition::Unchanged => Ok(()),
    }
}

/// Puts a customer on hold unless it already is (`terms` read under its lock).
pub async fn ensure_held(
    tx: &mut Tx,
    tenant: &TenantId,
    customer_id: Uuid,
    terms: &Terms,
    assessment: &Assessment,
    reason: &str,
    trigger: &str,
) -> Result<(), sqlx::Error> {
    if terms.on_hold {
        return Ok(());
    }
    hold(tx, tenant, customer_id, assessment, reason, trigger).await
}

async fn hold(
    tx: &mut Tx,
    tenant: &TenantId,
    customer_id: Uuid,
    assessment: &Assessment,
    reason: &str,
    trigger: &str,
) -> Result<(), sqlx::Error> {
    store::set_on_hold(tx, customer_id, reason).await?;
    let event = outgoing::customer_credit_held(tenant, customer_id, assessment, reason, trigger);
    outbox::enqueue(tx, &event).await?;
    tracing::info!(%customer_id, reason, trigger, "customer put on credit hold");
    record(
        tx,
        tenant,
        customer_id,
        "credit.held",
        assessment,
        reason,
        trigger,
    )
    .await
}

async fn release(
    tx: &mut Tx,
    tenant: &TenantId,
    customer_id: Uuid,
    assessment: &Assessment,
    trigger: &str,
) -> Result<(), sqlx::Error> {
    store::set_released(tx, customer_id).await?;
    let event = outgoing::customer_credit_released(tenant, customer_id, assessment);
    outbox::enqueue(tx, &event).await?;
    tracing::info!(%customer_id, trigger, "customer credit released");
    record(
        tx,
        tenant,
        customer_id,
        "credit.released",
        assessment,
        "",
        trigger,
    )
    .await
}

/// Customers going on hold at once (one batch of credit checks): what
/// [`hold`] does for each, with one statement per table.
pub struct NewHold {
    pub customer_id: Uuid,
    pub assessment: Assessment,
    pub reason: String,
}

pub async fn hold_many(
    tx: &mut Tx,
    tenant: &TenantId,
    holds: &[NewHold],
    trigger: &str,
) -> Result<(), sqlx::Error> {
    if holds.is_empty() {
        return Ok(());
    }
    let customer_ids: Vec<Uuid> = holds.iter().map(|hold| hold.customer_id).collect();
    let reasons: Vec<String> = holds.iter().map(|hold| hold.reason.clone()).collect();
    store::set_on_hold_many(tx, &customer_ids, &reasons).await?;
    let events: Vec<_> = holds
        .iter()
        .map(|hold| {
            outgoing::customer_credit_held(
                tenant,
                hold.customer_id,
                &hold.assessment,
                &hold.reason,
                trigger,
            )
        })
        .collect();
    outbox::enqueue_many(tx, &events).await?;
    let entity_ids: Vec<String> = customer_ids.iter().map(Uuid::to_string).collect();
    let entries: Vec<AuditEntry<'_>> = holds
        .iter()
        .zip(&entity_ids)
        .map(|(hold, entity_id)| {
            tracing::info!(customer_id = %hold.customer_id, reason = hold.reason, trigger, "customer put on credit hold");
            audit_entry(
                tenant,
                entity_id,
                "credit.held",
                &hold.assessment,
                &hold.reason,
                trigger,
            )
        })
        .collect();
    audit::record_many(tx, &entries).await
}

async fn record(
    tx: &mut Tx,
    tenant: &TenantId,
    customer_id: Uuid,
    action: &str,
    assessment: &Assessment,
    reason: &str,
    trigger: &str,
) -> Result<(), sqlx::Error> {
    let entity_id = customer_id.to_string();
    audit::record(
        tx,
        audit_entry(tenant, &entity_id, action, assessment, reason, trigger),
    )
    .await
}

/// The audit record of a hold or a release, by the system actor.
fn audit_entry<'a>(
    tenant: &'a TenantId,
    entity_id: &'a str,
    action: &'a str,
    assessment: &Assessment,
    reason: &str,
    trigger: &str,
) -> AuditEntry<'a> {
    let held = action == "credit.held";
    let text = |amount| column_to_proto(amount, &assessment.currency).amount;
    AuditEntry {
        tenant,
        actor: SYSTEM_ACTOR,
        action,
        entity_type: "customer_credit",
        entity_id,
        before: Some(serde_json::json!({ "on_hold": !held })),
        after: Some(serde_json::json!({
            "on_hold": held,
            "reason": reason,
            "trigger": trigger,
            "currency": assessment.currency,
            "credit_limit": assessment.limit.map(text),
            "open_receivables": text(assessment.receivables),
            "unbilled_orders": text(assessment.unbilled),
            "exposure": text(assessment.exposure),
        })),
    }
}

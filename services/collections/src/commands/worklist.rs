//! The worklist's state changes: contacts recorded by collectors (published
//! as `CollectorContactRecorded`), assignment rules set and deleted, and
//! customers assigned by hand (published as `CustomerCollectorAssigned`).
//! Each is audited in the caller's transaction.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{Actor, CommandError};
use crate::domain::worklist::{self as rules, Assignment};
use crate::events::outgoing;
use crate::store::Tx;
use crate::store::worklist::{
    self as store, ContactRow, ManualAssignmentRow, NewContact, RuleRow, RuleValues,
};
use otc_shared::audit::{self, AuditEntry};
use otc_shared::outbox;

async fn audit(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    entity: (&str, String),
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), sqlx::Error> {
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action,
            entity_type: entity.0,
            entity_id: &entity.1,
            before,
            after,
        },
    )
    .await
}

pub struct RecordContact<'a> {
    pub request_key: &'a str,
    pub customer_id: Uuid,
    pub channel: &'a str,
    pub outcome: &'a str,
    pub note: &'a str,
    pub next_action: Option<&'a str>,
    pub next_action_date: Option<NaiveDate>,
    pub contacted_at: DateTime<Utc>,
}

fn contact_json(row: &ContactRow) -> serde_json::Value {
    serde_json::json!({
        "customer_id": row.customer_id,
        "collector": row.collector,
        "channel": row.channel,
        "outcome": row.outcome,
        "note": row.note,
        "next_action": row.next_action,
        "next_action_date": row.next_action_date,
        "contacted_at": row.contacted_at,
    })
}

pub async fn record_contact(
    tx: &mut Tx,
    actor: &Actor,
    wanted: &RecordContact<'_>,
) -> Result<ContactRow, CommandError> {
    if let Some(existing) = store::contact_by_key(tx, wanted.request_key).await? {
        if existing.customer_id != wanted.customer_id
            || existing.channel != wanted.channel
            || existing.outcome != wanted.outcome
            || existing.note != wanted.note
            || existing.next_action.as_deref() != wanted.next_action
            || existing.next_action_date != wanted.next_action_date
        {
            return Err(CommandError::AlreadyExists(format!(
                "idempotency key `{}` was used for another contact",
                wanted.request_key
            )));
        }
        return Ok(existing);
    }
    if store::customer_place(tx, wanted.customer_id)
        .await?
        .is_none()
    {
        return Err(CommandError::NotFound(format!(
            "customer {} is not known",
            wanted.customer_id
        )));
    }
    let new = NewContact {
        id: Uuid::now_v7(),
        request_key: wanted.request_key,
        customer_id: wanted.customer_id,
        collector: &actor.subject,
        channel: wanted.channel,
        outcome: wanted.outcome,
        note: wanted.note,
        next_action: wanted.next_action,
        next_action_date: wanted.next_action_date,
        contacted_at: wanted.contacted_at,
    };
    let Some(row) = store::insert_contact(tx, actor.tenant.as_str(), &new).await? else {
        return Err(CommandError::Aborted(format!(
            "idempotency key `{}` is being used concurrently: retry",
            wanted.request_key
        )));
    };
    outbox::enqueue(
        tx,
        &outgoing::collector_contact_recorded(&actor.tenant, &row),
    )
    .await?;
    audit(
        tx,
        actor,
        "collector_contact.recorded",
        ("collector_contact", row.id.to_string()),
        None,
        Some(contact_json(&row)),
    )
    .await?;
    Ok(row)
}

fn rule_json(row: &RuleRow) -> serde_json::Value {
    serde_json::json!({
        "collector": row.collector,
        "segment": row.segment,
        "region": row.region,
        "priority": row.priority,
        "version": row.version,
    })
}

/// Creates a rule (`rule_id` None) or replaces one at `expected_version`.
pub async fn set_rule(
    tx: &mut Tx,
    actor: &Actor,
    rule_id: Option<Uuid>,
    expected_version: Option<i64>,
    values: &RuleValues<'_>,
) -> Result<RuleRow, CommandError> {
    let Some(rule_id) = rule_id else {
        let row = store::insert_rule(
            tx,
            actor.tenant.as_str(),
            Uuid::now_v7(),
            values,
            &actor.subject,
        )
        .await?;
        audit(
            tx,
            actor,
            "worklist_rule.created",
            ("worklist_rule", row.id.to_string()),
            None,
            Some(rule_json(&row)),
        )
        .await?;
        return Ok(row);
    };
    let before = store::lock_rule(tx, rule_id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("rule {rule_id} is not known")))?;
    if let Some(expected) = expected_version
        && expected != before.version
    {
        return Err(CommandError::Aborted(format!(
            "rule {rule_id} is at version {}, not {expected}: read it again",
            before.version
        )));
    }
    let after = store::update_rule(tx, rule_id, values, &actor.subject).await?;
    audit(
        tx,
        actor,
        "worklist_rule.changed",
        ("worklist_rule", rule_id.to_string()),
        Some(rule_json(&before)),
        Some(rule_json(&after)),
    )
    .await?;
    Ok(after)
}

pub async fn delete_rule(tx: &mut Tx, actor: &Actor, rule_id: Uuid) -> Result<(), CommandError> {
    let before = store::lock_rule(tx, rule_id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("rule {rule_id} is not known")))?;
    store::delete_rule(tx, rule_id).await?;
    audit(
        tx,
        actor,
        "worklist_rule.deleted",
        ("worklist_rule", rule_id.to_string()),
        Some(rule_json(&before)),
        None,
    )
    .await?;
    Ok(())
}

fn assignment_json(row: &ManualAssignmentRow) -> serde_json::Value {
    serde_json::json!({
        "collector": row.collector,
        "reason": row.reason,
        "version": row.version,
    })
}

/// Who works `customer_id` now (the rules read in this transaction).
pub async fn current_assignment(
    tx: &mut Tx,
    customer_id: Uuid,
) -> Result<Assignment, CommandError> {
    let place = store::customer_place(tx, customer_id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("customer {customer_id} is not known")))?;
    let manual = store::lock_manual_assignment(tx, customer_id).await?;
    let rules: Vec<rules::Rule> = store::rules(tx).await?.iter().map(RuleRow::rule).collect();
    Ok(rules::assign(
        manual.as_ref().map(|row| row.collector.as_str()),
        &rules,
        &place.segment,
        &place.region,
    ))
}

/// Assigns a customer by hand (`collector` Some) or gives it back to the
/// rules (`None`); answers who works it afterwards.
pub async fn assign_customer(
    tx: &mut Tx,
    actor: &Actor,
    customer_id: Uuid,
    collector: Option<&str>,
    reason: &str,
) -> Result<Assignment, CommandError> {
    let previous = current_assignment(tx, customer_id).await?;
    let before = store::lock_manual_assignment(tx, customer_id).await?;
    let after = match collector {
        Some(collector) => Some(
            store::upsert_manual_assignment(
                tx,
                actor.tenant.as_str(),
                customer_id,
                collector,
                reason,
                &actor.subject,
            )
            .await?,
        ),
        None => {
            store::delete_manual_assignment(tx, customer_id).await?;
            None
        }
    };
    let now = current_assignment(tx, customer_id).await?;
    if before.is_none() && after.is_none() {
        // Nothing was assigned by hand and nothing is: no change to record.
        return Ok(now);
    }
    outbox::enqueue(
        tx,
        &outgoing::customer_collector_assigned(
            &actor.tenant,
            customer_id,
            collector.unwrap_or_default(),
            previous.collector().unwrap_or_default(),
            &actor.subject,
            reason,
        ),
    )
    .await?;
    audit(
        tx,
        actor,
        if after.is_some() {
            "worklist_assignment.set"
        } else {
            "worklist_assignment.cleared"
        },
        ("customer", customer_id.to_string()),
        before.as_ref().map(assignment_json),
        after.as_ref().map(assignment_json),
    )
    .await?;
    Ok(now)
}

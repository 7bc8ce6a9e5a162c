//! Dunning configuration and notice handling: strategies per segment
//! (checked level by level, templates included, before they are kept),
//! customers' contacts, and sending a failed notice again. Runs themselves
//! are in [`crate::dunning::run`].

use uuid::Uuid;

use super::{Actor, CommandError};
use crate::domain::dunning::{Channel, Level, validate_levels};
use crate::domain::dunning_text::Templates;
use crate::dunning::run::recipient_of;
use crate::store::Tx;
use crate::store::dunning::{self as store, ContactRow, StrategyRecord};
use otc_shared::audit::{self, AuditEntry};
use otc_shared::violations::Violations;

fn strategy_json(record: &StrategyRecord) -> serde_json::Value {
    serde_json::json!({
        "segment": record.strategy.segment,
        "name": record.strategy.name,
        "version": record.strategy.version,
        "levels": record.strategy.levels.iter().map(|level| serde_json::json!({
            "level": level.level,
            "days_after_due": level.days_after_due,
            "channel": level.channel.as_str(),
            "subject_template": level.subject_template,
            "body_template": level.body_template,
            "fee": level.fee.as_ref().map(|fee| serde_json::json!({
                "amount": fee.amount, "currency": fee.currency,
            })),
            "interest_rate": level.interest_rate,
        })).collect::<Vec<_>>(),
    })
}

async fn audit_entry(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), sqlx::Error> {
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action,
            entity_type,
            entity_id,
            before,
            after,
        },
    )
    .await
}

/// Creates or replaces the segment's strategy.
pub async fn set_strategy(
    tx: &mut Tx,
    actor: &Actor,
    segment: &str,
    name: &str,
    levels: &[Level],
) -> Result<StrategyRecord, CommandError> {
    let mut violations = Violations::new();
    if name.trim().is_empty() {
        violations.add("name", "is required");
    }
    validate_levels(levels, &mut violations);
    for (index, level) in levels.iter().enumerate() {
        if let Err(error) = Templates::check(level) {
            violations.add(&format!("levels[{index}].{}", error.field), error.reason);
        }
    }
    if !violations.is_empty() {
        return Err(CommandError::Invalid(violations));
    }
    let before = store::strategy_for_segment(tx, segment).await?;
    store::put_strategy(
        tx,
        actor.tenant.as_str(),
        segment,
        name.trim(),
        levels,
        &actor.subject,
    )
    .await?;
    let after = store::strategy_for_segment(tx, segment)
        .await?
        .ok_or_else(|| CommandError::NotFound("the strategy just written is gone".to_owned()))?;
    audit_entry(
        tx,
        actor,
        "dunning.strategy_set",
        "dunning_strategy",
        &after.strategy.id.to_string(),
        before.as_ref().map(strategy_json),
        Some(strategy_json(&after)),
    )
    .await?;
    Ok(after)
}

pub async fn delete_strategy(
    tx: &mut Tx,
    actor: &Actor,
    segment: &str,
) -> Result<bool, CommandError> {
    let Some(before) = store::strategy_for_segment(tx, segment).await? else {
        return Ok(false);
    };
    let deleted = store::delete_strategy(tx, segment).await?;
    audit_entry(
        tx,
        actor,
        "dunning.strategy_deleted",
        "dunning_strategy",
        &before.strategy.id.to_string(),
        Some(strategy_json(&before)),
        None,
    )
    .await?;
    Ok(deleted)
}

pub struct Contact<'a> {
    pub customer_id: Uuid,
    pub contact_name: &'a str,
    pub email: &'a str,
    pub webhook_url: &'a str,
}

/// Checks a contact's email and webhook URL (each may be empty).
pub fn validate_contact(contact: &Contact<'_>, violations: &mut Violations) {
    let email = contact.email.trim();
    if !email.is_empty()
        && let Some(problem) = otc_delivery::email_problem(email)
    {
        violations.add("email", problem);
    }
    let url = contact.webhook_url.trim();
    if !url.is_empty()
        && let Some(problem) = otc_delivery::webhook_url_problem(url)
    {
        violations.add("webhook_url", problem);
    }
}

pub async fn set_contact(
    tx: &mut Tx,
    actor: &Actor,
    contact: &Contact<'_>,
) -> Result<ContactRow, CommandError> {
    let mut violations = Violations::new();
    validate_contact(contact, &mut violations);
    if !violations.is_empty() {
        return Err(CommandError::Invalid(violations));
    }
    let before = store::contact(tx, contact.customer_id).await?;
    let after = store::put_contact(
        tx,
        actor.tenant.as_str(),
        contact.customer_id,
        contact.contact_name.trim(),
        contact.email.trim(),
        contact.webhook_url.trim(),
        &actor.subject,
    )
    .await?;
    audit_entry(
        tx,
        actor,
        "dunning.contact_set",
        "dunning_contact",
        &contact.customer_id.to_string(),
        before
            .as_ref()
            .and_then(|row| serde_json::to_value(row).ok()),
        serde_json::to_value(&after).ok(),
    )
    .await?;
    Ok(after)
}

/// Queues a failed notice again, to the customer's current contact (or
/// address, for letters).
pub async fn retry_notice(tx: &mut Tx, actor: &Actor, notice_id: Uuid) -> Result<(), CommandError> {
    let notice = store::notice(tx, notice_id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("dunning notice {notice_id} not found")))?;
    if notice.status != "failed" {
        return Err(CommandError::FailedPrecondition(format!(
            "dunning notice {notice_id} is {}; only a failed notice is sent again",
            notice.status
        )));
    }
    let channel = Channel::parse(&notice.channel).ok_or_else(|| {
        CommandError::FailedPrecondition(format!("unknown channel `{}`", notice.channel))
    })?;
    let destination = store::destinations(tx, &[notice.customer_id])
        .await?
        .into_iter()
        .next();
    let recipient = recipient_of(channel, destination.as_ref()).map_err(|problem| {
        CommandError::FailedPrecondition(format!(
            "notice {notice_id} cannot be sent again: {problem}; set it first"
        ))
    })?;
    store::requeue(tx, notice_id, &recipient).await?;
    audit_entry(
        tx,
        actor,
        "dunning.notice_retried",
        "dunning_notice",
        &notice_id.to_string(),
        Some(serde_json::json!({"status": notice.status, "recipient": notice.recipient, "last_error": notice.last_error})),
        Some(serde_json::json!({"status": "pending", "recipient": recipient})),
    )
    .await?;
    Ok(())
}

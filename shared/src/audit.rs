//! The audit trail: who changed what, when, from what, to what. Written in
//! the same transaction as the change it records.

use serde_json::Value;
use sqlx::{Postgres, Transaction};

use crate::ids::TenantId;

pub struct AuditEntry<'a> {
    pub tenant: &'a TenantId,
    /// The authenticated subject, or `system:<task>` for automatic changes.
    pub actor: &'a str,
    /// What was done, e.g. `credit_limit.set`.
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn record(
    transaction: &mut Transaction<'_, Postgres>,
    entry: AuditEntry<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO audit_log (tenant, actor, action, entity_type, entity_id, before_state, after_state, trace_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#,
        entry.tenant.as_str(),
        entry.actor,
        entry.action,
        entry.entity_type,
        entry.entity_id,
        entry.before,
        entry.after,
        crate::telemetry::current_trace_id(),
    )
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Several audit records in one statement.
#[allow(clippy::as_conversions)]
pub async fn record_many(
    transaction: &mut Transaction<'_, Postgres>,
    entries: &[AuditEntry<'_>],
) -> Result<(), sqlx::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let tenants: Vec<String> = entries
        .iter()
        .map(|entry| entry.tenant.as_str().to_owned())
        .collect();
    let actors: Vec<String> = entries.iter().map(|entry| entry.actor.to_owned()).collect();
    let actions: Vec<String> = entries
        .iter()
        .map(|entry| entry.action.to_owned())
        .collect();
    let types: Vec<String> = entries
        .iter()
        .map(|entry| entry.entity_type.to_owned())
        .collect();
    let ids: Vec<String> = entries
        .iter()
        .map(|entry| entry.entity_id.to_owned())
        .collect();
    let befores: Vec<Option<Value>> = entries.iter().map(|entry| entry.before.clone()).collect();
    let afters: Vec<Option<Value>> = entries.iter().map(|entry| entry.after.clone()).collect();
    sqlx::query!(
        r#"INSERT INTO audit_log (tenant, actor, action, entity_type, entity_id, before_state, after_state, trace_id)
           SELECT tenant, actor, action, entity_type, entity_id, before_state, after_state, $8
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[])
                  AS entry(tenant, actor, action, entity_type, entity_id, before_state, after_state)"#,
        &tenants,
        &actors,
        &actions,
        &types,
        &ids,
        &befores as &[Option<Value>],
        &afters as &[Option<Value>],
        crate::telemetry::current_trace_id(),
    )
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

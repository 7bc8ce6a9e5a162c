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

//! Rebuilding the read models from offset 0: in one transaction, every read
//! model is emptied, the consumer's inbox rows deleted and the generation
//! bumped. The consumer notices the new generation and folds every topic
//! again from its first offset under a new consumer group. Dead letters are
//! kept, so a poison record is not published to its DLQ twice.
//!
//! The fold holds a shared lock on the generation row while it writes a
//! batch; the rebuild takes it exclusively, so no batch of the old
//! generation commits after the tables were emptied.

use sqlx::PgPool;

use otc_shared::TenantId;
use otc_shared::audit::{self, AuditEntry};

use crate::fold::CONSUMER;

/// Empties the read models and starts the next generation; returns it.
pub async fn rebuild(
    pool: &PgPool,
    tenant: &TenantId,
    actor: &str,
    reason: &str,
) -> Result<i32, sqlx::Error> {
    let mut tx = otc_shared::db::begin_for_all_tenants(pool).await?;
    let previous = sqlx::query_scalar!("SELECT generation FROM read_model_state FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query!(
        "TRUNCATE customers, documents, movements, receipts, applications, refunds, deductions,
                  orders, disputes, promises, dunning_notices, credit_status, held_invoices,
                  snapshot_marks"
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM inbox WHERE consumer = $1", CONSUMER)
        .execute(&mut *tx)
        .await?;
    let generation = sqlx::query_scalar!(
        r#"UPDATE read_model_state
           SET generation = generation + 1, rebuild_started_at = now(), rebuilt_by = $1
           RETURNING generation"#,
        actor,
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        AuditEntry {
            tenant,
            actor,
            action: "read_models.rebuild",
            entity_type: "read_models",
            entity_id: "reporting",
            before: Some(serde_json::json!({ "generation": previous })),
            after: Some(serde_json::json!({ "generation": generation, "reason": reason })),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(
        previous,
        generation,
        actor,
        reason,
        "read models emptied for a rebuild from offset 0"
    );
    Ok(generation)
}

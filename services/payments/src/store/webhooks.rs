//! Payment providers' webhook secrets and the provider event ids handled.

use uuid::Uuid;

use super::Tx;

pub async fn set_provider(
    tx: &mut Tx,
    tenant: &str,
    provider: &str,
    secret: &str,
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO webhook_providers (tenant, provider, secret, created_by)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant, provider) DO UPDATE SET
               secret = EXCLUDED.secret, created_by = EXCLUDED.created_by, created_at = now()"#,
        tenant,
        provider,
        secret,
        actor
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn secret(tx: &mut Tx, provider: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT secret FROM webhook_providers
           WHERE tenant = current_setting('app.tenant', true) AND provider = $1"#,
        provider
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Records a provider event id; `false` when it was handled before.
pub async fn claim_event(
    tx: &mut Tx,
    tenant: &str,
    provider: &str,
    event_id: &str,
    event_type: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO webhook_events (tenant, provider, event_id, event_type)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING
           RETURNING event_id"#,
        tenant,
        provider,
        event_id,
        event_type
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(inserted.is_some())
}

pub async fn link_receipt(
    tx: &mut Tx,
    provider: &str,
    event_id: &str,
    receipt_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE webhook_events SET receipt_id = $3
           WHERE tenant = current_setting('app.tenant', true) AND provider = $1 AND event_id = $2"#,
        provider,
        event_id,
        receipt_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

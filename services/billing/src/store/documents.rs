//! Rendered documents (PDF in the object store, with its SHA-256) and their
//! deliveries. Both are durable work queues claimed with SKIP LOCKED.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Tx;

#[derive(Debug, Clone)]
pub struct DocumentRow {
    pub invoice_id: Uuid,
    pub status: String,
    pub object_key: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    pub render_count: i32,
    pub attempts: i32,
    pub last_error: Option<String>,
}

pub async fn insert_pending(
    tx: &mut Tx,
    tenant: &str,
    invoice_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO documents (tenant, invoice_id, status) VALUES ($1, $2, 'pending')
         ON CONFLICT (invoice_id) DO NOTHING",
        tenant,
        invoice_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn load(tx: &mut Tx, invoice_id: Uuid) -> Result<Option<DocumentRow>, sqlx::Error> {
    sqlx::query_as!(
        DocumentRow,
        r#"SELECT invoice_id, status, object_key, sha256, size, render_count, attempts, last_error
             FROM documents WHERE invoice_id = $1"#,
        invoice_id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Queues a fresh rendering (the stored object is replaced when it is done).
pub async fn request_render(
    tx: &mut Tx,
    tenant: &str,
    invoice_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO documents (tenant, invoice_id, status) VALUES ($1, $2, 'pending')
           ON CONFLICT (invoice_id) DO UPDATE SET status = 'pending', attempts = 0,
               next_attempt_at = now(), last_error = NULL"#,
        tenant,
        invoice_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub struct ClaimedDocument {
    pub tenant: String,
    pub invoice_id: Uuid,
    pub attempts: i32,
}

/// Claims due renderings for `lease_seconds` (a crashed worker's claim lapses).
pub async fn claim_due(
    tx: &mut Tx,
    limit: i64,
    lease_seconds: i64,
) -> Result<Vec<ClaimedDocument>, sqlx::Error> {
    sqlx::query_as!(
        ClaimedDocument,
        r#"UPDATE documents SET attempts = attempts + 1,
                  next_attempt_at = now() + $2::bigint * interval '1 second'
            WHERE invoice_id IN (SELECT invoice_id FROM documents
                                  WHERE status = 'pending' AND next_attempt_at <= now()
                                  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING tenant, invoice_id, attempts"#,
        limit,
        lease_seconds
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn mark_stored(
    tx: &mut Tx,
    invoice_id: Uuid,
    object_key: &str,
    sha256: &str,
    size: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE documents SET status = 'stored', object_key = $2, sha256 = $3, size = $4,
                  render_count = render_count + 1, rendered_at = now(), last_error = NULL
            WHERE invoice_id = $1"#,
        invoice_id,
        object_key,
        sha256,
        size
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn mark_render_failed(
    tx: &mut Tx,
    invoice_id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE documents SET last_error = $2,
                  status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                  next_attempt_at = COALESCE($3, next_attempt_at)
            WHERE invoice_id = $1"#,
        invoice_id,
        error,
        retry_at
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub channel: String,
    pub target: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
}

pub async fn insert_delivery(
    tx: &mut Tx,
    tenant: &str,
    id: Uuid,
    invoice_id: Uuid,
    channel: &str,
    target: &str,
    requested_by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO deliveries (tenant, id, invoice_id, channel, target, status, requested_by)
           VALUES ($1, $2, $3, $4, $5, 'pending', $6)"#,
        tenant,
        id,
        invoice_id,
        channel,
        target,
        requested_by
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn deliveries_of(tx: &mut Tx, invoice_id: Uuid) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as!(
        DeliveryRow,
        r#"SELECT id, invoice_id, channel, target, status, attempts, last_error, accepted_at,
                  next_attempt_at
             FROM deliveries WHERE invoice_id = $1 ORDER BY created_at, id"#,
        invoice_id
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn load_delivery(tx: &mut Tx, id: Uuid) -> Result<Option<DeliveryRow>, sqlx::Error> {
    sqlx::query_as!(
        DeliveryRow,
        r#"SELECT id, invoice_id, channel, target, status, attempts, last_error, accepted_at,
                  next_attempt_at
             FROM deliveries WHERE id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub struct ClaimedDelivery {
    pub tenant: String,
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub channel: String,
    pub target: String,
    pub attempts: i32,
}

/// Claims due sends whose document is stored; a send whose lease lapsed
/// (the worker died mid-send) is claimed again.
pub async fn claim_due_deliveries(
    tx: &mut Tx,
    limit: i64,
    lease_seconds: i64,
) -> Result<Vec<ClaimedDelivery>, sqlx::Error> {
    sqlx::query_as!(
        ClaimedDelivery,
        r#"UPDATE deliveries SET status = 'sending', attempts = attempts + 1,
                  lease_until = now() + $2::bigint * interval '1 second'
            WHERE id IN (SELECT d.id FROM deliveries d
                           JOIN documents doc ON doc.invoice_id = d.invoice_id
                          WHERE doc.status = 'stored'
                            AND ((d.status = 'pending' AND d.next_attempt_at <= now())
                              OR (d.status = 'sending' AND d.lease_until < now()))
                          ORDER BY d.next_attempt_at LIMIT $1
                          FOR UPDATE OF d SKIP LOCKED)
            RETURNING tenant, id, invoice_id, channel, target, attempts"#,
        limit,
        lease_seconds
    )
    .fetch_all(&mut **tx)
    .await
}

/// Records acceptance; false if the claim was lost meanwhile.
pub async fn mark_accepted(tx: &mut Tx, id: Uuid, response: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE deliveries SET status = 'accepted', accepted_at = now(), response = $2,
                  last_error = NULL, lease_until = NULL
            WHERE id = $1 AND status = 'sending'"#,
        id,
        response
    )
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// A failed attempt: retried at `retry_at`, or failed for good without one.
pub async fn mark_attempt_failed(
    tx: &mut Tx,
    id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE deliveries SET last_error = $2, lease_until = NULL,
                  status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                  next_attempt_at = COALESCE($3, next_attempt_at)
            WHERE id = $1 AND status = 'sending'"#,
        id,
        error,
        retry_at
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues renderings (and deliveries) for many documents in two statements.
pub async fn insert_pending_many(
    tx: &mut Tx,
    documents: &[(String, Uuid)],
    deliveries: &[(String, Uuid, String, String, String)],
) -> Result<(), sqlx::Error> {
    if !documents.is_empty() {
        let (tenants, ids): (Vec<String>, Vec<Uuid>) = documents.iter().cloned().unzip();
        sqlx::query!(
            r#"INSERT INTO documents (tenant, invoice_id, status)
               SELECT tenant, invoice_id, 'pending' FROM UNNEST($1::text[], $2::uuid[]) AS d(tenant, invoice_id)
               ON CONFLICT (invoice_id) DO NOTHING"#,
            &tenants,
            &ids
        )
        .execute(&mut **tx)
        .await?;
    }
    if !deliveries.is_empty() {
        let tenants: Vec<String> = deliveries.iter().map(|row| row.0.clone()).collect();
        let invoices: Vec<Uuid> = deliveries.iter().map(|row| row.1).collect();
        let channels: Vec<String> = deliveries.iter().map(|row| row.2.clone()).collect();
        let targets: Vec<String> = deliveries.iter().map(|row| row.3.clone()).collect();
        let actors: Vec<String> = deliveries.iter().map(|row| row.4.clone()).collect();
        let ids: Vec<Uuid> = deliveries.iter().map(|_| Uuid::now_v7()).collect();
        sqlx::query!(
            r#"INSERT INTO deliveries (tenant, id, invoice_id, channel, target, status, requested_by)
               SELECT tenant, id, invoice_id, channel, target, 'pending', requested_by
                 FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[])
                      AS d(tenant, id, invoice_id, channel, target, requested_by)"#,
            &tenants,
            &ids,
            &invoices,
            &channels,
            &targets,
            &actors
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

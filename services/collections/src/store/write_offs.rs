//! Write-off requests and their decisions.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOffRow {
    pub id: Uuid,
    pub request_key: String,
    pub customer_id: Uuid,
    pub item_id: Uuid,
    pub currency: String,
    pub amount: Decimal,
    pub reason: String,
    pub state: String,
    pub dispute_id: Option<Uuid>,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: String,
    pub version: i64,
}

pub struct NewWriteOff<'a> {
    pub id: Uuid,
    pub request_key: &'a str,
    pub customer_id: Uuid,
    pub item_id: Uuid,
    pub currency: &'a str,
    pub amount: Decimal,
    pub reason: &'a str,
    pub dispute_id: Option<Uuid>,
    pub requested_by: &'a str,
}

pub async fn by_key(tx: &mut Tx, key: &str) -> Result<Option<WriteOffRow>, sqlx::Error> {
    sqlx::query_as!(
        WriteOffRow,
        r#"SELECT id, request_key, customer_id, item_id, currency, amount, reason, state,
                  dispute_id, requested_by, requested_at, decided_by, decided_at, decision_note,
                  version
           FROM write_offs WHERE tenant = current_setting('app.tenant', true) AND request_key = $1"#,
        key
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<WriteOffRow>, sqlx::Error> {
    sqlx::query_as!(
        WriteOffRow,
        r#"SELECT id, request_key, customer_id, item_id, currency, amount, reason, state,
                  dispute_id, requested_by, requested_at, decided_by, decided_at, decision_note,
                  version
           FROM write_offs WHERE tenant = current_setting('app.tenant', true) AND id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn lock(tx: &mut Tx, id: Uuid) -> Result<Option<WriteOffRow>, sqlx::Error> {
    sqlx::query_as!(
        WriteOffRow,
        r#"SELECT id, request_key, customer_id, item_id, currency, amount, reason, state,
                  dispute_id, requested_by, requested_at, decided_by, decided_at, decision_note,
                  version
           FROM write_offs WHERE tenant = current_setting('app.tenant', true) AND id = $1
           FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn insert(
    tx: &mut Tx,
    tenant: &str,
    new: &NewWriteOff<'_>,
) -> Result<Option<WriteOffRow>, sqlx::Error> {
    sqlx::query_as!(
        WriteOffRow,
        r#"INSERT INTO write_offs
               (tenant, id, request_key, customer_id, item_id, currency, amount, reason, state,
                dispute_id, requested_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending_approval', $9, $10)
           ON CONFLICT (tenant, request_key) DO NOTHING
           RETURNING id, request_key, customer_id, item_id, currency, amount, reason, state,
                     dispute_id, requested_by, requested_at, decided_by, decided_at,
                     decision_note, version"#,
        tenant,
        new.id,
        new.request_key,
        new.customer_id,
        new.item_id,
        new.currency,
        new.amount,
        new.reason,
        new.dispute_id,
        new.requested_by,
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Records the decision on a pending write-off.
pub async fn decide(
    tx: &mut Tx,
    id: Uuid,
    state: &str,
    decided_by: &str,
    note: &str,
) -> Result<WriteOffRow, sqlx::Error> {
    sqlx::query_as!(
        WriteOffRow,
        r#"UPDATE write_offs SET state = $2, decided_by = $3, decision_note = $4,
               decided_at = now(), version = version + 1
           WHERE tenant = current_setting('app.tenant', true) AND id = $1
             AND state = 'pending_approval'
           RETURNING id, request_key, customer_id, item_id, currency, amount, reason, state,
                     dispute_id, requested_by, requested_at, decided_by, decided_at,
                     decision_note, version"#,
        id,
        state,
        decided_by,
        note,
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn ids_of_dispute(tx: &mut Tx, dispute_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT id FROM write_offs
           WHERE tenant = current_setting('app.tenant', true) AND dispute_id = $1 ORDER BY id"#,
        dispute_id
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn page(
    tx: &mut Tx,
    customer_id: Option<Uuid>,
    state: Option<&str>,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<WriteOffRow>, sqlx::Error> {
    sqlx::query_as!(
        WriteOffRow,
        r#"SELECT id, request_key, customer_id, item_id, currency, amount, reason, state,
                  dispute_id, requested_by, requested_at, decided_by, decided_at, decision_note,
                  version
           FROM write_offs
           WHERE tenant = current_setting('app.tenant', true)
             AND ($1::uuid IS NULL OR customer_id = $1)
             AND ($2::text IS NULL OR state = $2)
             AND ($3::uuid IS NULL OR id > $3)
           ORDER BY id LIMIT $4"#,
        customer_id,
        state,
        after,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

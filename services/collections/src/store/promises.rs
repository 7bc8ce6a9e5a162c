//! Promises to pay, the items they cover, and the cash applied to those
//! items since each promise (what decides kept or broken).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseRow {
    pub id: Uuid,
    pub request_key: String,
    pub customer_id: Uuid,
    pub currency: String,
    pub amount: Decimal,
    pub promised_date: NaiveDate,
    pub state: String,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    pub paid: Decimal,
    pub settled_at: Option<DateTime<Utc>>,
}

pub struct NewPromise<'a> {
    pub id: Uuid,
    pub request_key: &'a str,
    pub customer_id: Uuid,
    pub currency: &'a str,
    pub amount: Decimal,
    pub promised_date: NaiveDate,
    pub note: &'a str,
    pub recorded_by: &'a str,
}

pub async fn by_key(tx: &mut Tx, key: &str) -> Result<Option<PromiseRow>, sqlx::Error> {
    sqlx::query_as!(
        PromiseRow,
        r#"SELECT id, request_key, customer_id, currency, amount, promised_date, state, note,
                  recorded_by, recorded_at, paid, settled_at
           FROM promises_to_pay
           WHERE tenant = current_setting('app.tenant', true) AND request_key = $1"#,
        key
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<PromiseRow>, sqlx::Error> {
    sqlx::query_as!(
        PromiseRow,
        r#"SELECT id, request_key, customer_id, currency, amount, promised_date, state, note,
                  recorded_by, recorded_at, paid, settled_at
           FROM promises_to_pay WHERE tenant = current_setting('app.tenant', true) AND id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn insert(
    tx: &mut Tx,
    tenant: &str,
    new: &NewPromise<'_>,
) -> Result<Option<PromiseRow>, sqlx::Error> {
    sqlx::query_as!(
        PromiseRow,
        r#"INSERT INTO promises_to_pay
               (tenant, id, request_key, customer_id, currency, amount, promised_date, state,
                note, recorded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9)
           ON CONFLICT (tenant, request_key) DO NOTHING
           RETURNING id, request_key, customer_id, currency, amount, promised_date, state, note,
                     recorded_by, recorded_at, paid, settled_at"#,
        tenant,
        new.id,
        new.request_key,
        new.customer_id,
        new.currency,
        new.amount,
        new.promised_date,
        new.note,
        new.recorded_by,
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn insert_item(
    tx: &mut Tx,
    tenant: &str,
    promise_id: Uuid,
    item_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO promise_items (tenant, promise_id, item_id) VALUES ($1, $2, $3)"#,
        tenant,
        promise_id,
        item_id,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn items(tx: &mut Tx, promise_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT item_id FROM promise_items
           WHERE tenant = current_setting('app.tenant', true) AND promise_id = $1
           ORDER BY item_id"#,
        promise_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// Net cash applied to the promise's items since it was recorded, with a
/// value on or before the promised date (an unapplication takes it back).
pub async fn paid(tx: &mut Tx, promise: &PromiseRow) -> Result<Decimal, sqlx::Error> {
    let paid = sqlx::query_scalar!(
        r#"SELECT COALESCE(-SUM(m.amount), 0) AS "paid!" FROM ledger_movements m
           JOIN promise_items p ON p.tenant = m.tenant AND p.item_id = m.item_id
           WHERE m.tenant = current_setting('app.tenant', true) AND p.promise_id = $1
             AND m.kind IN ('cash_applied', 'cash_unapplied') AND m.posted_at IS NOT NULL
             AND m.currency = $2
             AND m.recorded_at >= $3
             AND (m.occurred_at AT TIME ZONE 'UTC')::date <= $4"#,
        promise.id,
        promise.currency,
        promise.recorded_at,
        promise.promised_date,
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(paid)
}

/// The open promises covering `item_id`, locked.
pub async fn open_for_item(tx: &mut Tx, item_id: Uuid) -> Result<Vec<PromiseRow>, sqlx::Error> {
    sqlx::query_as!(
        PromiseRow,
        r#"SELECT id, request_key, customer_id, currency, amount, promised_date, state, note,
                  recorded_by, recorded_at, paid, settled_at
           FROM promises_to_pay t
           WHERE tenant = current_setting('app.tenant', true) AND state = 'open'
             AND EXISTS (SELECT 1 FROM promise_items p
                         WHERE p.tenant = t.tenant AND p.promise_id = t.id AND p.item_id = $1)
           ORDER BY id
           FOR UPDATE"#,
        item_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// Every open promise of the tenant, locked (skipping those another check holds).
pub async fn open_promises(tx: &mut Tx) -> Result<Vec<PromiseRow>, sqlx::Error> {
    sqlx::query_as!(
        PromiseRow,
        r#"SELECT id, request_key, customer_id, currency, amount, promised_date, state, note,
                  recorded_by, recorded_at, paid, settled_at
           FROM promises_to_pay
           WHERE tenant = current_setting('app.tenant', true) AND state = 'open'
           ORDER BY id
           FOR UPDATE SKIP LOCKED"#
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn settle(
    tx: &mut Tx,
    id: Uuid,
    state: &str,
    paid: Decimal,
) -> Result<PromiseRow, sqlx::Error> {
    sqlx::query_as!(
        PromiseRow,
        r#"UPDATE promises_to_pay SET state = $2, paid = $3, settled_at = now()
           WHERE tenant = current_setting('app.tenant', true) AND id = $1 AND state = 'open'
           RETURNING id, request_key, customer_id, currency, amount, promised_date, state, note,
                     recorded_by, recorded_at, paid, settled_at"#,
        id,
        state,
        paid,
    )
    .fetch_one(&mut **tx)
    .await
}

/// Of `item_ids`, those under an open promise.
pub async fn promised_items(tx: &mut Tx, item_ids: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT p.item_id FROM promise_items p
           JOIN promises_to_pay t ON t.tenant = p.tenant AND t.id = p.promise_id
           WHERE p.tenant = current_setting('app.tenant', true) AND p.item_id = ANY($1)
             AND t.state = 'open'"#,
        item_ids
    )
    .fetch_all(&mut **tx)
    .await
}

/// Tenants with open promises (a system task's transaction over all tenants).
pub async fn tenants_with_open_promises(tx: &mut Tx) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT tenant FROM promises_to_pay WHERE state = 'open' ORDER BY tenant"#
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
) -> Result<Vec<PromiseRow>, sqlx::Error> {
    sqlx::query_as!(
        PromiseRow,
        r#"SELECT id, request_key, customer_id, currency, amount, promised_date, state, note,
                  recorded_by, recorded_at, paid, settled_at
           FROM promises_to_pay
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

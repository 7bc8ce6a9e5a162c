//! Cash applications (a receipt's cash settling an open item) and refunds.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    pub id: Uuid,
    pub receipt_id: Uuid,
    pub invoice_id: Uuid,
    pub invoice_number: String,
    pub customer_id: Uuid,
    pub currency: String,
    pub amount: Decimal,
    pub discount: Decimal,
    pub deduction: Decimal,
    pub automatic: bool,
    pub confidence: i16,
    pub method: String,
    pub applied_by: String,
    pub applied_at: DateTime<Utc>,
    pub reversed_at: Option<DateTime<Utc>>,
    pub reversal_reason: Option<String>,
}

pub struct NewApplication<'a> {
    pub id: Uuid,
    pub receipt_id: Uuid,
    pub invoice_id: Uuid,
    pub customer_id: Uuid,
    pub currency: &'a str,
    pub amount: Decimal,
    pub discount: Decimal,
    pub deduction: Decimal,
    pub automatic: bool,
    pub confidence: i16,
    pub method: &'a str,
    pub applied_by: &'a str,
}

pub async fn insert(
    tx: &mut Tx,
    tenant: &str,
    new: &NewApplication<'_>,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO applications
               (tenant, id, receipt_id, invoice_id, customer_id, currency, amount, discount,
                deduction, automatic, confidence, method, applied_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           RETURNING applied_at"#,
        tenant,
        new.id,
        new.receipt_id,
        new.invoice_id,
        new.customer_id,
        new.currency,
        new.amount,
        new.discount,
        new.deduction,
        new.automatic,
        new.confidence,
        new.method,
        new.applied_by,
    )
    .fetch_one(&mut **tx)
    .await
}

/// Applications matching the filters, oldest first, continuing after `after`.
pub async fn list(
    tx: &mut Tx,
    receipt_ids: Option<&[Uuid]>,
    invoice_id: Option<Uuid>,
    customer_id: Option<Uuid>,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<ApplicationRow>, sqlx::Error> {
    sqlx::query_as!(
        ApplicationRow,
        r#"SELECT a.id, a.receipt_id, a.invoice_id, o.number AS invoice_number, a.customer_id,
                  a.currency AS "currency!", a.amount, a.discount, a.deduction, a.automatic,
                  a.confidence, a.method, a.applied_by, a.applied_at, a.reversed_at,
                  a.reversal_reason
           FROM applications a
           JOIN open_items o ON o.id = a.invoice_id
           WHERE a.tenant = current_setting('app.tenant', true)
             AND ($1::uuid[] IS NULL OR a.receipt_id = ANY($1))
             AND ($2::uuid IS NULL OR a.invoice_id = $2)
             AND ($3::uuid IS NULL OR a.customer_id = $3)
             AND ($4::uuid IS NULL OR a.id > $4)
           ORDER BY a.id
           LIMIT $5"#,
        receipt_ids,
        invoice_id,
        customer_id,
        after,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

/// The application, locked, with its receipt id (lock the receipt first).
pub async fn lock(tx: &mut Tx, id: Uuid) -> Result<Option<ApplicationRow>, sqlx::Error> {
    sqlx::query_as!(
        ApplicationRow,
        r#"SELECT a.id, a.receipt_id, a.invoice_id, o.number AS invoice_number, a.customer_id,
                  a.currency AS "currency!", a.amount, a.discount, a.deduction, a.automatic,
                  a.confidence, a.method, a.applied_by, a.applied_at, a.reversed_at,
                  a.reversal_reason
           FROM applications a
           JOIN open_items o ON o.id = a.invoice_id
           WHERE a.id = $1
           FOR UPDATE OF a"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn receipt_of(tx: &mut Tx, id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT receipt_id FROM applications WHERE id = $1", id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn mark_reversed(
    tx: &mut Tx,
    id: Uuid,
    actor: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE applications SET reversed_at = now(), reversed_by = $2, reversal_reason = $3
           WHERE id = $1 AND reversed_at IS NULL"#,
        id,
        actor,
        reason
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRow {
    pub id: Uuid,
    pub receipt_id: Uuid,
    pub request_hash: String,
    pub amount: Decimal,
}

pub struct NewRefund<'a> {
    pub id: Uuid,
    pub receipt_id: Uuid,
    pub idempotency_key: &'a str,
    pub request_hash: &'a str,
    pub amount: Decimal,
    pub currency: &'a str,
    pub reason: &'a str,
    pub issued_by: &'a str,
}

/// The refund given this idempotency key before, if any.
pub async fn refund_by_key(tx: &mut Tx, key: &str) -> Result<Option<RefundRow>, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        r#"SELECT id, receipt_id, request_hash, amount FROM refunds
           WHERE tenant = current_setting('app.tenant', true) AND idempotency_key = $1"#,
        key
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn insert_refund(
    tx: &mut Tx,
    tenant: &str,
    new: &NewRefund<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO refunds
               (tenant, id, receipt_id, idempotency_key, request_hash, amount, currency, reason, issued_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"#,
        tenant,
        new.id,
        new.receipt_id,
        new.idempotency_key,
        new.request_hash,
        new.amount,
        new.currency,
        new.reason,
        new.issued_by,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts applications in one statement; returns their time.
#[allow(clippy::as_conversions)]
pub async fn insert_many(
    tx: &mut Tx,
    tenant: &str,
    rows: &[NewApplication<'_>],
) -> Result<DateTime<Utc>, sqlx::Error> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let receipts: Vec<Uuid> = rows.iter().map(|row| row.receipt_id).collect();
    let invoices: Vec<Uuid> = rows.iter().map(|row| row.invoice_id).collect();
    let customers: Vec<Uuid> = rows.iter().map(|row| row.customer_id).collect();
    let currencies: Vec<&str> = rows.iter().map(|row| row.currency).collect();
    let amounts: Vec<Decimal> = rows.iter().map(|row| row.amount).collect();
    let discounts: Vec<Decimal> = rows.iter().map(|row| row.discount).collect();
    let deductions: Vec<Decimal> = rows.iter().map(|row| row.deduction).collect();
    let automatic: Vec<bool> = rows.iter().map(|row| row.automatic).collect();
    let confidences: Vec<i16> = rows.iter().map(|row| row.confidence).collect();
    let methods: Vec<&str> = rows.iter().map(|row| row.method).collect();
    let actors: Vec<&str> = rows.iter().map(|row| row.applied_by).collect();
    sqlx::query_scalar!(
        r#"WITH inserted AS (
               INSERT INTO applications
                   (tenant, id, receipt_id, invoice_id, customer_id, currency, amount, discount,
                    deduction, automatic, confidence, method, applied_by)
               SELECT $1, * FROM UNNEST($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[],
                                        $6::text[], $7::numeric[], $8::numeric[],
                                        $9::numeric[], $10::bool[], $11::int2[], $12::text[],
                                        $13::text[])
               RETURNING applied_at)
           SELECT COALESCE(MAX(applied_at), now()) AS "applied_at!" FROM inserted"#,
        tenant,
        &ids,
        &receipts,
        &invoices,
        &customers,
        &currencies as &[&str],
        &amounts,
        &discounts,
        &deductions,
        &automatic,
        &confidences,
        &methods as &[&str],
        &actors as &[&str],
    )
    .fetch_one(&mut **tx)
    .await
}

//! Receipts: money in, with what of it is applied, unapplied, refunded or
//! reversed (the database checks that they add up at every commit).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReceiptRow {
    pub id: Uuid,
    pub source_key: String,
    pub request_hash: String,
    pub channel: String,
    pub customer_id: Option<Uuid>,
    pub currency: String,
    pub amount: Decimal,
    pub applied: Decimal,
    pub unapplied: Decimal,
    pub refunded: Decimal,
    pub reversed: Decimal,
    pub value_date: NaiveDate,
    pub payer_name: String,
    pub payer_account: String,
    pub remittance: String,
    pub external_reference: String,
    pub statement_id: Option<Uuid>,
    pub match_state: String,
    pub suggestions: serde_json::Value,
    pub reversal_reason: Option<String>,
    pub received_at: DateTime<Utc>,
}

pub struct NewReceipt<'a> {
    pub id: Uuid,
    pub source_key: &'a str,
    pub request_hash: &'a str,
    pub channel: &'a str,
    pub customer_id: Option<Uuid>,
    pub currency: &'a str,
    pub amount: Decimal,
    pub value_date: NaiveDate,
    pub payer_name: &'a str,
    pub payer_account: &'a str,
    pub remittance: &'a str,
    pub external_reference: &'a str,
    pub statement_id: Option<Uuid>,
    pub received_by: &'a str,
}

/// Inserts the receipt unless its source key was seen: `None` then.
pub async fn insert(tx: &mut Tx, tenant: &str, new: &NewReceipt<'_>) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO receipts
               (tenant, id, source_key, request_hash, channel, customer_id, currency, amount,
                unapplied, value_date, payer_name, payer_account, remittance, external_reference,
                statement_id, received_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (tenant, source_key) DO NOTHING
           RETURNING id"#,
        tenant,
        new.id,
        new.source_key,
        new.request_hash,
        new.channel,
        new.customer_id,
        new.currency,
        new.amount,
        new.value_date,
        new.payer_name,
        new.payer_account,
        new.remittance,
        new.external_reference,
        new.statement_id,
        new.received_by,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(inserted.is_some())
}

const COLUMNS: &str = "id, source_key, request_hash, channel, customer_id, currency, amount, \
     applied, unapplied, refunded, reversed, value_date, payer_name, payer_account, remittance, \
     external_reference, statement_id, match_state, suggestions, reversal_reason, received_at";

pub async fn by_source_key(
    tx: &mut Tx,
    source_key: &str,
) -> Result<Option<ReceiptRow>, sqlx::Error> {
    sqlx::query_as::<_, ReceiptRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM receipts \
         WHERE tenant = current_setting('app.tenant', true) AND source_key = $1"
    )))
    .bind(source_key)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<ReceiptRow>, sqlx::Error> {
    sqlx::query_as::<_, ReceiptRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM receipts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// The receipt, locked until the transaction ends (every change to its
/// balances goes through this).
pub async fn lock(tx: &mut Tx, id: Uuid) -> Result<Option<ReceiptRow>, sqlx::Error> {
    sqlx::query_as::<_, ReceiptRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM receipts WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// Writes the balances and match state of a locked receipt.
pub async fn update(tx: &mut Tx, row: &ReceiptRow) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE receipts
           SET customer_id = $2, applied = $3, unapplied = $4, refunded = $5, reversed = $6,
               match_state = $7, suggestions = $8, reversal_reason = $9, updated_at = now()
           WHERE id = $1"#,
        row.id,
        row.customer_id,
        row.applied,
        row.unapplied,
        row.refunded,
        row.reversed,
        row.match_state,
        row.suggestions,
        row.reversal_reason,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct ReceiptFilter {
    pub customer_id: Option<Uuid>,
    pub channel: Option<String>,
    pub status: Option<String>,
    pub value_date_from: Option<NaiveDate>,
    pub value_date_to: Option<NaiveDate>,
    pub exceptions_only: bool,
    pub unapplied_only: bool,
}

/// A page of receipts, newest first (exceptions: oldest first, the queue's
/// order), continuing after `after`.
pub async fn list(
    tx: &mut Tx,
    filter: &ReceiptFilter,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<ReceiptRow>, sqlx::Error> {
    // Receipt ids are UUID v7 (time-ordered), so the id is the keyset.
    let (order, comparison) = if filter.exceptions_only {
        ("ASC", ">")
    } else {
        ("DESC", "<")
    };
    sqlx::query_as::<_, ReceiptRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM receipts
         WHERE tenant = current_setting('app.tenant', true)
           AND ($1::uuid IS NULL OR customer_id = $1)
           AND ($2::text IS NULL OR channel = $2)
           AND ($3::text IS NULL OR {STATUS} = $3)
           AND ($4::date IS NULL OR value_date >= $4)
           AND ($5::date IS NULL OR value_date <= $5)
           AND (NOT $6 OR match_state = 'exception')
           AND (NOT $7 OR unapplied > 0)
           AND ($8::uuid IS NULL OR id {comparison} $8)
         ORDER BY id {order}
         LIMIT $9"
    )))
    .bind(filter.customer_id)
    .bind(filter.channel.as_deref())
    .bind(filter.status.as_deref())
    .bind(filter.value_date_from)
    .bind(filter.value_date_to)
    .bind(filter.exceptions_only)
    .bind(filter.unapplied_only)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// The receipt status as SQL, the same rule as `domain::receipt_status`.
const STATUS: &str = "(CASE WHEN reversed > 0 THEN 'REVERSED' \
     WHEN applied = amount THEN 'APPLIED' \
     WHEN applied > 0 THEN 'PARTIALLY_APPLIED' \
     WHEN refunded > 0 AND unapplied = 0 THEN 'REFUNDED' \
     ELSE 'UNAPPLIED' END)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotals {
    pub currency: String,
    pub received: Decimal,
    pub applied: Decimal,
    pub unapplied: Decimal,
    pub refunded: Decimal,
    pub reversed: Decimal,
}

/// Per currency: cash received (net of reversals), applied, unapplied,
/// refunded and reversed; optionally for one customer.
pub async fn totals(
    tx: &mut Tx,
    customer_id: Option<Uuid>,
) -> Result<Vec<CurrencyTotals>, sqlx::Error> {
    sqlx::query_as!(
        CurrencyTotals,
        r#"SELECT currency AS "currency!",
                  SUM(amount - reversed) AS "received!",
                  SUM(applied) AS "applied!",
                  SUM(unapplied) AS "unapplied!",
                  SUM(refunded) AS "refunded!",
                  SUM(reversed) AS "reversed!"
           FROM receipts
           WHERE tenant = current_setting('app.tenant', true)
             AND ($1::uuid IS NULL OR customer_id = $1)
           GROUP BY currency
           ORDER BY currency"#,
        customer_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// Tenants with receipts in the exception queue.
pub async fn tenants_with_exceptions(tx: &mut Tx) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT DISTINCT tenant FROM receipts WHERE match_state = 'exception' ORDER BY tenant"
    )
    .fetch_all(&mut **tx)
    .await
}

/// Exception receipts that an item projected since their last match may
/// now settle, locked (others working the queue skip them). Projection
/// times are transaction start times, and an item committed a little after
/// a receipt's match may carry an earlier time: the margin covers that (a
/// receipt is then matched once or twice more, which changes nothing).
pub async fn lock_exceptions_to_rematch(tx: &mut Tx, limit: i64) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT r.id FROM receipts r
           WHERE r.tenant = current_setting('app.tenant', true)
             AND r.match_state = 'exception'
             AND EXISTS (SELECT 1 FROM open_items o
                         WHERE o.tenant = r.tenant
                           AND o.projected_at > r.updated_at - interval '2 minutes')
           ORDER BY r.id
           LIMIT $1
           FOR UPDATE SKIP LOCKED"#,
        limit
    )
    .fetch_all(&mut **tx)
    .await
}

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
    update_many(tx, std::slice::from_ref(row)).await
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
     WHEN unapplied = 0 AND applied > 0 THEN 'APPLIED' \
     WHEN unapplied = 0 AND refunded > 0 THEN 'REFUNDED' \
     WHEN applied > 0 THEN 'PARTIALLY_APPLIED' \
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

/// Inserts receipts whose source key is new; returns the ids inserted.
#[allow(clippy::as_conversions)]
pub async fn insert_many(
    tx: &mut Tx,
    tenant: &str,
    receipts: &[NewReceipt<'_>],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let ids: Vec<Uuid> = receipts.iter().map(|r| r.id).collect();
    let keys: Vec<&str> = receipts.iter().map(|r| r.source_key).collect();
    let hashes: Vec<&str> = receipts.iter().map(|r| r.request_hash).collect();
    let channels: Vec<&str> = receipts.iter().map(|r| r.channel).collect();
    let customers: Vec<Option<Uuid>> = receipts.iter().map(|r| r.customer_id).collect();
    let currencies: Vec<&str> = receipts.iter().map(|r| r.currency).collect();
    let amounts: Vec<Decimal> = receipts.iter().map(|r| r.amount).collect();
    let dates: Vec<NaiveDate> = receipts.iter().map(|r| r.value_date).collect();
    let names: Vec<&str> = receipts.iter().map(|r| r.payer_name).collect();
    let accounts: Vec<&str> = receipts.iter().map(|r| r.payer_account).collect();
    let remittances: Vec<&str> = receipts.iter().map(|r| r.remittance).collect();
    let references: Vec<&str> = receipts.iter().map(|r| r.external_reference).collect();
    let statements: Vec<Option<Uuid>> = receipts.iter().map(|r| r.statement_id).collect();
    let actors: Vec<&str> = receipts.iter().map(|r| r.received_by).collect();
    sqlx::query_scalar!(
        r#"INSERT INTO receipts
               (tenant, id, source_key, request_hash, channel, customer_id, currency, amount,
                unapplied, value_date, payer_name, payer_account, remittance, external_reference,
                statement_id, received_by)
           SELECT $1, id, source_key, request_hash, channel, customer_id, currency, amount,
                  amount, value_date, payer_name, payer_account, remittance, external_reference,
                  statement_id, received_by
           FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[],
                       $8::numeric[], $9::date[], $10::text[], $11::text[], $12::text[],
                       $13::text[], $14::uuid[], $15::text[])
                AS r(id, source_key, request_hash, channel, customer_id, currency, amount,
                     value_date, payer_name, payer_account, remittance, external_reference,
                     statement_id, received_by)
           ON CONFLICT (tenant, source_key) DO NOTHING
           RETURNING id"#,
        tenant,
        &ids,
        &keys as &[&str],
        &hashes as &[&str],
        &channels as &[&str],
        &customers as &[Option<Uuid>],
        &currencies as &[&str],
        &amounts,
        &dates,
        &names as &[&str],
        &accounts as &[&str],
        &remittances as &[&str],
        &references as &[&str],
        &statements as &[Option<Uuid>],
        &actors as &[&str],
    )
    .fetch_all(&mut **tx)
    .await
}

/// The receipts with these ids, locked, in id order.
pub async fn lock_many(tx: &mut Tx, ids: &[Uuid]) -> Result<Vec<ReceiptRow>, sqlx::Error> {
    sqlx::query_as::<_, ReceiptRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM receipts WHERE id = ANY($1) ORDER BY id FOR UPDATE"
    )))
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
}

/// Writes the balances and match state of locked receipts in one statement.
#[allow(clippy::as_conversions)]
pub async fn update_many(tx: &mut Tx, rows: &[ReceiptRow]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let customers: Vec<Option<Uuid>> = rows.iter().map(|row| row.customer_id).collect();
    let applied: Vec<Decimal> = rows.iter().map(|row| row.applied).collect();
    let unapplied: Vec<Decimal> = rows.iter().map(|row| row.unapplied).collect();
    let refunded: Vec<Decimal> = rows.iter().map(|row| row.refunded).collect();
    let reversed: Vec<Decimal> = rows.iter().map(|row| row.reversed).collect();
    let states: Vec<&str> = rows.iter().map(|row| row.match_state.as_str()).collect();
    let suggestions: Vec<serde_json::Value> =
        rows.iter().map(|row| row.suggestions.clone()).collect();
    let reasons: Vec<Option<String>> = rows.iter().map(|row| row.reversal_reason.clone()).collect();
    sqlx::query!(
        r#"UPDATE receipts AS r
           SET customer_id = u.customer_id, applied = u.applied, unapplied = u.unapplied,
               refunded = u.refunded, reversed = u.reversed, match_state = u.match_state,
               suggestions = u.suggestions, reversal_reason = u.reversal_reason, updated_at = now()
           FROM UNNEST($1::uuid[], $2::uuid[], $3::numeric[], $4::numeric[], $5::numeric[],
                       $6::numeric[], $7::text[], $8::jsonb[], $9::text[])
                AS u(id, customer_id, applied, unapplied, refunded, reversed, match_state,
                     suggestions, reversal_reason)
           WHERE r.id = u.id"#,
        &ids,
        &customers as &[Option<Uuid>],
        &applied,
        &unapplied,
        &refunded,
        &reversed,
        &states as &[&str],
        &suggestions,
        &reasons as &[Option<String>],
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

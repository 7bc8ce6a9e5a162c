//! The open-item projection: invoices and debit notes from billing events,
//! reduced by credit notes and by what cash application settled.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItemRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: String,
    pub number: String,
    pub currency: String,
    pub total: Decimal,
    pub open_amount: Decimal,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub discount_date: Option<NaiveDate>,
    pub discount_amount: Decimal,
}

pub struct NewOpenItem<'a> {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: &'a str,
    pub number: &'a str,
    pub match_key: &'a str,
    pub currency: &'a str,
    pub total: Decimal,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub discount_date: Option<NaiveDate>,
    pub discount_amount: Decimal,
    pub issued_at: DateTime<Utc>,
}

/// Projects an issued invoice or debit note once; credit notes that came
/// first are counted in.
pub async fn insert(tx: &mut Tx, tenant: &str, item: &NewOpenItem<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO open_items
               (tenant, id, customer_id, kind, number, match_key, currency, total, credited,
                issue_date, due_date, discount_date, discount_amount, issued_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                   (SELECT COALESCE(SUM(amount), 0) FROM credit_notes WHERE invoice_id = $2),
                   $9, $10, $11, $12, $13)
           ON CONFLICT (id) DO NOTHING"#,
        tenant,
        item.id,
        item.customer_id,
        item.kind,
        item.number,
        item.match_key,
        item.currency,
        item.total,
        item.issue_date,
        item.due_date,
        item.discount_date,
        item.discount_amount,
        item.issued_at,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub struct NewCreditNote<'a> {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub number: &'a str,
    pub amount: Decimal,
    pub currency: &'a str,
    pub issued_at: DateTime<Utc>,
}

/// Records a credit note once and reduces its invoice's open amount.
pub async fn add_credit_note(
    tx: &mut Tx,
    tenant: &str,
    note: &NewCreditNote<'_>,
) -> Result<(), sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO credit_notes (tenant, id, invoice_id, number, amount, currency, issued_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (id) DO NOTHING
           RETURNING id"#,
        tenant,
        note.id,
        note.invoice_id,
        note.number,
        note.amount,
        note.currency,
        note.issued_at,
    )
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_some() {
        sqlx::query!(
            "UPDATE open_items SET credited = credited + $2 WHERE id = $1",
            note.invoice_id,
            note.amount
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Open items whose number key is one of `keys` (any customer).
pub async fn by_keys(tx: &mut Tx, keys: &[String]) -> Result<Vec<OpenItemRow>, sqlx::Error> {
    sqlx::query_as!(
        OpenItemRow,
        r#"SELECT id, customer_id, kind, number, currency, total, open_amount AS "open_amount!",
                  issue_date, due_date, discount_date, discount_amount
           FROM open_items
           WHERE tenant = current_setting('app.tenant', true) AND match_key = ANY($1)
             AND open_amount > 0
           ORDER BY number"#,
        keys
    )
    .fetch_all(&mut **tx)
    .await
}

/// Re-opens what an application had settled.
pub async fn reopen(
    tx: &mut Tx,
    id: Uuid,
    cash: Decimal,
    discount: Decimal,
    deduction: Decimal,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE open_items
           SET cash_applied = cash_applied - $2,
               discount_taken = discount_taken - $3,
               deducted = deducted - $4
           WHERE id = $1"#,
        id,
        cash,
        discount,
        deduction,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Per customer and currency: invoices and debit notes - credit notes -
/// cash applied - discounts taken (what the customer still owes, disputed
/// deductions included), for the cross-service ledger check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerBalance {
    pub customer_id: Uuid,
    pub currency: String,
    pub balance: Decimal,
}

pub async fn balances(
    tx: &mut Tx,
    customer_id: Option<Uuid>,
) -> Result<Vec<CustomerBalance>, sqlx::Error> {
    sqlx::query_as!(
        CustomerBalance,
        r#"SELECT customer_id, currency AS "currency!",
                  SUM(total - credited - cash_applied - discount_taken) AS "balance!"
           FROM open_items
           WHERE tenant = current_setting('app.tenant', true)
             AND ($1::uuid IS NULL OR customer_id = $1)
           GROUP BY customer_id, currency
           ORDER BY customer_id, currency"#,
        customer_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// Locks and reads the open items cash application may settle for a batch
/// of receipts: those named by id and those of the customers (at most
/// `per_customer` each, oldest due first), in id order so that concurrent
/// batches lock in the same order. Nobody else can settle them until the
/// transaction ends, so what is decided from them stays true.
pub async fn lock_candidates(
    tx: &mut Tx,
    customers: &[Uuid],
    ids: &[Uuid],
    per_customer: i64,
) -> Result<Vec<OpenItemRow>, sqlx::Error> {
    sqlx::query_as!(
        OpenItemRow,
        r#"SELECT id, customer_id, kind, number, currency, total, open_amount AS "open_amount!",
                  issue_date, due_date, discount_date, discount_amount
           FROM open_items
           WHERE id IN (
               SELECT id FROM open_items WHERE id = ANY($2) AND open_amount > 0
               UNION
               SELECT id FROM (
                   SELECT id, row_number() OVER (PARTITION BY customer_id
                                                 ORDER BY due_date, number) AS rank
                   FROM open_items
                   WHERE tenant = current_setting('app.tenant', true)
                     AND customer_id = ANY($1) AND open_amount > 0) ranked
               WHERE rank <= $3)
           ORDER BY id
           FOR UPDATE"#,
        customers,
        ids,
        per_customer,
    )
    .fetch_all(&mut **tx)
    .await
}

/// Locks and reads the items with these ids (any open amount).
pub async fn lock_by_ids(tx: &mut Tx, ids: &[Uuid]) -> Result<Vec<OpenItemRow>, sqlx::Error> {
    sqlx::query_as!(
        OpenItemRow,
        r#"SELECT id, customer_id, kind, number, currency, total, open_amount AS "open_amount!",
                  issue_date, due_date, discount_date, discount_amount
           FROM open_items WHERE id = ANY($1) ORDER BY id FOR UPDATE"#,
        ids
    )
    .fetch_all(&mut **tx)
    .await
}

/// Settles locked items (amounts summed per item by the caller); returns how
/// many were updated (each only if that much was still open).
pub async fn settle_many(
    tx: &mut Tx,
    ids: &[Uuid],
    cash: &[Decimal],
    discount: &[Decimal],
    deduction: &[Decimal],
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE open_items AS o
           SET cash_applied = o.cash_applied + s.cash,
               discount_taken = o.discount_taken + s.discount,
               deducted = o.deducted + s.deduction
           FROM UNNEST($1::uuid[], $2::numeric[], $3::numeric[], $4::numeric[])
                AS s(id, cash, discount, deduction)
           WHERE o.id = s.id AND o.open_amount >= s.cash + s.discount + s.deduction"#,
        ids,
        cash,
        discount,
        deduction,
    )
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}

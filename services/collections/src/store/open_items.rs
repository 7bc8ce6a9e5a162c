//! Open items: invoices and debit notes, each with the open amount its
//! posted movements add up to.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: String,
    pub number: String,
    pub currency: String,
    pub original_amount: Decimal,
    pub open_amount: Decimal,
    pub functional_currency: Option<String>,
    pub functional_original: Option<Decimal>,
    pub functional_open: Option<Decimal>,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
}

pub struct NewItem<'a> {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: &'a str,
    pub number: &'a str,
    pub corrects_invoice_id: Option<Uuid>,
    pub currency: &'a str,
    pub original_amount: Decimal,
    /// The functional currency and the item's amount in it, if billing gave it.
    pub functional: Option<(String, Decimal)>,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub issued_at: DateTime<Utc>,
}

/// Serialises everything that touches one item until the transaction ends,
/// including before the item exists: a movement parked for a missing item
/// and the item's arrival must not pass each other unseen.
pub async fn lock_key(tx: &mut Tx, item_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"SELECT true AS "locked!" FROM pg_advisory_xact_lock(hashtextextended($1::uuid::text, 0))"#,
        item_id
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts an item with nothing open yet (its own movement opens it);
/// `false` if it was there already.
pub async fn insert(tx: &mut Tx, tenant: &str, item: &NewItem<'_>) -> Result<bool, sqlx::Error> {
    let (functional_currency, functional_original) = match &item.functional {
        Some((currency, amount)) => (Some(currency.as_str()), Some(*amount)),
        None => (None, None),
    };
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO open_items
               (tenant, id, customer_id, kind, number, corrects_invoice_id, currency,
                original_amount, open_amount, functional_currency, functional_original,
                functional_open, issue_date, due_date, issued_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10,
                   CASE WHEN $10::numeric IS NULL THEN NULL ELSE 0 END, $11, $12, $13)
           ON CONFLICT (tenant, id) DO NOTHING
           RETURNING id"#,
        tenant,
        item.id,
        item.customer_id,
        item.kind,
        item.number,
        item.corrects_invoice_id,
        item.currency,
        item.original_amount,
        functional_currency,
        functional_original,
        item.issue_date,
        item.due_date,
        item.issued_at,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(inserted.is_some())
}

pub async fn lock(tx: &mut Tx, id: Uuid) -> Result<Option<ItemRow>, sqlx::Error> {
    sqlx::query_as!(
        ItemRow,
        r#"SELECT id, customer_id, kind, number, currency, original_amount, open_amount,
                  functional_currency, functional_original, functional_open, issue_date, due_date
           FROM open_items WHERE tenant = current_setting('app.tenant', true) AND id = $1
           FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Adds a posted movement to the item's open amounts.
pub async fn add(
    tx: &mut Tx,
    id: Uuid,
    amount: Decimal,
    functional: Option<Decimal>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE open_items
           SET open_amount = open_amount + $2, functional_open = functional_open + $3
           WHERE tenant = current_setting('app.tenant', true) AND id = $1"#,
        id,
        amount,
        functional,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub customer_id: Option<Uuid>,
    pub currency: Option<String>,
    /// Only items due before this date (an overdue filter is one of these).
    pub due_before: Option<NaiveDate>,
    pub include_settled: bool,
}

/// A page of items in id order, after `after`.
pub async fn page(
    tx: &mut Tx,
    filter: &ItemFilter,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<ItemRow>, sqlx::Error> {
    sqlx::query_as!(
        ItemRow,
        r#"SELECT id, customer_id, kind, number, currency, original_amount, open_amount,
                  functional_currency, functional_original, functional_open, issue_date, due_date
           FROM open_items
           WHERE tenant = current_setting('app.tenant', true)
             AND ($1::uuid IS NULL OR customer_id = $1)
             AND ($2::text IS NULL OR currency = $2)
             AND ($3::date IS NULL OR due_date < $3)
             AND ($4 OR open_amount <> 0)
             AND ($5::uuid IS NULL OR id > $5)
           ORDER BY id
           LIMIT $6"#,
        filter.customer_id,
        filter.currency,
        filter.due_before,
        filter.include_settled,
        after,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

/// A customer's balance in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceRow {
    pub currency: String,
    pub balance: Decimal,
    pub open_items: i64,
    pub overdue: Decimal,
    /// Set only when every item of the currency has a functional amount in
    /// one and the same functional currency.
    pub functional_currency: Option<String>,
    pub functional_balance: Option<Decimal>,
}

/// invoices - credit notes + debit notes - applied cash - discounts, per
/// currency (the sum of every posted movement), with what is past due on `today`.
pub async fn balances(
    tx: &mut Tx,
    customer_id: Uuid,
    today: NaiveDate,
) -> Result<Vec<BalanceRow>, sqlx::Error> {
    sqlx::query_as!(
        BalanceRow,
        r#"SELECT currency AS "currency!", SUM(open_amount) AS "balance!",
                  COUNT(*) FILTER (WHERE open_amount <> 0) AS "open_items!",
                  COALESCE(SUM(open_amount) FILTER (WHERE open_amount > 0 AND due_date < $2), 0)
                      AS "overdue!",
                  CASE WHEN bool_and(functional_open IS NOT NULL)
                        AND COUNT(DISTINCT functional_currency) = 1
                       THEN MIN(functional_currency) END AS functional_currency,
                  CASE WHEN bool_and(functional_open IS NOT NULL)
                        AND COUNT(DISTINCT functional_currency) = 1
                       THEN SUM(functional_open) END AS functional_balance
           FROM open_items
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1
           GROUP BY currency
           ORDER BY currency"#,
        customer_id,
        today,
    )
    .fetch_all(&mut **tx)
    .await
}

//! What a customer statement is read from: the posted movements before the
//! range summed per currency, those in the range in date order, each item's
//! open amount at the end of the range, and the customer's name and
//! billing address. Bounds are instants: `[from, until)`.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;
use crate::domain::statement::{ItemPosition, Opening, StatementMovement};

/// The customer as a statement names them.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementParty {
    pub legal_name: String,
    pub billing_address: Option<serde_json::Value>,
}

pub async fn party(tx: &mut Tx, customer_id: Uuid) -> Result<Option<StatementParty>, sqlx::Error> {
    sqlx::query_as!(
        StatementParty,
        r#"SELECT legal_name, billing_address FROM customers
           WHERE tenant = current_setting('app.tenant', true) AND id = $1"#,
        customer_id
    )
    .fetch_optional(&mut **tx)
    .await
}

struct OpeningRow {
    currency: String,
    amount: Decimal,
    functional_complete: bool,
    functional_currency: Option<String>,
    functional_amount: Option<Decimal>,
}

/// Posted movements dated before `before`, summed per currency.
pub async fn openings(
    tx: &mut Tx,
    customer_id: Uuid,
    before: DateTime<Utc>,
    currency: Option<&str>,
) -> Result<Vec<Opening>, sqlx::Error> {
    let rows = sqlx::query_as!(
        OpeningRow,
        r#"SELECT currency::text AS "currency!", SUM(amount) AS "amount!",
                  (bool_and(functional_amount IS NOT NULL)
                   AND COUNT(DISTINCT functional_currency) = 1) AS "functional_complete!",
                  MIN(functional_currency::text) AS functional_currency,
                  SUM(functional_amount) AS functional_amount
           FROM ledger_movements
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1
             AND posted_at IS NOT NULL AND occurred_at < $2
             AND ($3::text IS NULL OR currency = $3)
           GROUP BY currency
           ORDER BY currency"#,
        customer_id,
        before,
        currency,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Opening {
            functional: match (
                row.functional_complete,
                row.functional_amount,
                row.functional_currency,
            ) {
                (true, Some(amount), Some(code)) => Some((amount, code)),
                _ => None,
            },
            currency: row.currency,
            amount: row.amount,
        })
        .collect())
}

/// Posted movements dated in `[from, until)`, in date order, at most
/// `limit` of them.
pub async fn movements(
    tx: &mut Tx,
    customer_id: Uuid,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    currency: Option<&str>,
    limit: i64,
) -> Result<Vec<StatementMovement>, sqlx::Error> {
    sqlx::query_as!(
        StatementMovement,
        r#"SELECT m.id AS "id!", m.item_id AS "item_id!", o.number AS "item_number!",
                  m.kind AS "kind!", m.document_id AS "document_id!",
                  m.currency::text AS "currency!", m.amount AS "amount!",
                  m.functional_currency::text AS functional_currency, m.functional_amount,
                  m.occurred_at AS "occurred_at!"
           FROM ledger_movements m
           JOIN open_items o ON o.tenant = m.tenant AND o.id = m.item_id
           WHERE m.tenant = current_setting('app.tenant', true) AND m.customer_id = $1
             AND m.posted_at IS NOT NULL AND m.occurred_at >= $2 AND m.occurred_at < $3
             AND ($4::text IS NULL OR m.currency = $4)
           ORDER BY m.occurred_at, m.id
           LIMIT $5"#,
        customer_id,
        from,
        until,
        currency,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

/// Each item's open amount from its posted movements dated before `until`
/// (items with nothing open left out).
pub async fn positions(
    tx: &mut Tx,
    customer_id: Uuid,
    until: DateTime<Utc>,
    currency: Option<&str>,
) -> Result<Vec<ItemPosition>, sqlx::Error> {
    sqlx::query_as!(
        ItemPosition,
        r#"SELECT o.id AS "item_id!", o.currency::text AS "currency!", o.due_date AS "due_date!",
                  SUM(m.amount) AS "open!"
           FROM ledger_movements m
           JOIN open_items o ON o.tenant = m.tenant AND o.id = m.item_id
           WHERE m.tenant = current_setting('app.tenant', true) AND m.customer_id = $1
             AND m.posted_at IS NOT NULL AND m.occurred_at < $2
             AND ($3::text IS NULL OR m.currency = $3)
           GROUP BY o.id, o.currency, o.due_date
           HAVING SUM(m.amount) <> 0
           ORDER BY o.due_date, o.id"#,
        customer_id,
        until,
        currency,
    )
    .fetch_all(&mut **tx)
    .await
}

/// The start of `date` (UTC).
pub fn start_of(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

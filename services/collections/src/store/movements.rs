//! Ledger movements: one row per effect of an event on an item, parked
//! until the item is known, then posted.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;

pub struct NewMovement<'a> {
    pub item_id: Uuid,
    pub customer_id: Uuid,
    pub kind: &'a str,
    pub document_id: Uuid,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub currency: &'a str,
    /// Signed: positive raises what is owed.
    pub amount: Decimal,
    /// What the event gave in the functional currency, if anything.
    pub functional: Option<(Decimal, &'a str)>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementRow {
    pub id: Uuid,
    pub item_id: Uuid,
    pub customer_id: Uuid,
    pub kind: String,
    pub document_id: Uuid,
    pub event_id: String,
    pub currency: String,
    pub amount: Decimal,
    pub functional_currency: Option<String>,
    pub functional_amount: Option<Decimal>,
    pub occurred_at: DateTime<Utc>,
    pub posted_at: Option<DateTime<Utc>>,
}

/// Records a movement, parked; `None` if this event or this document already
/// moved the item this way (a redelivery or a re-publication).
pub async fn insert(
    tx: &mut Tx,
    tenant: &str,
    movement: &NewMovement<'_>,
) -> Result<Option<MovementRow>, sqlx::Error> {
    let (functional_amount, functional_currency) = movement.functional.unzip();
    sqlx::query_as!(
        MovementRow,
        r#"INSERT INTO ledger_movements
               (tenant, id, item_id, customer_id, kind, document_id, event_id, event_type,
                currency, amount, functional_currency, functional_amount, occurred_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT DO NOTHING
           RETURNING id, item_id, customer_id, kind, document_id, event_id, currency, amount,
                     functional_currency, functional_amount, occurred_at, posted_at"#,
        tenant,
        Uuid::now_v7(),
        movement.item_id,
        movement.customer_id,
        movement.kind,
        movement.document_id,
        movement.event_id,
        movement.event_type,
        movement.currency,
        movement.amount,
        functional_currency,
        functional_amount,
        movement.occurred_at,
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The movements waiting for `item_id`, in the order they arrived.
pub async fn parked_for(tx: &mut Tx, item_id: Uuid) -> Result<Vec<MovementRow>, sqlx::Error> {
    sqlx::query_as!(
        MovementRow,
        r#"SELECT id, item_id, customer_id, kind, document_id, event_id, currency, amount,
                  functional_currency, functional_amount, occurred_at, posted_at
           FROM ledger_movements
           WHERE tenant = current_setting('app.tenant', true) AND item_id = $1
             AND posted_at IS NULL
           ORDER BY recorded_at, id"#,
        item_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// Posts a parked movement to its item's customer, with its final
/// functional amount; `false` if it was posted already.
pub async fn post(
    tx: &mut Tx,
    id: Uuid,
    customer_id: Uuid,
    functional: Option<(Decimal, &str)>,
) -> Result<bool, sqlx::Error> {
    let (functional_amount, functional_currency) = functional.unzip();
    let updated = sqlx::query!(
        r#"UPDATE ledger_movements
           SET posted_at = now(), customer_id = $2, functional_amount = $3,
               functional_currency = $4
           WHERE tenant = current_setting('app.tenant', true) AND id = $1
             AND posted_at IS NULL"#,
        id,
        customer_id,
        functional_amount,
        functional_currency,
    )
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

#[derive(Debug, Clone, Default)]
pub struct MovementFilter {
    pub customer_id: Option<Uuid>,
    pub item_id: Option<Uuid>,
    pub parked_only: bool,
}

pub async fn page(
    tx: &mut Tx,
    filter: &MovementFilter,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<MovementRow>, sqlx::Error> {
    sqlx::query_as!(
        MovementRow,
        r#"SELECT id, item_id, customer_id, kind, document_id, event_id, currency, amount,
                  functional_currency, functional_amount, occurred_at, posted_at
           FROM ledger_movements
           WHERE tenant = current_setting('app.tenant', true)
             AND ($1::uuid IS NULL OR customer_id = $1)
             AND ($2::uuid IS NULL OR item_id = $2)
             AND (NOT $3 OR posted_at IS NULL)
             AND ($4::uuid IS NULL OR id > $4)
           ORDER BY id
           LIMIT $5"#,
        filter.customer_id,
        filter.item_id,
        filter.parked_only,
        after,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

/// How many movements of a customer wait for their item.
pub async fn parked_count(tx: &mut Tx, customer_id: Uuid) -> Result<i64, sqlx::Error> {
    let count = sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "count!" FROM ledger_movements
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1
             AND posted_at IS NULL"#,
        customer_id
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(count)
}

//! Unbilled orders and the shipments taken out of them (see
//! [`crate::domain::orders`] for the rule).

use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;
use crate::domain::orders::OrderState;

pub struct OrderFigures<'a> {
    pub order_id: Uuid,
    pub customer_id: Uuid,
    pub currency: &'a str,
    pub total: Decimal,
}

/// Sets an order's total and state (a new order, an approval, a credit
/// decision); an ended order stays ended.
pub async fn set(
    tx: &mut Tx,
    tenant: &str,
    order: &OrderFigures<'_>,
    state: OrderState,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO unbilled_orders (tenant, order_id, customer_id, currency, order_total, state)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant, order_id) DO UPDATE SET
               customer_id = EXCLUDED.customer_id,
               currency = EXCLUDED.currency,
               order_total = EXCLUDED.order_total,
               state = EXCLUDED.state,
               updated_at = now()
           WHERE unbilled_orders.state <> 'ended'"#,
        tenant,
        order.order_id,
        order.customer_id,
        order.currency,
        order.total,
        state.as_str(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An order as stored: what a credit check of other orders counts of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub order_id: Uuid,
    pub customer_id: Uuid,
    pub currency: String,
    pub order_total: Decimal,
    pub shipped: Decimal,
    pub state: String,
}

/// The known orders among `order_ids`.
pub async fn read_many(tx: &mut Tx, order_ids: &[Uuid]) -> Result<Vec<OrderRow>, sqlx::Error> {
    sqlx::query_as!(
        OrderRow,
        r#"SELECT order_id, customer_id, currency, order_total, shipped, state
           FROM unbilled_orders
           WHERE tenant = current_setting('app.tenant', true) AND order_id = ANY($1)"#,
        order_ids
    )
    .fetch_all(&mut **tx)
    .await
}

/// [`set`] for several orders in one statement (each order id once).
pub async fn set_many(
    tx: &mut Tx,
    tenant: &str,
    orders: &[(OrderFigures<'_>, OrderState)],
) -> Result<(), sqlx::Error> {
    let mut order_ids = Vec::with_capacity(orders.len());
    let mut customer_ids = Vec::with_capacity(orders.len());
    let mut currencies = Vec::with_capacity(orders.len());
    let mut totals = Vec::with_capacity(orders.len());
    let mut states = Vec::with_capacity(orders.len());
    for (order, state) in orders {
        order_ids.push(order.order_id);
        customer_ids.push(order.customer_id);
        currencies.push(order.currency.to_owned());
        totals.push(order.total);
        states.push(state.as_str().to_owned());
    }
    sqlx::query!(
        r#"INSERT INTO unbilled_orders (tenant, order_id, customer_id, currency, order_total, state)
           SELECT $1, order_id, customer_id, currency, total, state
           FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::numeric[], $6::text[])
                AS o(order_id, customer_id, currency, total, state)
           ON CONFLICT (tenant, order_id) DO UPDATE SET
               customer_id = EXCLUDED.customer_id,
               currency = EXCLUDED.currency,
               order_total = EXCLUDED.order_total,
               state = EXCLUDED.state,
               updated_at = now()
           WHERE unbilled_orders.state <> 'ended'"#,
        tenant,
        &order_ids,
        &customer_ids,
        &currencies,
        &totals,
        &states,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A new total (an amendment); an order not seen before starts in `state`.
pub async fn amend(
    tx: &mut Tx,
    tenant: &str,
    order: &OrderFigures<'_>,
    state_if_new: OrderState,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO unbilled_orders (tenant, order_id, customer_id, currency, order_total, state)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant, order_id) DO UPDATE SET
               order_total = EXCLUDED.order_total,
               currency = EXCLUDED.currency,
               updated_at = now()
           WHERE unbilled_orders.state <> 'ended'"#,
        tenant,
        order.order_id,
        order.customer_id,
        order.currency,
        order.total,
        state_if_new.as_str(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What `OrderPutOnCreditHold` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldOutcome {
    /// The order is now held (or was not known: held by someone else's check).
    Held,
    /// The event is older than what is known (the order was approved by a
    /// later credit check, or has ended): nothing changes.
    Stale,
}

pub async fn put_on_hold(tx: &mut Tx, order_id: Uuid) -> Result<HoldOutcome, sqlx::Error> {
    let state = sqlx::query_scalar!(
        r#"SELECT state FROM unbilled_orders
           WHERE tenant = current_setting('app.tenant', true) AND order_id = $1 FOR UPDATE"#,
        order_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    match state.as_deref() {
        None => Ok(HoldOutcome::Held),
        Some("reserved" | "ended") => Ok(HoldOutcome::Stale),
        Some(_) => {
            set_state(tx, order_id, OrderState::Held).await?;
            Ok(HoldOutcome::Held)
        }
    }
}

/// Moves a known order to `state` (an ended order stays ended).
pub async fn set_state(tx: &mut Tx, order_id: Uuid, state: OrderState) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE unbilled_orders SET state = $2, updated_at = now()
           WHERE tenant = current_setting('app.tenant', true) AND order_id = $1
             AND state <> 'ended'"#,
        order_id,
        state.as_str(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes a shipment's amount out of its order once; `false` if the shipment
/// was already counted.
pub async fn ship(
    tx: &mut Tx,
    tenant: &str,
    shipment_id: Uuid,
    order_id: Uuid,
    currency: &str,
    amount: Decimal,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO order_shipments (tenant, shipment_id, order_id, amount)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant, shipment_id) DO NOTHING
           RETURNING shipment_id"#,
        tenant,
        shipment_id,
        order_id,
        amount,
    )
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_none() {
        return Ok(false);
    }
    let updated = sqlx::query!(
        r#"UPDATE unbilled_orders SET shipped = shipped + $3, updated_at = now()
           WHERE tenant = current_setting('app.tenant', true) AND order_id = $1
             AND currency = $2"#,
        order_id,
        currency,
        amount,
    )
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 0 {
        tracing::warn!(%order_id, %shipment_id, currency, "shipment of an order not known in this currency: unbilled unchanged");
    }
    Ok(true)
}

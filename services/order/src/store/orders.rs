//! Orders, their lines and shipments.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::customers::Tx;
use crate::domain::Address;
use crate::domain::pricing::PricedLine;
use otc_shared::TenantId;
use otc_shared::ids::{CustomerId, OrderId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderHeader {
    pub id: OrderId,
    pub customer_id: CustomerId,
    pub source: String,
    pub external_order_id: String,
    pub status: String,
    pub currency: String,
    pub total: Decimal,
    pub revision: i32,
    pub input_hash: String,
    pub shipping_address: Address,
    pub order_date: NaiveDate,
    pub credit_note: Option<String>,
    pub placed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLineRow {
    pub line_id: String,
    pub sku: String,
    pub description: String,
    pub tax_code: String,
    pub quantity: Decimal,
    pub list_price: Option<Decimal>,
    pub unit_price: Decimal,
    pub price_source: String,
    pub gross_amount: Decimal,
    pub line_discount: Decimal,
    pub order_discount_share: Decimal,
    pub line_amount: Decimal,
    pub derivation: String,
    pub shipped_quantity: Decimal,
    pub shipped_amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub header: OrderHeader,
    pub lines: Vec<OrderLineRow>,
}

macro_rules! header_from_row {
    ($row:expr) => {
        OrderHeader {
            id: OrderId($row.id),
            customer_id: CustomerId($row.customer_id),
            source: $row.source,
            external_order_id: $row.external_order_id,
            status: $row.status,
            currency: $row.currency,
            total: $row.total,
            revision: $row.revision,
            input_hash: $row.input_hash,
            shipping_address: serde_json::from_value($row.shipping_address).unwrap_or_default(),
            order_date: $row.order_date,
            credit_note: $row.credit_note,
            placed_at: $row.placed_at,
            updated_at: $row.updated_at,
        }
    };
}

/// The order placed from (source, external id), locked for the rest of the transaction.
pub async fn lock_by_source(
    tx: &mut Tx,
    tenant: &TenantId,
    source: &str,
    external_order_id: &str,
) -> Result<Option<OrderHeader>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id, customer_id, source, external_order_id, status, currency, total, revision,
                  input_hash, shipping_address, order_date, credit_note, placed_at, updated_at
           FROM orders WHERE tenant = $1 AND source = $2 AND external_order_id = $3 FOR UPDATE"#,
        tenant.as_str(),
        source,
        external_order_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| header_from_row!(row)))
}

pub async fn lock(tx: &mut Tx, id: OrderId) -> Result<Option<OrderHeader>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id, customer_id, source, external_order_id, status, currency, total, revision,
                  input_hash, shipping_address, order_date, credit_note, placed_at, updated_at
           FROM orders WHERE id = $1 FOR UPDATE"#,
        id.as_uuid()
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| header_from_row!(row)))
}

pub async fn lines(tx: &mut Tx, id: OrderId) -> Result<Vec<OrderLineRow>, sqlx::Error> {
    sqlx::query_as!(
        OrderLineRow,
        r#"SELECT line_id, sku, description, tax_code, quantity, list_price, unit_price, price_source,
                  gross_amount, line_discount, order_discount_share, line_amount, derivation,
                  shipped_quantity, shipped_amount
           FROM order_lines WHERE order_id = $1 ORDER BY line_no"#,
        id.as_uuid()
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn load(tx: &mut Tx, id: OrderId) -> Result<Option<OrderRecord>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id, customer_id, source, external_order_id, status, currency, total, revision,
                  input_hash, shipping_address, order_date, credit_note, placed_at, updated_at
           FROM orders WHERE id = $1"#,
        id.as_uuid()
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let header = header_from_row!(row);
    let lines = lines(tx, id).await?;
    Ok(Some(OrderRecord { header, lines }))
}

pub struct NewOrder<'a> {
    pub id: OrderId,
    pub customer_id: CustomerId,
    pub source: &'a str,
    pub external_order_id: &'a str,
    pub currency: &'a str,
    pub total: Decimal,
    pub input_hash: &'a str,
    pub shipping_address: &'a Address,
    pub order_date: NaiveDate,
}

/// Inserts a new order (`pending_credit`, due for its credit check) and
/// returns it as stored, without reading it back.
pub async fn insert(
    tx: &mut Tx,
    tenant: &TenantId,
    order: &NewOrder<'_>,
    lines: &[PricedLine],
) -> Result<OrderRecord, sqlx::Error> {
    let stamps = sqlx::query!(
        r#"INSERT INTO orders (tenant, id, customer_id, source, external_order_id, status, currency, total,
                input_hash, shipping_address, order_date, credit_check_due_at)
           VALUES ($1, $2, $3, $4, $5, 'pending_credit', $6, $7, $8, $9, $10, now())
           RETURNING placed_at, updated_at"#,
        tenant.as_str(),
        order.id.as_uuid(),
        order.customer_id.as_uuid(),
        order.source,
        order.external_order_id,
        order.currency,
        order.total,
        order.input_hash,
        serde_json::to_value(order.shipping_address).unwrap_or_default(),
        order.order_date,
    )
    .fetch_one(&mut **tx)
    .await?;
    insert_lines(tx, tenant, order.id, lines).await?;
    Ok(OrderRecord {
        header: OrderHeader {
            id: order.id,
            customer_id: order.customer_id,
            source: order.source.to_owned(),
            external_order_id: order.external_order_id.to_owned(),
            status: "pending_credit".to_owned(),
            currency: order.currency.to_owned(),
            total: order.total,
            revision: 1,
            input_hash: order.input_hash.to_owned(),
            shipping_address: order.shipping_address.clone(),
            order_date: order.order_date,
            credit_note: None,
            placed_at: stamps.placed_at,
            updated_at: stamps.updated_at,
        },
        lines: lines.iter().map(line_row).collect(),
    })
}

/// A priced line as it is stored (nothing shipped yet).
pub fn line_row(line: &PricedLine) -> OrderLineRow {
    OrderLineRow {
        line_id: line.line_id.clone(),
        sku: line.sku.clone(),
        description: line.description.clone(),
        tax_code: line.tax_code.clone(),
        quantity: line.quantity,
        list_price: line.list_price,
        unit_price: line.unit_price,
        price_source: line.price_source.as_str().to_owned(),
        gross_amount: line.gross_amount.amount(),
        line_discount: line.line_discount.amount(),
        order_discount_share: line.order_discount_share.amount(),
        line_amount: line.line_amount.amount(),
        derivation: line.derivation.clone(),
        shipped_quantity: Decimal::ZERO,
        shipped_amount: Decimal::ZERO,
    }
}

// `as` here is sqlx's way to type a nullable array parameter, not a numeric cast.
#[allow(clippy::as_conversions)]
async fn insert_lines(
    tx: &mut Tx,
    tenant: &TenantId,
    id: OrderId,
    lines: &[PricedLine],
) -> Result<(), sqlx::Error> {
    let count = lines.len();
    let mut line_no = Vec::with_capacity(count);
    let mut line_ids = Vec::with_capacity(count);
    let mut skus = Vec::with_capacity(count);
    let mut descriptions = Vec::with_capacity(count);
    let mut tax_codes = Vec::with_capacity(count);
    let mut quantities = Vec::with_capacity(count);
    let mut list_prices: Vec<Option<Decimal>> = Vec::with_capacity(count);
    let mut unit_prices = Vec::with_capacity(count);
    let mut sources = Vec::with_capacity(count);
    let mut gross = Vec::with_capacity(count);
    let mut line_discounts = Vec::with_capacity(count);
    let mut shares = Vec::with_capacity(count);
    let mut amounts = Vec::with_capacity(count);
    let mut derivations = Vec::with_capacity(count);
    for (index, line) in lines.iter().enumerate() {
        line_no.push(i32::try_from(index + 1).unwrap_or(i32::MAX));
        line_ids.push(line.line_id.clone());
        skus.push(line.sku.clone());
        descriptions.push(line.description.clone());
        tax_codes.push(line.tax_code.clone());
        quantities.push(line.quantity);
        list_prices.push(line.list_price);
        unit_prices.push(line.unit_price);
        sources.push(line.price_source.as_str().to_owned());
        gross.push(line.gross_amount.amount());
        line_discounts.push(line.line_discount.amount());
        shares.push(line.order_discount_share.amount());
        amounts.push(line.line_amount.amount());
        derivations.push(line.derivation.clone());
    }
    sqlx::query!(
        r#"INSERT INTO order_lines (tenant, order_id, line_no, line_id, sku, description, tax_code, quantity,
                list_price, unit_price, price_source, gross_amount, line_discount, order_discount_share,
                line_amount, derivation)
           SELECT $1, $2, * FROM UNNEST($3::int[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::numeric[], $9::numeric[], $10::numeric[], $11::text[], $12::numeric[], $13::numeric[],
                $14::numeric[], $15::numeric[], $16::text[])"#,
        tenant.as_str(),
        id.as_uuid(),
        &line_no,
        &line_ids,
        &skus,
        &descriptions,
        &tax_codes,
        &quantities,
        &list_prices as &[Option<Decimal>],
        &unit_prices,
        &sources,
        &gross,
        &line_discounts,
        &shares,
        &amounts,
        &derivations,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces an unshipped order's lines and totals with a new revision.
pub async fn amend(
    tx: &mut Tx,
    tenant: &TenantId,
    order: &NewOrder<'_>,
    lines: &[PricedLine],
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM order_lines WHERE order_id = $1",
        order.id.as_uuid()
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        r#"UPDATE orders SET total = $2, input_hash = $3, shipping_address = $4, order_date = $5,
                status = $6, revision = revision + 1, updated_at = now(),
                credit_check_due_at = CASE WHEN $6 IN ('pending_credit', 'on_credit_hold') THEN now() ELSE NULL END,
                credit_check_attempts = 0
           WHERE id = $1"#,
        order.id.as_uuid(),
        order.total,
        order.input_hash,
        serde_json::to_value(order.shipping_address).unwrap_or_default(),
        order.order_date,
        status,
    )
    .execute(&mut **tx)
    .await?;
    insert_lines(tx, tenant, order.id, lines).await
}

/// Sets the status (and clears any pending credit check); the new `updated_at`.
pub async fn set_status(
    tx: &mut Tx,
    id: OrderId,
    status: &str,
    credit_note: Option<&str>,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE orders SET status = $2, credit_note = COALESCE($3, credit_note), updated_at = now(),
                credit_check_due_at = NULL
           WHERE id = $1
           RETURNING updated_at"#,
        id.as_uuid(),
        status,
        credit_note
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn record_line_shipment(
    tx: &mut Tx,
    id: OrderId,
    line_id: &str,
    quantity: Decimal,
    amount: Decimal,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE order_lines SET shipped_quantity = shipped_quantity + $3, shipped_amount = shipped_amount + $4
           WHERE order_id = $1 AND line_id = $2"#,
        id.as_uuid(),
        line_id,
        quantity,
        amount
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The shipment already recorded under this external id, if any.
pub async fn shipment_by_external_id(
    tx: &mut Tx,
    order: OrderId,
    external_shipment_id: &str,
) -> Result<Option<(Uuid, serde_json::Value, DateTime<Utc>)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT id, lines, shipped_at FROM shipments WHERE order_id = $1 AND external_shipment_id = $2",
        order.as_uuid(),
        external_shipment_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| (row.id, row.lines, row.shipped_at)))
}

pub async fn insert_shipment(
    tx: &mut Tx,
    tenant: &TenantId,
    id: Uuid,
    order: OrderId,
    external_shipment_id: &str,
    lines: &serde_json::Value,
    shipped_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO shipments (tenant, id, order_id, external_shipment_id, lines, shipped_at)
           VALUES ($1, $2, $3, $4, $5, $6)"#,
        tenant.as_str(),
        id,
        order.as_uuid(),
        external_shipment_id,
        lines,
        shipped_at
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list(
    tx: &mut Tx,
    customer: Option<CustomerId>,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<OrderId>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        r#"SELECT id FROM orders
           WHERE ($1::uuid IS NULL OR id > $1) AND ($2::uuid IS NULL OR customer_id = $2)
             AND ($3::text IS NULL OR status = $3)
           ORDER BY id LIMIT $4"#,
        after,
        customer.map(|id| id.as_uuid()),
        status,
        limit
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.into_iter().map(OrderId).collect())
}

/// Orders due for a credit check, leased for `lease_millis` so that no
/// other worker (or replica) asks for them meanwhile. Across tenants.
#[derive(Debug, Clone)]
pub struct DueCreditCheck {
    pub id: OrderId,
    pub tenant: String,
    pub customer_id: CustomerId,
    pub currency: String,
    pub total: Decimal,
    pub revision: i32,
    pub attempts: i32,
}

/// `only`: claim that one order (if it is due) rather than the next due ones.
pub async fn claim_due_credit_checks(
    tx: &mut Tx,
    only: Option<OrderId>,
    limit: i64,
    lease_millis: i64,
) -> Result<Vec<DueCreditCheck>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"UPDATE orders SET credit_check_due_at = now() + $2::bigint * interval '1 millisecond'
           WHERE id IN (
               SELECT id FROM orders
               WHERE credit_check_due_at <= now() AND status IN ('pending_credit', 'on_credit_hold')
                 AND ($3::uuid IS NULL OR id = $3)
               ORDER BY credit_check_due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING id, tenant, customer_id, currency, total, revision, credit_check_attempts"#,
        limit,
        lease_millis,
        only.map(|id| id.as_uuid())
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| DueCreditCheck {
            id: OrderId(row.id),
            tenant: row.tenant,
            customer_id: CustomerId(row.customer_id),
            currency: row.currency,
            total: row.total,
            revision: row.revision,
            attempts: row.credit_check_attempts,
        })
        .collect())
}

/// A failed credit check: try again after `delay_millis`.
pub async fn postpone_credit_check(
    tx: &mut Tx,
    id: OrderId,
    delay_millis: i64,
    note: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE orders SET credit_check_due_at = now() + $2::bigint * interval '1 millisecond',
                credit_check_attempts = credit_check_attempts + 1, credit_note = $3
           WHERE id = $1 AND status IN ('pending_credit', 'on_credit_hold')"#,
        id.as_uuid(),
        delay_millis,
        note
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Held orders of a customer, due for a new credit check now.
pub async fn recheck_held_orders(tx: &mut Tx, customer: CustomerId) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE orders SET credit_check_due_at = now(), credit_check_attempts = 0
           WHERE customer_id = $1 AND status = 'on_credit_hold'"#,
        customer.as_uuid()
    )
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}

/// Wakes the credit worker when the transaction commits.
pub async fn notify_credit_worker(tx: &mut Tx) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_notify('otc_order_credit_check', '') AS notified")
        .fetch_one(&mut **tx)
        .await?;
    Ok(())
}

//! The order projection: each order's lines as placed or last amended, what
//! an invoice line is compared with.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLineRow {
    pub order_id: Uuid,
    pub line_id: String,
    pub sku: String,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub line_amount: Decimal,
    pub currency: String,
    pub tax_code: String,
    pub external_order_id: String,
}

pub struct OrderHeader<'a> {
    pub order_id: Uuid,
    pub customer_id: Uuid,
    pub revision: i32,
    pub source: &'a str,
    pub external_order_id: &'a str,
    pub currency: &'a str,
}

/// Replaces the order's lines with this revision's, unless a later revision
/// is already projected.
pub async fn replace_lines(
    tx: &mut Tx,
    tenant: &str,
    header: &OrderHeader<'_>,
    lines: &[OrderLineRow],
) -> Result<bool, sqlx::Error> {
    let newer = sqlx::query_scalar!(
        "SELECT EXISTS (SELECT 1 FROM order_lines WHERE order_id = $1 AND revision > $2) AS \"newer!\"",
        header.order_id,
        header.revision
    )
    .fetch_one(&mut **tx)
    .await?;
    if newer {
        return Ok(false);
    }
    sqlx::query!(
        "DELETE FROM order_lines WHERE order_id = $1",
        header.order_id
    )
    .execute(&mut **tx)
    .await?;
    let line_ids: Vec<String> = lines.iter().map(|line| line.line_id.clone()).collect();
    let skus: Vec<String> = lines.iter().map(|line| line.sku.clone()).collect();
    let descriptions: Vec<String> = lines.iter().map(|line| line.description.clone()).collect();
    let quantities: Vec<Decimal> = lines.iter().map(|line| line.quantity).collect();
    let prices: Vec<Decimal> = lines.iter().map(|line| line.unit_price).collect();
    let amounts: Vec<Decimal> = lines.iter().map(|line| line.line_amount).collect();
    let tax_codes: Vec<String> = lines.iter().map(|line| line.tax_code.clone()).collect();
    sqlx::query!(
        r#"INSERT INTO order_lines (tenant, order_id, customer_id, revision, source, external_order_id,
                                    currency, line_id, sku, description, quantity, unit_price,
                                    line_amount, tax_code)
           SELECT $1, $2, $3, $4, $5, $6, $7, * FROM UNNEST($8::text[], $9::text[], $10::text[],
                  $11::numeric[], $12::numeric[], $13::numeric[], $14::text[])"#,
        tenant,
        header.order_id,
        header.customer_id,
        header.revision,
        header.source,
        header.external_order_id,
        header.currency,
        &line_ids,
        &skus,
        &descriptions,
        &quantities,
        &prices,
        &amounts,
        &tax_codes
    )
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

pub async fn lines_of_orders(
    tx: &mut Tx,
    order_ids: &[Uuid],
) -> Result<Vec<OrderLineRow>, sqlx::Error> {
    sqlx::query_as!(
        OrderLineRow,
        r#"SELECT order_id, line_id, sku, description, quantity, unit_price, line_amount,
                  currency::text AS "currency!", tax_code, external_order_id
             FROM order_lines WHERE order_id = ANY($1)"#,
        order_ids
    )
    .fetch_all(&mut **tx)
    .await
}

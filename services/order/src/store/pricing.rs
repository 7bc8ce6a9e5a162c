//! The catalogue, price list entries and contract prices.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::customers::Tx;
use crate::domain::pricing::{PriceEntry, ProductInfo};
use otc_shared::TenantId;
use otc_shared::ids::CustomerId;

pub async fn upsert_product(
    tx: &mut Tx,
    tenant: &TenantId,
    sku: &str,
    product: &ProductInfo,
) -> Result<Option<ProductInfo>, sqlx::Error> {
    let before = sqlx::query!(
        "SELECT description, tax_code, active FROM products WHERE tenant = $1 AND sku = $2 FOR UPDATE",
        tenant.as_str(),
        sku
    )
    .fetch_optional(&mut **tx)
    .await?
    .map(|row| ProductInfo {
        description: row.description,
        tax_code: row.tax_code,
        active: row.active,
    });
    sqlx::query!(
        r#"INSERT INTO products (tenant, sku, description, tax_code, active) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant, sku) DO UPDATE
           SET description = EXCLUDED.description, tax_code = EXCLUDED.tax_code,
               active = EXCLUDED.active, updated_at = now()"#,
        tenant.as_str(),
        sku,
        product.description,
        product.tax_code,
        product.active
    )
    .execute(&mut **tx)
    .await?;
    Ok(before)
}

pub async fn products(
    tx: &mut Tx,
    tenant: &TenantId,
    skus: &[String],
) -> Result<HashMap<String, ProductInfo>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT sku, description, tax_code, active FROM products WHERE tenant = $1 AND sku = ANY($2)",
        tenant.as_str(),
        skus
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                row.sku,
                ProductInfo {
                    description: row.description,
                    tax_code: row.tax_code,
                    active: row.active,
                },
            )
        })
        .collect())
}

pub struct NewPrice<'a> {
    pub id: Uuid,
    pub customer_id: Option<CustomerId>,
    pub sku: &'a str,
    pub currency: &'a str,
    pub unit_price: Decimal,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

pub async fn insert_price(
    tx: &mut Tx,
    tenant: &TenantId,
    price: &NewPrice<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO prices (tenant, id, customer_id, sku, currency, unit_price, valid_from, valid_to)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#,
        tenant.as_str(),
        price.id,
        price.customer_id.map(|id| id.as_uuid()),
        price.sku,
        price.currency,
        price.unit_price,
        price.valid_from,
        price.valid_to,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// For each SKU: the contract price of `customer` and the list price in
/// `currency` valid on `date` (the latest-starting one wins, then the latest set).
pub async fn prices_on(
    tx: &mut Tx,
    tenant: &TenantId,
    skus: &[String],
    currency: &str,
    customer: CustomerId,
    date: NaiveDate,
) -> Result<HashMap<String, (Option<PriceEntry>, Option<PriceEntry>)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT ON (sku, customer_id IS NOT NULL)
                  sku, customer_id IS NOT NULL AS "contract!", unit_price, valid_from, valid_to
           FROM prices
           WHERE tenant = $1 AND sku = ANY($2) AND currency = $3
             AND (customer_id IS NULL OR customer_id = $4)
             AND valid_from <= $5 AND (valid_to IS NULL OR valid_to >= $5)
           ORDER BY sku, customer_id IS NOT NULL, valid_from DESC, created_at DESC"#,
        tenant.as_str(),
        skus,
        currency,
        customer.as_uuid(),
        date
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut found: HashMap<String, (Option<PriceEntry>, Option<PriceEntry>)> = HashMap::new();
    for row in rows {
        let entry = PriceEntry {
            unit_price: row.unit_price,
            valid_from: row.valid_from,
            valid_to: row.valid_to,
        };
        let slot = found.entry(row.sku).or_default();
        if row.contract {
            slot.0 = Some(entry);
        } else {
            slot.1 = Some(entry);
        }
    }
    Ok(found)
}

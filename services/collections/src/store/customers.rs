//! Customers as the order service publishes them (`CustomerUpserted`).

use uuid::Uuid;

use super::Tx;

pub struct MasterData<'a> {
    pub id: Uuid,
    pub legal_name: &'a str,
    pub currency: Option<&'a str>,
    pub segment: &'a str,
    pub tax_region: &'a str,
    /// The billing address as [`otc_shared::address::Address`] JSON.
    pub billing_address: Option<serde_json::Value>,
    pub status: &'a str,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRow {
    pub id: Uuid,
    pub legal_name: String,
    pub currency: Option<String>,
    pub status: String,
}

/// Applies a `CustomerUpserted`; an older version than the one kept changes
/// nothing. Whether it changed anything.
pub async fn upsert(tx: &mut Tx, tenant: &str, data: &MasterData<'_>) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query_scalar!(
        r#"INSERT INTO customers (tenant, id, legal_name, currency, segment, status, master_version,
               tax_region, billing_address)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (tenant, id) DO UPDATE SET
               legal_name = EXCLUDED.legal_name,
               currency = EXCLUDED.currency,
               segment = EXCLUDED.segment,
               tax_region = EXCLUDED.tax_region,
               billing_address = EXCLUDED.billing_address,
               status = EXCLUDED.status,
               master_version = EXCLUDED.master_version,
               updated_at = now()
           WHERE customers.master_version < EXCLUDED.master_version
           RETURNING id"#,
        tenant,
        data.id,
        data.legal_name,
        data.currency,
        data.segment,
        data.status,
        data.version,
        data.tax_region,
        data.billing_address,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(changed.is_some())
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<CustomerRow>, sqlx::Error> {
    sqlx::query_as!(
        CustomerRow,
        r#"SELECT id, legal_name, currency::text AS currency, status
           FROM customers WHERE tenant = current_setting('app.tenant', true) AND id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

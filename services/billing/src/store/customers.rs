//! The customer projection (master data from `CustomerUpserted`) and the
//! billing profile billing owns (invoicing frequency, delivery, tax treatment).

use serde::Serialize;
use uuid::Uuid;

use super::Tx;

#[derive(Debug, Clone)]
pub struct CustomerRow {
    pub id: Uuid,
    pub projected: bool,
    pub legal_name: String,
    pub billing_address: serde_json::Value,
    pub tax_region: String,
    pub currency: Option<String>,
    pub payment_terms_code: String,
    pub invoicing_frequency: String,
    pub delivery_channel: String,
    pub delivery_email: Option<String>,
    pub delivery_webhook_url: Option<String>,
    pub tax_treatment: String,
    pub tax_exemption_reason: Option<String>,
    pub buyer_tax_id: Option<String>,
    pub price_basis: Option<String>,
    pub profile_version: i64,
}

pub async fn load(tx: &mut Tx, id: Uuid) -> Result<Option<CustomerRow>, sqlx::Error> {
    sqlx::query_as!(
        CustomerRow,
        r#"SELECT id, projected, legal_name, billing_address, tax_region,
                  currency::text AS "currency?", payment_terms_code, invoicing_frequency,
                  delivery_channel, delivery_email, delivery_webhook_url, tax_treatment,
                  tax_exemption_reason, buyer_tax_id, price_basis, profile_version
             FROM customers WHERE id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn load_many(tx: &mut Tx, ids: &[Uuid]) -> Result<Vec<CustomerRow>, sqlx::Error> {
    sqlx::query_as!(
        CustomerRow,
        r#"SELECT id, projected, legal_name, billing_address, tax_region,
                  currency::text AS "currency?", payment_terms_code, invoicing_frequency,
                  delivery_channel, delivery_email, delivery_webhook_url, tax_treatment,
                  tax_exemption_reason, buyer_tax_id, price_basis, profile_version
             FROM customers WHERE id = ANY($1)"#,
        ids
    )
    .fetch_all(&mut **tx)
    .await
}

pub struct MasterData<'a> {
    pub id: Uuid,
    pub legal_name: &'a str,
    pub billing_address: serde_json::Value,
    pub tax_region: &'a str,
    pub currency: &'a str,
    pub payment_terms_code: &'a str,
    pub segment: &'a str,
    pub status: &'a str,
    pub version: i64,
}

/// Applies master data unless a newer version was already projected.
pub async fn upsert_master(
    tx: &mut Tx,
    tenant: &str,
    master: &MasterData<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO customers (tenant, id, projected, legal_name, billing_address, tax_region,
                                  currency, payment_terms_code, segment, status, master_version)
           VALUES ($1, $2, true, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET
               projected = true, legal_name = EXCLUDED.legal_name,
               billing_address = EXCLUDED.billing_address, tax_region = EXCLUDED.tax_region,
               currency = EXCLUDED.currency, payment_terms_code = EXCLUDED.payment_terms_code,
               segment = EXCLUDED.segment, status = EXCLUDED.status,
               master_version = EXCLUDED.master_version, updated_at = now()
           WHERE customers.master_version < EXCLUDED.master_version"#,
        tenant,
        master.id,
        master.legal_name,
        master.billing_address,
        master.tax_region,
        master.currency,
        master.payment_terms_code,
        master.segment,
        master.status,
        master.version,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillingProfile {
    pub invoicing_frequency: String,
    pub delivery_channel: String,
    pub delivery_email: Option<String>,
    pub delivery_webhook_url: Option<String>,
    pub tax_treatment: String,
    pub tax_exemption_reason: Option<String>,
    pub buyer_tax_id: Option<String>,
    pub price_basis: Option<String>,
}

impl BillingProfile {
    pub fn of(row: &CustomerRow) -> Self {
        Self {
            invoicing_frequency: row.invoicing_frequency.clone(),
            delivery_channel: row.delivery_channel.clone(),
            delivery_email: row.delivery_email.clone(),
            delivery_webhook_url: row.delivery_webhook_url.clone(),
            tax_treatment: row.tax_treatment.clone(),
            tax_exemption_reason: row.tax_exemption_reason.clone(),
            buyer_tax_id: row.buyer_tax_id.clone(),
            price_basis: row.price_basis.clone(),
        }
    }
}

/// Sets the profile (creating the row if the master data has not arrived
/// yet); returns the new profile version.
pub async fn upsert_profile(
    tx: &mut Tx,
    tenant: &str,
    id: Uuid,
    profile: &BillingProfile,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO customers (tenant, id, invoicing_frequency, delivery_channel, delivery_email,
                                  delivery_webhook_url, tax_treatment, tax_exemption_reason,
                                  buyer_tax_id, price_basis, profile_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)
           ON CONFLICT (id) DO UPDATE SET
               invoicing_frequency = EXCLUDED.invoicing_frequency,
               delivery_channel = EXCLUDED.delivery_channel,
               delivery_email = EXCLUDED.delivery_email,
               delivery_webhook_url = EXCLUDED.delivery_webhook_url,
               tax_treatment = EXCLUDED.tax_treatment,
               tax_exemption_reason = EXCLUDED.tax_exemption_reason,
               buyer_tax_id = EXCLUDED.buyer_tax_id,
               price_basis = EXCLUDED.price_basis,
               profile_version = customers.profile_version + 1,
               updated_at = now()
           RETURNING profile_version"#,
        tenant,
        id,
        profile.invoicing_frequency,
        profile.delivery_channel,
        profile.delivery_email,
        profile.delivery_webhook_url,
        profile.tax_treatment,
        profile.tax_exemption_reason,
        profile.buyer_tax_id,
        profile.price_basis,
    )
    .fetch_one(&mut **tx)
    .await
}

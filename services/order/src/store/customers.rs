//! The customer master and its external references.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::domain::Address;
use otc_shared::TenantId;
use otc_shared::ids::CustomerId;

pub type Tx = Transaction<'static, Postgres>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRecord {
    pub id: CustomerId,
    pub legal_name: String,
    pub billing_address: Address,
    pub tax_region: String,
    pub currency: String,
    pub payment_terms_code: String,
    pub segment: String,
    pub mandate_reference: Option<String>,
    pub bank_accounts: Vec<String>,
    pub status: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// (platform, external id), sorted.
    pub external_references: Vec<(String, String)>,
}

/// What is written on create and update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerWrite {
    pub legal_name: String,
    pub billing_address: Address,
    pub tax_region: String,
    pub currency: String,
    pub payment_terms_code: String,
    pub segment: String,
    pub mandate_reference: Option<String>,
    pub bank_accounts: Vec<String>,
    pub status: String,
    pub external_references: Vec<(String, String)>,
}

fn address_from_json(value: serde_json::Value) -> Address {
    serde_json::from_value(value).unwrap_or_default()
}

pub async fn load(tx: &mut Tx, id: CustomerId) -> Result<Option<CustomerRecord>, sqlx::Error> {
    let Some(row) = sqlx::query!(
        r#"SELECT id, legal_name, billing_address, tax_region, currency, payment_terms_code, segment,
                  mandate_reference, bank_accounts, status, version, created_at, updated_at
           FROM customers WHERE id = $1"#,
        id.as_uuid()
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let references = sqlx::query!(
        "SELECT platform, external_id FROM customer_external_references WHERE customer_id = $1 ORDER BY platform, external_id",
        id.as_uuid()
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(Some(CustomerRecord {
        id: CustomerId(row.id),
        legal_name: row.legal_name,
        billing_address: address_from_json(row.billing_address),
        tax_region: row.tax_region,
        currency: row.currency,
        payment_terms_code: row.payment_terms_code,
        segment: row.segment,
        mandate_reference: row.mandate_reference,
        bank_accounts: row.bank_accounts,
        status: row.status,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
        external_references: references
            .into_iter()
            .map(|reference| (reference.platform, reference.external_id))
            .collect(),
    }))
}

/// What placing an order needs to know of a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderingTerms {
    pub id: CustomerId,
    pub currency: String,
    pub status: String,
}

pub async fn ordering_terms(
    tx: &mut Tx,
    id: CustomerId,
) -> Result<Option<OrderingTerms>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT id, currency, status FROM customers WHERE id = $1",
        id.as_uuid()
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| OrderingTerms {
        id: CustomerId(row.id),
        currency: row.currency,
        status: row.status,
    }))
}

/// The customer an external reference points at, in one round trip.
pub async fn ordering_terms_by_reference(
    tx: &mut Tx,
    tenant: &TenantId,
    platform: &str,
    external_id: &str,
) -> Result<Option<OrderingTerms>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT c.id, c.currency, c.status FROM customer_external_references r
           JOIN customers c ON c.id = r.customer_id
           WHERE r.tenant = $1 AND r.platform = $2 AND r.external_id = $3"#,
        tenant.as_str(),
        platform,
        external_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| OrderingTerms {
        id: CustomerId(row.id),
        currency: row.currency,
        status: row.status,
    }))
}

/// The customer an external reference points at.
pub async fn find_by_reference(
    tx: &mut Tx,
    tenant: &TenantId,
    platform: &str,
    external_id: &str,
) -> Result<Option<CustomerId>, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "SELECT customer_id FROM customer_external_references WHERE tenant = $1 AND platform = $2 AND external_id = $3",
        tenant.as_str(),
        platform,
        external_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(id.map(CustomerId))
}

/// Which customer (other than `except`) already holds each of `references`.
pub async fn reference_owners(
    tx: &mut Tx,
    tenant: &TenantId,
    references: &[(String, String)],
    except: Option<CustomerId>,
) -> Result<Vec<(usize, CustomerId)>, sqlx::Error> {
    let mut owners = Vec::new();
    for (index, (platform, external_id)) in references.iter().enumerate() {
        if let Some(owner) = find_by_reference(tx, tenant, platform, external_id).await?
            && Some(owner) != except
        {
            owners.push((index, owner));
        }
    }
    Ok(owners)
}

pub async fn insert(
    tx: &mut Tx,
    tenant: &TenantId,
    id: CustomerId,
    customer: &CustomerWrite,
) -> Result<(), sqlx::Error> {
    let address = serde_json::to_value(&customer.billing_address).unwrap_or_default();
    sqlx::query!(
        r#"INSERT INTO customers (tenant, id, legal_name, billing_address, tax_region, currency,
                payment_terms_code, segment, mandate_reference, bank_accounts, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"#,
        tenant.as_str(),
        id.as_uuid(),
        customer.legal_name,
        address,
        customer.tax_region,
        customer.currency,
        customer.payment_terms_code,
        customer.segment,
        customer.mandate_reference,
        &customer.bank_accounts,
        customer.status,
    )
    .execute(&mut **tx)
    .await?;
    replace_references(tx, tenant, id, &customer.external_references).await
}

/// Updates if the stored version is `expected_version`; false otherwise.
pub async fn update(
    tx: &mut Tx,
    tenant: &TenantId,
    id: CustomerId,
    expected_version: i64,
    customer: &CustomerWrite,
) -> Result<bool, sqlx::Error> {
    let address = serde_json::to_value(&customer.billing_address).unwrap_or_default();
    let updated = sqlx::query!(
        r#"UPDATE customers SET legal_name = $3, billing_address = $4, tax_region = $5, currency = $6,
                payment_terms_code = $7, segment = $8, mandate_reference = $9, bank_accounts = $10,
                status = $11, version = version + 1, updated_at = now()
           WHERE id = $1 AND version = $2"#,
        id.as_uuid(),
        expected_version,
        customer.legal_name,
        address,
        customer.tax_region,
        customer.currency,
        customer.payment_terms_code,
        customer.segment,
        customer.mandate_reference,
        &customer.bank_accounts,
        customer.status,
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if updated {
        replace_references(tx, tenant, id, &customer.external_references).await?;
    }
    Ok(updated)
}

async fn replace_references(
    tx: &mut Tx,
    tenant: &TenantId,
    id: CustomerId,
    references: &[(String, String)],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM customer_external_references WHERE customer_id = $1",
        id.as_uuid()
    )
    .execute(&mut **tx)
    .await?;
    for (platform, external_id) in references {
        sqlx::query!(
            "INSERT INTO customer_external_references (tenant, platform, external_id, customer_id) VALUES ($1, $2, $3, $4)",
            tenant.as_str(),
            platform,
            external_id,
            id.as_uuid()
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub status: Option<String>,
    pub segment: Option<String>,
    pub currency: Option<String>,
    pub tax_region: Option<String>,
    pub name_contains: Option<String>,
    pub external_reference: Option<(String, String)>,
    /// Keyset pagination: ids greater than this (UUIDv7 sorts by creation).
    pub after: Option<Uuid>,
}

pub async fn list(
    tx: &mut Tx,
    filter: &CustomerFilter,
    limit: i64,
) -> Result<Vec<CustomerId>, sqlx::Error> {
    let (platform, external_id) = filter
        .external_reference
        .clone()
        .map_or((None, None), |(platform, id)| (Some(platform), Some(id)));
    let ids = sqlx::query_scalar!(
        r#"SELECT c.id FROM customers c
           WHERE ($1::uuid IS NULL OR c.id > $1)
             AND ($2::text IS NULL OR c.status = $2)
             AND ($3::text IS NULL OR c.segment = $3)
             AND ($4::text IS NULL OR c.currency = $4)
             AND ($5::text IS NULL OR c.tax_region = $5)
             AND ($6::text IS NULL OR strpos(lower(c.legal_name), lower($6)) > 0)
             AND ($7::text IS NULL OR EXISTS (
                   SELECT 1 FROM customer_external_references r
                   WHERE r.customer_id = c.id AND r.platform = $7 AND r.external_id = $8))
           ORDER BY c.id
           LIMIT $9"#,
        filter.after,
        filter.status,
        filter.segment,
        filter.currency,
        filter.tax_region,
        filter.name_contains,
        platform,
        external_id,
        limit,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.into_iter().map(CustomerId).collect())
}

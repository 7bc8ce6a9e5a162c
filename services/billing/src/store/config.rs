//! Tenant billing settings, tax rules and FX rates.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::Tx;

#[derive(Debug, Clone)]
pub struct TenantSettingsRow {
    pub functional_currency: String,
    pub seller_name: String,
    pub seller_address: serde_json::Value,
    pub seller_tax_id: Option<String>,
    pub payment_instructions: serde_json::Value,
    pub fx_max_age_days: i32,
    pub default_price_basis: String,
    pub version: i64,
}

impl Default for TenantSettingsRow {
    fn default() -> Self {
        Self {
            functional_currency: "EUR".to_owned(),
            seller_name: String::new(),
            seller_address: serde_json::json!({}),
            seller_tax_id: None,
            payment_instructions: serde_json::json!([]),
            fx_max_age_days: 7,
            default_price_basis: "exclusive".to_owned(),
            version: 0,
        }
    }
}

impl TenantSettingsRow {
    pub fn payment_instructions(&self) -> Vec<String> {
        serde_json::from_value(self.payment_instructions.clone()).unwrap_or_default()
    }
}

/// The tenant's settings, or the defaults when it never set any.
pub async fn tenant_settings(tx: &mut Tx) -> Result<TenantSettingsRow, sqlx::Error> {
    let row = sqlx::query_as!(
        TenantSettingsRow,
        r#"SELECT functional_currency::text AS "functional_currency!", seller_name, seller_address,
                  seller_tax_id, payment_instructions, fx_max_age_days, default_price_basis, version
             FROM tenant_settings"#
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or_default())
}

pub async fn upsert_tenant_settings(
    tx: &mut Tx,
    tenant: &str,
    settings: &TenantSettingsRow,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO tenant_settings (tenant, functional_currency, seller_name, seller_address,
                                        seller_tax_id, payment_instructions, fx_max_age_days,
                                        default_price_basis)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant) DO UPDATE SET
               functional_currency = EXCLUDED.functional_currency,
               seller_name = EXCLUDED.seller_name, seller_address = EXCLUDED.seller_address,
               seller_tax_id = EXCLUDED.seller_tax_id,
               payment_instructions = EXCLUDED.payment_instructions,
               fx_max_age_days = EXCLUDED.fx_max_age_days,
               default_price_basis = EXCLUDED.default_price_basis,
               version = tenant_settings.version + 1, updated_at = now()
           RETURNING version"#,
        tenant,
        settings.functional_currency,
        settings.seller_name,
        settings.seller_address,
        settings.seller_tax_id,
        settings.payment_instructions,
        settings.fx_max_age_days,
        settings.default_price_basis,
    )
    .fetch_one(&mut **tx)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRuleRow {
    pub region: String,
    pub tax_code: String,
    pub rate: Decimal,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

/// The rules of a region for some tax codes (all validity periods).
pub async fn tax_rules(
    tx: &mut Tx,
    region: &str,
    tax_codes: &[String],
) -> Result<Vec<TaxRuleRow>, sqlx::Error> {
    sqlx::query_as!(
        TaxRuleRow,
        r#"SELECT region, tax_code, rate, valid_from, valid_to FROM tax_rules
            WHERE region = $1 AND tax_code = ANY($2)"#,
        region,
        tax_codes
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn list_tax_rules(
    tx: &mut Tx,
    region: Option<&str>,
) -> Result<Vec<TaxRuleRow>, sqlx::Error> {
    sqlx::query_as!(
        TaxRuleRow,
        r#"SELECT region, tax_code, rate, valid_from, valid_to FROM tax_rules
            WHERE ($1::text IS NULL OR region = $1)
            ORDER BY region, tax_code, valid_from"#,
        region
    )
    .fetch_all(&mut **tx)
    .await
}

/// Sets a rule; the same (region, code, valid_from) replaces the rate.
pub async fn upsert_tax_rule(
    tx: &mut Tx,
    tenant: &str,
    rule: &TaxRuleRow,
    actor: &str,
) -> Result<Option<TaxRuleRow>, sqlx::Error> {
    let before = sqlx::query_as!(
        TaxRuleRow,
        r#"SELECT region, tax_code, rate, valid_from, valid_to FROM tax_rules
            WHERE region = $1 AND tax_code = $2 AND valid_from = $3 FOR UPDATE"#,
        rule.region,
        rule.tax_code,
        rule.valid_from
    )
    .fetch_optional(&mut **tx)
    .await?;
    sqlx::query!(
        r#"INSERT INTO tax_rules (tenant, region, tax_code, valid_from, valid_to, rate, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant, region, tax_code, valid_from) DO UPDATE SET
               valid_to = EXCLUDED.valid_to, rate = EXCLUDED.rate,
               updated_by = EXCLUDED.updated_by, updated_at = now()"#,
        tenant,
        rule.region,
        rule.tax_code,
        rule.valid_from,
        rule.valid_to,
        rule.rate,
        actor
    )
    .execute(&mut **tx)
    .await?;
    Ok(before)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxRateRow {
    pub from_currency: String,
    pub to_currency: String,
    pub rate_date: NaiveDate,
    pub rate: Decimal,
    pub source: String,
}

pub async fn list_fx_rates(
    tx: &mut Tx,
    from_currency: Option<&str>,
    to_currency: Option<&str>,
) -> Result<Vec<FxRateRow>, sqlx::Error> {
    sqlx::query_as!(
        FxRateRow,
        r#"SELECT from_currency::text AS "from_currency!", to_currency::text AS "to_currency!",
                  rate_date, rate, source
             FROM fx_rates
            WHERE ($1::text IS NULL OR from_currency = $1)
              AND ($2::text IS NULL OR to_currency = $2)
            ORDER BY rate_date DESC, from_currency, to_currency
            LIMIT 1000"#,
        from_currency,
        to_currency
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn upsert_fx_rates(
    tx: &mut Tx,
    tenant: &str,
    rates: &[FxRateRow],
) -> Result<(), sqlx::Error> {
    let from: Vec<String> = rates
        .iter()
        .map(|rate| rate.from_currency.clone())
        .collect();
    let to: Vec<String> = rates.iter().map(|rate| rate.to_currency.clone()).collect();
    let dates: Vec<NaiveDate> = rates.iter().map(|rate| rate.rate_date).collect();
    let values: Vec<Decimal> = rates.iter().map(|rate| rate.rate).collect();
    let sources: Vec<String> = rates.iter().map(|rate| rate.source.clone()).collect();
    sqlx::query!(
        r#"INSERT INTO fx_rates (tenant, from_currency, to_currency, rate_date, rate, source)
           SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::date[], $5::numeric[], $6::text[])
           ON CONFLICT (tenant, from_currency, to_currency, rate_date) DO UPDATE SET
               rate = EXCLUDED.rate, source = EXCLUDED.source, updated_at = now()"#,
        tenant,
        &from,
        &to,
        &dates,
        &values,
        &sources
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Settings of several tenants (system tasks work across tenants); a
/// tenant that never set any gets the defaults.
pub async fn tenant_settings_of(
    tx: &mut Tx,
    tenants: &[String],
) -> Result<std::collections::HashMap<String, TenantSettingsRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT tenant, functional_currency::text AS "functional_currency!", seller_name,
                  seller_address, seller_tax_id, payment_instructions, fx_max_age_days,
                  default_price_basis, version
             FROM tenant_settings WHERE tenant = ANY($1)"#,
        tenants
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut found: std::collections::HashMap<String, TenantSettingsRow> = rows
        .into_iter()
        .map(|row| {
            (
                row.tenant,
                TenantSettingsRow {
                    functional_currency: row.functional_currency,
                    seller_name: row.seller_name,
                    seller_address: row.seller_address,
                    seller_tax_id: row.seller_tax_id,
                    payment_instructions: row.payment_instructions,
                    fx_max_age_days: row.fx_max_age_days,
                    default_price_basis: row.default_price_basis,
                    version: row.version,
                },
            )
        })
        .collect();
    for tenant in tenants {
        found.entry(tenant.clone()).or_default();
    }
    Ok(found)
}

/// Rules of some regions and tax codes, with their tenant.
pub async fn tax_rules_of(
    tx: &mut Tx,
    regions: &[String],
    tax_codes: &[String],
) -> Result<Vec<(String, TaxRuleRow)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT tenant, region, tax_code, rate, valid_from, valid_to FROM tax_rules
            WHERE region = ANY($1) AND tax_code = ANY($2)"#,
        regions,
        tax_codes
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                row.tenant,
                TaxRuleRow {
                    region: row.region,
                    tax_code: row.tax_code,
                    rate: row.rate,
                    valid_from: row.valid_from,
                    valid_to: row.valid_to,
                },
            )
        })
        .collect())
}

/// Rates between any of `currencies` dated in [from, to], with their tenant.
pub async fn fx_rates_of(
    tx: &mut Tx,
    currencies: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, FxRateRow)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT tenant, from_currency::text AS "from_currency!", to_currency::text AS "to_currency!",
                  rate_date, rate, source
             FROM fx_rates
            WHERE from_currency = ANY($1::text[]) AND to_currency = ANY($1::text[])
              AND rate_date BETWEEN $2 AND $3"#,
        currencies,
        from,
        to
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                row.tenant,
                FxRateRow {
                    from_currency: row.from_currency,
                    to_currency: row.to_currency,
                    rate_date: row.rate_date,
                    rate: row.rate,
                    source: row.source,
                },
            )
        })
        .collect())
}

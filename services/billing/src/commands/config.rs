//! Tax rules, FX rates (entered or imported from the ECB reference-rate
//! XML) and the tenant's billing settings. Each change is audited, and
//! wakes the held-invoice retry (a new rule or rate may release drafts).

use rust_decimal::Decimal;

use super::CommandError;
use crate::domain::ecb::parse_ecb_rates;
use crate::store::Tx;
use crate::store::config::{self, FxRateRow, TaxRuleRow, TenantSettingsRow};
use otc_shared::TenantId;
use otc_shared::audit::{self, AuditEntry};

/// Wakes the held-invoice retry worker once the transaction commits.
pub const HOLDS_CHANNEL: &str = "otc_billing_holds";

pub async fn notify_holds(tx: &mut Tx) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_notify('otc_billing_holds', '') AS notified")
        .fetch_one(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_tax_rule(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    rule: &TaxRuleRow,
) -> Result<(), CommandError> {
    let before = config::upsert_tax_rule(tx, tenant.as_str(), rule, actor).await?;
    let state = |rule: &TaxRuleRow| {
        serde_json::json!({
            "region": rule.region, "tax_code": rule.tax_code,
            "rate": rule.rate.to_string(), "valid_from": rule.valid_from,
            "valid_to": rule.valid_to,
        })
    };
    audit::record(
        tx,
        AuditEntry {
            tenant,
            actor,
            action: "tax_rule.set",
            entity_type: "tax_rule",
            entity_id: &format!("{}/{}/{}", rule.region, rule.tax_code, rule.valid_from),
            before: before.as_ref().map(state),
            after: Some(state(rule)),
        },
    )
    .await?;
    notify_holds(tx).await?;
    Ok(())
}

pub async fn set_fx_rates(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    rates: &[FxRateRow],
    action: &str,
) -> Result<(), CommandError> {
    config::upsert_fx_rates(tx, tenant.as_str(), rates).await?;
    let after: Vec<serde_json::Value> = rates
        .iter()
        .map(|rate| {
            serde_json::json!({
                "from": rate.from_currency, "to": rate.to_currency,
                "date": rate.rate_date, "rate": rate.rate.to_string(), "source": rate.source,
            })
        })
        .collect();
    audit::record(
        tx,
        AuditEntry {
            tenant,
            actor,
            action,
            entity_type: "fx_rate",
            entity_id: &rates
                .first()
                .map(|rate| format!("{}/{}", rate.from_currency, rate.rate_date))
                .unwrap_or_default(),
            before: None,
            after: Some(serde_json::Value::Array(after)),
        },
    )
    .await?;
    notify_holds(tx).await?;
    Ok(())
}

/// Imports an ECB reference-rate file: all of it or, on any error, nothing.
pub async fn import_ecb(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    xml: &str,
) -> Result<(usize, Vec<String>), CommandError> {
    let parsed =
        parse_ecb_rates(xml).map_err(|error| CommandError::invalid("xml", error.to_string()))?;
    let rates: Vec<FxRateRow> = parsed
        .iter()
        .map(|rate| FxRateRow {
            from_currency: "EUR".to_owned(),
            to_currency: rate.currency.code().to_owned(),
            rate_date: rate.date,
            rate: rate.rate,
            source: "ecb".to_owned(),
        })
        .collect();
    let mut dates: Vec<String> = parsed.iter().map(|rate| rate.date.to_string()).collect();
    dates.sort();
    dates.dedup();
    set_fx_rates(tx, tenant, actor, &rates, "fx_rates.import_ecb").await?;
    Ok((rates.len(), dates))
}

pub async fn set_tenant_settings(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    settings: &TenantSettingsRow,
) -> Result<i64, CommandError> {
    let before = config::tenant_settings(tx).await?;
    let version = config::upsert_tenant_settings(tx, tenant.as_str(), settings).await?;
    let state = |settings: &TenantSettingsRow| {
        serde_json::json!({
            "functional_currency": settings.functional_currency,
            "seller_name": settings.seller_name,
            "seller_address": settings.seller_address,
            "seller_tax_id": settings.seller_tax_id,
            "payment_instructions": settings.payment_instructions,
            "fx_max_age_days": settings.fx_max_age_days,
            "default_price_basis": settings.default_price_basis,
        })
    };
    audit::record(
        tx,
        AuditEntry {
            tenant,
            actor,
            action: "billing_settings.set",
            entity_type: "tenant_settings",
            entity_id: tenant.as_str(),
            before: Some(state(&before)),
            after: Some(state(settings)),
        },
    )
    .await?;
    notify_holds(tx).await?;
    Ok(version)
}

/// A rate must be positive and a fraction below 1 for tax.
pub fn valid_tax_rate(rate: Decimal) -> bool {
    rate >= Decimal::ZERO && rate < Decimal::ONE
}

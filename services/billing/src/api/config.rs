//! `otc.billing.v1.BillingConfigService`: tax rules, FX rates, tenant settings.

use sqlx::PgPool;
use tonic::{Request, Response, Status};

use super::{Fields, begin, commit, non_empty, status_of};
use crate::commands::config::{self as commands, valid_tax_rate};
use crate::store::config::{self, FxRateRow, TaxRuleRow, TenantSettingsRow};
use otc_proto::billing as wire;
use otc_proto::billing::billing_config_service_server::BillingConfigService;
use otc_shared::Currency;
use otc_shared::address::Address;
use otc_shared::auth::{Permission, authorize};

pub struct ConfigApi {
    pool: PgPool,
}

impl ConfigApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn rule_to_wire(rule: &TaxRuleRow) -> wire::TaxRule {
    wire::TaxRule {
        region: rule.region.clone(),
        tax_code: rule.tax_code.clone(),
        rate: rule.rate.normalize().to_string(),
        valid_from: rule.valid_from.to_string(),
        valid_to: rule
            .valid_to
            .map(|date| date.to_string())
            .unwrap_or_default(),
    }
}

fn rate_to_wire(rate: &FxRateRow) -> wire::FxRate {
    wire::FxRate {
        from_currency: rate.from_currency.clone(),
        to_currency: rate.to_currency.clone(),
        rate_date: rate.rate_date.to_string(),
        rate: rate.rate.normalize().to_string(),
        source: rate.source.clone(),
    }
}

fn currency(fields: &mut Fields, field: &str, code: &str) -> Option<String> {
    match Currency::parse(code.trim()) {
        Ok(currency) => Some(currency.code().to_owned()),
        Err(error) => {
            fields.add(field, error.to_string());
            None
        }
    }
}

fn settings_to_wire(settings: &TenantSettingsRow) -> wire::TenantSettings {
    wire::TenantSettings {
        functional_currency: settings.functional_currency.clone(),
        seller_name: settings.seller_name.clone(),
        seller_address: Some(Address::from_json(&settings.seller_address).to_proto()),
        seller_tax_id: settings.seller_tax_id.clone().unwrap_or_default(),
        payment_instructions: settings.payment_instructions(),
        fx_max_age_days: u32::try_from(settings.fx_max_age_days).unwrap_or_default(),
        default_price_basis: settings.default_price_basis.to_uppercase(),
        version: u64::try_from(settings.version).unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl BillingConfigService for ConfigApi {
    async fn set_tax_rule(
        &self,
        request: Request<wire::SetTaxRuleRequest>,
    ) -> Result<Response<wire::TaxRule>, Status> {
        let principal = authorize(&request, Permission::TaxAndFxWrite)?;
        let given = request.into_inner().rule.unwrap_or_default();
        let mut fields = Fields::new();
        if given.region.trim().is_empty() {
            fields.add("rule.region", "is required");
        }
        if given.tax_code.trim().is_empty() {
            fields.add("rule.tax_code", "is required");
        }
        let rate = fields.decimal("rule.rate", &given.rate);
        if let Some(rate) = rate
            && !valid_tax_rate(rate)
        {
            fields.add(
                "rule.rate",
                format!("{rate} is not a fraction in [0, 1): write 0.2 for 20%"),
            );
        }
        let valid_from = fields.date("rule.valid_from", &given.valid_from);
        let valid_to = fields.optional_date("rule.valid_to", &given.valid_to);
        if let (Some(from), Some(to)) = (valid_from, valid_to)
            && to <= from
        {
            fields.add(
                "rule.valid_to",
                "must be after valid_from (it is exclusive)",
            );
        }
        fields.finish()?;
        let (Some(rate), Some(valid_from)) = (rate, valid_from) else {
            return Err(Status::invalid_argument("invalid rule"));
        };
        let rule = TaxRuleRow {
            region: given.region.trim().to_owned(),
            tax_code: given.tax_code.trim().to_owned(),
            rate,
            valid_from,
            valid_to,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        commands::set_tax_rule(&mut tx, &principal.tenant, &principal.subject, &rule)
            .await
            .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(rule_to_wire(&rule)))
    }

    async fn list_tax_rules(
        &self,
        request: Request<wire::ListTaxRulesRequest>,
    ) -> Result<Response<wire::ListTaxRulesResponse>, Status> {
        let principal = authorize(&request, Permission::InvoicesRead)?;
        let region = non_empty(&request.into_inner().region);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rules = config::list_tax_rules(&mut tx, region.as_deref())
            .await
            .map_err(|error| super::database_status(&error))?;
        commit(tx).await?;
        Ok(Response::new(wire::ListTaxRulesResponse {
            rules: rules.iter().map(rule_to_wire).collect(),
        }))
    }

    async fn set_fx_rate(
        &self,
        request: Request<wire::SetFxRateRequest>,
    ) -> Result<Response<wire::FxRate>, Status> {
        let principal = authorize(&request, Permission::TaxAndFxWrite)?;
        let given = request.into_inner().rate.unwrap_or_default();
        let mut fields = Fields::new();
        let from = currency(&mut fields, "rate.from_currency", &given.from_currency);
        let to = currency(&mut fields, "rate.to_currency", &given.to_currency);
        if from.is_some() && from == to {
            fields.add("rate.to_currency", "must differ from from_currency");
        }
        let date = fields.date("rate.rate_date", &given.rate_date);
        let rate = fields.decimal("rate.rate", &given.rate);
        if let Some(rate) = rate
            && rate <= rust_decimal::Decimal::ZERO
        {
            fields.add("rate.rate", "must be positive");
        }
        fields.finish()?;
        let (Some(from), Some(to), Some(date), Some(rate)) = (from, to, date, rate) else {
            return Err(Status::invalid_argument("invalid rate"));
        };
        let row = FxRateRow {
            from_currency: from,
            to_currency: to,
            rate_date: date,
            rate,
            source: "manual".to_owned(),
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        commands::set_fx_rates(
            &mut tx,
            &principal.tenant,
            &principal.subject,
            std::slice::from_ref(&row),
            "fx_rate.set",
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(rate_to_wire(&row)))
    }

    async fn list_fx_rates(
        &self,
        request: Request<wire::ListFxRatesRequest>,
    ) -> Result<Response<wire::ListFxRatesResponse>, Status> {
        let principal = authorize(&request, Permission::InvoicesRead)?;
        let message = request.into_inner();
        let from = non_empty(&message.from_currency).map(|code| code.to_uppercase());
        let to = non_empty(&message.to_currency).map(|code| code.to_uppercase());
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rates = config::list_fx_rates(&mut tx, from.as_deref(), to.as_deref())
            .await
            .map_err(|error| super::database_status(&error))?;
        commit(tx).await?;
        Ok(Response::new(wire::ListFxRatesResponse {
            rates: rates.iter().map(rate_to_wire).collect(),
        }))
    }

    async fn import_ecb_rates(
        &self,
        request: Request<wire::ImportEcbRatesRequest>,
    ) -> Result<Response<wire::ImportEcbRatesResponse>, Status> {
        let principal = authorize(&request, Permission::TaxAndFxWrite)?;
        let xml = request.into_inner().xml;
        let Ok(text) = std::str::from_utf8(&xml) else {
            let mut fields = Fields::new();
            fields.add("xml", "is not UTF-8 text");
            return Err(super::invalid_argument(&fields.0));
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let (count, dates) =
            commands::import_ecb(&mut tx, &principal.tenant, &principal.subject, text)
                .await
                .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(wire::ImportEcbRatesResponse {
            rates_imported: u32::try_from(count).unwrap_or(u32::MAX),
            dates,
        }))
    }

    async fn set_tenant_settings(
        &self,
        request: Request<wire::TenantSettings>,
    ) -> Result<Response<wire::TenantSettings>, Status> {
        let principal = authorize(&request, Permission::TaxAndFxWrite)?;
        let given = request.into_inner();
        let mut fields = Fields::new();
        let functional = currency(
            &mut fields,
            "functional_currency",
            &given.functional_currency,
        );
        let basis = non_empty(&given.default_price_basis)
            .map_or_else(|| "exclusive".to_owned(), |basis| basis.to_lowercase());
        if basis != "exclusive" && basis != "inclusive" {
            fields.add(
                "default_price_basis",
                format!("`{basis}` is not EXCLUSIVE or INCLUSIVE"),
            );
        }
        if given.fx_max_age_days > 366 {
            fields.add("fx_max_age_days", "at most 366");
        }
        if given.seller_name.trim().is_empty() {
            fields.add("seller_name", "is required: it is printed on every invoice");
        }
        fields.finish()?;
        let settings = TenantSettingsRow {
            functional_currency: functional.unwrap_or_default(),
            seller_name: given.seller_name.trim().to_owned(),
            seller_address: serde_json::to_value(
                Address::from_proto(given.seller_address.as_ref()).unwrap_or_default(),
            )
            .unwrap_or_default(),
            seller_tax_id: non_empty(&given.seller_tax_id),
            payment_instructions: serde_json::to_value(&given.payment_instructions)
                .unwrap_or_default(),
            fx_max_age_days: if given.fx_max_age_days == 0 {
                7
            } else {
                i32::try_from(given.fx_max_age_days).unwrap_or(7)
            },
            default_price_basis: basis,
            version: 0,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        commands::set_tenant_settings(&mut tx, &principal.tenant, &principal.subject, &settings)
            .await
            .map_err(status_of)?;
        let stored = config::tenant_settings(&mut tx)
            .await
            .map_err(|error| super::database_status(&error))?;
        commit(tx).await?;
        Ok(Response::new(settings_to_wire(&stored)))
    }

    async fn get_tenant_settings(
        &self,
        request: Request<wire::GetTenantSettingsRequest>,
    ) -> Result<Response<wire::TenantSettings>, Status> {
        let principal = authorize(&request, Permission::InvoicesRead)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let stored = config::tenant_settings(&mut tx)
            .await
            .map_err(|error| super::database_status(&error))?;
        commit(tx).await?;
        Ok(Response::new(settings_to_wire(&stored)))
    }
}

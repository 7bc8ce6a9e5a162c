//! Whether a draft can be issued, and with what tax, rate and terms: decided
//! from a context loaded once for a whole batch of drafts (customers, tenant
//! settings, tax rules, FX rates, the orders and what shipped so far).

use std::collections::HashMap;

use chrono::{NaiveDate, TimeDelta};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::CommandError;
use crate::domain::discrepancy::{self, Discrepancy};
use crate::domain::fx::{AppliedRate, FxRate, FxTable};
use crate::domain::tax::{
    PriceBasis, RuleTaxEngine, TaxAssessment, TaxRule, TaxTreatment, TaxableDocument, TaxableLine,
};
use crate::store::Tx;
use crate::store::config::{self, FxRateRow, TaxRuleRow, TenantSettingsRow};
use crate::store::customers::{self, CustomerRow};
use crate::store::invoices::{self, BillableLine, ShippedSoFar};
use crate::store::orders::{self, OrderLineRow};
use otc_shared::terms::PaymentTerms;
use otc_shared::{Currency, Money};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldReason {
    pub code: String,
    pub message: String,
}

pub const MISSING_TAX_RULE: &str = "MISSING_TAX_RULE";
pub const MISSING_FX_RATE: &str = "MISSING_FX_RATE";
pub const UNKNOWN_CUSTOMER: &str = "UNKNOWN_CUSTOMER";
pub const DISCREPANCY: &str = "DISCREPANCY";
pub const PAYMENT_TERMS: &str = "PAYMENT_TERMS";

/// What one draft needs to be judged: its tenant, lines and issue date.
pub struct Draft<'a> {
    pub tenant: &'a str,
    pub lines: &'a [BillableLine],
    pub issue_date: NaiveDate,
    pub discrepancy_accepted: bool,
}

/// Everything a batch of drafts is judged against, loaded in a few queries.
pub struct Context {
    customers: HashMap<Uuid, CustomerRow>,
    settings: HashMap<String, TenantSettingsRow>,
    rules: Vec<(String, TaxRuleRow)>,
    rates: Vec<(String, FxRateRow)>,
    ordered: Vec<OrderLineRow>,
    shipped: Vec<ShippedSoFar>,
}

fn sorted_unique<T: Ord>(mut values: Vec<T>) -> Vec<T> {
    values.sort();
    values.dedup();
    values
}

impl Context {
    pub async fn load(tx: &mut Tx, drafts: &[Draft<'_>]) -> Result<Self, CommandError> {
        let lines = || drafts.iter().flat_map(|draft| draft.lines.iter());
        let customer_ids = sorted_unique(lines().map(|line| line.customer_id).collect());
        let customers: HashMap<Uuid, CustomerRow> = customers::load_many(tx, &customer_ids)
            .await?
            .into_iter()
            .map(|customer| (customer.id, customer))
            .collect();
        let tenants = sorted_unique(drafts.iter().map(|draft| draft.tenant.to_owned()).collect());
        let settings = config::tenant_settings_of(tx, &tenants).await?;
        let regions = sorted_unique(
            customers
                .values()
                .map(|customer| customer.tax_region.clone())
                .collect(),
        );
        let codes = sorted_unique(lines().map(|line| line.tax_code.clone()).collect());
        let rules = config::tax_rules_of(tx, &regions, &codes).await?;
        let mut currencies: Vec<String> = lines().map(|line| line.currency.clone()).collect();
        currencies.extend(settings.values().map(|row| row.functional_currency.clone()));
        currencies.push("EUR".to_owned());
        let currencies = sorted_unique(currencies);
        let needs_rates = lines().any(|line| {
            settings
                .values()
                .any(|row| row.functional_currency != line.currency)
        });
        let rates = match (
            drafts.iter().map(|draft| draft.issue_date).min(),
            drafts.iter().map(|draft| draft.issue_date).max(),
        ) {
            (Some(earliest), Some(latest)) if needs_rates => {
                let max_age = settings
                    .values()
                    .map(|row| i64::from(row.fx_max_age_days))
                    .max()
                    .unwrap_or(7);
                let from = earliest
                    .checked_sub_signed(TimeDelta::days(max_age))
                    .unwrap_or(earliest);
                config::fx_rates_of(tx, &currencies, from, latest).await?
            }
            _ => Vec::new(),
        };
        let order_ids = sorted_unique(lines().map(|line| line.order_id).collect());
        let ordered = orders::lines_of_orders(tx, &order_ids).await?;
        let shipped = invoices::shipped_so_far(tx, &order_ids).await?;
        Ok(Self {
            customers,
            settings,
            rules,
            rates,
            ordered,
            shipped,
        })
    }

    pub fn settings_of(&self, tenant: &str) -> TenantSettingsRow {
        self.settings.get(tenant).cloned().unwrap_or_default()
    }
}

/// What an evaluation found: everything needed to issue, or why not.
pub struct Evaluation {
    pub customer: Option<CustomerRow>,
    pub settings: TenantSettingsRow,
    pub reasons: Vec<HoldReason>,
    pub discrepancies: Vec<Discrepancy>,
    pub assessment: Option<TaxAssessment>,
    /// None when the document is in the functional currency.
    pub rate: Option<AppliedRate>,
    pub terms: Option<PaymentTerms>,
}

fn money(amount: Decimal, currency: Currency) -> Result<Money, CommandError> {
    Money::rounded(amount, currency).map_err(|error| {
        CommandError::FailedPrecondition(format!("amount {amount} {}: {error}", currency.code()))
    })
}

fn basis_of(customer: &CustomerRow, settings: &TenantSettingsRow) -> PriceBasis {
    let name = customer
        .price_basis
        .as_deref()
        .unwrap_or(&settings.default_price_basis);
    if name == "inclusive" {
        PriceBasis::Inclusive
    } else {
        PriceBasis::Exclusive
    }
}

pub fn treatment_of(customer: &CustomerRow) -> TaxTreatment {
    match customer.tax_treatment.as_str() {
        "exempt" => TaxTreatment::Exempt {
            reason: customer
                .tax_exemption_reason
                .clone()
                .unwrap_or_else(|| "exempt customer".to_owned()),
        },
        "reverse_charge" => TaxTreatment::ReverseCharge {
            buyer_tax_id: customer.buyer_tax_id.clone().unwrap_or_default(),
        },
        _ => TaxTreatment::Standard,
    }
}

pub fn evaluate(
    context: &Context,
    draft: &Draft<'_>,
    currency: Currency,
) -> Result<Evaluation, CommandError> {
    let customer_id = draft
        .lines
        .first()
        .map(|line| line.customer_id)
        .unwrap_or_default();
    let customer = context
        .customers
        .get(&customer_id)
        .filter(|customer| customer.projected)
        .cloned();
    let settings = context.settings_of(draft.tenant);
    let mut reasons = Vec::new();
    let mut assessment = None;
    let mut terms = None;
    match &customer {
        None => reasons.push(HoldReason {
            code: UNKNOWN_CUSTOMER.to_owned(),
            message: format!(
                "customer {customer_id} is not known to billing yet (no CustomerUpserted event)"
            ),
        }),
        Some(customer) => {
            let rules: Vec<TaxRule> = context
                .rules
                .iter()
                .filter(|(tenant, rule)| {
                    tenant == draft.tenant && rule.region == customer.tax_region
                })
                .map(|(_, rule)| TaxRule {
                    region: rule.region.clone(),
                    tax_code: rule.tax_code.clone(),
                    rate: rule.rate,
                    valid_from: rule.valid_from,
                    valid_to: rule.valid_to,
                })
                .collect();
            let document = TaxableDocument {
                region: customer.tax_region.clone(),
                tax_date: draft.issue_date,
                currency,
                basis: basis_of(customer, &settings),
                treatment: treatment_of(customer),
                lines: draft
                    .lines
                    .iter()
                    .map(|line| {
                        Ok(TaxableLine {
                            line_ref: line.id.to_string(),
                            tax_code: line.tax_code.clone(),
                            amount: money(line.amount, currency)?,
                        })
                    })
                    .collect::<Result<Vec<_>, CommandError>>()?,
            };
            match RuleTaxEngine::new(rules).assess_now(&document) {
                Ok(found) => assessment = Some(found),
                Err(error) => reasons.push(HoldReason {
                    code: MISSING_TAX_RULE.to_owned(),
                    message: error.to_string(),
                }),
            }
            match PaymentTerms::parse(&customer.payment_terms_code) {
                Ok(parsed) => terms = Some(parsed),
                Err(error) => reasons.push(HoldReason {
                    code: PAYMENT_TERMS.to_owned(),
                    message: error.to_string(),
                }),
            }
        }
    }
    let rate = exchange_rate(context, draft, currency, &settings, &mut reasons)?;
    let discrepancies = discrepancies_of(context, draft.lines);
    if !discrepancies.is_empty() && !draft.discrepancy_accepted {
        let listed: Vec<String> = discrepancies
            .iter()
            .map(|found| {
                format!(
                    "order {} line {}: {} expected {}, invoice has {}",
                    found.order_id, found.order_line_id, found.kind, found.expected, found.actual
                )
            })
            .collect();
        reasons.push(HoldReason {
            code: DISCREPANCY.to_owned(),
            message: listed.join("; "),
        });
    }
    Ok(Evaluation {
        customer,
        settings,
        reasons,
        discrepancies,
        assessment,
        rate,
        terms,
    })
}

fn exchange_rate(
    context: &Context,
    draft: &Draft<'_>,
    currency: Currency,
    settings: &TenantSettingsRow,
    reasons: &mut Vec<HoldReason>,
) -> Result<Option<AppliedRate>, CommandError> {
    let functional = Currency::parse(&settings.functional_currency).map_err(|error| {
        CommandError::FailedPrecondition(format!("tenant functional currency: {error}"))
    })?;
    if functional == currency {
        return Ok(None);
    }
    let rates: Vec<FxRate> = context
        .rates
        .iter()
        .filter(|(tenant, _)| tenant == draft.tenant)
        .filter_map(|(_, row)| {
            Some(FxRate {
                from: Currency::parse(&row.from_currency).ok()?,
                to: Currency::parse(&row.to_currency).ok()?,
                rate_date: row.rate_date,
                rate: row.rate,
            })
        })
        .collect();
    match FxTable::new(rates).rate(
        currency,
        functional,
        draft.issue_date,
        i64::from(settings.fx_max_age_days),
    ) {
        Ok(rate) => Ok(Some(rate)),
        Err(error) => {
            reasons.push(HoldReason {
                code: MISSING_FX_RATE.to_owned(),
                message: error.to_string(),
            });
            Ok(None)
        }
    }
}

fn discrepancies_of(context: &Context, lines: &[BillableLine]) -> Vec<Discrepancy> {
    let billed: Vec<discrepancy::BilledLine<'_>> = lines
        .iter()
        .map(|line| discrepancy::BilledLine {
            order_id: line.order_id,
            order_line_id: &line.order_line_id,
            sku: &line.sku,
            unit_price: line.unit_price,
            currency: &line.currency,
            tax_code: &line.tax_code,
        })
        .collect();
    let ordered: Vec<discrepancy::OrderedLine<'_>> = context
        .ordered
        .iter()
        .filter(|row| lines.iter().any(|line| line.order_id == row.order_id))
        .map(|row| discrepancy::OrderedLine {
            order_id: row.order_id,
            line_id: &row.line_id,
            sku: &row.sku,
            quantity: row.quantity,
            unit_price: row.unit_price,
            line_amount: row.line_amount,
            currency: &row.currency,
            tax_code: &row.tax_code,
        })
        .collect();
    let shipped: Vec<discrepancy::ShippedLine<'_>> = context
        .shipped
        .iter()
        .filter(|row| lines.iter().any(|line| line.order_id == row.order_id))
        .map(|row| discrepancy::ShippedLine {
            order_id: row.order_id,
            line_id: &row.order_line_id,
            quantity: row.quantity,
            amount: row.amount,
        })
        .collect();
    discrepancy::check(&billed, &ordered, &shipped)
}

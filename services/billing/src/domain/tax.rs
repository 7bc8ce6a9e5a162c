//! The tax engine: the tenant's dated rules (region × product tax code)
//! applied line by line, each line rounded half-even on its own.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use futures::future::BoxFuture;
use otc_shared::{Currency, Money, MoneyError};
use rust_decimal::Decimal;

/// One tenant rule: `rate` (a fraction, 0.20 = 20 %) for goods of `tax_code`
/// sold into `region` on dates in `[valid_from, valid_to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRule {
    pub region: String,
    pub tax_code: String,
    pub rate: Decimal,
    pub valid_from: NaiveDate,
    /// Exclusive: the first day the rule no longer applies.
    pub valid_to: Option<NaiveDate>,
}

impl TaxRule {
    fn applies_to(&self, region: &str, tax_code: &str, tax_date: NaiveDate) -> bool {
        self.region == region
            && self.tax_code == tax_code
            && self.valid_from <= tax_date
            && self.valid_to.is_none_or(|end| tax_date < end)
    }
}

/// Whether line amounts are given net of tax or tax-inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceBasis {
    Exclusive,
    Inclusive,
}

/// How the buyer is taxed on this document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaxTreatment {
    Standard,
    Exempt {
        reason: String,
    },
    /// The buyer accounts for the tax (EU B2B cross-border).
    ReverseCharge {
        buyer_tax_id: String,
    },
}

/// The category printed in the tax summary; `Zero` is a rule whose rate is 0,
/// which tax returns report apart from exempt supplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaxCategory {
    Standard,
    Zero,
    Exempt,
    ReverseCharge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxableLine {
    pub line_ref: String,
    pub tax_code: String,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxableDocument {
    pub region: String,
    pub tax_date: NaiveDate,
    pub currency: Currency,
    pub basis: PriceBasis,
    pub treatment: TaxTreatment,
    pub lines: Vec<TaxableLine>,
}

/// A line with its tax; `net + tax = gross` always.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxedLine {
    pub line_ref: String,
    pub tax_code: String,
    pub rate: Decimal,
    pub category: TaxCategory,
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
}

/// One row of the invoice's tax summary: the lines of one category and rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxSummaryRow {
    pub category: TaxCategory,
    pub rate: Decimal,
    pub net: Money,
    pub tax: Money,
}

/// The taxed document. The totals are the sums of the lines, and the summary
/// rows add up to the totals, to the minor unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxAssessment {
    pub lines: Vec<TaxedLine>,
    pub summary: Vec<TaxSummaryRow>,
    pub net_total: Money,
    pub tax_total: Money,
    pub gross_total: Money,
}

/// A (region, tax code, date) no rule covers, with the lines that need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTaxRule {
    pub region: String,
    pub tax_code: String,
    pub tax_date: NaiveDate,
    pub line_refs: Vec<String>,
}

impl fmt::Display for MissingTaxRule {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.line_refs.len() == 1 {
            "line"
        } else {
            "lines"
        };
        write!(
            formatter,
            "region {}, tax code {} on {} ({noun} {})",
            self.region,
            self.tax_code,
            self.tax_date,
            self.line_refs.join(", ")
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    /// Never taxed at zero instead: an invoice with a forgotten rule would
    /// under-collect tax the tenant still owes.
    #[error(
        "no tax rate is set up for {}; add the missing tax rules, then issue the document again",
        join_missing(.0)
    )]
    MissingRules(Vec<MissingTaxRule>),
    #[error(
        "the tax rule for region {region}, tax code {tax_code} valid from {valid_from} has a negative rate ({rate})"
    )]
    NegativeRate {
        region: String,
        tax_code: String,
        valid_from: NaiveDate,
        rate: Decimal,
    },
    #[error("line {line_ref}: {reason}")]
    InvalidLine { line_ref: String, reason: String },
    #[error("the document totals cannot be formed: {0}")]
    Totals(MoneyError),
    /// An external engine failed or answered something unusable.
    #[error("the tax engine failed: {0}")]
    Engine(String),
}

fn join_missing(missing: &[MissingTaxRule]) -> String {
    missing
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where tax comes from: the tenant's rules here, an external service later.
pub trait TaxEngine: Send + Sync {
    fn assess<'a>(
        &'a self,
        document: &'a TaxableDocument,
    ) -> BoxFuture<'a, Result<TaxAssessment, TaxError>>;
}

/// Taxes documents from the tenant's rules, without I/O.
#[derive(Debug, Clone, Default)]
pub struct RuleTaxEngine {
    rules: Vec<TaxRule>,
}

impl TaxEngine for RuleTaxEngine {
    fn assess<'a>(
        &'a self,
        document: &'a TaxableDocument,
    ) -> BoxFuture<'a, Result<TaxAssessment, TaxError>> {
        Box::pin(futures::future::ready(self.assess_now(document)))
    }
}

impl RuleTaxEngine {
    pub fn new(rules: Vec<TaxRule>) -> Self {
        Self { rules }
    }

    /// The rule in force: of those covering the date, the latest
    /// `valid_from` wins (a rate change can be entered without closing the
    /// old rule); of equal `valid_from`, the one entered last.
    pub fn rule_for(&self, region: &str, tax_code: &str, tax_date: NaiveDate) -> Option<&TaxRule> {
        self.rules
            .iter()
            .filter(|rule| rule.applies_to(region, tax_code, tax_date))
            .max_by_key(|rule| rule.valid_from)
    }

    pub fn assess_now(&self, document: &TaxableDocument) -> Result<TaxAssessment, TaxError> {
        for line in &document.lines {
            if line.amount.currency() != document.currency {
                return Err(TaxError::InvalidLine {
                    line_ref: line.line_ref.clone(),
                    reason: format!(
                        "amount {} is not in the document currency {}",
                        line.amount, document.currency
                    ),
                });
            }
        }
        let rates = self.line_rates(document)?;
        let mut lines = Vec::with_capacity(document.lines.len());
        for (line, (rate, category)) in document.lines.iter().zip(rates) {
            lines.push(tax_line(document.basis, line, rate, category)?);
        }
        assemble(document.currency, lines).map_err(TaxError::Totals)
    }

    /// The rate and category of every line, or every missing rule at once.
    fn line_rates(
        &self,
        document: &TaxableDocument,
    ) -> Result<Vec<(Decimal, TaxCategory)>, TaxError> {
        let fixed_category = match document.treatment {
            TaxTreatment::Standard => None,
            TaxTreatment::Exempt { .. } => Some(TaxCategory::Exempt),
            TaxTreatment::ReverseCharge { .. } => Some(TaxCategory::ReverseCharge),
        };
        if let Some(category) = fixed_category {
            return Ok(vec![(Decimal::ZERO, category); document.lines.len()]);
        }
        let mut rates = Vec::with_capacity(document.lines.len());
        let mut missing: Vec<MissingTaxRule> = Vec::new();
        for line in &document.lines {
            let Some(rule) = self.rule_for(&document.region, &line.tax_code, document.tax_date)
            else {
                match missing.iter_mut().find(|gap| gap.tax_code == line.tax_code) {
                    Some(gap) => gap.line_refs.push(line.line_ref.clone()),
                    None => missing.push(MissingTaxRule {
                        region: document.region.clone(),
                        tax_code: line.tax_code.clone(),
                        tax_date: document.tax_date,
                        line_refs: vec![line.line_ref.clone()],
                    }),
                }
                continue;
            };
            if rule.rate.is_sign_negative() && !rule.rate.is_zero() {
                return Err(TaxError::NegativeRate {
                    region: rule.region.clone(),
                    tax_code: rule.tax_code.clone(),
                    valid_from: rule.valid_from,
                    rate: rule.rate,
                });
            }
            let category = if rule.rate.is_zero() {
                TaxCategory::Zero
            } else {
                TaxCategory::Standard
            };
            rates.push((rule.rate, category));
        }
        if !missing.is_empty() {
            return Err(TaxError::MissingRules(missing));
        }
        Ok(rates)
    }
}

fn tax_line(
    basis: PriceBasis,
    line: &TaxableLine,
    rate: Decimal,
    category: TaxCategory,
) -> Result<TaxedLine, TaxError> {
    let split = match basis {
        PriceBasis::Exclusive => split_exclusive(&line.amount, rate),
        PriceBasis::Inclusive => split_inclusive(&line.amount, rate),
    };
    let (net, tax, gross) = split.map_err(|error| TaxError::InvalidLine {
        line_ref: line.line_ref.clone(),
        reason: error.to_string(),
    })?;
    debug_assert_eq!(net.checked_add(&tax).ok(), Some(gross));
    Ok(TaxedLine {
        line_ref: line.line_ref.clone(),
        tax_code: line.tax_code.clone(),
        rate,
        category,
        net,
        tax,
        gross,
    })
}

fn split_exclusive(net: &Money, rate: Decimal) -> Result<(Money, Money, Money), MoneyError> {
    let tax = net.times_rounded(rate)?;
    let gross = net.checked_add(&tax)?;
    Ok((*net, tax, gross))
}

/// The net is rounded and the tax is what is left, so the printed gross is
/// exactly the price the customer was shown.
fn split_inclusive(gross: &Money, rate: Decimal) -> Result<(Money, Money, Money), MoneyError> {
    let out_of_range = || MoneyError::OutOfRange {
        value: format!("{} / (1 + {rate})", gross.amount()),
    };
    let divisor = Decimal::ONE.checked_add(rate).ok_or_else(out_of_range)?;
    let net_exact = gross
        .amount()
        .checked_div(divisor)
        .ok_or_else(out_of_range)?;
    let net = Money::rounded(net_exact, gross.currency())?;
    let tax = gross.checked_sub(&net)?;
    Ok((net, tax, *gross))
}

fn assemble(currency: Currency, lines: Vec<TaxedLine>) -> Result<TaxAssessment, MoneyError> {
    let mut rows: BTreeMap<(TaxCategory, Decimal), (Money, Money)> = BTreeMap::new();
    for line in &lines {
        let (net, tax) = rows
            .entry((line.category, line.rate))
            .or_insert((Money::zero(currency), Money::zero(currency)));
        *net = net.checked_add(&line.net)?;
        *tax = tax.checked_add(&line.tax)?;
    }
    let summary = rows
        .into_iter()
        .map(|((category, rate), (net, tax))| TaxSummaryRow {
            category,
            rate,
            net,
            tax,
        })
        .collect();
    let net_total = Money::sum(currency, lines.iter().map(|line| &line.net))?;
    let tax_total = Money::sum(currency, lines.iter().map(|line| &line.tax))?;
    let gross_total = Money::sum(currency, lines.iter().map(|line| &line.gross))?;
    debug_assert_eq!(net_total.checked_add(&tax_total).ok(), Some(gross_total));
    Ok(TaxAssessment {
        lines,
        summary,
        net_total,
        tax_total,
        gross_total,
    })
}

#[cfg(test)]
mod tests;

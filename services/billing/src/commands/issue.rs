//! Invoicing: billable lines become an invoice that is issued at once
//! (numbered, taxed, converted, due dates set) or held as a draft with the
//! reasons (missing tax rule or FX rate, unknown customer, a discrepancy
//! with the order). Held drafts are evaluated again by the same code.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CommandError, IssueOptions, category_name};
use crate::domain::discrepancy::{self, Discrepancy};
use crate::domain::fx::{AppliedRate, FxRate, FxTable};
use crate::domain::numbering::DocumentSeries;
use crate::domain::tax::{
    PriceBasis, RuleTaxEngine, TaxAssessment, TaxRule, TaxTreatment, TaxableDocument, TaxableLine,
};
use crate::events::outgoing;
use crate::store::Tx;
use crate::store::config::{self, TenantSettingsRow};
use crate::store::customers::{self, CustomerRow};
use crate::store::documents;
use crate::store::invoices::{self, BillableLine, InvoiceRecord, LineRecord};
use crate::store::orders;
use otc_shared::terms::PaymentTerms;
use otc_shared::{Currency, Money, TenantId};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billed {
    Issued(Uuid),
    Held(Uuid),
}

/// Lines of one customer in one currency, to be billed together.
pub struct BillingRun<'a> {
    pub lines: Vec<BillableLine>,
    /// `PER_SHIPMENT` or the consolidated period.
    pub billing_period: String,
    pub issue_date: NaiveDate,
    pub now: DateTime<Utc>,
    pub actor: &'a str,
}

/// What an evaluation found: everything needed to issue, or why not.
struct Evaluation {
    customer: Option<CustomerRow>,
    settings: TenantSettingsRow,
    reasons: Vec<HoldReason>,
    discrepancies: Vec<Discrepancy>,
    assessment: Option<TaxAssessment>,
    rate: Option<AppliedRate>,
    terms: Option<PaymentTerms>,
}

fn money(amount: Decimal, currency: Currency) -> Result<Money, CommandError> {
    Money::rounded(amount, currency).map_err(|error| {
        CommandError::FailedPrecondition(format!("amount {amount} {}: {error}", currency.code()))
    })
}

fn basis_of(customer: Option<&CustomerRow>, settings: &TenantSettingsRow) -> PriceBasis {
    let name = customer
        .and_then(|customer| customer.price_basis.as_deref())
        .unwrap_or(&settings.default_price_basis);
    if name == "inclusive" {
        PriceBasis::Inclusive
    } else {
        PriceBasis::Exclusive
    }
}

fn treatment_of(customer: &CustomerRow) -> TaxTreatment {
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

async fn evaluate(
    tx: &mut Tx,
    lines: &[BillableLine],
    issue_date: NaiveDate,
    currency: Currency,
    discrepancy_accepted: bool,
) -> Result<Evaluation, CommandError> {
    let customer_id = lines
        .first()
        .map(|line| line.customer_id)
        .unwrap_or_default();
    let customer = customers::load(tx, customer_id)
        .await?
        .filter(|customer| customer.projected);
    let settings = config::tenant_settings(tx).await?;
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
            let mut tax_codes: Vec<String> =
                lines.iter().map(|line| line.tax_code.clone()).collect();
            tax_codes.sort();
            tax_codes.dedup();
            let rules: Vec<TaxRule> = config::tax_rules(tx, &customer.tax_region, &tax_codes)
                .await?
                .into_iter()
                .map(|rule| TaxRule {
                    region: rule.region,
                    tax_code: rule.tax_code,
                    rate: rule.rate,
                    valid_from: rule.valid_from,
                    valid_to: rule.valid_to,
                })
                .collect();
            let document = TaxableDocument {
                region: customer.tax_region.clone(),
                tax_date: issue_date,
                currency,
                basis: basis_of(Some(customer), &settings),
                treatment: treatment_of(customer),
                lines: lines
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
    let rate = exchange_rate(tx, currency, &settings, issue_date, &mut reasons).await?;
    let discrepancies = discrepancies_of(tx, lines).await?;
    if !discrepancies.is_empty() && !discrepancy_accepted {
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
        rate: rate.flatten(),
        terms,
    })
}

/// The dated rate into the functional currency: `Ok(Some(None))` when no
/// conversion is needed, `Ok(None)` (and a hold reason) when it is missing.
async fn exchange_rate(
    tx: &mut Tx,
    currency: Currency,
    settings: &TenantSettingsRow,
    issue_date: NaiveDate,
    reasons: &mut Vec<HoldReason>,
) -> Result<Option<Option<AppliedRate>>, CommandError> {
    let functional = Currency::parse(&settings.functional_currency).map_err(|error| {
        CommandError::FailedPrecondition(format!("tenant functional currency: {error}"))
    })?;
    if functional == currency {
        return Ok(Some(None));
    }
    let max_age = i64::from(settings.fx_max_age_days);
    let earliest = issue_date
        .checked_sub_signed(chrono::TimeDelta::days(max_age))
        .unwrap_or(issue_date);
    let pair = vec![
        currency.code().to_owned(),
        functional.code().to_owned(),
        "EUR".to_owned(),
    ];
    let rows = config::fx_rates_between(tx, &pair, earliest, issue_date).await?;
    let rates: Vec<FxRate> = rows
        .into_iter()
        .filter_map(|row| {
            Some(FxRate {
                from: Currency::parse(&row.from_currency).ok()?,
                to: Currency::parse(&row.to_currency).ok()?,
                rate_date: row.rate_date,
                rate: row.rate,
            })
        })
        .collect();
    match FxTable::new(rates).rate(currency, functional, issue_date, max_age) {
        Ok(rate) => Ok(Some(Some(rate))),
        Err(error) => {
            reasons.push(HoldReason {
                code: MISSING_FX_RATE.to_owned(),
                message: error.to_string(),
            });
            Ok(None)
        }
    }
}

async fn discrepancies_of(
    tx: &mut Tx,
    lines: &[BillableLine],
) -> Result<Vec<Discrepancy>, CommandError> {
    let mut order_ids: Vec<Uuid> = lines.iter().map(|line| line.order_id).collect();
    order_ids.sort();
    order_ids.dedup();
    let ordered_rows = orders::lines_of_orders(tx, &order_ids).await?;
    let shipped_rows = invoices::shipped_so_far(tx, &order_ids).await?;
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
    let ordered: Vec<discrepancy::OrderedLine<'_>> = ordered_rows
        .iter()
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
    let shipped: Vec<discrepancy::ShippedLine<'_>> = shipped_rows
        .iter()
        .map(|row| discrepancy::ShippedLine {
            order_id: row.order_id,
            line_id: &row.order_line_id,
            quantity: row.quantity,
            amount: row.amount,
        })
        .collect();
    Ok(discrepancy::check(&billed, &ordered, &shipped))
}

fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Bills `run.lines` (one customer, one currency): a new invoice, or the
/// held draft `draft` evaluated again. `accepted_by` issues despite a
/// discrepancy (an AR clerk's decision, kept on the invoice).
pub async fn bill(
    tx: &mut Tx,
    tenant: &TenantId,
    run: &BillingRun<'_>,
    options: IssueOptions,
    draft: Option<&InvoiceRecord>,
    accepted_by: Option<&str>,
) -> Result<Billed, CommandError> {
    let Some(first) = run.lines.first() else {
        return Err(CommandError::FailedPrecondition(
            "nothing to bill: no open lines".to_owned(),
        ));
    };
    let currency = Currency::parse(&first.currency).map_err(|error| {
        CommandError::FailedPrecondition(format!("currency of shipped lines: {error}"))
    })?;
    let accepted_by = accepted_by
        .map(str::to_owned)
        .or_else(|| draft.and_then(|draft| draft.discrepancy_accepted_by.clone()));
    let evaluation = evaluate(
        tx,
        &run.lines,
        run.issue_date,
        currency,
        accepted_by.is_some(),
    )
    .await?;
    let id = draft.map_or_else(Uuid::now_v7, |draft| draft.id);
    let base = InvoiceRecord {
        id,
        kind: "invoice".to_owned(),
        status: "held".to_owned(),
        series: None,
        sequence: None,
        number: None,
        customer_id: first.customer_id,
        corrects_invoice_id: None,
        currency: currency.code().to_owned(),
        functional_currency: evaluation.settings.functional_currency.clone(),
        fx_rate: None,
        fx_rate_date: None,
        net_amount: Decimal::ZERO,
        tax_amount: Decimal::ZERO,
        total_amount: Decimal::ZERO,
        functional_net_amount: None,
        functional_tax_amount: None,
        functional_total_amount: None,
        tax_summary: serde_json::json!([]),
        issue_date: None,
        due_date: None,
        discount_date: None,
        discount_amount: None,
        payment_terms_code: evaluation
            .customer
            .as_ref()
            .map(|customer| customer.payment_terms_code.clone())
            .unwrap_or_default(),
        billing_period: run.billing_period.clone(),
        hold_reasons: json(&evaluation.reasons),
        discrepancies: json(&evaluation.discrepancies),
        discrepancy_accepted_by: if evaluation.discrepancies.is_empty() {
            None
        } else {
            accepted_by.clone()
        },
        reason: String::new(),
        idempotency_key: None,
        request_hash: None,
        document_view: None,
        created_at: draft.map_or(run.now, |draft| draft.created_at),
        issued_at: None,
    };
    if !evaluation.reasons.is_empty() {
        hold(tx, tenant, run, base, draft, &evaluation).await?;
        return Ok(Billed::Held(id));
    }
    issue(tx, tenant, run, base, draft, evaluation, options).await?;
    Ok(Billed::Issued(id))
}

fn draft_lines(lines: &[BillableLine]) -> Vec<LineRecord> {
    lines
        .iter()
        .zip(1..)
        .map(|(line, line_no)| LineRecord {
            line_no,
            billable_line_id: Some(line.id),
            corrects_line_no: None,
            shipment_id: Some(line.shipment_id),
            order_id: Some(line.order_id),
            order_line_id: Some(line.order_line_id.clone()),
            sku: line.sku.clone(),
            description: line.description.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            tax_code: line.tax_code.clone(),
            // Not taxed yet: a held draft never shows a made-up rate.
            tax_category: "pending".to_owned(),
            tax_rate: Decimal::ZERO,
            net: line.amount,
            tax: Decimal::ZERO,
            gross: line.amount,
            functional_net: None,
            functional_tax: None,
        })
        .collect()
}

async fn hold(
    tx: &mut Tx,
    tenant: &TenantId,
    run: &BillingRun<'_>,
    mut record: InvoiceRecord,
    draft: Option<&InvoiceRecord>,
    evaluation: &Evaluation,
) -> Result<(), CommandError> {
    let lines = draft_lines(&run.lines);
    let total: Decimal = run.lines.iter().map(|line| line.amount).sum();
    record.net_amount = total;
    record.total_amount = total;
    let ids: Vec<Uuid> = run.lines.iter().map(|line| line.id).collect();
    let changed = match draft {
        None => {
            invoices::insert_invoice(tx, tenant.as_str(), &record).await?;
            invoices::insert_lines(tx, tenant.as_str(), record.id, &lines).await?;
            claim(tx, record.id, &ids).await?;
            true
        }
        Some(previous) => {
            let changed = previous.hold_reasons != record.hold_reasons;
            invoices::update_draft(tx, &record).await?;
            changed
        }
    };
    if changed {
        tracing::info!(invoice = %record.id, reasons = %record.hold_reasons, "invoice held");
        otc_shared::outbox::enqueue(tx, &outgoing::invoice_held(tenant, &record, &lines)).await?;
        let newly_flagged = !evaluation.discrepancies.is_empty()
            && draft.is_none_or(|previous| previous.discrepancies != record.discrepancies);
        if newly_flagged {
            otc_shared::outbox::enqueue(
                tx,
                &outgoing::discrepancy_flagged(tenant, &record, &evaluation.discrepancies),
            )
            .await?;
        }
        otc_shared::audit::record(
            tx,
            otc_shared::audit::AuditEntry {
                tenant,
                actor: run.actor,
                action: "invoice.held",
                entity_type: "invoice",
                entity_id: &record.id.to_string(),
                before: draft.map(|previous| previous.hold_reasons.clone()),
                after: Some(record.hold_reasons.clone()),
            },
        )
        .await?;
    }
    Ok(())
}

async fn claim(tx: &mut Tx, invoice_id: Uuid, ids: &[Uuid]) -> Result<(), CommandError> {
    let claimed = invoices::claim_billable_lines(tx, invoice_id, ids).await?;
    if claimed != u64::try_from(ids.len()).unwrap_or(u64::MAX) {
        // Another invoice took a line first: roll back rather than bill twice.
        return Err(CommandError::FailedPrecondition(format!(
            "{} of {} lines were already billed",
            ids.len()
                .saturating_sub(usize::try_from(claimed).unwrap_or(0)),
            ids.len()
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn issue(
    tx: &mut Tx,
    tenant: &TenantId,
    run: &BillingRun<'_>,
    mut record: InvoiceRecord,
    draft: Option<&InvoiceRecord>,
    evaluation: Evaluation,
    options: IssueOptions,
) -> Result<(), CommandError> {
    let (Some(assessment), Some(customer), Some(terms)) =
        (evaluation.assessment, evaluation.customer, evaluation.terms)
    else {
        return Err(CommandError::FailedPrecondition(
            "an invoice without hold reasons must have tax, customer and terms".to_owned(),
        ));
    };
    let functional =
        Currency::parse(&evaluation.settings.functional_currency).map_err(|error| {
            CommandError::FailedPrecondition(format!("tenant functional currency: {error}"))
        })?;
    let convert = |amount: &Money| -> Result<Money, CommandError> {
        match &evaluation.rate {
            None => Ok(*amount),
            Some(rate) => rate.convert(amount, functional).map_err(|error| {
                CommandError::FailedPrecondition(format!("converting {amount}: {error}"))
            }),
        }
    };
    let mut lines = Vec::with_capacity(run.lines.len());
    let mut functional_net = Money::zero(functional);
    let mut functional_tax = Money::zero(functional);
    for ((billable, taxed), line_no) in run.lines.iter().zip(&assessment.lines).zip(1..) {
        let net_f = convert(&taxed.net)?;
        let tax_f = convert(&taxed.tax)?;
        functional_net = functional_net.checked_add(&net_f).map_err(money_error)?;
        functional_tax = functional_tax.checked_add(&tax_f).map_err(money_error)?;
        lines.push(LineRecord {
            line_no,
            billable_line_id: Some(billable.id),
            corrects_line_no: None,
            shipment_id: Some(billable.shipment_id),
            order_id: Some(billable.order_id),
            order_line_id: Some(billable.order_line_id.clone()),
            sku: billable.sku.clone(),
            description: billable.description.clone(),
            quantity: billable.quantity,
            unit_price: billable.unit_price,
            tax_code: billable.tax_code.clone(),
            tax_category: category_name(taxed.category).to_owned(),
            tax_rate: taxed.rate,
            net: taxed.net.amount(),
            tax: taxed.tax.amount(),
            gross: taxed.gross.amount(),
            functional_net: Some(net_f.amount()),
            functional_tax: Some(tax_f.amount()),
        });
    }
    let schedule = terms
        .schedule(run.issue_date, &assessment.gross_total)
        .map_err(money_error)?;
    let year = run.issue_date.year();
    let sequence = invoices::take_numbers(
        tx,
        tenant.as_str(),
        DocumentSeries::Invoice.prefix(),
        year,
        1,
    )
    .await?;
    record.status = "issued".to_owned();
    record.series = Some(format!("{}-{year}", DocumentSeries::Invoice.prefix()));
    record.sequence = Some(sequence);
    record.number = Some(DocumentSeries::Invoice.document_number(year, sequence));
    record.fx_rate = Some(
        evaluation
            .rate
            .as_ref()
            .map_or(Decimal::ONE, |rate| rate.rate),
    );
    record.fx_rate_date = Some(
        evaluation
            .rate
            .as_ref()
            .map_or(run.issue_date, |rate| rate.rate_date),
    );
    record.net_amount = assessment.net_total.amount();
    record.tax_amount = assessment.tax_total.amount();
    record.total_amount = assessment.gross_total.amount();
    record.functional_net_amount = Some(functional_net.amount());
    record.functional_tax_amount = Some(functional_tax.amount());
    record.functional_total_amount = Some(
        functional_net
            .checked_add(&functional_tax)
            .map_err(money_error)?
            .amount(),
    );
    record.tax_summary = super::view::summary_json(&assessment.summary);
    record.issue_date = Some(run.issue_date);
    record.due_date = Some(schedule.due_date);
    record.discount_date = schedule.discount_date;
    record.discount_amount = schedule.discount_amount.map(|amount| amount.amount());
    record.payment_terms_code = terms.code();
    record.hold_reasons = serde_json::json!([]);
    record.issued_at = Some(run.now);
    record.document_view = Some(super::view::document_view(
        &record,
        &lines,
        &customer,
        &evaluation.settings,
        &[],
    ));
    debug_assert_eq!(
        record.net_amount + record.tax_amount,
        record.total_amount,
        "an invoice's totals are the sums of its lines"
    );
    match draft {
        None => {
            invoices::insert_invoice(tx, tenant.as_str(), &record).await?;
            invoices::insert_lines(tx, tenant.as_str(), record.id, &lines).await?;
            let ids: Vec<Uuid> = run.lines.iter().map(|line| line.id).collect();
            claim(tx, record.id, &ids).await?;
        }
        Some(_) => {
            // Lines first: once the header says issued, they are frozen.
            invoices::delete_draft_lines(tx, record.id).await?;
            invoices::insert_lines(tx, tenant.as_str(), record.id, &lines).await?;
            invoices::update_draft(tx, &record).await?;
        }
    }
    let issued = Issued {
        record: &record,
        lines: &lines,
        customer: &customer,
        corrected_number: "",
    };
    after_issue(tx, tenant, &issued, options, run.actor).await?;
    Ok(())
}

fn money_error(error: otc_shared::MoneyError) -> CommandError {
    CommandError::FailedPrecondition(format!("amount: {error}"))
}

/// What follows every issued document: its event, its audit record, its
/// rendering and (for a customer with a channel) its delivery.
pub struct Issued<'a> {
    pub record: &'a InvoiceRecord,
    pub lines: &'a [LineRecord],
    pub customer: &'a CustomerRow,
    /// For a note: the number of the invoice it corrects.
    pub corrected_number: &'a str,
}

pub async fn after_issue(
    tx: &mut Tx,
    tenant: &TenantId,
    issued: &Issued<'_>,
    options: IssueOptions,
    actor: &str,
) -> Result<(), CommandError> {
    let Issued {
        record,
        lines,
        customer,
        corrected_number,
    } = *issued;
    otc_shared::outbox::enqueue(
        tx,
        &outgoing::issued(tenant, record, lines, corrected_number),
    )
    .await?;
    otc_shared::audit::record(
        tx,
        otc_shared::audit::AuditEntry {
            tenant,
            actor,
            action: match record.kind.as_str() {
                "credit_note" => "credit_note.issued",
                "debit_note" => "debit_note.issued",
                _ => "invoice.issued",
            },
            entity_type: "invoice",
            entity_id: &record.id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "number": record.number,
                "customer_id": record.customer_id,
                "total": outgoing::money(record.total_amount, &record.currency).amount,
                "currency": record.currency,
                "lines": lines.len(),
            })),
        },
    )
    .await?;
    if options.render_documents {
        documents::insert_pending(tx, tenant.as_str(), record.id).await?;
        if let Some((channel, target)) = delivery_target(customer) {
            documents::insert_delivery(
                tx,
                tenant.as_str(),
                Uuid::now_v7(),
                record.id,
                channel,
                &target,
                actor,
            )
            .await?;
        }
    }
    Ok(())
}

/// The customer's delivery channel and address, if it has one.
pub fn delivery_target(customer: &CustomerRow) -> Option<(&'static str, String)> {
    match customer.delivery_channel.as_str() {
        "email" => customer
            .delivery_email
            .clone()
            .filter(|address| !address.trim().is_empty())
            .map(|address| ("email", address)),
        "webhook" => customer
            .delivery_webhook_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .map(|url| ("webhook", url)),
        _ => None,
    }
}

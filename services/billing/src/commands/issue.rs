//! Invoicing: billable lines become invoices that are issued at once
//! (numbered, taxed, converted, due dates set) or held as drafts with the
//! reasons (missing tax rule or FX rate, unknown customer, a discrepancy
//! with the order). A batch of drafts is judged against one loaded context
//! and written in a handful of statements; held drafts are judged again by
//! the same code.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::evaluate::{Context, Draft, Evaluation, evaluate};
use super::{CommandError, IssueOptions, category_name};
use crate::domain::numbering::DocumentSeries;
use crate::events::outgoing;
use crate::store::Tx;
use crate::store::customers::CustomerRow;
use crate::store::documents;
use crate::store::invoices::{self, BillableLine, InvoiceRecord, LineRecord};
use otc_shared::audit::AuditEntry;
use otc_shared::outbox::OutgoingEvent;
use otc_shared::{Currency, Money, TenantId};

pub use super::evaluate::{
    DISCREPANCY, HoldReason, MISSING_FX_RATE, MISSING_TAX_RULE, PAYMENT_TERMS, UNKNOWN_CUSTOMER,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billed {
    Issued(Uuid),
    Held(Uuid),
}

/// Lines of one customer in one currency, to be billed together.
pub struct BillingRun {
    pub tenant: TenantId,
    pub lines: Vec<BillableLine>,
    /// `PER_SHIPMENT` or the consolidated period.
    pub billing_period: String,
    pub issue_date: NaiveDate,
    pub now: DateTime<Utc>,
    pub actor: String,
    /// A held draft judged again (its id and lines are kept).
    pub draft: Option<InvoiceRecord>,
    /// Issue despite a discrepancy (an AR clerk's decision, kept on the invoice).
    pub accepted_by: Option<String>,
}

fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn money_error(error: otc_shared::MoneyError) -> CommandError {
    CommandError::FailedPrecondition(format!("amount: {error}"))
}

/// One run's outcome before it is written.
struct Planned<'a> {
    run: &'a BillingRun,
    record: InvoiceRecord,
    lines: Vec<LineRecord>,
    evaluation: Evaluation,
}

impl Planned<'_> {
    fn issued(&self) -> bool {
        self.record.status == "issued"
    }
}

/// Bills one run.
pub async fn bill(
    tx: &mut Tx,
    run: BillingRun,
    options: IssueOptions,
) -> Result<Billed, CommandError> {
    bill_all(tx, vec![run], options)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| CommandError::FailedPrecondition("nothing was billed".to_owned()))
}

/// Bills many runs (each one customer, one currency) together: one context
/// load, one number allocation per tenant and year, bulk writes.
pub async fn bill_all(
    tx: &mut Tx,
    runs: Vec<BillingRun>,
    options: IssueOptions,
) -> Result<Vec<Billed>, CommandError> {
    let runs: Vec<BillingRun> = runs
        .into_iter()
        .filter(|run| !run.lines.is_empty())
        .collect();
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let drafts: Vec<Draft<'_>> = runs
        .iter()
        .map(|run| Draft {
            tenant: run.tenant.as_str(),
            lines: &run.lines,
            issue_date: run.issue_date,
            discrepancy_accepted: accepted_by(run).is_some(),
        })
        .collect();
    let context = Context::load(tx, &drafts).await?;
    let mut planned = Vec::with_capacity(runs.len());
    for (run, draft) in runs.iter().zip(&drafts) {
        planned.push(plan(&context, run, draft)?);
    }
    number(tx, &mut planned).await?;
    write(tx, &planned, options).await?;
    Ok(planned
        .iter()
        .map(|plan| {
            if plan.issued() {
                Billed::Issued(plan.record.id)
            } else {
                Billed::Held(plan.record.id)
            }
        })
        .collect())
}

fn accepted_by(run: &BillingRun) -> Option<String> {
    run.accepted_by.clone().or_else(|| {
        run.draft
            .as_ref()
            .and_then(|draft| draft.discrepancy_accepted_by.clone())
    })
}

fn plan<'a>(
    context: &Context,
    run: &'a BillingRun,
    draft: &Draft<'_>,
) -> Result<Planned<'a>, CommandError> {
    let Some(first) = run.lines.first() else {
        return Err(CommandError::FailedPrecondition(
            "nothing to bill: no open lines".to_owned(),
        ));
    };
    let currency = Currency::parse(&first.currency).map_err(|error| {
        CommandError::FailedPrecondition(format!("currency of shipped lines: {error}"))
    })?;
    let evaluation = evaluate(context, draft, currency)?;
    let accepted = accepted_by(run);
    let mut record = InvoiceRecord {
        id: run
            .draft
            .as_ref()
            .map_or_else(Uuid::now_v7, |draft| draft.id),
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
            accepted
        },
        reason: String::new(),
        idempotency_key: None,
        request_hash: None,
        document_view: None,
        created_at: run.draft.as_ref().map_or(run.now, |draft| draft.created_at),
        issued_at: None,
    };
    if !evaluation.reasons.is_empty() {
        let lines = draft_lines(&run.lines);
        let total: Decimal = run.lines.iter().map(|line| line.amount).sum();
        record.net_amount = total;
        record.total_amount = total;
        return Ok(Planned {
            run,
            record,
            lines,
            evaluation,
        });
    }
    let lines = taxed(run, &mut record, &evaluation)?;
    Ok(Planned {
        run,
        record,
        lines,
        evaluation,
    })
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

/// Fills an issuable record's amounts, dates and terms; returns its lines.
fn taxed(
    run: &BillingRun,
    record: &mut InvoiceRecord,
    evaluation: &Evaluation,
) -> Result<Vec<LineRecord>, CommandError> {
    let (Some(assessment), Some(terms)) = (&evaluation.assessment, &evaluation.terms) else {
        return Err(CommandError::FailedPrecondition(
            "an invoice without hold reasons must have tax and terms".to_owned(),
        ));
    };
    let functional =
        Currency::parse(&evaluation.settings.functional_currency).map_err(|error| {
            CommandError::FailedPrecondition(format!("tenant functional currency: {error}"))
        })?;
    let convert = |amount: &Money| -> Result<Money, CommandError> {
        match &evaluation.rate {
            None => Ok(*amount),
            Some(rate) => rate.convert(amount, functional).map_err(money_error),
        }
    };
    let mut lines = Vec::with_capacity(run.lines.len());
    let mut functional_net = Money::zero(functional);
    let mut functional_tax = Money::zero(functional);
    for ((billable, line), line_no) in run.lines.iter().zip(&assessment.lines).zip(1..) {
        let net_f = convert(&line.net)?;
        let tax_f = convert(&line.tax)?;
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
            tax_category: category_name(line.category).to_owned(),
            tax_rate: line.rate,
            net: line.net.amount(),
            tax: line.tax.amount(),
            gross: line.gross.amount(),
            functional_net: Some(net_f.amount()),
            functional_tax: Some(tax_f.amount()),
        });
    }
    let schedule = terms
        .schedule(run.issue_date, &assessment.gross_total)
        .map_err(money_error)?;
    record.status = "issued".to_owned();
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
    debug_assert_eq!(
        record.net_amount + record.tax_amount,
        record.total_amount,
        "an invoice's totals are the sums of its lines"
    );
    Ok(lines)
}

/// Takes the numbers of every issued plan, per tenant and year, in one
/// statement each (gapless: they roll back with the transaction), and
/// freezes each document's view now that it has its number.
async fn number(tx: &mut Tx, planned: &mut [Planned<'_>]) -> Result<(), CommandError> {
    let series = DocumentSeries::Invoice;
    let mut groups: Vec<(String, i32)> = planned
        .iter()
        .filter(|plan| plan.issued())
        .map(|plan| {
            (
                plan.run.tenant.as_str().to_owned(),
                plan.run.issue_date.year(),
            )
        })
        .collect();
    groups.sort();
    groups.dedup();
    for (tenant, year) in groups {
        let members: Vec<usize> = planned
            .iter()
            .enumerate()
            .filter(|(_, plan)| {
                plan.issued()
                    && plan.run.tenant.as_str() == tenant
                    && plan.run.issue_date.year() == year
            })
            .map(|(index, _)| index)
            .collect();
        let count = i64::try_from(members.len()).unwrap_or(i64::MAX);
        let first = invoices::take_numbers(tx, &tenant, series.prefix(), year, count).await?;
        for (sequence, index) in (first..).zip(members) {
            let Some(plan) = planned.get_mut(index) else {
                continue;
            };
            plan.record.series = Some(format!("{}-{year}", series.prefix()));
            plan.record.sequence = Some(sequence);
            plan.record.number = Some(series.document_number(year, sequence));
            if let Some(customer) = &plan.evaluation.customer {
                plan.record.document_view = Some(super::view::document_view(
                    &plan.record,
                    &plan.lines,
                    customer,
                    &plan.evaluation.settings,
                    &[],
                ));
            }
        }
    }
    Ok(())
}

async fn write(
    tx: &mut Tx,
    planned: &[Planned<'_>],
    options: IssueOptions,
) -> Result<(), CommandError> {
    let fresh: Vec<(&str, &InvoiceRecord, &[LineRecord])> = planned
        .iter()
        .filter(|plan| plan.run.draft.is_none())
        .map(|plan| {
            (
                plan.run.tenant.as_str(),
                &plan.record,
                plan.lines.as_slice(),
            )
        })
        .collect();
    if !invoices::insert_many(tx, &fresh).await? {
        // Another invoice took a line first: roll back rather than bill twice.
        return Err(CommandError::FailedPrecondition(
            "some of these lines were billed meanwhile".to_owned(),
        ));
    }
    for plan in planned.iter() {
        let Some(previous) = &plan.run.draft else {
            continue;
        };
        if plan.issued() {
            // Lines first: once the header says issued, they are frozen.
            invoices::delete_draft_lines(tx, plan.record.id).await?;
            invoices::insert_lines(tx, plan.run.tenant.as_str(), plan.record.id, &plan.lines)
                .await?;
        } else if previous.hold_reasons == plan.record.hold_reasons
            && previous.discrepancies == plan.record.discrepancies
            && previous.total_amount == plan.record.total_amount
        {
            // Still held for the same reasons: nothing to write.
            continue;
        }
        invoices::update_draft(tx, &plan.record).await?;
    }
    let mut events: Vec<OutgoingEvent> = Vec::new();
    let mut audit: Vec<(
        usize,
        &'static str,
        Option<serde_json::Value>,
        serde_json::Value,
    )> = Vec::new();
    let mut rendered: Vec<(String, Uuid)> = Vec::new();
    let mut deliveries: Vec<(String, Uuid, String, String, String)> = Vec::new();
    for (index, plan) in planned.iter().enumerate() {
        let tenant = &plan.run.tenant;
        let record = &plan.record;
        if plan.issued() {
            events.push(outgoing::issued(tenant, record, &plan.lines, ""));
            audit.push((
                index,
                "invoice.issued",
                None,
                issued_state(record, plan.lines.len()),
            ));
            if options.render_documents {
                rendered.push((tenant.as_str().to_owned(), record.id));
                if let Some((channel, target)) =
                    plan.evaluation.customer.as_ref().and_then(delivery_target)
                {
                    deliveries.push((
                        tenant.as_str().to_owned(),
                        record.id,
                        channel.to_owned(),
                        target,
                        plan.run.actor.clone(),
                    ));
                }
            }
            continue;
        }
        let previous = plan.run.draft.as_ref();
        if previous.is_some_and(|previous| previous.hold_reasons == record.hold_reasons) {
            continue;
        }
        tracing::info!(invoice = %record.id, reasons = %record.hold_reasons, "invoice held");
        events.push(outgoing::invoice_held(tenant, record, &plan.lines));
        let newly_flagged = !plan.evaluation.discrepancies.is_empty()
            && previous.is_none_or(|previous| previous.discrepancies != record.discrepancies);
        if newly_flagged {
            events.push(outgoing::discrepancy_flagged(
                tenant,
                record,
                &plan.evaluation.discrepancies,
            ));
        }
        audit.push((
            index,
            "invoice.held",
            previous.map(|previous| previous.hold_reasons.clone()),
            record.hold_reasons.clone(),
        ));
    }
    let issued = planned.iter().filter(|plan| plan.issued()).count();
    metrics::counter!("otc_billing_invoices_issued_total")
        .increment(u64::try_from(issued).unwrap_or_default());
    metrics::counter!("otc_billing_invoices_held_total")
        .increment(u64::try_from(planned.len().saturating_sub(issued)).unwrap_or_default());
    otc_shared::outbox::enqueue_many(tx, &events).await?;
    let entity_ids: Vec<String> = planned
        .iter()
        .map(|plan| plan.record.id.to_string())
        .collect();
    let entries: Vec<AuditEntry<'_>> = audit
        .into_iter()
        .filter_map(|(index, action, before, after)| {
            let plan = planned.get(index)?;
            Some(AuditEntry {
                tenant: &plan.run.tenant,
                actor: &plan.run.actor,
                action,
                entity_type: "invoice",
                entity_id: entity_ids.get(index)?,
                before,
                after: Some(after),
            })
        })
        .collect();
    otc_shared::audit::record_many(tx, &entries).await?;
    documents::insert_pending_many(tx, &rendered, &deliveries).await?;
    Ok(())
}

fn issued_state(record: &InvoiceRecord, lines: usize) -> serde_json::Value {
    serde_json::json!({
        "number": record.number,
        "customer_id": record.customer_id,
        "total": outgoing::money(record.total_amount, &record.currency).amount,
        "currency": record.currency,
        "lines": lines,
    })
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
            after: Some(issued_state(record, lines.len())),
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

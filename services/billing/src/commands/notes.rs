//! Corrections of issued invoices: credit notes (full, by line, or by
//! amount; never more than remains creditable) and debit notes (extra
//! charges, taxed by the tenant's rules). Both are numbered in their own
//! series, at the invoice's exchange rate, and idempotent on their key.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::issue::{Issued, after_issue};
use super::{CommandError, IssueOptions, category_name, category_of};
use crate::domain::credit::{CreditError, CreditRequest, CreditableLine, compute_credit};
use crate::domain::numbering::DocumentSeries;
use crate::domain::tax::{
    PriceBasis, RuleTaxEngine, TaxError, TaxRule, TaxableDocument, TaxableLine,
};
use crate::store::Tx;
use crate::store::config;
use crate::store::customers;
use crate::store::invoices::{self, InvoiceRecord, LineRecord};
use otc_shared::terms::PaymentTerms;
use otc_shared::{Currency, Money, TenantId};

pub struct NoteContext<'a> {
    pub actor: &'a str,
    pub idempotency_key: &'a str,
    /// SHA-256 of the request: the same key with another request is refused.
    pub request_hash: &'a str,
    pub invoice_id: Uuid,
    pub reason: &'a str,
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
}

pub struct DebitLineRequest {
    pub description: String,
    pub net_amount: Money,
    pub tax_code: String,
}

fn credit_field(error: &CreditError) -> String {
    match error {
        CreditError::ExceedsRemaining { field, .. }
        | CreditError::UnknownLine { field, .. }
        | CreditError::NotPositive { field, .. }
        | CreditError::CurrencyMismatch { field, .. }
        | CreditError::Invalid { field, .. }
        | CreditError::Money { field, .. } => field.clone(),
        CreditError::NothingLeft { scope } => scope.clone(),
    }
}

fn money_error(error: otc_shared::MoneyError) -> CommandError {
    CommandError::FailedPrecondition(format!("amount: {error}"))
}

/// An earlier note with this key: the same request returns it.
async fn replay(
    tx: &mut Tx,
    kind: &str,
    context: &NoteContext<'_>,
) -> Result<Option<InvoiceRecord>, CommandError> {
    match invoices::load_by_idempotency_key(tx, kind, context.idempotency_key).await? {
        None => Ok(None),
        Some(existing) if existing.request_hash.as_deref() == Some(context.request_hash) => {
            Ok(Some(existing))
        }
        Some(existing) => Err(CommandError::AlreadyExists(format!(
            "idempotency_key `{}` was used for another request ({})",
            context.idempotency_key,
            existing.number.unwrap_or_default()
        ))),
    }
}

async fn issued_invoice(tx: &mut Tx, invoice_id: Uuid) -> Result<InvoiceRecord, CommandError> {
    let invoice = invoices::load_for_update(tx, invoice_id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("invoice {invoice_id} does not exist")))?;
    if invoice.kind != "invoice" || invoice.status != "issued" {
        return Err(CommandError::FailedPrecondition(format!(
            "invoice {invoice_id} is a {} in status {}: only issued invoices are corrected by notes",
            invoice.kind, invoice.status
        )));
    }
    Ok(invoice)
}

/// At the invoice's own rate, so the note nets against it in the ledger.
fn functional(amount: Decimal, invoice: &InvoiceRecord) -> Result<Decimal, CommandError> {
    let currency = Currency::parse(&invoice.functional_currency).map_err(money_error)?;
    let rate = invoice.fx_rate.unwrap_or(Decimal::ONE);
    Ok(Money::rounded(amount * rate, currency)
        .map_err(money_error)?
        .amount())
}

fn note_record(
    kind: &str,
    series: DocumentSeries,
    sequence: i64,
    invoice: &InvoiceRecord,
    context: &NoteContext<'_>,
    lines: &[LineRecord],
) -> Result<InvoiceRecord, CommandError> {
    let year = context.today.year();
    let net: Decimal = lines.iter().map(|line| line.net).sum();
    let tax: Decimal = lines.iter().map(|line| line.tax).sum();
    let functional_net: Decimal = lines.iter().filter_map(|line| line.functional_net).sum();
    let functional_tax: Decimal = lines.iter().filter_map(|line| line.functional_tax).sum();
    Ok(InvoiceRecord {
        id: Uuid::now_v7(),
        kind: kind.to_owned(),
        status: "issued".to_owned(),
        series: Some(format!("{}-{year}", series.prefix())),
        sequence: Some(sequence),
        number: Some(series.document_number(year, sequence)),
        customer_id: invoice.customer_id,
        corrects_invoice_id: Some(invoice.id),
        currency: invoice.currency.clone(),
        functional_currency: invoice.functional_currency.clone(),
        fx_rate: invoice.fx_rate,
        fx_rate_date: invoice.fx_rate_date,
        net_amount: net,
        tax_amount: tax,
        total_amount: net + tax,
        functional_net_amount: Some(functional_net),
        functional_tax_amount: Some(functional_tax),
        functional_total_amount: Some(functional_net + functional_tax),
        tax_summary: super::view::summary_of_lines(lines),
        issue_date: Some(context.today),
        due_date: None,
        discount_date: None,
        discount_amount: None,
        payment_terms_code: invoice.payment_terms_code.clone(),
        billing_period: String::new(),
        hold_reasons: serde_json::json!([]),
        discrepancies: serde_json::json!([]),
        discrepancy_accepted_by: None,
        reason: context.reason.to_owned(),
        idempotency_key: Some(context.idempotency_key.to_owned()),
        request_hash: Some(context.request_hash.to_owned()),
        document_view: None,
        created_at: context.now,
        issued_at: Some(context.now),
    })
}

async fn store_note(
    tx: &mut Tx,
    tenant: &TenantId,
    mut record: InvoiceRecord,
    lines: Vec<LineRecord>,
    invoice: &InvoiceRecord,
    context: &NoteContext<'_>,
    options: IssueOptions,
) -> Result<InvoiceRecord, CommandError> {
    let customer = customers::load(tx, invoice.customer_id)
        .await?
        .ok_or_else(|| {
            CommandError::FailedPrecondition(format!(
                "customer {} of the invoice is not known to billing",
                invoice.customer_id
            ))
        })?;
    let settings = config::tenant_settings(tx).await?;
    let corrected_number = invoice.number.clone().unwrap_or_default();
    record.document_view = Some(super::view::document_view(
        &record,
        &lines,
        &customer,
        &settings,
        &[format!("Corrects invoice {corrected_number}")],
    ));
    invoices::insert_documents(tx, &[(tenant.as_str(), &record, lines.as_slice())]).await?;
    let issued = Issued {
        record: &record,
        lines: &lines,
        customer: &customer,
        corrected_number: &corrected_number,
    };
    after_issue(tx, tenant, &issued, options, context.actor).await?;
    Ok(record)
}

pub async fn issue_credit_note(
    tx: &mut Tx,
    tenant: &TenantId,
    context: &NoteContext<'_>,
    request: &CreditRequest,
    options: IssueOptions,
) -> Result<InvoiceRecord, CommandError> {
    if let Some(existing) = replay(tx, "credit_note", context).await? {
        return Ok(existing);
    }
    let invoice = issued_invoice(tx, context.invoice_id).await?;
    let currency = Currency::parse(&invoice.currency).map_err(money_error)?;
    let invoiced = invoices::lines(tx, invoice.id).await?;
    let credited = invoices::credited_by_line(tx, invoice.id).await?;
    let creditable = invoiced
        .iter()
        .map(|line| {
            let taken = credited.iter().find(|row| row.line_no == line.line_no);
            let amount = |value: Decimal| Money::new(value, currency).map_err(money_error);
            Ok(CreditableLine {
                line_ref: line.line_no.to_string(),
                quantity: line.quantity,
                net: amount(line.net)?,
                tax: amount(line.tax)?,
                credited_quantity: taken.map_or(Decimal::ZERO, |row| row.quantity),
                credited_net: amount(taken.map_or(Decimal::ZERO, |row| row.net))?,
                credited_tax: amount(taken.map_or(Decimal::ZERO, |row| row.tax))?,
                category: category_of(&line.tax_category),
                rate: line.tax_rate,
            })
        })
        .collect::<Result<Vec<_>, CommandError>>()?;
    let amounts = compute_credit(currency, &creditable, request)
        .map_err(|error| CommandError::invalid(&credit_field(&error), error.to_string()))?;
    let mut lines = Vec::with_capacity(amounts.lines.len());
    for (credited_line, line_no) in amounts.lines.iter().zip(1..) {
        let Some(original) = invoiced
            .iter()
            .find(|line| line.line_no.to_string() == credited_line.line_ref)
        else {
            continue;
        };
        lines.push(LineRecord {
            line_no,
            billable_line_id: None,
            corrects_line_no: Some(original.line_no),
            shipment_id: original.shipment_id,
            order_id: original.order_id,
            order_line_id: original.order_line_id.clone(),
            sku: original.sku.clone(),
            description: original.description.clone(),
            quantity: credited_line.quantity,
            unit_price: original.unit_price,
            tax_code: original.tax_code.clone(),
            tax_category: category_name(credited_line.category).to_owned(),
            tax_rate: credited_line.rate,
            net: credited_line.net.amount(),
            tax: credited_line.tax.amount(),
            gross: credited_line.gross.amount(),
            functional_net: Some(functional(credited_line.net.amount(), &invoice)?),
            functional_tax: Some(functional(credited_line.tax.amount(), &invoice)?),
        });
    }
    let year = context.today.year();
    let series = DocumentSeries::CreditNote;
    let sequence = invoices::take_numbers(tx, tenant.as_str(), series.prefix(), year, 1).await?;
    let record = note_record("credit_note", series, sequence, &invoice, context, &lines)?;
    debug_assert_eq!(record.total_amount, amounts.gross_total.amount());
    store_note(tx, tenant, record, lines, &invoice, context, options).await
}

pub async fn issue_debit_note(
    tx: &mut Tx,
    tenant: &TenantId,
    context: &NoteContext<'_>,
    requested: &[DebitLineRequest],
    options: IssueOptions,
) -> Result<InvoiceRecord, CommandError> {
    if let Some(existing) = replay(tx, "debit_note", context).await? {
        return Ok(existing);
    }
    let invoice = issued_invoice(tx, context.invoice_id).await?;
    let currency = Currency::parse(&invoice.currency).map_err(money_error)?;
    let customer = customers::load(tx, invoice.customer_id)
        .await?
        .ok_or_else(|| {
            CommandError::FailedPrecondition(format!(
                "customer {} of the invoice is not known to billing",
                invoice.customer_id
            ))
        })?;
    let mut tax_codes: Vec<String> = requested.iter().map(|line| line.tax_code.clone()).collect();
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
    let treatment = super::evaluate::treatment_of(&customer);
    let document = TaxableDocument {
        region: customer.tax_region.clone(),
        tax_date: context.today,
        currency,
        // Extra charges are entered net of tax.
        basis: PriceBasis::Exclusive,
        treatment,
        lines: requested
            .iter()
            .enumerate()
            .map(|(index, line)| TaxableLine {
                line_ref: index.to_string(),
                tax_code: line.tax_code.clone(),
                amount: line.net_amount,
            })
            .collect(),
    };
    let assessment =
        RuleTaxEngine::new(rules)
            .assess_now(&document)
            .map_err(|error| match &error {
                TaxError::MissingRules(missing) => {
                    let mut violations = otc_shared::violations::Violations::new();
                    for rule in missing {
                        for line_ref in &rule.line_refs {
                            violations.add(
                                &format!("lines[{line_ref}].tax_code"),
                                format!(
                                    "no tax rule for region `{}` and tax code `{}` on {}",
                                    rule.region, rule.tax_code, rule.tax_date
                                ),
                            );
                        }
                    }
                    CommandError::Invalid(violations)
                }
                other => CommandError::FailedPrecondition(other.to_string()),
            })?;
    let mut lines = Vec::with_capacity(requested.len());
    for ((line, taxed), line_no) in requested.iter().zip(&assessment.lines).zip(1..) {
        lines.push(LineRecord {
            line_no,
            billable_line_id: None,
            corrects_line_no: None,
            shipment_id: None,
            order_id: None,
            order_line_id: None,
            sku: String::new(),
            description: line.description.clone(),
            quantity: Decimal::ONE,
            unit_price: taxed.net.amount(),
            tax_code: line.tax_code.clone(),
            tax_category: category_name(taxed.category).to_owned(),
            tax_rate: taxed.rate,
            net: taxed.net.amount(),
            tax: taxed.tax.amount(),
            gross: taxed.gross.amount(),
            functional_net: Some(functional(taxed.net.amount(), &invoice)?),
            functional_tax: Some(functional(taxed.tax.amount(), &invoice)?),
        });
    }
    let year = context.today.year();
    let series = DocumentSeries::DebitNote;
    let sequence = invoices::take_numbers(tx, tenant.as_str(), series.prefix(), year, 1).await?;
    let mut record = note_record("debit_note", series, sequence, &invoice, context, &lines)?;
    if let Ok(terms) = PaymentTerms::parse(&invoice.payment_terms_code) {
        let total = Money::new(record.total_amount, currency).map_err(money_error)?;
        let schedule = terms.schedule(context.today, &total).map_err(money_error)?;
        record.due_date = Some(schedule.due_date);
    }
    store_note(tx, tenant, record, lines, &invoice, context, options).await
}

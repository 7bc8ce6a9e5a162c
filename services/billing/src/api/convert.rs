//! Stored rows to wire messages.

use rust_decimal::Decimal;

use crate::commands::issue::HoldReason;
use crate::commands::view::summary_rows;
use crate::domain::discrepancy::Discrepancy;
use crate::events::outgoing::money;
use crate::store::documents::{DeliveryRow, DocumentRow};
use crate::store::invoices::{InvoiceRecord, LineRecord};
use otc_proto::billing as wire;

fn date(value: Option<chrono::NaiveDate>) -> String {
    value.map(|date| date.to_string()).unwrap_or_default()
}

pub fn kind(name: &str) -> wire::DocumentKind {
    match name {
        "credit_note" => wire::DocumentKind::CreditNote,
        "debit_note" => wire::DocumentKind::DebitNote,
        _ => wire::DocumentKind::Invoice,
    }
}

pub fn document_status(invoice_id: uuid::Uuid, row: Option<&DocumentRow>) -> wire::DocumentStatus {
    match row {
        None => wire::DocumentStatus {
            invoice_id: invoice_id.to_string(),
            status: "NONE".to_owned(),
            ..Default::default()
        },
        Some(row) => wire::DocumentStatus {
            invoice_id: invoice_id.to_string(),
            status: row.status.to_uppercase(),
            sha256: row.sha256.clone().unwrap_or_default(),
            size: row
                .size
                .and_then(|size| u64::try_from(size).ok())
                .unwrap_or_default(),
            object_key: row.object_key.clone().unwrap_or_default(),
            last_error: row.last_error.clone().unwrap_or_default(),
            render_count: u32::try_from(row.render_count).unwrap_or_default(),
        },
    }
}

pub fn delivery(row: &DeliveryRow) -> wire::Delivery {
    wire::Delivery {
        delivery_id: row.id.to_string(),
        invoice_id: row.invoice_id.to_string(),
        channel: row.channel.to_uppercase(),
        target: row.target.clone(),
        status: row.status.to_uppercase(),
        attempts: u32::try_from(row.attempts).unwrap_or_default(),
        last_error: row.last_error.clone().unwrap_or_default(),
        accepted_at: row.accepted_at.map(otc_shared::time::to_proto),
        next_attempt_at: Some(otc_shared::time::to_proto(row.next_attempt_at)),
    }
}

pub struct InvoiceParts<'a> {
    pub record: &'a InvoiceRecord,
    pub lines: &'a [LineRecord],
    pub customer_name: String,
    pub document: Option<&'a DocumentRow>,
    /// What remains creditable (invoices only).
    pub creditable: Option<Decimal>,
}

pub fn invoice(parts: &InvoiceParts<'_>) -> wire::Invoice {
    let record = parts.record;
    let currency = record.currency.as_str();
    let functional = record.functional_currency.as_str();
    let reasons: Vec<HoldReason> =
        serde_json::from_value(record.hold_reasons.clone()).unwrap_or_default();
    let discrepancies: Vec<Discrepancy> =
        serde_json::from_value(record.discrepancies.clone()).unwrap_or_default();
    let mut order_ids: Vec<String> = parts
        .lines
        .iter()
        .filter_map(|line| line.order_id.map(|id| id.to_string()))
        .collect();
    order_ids.sort();
    order_ids.dedup();
    wire::Invoice {
        invoice_id: record.id.to_string(),
        kind: i32::from(kind(&record.kind)),
        status: record.status.to_uppercase(),
        number: record.number.clone().unwrap_or_default(),
        customer_id: record.customer_id.to_string(),
        customer_name: parts.customer_name.clone(),
        corrects_invoice_id: record
            .corrects_invoice_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        lines: parts
            .lines
            .iter()
            .map(|line| wire::InvoiceLine {
                line_no: u32::try_from(line.line_no).unwrap_or_default(),
                order_id: line.order_id.map(|id| id.to_string()).unwrap_or_default(),
                order_line_id: line.order_line_id.clone().unwrap_or_default(),
                sku: line.sku.clone(),
                description: line.description.clone(),
                quantity: line.quantity.normalize().to_string(),
                unit_price: Some(otc_proto::types::Money {
                    amount: line.unit_price.normalize().to_string(),
                    currency_code: currency.to_owned(),
                }),
                tax_code: line.tax_code.clone(),
                tax_category: line.tax_category.to_uppercase(),
                tax_rate: line.tax_rate.normalize().to_string(),
                net: Some(money(line.net, currency)),
                tax: Some(money(line.tax, currency)),
                gross: Some(money(line.gross, currency)),
                functional_net: line.functional_net.map(|amount| money(amount, functional)),
                functional_tax: line.functional_tax.map(|amount| money(amount, functional)),
                corrects_line_no: line
                    .corrects_line_no
                    .and_then(|no| u32::try_from(no).ok())
                    .unwrap_or_default(),
                shipment_id: line
                    .shipment_id
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
            })
            .collect(),
        tax_summary: summary_rows(&record.tax_summary)
            .into_iter()
            .map(|(category, rate, net, tax)| wire::TaxSummaryRow {
                tax_category: category.to_uppercase(),
                tax_rate: rate.normalize().to_string(),
                net: Some(money(net, currency)),
                tax: Some(money(tax, currency)),
            })
            .collect(),
        net_amount: Some(money(record.net_amount, currency)),
        tax_amount: Some(money(record.tax_amount, currency)),
        total_amount: Some(money(record.total_amount, currency)),
        functional_net_amount: record
            .functional_net_amount
            .map(|amount| money(amount, functional)),
        functional_tax_amount: record
            .functional_tax_amount
            .map(|amount| money(amount, functional)),
        functional_total_amount: record
            .functional_total_amount
            .map(|amount| money(amount, functional)),
        fx_rate: record
            .fx_rate
            .map(|rate| rate.normalize().to_string())
            .unwrap_or_default(),
        fx_rate_date: date(record.fx_rate_date),
        issue_date: date(record.issue_date),
        due_date: date(record.due_date),
        discount_date: date(record.discount_date),
        discount_amount: record.discount_amount.map(|amount| money(amount, currency)),
        payment_terms_code: record.payment_terms_code.clone(),
        hold_reasons: reasons
            .into_iter()
            .map(|reason| wire::HoldReason {
                code: reason.code,
                message: reason.message,
            })
            .collect(),
        discrepancies: discrepancies
            .into_iter()
            .map(|found| wire::Discrepancy {
                order_id: found.order_id,
                order_line_id: found.order_line_id,
                kind: found.kind,
                expected: found.expected,
                actual: found.actual,
            })
            .collect(),
        discrepancy_accepted_by: record.discrepancy_accepted_by.clone().unwrap_or_default(),
        reason: record.reason.clone(),
        billing_period: record.billing_period.clone(),
        issued_at: record.issued_at.map(otc_shared::time::to_proto),
        creditable_amount: parts.creditable.map(|amount| money(amount, currency)),
        document: Some(document_status(record.id, parts.document)),
        order_ids,
    }
}

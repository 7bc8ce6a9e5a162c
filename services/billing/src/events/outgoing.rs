//! The events of `otc.billing.events.v1`, keyed by customer id, built from
//! the stored documents so that what is published is what was committed.

use rust_decimal::Decimal;

use crate::commands::view::summary_rows;
use crate::domain::discrepancy::Discrepancy;
use crate::store::invoices::{InvoiceRecord, LineRecord};
use otc_proto::events as proto;
use otc_proto::types::Money as ProtoMoney;
use otc_shared::TenantId;
use otc_shared::events::EventEnvelope;
use otc_shared::kafka::topics::BILLING_EVENTS;
use otc_shared::outbox::OutgoingEvent;

pub const SOURCE: &str = "/otc/billing";

/// `otc.billing.v1.<MessageName>`.
pub fn event_type(name: &str) -> String {
    format!("otc.billing.v1.{name}")
}

fn event<M: prost::Message>(
    tenant: &TenantId,
    name: &str,
    record: &InvoiceRecord,
    message: &M,
) -> OutgoingEvent {
    let mut envelope = EventEnvelope::new(&event_type(name), SOURCE, tenant);
    envelope.subject = Some(format!("invoice/{}", record.id));
    OutgoingEvent::protobuf(
        BILLING_EVENTS,
        &record.customer_id.to_string(),
        envelope,
        message,
    )
}

/// An amount column as wire money at the currency's minor unit.
pub fn money(amount: Decimal, currency: &str) -> ProtoMoney {
    otc_shared::money::column_to_proto(amount, currency)
}

fn optional_money(amount: Option<Decimal>, currency: &str) -> Option<ProtoMoney> {
    amount.map(|amount| money(amount, currency))
}

fn date(value: Option<chrono::NaiveDate>) -> String {
    value.map(|date| date.to_string()).unwrap_or_default()
}

pub fn billed_lines(record: &InvoiceRecord, lines: &[LineRecord]) -> Vec<proto::BilledLine> {
    lines
        .iter()
        .map(|line| proto::BilledLine {
            line_no: u32::try_from(line.line_no).unwrap_or_default(),
            order_id: line.order_id.map(|id| id.to_string()).unwrap_or_default(),
            order_line_id: line.order_line_id.clone().unwrap_or_default(),
            sku: line.sku.clone(),
            quantity: line.quantity.normalize().to_string(),
            unit_price: Some(ProtoMoney {
                amount: line.unit_price.normalize().to_string(),
                currency_code: record.currency.clone(),
            }),
            tax_code: line.tax_code.clone(),
            tax_category: line.tax_category.to_uppercase(),
            tax_rate: line.tax_rate.normalize().to_string(),
            net: Some(money(line.net, &record.currency)),
            tax: Some(money(line.tax, &record.currency)),
            functional_net: optional_money(line.functional_net, &record.functional_currency),
            functional_tax: optional_money(line.functional_tax, &record.functional_currency),
            shipment_id: line
                .shipment_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            description: line.description.clone(),
            corrects_line_no: line
                .corrects_line_no
                .and_then(|no| u32::try_from(no).ok())
                .unwrap_or_default(),
        })
        .collect()
}

pub fn tax_summary(record: &InvoiceRecord) -> Vec<proto::TaxSummary> {
    summary_rows(&record.tax_summary)
        .into_iter()
        .map(|(category, rate, net, tax)| proto::TaxSummary {
            tax_category: category.to_uppercase(),
            tax_rate: rate.normalize().to_string(),
            net: Some(money(net, &record.currency)),
            tax: Some(money(tax, &record.currency)),
        })
        .collect()
}

pub fn discrepancies(record: &InvoiceRecord) -> Vec<proto::InvoiceDiscrepancy> {
    let found: Vec<Discrepancy> =
        serde_json::from_value(record.discrepancies.clone()).unwrap_or_default();
    found.iter().map(discrepancy).collect()
}

fn discrepancy(found: &Discrepancy) -> proto::InvoiceDiscrepancy {
    proto::InvoiceDiscrepancy {
        order_id: found.order_id.clone(),
        order_line_id: found.order_line_id.clone(),
        kind: found.kind.clone(),
        expected: found.expected.clone(),
        actual: found.actual.clone(),
    }
}

fn order_ids(lines: &[LineRecord]) -> Vec<String> {
    let mut ids: Vec<String> = lines
        .iter()
        .filter_map(|line| line.order_id.map(|id| id.to_string()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// `InvoiceIssued`, `CreditNoteIssued` or `DebitNoteIssued`, by kind.
/// `corrected_number` is the number of the invoice a note corrects.
pub fn issued(
    tenant: &TenantId,
    record: &InvoiceRecord,
    lines: &[LineRecord],
    corrected_number: &str,
) -> OutgoingEvent {
    let currency = record.currency.as_str();
    let functional = record.functional_currency.as_str();
    let issued_at = record.issued_at.map(otc_shared::time::to_proto);
    let number = record.number.clone().unwrap_or_default();
    let corrected = record
        .corrects_invoice_id
        .map(|id| id.to_string())
        .unwrap_or_default();
    match record.kind.as_str() {
        "credit_note" => event(
            tenant,
            "CreditNoteIssued",
            record,
            &proto::CreditNoteIssued {
                credit_note_id: record.id.to_string(),
                credit_note_number: number,
                invoice_id: corrected,
                customer_id: record.customer_id.to_string(),
                total_amount: Some(money(record.total_amount, currency)),
                functional_total_amount: optional_money(record.functional_total_amount, functional),
                reason: record.reason.clone(),
                issued_at,
                net_amount: Some(money(record.net_amount, currency)),
                tax_amount: Some(money(record.tax_amount, currency)),
                lines: billed_lines(record, lines),
                invoice_number: corrected_number.to_owned(),
                issue_date: date(record.issue_date),
                fx_rate: record
                    .fx_rate
                    .map(|rate| rate.normalize().to_string())
                    .unwrap_or_default(),
            },
        ),
        "debit_note" => event(
            tenant,
            "DebitNoteIssued",
            record,
            &proto::DebitNoteIssued {
                debit_note_id: record.id.to_string(),
                debit_note_number: number,
                invoice_id: corrected,
                customer_id: record.customer_id.to_string(),
                total_amount: Some(money(record.total_amount, currency)),
                functional_total_amount: optional_money(record.functional_total_amount, functional),
                reason: record.reason.clone(),
                issued_at,
                due_date: date(record.due_date),
                net_amount: Some(money(record.net_amount, currency)),
                tax_amount: Some(money(record.tax_amount, currency)),
                lines: billed_lines(record, lines),
                invoice_number: corrected_number.to_owned(),
                issue_date: date(record.issue_date),
                fx_rate: record
                    .fx_rate
                    .map(|rate| rate.normalize().to_string())
                    .unwrap_or_default(),
            },
        ),
        _ => event(
            tenant,
            "InvoiceIssued",
            record,
            &proto::InvoiceIssued {
                invoice_id: record.id.to_string(),
                invoice_number: number,
                customer_id: record.customer_id.to_string(),
                order_ids: order_ids(lines),
                net_amount: Some(money(record.net_amount, currency)),
                tax_amount: Some(money(record.tax_amount, currency)),
                total_amount: Some(money(record.total_amount, currency)),
                functional_total_amount: optional_money(record.functional_total_amount, functional),
                issued_at,
                due_date: date(record.due_date),
                discount_date: date(record.discount_date),
                discount_amount: optional_money(record.discount_amount, currency),
                lines: billed_lines(record, lines),
                tax_summary: tax_summary(record),
                functional_net_amount: optional_money(record.functional_net_amount, functional),
                functional_tax_amount: optional_money(record.functional_tax_amount, functional),
                fx_rate: record
                    .fx_rate
                    .map(|rate| rate.normalize().to_string())
                    .unwrap_or_default(),
                fx_rate_date: date(record.fx_rate_date),
                issue_date: date(record.issue_date),
                payment_terms_code: record.payment_terms_code.clone(),
                billing_period: record.billing_period.clone(),
                discrepancies: discrepancies(record),
            },
        ),
    }
}

pub fn invoice_held(
    tenant: &TenantId,
    record: &InvoiceRecord,
    lines: &[LineRecord],
) -> OutgoingEvent {
    let reasons: Vec<crate::commands::issue::HoldReason> =
        serde_json::from_value(record.hold_reasons.clone()).unwrap_or_default();
    event(
        tenant,
        "InvoiceHeld",
        record,
        &proto::InvoiceHeld {
            invoice_id: record.id.to_string(),
            customer_id: record.customer_id.to_string(),
            reasons: reasons
                .into_iter()
                .map(|reason| proto::HoldReason {
                    code: reason.code,
                    message: reason.message,
                })
                .collect(),
            order_ids: order_ids(lines),
            total_amount: Some(money(record.total_amount, &record.currency)),
        },
    )
}

pub fn discrepancy_flagged(
    tenant: &TenantId,
    record: &InvoiceRecord,
    found: &[Discrepancy],
) -> OutgoingEvent {
    event(
        tenant,
        "InvoiceDiscrepancyFlagged",
        record,
        &proto::InvoiceDiscrepancyFlagged {
            invoice_id: record.id.to_string(),
            customer_id: record.customer_id.to_string(),
            discrepancies: found.iter().map(discrepancy).collect(),
        },
    )
}

pub struct DeliveredFacts<'a> {
    pub delivery_id: uuid::Uuid,
    pub channel: &'a str,
    pub target: &'a str,
    pub attempts: i32,
    pub accepted_at: chrono::DateTime<chrono::Utc>,
}

pub fn delivered(
    tenant: &TenantId,
    record: &InvoiceRecord,
    facts: &DeliveredFacts<'_>,
) -> OutgoingEvent {
    let kind = match record.kind.as_str() {
        "credit_note" => proto::DocumentKind::CreditNote,
        "debit_note" => proto::DocumentKind::DebitNote,
        _ => proto::DocumentKind::Invoice,
    };
    event(
        tenant,
        "InvoiceDelivered",
        record,
        &proto::InvoiceDelivered {
            invoice_id: record.id.to_string(),
            invoice_number: record.number.clone().unwrap_or_default(),
            customer_id: record.customer_id.to_string(),
            delivery_id: facts.delivery_id.to_string(),
            channel: facts.channel.to_uppercase(),
            target: facts.target.to_owned(),
            accepted_at: Some(otc_shared::time::to_proto(facts.accepted_at)),
            attempts: u32::try_from(facts.attempts).unwrap_or_default(),
            kind: i32::from(kind),
        },
    )
}

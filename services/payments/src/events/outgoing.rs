//! The events of `otc.payment.events.v1`, keyed by customer id (a receipt
//! whose payer is not identified yet is keyed by its own id), built from the
//! rows just written so that what is published is what was committed.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::store::applications::ApplicationRow;
use crate::store::receipts::ReceiptRow;
use otc_proto::events as proto;
use otc_shared::TenantId;
use otc_shared::events::EventEnvelope;
use otc_shared::kafka::topics::PAYMENT_EVENTS;
use otc_shared::money::column_to_proto as money;
use otc_shared::outbox::OutgoingEvent;

pub const SOURCE: &str = "/otc/payments";

/// `otc.payments.v1.<MessageName>`.
pub fn event_type(name: &str) -> String {
    format!("otc.payments.v1.{name}")
}

pub fn key_of(receipt: &ReceiptRow) -> String {
    receipt
        .customer_id
        .map_or_else(|| receipt.id.to_string(), |id| id.to_string())
}

fn event<M: prost::Message>(
    tenant: &TenantId,
    name: &str,
    receipt: &ReceiptRow,
    message: &M,
) -> OutgoingEvent {
    keyed_event(tenant, name, receipt, &key_of(receipt), message)
}

/// An event about an application: keyed by the customer whose item it
/// settles (a parent company's payment moves its subsidiaries' ledgers).
fn keyed_event<M: prost::Message>(
    tenant: &TenantId,
    name: &str,
    receipt: &ReceiptRow,
    key: &str,
    message: &M,
) -> OutgoingEvent {
    let mut envelope = EventEnvelope::new(&event_type(name), SOURCE, tenant);
    envelope.subject = Some(format!("receipt/{}", receipt.id));
    OutgoingEvent::protobuf(PAYMENT_EVENTS, key, envelope, message)
}

fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    otc_shared::time::to_proto(at)
}

pub fn payment_received(tenant: &TenantId, receipt: &ReceiptRow) -> OutgoingEvent {
    event(
        tenant,
        "PaymentReceived",
        receipt,
        &proto::PaymentReceived {
            receipt_id: receipt.id.to_string(),
            customer_id: receipt
                .customer_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            amount: Some(money(receipt.amount, &receipt.currency)),
            channel: receipt.channel.clone(),
            payer_name: receipt.payer_name.clone(),
            payer_account: receipt.payer_account.clone(),
            remittance_text: receipt.remittance.clone(),
            value_date: receipt.value_date.to_string(),
            received_at: Some(timestamp(receipt.received_at)),
        },
    )
}

pub fn payment_applied(
    tenant: &TenantId,
    receipt: &ReceiptRow,
    application: &ApplicationRow,
) -> OutgoingEvent {
    let currency = &application.currency;
    keyed_event(
        tenant,
        "PaymentApplied",
        receipt,
        &application.customer_id.to_string(),
        &proto::PaymentApplied {
            application_id: application.id.to_string(),
            receipt_id: receipt.id.to_string(),
            customer_id: application.customer_id.to_string(),
            invoice_id: application.invoice_id.to_string(),
            amount: Some(money(application.amount, currency)),
            discount_taken: Some(money(application.discount, currency)),
            deduction: Some(money(application.deduction, currency)),
            automatic: application.automatic,
            confidence: application.confidence.to_string(),
            applied_at: Some(timestamp(application.applied_at)),
            invoice_number: application.invoice_number.clone(),
            method: application.method.clone(),
            value_date: receipt.value_date.to_string(),
        },
    )
}

pub fn deduction_taken(
    tenant: &TenantId,
    receipt: &ReceiptRow,
    application: &ApplicationRow,
) -> OutgoingEvent {
    keyed_event(
        tenant,
        "DeductionTaken",
        receipt,
        &application.customer_id.to_string(),
        &proto::DeductionTaken {
            deduction_id: application.id.to_string(),
            application_id: application.id.to_string(),
            receipt_id: receipt.id.to_string(),
            customer_id: application.customer_id.to_string(),
            invoice_id: application.invoice_id.to_string(),
            amount: Some(money(application.deduction, &application.currency)),
            reason: format!(
                "short payment of {} {} on {}",
                application.deduction, application.currency, application.invoice_number
            ),
        },
    )
}

pub fn payment_unapplied(
    tenant: &TenantId,
    receipt: &ReceiptRow,
    application: &ApplicationRow,
    reason: &str,
) -> OutgoingEvent {
    let currency = &application.currency;
    keyed_event(
        tenant,
        "PaymentUnapplied",
        receipt,
        &application.customer_id.to_string(),
        &proto::PaymentUnapplied {
            application_id: application.id.to_string(),
            receipt_id: receipt.id.to_string(),
            customer_id: application.customer_id.to_string(),
            invoice_id: application.invoice_id.to_string(),
            amount: Some(money(application.amount, currency)),
            reason: reason.to_owned(),
            discount: Some(money(application.discount, currency)),
            deduction: Some(money(application.deduction, currency)),
        },
    )
}

pub fn refund_issued(
    tenant: &TenantId,
    receipt: &ReceiptRow,
    refund_id: uuid::Uuid,
    amount: Decimal,
    reason: &str,
) -> OutgoingEvent {
    event(
        tenant,
        "RefundIssued",
        receipt,
        &proto::RefundIssued {
            refund_id: refund_id.to_string(),
            receipt_id: receipt.id.to_string(),
            customer_id: receipt
                .customer_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            amount: Some(money(amount, &receipt.currency)),
            reason: reason.to_owned(),
        },
    )
}

pub fn payment_reversed(tenant: &TenantId, receipt: &ReceiptRow) -> OutgoingEvent {
    event(
        tenant,
        "PaymentReversed",
        receipt,
        &proto::PaymentReversed {
            receipt_id: receipt.id.to_string(),
            customer_id: receipt
                .customer_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            amount: Some(money(receipt.reversed, &receipt.currency)),
            reason: receipt.reversal_reason.clone().unwrap_or_default(),
        },
    )
}

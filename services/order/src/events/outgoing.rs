//! The events of `otc.order.events.v1`, keyed by customer id, built from the
//! stored order so that what is published is exactly what was committed.

use rust_decimal::Decimal;

use crate::store::customers::CustomerRecord;
use crate::store::orders::{OrderLineRow, OrderRecord};
use otc_proto::events as proto;
use otc_proto::types::Money as ProtoMoney;
use otc_shared::TenantId;
use otc_shared::events::EventEnvelope;
use otc_shared::kafka::topics::ORDER_EVENTS;
use otc_shared::outbox::OutgoingEvent;

pub const SOURCE: &str = "/otc/order";

/// `otc.order.v1.<MessageName>`.
pub fn event_type(name: &str) -> String {
    format!("otc.order.v1.{name}")
}

pub fn event<M: prost::Message>(
    tenant: &TenantId,
    name: &str,
    key: &str,
    subject: &str,
    message: &M,
) -> OutgoingEvent {
    let mut envelope = EventEnvelope::new(&event_type(name), SOURCE, tenant);
    envelope.subject = Some(subject.to_owned());
    OutgoingEvent::protobuf(ORDER_EVENTS, key, envelope, message)
}

/// An amount column as wire money. Amounts are stored at their currency's
/// scale; unit prices may carry more decimals and are sent as they are.
pub fn money(amount: Decimal, currency: &str) -> ProtoMoney {
    ProtoMoney {
        amount: amount.to_string(),
        currency_code: currency.to_owned(),
    }
}

/// An amount column at its currency's minor unit, as wire money.
pub fn minor(amount: Decimal, currency: &str) -> ProtoMoney {
    match otc_shared::Money::from_columns(amount, currency) {
        Ok(value) => value.to_proto(),
        Err(_) => money(amount, currency),
    }
}

pub fn order_line(line: &OrderLineRow, currency: &str) -> proto::OrderLine {
    proto::OrderLine {
        line_id: line.line_id.clone(),
        sku: line.sku.clone(),
        description: line.description.clone(),
        quantity: line.quantity.normalize().to_string(),
        unit_price: Some(money(line.unit_price.normalize(), currency)),
        line_amount: Some(minor(line.line_amount, currency)),
        tax_code: line.tax_code.clone(),
    }
}

fn subject(order: &OrderRecord) -> String {
    format!("order/{}", order.header.id)
}

pub fn order_placed(tenant: &TenantId, order: &OrderRecord) -> OutgoingEvent {
    let header = &order.header;
    let message = proto::OrderPlaced {
        order_id: header.id.to_string(),
        customer_id: header.customer_id.to_string(),
        source: header.source.clone(),
        external_order_id: header.external_order_id.clone(),
        lines: order
            .lines
            .iter()
            .map(|line| order_line(line, &header.currency))
            .collect(),
        total: Some(minor(header.total, &header.currency)),
        placed_at: Some(otc_shared::time::to_proto(header.placed_at)),
        order_date: header.order_date.to_string(),
    };
    event(
        tenant,
        "OrderPlaced",
        &header.customer_id.to_string(),
        &subject(order),
        &message,
    )
}

pub fn order_amended(
    tenant: &TenantId,
    order: &OrderRecord,
    previous_total: Decimal,
) -> OutgoingEvent {
    let header = &order.header;
    let message = proto::OrderAmended {
        order_id: header.id.to_string(),
        customer_id: header.customer_id.to_string(),
        revision: u32::try_from(header.revision).unwrap_or_default(),
        lines: order
            .lines
            .iter()
            .map(|line| order_line(line, &header.currency))
            .collect(),
        total: Some(minor(header.total, &header.currency)),
        previous_total: Some(minor(previous_total, &header.currency)),
        status: header.status.clone(),
    };
    event(
        tenant,
        "OrderAmended",
        &header.customer_id.to_string(),
        &subject(order),
        &message,
    )
}

pub fn order_approved(tenant: &TenantId, order: &OrderRecord) -> OutgoingEvent {
    let header = &order.header;
    let message = proto::OrderApproved {
        order_id: header.id.to_string(),
        customer_id: header.customer_id.to_string(),
        total: Some(minor(header.total, &header.currency)),
        source: header.source.clone(),
        external_order_id: header.external_order_id.clone(),
    };
    event(
        tenant,
        "OrderApproved",
        &header.customer_id.to_string(),
        &subject(order),
        &message,
    )
}

pub fn order_put_on_credit_hold(
    tenant: &TenantId,
    order: &OrderRecord,
    reason: &str,
) -> OutgoingEvent {
    let header = &order.header;
    let message = proto::OrderPutOnCreditHold {
        order_id: header.id.to_string(),
        customer_id: header.customer_id.to_string(),
        reason: reason.to_owned(),
    };
    event(
        tenant,
        "OrderPutOnCreditHold",
        &header.customer_id.to_string(),
        &subject(order),
        &message,
    )
}

pub fn order_released(
    tenant: &TenantId,
    order: &OrderRecord,
    released_by: &str,
    reason: &str,
) -> OutgoingEvent {
    let header = &order.header;
    let message = proto::OrderReleased {
        order_id: header.id.to_string(),
        customer_id: header.customer_id.to_string(),
        released_by: released_by.to_owned(),
        total: Some(minor(header.total, &header.currency)),
        reason: reason.to_owned(),
    };
    event(
        tenant,
        "OrderReleased",
        &header.customer_id.to_string(),
        &subject(order),
        &message,
    )
}

pub fn order_cancelled(tenant: &TenantId, order: &OrderRecord, reason: &str) -> OutgoingEvent {
    let header = &order.header;
    let message = proto::OrderCancelled {
        order_id: header.id.to_string(),
        customer_id: header.customer_id.to_string(),
        reason: reason.to_owned(),
    };
    event(
        tenant,
        "OrderCancelled",
        &header.customer_id.to_string(),
        &subject(order),
        &message,
    )
}

pub fn order_closed(tenant: &TenantId, order: &OrderRecord) -> OutgoingEvent {
    let header = &order.header;
    let message = proto::OrderClosed {
        order_id: header.id.to_string(),
        customer_id: header.customer_id.to_string(),
    };
    event(
        tenant,
        "OrderClosed",
        &header.customer_id.to_string(),
        &subject(order),
        &message,
    )
}

pub fn shipment_recorded(
    tenant: &TenantId,
    order: &OrderRecord,
    shipment: &proto::ShipmentRecorded,
) -> OutgoingEvent {
    event(
        tenant,
        "ShipmentRecorded",
        &order.header.customer_id.to_string(),
        &subject(order),
        shipment,
    )
}

pub fn customer_upserted(tenant: &TenantId, customer: &CustomerRecord) -> OutgoingEvent {
    let message = proto::CustomerUpserted {
        customer_id: customer.id.to_string(),
        legal_name: customer.legal_name.clone(),
        external_references: customer
            .external_references
            .iter()
            .map(|(platform, id)| format!("{platform}:{id}"))
            .collect(),
        billing_address: Some(customer.billing_address.to_proto()),
        tax_region: customer.tax_region.clone(),
        currency_code: customer.currency.clone(),
        payment_terms_code: customer.payment_terms_code.clone(),
        segment: customer.segment.clone(),
        mandate_reference: customer.mandate_reference.clone().unwrap_or_default(),
        status: customer.status.clone(),
        bank_accounts: customer.bank_accounts.clone(),
        version: u64::try_from(customer.version).unwrap_or_default(),
    };
    let key = customer.id.to_string();
    event(
        tenant,
        "CustomerUpserted",
        &key,
        &format!("customer/{key}"),
        &message,
    )
}

pub fn order_rejected(tenant: &TenantId, message: &proto::OrderRejected) -> OutgoingEvent {
    let key = format!("{}:{}", message.source, message.external_order_id);
    event(
        tenant,
        "OrderRejected",
        &key,
        &format!("upstream-order/{key}"),
        message,
    )
}

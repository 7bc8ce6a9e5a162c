//! The events of `otc.collections.events.v1`, keyed by customer id, built
//! from the assessment just made so that what is published is what was
//! decided.

use uuid::Uuid;

use crate::domain::credit::Assessment;
use otc_proto::events as proto;
use otc_shared::TenantId;
use otc_shared::events::EventEnvelope;
use otc_shared::kafka::topics::COLLECTIONS_EVENTS;
use otc_shared::money::column_to_proto as money;
use otc_shared::outbox::OutgoingEvent;

pub const SOURCE: &str = "/otc/collections";

/// `otc.collections.v1.<MessageName>`.
pub fn event_type(name: &str) -> String {
    format!("otc.collections.v1.{name}")
}

fn event<M: prost::Message>(
    tenant: &TenantId,
    name: &str,
    customer_id: Uuid,
    message: &M,
) -> OutgoingEvent {
    let key = customer_id.to_string();
    let mut envelope = EventEnvelope::new(&event_type(name), SOURCE, tenant);
    envelope.subject = Some(format!("customer/{key}"));
    OutgoingEvent::protobuf(COLLECTIONS_EVENTS, &key, envelope, message)
}

fn limit_of(assessment: &Assessment) -> Option<otc_proto::types::Money> {
    assessment
        .limit
        .map(|limit| money(limit, &assessment.currency))
}

/// What triggered a release is in its audit record (`credit.released`): the
/// event keeps the shape the order service already reads.
pub fn customer_credit_released(
    tenant: &TenantId,
    customer_id: Uuid,
    assessment: &Assessment,
) -> OutgoingEvent {
    let currency = &assessment.currency;
    event(
        tenant,
        "CustomerCreditReleased",
        customer_id,
        &proto::CustomerCreditReleased {
            customer_id: customer_id.to_string(),
            credit_limit: limit_of(assessment),
            exposure: Some(money(assessment.exposure, currency)),
        },
    )
}

pub fn customer_credit_held(
    tenant: &TenantId,
    customer_id: Uuid,
    assessment: &Assessment,
    reason: &str,
    trigger: &str,
) -> OutgoingEvent {
    let currency = &assessment.currency;
    event(
        tenant,
        "CustomerCreditHeld",
        customer_id,
        &proto::CustomerCreditHeld {
            customer_id: customer_id.to_string(),
            credit_limit: limit_of(assessment),
            exposure: Some(money(assessment.exposure, currency)),
            reason: reason.to_owned(),
            open_receivables: Some(money(assessment.receivables, currency)),
            unbilled_orders: Some(money(assessment.unbilled, currency)),
            trigger: trigger.to_owned(),
            held_at: Some(otc_shared::time::to_proto(otc_shared::time::now())),
        },
    )
}

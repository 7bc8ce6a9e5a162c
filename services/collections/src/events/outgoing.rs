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

pub fn dispute_opened(
    tenant: &TenantId,
    dispute: &crate::store::disputes::DisputeRow,
    item_ids: &[Uuid],
) -> OutgoingEvent {
    event(
        tenant,
        "DisputeOpened",
        dispute.customer_id,
        &proto::DisputeOpened {
            dispute_id: dispute.id.to_string(),
            customer_id: dispute.customer_id.to_string(),
            invoice_id: item_ids.first().map(Uuid::to_string).unwrap_or_default(),
            reason_code: dispute.reason_code.to_uppercase(),
            amount: Some(money(dispute.amount, &dispute.currency)),
            invoice_ids: item_ids.iter().map(Uuid::to_string).collect(),
            source: dispute.source.to_uppercase(),
            deduction_id: dispute
                .deduction_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            owner: dispute.owner.clone(),
            sla_due_date: dispute.sla_due_date.to_string(),
        },
    )
}

pub struct Resolution<'a> {
    pub resolution: &'a str,
    pub resolved_by: &'a str,
    pub credit_note_ids: Vec<String>,
    pub write_off_ids: Vec<String>,
}

pub fn dispute_resolved(
    tenant: &TenantId,
    dispute: &crate::store::disputes::DisputeRow,
    resolution: Resolution<'_>,
) -> OutgoingEvent {
    event(
        tenant,
        "DisputeResolved",
        dispute.customer_id,
        &proto::DisputeResolved {
            dispute_id: dispute.id.to_string(),
            customer_id: dispute.customer_id.to_string(),
            resolution: resolution.resolution.to_uppercase(),
            amount: Some(money(dispute.amount, &dispute.currency)),
            credit_note_ids: resolution.credit_note_ids,
            write_off_ids: resolution.write_off_ids,
            resolved_by: resolution.resolved_by.to_owned(),
        },
    )
}

pub fn write_off_approved(
    tenant: &TenantId,
    write_off: &crate::store::write_offs::WriteOffRow,
    approved_by: &str,
) -> OutgoingEvent {
    event(
        tenant,
        "WriteOffApproved",
        write_off.customer_id,
        &proto::WriteOffApproved {
            write_off_id: write_off.id.to_string(),
            customer_id: write_off.customer_id.to_string(),
            invoice_id: write_off.item_id.to_string(),
            amount: Some(money(write_off.amount, &write_off.currency)),
            approved_by: approved_by.to_owned(),
        },
    )
}

pub fn promise_to_pay_recorded(
    tenant: &TenantId,
    promise: &crate::store::promises::PromiseRow,
    item_ids: &[Uuid],
) -> OutgoingEvent {
    event(
        tenant,
        "PromiseToPayRecorded",
        promise.customer_id,
        &proto::PromiseToPayRecorded {
            promise_id: promise.id.to_string(),
            customer_id: promise.customer_id.to_string(),
            invoice_ids: item_ids.iter().map(Uuid::to_string).collect(),
            amount: Some(money(promise.amount, &promise.currency)),
            promised_date: promise.promised_date.to_string(),
        },
    )
}

pub fn promise_kept(
    tenant: &TenantId,
    promise: &crate::store::promises::PromiseRow,
    item_ids: &[Uuid],
) -> OutgoingEvent {
    event(
        tenant,
        "PromiseKept",
        promise.customer_id,
        &proto::PromiseKept {
            promise_id: promise.id.to_string(),
            customer_id: promise.customer_id.to_string(),
            invoice_ids: item_ids.iter().map(Uuid::to_string).collect(),
            amount: Some(money(promise.amount, &promise.currency)),
            paid: Some(money(promise.paid, &promise.currency)),
            promised_date: promise.promised_date.to_string(),
        },
    )
}

pub fn promise_broken(
    tenant: &TenantId,
    promise: &crate::store::promises::PromiseRow,
    item_ids: &[Uuid],
    as_of: chrono::NaiveDate,
) -> OutgoingEvent {
    event(
        tenant,
        "PromiseBroken",
        promise.customer_id,
        &proto::PromiseBroken {
            promise_id: promise.id.to_string(),
            customer_id: promise.customer_id.to_string(),
            invoice_ids: item_ids.iter().map(Uuid::to_string).collect(),
            amount: Some(money(promise.amount, &promise.currency)),
            paid: Some(money(promise.paid, &promise.currency)),
            promised_date: promise.promised_date.to_string(),
            as_of: as_of.to_string(),
        },
    )
}

pub fn dunning_notice_sent(
    tenant: &TenantId,
    notice: &crate::store::dunning::NoticeRow,
    item_ids: &[Uuid],
    sent_at: chrono::DateTime<chrono::Utc>,
) -> OutgoingEvent {
    let currency = &notice.currency;
    event(
        tenant,
        "DunningNoticeSent",
        notice.customer_id,
        &proto::DunningNoticeSent {
            notice_id: notice.id.to_string(),
            customer_id: notice.customer_id.to_string(),
            level: notice.level,
            channel: notice.channel.to_uppercase(),
            invoice_ids: item_ids.iter().map(Uuid::to_string).collect(),
            overdue_amount: Some(money(notice.overdue_amount, currency)),
            sent_at: Some(otc_shared::time::to_proto(sent_at)),
            run_id: notice.run_id.to_string(),
            as_of: notice.as_of.to_string(),
            fee_amount: Some(money(notice.fee_amount, currency)),
            interest_amount: Some(money(notice.interest_amount, currency)),
            total_due: Some(money(notice.total_due, currency)),
        },
    )
}

pub fn collector_contact_recorded(
    tenant: &TenantId,
    contact: &crate::store::worklist::ContactRow,
) -> OutgoingEvent {
    event(
        tenant,
        "CollectorContactRecorded",
        contact.customer_id,
        &proto::CollectorContactRecorded {
            contact_id: contact.id.to_string(),
            customer_id: contact.customer_id.to_string(),
            collector: contact.collector.clone(),
            channel: contact.channel.to_uppercase(),
            outcome: contact.outcome.to_uppercase(),
            contacted_at: Some(otc_shared::time::to_proto(contact.contacted_at)),
            next_action: contact.next_action.clone().unwrap_or_default(),
            next_action_date: contact
                .next_action_date
                .map(|date| date.to_string())
                .unwrap_or_default(),
        },
    )
}

/// `collector` empty: the customer went back to the assignment rules.
pub fn customer_collector_assigned(
    tenant: &TenantId,
    customer_id: Uuid,
    collector: &str,
    previous_collector: &str,
    assigned_by: &str,
    reason: &str,
) -> OutgoingEvent {
    event(
        tenant,
        "CustomerCollectorAssigned",
        customer_id,
        &proto::CustomerCollectorAssigned {
            customer_id: customer_id.to_string(),
            collector: collector.to_owned(),
            previous_collector: previous_collector.to_owned(),
            assigned_by: assigned_by.to_owned(),
            reason: reason.to_owned(),
        },
    )
}

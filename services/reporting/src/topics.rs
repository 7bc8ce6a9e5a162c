//! The JSON records reporting publishes for BI tools. Each topic has a JSON
//! Schema in `docs/schemas/reporting/` (a test validates every record
//! against it) and a version in its name. Money is a decimal string with a
//! currency field; dates are ISO 8601; timestamps RFC 3339 UTC.
//!
//! Fact topics get one record per fact, with an id derived from the event
//! it comes from, so a rebuild writes the same ids again (and the outbox,
//! which refuses an id twice, does not publish them twice). Snapshot topics
//! are compacted and keyed by customer (or tenant for `kpis`): the latest
//! record per key is the state.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use otc_shared::events::EventEnvelope;
use otc_shared::kafka::topics;
use otc_shared::outbox::OutgoingEvent;
use otc_shared::time::to_rfc3339;

use crate::fold::facts::Fact;

pub const SOURCE: &str = "/otc/reporting";

/// Event types of the records (the `ce_type` header).
pub mod types {
    pub const INVOICE_FACT: &str = "otc.reporting.v1.InvoiceFact";
    pub const PAYMENT_FACT: &str = "otc.reporting.v1.PaymentFact";
    pub const DISPUTE_FACT: &str = "otc.reporting.v1.DisputeFact";
    pub const AR_AGING: &str = "otc.reporting.v1.ArAgingSnapshot";
    pub const CUSTOMER_KPIS: &str = "otc.reporting.v1.CustomerKpisSnapshot";
    pub const KPIS: &str = "otc.reporting.v1.KpisSnapshot";
}

/// An amount as BI tools get it: the currency's minor digits (`100.00`,
/// never `100`, `100.000000` or a float), more only where the amount has
/// them: never rounded.
pub fn amount_text(amount: Decimal, currency: &str) -> String {
    let minor = otc_shared::Currency::parse(currency)
        .map(|parsed| parsed.minor_units())
        .unwrap_or(2);
    let mut value = amount.normalize();
    if value.scale() < minor {
        value.rescale(minor);
    }
    value.to_string()
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MoneyJson {
    pub amount: String,
    pub currency: String,
}

impl MoneyJson {
    pub fn new(amount: Decimal, currency: &str) -> Self {
        Self {
            amount: amount_text(amount, currency),
            currency: currency.to_owned(),
        }
    }
}

/// `otc.reporting.invoice_facts.v1`: invoices, credit notes and debit notes as issued.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InvoiceFact {
    pub fact_id: String,
    pub source_event_id: String,
    pub fact_type: &'static str,
    pub tenant: String,
    pub document_id: Uuid,
    pub document_number: String,
    pub customer_id: Uuid,
    /// The invoice a credit or debit note corrects.
    pub invoice_id: Option<Uuid>,
    pub total: MoneyJson,
    pub net: Option<MoneyJson>,
    pub tax: Option<MoneyJson>,
    pub functional_total: Option<MoneyJson>,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub issued_at: String,
    pub order_ids: Vec<Uuid>,
}

/// `otc.reporting.payment_facts.v1`: receipts, applications and their undoing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PaymentFact {
    pub fact_id: String,
    pub source_event_id: String,
    pub fact_type: &'static str,
    pub tenant: String,
    pub receipt_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub application_id: Option<Uuid>,
    pub refund_id: Option<Uuid>,
    pub deduction_id: Option<Uuid>,
    pub amount: MoneyJson,
    pub discount: Option<MoneyJson>,
    pub deduction: Option<MoneyJson>,
    pub automatic: Option<bool>,
    pub method: Option<String>,
    pub channel: Option<String>,
    pub reason: Option<String>,
    pub value_date: Option<NaiveDate>,
    pub occurred_at: String,
}

/// `otc.reporting.dispute_facts.v1`: disputes opened and resolved.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DisputeFact {
    pub fact_id: String,
    pub source_event_id: String,
    pub fact_type: &'static str,
    pub tenant: String,
    pub dispute_id: Uuid,
    pub customer_id: Uuid,
    pub invoice_ids: Vec<Uuid>,
    pub reason_code: Option<String>,
    pub resolution: Option<String>,
    pub amount: Option<MoneyJson>,
    pub source: Option<String>,
    pub owner: Option<String>,
    pub sla_due_date: Option<NaiveDate>,
    pub occurred_at: String,
}

/// The id of the fact record an event gives: the same on every replay.
pub fn fact_id(source_event_id: &str) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("otc.reporting.fact/{source_event_id}").as_bytes(),
    )
    .to_string()
}

fn envelope(
    event_type: &str,
    tenant: &otc_shared::TenantId,
    id: String,
    time: DateTime<Utc>,
    subject: String,
    source: &EventEnvelope,
) -> EventEnvelope {
    let mut envelope = EventEnvelope::new(event_type, SOURCE, tenant);
    envelope.id = id;
    envelope.time = time;
    envelope.subject = Some(subject);
    // The fact continues the trace of the event it comes from.
    envelope.traceparent.clone_from(&source.traceparent);
    envelope.tracestate.clone_from(&source.tracestate);
    envelope
}

/// The BI fact record of one fact of an event, if it is a fact BI gets.
pub fn fact_record(
    source: &EventEnvelope,
    fact: &Fact,
) -> Result<Option<OutgoingEvent>, serde_json::Error> {
    let tenant = source.tenant.as_str().to_owned();
    let id = fact_id(&source.id);
    let make = |topic: &str, event_type: &str, key: Uuid, value: &dyn erased::Json| {
        let envelope = envelope(
            event_type,
            &source.tenant,
            id.clone(),
            source.time,
            format!("customer/{key}"),
            source,
        );
        value.outgoing(topic, &key.to_string(), envelope)
    };
    let record = match fact {
        Fact::Document {
            document_id,
            customer_id,
            kind,
            number,
            corrects_invoice_id,
            currency,
            amount,
            net_amount,
            tax_amount,
            functional,
            issue_date,
            due_date,
            issued_at,
            order_ids,
            ..
        } => {
            let value = InvoiceFact {
                fact_id: id.clone(),
                source_event_id: source.id.clone(),
                fact_type: if *kind == "invoice" {
                    "invoice_issued"
                } else {
                    "debit_note_issued"
                },
                tenant,
                document_id: *document_id,
                document_number: number.clone(),
                customer_id: *customer_id,
                invoice_id: *corrects_invoice_id,
                total: MoneyJson::new(*amount, currency),
                net: Some(MoneyJson::new(*net_amount, currency)),
                tax: Some(MoneyJson::new(*tax_amount, currency)),
                functional_total: functional
                    .as_ref()
                    .map(|(value, code)| MoneyJson::new(*value, code)),
                issue_date: *issue_date,
                due_date: Some(*due_date),
                issued_at: to_rfc3339(*issued_at),
                order_ids: order_ids.clone(),
            };
            make(
                topics::REPORTING_INVOICE_FACTS,
                types::INVOICE_FACT,
                *customer_id,
                &value,
            )?
        }
        Fact::CreditNote {
            credit_note_id,
            number,
            invoice_id,
            customer_id,
            currency,
            amount,
            issue_date,
            issued_at,
            ..
        } => {
            let value = InvoiceFact {
                fact_id: id.clone(),
                source_event_id: source.id.clone(),
                fact_type: "credit_note_issued",
                tenant,
                document_id: *credit_note_id,
                document_number: number.clone(),
                customer_id: *customer_id,
                invoice_id: Some(*invoice_id),
                total: MoneyJson::new(*amount, currency),
                net: None,
                tax: None,
                functional_total: None,
                issue_date: *issue_date,
                due_date: None,
                issued_at: to_rfc3339(*issued_at),
                order_ids: Vec::new(),
            };
            make(
                topics::REPORTING_INVOICE_FACTS,
                types::INVOICE_FACT,
                *customer_id,
                &value,
            )?
        }
        Fact::Receipt {
            receipt_id,
            customer_id,
            currency,
            amount,
            channel,
            value_date,
            received_at,
        } => payment(
            source,
            &id,
            PaymentFact {
                fact_type: "payment_received",
                receipt_id: *receipt_id,
                customer_id: *customer_id,
                amount: MoneyJson::new(*amount, currency),
                channel: Some(channel.clone()),
                value_date: Some(*value_date),
                occurred_at: to_rfc3339(*received_at),
                ..PaymentFact::empty(source, &id, *receipt_id)
            },
        )?,
        Fact::Application {
            application_id,
            receipt_id,
            customer_id,
            invoice_id,
            currency,
            amount,
            discount,
            deduction,
            automatic,
            method,
            applied_at,
            value_date,
            ..
        } => payment(
            source,
            &id,
            PaymentFact {
                fact_type: "payment_applied",
                customer_id: Some(*customer_id),
                invoice_id: Some(*invoice_id),
                application_id: Some(*application_id),
                amount: MoneyJson::new(*amount, currency),
                discount: Some(MoneyJson::new(*discount, currency)),
                deduction: Some(MoneyJson::new(*deduction, currency)),
                automatic: Some(*automatic),
                method: Some(method.clone()),
                value_date: Some(*value_date),
                occurred_at: to_rfc3339(*applied_at),
                ..PaymentFact::empty(source, &id, *receipt_id)
            },
        )?,
        Fact::Unapplication {
            application_id,
            receipt_id,
            customer_id,
            invoice_id,
            currency,
            amount,
            reason,
            unapplied_at,
        } => payment(
            source,
            &id,
            PaymentFact {
                fact_type: "payment_unapplied",
                customer_id: Some(*customer_id),
                invoice_id: Some(*invoice_id),
                application_id: Some(*application_id),
                amount: MoneyJson::new(*amount, currency),
                reason: Some(reason.clone()),
                occurred_at: to_rfc3339(*unapplied_at),
                ..PaymentFact::empty(source, &id, *receipt_id)
            },
        )?,
        Fact::Reversal {
            receipt_id,
            customer_id,
            currency,
            amount,
            reason,
            reversed_at,
        } => payment(
            source,
            &id,
            PaymentFact {
                fact_type: "payment_reversed",
                customer_id: *customer_id,
                amount: MoneyJson::new(*amount, currency),
                reason: Some(reason.clone()),
                occurred_at: to_rfc3339(*reversed_at),
                ..PaymentFact::empty(source, &id, *receipt_id)
            },
        )?,
        Fact::Refund {
            refund_id,
            receipt_id,
            customer_id,
            currency,
            amount,
            reason,
            issued_at,
        } => payment(
            source,
            &id,
            PaymentFact {
                fact_type: "refund_issued",
                customer_id: *customer_id,
                refund_id: Some(*refund_id),
                amount: MoneyJson::new(*amount, currency),
                reason: Some(reason.clone()),
                occurred_at: to_rfc3339(*issued_at),
                ..PaymentFact::empty(source, &id, *receipt_id)
            },
        )?,
        Fact::Deduction {
            deduction_id,
            application_id,
            receipt_id,
            customer_id,
            invoice_id,
            currency,
            amount,
            reason,
            taken_at,
        } => {
            let Some(receipt_id) = receipt_id else {
                return Ok(None);
            };
            payment(
                source,
                &id,
                PaymentFact {
                    fact_type: "deduction_taken",
                    customer_id: Some(*customer_id),
                    invoice_id: *invoice_id,
                    application_id: *application_id,
                    deduction_id: Some(*deduction_id),
                    amount: MoneyJson::new(*amount, currency),
                    reason: Some(reason.clone()),
                    occurred_at: to_rfc3339(*taken_at),
                    ..PaymentFact::empty(source, &id, *receipt_id)
                },
            )?
        }
        Fact::DisputeOpened {
            dispute_id,
            customer_id,
            invoice_ids,
            reason_code,
            currency,
            amount,
            source: origin,
            owner,
            sla_due_date,
            opened_at,
        } => {
            let value = DisputeFact {
                fact_id: id.clone(),
                source_event_id: source.id.clone(),
                fact_type: "dispute_opened",
                tenant,
                dispute_id: *dispute_id,
                customer_id: *customer_id,
                invoice_ids: invoice_ids.clone(),
                reason_code: Some(reason_code.clone()),
                resolution: None,
                amount: Some(MoneyJson::new(*amount, currency)),
                source: Some(origin.clone()),
                owner: Some(owner.clone()),
                sla_due_date: *sla_due_date,
                occurred_at: to_rfc3339(*opened_at),
            };
            make(
                topics::REPORTING_DISPUTE_FACTS,
                types::DISPUTE_FACT,
                *customer_id,
                &value,
            )?
        }
        Fact::DisputeResolved {
            dispute_id,
            customer_id,
            resolution,
            amount,
            resolved_at,
            ..
        } => {
            let value = DisputeFact {
                fact_id: id.clone(),
                source_event_id: source.id.clone(),
                fact_type: "dispute_resolved",
                tenant,
                dispute_id: *dispute_id,
                customer_id: *customer_id,
                invoice_ids: Vec::new(),
                reason_code: None,
                resolution: Some(resolution.clone()),
                amount: amount
                    .as_ref()
                    .map(|(value, code)| MoneyJson::new(*value, code)),
                source: None,
                owner: None,
                sla_due_date: None,
                occurred_at: to_rfc3339(*resolved_at),
            };
            make(
                topics::REPORTING_DISPUTE_FACTS,
                types::DISPUTE_FACT,
                *customer_id,
                &value,
            )?
        }
        _ => return Ok(None),
    };
    Ok(Some(record))
}

impl PaymentFact {
    fn empty(source: &EventEnvelope, id: &str, receipt_id: Uuid) -> Self {
        Self {
            fact_id: id.to_owned(),
            source_event_id: source.id.clone(),
            fact_type: "",
            tenant: source.tenant.as_str().to_owned(),
            receipt_id,
            customer_id: None,
            invoice_id: None,
            application_id: None,
            refund_id: None,
            deduction_id: None,
            amount: MoneyJson {
                amount: String::new(),
                currency: String::new(),
            },
            discount: None,
            deduction: None,
            automatic: None,
            method: None,
            channel: None,
            reason: None,
            value_date: None,
            occurred_at: String::new(),
        }
    }
}

fn payment(
    source: &EventEnvelope,
    id: &str,
    value: PaymentFact,
) -> Result<OutgoingEvent, serde_json::Error> {
    // Receipts of payers not identified yet are keyed by the receipt.
    let key = value.customer_id.unwrap_or(value.receipt_id);
    let envelope = envelope(
        types::PAYMENT_FACT,
        &source.tenant,
        id.to_owned(),
        source.time,
        format!("receipt/{}", value.receipt_id),
        source,
    );
    OutgoingEvent::json(
        topics::REPORTING_PAYMENT_FACTS,
        &key.to_string(),
        envelope,
        &value,
    )
}

/// Lets one closure serialise the different fact structs.
mod erased {
    use otc_shared::events::EventEnvelope;
    use otc_shared::outbox::OutgoingEvent;

    pub trait Json {
        fn outgoing(
            &self,
            topic: &str,
            key: &str,
            envelope: EventEnvelope,
        ) -> Result<OutgoingEvent, serde_json::Error>;
    }

    impl<T: serde::Serialize> Json for T {
        fn outgoing(
            &self,
            topic: &str,
            key: &str,
            envelope: EventEnvelope,
        ) -> Result<OutgoingEvent, serde_json::Error> {
            OutgoingEvent::json(topic, key, envelope, self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn amounts_show_the_minor_digits_and_are_never_rounded() {
        assert_eq!(amount_text(dec!(100), "EUR"), "100.00");
        assert_eq!(amount_text(dec!(1.5), "USD"), "1.50");
        assert_eq!(amount_text(dec!(1000), "JPY"), "1000");
        assert_eq!(amount_text(dec!(12.345), "EUR"), "12.345");
        assert_eq!(amount_text(dec!(-3.1), "EUR"), "-3.10");
        assert_eq!(amount_text(dec!(480.000000), "EUR"), "480.00");
        assert_eq!(amount_text(dec!(0.000000), "EUR"), "0.00");
    }

    #[test]
    fn a_fact_id_is_the_same_on_every_replay() {
        assert_eq!(fact_id("event-1"), fact_id("event-1"));
        assert_ne!(fact_id("event-1"), fact_id("event-2"));
    }
}

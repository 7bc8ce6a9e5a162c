//! Reading one consumed event into the facts it contributes. Every field is
//! checked here, before any database work, so a record that cannot be read
//! is dead-lettered with the field and the reason, alone, and the rest of
//! its batch is folded.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use otc_proto::events as proto;
use otc_proto::types::Money;
use otc_shared::events::EventEnvelope;
use otc_shared::inbox::IncomingRecord;

use super::facts::{Fact, MovementKind};

/// Event types reporting folds; any other type is recorded as seen and skipped.
pub mod types {
    pub const CUSTOMER_UPSERTED: &str = "otc.order.v1.CustomerUpserted";
    pub const ORDER_PLACED: &str = "otc.order.v1.OrderPlaced";
    pub const ORDER_APPROVED: &str = "otc.order.v1.OrderApproved";
    pub const ORDER_AMENDED: &str = "otc.order.v1.OrderAmended";
    pub const ORDER_PUT_ON_CREDIT_HOLD: &str = "otc.order.v1.OrderPutOnCreditHold";
    pub const ORDER_RELEASED: &str = "otc.order.v1.OrderReleased";
    pub const SHIPMENT_RECORDED: &str = "otc.order.v1.ShipmentRecorded";
    pub const ORDER_CANCELLED: &str = "otc.order.v1.OrderCancelled";
    pub const ORDER_CLOSED: &str = "otc.order.v1.OrderClosed";
    pub const INVOICE_ISSUED: &str = "otc.billing.v1.InvoiceIssued";
    pub const CREDIT_NOTE_ISSUED: &str = "otc.billing.v1.CreditNoteIssued";
    pub const DEBIT_NOTE_ISSUED: &str = "otc.billing.v1.DebitNoteIssued";
    pub const INVOICE_HELD: &str = "otc.billing.v1.InvoiceHeld";
    pub const PAYMENT_RECEIVED: &str = "otc.payments.v1.PaymentReceived";
    pub const PAYMENT_APPLIED: &str = "otc.payments.v1.PaymentApplied";
    pub const PAYMENT_UNAPPLIED: &str = "otc.payments.v1.PaymentUnapplied";
    pub const PAYMENT_REVERSED: &str = "otc.payments.v1.PaymentReversed";
    pub const REFUND_ISSUED: &str = "otc.payments.v1.RefundIssued";
    pub const DEDUCTION_TAKEN: &str = "otc.payments.v1.DeductionTaken";
    pub const CUSTOMER_CREDIT_HELD: &str = "otc.collections.v1.CustomerCreditHeld";
    pub const CUSTOMER_CREDIT_RELEASED: &str = "otc.collections.v1.CustomerCreditReleased";
    pub const DUNNING_NOTICE_SENT: &str = "otc.collections.v1.DunningNoticeSent";
    pub const DISPUTE_OPENED: &str = "otc.collections.v1.DisputeOpened";
    pub const DISPUTE_RESOLVED: &str = "otc.collections.v1.DisputeResolved";
    pub const PROMISE_TO_PAY_RECORDED: &str = "otc.collections.v1.PromiseToPayRecorded";
    pub const PROMISE_KEPT: &str = "otc.collections.v1.PromiseKept";
    pub const PROMISE_BROKEN: &str = "otc.collections.v1.PromiseBroken";
    pub const WRITE_OFF_APPROVED: &str = "otc.collections.v1.WriteOffApproved";
}

/// The largest amount a NUMERIC(20, 6) column holds is below 10^14.
const AMOUNT_LIMIT: Decimal = Decimal::from_parts(0x107A_4000, 0x5AF3, 0, false, 0);

/// One consumed event, read: its envelope and the facts it contributes.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub envelope: EventEnvelope,
    pub facts: Vec<Fact>,
}

/// Why a record cannot be folded; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

fn bad(field: &str, reason: impl std::fmt::Display) -> Unreadable {
    Unreadable(format!("{field}: {reason}"))
}

pub fn uuid(field: &str, text: &str) -> Result<Uuid, Unreadable> {
    Uuid::parse_str(text.trim()).map_err(|error| bad(field, format!("`{text}`: {error}")))
}

fn optional_uuid(field: &str, text: &str) -> Result<Option<Uuid>, Unreadable> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    uuid(field, text).map(Some)
}

fn uuids(field: &str, texts: &[String]) -> Result<Vec<Uuid>, Unreadable> {
    texts
        .iter()
        .enumerate()
        .map(|(index, text)| uuid(&format!("{field}[{index}]"), text))
        .collect()
}

fn date(field: &str, text: &str) -> Result<Option<NaiveDate>, Unreadable> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<NaiveDate>()
        .map(Some)
        .map_err(|error| bad(field, format!("`{text}`: {error}")))
}

fn timestamp(
    field: &str,
    value: Option<&prost_types::Timestamp>,
    otherwise: DateTime<Utc>,
) -> Result<DateTime<Utc>, Unreadable> {
    match value {
        None => Ok(otherwise),
        Some(value) => otc_shared::time::from_proto(field, Some(value))
            .map_err(|error| bad(field, error.to_string())),
    }
}

/// An amount and its currency; `negative_allowed` for signed figures.
fn money(field: &str, value: Option<&Money>) -> Result<(Decimal, String), Unreadable> {
    let value = value.ok_or_else(|| bad(field, "is missing"))?;
    let amount: Decimal = value.amount.trim().parse().map_err(|error| {
        bad(
            &format!("{field}.amount"),
            format!("`{}`: {error}", value.amount),
        )
    })?;
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(bad(
            &format!("{field}.amount"),
            format!("`{}` is negative", value.amount),
        ));
    }
    if amount.abs() >= AMOUNT_LIMIT {
        return Err(bad(
            &format!("{field}.amount"),
            format!("`{}` is too large", value.amount),
        ));
    }
    let currency = otc_shared::Currency::parse(&value.currency_code)
        .map_err(|error| bad(&format!("{field}.currency_code"), error))?;
    Ok((amount, currency.code().to_owned()))
}

/// An optional amount: absent or empty is zero (in `currency`).
fn optional_money(field: &str, value: Option<&Money>) -> Result<Decimal, Unreadable> {
    match value {
        Some(money_value) if !money_value.amount.trim().is_empty() => {
            Ok(money(field, Some(money_value))?.0)
        }
        _ => Ok(Decimal::ZERO),
    }
}

fn optional_money_with_currency(
    field: &str,
    value: Option<&Money>,
) -> Result<Option<(Decimal, String)>, Unreadable> {
    match value {
        Some(money_value)
            if !money_value.amount.trim().is_empty()
                && !money_value.currency_code.trim().is_empty() =>
        {
            money(field, Some(money_value)).map(Some)
        }
        _ => Ok(None),
    }
}

fn required(field: &str, text: &str) -> Result<String, Unreadable> {
    if text.trim().is_empty() {
        return Err(bad(field, "is missing"));
    }
    Ok(text.trim().to_owned())
}

fn decode_payload<M: prost::Message + Default>(record: &IncomingRecord) -> Result<M, Unreadable> {
    M::decode(record.payload.as_slice())
        .map_err(|error| Unreadable(format!("payload is not a valid protobuf message: {error}")))
}

/// Reads a record: `Ok` with no facts for an event type reporting does not
/// fold (it is still recorded as seen), `Err` for one it cannot read.
pub fn decode(record: &IncomingRecord) -> Result<Decoded, Unreadable> {
    let envelope = EventEnvelope::from_headers(&record.headers)
        .map_err(|error| Unreadable(format!("CloudEvents headers: {error}")))?;
    let facts = facts_of(record, &envelope)?;
    Ok(Decoded { envelope, facts })
}

fn facts_of(record: &IncomingRecord, envelope: &EventEnvelope) -> Result<Vec<Fact>, Unreadable> {
    use types::*;
    let at = envelope.time;
    let event_id = envelope.id.as_str();
    let facts = match envelope.event_type.as_str() {
        CUSTOMER_UPSERTED => {
            let event: proto::CustomerUpserted = decode_payload(record)?;
            let currency = if event.currency_code.trim().is_empty() {
                None
            } else {
                Some(
                    otc_shared::Currency::parse(&event.currency_code)
                        .map_err(|error| bad("currency_code", error))?
                        .code()
                        .to_owned(),
                )
            };
            vec![Fact::Customer {
                customer_id: uuid("customer_id", &event.customer_id)?,
                legal_name: event.legal_name,
                segment: event.segment,
                currency,
                tax_region: event.tax_region,
                payment_terms_code: event.payment_terms_code,
                status: event.status,
                version: i64::try_from(event.version)
                    .map_err(|_| bad("version", "is too large"))?,
            }]
        }
        ORDER_PLACED => {
            let event: proto::OrderPlaced = decode_payload(record)?;
            let (total, currency) = money("total", event.total.as_ref())?;
            vec![Fact::OrderPlaced {
                order_id: uuid("order_id", &event.order_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                source: event.source,
                external_order_id: event.external_order_id,
                currency,
                total,
                placed_at: timestamp("placed_at", event.placed_at.as_ref(), at)?,
            }]
        }
        ORDER_AMENDED => {
            let event: proto::OrderAmended = decode_payload(record)?;
            let (total, currency) = money("total", event.total.as_ref())?;
            vec![Fact::OrderAmended {
                order_id: uuid("order_id", &event.order_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                revision: i32::try_from(event.revision)
                    .map_err(|_| bad("revision", "is too large"))?,
                currency,
                total,
            }]
        }
        ORDER_APPROVED
        | ORDER_PUT_ON_CREDIT_HOLD
        | ORDER_RELEASED
        | ORDER_CANCELLED
        | ORDER_CLOSED => {
            let (order_id, customer_id) = match envelope.event_type.as_str() {
                ORDER_APPROVED => {
                    let event: proto::OrderApproved = decode_payload(record)?;
                    (event.order_id, event.customer_id)
                }
                ORDER_PUT_ON_CREDIT_HOLD => {
                    let event: proto::OrderPutOnCreditHold = decode_payload(record)?;
                    (event.order_id, event.customer_id)
                }
                ORDER_RELEASED => {
                    let event: proto::OrderReleased = decode_payload(record)?;
                    (event.order_id, event.customer_id)
                }
                ORDER_CANCELLED => {
                    let event: proto::OrderCancelled = decode_payload(record)?;
                    (event.order_id, event.customer_id)
                }
                _ => {
                    let event: proto::OrderClosed = decode_payload(record)?;
                    (event.order_id, event.customer_id)
                }
            };
            vec![Fact::OrderStep {
                order_id: uuid("order_id", &order_id)?,
                customer_id: uuid("customer_id", &customer_id)?,
                step: match envelope.event_type.as_str() {
                    ORDER_APPROVED => super::facts::OrderStep::Approved,
                    ORDER_PUT_ON_CREDIT_HOLD => super::facts::OrderStep::Held,
                    ORDER_RELEASED => super::facts::OrderStep::Released,
                    ORDER_CANCELLED => super::facts::OrderStep::Cancelled,
                    _ => super::facts::OrderStep::Closed,
                },
                at,
            }]
        }
        SHIPMENT_RECORDED => {
            let event: proto::ShipmentRecorded = decode_payload(record)?;
            vec![Fact::OrderStep {
                order_id: uuid("order_id", &event.order_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                step: super::facts::OrderStep::Shipped,
                at: timestamp("shipped_at", event.shipped_at.as_ref(), at)?,
            }]
        }
        INVOICE_ISSUED => {
            let event: proto::InvoiceIssued = decode_payload(record)?;
            let (amount, currency) = money("total_amount", event.total_amount.as_ref())?;
            let issued_at = timestamp("issued_at", event.issued_at.as_ref(), at)?;
            let issue_date =
                date("issue_date", &event.issue_date)?.unwrap_or(issued_at.date_naive());
            vec![Fact::Document {
                document_id: uuid("invoice_id", &event.invoice_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                kind: "invoice",
                number: required("invoice_number", &event.invoice_number)?,
                corrects_invoice_id: None,
                currency,
                amount,
                net_amount: optional_money("net_amount", event.net_amount.as_ref())?,
                tax_amount: optional_money("tax_amount", event.tax_amount.as_ref())?,
                functional: optional_money_with_currency(
                    "functional_total_amount",
                    event.functional_total_amount.as_ref(),
                )?,
                issue_date,
                due_date: date("due_date", &event.due_date)?.unwrap_or(issue_date),
                issued_at,
                payment_terms_code: event.payment_terms_code,
                order_ids: uuids("order_ids", &event.order_ids)?,
            }]
        }
        DEBIT_NOTE_ISSUED => {
            let event: proto::DebitNoteIssued = decode_payload(record)?;
            let (amount, currency) = money("total_amount", event.total_amount.as_ref())?;
            let issued_at = timestamp("issued_at", event.issued_at.as_ref(), at)?;
            let issue_date =
                date("issue_date", &event.issue_date)?.unwrap_or(issued_at.date_naive());
            vec![Fact::Document {
                document_id: uuid("debit_note_id", &event.debit_note_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                kind: "debit_note",
                number: required("debit_note_number", &event.debit_note_number)?,
                corrects_invoice_id: optional_uuid("invoice_id", &event.invoice_id)?,
                currency,
                amount,
                net_amount: optional_money("net_amount", event.net_amount.as_ref())?,
                tax_amount: optional_money("tax_amount", event.tax_amount.as_ref())?,
                functional: optional_money_with_currency(
                    "functional_total_amount",
                    event.functional_total_amount.as_ref(),
                )?,
                issue_date,
                due_date: date("due_date", &event.due_date)?.unwrap_or(issue_date),
                issued_at,
                payment_terms_code: String::new(),
                order_ids: Vec::new(),
            }]
        }
        CREDIT_NOTE_ISSUED => {
            let event: proto::CreditNoteIssued = decode_payload(record)?;
            let (amount, currency) = money("total_amount", event.total_amount.as_ref())?;
            let issued_at = timestamp("issued_at", event.issued_at.as_ref(), at)?;
            let credit_note_id = uuid("credit_note_id", &event.credit_note_id)?;
            let invoice_id = uuid("invoice_id", &event.invoice_id)?;
            let customer_id = uuid("customer_id", &event.customer_id)?;
            vec![
                Fact::Movement {
                    event_id: event_id.to_owned(),
                    kind: MovementKind::CreditNote,
                    item_id: invoice_id,
                    customer_id,
                    source_id: credit_note_id,
                    currency: currency.clone(),
                    amount: -amount,
                    occurred_at: issued_at,
                },
                Fact::CreditNote {
                    credit_note_id,
                    number: required("credit_note_number", &event.credit_note_number)?,
                    invoice_id,
                    customer_id,
                    currency,
                    amount,
                    issue_date: date("issue_date", &event.issue_date)?
                        .unwrap_or(issued_at.date_naive()),
                    issued_at,
                    reason: event.reason,
                },
            ]
        }
        INVOICE_HELD => {
            let event: proto::InvoiceHeld = decode_payload(record)?;
            let total = optional_money_with_currency("total_amount", event.total_amount.as_ref())?;
            vec![Fact::InvoiceHeld {
                invoice_id: uuid("invoice_id", &event.invoice_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                total,
                reasons: event
                    .reasons
                    .iter()
                    .map(|reason| format!("{}: {}", reason.code, reason.message))
                    .collect(),
                held_at: at,
            }]
        }
        PAYMENT_RECEIVED => {
            let event: proto::PaymentReceived = decode_payload(record)?;
            let (amount, currency) = money("amount", event.amount.as_ref())?;
            let received_at = timestamp("received_at", event.received_at.as_ref(), at)?;
            vec![Fact::Receipt {
                receipt_id: uuid("receipt_id", &event.receipt_id)?,
                customer_id: optional_uuid("customer_id", &event.customer_id)?,
                currency,
                amount,
                channel: event.channel,
                value_date: date("value_date", &event.value_date)?
                    .unwrap_or(received_at.date_naive()),
                received_at,
            }]
        }
        PAYMENT_APPLIED => {
            let event: proto::PaymentApplied = decode_payload(record)?;
            let (amount, currency) = money("amount", event.amount.as_ref())?;
            let discount = optional_money("discount_taken", event.discount_taken.as_ref())?;
            let deduction = optional_money("deduction", event.deduction.as_ref())?;
            let applied_at = timestamp("applied_at", event.applied_at.as_ref(), at)?;
            let application_id = uuid("application_id", &event.application_id)?;
            let invoice_id = uuid("invoice_id", &event.invoice_id)?;
            let customer_id = uuid("customer_id", &event.customer_id)?;
            let confidence = if event.confidence.trim().is_empty() {
                None
            } else {
                Some(
                    event
                        .confidence
                        .trim()
                        .parse::<Decimal>()
                        .map_err(|error| {
                            bad("confidence", format!("`{}`: {error}", event.confidence))
                        })?,
                )
            };
            let mut facts = vec![
                Fact::Application {
                    application_id,
                    receipt_id: uuid("receipt_id", &event.receipt_id)?,
                    customer_id,
                    invoice_id,
                    currency: currency.clone(),
                    amount,
                    discount,
                    deduction,
                    automatic: event.automatic,
                    method: event.method,
                    confidence,
                    applied_at,
                    value_date: date("value_date", &event.value_date)?
                        .unwrap_or(applied_at.date_naive()),
                },
                Fact::Movement {
                    event_id: event_id.to_owned(),
                    kind: MovementKind::CashApplied,
                    item_id: invoice_id,
                    customer_id,
                    source_id: application_id,
                    currency: currency.clone(),
                    amount: -amount,
                    occurred_at: applied_at,
                },
            ];
            if !discount.is_zero() {
                facts.push(Fact::Movement {
                    event_id: event_id.to_owned(),
                    kind: MovementKind::DiscountTaken,
                    item_id: invoice_id,
                    customer_id,
                    source_id: application_id,
                    currency,
                    amount: -discount,
                    occurred_at: applied_at,
                });
            }
            facts
        }
        PAYMENT_UNAPPLIED => {
            let event: proto::PaymentUnapplied = decode_payload(record)?;
            let (amount, currency) = money("amount", event.amount.as_ref())?;
            let discount = optional_money("discount", event.discount.as_ref())?;
            let application_id = uuid("application_id", &event.application_id)?;
            let invoice_id = uuid("invoice_id", &event.invoice_id)?;
            let customer_id = uuid("customer_id", &event.customer_id)?;
            let mut facts = vec![
                Fact::Unapplication {
                    application_id,
                    receipt_id: uuid("receipt_id", &event.receipt_id)?,
                    customer_id,
                    invoice_id,
                    currency: currency.clone(),
                    amount,
                    reason: event.reason,
                    unapplied_at: at,
                },
                Fact::Movement {
                    event_id: event_id.to_owned(),
                    kind: MovementKind::CashUnapplied,
                    item_id: invoice_id,
                    customer_id,
                    source_id: application_id,
                    currency: currency.clone(),
                    amount,
                    occurred_at: at,
                },
            ];
            if !discount.is_zero() {
                facts.push(Fact::Movement {
                    event_id: event_id.to_owned(),
                    kind: MovementKind::DiscountUnapplied,
                    item_id: invoice_id,
                    customer_id,
                    source_id: application_id,
                    currency,
                    amount: discount,
                    occurred_at: at,
                });
            }
            facts
        }
        PAYMENT_REVERSED => {
            let event: proto::PaymentReversed = decode_payload(record)?;
            let (amount, currency) = money("amount", event.amount.as_ref())?;
            vec![Fact::Reversal {
                receipt_id: uuid("receipt_id", &event.receipt_id)?,
                customer_id: optional_uuid("customer_id", &event.customer_id)?,
                currency,
                amount,
                reason: event.reason,
                reversed_at: at,
            }]
        }
        REFUND_ISSUED => {
            let event: proto::RefundIssued = decode_payload(record)?;
            let (amount, currency) = money("amount", event.amount.as_ref())?;
            vec![Fact::Refund {
                refund_id: uuid("refund_id", &event.refund_id)?,
                receipt_id: uuid("receipt_id", &event.receipt_id)?,
                customer_id: optional_uuid("customer_id", &event.customer_id)?,
                currency,
                amount,
                reason: event.reason,
                issued_at: at,
            }]
        }
        DEDUCTION_TAKEN => {
            let event: proto::DeductionTaken = decode_payload(record)?;
            let (amount, currency) = money("amount", event.amount.as_ref())?;
            vec![Fact::Deduction {
                deduction_id: uuid("deduction_id", &event.deduction_id)?,
                application_id: optional_uuid("application_id", &event.application_id)?,
                receipt_id: optional_uuid("receipt_id", &event.receipt_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                invoice_id: optional_uuid("invoice_id", &event.invoice_id)?,
                currency,
                amount,
                reason: event.reason,
                taken_at: at,
            }]
        }
        CUSTOMER_CREDIT_HELD => {
            let event: proto::CustomerCreditHeld = decode_payload(record)?;
            vec![Fact::CreditHeld {
                customer_id: uuid("customer_id", &event.customer_id)?,
                reason: event.reason,
                held_at: timestamp("held_at", event.held_at.as_ref(), at)?,
            }]
        }
        CUSTOMER_CREDIT_RELEASED => {
            let event: proto::CustomerCreditReleased = decode_payload(record)?;
            vec![Fact::CreditReleased {
                customer_id: uuid("customer_id", &event.customer_id)?,
                released_at: at,
            }]
        }
        DUNNING_NOTICE_SENT => {
            let event: proto::DunningNoticeSent = decode_payload(record)?;
            let (overdue, currency) = money("overdue_amount", event.overdue_amount.as_ref())?;
            let sent_at = timestamp("sent_at", event.sent_at.as_ref(), at)?;
            vec![Fact::DunningNotice {
                notice_id: uuid("notice_id", &event.notice_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                level: event.level,
                channel: event.channel,
                invoice_ids: uuids("invoice_ids", &event.invoice_ids)?,
                currency,
                overdue_amount: overdue,
                sent_at,
                as_of: date("as_of", &event.as_of)?.unwrap_or(sent_at.date_naive()),
            }]
        }
        DISPUTE_OPENED => {
            let event: proto::DisputeOpened = decode_payload(record)?;
            let (amount, currency) = money("amount", event.amount.as_ref())?;
            let mut invoice_ids = uuids("invoice_ids", &event.invoice_ids)?;
            if let Some(invoice_id) = optional_uuid("invoice_id", &event.invoice_id)?
                && !invoice_ids.contains(&invoice_id)
            {
                invoice_ids.insert(0, invoice_id);
            }
            vec![Fact::DisputeOpened {
                dispute_id: uuid("dispute_id", &event.dispute_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                invoice_ids,
                reason_code: required("reason_code", &event.reason_code)?,
                currency,
                amount,
                source: event.source,
                owner: event.owner,
                sla_due_date: date("sla_due_date", &event.sla_due_date)?,
                opened_at: at,
            }]
        }
        DISPUTE_RESOLVED => {
            let event: proto::DisputeResolved = decode_payload(record)?;
            let resolved = optional_money_with_currency("amount", event.amount.as_ref())?;
            vec![Fact::DisputeResolved {
                dispute_id: uuid("dispute_id", &event.dispute_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                resolution: required("resolution", &event.resolution)?,
                amount: resolved,
                resolved_by: event.resolved_by,
                resolved_at: at,
            }]
        }
        PROMISE_TO_PAY_RECORDED => {
            let event: proto::PromiseToPayRecorded = decode_payload(record)?;
            let (amount, currency) = money("amount", event.amount.as_ref())?;
            vec![Fact::PromiseRecorded {
                promise_id: uuid("promise_id", &event.promise_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                invoice_ids: uuids("invoice_ids", &event.invoice_ids)?,
                currency,
                amount,
                promised_date: date("promised_date", &event.promised_date)?
                    .ok_or_else(|| bad("promised_date", "is missing"))?,
                recorded_at: at,
            }]
        }
        PROMISE_KEPT => {
            let event: proto::PromiseKept = decode_payload(record)?;
            vec![Fact::PromiseOutcome {
                promise_id: uuid("promise_id", &event.promise_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                kept: true,
                paid: optional_money("paid", event.paid.as_ref())?,
                at,
            }]
        }
        PROMISE_BROKEN => {
            let event: proto::PromiseBroken = decode_payload(record)?;
            vec![Fact::PromiseOutcome {
                promise_id: uuid("promise_id", &event.promise_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                kept: false,
                paid: optional_money("paid", event.paid.as_ref())?,
                at,
            }]
        }
        WRITE_OFF_APPROVED => {
            let event: proto::WriteOffApproved = decode_payload(record)?;
            let (amount, currency) = money("amount", event.amount.as_ref())?;
            vec![Fact::Movement {
                event_id: event_id.to_owned(),
                kind: MovementKind::WriteOff,
                item_id: uuid("invoice_id", &event.invoice_id)?,
                customer_id: uuid("customer_id", &event.customer_id)?,
                source_id: uuid("write_off_id", &event.write_off_id)?,
                currency,
                amount: -amount,
                occurred_at: at,
            }]
        }
        _ => Vec::new(),
    };
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_amount_limit_is_ten_to_the_fourteenth() {
        assert_eq!(AMOUNT_LIMIT, Decimal::from(100_000_000_000_000_i64));
    }
}

//! Billing's documents and payments' cash applications as ledger postings:
//! invoices and debit notes open items; credit notes, cash applied and
//! discounts taken reduce them (a short-pay deduction stays owed: it is
//! disputed, not paid); an unapplication re-opens what its application
//! settled (cash and discount).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::amount;
use super::consumer::{Incoming, Touched, Tx};
use crate::commands::ledger::{self, Opening};
use crate::store::movements::NewMovement;
use crate::store::open_items::NewItem;
use otc_proto::events as proto;
use otc_proto::types::Money;
use otc_shared::event_fields::{optional_date, rejected, uuid};
use otc_shared::inbox::HandlerError;

/// An optional amount: absent or empty is zero.
fn optional_amount(field: &str, value: Option<&Money>) -> Result<Decimal, HandlerError> {
    match value {
        Some(money) if !money.amount.trim().is_empty() => Ok(amount(field, Some(money))?.0),
        _ => Ok(Decimal::ZERO),
    }
}

/// The functional-currency equivalent an event gave, if it gave one.
fn functional(
    field: &str,
    value: Option<&Money>,
) -> Result<Option<(String, Decimal)>, HandlerError> {
    match value {
        Some(money) if !money.amount.trim().is_empty() && !money.currency_code.is_empty() => {
            let (equivalent, currency) = amount(field, Some(money))?;
            Ok(Some((currency, equivalent)))
        }
        _ => Ok(None),
    }
}

fn issued_at(event: &Incoming<'_>, value: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    value
        .and_then(|timestamp| otc_shared::time::from_proto("issued_at", Some(timestamp)).ok())
        .unwrap_or(event.time)
}

struct Dates {
    issue: NaiveDate,
    due: NaiveDate,
}

fn dates(
    issue_date: &str,
    due_date: &str,
    issued_at: DateTime<Utc>,
) -> Result<Dates, HandlerError> {
    let issue = optional_date("issue_date", issue_date)?.unwrap_or(issued_at.date_naive());
    let due = optional_date("due_date", due_date)?.unwrap_or(issue);
    Ok(Dates { issue, due })
}

fn number(field: &str, text: &str) -> Result<(), HandlerError> {
    if text.trim().is_empty() {
        return Err(rejected(field, "is missing"));
    }
    Ok(())
}

async fn open(
    tx: &mut Tx,
    event: &Incoming<'_>,
    item: &NewItem<'_>,
) -> Result<Touched, HandlerError> {
    let opening = Opening {
        event_id: &event.event_id,
        event_type: event.event_type,
        occurred_at: item.issued_at,
    };
    let posted = ledger::open_item(tx, event.tenant.as_str(), item, &opening).await?;
    Ok(posted.customers)
}

pub async fn invoice_issued(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let issued: proto::InvoiceIssued = event.record.decode()?;
    let (total, currency) = amount("total_amount", issued.total_amount.as_ref())?;
    number("invoice_number", &issued.invoice_number)?;
    let issued_at = issued_at(event, issued.issued_at.as_ref());
    let dates = dates(&issued.issue_date, &issued.due_date, issued_at)?;
    let item = NewItem {
        id: uuid("invoice_id", &issued.invoice_id)?,
        customer_id: uuid("customer_id", &issued.customer_id)?,
        kind: "invoice",
        number: &issued.invoice_number,
        corrects_invoice_id: None,
        currency: &currency,
        original_amount: total,
        functional: functional(
            "functional_total_amount",
            issued.functional_total_amount.as_ref(),
        )?,
        issue_date: dates.issue,
        due_date: dates.due,
        issued_at,
    };
    open(tx, event, &item).await
}

pub async fn debit_note_issued(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let issued: proto::DebitNoteIssued = event.record.decode()?;
    let (total, currency) = amount("total_amount", issued.total_amount.as_ref())?;
    number("debit_note_number", &issued.debit_note_number)?;
    let issued_at = issued_at(event, issued.issued_at.as_ref());
    let dates = dates(&issued.issue_date, &issued.due_date, issued_at)?;
    let corrects = if issued.invoice_id.trim().is_empty() {
        None
    } else {
        Some(uuid("invoice_id", &issued.invoice_id)?)
    };
    let item = NewItem {
        id: uuid("debit_note_id", &issued.debit_note_id)?,
        customer_id: uuid("customer_id", &issued.customer_id)?,
        kind: "debit_note",
        number: &issued.debit_note_number,
        corrects_invoice_id: corrects,
        currency: &currency,
        original_amount: total,
        functional: functional(
            "functional_total_amount",
            issued.functional_total_amount.as_ref(),
        )?,
        issue_date: dates.issue,
        due_date: dates.due,
        issued_at,
    };
    open(tx, event, &item).await
}

/// One movement of an event on an item.
struct Effect<'a> {
    item_id: Uuid,
    customer_id: Uuid,
    kind: &'a str,
    document_id: Uuid,
    currency: &'a str,
    amount: Decimal,
    functional: Option<(Decimal, &'a str)>,
    occurred_at: DateTime<Utc>,
}

async fn post(
    tx: &mut Tx,
    event: &Incoming<'_>,
    effects: &[Effect<'_>],
) -> Result<Touched, HandlerError> {
    let mut touched = Touched::new();
    for effect in effects {
        let movement = NewMovement {
            item_id: effect.item_id,
            customer_id: effect.customer_id,
            kind: effect.kind,
            document_id: effect.document_id,
            event_id: &event.event_id,
            event_type: event.event_type,
            currency: effect.currency,
            amount: effect.amount,
            functional: effect.functional,
            occurred_at: effect.occurred_at,
        };
        let posted = ledger::record_movement(tx, event.tenant.as_str(), &movement).await?;
        for customer in posted.customers {
            if !touched.contains(&customer) {
                touched.push(customer);
            }
        }
    }
    Ok(touched)
}

pub async fn credit_note_issued(
    tx: &mut Tx,
    event: &Incoming<'_>,
) -> Result<Touched, HandlerError> {
    let issued: proto::CreditNoteIssued = event.record.decode()?;
    let (total, currency) = amount("total_amount", issued.total_amount.as_ref())?;
    let given = functional(
        "functional_total_amount",
        issued.functional_total_amount.as_ref(),
    )?;
    let effect = Effect {
        item_id: uuid("invoice_id", &issued.invoice_id)?,
        customer_id: uuid("customer_id", &issued.customer_id)?,
        kind: "credit_note",
        document_id: uuid("credit_note_id", &issued.credit_note_id)?,
        currency: &currency,
        amount: -total,
        functional: given.as_ref().map(|(code, value)| (-*value, code.as_str())),
        occurred_at: issued_at(event, issued.issued_at.as_ref()),
    };
    post(tx, event, &[effect]).await
}

pub async fn payment_applied(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let applied: proto::PaymentApplied = event.record.decode()?;
    let (cash, currency) = amount("amount", applied.amount.as_ref())?;
    let discount = optional_amount("discount_taken", applied.discount_taken.as_ref())?;
    let item_id = uuid("invoice_id", &applied.invoice_id)?;
    let customer_id = uuid("customer_id", &applied.customer_id)?;
    let document_id = uuid("application_id", &applied.application_id)?;
    let occurred_at = issued_at(event, applied.applied_at.as_ref());
    let effect = |kind, signed| Effect {
        item_id,
        customer_id,
        kind,
        document_id,
        currency: &currency,
        amount: signed,
        functional: None,
        occurred_at,
    };
    post(
        tx,
        event,
        &[
            effect("cash_applied", -cash),
            effect("discount_taken", -discount),
        ],
    )
    .await
}

pub async fn payment_unapplied(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let unapplied: proto::PaymentUnapplied = event.record.decode()?;
    let (cash, currency) = amount("amount", unapplied.amount.as_ref())?;
    let discount = optional_amount("discount", unapplied.discount.as_ref())?;
    let item_id = uuid("invoice_id", &unapplied.invoice_id)?;
    let customer_id = uuid("customer_id", &unapplied.customer_id)?;
    let document_id = uuid("application_id", &unapplied.application_id)?;
    let effect = |kind, signed| Effect {
        item_id,
        customer_id,
        kind,
        document_id,
        currency: &currency,
        amount: signed,
        functional: None,
        occurred_at: event.time,
    };
    post(
        tx,
        event,
        &[
            effect("cash_unapplied", cash),
            effect("discount_unapplied", discount),
        ],
    )
    .await
}

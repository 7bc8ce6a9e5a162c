//! Keeps the projections cash application matches against: customers (name
//! and bank accounts) from `otc.order.events.v1`, open items from
//! `otc.billing.events.v1` (invoices and debit notes open, credit notes
//! reduce them). Each event applies once (inbox); an older customer version
//! changes nothing.

use std::sync::Arc;

use sqlx::{Postgres, Transaction};
use tokio::sync::Notify;

use crate::store::customers::{self, MasterData};
use crate::store::open_items::{self, NewCreditNote, NewOpenItem};
use otc_proto::events as proto;
use otc_shared::event_fields::{money, optional_date, rejected, tenant_of, uuid};
use otc_shared::events::header;
use otc_shared::inbox::{EventHandler, HandlerError, IncomingRecord};

pub const CUSTOMER_UPSERTED: &str = "otc.order.v1.CustomerUpserted";
pub const INVOICE_ISSUED: &str = "otc.billing.v1.InvoiceIssued";
pub const DEBIT_NOTE_ISSUED: &str = "otc.billing.v1.DebitNoteIssued";
pub const CREDIT_NOTE_ISSUED: &str = "otc.billing.v1.CreditNoteIssued";

pub struct Projections {
    /// Told when an invoice or a debit note was projected, so that the
    /// exception re-match looks at the receipts that waited for it.
    items_arrived: Arc<Notify>,
}

impl Projections {
    pub fn new(items_arrived: Arc<Notify>) -> Self {
        Self { items_arrived }
    }
}

type Tx = Transaction<'static, Postgres>;

impl EventHandler for Projections {
    async fn apply(&self, tx: &mut Tx, record: &IncomingRecord) -> Result<(), HandlerError> {
        match record.headers.get(header::TYPE) {
            Some(CUSTOMER_UPSERTED) => customer_upserted(tx, record).await,
            Some(INVOICE_ISSUED) => {
                invoice_issued(tx, record).await?;
                self.items_arrived.notify_one();
                Ok(())
            }
            Some(DEBIT_NOTE_ISSUED) => {
                debit_note_issued(tx, record).await?;
                self.items_arrived.notify_one();
                Ok(())
            }
            Some(CREDIT_NOTE_ISSUED) => credit_note_issued(tx, record).await,
            _ => Ok(()),
        }
    }
}

async fn customer_upserted(tx: &mut Tx, record: &IncomingRecord) -> Result<(), HandlerError> {
    let upserted: proto::CustomerUpserted = record.decode()?;
    let tenant = tenant_of(record)?;
    let accounts: Vec<String> = upserted
        .bank_accounts
        .iter()
        .map(|account| crate::domain::normalise_account(account))
        .filter(|account| !account.is_empty())
        .collect();
    let match_name = crate::domain::keys::match_name(&upserted.legal_name);
    customers::upsert(
        tx,
        tenant.as_str(),
        &MasterData {
            id: uuid("customer_id", &upserted.customer_id)?,
            legal_name: &upserted.legal_name,
            match_name: &match_name,
            currency: Some(upserted.currency_code.as_str()).filter(|code| !code.is_empty()),
            status: &upserted.status,
            mandate_reference: Some(upserted.mandate_reference.as_str())
                .filter(|reference| !reference.is_empty()),
            version: i64::try_from(upserted.version).unwrap_or(i64::MAX),
            accounts: &accounts,
        },
    )
    .await?;
    Ok(())
}

fn issued_at(
    value: Option<&prost_types::Timestamp>,
) -> Result<chrono::DateTime<chrono::Utc>, HandlerError> {
    otc_shared::time::from_proto("issued_at", value).map_err(|error| rejected("issued_at", error))
}

struct IssuedItem<'a> {
    kind: &'a str,
    id: &'a str,
    number: &'a str,
    customer_id: &'a str,
    total: Option<&'a otc_proto::types::Money>,
    issue_date: &'a str,
    due_date: &'a str,
    discount_date: &'a str,
    discount_amount: Option<&'a otc_proto::types::Money>,
    issued_at: Option<&'a prost_types::Timestamp>,
}

async fn project_item(
    tx: &mut Tx,
    record: &IncomingRecord,
    item: IssuedItem<'_>,
) -> Result<(), HandlerError> {
    let tenant = tenant_of(record)?;
    let (total, currency) = money("total_amount", item.total)?;
    let issued_at = issued_at(item.issued_at)?;
    let issue_date =
        optional_date("issue_date", item.issue_date)?.unwrap_or(issued_at.date_naive());
    let due_date = optional_date("due_date", item.due_date)?.unwrap_or(issue_date);
    let discount_amount = match item.discount_amount {
        Some(value) if !value.amount.trim().is_empty() => money("discount_amount", Some(value))?.0,
        _ => rust_decimal::Decimal::ZERO,
    };
    if item.number.trim().is_empty() {
        return Err(rejected("number", "is missing"));
    }
    let match_key = crate::domain::keys::invoice_key(item.number);
    open_items::insert(
        tx,
        tenant.as_str(),
        &NewOpenItem {
            id: uuid("id", item.id)?,
            customer_id: uuid("customer_id", item.customer_id)?,
            kind: item.kind,
            number: item.number,
            match_key: &match_key,
            currency: &currency,
            total,
            issue_date,
            due_date,
            discount_date: optional_date("discount_date", item.discount_date)?,
            discount_amount,
            issued_at,
        },
    )
    .await?;
    Ok(())
}

async fn invoice_issued(tx: &mut Tx, record: &IncomingRecord) -> Result<(), HandlerError> {
    let issued: proto::InvoiceIssued = record.decode()?;
    project_item(
        tx,
        record,
        IssuedItem {
            kind: "invoice",
            id: &issued.invoice_id,
            number: &issued.invoice_number,
            customer_id: &issued.customer_id,
            total: issued.total_amount.as_ref(),
            issue_date: &issued.issue_date,
            due_date: &issued.due_date,
            discount_date: &issued.discount_date,
            discount_amount: issued.discount_amount.as_ref(),
            issued_at: issued.issued_at.as_ref(),
        },
    )
    .await
}

async fn debit_note_issued(tx: &mut Tx, record: &IncomingRecord) -> Result<(), HandlerError> {
    let issued: proto::DebitNoteIssued = record.decode()?;
    project_item(
        tx,
        record,
        IssuedItem {
            kind: "debit_note",
            id: &issued.debit_note_id,
            number: &issued.debit_note_number,
            customer_id: &issued.customer_id,
            total: issued.total_amount.as_ref(),
            issue_date: &issued.issue_date,
            due_date: &issued.due_date,
            discount_date: "",
            discount_amount: None,
            issued_at: issued.issued_at.as_ref(),
        },
    )
    .await
}

async fn credit_note_issued(tx: &mut Tx, record: &IncomingRecord) -> Result<(), HandlerError> {
    let issued: proto::CreditNoteIssued = record.decode()?;
    let tenant = tenant_of(record)?;
    let (amount, currency) = money("total_amount", issued.total_amount.as_ref())?;
    let issued_at = issued_at(issued.issued_at.as_ref())?;
    open_items::add_credit_note(
        tx,
        tenant.as_str(),
        &NewCreditNote {
            id: uuid("credit_note_id", &issued.credit_note_id)?,
            invoice_id: uuid("invoice_id", &issued.invoice_id)?,
            number: &issued.credit_note_number,
            amount,
            currency: &currency,
            issued_at,
        },
    )
    .await?;
    Ok(())
}

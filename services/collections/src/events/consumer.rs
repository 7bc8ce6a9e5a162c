//! The ledger consumer of `otc.order.events.v1`, `otc.billing.events.v1`
//! and `otc.payment.events.v1`: each event's effect on the sub-ledger or on
//! the unbilled orders (or the dispute a deduction opens), then a credit re-assessment of the customers it
//! touched, all in the inbox transaction (applied once, with its events).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{deductions, documents, orders};
use crate::commands::credit_control;
use otc_shared::TenantId;
use otc_shared::event_fields::tenant_of;
use otc_shared::events::header;
use otc_shared::inbox::{EventHandler, HandlerError, IncomingRecord};

pub const CUSTOMER_UPSERTED: &str = "otc.order.v1.CustomerUpserted";
pub const ORDER_APPROVED: &str = "otc.order.v1.OrderApproved";
pub const ORDER_RELEASED: &str = "otc.order.v1.OrderReleased";
pub const ORDER_AMENDED: &str = "otc.order.v1.OrderAmended";
pub const ORDER_PUT_ON_CREDIT_HOLD: &str = "otc.order.v1.OrderPutOnCreditHold";
pub const SHIPMENT_RECORDED: &str = "otc.order.v1.ShipmentRecorded";
pub const ORDER_CANCELLED: &str = "otc.order.v1.OrderCancelled";
pub const ORDER_CLOSED: &str = "otc.order.v1.OrderClosed";
pub const INVOICE_ISSUED: &str = "otc.billing.v1.InvoiceIssued";
pub const DEBIT_NOTE_ISSUED: &str = "otc.billing.v1.DebitNoteIssued";
pub const CREDIT_NOTE_ISSUED: &str = "otc.billing.v1.CreditNoteIssued";
pub const PAYMENT_APPLIED: &str = "otc.payments.v1.PaymentApplied";
pub const PAYMENT_UNAPPLIED: &str = "otc.payments.v1.PaymentUnapplied";
pub const DEDUCTION_TAKEN: &str = "otc.payments.v1.DeductionTaken";

pub type Tx = Transaction<'static, Postgres>;

/// One consumed event: its record and the envelope fields effects need.
pub struct Incoming<'a> {
    pub record: &'a IncomingRecord,
    pub tenant: TenantId,
    pub event_id: String,
    pub event_type: &'a str,
    pub time: DateTime<Utc>,
}

impl<'a> Incoming<'a> {
    fn read(record: &'a IncomingRecord, event_type: &'a str) -> Result<Self, HandlerError> {
        let envelope = record.envelope()?;
        Ok(Self {
            record,
            tenant: tenant_of(record)?,
            event_id: envelope.id,
            event_type,
            time: envelope.time,
        })
    }
}

/// The customers whose credit standing an event may have changed.
pub type Touched = Vec<Uuid>;

pub struct Ledger;

impl EventHandler for Ledger {
    /// Every record is keyed by the customer it is about and re-assesses
    /// that customer's credit under the lock of its status row: the batch
    /// takes those locks first, in order, as a `CheckCredit` batch does.
    async fn before_batch(
        &self,
        tx: &mut Tx,
        records: &[IncomingRecord],
    ) -> Result<(), HandlerError> {
        let mut wanted: Vec<(String, Uuid)> = records
            .iter()
            .filter_map(|record| {
                let tenant = record.headers.get(header::TENANT)?;
                let customer = Uuid::parse_str(record.key_text()?).ok()?;
                Some((tenant.to_owned(), customer))
            })
            .collect();
        wanted.sort();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(());
        }
        let (tenants, customers): (Vec<String>, Vec<Uuid>) = wanted.into_iter().unzip();
        otc_shared::db::set_tenant(tx, otc_shared::db::ALL_TENANTS).await?;
        crate::store::credit::lock_status_in_order(tx, &tenants, &customers).await?;
        Ok(())
    }

    async fn apply(&self, tx: &mut Tx, record: &IncomingRecord) -> Result<(), HandlerError> {
        let Some(event_type) = record.headers.get(header::TYPE) else {
            return Ok(());
        };
        let Some(touched) = route(tx, record, event_type).await? else {
            return Ok(());
        };
        let tenant = tenant_of(record)?;
        for customer_id in touched {
            credit_control::reassess(tx, &tenant, customer_id, event_type).await?;
        }
        Ok(())
    }
}

/// Applies the event if it is one the ledger follows; `None` if it is not.
async fn route(
    tx: &mut Tx,
    record: &IncomingRecord,
    event_type: &str,
) -> Result<Option<Touched>, HandlerError> {
    let follows = matches!(
        event_type,
        CUSTOMER_UPSERTED
            | ORDER_APPROVED
            | ORDER_RELEASED
            | ORDER_AMENDED
            | ORDER_PUT_ON_CREDIT_HOLD
            | SHIPMENT_RECORDED
            | ORDER_CANCELLED
            | ORDER_CLOSED
            | INVOICE_ISSUED
            | DEBIT_NOTE_ISSUED
            | CREDIT_NOTE_ISSUED
            | PAYMENT_APPLIED
            | PAYMENT_UNAPPLIED
            | DEDUCTION_TAKEN
    );
    if !follows {
        return Ok(None);
    }
    let event = Incoming::read(record, event_type)?;
    let touched = match event_type {
        CUSTOMER_UPSERTED => orders::customer_upserted(tx, &event).await?,
        ORDER_APPROVED => orders::order_approved(tx, &event).await?,
        ORDER_RELEASED => orders::order_released(tx, &event).await?,
        ORDER_AMENDED => orders::order_amended(tx, &event).await?,
        ORDER_PUT_ON_CREDIT_HOLD => orders::order_put_on_credit_hold(tx, &event).await?,
        SHIPMENT_RECORDED => orders::shipment_recorded(tx, &event).await?,
        ORDER_CANCELLED => orders::order_cancelled(tx, &event).await?,
        ORDER_CLOSED => orders::order_closed(tx, &event).await?,
        INVOICE_ISSUED => documents::invoice_issued(tx, &event).await?,
        DEBIT_NOTE_ISSUED => documents::debit_note_issued(tx, &event).await?,
        CREDIT_NOTE_ISSUED => documents::credit_note_issued(tx, &event).await?,
        PAYMENT_APPLIED => {
            let touched = documents::payment_applied(tx, &event).await?;
            deductions::promises_on_cash(tx, &event).await?;
            touched
        }
        PAYMENT_UNAPPLIED => documents::payment_unapplied(tx, &event).await?,
        DEDUCTION_TAKEN => deductions::deduction_taken(tx, &event).await?,
        _ => Touched::new(),
    };
    Ok(Some(touched))
}

//! What an event contributes to the read models, independent of the wire
//! format: one event gives one or more facts (a payment applied is an
//! application and the movement it makes on its invoice).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MovementKind {
    CreditNote,
    CashApplied,
    DiscountTaken,
    CashUnapplied,
    DiscountUnapplied,
    WriteOff,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::CreditNote => "credit_note",
            MovementKind::CashApplied => "cash_applied",
            MovementKind::DiscountTaken => "discount_taken",
            MovementKind::CashUnapplied => "cash_unapplied",
            MovementKind::DiscountUnapplied => "discount_unapplied",
            MovementKind::WriteOff => "write_off",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStep {
    Approved,
    Held,
    Released,
    Shipped,
    Cancelled,
    Closed,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    Customer {
        customer_id: Uuid,
        legal_name: String,
        segment: String,
        currency: Option<String>,
        tax_region: String,
        payment_terms_code: String,
        status: String,
        version: i64,
    },
    OrderPlaced {
        order_id: Uuid,
        customer_id: Uuid,
        source: String,
        external_order_id: String,
        currency: String,
        total: Decimal,
        placed_at: DateTime<Utc>,
    },
    OrderAmended {
        order_id: Uuid,
        customer_id: Uuid,
        revision: i32,
        currency: String,
        total: Decimal,
    },
    OrderStep {
        order_id: Uuid,
        customer_id: Uuid,
        step: OrderStep,
        at: DateTime<Utc>,
    },
    /// An invoice or a debit note.
    Document {
        document_id: Uuid,
        customer_id: Uuid,
        kind: &'static str,
        number: String,
        corrects_invoice_id: Option<Uuid>,
        currency: String,
        amount: Decimal,
        net_amount: Decimal,
        tax_amount: Decimal,
        functional: Option<(Decimal, String)>,
        issue_date: NaiveDate,
        due_date: NaiveDate,
        issued_at: DateTime<Utc>,
        payment_terms_code: String,
        order_ids: Vec<Uuid>,
    },
    /// A credit note, for the invoice facts (its effect is a [`Fact::Movement`]).
    CreditNote {
        credit_note_id: Uuid,
        number: String,
        invoice_id: Uuid,
        customer_id: Uuid,
        currency: String,
        amount: Decimal,
        issue_date: NaiveDate,
        issued_at: DateTime<Utc>,
        reason: String,
    },
    Movement {
        event_id: String,
        kind: MovementKind,
        item_id: Uuid,
        customer_id: Uuid,
        source_id: Uuid,
        currency: String,
        /// Signed: negative lowers what is owed.
        amount: Decimal,
        occurred_at: DateTime<Utc>,
    },
    InvoiceHeld {
        invoice_id: Uuid,
        customer_id: Uuid,
        total: Option<(Decimal, String)>,
        reasons: Vec<String>,
        held_at: DateTime<Utc>,
    },
    Receipt {
        receipt_id: Uuid,
        customer_id: Option<Uuid>,
        currency: String,
        amount: Decimal,
        channel: String,
        value_date: NaiveDate,
        received_at: DateTime<Utc>,
    },
    Application {
        application_id: Uuid,
        receipt_id: Uuid,
        customer_id: Uuid,
        invoice_id: Uuid,
        currency: String,
        amount: Decimal,
        discount: Decimal,
        deduction: Decimal,
        automatic: bool,
        method: String,
        confidence: Option<Decimal>,
        applied_at: DateTime<Utc>,
        value_date: NaiveDate,
    },
    Unapplication {
        application_id: Uuid,
        receipt_id: Uuid,
        customer_id: Uuid,
        invoice_id: Uuid,
        currency: String,
        amount: Decimal,
        reason: String,
        unapplied_at: DateTime<Utc>,
    },
    Reversal {
        receipt_id: Uuid,
        customer_id: Option<Uuid>,
        currency: String,
        amount: Decimal,
        reason: String,
        reversed_at: DateTime<Utc>,
    },
    Refund {
        refund_id: Uuid,
        receipt_id: Uuid,
        customer_id: Option<Uuid>,
        currency: String,
        amount: Decimal,
        reason: String,
        issued_at: DateTime<Utc>,
    },
    Deduction {
        deduction_id: Uuid,
        application_id: Option<Uuid>,
        receipt_id: Option<Uuid>,
        customer_id: Uuid,
        invoice_id: Option<Uuid>,
        currency: String,
        amount: Decimal,
        reason: String,
        taken_at: DateTime<Utc>,
    },
    CreditHeld {
        customer_id: Uuid,
        reason: String,
        held_at: DateTime<Utc>,
    },
    CreditReleased {
        customer_id: Uuid,
        released_at: DateTime<Utc>,
    },
    DunningNotice {
        notice_id: Uuid,
        customer_id: Uuid,
        level: i32,
        channel: String,
        invoice_ids: Vec<Uuid>,
        currency: String,
        overdue_amount: Decimal,
        sent_at: DateTime<Utc>,
        as_of: NaiveDate,
    },
    DisputeOpened {
        dispute_id: Uuid,
        customer_id: Uuid,
        invoice_ids: Vec<Uuid>,
        reason_code: String,
        currency: String,
        amount: Decimal,
        source: String,
        owner: String,
        sla_due_date: Option<NaiveDate>,
        opened_at: DateTime<Utc>,
    },
    DisputeResolved {
        dispute_id: Uuid,
        customer_id: Uuid,
        resolution: String,
        amount: Option<(Decimal, String)>,
        resolved_by: String,
        resolved_at: DateTime<Utc>,
    },
    PromiseRecorded {
        promise_id: Uuid,
        customer_id: Uuid,
        invoice_ids: Vec<Uuid>,
        currency: String,
        amount: Decimal,
        promised_date: NaiveDate,
        recorded_at: DateTime<Utc>,
    },
    PromiseOutcome {
        promise_id: Uuid,
        customer_id: Uuid,
        kept: bool,
        paid: Decimal,
        at: DateTime<Utc>,
    },
}

impl Fact {
    /// The customer whose snapshots the fact changes, if it has one.
    pub fn customer(&self) -> Option<Uuid> {
        match self {
            Fact::Customer { customer_id, .. }
            | Fact::OrderPlaced { customer_id, .. }
            | Fact::OrderAmended { customer_id, .. }
            | Fact::OrderStep { customer_id, .. }
            | Fact::Document { customer_id, .. }
            | Fact::CreditNote { customer_id, .. }
            | Fact::Movement { customer_id, .. }
            | Fact::InvoiceHeld { customer_id, .. }
            | Fact::Application { customer_id, .. }
            | Fact::Unapplication { customer_id, .. }
            | Fact::Deduction { customer_id, .. }
            | Fact::CreditHeld { customer_id, .. }
            | Fact::CreditReleased { customer_id, .. }
            | Fact::DunningNotice { customer_id, .. }
            | Fact::DisputeOpened { customer_id, .. }
            | Fact::DisputeResolved { customer_id, .. }
            | Fact::PromiseRecorded { customer_id, .. }
            | Fact::PromiseOutcome { customer_id, .. } => Some(*customer_id),
            Fact::Receipt { customer_id, .. }
            | Fact::Reversal { customer_id, .. }
            | Fact::Refund { customer_id, .. } => *customer_id,
        }
    }
}

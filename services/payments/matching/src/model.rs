//! The public data types of cash application: master data in, receipts in, proposals out.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

/// A customer of the tenant as the matcher needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub customer_id: Uuid,
    /// Legal name as in the customer master.
    pub name: String,
    /// Known bank accounts (IBANs or other account identifiers), any spacing or case.
    pub bank_accounts: Vec<String>,
    /// The parent company that may pay on this customer's behalf.
    pub parent_id: Option<Uuid>,
}

/// An open receivable (invoice or debit note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInvoice {
    pub invoice_id: Uuid,
    /// Document number, normally `SERIES-YYYY-NNNNNN` (e.g. `INV-2026-000123`).
    pub number: String,
    pub customer_id: Uuid,
    /// ISO 4217 code.
    pub currency: String,
    /// What is still to be paid; zero or negative takes the invoice out of matching.
    pub open_amount: Decimal,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    /// Last value date on which the early-payment discount may be taken.
    pub discount_date: Option<NaiveDate>,
    /// The early-payment discount granted until `discount_date` (zero when none).
    pub discount_amount: Decimal,
}

/// An incoming payment to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub amount: Decimal,
    pub currency: String,
    pub value_date: NaiveDate,
    pub payer_name: Option<String>,
    pub payer_account: Option<String>,
    /// Free remittance text (SEPA unstructured reference, webhook description, ...).
    pub remittance: String,
    /// The paying customer when the channel already knows it (provider webhook, gRPC entry).
    pub customer_id: Option<Uuid>,
}

/// Tenant policy for automatic application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Proposals at or above this confidence (percent) are applied without a human.
    pub auto_apply_threshold: u8,
    /// Most invoices one combination (without references) may settle.
    pub max_combination: usize,
    /// A short payment up to this amount (receipt currency) is accepted with a deduction.
    pub short_pay_tolerance_amount: Decimal,
    /// ... or up to this percentage of the open amount (0.5 = 0.5 %), whichever is larger.
    pub short_pay_tolerance_percent: Decimal,
    /// Most proposals returned by [`crate::propose`].
    pub max_suggestions: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            auto_apply_threshold: 90,
            max_combination: 5,
            short_pay_tolerance_amount: Decimal::new(5, 0),
            short_pay_tolerance_percent: Decimal::new(5, 1),
            max_suggestions: 5,
        }
    }
}

impl Policy {
    /// The largest short payment accepted against `open` as a deduction.
    pub fn tolerance_for(&self, open: Decimal) -> Decimal {
        let by_percent = open * self.short_pay_tolerance_percent / Decimal::ONE_HUNDRED;
        self.short_pay_tolerance_amount
            .max(by_percent)
            .max(Decimal::ZERO)
    }
}

/// How a proposal was found, best evidence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// The remittance names the invoices and the amount equals their open amounts.
    InvoiceReference,
    /// The amount equals the open amount of one invoice of the payer.
    ExactAmount,
    /// The amount equals the sum of several open invoices of the payer.
    Combination,
    /// The amount equals the open amount less the early-payment discount.
    EarlyPaymentDiscount,
    /// The amount is short by no more than the tenant tolerance: the rest is a deduction.
    ShortPayTolerance,
    /// The invoices are referenced but the amount is smaller: a partial payment.
    Partial,
    /// The invoices are referenced and the amount is larger: the rest stays unapplied.
    Overpayment,
    /// Only the payer is known: the cash goes on account.
    PayerOnly,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::InvoiceReference => "invoice_reference",
            Method::ExactAmount => "exact_amount",
            Method::Combination => "combination",
            Method::EarlyPaymentDiscount => "early_payment_discount",
            Method::ShortPayTolerance => "short_pay_tolerance",
            Method::Partial => "partial",
            Method::Overpayment => "overpayment",
            Method::PayerOnly => "payer_only",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Cash applied to one invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub invoice_id: Uuid,
    pub invoice_number: String,
    /// Cash applied.
    pub amount: Decimal,
    /// Early-payment discount taken.
    pub discount: Decimal,
    /// Short-pay difference written off against a dispute downstream.
    pub deduction: Decimal,
}

impl Allocation {
    /// What the allocation takes off the invoice's open amount.
    pub fn settled(&self) -> Decimal {
        self.amount + self.discount + self.deduction
    }
}

/// One way to apply a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The paying customer when known; otherwise the owner of the allocated invoices.
    pub customer_id: Option<Uuid>,
    pub allocations: Vec<Allocation>,
    /// Cash left on account (receipt amount less the allocations).
    pub unapplied: Decimal,
    /// Percent, calibrated so that the default threshold (90) rarely applies wrongly.
    pub confidence: u8,
    pub method: Method,
    /// Sentences for the cash-application specialist.
    pub explanation: Vec<String>,
}

impl Proposal {
    /// Whether the proposal may be posted without a human: confident, with a customer and
    /// at least one allocation (cash on account alone always goes to a person).
    pub fn is_automatic(&self, policy: &Policy) -> bool {
        self.confidence >= policy.auto_apply_threshold
            && self.customer_id.is_some()
            && !self.allocations.is_empty()
    }

    /// Sum of the cash applied.
    pub fn applied(&self) -> Decimal {
        self.allocations.iter().map(|a| a.amount).sum()
    }
}

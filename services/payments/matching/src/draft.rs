//! A proposal under construction, and the helpers every strategy shares to finish one:
//! allocations from invoices, money as a specialist reads it, confidence clamping.

use rust_decimal::Decimal;

use crate::index::{Index, InvoiceRec};
use crate::model::{Allocation, Method, Proposal, Receipt};

/// A proposal before ranking: confidence may still go up or down.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    /// Customer slot the cash is applied for.
    pub customer: Option<u32>,
    pub method: Method,
    pub confidence: i32,
    pub allocations: Vec<Allocation>,
    pub notes: Vec<String>,
}

impl Draft {
    pub fn new(customer: Option<u32>, method: Method, confidence: i32) -> Self {
        Self {
            customer,
            method,
            confidence,
            allocations: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn with(mut self, allocations: Vec<Allocation>, notes: Vec<String>) -> Self {
        self.allocations = allocations;
        self.notes.extend(notes);
        self
    }

    /// Same customer and the same cash on the same invoices.
    pub fn same_as(&self, other: &Draft) -> bool {
        let key = |d: &Draft| {
            let mut k: Vec<_> = d
                .allocations
                .iter()
                .map(|a| (a.invoice_id, a.amount, a.discount))
                .collect();
            k.sort_unstable();
            k
        };
        self.customer == other.customer && key(self) == key(other)
    }

    pub fn finish(self, index: &Index, receipt: &Receipt, payer_notes: &[String]) -> Proposal {
        let applied: Decimal = self.allocations.iter().map(|a| a.amount).sum();
        let confidence = u8::try_from(self.confidence.clamp(0, 100)).unwrap_or(0);
        let mut explanation: Vec<String> = payer_notes.to_vec();
        explanation.extend(self.notes);
        Proposal {
            customer_id: self.customer.map(|slot| index.customer(slot).id),
            allocations: self.allocations,
            unapplied: receipt.amount - applied,
            confidence,
            method: self.method,
            explanation,
        }
    }
}

/// The whole open amount of an invoice as cash.
pub(crate) fn full(rec: &InvoiceRec) -> Allocation {
    allocation(rec, rec.inv.open_amount, Decimal::ZERO, Decimal::ZERO)
}

pub(crate) fn allocation(
    rec: &InvoiceRec,
    amount: Decimal,
    discount: Decimal,
    deduction: Decimal,
) -> Allocation {
    Allocation {
        invoice_id: rec.inv.invoice_id,
        invoice_number: rec.inv.number.clone(),
        amount,
        discount,
        deduction,
    }
}

/// `1,190.00 EUR`.
pub(crate) fn money(amount: Decimal, currency: &str) -> String {
    let text = format!("{:.2}", amount.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount.is_sign_negative() && !amount.is_zero() {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}.{frac} {currency}")
}

/// Invoice numbers as a list for sentences: `INV-1, INV-2 and INV-3`.
pub(crate) fn numbers(allocations: &[Allocation]) -> String {
    let names: Vec<&str> = allocations
        .iter()
        .map(|a| a.invoice_number.as_str())
        .collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

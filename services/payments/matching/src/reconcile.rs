//! Reconciles a receipt amount with a given list of invoices: exact, early-payment
//! discount, short pay within tolerance, partial payment or overpayment.

use rust_decimal::Decimal;

use crate::draft::{allocation, full, money};
use crate::index::InvoiceRec;
use crate::model::{Allocation, Method, Policy, Receipt};

/// How the amount relates to the invoices' open amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Exact,
    Discount,
    Tolerance,
    Partial,
    Over,
}

impl Outcome {
    pub fn method(self) -> Method {
        match self {
            Outcome::Exact => Method::InvoiceReference,
            Outcome::Discount => Method::EarlyPaymentDiscount,
            Outcome::Tolerance => Method::ShortPayTolerance,
            Outcome::Partial => Method::Partial,
            Outcome::Over => Method::Overpayment,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Reconciled {
    pub outcome: Outcome,
    pub allocations: Vec<Allocation>,
    pub notes: Vec<String>,
}

/// The discount the payer may take on `rec` for a payment on the receipt's value date.
pub(crate) fn discount_available(rec: &InvoiceRec, receipt: &Receipt) -> Decimal {
    let inv = &rec.inv;
    let in_time = inv.discount_date.is_some_and(|d| receipt.value_date <= d);
    let sane = inv.discount_amount > Decimal::ZERO && inv.discount_amount < inv.open_amount;
    if in_time && sane {
        inv.discount_amount
    } else {
        Decimal::ZERO
    }
}

/// Reconciles the receipt with `recs` (in the order the payer listed them).
pub(crate) fn reconcile(recs: &[&InvoiceRec], receipt: &Receipt, policy: &Policy) -> Reconciled {
    let cur = receipt.currency.as_str();
    let open: Decimal = recs.iter().map(|r| r.inv.open_amount).sum();
    let discounts: Decimal = recs.iter().map(|r| discount_available(r, receipt)).sum();
    let amount = receipt.amount;
    if amount == open {
        let what = if recs.len() == 1 {
            "open amount"
        } else {
            "sum of the open amounts"
        };
        let note = format!("amount equals the {what} {}", money(open, cur));
        return done(Outcome::Exact, recs.iter().map(|r| full(r)).collect(), note);
    }
    if discounts > Decimal::ZERO && amount == open - discounts {
        return with_discounts(recs, receipt);
    }
    if amount > open {
        let note = format!(
            "overpayment: {} over the open {} stays unapplied",
            money(amount - open, cur),
            money(open, cur)
        );
        return done(Outcome::Over, recs.iter().map(|r| full(r)).collect(), note);
    }
    let short = open - amount;
    let tolerance = policy.tolerance_for(open);
    if short <= tolerance {
        let note = format!(
            "short by {}, within the tolerance of {}: deduction for a dispute",
            money(short, cur),
            money(tolerance, cur)
        );
        return done(Outcome::Tolerance, with_deduction(recs, short), note);
    }
    let note = format!(
        "partial payment: {} of {} open; the rest stays open",
        money(amount, cur),
        money(open, cur)
    );
    done(Outcome::Partial, in_order(recs, amount), note)
}

fn done(outcome: Outcome, allocations: Vec<Allocation>, note: String) -> Reconciled {
    Reconciled {
        outcome,
        allocations,
        notes: vec![note],
    }
}

fn with_discounts(recs: &[&InvoiceRec], receipt: &Receipt) -> Reconciled {
    let cur = receipt.currency.as_str();
    let mut notes = Vec::new();
    let allocations = recs
        .iter()
        .map(|r| {
            let discount = discount_available(r, receipt);
            if discount > Decimal::ZERO {
                let until = r
                    .inv
                    .discount_date
                    .map(|d| d.to_string())
                    .unwrap_or_default();
                notes.push(format!(
                    "{}: open {} less early-payment discount {} (valid until {until})",
                    r.inv.number,
                    money(r.inv.open_amount, cur),
                    money(discount, cur)
                ));
            }
            allocation(r, r.inv.open_amount - discount, discount, Decimal::ZERO)
        })
        .collect();
    notes.push(format!(
        "amount {} equals the open amount less the discount",
        money(receipt.amount, cur)
    ));
    Reconciled {
        outcome: Outcome::Discount,
        allocations,
        notes,
    }
}

/// Full allocations with the short-paid difference deducted from the last invoices.
fn with_deduction(recs: &[&InvoiceRec], short: Decimal) -> Vec<Allocation> {
    let mut left = short;
    let mut allocations: Vec<Allocation> = recs
        .iter()
        .rev()
        .map(|r| {
            let deduction = left.min(r.inv.open_amount);
            left -= deduction;
            allocation(r, r.inv.open_amount - deduction, Decimal::ZERO, deduction)
        })
        .collect();
    allocations.reverse();
    allocations.retain(|a| a.amount > Decimal::ZERO || a.deduction > Decimal::ZERO);
    allocations
}

/// Cash applied invoice by invoice in the listed order until it runs out.
pub(crate) fn in_order(recs: &[&InvoiceRec], amount: Decimal) -> Vec<Allocation> {
    let mut left = amount;
    let mut allocations = Vec::new();
    for r in recs {
        if left <= Decimal::ZERO {
            break;
        }
        let cash = left.min(r.inv.open_amount);
        left -= cash;
        allocations.push(allocation(r, cash, Decimal::ZERO, Decimal::ZERO));
    }
    allocations
}

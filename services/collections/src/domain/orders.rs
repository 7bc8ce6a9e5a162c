//! Approved orders not billed yet, the second part of exposure.
//!
//! The rule:
//! - Amounts are net: an order's total and its shipments' line amounts are
//!   before tax, while receivables are invoice totals with tax. An order
//!   counts net until shipped and gross once invoiced, so tax enters
//!   exposure when billing adds it.
//! - `OrderApproved` / `OrderReleased`: the order's total counts as unbilled.
//!   A CheckCredit APPROVE reserves the order at once (`reserved`), so that a
//!   second order checked before the first one's event arrives sees it; the
//!   event confirms it. Keyed by order id: an order is never counted twice.
//! - `ShipmentRecorded`: the shipped amounts leave unbilled (billing
//!   invoices them). Gap: a shipment billed later (consolidated billing) is
//!   in neither figure until its invoice is issued.
//! - `OrderAmended`: the new total replaces the old.
//! - `OrderPutOnCreditHold`: leaves unbilled but is remembered as held: a
//!   release is decided by whether the smallest held order would fit.
//! - `OrderCancelled`, `OrderClosed`: whatever was left leaves unbilled.

/// Where an order stands for exposure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Approved by CheckCredit, the approval event not seen yet: counted.
    Reserved,
    /// Approved or released: counted.
    Approved,
    /// Waiting for a credit decision: not counted (its check counts it).
    Pending,
    /// On credit hold: not counted.
    Held,
    /// Cancelled or closed: not counted any more.
    Ended,
}

impl OrderState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Reserved => "reserved",
            OrderState::Approved => "approved",
            OrderState::Pending => "pending",
            OrderState::Held => "held",
            OrderState::Ended => "ended",
        }
    }

    /// The state of an order first seen in an `OrderAmended`, from the
    /// order service's status name.
    pub fn of_order_status(status: &str) -> OrderState {
        match status.trim().to_ascii_lowercase().as_str() {
            "approved" | "partially_fulfilled" | "fulfilled" => OrderState::Approved,
            "on_credit_hold" => OrderState::Held,
            "cancelled" | "closed" => OrderState::Ended,
            _ => OrderState::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_statuses_map_onto_exposure_states() {
        assert_eq!(
            OrderState::of_order_status("approved"),
            OrderState::Approved
        );
        assert_eq!(
            OrderState::of_order_status("PARTIALLY_FULFILLED"),
            OrderState::Approved
        );
        assert_eq!(
            OrderState::of_order_status("on_credit_hold"),
            OrderState::Held
        );
        assert_eq!(
            OrderState::of_order_status("pending_credit"),
            OrderState::Pending
        );
        assert_eq!(OrderState::of_order_status("closed"), OrderState::Ended);
    }
}

//! The functional-currency side of a ledger movement. Billing gives it for
//! invoices and notes; cash applications come without one and are taken at
//! the item's booking rate (functional original / original). The movement
//! that settles an item takes exactly the functional amount still open, so
//! a settled item is settled in both currencies (rate differences end
//! there instead of lingering as cents).

use rust_decimal::{Decimal, RoundingStrategy};

/// An item's amounts as they stand before the movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionalItem {
    pub functional_currency: String,
    pub original: Decimal,
    pub functional_original: Decimal,
    pub open: Decimal,
    pub functional_open: Decimal,
}

/// The functional amount of a movement of `amount` (signed like it) on
/// `item`; `given` is what the event said, used when it is in the item's
/// functional currency. `minor_units` are the functional currency's.
pub fn functional_amount(
    item: &FunctionalItem,
    amount: Decimal,
    given: Option<(Decimal, &str)>,
    minor_units: u32,
) -> Decimal {
    if (item.open + amount).is_zero() {
        return -item.functional_open;
    }
    if let Some((value, currency)) = given
        && currency == item.functional_currency
    {
        return value;
    }
    if item.original.is_zero() {
        return Decimal::ZERO;
    }
    (amount * item.functional_original / item.original)
        .round_dp_with_strategy(minor_units, RoundingStrategy::MidpointNearestEven)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    /// A USD invoice of 100.00 booked at 0.9137 EUR per USD: 91.37 EUR.
    fn item(open: Decimal, functional_open: Decimal) -> FunctionalItem {
        FunctionalItem {
            functional_currency: "EUR".to_owned(),
            original: dec!(100.00),
            functional_original: dec!(91.37),
            open,
            functional_open,
        }
    }

    #[test]
    fn a_part_payment_is_taken_at_the_booking_rate_rounded_half_even() {
        // 33.33 x 0.9137 = 30.454... -> 30.45
        assert_eq!(
            functional_amount(&item(dec!(100), dec!(91.37)), dec!(-33.33), None, 2),
            dec!(-30.45)
        );
        // 50.00 x 0.9137 = 45.685 -> 45.68 (half to even)
        assert_eq!(
            functional_amount(&item(dec!(100), dec!(91.37)), dec!(-50.00), None, 2),
            dec!(-45.68)
        );
    }

    #[test]
    fn the_settling_movement_takes_what_is_left_to_the_cent() {
        let after_first = item(dec!(66.67), dec!(91.37) - dec!(30.45));
        let last = functional_amount(&after_first, dec!(-66.67), None, 2);
        assert_eq!(last, dec!(-60.92));
        assert_eq!(dec!(-30.45) + last, dec!(-91.37));
    }

    #[test]
    fn what_billing_gave_is_kept_in_the_items_functional_currency_only() {
        let open = item(dec!(100), dec!(91.37));
        assert_eq!(
            functional_amount(&open, dec!(-10), Some((dec!(-9.20), "EUR")), 2),
            dec!(-9.20)
        );
        assert_eq!(
            functional_amount(&open, dec!(-10), Some((dec!(-8.00), "GBP")), 2),
            dec!(-9.14)
        );
    }

    #[test]
    fn an_item_of_nothing_converts_to_nothing() {
        let empty = FunctionalItem {
            original: Decimal::ZERO,
            functional_original: Decimal::ZERO,
            ..item(dec!(0), dec!(0))
        };
        assert_eq!(functional_amount(&empty, dec!(5), None, 2), Decimal::ZERO);
    }
}

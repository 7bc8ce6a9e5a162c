//! Shipment arithmetic: never more than ordered, and each shipment's share
//! of a line amount taken cumulatively so that the shares of all shipments
//! of a line add up to the line amount exactly.

use rust_decimal::Decimal;

use otc_shared::Money;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShipmentError {
    #[error("ships {shipping} but only {remaining} of {ordered} remain unshipped")]
    OverShipment {
        ordered: Decimal,
        remaining: Decimal,
        shipping: Decimal,
    },
}

/// The amount this shipment of `shipping` units carries, given what earlier
/// shipments of the line took.
pub fn shipped_share(
    ordered_quantity: Decimal,
    line_amount: &Money,
    shipped_quantity_before: Decimal,
    shipped_amount_before: &Money,
    shipping: Decimal,
) -> Result<Money, ShipmentError> {
    let remaining = ordered_quantity - shipped_quantity_before;
    if shipping > remaining {
        return Err(ShipmentError::OverShipment {
            ordered: ordered_quantity.normalize(),
            remaining: remaining.normalize(),
            shipping: shipping.normalize(),
        });
    }
    let shipped_after = shipped_quantity_before + shipping;
    let cumulative = if shipped_after == ordered_quantity {
        *line_amount
    } else {
        // ordered_quantity > 0 (checked on the way in), so the division is defined.
        let fraction = shipped_after
            .checked_div(ordered_quantity)
            .unwrap_or(Decimal::ZERO);
        line_amount
            .times_rounded(fraction)
            .unwrap_or(*shipped_amount_before)
    };
    Ok(cumulative
        .checked_sub(shipped_amount_before)
        .unwrap_or_else(|_| Money::zero(line_amount.currency())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn three_thirds_add_up_to_the_line() {
        let line = Money::parse("100.00", "EUR").unwrap();
        let ordered = Decimal::from(3);
        let mut shipped_quantity = Decimal::ZERO;
        let mut shipped_amount = Money::zero(line.currency());
        let mut shares = Vec::new();
        for _ in 0..3 {
            let share = shipped_share(
                ordered,
                &line,
                shipped_quantity,
                &shipped_amount,
                Decimal::ONE,
            )
            .unwrap();
            shipped_quantity += Decimal::ONE;
            shipped_amount = shipped_amount.checked_add(&share).unwrap();
            shares.push(share.to_string());
        }
        assert_eq!(shares, ["33.33 EUR", "33.34 EUR", "33.33 EUR"]);
        assert_eq!(shipped_amount, line);
    }

    #[test]
    fn over_shipment_is_refused() {
        let line = Money::parse("10.00", "EUR").unwrap();
        let error = shipped_share(
            Decimal::from(5),
            &line,
            Decimal::from(4),
            &Money::parse("8.00", "EUR").unwrap(),
            Decimal::from(2),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "ships 2 but only 1 of 5 remain unshipped"
        );
    }

    proptest! {
        #[test]
        fn any_partial_shipments_sum_to_the_line_amount(
            cents in 0_i64..10_000_000,
            parts in proptest::collection::vec(1_u32..50, 1..8),
        ) {
            let line = Money::new(Decimal::new(cents, 2), otc_shared::Currency::parse("EUR").unwrap()).unwrap();
            let ordered: Decimal = parts.iter().map(|part| Decimal::from(*part)).sum();
            let mut quantity = Decimal::ZERO;
            let mut amount = Money::zero(line.currency());
            for part in &parts {
                let share = shipped_share(ordered, &line, quantity, &amount, Decimal::from(*part)).unwrap();
                prop_assert!(!share.is_negative());
                quantity += Decimal::from(*part);
                amount = amount.checked_add(&share).unwrap();
            }
            prop_assert_eq!(amount, line);
        }
    }
}

//! Largest-remainder allocation in integer minor units: the parts always add
//! up to the whole, whatever the ratios.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::MoneyError;

pub(super) fn allocate_minor_units(
    total: i128,
    ratios: &[Decimal],
) -> Result<Vec<i128>, MoneyError> {
    if ratios.is_empty() {
        return Err(invalid("no ratios given"));
    }
    if ratios
        .iter()
        .any(|ratio| ratio.is_sign_negative() && !ratio.is_zero())
    {
        return Err(invalid("ratios must not be negative"));
    }
    let ratio_sum = ratios
        .iter()
        .try_fold(Decimal::ZERO, |sum, ratio| sum.checked_add(*ratio))
        .ok_or_else(|| invalid("ratios are too large"))?;
    if ratio_sum.is_zero() {
        return Err(invalid("ratios must not all be zero"));
    }

    // Allocate the magnitude, then give the parts the total's sign, so that
    // -10.00 splits exactly like 10.00 mirrored.
    let magnitude = total.abs();
    let magnitude_decimal = Decimal::from_i128_with_scale(magnitude, 0);
    let mut parts = Vec::with_capacity(ratios.len());
    let mut remainders = Vec::with_capacity(ratios.len());
    for ratio in ratios {
        let exact_share = magnitude_decimal
            .checked_mul(*ratio)
            .and_then(|product| product.checked_div(ratio_sum))
            .ok_or_else(|| invalid("amount × ratio is out of range"))?;
        let floor = exact_share.floor();
        let whole = floor
            .to_i128()
            .ok_or_else(|| invalid("share is out of range"))?;
        parts.push(whole);
        remainders.push(exact_share - floor);
    }

    let allocated: i128 = parts.iter().sum();
    let leftover = magnitude - allocated;
    debug_assert!(leftover >= 0 && leftover <= i128::try_from(ratios.len()).unwrap_or(i128::MAX));
    let mut order: Vec<usize> = (0..ratios.len()).collect();
    // Largest remainder first; ties go to the earlier part (stable sort).
    order.sort_by(|left, right| remainders[*right].cmp(&remainders[*left]));
    let leftover_count = usize::try_from(leftover).map_err(|_| invalid("leftover out of range"))?;
    for index in order.into_iter().cycle().take(leftover_count) {
        parts[index] += 1;
    }

    if total < 0 {
        for part in &mut parts {
            *part = -*part;
        }
    }
    debug_assert_eq!(parts.iter().sum::<i128>(), total);
    Ok(parts)
}

fn invalid(reason: &str) -> MoneyError {
    MoneyError::InvalidAllocation {
        reason: reason.to_owned(),
    }
}

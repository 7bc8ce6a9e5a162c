//! Dated FX rates: the rate for a currency pair on a date, taken directly,
//! inverted, or crossed through EUR (the ECB publishes EUR-based rates).

use std::collections::HashMap;

use chrono::{NaiveDate, TimeDelta};
use otc_shared::{Currency, Money, MoneyError};
use rust_decimal::{Decimal, RoundingStrategy};

/// Derived (inverted or crossed) rates keep this many decimal places, the
/// precision at which rates are stored.
pub const DERIVED_RATE_DECIMALS: u32 = 10;

/// The currency every ECB reference rate is quoted against.
const PIVOT_CODE: &str = "EUR";

/// `1 from = rate to`, as published or entered for `rate_date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxRate {
    pub from: Currency,
    pub to: Currency,
    pub rate_date: NaiveDate,
    pub rate: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateSource {
    /// A `from -> to` rate as stored (also the identity rate of a currency
    /// to itself).
    Direct,
    /// `1 / rate` of a stored `to -> from` rate.
    Inverse,
    /// `from -> EUR -> to`, each leg direct or inverted.
    Cross,
}

/// The rate a conversion used, recorded with the converted amount so that
/// the document shows where its functional-currency figures came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRate {
    pub from: Currency,
    pub to: Currency,
    pub rate: Decimal,
    /// For a cross rate, the older of its two legs' dates.
    pub rate_date: NaiveDate,
    pub source: RateSource,
}

impl AppliedRate {
    /// `money × rate`, rounded half-even to `to`'s minor unit. Refuses an
    /// amount or target that is not this rate's pair.
    pub fn convert(&self, money: &Money, to: Currency) -> Result<Money, MoneyError> {
        if money.currency() != self.from {
            return Err(MoneyError::CurrencyMismatch {
                left: money.currency(),
                right: self.from,
            });
        }
        if to != self.to {
            return Err(MoneyError::CurrencyMismatch {
                left: to,
                right: self.to,
            });
        }
        let product =
            money
                .amount()
                .checked_mul(self.rate)
                .ok_or_else(|| MoneyError::OutOfRange {
                    value: format!("{} × {}", money.amount(), self.rate),
                })?;
        Money::rounded(product, to)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FxError {
    #[error(
        "no {from}->{to} rate dated between {} and {on}",
        earliest_date(*on, *max_age_days)
    )]
    Missing {
        from: Currency,
        to: Currency,
        on: NaiveDate,
        max_age_days: i64,
    },
    #[error("the {from}->{to} rate of {rate_date} is {rate}: a rate must be positive")]
    NotPositive {
        from: Currency,
        to: Currency,
        rate_date: NaiveDate,
        rate: Decimal,
    },
}

/// The first date a rate may carry to be used on `on`; a negative age is
/// taken as 0 (only a rate of the day itself).
fn earliest_date(on: NaiveDate, max_age_days: i64) -> NaiveDate {
    TimeDelta::try_days(max_age_days.max(0))
        .and_then(|age| on.checked_sub_signed(age))
        .unwrap_or(NaiveDate::MIN)
}

/// A stored rate as a fraction, so that a cross rate is divided (and
/// rounded) once, not once per leg.
#[derive(Debug, Clone, Copy)]
struct Leg {
    numerator: Decimal,
    denominator: Decimal,
    rate_date: NaiveDate,
    source: RateSource,
}

/// The rates a tenant holds, by pair, each list in date order.
#[derive(Debug, Clone, Default)]
pub struct FxTable {
    by_pair: HashMap<(Currency, Currency), Vec<(NaiveDate, Decimal)>>,
}

impl FxTable {
    /// Of two rates for the same pair and date, the one later in `rates`
    /// wins: a correction is entered after the rate it corrects.
    pub fn new(rates: Vec<FxRate>) -> Self {
        let mut by_pair: HashMap<(Currency, Currency), Vec<(NaiveDate, Decimal)>> = HashMap::new();
        for rate in rates {
            by_pair
                .entry((rate.from, rate.to))
                .or_default()
                .push((rate.rate_date, rate.rate));
        }
        for dated in by_pair.values_mut() {
            // Stable: equal dates keep their entry order.
            dated.sort_by_key(|(rate_date, _)| *rate_date);
        }
        Self { by_pair }
    }

    /// The rate for `from -> to` on `on`: the most recent dated on or before
    /// `on` and at most `max_age_days` older. A direct rate is preferred to
    /// an inverted one, and both to a cross rate through EUR.
    pub fn rate(
        &self,
        from: Currency,
        to: Currency,
        on: NaiveDate,
        max_age_days: i64,
    ) -> Result<AppliedRate, FxError> {
        if from == to {
            return Ok(AppliedRate {
                from,
                to,
                rate: Decimal::ONE,
                rate_date: on,
                source: RateSource::Direct,
            });
        }
        let earliest = earliest_date(on, max_age_days);
        let found = match self.leg(from, to, earliest, on)? {
            Some(leg) => Some(leg),
            None => self.cross(from, to, earliest, on)?,
        };
        let missing = || FxError::Missing {
            from,
            to,
            on,
            max_age_days,
        };
        let leg = found.ok_or_else(missing)?;
        let rate = leg
            .numerator
            .checked_div(leg.denominator)
            .ok_or_else(missing)?;
        let rate = match leg.source {
            RateSource::Direct => rate,
            RateSource::Inverse | RateSource::Cross => rate.round_dp_with_strategy(
                DERIVED_RATE_DECIMALS,
                RoundingStrategy::MidpointNearestEven,
            ),
        };
        Ok(AppliedRate {
            from,
            to,
            rate,
            rate_date: leg.rate_date,
            source: leg.source,
        })
    }

    /// `from -> to` as stored, or else inverted from `to -> from`.
    fn leg(
        &self,
        from: Currency,
        to: Currency,
        earliest: NaiveDate,
        on: NaiveDate,
    ) -> Result<Option<Leg>, FxError> {
        if let Some((rate_date, rate)) = self.latest(from, to, earliest, on)? {
            return Ok(Some(Leg {
                numerator: rate,
                denominator: Decimal::ONE,
                rate_date,
                source: RateSource::Direct,
            }));
        }
        Ok(self
            .latest(to, from, earliest, on)?
            .map(|(rate_date, rate)| Leg {
                numerator: Decimal::ONE,
                denominator: rate,
                rate_date,
                source: RateSource::Inverse,
            }))
    }

    fn cross(
        &self,
        from: Currency,
        to: Currency,
        earliest: NaiveDate,
        on: NaiveDate,
    ) -> Result<Option<Leg>, FxError> {
        let Some(pivot) = self.pivot() else {
            return Ok(None);
        };
        if from == pivot || to == pivot {
            return Ok(None);
        }
        let (Some(into_pivot), Some(out_of_pivot)) = (
            self.leg(from, pivot, earliest, on)?,
            self.leg(pivot, to, earliest, on)?,
        ) else {
            return Ok(None);
        };
        let numerator = into_pivot.numerator.checked_mul(out_of_pivot.numerator);
        let denominator = into_pivot.denominator.checked_mul(out_of_pivot.denominator);
        Ok(numerator
            .zip(denominator)
            .map(|(numerator, denominator)| Leg {
                numerator,
                denominator,
                rate_date: into_pivot.rate_date.min(out_of_pivot.rate_date),
                source: RateSource::Cross,
            }))
    }

    /// EUR, if any stored rate mentions it (else no cross rate can exist).
    fn pivot(&self) -> Option<Currency> {
        self.by_pair
            .keys()
            .flat_map(|(from, to)| [*from, *to])
            .find(|currency| currency.code() == PIVOT_CODE)
    }

    fn latest(
        &self,
        from: Currency,
        to: Currency,
        earliest: NaiveDate,
        on: NaiveDate,
    ) -> Result<Option<(NaiveDate, Decimal)>, FxError> {
        let Some(dated) = self.by_pair.get(&(from, to)) else {
            return Ok(None);
        };
        let after_on = dated.partition_point(|(rate_date, _)| *rate_date <= on);
        let Some((rate_date, rate)) = after_on
            .checked_sub(1)
            .and_then(|index| dated.get(index))
            .copied()
        else {
            return Ok(None);
        };
        if rate_date < earliest {
            return Ok(None);
        }
        if rate <= Decimal::ZERO {
            return Err(FxError::NotPositive {
                from,
                to,
                rate_date,
                rate,
            });
        }
        Ok(Some((rate_date, rate)))
    }
}

#[cfg(test)]
mod tests;

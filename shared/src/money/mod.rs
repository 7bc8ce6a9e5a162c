//! Exact money: `rust_decimal` amounts tagged with an ISO 4217 currency,
//! arithmetic that refuses to mix currencies, half-even rounding to the
//! currency's minor unit, and allocation that never loses a cent.

mod allocation;
mod currency;
mod wire;

#[cfg(test)]
mod tests;

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

pub use currency::Currency;
pub use wire::{FieldError, MoneyColumns, column_to_proto};

/// The largest magnitude an amount may have (exclusive): one quadrillion
/// units. Far above any real document total, and small enough that every
/// amount, even multiplied by a rate with 10 decimal places, stays exact.
pub const MAX_ABS_AMOUNT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{code}` is not an ISO 4217 currency code")]
    UnknownCurrency { code: String },
    #[error("{code} has no minor unit (it is not a currency amounts can be kept in)")]
    NotAMoneyCurrency { code: String },
    #[error("`{value}` is not a decimal number (expected e.g. \"1234.50\")")]
    NotANumber { value: String },
    #[error("`{value}` has more decimals than {currency} allows ({allowed})")]
    TooManyDecimals {
        value: String,
        currency: Currency,
        allowed: u32,
    },
    #[error("`{value}` is out of range (the magnitude must be below {MAX_ABS_AMOUNT})")]
    OutOfRange { value: String },
    #[error("cannot combine {left} with {right}: currencies differ")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("cannot allocate: {reason}")]
    InvalidAllocation { reason: String },
    #[error("is required")]
    Missing,
}

/// An exact amount in one currency, always held at the currency's minor-unit
/// scale (`10.50 EUR`, `1200 JPY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// An amount that must already fit the currency's minor unit: `10.5` and
    /// `10.50` are fine for EUR, `10.505` is refused (use [`Money::rounded`]
    /// where rounding is intended).
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        check_range(amount)?;
        let allowed = currency.minor_units();
        if amount.normalize().scale() > allowed {
            return Err(MoneyError::TooManyDecimals {
                value: amount.to_string(),
                currency,
                allowed,
            });
        }
        Ok(Self::at_minor_scale(amount, currency))
    }

    /// Rounds half-even (banker's rounding) to the currency's minor unit.
    pub fn rounded(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        check_range(amount)?;
        let rounded = amount.round_dp_with_strategy(
            currency.minor_units(),
            RoundingStrategy::MidpointNearestEven,
        );
        Ok(Self::at_minor_scale(rounded, currency))
    }

    pub fn zero(currency: Currency) -> Self {
        Self::at_minor_scale(Decimal::ZERO, currency)
    }

    /// Parses a decimal string (`"1234.50"`, `"-0.01"`) and an ISO 4217 code.
    pub fn parse(amount: &str, currency_code: &str) -> Result<Self, MoneyError> {
        let currency = Currency::parse(currency_code)?;
        let trimmed = amount.trim();
        let well_formed = !trimmed.is_empty()
            && trimmed.bytes().enumerate().all(|(index, byte)| {
                byte.is_ascii_digit() || byte == b'.' || (index == 0 && byte == b'-')
            })
            && trimmed.bytes().filter(|byte| *byte == b'.').count() <= 1
            && trimmed.bytes().any(|byte| byte.is_ascii_digit());
        if !well_formed {
            return Err(MoneyError::NotANumber {
                value: amount.to_owned(),
            });
        }
        let decimal = trimmed
            .parse::<Decimal>()
            .map_err(|_| MoneyError::OutOfRange {
                value: amount.to_owned(),
            })?;
        Self::new(decimal, currency).map_err(|error| match error {
            MoneyError::TooManyDecimals {
                currency, allowed, ..
            } => MoneyError::TooManyDecimals {
                value: amount.to_owned(),
                currency,
                allowed,
            },
            MoneyError::OutOfRange { .. } => MoneyError::OutOfRange {
                value: amount.to_owned(),
            },
            other => other,
        })
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    pub fn is_positive(&self) -> bool {
        self.amount.is_sign_positive() && !self.amount.is_zero()
    }

    /// The amount in minor units (cents), exact.
    pub fn minor_units(&self) -> i128 {
        self.amount.mantissa()
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Money::new(self.amount + other.amount, self.currency)
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Money::new(self.amount - other.amount, self.currency)
    }

    pub fn negated(&self) -> Money {
        Self::at_minor_scale(-self.amount, self.currency)
    }

    pub fn abs(&self) -> Money {
        Self::at_minor_scale(self.amount.abs(), self.currency)
    }

    /// `self × factor` (a quantity, a tax rate, an FX rate) rounded half-even
    /// to the minor unit.
    pub fn times_rounded(&self, factor: Decimal) -> Result<Money, MoneyError> {
        let product = self
            .amount
            .checked_mul(factor)
            .ok_or_else(|| MoneyError::OutOfRange {
                value: format!("{} × {}", self.amount, factor),
            })?;
        Money::rounded(product, self.currency)
    }

    /// Sums amounts of one currency; an empty list sums to zero.
    pub fn sum<'a>(
        currency: Currency,
        amounts: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), |total, amount| {
                total.checked_add(amount)
            })
    }

    /// Splits the amount by non-negative ratios; the parts add up to exactly
    /// the amount. Leftover minor units go to the largest remainders.
    pub fn allocate(&self, ratios: &[Decimal]) -> Result<Vec<Money>, MoneyError> {
        let parts = allocation::allocate_minor_units(self.minor_units(), ratios)?;
        Ok(parts
            .into_iter()
            .map(|minor| Self::from_minor_units_unchecked(minor, self.currency))
            .collect())
    }

    /// Splits into `parts` near-equal amounts (instalments); the first ones
    /// carry the leftover minor units.
    pub fn split(&self, parts: usize) -> Result<Vec<Money>, MoneyError> {
        self.allocate(&vec![Decimal::ONE; parts])
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            return Ok(());
        }
        Err(MoneyError::CurrencyMismatch {
            left: self.currency,
            right: other.currency,
        })
    }

    fn at_minor_scale(amount: Decimal, currency: Currency) -> Self {
        let mut scaled = amount;
        scaled.rescale(currency.minor_units());
        if scaled.is_zero() {
            // No "-0.00" on an invoice.
            scaled.set_sign_positive(true);
        }
        Self {
            amount: scaled,
            currency,
        }
    }

    fn from_minor_units_unchecked(minor: i128, currency: Currency) -> Self {
        // The parts of a valid amount are each no larger than it, so they fit.
        let amount = Decimal::try_from_i128_with_scale(minor, currency.minor_units())
            .unwrap_or(Decimal::ZERO);
        debug_assert_eq!(amount.mantissa(), minor);
        Self::at_minor_scale(amount, currency)
    }
}

fn check_range(amount: Decimal) -> Result<(), MoneyError> {
    if amount.abs() >= MAX_ABS_AMOUNT {
        return Err(MoneyError::OutOfRange {
            value: amount.to_string(),
        });
    }
    Ok(())
}

impl fmt::Display for Money {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.amount, self.currency)
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("Money", 2)?;
        state.serialize_field("amount", &self.amount.to_string())?;
        state.serialize_field("currency", self.currency.code())?;
        state.end()
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wire {
            amount: String,
            currency: String,
        }
        let wire = Wire::deserialize(deserializer)?;
        Money::parse(&wire.amount, &wire.currency).map_err(serde::de::Error::custom)
    }
}

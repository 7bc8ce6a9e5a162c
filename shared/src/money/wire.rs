//! Money across boundaries: the protobuf `otc.types.v1.Money` (a decimal
//! string and an ISO 4217 code) and PostgreSQL `NUMERIC` and currency
//! columns. Every error names the field it came from.

use rust_decimal::Decimal;

use super::{Currency, Money, MoneyError};
use otc_proto::types as proto;

/// A money error located at a field path (`lines[2].unit_price.amount`), so
/// that a bad request or event can say exactly what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {error}")]
pub struct FieldError {
    pub field: String,
    pub error: MoneyError,
}

impl Money {
    /// Reads a required proto money field. `field` is the path of the field
    /// in the enclosing message, used in error messages.
    pub fn from_proto(field: &str, money: Option<&proto::Money>) -> Result<Money, FieldError> {
        let Some(money) = money else {
            return Err(FieldError {
                field: field.to_owned(),
                error: MoneyError::Missing,
            });
        };
        let currency = Currency::parse(&money.currency_code).map_err(|error| FieldError {
            field: format!("{field}.currency_code"),
            error,
        })?;
        Money::parse(&money.amount, currency.code()).map_err(|error| FieldError {
            field: format!("{field}.amount"),
            error,
        })
    }

    pub fn to_proto(&self) -> proto::Money {
        proto::Money {
            amount: self.amount().to_string(),
            currency_code: self.currency().code().to_owned(),
        }
    }

    /// Rebuilds money from a `NUMERIC` amount and a currency column. A value
    /// with more decimals than the currency allows is refused rather than
    /// silently rounded: it means a row was written outside this type.
    pub fn from_columns(amount: Decimal, currency_code: &str) -> Result<Money, MoneyError> {
        Money::new(amount, Currency::parse(currency_code)?)
    }
}

/// A stored amount column as wire money at its currency's minor unit; a
/// value the currency cannot hold (more decimals, unknown code) is sent as
/// stored rather than altered.
pub fn column_to_proto(amount: Decimal, currency_code: &str) -> proto::Money {
    match Money::from_columns(amount, currency_code) {
        Ok(value) => value.to_proto(),
        Err(_) => proto::Money {
            amount: amount.normalize().to_string(),
            currency_code: currency_code.to_owned(),
        },
    }
}

impl From<Money> for proto::Money {
    fn from(money: Money) -> Self {
        money.to_proto()
    }
}

/// The two columns a money value is stored in (`amount NUMERIC(19,4)`,
/// `currency CHAR(3)`), for binding in sqlx queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyColumns {
    pub amount: Decimal,
    pub currency: &'static str,
}

impl From<&Money> for MoneyColumns {
    fn from(money: &Money) -> Self {
        Self {
            amount: money.amount(),
            currency: money.currency().code(),
        }
    }
}

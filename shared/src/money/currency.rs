//! ISO 4217 currencies with their minor units, from the `iso_currency` crate's
//! maintained table (not a hand-typed one).

use std::fmt;
use std::str::FromStr;

use super::MoneyError;

/// A currency amounts can be kept in: an ISO 4217 code with a minor unit
/// (so `XAU` or `XXX`, which have none, are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    iso: iso_currency::Currency,
    minor_units: u16,
}

impl Currency {
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let trimmed = code.trim();
        let iso = iso_currency::Currency::from_code(trimmed).ok_or_else(|| {
            MoneyError::UnknownCurrency {
                code: code.to_owned(),
            }
        })?;
        let minor_units = iso
            .exponent()
            .ok_or_else(|| MoneyError::NotAMoneyCurrency {
                code: trimmed.to_owned(),
            })?;
        Ok(Self { iso, minor_units })
    }

    /// The alphabetic code, e.g. `"EUR"`.
    pub fn code(&self) -> &'static str {
        self.iso.code()
    }

    /// Digits after the decimal point: 2 for EUR, 0 for JPY, 3 for KWD.
    pub fn minor_units(&self) -> u32 {
        u32::from(self.minor_units)
    }

    pub fn name(&self) -> &str {
        self.iso.name()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::parse(code)
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

// Stored as TEXT (`CHAR(3)` in our schemas); decoding validates the code.
impl sqlx::Type<sqlx::Postgres> for Currency {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <String as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(type_info: &sqlx::postgres::PgTypeInfo) -> bool {
        <String as sqlx::Type<sqlx::Postgres>>::compatible(type_info)
            || <&str as sqlx::Type<sqlx::Postgres>>::compatible(type_info)
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Postgres> for Currency {
    fn encode_by_ref(
        &self,
        buffer: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.code(), buffer)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Currency {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let code = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Ok(Currency::parse(code)?)
    }
}

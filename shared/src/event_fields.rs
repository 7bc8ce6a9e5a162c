//! Reading the fields of a consumed event: a field that cannot be read
//! rejects the record (to the DLQ) with the field's name and the reason.

use std::str::FromStr;

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::TenantId;
use crate::events::header;
use crate::inbox::{HandlerError, IncomingRecord};

pub fn rejected(field: &str, error: impl std::fmt::Display) -> HandlerError {
    HandlerError::Rejected(format!("{field}: {error}"))
}

pub fn uuid(field: &str, text: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(text).map_err(|error| rejected(field, format!("`{text}`: {error}")))
}

pub fn decimal(field: &str, text: &str) -> Result<Decimal, HandlerError> {
    Decimal::from_str(text.trim()).map_err(|error| rejected(field, format!("`{text}`: {error}")))
}

/// An ISO 8601 calendar date; `None` when the field is empty.
pub fn optional_date(field: &str, text: &str) -> Result<Option<chrono::NaiveDate>, HandlerError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::from_str(text)
        .map(Some)
        .map_err(|error| rejected(field, format!("`{text}`: {error}")))
}

/// A wire amount and its currency code.
pub fn money(
    field: &str,
    value: Option<&otc_proto::types::Money>,
) -> Result<(Decimal, String), HandlerError> {
    let value = value.ok_or_else(|| rejected(field, "is missing"))?;
    Ok((decimal(field, &value.amount)?, value.currency_code.clone()))
}

/// The record's tenant, from the `tenant` header.
pub fn tenant_of(record: &IncomingRecord) -> Result<TenantId, HandlerError> {
    let text = record
        .headers
        .get(header::TENANT)
        .ok_or_else(|| rejected("tenant", "header is missing"))?;
    TenantId::parse(text).map_err(|error| rejected("tenant", error))
}

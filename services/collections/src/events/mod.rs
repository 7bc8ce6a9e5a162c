//! Kafka: the ledger consumer of order, billing and payment events, and the
//! credit events this service publishes.

pub mod consumer;
pub mod deductions;
pub mod documents;
pub mod orders;
pub mod outgoing;

use rust_decimal::Decimal;

use otc_proto::types::Money;
use otc_shared::event_fields::{decimal, rejected};
use otc_shared::inbox::HandlerError;

/// A required, non-negative amount of an event, in an ISO 4217 currency.
pub(crate) fn amount(
    field: &str,
    value: Option<&Money>,
) -> Result<(Decimal, String), HandlerError> {
    let value = value.ok_or_else(|| rejected(field, "is missing"))?;
    let parsed = decimal(field, &value.amount)?;
    let currency = otc_shared::Currency::parse(&value.currency_code)
        .map_err(|error| rejected(&format!("{field}.currency_code"), error))?;
    if parsed.is_sign_negative() && !parsed.is_zero() {
        return Err(rejected(field, format!("`{}` is negative", value.amount)));
    }
    Ok((parsed, currency.code().to_owned()))
}

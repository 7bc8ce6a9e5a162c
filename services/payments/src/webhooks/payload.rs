//! The provider webhook payload: read field by field so that every problem
//! is reported at once, each naming its field.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use otc_shared::Money;

pub const PAYMENT_SUCCEEDED: &str = "payment.succeeded";
pub const PAYMENT_REVERSED: &str = "payment.reversed";
pub const CHARGEBACK_CREATED: &str = "chargeback.created";

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub id: String,
    pub kind: String,
    pub payment_id: String,
    pub amount: Decimal,
    pub currency: String,
    pub money: Money,
    pub value_date: NaiveDate,
    pub customer_id: Option<Uuid>,
    pub payer_name: String,
    pub payer_account: String,
    pub description: String,
    pub reason: String,
}

fn text<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value.get(field).and_then(Value::as_str)
}

/// Every field violation as `"field: reason"`, or the event.
pub fn parse(body: &[u8]) -> Result<WebhookEvent, Vec<String>> {
    let root: Value =
        serde_json::from_slice(body).map_err(|error| vec![format!("body: not JSON ({error})")])?;
    let mut problems = Vec::new();
    let mut required = |value: &Value, path: &str, field: &str| -> String {
        match value.get(field) {
            Some(Value::String(text)) if !text.trim().is_empty() => text.trim().to_owned(),
            Some(Value::Number(_)) if field == "amount" => {
                problems.push(format!(
                    "{path}{field}: JSON numbers are not exact; send the amount as a decimal string"
                ));
                String::new()
            }
            Some(_) => {
                problems.push(format!("{path}{field}: must be a non-empty string"));
                String::new()
            }
            None => {
                problems.push(format!("{path}{field}: is required"));
                String::new()
            }
        }
    };
    let id = required(&root, "", "id");
    let kind = required(&root, "", "type");
    let Some(data) = root.get("data").filter(|data| data.is_object()) else {
        problems.push("data: is required (an object)".to_owned());
        return Err(problems);
    };
    let payment_id = required(data, "data.", "payment_id");
    let succeeded = kind == PAYMENT_SUCCEEDED;
    let (amount_text, currency) = if succeeded {
        (
            required(data, "data.", "amount"),
            required(data, "data.", "currency"),
        )
    } else {
        (
            text(data, "amount").unwrap_or_default().to_owned(),
            text(data, "currency").unwrap_or_default().to_owned(),
        )
    };
    if !kind.is_empty()
        && ![PAYMENT_SUCCEEDED, PAYMENT_REVERSED, CHARGEBACK_CREATED].contains(&kind.as_str())
    {
        problems.push(format!(
            "type: `{kind}` is not one of {PAYMENT_SUCCEEDED}, {PAYMENT_REVERSED}, {CHARGEBACK_CREATED}"
        ));
    }
    let money = if succeeded && !amount_text.is_empty() && !currency.is_empty() {
        match Money::parse(&amount_text, &currency) {
            Ok(money) if money.is_positive() => Some(money),
            Ok(_) => {
                problems.push("data.amount: must be positive".to_owned());
                None
            }
            Err(error) => {
                problems.push(format!("data.amount: {error}"));
                None
            }
        }
    } else {
        None
    };
    let value_date = match text(data, "value_date")
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        None => Some(chrono::Utc::now().date_naive()),
        Some(text) => NaiveDate::from_str(text)
            .map_err(|_| {
                problems.push(format!(
                    "data.value_date: `{text}` is not a date (YYYY-MM-DD)"
                ))
            })
            .ok(),
    };
    let customer_id = match text(data, "customer_id")
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        None => None,
        Some(text) => Uuid::parse_str(text)
            .map_err(|_| problems.push(format!("data.customer_id: `{text}` is not a UUID")))
            .ok(),
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let Some(value_date) = value_date else {
        return Err(problems);
    };
    let money = match money {
        Some(money) => money,
        None if succeeded => return Err(vec!["data.amount: is required".to_owned()]),
        // A reversal reverses the whole payment; its amount is informative.
        None => Money::zero(
            otc_shared::Currency::parse("EUR").map_err(|error| vec![error.to_string()])?,
        ),
    };
    Ok(WebhookEvent {
        id,
        kind,
        payment_id,
        amount: money.amount(),
        currency: money.currency().code().to_owned(),
        money,
        value_date,
        customer_id,
        payer_name: text(data, "payer_name")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        payer_account: text(data, "payer_account")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        description: text(data, "description")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        reason: text(data, "reason").unwrap_or_default().trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_is_read_with_its_fields() {
        let event = parse(
            br#"{"id":"evt_1","type":"payment.succeeded","data":{"payment_id":"pay_1",
                "amount":"119.00","currency":"EUR","value_date":"2026-11-20",
                "payer_name":"ACME GmbH","description":"INV-2026-000001"}}"#,
        );
        let Ok(event) = event else {
            unreachable!("{event:?}");
        };
        assert_eq!(event.payment_id, "pay_1");
        assert_eq!(event.amount, Decimal::new(11900, 2));
        assert_eq!(event.description, "INV-2026-000001");
    }

    #[test]
    fn every_bad_field_is_named() {
        let Err(problems) = parse(
            br#"{"type":"payment.succeeded","data":{"payment_id":"p","amount":119.0,
                "currency":"EUR","value_date":"20/11/2026","customer_id":"x"}}"#,
        ) else {
            unreachable!("accepted a bad payload");
        };
        let joined = problems.join("\n");
        assert!(joined.contains("id: is required"), "{joined}");
        assert!(
            joined.contains("data.amount: JSON numbers are not exact"),
            "{joined}"
        );
        assert!(joined.contains("data.value_date"), "{joined}");
        assert!(joined.contains("data.customer_id"), "{joined}");
    }

    #[test]
    fn an_unknown_type_is_refused() {
        let Err(problems) =
            parse(br#"{"id":"e","type":"payment.exploded","data":{"payment_id":"p"}}"#)
        else {
            unreachable!("accepted an unknown type");
        };
        assert!(problems.join("\n").contains("type: `payment.exploded`"));
    }
}

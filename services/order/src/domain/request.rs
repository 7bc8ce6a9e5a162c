//! An order request as either path delivers it (a gRPC `CreateOrderRequest`
//! or the `data` of an upstream CloudEvent), and its first, syntactic
//! validation. Lookups (customer, SKUs, prices) come after, in
//! [`super::pricing`]; both add to one list of violations so that a caller
//! learns every bad field at once.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Address, Violations};
use otc_shared::ids::CustomerId;
use otc_shared::{Currency, Money};

/// Quantities and unit prices keep at most this many decimals (the NUMERIC scale).
pub const MAX_DECIMALS: u32 = 6;
/// More lines than this is a mistake or an attack, not an order.
pub const MAX_LINES: usize = 1_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountRequest {
    pub amount: String,
    pub currency_code: String,
}

/// Exactly one of the two.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountRequest {
    pub percentage: Option<String>,
    pub amount: Option<AmountRequest>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRequest {
    pub line_id: Option<String>,
    pub sku: String,
    pub quantity: String,
    pub unit_price: Option<AmountRequest>,
    pub discount: Option<DiscountRequest>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub source: String,
    pub external_order_id: String,
    pub customer_ref: String,
    pub currency_code: String,
    pub lines: Vec<LineRequest>,
    pub order_discount: Option<DiscountRequest>,
    pub shipping_address: Option<Address>,
    pub order_date: Option<String>,
}

impl OrderRequest {
    /// SHA-256 of the request in a canonical form: the same request again
    /// hashes the same, any change to it does not.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        let digest = Sha256::digest(&canonical);
        digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// Who the order is for: our id, or the customer's id on a source platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRef {
    Id(CustomerId),
    External {
        platform: String,
        external_id: String,
    },
}

impl CustomerRef {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("is required (a customer id or `platform:external id`)".to_owned());
        }
        if let Ok(id) = text.parse::<CustomerId>() {
            return Ok(Self::Id(id));
        }
        match text.split_once(':') {
            Some((platform, external_id))
                if !platform.trim().is_empty() && !external_id.trim().is_empty() =>
            {
                Ok(Self::External {
                    platform: platform.trim().to_owned(),
                    external_id: external_id.trim().to_owned(),
                })
            }
            _ => Err(format!(
                "`{text}` is neither a customer id nor `platform:external id`"
            )),
        }
    }
}

impl std::fmt::Display for CustomerRef {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(formatter, "{id}"),
            Self::External {
                platform,
                external_id,
            } => write!(formatter, "{platform}:{external_id}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    /// Percent, 0 < p <= 100.
    Percentage(Decimal),
    Amount(Money),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    pub index: usize,
    pub line_id: String,
    pub sku: String,
    pub quantity: Option<Decimal>,
    /// The price the source charged, when it sent one and it parsed.
    pub source_price: Option<Decimal>,
    pub source_price_currency: Option<Currency>,
    pub discount: Option<Discount>,
    pub description: Option<String>,
}

/// The request after syntactic checks; fields that did not parse are `None`
/// and have a violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedOrder {
    pub source: String,
    pub external_order_id: String,
    pub customer_ref: Option<CustomerRef>,
    /// `None` when the request left it to the customer's currency.
    pub currency: Option<Currency>,
    pub lines: Vec<ParsedLine>,
    pub order_discount: Option<Discount>,
    pub shipping_address: Address,
    pub order_date: NaiveDate,
    /// Currency given somewhere that did not parse: no lookup can fix it.
    pub currency_invalid: bool,
}

fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let trimmed = text.trim();
    let well_formed = !trimmed.is_empty()
        && trimmed.bytes().enumerate().all(|(index, byte)| {
            byte.is_ascii_digit() || byte == b'.' || (index == 0 && byte == b'-')
        })
        && trimmed.bytes().filter(|byte| *byte == b'.').count() <= 1
        && trimmed.bytes().any(|byte| byte.is_ascii_digit());
    if !well_formed {
        return Err(format!("`{text}` is not a decimal number (e.g. \"12.5\")"));
    }
    trimmed
        .parse::<Decimal>()
        .map_err(|_| format!("`{text}` is out of range"))
}

/// A positive decimal with at most [`MAX_DECIMALS`] decimals.
pub fn parse_quantity(text: &str) -> Result<Decimal, String> {
    let value = parse_decimal(text)?;
    if value <= Decimal::ZERO {
        return Err(format!("must be positive, got `{text}`"));
    }
    if value.normalize().scale() > MAX_DECIMALS {
        return Err(format!("`{text}` has more than {MAX_DECIMALS} decimals"));
    }
    if value > Decimal::from(1_000_000_000_u64) {
        return Err(format!("`{text}` is implausibly large"));
    }
    Ok(value.normalize())
}

/// A non-negative unit price with at most [`MAX_DECIMALS`] decimals.
pub fn parse_unit_price(text: &str) -> Result<Decimal, String> {
    let value = parse_decimal(text)?;
    if value < Decimal::ZERO {
        return Err(format!("must not be negative, got `{text}`"));
    }
    if value.normalize().scale() > MAX_DECIMALS {
        return Err(format!("`{text}` has more than {MAX_DECIMALS} decimals"));
    }
    if value >= otc_shared::money::MAX_ABS_AMOUNT {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(value.normalize())
}

pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date (expected YYYY-MM-DD)"))
}

/// Parses the order currency: `None` if left empty (the customer's currency applies).
fn parse_currency(
    code: &str,
    field: &str,
    violations: &mut Violations,
) -> (Option<Currency>, bool) {
    if code.trim().is_empty() {
        return (None, false);
    }
    match Currency::parse(code.trim()) {
        Ok(currency) => (Some(currency), false),
        Err(error) => {
            violations.add(field, error.to_string());
            (None, true)
        }
    }
}

fn parse_discount(
    request: &DiscountRequest,
    field: &str,
    currency: Option<Currency>,
    violations: &mut Violations,
) -> Option<Discount> {
    match (&request.percentage, &request.amount) {
        (Some(percentage), None) => match parse_decimal(percentage) {
            Ok(value) if value > Decimal::ZERO && value <= Decimal::ONE_HUNDRED => {
                Some(Discount::Percentage(value))
            }
            Ok(_) => {
                violations.add(
                    &format!("{field}.percentage"),
                    format!("must be above 0 and at most 100, got `{percentage}`"),
                );
                None
            }
            Err(reason) => {
                violations.add(&format!("{field}.percentage"), reason);
                None
            }
        },
        (None, Some(amount)) => match Money::parse(&amount.amount, amount.currency_code.trim()) {
            Ok(money) if money.is_positive() => {
                if let Some(currency) = currency
                    && money.currency() != currency
                {
                    violations.add(
                        &format!("{field}.amount.currency_code"),
                        format!(
                            "{} does not match the order currency {currency}",
                            money.currency()
                        ),
                    );
                    return None;
                }
                Some(Discount::Amount(money))
            }
            Ok(_) => {
                violations.add(
                    &format!("{field}.amount.amount"),
                    format!("must be positive, got `{}`", amount.amount),
                );
                None
            }
            Err(error) => {
                violations.add(&format!("{field}.amount"), error.to_string());
                None
            }
        },
        _ => {
            violations.add(field, "give exactly one of `percentage` and `amount`");
            None
        }
    }
}

/// Syntactic validation. `today` is the order date when the request gives none.
pub fn parse_order(
    request: &OrderRequest,
    today: NaiveDate,
    violations: &mut Violations,
) -> ParsedOrder {
    if request.source.trim().is_empty() {
        violations.add("source", "is required");
    }
    if request.external_order_id.trim().is_empty() {
        violations.add("external_order_id", "is required");
    }
    let customer_ref = match CustomerRef::parse(&request.customer_ref) {
        Ok(reference) => Some(reference),
        Err(reason) => {
            violations.add("customer_ref", reason);
            None
        }
    };
    let (currency, mut currency_invalid) =
        parse_currency(&request.currency_code, "currency_code", violations);
    let order_date = match request
        .order_date
        .as_deref()
        .filter(|date| !date.trim().is_empty())
    {
        None => today,
        Some(text) => parse_date(text).unwrap_or_else(|reason| {
            violations.add("order_date", reason);
            today
        }),
    };
    if request.lines.is_empty() {
        violations.add("lines", "an order needs at least one line");
    }
    if request.lines.len() > MAX_LINES {
        violations.add(
            "lines",
            format!("at most {MAX_LINES} lines, got {}", request.lines.len()),
        );
    }
    let mut seen_line_ids = std::collections::HashSet::new();
    let mut lines = Vec::with_capacity(request.lines.len());
    for (index, line) in request.lines.iter().enumerate() {
        let field = format!("lines[{index}]");
        let line_id = line
            .line_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map_or_else(|| (index + 1).to_string(), str::to_owned);
        if !seen_line_ids.insert(line_id.clone()) {
            violations.add(
                &format!("{field}.line_id"),
                format!("`{line_id}` is used by another line"),
            );
        }
        if line.sku.trim().is_empty() {
            violations.add(&format!("{field}.sku"), "is required");
        }
        let quantity = match parse_quantity(&line.quantity) {
            Ok(quantity) => Some(quantity),
            Err(reason) => {
                violations.add(&format!("{field}.quantity"), reason);
                None
            }
        };
        let mut source_price_currency = None;
        let source_price = line.unit_price.as_ref().and_then(|price| {
            let price_field = format!("{field}.unit_price");
            let (price_currency, invalid) = parse_currency(
                &price.currency_code,
                &format!("{price_field}.currency_code"),
                violations,
            );
            currency_invalid |= invalid;
            source_price_currency = price_currency;
            if price.currency_code.trim().is_empty() {
                violations.add(&format!("{price_field}.currency_code"), "is required");
            }
            if let (Some(price_currency), Some(order_currency)) = (price_currency, currency)
                && price_currency != order_currency
            {
                violations.add(
                    &format!("{price_field}.currency_code"),
                    format!("{price_currency} does not match the order currency {order_currency}"),
                );
            }
            match parse_unit_price(&price.amount) {
                Ok(value) => Some(value),
                Err(reason) => {
                    violations.add(&format!("{price_field}.amount"), reason);
                    None
                }
            }
        });
        let discount = line.discount.as_ref().and_then(|discount| {
            parse_discount(discount, &format!("{field}.discount"), currency, violations)
        });
        lines.push(ParsedLine {
            index,
            line_id,
            sku: line.sku.trim().to_owned(),
            quantity,
            source_price,
            source_price_currency,
            discount,
            description: line
                .description
                .clone()
                .filter(|text| !text.trim().is_empty()),
        });
    }
    let order_discount = request
        .order_discount
        .as_ref()
        .and_then(|discount| parse_discount(discount, "order_discount", currency, violations));
    Address::validate(
        request.shipping_address.as_ref(),
        "shipping_address",
        violations,
    );
    ParsedOrder {
        source: request.source.trim().to_owned(),
        external_order_id: request.external_order_id.trim().to_owned(),
        customer_ref,
        currency,
        lines,
        order_discount,
        shipping_address: request.shipping_address.clone().unwrap_or_default(),
        order_date,
        currency_invalid,
    }
}

/// Reads an order request out of an upstream event's `data`, adding a
/// violation for every field of the wrong JSON type. Amounts and quantities
/// must be strings: a JSON number would pass through a float.
pub fn order_request_from_json(data: &Value, violations: &mut Violations) -> OrderRequest {
    let Some(object) = data.as_object() else {
        violations.add("data", "must be a JSON object");
        return OrderRequest::default();
    };
    let mut reader = JsonReader { violations };
    let lines = match object.get("lines") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| reader.line(item, &format!("lines[{index}]")))
            .collect(),
        Some(_) => {
            reader.violations.add("lines", "must be an array");
            Vec::new()
        }
    };
    OrderRequest {
        source: String::new(),
        external_order_id: reader.string(object.get("external_order_id"), "external_order_id"),
        customer_ref: reader.string(object.get("customer_ref"), "customer_ref"),
        currency_code: reader.string(object.get("currency_code"), "currency_code"),
        lines,
        order_discount: reader.discount(object.get("order_discount"), "order_discount"),
        shipping_address: reader.address(object.get("shipping_address"), "shipping_address"),
        order_date: reader.optional_string(object.get("order_date"), "order_date"),
    }
}

/// A string field of an upstream event: absent or null is `None`; any other
/// type is a violation (a number, because JSON numbers are not exact).
pub fn json_string(
    value: Option<&Value>,
    field: &str,
    violations: &mut Violations,
) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => {
            violations.add(
                field,
                format!("must be a string (write \"{number}\"): JSON numbers are not exact"),
            );
            None
        }
        Some(_) => {
            violations.add(field, "must be a string");
            None
        }
    }
}

struct JsonReader<'a> {
    violations: &'a mut Violations,
}

impl JsonReader<'_> {
    fn optional_string(&mut self, value: Option<&Value>, field: &str) -> Option<String> {
        json_string(value, field, self.violations)
    }

    fn string(&mut self, value: Option<&Value>, field: &str) -> String {
        self.optional_string(value, field).unwrap_or_default()
    }

    fn amount(&mut self, value: Option<&Value>, field: &str) -> Option<AmountRequest> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::Object(object)) => Some(AmountRequest {
                amount: self.string(object.get("amount"), &format!("{field}.amount")),
                currency_code: self.string(
                    object.get("currency_code"),
                    &format!("{field}.currency_code"),
                ),
            }),
            Some(_) => {
                self.violations.add(
                    field,
                    "must be an object {\"amount\": \"12.50\", \"currency_code\": \"EUR\"}",
                );
                None
            }
        }
    }

    fn discount(&mut self, value: Option<&Value>, field: &str) -> Option<DiscountRequest> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::Object(object)) => Some(DiscountRequest {
                percentage: self
                    .optional_string(object.get("percentage"), &format!("{field}.percentage")),
                amount: self.amount(object.get("amount"), &format!("{field}.amount")),
            }),
            Some(_) => {
                self.violations
                    .add(field, "must be an object with `percentage` or `amount`");
                None
            }
        }
    }

    fn address(&mut self, value: Option<&Value>, field: &str) -> Option<Address> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::Object(object)) => {
                let lines = match object.get("lines") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => items
                        .iter()
                        .enumerate()
                        .filter_map(|(index, item)| {
                            self.optional_string(Some(item), &format!("{field}.lines[{index}]"))
                        })
                        .collect(),
                    Some(_) => {
                        self.violations
                            .add(&format!("{field}.lines"), "must be an array of strings");
                        Vec::new()
                    }
                };
                Some(Address {
                    lines,
                    city: self.string(object.get("city"), &format!("{field}.city")),
                    postal_code: self
                        .string(object.get("postal_code"), &format!("{field}.postal_code")),
                    region: self.string(object.get("region"), &format!("{field}.region")),
                    country_code: self
                        .string(object.get("country_code"), &format!("{field}.country_code")),
                })
            }
            Some(_) => {
                self.violations.add(field, "must be an object");
                None
            }
        }
    }

    fn line(&mut self, value: &Value, field: &str) -> LineRequest {
        let Some(object) = value.as_object() else {
            self.violations.add(field, "must be an object");
            return LineRequest::default();
        };
        LineRequest {
            line_id: self.optional_string(object.get("line_id"), &format!("{field}.line_id")),
            sku: self.string(object.get("sku"), &format!("{field}.sku")),
            quantity: self.string(object.get("quantity"), &format!("{field}.quantity")),
            unit_price: self.amount(object.get("unit_price"), &format!("{field}.unit_price")),
            discount: self.discount(object.get("discount"), &format!("{field}.discount")),
            description: self
                .optional_string(object.get("description"), &format!("{field}.description")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn valid() -> OrderRequest {
        OrderRequest {
            source: "shopify".into(),
            external_order_id: "1001".into(),
            customer_ref: "shopify:42".into(),
            currency_code: "EUR".into(),
            lines: vec![LineRequest {
                sku: "SKU-1".into(),
                quantity: "2".into(),
                ..LineRequest::default()
            }],
            order_discount: None,
            shipping_address: Some(Address {
                lines: vec!["Hauptstr. 1".into()],
                city: "Berlin".into(),
                postal_code: "10115".into(),
                region: String::new(),
                country_code: "DE".into(),
            }),
            order_date: None,
        }
    }

    #[test]
    fn a_valid_request_has_no_violations() {
        let mut violations = Violations::new();
        let parsed = parse_order(&valid(), today(), &mut violations);
        assert!(violations.is_empty(), "{violations}");
        assert_eq!(parsed.lines[0].line_id, "1");
        assert_eq!(parsed.order_date, today());
        assert_eq!(
            parsed.customer_ref,
            Some(CustomerRef::External {
                platform: "shopify".into(),
                external_id: "42".into()
            })
        );
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut request = valid();
        request.currency_code = "EURO".into();
        request.lines = vec![
            LineRequest {
                sku: String::new(),
                quantity: "0".into(),
                ..LineRequest::default()
            },
            LineRequest {
                sku: "SKU-2".into(),
                quantity: "1".into(),
                unit_price: Some(AmountRequest {
                    amount: "12,50".into(),
                    currency_code: "USD".into(),
                }),
                ..LineRequest::default()
            },
        ];
        request.shipping_address = None;
        let mut violations = Violations::new();
        let parsed = parse_order(&request, today(), &mut violations);
        let fields: Vec<&str> = violations
            .iter()
            .map(|violation| violation.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "currency_code",
                "lines[0].sku",
                "lines[0].quantity",
                "lines[1].unit_price.amount",
                "shipping_address"
            ],
            "{violations}"
        );
        assert!(parsed.currency_invalid);
    }

    #[test]
    fn json_numbers_for_amounts_are_refused_with_the_field() {
        let data = serde_json::json!({
            "external_order_id": "1",
            "customer_ref": "shopify:1",
            "lines": [{"sku": "A", "quantity": 2.5}],
        });
        let mut violations = Violations::new();
        let request = order_request_from_json(&data, &mut violations);
        assert_eq!(request.lines.len(), 1);
        let violation = violations.iter().next().unwrap();
        assert_eq!(violation.field, "lines[0].quantity");
        assert!(violation.description.contains("\"2.5\""), "{violation:?}");
    }

    #[test]
    fn fingerprint_changes_with_any_field_and_only_then() {
        let request = valid();
        assert_eq!(request.fingerprint(), valid().fingerprint());
        let mut changed = valid();
        changed.lines[0].quantity = "3".into();
        assert_ne!(request.fingerprint(), changed.fingerprint());
    }

    #[test]
    fn quantities_and_discounts_are_bounded() {
        assert!(parse_quantity("1.0000001").is_err());
        assert_eq!(parse_quantity("2.50").unwrap(), Decimal::new(25, 1));
        assert!(parse_quantity("-1").is_err());
        let mut violations = Violations::new();
        let discount = DiscountRequest {
            percentage: Some("120".into()),
            amount: None,
        };
        assert!(parse_discount(&discount, "d", None, &mut violations).is_none());
        assert_eq!(violations.iter().next().unwrap().field, "d.percentage");
    }
}

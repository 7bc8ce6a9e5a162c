//! The catalogue and prices, and quotes that show how a line is priced.

use chrono::NaiveDate;
use serde_json::json;

use super::CommandError;
use crate::domain::Violations;
use crate::domain::pricing::{PriceEntry, ProductInfo};
use crate::domain::request::{parse_date, parse_unit_price};
use crate::store::customers::{self, Tx};
use crate::store::pricing::{self as store, NewPrice};
use otc_shared::audit::{self, AuditEntry};
use otc_shared::ids::CustomerId;
use otc_shared::{Currency, TenantId};

pub async fn upsert_product(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    sku: &str,
    product: &ProductInfo,
) -> Result<(), CommandError> {
    let mut violations = Violations::new();
    if sku.trim().is_empty() {
        violations.add("sku", "is required");
    }
    if product.description.trim().is_empty() {
        violations.add("description", "is required");
    }
    if product.tax_code.trim().is_empty() {
        violations.add(
            "tax_code",
            "is required (the product tax code billing's tax rules use)",
        );
    }
    if !violations.is_empty() {
        return Err(CommandError::Invalid(violations));
    }
    let before = store::upsert_product(tx, tenant, sku.trim(), product).await?;
    let view = |product: &ProductInfo| json!({"description": product.description, "tax_code": product.tax_code, "active": product.active});
    audit::record(
        tx,
        AuditEntry {
            tenant,
            actor,
            action: "product.upserted",
            entity_type: "product",
            entity_id: sku.trim(),
            before: before.as_ref().map(view),
            after: Some(view(product)),
        },
    )
    .await?;
    Ok(())
}

pub struct PriceInput<'a> {
    pub customer_id: Option<&'a str>,
    pub sku: &'a str,
    pub amount: &'a str,
    pub currency_code: &'a str,
    pub valid_from: &'a str,
    pub valid_to: &'a str,
}

pub struct SetPrice {
    pub id: uuid::Uuid,
    pub customer_id: Option<CustomerId>,
    pub sku: String,
    pub currency: String,
    pub entry: PriceEntry,
}

pub async fn set_price(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    input: &PriceInput<'_>,
) -> Result<SetPrice, CommandError> {
    let mut violations = Violations::new();
    let customer_id = match input.customer_id {
        None => None,
        Some(text) => match CustomerId::parse(text) {
            Ok(id) if customers::load(tx, id).await?.is_some() => Some(id),
            Ok(id) => {
                violations.add("customer_id", format!("unknown customer {id}"));
                None
            }
            Err(error) => {
                violations.add("customer_id", error.to_string());
                None
            }
        },
    };
    let products = store::products(tx, tenant, &[input.sku.trim().to_owned()]).await?;
    if !products.contains_key(input.sku.trim()) {
        violations.add(
            "sku",
            format!("unknown SKU `{}`: add the product first", input.sku),
        );
    }
    let currency = Currency::parse(input.currency_code.trim())
        .map_err(|error| violations.add("unit_price.currency_code", error.to_string()))
        .ok();
    let unit_price = parse_unit_price(input.amount)
        .map_err(|reason| violations.add("unit_price.amount", reason))
        .ok();
    let valid_from = parse_date(input.valid_from)
        .map_err(|reason| violations.add("valid_from", reason))
        .ok();
    let valid_to: Option<NaiveDate> = if input.valid_to.trim().is_empty() {
        None
    } else {
        parse_date(input.valid_to)
            .map_err(|reason| violations.add("valid_to", reason))
            .ok()
    };
    if let (Some(from), Some(to)) = (valid_from, valid_to)
        && to < from
    {
        violations.add("valid_to", format!("{to} is before valid_from {from}"));
    }
    let (Some(currency), Some(unit_price), Some(valid_from), true) =
        (currency, unit_price, valid_from, violations.is_empty())
    else {
        return Err(CommandError::Invalid(violations));
    };
    let id = uuid::Uuid::now_v7();
    store::insert_price(
        tx,
        tenant,
        &NewPrice {
            id,
            customer_id,
            sku: input.sku.trim(),
            currency: currency.code(),
            unit_price,
            valid_from,
            valid_to,
        },
    )
    .await?;
    audit::record(
        tx,
        AuditEntry {
            tenant,
            actor,
            action: if customer_id.is_some() { "contract_price.set" } else { "list_price.set" },
            entity_type: "price",
            entity_id: &id.to_string(),
            before: None,
            after: Some(json!({
                "customer_id": customer_id, "sku": input.sku.trim(), "currency": currency.code(),
                "unit_price": unit_price.to_string(), "valid_from": valid_from, "valid_to": valid_to,
            })),
        },
    )
    .await?;
    Ok(SetPrice {
        id,
        customer_id,
        sku: input.sku.trim().to_owned(),
        currency: currency.code().to_owned(),
        entry: PriceEntry {
            unit_price,
            valid_from,
            valid_to,
        },
    })
}

//! The `commerce.fulfilments.v1` consumer: shipments reported by upstream
//! platforms or warehouses (CloudEvents in structured JSON mode, type
//! `commerce.fulfilment.shipped`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Postgres, Transaction};

use super::cloudevents;
use super::commerce_orders::handler_error;
use crate::commands::shipments::{ShipmentLineRequest, ShipmentRequest, record_shipment};
use crate::domain::Violations;
use crate::domain::request::json_string;
use crate::store::orders;
use otc_shared::TenantId;
use otc_shared::ids::OrderId;
use otc_shared::inbox::{EventHandler, HandlerError, IncomingRecord};

pub const FULFILMENT_SHIPPED: &str = "commerce.fulfilment.shipped";

pub struct CommerceFulfilments;

fn string_field(data: &Value, name: &str, violations: &mut Violations) -> String {
    json_string(data.get(name), name, violations)
        .map(|text| text.trim().to_owned())
        .unwrap_or_default()
}

impl EventHandler for CommerceFulfilments {
    fn event_id(&self, record: &IncomingRecord) -> Result<String, HandlerError> {
        cloudevents::dedupe_id(record).ok_or_else(|| {
            HandlerError::Rejected("id: a CloudEvent needs `id` and `source`".to_owned())
        })
    }

    fn tenant(&self, record: &IncomingRecord) -> Option<String> {
        cloudevents::tenant_of(record)
    }

    async fn apply(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        record: &IncomingRecord,
    ) -> Result<(), HandlerError> {
        let event = cloudevents::parse(record)
            .map_err(|violations| HandlerError::Rejected(violations.to_lines()))?;
        let tenant = TenantId::parse(&event.tenant)
            .map_err(|error| HandlerError::Rejected(format!("tenant: {error}")))?;
        if event.event_type != FULFILMENT_SHIPPED {
            return Err(HandlerError::Rejected(format!(
                "type: `{}` is not accepted here (expected {FULFILMENT_SHIPPED})",
                event.event_type
            )));
        }
        let data = &event.data;
        let mut violations = Violations::new();
        let order_id_text = string_field(data, "order_id", &mut violations);
        let external_order_id = string_field(data, "external_order_id", &mut violations);
        let order_source = Some(string_field(data, "order_source", &mut violations))
            .filter(|source| !source.is_empty())
            .unwrap_or_else(|| event.source.clone());
        let shipment_id = string_field(data, "shipment_id", &mut violations);
        if shipment_id.is_empty() {
            violations.add("shipment_id", "is required");
        }
        let shipped_at: DateTime<Utc> = match data.get("shipped_at").and_then(Value::as_str) {
            Some(text) => DateTime::parse_from_rfc3339(text)
                .map(|time| time.with_timezone(&Utc))
                .unwrap_or_else(|_| {
                    violations.add(
                        "shipped_at",
                        format!("`{text}` is not an RFC 3339 timestamp"),
                    );
                    Utc::now()
                }),
            None => event.time.unwrap_or_else(otc_shared::time::now),
        };
        let mut lines = Vec::new();
        match data.get("lines") {
            Some(Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    let mut line_violations = Violations::new();
                    let line = ShipmentLineRequest {
                        line_id: string_field(item, "line_id", &mut line_violations),
                        sku: string_field(item, "sku", &mut line_violations),
                        quantity: string_field(item, "quantity", &mut line_violations),
                    };
                    for violation in line_violations.iter() {
                        violations.add(
                            &format!("lines[{index}].{}", violation.field),
                            violation.description.clone(),
                        );
                    }
                    lines.push(line);
                }
            }
            _ => violations.add(
                "lines",
                "is required (an array of {line_id or sku, quantity})",
            ),
        }
        let order = if !order_id_text.is_empty() {
            match OrderId::parse(&order_id_text) {
                Ok(id) => orders::lock(tx, id)
                    .await
                    .map_err(|error| handler_error(error.into()))?,
                Err(error) => {
                    violations.add("order_id", error.to_string());
                    None
                }
            }
        } else if !external_order_id.is_empty() {
            orders::lock_by_source(tx, &tenant, &order_source, &external_order_id)
                .await
                .map_err(|error| handler_error(error.into()))?
        } else {
            violations.add("order_id", "give order_id, or external_order_id (with order_source if it differs from the event's source)");
            None
        };
        if !violations.is_empty() {
            return Err(HandlerError::Rejected(violations.to_lines()));
        }
        let Some(order) = order else {
            return Err(HandlerError::Rejected(format!(
                "external_order_id: no order `{external_order_id}{order_id_text}` from {order_source}"
            )));
        };
        let request = ShipmentRequest {
            external_shipment_id: shipment_id,
            lines,
            shipped_at,
        };
        let actor = format!("upstream:{}", event.source);
        record_shipment(tx, &tenant, &actor, order.id, &request)
            .await
            .map_err(handler_error)?;
        Ok(())
    }
}

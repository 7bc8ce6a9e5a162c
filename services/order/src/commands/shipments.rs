//! Recording shipments: partial shipments allowed, never more than ordered,
//! idempotent on the shipment's external id.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::CommandError;
use super::orders::{audit_view, load};
use crate::domain::Violations;
use crate::domain::lifecycle::{self, Command};
use crate::domain::request::parse_quantity;
use crate::domain::shipping::shipped_share;
use crate::events::outgoing;
use crate::store::customers::Tx;
use crate::store::orders::{self, OrderRecord};
use otc_proto::events as proto;
use otc_shared::audit::{self, AuditEntry};
use otc_shared::domain::OrderStatus;
use otc_shared::ids::OrderId;
use otc_shared::{Money, TenantId, outbox};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShipmentLineRequest {
    pub line_id: String,
    pub sku: String,
    pub quantity: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentRequest {
    pub external_shipment_id: String,
    pub lines: Vec<ShipmentLineRequest>,
    pub shipped_at: DateTime<Utc>,
}

/// A shipped line as stored with the shipment (and published).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredShippedLine {
    pub line_id: String,
    pub sku: String,
    pub quantity: Decimal,
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordedShipment {
    pub shipment_id: uuid::Uuid,
    /// False when this shipment id had been recorded before (nothing changed).
    pub newly_recorded: bool,
    pub event: proto::ShipmentRecorded,
    pub order: OrderRecord,
}

fn shipped_line_event(stored: &StoredShippedLine, order: &OrderRecord) -> proto::ShippedLine {
    let currency = &order.header.currency;
    let line = order
        .lines
        .iter()
        .find(|line| line.line_id == stored.line_id);
    proto::ShippedLine {
        line_id: stored.line_id.clone(),
        sku: stored.sku.clone(),
        quantity: stored.quantity.normalize().to_string(),
        unit_price: line.map(|line| outgoing::money(line.unit_price.normalize(), currency)),
        amount: Some(outgoing::minor(stored.amount, currency)),
        tax_code: line.map(|line| line.tax_code.clone()).unwrap_or_default(),
        description: line
            .map(|line| line.description.clone())
            .unwrap_or_default(),
    }
}

fn event_for(
    shipment_id: uuid::Uuid,
    external_shipment_id: &str,
    lines: &[StoredShippedLine],
    shipped_at: DateTime<Utc>,
    order: &OrderRecord,
) -> proto::ShipmentRecorded {
    proto::ShipmentRecorded {
        shipment_id: shipment_id.to_string(),
        order_id: order.header.id.to_string(),
        customer_id: order.header.customer_id.to_string(),
        lines: lines
            .iter()
            .map(|line| shipped_line_event(line, order))
            .collect(),
        shipped_at: Some(otc_shared::time::to_proto(shipped_at)),
        external_shipment_id: external_shipment_id.to_owned(),
        order_status: order.header.status.clone(),
    }
}

pub async fn record_shipment(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    order_id: OrderId,
    request: &ShipmentRequest,
) -> Result<RecordedShipment, CommandError> {
    orders::lock(tx, order_id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("order {order_id} not found")))?;
    let external_id = request.external_shipment_id.trim();
    if external_id.is_empty() {
        return Err(CommandError::invalid("external_shipment_id", "is required"));
    }
    if let Some((id, lines, shipped_at)) =
        orders::shipment_by_external_id(tx, order_id, external_id).await?
    {
        let order = load(tx, order_id).await?;
        let lines: Vec<StoredShippedLine> = serde_json::from_value(lines).unwrap_or_default();
        return Ok(RecordedShipment {
            shipment_id: id,
            newly_recorded: false,
            event: event_for(id, external_id, &lines, shipped_at, &order),
            order,
        });
    }
    let before = load(tx, order_id).await?;
    let status = before
        .header
        .status
        .parse::<OrderStatus>()
        .map_err(|error| CommandError::FailedPrecondition(error.to_string()))?;
    lifecycle::allows(status, Command::Ship).map_err(CommandError::FailedPrecondition)?;

    let mut violations = Violations::new();
    if request.lines.is_empty() {
        violations.add("lines", "a shipment needs at least one line");
    }
    // Quantities per order line (a line may appear twice in one shipment).
    let mut shipping: Vec<(String, Decimal, usize)> = Vec::new();
    for (index, line) in request.lines.iter().enumerate() {
        let field = format!("lines[{index}]");
        let order_line = if !line.line_id.trim().is_empty() {
            let found = before
                .lines
                .iter()
                .find(|candidate| candidate.line_id == line.line_id.trim());
            if found.is_none() {
                violations.add(
                    &format!("{field}.line_id"),
                    format!("the order has no line `{}`", line.line_id.trim()),
                );
            }
            found
        } else if !line.sku.trim().is_empty() {
            let matching: Vec<_> = before
                .lines
                .iter()
                .filter(|candidate| candidate.sku == line.sku.trim())
                .collect();
            match matching.as_slice() {
                [only] => Some(*only),
                [] => {
                    violations.add(
                        &format!("{field}.sku"),
                        format!("the order has no line of SKU `{}`", line.sku.trim()),
                    );
                    None
                }
                _ => {
                    violations.add(
                        &format!("{field}.line_id"),
                        format!(
                            "the order has several lines of SKU `{}`: name the line",
                            line.sku.trim()
                        ),
                    );
                    None
                }
            }
        } else {
            violations.add(&format!("{field}.line_id"), "give the line id (or the SKU)");
            None
        };
        let quantity = match parse_quantity(&line.quantity) {
            Ok(quantity) => Some(quantity),
            Err(reason) => {
                violations.add(&format!("{field}.quantity"), reason);
                None
            }
        };
        if let (Some(order_line), Some(quantity)) = (order_line, quantity) {
            match shipping
                .iter_mut()
                .find(|(line_id, _, _)| *line_id == order_line.line_id)
            {
                Some(entry) => entry.1 += quantity,
                None => shipping.push((order_line.line_id.clone(), quantity, index)),
            }
        }
    }
    let currency = before.header.currency.clone();
    let mut stored_lines = Vec::with_capacity(shipping.len());
    let by_id: HashMap<&str, _> = before
        .lines
        .iter()
        .map(|line| (line.line_id.as_str(), line))
        .collect();
    for (line_id, quantity, index) in &shipping {
        let Some(line) = by_id.get(line_id.as_str()) else {
            continue;
        };
        let amounts = (
            Money::from_columns(line.line_amount, &currency),
            Money::from_columns(line.shipped_amount, &currency),
        );
        let (Ok(line_amount), Ok(shipped_before)) = amounts else {
            violations.add(
                &format!("lines[{index}]"),
                "stored amounts are not valid money",
            );
            continue;
        };
        match shipped_share(
            line.quantity,
            &line_amount,
            line.shipped_quantity,
            &shipped_before,
            *quantity,
        ) {
            Ok(share) => stored_lines.push(StoredShippedLine {
                line_id: line_id.clone(),
                sku: line.sku.clone(),
                quantity: *quantity,
                amount: share.amount(),
            }),
            Err(error) => violations.add(
                &format!("lines[{index}].quantity"),
                format!("line `{line_id}` {error}"),
            ),
        }
    }
    if !violations.is_empty() {
        return Err(CommandError::Invalid(violations));
    }
    for line in &stored_lines {
        orders::record_line_shipment(tx, order_id, &line.line_id, line.quantity, line.amount)
            .await?;
    }
    let lines_after = orders::lines(tx, order_id).await?;
    let all_shipped = lines_after
        .iter()
        .all(|line| line.shipped_quantity >= line.quantity);
    let new_status = lifecycle::after_shipment(all_shipped);
    orders::set_status(tx, order_id, new_status.as_str(), None).await?;
    let shipment_id = uuid::Uuid::now_v7();
    let lines_json = serde_json::to_value(&stored_lines).unwrap_or_default();
    orders::insert_shipment(
        tx,
        tenant,
        shipment_id,
        order_id,
        external_id,
        &lines_json,
        request.shipped_at,
    )
    .await?;
    let after = load(tx, order_id).await?;
    let event = event_for(
        shipment_id,
        external_id,
        &stored_lines,
        request.shipped_at,
        &after,
    );
    outbox::enqueue(tx, &outgoing::shipment_recorded(tenant, &after, &event)).await?;
    audit::record(
        tx,
        AuditEntry {
            tenant,
            actor,
            action: "order.shipment_recorded",
            entity_type: "order",
            entity_id: &order_id.to_string(),
            before: Some(audit_view(&before)),
            after: Some(serde_json::json!({"order": audit_view(&after), "shipment_id": shipment_id, "external_shipment_id": external_id, "lines": lines_json})),
        },
    )
    .await?;
    Ok(RecordedShipment {
        shipment_id,
        newly_recorded: true,
        event,
        order: after,
    })
}

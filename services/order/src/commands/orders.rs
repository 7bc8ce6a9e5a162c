//! Placing, amending, cancelling, closing and credit decisions on orders.

use chrono::NaiveDate;
use serde_json::json;

use super::CommandError;
use crate::domain::Violations;
use crate::domain::lifecycle::{self, Command};
use crate::domain::pricing::{self, LineLookup, PricedOrder};
use crate::domain::request::{self, CustomerRef, OrderRequest, ParsedOrder};
use crate::events::outgoing;
use crate::store::customers::{self, Tx};
use crate::store::orders::{self, NewOrder, OrderRecord};
use crate::store::pricing as price_store;
use otc_shared::audit::{self, AuditEntry};
use otc_shared::domain::OrderStatus;
use otc_shared::ids::{CustomerId, OrderId};
use otc_shared::outbox;
use otc_shared::{Currency, TenantId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementOutcome {
    Placed,
    /// The same request again: nothing changed.
    Unchanged,
    Amended,
}

fn status_of(record: &OrderRecord) -> Result<OrderStatus, CommandError> {
    record
        .header
        .status
        .parse::<OrderStatus>()
        .map_err(|error| CommandError::FailedPrecondition(format!("stored status: {error}")))
}

pub fn audit_view(order: &OrderRecord) -> serde_json::Value {
    json!({
        "status": order.header.status,
        "revision": order.header.revision,
        "total": format!("{} {}", order.header.total, order.header.currency),
        "lines": order.lines.iter().map(|line| json!({
            "line_id": line.line_id, "sku": line.sku,
            "quantity": line.quantity.normalize().to_string(),
            "unit_price": line.unit_price.normalize().to_string(),
            "line_amount": line.line_amount.to_string(),
            "shipped_quantity": line.shipped_quantity.normalize().to_string(),
        })).collect::<Vec<_>>(),
    })
}

pub async fn load(tx: &mut Tx, id: OrderId) -> Result<OrderRecord, CommandError> {
    orders::load(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("order {id} not found")))
}

/// Resolves the customer and prices the order, adding to `violations`.
async fn validate_and_price(
    tx: &mut Tx,
    tenant: &TenantId,
    parsed: &ParsedOrder,
    violations: &mut Violations,
) -> Result<Option<(CustomerId, PricedOrder)>, CommandError> {
    let customer = match &parsed.customer_ref {
        None => None,
        Some(reference) => {
            let record = match reference {
                CustomerRef::Id(id) => customers::ordering_terms(tx, *id).await?,
                CustomerRef::External {
                    platform,
                    external_id,
                } => {
                    customers::ordering_terms_by_reference(tx, tenant, platform, external_id)
                        .await?
                }
            };
            match record {
                None => {
                    violations.add("customer_ref", format!("unknown customer `{reference}`"));
                    None
                }
                Some(record) if record.status != "active" => {
                    violations.add(
                        "customer_ref",
                        format!(
                            "customer `{reference}` is {} and cannot order",
                            record.status
                        ),
                    );
                    None
                }
                Some(record) => Some(record),
            }
        }
    };
    let currency: Option<Currency> = match (&customer, parsed.currency) {
        (Some(customer), Some(currency)) if customer.currency != currency.code() => {
            violations.add(
                "currency_code",
                format!(
                    "{currency} does not match the customer's currency {}",
                    customer.currency
                ),
            );
            None
        }
        (_, Some(currency)) => Some(currency),
        (Some(customer), None) if !parsed.currency_invalid => {
            Currency::parse(&customer.currency).ok()
        }
        _ => None,
    };
    // With no order currency given, source prices must be in the customer's.
    if let (Some(customer), None) = (&customer, parsed.currency) {
        for line in &parsed.lines {
            if let Some(price_currency) = line.source_price_currency
                && price_currency.code() != customer.currency
            {
                violations.add(
                    &format!("lines[{}].unit_price.currency_code", line.index),
                    format!(
                        "{price_currency} does not match the customer's currency {}",
                        customer.currency
                    ),
                );
            }
        }
    }
    let skus: Vec<String> = parsed
        .lines
        .iter()
        .map(|line| line.sku.clone())
        .filter(|sku| !sku.is_empty())
        .collect();
    let products = price_store::products(tx, tenant, &skus).await?;
    let prices = match (&customer, currency) {
        (Some(customer), Some(currency)) => {
            price_store::prices_on(
                tx,
                tenant,
                &skus,
                currency.code(),
                customer.id,
                parsed.order_date,
            )
            .await?
        }
        _ => Default::default(),
    };
    let lookups: Vec<(request::ParsedLine, LineLookup)> = parsed
        .lines
        .iter()
        .map(|line| {
            let (contract_price, list_price) = prices.get(&line.sku).copied().unwrap_or_default();
            (
                line.clone(),
                LineLookup {
                    product: products.get(&line.sku).cloned(),
                    contract_price,
                    list_price,
                },
            )
        })
        .collect();
    let (Some(customer), Some(currency)) = (customer, currency) else {
        // Still report unknown SKUs and unparseable lines.
        for (line, lookup) in &lookups {
            if lookup.product.is_none() && !line.sku.is_empty() {
                violations.add(
                    &format!("lines[{}].sku", line.index),
                    format!("unknown SKU `{}`", line.sku),
                );
            }
        }
        return Ok(None);
    };
    let priced = pricing::price_order(
        currency,
        parsed.order_date,
        &lookups,
        parsed.order_discount,
        violations,
    );
    Ok(priced.map(|priced| (customer.id, priced)))
}

/// Places an order, or recognises a repeat, or amends an unshipped one.
pub async fn place_order(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    request: &OrderRequest,
    today: NaiveDate,
    notify_credit_worker: bool,
) -> Result<(PlacementOutcome, OrderRecord), CommandError> {
    let fingerprint = request.fingerprint();
    let existing =
        if request.source.trim().is_empty() || request.external_order_id.trim().is_empty() {
            None
        } else {
            orders::lock_by_source(
                tx,
                tenant,
                request.source.trim(),
                request.external_order_id.trim(),
            )
            .await?
        };
    if let Some(existing) = &existing
        && existing.input_hash == fingerprint
    {
        return Ok((PlacementOutcome::Unchanged, load(tx, existing.id).await?));
    }
    let mut violations = Violations::new();
    let parsed = request::parse_order(request, today, &mut violations);
    let priced = validate_and_price(tx, tenant, &parsed, &mut violations).await?;
    let Some((customer_id, priced)) = priced.filter(|_| violations.is_empty()) else {
        return Err(CommandError::Invalid(violations));
    };
    match existing {
        None => {
            let id = OrderId::new();
            let new_order = NewOrder {
                id,
                customer_id,
                source: &parsed.source,
                external_order_id: &parsed.external_order_id,
                currency: priced.currency.code(),
                total: priced.total.amount(),
                input_hash: &fingerprint,
                shipping_address: &parsed.shipping_address,
                order_date: parsed.order_date,
            };
            let record = orders::insert(tx, tenant, &new_order, &priced.lines).await?;
            outbox::enqueue(tx, &outgoing::order_placed(tenant, &record)).await?;
            audit::record(
                tx,
                AuditEntry {
                    tenant,
                    actor,
                    action: "order.placed",
                    entity_type: "order",
                    entity_id: &id.to_string(),
                    before: None,
                    after: Some(audit_view(&record)),
                },
            )
            .await?;
            if notify_credit_worker {
                orders::notify_credit_worker(tx).await?;
            }
            Ok((PlacementOutcome::Placed, record))
        }
        Some(existing) => {
            let before = load(tx, existing.id).await?;
            let status = status_of(&before)?;
            lifecycle::allows(status, Command::Amend).map_err(|reason| {
                CommandError::invalid(
                    "external_order_id",
                    format!(
                        "order {} from {}: {reason}",
                        parsed.external_order_id, parsed.source
                    ),
                )
            })?;
            if before.header.customer_id != customer_id {
                return Err(CommandError::invalid(
                    "customer_ref",
                    "an amendment cannot move the order to another customer",
                ));
            }
            if before.header.currency != priced.currency.code() {
                return Err(CommandError::invalid(
                    "currency_code",
                    format!(
                        "an amendment cannot change the currency from {}",
                        before.header.currency
                    ),
                ));
            }
            // More to pay means a new credit decision; a held order is asked again.
            let new_status = match status {
                OrderStatus::Approved if priced.total.amount() > before.header.total => {
                    OrderStatus::PendingCredit
                }
                other => other,
            };
            let amended = NewOrder {
                id: existing.id,
                customer_id,
                source: &parsed.source,
                external_order_id: &parsed.external_order_id,
                currency: priced.currency.code(),
                total: priced.total.amount(),
                input_hash: &fingerprint,
                shipping_address: &parsed.shipping_address,
                order_date: parsed.order_date,
            };
            orders::amend(tx, tenant, &amended, &priced.lines, new_status.as_str()).await?;
            let record = load(tx, existing.id).await?;
            outbox::enqueue(
                tx,
                &outgoing::order_amended(tenant, &record, before.header.total),
            )
            .await?;
            audit::record(
                tx,
                AuditEntry {
                    tenant,
                    actor,
                    action: "order.amended",
                    entity_type: "order",
                    entity_id: &existing.id.to_string(),
                    before: Some(audit_view(&before)),
                    after: Some(audit_view(&record)),
                },
            )
            .await?;
            if notify_credit_worker {
                orders::notify_credit_worker(tx).await?;
            }
            Ok((PlacementOutcome::Amended, record))
        }
    }
}

/// A lifecycle step a person asks for.
struct Transition<'a> {
    command: Command,
    new_status: OrderStatus,
    action: &'a str,
    note: Option<&'a str>,
}

async fn transition(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    id: OrderId,
    step: Transition<'_>,
) -> Result<(OrderRecord, OrderRecord), CommandError> {
    let Transition {
        command,
        new_status,
        action,
        note,
    } = step;
    orders::lock(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("order {id} not found")))?;
    let before = load(tx, id).await?;
    lifecycle::allows(status_of(&before)?, command).map_err(CommandError::FailedPrecondition)?;
    orders::set_status(tx, id, new_status.as_str(), note).await?;
    let after = load(tx, id).await?;
    audit::record(
        tx,
        AuditEntry {
            tenant,
            actor,
            action,
            entity_type: "order",
            entity_id: &id.to_string(),
            before: Some(audit_view(&before)),
            after: Some(audit_view(&after)),
        },
    )
    .await?;
    Ok((before, after))
}

pub async fn cancel(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    id: OrderId,
    reason: &str,
) -> Result<OrderRecord, CommandError> {
    if reason.trim().is_empty() {
        return Err(CommandError::invalid(
            "reason",
            "say why the order is cancelled",
        ));
    }
    let (_, after) = transition(
        tx,
        tenant,
        actor,
        id,
        Transition {
            command: Command::Cancel,
            new_status: OrderStatus::Cancelled,
            action: "order.cancelled",
            note: None,
        },
    )
    .await?;
    outbox::enqueue(
        tx,
        &outgoing::order_cancelled(tenant, &after, reason.trim()),
    )
    .await?;
    Ok(after)
}

pub async fn close(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    id: OrderId,
) -> Result<OrderRecord, CommandError> {
    let (_, after) = transition(
        tx,
        tenant,
        actor,
        id,
        Transition {
            command: Command::Close,
            new_status: OrderStatus::Closed,
            action: "order.closed",
            note: None,
        },
    )
    .await?;
    outbox::enqueue(tx, &outgoing::order_closed(tenant, &after)).await?;
    Ok(after)
}

/// A credit manager's release of a held order.
pub async fn release_hold(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    id: OrderId,
    reason: &str,
) -> Result<OrderRecord, CommandError> {
    if reason.trim().is_empty() {
        return Err(CommandError::invalid(
            "reason",
            "say why the hold is released",
        ));
    }
    let note = format!("released by {actor}: {}", reason.trim());
    let (_, after) = transition(
        tx,
        tenant,
        actor,
        id,
        Transition {
            command: Command::ReleaseHold,
            new_status: OrderStatus::Approved,
            action: "order.credit_hold_released",
            note: Some(&note),
        },
    )
    .await?;
    outbox::enqueue(
        tx,
        &outgoing::order_released(tenant, &after, actor, reason.trim()),
    )
    .await?;
    Ok(after)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditDecision {
    Approve { summary: String },
    Hold { reason: String },
}

/// Applies collections' answer, if the order is still the revision that was
/// asked about and still waiting; `None` if it moved on meanwhile.
pub async fn apply_credit_decision(
    tx: &mut Tx,
    tenant: &TenantId,
    id: OrderId,
    asked_revision: i32,
    decision: &CreditDecision,
) -> Result<Option<OrderRecord>, CommandError> {
    let Some(header) = orders::lock(tx, id).await? else {
        return Ok(None);
    };
    let status = header
        .status
        .parse::<OrderStatus>()
        .map_err(|error| CommandError::FailedPrecondition(error.to_string()))?;
    if header.revision != asked_revision
        || lifecycle::allows(status, Command::DecideCredit).is_err()
    {
        return Ok(None);
    }
    let actor = super::system_actor("credit-check");
    let before = OrderRecord {
        lines: orders::lines(tx, id).await?,
        header,
    };
    let (new_status, note, action) = match (decision, status) {
        (CreditDecision::Approve { summary }, OrderStatus::OnCreditHold) => (
            OrderStatus::Approved,
            summary.clone(),
            "order.credit_hold_released",
        ),
        (CreditDecision::Approve { summary }, _) => {
            (OrderStatus::Approved, summary.clone(), "order.approved")
        }
        (CreditDecision::Hold { reason }, OrderStatus::OnCreditHold) => {
            // Still over: stays held, waiting for the next release event.
            orders::set_status(tx, id, OrderStatus::OnCreditHold.as_str(), Some(reason)).await?;
            return Ok(None);
        }
        (CreditDecision::Hold { reason }, _) => (
            OrderStatus::OnCreditHold,
            reason.clone(),
            "order.put_on_credit_hold",
        ),
    };
    let updated_at = orders::set_status(tx, id, new_status.as_str(), Some(&note)).await?;
    let mut after = before.clone();
    after.header.status = new_status.as_str().to_owned();
    after.header.credit_note = Some(note.clone());
    after.header.updated_at = updated_at;
    let event = match (new_status, status) {
        (OrderStatus::Approved, OrderStatus::OnCreditHold) => {
            outgoing::order_released(tenant, &after, "collections", &note)
        }
        (OrderStatus::Approved, _) => outgoing::order_approved(tenant, &after),
        _ => outgoing::order_put_on_credit_hold(tenant, &after, &note),
    };
    outbox::enqueue(tx, &event).await?;
    audit::record(
        tx,
        AuditEntry {
            tenant,
            actor: &actor,
            action,
            entity_type: "order",
            entity_id: &id.to_string(),
            before: Some(audit_view(&before)),
            after: Some(audit_view(&after)),
        },
    )
    .await?;
    Ok(Some(after))
}

/// How a line would be priced for a customer on a date.
pub async fn quote(
    tx: &mut Tx,
    tenant: &TenantId,
    customer_ref: &str,
    sku: &str,
    quantity: &str,
    on_date: NaiveDate,
) -> Result<pricing::PricedLine, CommandError> {
    let request = OrderRequest {
        source: "quote".to_owned(),
        external_order_id: "quote".to_owned(),
        customer_ref: customer_ref.to_owned(),
        lines: vec![request::LineRequest {
            sku: sku.to_owned(),
            quantity: quantity.to_owned(),
            ..request::LineRequest::default()
        }],
        shipping_address: Some(crate::domain::Address {
            lines: vec!["-".to_owned()],
            city: "-".to_owned(),
            country_code: "ZZ".to_owned(),
            ..crate::domain::Address::default()
        }),
        ..OrderRequest::default()
    };
    let mut parse_violations = Violations::new();
    let parsed = request::parse_order(&request, on_date, &mut parse_violations);
    // A quote names its fields as QuotePriceRequest does.
    let mut violations = Violations::new();
    for violation in parse_violations.iter() {
        violations.add(
            &violation
                .field
                .replace("lines[0].", "")
                .replace("customer_ref", "customer_id"),
            violation.description.clone(),
        );
    }
    let mut pricing_violations = Violations::new();
    let priced = validate_and_price(tx, tenant, &parsed, &mut pricing_violations).await?;
    for violation in pricing_violations.iter() {
        violations.add(
            &violation
                .field
                .replace("lines[0].", "")
                .replace("customer_ref", "customer_id"),
            violation.description.clone(),
        );
    }
    match priced.and_then(|(_, order)| order.lines.into_iter().next()) {
        Some(line) if violations.is_empty() => Ok(line),
        _ => Err(CommandError::Invalid(violations)),
    }
}

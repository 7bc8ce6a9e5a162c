//! The `commerce.orders.v1` consumer: upstream orders (placed, amended,
//! cancelled) through the same validation and commands as gRPC. A bad event
//! goes to the DLQ with its violations, and `OrderRejected` tells the source.

use serde_json::Value;
use sqlx::{Postgres, Transaction};

use super::cloudevents::{self, StructuredEvent};
use super::outgoing;
use crate::commands::{self, CommandError};
use crate::domain::Violations;
use crate::domain::request::order_request_from_json;
use otc_proto::events::{FieldViolation, OrderRejected};
use otc_shared::inbox::{EventHandler, HandlerError, IncomingRecord};
use otc_shared::{TenantId, outbox};

/// `type` of an order placed or changed upstream.
pub const ORDER_PLACED: &str = "commerce.order.placed";
/// `type` of an order cancelled upstream (before anything shipped).
pub const ORDER_CANCELLED: &str = "commerce.order.cancelled";

pub struct CommerceOrders;

/// Maps a command's refusal onto the consumer's: bad data is rejected (and
/// dead-lettered); a uniqueness race or an outage is retried.
pub fn handler_error(error: CommandError) -> HandlerError {
    match error {
        CommandError::Invalid(violations) => HandlerError::Rejected(violations.to_lines()),
        CommandError::NotFound(reason) | CommandError::FailedPrecondition(reason) => {
            HandlerError::Rejected(reason)
        }
        CommandError::Aborted(reason) => HandlerError::Transient(anyhow::anyhow!(reason)),
        CommandError::AlreadyExists(reason) => HandlerError::Rejected(reason),
        CommandError::Database(sqlx::Error::Database(database_error))
            if database_error.code().as_deref() == Some("23505") =>
        {
            HandlerError::Transient(anyhow::anyhow!(
                "concurrent insert, retrying: {database_error}"
            ))
        }
        CommandError::Database(error) => HandlerError::from(error),
    }
}

fn parse(record: &IncomingRecord) -> Result<(StructuredEvent, TenantId), HandlerError> {
    let event = cloudevents::parse(record)
        .map_err(|violations| HandlerError::Rejected(violations.to_lines()))?;
    let tenant = TenantId::parse(&event.tenant)
        .map_err(|error| HandlerError::Rejected(format!("tenant: {error}")))?;
    Ok((event, tenant))
}

impl EventHandler for CommerceOrders {
    fn event_id(&self, record: &IncomingRecord) -> Result<String, HandlerError> {
        cloudevents::dedupe_id(record).ok_or_else(|| {
            HandlerError::Rejected(
                "id: a CloudEvent needs `id` and `source` (the record is not a JSON CloudEvent)"
                    .to_owned(),
            )
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
        let (event, tenant) = parse(record)?;
        let actor = format!("upstream:{}", event.source);
        match event.event_type.as_str() {
            ORDER_PLACED => {
                let mut violations = Violations::new();
                let mut request = order_request_from_json(&event.data, &mut violations);
                request.source = event.source.clone();
                if !violations.is_empty() {
                    return Err(HandlerError::Rejected(violations.to_lines()));
                }
                let today = event
                    .time
                    .unwrap_or_else(otc_shared::time::now)
                    .date_naive();
                commands::orders::place_order(tx, &tenant, &actor, &request, today, true)
                    .await
                    .map_err(handler_error)?;
                Ok(())
            }
            ORDER_CANCELLED => {
                let external_order_id = event
                    .data
                    .get("external_order_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let reason = event
                    .data
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("cancelled at the source");
                let Some(order) = crate::store::orders::lock_by_source(
                    tx,
                    &tenant,
                    &event.source,
                    external_order_id,
                )
                .await
                .map_err(|error| handler_error(error.into()))?
                else {
                    return Err(HandlerError::Rejected(format!(
                        "external_order_id: no order `{external_order_id}` from {}",
                        event.source
                    )));
                };
                if order.status == "cancelled" {
                    return Ok(());
                }
                commands::orders::cancel(tx, &tenant, &actor, order.id, reason)
                    .await
                    .map_err(handler_error)?;
                Ok(())
            }
            other => Err(HandlerError::Rejected(format!(
                "type: `{other}` is not accepted here (expected {ORDER_PLACED} or {ORDER_CANCELLED})"
            ))),
        }
    }

    async fn dead_lettered(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        record: &IncomingRecord,
        reason: &str,
    ) -> Result<(), HandlerError> {
        let Some(tenant) =
            cloudevents::tenant_of(record).and_then(|tenant| TenantId::parse(&tenant).ok())
        else {
            tracing::warn!(
                "rejected upstream order has no valid tenant: no OrderRejected can be addressed"
            );
            return Ok(());
        };
        let body: Value = serde_json::from_slice(&record.payload).unwrap_or(Value::Null);
        let text =
            |value: Option<&Value>| value.and_then(Value::as_str).unwrap_or_default().to_owned();
        let data = body.get("data");
        let message = OrderRejected {
            source: text(body.get("source")),
            external_order_id: text(data.and_then(|data| data.get("external_order_id"))),
            upstream_event_id: text(body.get("id")),
            violations: Violations::parse_lines(reason)
                .into_vec()
                .into_iter()
                .map(|violation| FieldViolation {
                    field: violation.field,
                    description: violation.description,
                })
                .collect(),
            customer_ref: text(data.and_then(|data| data.get("customer_ref"))),
        };
        outbox::enqueue(tx, &outgoing::order_rejected(&tenant, &message)).await?;
        Ok(())
    }
}

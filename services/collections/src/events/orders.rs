//! The order service's facts: customers (master data the ledger names and
//! a blocked status credit control holds on), and the orders that make up
//! unbilled exposure (see [`crate::domain::orders`] for the rule).

use rust_decimal::Decimal;
use uuid::Uuid;

use super::amount;
use super::consumer::{Incoming, Touched, Tx};
use crate::commands::credit_control::{ensure_held, position};
use crate::domain::credit;
use crate::domain::orders::OrderState;
use crate::store::credit as credit_store;
use crate::store::customers::{self, MasterData};
use crate::store::orders::{self, HoldOutcome, OrderFigures};
use otc_proto::events as proto;
use otc_proto::types::Money;
use otc_shared::address::Address;
use otc_shared::event_fields::{rejected, uuid};
use otc_shared::inbox::HandlerError;

pub async fn customer_upserted(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let upserted: proto::CustomerUpserted = event.record.decode()?;
    let id = uuid("customer_id", &upserted.customer_id)?;
    let changed = customers::upsert(
        tx,
        event.tenant.as_str(),
        &MasterData {
            id,
            legal_name: &upserted.legal_name,
            currency: Some(upserted.currency_code.trim()).filter(|code| !code.is_empty()),
            segment: &upserted.segment,
            tax_region: upserted.tax_region.trim(),
            billing_address: Address::from_proto(upserted.billing_address.as_ref())
                .map(serde_json::to_value)
                .transpose()
                .map_err(|error| {
                    HandlerError::Rejected(format!("billing_address cannot be stored: {error}"))
                })?,
            status: &upserted.status,
            version: i64::try_from(upserted.version).unwrap_or(i64::MAX),
        },
    )
    .await?;
    // A blocked (or unblocked) customer decides differently from now on.
    Ok(if changed { vec![id] } else { Vec::new() })
}

async fn approve(
    tx: &mut Tx,
    event: &Incoming<'_>,
    order_id: &str,
    customer_id: &str,
    value: Option<&Money>,
) -> Result<Touched, HandlerError> {
    let order_id = uuid("order_id", order_id)?;
    let customer_id = uuid("customer_id", customer_id)?;
    if value.is_none() {
        orders::set_state(tx, order_id, OrderState::Approved).await?;
        return Ok(vec![customer_id]);
    }
    let (total, currency) = amount("total", value)?;
    let figures = OrderFigures {
        order_id,
        customer_id,
        currency: &currency,
        total,
    };
    orders::set(tx, event.tenant.as_str(), &figures, OrderState::Approved).await?;
    Ok(vec![customer_id])
}

pub async fn order_approved(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let approved: proto::OrderApproved = event.record.decode()?;
    approve(
        tx,
        event,
        &approved.order_id,
        &approved.customer_id,
        approved.total.as_ref(),
    )
    .await
}

pub async fn order_released(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let released: proto::OrderReleased = event.record.decode()?;
    approve(
        tx,
        event,
        &released.order_id,
        &released.customer_id,
        released.total.as_ref(),
    )
    .await
}

pub async fn order_amended(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let amended: proto::OrderAmended = event.record.decode()?;
    let customer_id = uuid("customer_id", &amended.customer_id)?;
    let (total, currency) = amount("total", amended.total.as_ref())?;
    let figures = OrderFigures {
        order_id: uuid("order_id", &amended.order_id)?,
        customer_id,
        currency: &currency,
        total,
    };
    let state_if_new = OrderState::of_order_status(&amended.status);
    orders::amend(tx, event.tenant.as_str(), &figures, state_if_new).await?;
    Ok(vec![customer_id])
}

/// The customer goes on hold (told once), unless the event is older than
/// a later credit check of the order; then it is re-assessed, so that a
/// change that came in between (a payment) releases it again at once.
pub async fn order_put_on_credit_hold(
    tx: &mut Tx,
    event: &Incoming<'_>,
) -> Result<Touched, HandlerError> {
    let held: proto::OrderPutOnCreditHold = event.record.decode()?;
    let order_id = uuid("order_id", &held.order_id)?;
    let customer_id = uuid("customer_id", &held.customer_id)?;
    if orders::put_on_hold(tx, order_id).await? == HoldOutcome::Stale {
        tracing::info!(%order_id, "hold older than the order's last credit check: ignored");
        return Ok(Vec::new());
    }
    let terms = credit_store::lock_terms(tx, event.tenant.as_str(), customer_id).await?;
    let current = position(tx, &terms, customer_id, None).await?;
    let assessment = credit::assess(&current, None);
    let reason = Some(held.reason.trim().to_owned())
        .filter(|reason| !reason.is_empty())
        .unwrap_or_else(|| assessment.reason());
    ensure_held(
        tx,
        &event.tenant,
        customer_id,
        &terms,
        &assessment,
        &reason,
        event.event_type,
    )
    .await?;
    Ok(vec![customer_id])
}

pub async fn shipment_recorded(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let shipment: proto::ShipmentRecorded = event.record.decode()?;
    let order_id = uuid("order_id", &shipment.order_id)?;
    let customer_id = uuid("customer_id", &shipment.customer_id)?;
    let mut shipped = Decimal::ZERO;
    let mut currency: Option<String> = None;
    for (index, line) in shipment.lines.iter().enumerate() {
        let field = format!("lines[{index}].amount");
        let (line_amount, code) = amount(&field, line.amount.as_ref())?;
        if currency.as_ref().is_some_and(|known| *known != code) {
            return Err(rejected(
                &field,
                "lines of one shipment in different currencies",
            ));
        }
        currency = Some(code);
        shipped += line_amount;
    }
    let Some(currency) = currency else {
        return Ok(Vec::new());
    };
    let shipment_id = uuid("shipment_id", &shipment.shipment_id)?;
    orders::ship(
        tx,
        event.tenant.as_str(),
        shipment_id,
        order_id,
        &currency,
        shipped,
    )
    .await?;
    Ok(vec![customer_id])
}

async fn end(tx: &mut Tx, order_id: &str, customer_id: &str) -> Result<Touched, HandlerError> {
    let order_id: Uuid = uuid("order_id", order_id)?;
    orders::set_state(tx, order_id, OrderState::Ended).await?;
    Ok(vec![uuid("customer_id", customer_id)?])
}

pub async fn order_cancelled(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let cancelled: proto::OrderCancelled = event.record.decode()?;
    end(tx, &cancelled.order_id, &cancelled.customer_id).await
}

pub async fn order_closed(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let closed: proto::OrderClosed = event.record.decode()?;
    end(tx, &closed.order_id, &closed.customer_id).await
}

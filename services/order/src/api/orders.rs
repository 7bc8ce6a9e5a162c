//! `otc.order.v1.OrderService`.

use sqlx::PgPool;
use tonic::{Request, Response, Status};

use super::{
    begin, commit, database_status, invalid_argument, non_empty, page, parse_id, status_of,
};
use crate::commands::orders::{self as order_commands, PlacementOutcome};
use crate::commands::shipments::{ShipmentLineRequest, ShipmentRequest, record_shipment};
use crate::credit::CreditChecker;
use crate::domain::pricing::PricedLine;
use crate::domain::request::{AmountRequest, DiscountRequest, LineRequest, OrderRequest};
use crate::domain::{Address, Violations};
use crate::events::outgoing::{minor, money};
use crate::store::orders::{self as store, OrderLineRow, OrderRecord};
use otc_proto::order::order_service_server::OrderService;
use otc_proto::order::{
    CancelOrderRequest, CloseOrderRequest, CreateOrderRequest, Discount, GetOrderRequest,
    ListOrdersRequest, ListOrdersResponse, Order, OrderLine, RecordShipmentRequest,
    RecordShipmentResponse, ReleaseCreditHoldRequest, Shipment, ShipmentLineInput, discount,
};
use otc_shared::auth::{Permission, authorize};
use otc_shared::ids::{CustomerId, OrderId};

pub struct OrderApi {
    pool: PgPool,
    credit: Option<CreditChecker>,
}

impl OrderApi {
    pub fn new(pool: PgPool, credit: Option<CreditChecker>) -> Self {
        Self { pool, credit }
    }

    async fn load(
        &self,
        tenant: &otc_shared::TenantId,
        id: OrderId,
    ) -> Result<OrderRecord, Status> {
        let mut tx = begin(&self.pool, tenant).await?;
        let record = store::load(&mut tx, id)
            .await
            .map_err(|error| database_status(&error))?;
        commit(tx).await?;
        record.ok_or_else(|| Status::not_found(format!("order {id} not found")))
    }
}

fn discount_request(discount: Option<&Discount>) -> Option<DiscountRequest> {
    discount.map(|discount| match &discount.kind {
        Some(discount::Kind::Percentage(percentage)) => DiscountRequest {
            percentage: Some(percentage.clone()),
            amount: None,
        },
        Some(discount::Kind::Amount(amount)) => DiscountRequest {
            percentage: None,
            amount: Some(AmountRequest {
                amount: amount.amount.clone(),
                currency_code: amount.currency_code.clone(),
            }),
        },
        None => DiscountRequest::default(),
    })
}

/// The gRPC request in the form both paths validate.
pub fn order_request(message: &CreateOrderRequest) -> OrderRequest {
    OrderRequest {
        source: non_empty(&message.source).unwrap_or_else(|| "api".to_owned()),
        external_order_id: non_empty(&message.external_order_id)
            .unwrap_or_else(|| message.idempotency_key.trim().to_owned()),
        customer_ref: message.customer_ref.clone(),
        currency_code: message.currency_code.clone(),
        lines: message
            .lines
            .iter()
            .map(|line| LineRequest {
                line_id: non_empty(&line.line_id),
                sku: line.sku.clone(),
                quantity: line.quantity.clone(),
                unit_price: line.unit_price.as_ref().map(|price| AmountRequest {
                    amount: price.amount.clone(),
                    currency_code: price.currency_code.clone(),
                }),
                discount: discount_request(line.discount.as_ref()),
                description: non_empty(&line.description),
            })
            .collect(),
        order_discount: discount_request(message.order_discount.as_ref()),
        shipping_address: Address::from_proto(message.shipping_address.as_ref()),
        order_date: non_empty(&message.order_date),
    }
}

/// A stored line as the wire shows it.
fn line_to_proto(line: &OrderLineRow, currency: &str) -> OrderLine {
    OrderLine {
        line_id: line.line_id.clone(),
        sku: line.sku.clone(),
        description: line.description.clone(),
        quantity: line.quantity.normalize().to_string(),
        list_price: line
            .list_price
            .map(|price| money(price.normalize(), currency)),
        unit_price: Some(money(line.unit_price.normalize(), currency)),
        price_source: line.price_source.clone(),
        gross_amount: Some(minor(line.gross_amount, currency)),
        line_discount: Some(minor(line.line_discount, currency)),
        order_discount_share: Some(minor(line.order_discount_share, currency)),
        line_amount: Some(minor(line.line_amount, currency)),
        tax_code: line.tax_code.clone(),
        shipped_quantity: line.shipped_quantity.normalize().to_string(),
        derivation: line.derivation.clone(),
    }
}

/// A priced (not yet stored) line, as a quote shows it.
pub fn line_to_proto_priced(line: &PricedLine) -> OrderLine {
    line_to_proto(&store::line_row(line), line.line_amount.currency().code())
}

pub fn order_to_proto(record: &OrderRecord) -> Order {
    let header = &record.header;
    let currency = header.currency.as_str();
    Order {
        order_id: header.id.to_string(),
        customer_id: header.customer_id.to_string(),
        source: header.source.clone(),
        external_order_id: header.external_order_id.clone(),
        status: header.status.clone(),
        currency_code: header.currency.clone(),
        lines: record
            .lines
            .iter()
            .map(|line| line_to_proto(line, currency))
            .collect(),
        total: Some(minor(header.total, currency)),
        revision: u32::try_from(header.revision).unwrap_or_default(),
        shipping_address: Some(header.shipping_address.to_proto()),
        order_date: header.order_date.to_string(),
        credit_note: header.credit_note.clone().unwrap_or_default(),
        placed_at: Some(otc_shared::time::to_proto(header.placed_at)),
        updated_at: Some(otc_shared::time::to_proto(header.updated_at)),
    }
}

#[tonic::async_trait]
impl OrderService for OrderApi {
    async fn create_order(
        &self,
        request: Request<CreateOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let principal = authorize(&request, Permission::OrdersWrite)?;
        let message = request.into_inner();
        if message.idempotency_key.trim().is_empty() {
            return Err(invalid_argument(&Violations::single(
                "idempotency_key",
                "is required (retries send the same key)",
            )));
        }
        let order_request = order_request(&message);
        let today = otc_shared::time::now().date_naive();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let (outcome, record) = order_commands::place_order(
            &mut tx,
            &principal.tenant,
            &principal.subject,
            &order_request,
            today,
            self.credit.is_none(),
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        if outcome != PlacementOutcome::Unchanged
            && let Some(credit) = &self.credit
        {
            // Answer with the credit decision when collections answers now;
            // otherwise the worker keeps asking.
            if let Err(error) = credit.check_now(record.header.id).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "inline credit check failed; the worker retries"
                );
            }
            return Ok(Response::new(order_to_proto(
                &self.load(&principal.tenant, record.header.id).await?,
            )));
        }
        Ok(Response::new(order_to_proto(&record)))
    }

    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let principal = authorize(&request, Permission::OrdersRead)?;
        let id = parse_id("order_id", &request.get_ref().order_id, OrderId::parse)?;
        Ok(Response::new(order_to_proto(
            &self.load(&principal.tenant, id).await?,
        )))
    }

    async fn list_orders(
        &self,
        request: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let principal = authorize(&request, Permission::OrdersRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let customer = match non_empty(&message.customer_id) {
            None => None,
            Some(text) => Some(parse_id("customer_id", &text, CustomerId::parse)?),
        };
        let status = non_empty(&message.status);
        if let Some(status) = &status
            && let Err(error) = status.parse::<otc_shared::domain::OrderStatus>()
        {
            return Err(invalid_argument(&Violations::single(
                "status",
                error.to_string(),
            )));
        }
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let ids = store::list(&mut tx, customer, status.as_deref(), after, limit)
            .await
            .map_err(|error| database_status(&error))?;
        let mut orders = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(record) = store::load(&mut tx, *id)
                .await
                .map_err(|error| database_status(&error))?
            {
                orders.push(order_to_proto(&record));
            }
        }
        commit(tx).await?;
        let uuids: Vec<uuid::Uuid> = ids.iter().map(OrderId::as_uuid).collect();
        Ok(Response::new(ListOrdersResponse {
            orders,
            page: Some(otc_shared::grpc::page_info(&uuids, limit)),
        }))
    }

    async fn record_shipment(
        &self,
        request: Request<RecordShipmentRequest>,
    ) -> Result<Response<RecordShipmentResponse>, Status> {
        let principal = authorize(&request, Permission::OrdersWrite)?;
        let message = request.into_inner();
        let id = parse_id("order_id", &message.order_id, OrderId::parse)?;
        let shipped_at = match &message.shipped_at {
            None => otc_shared::time::now(),
            Some(timestamp) => otc_shared::time::from_proto("shipped_at", Some(timestamp))
                .map_err(|error| {
                    invalid_argument(&Violations::single("shipped_at", error.to_string()))
                })?,
        };
        let shipment = ShipmentRequest {
            external_shipment_id: message.external_shipment_id.clone(),
            lines: message
                .lines
                .iter()
                .map(|line| ShipmentLineRequest {
                    line_id: line.line_id.clone(),
                    sku: line.sku.clone(),
                    quantity: line.quantity.clone(),
                })
                .collect(),
            shipped_at,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let recorded = record_shipment(
            &mut tx,
            &principal.tenant,
            &principal.subject,
            id,
            &shipment,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        let event = &recorded.event;
        Ok(Response::new(RecordShipmentResponse {
            shipment: Some(Shipment {
                shipment_id: recorded.shipment_id.to_string(),
                order_id: event.order_id.clone(),
                external_shipment_id: event.external_shipment_id.clone(),
                lines: event
                    .lines
                    .iter()
                    .map(|line| ShipmentLineInput {
                        line_id: line.line_id.clone(),
                        sku: line.sku.clone(),
                        quantity: line.quantity.clone(),
                    })
                    .collect(),
                shipped_at: event.shipped_at,
            }),
            order: Some(order_to_proto(&recorded.order)),
        }))
    }

    async fn cancel_order(
        &self,
        request: Request<CancelOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let principal = authorize(&request, Permission::OrdersWrite)?;
        let id = parse_id("order_id", &request.get_ref().order_id, OrderId::parse)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let record = order_commands::cancel(
            &mut tx,
            &principal.tenant,
            &principal.subject,
            id,
            &request.get_ref().reason,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(order_to_proto(&record)))
    }

    async fn close_order(
        &self,
        request: Request<CloseOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let principal = authorize(&request, Permission::OrdersWrite)?;
        let id = parse_id("order_id", &request.get_ref().order_id, OrderId::parse)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let record = order_commands::close(&mut tx, &principal.tenant, &principal.subject, id)
            .await
            .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(order_to_proto(&record)))
    }

    async fn release_credit_hold(
        &self,
        request: Request<ReleaseCreditHoldRequest>,
    ) -> Result<Response<Order>, Status> {
        let principal = authorize(&request, Permission::CreditHoldsRelease)?;
        let id = parse_id("order_id", &request.get_ref().order_id, OrderId::parse)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let record = order_commands::release_hold(
            &mut tx,
            &principal.tenant,
            &principal.subject,
            id,
            &request.get_ref().reason,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(order_to_proto(&record)))
    }
}

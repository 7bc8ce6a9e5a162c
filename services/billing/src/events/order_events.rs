//! The `otc.order.events.v1` consumer: keeps the customer and order
//! projections, records every shipped line once, and invoices shipments of
//! customers billed per shipment in the same transaction.

use chrono::Utc;
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::commands::IssueOptions;
use crate::commands::issue::{self, BillingRun};
use crate::store::customers::{self, MasterData};
use crate::store::invoices::{self, BillableLine};
use crate::store::orders::{self, OrderHeader, OrderLineRow};
use otc_proto::events as proto;
use otc_shared::TenantId;
use otc_shared::address::Address;
use otc_shared::event_fields::{decimal, money, rejected, tenant_of, uuid};
use otc_shared::events::header;
use otc_shared::inbox::{EventHandler, HandlerError, IncomingRecord};

pub const CUSTOMER_UPSERTED: &str = "otc.order.v1.CustomerUpserted";
pub const ORDER_PLACED: &str = "otc.order.v1.OrderPlaced";
pub const ORDER_AMENDED: &str = "otc.order.v1.OrderAmended";
pub const SHIPMENT_RECORDED: &str = "otc.order.v1.ShipmentRecorded";

pub struct OrderEvents {
    pub options: IssueOptions,
}

impl EventHandler for OrderEvents {
    /// Invoices, in a few statements, every per-shipment line this
    /// transaction recorded (one invoice per shipment).
    async fn before_commit(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), HandlerError> {
        otc_shared::db::set_tenant(tx, otc_shared::db::ALL_TENANTS).await?;
        let recorded = invoices::recorded_in_this_transaction(tx).await?;
        if recorded.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let mut runs: Vec<BillingRun> = Vec::new();
        for (tenant, line) in recorded {
            match runs.last_mut() {
                Some(run)
                    if run
                        .lines
                        .first()
                        .is_some_and(|first| first.shipment_id == line.shipment_id) =>
                {
                    run.lines.push(line);
                }
                _ => runs.push(BillingRun {
                    tenant: TenantId::parse(&tenant).map_err(|error| rejected("tenant", error))?,
                    lines: vec![line],
                    billing_period: crate::commands::cycle::PER_SHIPMENT.to_owned(),
                    issue_date: now.date_naive(),
                    now,
                    actor: "system:invoicing".to_owned(),
                    draft: None,
                    accepted_by: None,
                }),
            }
        }
        // Each tenant's invoices are judged and written with the transaction
        // scoped to that tenant, so row-level security keeps every lookup
        // (customer, order, rules) inside it.
        let mut tenants: Vec<TenantId> = runs.iter().map(|run| run.tenant.clone()).collect();
        tenants.sort_by(|left, right| left.as_str().cmp(right.as_str()));
        tenants.dedup();
        for tenant in tenants {
            let (mine, rest): (Vec<BillingRun>, Vec<BillingRun>) =
                runs.into_iter().partition(|run| run.tenant == tenant);
            runs = rest;
            otc_shared::db::set_tenant(tx, tenant.as_str()).await?;
            issue::bill_all(tx, mine, self.options)
                .await
                .map_err(|error| match error {
                    crate::commands::CommandError::Database(error) => HandlerError::from(error),
                    other => HandlerError::Rejected(other.to_string()),
                })?;
        }
        Ok(())
    }

    async fn apply(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        record: &IncomingRecord,
    ) -> Result<(), HandlerError> {
        match record.headers.get(header::TYPE) {
            Some(CUSTOMER_UPSERTED) => customer_upserted(tx, record).await,
            Some(ORDER_PLACED) => {
                let placed: proto::OrderPlaced = record.decode()?;
                let tenant = tenant_of(record)?;
                project_order(
                    tx,
                    &tenant,
                    OrderFacts {
                        order_id: &placed.order_id,
                        customer_id: &placed.customer_id,
                        revision: 1,
                        source: &placed.source,
                        external_order_id: &placed.external_order_id,
                        lines: &placed.lines,
                        total: placed.total.as_ref(),
                    },
                )
                .await
            }
            Some(ORDER_AMENDED) => {
                let amended: proto::OrderAmended = record.decode()?;
                let tenant = tenant_of(record)?;
                project_order(
                    tx,
                    &tenant,
                    OrderFacts {
                        order_id: &amended.order_id,
                        customer_id: &amended.customer_id,
                        revision: i32::try_from(amended.revision).unwrap_or(i32::MAX),
                        source: "",
                        external_order_id: "",
                        lines: &amended.lines,
                        total: amended.total.as_ref(),
                    },
                )
                .await
            }
            Some(SHIPMENT_RECORDED) => self.shipment_recorded(tx, record).await,
            _ => Ok(()),
        }
    }
}

async fn customer_upserted(
    tx: &mut Transaction<'static, Postgres>,
    record: &IncomingRecord,
) -> Result<(), HandlerError> {
    let upserted: proto::CustomerUpserted = record.decode()?;
    let tenant = tenant_of(record)?;
    let address = Address::from_proto(upserted.billing_address.as_ref()).unwrap_or_default();
    customers::upsert_master(
        tx,
        tenant.as_str(),
        &MasterData {
            id: uuid("customer_id", &upserted.customer_id)?,
            legal_name: &upserted.legal_name,
            billing_address: serde_json::to_value(&address).unwrap_or_default(),
            tax_region: &upserted.tax_region,
            currency: &upserted.currency_code,
            payment_terms_code: &upserted.payment_terms_code,
            segment: &upserted.segment,
            status: &upserted.status,
            version: i64::try_from(upserted.version).unwrap_or(i64::MAX),
        },
    )
    .await?;
    Ok(())
}

struct OrderFacts<'a> {
    order_id: &'a str,
    customer_id: &'a str,
    revision: i32,
    source: &'a str,
    external_order_id: &'a str,
    lines: &'a [proto::OrderLine],
    total: Option<&'a otc_proto::types::Money>,
}

async fn project_order(
    tx: &mut Transaction<'static, Postgres>,
    tenant: &TenantId,
    facts: OrderFacts<'_>,
) -> Result<(), HandlerError> {
    let order_id = uuid("order_id", facts.order_id)?;
    let (_, currency) = money("total", facts.total)?;
    let lines = facts
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let field = |name: &str| format!("lines[{index}].{name}");
            let (unit_price, _) = money(&field("unit_price"), line.unit_price.as_ref())?;
            let (line_amount, _) = money(&field("line_amount"), line.line_amount.as_ref())?;
            Ok(OrderLineRow {
                order_id,
                line_id: line.line_id.clone(),
                sku: line.sku.clone(),
                description: line.description.clone(),
                quantity: decimal(&field("quantity"), &line.quantity)?,
                unit_price,
                line_amount,
                currency: currency.clone(),
                tax_code: line.tax_code.clone(),
                external_order_id: facts.external_order_id.to_owned(),
            })
        })
        .collect::<Result<Vec<_>, HandlerError>>()?;
    orders::replace_lines(
        tx,
        tenant.as_str(),
        &OrderHeader {
            order_id,
            customer_id: uuid("customer_id", facts.customer_id)?,
            revision: facts.revision,
            source: facts.source,
            external_order_id: facts.external_order_id,
            currency: &currency,
        },
        &lines,
    )
    .await?;
    Ok(())
}

impl OrderEvents {
    async fn shipment_recorded(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        record: &IncomingRecord,
    ) -> Result<(), HandlerError> {
        let shipment: proto::ShipmentRecorded = record.decode()?;
        let tenant = tenant_of(record)?;
        let shipment_id = uuid("shipment_id", &shipment.shipment_id)?;
        let order_id = uuid("order_id", &shipment.order_id)?;
        let customer_id = uuid("customer_id", &shipment.customer_id)?;
        let shipped_at = shipment
            .shipped_at
            .as_ref()
            .and_then(|at| otc_shared::time::from_proto("shipped_at", Some(at)).ok())
            .unwrap_or_else(Utc::now);
        let lines = shipment
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| {
                let field = |name: &str| format!("lines[{index}].{name}");
                let (unit_price, _) = money(&field("unit_price"), line.unit_price.as_ref())?;
                let (amount, currency) = money(&field("amount"), line.amount.as_ref())?;
                let quantity = decimal(&field("quantity"), &line.quantity)?;
                if quantity <= Decimal::ZERO {
                    return Err(rejected(&field("quantity"), "must be positive"));
                }
                Ok(BillableLine {
                    id: Uuid::now_v7(),
                    shipment_id,
                    order_id,
                    order_line_id: line.line_id.clone(),
                    customer_id,
                    sku: line.sku.clone(),
                    description: line.description.clone(),
                    quantity,
                    unit_price,
                    amount,
                    currency,
                    tax_code: line.tax_code.clone(),
                    shipped_at,
                })
            })
            .collect::<Result<Vec<_>, HandlerError>>()?;
        if lines.is_empty() {
            return Err(rejected("lines", "a shipment needs at least one line"));
        }
        // A line is billed once per shipment: a second entry for the same
        // order line would be dropped silently, so the shipment is refused.
        for (index, line) in lines.iter().enumerate() {
            if lines[..index]
                .iter()
                .any(|earlier| earlier.order_line_id == line.order_line_id)
            {
                return Err(rejected(
                    &format!("lines[{index}].line_id"),
                    format!(
                        "order line `{}` appears twice in the shipment",
                        line.order_line_id
                    ),
                ));
            }
        }
        // Invoiced in `before_commit`, with the rest of the batch.
        invoices::insert_billable_lines(tx, tenant.as_str(), &lines).await?;
        Ok(())
    }
}

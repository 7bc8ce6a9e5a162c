//! `otc.order.v1.PricingService`.

use sqlx::PgPool;
use tonic::{Request, Response, Status};

use super::orders::line_to_proto_priced;
use super::{begin, commit, status_of};
use crate::commands::pricing::{self, PriceInput, SetPrice};
use crate::domain::Violations;
use crate::domain::pricing::ProductInfo;
use crate::domain::request::parse_date;
use otc_proto::order::pricing_service_server::PricingService;
use otc_proto::order::{
    OrderLine, PriceEntry, Product, QuotePriceRequest, SetContractPriceRequest, SetListPriceRequest,
};
use otc_shared::auth::{Permission, Principal, authorize};

pub struct PricingApi {
    pool: PgPool,
}

impl PricingApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// A list price or a contract price: the same command either way.
    async fn set_price(
        &self,
        principal: &Principal,
        input: PriceInput<'_>,
    ) -> Result<Response<PriceEntry>, Status> {
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let set = pricing::set_price(&mut tx, &principal.tenant, &principal.subject, &input)
            .await
            .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(entry_to_proto(set)))
    }
}

fn entry_to_proto(price: SetPrice) -> PriceEntry {
    PriceEntry {
        price_id: price.id.to_string(),
        kind: if price.customer_id.is_some() {
            "contract"
        } else {
            "price_list"
        }
        .to_owned(),
        customer_id: price
            .customer_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        sku: price.sku,
        unit_price: Some(crate::events::outgoing::money(
            price.entry.unit_price,
            &price.currency,
        )),
        valid_from: price.entry.valid_from.to_string(),
        valid_to: price
            .entry
            .valid_to
            .map(|date| date.to_string())
            .unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl PricingService for PricingApi {
    async fn upsert_product(&self, request: Request<Product>) -> Result<Response<Product>, Status> {
        let principal = authorize(&request, Permission::ConfigurationWrite)?;
        let product = request.into_inner();
        let info = ProductInfo {
            description: product.description.clone(),
            tax_code: product.tax_code.clone(),
            active: product.active,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        pricing::upsert_product(
            &mut tx,
            &principal.tenant,
            &principal.subject,
            &product.sku,
            &info,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(Product {
            sku: product.sku.trim().to_owned(),
            ..product
        }))
    }

    async fn set_list_price(
        &self,
        request: Request<SetListPriceRequest>,
    ) -> Result<Response<PriceEntry>, Status> {
        let principal = authorize(&request, Permission::ConfigurationWrite)?;
        let message = request.into_inner();
        let price = message.unit_price.unwrap_or_default();
        self.set_price(
            &principal,
            PriceInput {
                customer_id: None,
                sku: &message.sku,
                amount: &price.amount,
                currency_code: &price.currency_code,
                valid_from: &message.valid_from,
                valid_to: &message.valid_to,
            },
        )
        .await
    }

    async fn set_contract_price(
        &self,
        request: Request<SetContractPriceRequest>,
    ) -> Result<Response<PriceEntry>, Status> {
        let principal = authorize(&request, Permission::ConfigurationWrite)?;
        let message = request.into_inner();
        let price = message.unit_price.unwrap_or_default();
        self.set_price(
            &principal,
            PriceInput {
                customer_id: Some(&message.customer_id),
                sku: &message.sku,
                amount: &price.amount,
                currency_code: &price.currency_code,
                valid_from: &message.valid_from,
                valid_to: &message.valid_to,
            },
        )
        .await
    }

    async fn quote_price(
        &self,
        request: Request<QuotePriceRequest>,
    ) -> Result<Response<OrderLine>, Status> {
        let principal = authorize(&request, Permission::OrdersRead)?;
        let message = request.into_inner();
        let on_date = if message.on_date.trim().is_empty() {
            otc_shared::time::now().date_naive()
        } else {
            parse_date(&message.on_date)
                .map_err(|reason| super::invalid_argument(&Violations::single("on_date", reason)))?
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let line = crate::commands::orders::quote(
            &mut tx,
            &principal.tenant,
            &message.customer_id,
            &message.sku,
            &message.quantity,
            on_date,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(line_to_proto_priced(&line)))
    }
}

//! `otc.collections.v1.LedgerService`: balances, open items and movements.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::statements::{self, StatementQuery};
use super::{Fields, begin, commit, read_error, views};
use crate::commands::today;
use crate::store::customers;
use crate::store::disputes;
use crate::store::movements::{self, MovementFilter};
use crate::store::open_items::{self, ItemFilter};
use crate::store::promises;
use otc_proto::collections as wire;
use otc_proto::collections::ledger_service_server::LedgerService;
use otc_shared::auth::{Permission, authorize};
use otc_shared::grpc::{non_empty, page, required_uuid};

pub struct LedgerApi {
    pool: PgPool,
}

impl LedgerApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// Items at least `days` past due on `today` are due before
/// `today - days + 1`; 0 means no such filter.
fn overdue_cutoff(today: NaiveDate, days: u32) -> Option<NaiveDate> {
    if days == 0 {
        return None;
    }
    today.checked_sub_days(Days::new(u64::from(days) - 1))
}

/// The items as wire messages, each with what open disputes contest on it
/// and whether a promise to pay covers it.
async fn item_views(
    tx: &mut crate::store::Tx,
    items: &[open_items::ItemRow],
    today: NaiveDate,
) -> Result<Vec<wire::OpenItem>, Status> {
    let ids: Vec<Uuid> = items.iter().map(|item| item.id).collect();
    let disputed = disputes::disputed_amounts(tx, &ids)
        .await
        .map_err(read_error)?;
    let promised = promises::promised_items(tx, &ids)
        .await
        .map_err(read_error)?;
    Ok(items
        .iter()
        .map(|item| {
            let contested = disputed
                .iter()
                .find(|(id, _)| *id == item.id)
                .map_or(Decimal::ZERO, |(_, amount)| *amount);
            views::open_item(item, today, contested, promised.contains(&item.id))
        })
        .collect())
}

fn earliest(first: Option<NaiveDate>, second: Option<NaiveDate>) -> Option<NaiveDate> {
    match (first, second) {
        (Some(one), Some(other)) => Some(one.min(other)),
        (one, other) => one.or(other),
    }
}

#[tonic::async_trait]
impl LedgerService for LedgerApi {
    async fn get_customer_ledger(
        &self,
        request: Request<wire::GetCustomerLedgerRequest>,
    ) -> Result<Response<wire::CustomerLedger>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let message = request.into_inner();
        let customer_id = required_uuid("customer_id", &message.customer_id)?;
        let (limit, after) = page(message.page.as_ref())?;
        let today = today();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let customer = customers::get(&mut tx, customer_id)
            .await
            .map_err(read_error)?;
        let balances = open_items::balances(&mut tx, customer_id, today)
            .await
            .map_err(read_error)?;
        let parked = movements::parked_count(&mut tx, customer_id)
            .await
            .map_err(read_error)?;
        if customer.is_none() && balances.is_empty() && parked == 0 {
            return Err(Status::not_found(format!(
                "customer {customer_id} has no ledger"
            )));
        }
        let filter = ItemFilter {
            customer_id: Some(customer_id),
            ..ItemFilter::default()
        };
        let items = open_items::page(&mut tx, &filter, limit, after)
            .await
            .map_err(read_error)?;
        let views_of_items = item_views(&mut tx, &items, today).await?;
        commit(tx).await?;
        let ids: Vec<Uuid> = items.iter().map(|item| item.id).collect();
        Ok(Response::new(wire::CustomerLedger {
            customer_id: customer_id.to_string(),
            customer_name: customer.map(|row| row.legal_name).unwrap_or_default(),
            balances: balances.iter().map(views::balance).collect(),
            open_items: views_of_items,
            page: Some(otc_shared::grpc::page_info(&ids, limit)),
            parked_movements: u32::try_from(parked).unwrap_or(u32::MAX),
        }))
    }

    async fn list_open_items(
        &self,
        request: Request<wire::ListOpenItemsRequest>,
    ) -> Result<Response<wire::ListOpenItemsResponse>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let today = today();
        let mut fields = Fields::new();
        let customer_id = fields.optional_uuid("customer_id", &message.customer_id);
        let due_before = fields.optional_date("due_before", &message.due_before);
        let currency = non_empty(&message.currency_code).map(|code| code.to_uppercase());
        if let Some(code) = &currency
            && otc_shared::Currency::parse(code).is_err()
        {
            fields.add(
                "currency_code",
                format!("`{code}` is not an ISO 4217 currency"),
            );
        }
        fields.finish()?;
        let filter = ItemFilter {
            customer_id,
            currency,
            due_before: earliest(due_before, overdue_cutoff(today, message.min_days_overdue)),
            include_settled: message.include_settled,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let items = open_items::page(&mut tx, &filter, limit, after)
            .await
            .map_err(read_error)?;
        let views_of_items = item_views(&mut tx, &items, today).await?;
        commit(tx).await?;
        let ids: Vec<Uuid> = items.iter().map(|item| item.id).collect();
        Ok(Response::new(wire::ListOpenItemsResponse {
            items: views_of_items,
            page: Some(otc_shared::grpc::page_info(&ids, limit)),
        }))
    }

    async fn list_ledger_movements(
        &self,
        request: Request<wire::ListLedgerMovementsRequest>,
    ) -> Result<Response<wire::ListLedgerMovementsResponse>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let mut fields = Fields::new();
        let filter = MovementFilter {
            customer_id: fields.optional_uuid("customer_id", &message.customer_id),
            item_id: fields.optional_uuid("item_id", &message.item_id),
            parked_only: message.parked_only,
        };
        fields.finish()?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = movements::page(&mut tx, &filter, limit, after)
            .await
            .map_err(read_error)?;
        commit(tx).await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        Ok(Response::new(wire::ListLedgerMovementsResponse {
            movements: rows.iter().map(views::movement).collect(),
            page: Some(otc_shared::grpc::page_info(&ids, limit)),
        }))
    }

    async fn get_customer_statement(
        &self,
        request: Request<wire::GetCustomerStatementRequest>,
    ) -> Result<Response<wire::CustomerStatement>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let query = StatementQuery::parse(request.get_ref())?;
        let statement = statements::read_statement(&self.pool, &principal.tenant, &query).await?;
        Ok(Response::new(statement))
    }

    async fn render_customer_statement(
        &self,
        request: Request<wire::GetCustomerStatementRequest>,
    ) -> Result<Response<wire::StatementDocument>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let query = StatementQuery::parse(request.get_ref())?;
        let statement = statements::read_statement(&self.pool, &principal.tenant, &query).await?;
        let seller = principal.tenant.to_string();
        let pdf = tokio::task::spawn_blocking(move || {
            crate::documents::render_statement(&statement, &seller)
        })
        .await
        .map_err(|error| Status::internal(format!("rendering the statement stopped: {error}")))?
        .map_err(|error| Status::internal(error.to_string()))?;
        Ok(Response::new(wire::StatementDocument {
            pdf,
            file_name: query.file_name(),
        }))
    }

    async fn list_customer_balances(
        &self,
        request: Request<wire::ListCustomerBalancesRequest>,
    ) -> Result<Response<wire::ListCustomerBalancesResponse>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let response =
            statements::list_balances(&self.pool, &principal.tenant, request.get_ref()).await?;
        Ok(Response::new(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_n_days_overdue_means_due_before_today_minus_n_plus_one() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        assert_eq!(overdue_cutoff(today, 0), None);
        // 1 day overdue: due yesterday or earlier, i.e. before today.
        assert_eq!(overdue_cutoff(today, 1), Some(today));
        assert_eq!(
            overdue_cutoff(today, 30),
            NaiveDate::from_ymd_opt(2026, 3, 2)
        );
    }
}

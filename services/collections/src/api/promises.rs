//! `otc.collections.v1.PromiseService`: collectors record promises to pay
//! and run the check on a given date; readers of the ledger read them.

use rust_decimal::Decimal;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{Fields, actor, begin, commit, read_error, status_of};
use crate::commands::promises::{self, RecordPromise};
use crate::commands::today;
use crate::store::Tx;
use crate::store::promises::{self as store, PromiseRow};
use otc_proto::collections as wire;
use otc_proto::collections::promise_service_server::PromiseService;
use otc_shared::auth::{Permission, authorize};
use otc_shared::grpc::{non_empty, page, required_uuid};
use otc_shared::money::column_to_proto as money;
use otc_shared::time::to_proto as timestamp;

const STATES: [&str; 3] = ["open", "kept", "broken"];

pub struct PromiseApi {
    pool: PgPool,
}

impl PromiseApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn promise(row: &PromiseRow, items: &[Uuid]) -> wire::PromiseToPay {
    wire::PromiseToPay {
        promise_id: row.id.to_string(),
        customer_id: row.customer_id.to_string(),
        item_ids: items.iter().map(Uuid::to_string).collect(),
        amount: Some(money(row.amount, &row.currency)),
        promised_date: row.promised_date.to_string(),
        state: row.state.to_uppercase(),
        note: row.note.clone(),
        recorded_by: row.recorded_by.clone(),
        recorded_at: Some(timestamp(row.recorded_at)),
        paid: Some(money(row.paid, &row.currency)),
        settled_at: row.settled_at.map(timestamp),
    }
}

async fn view(tx: &mut Tx, row: &PromiseRow) -> Result<wire::PromiseToPay, Status> {
    let items = store::items(tx, row.id).await.map_err(read_error)?;
    Ok(promise(row, &items))
}

#[tonic::async_trait]
impl PromiseService for PromiseApi {
    async fn record_promise(
        &self,
        request: Request<wire::RecordPromiseRequest>,
    ) -> Result<Response<wire::PromiseToPay>, Status> {
        let principal = authorize(&request, Permission::PromisesToPayWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let key = message.idempotency_key.trim();
        if key.is_empty() {
            fields.add("idempotency_key", "is required");
        }
        let customer_id = fields.uuid("customer_id", &message.customer_id);
        if message.item_ids.is_empty() {
            fields.add("item_ids", "at least one item");
        }
        let item_ids: Vec<Uuid> = message
            .item_ids
            .iter()
            .enumerate()
            .filter_map(|(index, text)| fields.uuid(&format!("item_ids[{index}]"), text))
            .collect();
        let amount = fields.money("amount", message.amount.as_ref());
        if amount.is_some_and(|value| value.amount() <= Decimal::ZERO) {
            fields.add("amount.amount", "must be positive");
        }
        let promised_date = fields.date("promised_date", &message.promised_date);
        fields.finish()?;
        let (Some(customer_id), Some(amount), Some(promised_date)) =
            (customer_id, amount, promised_date)
        else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let note = message.note.trim().to_owned();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = promises::record_promise(
            &mut tx,
            &actor(&principal),
            &RecordPromise {
                request_key: key,
                customer_id,
                item_ids,
                amount: amount.amount(),
                currency: amount.currency().code(),
                promised_date,
                note: &note,
                today: today(),
            },
        )
        .await
        .map_err(status_of)?;
        let answer = view(&mut tx, &row).await?;
        commit(tx).await?;
        Ok(Response::new(answer))
    }

    async fn get_promise(
        &self,
        request: Request<wire::GetPromiseRequest>,
    ) -> Result<Response<wire::PromiseToPay>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let id = required_uuid("promise_id", &request.get_ref().promise_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = store::get(&mut tx, id)
            .await
            .map_err(read_error)?
            .ok_or_else(|| Status::not_found(format!("promise {id} is not known")))?;
        let answer = view(&mut tx, &row).await?;
        commit(tx).await?;
        Ok(Response::new(answer))
    }

    async fn list_promises(
        &self,
        request: Request<wire::ListPromisesRequest>,
    ) -> Result<Response<wire::ListPromisesResponse>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let mut fields = Fields::new();
        let customer_id = fields.optional_uuid("customer_id", &message.customer_id);
        let state = non_empty(&message.state).map(|state| state.to_lowercase());
        if let Some(state) = &state
            && !STATES.contains(&state.as_str())
        {
            fields.add("state", "one of OPEN, KEPT, BROKEN");
        }
        fields.finish()?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = store::page(&mut tx, customer_id, state.as_deref(), limit, after)
            .await
            .map_err(read_error)?;
        let mut promises = Vec::new();
        for row in &rows {
            promises.push(view(&mut tx, row).await?);
        }
        commit(tx).await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        Ok(Response::new(wire::ListPromisesResponse {
            promises,
            page: Some(otc_shared::grpc::page_info(&ids, limit)),
        }))
    }

    async fn evaluate_promises(
        &self,
        request: Request<wire::EvaluatePromisesRequest>,
    ) -> Result<Response<wire::EvaluatePromisesResponse>, Status> {
        let principal = authorize(&request, Permission::PromisesToPayWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let as_of = fields.optional_date("as_of", &message.as_of);
        fields.finish()?;
        let as_of = as_of.unwrap_or_else(today);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let evaluation = promises::evaluate(&mut tx, &actor(&principal), as_of)
            .await
            .map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(wire::EvaluatePromisesResponse {
            kept: evaluation.kept,
            broken: evaluation.broken,
            still_open: evaluation.still_open,
        }))
    }
}

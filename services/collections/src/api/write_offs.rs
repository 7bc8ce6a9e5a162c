//! `otc.collections.v1.WriteOffService`: collectors request, credit
//! managers (never the requester) approve or reject.

use rust_decimal::Decimal;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{Fields, actor, begin, commit, dispute_views as views, read_error, status_of};
use crate::commands::write_offs::{self, WriteOffRequest};
use crate::store::write_offs as store;
use otc_proto::collections as wire;
use otc_proto::collections::write_off_service_server::WriteOffService;
use otc_shared::auth::{Permission, Principal, authorize};
use otc_shared::grpc::{non_empty, page, required_uuid};

const STATES: [&str; 3] = ["pending_approval", "applied", "rejected"];

pub struct WriteOffApi {
    pool: PgPool,
}

impl WriteOffApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn decide(
        &self,
        principal: &Principal,
        message: wire::DecideWriteOffRequest,
        approve: bool,
    ) -> Result<wire::WriteOff, Status> {
        let mut fields = Fields::new();
        let id = fields.uuid("write_off_id", &message.write_off_id);
        let expected = i64::try_from(message.expected_version)
            .map_err(|_| fields.add("expected_version", "is out of range"))
            .unwrap_or(0);
        let note = message.note.trim().to_owned();
        if note.is_empty() {
            fields.add("note", "say why");
        }
        fields.finish()?;
        let Some(id) = id else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let existing = store::get(&mut tx, id)
            .await
            .map_err(read_error)?
            .ok_or_else(|| Status::not_found(format!("write-off {id} is not known")))?;
        if existing.requested_by == principal.subject {
            return Err(Status::permission_denied(
                "segregation of duties: the requester cannot approve or reject their own write-off",
            ));
        }
        let who = actor(principal);
        let row = if approve {
            write_offs::approve(&mut tx, &who, id, &note, expected).await
        } else {
            write_offs::reject(&mut tx, &who, id, &note, expected).await
        }
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(views::write_off(&row))
    }
}

#[tonic::async_trait]
impl WriteOffService for WriteOffApi {
    async fn request_write_off(
        &self,
        request: Request<wire::RequestWriteOffRequest>,
    ) -> Result<Response<wire::WriteOff>, Status> {
        let principal = authorize(&request, Permission::WriteOffsRequest)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let key = message.idempotency_key.trim();
        if key.is_empty() {
            fields.add("idempotency_key", "is required");
        }
        let item_id = fields.uuid("item_id", &message.item_id);
        let amount = fields.money("amount", message.amount.as_ref());
        if amount.is_some_and(|value| value.amount() <= Decimal::ZERO) {
            fields.add("amount.amount", "must be positive");
        }
        let reason = message.reason.trim().to_owned();
        if reason.is_empty() {
            fields.add("reason", "say why the amount is written off");
        }
        fields.finish()?;
        let (Some(item_id), Some(amount)) = (item_id, amount) else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = write_offs::request(
            &mut tx,
            &actor(&principal),
            &WriteOffRequest {
                request_key: key,
                item_id,
                amount: amount.amount(),
                currency: Some(amount.currency().code()),
                reason: &reason,
                dispute_id: None,
            },
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(views::write_off(&row)))
    }

    async fn approve_write_off(
        &self,
        request: Request<wire::DecideWriteOffRequest>,
    ) -> Result<Response<wire::WriteOff>, Status> {
        let principal = authorize(&request, Permission::WriteOffsApprove)?;
        let answer = self.decide(&principal, request.into_inner(), true).await?;
        Ok(Response::new(answer))
    }

    async fn reject_write_off(
        &self,
        request: Request<wire::DecideWriteOffRequest>,
    ) -> Result<Response<wire::WriteOff>, Status> {
        let principal = authorize(&request, Permission::WriteOffsApprove)?;
        let answer = self.decide(&principal, request.into_inner(), false).await?;
        Ok(Response::new(answer))
    }

    async fn get_write_off(
        &self,
        request: Request<wire::GetWriteOffRequest>,
    ) -> Result<Response<wire::WriteOff>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let id = required_uuid("write_off_id", &request.get_ref().write_off_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = store::get(&mut tx, id)
            .await
            .map_err(read_error)?
            .ok_or_else(|| Status::not_found(format!("write-off {id} is not known")))?;
        commit(tx).await?;
        Ok(Response::new(views::write_off(&row)))
    }

    async fn list_write_offs(
        &self,
        request: Request<wire::ListWriteOffsRequest>,
    ) -> Result<Response<wire::ListWriteOffsResponse>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let mut fields = Fields::new();
        let customer_id = fields.optional_uuid("customer_id", &message.customer_id);
        let state = non_empty(&message.state).map(|state| state.to_lowercase());
        if let Some(state) = &state
            && !STATES.contains(&state.as_str())
        {
            fields.add(
                "state",
                format!("one of {}", STATES.join(", ").to_uppercase()),
            );
        }
        fields.finish()?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = store::page(&mut tx, customer_id, state.as_deref(), limit, after)
            .await
            .map_err(read_error)?;
        commit(tx).await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        Ok(Response::new(wire::ListWriteOffsResponse {
            write_offs: rows.iter().map(views::write_off).collect(),
            page: Some(otc_shared::grpc::page_info(&ids, limit)),
        }))
    }
}

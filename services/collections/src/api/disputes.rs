//! `otc.collections.v1.DisputeService`: disputes (customer service and
//! collectors write, dispute readers read) and the tenant's collections
//! settings (tenant admins).

use rust_decimal::Decimal;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{Fields, actor, begin, commit, dispute_views as views, read_error, status_of};
use crate::commands::disputes::{self, DisputedAmount, OpenDispute, REASON_CODES, ResolutionKind};
use crate::commands::{Actor, CommandError};
use crate::resolution::DisputeResolver;
use crate::store::Tx;
use crate::store::disputes::{self as store, DisputeFilter};
use crate::store::settings;
use crate::store::write_offs;
use otc_proto::collections as wire;
use otc_proto::collections::dispute_service_server::DisputeService;
use otc_shared::audit::{self, AuditEntry};
use otc_shared::auth::{Permission, authorize};
use otc_shared::grpc::{non_empty, page, required_uuid};

const STATES: [&str; 5] = [
    "open",
    "under_review",
    "resolution_pending",
    "resolved",
    "rejected",
];
const MAX_URIS: usize = 20;

pub struct DisputeApi {
    pool: PgPool,
    resolver: DisputeResolver,
}

impl DisputeApi {
    pub fn new(pool: PgPool, resolver: DisputeResolver) -> Self {
        Self { pool, resolver }
    }
}

/// The dispute as it stands in `tx`.
async fn view(tx: &mut Tx, id: Uuid) -> Result<wire::Dispute, Status> {
    let row = store::get(tx, id)
        .await
        .map_err(read_error)?
        .ok_or_else(|| Status::not_found(format!("dispute {id} is not known")))?;
    let items = store::items(tx, id).await.map_err(read_error)?;
    let notes = store::notes(tx, id).await.map_err(read_error)?;
    let write_offs = write_offs::ids_of_dispute(tx, id)
        .await
        .map_err(read_error)?;
    Ok(views::dispute(&row, &items, &notes, &write_offs))
}

fn uris(fields: &mut Fields, field: &str, given: &[String]) -> Vec<String> {
    if given.len() > MAX_URIS {
        fields.add(field, format!("at most {MAX_URIS} attachment references"));
    }
    let mut kept = Vec::new();
    for (index, uri) in given.iter().enumerate() {
        let uri = uri.trim();
        // A reference to a document kept elsewhere: a scheme and a location.
        let valid = uri.split_once("://").is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
        }) && !uri.chars().any(char::is_whitespace);
        if valid {
            kept.push(uri.to_owned());
        } else {
            fields.add(&format!("{field}[{index}]"), "is not an absolute URI");
        }
    }
    kept
}

fn version(fields: &mut Fields, value: u64) -> i64 {
    i64::try_from(value)
        .map_err(|_| fields.add("expected_version", "is out of range"))
        .unwrap_or(0)
}

#[tonic::async_trait]
impl DisputeService for DisputeApi {
    async fn open_dispute(
        &self,
        request: Request<wire::OpenDisputeRequest>,
    ) -> Result<Response<wire::Dispute>, Status> {
        let principal = authorize(&request, Permission::DisputesWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let key = message.idempotency_key.trim();
        if key.is_empty() {
            fields.add("idempotency_key", "is required");
        }
        let customer_id = fields.uuid("customer_id", &message.customer_id);
        let reason_code = message.reason_code.trim().to_lowercase();
        if !REASON_CODES.contains(&reason_code.as_str()) {
            fields.add(
                "reason_code",
                format!("one of {}", REASON_CODES.join(", ").to_uppercase()),
            );
        }
        if message.items.is_empty() {
            fields.add("items", "at least one item");
        }
        let mut items = Vec::new();
        let mut currency: Option<String> = None;
        for (index, item) in message.items.iter().enumerate() {
            let item_id = fields.uuid(&format!("items[{index}].item_id"), &item.item_id);
            let amount = fields.money(&format!("items[{index}].amount"), item.amount.as_ref());
            if let Some(amount) = amount {
                if amount.amount() <= Decimal::ZERO {
                    fields.add(&format!("items[{index}].amount.amount"), "must be positive");
                }
                let code = amount.currency().code().to_owned();
                match &currency {
                    Some(first) if *first != code => fields.add(
                        &format!("items[{index}].amount.currency_code"),
                        "all items of a dispute are in one currency",
                    ),
                    _ => currency = Some(code),
                }
            }
            if let (Some(item_id), Some(amount)) = (item_id, amount) {
                items.push(DisputedAmount {
                    item_id,
                    amount: amount.amount(),
                });
            }
        }
        let sla_due_date = fields.optional_date("sla_due_date", &message.sla_due_date);
        let attachment_uris = uris(&mut fields, "attachment_uris", &message.attachment_uris);
        fields.finish()?;
        let Some(customer_id) = customer_id else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let owner = non_empty(&message.owner).unwrap_or_else(|| principal.subject.clone());
        let description = message.description.trim().to_owned();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = disputes::open(
            &mut tx,
            &actor(&principal),
            &OpenDispute {
                request_key: key,
                customer_id,
                reason_code: &reason_code,
                description: &description,
                items,
                currency: currency.as_deref(),
                owner: &owner,
                sla_due_date,
                attachment_uris: &attachment_uris,
            },
        )
        .await
        .map_err(status_of)?;
        let answer = view(&mut tx, row.id).await?;
        commit(tx).await?;
        Ok(Response::new(answer))
    }

    async fn get_dispute(
        &self,
        request: Request<wire::GetDisputeRequest>,
    ) -> Result<Response<wire::Dispute>, Status> {
        let principal = authorize(&request, Permission::DisputesRead)?;
        let id = required_uuid("dispute_id", &request.get_ref().dispute_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let answer = view(&mut tx, id).await?;
        commit(tx).await?;
        Ok(Response::new(answer))
    }

    async fn list_disputes(
        &self,
        request: Request<wire::ListDisputesRequest>,
    ) -> Result<Response<wire::ListDisputesResponse>, Status> {
        let principal = authorize(&request, Permission::DisputesRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let mut fields = Fields::new();
        let state = non_empty(&message.state).map(|state| state.to_lowercase());
        if let Some(state) = &state
            && !STATES.contains(&state.as_str())
        {
            fields.add(
                "state",
                format!("one of {}", STATES.join(", ").to_uppercase()),
            );
        }
        let filter = DisputeFilter {
            customer_id: fields.optional_uuid("customer_id", &message.customer_id),
            item_id: fields.optional_uuid("item_id", &message.item_id),
            state,
        };
        fields.finish()?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = store::page(&mut tx, &filter, limit, after)
            .await
            .map_err(read_error)?;
        let mut disputes = Vec::new();
        for row in &rows {
            disputes.push(view(&mut tx, row.id).await?);
        }
        commit(tx).await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        Ok(Response::new(wire::ListDisputesResponse {
            disputes,
            page: Some(otc_shared::grpc::page_info(&ids, limit)),
        }))
    }

    async fn review_dispute(
        &self,
        request: Request<wire::ReviewDisputeRequest>,
    ) -> Result<Response<wire::Dispute>, Status> {
        let principal = authorize(&request, Permission::DisputesWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let id = fields.uuid("dispute_id", &message.dispute_id);
        let expected = version(&mut fields, message.expected_version);
        fields.finish()?;
        let Some(id) = id else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let owner = non_empty(&message.owner);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        disputes::review(&mut tx, &actor(&principal), id, owner.as_deref(), expected)
            .await
            .map_err(status_of)?;
        let answer = view(&mut tx, id).await?;
        commit(tx).await?;
        Ok(Response::new(answer))
    }

    async fn add_dispute_note(
        &self,
        request: Request<wire::AddDisputeNoteRequest>,
    ) -> Result<Response<wire::Dispute>, Status> {
        let principal = authorize(&request, Permission::DisputesWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let id = fields.uuid("dispute_id", &message.dispute_id);
        let attachment_uris = uris(&mut fields, "attachment_uris", &message.attachment_uris);
        let body = message.body.trim().to_owned();
        if body.is_empty() && message.attachment_uris.is_empty() {
            fields.add("body", "give a note or at least one attachment reference");
        }
        fields.finish()?;
        let Some(id) = id else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        disputes::add_note(&mut tx, &actor(&principal), id, &body, &attachment_uris)
            .await
            .map_err(status_of)?;
        let answer = view(&mut tx, id).await?;
        commit(tx).await?;
        Ok(Response::new(answer))
    }

    async fn resolve_dispute(
        &self,
        request: Request<wire::ResolveDisputeRequest>,
    ) -> Result<Response<wire::Dispute>, Status> {
        let principal = authorize(&request, Permission::DisputesWrite)?;
        let kind = ResolutionKind::parse(&request.get_ref().resolution);
        if kind == Some(ResolutionKind::WriteOff) {
            // Resolving by write-off requests one: the collector's right.
            authorize(&request, Permission::WriteOffsRequest)?;
        }
        let message = request.into_inner();
        let mut fields = Fields::new();
        let id = fields.uuid("dispute_id", &message.dispute_id);
        if kind.is_none() {
            fields.add("resolution", "one of CREDIT_NOTE, WRITE_OFF, REJECTED");
        }
        let note = message.note.trim().to_owned();
        if note.is_empty() {
            fields.add("note", "say why the dispute is resolved this way");
        }
        let expected = version(&mut fields, message.expected_version);
        fields.finish()?;
        let (Some(id), Some(kind)) = (id, kind) else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        disputes::resolve(&mut tx, &actor(&principal), id, kind, &note, expected)
            .await
            .map_err(status_of)?;
        commit(tx).await?;
        if kind == ResolutionKind::CreditNote {
            // Billing is asked now, outside the transaction; if it cannot be
            // reached the dispute stays RESOLUTION_PENDING for the resolver.
            if let Err(error) = self.resolver.resolve_now(id).await {
                tracing::warn!(dispute_id = %id, error = format!("{error:#}"), "credit note not obtained yet; the resolver retries");
            }
        }
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let answer = view(&mut tx, id).await?;
        commit(tx).await?;
        Ok(Response::new(answer))
    }

    async fn get_collections_settings(
        &self,
        request: Request<wire::GetCollectionsSettingsRequest>,
    ) -> Result<Response<wire::CollectionsSettings>, Status> {
        let principal = authorize(&request, Permission::DisputesRead)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = settings::get(&mut tx).await.map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(views::settings(&row)))
    }

    async fn set_collections_settings(
        &self,
        request: Request<wire::SetCollectionsSettingsRequest>,
    ) -> Result<Response<wire::CollectionsSettings>, Status> {
        let principal = authorize(&request, Permission::ConfigurationWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        if !(1..=365).contains(&message.dispute_sla_days) {
            fields.add("dispute_sla_days", "between 1 and 365");
        }
        let threshold = fields.decimal("write_off_threshold", &message.write_off_threshold);
        if threshold.is_some_and(|value| value.is_sign_negative()) {
            fields.add("write_off_threshold", "must not be negative");
        }
        let expected = version(&mut fields, message.expected_version);
        fields.finish()?;
        let Some(threshold) = threshold else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let sla_days = i32::try_from(message.dispute_sla_days).unwrap_or(i32::MAX);
        let who: Actor = actor(&principal);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let before = settings::lock(&mut tx).await.map_err(read_error)?;
        if expected != 0 && expected != before.version {
            return Err(status_of(CommandError::Aborted(format!(
                "the settings are at version {}, not {expected}: read them again",
                before.version
            ))));
        }
        let after = settings::set(
            &mut tx,
            who.tenant.as_str(),
            sla_days,
            threshold,
            &who.subject,
        )
        .await
        .map_err(read_error)?;
        let json = |row: &settings::SettingsRow| {
            serde_json::json!({
                "dispute_sla_days": row.dispute_sla_days,
                "write_off_threshold": row.write_off_threshold,
                "version": row.version,
            })
        };
        audit::record(
            &mut tx,
            AuditEntry {
                tenant: &who.tenant,
                actor: &who.subject,
                action: "collections_settings.set",
                entity_type: "collections_settings",
                entity_id: who.tenant.as_str(),
                before: (before.version > 0).then(|| json(&before)),
                after: Some(json(&after)),
            },
        )
        .await
        .map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(views::settings(&after)))
    }
}

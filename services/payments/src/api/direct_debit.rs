//! `otc.payments.v1.DirectDebitService`.

use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{Fields, actor, begin, commit, non_empty, read_error, status_of};
use crate::direct_debit::collect::{self, WrittenBatch};
use crate::direct_debit::store::{self, BatchRow, CollectionRow, CreditorRow, MandateRow};
use crate::store::customers;
use otc_proto::payments as wire;
use otc_proto::payments::direct_debit_service_server::DirectDebitService;
use otc_shared::audit::{self, AuditEntry};
use otc_shared::auth::{Permission, authorize};
use otc_shared::grpc::{page, required_uuid};
use otc_shared::money::column_to_proto as money;

pub struct DirectDebitApi {
    pool: PgPool,
}

impl DirectDebitApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn sequence_of(code: &str) -> wire::SequenceType {
    match code {
        "FRST" => wire::SequenceType::Frst,
        "RCUR" => wire::SequenceType::Rcur,
        "OOFF" => wire::SequenceType::Ooff,
        "FNAL" => wire::SequenceType::Fnal,
        _ => wire::SequenceType::Unspecified,
    }
}

fn mandate(row: &MandateRow) -> wire::Mandate {
    wire::Mandate {
        mandate_id: row.id.to_string(),
        customer_id: row.customer_id.to_string(),
        reference: row.reference.clone(),
        debtor_name: row.debtor_name.clone(),
        iban: row.iban.clone(),
        bic: row.bic.clone().unwrap_or_default(),
        signed_on: row.signed_on.to_string(),
        sequence_type: sequence_of(&row.sequence_type).into(),
        status: row.status.to_uppercase(),
    }
}

fn collection(row: &CollectionRow) -> wire::Collection {
    wire::Collection {
        collection_id: row.id.to_string(),
        invoice_id: row.invoice_id.to_string(),
        invoice_number: row.invoice_number.clone(),
        customer_id: row.customer_id.to_string(),
        mandate_reference: row.mandate_reference.clone(),
        end_to_end_id: row.end_to_end_id.clone(),
        amount: Some(money(row.amount, &row.currency)),
        status: row.status.to_uppercase(),
        return_reason: row.return_reason.clone().unwrap_or_default(),
        receipt_id: row.receipt_id.map(|id| id.to_string()).unwrap_or_default(),
    }
}

fn batch(row: &BatchRow, items: &[CollectionRow]) -> wire::DirectDebitBatch {
    wire::DirectDebitBatch {
        batch_id: row.id.to_string(),
        message_id: row.message_id.clone(),
        collection_date: row.collection_date.to_string(),
        collections: u32::try_from(row.collections).unwrap_or_default(),
        total: Some(money(row.total, &row.currency)),
        items: items
            .iter()
            .filter(|item| item.batch_id == row.id)
            .map(collection)
            .collect(),
        created_at: Some(otc_shared::time::to_proto(row.created_at)),
    }
}

fn check_iban(fields: &mut Fields, field: &str, text: &str) -> String {
    let iban = crate::domain::normalise_account(text);
    if let Some(problem) = otc_bank_formats::iban_problem(&iban) {
        fields.add(field, problem);
    }
    iban
}

#[tonic::async_trait]
impl DirectDebitService for DirectDebitApi {
    async fn create_mandate(
        &self,
        request: Request<wire::CreateMandateRequest>,
    ) -> Result<Response<wire::Mandate>, Status> {
        let principal = authorize(&request, Permission::PaymentsWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let customer_id = fields.uuid("customer_id", &message.customer_id);
        let reference = message.reference.trim().to_owned();
        if reference.is_empty() || reference.len() > 35 {
            fields.add("reference", "is required, at most 35 characters");
        }
        if message.debtor_name.trim().is_empty() {
            fields.add("debtor_name", "is required");
        }
        let iban = check_iban(&mut fields, "iban", &message.iban);
        let signed_on = fields.date("signed_on", &message.signed_on);
        let sequence = match message.sequence_type() {
            wire::SequenceType::Unspecified | wire::SequenceType::Rcur => "FRST",
            wire::SequenceType::Ooff => "OOFF",
            other => {
                fields.add("sequence_type", format!("{other:?} is not RCUR or OOFF"));
                "FRST"
            }
        };
        fields.finish()?;
        let (Some(customer_id), Some(signed_on)) = (customer_id, signed_on) else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let row = MandateRow {
            id: Uuid::now_v7(),
            customer_id,
            reference,
            debtor_name: message.debtor_name.trim().to_owned(),
            iban,
            bic: non_empty(&message.bic),
            signed_on,
            sequence_type: sequence.to_owned(),
            status: "active".to_owned(),
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        if !customers::exists(&mut tx, customer_id)
            .await
            .map_err(read_error)?
        {
            return Err(status_of(crate::commands::CommandError::invalid(
                "customer_id",
                format!("no customer {customer_id}"),
            )));
        }
        if !store::insert_mandate(&mut tx, principal.tenant.as_str(), &row, &principal.subject)
            .await
            .map_err(read_error)?
        {
            return Err(Status::already_exists(
                "a mandate with this reference exists, or the customer has an active mandate",
            ));
        }
        audit::record(
            &mut tx,
            AuditEntry {
                tenant: &principal.tenant,
                actor: &principal.subject,
                action: "mandate.create",
                entity_type: "mandate",
                entity_id: &row.id.to_string(),
                before: None,
                after: Some(serde_json::json!({
                    "customer_id": row.customer_id,
                    "reference": row.reference,
                    "signed_on": row.signed_on,
                })),
            },
        )
        .await
        .map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(mandate(&row)))
    }

    async fn revoke_mandate(
        &self,
        request: Request<wire::RevokeMandateRequest>,
    ) -> Result<Response<wire::Mandate>, Status> {
        let principal = authorize(&request, Permission::PaymentsWrite)?;
        let id = required_uuid("mandate_id", &request.get_ref().mandate_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let mut row = store::mandate(&mut tx, id)
            .await
            .map_err(read_error)?
            .ok_or_else(|| Status::not_found(format!("no mandate {id}")))?;
        if row.status != "revoked" {
            store::revoke_mandate(&mut tx, id)
                .await
                .map_err(read_error)?;
            audit::record(
                &mut tx,
                AuditEntry {
                    tenant: &principal.tenant,
                    actor: &principal.subject,
                    action: "mandate.revoke",
                    entity_type: "mandate",
                    entity_id: &id.to_string(),
                    before: Some(serde_json::json!({ "status": row.status })),
                    after: Some(serde_json::json!({ "status": "revoked" })),
                },
            )
            .await
            .map_err(read_error)?;
            row.status = "revoked".to_owned();
        }
        commit(tx).await?;
        Ok(Response::new(mandate(&row)))
    }

    async fn list_mandates(
        &self,
        request: Request<wire::ListMandatesRequest>,
    ) -> Result<Response<wire::ListMandatesResponse>, Status> {
        let principal = authorize(&request, Permission::PaymentsRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let mut fields = Fields::new();
        let customer_id = fields.optional_uuid("customer_id", &message.customer_id);
        fields.finish()?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = store::mandates(&mut tx, customer_id, limit, after)
            .await
            .map_err(read_error)?;
        commit(tx).await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        Ok(Response::new(wire::ListMandatesResponse {
            mandates: rows.iter().map(mandate).collect(),
            page: Some(otc_shared::grpc::page_info(&ids, limit)),
        }))
    }

    async fn set_creditor(
        &self,
        request: Request<wire::Creditor>,
    ) -> Result<Response<wire::Creditor>, Status> {
        let principal = authorize(&request, Permission::ConfigurationWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        if message.name.trim().is_empty() {
            fields.add("name", "is required");
        }
        let iban = check_iban(&mut fields, "iban", &message.iban);
        let creditor_id = crate::domain::normalise_account(&message.creditor_id);
        if let Some(problem) = otc_bank_formats::creditor_id_problem(&creditor_id) {
            fields.add("creditor_id", problem);
        }
        fields.finish()?;
        let row = CreditorRow {
            name: message.name.trim().to_owned(),
            iban,
            bic: non_empty(&message.bic),
            creditor_id,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let before = store::creditor(&mut tx).await.map_err(read_error)?;
        store::set_creditor(&mut tx, principal.tenant.as_str(), &row, &principal.subject)
            .await
            .map_err(read_error)?;
        audit::record(
            &mut tx,
            AuditEntry {
                tenant: &principal.tenant,
                actor: &principal.subject,
                action: "creditor.set",
                entity_type: "creditor",
                entity_id: principal.tenant.as_str(),
                before: before.map(|before| serde_json::json!({ "iban": before.iban, "creditor_id": before.creditor_id })),
                after: Some(serde_json::json!({ "iban": row.iban, "creditor_id": row.creditor_id })),
            },
        )
        .await
        .map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(wire::Creditor {
            name: row.name,
            iban: row.iban,
            bic: row.bic.unwrap_or_default(),
            creditor_id: row.creditor_id,
        }))
    }

    async fn run_collection(
        &self,
        request: Request<wire::RunCollectionRequest>,
    ) -> Result<Response<wire::DirectDebitBatch>, Status> {
        let principal = authorize(&request, Permission::PaymentsWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let today = chrono::Utc::now().date_naive();
        let due = fields
            .optional_date("due_on_or_before", &message.due_on_or_before)
            .unwrap_or(today);
        let collection_date = fields
            .optional_date("collection_date", &message.collection_date)
            .unwrap_or_else(|| collect::next_business_day(today));
        if collection_date < today {
            fields.add("collection_date", "must not be in the past");
        }
        fields.finish()?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let written = collect::run_collection(&mut tx, &actor(&principal), due, collection_date)
            .await
            .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(match written {
            Some(WrittenBatch {
                batch: row,
                collections,
            }) => batch(&row, &collections),
            None => wire::DirectDebitBatch {
                collection_date: collection_date.to_string(),
                ..wire::DirectDebitBatch::default()
            },
        }))
    }

    async fn list_batches(
        &self,
        request: Request<wire::ListBatchesRequest>,
    ) -> Result<Response<wire::ListBatchesResponse>, Status> {
        let principal = authorize(&request, Permission::PaymentsRead)?;
        let (limit, after) = page(request.get_ref().page.as_ref())?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = store::batches(&mut tx, limit, after)
            .await
            .map_err(read_error)?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let items = store::collections_of(&mut tx, &ids)
            .await
            .map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(wire::ListBatchesResponse {
            batches: rows.iter().map(|row| batch(row, &items)).collect(),
            page: Some(otc_shared::grpc::page_info(&ids, limit)),
        }))
    }

    async fn get_batch_file(
        &self,
        request: Request<wire::GetBatchFileRequest>,
    ) -> Result<Response<wire::BatchFile>, Status> {
        let principal = authorize(&request, Permission::PaymentsRead)?;
        let id = required_uuid("batch_id", &request.get_ref().batch_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let (message_id, xml, sha256) =
            store::batch_file(&mut tx, id)
                .await
                .map_err(read_error)?
                .ok_or_else(|| Status::not_found(format!("no batch {id}")))?;
        commit(tx).await?;
        Ok(Response::new(wire::BatchFile {
            file_name: format!("{message_id}.pain.008.xml"),
            content: xml.into_bytes(),
            sha256,
        }))
    }
}

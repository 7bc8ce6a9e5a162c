//! `otc.billing.v1.InvoiceService`.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use rust_decimal::Decimal;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert::{self, InvoiceParts};
use super::{Fields, begin, commit, non_empty, request_hash, status_of};
use crate::commands::notes::{self, DebitLineRequest, NoteContext};
use crate::commands::{IssueOptions, cycle, profile};
use crate::documents::store::DocumentStore;
use crate::domain::credit::{CreditRequest, LineCredit};
use crate::store::Tx;
use crate::store::customers::{self, BillingProfile};
use crate::store::documents;
use crate::store::invoices::{self, InvoiceFilter};
use otc_proto::billing as wire;
use otc_proto::billing::invoice_service_server::InvoiceService;
use otc_proto::types::PageInfo;
use otc_shared::auth::{Permission, authorize};
use otc_shared::grpc::page_size;

const CHUNK: usize = 64 * 1024;

pub struct InvoiceApi {
    pool: PgPool,
    options: IssueOptions,
    store: Arc<DocumentStore>,
}

impl InvoiceApi {
    pub fn new(pool: PgPool, options: IssueOptions, store: Arc<DocumentStore>) -> Self {
        Self {
            pool,
            options,
            store,
        }
    }
}

impl InvoiceApi {
    /// A page of the held queue, oldest first.
    async fn held_page(
        &self,
        tenant: &otc_shared::TenantId,
        page: Option<&otc_proto::types::PageRequest>,
        reason: Option<String>,
        customer_id: Option<Uuid>,
    ) -> Result<wire::ListInvoicesResponse, Status> {
        let token = page_token(page);
        let after = if token.is_empty() {
            None
        } else {
            let parsed = token.split_once('|').and_then(|(at, id)| {
                Some((
                    chrono::DateTime::parse_from_rfc3339(at).ok()?.to_utc(),
                    Uuid::parse_str(id).ok()?,
                ))
            });
            if parsed.is_none() {
                let mut fields = Fields::new();
                fields.add("page.page_token", "is not a token this service gave out");
                fields.finish()?;
            }
            parsed
        };
        let limit = page_size(page);
        let mut tx = begin(&self.pool, tenant).await?;
        let records = invoices::list_held(&mut tx, reason.as_deref(), customer_id, after, limit)
            .await
            .map_err(|error| super::database_status(&error))?;
        let next = match records.last() {
            Some(last) if i64::try_from(records.len()).unwrap_or(0) >= limit => {
                format!("{}|{}", last.created_at.to_rfc3339(), last.id)
            }
            _ => String::new(),
        };
        let mut listed = Vec::with_capacity(records.len());
        for record in records {
            listed.push(full(&mut tx, record).await?);
        }
        commit(tx).await?;
        Ok(wire::ListInvoicesResponse {
            invoices: listed,
            page: Some(PageInfo {
                next_page_token: next,
            }),
        })
    }
}

/// An invoice with its lines, buyer name, document and what remains creditable.
pub async fn load_full(tx: &mut Tx, id: Uuid) -> Result<wire::Invoice, Status> {
    let record = invoices::load(tx, id)
        .await
        .map_err(|error| super::database_status(&error))?
        .ok_or_else(|| Status::not_found(format!("invoice {id} does not exist")))?;
    full(tx, record).await
}

async fn full(tx: &mut Tx, record: invoices::InvoiceRecord) -> Result<wire::Invoice, Status> {
    let db = |error: sqlx::Error| super::database_status(&error);
    let lines = invoices::lines(tx, record.id).await.map_err(db)?;
    let customer_name = customers::load(tx, record.customer_id)
        .await
        .map_err(db)?
        .map(|customer| customer.legal_name)
        .unwrap_or_default();
    let document = documents::load(tx, record.id).await.map_err(db)?;
    let creditable = if record.kind == "invoice" && record.status == "issued" {
        let credited: Decimal = invoices::credited_by_line(tx, record.id)
            .await
            .map_err(db)?
            .iter()
            .map(|line| line.net + line.tax)
            .sum();
        Some(record.total_amount - credited)
    } else {
        None
    };
    Ok(convert::invoice(&InvoiceParts {
        record: &record,
        lines: &lines,
        customer_name,
        document: document.as_ref(),
        creditable,
    }))
}

fn page_token(page: Option<&otc_proto::types::PageRequest>) -> &str {
    page.map_or("", |page| page.page_token.trim())
}

fn parse_profile(fields: &mut Fields, profile: &wire::BillingProfile) -> BillingProfile {
    let frequency = profile.invoicing_frequency.trim().to_lowercase();
    let frequency = if frequency.is_empty() {
        "per_shipment".to_owned()
    } else {
        frequency
    };
    if !["per_shipment", "daily", "weekly", "monthly"].contains(&frequency.as_str()) {
        fields.add(
            "profile.invoicing_frequency",
            format!("`{frequency}` is not PER_SHIPMENT, DAILY, WEEKLY or MONTHLY"),
        );
    }
    let channel = profile.delivery_channel.trim().to_lowercase();
    let channel = if channel.is_empty() {
        "none".to_owned()
    } else {
        channel
    };
    let email = non_empty(&profile.delivery_email);
    let webhook = non_empty(&profile.delivery_webhook_url);
    match channel.as_str() {
        "none" => {}
        "email" => match &email {
            Some(address) if address.contains('@') && !address.contains(char::is_whitespace) => {}
            Some(address) => fields.add(
                "profile.delivery_email",
                format!("`{address}` is not an email address"),
            ),
            None => fields.add("profile.delivery_email", "is required for channel EMAIL"),
        },
        "webhook" => match &webhook {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {}
            Some(url) => fields.add(
                "profile.delivery_webhook_url",
                format!("`{url}` is not an http(s) URL"),
            ),
            None => fields.add(
                "profile.delivery_webhook_url",
                "is required for channel WEBHOOK",
            ),
        },
        other => fields.add(
            "profile.delivery_channel",
            format!("`{other}` is not NONE, EMAIL or WEBHOOK"),
        ),
    }
    let treatment = profile.tax_treatment.trim().to_lowercase();
    let treatment = if treatment.is_empty() {
        "standard".to_owned()
    } else {
        treatment
    };
    match treatment.as_str() {
        "standard" | "exempt" => {}
        "reverse_charge" => {
            if non_empty(&profile.buyer_tax_id).is_none() {
                fields.add("profile.buyer_tax_id", "is required for REVERSE_CHARGE");
            }
        }
        other => fields.add(
            "profile.tax_treatment",
            format!("`{other}` is not STANDARD, EXEMPT or REVERSE_CHARGE"),
        ),
    }
    let basis = non_empty(&profile.price_basis).map(|basis| basis.to_lowercase());
    if let Some(basis) = &basis
        && basis != "exclusive"
        && basis != "inclusive"
    {
        fields.add(
            "profile.price_basis",
            format!("`{basis}` is not EXCLUSIVE or INCLUSIVE"),
        );
    }
    BillingProfile {
        invoicing_frequency: frequency,
        delivery_channel: channel,
        delivery_email: email,
        delivery_webhook_url: webhook,
        tax_treatment: treatment,
        tax_exemption_reason: non_empty(&profile.tax_exemption_reason),
        buyer_tax_id: non_empty(&profile.buyer_tax_id),
        price_basis: basis,
    }
}

fn profile_to_wire(
    customer_id: Uuid,
    profile: &BillingProfile,
    version: i64,
) -> wire::BillingProfile {
    wire::BillingProfile {
        customer_id: customer_id.to_string(),
        invoicing_frequency: profile.invoicing_frequency.to_uppercase(),
        delivery_channel: profile.delivery_channel.to_uppercase(),
        delivery_email: profile.delivery_email.clone().unwrap_or_default(),
        delivery_webhook_url: profile.delivery_webhook_url.clone().unwrap_or_default(),
        tax_treatment: profile.tax_treatment.to_uppercase(),
        tax_exemption_reason: profile.tax_exemption_reason.clone().unwrap_or_default(),
        buyer_tax_id: profile.buyer_tax_id.clone().unwrap_or_default(),
        price_basis: profile
            .price_basis
            .clone()
            .unwrap_or_default()
            .to_uppercase(),
        version: u64::try_from(version).unwrap_or_default(),
    }
}

type DocumentStream = Pin<Box<dyn Stream<Item = Result<wire::DocumentChunk, Status>> + Send>>;

#[tonic::async_trait]
impl InvoiceService for InvoiceApi {
    async fn get_invoice(
        &self,
        request: Request<wire::GetInvoiceRequest>,
    ) -> Result<Response<wire::Invoice>, Status> {
        let principal = authorize(&request, Permission::InvoicesRead)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let id = fields.optional_uuid("invoice_id", &message.invoice_id);
        let number = non_empty(&message.number);
        if id.is_none() && number.is_none() {
            fields.add("invoice_id", "give the invoice id or its number");
        }
        fields.finish()?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let record = match (id, number) {
            (Some(id), _) => invoices::load(&mut tx, id).await,
            (None, Some(number)) => invoices::load_by_number(&mut tx, &number).await,
            (None, None) => Ok(None),
        }
        .map_err(|error| super::database_status(&error))?
        .ok_or_else(|| Status::not_found("no such invoice"))?;
        let invoice = full(&mut tx, record).await?;
        commit(tx).await?;
        Ok(Response::new(invoice))
    }

    async fn list_invoices(
        &self,
        request: Request<wire::ListInvoicesRequest>,
    ) -> Result<Response<wire::ListInvoicesResponse>, Status> {
        let principal = authorize(&request, Permission::InvoicesRead)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let customer_id = fields.optional_uuid("customer_id", &message.customer_id);
        match message.status.trim().to_uppercase().as_str() {
            "" | "ISSUED" => {}
            "HELD" => {
                fields.finish()?;
                return self
                    .held_page(&principal.tenant, message.page.as_ref(), None, customer_id)
                    .await
                    .map(Response::new);
            }
            other => fields.add("status", format!("`{other}` is not ISSUED or HELD")),
        }
        let issued_from = fields.optional_date("issued_from", &message.issued_from);
        let issued_to = fields.optional_date("issued_to", &message.issued_to);
        let min_total = fields.optional_decimal("min_total", &message.min_total);
        let max_total = fields.optional_decimal("max_total", &message.max_total);
        let kind = match wire::DocumentKind::try_from(message.kind) {
            Ok(wire::DocumentKind::Invoice) => Some("invoice".to_owned()),
            Ok(wire::DocumentKind::CreditNote) => Some("credit_note".to_owned()),
            Ok(wire::DocumentKind::DebitNote) => Some("debit_note".to_owned()),
            Ok(wire::DocumentKind::Unspecified) => None,
            Err(_) => {
                fields.add("kind", format!("{} is not a document kind", message.kind));
                None
            }
        };
        let token = page_token(message.page.as_ref());
        let after = if token.is_empty() {
            None
        } else {
            match token.rsplit_once(':').and_then(|(series, sequence)| {
                Some((series.to_owned(), sequence.parse::<i64>().ok()?))
            }) {
                Some(after) => Some(after),
                None => {
                    fields.add("page.page_token", "is not a token this service gave out");
                    None
                }
            }
        };
        fields.finish()?;
        let limit = page_size(message.page.as_ref());
        let filter = InvoiceFilter {
            customer_id,
            kind,
            issued_from,
            issued_to,
            min_total,
            max_total,
            number_prefix: non_empty(&message.number_prefix),
            currency: non_empty(&message.currency_code).map(|code| code.to_uppercase()),
            after,
            limit,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let records = invoices::list_issued(&mut tx, &filter)
            .await
            .map_err(|error| super::database_status(&error))?;
        let next = match records.last() {
            Some(last) if i64::try_from(records.len()).unwrap_or(0) >= limit => format!(
                "{}:{}",
                last.series.clone().unwrap_or_default(),
                last.sequence.unwrap_or_default()
            ),
            _ => String::new(),
        };
        let mut listed = Vec::with_capacity(records.len());
        for record in records {
            listed.push(full(&mut tx, record).await?);
        }
        commit(tx).await?;
        Ok(Response::new(wire::ListInvoicesResponse {
            invoices: listed,
            page: Some(PageInfo {
                next_page_token: next,
            }),
        }))
    }

    async fn list_held_invoices(
        &self,
        request: Request<wire::ListHeldInvoicesRequest>,
    ) -> Result<Response<wire::ListInvoicesResponse>, Status> {
        let principal = authorize(&request, Permission::InvoicesRead)?;
        let message = request.into_inner();
        let reason = non_empty(&message.reason_code).map(|code| code.to_uppercase());
        self.held_page(&principal.tenant, message.page.as_ref(), reason, None)
            .await
            .map(Response::new)
    }

    async fn release_held_invoice(
        &self,
        request: Request<wire::ReleaseHeldInvoiceRequest>,
    ) -> Result<Response<wire::Invoice>, Status> {
        let principal = authorize(&request, Permission::InvoicesWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let id = fields.uuid("invoice_id", &message.invoice_id);
        fields.finish()?;
        let id = id.unwrap_or_default();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        cycle::release(
            &mut tx,
            &principal.tenant,
            id,
            message.accept_discrepancy,
            &principal.subject,
            self.options,
        )
        .await
        .map_err(status_of)?;
        let invoice = load_full(&mut tx, id).await?;
        commit(tx).await?;
        Ok(Response::new(invoice))
    }

    async fn issue_credit_note(
        &self,
        request: Request<wire::IssueCreditNoteRequest>,
    ) -> Result<Response<wire::Invoice>, Status> {
        let principal = authorize(&request, Permission::CreditNotesWrite)?;
        let message = request.into_inner();
        let hash = request_hash(&message);
        let mut fields = Fields::new();
        let invoice_id = fields.uuid("invoice_id", &message.invoice_id);
        if message.idempotency_key.trim().is_empty() {
            fields.add("idempotency_key", "is required");
        }
        if message.reason.trim().is_empty() {
            fields.add("reason", "is required: say why the invoice is credited");
        }
        let scope = match &message.scope {
            None => {
                fields.add("scope", "give `full`, `lines` or `amount`");
                None
            }
            Some(wire::issue_credit_note_request::Scope::Full(true)) => Some(CreditRequest::Full),
            Some(wire::issue_credit_note_request::Scope::Full(false)) => {
                fields.add("full", "must be true when given");
                None
            }
            Some(wire::issue_credit_note_request::Scope::Amount(amount)) => fields
                .money("amount", Some(amount))
                .map(|gross| CreditRequest::Amount { gross }),
            Some(wire::issue_credit_note_request::Scope::Lines(lines)) => {
                let mut credits = Vec::new();
                if lines.lines.is_empty() {
                    fields.add("lines.lines", "at least one line");
                }
                for (index, line) in lines.lines.iter().enumerate() {
                    let quantity = fields.optional_decimal(
                        &format!("lines.lines[{index}].quantity"),
                        &line.quantity,
                    );
                    let net_amount = match &line.net_amount {
                        None => None,
                        Some(amount) => {
                            fields.money(&format!("lines.lines[{index}].net_amount"), Some(amount))
                        }
                    };
                    if quantity.is_some() == net_amount.is_some() {
                        fields.add(
                            &format!("lines.lines[{index}]"),
                            "give either a quantity or a net amount",
                        );
                    }
                    credits.push(LineCredit {
                        line_ref: line.line_no.to_string(),
                        quantity,
                        net_amount,
                    });
                }
                Some(CreditRequest::Lines(credits))
            }
        };
        fields.finish()?;
        let (Some(invoice_id), Some(scope)) = (invoice_id, scope) else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let now = otc_shared::time::now();
        let context = NoteContext {
            actor: &principal.subject,
            idempotency_key: message.idempotency_key.trim(),
            request_hash: &hash,
            invoice_id,
            reason: message.reason.trim(),
            today: now.date_naive(),
            now,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let note =
            notes::issue_credit_note(&mut tx, &principal.tenant, &context, &scope, self.options)
                .await
                .map_err(status_of)?;
        let invoice = load_full(&mut tx, note.id).await?;
        commit(tx).await?;
        Ok(Response::new(invoice))
    }

    async fn issue_debit_note(
        &self,
        request: Request<wire::IssueDebitNoteRequest>,
    ) -> Result<Response<wire::Invoice>, Status> {
        let principal = authorize(&request, Permission::CreditNotesWrite)?;
        let message = request.into_inner();
        let hash = request_hash(&message);
        let mut fields = Fields::new();
        let invoice_id = fields.uuid("invoice_id", &message.invoice_id);
        if message.idempotency_key.trim().is_empty() {
            fields.add("idempotency_key", "is required");
        }
        if message.reason.trim().is_empty() {
            fields.add(
                "reason",
                "is required: say why the customer is charged more",
            );
        }
        if message.lines.is_empty() {
            fields.add("lines", "at least one line");
        }
        let mut lines = Vec::new();
        for (index, line) in message.lines.iter().enumerate() {
            if line.description.trim().is_empty() {
                fields.add(&format!("lines[{index}].description"), "is required");
            }
            if line.tax_code.trim().is_empty() {
                fields.add(&format!("lines[{index}].tax_code"), "is required");
            }
            let amount = fields.money(
                &format!("lines[{index}].net_amount"),
                line.net_amount.as_ref(),
            );
            if let Some(amount) = amount {
                if !amount.is_positive() {
                    fields.add(&format!("lines[{index}].net_amount"), "must be positive");
                }
                lines.push(DebitLineRequest {
                    description: line.description.trim().to_owned(),
                    net_amount: amount,
                    tax_code: line.tax_code.trim().to_owned(),
                });
            }
        }
        fields.finish()?;
        let invoice_id = invoice_id.unwrap_or_default();
        let now = otc_shared::time::now();
        let context = NoteContext {
            actor: &principal.subject,
            idempotency_key: message.idempotency_key.trim(),
            request_hash: &hash,
            invoice_id,
            reason: message.reason.trim(),
            today: now.date_naive(),
            now,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let note =
            notes::issue_debit_note(&mut tx, &principal.tenant, &context, &lines, self.options)
                .await
                .map_err(status_of)?;
        let invoice = load_full(&mut tx, note.id).await?;
        commit(tx).await?;
        Ok(Response::new(invoice))
    }

    type GetInvoiceDocumentStream = DocumentStream;

    async fn get_invoice_document(
        &self,
        request: Request<wire::GetInvoiceDocumentRequest>,
    ) -> Result<Response<Self::GetInvoiceDocumentStream>, Status> {
        let principal = authorize(&request, Permission::InvoicesRead)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let id = fields.uuid("invoice_id", &message.invoice_id);
        fields.finish()?;
        let id = id.unwrap_or_default();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let record = invoices::load(&mut tx, id)
            .await
            .map_err(|error| super::database_status(&error))?
            .ok_or_else(|| Status::not_found(format!("invoice {id} does not exist")))?;
        let document = documents::load(&mut tx, id)
            .await
            .map_err(|error| super::database_status(&error))?;
        commit(tx).await?;
        let Some(document) = document.filter(|document| document.status == "stored") else {
            return Err(Status::failed_precondition(format!(
                "the document of {} is not rendered yet",
                record.number.unwrap_or_else(|| id.to_string())
            )));
        };
        let (Some(key), Some(sha256)) = (document.object_key, document.sha256) else {
            return Err(Status::internal("stored document without key or hash"));
        };
        let bytes = self
            .store
            .get_verified(&key, &sha256)
            .await
            .map_err(|error| {
                tracing::error!(%error, invoice = %id, "stored document failed verification");
                match error {
                    crate::documents::store::StoreError::HashMismatch { .. } => Status::data_loss(
                        format!("the stored document of {id} does not match its SHA-256: {error}"),
                    ),
                    crate::documents::store::StoreError::NotFound { .. } => {
                        Status::data_loss(format!("the stored document of {id} is missing"))
                    }
                    other => Status::unavailable(format!("document store: {other}")),
                }
            })?;
        let file_name = format!("{}.pdf", record.number.unwrap_or_else(|| id.to_string()));
        let size = u64::try_from(bytes.len()).unwrap_or_default();
        let chunks: Vec<Result<wire::DocumentChunk, Status>> = bytes
            .chunks(CHUNK)
            .enumerate()
            .map(|(index, chunk)| {
                let first = index == 0;
                Ok(wire::DocumentChunk {
                    data: chunk.to_vec(),
                    content_type: if first {
                        "application/pdf".to_owned()
                    } else {
                        String::new()
                    },
                    sha256: if first { sha256.clone() } else { String::new() },
                    size: if first { size } else { 0 },
                    file_name: if first {
                        file_name.clone()
                    } else {
                        String::new()
                    },
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(chunks))))
    }

    async fn rerender_document(
        &self,
        request: Request<wire::RerenderDocumentRequest>,
    ) -> Result<Response<wire::DocumentStatus>, Status> {
        let principal = authorize(&request, Permission::InvoicesWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let id = fields.uuid("invoice_id", &message.invoice_id);
        fields.finish()?;
        let id = id.unwrap_or_default();
        let db = |error: sqlx::Error| super::database_status(&error);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let record = invoices::load(&mut tx, id)
            .await
            .map_err(db)?
            .ok_or_else(|| Status::not_found(format!("invoice {id} does not exist")))?;
        if record.status != "issued" {
            return Err(Status::failed_precondition(
                "only issued documents are rendered",
            ));
        }
        documents::request_render(&mut tx, principal.tenant.as_str(), id)
            .await
            .map_err(db)?;
        otc_shared::audit::record(
            &mut tx,
            otc_shared::audit::AuditEntry {
                tenant: &principal.tenant,
                actor: &principal.subject,
                action: "document.rerender",
                entity_type: "invoice",
                entity_id: &id.to_string(),
                before: None,
                after: None,
            },
        )
        .await
        .map_err(db)?;
        let document = documents::load(&mut tx, id).await.map_err(db)?;
        commit(tx).await?;
        Ok(Response::new(convert::document_status(
            id,
            document.as_ref(),
        )))
    }

    async fn resend_invoice(
        &self,
        request: Request<wire::ResendInvoiceRequest>,
    ) -> Result<Response<wire::Delivery>, Status> {
        let principal = authorize(&request, Permission::InvoicesWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let id = fields.uuid("invoice_id", &message.invoice_id);
        let channel = non_empty(&message.channel).map(|channel| channel.to_lowercase());
        if let Some(channel) = &channel
            && channel != "email"
            && channel != "webhook"
        {
            fields.add("channel", format!("`{channel}` is not EMAIL or WEBHOOK"));
        }
        if channel.is_some() != non_empty(&message.target).is_some() {
            fields.add("target", "give both a channel and a target, or neither");
        }
        fields.finish()?;
        let id = id.unwrap_or_default();
        let db = |error: sqlx::Error| super::database_status(&error);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let record = invoices::load(&mut tx, id)
            .await
            .map_err(db)?
            .ok_or_else(|| Status::not_found(format!("invoice {id} does not exist")))?;
        if record.status != "issued" {
            return Err(Status::failed_precondition(
                "only issued documents are sent",
            ));
        }
        let target = match (channel, non_empty(&message.target)) {
            (Some(channel), Some(target)) => Some((channel, target)),
            _ => customers::load(&mut tx, record.customer_id)
                .await
                .map_err(db)?
                .and_then(|customer| {
                    crate::commands::issue::delivery_target(&customer)
                        .map(|(channel, target)| (channel.to_owned(), target))
                }),
        };
        let Some((channel, target)) = target else {
            return Err(Status::failed_precondition(
                "the customer has no delivery channel: give a channel and a target",
            ));
        };
        let delivery_id = Uuid::now_v7();
        documents::insert_delivery(
            &mut tx,
            principal.tenant.as_str(),
            delivery_id,
            id,
            &channel,
            &target,
            &principal.subject,
        )
        .await
        .map_err(db)?;
        // A resend of a document never rendered (rendering off) renders it first.
        documents::insert_pending(&mut tx, principal.tenant.as_str(), id)
            .await
            .map_err(db)?;
        otc_shared::audit::record(
            &mut tx,
            otc_shared::audit::AuditEntry {
                tenant: &principal.tenant,
                actor: &principal.subject,
                action: "invoice.resend",
                entity_type: "delivery",
                entity_id: &delivery_id.to_string(),
                before: None,
                after: Some(
                    serde_json::json!({"invoice_id": id, "channel": channel, "target": target}),
                ),
            },
        )
        .await
        .map_err(db)?;
        let row = documents::load_delivery(&mut tx, delivery_id)
            .await
            .map_err(db)?
            .ok_or_else(|| Status::internal("delivery vanished"))?;
        commit(tx).await?;
        Ok(Response::new(convert::delivery(&row)))
    }

    async fn list_deliveries(
        &self,
        request: Request<wire::ListDeliveriesRequest>,
    ) -> Result<Response<wire::ListDeliveriesResponse>, Status> {
        let principal = authorize(&request, Permission::InvoicesRead)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let id = fields.uuid("invoice_id", &message.invoice_id);
        fields.finish()?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = documents::deliveries_of(&mut tx, id.unwrap_or_default())
            .await
            .map_err(|error| super::database_status(&error))?;
        commit(tx).await?;
        Ok(Response::new(wire::ListDeliveriesResponse {
            deliveries: rows.iter().map(convert::delivery).collect(),
        }))
    }

    async fn run_billing_cycle(
        &self,
        request: Request<wire::RunBillingCycleRequest>,
    ) -> Result<Response<wire::RunBillingCycleResponse>, Status> {
        let principal = authorize(&request, Permission::InvoicesWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let now = otc_shared::time::now();
        let as_of = fields
            .optional_date("as_of", &message.as_of)
            .unwrap_or_else(|| now.date_naive());
        fields.finish()?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let (issued, held) = cycle::run_cycle(
            &mut tx,
            &principal.tenant,
            as_of,
            now,
            self.options,
            &principal.subject,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(wire::RunBillingCycleResponse {
            invoices_issued: issued,
            invoices_held: held,
        }))
    }

    async fn set_billing_profile(
        &self,
        request: Request<wire::SetBillingProfileRequest>,
    ) -> Result<Response<wire::BillingProfile>, Status> {
        let principal = authorize(&request, Permission::InvoicesWrite)?;
        let message = request.into_inner();
        let given = message.profile.unwrap_or_default();
        let mut fields = Fields::new();
        let customer_id = fields.uuid("profile.customer_id", &given.customer_id);
        let profile = parse_profile(&mut fields, &given);
        fields.finish()?;
        let customer_id = customer_id.unwrap_or_default();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let version = profile::set_profile(
            &mut tx,
            &principal.tenant,
            &principal.subject,
            customer_id,
            &profile,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(profile_to_wire(
            customer_id,
            &profile,
            version,
        )))
    }

    async fn get_billing_profile(
        &self,
        request: Request<wire::GetBillingProfileRequest>,
    ) -> Result<Response<wire::BillingProfile>, Status> {
        let principal = authorize(&request, Permission::InvoicesRead)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let customer_id = fields.uuid("customer_id", &message.customer_id);
        fields.finish()?;
        let customer_id = customer_id.unwrap_or_default();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let customer = customers::load(&mut tx, customer_id)
            .await
            .map_err(|error| super::database_status(&error))?
            .ok_or_else(|| {
                Status::not_found(format!("customer {customer_id} is not known to billing"))
            })?;
        commit(tx).await?;
        Ok(Response::new(profile_to_wire(
            customer_id,
            &BillingProfile::of(&customer),
            customer.profile_version,
        )))
    }
}

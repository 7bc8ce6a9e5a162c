//! `otc.payments.v1.PaymentService`.

use rust_decimal::Decimal;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{Fields, actor, begin, commit, non_empty, read_error, request_hash, status_of};
use crate::commands::apply::PlannedAllocation;
use crate::commands::import;
use crate::commands::manual::{self, RefundRequest};
use crate::commands::receive::{self, IncomingPayment};
use crate::commands::view;
use crate::domain;
use crate::store::policies::{self, PolicyRow};
use crate::store::receipts::{self, ReceiptFilter};
use crate::store::{applications, open_items, webhooks};
use otc_proto::payments as wire;
use otc_proto::payments::payment_service_server::PaymentService;
use otc_proto::types::PageInfo;
use otc_shared::audit::{self, AuditEntry};
use otc_shared::auth::{Permission, authorize};
use otc_shared::grpc::{page, required_uuid};
use otc_shared::money::column_to_proto as money;

/// The largest statement file accepted (a month of a busy account in
/// camt.053 is a few MB).
pub const MAX_STATEMENT_BYTES: usize = 32 * 1024 * 1024;

pub struct PaymentApi {
    pool: PgPool,
}

impl PaymentApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn receipt_page(rows: &[receipts::ReceiptRow], limit: i64) -> PageInfo {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    otc_shared::grpc::page_info(&ids, limit)
}

fn allocations(fields: &mut Fields, wire: &[wire::Allocation]) -> Vec<PlannedAllocation> {
    if wire.is_empty() {
        fields.add("allocations", "give at least one invoice");
    }
    wire.iter()
        .enumerate()
        .filter_map(|(index, allocation)| {
            let field = |name: &str| format!("allocations[{index}].{name}");
            let invoice_id = fields.uuid(&field("invoice_id"), &allocation.invoice_id);
            let amount = optional_amount(fields, &field("amount"), allocation.amount.as_ref());
            let discount =
                optional_amount(fields, &field("discount"), allocation.discount.as_ref());
            let deduction =
                optional_amount(fields, &field("deduction"), allocation.deduction.as_ref());
            let currency = [
                &allocation.amount,
                &allocation.discount,
                &allocation.deduction,
            ]
            .into_iter()
            .flatten()
            .map(|money| money.currency_code.trim().to_uppercase())
            .find(|code| !code.is_empty());
            Some(PlannedAllocation {
                invoice_id: invoice_id?,
                currency,
                amount: amount?,
                discount: discount?,
                deduction: deduction?,
            })
        })
        .collect()
}

/// An allocation amount: absent means zero. The currency must be a valid
/// one; that it is the receipt's is the command's check.
fn optional_amount(
    fields: &mut Fields,
    field: &str,
    value: Option<&otc_proto::types::Money>,
) -> Option<Decimal> {
    match value {
        None => Some(Decimal::ZERO),
        Some(value) if value.amount.trim().is_empty() => Some(Decimal::ZERO),
        Some(value) => fields.money(field, Some(value)).map(|money| money.amount()),
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn record_payment(
        &self,
        request: Request<wire::RecordPaymentRequest>,
    ) -> Result<Response<wire::Receipt>, Status> {
        let principal = authorize(&request, Permission::PaymentsWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let key = non_empty(&message.idempotency_key);
        if key.is_none() {
            fields.add("idempotency_key", "is required");
        }
        let channel = match message.channel() {
            wire::Channel::Cash
            | wire::Channel::Cheque
            | wire::Channel::Card
            | wire::Channel::Wire
            | wire::Channel::Manual => domain::channel_name(message.channel()),
            _ => {
                fields.add("channel", "must be CASH, CHEQUE, CARD, WIRE or MANUAL");
                None
            }
        };
        let amount = fields.money("amount", message.amount.as_ref());
        let value_date = fields.date("value_date", &message.value_date);
        let customer_id = fields.optional_uuid("customer_id", &message.customer_id);
        if customer_id.is_none()
            && message.payer_name.trim().is_empty()
            && message.payer_account.trim().is_empty()
        {
            fields.add(
                "customer_id",
                "give the customer, or the payer's name or account",
            );
        }
        fields.finish()?;
        let (Some(key), Some(channel), Some(amount), Some(value_date)) =
            (key, channel, amount, value_date)
        else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let actor = actor(&principal);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let policy = policies::get(&mut tx).await.map_err(read_error)?;
        let received = receive::receive(
            &mut tx,
            &actor,
            &policy,
            &IncomingPayment {
                source_key: format!("grpc:{key}"),
                request_hash: request_hash(&message),
                channel,
                customer_id,
                amount,
                value_date,
                payer_name: message.payer_name.clone(),
                payer_account: message.payer_account.clone(),
                remittance: message.remittance_text.clone(),
                external_reference: message.external_reference.clone(),
                statement_id: None,
                known_allocation: None,
            },
        )
        .await
        .map_err(status_of)?;
        answer_with_receipt(tx, received.receipt.id).await
    }

    async fn import_statement(
        &self,
        request: Request<wire::ImportStatementRequest>,
    ) -> Result<Response<wire::ImportStatementResponse>, Status> {
        let principal = authorize(&request, Permission::StatementsImport)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let format = match non_empty(&message.format) {
            None => None,
            Some(text) => text
                .parse::<otc_bank_formats::Format>()
                .map_err(|_| {
                    fields.add(
                        "format",
                        format!("`{text}` is not camt.053, camt.054, MT940 or BAI2"),
                    )
                })
                .ok(),
        };
        if message.content.is_empty() {
            fields.add("content", "is empty");
        } else if message.content.len() > MAX_STATEMENT_BYTES {
            fields.add(
                "content",
                format!("is larger than {MAX_STATEMENT_BYTES} bytes"),
            );
        }
        fields.finish()?;
        let (format, statements) = import::parse(format, &message.content).map_err(status_of)?;
        let file_sha256 = import::sha256_hex(&message.content);
        let file_name =
            non_empty(&message.file_name).unwrap_or_else(|| format!("{file_sha256}.statement"));
        let actor = actor(&principal);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let policy = policies::get(&mut tx).await.map_err(read_error)?;
        let response = import::import(
            &mut tx,
            &actor,
            &policy,
            &file_name,
            format,
            &statements,
            &file_sha256,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(response))
    }

    async fn get_receipt(
        &self,
        request: Request<wire::GetReceiptRequest>,
    ) -> Result<Response<wire::Receipt>, Status> {
        let principal = authorize(&request, Permission::PaymentsRead)?;
        let id = required_uuid("receipt_id", &request.get_ref().receipt_id)?;
        let tx = begin(&self.pool, &principal.tenant).await?;
        answer_with_receipt(tx, id).await
    }

    async fn list_receipts(
        &self,
        request: Request<wire::ListReceiptsRequest>,
    ) -> Result<Response<wire::ListReceiptsResponse>, Status> {
        let principal = authorize(&request, Permission::PaymentsRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let mut fields = Fields::new();
        let status = non_empty(&message.status).map(|status| status.to_uppercase());
        if let Some(status) = &status
            && !domain::STATUSES.contains(&status.as_str())
        {
            fields.add(
                "status",
                format!("`{status}` is not one of {}", domain::STATUSES.join(", ")),
            );
        }
        let filter = ReceiptFilter {
            customer_id: fields.optional_uuid("customer_id", &message.customer_id),
            channel: domain::channel_name(message.channel()).map(str::to_owned),
            status,
            value_date_from: fields.optional_date("value_date_from", &message.value_date_from),
            value_date_to: fields.optional_date("value_date_to", &message.value_date_to),
            ..ReceiptFilter::default()
        };
        fields.finish()?;
        self.receipts_page(&principal.tenant, &filter, limit, after)
            .await
    }

    async fn list_applications(
        &self,
        request: Request<wire::ListApplicationsRequest>,
    ) -> Result<Response<wire::ListApplicationsResponse>, Status> {
        let principal = authorize(&request, Permission::PaymentsRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let mut fields = Fields::new();
        let receipt_id = fields.optional_uuid("receipt_id", &message.receipt_id);
        let invoice_id = fields.optional_uuid("invoice_id", &message.invoice_id);
        let customer_id = fields.optional_uuid("customer_id", &message.customer_id);
        fields.finish()?;
        let receipt_ids = receipt_id.map(|id| vec![id]);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = applications::list(
            &mut tx,
            receipt_ids.as_deref(),
            invoice_id,
            customer_id,
            limit,
            after,
        )
        .await
        .map_err(read_error)?;
        commit(tx).await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        Ok(Response::new(wire::ListApplicationsResponse {
            applications: rows.iter().map(view::application).collect(),
            page: Some(otc_shared::grpc::page_info(&ids, limit)),
        }))
    }

    async fn list_unapplied_cash(
        &self,
        request: Request<wire::ListUnappliedCashRequest>,
    ) -> Result<Response<wire::ListReceiptsResponse>, Status> {
        let principal = authorize(&request, Permission::PaymentsRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let mut fields = Fields::new();
        let filter = ReceiptFilter {
            customer_id: fields.optional_uuid("customer_id", &message.customer_id),
            unapplied_only: true,
            ..ReceiptFilter::default()
        };
        fields.finish()?;
        self.receipts_page(&principal.tenant, &filter, limit, after)
            .await
    }

    async fn list_exceptions(
        &self,
        request: Request<wire::ListExceptionsRequest>,
    ) -> Result<Response<wire::ListReceiptsResponse>, Status> {
        let principal = authorize(&request, Permission::PaymentsRead)?;
        let (limit, after) = page(request.get_ref().page.as_ref())?;
        let filter = ReceiptFilter {
            exceptions_only: true,
            ..ReceiptFilter::default()
        };
        self.receipts_page(&principal.tenant, &filter, limit, after)
            .await
    }

    async fn get_customer_payment_history(
        &self,
        request: Request<wire::GetCustomerPaymentHistoryRequest>,
    ) -> Result<Response<wire::CustomerPaymentHistory>, Status> {
        let principal = authorize(&request, Permission::PaymentsRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let mut fields = Fields::new();
        let customer_id = fields.uuid("customer_id", &message.customer_id);
        fields.finish()?;
        let filter = ReceiptFilter {
            customer_id,
            ..ReceiptFilter::default()
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = receipts::list(&mut tx, &filter, limit, after)
            .await
            .map_err(read_error)?;
        let views = view::receipts_with_applications(&mut tx, &rows)
            .await
            .map_err(status_of)?;
        let totals = receipts::totals(&mut tx, customer_id)
            .await
            .map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(wire::CustomerPaymentHistory {
            customer_id: message.customer_id.clone(),
            receipts: views,
            page: Some(receipt_page(&rows, limit)),
            totals: totals.iter().map(position).collect(),
        }))
    }

    async fn get_cash_position(
        &self,
        request: Request<wire::GetCashPositionRequest>,
    ) -> Result<Response<wire::CashPosition>, Status> {
        let principal = authorize(&request, Permission::PaymentsRead)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let totals = receipts::totals(&mut tx, None).await.map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(wire::CashPosition {
            currencies: totals.iter().map(position).collect(),
        }))
    }

    async fn list_customer_balances(
        &self,
        request: Request<wire::ListCustomerBalancesRequest>,
    ) -> Result<Response<wire::ListCustomerBalancesResponse>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let mut fields = Fields::new();
        let customer_id = fields.optional_uuid("customer_id", &request.get_ref().customer_id);
        fields.finish()?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = open_items::balances(&mut tx, customer_id)
            .await
            .map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(wire::ListCustomerBalancesResponse {
            balances: rows
                .iter()
                .map(|row| wire::CustomerBalance {
                    customer_id: row.customer_id.to_string(),
                    balance: Some(money(row.balance, &row.currency)),
                })
                .collect(),
        }))
    }

    async fn apply_receipt(
        &self,
        request: Request<wire::ApplyReceiptRequest>,
    ) -> Result<Response<wire::Receipt>, Status> {
        let principal = authorize(&request, Permission::CashApplicationWork)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let receipt_id = fields.uuid("receipt_id", &message.receipt_id);
        let customer_id = fields.optional_uuid("customer_id", &message.customer_id);
        let planned = allocations(&mut fields, &message.allocations);
        fields.finish()?;
        let Some(receipt_id) = receipt_id else {
            return Err(Status::invalid_argument("receipt_id"));
        };
        let actor = actor(&principal);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        manual::apply_receipt(&mut tx, &actor, receipt_id, customer_id, &planned)
            .await
            .map_err(status_of)?;
        answer_with_receipt(tx, receipt_id).await
    }

    async fn reject_suggestions(
        &self,
        request: Request<wire::RejectSuggestionsRequest>,
    ) -> Result<Response<wire::Receipt>, Status> {
        let principal = authorize(&request, Permission::CashApplicationWork)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let receipt_id = fields.uuid("receipt_id", &message.receipt_id);
        let customer_id = fields.optional_uuid("customer_id", &message.customer_id);
        if message.reason.trim().is_empty() {
            fields.add("reason", "is required");
        }
        fields.finish()?;
        let Some(receipt_id) = receipt_id else {
            return Err(Status::invalid_argument("receipt_id"));
        };
        let actor = actor(&principal);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        manual::reject_suggestions(
            &mut tx,
            &actor,
            receipt_id,
            customer_id,
            message.reason.trim(),
        )
        .await
        .map_err(status_of)?;
        answer_with_receipt(tx, receipt_id).await
    }

    async fn reverse_application(
        &self,
        request: Request<wire::ReverseApplicationRequest>,
    ) -> Result<Response<wire::Receipt>, Status> {
        let principal = authorize(&request, Permission::CashApplicationWork)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let application_id = fields.uuid("application_id", &message.application_id);
        if message.reason.trim().is_empty() {
            fields.add("reason", "is required");
        }
        fields.finish()?;
        let Some(application_id) = application_id else {
            return Err(Status::invalid_argument("application_id"));
        };
        let actor = actor(&principal);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let receipt =
            manual::reverse_application(&mut tx, &actor, application_id, message.reason.trim())
                .await
                .map_err(status_of)?;
        answer_with_receipt(tx, receipt.id).await
    }

    async fn issue_refund(
        &self,
        request: Request<wire::IssueRefundRequest>,
    ) -> Result<Response<wire::Receipt>, Status> {
        let principal = authorize(&request, Permission::RefundsWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let receipt_id = fields.uuid("receipt_id", &message.receipt_id);
        let key = non_empty(&message.idempotency_key);
        if key.is_none() {
            fields.add("idempotency_key", "is required");
        }
        let amount = fields.money("amount", message.amount.as_ref());
        fields.finish()?;
        let (Some(receipt_id), Some(key), Some(amount)) = (receipt_id, key, amount) else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let actor = actor(&principal);
        let hash = request_hash(&message);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        manual::issue_refund(
            &mut tx,
            &actor,
            &RefundRequest {
                receipt_id,
                idempotency_key: &key,
                request_hash: &hash,
                amount,
                reason: message.reason.trim(),
            },
        )
        .await
        .map_err(status_of)?;
        answer_with_receipt(tx, receipt_id).await
    }

    async fn reverse_payment(
        &self,
        request: Request<wire::ReversePaymentRequest>,
    ) -> Result<Response<wire::Receipt>, Status> {
        let principal = authorize(&request, Permission::RefundsWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let receipt_id = fields.uuid("receipt_id", &message.receipt_id);
        if message.reason.trim().is_empty() {
            fields.add("reason", "is required (NSF, CHARGEBACK, RETURNED...)");
        }
        fields.finish()?;
        let Some(receipt_id) = receipt_id else {
            return Err(Status::invalid_argument("receipt_id"));
        };
        let actor = actor(&principal);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        manual::reverse_payment(&mut tx, &actor, receipt_id, message.reason.trim())
            .await
            .map_err(status_of)?;
        answer_with_receipt(tx, receipt_id).await
    }

    async fn set_cash_application_policy(
        &self,
        request: Request<wire::CashApplicationPolicy>,
    ) -> Result<Response<wire::CashApplicationPolicy>, Status> {
        let principal = authorize(&request, Permission::ConfigurationWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let threshold = i16::try_from(message.auto_apply_threshold).unwrap_or(i16::MAX);
        if !(1..=100).contains(&threshold) {
            fields.add("auto_apply_threshold", "must be between 1 and 100");
        }
        let max_combination = i16::try_from(message.max_combination).unwrap_or(i16::MAX);
        if !(1..=8).contains(&max_combination) {
            fields.add("max_combination", "must be between 1 and 8");
        }
        let amount = fields
            .optional_decimal(
                "short_pay_tolerance_amount",
                &message.short_pay_tolerance_amount,
            )
            .unwrap_or_default();
        let percent = fields
            .optional_decimal(
                "short_pay_tolerance_percent",
                &message.short_pay_tolerance_percent,
            )
            .unwrap_or_default();
        if amount.is_sign_negative() {
            fields.add("short_pay_tolerance_amount", "must not be negative");
        }
        if percent.is_sign_negative() || percent > Decimal::ONE_HUNDRED {
            fields.add("short_pay_tolerance_percent", "must be between 0 and 100");
        }
        fields.finish()?;
        let policy = PolicyRow {
            auto_apply_threshold: threshold,
            max_combination,
            short_pay_tolerance_amount: amount,
            short_pay_tolerance_percent: percent,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let before = policies::get(&mut tx).await.map_err(read_error)?;
        policies::set(
            &mut tx,
            principal.tenant.as_str(),
            &policy,
            &principal.subject,
        )
        .await
        .map_err(read_error)?;
        audit::record(
            &mut tx,
            AuditEntry {
                tenant: &principal.tenant,
                actor: &principal.subject,
                action: "cash_application_policy.set",
                entity_type: "cash_application_policy",
                entity_id: principal.tenant.as_str(),
                before: Some(policy_json(&before)),
                after: Some(policy_json(&policy)),
            },
        )
        .await
        .map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(policy_wire(&policy)))
    }

    async fn get_cash_application_policy(
        &self,
        request: Request<wire::GetCashApplicationPolicyRequest>,
    ) -> Result<Response<wire::CashApplicationPolicy>, Status> {
        let principal = authorize(&request, Permission::PaymentsRead)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let policy = policies::get(&mut tx).await.map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(policy_wire(&policy)))
    }

    async fn register_webhook_provider(
        &self,
        request: Request<wire::RegisterWebhookProviderRequest>,
    ) -> Result<Response<wire::WebhookProvider>, Status> {
        let principal = authorize(&request, Permission::ConfigurationWrite)?;
        let provider = request.get_ref().provider.trim().to_owned();
        let mut fields = Fields::new();
        if !crate::webhooks::valid_provider(&provider) {
            fields.add(
                "provider",
                "must be 1-40 lower-case letters, digits or dashes, starting with a letter or digit",
            );
        }
        fields.finish()?;
        let secret = crate::webhooks::new_secret()
            .ok_or_else(|| Status::unavailable("no secure random source; retry"))?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        webhooks::set_provider(
            &mut tx,
            principal.tenant.as_str(),
            &provider,
            &secret,
            &principal.subject,
        )
        .await
        .map_err(read_error)?;
        audit::record(
            &mut tx,
            AuditEntry {
                tenant: &principal.tenant,
                actor: &principal.subject,
                action: "webhook_provider.register",
                entity_type: "webhook_provider",
                entity_id: &provider,
                before: None,
                after: Some(serde_json::json!({ "provider": provider, "secret": "(rotated)" })),
            },
        )
        .await
        .map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(wire::WebhookProvider {
            path: crate::webhooks::path_for(&principal.tenant, &provider),
            provider,
            secret,
        }))
    }
}

/// Commits and answers with the receipt as it now is.
async fn answer_with_receipt(
    mut tx: crate::store::Tx,
    receipt_id: Uuid,
) -> Result<Response<wire::Receipt>, Status> {
    let view = view::receipt_by_id(&mut tx, receipt_id)
        .await
        .map_err(status_of)?;
    commit(tx).await?;
    Ok(Response::new(view))
}

impl PaymentApi {
    async fn receipts_page(
        &self,
        tenant: &otc_shared::TenantId,
        filter: &ReceiptFilter,
        limit: i64,
        after: Option<Uuid>,
    ) -> Result<Response<wire::ListReceiptsResponse>, Status> {
        let mut tx = begin(&self.pool, tenant).await?;
        let rows = receipts::list(&mut tx, filter, limit, after)
            .await
            .map_err(read_error)?;
        let views = view::receipts_with_applications(&mut tx, &rows)
            .await
            .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(wire::ListReceiptsResponse {
            receipts: views,
            page: Some(receipt_page(&rows, limit)),
        }))
    }
}

fn position(totals: &receipts::CurrencyTotals) -> wire::CurrencyPosition {
    let currency = &totals.currency;
    wire::CurrencyPosition {
        currency_code: currency.clone(),
        received: Some(money(totals.received, currency)),
        applied: Some(money(totals.applied, currency)),
        unapplied: Some(money(totals.unapplied, currency)),
        refunded: Some(money(totals.refunded, currency)),
        reversed: Some(money(totals.reversed, currency)),
    }
}

fn policy_wire(policy: &PolicyRow) -> wire::CashApplicationPolicy {
    wire::CashApplicationPolicy {
        auto_apply_threshold: u32::try_from(policy.auto_apply_threshold).unwrap_or_default(),
        max_combination: u32::try_from(policy.max_combination).unwrap_or_default(),
        short_pay_tolerance_amount: policy.short_pay_tolerance_amount.normalize().to_string(),
        short_pay_tolerance_percent: policy.short_pay_tolerance_percent.normalize().to_string(),
    }
}

fn policy_json(policy: &PolicyRow) -> serde_json::Value {
    serde_json::json!({
        "auto_apply_threshold": policy.auto_apply_threshold,
        "max_combination": policy.max_combination,
        "short_pay_tolerance_amount": policy.short_pay_tolerance_amount,
        "short_pay_tolerance_percent": policy.short_pay_tolerance_percent,
    })
}

//! `otc.collections.v1.CreditLimitService`: credit limits (credit managers),
//! the tenant's credit policy (tenant admins) and credit profiles (reads).

use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{Fields, actor, begin, commit, read_error, status_of, views};
use crate::commands::credit_control::position;
use crate::commands::limits::{self, NewLimit, NewPolicy, RISK_CLASSES};
use crate::domain::credit;
use crate::store::Tx;
use crate::store::credit as store;
use otc_proto::collections as wire;
use otc_proto::collections::credit_limit_service_server::CreditLimitService;
use otc_proto::types::PageRequest;
use otc_shared::auth::{Permission, authorize};
use otc_shared::grpc::{page, required_uuid};

/// The longest overdue allowance a policy may set (ten years).
const MAX_OVERDUE_HOLD_DAYS: u32 = 3650;

pub struct CreditLimitApi {
    pool: PgPool,
}

impl CreditLimitApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// The customer's credit profile as it stands in `tx`, with a page of its
/// limit history; NOT_FOUND when collections knows nothing of it.
async fn profile(
    tx: &mut Tx,
    customer_id: Uuid,
    history_page: Option<&PageRequest>,
) -> Result<wire::CreditProfile, Status> {
    let (limit, before) = page(history_page)?;
    let terms = store::read_terms(tx, customer_id)
        .await
        .map_err(read_error)?
        .ok_or_else(|| Status::not_found(format!("customer {customer_id} is not known")))?;
    let current = position(tx, &terms, customer_id, None)
        .await
        .map_err(read_error)?;
    let standing = credit::assess(&current, None);
    let history = store::history(tx, customer_id, limit, before)
        .await
        .map_err(read_error)?;
    let ids: Vec<Uuid> = history.iter().map(|row| row.id).collect();
    let mut message = views::profile(customer_id, &terms, &current, &standing);
    message.history = history.iter().map(views::limit_change).collect();
    message.history_page = Some(otc_shared::grpc::page_info(&ids, limit));
    Ok(message)
}

fn risk_class(fields: &mut Fields, text: &str) -> Option<String> {
    let class = text.trim().to_uppercase();
    if class.is_empty() {
        return None;
    }
    if !RISK_CLASSES.contains(&class.as_str()) {
        fields.add(
            "risk_class",
            format!("`{class}` is not one of A, B, C, D (or empty)"),
        );
        return None;
    }
    Some(class)
}

fn version(fields: &mut Fields, field: &str, value: u64) -> i64 {
    i64::try_from(value)
        .map_err(|_| fields.add(field, "is out of range"))
        .unwrap_or(0)
}

#[tonic::async_trait]
impl CreditLimitService for CreditLimitApi {
    async fn set_credit_limit(
        &self,
        request: Request<wire::SetCreditLimitRequest>,
    ) -> Result<Response<wire::CreditProfile>, Status> {
        let principal = authorize(&request, Permission::CreditLimitsWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let customer_id = fields.uuid("customer_id", &message.customer_id);
        let credit_limit = fields.money("credit_limit", message.credit_limit.as_ref());
        let class = risk_class(&mut fields, &message.risk_class);
        let reason = message.reason.trim();
        if reason.is_empty() {
            fields.add("reason", "say why the credit limit changes");
        }
        let expected_version = version(&mut fields, "expected_version", message.expected_version);
        if credit_limit.is_some_and(|limit| limit.is_negative()) {
            fields.add("credit_limit.amount", "must not be negative");
        }
        fields.finish()?;
        let (Some(customer_id), Some(credit_limit)) = (customer_id, credit_limit) else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let change = NewLimit {
            customer_id,
            limit: credit_limit,
            risk_class: class.as_deref(),
            reason,
            expected_version,
        };
        limits::set_credit_limit(&mut tx, &actor(&principal), &change)
            .await
            .map_err(status_of)?;
        let answer = profile(&mut tx, customer_id, None).await?;
        commit(tx).await?;
        Ok(Response::new(answer))
    }

    async fn get_credit_profile(
        &self,
        request: Request<wire::GetCreditProfileRequest>,
    ) -> Result<Response<wire::CreditProfile>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let message = request.into_inner();
        let customer_id = required_uuid("customer_id", &message.customer_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let answer = profile(&mut tx, customer_id, message.history_page.as_ref()).await?;
        commit(tx).await?;
        Ok(Response::new(answer))
    }

    async fn get_credit_policy(
        &self,
        request: Request<wire::GetCreditPolicyRequest>,
    ) -> Result<Response<wire::CreditPolicy>, Status> {
        let principal = authorize(&request, Permission::LedgerRead)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let policy = store::policy(&mut tx).await.map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(views::policy(&policy)))
    }

    async fn set_credit_policy(
        &self,
        request: Request<wire::SetCreditPolicyRequest>,
    ) -> Result<Response<wire::CreditPolicy>, Status> {
        let principal = authorize(&request, Permission::ConfigurationWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        if message.overdue_hold_days > MAX_OVERDUE_HOLD_DAYS {
            fields.add(
                "overdue_hold_days",
                format!("must be at most {MAX_OVERDUE_HOLD_DAYS}"),
            );
        }
        let default_limit = match message.default_credit_limit.as_ref() {
            Some(value) if !value.amount.trim().is_empty() => {
                fields.money("default_credit_limit", Some(value))
            }
            _ => None,
        };
        if default_limit.is_some_and(|limit| limit.is_negative()) {
            fields.add("default_credit_limit.amount", "must not be negative");
        }
        let expected_version = version(&mut fields, "expected_version", message.expected_version);
        fields.finish()?;
        let change = NewPolicy {
            overdue_hold_days: i32::try_from(message.overdue_hold_days).unwrap_or(i32::MAX),
            default_limit,
            expected_version,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let policy = limits::set_credit_policy(&mut tx, &actor(&principal), &change)
            .await
            .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(views::policy(&policy)))
    }
}

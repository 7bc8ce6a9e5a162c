//! `otc.collections.v1.CreditService`: the order service's credit check.

use rust_decimal::Decimal;
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use super::{Fields, actor, begin, commit, read_error};
use crate::commands::check::{self, CreditAnswer, CreditAsk};
use crate::domain::credit::Decision;
use otc_proto::collections as wire;
use otc_proto::collections::credit_service_server::CreditService;
use otc_shared::auth::{Permission, authorize};
use otc_shared::money::column_to_proto as money;

pub struct CreditApi {
    pool: PgPool,
}

impl CreditApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// The order's amount: any scale (it is the order service's total, not
/// re-rounded here), not negative, in an ISO 4217 currency.
fn order_amount(
    fields: &mut Fields,
    value: Option<&otc_proto::types::Money>,
) -> Option<(Decimal, String)> {
    let Some(value) = value else {
        fields.add("order_amount", "is required");
        return None;
    };
    let amount = fields.decimal("order_amount.amount", &value.amount);
    let currency = otc_shared::Currency::parse(&value.currency_code)
        .map_err(|error| fields.add("order_amount.currency_code", error.to_string()))
        .ok();
    if amount.is_some_and(|amount| amount.is_sign_negative() && !amount.is_zero()) {
        fields.add("order_amount.amount", "must not be negative");
        return None;
    }
    Some((amount?, currency?.code().to_owned()))
}

fn response_of(answer: &CreditAnswer) -> wire::CheckCreditResponse {
    let assessment = &answer.assessment;
    let currency = &assessment.currency;
    wire::CheckCreditResponse {
        decision: match assessment.decision {
            Decision::Approve => wire::CreditDecision::Approve,
            Decision::Hold => wire::CreditDecision::Hold,
        }
        .into(),
        credit_limit: assessment.limit.map(|limit| money(limit, currency)),
        open_receivables: Some(money(assessment.receivables, currency)),
        unbilled_orders: Some(money(assessment.unbilled, currency)),
        exposure: Some(money(assessment.exposure, currency)),
        reason: assessment.reason(),
        risk_class: answer.risk_class.clone().unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl CreditService for CreditApi {
    async fn check_credit(
        &self,
        request: Request<wire::CheckCreditRequest>,
    ) -> Result<Response<wire::CheckCreditResponse>, Status> {
        let principal = authorize(&request, Permission::CreditCheck)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let customer_id = fields.uuid("customer_id", &message.customer_id);
        let order_id = fields.uuid("order_id", &message.order_id);
        let amount = order_amount(&mut fields, message.order_amount.as_ref());
        fields.finish()?;
        let (Some(customer_id), Some(order_id), Some((amount, currency))) =
            (customer_id, order_id, amount)
        else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let ask = CreditAsk {
            customer_id,
            order_id,
            amount,
            currency,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let answer = check::check_credit(&mut tx, &actor(&principal), &ask)
            .await
            .map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(response_of(&answer)))
    }
}

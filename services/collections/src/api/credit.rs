//! `otc.collections.v1.CreditService`: the order service's credit check.

use rust_decimal::Decimal;
use tonic::{Request, Response, Status};

use super::{Fields, actor, read_error};
use crate::commands::check::{CreditAnswer, CreditAsk};
use crate::credit_batcher::CreditChecks;
use crate::domain::credit::Decision;
use otc_proto::collections as wire;
use otc_proto::collections::credit_service_server::CreditService;
use otc_shared::auth::{Permission, authorize};
use otc_shared::money::column_to_proto as money;

pub struct CreditApi {
    checks: CreditChecks,
}

impl CreditApi {
    pub fn new(checks: CreditChecks) -> Self {
        Self { checks }
    }
}

/// Amounts are stored as NUMERIC(20, 6): at most 14 digits before the point.
const AMOUNT_BOUND: Decimal = Decimal::from_parts(276_447_232, 23_283, 0, false, 0);

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
    if amount.is_some_and(|amount| amount >= AMOUNT_BOUND) {
        fields.add("order_amount.amount", "must be less than 100000000000000");
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
        let answer = self
            .checks
            .check(actor(&principal), ask)
            .await
            .map_err(read_error)?;
        Ok(Response::new(response_of(&answer)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_amount_bound_is_what_numeric_20_6_holds() {
        assert_eq!(AMOUNT_BOUND, Decimal::from(100_000_000_000_000_i64));
        let mut fields = Fields::new();
        let too_big = otc_proto::types::Money {
            amount: "100000000000000".to_owned(),
            currency_code: "EUR".to_owned(),
        };
        assert_eq!(order_amount(&mut fields, Some(&too_big)), None);
        assert!(fields.finish().is_err());
        let mut fields = Fields::new();
        let largest = otc_proto::types::Money {
            amount: "99999999999999.999999".to_owned(),
            currency_code: "EUR".to_owned(),
        };
        assert!(order_amount(&mut fields, Some(&largest)).is_some());
        assert!(fields.finish().is_ok());
    }
}

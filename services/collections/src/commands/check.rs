//! `CheckCredit`: the decision for one order, made under the customer's
//! credit lock so that concurrent checks of one customer see each other.
//! An approved order is reserved in unbilled at once (keyed by its id, so
//! asking again replaces rather than adds); a held one is remembered as
//! held, and the customer goes on hold (told once) until a change lets it
//! through.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::Actor;
use super::credit_control::{self, position};
use crate::domain::credit::{self, Addition, Assessment, Decision};
use crate::domain::orders::OrderState;
use crate::store::Tx;
use crate::store::credit as store;
use crate::store::orders::{self, OrderFigures};

pub const TRIGGER: &str = "CheckCredit";

pub struct CreditAsk {
    pub customer_id: Uuid,
    pub order_id: Uuid,
    pub amount: Decimal,
    pub currency: String,
}

pub struct CreditAnswer {
    pub assessment: Assessment,
    pub risk_class: Option<String>,
}

pub async fn check_credit(
    tx: &mut Tx,
    actor: &Actor,
    ask: &CreditAsk,
) -> Result<CreditAnswer, sqlx::Error> {
    let tenant = actor.tenant.as_str();
    let terms = store::lock_terms(tx, tenant, ask.customer_id).await?;
    let current = position(tx, &terms, ask.customer_id, Some(ask.order_id)).await?;
    let addition = Addition {
        amount: ask.amount,
        currency: ask.currency.clone(),
    };
    let assessment = credit::assess(&current, Some(&addition));
    let figures = OrderFigures {
        order_id: ask.order_id,
        customer_id: ask.customer_id,
        currency: &ask.currency,
        total: ask.amount,
    };
    match assessment.decision {
        Decision::Approve => orders::set(tx, tenant, &figures, OrderState::Reserved).await?,
        Decision::Hold => {
            orders::set(tx, tenant, &figures, OrderState::Held).await?;
            let reason = assessment.reason();
            credit_control::ensure_held(
                tx,
                &actor.tenant,
                ask.customer_id,
                &terms,
                &assessment,
                &reason,
                TRIGGER,
            )
            .await?;
        }
    }
    tracing::info!(
        customer_id = %ask.customer_id,
        order_id = %ask.order_id,
        decision = assessment.decision.wire_name(),
        exposure = %assessment.exposure,
        caller = %actor.subject,
        "credit checked"
    );
    Ok(CreditAnswer {
        assessment,
        risk_class: terms.risk_class,
    })
}

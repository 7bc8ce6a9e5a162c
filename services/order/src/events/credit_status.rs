//! Collections' credit events: when a customer is back within its limit,
//! its held orders are checked again (and released if collections agrees).

use sqlx::{Postgres, Transaction};

use crate::store::orders;
use otc_proto::events::CustomerCreditReleased;
use otc_shared::events::header;
use otc_shared::ids::CustomerId;
use otc_shared::inbox::{EventHandler, HandlerError, IncomingRecord};

pub const CUSTOMER_CREDIT_RELEASED: &str = "otc.collections.v1.CustomerCreditReleased";

pub struct CreditStatus;

impl EventHandler for CreditStatus {
    async fn apply(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        record: &IncomingRecord,
    ) -> Result<(), HandlerError> {
        if record.headers.get(header::TYPE) != Some(CUSTOMER_CREDIT_RELEASED) {
            return Ok(());
        }
        let released: CustomerCreditReleased = record.decode()?;
        let customer = CustomerId::parse(&released.customer_id)
            .map_err(|error| HandlerError::Rejected(format!("customer_id: {error}")))?;
        let held = orders::recheck_held_orders(tx, customer).await?;
        if held > 0 {
            tracing::info!(%customer, held, "customer back within credit: held orders go back to credit check");
            orders::notify_credit_worker(tx).await?;
        }
        Ok(())
    }
}

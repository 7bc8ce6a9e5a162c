//! What payments' events mean for collections' work beyond the ledger:
//! a `DeductionTaken` (a customer short-paid an item) opens the dispute it
//! stands for, once per deduction id; a `PaymentApplied` may keep the
//! promises to pay on its item.

use super::amount;
use super::consumer::{Incoming, Touched, Tx};
use crate::commands::Actor;
use crate::commands::disputes::{self, Deduction};
use crate::commands::promises;
use otc_proto::events as proto;
use otc_shared::event_fields::uuid;
use otc_shared::grpc::CommandError;
use otc_shared::inbox::HandlerError;

/// Who opens automatic disputes (audit records and `opened_by`).
pub const DEDUCTION_ACTOR: &str = "system:deductions";

pub async fn deduction_taken(tx: &mut Tx, event: &Incoming<'_>) -> Result<Touched, HandlerError> {
    let taken: proto::DeductionTaken = event.record.decode()?;
    let (value, currency) = amount("amount", taken.amount.as_ref())?;
    let deduction = Deduction {
        deduction_id: uuid("deduction_id", &taken.deduction_id)?,
        customer_id: uuid("customer_id", &taken.customer_id)?,
        item_id: uuid("invoice_id", &taken.invoice_id)?,
        amount: value,
        currency: &currency,
        reason: &taken.reason,
    };
    let actor = Actor::new(event.tenant.clone(), DEDUCTION_ACTOR);
    disputes::open_from_deduction(tx, &actor, &deduction)
        .await
        .map_err(|error| match error {
            CommandError::Database(database) => HandlerError::from(database),
            other => otc_shared::event_fields::rejected("deduction", other),
        })?;
    // A dispute changes no balance: no credit re-assessment.
    Ok(Touched::new())
}

/// Who settles promises when cash arrives.
pub const PROMISE_ACTOR: &str = "system:promises";

/// After the cash is posted (same transaction): promises it covers are kept.
pub async fn promises_on_cash(tx: &mut Tx, event: &Incoming<'_>) -> Result<(), HandlerError> {
    let applied: proto::PaymentApplied = event.record.decode()?;
    let item_id = uuid("invoice_id", &applied.invoice_id)?;
    let actor = Actor::new(event.tenant.clone(), PROMISE_ACTOR);
    promises::cash_applied(tx, &actor, item_id).await?;
    Ok(())
}

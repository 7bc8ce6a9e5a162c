//! The exception queue clears itself when what a receipt pays arrives
//! later (an invoice projected after the receipt): such receipts are
//! matched again, and applied if they now reach the threshold.

use super::cash_application::{self, Outcome};
use super::{Actor, CommandError};
use crate::store::{Tx, policies, receipts};

/// Re-matches up to `limit` receipts of the transaction's tenant; returns
/// (matched again, applied).
pub async fn rematch_exceptions(
    tx: &mut Tx,
    actor: &Actor,
    limit: i64,
) -> Result<(usize, usize), CommandError> {
    let ids = receipts::lock_exceptions_to_rematch(tx, limit).await?;
    if ids.is_empty() {
        return Ok((0, 0));
    }
    let policy = policies::get(tx).await?;
    let mut batch = receipts::lock_many(tx, &ids).await?;
    let known = vec![None; batch.len()];
    let outcomes = cash_application::run_batch(tx, actor, &policy, &mut batch, &known).await?;
    // Written even when still exceptions: `updated_at` moves on, so a
    // receipt is looked at again only when another item arrives.
    receipts::update_many(tx, &batch).await?;
    let applied = outcomes
        .iter()
        .filter(|outcome| **outcome == Outcome::AutoApplied)
        .count();
    Ok((ids.len(), applied))
}

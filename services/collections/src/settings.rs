//! The collections service's own settings (`OTC_COLLECTIONS__*`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CollectionsSettings {
    /// Most `CheckCredit` calls decided in one transaction.
    pub credit_check_batch: usize,
    /// Batches of `CheckCredit` calls in progress at once (each holds a
    /// database connection while it runs).
    pub credit_check_workers: usize,
}

impl Default for CollectionsSettings {
    fn default() -> Self {
        Self {
            credit_check_batch: 128,
            credit_check_workers: 2,
        }
    }
}

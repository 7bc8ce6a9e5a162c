//! The payments service's own settings (`OTC_PAYMENTS__*`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PaymentsSettings {
    /// Accepted age of a webhook signature's timestamp (the replay window).
    pub webhook_tolerance_seconds: i64,
    /// How often the direct-debit scheduler looks for due invoices.
    pub direct_debit_interval_seconds: u64,
    /// The longest time between two re-matches of the exception queue
    /// against items projected since (a re-match also runs soon after new
    /// invoices or debit notes are projected).
    pub rematch_interval_seconds: u64,
}

impl Default for PaymentsSettings {
    fn default() -> Self {
        Self {
            webhook_tolerance_seconds: otc_shared::signing::DEFAULT_TOLERANCE_SECONDS,
            direct_debit_interval_seconds: 3_600,
            rematch_interval_seconds: 30,
        }
    }
}

//! The collections service's own settings (`OTC_COLLECTIONS__*`): how
//! credit checks are batched, how dunning runs, and how its notices are
//! delivered.

use otc_delivery::DeliverySettings;
use serde::Deserialize;

use crate::dunning::settings::DunningSettings;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionsSettings {
    /// Most `CheckCredit` calls decided in one transaction.
    #[serde(default = "default_credit_check_batch")]
    pub credit_check_batch: usize,
    /// Batches of `CheckCredit` calls in progress at once (each holds a
    /// database connection while it runs).
    #[serde(default = "default_credit_check_workers")]
    pub credit_check_workers: usize,
    #[serde(default)]
    pub dunning: DunningSettings,
    /// SMTP server, `From:` and webhook signing secret of dunning notices
    /// (`OTC_COLLECTIONS__DELIVERY__*`).
    #[serde(default)]
    pub delivery: DeliverySettings,
}

fn default_credit_check_batch() -> usize {
    128
}

fn default_credit_check_workers() -> usize {
    2
}

impl Default for CollectionsSettings {
    fn default() -> Self {
        Self {
            credit_check_batch: default_credit_check_batch(),
            credit_check_workers: default_credit_check_workers(),
            dunning: DunningSettings::default(),
            delivery: DeliverySettings::default(),
        }
    }
}

//! How dunning runs (`OTC_COLLECTIONS__DUNNING__*`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DunningSettings {
    /// Start every tenant's run once a day (the day in UTC).
    #[serde(default = "yes")]
    pub schedule_daily: bool,
    /// How often the scheduler looks for the day's runs and for runs left
    /// unfinished by a stopped process; 0 turns the scheduler off
    /// (`RunDunning` still works, but an interrupted run waits).
    #[serde(default = "default_check_interval")]
    pub check_interval_seconds: u64,
    /// Customers per batch (one transaction each).
    #[serde(default = "default_batch_customers")]
    pub batch_customers: i64,
    /// How long a run's lease lasts without progress before another
    /// process may take the run over.
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: i64,
    /// A pause between batches, to spare a busy database.
    #[serde(default)]
    pub batch_pause_ms: u64,
    /// Let `RunDunning` run as of a date after today: for simulations and
    /// tests that play days ahead, never in production (it would send
    /// levels before their day).
    #[serde(default)]
    pub allow_future_as_of: bool,
}

fn yes() -> bool {
    true
}

fn default_check_interval() -> u64 {
    300
}

fn default_batch_customers() -> i64 {
    2_000
}

fn default_lease_seconds() -> i64 {
    120
}

impl Default for DunningSettings {
    fn default() -> Self {
        Self {
            schedule_daily: true,
            check_interval_seconds: default_check_interval(),
            batch_customers: default_batch_customers(),
            lease_seconds: default_lease_seconds(),
            batch_pause_ms: 0,
            allow_future_as_of: false,
        }
    }
}

impl DunningSettings {
    /// Refuses values a run cannot work with, naming the setting.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=100_000).contains(&self.batch_customers),
            "setting collections.dunning.batch_customers must be between 1 and 100000, got {}",
            self.batch_customers
        );
        anyhow::ensure!(
            (1..=86_400).contains(&self.lease_seconds),
            "setting collections.dunning.lease_seconds must be between 1 and 86400, got {}",
            self.lease_seconds
        );
        Ok(())
    }
}

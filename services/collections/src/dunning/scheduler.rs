//! The durable dunning scheduler. Every check (at start-up, then every
//! `check_interval_seconds`) it first carries on runs left unfinished by a
//! stopped process (their lease ran out), then starts the day's run of
//! every tenant that has a strategy and open items, unless it exists: the
//! day's run is a row (unique per tenant and date), so a restart, a second
//! replica or a check every few minutes still gives one run a day.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::run::{DunningRunner, SCHEDULE};
use crate::commands::{Actor, today};
use crate::store::dunning as store;
use otc_shared::TenantId;
use otc_shared::db;

pub const SCHEDULER_ACTOR: &str = "system:dunning-scheduler";

pub struct DunningScheduler {
    runner: DunningRunner,
}

impl DunningScheduler {
    pub fn new(runner: DunningRunner) -> Self {
        Self { runner }
    }

    /// Carries on abandoned runs, then starts and works the day's runs.
    pub async fn check_once(&self, day: chrono::NaiveDate) -> anyhow::Result<()> {
        let pool = self.runner.pool();
        let mut tx = db::begin_for_all_tenants(pool).await?;
        let abandoned = store::abandoned_runs(&mut tx).await?;
        let tenants = if self.runner.settings().schedule_daily {
            store::tenants_to_dun(&mut tx).await?
        } else {
            Vec::new()
        };
        tx.commit().await?;
        for (tenant, run_id) in abandoned {
            let tenant = TenantId::parse(&tenant)?;
            tracing::info!(%tenant, run = %run_id, "carrying on an interrupted dunning run");
            self.runner.execute(&tenant, run_id).await?;
        }
        for tenant in tenants {
            let tenant = TenantId::parse(&tenant)?;
            let actor = Actor::new(tenant.clone(), SCHEDULER_ACTOR);
            if let Some(run) = self.runner.start(&actor, day, SCHEDULE).await? {
                self.runner.execute(&tenant, run.id).await?;
            }
        }
        Ok(())
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let interval = self.runner.settings().check_interval_seconds;
        if interval == 0 {
            tracing::info!(
                "dunning scheduler off (collections.dunning.check_interval_seconds = 0)"
            );
            shutdown.cancelled().await;
            return Ok(());
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                result = self.check_once(today()) => {
                    if let Err(error) = result {
                        tracing::warn!(error = format!("{error:#}"), "dunning check failed; it runs again");
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_secs(interval)) => {}
            }
        }
        Ok(())
    }
}

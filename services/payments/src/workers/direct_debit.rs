//! The direct-debit scheduler: for every tenant that is a SEPA creditor,
//! collects what is due, on start and then every interval. What it did is
//! in the database (batches and collections), so a restart repeats nothing.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::commands::Actor;
use crate::direct_debit::collect;
use crate::direct_debit::store;
use otc_shared::TenantId;

pub struct DirectDebitScheduler {
    pool: PgPool,
    interval: Duration,
}

impl DirectDebitScheduler {
    pub fn new(pool: PgPool, interval_seconds: u64) -> Self {
        Self {
            pool,
            interval: Duration::from_secs(interval_seconds.max(1)),
        }
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            if let Err(error) = self.run_once().await {
                tracing::warn!(%error, "direct-debit run failed; retrying at the next interval");
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// One pass over every creditor tenant; one transaction per tenant.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let mut tx = otc_shared::db::begin_for_all_tenants(&self.pool).await?;
        let tenants = store::creditor_tenants(&mut tx).await?;
        tx.commit().await?;
        let today = chrono::Utc::now().date_naive();
        let mut batches = 0;
        for tenant in tenants {
            let tenant = TenantId::parse(&tenant)?;
            let actor = Actor::new(tenant.clone(), "system:direct-debit");
            let mut tx = otc_shared::db::begin_for_tenant(&self.pool, &tenant).await?;
            match collect::run_collection(&mut tx, &actor, today, collect::next_business_day(today))
                .await
            {
                Ok(Some(_)) => {
                    tx.commit().await?;
                    batches += 1;
                }
                Ok(None) => tx.commit().await?,
                Err(error) => {
                    tracing::warn!(%tenant, %error, "direct-debit collection failed");
                }
            }
        }
        Ok(batches)
    }
}

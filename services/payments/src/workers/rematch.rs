//! Runs the exception re-match for every tenant with a queue, every interval.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::commands::Actor;
use crate::commands::rematch::rematch_exceptions;
use crate::store::receipts;
use otc_shared::TenantId;

/// Receipts re-matched per tenant and transaction.
const BATCH: i64 = 200;

pub struct ExceptionRematcher {
    pool: PgPool,
    interval: Duration,
}

impl ExceptionRematcher {
    pub fn new(pool: PgPool, interval_seconds: u64) -> Self {
        Self {
            pool,
            interval: Duration::from_secs(interval_seconds.max(1)),
        }
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(self.interval) => {}
            }
            if let Err(error) = self.run_once().await {
                tracing::warn!(%error, "exception re-match failed; retrying at the next interval");
            }
        }
    }

    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let mut tx = otc_shared::db::begin_for_all_tenants(&self.pool).await?;
        let tenants = receipts::tenants_with_exceptions(&mut tx).await?;
        tx.commit().await?;
        let mut applied_total = 0;
        for tenant in tenants {
            let tenant = TenantId::parse(&tenant)?;
            let actor = Actor::new(tenant.clone(), "system:cash-application");
            let mut tx = otc_shared::db::begin_for_tenant(&self.pool, &tenant).await?;
            let (matched, applied) = rematch_exceptions(&mut tx, &actor, BATCH).await?;
            tx.commit().await?;
            if matched > 0 {
                tracing::info!(%tenant, matched, applied, "exception queue matched again");
            }
            applied_total += applied;
        }
        Ok(applied_total)
    }
}

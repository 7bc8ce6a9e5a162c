//! The daily promise check: settles every tenant's open promises as of
//! today (kept if covered, broken once the promised date has passed). Its
//! state is the promises themselves, so a missed or repeated run changes
//! nothing but timing; it runs at start-up and then every hour.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::commands::promises;
use crate::commands::{Actor, today};
use crate::store::promises as store;
use otc_shared::TenantId;
use otc_shared::db;

const INTERVAL: Duration = Duration::from_secs(3600);
pub const CHECK_ACTOR: &str = "system:promise-check";

pub struct PromiseCheck {
    pool: PgPool,
}

impl PromiseCheck {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// One pass over every tenant with open promises, as of `as_of`.
    pub async fn run_once(&self, as_of: chrono::NaiveDate) -> anyhow::Result<()> {
        let mut tx = db::begin_for_all_tenants(&self.pool).await?;
        let tenants = store::tenants_with_open_promises(&mut tx).await?;
        tx.commit().await?;
        for tenant in tenants {
            let tenant = TenantId::parse(&tenant)?;
            let mut tx = db::begin_for_tenant(&self.pool, &tenant).await?;
            let actor = Actor::new(tenant.clone(), CHECK_ACTOR);
            let evaluation = promises::evaluate(&mut tx, &actor, as_of).await?;
            tx.commit().await?;
            tracing::info!(%tenant, kept = evaluation.kept, broken = evaluation.broken, "promise check");
        }
        Ok(())
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            if let Err(error) = self.run_once(today()).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "promise check failed; it runs again"
                );
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(INTERVAL) => {}
            }
        }
        Ok(())
    }
}

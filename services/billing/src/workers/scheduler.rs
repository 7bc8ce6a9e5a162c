//! The durable billing scheduler: every minute, for every tenant, invoices
//! the consolidated periods that have closed; and, when woken by a changed
//! rule or rate (or every 30 s), issues held drafts that now can be.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::commands::config::HOLDS_CHANNEL;
use crate::commands::{IssueOptions, cycle};
use crate::store::invoices;
use otc_shared::TenantId;

const RETRY_PERIOD: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Scheduler {
    pool: PgPool,
    options: IssueOptions,
    /// None: consolidated periods are billed on demand only.
    cycle_period: Option<Duration>,
}

impl Scheduler {
    pub fn new(pool: PgPool, options: IssueOptions, cycle_interval_seconds: u64) -> Self {
        Self {
            pool,
            options,
            cycle_period: (cycle_interval_seconds > 0)
                .then(|| Duration::from_secs(cycle_interval_seconds)),
        }
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(HOLDS_CHANNEL).await?;
        let mut next_cycle = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            if let Some(period) = self.cycle_period
                && tokio::time::Instant::now() >= next_cycle
            {
                if let Err(error) = self.cycle_all_tenants().await {
                    tracing::warn!(error = %format!("{error:#}"), "billing cycle failed");
                }
                next_cycle = tokio::time::Instant::now() + period;
            }
            if let Err(error) = self.retry_held().await {
                tracing::warn!(error = %format!("{error:#}"), "held invoice retry failed");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = listener.recv() => {}
                () = tokio::time::sleep(RETRY_PERIOD) => {}
            }
        }
        Ok(())
    }

    async fn tenants_with_open_lines(&self) -> anyhow::Result<Vec<String>> {
        let mut tx = otc_shared::db::begin_for_all_tenants(&self.pool).await?;
        let tenants = sqlx::query_scalar!(
            "SELECT DISTINCT tenant FROM billable_lines WHERE invoice_id IS NULL"
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(tenants)
    }

    pub async fn cycle_all_tenants(&self) -> anyhow::Result<()> {
        let now = otc_shared::time::now();
        for tenant in self.tenants_with_open_lines().await? {
            let tenant = TenantId::parse(&tenant)?;
            let mut tx = otc_shared::db::begin_for_tenant(&self.pool, &tenant).await?;
            let (issued, held) = cycle::run_cycle(
                &mut tx,
                &tenant,
                now.date_naive(),
                now,
                self.options,
                "system:billing-cycle",
            )
            .await?;
            tx.commit().await?;
            if issued > 0 || held > 0 {
                tracing::info!(%tenant, issued, held, "consolidated billing cycle");
            }
        }
        Ok(())
    }

    /// Issues held drafts whose rule, rate or customer is now there: one
    /// pass over the queue; each draft is re-evaluated under its row lock.
    pub async fn retry_held(&self) -> anyhow::Result<()> {
        let mut after = None;
        loop {
            let mut scan = otc_shared::db::begin_for_all_tenants(&self.pool).await?;
            let drafts = invoices::held_for_retry(&mut scan, after, 100).await?;
            scan.commit().await?;
            let Some(last) = drafts.last() else {
                return Ok(());
            };
            after = Some((last.created_at, last.id));
            for draft in &drafts {
                let tenant = TenantId::parse(&draft.tenant)?;
                let mut tx = otc_shared::db::begin_for_tenant(&self.pool, &tenant).await?;
                let Some(record) = invoices::load_for_update(&mut tx, draft.id).await? else {
                    continue;
                };
                if record.status != "held" {
                    continue;
                }
                let outcome = cycle::reevaluate(
                    &mut tx,
                    &tenant,
                    &record,
                    otc_shared::time::now(),
                    self.options,
                    "system:held-retry",
                    None,
                )
                .await?;
                tx.commit().await?;
                if matches!(outcome, crate::commands::issue::Billed::Issued(_)) {
                    tracing::info!(%tenant, invoice = %draft.id, "held invoice issued");
                }
            }
        }
    }
}

//! Renders each issued document to PDF from its frozen view, stores it in
//! the object store and keeps its SHA-256; failures are retried with backoff.

use std::sync::Arc;
use std::time::Duration;

use chrono::Datelike;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::documents::pdf::render_pdf;
use crate::documents::store::{DocumentStore, StoreError, document_key};
use crate::documents::view::DocumentView;
use crate::store::{documents, invoices};
use otc_delivery::retry_delay;
use otc_shared::TenantId;

const BATCH: i64 = 16;
const LEASE_SECONDS: i64 = 120;
const MAX_ATTEMPTS: i32 = 10;

#[derive(Clone)]
pub struct DocumentWorker {
    pool: PgPool,
    store: Arc<DocumentStore>,
}

impl DocumentWorker {
    pub fn new(pool: PgPool, store: Arc<DocumentStore>) -> Self {
        Self { pool, store }
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        while !shutdown.is_cancelled() {
            let rendered = match self.render_due().await {
                Ok(count) => count,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "document rendering pass failed");
                    0
                }
            };
            if rendered == 0 && !super::pause(&shutdown, Duration::from_millis(500)).await {
                break;
            }
        }
        Ok(())
    }

    /// One pass: claims due renderings and renders them; returns how many.
    pub async fn render_due(&self) -> anyhow::Result<usize> {
        let mut tx = otc_shared::db::begin_for_all_tenants(&self.pool).await?;
        let claimed = documents::claim_due(&mut tx, BATCH, LEASE_SECONDS).await?;
        tx.commit().await?;
        for document in &claimed {
            let tenant = TenantId::parse(&document.tenant)?;
            if let Err(error) = self.render_one(&tenant, document.invoice_id).await {
                let message = format!("{error:#}");
                tracing::warn!(invoice = %document.invoice_id, error = %message, "rendering failed");
                let retry_at = (document.attempts < MAX_ATTEMPTS).then(|| {
                    let delay = retry_delay(u32::try_from(document.attempts).unwrap_or(1), 1_000);
                    otc_shared::time::now()
                        + chrono::TimeDelta::from_std(delay)
                            .unwrap_or(chrono::TimeDelta::seconds(60))
                });
                let mut tx = otc_shared::db::begin_for_tenant(&self.pool, &tenant).await?;
                documents::mark_render_failed(&mut tx, document.invoice_id, &message, retry_at)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(claimed.len())
    }

    async fn render_one(&self, tenant: &TenantId, invoice_id: Uuid) -> anyhow::Result<()> {
        let mut tx = otc_shared::db::begin_for_tenant(&self.pool, tenant).await?;
        let invoice = invoices::load(&mut tx, invoice_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} is gone"))?;
        tx.commit().await?;
        let view_json = invoice
            .document_view
            .clone()
            .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} has no document view"))?;
        let view: DocumentView = serde_json::from_value(view_json)?;
        let bytes = tokio::task::spawn_blocking(move || render_pdf(&view)).await??;
        let year = invoice.issue_date.map_or(1970, |date| date.year());
        let number = invoice
            .number
            .clone()
            .unwrap_or_else(|| invoice_id.to_string());
        let key = document_key(tenant.as_str(), year, &number);
        // Objects are write-once: a re-render that gives other bytes (a newer
        // PDF library) is kept beside the first, which stays as it was.
        let stored = match self.store.put(&key, bytes.clone()).await {
            Err(StoreError::Conflict { .. }) => {
                let mut tx = otc_shared::db::begin_for_tenant(&self.pool, tenant).await?;
                let renders = documents::load(&mut tx, invoice_id)
                    .await?
                    .map_or(0, |document| document.render_count);
                tx.commit().await?;
                let revision = format!("{number}-r{}", renders.saturating_add(1));
                self.store
                    .put(&document_key(tenant.as_str(), year, &revision), bytes)
                    .await?
            }
            other => other?,
        };
        let mut tx = otc_shared::db::begin_for_tenant(&self.pool, tenant).await?;
        documents::mark_stored(
            &mut tx,
            invoice_id,
            &stored.key,
            &stored.sha256_hex,
            i64::try_from(stored.size).unwrap_or(i64::MAX),
        )
        .await?;
        tx.commit().await?;
        metrics::counter!("otc_billing_documents_stored_total").increment(1);
        tracing::debug!(invoice = %invoice_id, key = %stored.key, sha256 = %stored.sha256_hex, "document stored");
        Ok(())
    }
}

//! Delivers stored documents by email (SMTP) or signed webhook. A send is
//! claimed with a lease, and marked accepted (with `InvoiceDelivered`) in one
//! transaction once the receiver took it; an accepted delivery is never
//! claimed again. Retries reuse the delivery's Message-ID / Idempotency-Key,
//! so a receiver can recognise the rare resend after a crash between the
//! receiver's acceptance and our commit.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::documents::store::DocumentStore;
use crate::events::outgoing::{self, DeliveredFacts};
use crate::store::documents::{self, ClaimedDelivery};
use crate::store::{customers, invoices};
use otc_delivery::email::{Attachment, OutgoingEmail};
use otc_delivery::{
    Accepted, DeliveryError, DeliverySettings, EmailSender, WebhookSender, retry_delay,
};
use otc_shared::TenantId;

const BATCH: i64 = 8;
/// `From:` of invoice emails when `delivery.from_address` is not set.
pub const DEFAULT_FROM: &str = "billing@otc.local";

#[derive(Clone)]
pub struct DeliveryWorker {
    pool: PgPool,
    store: Arc<DocumentStore>,
    email: Arc<EmailSender>,
    webhook: Arc<WebhookSender>,
    settings: DeliverySettings,
}

impl DeliveryWorker {
    pub fn new(
        pool: PgPool,
        store: Arc<DocumentStore>,
        settings: &DeliverySettings,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            pool,
            store,
            email: Arc::new(EmailSender::from_settings(settings, DEFAULT_FROM)?),
            webhook: Arc::new(WebhookSender::from_settings("billing", settings)?),
            settings: settings.clone(),
        })
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        while !shutdown.is_cancelled() {
            let sent = match self.deliver_due().await {
                Ok(count) => count,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "delivery pass failed");
                    0
                }
            };
            if sent == 0 && !super::pause(&shutdown, Duration::from_millis(500)).await {
                break;
            }
        }
        Ok(())
    }

    fn lease_seconds(&self) -> i64 {
        i64::try_from(self.settings.timeout_ms / 1000)
            .unwrap_or(60)
            .saturating_mul(3)
            .max(30)
    }

    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        let mut tx = otc_shared::db::begin_for_all_tenants(&self.pool).await?;
        let claimed = documents::claim_due_deliveries(&mut tx, BATCH, self.lease_seconds()).await?;
        tx.commit().await?;
        for delivery in &claimed {
            let tenant = TenantId::parse(&delivery.tenant)?;
            let outcome = self.send(&tenant, delivery).await;
            self.record(&tenant, delivery, outcome).await?;
        }
        Ok(claimed.len())
    }

    async fn send(
        &self,
        tenant: &TenantId,
        delivery: &ClaimedDelivery,
    ) -> Result<Accepted, DeliveryError> {
        let loaded =
            self.load(tenant, delivery)
                .await
                .map_err(|error| DeliveryError::Transient {
                    reason: format!("loading the document: {error:#}"),
                })?;
        let (invoice, customer_name, bytes) = loaded;
        let number = invoice.number.clone().unwrap_or_default();
        let title = match invoice.kind.as_str() {
            "credit_note" => "Credit note",
            "debit_note" => "Debit note",
            _ => "Invoice",
        };
        let total = crate::commands::view::money_text(invoice.total_amount, &invoice.currency);
        match delivery.channel.as_str() {
            "email" => {
                let due = invoice
                    .due_date
                    .map(|date| format!("\nDue date: {date}"))
                    .unwrap_or_default();
                let email = OutgoingEmail {
                    message_id: format!("{}@billing.otc", delivery.id),
                    to: delivery.target.clone(),
                    to_name: Some(customer_name.clone()),
                    subject: format!("{title} {number}"),
                    text_body: format!(
                        "Dear {customer_name},\n\nplease find attached {} {number}.\nTotal: {total}{due}\n",
                        title.to_lowercase()
                    ),
                    attachment: Some(Attachment {
                        file_name: format!("{number}.pdf"),
                        content_type: "application/pdf".to_owned(),
                        bytes,
                    }),
                };
                self.email.send(&email).await
            }
            "webhook" => {
                let payload = serde_json::json!({
                    "type": format!("billing.{}.issued", invoice.kind),
                    "tenant": tenant.as_str(),
                    "invoice_id": invoice.id,
                    "number": number,
                    "customer_id": invoice.customer_id,
                    "total": outgoing::money(invoice.total_amount, &invoice.currency).amount,
                    "currency": invoice.currency,
                    "issue_date": invoice.issue_date,
                    "due_date": invoice.due_date,
                    "document": {
                        "content_type": "application/pdf",
                        "file_name": format!("{number}.pdf"),
                        "base64": base64::engine::general_purpose::STANDARD.encode(&bytes),
                    },
                });
                self.webhook
                    .send(&delivery.target, &delivery.id.to_string(), &payload)
                    .await
            }
            other => Err(DeliveryError::Permanent {
                reason: format!("channel `{other}` is not supported"),
            }),
        }
    }

    async fn load(
        &self,
        tenant: &TenantId,
        delivery: &ClaimedDelivery,
    ) -> anyhow::Result<(invoices::InvoiceRecord, String, Vec<u8>)> {
        let mut tx = otc_shared::db::begin_for_tenant(&self.pool, tenant).await?;
        let invoice = invoices::load(&mut tx, delivery.invoice_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("invoice {} is gone", delivery.invoice_id))?;
        let document = documents::load(&mut tx, delivery.invoice_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no document for {}", delivery.invoice_id))?;
        let customer_name = customers::load(&mut tx, invoice.customer_id)
            .await?
            .map(|customer| customer.legal_name)
            .unwrap_or_default();
        tx.commit().await?;
        let (Some(key), Some(sha256)) = (document.object_key, document.sha256) else {
            anyhow::bail!("document of {} is not stored yet", delivery.invoice_id);
        };
        let bytes = self.store.get_verified(&key, &sha256).await?;
        Ok((invoice, customer_name, bytes.to_vec()))
    }

    async fn record(
        &self,
        tenant: &TenantId,
        delivery: &ClaimedDelivery,
        outcome: Result<Accepted, DeliveryError>,
    ) -> anyhow::Result<()> {
        let label = match &outcome {
            Ok(_) => "accepted",
            Err(error) if error.is_transient() => "transient_failure",
            Err(_) => "permanent_failure",
        };
        metrics::counter!("otc_billing_delivery_attempts_total", "channel" => delivery.channel.clone(), "outcome" => label)
            .increment(1);
        let mut tx = otc_shared::db::begin_for_tenant(&self.pool, tenant).await?;
        match outcome {
            Ok(accepted) => {
                if documents::mark_accepted(&mut tx, delivery.id, &accepted.response).await? {
                    let invoice = invoices::load(&mut tx, delivery.invoice_id).await?;
                    if let Some(invoice) = invoice {
                        let facts = DeliveredFacts {
                            delivery_id: delivery.id,
                            channel: &delivery.channel,
                            target: &delivery.target,
                            attempts: delivery.attempts,
                            accepted_at: otc_shared::time::now(),
                        };
                        otc_shared::outbox::enqueue(
                            &mut tx,
                            &outgoing::delivered(tenant, &invoice, &facts),
                        )
                        .await?;
                    }
                    otc_shared::audit::record(
                        &mut tx,
                        otc_shared::audit::AuditEntry {
                            tenant,
                            actor: "system:delivery",
                            action: "invoice.delivered",
                            entity_type: "delivery",
                            entity_id: &delivery.id.to_string(),
                            before: None,
                            after: Some(serde_json::json!({
                                "invoice_id": delivery.invoice_id,
                                "channel": delivery.channel,
                                "target": delivery.target,
                                "response": accepted.response,
                            })),
                        },
                    )
                    .await?;
                }
            }
            Err(error) => {
                let attempts = u32::try_from(delivery.attempts).unwrap_or(u32::MAX);
                let retry_at = (error.is_transient() && attempts < self.settings.max_attempts)
                    .then(|| {
                        let delay = retry_delay(attempts, self.settings.retry_base_ms);
                        otc_shared::time::now()
                            + chrono::TimeDelta::from_std(delay)
                                .unwrap_or(chrono::TimeDelta::seconds(60))
                    });
                tracing::warn!(delivery = %delivery.id, %error, attempts, retry = retry_at.is_some(), "delivery attempt failed");
                documents::mark_attempt_failed(&mut tx, delivery.id, &error.to_string(), retry_at)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

//! Delivers pending dunning notices: by email (SMTP), by signed webhook, or
//! as a letter (the PDF is produced and kept with the notice for printing).
//! A notice is claimed with a lease and marked sent (with its
//! `DunningNoticeSent` event and an audit record) in one transaction once
//! the receiver took it; a sent notice is never claimed again, and retries
//! carry the notice's own Message-ID / Idempotency-Key so a receiver can
//! recognise the rare resend after a crash between its acceptance and our
//! commit.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::letter;
use crate::events::outgoing;
use crate::store::dunning::{self as store, ClaimedNotice, NoticeItemRow, NoticeRow};
use otc_delivery::email::OutgoingEmail;
use otc_delivery::{
    Accepted, DeliveryError, DeliverySettings, EmailSender, WebhookSender, retry_delay,
};
use otc_shared::TenantId;
use otc_shared::audit::{self, AuditEntry};
use otc_shared::db;
use otc_shared::money::column_to_proto;

const BATCH: i64 = 16;
/// `From:` of dunning emails when `delivery.from_address` is not set.
pub const DEFAULT_FROM: &str = "collections@otc.local";
pub const DELIVERY_ACTOR: &str = "system:dunning-delivery";

#[derive(Clone)]
pub struct NoticeDelivery {
    pool: PgPool,
    email: Arc<EmailSender>,
    webhook: Arc<WebhookSender>,
    settings: DeliverySettings,
}

/// What was delivered; a letter keeps its PDF.
struct Delivered {
    accepted: Accepted,
    letter_pdf: Option<Vec<u8>>,
}

impl NoticeDelivery {
    pub fn new(pool: PgPool, settings: &DeliverySettings) -> anyhow::Result<Self> {
        Ok(Self {
            pool,
            email: Arc::new(EmailSender::from_settings(settings, DEFAULT_FROM)?),
            webhook: Arc::new(WebhookSender::from_settings("collections", settings)?),
            settings: settings.clone(),
        })
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        while !shutdown.is_cancelled() {
            let sent = match self.deliver_due().await {
                Ok(count) => count,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "dunning delivery pass failed");
                    0
                }
            };
            if sent == 0 {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
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

    /// One pass: claims what is due and delivers it; how many were claimed.
    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        let mut tx = db::begin_for_all_tenants(&self.pool).await?;
        let claimed = store::claim_due(&mut tx, BATCH, self.lease_seconds()).await?;
        tx.commit().await?;
        for notice in &claimed {
            let tenant = TenantId::parse(&notice.tenant)?;
            let outcome = self.send(&tenant, notice.id).await;
            self.record(&tenant, notice, outcome).await?;
        }
        Ok(claimed.len())
    }

    async fn load(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> anyhow::Result<(NoticeRow, Vec<NoticeItemRow>)> {
        let mut tx = db::begin_for_tenant(&self.pool, tenant).await?;
        let notice = store::notice(&mut tx, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("dunning notice {id} is gone"))?;
        let items = store::notice_items(&mut tx, id).await?;
        tx.commit().await?;
        Ok((notice, items))
    }

    async fn send(&self, tenant: &TenantId, id: Uuid) -> Result<Delivered, DeliveryError> {
        let (notice, items) = self
            .load(tenant, id)
            .await
            .map_err(|error| DeliveryError::transient(format!("loading the notice: {error:#}")))?;
        match notice.channel.as_str() {
            "email" => {
                let email = OutgoingEmail {
                    message_id: format!("{}@collections.otc", notice.id),
                    to: notice.recipient.clone(),
                    to_name: Some(notice.customer_name.clone()).filter(|name| !name.is_empty()),
                    subject: notice.subject.clone(),
                    text_body: notice.body.clone(),
                    attachment: None,
                };
                self.email.send(&email).await.map(|accepted| Delivered {
                    accepted,
                    letter_pdf: None,
                })
            }
            "webhook" => {
                let payload = webhook_payload(tenant, &notice, &items);
                self.webhook
                    .send(&notice.recipient, &notice.id.to_string(), &payload)
                    .await
                    .map(|accepted| Delivered {
                        accepted,
                        letter_pdf: None,
                    })
            }
            "letter" => {
                let pdf = letter::render(&notice, &items).map_err(|error| {
                    DeliveryError::permanent(format!("rendering the letter: {error:#}"))
                })?;
                Ok(Delivered {
                    accepted: Accepted {
                        response: format!("letter produced for printing ({} bytes)", pdf.len()),
                    },
                    letter_pdf: Some(pdf),
                })
            }
            other => Err(DeliveryError::permanent(format!(
                "channel `{other}` is not supported"
            ))),
        }
    }

    async fn record(
        &self,
        tenant: &TenantId,
        claimed: &ClaimedNotice,
        outcome: Result<Delivered, DeliveryError>,
    ) -> anyhow::Result<()> {
        let mut tx = db::begin_for_tenant(&self.pool, tenant).await?;
        match outcome {
            Ok(delivered) => {
                let sent_at = store::mark_sent(
                    &mut tx,
                    claimed.id,
                    &delivered.accepted.response,
                    delivered.letter_pdf.as_deref(),
                )
                .await?;
                if let Some(sent_at) = sent_at
                    && let Some(notice) = store::notice(&mut tx, claimed.id).await?
                {
                    let item_ids = store::notice_item_ids(&mut tx, claimed.id).await?;
                    otc_shared::outbox::enqueue(
                        &mut tx,
                        &outgoing::dunning_notice_sent(tenant, &notice, &item_ids, sent_at),
                    )
                    .await?;
                    audit::record(
                        &mut tx,
                        AuditEntry {
                            tenant,
                            actor: DELIVERY_ACTOR,
                            action: "dunning.notice_sent",
                            entity_type: "dunning_notice",
                            entity_id: &claimed.id.to_string(),
                            before: None,
                            after: Some(serde_json::json!({
                                "customer_id": notice.customer_id,
                                "level": notice.level,
                                "channel": notice.channel,
                                "recipient": notice.recipient,
                                "response": delivered.accepted.response,
                            })),
                        },
                    )
                    .await?;
                    tracing::info!(%tenant, notice = %claimed.id, channel = %notice.channel, level = notice.level, "dunning notice sent");
                }
            }
            Err(error) => {
                let attempts = u32::try_from(claimed.attempts).unwrap_or(u32::MAX);
                let retry = error.is_transient() && attempts < self.settings.max_attempts;
                tracing::warn!(notice = %claimed.id, %error, attempts, retry, "dunning notice delivery failed");
                if retry {
                    let delay = retry_delay(attempts, self.settings.retry_base_ms);
                    let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
                    store::mark_retry(&mut tx, claimed.id, &error.to_string(), delay_ms).await?;
                } else {
                    store::mark_failed(&mut tx, claimed.id, &error.to_string()).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The webhook body: the notice as stored, its items, and the amounts as
/// decimal strings with their currency.
pub fn webhook_payload(
    tenant: &TenantId,
    notice: &NoticeRow,
    items: &[NoticeItemRow],
) -> serde_json::Value {
    let amount = |value| column_to_proto(value, &notice.currency).amount;
    serde_json::json!({
        "type": "collections.dunning_notice",
        "tenant": tenant.as_str(),
        "notice_id": notice.id,
        "customer_id": notice.customer_id,
        "customer_name": notice.customer_name,
        "level": notice.level,
        "as_of": notice.as_of,
        "currency": notice.currency,
        "overdue_amount": amount(notice.overdue_amount),
        "fee_amount": amount(notice.fee_amount),
        "interest_amount": amount(notice.interest_amount),
        "total_due": amount(notice.total_due),
        "subject": notice.subject,
        "body": notice.body,
        "items": items.iter().map(|item| serde_json::json!({
            "item_id": item.item_id,
            "number": item.number,
            "due_date": item.due_date,
            "days_overdue": item.days_overdue,
            "open_amount": amount(item.open_amount),
            "interest_amount": amount(item.interest_amount),
        })).collect::<Vec<_>>(),
    })
}

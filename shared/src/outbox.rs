//! Transactional outbox. A service writes its state change and the events it
//! causes in one transaction ([`enqueue`]); the [`OutboxRelay`] publishes them
//! in id order with an idempotent producer and marks them sent. A crash
//! between publishing and marking re-publishes; consumers deduplicate on the
//! event id, so nothing is lost and no effect is doubled.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::{PgPool, Postgres, Transaction};
use tokio_util::sync::CancellationToken;

use crate::config::ConfigError;
use crate::events::{EventEnvelope, JSON_CONTENT_TYPE, header};
use crate::ids::TenantId;

/// NOTIFY channel that wakes the relay as soon as events commit.
const NOTIFY_CHANNEL: &str = "otc_outbox";
/// Advisory lock key: one relay per database publishes, so order is kept
/// even with several replicas running.
const RELAY_LOCK_KEY: i64 = 0x07C0_0B0E;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    /// Run the relay in this process.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Upper bound on the wait for new events when no notification arrives.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    #[serde(default = "default_batch_size")]
    pub batch_size: i64,
    /// Published rows are kept this long for audit, then purged.
    #[serde(default = "default_retention_hours")]
    pub retention_hours: i64,
}

fn default_enabled() -> bool {
    true
}

fn default_poll_interval_ms() -> u64 {
    500
}

fn default_batch_size() -> i64 {
    500
}

fn default_retention_hours() -> i64 {
    24 * 7
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            enabled: default_enabled(),
            poll_interval_ms: default_poll_interval_ms(),
            batch_size: default_batch_size(),
            retention_hours: default_retention_hours(),
        }
    }
}

impl OutboxSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=10_000).contains(&self.batch_size) {
            return Err(ConfigError::invalid(
                "outbox.batch_size",
                "must be between 1 and 10000",
            ));
        }
        if self.poll_interval_ms == 0 {
            return Err(ConfigError::invalid(
                "outbox.poll_interval_ms",
                "must be at least 1",
            ));
        }
        if self.retention_hours < 1 {
            return Err(ConfigError::invalid(
                "outbox.retention_hours",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// An event on its way out: where it goes, its envelope and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEvent {
    pub topic: String,
    /// The aggregate that must stay ordered (customer id for most events).
    pub key: String,
    pub envelope: EventEnvelope,
    pub payload: Vec<u8>,
}

impl OutgoingEvent {
    pub fn protobuf<M: prost::Message>(
        topic: &str,
        key: &str,
        envelope: EventEnvelope,
        message: &M,
    ) -> Self {
        Self {
            topic: topic.to_owned(),
            key: key.to_owned(),
            envelope,
            payload: message.encode_to_vec(),
        }
    }

    pub fn json<T: Serialize>(
        topic: &str,
        key: &str,
        mut envelope: EventEnvelope,
        value: &T,
    ) -> Result<Self, serde_json::Error> {
        envelope.content_type = JSON_CONTENT_TYPE.to_owned();
        Ok(Self {
            topic: topic.to_owned(),
            key: key.to_owned(),
            envelope,
            payload: serde_json::to_vec(value)?,
        })
    }
}

/// Writes `event` into the outbox inside the caller's transaction: it is
/// published if and only if that transaction commits. The current trace
/// context travels with it unless the envelope already carries one.
pub async fn enqueue(
    transaction: &mut Transaction<'_, Postgres>,
    event: &OutgoingEvent,
) -> Result<(), sqlx::Error> {
    let envelope = &event.envelope;
    let trace_context = crate::telemetry::current_trace_context();
    let traceparent = envelope
        .traceparent
        .clone()
        .or_else(|| trace_context.get(header::TRACEPARENT).cloned());
    let tracestate = envelope
        .tracestate
        .clone()
        .or_else(|| trace_context.get(header::TRACESTATE).cloned());
    // One round trip: the row, and the relay's wake-up (delivered at commit).
    sqlx::query!(
        r#"WITH inserted AS (
               INSERT INTO outbox
                   (tenant, event_id, topic, record_key, event_type, source, subject, occurred_at,
                    content_type, traceparent, tracestate, payload)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               RETURNING id)
           SELECT pg_notify($13, '') AS notified FROM inserted"#,
        envelope.tenant.as_str(),
        envelope.id,
        event.topic,
        event.key,
        envelope.event_type,
        envelope.source,
        envelope.subject,
        envelope.time,
        envelope.content_type,
        traceparent,
        tracestate,
        event.payload,
        NOTIFY_CHANNEL,
    )
    .fetch_one(&mut **transaction)
    .await?;
    Ok(())
}

/// The outbox columns of several events, for one UNNEST statement.
struct Columns {
    tenants: Vec<String>,
    ids: Vec<String>,
    topics: Vec<String>,
    keys: Vec<String>,
    types: Vec<String>,
    sources: Vec<String>,
    subjects: Vec<Option<String>>,
    times: Vec<DateTime<Utc>>,
    content_types: Vec<String>,
    traceparents: Vec<Option<String>>,
    tracestates: Vec<Option<String>>,
    payloads: Vec<Vec<u8>>,
}

impl Columns {
    fn of(events: &[OutgoingEvent]) -> Self {
        let trace_context = crate::telemetry::current_trace_context();
        let mut columns = Columns {
            tenants: Vec::with_capacity(events.len()),
            ids: Vec::with_capacity(events.len()),
            topics: Vec::with_capacity(events.len()),
            keys: Vec::with_capacity(events.len()),
            types: Vec::with_capacity(events.len()),
            sources: Vec::with_capacity(events.len()),
            subjects: Vec::with_capacity(events.len()),
            times: Vec::with_capacity(events.len()),
            content_types: Vec::with_capacity(events.len()),
            traceparents: Vec::with_capacity(events.len()),
            tracestates: Vec::with_capacity(events.len()),
            payloads: Vec::with_capacity(events.len()),
        };
        for event in events {
            let envelope = &event.envelope;
            columns.tenants.push(envelope.tenant.as_str().to_owned());
            columns.ids.push(envelope.id.clone());
            columns.topics.push(event.topic.clone());
            columns.keys.push(event.key.clone());
            columns.types.push(envelope.event_type.clone());
            columns.sources.push(envelope.source.clone());
            columns.subjects.push(envelope.subject.clone());
            columns.times.push(envelope.time);
            columns.content_types.push(envelope.content_type.clone());
            columns.traceparents.push(
                envelope
                    .traceparent
                    .clone()
                    .or_else(|| trace_context.get(header::TRACEPARENT).cloned()),
            );
            columns.tracestates.push(
                envelope
                    .tracestate
                    .clone()
                    .or_else(|| trace_context.get(header::TRACESTATE).cloned()),
            );
            columns.payloads.push(event.payload.clone());
        }
        columns
    }
}

async fn wake_relay(transaction: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_notify($1, '') AS notified", NOTIFY_CHANNEL)
        .fetch_one(&mut **transaction)
        .await?;
    Ok(())
}

/// Writes several events in one statement (and wakes the relay once): what
/// [`enqueue`] does, for commands that change many aggregates at a time.
#[allow(clippy::as_conversions)]
pub async fn enqueue_many(
    transaction: &mut Transaction<'_, Postgres>,
    events: &[OutgoingEvent],
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let columns = Columns::of(events);
    sqlx::query!(
        r#"INSERT INTO outbox
               (tenant, event_id, topic, record_key, event_type, source, subject, occurred_at,
                content_type, traceparent, tracestate, payload)
           SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[],
                                $11::text[], $12::bytea[])"#,
        &columns.tenants,
        &columns.ids,
        &columns.topics,
        &columns.keys,
        &columns.types,
        &columns.sources,
        &columns.subjects as &[Option<String>],
        &columns.times,
        &columns.content_types,
        &columns.traceparents as &[Option<String>],
        &columns.tracestates as &[Option<String>],
        &columns.payloads,
    )
    .execute(&mut **transaction)
    .await?;
    wake_relay(transaction).await
}

/// [`enqueue_many`] for events whose ids are derived from what they describe
/// (so that deriving them again gives the same ids): an event whose id is
/// already in the outbox is left out, and the number written is returned.
#[allow(clippy::as_conversions)]
pub async fn enqueue_many_once(
    transaction: &mut Transaction<'_, Postgres>,
    events: &[OutgoingEvent],
) -> Result<u64, sqlx::Error> {
    if events.is_empty() {
        return Ok(0);
    }
    let columns = Columns::of(events);
    let written = sqlx::query!(
        r#"INSERT INTO outbox
               (tenant, event_id, topic, record_key, event_type, source, subject, occurred_at,
                content_type, traceparent, tracestate, payload)
           SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[],
                                $11::text[], $12::bytea[])
           ON CONFLICT (event_id) DO NOTHING"#,
        &columns.tenants,
        &columns.ids,
        &columns.topics,
        &columns.keys,
        &columns.types,
        &columns.sources,
        &columns.subjects as &[Option<String>],
        &columns.times,
        &columns.content_types,
        &columns.traceparents as &[Option<String>],
        &columns.tracestates as &[Option<String>],
        &columns.payloads,
    )
    .execute(&mut **transaction)
    .await?
    .rows_affected();
    if written > 0 {
        wake_relay(transaction).await?;
    }
    Ok(written)
}

/// How often the relay looks for pending rows below its watermark.
const FULL_SCAN_INTERVAL: Duration = Duration::from_secs(1);

struct PendingRow {
    id: i64,
    tenant: String,
    event_id: String,
    topic: String,
    record_key: String,
    event_type: String,
    source: String,
    subject: Option<String>,
    occurred_at: DateTime<Utc>,
    content_type: String,
    traceparent: Option<String>,
    tracestate: Option<String>,
    payload: Vec<u8>,
    created_at: DateTime<Utc>,
}

impl PendingRow {
    fn envelope(&self) -> anyhow::Result<EventEnvelope> {
        Ok(EventEnvelope {
            id: self.event_id.clone(),
            event_type: self.event_type.clone(),
            source: self.source.clone(),
            time: self.occurred_at,
            subject: self.subject.clone(),
            tenant: TenantId::parse(&self.tenant)?,
            content_type: self.content_type.clone(),
            traceparent: self.traceparent.clone(),
            tracestate: self.tracestate.clone(),
        })
    }
}

/// Publishes the outbox of one service database to Kafka.
pub struct OutboxRelay {
    pool: PgPool,
    producer: FutureProducer,
    settings: OutboxSettings,
    service: String,
    topic_namespace: String,
}

impl OutboxRelay {
    /// Publishes to `<namespace><topic>` (see `kafka.topic_namespace`).
    pub fn with_topic_namespace(mut self, namespace: &str) -> Self {
        self.topic_namespace = namespace.to_owned();
        self
    }

    pub fn new(
        pool: PgPool,
        producer: FutureProducer,
        settings: OutboxSettings,
        service: &str,
    ) -> Self {
        Self {
            pool,
            producer,
            settings,
            service: service.to_owned(),
            topic_namespace: String::new(),
        }
    }

    /// Runs until `shutdown` is cancelled, re-acquiring leadership and
    /// reconnecting after any failure. Returns once the batch in flight is
    /// published and the producer flushed.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(200);
        while !shutdown.is_cancelled() {
            match self.lead_and_publish(&shutdown).await {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(error) => {
                    metrics::counter!("otc_outbox_relay_failures_total", "service" => self.service.clone()).increment(1);
                    tracing::warn!(
                        error = format!("{error:#}"),
                        ?backoff,
                        "outbox relay failed, restarting"
                    );
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        if let Err(error) = self.producer.flush(Duration::from_secs(10)) {
            tracing::warn!(%error, "producer flush on shutdown failed");
        }
        tracing::info!("outbox relay stopped");
    }

    async fn lead_and_publish(&self, shutdown: &CancellationToken) -> anyhow::Result<()> {
        // The lock lives as long as this connection: if the process dies, the
        // session ends and another replica takes over.
        let mut leader = self
            .pool
            .acquire()
            .await
            .context("no database connection for the relay")?
            .detach();
        loop {
            let acquired = sqlx::query_scalar!(
                "SELECT pg_try_advisory_lock($1) AS \"acquired!\"",
                RELAY_LOCK_KEY
            )
            .fetch_one(&mut leader)
            .await?;
            if acquired {
                break;
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
        tracing::info!("outbox relay is the leader for this database");

        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(mut listener) => match listener.listen(NOTIFY_CHANNEL).await {
                Ok(()) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, "LISTEN failed, polling only");
                    None
                }
            },
            Err(error) => {
                tracing::warn!(%error, "no notification connection, polling only");
                None
            }
        };
        let poll_interval = Duration::from_millis(self.settings.poll_interval_ms);
        let mut last_backlog_report = tokio::time::Instant::now() - Duration::from_secs(60);
        let mut last_purge = tokio::time::Instant::now();
        // Rows above the highest id published are found by an index seek;
        // a scan from the lowest pending id, which walks the index entries
        // of rows published since the last vacuum (a busy outbox holds
        // hundreds of thousands), runs once a second to catch a row whose
        // transaction committed after a later id was published.
        let mut watermark: i64 = 0;
        let mut last_full_scan = tokio::time::Instant::now() - FULL_SCAN_INTERVAL;
        while !shutdown.is_cancelled() {
            let after = if last_full_scan.elapsed() >= FULL_SCAN_INTERVAL {
                last_full_scan = tokio::time::Instant::now();
                0
            } else {
                watermark
            };
            let (published, highest) = self.publish_batch(&mut leader, after).await?;
            watermark = watermark.max(highest);
            if last_backlog_report.elapsed() >= Duration::from_secs(1) {
                self.report_backlog(&mut leader).await?;
                last_backlog_report = tokio::time::Instant::now();
            }
            if last_purge.elapsed() >= Duration::from_secs(600) {
                self.purge_published(&mut leader).await?;
                last_purge = tokio::time::Instant::now();
            }
            if published >= usize::try_from(self.settings.batch_size).unwrap_or(usize::MAX) {
                continue;
            }
            match listener.as_mut() {
                Some(listener) => tokio::select! {
                    () = shutdown.cancelled() => {}
                    notification = listener.recv() => {
                        if let Err(error) = notification {
                            tracing::warn!(%error, "notification connection lost, reconnecting");
                        }
                    }
                    () = tokio::time::sleep(poll_interval) => {}
                },
                None => tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = tokio::time::sleep(poll_interval) => {}
                },
            }
        }
        Ok(())
    }

    /// Publishes the oldest pending events, waits for every acknowledgement,
    /// then marks them. Returns how many were published.
    /// Publishes up to a batch of pending rows with ids above `after`;
    /// returns how many, and the highest id among them.
    async fn publish_batch(
        &self,
        leader: &mut sqlx::PgConnection,
        after: i64,
    ) -> anyhow::Result<(usize, i64)> {
        let mut transaction = sqlx::Connection::begin(&mut *leader).await?;
        crate::db::set_tenant(&mut transaction, crate::db::ALL_TENANTS).await?;
        let rows = sqlx::query_as!(
            PendingRow,
            r#"SELECT id, tenant, event_id, topic, record_key, event_type, source, subject, occurred_at,
                      content_type, traceparent, tracestate, payload, created_at
               FROM outbox WHERE published_at IS NULL AND id > $2 ORDER BY id LIMIT $1"#,
            self.settings.batch_size,
            after,
        )
        .fetch_all(&mut *transaction)
        .await?;
        if rows.is_empty() {
            transaction.commit().await?;
            return Ok((0, 0));
        }

        let mut deliveries = Vec::with_capacity(rows.len());
        for row in &rows {
            let headers = row
                .envelope()
                .with_context(|| format!("outbox row {} has a bad envelope", row.id))?
                .to_headers();
            let physical_topic = format!("{}{}", self.topic_namespace, row.topic);
            let record = FutureRecord::to(&physical_topic)
                .key(&row.record_key)
                .payload(&row.payload)
                .headers(headers);
            deliveries.push(
                self.producer
                    .send_result(record)
                    .map_err(|(error, _)| error)?,
            );
        }
        let mut failures = 0usize;
        for (row, outcome) in rows.iter().zip(join_all(deliveries).await) {
            match outcome {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => {
                    failures += 1;
                    tracing::warn!(outbox_id = row.id, topic = %row.topic, %error, "publish failed");
                }
                Err(_) => failures += 1,
            }
        }
        if failures > 0 {
            // Nothing is marked: the whole batch goes again, in order.
            anyhow::bail!(
                "{failures} of {} events were not acknowledged by Kafka",
                rows.len()
            );
        }

        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        sqlx::query!(
            "UPDATE outbox SET published_at = now() WHERE id = ANY($1)",
            &ids
        )
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;

        let service = self.service.clone();
        metrics::counter!("otc_outbox_published_total", "service" => service.clone())
            .increment(u64::try_from(rows.len()).unwrap_or(u64::MAX));
        let now = Utc::now();
        for row in &rows {
            let lag = (now - row.created_at).to_std().unwrap_or_default();
            metrics::histogram!("otc_outbox_publish_lag_seconds", "service" => service.clone())
                .record(lag);
        }
        let highest = rows.iter().map(|row| row.id).max().unwrap_or(0);
        Ok((rows.len(), highest))
    }

    async fn report_backlog(&self, leader: &mut sqlx::PgConnection) -> anyhow::Result<()> {
        let mut transaction = sqlx::Connection::begin(&mut *leader).await?;
        crate::db::set_tenant(&mut transaction, crate::db::ALL_TENANTS).await?;
        let backlog = sqlx::query_scalar!(
            "SELECT count(*) AS \"backlog!\" FROM outbox WHERE published_at IS NULL"
        )
        .fetch_one(&mut *transaction)
        .await?;
        transaction.commit().await?;
        metrics::gauge!("otc_outbox_backlog", "service" => self.service.clone())
            .set(u32::try_from(backlog).unwrap_or(u32::MAX));
        Ok(())
    }

    async fn purge_published(&self, leader: &mut sqlx::PgConnection) -> anyhow::Result<()> {
        let mut transaction = sqlx::Connection::begin(&mut *leader).await?;
        crate::db::set_tenant(&mut transaction, crate::db::ALL_TENANTS).await?;
        let purged = sqlx::query!(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(hours => $1::int)",
            i32::try_from(self.settings.retention_hours).unwrap_or(i32::MAX),
        )
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        transaction.commit().await?;
        if purged > 0 {
            tracing::info!(purged, "purged published outbox rows past retention");
        }
        Ok(())
    }
}

//! Idempotent consumer (inbox). Each record's effect and its event id are
//! committed in one transaction; the offset is stored only after that, so a
//! redelivery finds the id and changes nothing. Transient failures are
//! retried with backoff; a record that can never be applied (a poison
//! record) goes to `<topic>.dlq.<consumer>` with the reason in its headers,
//! and the consumer moves on.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::{PgPool, Postgres, Transaction};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::events::{EventEnvelope, RecordHeaders, header};
use crate::kafka::{KafkaSettings, TopicSpec, topics};

/// Headers added to a dead-lettered record (its original headers are kept).
pub mod dlq_header {
    pub const ERROR: &str = "dlq_error";
    pub const CONSUMER: &str = "dlq_consumer";
    pub const ORIGINAL_TOPIC: &str = "dlq_original_topic";
    pub const ORIGINAL_PARTITION: &str = "dlq_original_partition";
    pub const ORIGINAL_OFFSET: &str = "dlq_original_offset";
    pub const FAILED_AT: &str = "dlq_failed_at";
}

/// One consumed record, detached from the consumer's buffer.
#[derive(Debug, Clone)]
pub struct IncomingRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: RecordHeaders,
}

impl IncomingRecord {
    pub fn from_message(message: &BorrowedMessage<'_>) -> Self {
        Self {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            headers: RecordHeaders::from_kafka(message.headers()),
        }
    }

    /// The CloudEvents envelope from the headers; a record without one is
    /// rejected (it cannot be deduplicated or attributed to a tenant).
    pub fn envelope(&self) -> Result<EventEnvelope, HandlerError> {
        EventEnvelope::from_headers(&self.headers)
            .map_err(|error| HandlerError::Rejected(error.to_string()))
    }

    /// Decodes a protobuf payload, rejecting the record if it does not parse.
    pub fn decode<M: prost::Message + Default>(&self) -> Result<M, HandlerError> {
        M::decode(self.payload.as_slice()).map_err(|error| {
            HandlerError::Rejected(format!("payload is not a valid protobuf message: {error}"))
        })
    }

    pub fn key_text(&self) -> Option<&str> {
        self.key
            .as_deref()
            .and_then(|key| std::str::from_utf8(key).ok())
    }
}

/// Why a record was not applied.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying: the database is down, a deadlock, a timeout.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// Never going to work (malformed, fails validation): dead-letter it.
    #[error("rejected: {0}")]
    Rejected(String),
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_transient(&error) {
            Self::Transient(error.into())
        } else {
            Self::Rejected(format!("database refused the effect: {error}"))
        }
    }
}

/// What a consumer does with each record. `apply` runs inside the inbox
/// transaction (already scoped to the record's tenant); it must do all its
/// writes through it.
pub trait EventHandler: Send + Sync + 'static {
    /// The id redeliveries are recognised by; by default the `ce_id` header.
    fn event_id(&self, record: &IncomingRecord) -> Result<String, HandlerError> {
        record
            .headers
            .get(header::ID)
            .filter(|id| !id.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| HandlerError::Rejected(format!("header `{}` is missing", header::ID)))
    }

    /// The tenant the record belongs to; by default the `tenant` header.
    /// Handlers of structured-mode CloudEvents read it from the body.
    fn tenant(&self, record: &IncomingRecord) -> Option<String> {
        record.headers.get(header::TENANT).map(str::to_owned)
    }

    fn apply(
        &self,
        transaction: &mut Transaction<'static, Postgres>,
        record: &IncomingRecord,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Runs once at the start of a transaction that applies several records,
    /// before any of them, so that a handler can take the locks the batch
    /// will need in one consistent order (records come in log order, and two
    /// transactions that lock the same rows in different orders deadlock).
    /// A failure fails the batch, whose records are then applied one by one.
    fn before_batch(
        &self,
        _transaction: &mut Transaction<'static, Postgres>,
        _records: &[IncomingRecord],
    ) -> impl Future<Output = Result<(), HandlerError>> + Send {
        async { Ok(()) }
    }

    /// Runs once per transaction, after every record of it was applied and
    /// before it commits, so that a handler can do in one go what the
    /// records of a batch asked for (failing it fails them all, and they are
    /// then applied one by one, each with its own call).
    fn before_commit(
        &self,
        _transaction: &mut Transaction<'static, Postgres>,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send {
        async { Ok(()) }
    }

    /// Runs once per dead-lettered record, in the transaction that records it
    /// in `dead_letters` (scoped to the record's tenant when it has one), so
    /// an effect of the rejection, such as an event telling the source, is
    /// committed exactly once with it.
    fn dead_lettered(
        &self,
        _transaction: &mut Transaction<'static, Postgres>,
        _record: &IncomingRecord,
        _reason: &str,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send {
        async { Ok(()) }
    }
}

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Duplicate,
    DeadLettered,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::DeadLettered => "dead_lettered",
        }
    }
}

/// A named consumer (its group id is `<namespace><service>.<name>`) of some topics.
pub struct InboxConsumer<H> {
    pub name: String,
    pub group_id: String,
    pub topics: Vec<String>,
    pool: PgPool,
    kafka: KafkaSettings,
    producer: FutureProducer,
    handler: H,
    max_backoff: Duration,
    lanes: usize,
}

/// Records of one partition always go to the same lane, so each partition is
/// applied in order while different partitions are applied side by side.
pub const DEFAULT_LANES: usize = 4;

/// A client that reports nothing but errors for this long is replaced.
pub const STUCK_AFTER: Duration = Duration::from_secs(20);

/// Errors closer together than this belong to one streak; a quiet gap
/// (the client recovered and there was simply nothing to read) ends it.
const STREAK_GAP: Duration = Duration::from_secs(3);

/// Consecutive client errors with nothing read between them.
#[derive(Debug, Default)]
pub struct ErrorStreak {
    first: Option<std::time::Instant>,
    last: Option<std::time::Instant>,
    count: u64,
    logged: Option<std::time::Instant>,
}

impl ErrorStreak {
    /// Whether to log the error about to be counted: at most one every 5 s.
    pub fn should_log(&mut self) -> bool {
        let now = std::time::Instant::now();
        let log = self
            .logged
            .is_none_or(|logged| now.duration_since(logged) >= Duration::from_secs(5));
        if log {
            self.logged = Some(now);
        }
        log
    }

    /// Errors counted in this streak.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Counts an error now; `true` once errors have come without a record
    /// and without a quiet gap for [`STUCK_AFTER`].
    pub fn failed_too_long(&mut self) -> bool {
        let now = std::time::Instant::now();
        if self
            .last
            .is_none_or(|last| now.duration_since(last) > STREAK_GAP)
        {
            self.first = Some(now);
            self.count = 0;
        }
        self.last = Some(now);
        self.count += 1;
        self.first
            .is_some_and(|first| now.duration_since(first) >= STUCK_AFTER)
    }

    /// A record was read: the client works.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// At most this many waiting records of a lane are applied in one transaction.
pub const MAX_BATCH: usize = 32;

fn lane_of(topic: &str, partition: i32, lanes: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    topic.hash(&mut hasher);
    partition.hash(&mut hasher);
    usize::try_from(hasher.finish() % u64::try_from(lanes.max(1)).unwrap_or(1)).unwrap_or(0)
}

impl<H: EventHandler> InboxConsumer<H> {
    pub fn new(
        service: &str,
        name: &str,
        topics: &[&str],
        pool: PgPool,
        kafka: KafkaSettings,
        producer: FutureProducer,
        handler: H,
    ) -> Self {
        Self {
            name: name.to_owned(),
            group_id: format!("{}{service}.{name}", kafka.topic_namespace),
            topics: topics
                .iter()
                .map(|topic| kafka.physical_topic(topic))
                .collect(),
            pool,
            kafka,
            producer,
            handler,
            max_backoff: Duration::from_secs(30),
            lanes: DEFAULT_LANES,
        }
    }

    /// How many partitions are applied side by side (at least 1).
    pub fn with_lanes(mut self, lanes: usize) -> Self {
        self.lanes = lanes.max(1);
        self
    }

    pub fn with_max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    /// The topics it reads and their dead-letter topics, for creation.
    pub fn topic_specs(&self) -> Vec<TopicSpec> {
        self.topics
            .iter()
            .flat_map(|topic| {
                [
                    TopicSpec::new(topic),
                    TopicSpec::new(&topics::dead_letter(topic, &self.name)),
                ]
            })
            .collect()
    }

    fn create_consumer(&self) -> anyhow::Result<StreamConsumer> {
        let consumer: StreamConsumer = self
            .kafka
            .client_config(&self.group_id)
            .set("group.id", &self.group_id)
            .set("enable.auto.commit", "true")
            // Offsets are stored by hand, only once the effect is committed.
            .set("enable.auto.offset.store", "false")
            .set("auto.commit.interval.ms", "1000")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_committed")
            .set("partition.assignment.strategy", "cooperative-sticky")
            .create()
            .with_context(|| format!("could not create consumer {}", self.group_id))?;
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .with_context(|| format!("could not subscribe {} to {topics:?}", self.group_id))?;
        Ok(consumer)
    }

    /// Consumes until `shutdown` is cancelled; commits the stored offsets on
    /// the way out. Each partition goes to one lane (a task applying its
    /// records in order); a record's offset is stored only after its effect
    /// committed, so a crash redelivers, and the inbox makes that harmless.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        if self.kafka.create_topics {
            crate::kafka::ensure_topics(&self.kafka, &self.topic_specs()).await?;
        }
        tracing::info!(consumer = %self.group_id, topics = ?self.topics, lanes = self.lanes, "consumer started");
        let this = std::sync::Arc::new(self);
        loop {
            let consumer = std::sync::Arc::new(this.create_consumer()?);
            let stuck = Self::session(&this, &consumer, &shutdown).await;
            if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
                // Nothing consumed yet is the usual cause; the inbox covers redelivery anyway.
                tracing::debug!(consumer = %this.group_id, %error, "final offset commit");
            }
            if !stuck || shutdown.is_cancelled() {
                break;
            }
            // A safety net: a client that reports only errors, with no
            // quiet gap, for STUCK_AFTER is replaced. A new client starts
            // from the committed offsets; the inbox makes whatever it reads
            // again harmless. (Slow reading of queued errors once looked
            // like this after a broker restart; see `session`.)
            metrics::counter!("otc_consumer_restarts_total", "consumer" => this.group_id.clone())
                .increment(1);
            tracing::warn!(
                consumer = %this.group_id,
                after = ?STUCK_AFTER,
                "the Kafka client reported only errors; creating it again"
            );
        }
        tracing::info!(consumer = %this.group_id, "consumer stopped");
        Ok(())
    }

    /// Reads with one client until shutdown, or until it has reported
    /// nothing but errors for [`STUCK_AFTER`] (`true`); the lanes have
    /// applied everything they were handed when it returns.
    async fn session(
        this: &std::sync::Arc<Self>,
        consumer: &std::sync::Arc<StreamConsumer>,
        shutdown: &CancellationToken,
    ) -> bool {
        let lanes = this.lanes;
        let mut senders = Vec::with_capacity(lanes);
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..lanes {
            let (sender, receiver) = tokio::sync::mpsc::channel::<IncomingRecord>(64);
            senders.push(sender);
            workers.spawn(Self::lane(
                std::sync::Arc::clone(this),
                std::sync::Arc::clone(consumer),
                receiver,
                shutdown.clone(),
            ));
        }
        let mut failing = ErrorStreak::default();
        let mut stuck = false;
        loop {
            let message = tokio::select! {
                () = shutdown.cancelled() => break,
                received = consumer.recv() => received,
            };
            let record = match message {
                Ok(message) => {
                    failing.reset();
                    IncomingRecord::from_message(&message)
                }
                Err(error) => {
                    // No pause here: the client queues an error event per
                    // failed connection attempt while the broker is away, and
                    // a reader that paused after each would still be working
                    // through that backlog long after the broker came back,
                    // with the records waiting behind it. `recv` waits for
                    // the next event, so this is no busy loop.
                    if failing.should_log() {
                        tracing::warn!(consumer = %this.group_id, %error, errors = failing.count() + 1, "Kafka consumer error");
                    }
                    if failing.failed_too_long() {
                        stuck = true;
                        break;
                    }
                    continue;
                }
            };
            let lane = lane_of(&record.topic, record.partition, lanes);
            let Some(sender) = senders.get(lane) else {
                break;
            };
            // A full lane holds the reader back: back-pressure, not buffering.
            let sent = tokio::select! {
                () = shutdown.cancelled() => break,
                sent = sender.send(record) => sent,
            };
            if sent.is_err() {
                // The lane stopped (shutdown mid-retry); so does the reader.
                break;
            }
        }
        drop(senders);
        while workers.join_next().await.is_some() {}
        stuck
    }

    async fn lane(
        this: std::sync::Arc<Self>,
        consumer: std::sync::Arc<StreamConsumer>,
        mut records: tokio::sync::mpsc::Receiver<IncomingRecord>,
        shutdown: CancellationToken,
    ) {
        while let Some(first) = records.recv().await {
            if shutdown.is_cancelled() {
                // Queued but not applied: left for redelivery.
                return;
            }
            // Whatever else already waits joins it, up to a batch.
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match records.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(_) => break,
                }
            }
            let batched = if batch.len() > 1 {
                this.apply_batch(&batch).await
            } else {
                None
            };
            let outcomes = match batched {
                Some(outcomes) => outcomes,
                None => {
                    let mut outcomes = Vec::with_capacity(batch.len());
                    for record in &batch {
                        match this.process(record, &shutdown).await {
                            Some(outcome) => outcomes.push(outcome),
                            // Shut down mid-retry: this record and the rest of
                            // the batch stay unstored and are redelivered.
                            None => break,
                        }
                    }
                    outcomes
                }
            };
            let applied = outcomes.len();
            for (record, outcome) in batch.iter().zip(outcomes) {
                metrics::counter!("otc_consumer_records_total", "consumer" => this.group_id.clone(), "outcome" => outcome.label())
                    .increment(1);
                // The legacy store call stores `offset + 1`, as storing from the message does.
                if let Err(error) =
                    consumer.store_offset(&record.topic, record.partition, record.offset)
                {
                    tracing::warn!(consumer = %this.group_id, %error, "could not store offset");
                }
            }
            if applied < batch.len() {
                return;
            }
        }
    }

    /// Applies one record, retrying transient failures with exponential
    /// backoff; `None` if shutdown interrupted the retries.
    pub async fn process(
        &self,
        record: &IncomingRecord,
        shutdown: &CancellationToken,
    ) -> Option<Outcome> {
        let span = tracing::info_span!(
            "kafka.consume",
            otel.kind = "consumer",
            consumer = %self.group_id,
            topic = %record.topic,
            partition = record.partition,
            offset = record.offset,
        );
        crate::telemetry::set_parent(
            &span,
            record.headers.get(header::TRACEPARENT),
            record.headers.get(header::TRACESTATE),
        );
        self.process_with_retries(record, shutdown)
            .instrument(span)
            .await
    }

    async fn process_with_retries(
        &self,
        record: &IncomingRecord,
        shutdown: &CancellationToken,
    ) -> Option<Outcome> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let result = match self.handler.event_id(record) {
                Ok(event_id) => self.apply_once(record, &event_id).await,
                Err(error) => Err(error),
            };
            let error = match result {
                Ok(outcome) => return Some(outcome),
                Err(HandlerError::Rejected(reason)) => {
                    return self
                        .dead_letter_with_retries(record, &reason, shutdown)
                        .await;
                }
                Err(HandlerError::Transient(error)) => error,
            };
            metrics::counter!("otc_consumer_retries_total", "consumer" => self.group_id.clone())
                .increment(1);
            tracing::warn!(
                error = format!("{error:#}"),
                ?backoff,
                "transient failure, retrying"
            );
            tokio::select! {
                () = shutdown.cancelled() => return None,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.max_backoff);
        }
    }

    async fn apply_once(
        &self,
        record: &IncomingRecord,
        event_id: &str,
    ) -> Result<Outcome, HandlerError> {
        let mut transaction = self.pool.begin().await?;
        let outcome = self.apply_in(&mut transaction, record, event_id).await?;
        if outcome == Outcome::Duplicate {
            transaction.rollback().await?;
        } else {
            self.handler.before_commit(&mut transaction).await?;
            transaction.commit().await?;
        }
        Ok(outcome)
    }

    /// Records the event id and applies the record inside `transaction`,
    /// scoped to the record's tenant; `Duplicate` if the id was seen before.
    async fn apply_in(
        &self,
        transaction: &mut Transaction<'static, Postgres>,
        record: &IncomingRecord,
        event_id: &str,
    ) -> Result<Outcome, HandlerError> {
        let tenant = self.handler.tenant(record);
        // An empty tenant shows no tenant's rows (also clearing the previous
        // record's tenant when several share one transaction).
        crate::db::set_tenant(transaction, tenant.as_deref().unwrap_or_default()).await?;
        let first_delivery = sqlx::query!(
            r#"INSERT INTO inbox (consumer, event_id, tenant, event_type, topic, partition, record_offset)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (consumer, event_id) DO NOTHING"#,
            self.name,
            event_id,
            tenant,
            record.headers.get(header::TYPE),
            record.topic,
            record.partition,
            record.offset,
        )
        .execute(&mut **transaction)
        .await?
        .rows_affected()
            == 1;
        if !first_delivery {
            tracing::debug!(event_id, "already applied, skipping");
            return Ok(Outcome::Duplicate);
        }
        self.handler.apply(transaction, record).await?;
        Ok(Outcome::Applied)
    }

    /// Applies consecutive records of one lane in a single transaction (one
    /// commit for all). `None` if any of them fails: nothing of the batch is
    /// kept, and the caller applies them one by one, where retries and
    /// dead-lettering happen.
    async fn apply_batch(&self, batch: &[IncomingRecord]) -> Option<Vec<Outcome>> {
        match self.try_batch(batch).await {
            Ok(outcomes) => Some(outcomes),
            Err(reason) => {
                metrics::counter!("otc_consumer_batch_fallbacks_total", "consumer" => self.group_id.clone())
                    .increment(1);
                tracing::info!(
                    consumer = %self.group_id,
                    records = batch.len(),
                    %reason,
                    "batch not applied as a whole; applying its records one by one"
                );
                None
            }
        }
    }

    async fn try_batch(&self, batch: &[IncomingRecord]) -> Result<Vec<Outcome>, HandlerError> {
        let mut transaction = self.pool.begin().await?;
        self.handler.before_batch(&mut transaction, batch).await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for record in batch {
            let span = tracing::info_span!(
                "kafka.consume",
                otel.kind = "consumer",
                consumer = %self.group_id,
                topic = %record.topic,
                partition = record.partition,
                offset = record.offset,
                batched = batch.len(),
            );
            crate::telemetry::set_parent(
                &span,
                record.headers.get(header::TRACEPARENT),
                record.headers.get(header::TRACESTATE),
            );
            let event_id = self.handler.event_id(record)?;
            let outcome = self
                .apply_in(&mut transaction, record, &event_id)
                .instrument(span)
                .await?;
            outcomes.push(outcome);
        }
        if outcomes.contains(&Outcome::Applied) {
            self.handler.before_commit(&mut transaction).await?;
        }
        transaction.commit().await?;
        Ok(outcomes)
    }

    async fn dead_letter_with_retries(
        &self,
        record: &IncomingRecord,
        reason: &str,
        shutdown: &CancellationToken,
    ) -> Option<Outcome> {
        tracing::error!(reason, "poison record, sending it to the dead-letter topic");
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.dead_letter(record, reason).await {
                Ok(()) => return Some(Outcome::DeadLettered),
                Err(error) => tracing::warn!(
                    error = format!("{error:#}"),
                    "dead-lettering failed, retrying"
                ),
            }
            tokio::select! {
                () = shutdown.cancelled() => return None,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.max_backoff);
        }
    }

    async fn dead_letter(&self, record: &IncomingRecord, reason: &str) -> anyhow::Result<()> {
        let already = sqlx::query_scalar!(
            r#"SELECT count(*) AS "count!" FROM dead_letters
               WHERE consumer = $1 AND topic = $2 AND partition = $3 AND record_offset = $4"#,
            self.name,
            record.topic,
            record.partition,
            record.offset,
        )
        .fetch_one(&self.pool)
        .await?;
        if already > 0 {
            return Ok(());
        }
        let dead_letter_topic =
            publish_dead_letter(&self.producer, &self.name, &self.group_id, record, reason).await?;
        let tenant = self.handler.tenant(record);
        let mut transaction = self.pool.begin().await?;
        if let Some(tenant) = &tenant {
            crate::db::set_tenant(&mut transaction, tenant).await?;
        }
        let recorded = sqlx::query!(
            r#"INSERT INTO dead_letters
                   (consumer, topic, partition, record_offset, event_id, tenant, dead_letter_topic, error)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (consumer, topic, partition, record_offset) DO NOTHING"#,
            self.name,
            record.topic,
            record.partition,
            record.offset,
            self.handler.event_id(record).ok(),
            tenant,
            dead_letter_topic,
            reason,
        )
        .execute(&mut *transaction)
        .await?
        .rows_affected()
            == 1;
        if recorded {
            self.handler
                .dead_lettered(&mut transaction, record, reason)
                .await
                .map_err(|error| anyhow::anyhow!("rejection effect failed: {error}"))?;
        }
        transaction.commit().await?;
        metrics::counter!("otc_consumer_dead_letters_total", "consumer" => self.group_id.clone())
            .increment(1);
        Ok(())
    }
}

/// Publishes a record that cannot be applied to `<topic>.dlq.<consumer>`,
/// with its original headers, key and payload and the reason in the
/// [`dlq_header`]s; returns the dead-letter topic. Published before the
/// caller records it in `dead_letters`: a crash in between publishes it
/// again (a DLQ is at-least-once).
pub async fn publish_dead_letter(
    producer: &FutureProducer,
    consumer: &str,
    group_id: &str,
    record: &IncomingRecord,
    reason: &str,
) -> anyhow::Result<String> {
    let dead_letter_topic = topics::dead_letter(&record.topic, consumer);
    let mut headers = record.headers.clone();
    headers.insert(dlq_header::ERROR, reason);
    headers.insert(dlq_header::CONSUMER, group_id);
    headers.insert(dlq_header::ORIGINAL_TOPIC, &record.topic);
    headers.insert(
        dlq_header::ORIGINAL_PARTITION,
        &record.partition.to_string(),
    );
    headers.insert(dlq_header::ORIGINAL_OFFSET, &record.offset.to_string());
    headers.insert(
        dlq_header::FAILED_AT,
        &crate::time::to_rfc3339(crate::time::now()),
    );
    let mut dead_record = FutureRecord::to(&dead_letter_topic)
        .payload(&record.payload)
        .headers(headers.to_kafka());
    if let Some(key) = &record.key {
        dead_record = dead_record.key(key);
    }
    producer
        .send(dead_record, Duration::from_secs(30))
        .await
        .map_err(|(error, _)| {
            anyhow::anyhow!("could not publish to {dead_letter_topic}: {error}")
        })?;
    Ok(dead_letter_topic)
}

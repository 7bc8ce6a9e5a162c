//! The read-model consumer: reads every event topic of the suite in batches
//! and folds each batch in one transaction (see [`crate::fold`]). Offsets
//! are stored only after a batch committed, so a crash redelivers, and the
//! inbox makes redelivery harmless.
//!
//! Its consumer group carries the read models' generation
//! (`<namespace>reporting.read-models.g<generation>`): a rebuild bumps the
//! generation, and the consumer notices (at its next batch, or within a
//! second when idle), drops its group and starts again from offset 0 under
//! the new one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use serde::Deserialize;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use otc_shared::inbox::IncomingRecord;
use otc_shared::kafka::{KafkaSettings, TopicSpec, topics};

use crate::fold::{self, CONSUMER, DeadLetter, FoldError, Folded, Incoming};

/// The topics reporting folds.
pub const TOPICS: &[&str] = &[
    topics::ORDER_EVENTS,
    topics::BILLING_EVENTS,
    topics::PAYMENT_EVENTS,
    topics::COLLECTIONS_EVENTS,
];

/// `reporting.fold.*` settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct FoldSettings {
    /// Most records folded in one transaction.
    pub batch_size: usize,
    /// How long a batch waits for more records once it has one (ms).
    pub linger_ms: u64,
}

impl Default for FoldSettings {
    fn default() -> Self {
        Self {
            batch_size: 2_000,
            linger_ms: 5,
        }
    }
}

impl FoldSettings {
    pub fn check(&self) -> anyhow::Result<()> {
        if !(1..=50_000).contains(&self.batch_size) {
            anyhow::bail!("reporting.fold.batch_size: must be between 1 and 50000");
        }
        if self.linger_ms > 10_000 {
            anyhow::bail!("reporting.fold.linger_ms: must be at most 10000");
        }
        Ok(())
    }
}

pub struct ReadModelConsumer {
    pool: PgPool,
    kafka: KafkaSettings,
    producer: FutureProducer,
    settings: FoldSettings,
    /// Woken after each batch that marked snapshots.
    snapshots: Arc<Notify>,
    /// Whether the last batch came full: the fold is behind.
    behind: Arc<AtomicBool>,
}

/// Records waiting to be folded, and when the first of them came.
struct Pending {
    records: Vec<IncomingRecord>,
    /// The client reported an error instead of a first record.
    failed: bool,
}

/// Why a generation's consuming ended before shutdown.
enum Ended {
    /// The read models were rebuilt: fold again from offset 0.
    Rebuilt(i32),
    /// The client reported nothing but errors for
    /// [`otc_shared::inbox::STUCK_AFTER`]: create it again.
    StuckClient,
}

impl ReadModelConsumer {
    pub fn new(
        pool: PgPool,
        kafka: KafkaSettings,
        producer: FutureProducer,
        settings: FoldSettings,
        snapshots: Arc<Notify>,
        behind: Arc<AtomicBool>,
    ) -> Self {
        Self {
            pool,
            kafka,
            producer,
            settings,
            snapshots,
            behind,
        }
    }

    /// The topics it reads and their dead-letter topics, for creation.
    pub fn topic_specs(kafka: &KafkaSettings) -> Vec<TopicSpec> {
        TOPICS
            .iter()
            .flat_map(|topic| {
                let physical = kafka.physical_topic(topic);
                [
                    TopicSpec::new(&physical),
                    TopicSpec::new(&topics::dead_letter(&physical, CONSUMER)),
                ]
            })
            .collect()
    }

    fn group_id(&self, generation: i32) -> String {
        format!(
            "{}reporting.{CONSUMER}.g{generation}",
            self.kafka.topic_namespace
        )
    }

    fn subscribe(&self, generation: i32) -> anyhow::Result<StreamConsumer> {
        let group_id = self.group_id(generation);
        let consumer: StreamConsumer = self
            .kafka
            .client_config(&group_id)
            .set("group.id", &group_id)
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.commit.interval.ms", "1000")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_committed")
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set("fetch.min.bytes", "1")
            .set("queued.min.messages", "20000")
            .create()
            .with_context(|| format!("could not create consumer {group_id}"))?;
        let topics: Vec<String> = TOPICS
            .iter()
            .map(|topic| self.kafka.physical_topic(topic))
            .collect();
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&names)
            .with_context(|| format!("could not subscribe {group_id} to {names:?}"))?;
        tracing::info!(consumer = %group_id, topics = ?names, "read-model consumer started");
        Ok(consumer)
    }

    async fn generation(&self) -> Result<i32, sqlx::Error> {
        sqlx::query_scalar!("SELECT generation FROM read_model_state")
            .fetch_one(&self.pool)
            .await
    }

    /// Consumes until `shutdown`; commits the stored offsets on the way out.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        if self.kafka.create_topics {
            otc_shared::kafka::ensure_topics(&self.kafka, &Self::topic_specs(&self.kafka)).await?;
        }
        let mut backoff = Duration::from_millis(200);
        while !shutdown.is_cancelled() {
            let generation = match self.generation().await {
                Ok(generation) => generation,
                Err(error) => {
                    tracing::warn!(%error, ?backoff, "read-model state unreadable, retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            };
            backoff = Duration::from_millis(200);
            let consumer = self.subscribe(generation)?;
            let outcome = self.consume(&consumer, generation, &shutdown).await;
            if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(%error, "final offset commit");
            }
            consumer.unsubscribe();
            match outcome {
                Ok(()) => break,
                Err(Ended::Rebuilt(next)) => {
                    tracing::info!(
                        from = generation,
                        to = next,
                        "read models rebuilt: folding again from offset 0"
                    );
                }
                Err(Ended::StuckClient) => {
                    metrics::counter!("otc_consumer_restarts_total", "consumer" => CONSUMER)
                        .increment(1);
                    tracing::warn!(
                        after = ?otc_shared::inbox::STUCK_AFTER,
                        "the Kafka client reported only errors; creating it again"
                    );
                }
            }
        }
        tracing::info!("read-model consumer stopped");
        Ok(())
    }

    /// Folds batches of one generation; `Err(next)` when a rebuild ended it,
    /// `Ok` on shutdown.
    async fn consume(
        &self,
        consumer: &StreamConsumer,
        generation: i32,
        shutdown: &CancellationToken,
    ) -> Result<(), Ended> {
        let mut last_check = Instant::now();
        let mut failing = otc_shared::inbox::ErrorStreak::default();
        loop {
            let pending = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                pending = self.collect(consumer) => pending,
            };
            if pending.failed {
                if failing.should_log() {
                    tracing::warn!(errors = failing.count() + 1, "Kafka consumer errors");
                }
                if failing.failed_too_long() {
                    return Err(Ended::StuckClient);
                }
            } else if !pending.records.is_empty() {
                failing.reset();
            }
            if pending.records.is_empty() {
                self.behind.store(false, Ordering::Relaxed);
                if last_check.elapsed() >= Duration::from_secs(1) {
                    last_check = Instant::now();
                    if let Ok(current) = self.generation().await
                        && current != generation
                    {
                        return Err(Ended::Rebuilt(current));
                    }
                }
                continue;
            }
            self.behind.store(
                pending.records.len() >= self.settings.batch_size,
                Ordering::Relaxed,
            );
            let records: Vec<Incoming> = pending.records.into_iter().map(Incoming::read).collect();
            match self.fold_with_retries(&records, generation, shutdown).await {
                Some(Ok(folded)) => {
                    for incoming in &records {
                        let record = &incoming.record;
                        if let Err(error) =
                            consumer.store_offset(&record.topic, record.partition, record.offset)
                        {
                            tracing::warn!(%error, "could not store offset");
                        }
                    }
                    metrics::counter!("otc_reporting_events_folded_total")
                        .increment(u64::try_from(folded.applied).unwrap_or(u64::MAX));
                    metrics::counter!("otc_reporting_events_duplicate_total")
                        .increment(u64::try_from(folded.duplicates).unwrap_or(u64::MAX));
                    metrics::counter!("otc_consumer_dead_letters_total", "consumer" => CONSUMER)
                        .increment(u64::try_from(folded.dead_lettered).unwrap_or(u64::MAX));
                    if folded.marked > 0 {
                        self.snapshots.notify_one();
                    }
                }
                Some(Err(next)) => return Err(Ended::Rebuilt(next)),
                // Shut down mid-retry: nothing of the batch is stored.
                None => return Ok(()),
            }
        }
    }

    /// Waits up to a second for a first record, then takes what else comes
    /// within the linger time, up to a batch.
    async fn collect(&self, consumer: &StreamConsumer) -> Pending {
        let mut records = Vec::new();
        let first = tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await;
        match first {
            Err(_) => {
                return Pending {
                    records,
                    failed: false,
                };
            }
            Ok(Err(error)) => {
                // No pause (see the inbox consumer): the client's queued
                // error events are worked through at once, not one per pause.
                tracing::debug!(%error, "Kafka consumer error");
                return Pending {
                    records,
                    failed: true,
                };
            }
            Ok(Ok(message)) => records.push(IncomingRecord::from_message(&message)),
        }
        let linger = Duration::from_millis(self.settings.linger_ms);
        let deadline = tokio::time::Instant::now() + linger;
        while records.len() < self.settings.batch_size {
            match tokio::time::timeout_at(deadline, consumer.recv()).await {
                Ok(Ok(message)) => records.push(IncomingRecord::from_message(&message)),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "Kafka consumer error");
                    break;
                }
                Err(_) => break,
            }
        }
        Pending {
            records,
            failed: false,
        }
    }

    /// Folds a batch, retrying transient failures; `None` on shutdown,
    /// `Some(Err(next))` when a rebuild ended the generation.
    async fn fold_with_retries(
        &self,
        records: &[Incoming],
        generation: i32,
        shutdown: &CancellationToken,
    ) -> Option<Result<Folded, i32>> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let attempt = self.fold_batch(records, generation).await;
            let error = match attempt {
                Ok(folded) => return Some(Ok(folded)),
                Err(FoldError::GenerationChanged(next)) => return Some(Err(next)),
                Err(error) => error,
            };
            tracing::warn!(
                error = format!("{error:#}"),
                ?backoff,
                "folding failed, retrying"
            );
            tokio::select! {
                () = shutdown.cancelled() => return None,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    /// One attempt: the unreadable records to the DLQ, the rest in one
    /// transaction, or one by one if the database refuses the batch.
    async fn fold_batch(&self, records: &[Incoming], generation: i32) -> Result<Folded, FoldError> {
        let mut dead: Vec<DeadLetter<'_>> = Vec::new();
        let mut readable: Vec<&Incoming> = Vec::with_capacity(records.len());
        for incoming in records {
            match &incoming.decoded {
                Ok(_) => readable.push(incoming),
                Err(reason) => {
                    if let Some(letter) = self
                        .publish_dead_letter(generation, &incoming.record, reason)
                        .await?
                    {
                        dead.push(letter);
                    }
                }
            }
        }
        match fold::fold(&self.pool, generation, &readable, &dead).await {
            Ok(folded) => Ok(folded),
            Err(error) if error.is_transient() => Err(error),
            Err(FoldError::GenerationChanged(next)) => Err(FoldError::GenerationChanged(next)),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    records = readable.len(),
                    "the batch was refused; folding its records one by one"
                );
                let mut total = Folded::default();
                total.dead_lettered += fold::fold(&self.pool, generation, &[], &dead)
                    .await?
                    .dead_lettered;
                for incoming in readable {
                    let folded = match fold::fold(&self.pool, generation, &[incoming], &[]).await {
                        Ok(folded) => folded,
                        Err(error) if error.is_transient() => return Err(error),
                        Err(FoldError::GenerationChanged(next)) => {
                            return Err(FoldError::GenerationChanged(next));
                        }
                        Err(refused) => {
                            let reason = format!("the read models refused the event: {refused}");
                            match self
                                .publish_dead_letter(generation, &incoming.record, &reason)
                                .await?
                            {
                                Some(letter) => {
                                    fold::fold(&self.pool, generation, &[], &[letter]).await?
                                }
                                None => Folded::default(),
                            }
                        }
                    };
                    total.applied += folded.applied;
                    total.duplicates += folded.duplicates;
                    total.dead_lettered += folded.dead_lettered;
                    total.facts_published += folded.facts_published;
                    total.marked += folded.marked;
                }
                Ok(total)
            }
        }
    }

    /// Publishes an unreadable record to its DLQ unless that was done
    /// before; `None` if it was.
    async fn publish_dead_letter<'a>(
        &self,
        generation: i32,
        record: &'a IncomingRecord,
        reason: &str,
    ) -> Result<Option<DeadLetter<'a>>, FoldError> {
        if fold::already_dead_lettered(&self.pool, record).await? {
            return Ok(None);
        }
        tracing::error!(
            topic = %record.topic,
            partition = record.partition,
            offset = record.offset,
            reason,
            "poison record, sending it to the dead-letter topic"
        );
        let topic = otc_shared::inbox::publish_dead_letter(
            &self.producer,
            CONSUMER,
            &self.group_id(generation),
            record,
            reason,
        )
        .await
        .map_err(FoldError::Kafka)?;
        Ok(Some(DeadLetter {
            record,
            topic,
            reason: reason.to_owned(),
        }))
    }
}

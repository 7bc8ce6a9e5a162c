//! Folding events into the read models, a batch at a time: the records of a
//! batch are read ([`decode`]), their event ids recorded in the inbox in one
//! statement (an id seen before is a duplicate and changes nothing), the
//! facts of the new ones merged into rows ([`rows`]) and written with one
//! statement per table, their BI fact records put in the outbox, and the
//! customers they touch marked for new snapshots: all in one transaction.
//!
//! A record that cannot be read is dead-lettered alone. If the database
//! refuses a batch for a reason that is not transient, its records are
//! folded one by one, and the one it refuses is dead-lettered.

pub mod decode;
pub mod facts;
pub mod rows;

use std::collections::HashSet;

use sqlx::{PgPool, Postgres, Transaction};

use otc_shared::events::header;
use otc_shared::inbox::IncomingRecord;
use otc_shared::outbox::OutgoingEvent;

use decode::Decoded;
use rows::Rows;

/// The consumer's name in the inbox and in its dead-letter topics.
pub const CONSUMER: &str = "read-models";

/// A record of a batch: read, or why it cannot be.
#[derive(Debug)]
pub struct Incoming {
    pub record: IncomingRecord,
    pub decoded: Result<Decoded, String>,
}

impl Incoming {
    /// Reads a record in a span of the trace its producer was in (the
    /// `traceparent` header), so a business flow's trace reaches reporting.
    pub fn read(record: IncomingRecord) -> Self {
        let span = tracing::info_span!(
            "kafka.consume",
            otel.kind = "consumer",
            consumer = CONSUMER,
            topic = %record.topic,
            partition = record.partition,
            offset = record.offset,
        );
        otc_shared::telemetry::set_parent(
            &span,
            record.headers.get(header::TRACEPARENT),
            record.headers.get(header::TRACESTATE),
        );
        let decoded = span.in_scope(|| decode::decode(&record).map_err(|error| error.0));
        Self { record, decoded }
    }
}

/// What a batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Folded {
    /// Events seen for the first time (folded, or of a type reporting skips).
    pub applied: usize,
    /// Events seen before.
    pub duplicates: usize,
    /// Records dead-lettered.
    pub dead_lettered: usize,
    /// BI fact records written to the outbox.
    pub facts_published: u64,
    /// Customers and tenants marked for new snapshots.
    pub marked: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    /// A rebuild started: this consumer's generation is over.
    #[error("the read models were rebuilt (generation {0} is current)")]
    GenerationChanged(i32),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("a fact record could not be serialised: {0}")]
    Serialise(#[from] serde_json::Error),
    /// A dead letter could not be published (the broker is away).
    #[error("{0:#}")]
    Kafka(anyhow::Error),
}

impl FoldError {
    pub fn is_transient(&self) -> bool {
        match self {
            FoldError::GenerationChanged(_) => false,
            FoldError::Database(error) => otc_shared::db::is_transient(error),
            FoldError::Serialise(_) => false,
            FoldError::Kafka(_) => true,
        }
    }
}

/// A record to dead-letter, once its DLQ copy is published.
#[derive(Debug, Clone)]
pub struct DeadLetter<'a> {
    pub record: &'a IncomingRecord,
    pub topic: String,
    pub reason: String,
}

/// Checks the generation (shared lock: a rebuild waits for the batch) and
/// scopes the transaction to every tenant.
async fn begin(
    pool: &PgPool,
    generation: i32,
) -> Result<Transaction<'static, Postgres>, FoldError> {
    let mut tx = otc_shared::db::begin_for_all_tenants(pool).await?;
    let current = sqlx::query_scalar!("SELECT generation FROM read_model_state FOR SHARE")
        .fetch_one(&mut *tx)
        .await?;
    if current != generation {
        return Err(FoldError::GenerationChanged(current));
    }
    Ok(tx)
}

/// Folds the readable records of a batch and records the dead letters, in
/// one transaction of the given generation.
pub async fn fold(
    pool: &PgPool,
    generation: i32,
    batch: &[&Incoming],
    dead_letters: &[DeadLetter<'_>],
) -> Result<Folded, FoldError> {
    let mut tx = begin(pool, generation).await?;
    let mut folded = Folded::default();
    // The first of the records that share an event id stands for them all.
    let mut seen = HashSet::new();
    let mut firsts: Vec<(&IncomingRecord, &Decoded)> = Vec::with_capacity(batch.len());
    for incoming in batch {
        if let Ok(decoded) = &incoming.decoded {
            if seen.insert(decoded.envelope.id.as_str()) {
                firsts.push((&incoming.record, decoded));
            } else {
                folded.duplicates += 1;
            }
        }
    }
    let new_ids = record_in_inbox(&mut tx, &firsts).await?;
    folded.duplicates += firsts.len() - new_ids.len();
    let mut rows = Rows::default();
    let mut outgoing: Vec<OutgoingEvent> = Vec::new();
    for (_, decoded) in &firsts {
        if !new_ids.contains(&decoded.envelope.id) {
            continue;
        }
        folded.applied += 1;
        let tenant = decoded.envelope.tenant.as_str();
        for fact in &decoded.facts {
            rows.add(tenant, fact);
            if let Some(record) = crate::topics::fact_record(&decoded.envelope, fact)? {
                outgoing.push(record);
            }
        }
    }
    rows.write(&mut tx).await?;
    folded.facts_published = otc_shared::outbox::enqueue_many_once(&mut tx, &outgoing).await?;
    folded.marked = rows.marks().len();
    folded.dead_lettered = record_dead_letters(&mut tx, dead_letters).await?;
    tx.commit().await?;
    Ok(folded)
}

/// Records the event ids in the inbox; returns those not seen before.
async fn record_in_inbox(
    tx: &mut Transaction<'static, Postgres>,
    records: &[(&IncomingRecord, &Decoded)],
) -> Result<HashSet<String>, sqlx::Error> {
    if records.is_empty() {
        return Ok(HashSet::new());
    }
    let mut ids = Vec::with_capacity(records.len());
    let mut tenants = Vec::with_capacity(records.len());
    let mut types = Vec::with_capacity(records.len());
    let mut topics = Vec::with_capacity(records.len());
    let mut partitions = Vec::with_capacity(records.len());
    let mut offsets = Vec::with_capacity(records.len());
    for (record, decoded) in records {
        ids.push(decoded.envelope.id.clone());
        tenants.push(decoded.envelope.tenant.as_str().to_owned());
        types.push(decoded.envelope.event_type.clone());
        topics.push(record.topic.clone());
        partitions.push(record.partition);
        offsets.push(record.offset);
    }
    let new = sqlx::query_scalar!(
        r#"INSERT INTO inbox (consumer, event_id, tenant, event_type, topic, partition, record_offset)
           SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::int4[],
                                    $7::int8[])
           ON CONFLICT (consumer, event_id) DO NOTHING
           RETURNING event_id"#,
        CONSUMER,
        &ids,
        &tenants,
        &types,
        &topics,
        &partitions,
        &offsets,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(new.into_iter().collect())
}

async fn record_dead_letters(
    tx: &mut Transaction<'static, Postgres>,
    dead_letters: &[DeadLetter<'_>],
) -> Result<usize, sqlx::Error> {
    let mut recorded = 0;
    for dead in dead_letters {
        let record = dead.record;
        let written = sqlx::query!(
            r#"INSERT INTO dead_letters
                   (consumer, topic, partition, record_offset, event_id, tenant, dead_letter_topic, error)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (consumer, topic, partition, record_offset) DO NOTHING"#,
            CONSUMER,
            record.topic,
            record.partition,
            record.offset,
            record.headers.get(header::ID),
            record.headers.get(header::TENANT),
            dead.topic,
            dead.reason,
        )
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if written == 1 {
            recorded += 1;
        }
    }
    Ok(recorded)
}

/// Whether a record was dead-lettered before (by this generation or an
/// earlier one): then it is not published to the DLQ again.
pub async fn already_dead_lettered(
    pool: &PgPool,
    record: &IncomingRecord,
) -> Result<bool, sqlx::Error> {
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM dead_letters
           WHERE consumer = $1 AND topic = $2 AND partition = $3 AND record_offset = $4"#,
        CONSUMER,
        record.topic,
        record.partition,
        record.offset,
    )
    .fetch_one(pool)
    .await?;
    Ok(count > 0)
}

//! The transactional outbox under fire: 10,000 events written in
//! transactions while the relay's process is killed with SIGKILL and
//! restarted several times. A consumer then sees every event exactly once,
//! in order per key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use otc_shared::events::EventEnvelope;
use otc_shared::inbox::{EventHandler, HandlerError, InboxConsumer, IncomingRecord};
use otc_shared::outbox::{OutgoingEvent, enqueue};
use otc_testkit::process::ServiceProcess;
use otc_testkit::{TestDatabase, kafka, tenant};
use sqlx::{PgPool, Postgres, Transaction};
use tokio_util::sync::CancellationToken;

const EVENTS: usize = 10_000;
const KEYS: usize = 40;
const KILLS: usize = 4;

struct Recorder;

impl EventHandler for Recorder {
    async fn apply(
        &self,
        transaction: &mut Transaction<'static, Postgres>,
        record: &IncomingRecord,
    ) -> Result<(), HandlerError> {
        let text = String::from_utf8(record.payload.clone())
            .map_err(|error| HandlerError::Rejected(error.to_string()))?;
        let (key, sequence) = text
            .split_once(':')
            .ok_or_else(|| HandlerError::Rejected(format!("bad payload {text}")))?;
        let sequence: i64 = sequence
            .parse()
            .map_err(|_| HandlerError::Rejected(format!("bad sequence in {text}")))?;
        sqlx::query("INSERT INTO received (record_key, sequence) VALUES ($1, $2)")
            .bind(key)
            .bind(sequence)
            .execute(&mut **transaction)
            .await?;
        Ok(())
    }
}

async fn pending(pool: &PgPool) -> i64 {
    let mut transaction = otc_shared::db::begin_for_all_tenants(pool).await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&mut *transaction)
        .await
        .unwrap();
    transaction.commit().await.unwrap();
    count
}

/// Writes EVENTS events in transactions of 1 to 9 events, each transaction
/// for one key, with a per-key sequence number as payload.
async fn write_events(pool: PgPool, topic: String) {
    let tenant = tenant("acme");
    let mut next_sequence: HashMap<usize, i64> = HashMap::new();
    let mut written = 0usize;
    let mut round = 0usize;
    while written < EVENTS {
        round += 1;
        let key_index = (round * 7919) % KEYS;
        let key = format!("customer-{key_index}");
        let in_transaction = (1 + round % 9).min(EVENTS - written);
        let mut transaction = otc_shared::db::begin_for_tenant(&pool, &tenant)
            .await
            .unwrap();
        for _ in 0..in_transaction {
            let sequence = next_sequence.entry(key_index).or_insert(0);
            *sequence += 1;
            let envelope = EventEnvelope::new("otc.test.v1.Counted", "/otc/test", &tenant);
            let event = OutgoingEvent {
                topic: topic.clone(),
                key: key.clone(),
                envelope,
                payload: format!("{key}:{sequence}").into_bytes(),
            };
            enqueue(&mut transaction, &event).await.unwrap();
        }
        transaction.commit().await.unwrap();
        written += in_transaction;
        // Spread the writes over several seconds so the kills land mid-stream.
        tokio::time::sleep(Duration::from_millis(4)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_loss_no_duplicate_effect_in_order_across_relay_kills() {
    let database = TestDatabase::create("outbox").await.unwrap();
    let topic = otc_testkit::unique_topic("outbox");
    kafka::create_topic(&topic, 3).await.unwrap();

    let mut relay_host = ServiceProcess::start(
        "order",
        &database.url,
        &[
            ("OTC_OUTBOX__POLL_INTERVAL_MS", "50"),
            ("OTC_OUTBOX__BATCH_SIZE", "200"),
        ],
    )
    .await
    .unwrap();

    let started = Instant::now();
    let writer = tokio::spawn(write_events(database.pool.clone(), topic.clone()));
    for kill in 1..=KILLS {
        tokio::time::sleep(Duration::from_millis(2000)).await;
        let backlog = pending(&database.pool).await;
        relay_host.kill_hard().await.unwrap();
        println!(
            "kill -9 #{kill} of the relay at {:?}, backlog {backlog}",
            started.elapsed()
        );
        relay_host.restart().await.unwrap();
    }
    writer.await.unwrap();
    println!("{EVENTS} events written in {:?}", started.elapsed());

    let deadline = Instant::now() + Duration::from_secs(120);
    while pending(&database.pool).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the relay did not drain the outbox"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("outbox drained at {:?}", started.elapsed());
    assert_eq!(
        relay_host.terminate(Duration::from_secs(30)).await.unwrap(),
        Some(0)
    );

    let raw = kafka::read_all(&topic, EVENTS, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        raw.len() >= EVENTS,
        "only {} records reached Kafka",
        raw.len()
    );
    println!(
        "records on the topic so far: {} ({} republished after kills)",
        raw.len(),
        raw.len() - EVENTS
    );

    sqlx::query("CREATE TABLE received (applied_order BIGINT GENERATED ALWAYS AS IDENTITY, record_key TEXT NOT NULL, sequence BIGINT NOT NULL)")
        .execute(&database.pool)
        .await
        .unwrap();
    let consumer = InboxConsumer::new(
        "test",
        &format!("counter-{}", otc_testkit::unique_suffix()),
        &[topic.as_str()],
        database.pool.clone(),
        kafka::settings(),
        kafka::producer().unwrap(),
        Recorder,
    );
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let received: i64 = sqlx::query_scalar("SELECT count(*) FROM received")
            .fetch_one(&database.pool)
            .await
            .unwrap();
        if usize::try_from(received).unwrap() >= EVENTS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "consumer saw only {received} events"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Anything applied twice would show up now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    shutdown.cancel();
    running.await.unwrap().unwrap();

    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT record_key, sequence FROM received ORDER BY applied_order")
            .fetch_all(&database.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), EVENTS, "every event applied exactly once");
    let mut last_per_key: HashMap<String, i64> = HashMap::new();
    for (key, sequence) in &rows {
        let last = last_per_key.entry(key.clone()).or_insert(0);
        assert_eq!(
            *sequence,
            *last + 1,
            "key {key}: got {sequence} after {last}"
        );
        *last = *sequence;
    }
    assert_eq!(last_per_key.len(), KEYS);
    database.drop_database().await;
}

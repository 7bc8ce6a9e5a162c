//! The idempotent consumer against the real Kafka and PostgreSQL: a record
//! delivered twice applies once, a transient failure is retried, a poison
//! record lands in the DLQ with its headers and the next record is applied.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use otc_shared::events::{EventEnvelope, RecordHeaders};
use otc_shared::inbox::{EventHandler, HandlerError, InboxConsumer, IncomingRecord, dlq_header};
use otc_shared::kafka::topics;
use otc_testkit::{TestDatabase, kafka, tenant};
use sqlx::{Postgres, Transaction};
use tokio_util::sync::CancellationToken;

/// Appends each payload to `applied`; payload `poison` is rejected, and
/// payload `flaky` fails transiently twice before it applies.
struct RecordingHandler {
    flaky_failures: Arc<AtomicUsize>,
}

impl EventHandler for RecordingHandler {
    async fn apply(
        &self,
        transaction: &mut Transaction<'static, Postgres>,
        record: &IncomingRecord,
    ) -> Result<(), HandlerError> {
        let text = String::from_utf8(record.payload.clone())
            .map_err(|error| HandlerError::Rejected(error.to_string()))?;
        if text == "poison" {
            return Err(HandlerError::Rejected(
                "payload `poison` is not a valid test event".to_owned(),
            ));
        }
        if text == "flaky" && self.flaky_failures.fetch_add(1, Ordering::SeqCst) < 2 {
            return Err(HandlerError::Transient(anyhow::anyhow!(
                "simulated database hiccup"
            )));
        }
        sqlx::query("INSERT INTO applied (payload) VALUES ($1)")
            .bind(&text)
            .execute(&mut **transaction)
            .await?;
        Ok(())
    }
}

fn headers_for(event_id: &str) -> RecordHeaders {
    let mut envelope = EventEnvelope::new("otc.test.v1.Thing", "/otc/test", &tenant("acme"));
    envelope.id = event_id.to_owned();
    RecordHeaders::from_kafka(Some(&envelope.to_headers()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_applies_once_and_poison_goes_to_the_dlq() {
    let database = TestDatabase::create("inbox").await.unwrap();
    sqlx::query(
        "CREATE TABLE applied (seq BIGINT GENERATED ALWAYS AS IDENTITY, payload TEXT NOT NULL)",
    )
    .execute(&database.pool)
    .await
    .unwrap();
    let topic = otc_testkit::unique_topic("inbox");
    kafka::create_topic(&topic, 1).await.unwrap();
    let producer = kafka::producer().unwrap();

    // A, A again (same event id: a redelivery), a poison record, a record
    // without any envelope, a flaky one, then B.
    kafka::produce(&producer, &topic, "k", b"first", &headers_for("event-a"))
        .await
        .unwrap();
    kafka::produce(&producer, &topic, "k", b"first", &headers_for("event-a"))
        .await
        .unwrap();
    let (poison_partition, poison_offset) =
        kafka::produce(&producer, &topic, "k", b"poison", &headers_for("event-p"))
            .await
            .unwrap();
    kafka::produce(
        &producer,
        &topic,
        "k",
        b"no headers",
        &RecordHeaders::default(),
    )
    .await
    .unwrap();
    kafka::produce(&producer, &topic, "k", b"flaky", &headers_for("event-f"))
        .await
        .unwrap();
    kafka::produce(&producer, &topic, "k", b"second", &headers_for("event-b"))
        .await
        .unwrap();

    let consumer_name = format!("recorder-{}", otc_testkit::unique_suffix());
    let handler = RecordingHandler {
        flaky_failures: Arc::new(AtomicUsize::new(0)),
    };
    let flaky_failures = handler.flaky_failures.clone();
    let consumer = InboxConsumer::new(
        "test",
        &consumer_name,
        &[topic.as_str()],
        database.pool.clone(),
        kafka::settings(),
        producer.clone(),
        handler,
    )
    .with_max_backoff(Duration::from_millis(200));
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));

    for _ in 0..300 {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM applied")
            .fetch_one(&database.pool)
            .await
            .unwrap();
        if count >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a wrongly applied duplicate time to show up before judging.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let applied: Vec<String> = sqlx::query_scalar("SELECT payload FROM applied ORDER BY seq")
        .fetch_all(&database.pool)
        .await
        .unwrap();
    assert_eq!(applied, ["first", "flaky", "second"]);
    assert_eq!(
        flaky_failures.load(Ordering::SeqCst),
        3,
        "two transient failures, then success"
    );

    let dead_letter_topic = topics::dead_letter(&topic, &consumer_name);
    let dead = kafka::read_all(&dead_letter_topic, 2, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        dead.len(),
        2,
        "the poison record and the one without an envelope"
    );
    let poison = &dead[0];
    assert_eq!(poison.payload, b"poison");
    assert_eq!(poison.key.as_deref(), Some("k"));
    assert_eq!(
        poison.headers.get("ce_id"),
        Some("event-p"),
        "original headers are kept"
    );
    assert_eq!(
        poison.headers.get(dlq_header::ORIGINAL_TOPIC),
        Some(topic.as_str())
    );
    assert_eq!(
        poison.headers.get(dlq_header::ORIGINAL_PARTITION),
        Some(poison_partition.to_string().as_str())
    );
    assert_eq!(
        poison.headers.get(dlq_header::ORIGINAL_OFFSET),
        Some(poison_offset.to_string().as_str())
    );
    assert!(
        poison
            .headers
            .get(dlq_header::ERROR)
            .unwrap()
            .contains("not a valid test event")
    );
    assert!(
        dead[1]
            .headers
            .get(dlq_header::ERROR)
            .unwrap()
            .contains("ce_id")
    );

    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM dead_letters WHERE consumer = $1")
        .bind(&consumer_name)
        .fetch_one(&database.pool)
        .await
        .unwrap();
    assert_eq!(recorded, 2);
    let inbox: Vec<String> =
        sqlx::query_scalar("SELECT event_id FROM inbox WHERE consumer = $1 ORDER BY applied_at")
            .bind(&consumer_name)
            .fetch_all(&database.pool)
            .await
            .unwrap();
    assert_eq!(inbox, ["event-a", "event-f", "event-b"]);

    shutdown.cancel();
    running.await.unwrap().unwrap();

    // A second consumer in the same group resumes after the committed
    // offsets; replaying the topic from the start with a new consumer of
    // the same name changes nothing either (the inbox remembers).
    let replay = InboxConsumer::new(
        "test-replay",
        &consumer_name,
        &[topic.as_str()],
        database.pool.clone(),
        kafka::settings(),
        producer.clone(),
        RecordingHandler {
            flaky_failures: Arc::new(AtomicUsize::new(10)),
        },
    );
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(replay.run(shutdown.clone()));
    // A new record behind the old ones: once it is applied, the replaying
    // consumer has been through everything before it (one partition).
    kafka::produce(&producer, &topic, "k", b"third", &headers_for("event-c"))
        .await
        .unwrap();
    let mut applied_after_replay: Vec<String> = Vec::new();
    for _ in 0..300 {
        applied_after_replay = sqlx::query_scalar("SELECT payload FROM applied ORDER BY seq")
            .fetch_all(&database.pool)
            .await
            .unwrap();
        if applied_after_replay.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    running.await.unwrap().unwrap();
    assert_eq!(
        applied_after_replay,
        ["first", "flaky", "second", "third"],
        "replaying every record applied nothing twice"
    );
    let dead_after_replay: i64 =
        sqlx::query_scalar("SELECT count(*) FROM dead_letters WHERE consumer = $1")
            .bind(&consumer_name)
            .fetch_one(&database.pool)
            .await
            .unwrap();
    assert_eq!(
        dead_after_replay, 2,
        "a redelivered poison record is not dead-lettered twice"
    );

    database.drop_database().await;
}

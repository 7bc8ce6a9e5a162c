//! Plain Kafka clients for tests: create topics, produce raw records, and
//! read everything a topic holds.

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

use otc_shared::events::RecordHeaders;
use otc_shared::kafka::{KafkaSettings, TopicSpec};

pub fn settings() -> KafkaSettings {
    KafkaSettings::for_brokers(&crate::kafka_brokers())
}

pub async fn create_topic(name: &str, partitions: i32) -> anyhow::Result<()> {
    let spec = TopicSpec {
        name: name.to_owned(),
        partitions: Some(partitions),
        compacted: false,
    };
    otc_shared::kafka::ensure_topics(&settings(), &[spec]).await
}

pub fn producer() -> anyhow::Result<FutureProducer> {
    settings().idempotent_producer("otc-test-producer")
}

/// Produces one raw record and waits for the acknowledgement.
pub async fn produce(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    payload: &[u8],
    headers: &RecordHeaders,
) -> anyhow::Result<(i32, i64)> {
    let record = FutureRecord::to(topic)
        .key(key)
        .payload(payload)
        .headers(headers.to_kafka());
    let delivery = producer
        .send(record, Duration::from_secs(30))
        .await
        .map_err(|(error, _)| anyhow::anyhow!("produce to {topic} failed: {error}"))?;
    Ok((delivery.partition, delivery.offset))
}

/// A record as read back by a plain consumer.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: Vec<u8>,
    pub headers: RecordHeaders,
}

/// Reads `topic` from the beginning with a fresh group until `expected`
/// records arrived or `timeout` passed with no progress for 5 s after it.
pub async fn read_all(
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<ReadRecord>> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", crate::kafka_brokers())
        .set(
            "group.id",
            format!("test-reader-{}", crate::unique_suffix()),
        )
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[topic])?;
    let deadline = Instant::now() + timeout;
    let mut records = Vec::new();
    while records.len() < expected && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await {
            Ok(Ok(message)) => records.push(ReadRecord {
                partition: message.partition(),
                offset: message.offset(),
                key: message
                    .key()
                    .and_then(|key| std::str::from_utf8(key).ok())
                    .map(str::to_owned),
                payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                headers: RecordHeaders::from_kafka(message.headers()),
            }),
            Ok(Err(error)) => anyhow::bail!("reading {topic} failed: {error}"),
            Err(_) => {}
        }
    }
    Ok(records)
}

/// Publishes `message` as a suite service would: protobuf with CloudEvents
/// headers of `event_type` from `source` for `tenant`; `event_id` lets a
/// test redeliver an event (same id). Returns the event id.
#[allow(clippy::too_many_arguments)]
pub async fn publish_event<M: prost::Message>(
    producer: &FutureProducer,
    topic: &str,
    event_type: &str,
    source: &str,
    tenant: &str,
    key: &str,
    message: &M,
    event_id: Option<&str>,
) -> String {
    let mut envelope =
        otc_shared::events::EventEnvelope::new(event_type, source, &crate::tenant(tenant));
    if let Some(id) = event_id {
        envelope.id = id.to_owned();
    }
    let headers = RecordHeaders::from_kafka(Some(&envelope.to_headers()));
    produce(producer, topic, key, &message.encode_to_vec(), &headers)
        .await
        .unwrap();
    envelope.id
}

/// The records of `event_type` on `topic`, read from the beginning until
/// `expected` arrived or the timeout passed.
pub async fn events_of_type(
    topic: &str,
    event_type: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<ReadRecord> {
    let deadline = Instant::now() + timeout;
    loop {
        let records = read_all(topic, usize::MAX, Duration::from_secs(2))
            .await
            .unwrap();
        let matching: Vec<ReadRecord> = records
            .into_iter()
            .filter(|record| record.headers.get("ce_type") == Some(event_type))
            .collect();
        if matching.len() >= expected || Instant::now() > deadline {
            return matching;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

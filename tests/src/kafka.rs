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

//! The baseline: the same records produced to a plain topic and consumed
//! back by a plain consumer on the same machine, with nothing in between —
//! the most the pipeline could do here.

use std::time::{Duration, Instant};

use rdkafka::consumer::StreamConsumer;

use crate::upstream::{self, Pacing, UpstreamOrder};

#[derive(Debug, Clone, Copy)]
pub struct RawRun {
    pub produced: usize,
    pub consumed: usize,
    /// From the first send to the last record read.
    pub elapsed: Duration,
}

/// Produces `orders` to a fresh `topic` of `partitions` partitions as fast
/// as the producer takes them, and reads them all back.
pub async fn produce_and_consume(
    topic: &str,
    partitions: i32,
    orders: &[UpstreamOrder],
    batch: usize,
    timeout: Duration,
) -> anyhow::Result<RawRun> {
    otc_testkit::kafka::create_topic(topic, partitions).await?;
    let consumer = crate::readers::from_start(topic, "raw").await?;
    let expected = orders.len();
    let reader = tokio::spawn(async move { read_until(consumer, expected, timeout).await });
    let producer = otc_testkit::kafka::producer()?;
    let first_send = Instant::now();
    let pacing = Pacing { batch, rate: None };
    let published = upstream::publish(&producer, topic, orders, pacing).await?;
    let (consumed, last_read) = reader.await??;
    Ok(RawRun {
        produced: published.len(),
        consumed,
        elapsed: last_read
            .unwrap_or(first_send)
            .saturating_duration_since(first_send),
    })
}

/// Reads until `expected` records arrived or `timeout` passed; returns how
/// many were read and when the last one was.
async fn read_until(
    consumer: StreamConsumer,
    expected: usize,
    timeout: Duration,
) -> anyhow::Result<(usize, Option<Instant>)> {
    let deadline = Instant::now() + timeout;
    let mut consumed = 0;
    let mut last_read = None;
    while consumed < expected && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await {
            Ok(Ok(_message)) => {
                consumed += 1;
                last_read = Some(Instant::now());
            }
            Ok(Err(error)) => anyhow::bail!("reading the raw topic failed: {error}"),
            Err(_) => {}
        }
    }
    Ok((consumed, last_read))
}

/// Deletes every topic whose name starts with `namespace` (the benchmark's
/// own topics); best effort, so a leftover never fails a run.
pub async fn delete_namespace_topics(namespace: &str) -> anyhow::Result<Vec<String>> {
    let settings = otc_testkit::kafka::settings();
    let admin = settings.admin_client("otc-bench-cleanup")?;
    let namespace_owned = namespace.to_owned();
    // Fetching metadata blocks: keep it off the runtime's threads.
    let names = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let metadata = admin
            .inner()
            .fetch_metadata(None, Duration::from_secs(10))?;
        Ok(metadata
            .topics()
            .iter()
            .map(|topic| topic.name().to_owned())
            .filter(|name| name.starts_with(&namespace_owned))
            .collect())
    })
    .await??;
    if names.is_empty() {
        return Ok(names);
    }
    let admin = settings.admin_client("otc-bench-cleanup")?;
    let topics: Vec<&str> = names.iter().map(String::as_str).collect();
    let options =
        rdkafka::admin::AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    admin.delete_topics(&topics, &options).await?;
    Ok(names)
}

//! Plain consumers that read every partition of a topic from its start.
//! They are assigned the partitions rather than joining a group, so a
//! measurement never includes the few seconds a group join takes.

use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

fn reader_config(purpose: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", otc_testkit::kafka_brokers())
        .set(
            "group.id",
            format!("bench-{purpose}-{}", otc_testkit::unique_suffix()),
        )
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    config
}

/// The partition ids of `topic`, waiting a little for a topic just created.
pub async fn partitions_of(topic: &str) -> anyhow::Result<Vec<i32>> {
    let mut attempts = 0;
    loop {
        match partitions_now(topic).await {
            Ok(partitions) => return Ok(partitions),
            Err(error) if attempts >= 20 => return Err(error),
            Err(_) => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

async fn partitions_now(topic: &str) -> anyhow::Result<Vec<i32>> {
    let topic_owned = topic.to_owned();
    // Metadata requests block: keep them off the runtime's threads.
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<i32>> {
        let consumer: BaseConsumer = reader_config("metadata").create()?;
        let metadata = consumer.fetch_metadata(Some(&topic_owned), Duration::from_secs(10))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|topic| topic.name() == topic_owned && topic.error().is_none())
            .flat_map(|topic| topic.partitions().iter().map(|partition| partition.id()))
            .collect();
        anyhow::ensure!(
            !partitions.is_empty(),
            "topic {topic_owned} has no partitions"
        );
        Ok(partitions)
    })
    .await?
    .with_context(|| format!("cannot read the metadata of {topic}"))
}

/// A consumer assigned every partition of `topic` from the beginning.
pub async fn from_start(topic: &str, purpose: &str) -> anyhow::Result<StreamConsumer> {
    assigned(topic, purpose, Offset::Beginning).await
}

/// A consumer of every partition of `topic` that reads only what is
/// published from now on (a latency probe, not a backlog reader). The end
/// offsets are resolved before it returns: `Offset::End` would be resolved
/// at the first fetch, and skip what was published in between.
pub async fn from_end(topic: &str, purpose: &str) -> anyhow::Result<StreamConsumer> {
    let partitions = partitions_of(topic).await?;
    let topic_owned = topic.to_owned();
    let ends = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<(i32, i64)>> {
        let consumer: BaseConsumer = reader_config("watermarks").create()?;
        partitions
            .into_iter()
            .map(|partition| {
                let (_, high) =
                    consumer.fetch_watermarks(&topic_owned, partition, Duration::from_secs(10))?;
                Ok((partition, high))
            })
            .collect()
    })
    .await?
    .with_context(|| format!("cannot read the end offsets of {topic}"))?;
    let mut assignment = TopicPartitionList::new();
    for (partition, end) in ends {
        assignment.add_partition_offset(topic, partition, Offset::Offset(end))?;
    }
    let consumer: StreamConsumer = reader_config(purpose).create()?;
    consumer.assign(&assignment)?;
    Ok(consumer)
}

async fn assigned(topic: &str, purpose: &str, offset: Offset) -> anyhow::Result<StreamConsumer> {
    let partitions = partitions_of(topic).await?;
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        assignment.add_partition_offset(topic, partition, offset)?;
    }
    let consumer: StreamConsumer = reader_config(purpose).create()?;
    consumer.assign(&assignment)?;
    Ok(consumer)
}

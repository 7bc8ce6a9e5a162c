//! `otcctl dlq`: a service's dead letters (what its consumers could not
//! apply, with the reason), and their replay once the cause is fixed.
//!
//! A replay publishes each record of a dead-letter topic back to the topic
//! it came from, with its key, payload and headers (the `dlq_*` reason
//! headers dropped, an `otc_replayed_from` header added), so the consumer
//! applies it as new: the dead-lettered record was never marked done in its
//! inbox, and its event id keeps the effect idempotent if it arrives twice.
//! The replay remembers how far it got in the consumer group
//! `otcctl.dlq-replay.<dead-letter topic>`, so running it again replays
//! only what was dead-lettered since; `--from-start` replays everything
//! again, `--event-id` one record (without moving the mark).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use comfy_table::{Table, presets};
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use otc_proto::ops::ListDeadLettersRequest;
use otc_proto::ops::operations_service_client::OperationsServiceClient;
use otc_shared::events::{RecordHeaders, header};

use crate::connect::{Endpoints, Failure, channel};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Service {
    Order,
    Billing,
    Payments,
    Collections,
    Reporting,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// List the records a service's consumers dead-lettered, newest first.
    List(ListArguments),
    /// Publish a dead-letter topic's records back to where they came from.
    #[command(
        long_about = "Publishes the records of a dead-letter topic (as `otcctl dlq list` \
                            names it: <topic>.dlq.<consumer>) back to the topic each came from, \
                            with its key, payload and headers, so its consumer applies it again \
                            once the cause is fixed (a missing customer created, a bug fixed). \
                            Records replayed before are skipped (the replay's consumer group \
                            remembers); --from-start replays them again, --event-id replays one \
                            record, --dry-run only shows what would go. The broker settings are \
                            librdkafka properties: --brokers, and -X name=value for TLS or SASL."
    )]
    Replay(ReplayArguments),
}

#[derive(clap::Args)]
pub struct ListArguments {
    /// Whose dead letters.
    #[arg(long, value_enum)]
    service: Service,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

#[derive(clap::Args)]
pub struct ReplayArguments {
    /// The dead-letter topic, `<topic>.dlq.<consumer>`.
    topic: String,
    /// Kafka bootstrap servers.
    #[arg(long, env = "OTC_KAFKA__BROKERS", default_value = "127.0.0.1:59092")]
    brokers: String,
    /// A librdkafka property, `name=value` (e.g. security.protocol=sasl_ssl); repeatable.
    #[arg(short = 'X', value_name = "NAME=VALUE", value_parser = property)]
    properties: Vec<(String, String)>,
    /// Replay only the record of this event id (the `ce_id` header).
    #[arg(long)]
    event_id: Option<String>,
    /// Replay records that were replayed before too.
    #[arg(long)]
    from_start: bool,
    /// Show what would be replayed; publish and remember nothing.
    #[arg(long)]
    dry_run: bool,
}

fn property(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: give name=value"))?;
    Ok((name.trim().to_owned(), value.to_owned()))
}

pub async fn run(endpoints: &Endpoints, command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::List(arguments) => list(endpoints, &arguments).await,
        Command::Replay(arguments) => replay(&arguments).await,
    }
}

async fn list(endpoints: &Endpoints, arguments: &ListArguments) -> Result<ExitCode, Failure> {
    let url = match arguments.service {
        Service::Order => &endpoints.order,
        Service::Billing => &endpoints.billing,
        Service::Payments => &endpoints.payments,
        Service::Collections => &endpoints.collections,
        Service::Reporting => &endpoints.reporting,
    };
    let request = endpoints.request(ListDeadLettersRequest {
        limit: arguments.limit,
    })?;
    let mut client = OperationsServiceClient::new(channel(url).await?);
    let letters = client.list_dead_letters(request).await?.into_inner();
    if letters.dead_letters.is_empty() {
        println!("No dead letters.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "when",
        "consumer",
        "from",
        "event id",
        "reason",
        "dead-letter topic",
    ]);
    for letter in &letters.dead_letters {
        let when =
            otc_shared::time::from_proto("dead_lettered_at", letter.dead_lettered_at.as_ref())
                .map(otc_shared::time::to_rfc3339)
                .unwrap_or_default();
        table.add_row([
            when,
            letter.consumer.clone(),
            format!("{}/{}@{}", letter.topic, letter.partition, letter.offset),
            letter.event_id.clone(),
            letter.error.clone(),
            letter.dead_letter_topic.clone(),
        ]);
    }
    println!("{table}");
    println!("Replay a topic once the cause is fixed: otcctl dlq replay <dead-letter topic>");
    Ok(ExitCode::SUCCESS)
}

/// The topic a dead letter came from: its header, or the topic's name
/// without `.dlq.<consumer>`.
fn original_topic(dead_letter_topic: &str, headers: &RecordHeaders) -> Option<String> {
    headers
        .get(otc_shared::inbox::dlq_header::ORIGINAL_TOPIC)
        .map(str::to_owned)
        .or_else(|| {
            dead_letter_topic
                .rsplit_once(".dlq.")
                .map(|(topic, _)| topic.to_owned())
        })
}

fn config(arguments: &ReplayArguments) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &arguments.brokers);
    for (name, value) in &arguments.properties {
        config.set(name, value);
    }
    config
}

/// One dead letter read back.
struct Letter {
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
    headers: RecordHeaders,
    to: String,
}

async fn replay(arguments: &ReplayArguments) -> Result<ExitCode, Failure> {
    if !arguments.topic.contains(".dlq.") {
        return Err(Failure::Input(format!(
            "topic: {:?} is not a dead-letter topic (<topic>.dlq.<consumer>)",
            arguments.topic
        )));
    }
    let group = format!("otcctl.dlq-replay.{}", arguments.topic);
    let consumer: BaseConsumer = config(arguments)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .map_err(|error| Failure::Input(format!("Kafka settings: {error}")))?;
    let metadata = consumer
        .fetch_metadata(Some(&arguments.topic), Duration::from_secs(10))
        .map_err(|error| {
            Failure::Unreachable(format!("cannot reach {}: {error}", arguments.brokers))
        })?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|topic| topic.name() == arguments.topic && topic.error().is_none())
        .flat_map(|topic| topic.partitions().iter().map(|partition| partition.id()))
        .collect();
    if partitions.is_empty() {
        return Err(Failure::Input(format!(
            "topic: {} does not exist (nothing was ever dead-lettered there)",
            arguments.topic
        )));
    }
    // Where to start and stop in each partition.
    let mut wanted = TopicPartitionList::new();
    for partition in &partitions {
        wanted.add_partition(&arguments.topic, *partition);
    }
    let committed = consumer
        .committed_offsets(wanted, Duration::from_secs(10))
        .map_err(|error| Failure::Other(anyhow::anyhow!("reading the replay's mark: {error}")))?;
    let mut ranges: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for partition in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(&arguments.topic, *partition, Duration::from_secs(10))
            .map_err(|error| Failure::Other(anyhow::anyhow!("watermarks: {error}")))?;
        let mark = committed
            .find_partition(&arguments.topic, *partition)
            .and_then(|element| match element.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            });
        let start = if arguments.from_start || arguments.event_id.is_some() {
            low
        } else {
            mark.unwrap_or(low).max(low)
        };
        if start < high {
            ranges.insert(*partition, (start, high));
            assignment
                .add_partition_offset(&arguments.topic, *partition, Offset::Offset(start))
                .map_err(|error| Failure::Other(anyhow::anyhow!("{error}")))?;
        }
    }
    let total: i64 = ranges.values().map(|(start, end)| end - start).sum();
    if total == 0 {
        println!("Nothing to replay in {}.", arguments.topic);
        return Ok(ExitCode::SUCCESS);
    }
    consumer
        .assign(&assignment)
        .map_err(|error| Failure::Other(anyhow::anyhow!("{error}")))?;

    let bar = ProgressBar::new(u64::try_from(total).unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} read  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(arguments.topic.clone());
    let mut letters: Vec<Letter> = Vec::new();
    let mut next: BTreeMap<i32, i64> = ranges
        .iter()
        .map(|(partition, (start, _))| (*partition, *start))
        .collect();
    let mut idle_polls = 0_u32;
    while ranges
        .iter()
        .any(|(partition, (_, end))| next.get(partition).is_some_and(|at| at < end))
    {
        let Some(polled) = consumer.poll(Duration::from_millis(500)) else {
            idle_polls += 1;
            if idle_polls > 60 {
                bar.abandon();
                return Err(Failure::Unreachable(format!(
                    "no records from {} for 30 s",
                    arguments.topic
                )));
            }
            continue;
        };
        idle_polls = 0;
        let message = polled.map_err(|error| Failure::Other(anyhow::anyhow!("{error}")))?;
        let (partition, offset) = (message.partition(), message.offset());
        let Some((_, end)) = ranges.get(&partition) else {
            continue;
        };
        if offset >= *end {
            continue;
        }
        next.insert(partition, offset + 1);
        bar.inc(1);
        let headers = RecordHeaders::from_kafka(message.headers());
        if let Some(wanted) = &arguments.event_id
            && headers.get(header::ID) != Some(wanted.as_str())
        {
            continue;
        }
        let Some(to) = original_topic(&arguments.topic, &headers) else {
            continue;
        };
        letters.push(Letter {
            partition,
            offset,
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            headers,
            to,
        });
    }
    bar.finish_and_clear();

    if arguments.dry_run {
        let mut table = Table::new();
        table.load_preset(presets::UTF8_FULL_CONDENSED);
        table.set_header(["at", "event id", "type", "reason", "would go to"]);
        for letter in &letters {
            table.add_row([
                format!("{}@{}", letter.partition, letter.offset),
                letter.headers.get(header::ID).unwrap_or("").to_owned(),
                letter.headers.get(header::TYPE).unwrap_or("").to_owned(),
                letter
                    .headers
                    .get(otc_shared::inbox::dlq_header::ERROR)
                    .unwrap_or("")
                    .to_owned(),
                letter.to.clone(),
            ]);
        }
        println!("{table}");
        println!(
            "Dry run: {} records would be replayed; nothing was published.",
            letters.len()
        );
        return Ok(ExitCode::SUCCESS);
    }

    let producer: FutureProducer = config(arguments)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "30000")
        .create()
        .map_err(|error| Failure::Input(format!("Kafka settings: {error}")))?;
    let bar = ProgressBar::new(u64::try_from(letters.len()).unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} replayed")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut destinations: BTreeMap<String, u64> = BTreeMap::new();
    for letter in &letters {
        let mut headers = RecordHeaders::default();
        for (name, value) in letter.headers.iter() {
            if !name.starts_with("dlq_") {
                headers.insert(name, value);
            }
        }
        headers.insert(
            "otc_replayed_from",
            &format!("{}/{}@{}", arguments.topic, letter.partition, letter.offset),
        );
        let mut record = FutureRecord::to(&letter.to)
            .payload(&letter.payload)
            .headers(headers.to_kafka());
        if let Some(key) = &letter.key {
            record = record.key(key);
        }
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(error, _)| {
                bar.abandon();
                Failure::Other(anyhow::anyhow!(
                    "could not publish to {} (the replay mark was not moved; run again): {error}",
                    letter.to
                ))
            })?;
        *destinations.entry(letter.to.clone()).or_default() += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Remember how far the replay got, unless it was a targeted one.
    if arguments.event_id.is_none() {
        let mut done = TopicPartitionList::new();
        for (partition, offset) in &next {
            done.add_partition_offset(&arguments.topic, *partition, Offset::Offset(*offset))
                .map_err(|error| Failure::Other(anyhow::anyhow!("{error}")))?;
        }
        consumer
            .commit(&done, rdkafka::consumer::CommitMode::Sync)
            .map_err(|error| {
                Failure::Other(anyhow::anyhow!(
                    "replayed, but could not remember it (a second run would replay again; \
                     the consumers' inboxes make that harmless): {error}"
                ))
            })?;
    }
    if let Some(wanted) = &arguments.event_id
        && letters.is_empty()
    {
        return Err(Failure::Input(format!(
            "event-id: no record of event {wanted} in {}",
            arguments.topic
        )));
    }
    println!(
        "Replayed {} records from {}:",
        letters.len(),
        arguments.topic
    );
    for (topic, count) in &destinations {
        println!("  {count} to {topic}");
    }
    Ok(ExitCode::SUCCESS)
}

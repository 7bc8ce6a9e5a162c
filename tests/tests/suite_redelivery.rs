#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Duplicate and reordered deliveries injected into the running suite.
//! While a simulated business runs, a redelivery task reads every record
//! the services and the shop put on the consumed topics (the shop's
//! orders and shipments, and the order, billing, payment and collections
//! events) and publishes each again, twice, with its key, headers and
//! payload, in a shuffled order and a moment later: so every consumer gets
//! each event three times, the copies out of order with respect to each
//! other and behind newer events of the same customer. The books must be
//! exactly those of a clean run: one order per order placed, one invoice
//! per shipment, cash balanced, reporting and collections equal to payments;
//! and every service must have seen (and skipped) duplicates.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};

use otc_shared::events::RecordHeaders;
use otc_shared::kafka::topics;
use otc_testkit::process::ServiceProcess;
use otc_testkit::unique_suffix;
use otc_testkit::whole::WholeSuite;

const CUSTOMERS: u32 = 30;
/// Marks a copy, so that the task never copies its own copies.
const COPY_HEADER: &str = "otc_test_redelivered";

const TOPICS: [&str; 6] = [
    topics::COMMERCE_ORDERS,
    topics::COMMERCE_FULFILMENTS,
    topics::ORDER_EVENTS,
    topics::BILLING_EVENTS,
    topics::PAYMENT_EVENTS,
    topics::COLLECTIONS_EVENTS,
];

struct Original {
    topic: String,
    key: Option<String>,
    payload: Vec<u8>,
    headers: RecordHeaders,
}

/// Copies every original record of `physical` topics twice, a shuffled
/// round every 300 ms, until `stop`; returns the copies made per topic.
async fn redeliver(physical: Vec<String>, stop: Arc<AtomicBool>) -> BTreeMap<String, usize> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", otc_testkit::kafka_brokers())
        .set("group.id", format!("test-redeliver-{}", unique_suffix()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("topic.metadata.refresh.interval.ms", "1000")
        .create()
        .unwrap();
    let names: Vec<&str> = physical.iter().map(String::as_str).collect();
    consumer.subscribe(&names).unwrap();
    let producer = otc_testkit::kafka::producer().unwrap();
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    let mut pending: Vec<Original> = Vec::new();
    let mut round = tokio::time::interval(Duration::from_millis(300));
    let mut seed: u64 = 0x005e_ed0f_0dd5;
    loop {
        tokio::select! {
            received = consumer.recv() => {
                let Ok(message) = received else { continue };
                let headers = RecordHeaders::from_kafka(message.headers());
                if headers.get(COPY_HEADER).is_some() {
                    continue;
                }
                pending.push(Original {
                    topic: message.topic().to_owned(),
                    key: message.key().map(|key| String::from_utf8_lossy(key).into_owned()),
                    payload: message.payload().unwrap_or_default().to_vec(),
                    headers,
                });
            }
            _ = round.tick() => {
                let stopping = stop.load(Ordering::Relaxed);
                // Twice each, in an order of their own (a small LCG shuffle).
                let mut batch: Vec<&Original> = pending.iter().chain(pending.iter()).collect();
                for index in (1..batch.len()).rev() {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    let other = usize::try_from(seed >> 33).unwrap() % (index + 1);
                    batch.swap(index, other);
                }
                for original in batch {
                    let mut headers = original.headers.clone();
                    headers.insert(COPY_HEADER, "1");
                    otc_testkit::kafka::produce(
                        &producer,
                        &original.topic,
                        original.key.as_deref().unwrap_or_default(),
                        &original.payload,
                        &headers,
                    )
                    .await
                    .unwrap();
                    *copies.entry(original.topic.clone()).or_default() += 1;
                }
                pending.clear();
                if stopping {
                    return copies;
                }
            }
        }
    }
}

/// The sum of a counter over all its label sets, from `/metrics`.
async fn counter(process: &ServiceProcess, name: &str, labels_contain: &str) -> f64 {
    let text = process.metrics().await.unwrap();
    text.lines()
        .filter(|line| line.starts_with(name) && line.contains(labels_contain))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn duplicated_and_reordered_deliveries_change_nothing() {
    let suite = WholeSuite::start().await;
    let tenant = format!("dup-{}", &unique_suffix()[..8]);
    let physical: Vec<String> = TOPICS
        .iter()
        .map(|topic| format!("{}{topic}", suite.namespace))
        .collect();
    for topic in &physical {
        otc_testkit::kafka::create_topic(topic, 3).await.unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let injector = tokio::spawn(redeliver(physical.clone(), Arc::clone(&stop)));

    suite.run_simulator(&tenant, CUSTOMERS).finish().await;
    stop.store(true, Ordering::Relaxed);
    let copies = injector.await.unwrap();
    for topic in &physical {
        assert!(
            copies.get(topic).copied().unwrap_or(0) > 0,
            "nothing was redelivered on {topic}: {copies:?}"
        );
    }
    // Every consumer saw the copies and skipped them.
    for (name, process) in [
        ("order", &suite.order),
        ("billing", &suite.billing),
        ("payments", &suite.payments),
        ("collections", &suite.collections),
    ] {
        let mut duplicates = 0.0;
        for _ in 0..60 {
            duplicates = counter(
                process,
                "otc_consumer_records_total",
                "outcome=\"duplicate\"",
            )
            .await;
            if duplicates > 0.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(duplicates > 0.0, "{name} skipped no duplicate");
    }
    let folded_twice = counter(&suite.reporting, "otc_reporting_events_duplicate_total", "").await;
    assert!(folded_twice > 0.0, "reporting skipped no duplicate");

    // The books are those of a clean run: nothing doubled.
    suite.assert_nothing_doubled(CUSTOMERS).await;
    let dead: i64 = suite
        .order_db
        .scalar("SELECT count(*) FROM dead_letters")
        .await;
    assert_eq!(dead, 0, "a redelivered record was dead-lettered by order");
    suite.assert_books().await;
}

//! Reporting benchmark, two figures:
//!
//! 1. Catch-up: a backlog of `--events` (default 1,000,000) mixed events of
//!    the suite (customers, orders, shipments, invoices, credit notes,
//!    receipts, applications, deductions, disputes, promises, dunning
//!    notices) is published first; then a fresh reporting service starts
//!    and folds it. Printed: events folded per second (from the first
//!    folded event to the last, and from the process start), beside the raw
//!    limits measured in the same run: producing the backlog, and a plain
//!    consumer reading it back.
//! 2. Steady state: while background events flow at `--steady-rate`, probe
//!    payments (`PaymentApplied` of 250.00 on a 1,000.00 invoice of a
//!    customer no other event touches) are published at `--probe-rate`;
//!    the latency is from the probe's publish to the `ar_aging` record of
//!    its customer showing 750.00, read off the topic.
//!
//! It prints figures and never fails on them.
#![allow(
    clippy::print_stdout,
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    clippy::as_conversions,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate, Utc};
use clap::Parser;
use prost::Message;
use rdkafka::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};
use uuid::Uuid;

use otc_bench::figures::{self, Latencies};
use otc_bench::probes::{CpuSample, PostgresProcesses};
use otc_proto::events as proto;
use otc_proto::types::Money;
use otc_shared::TenantId;
use otc_shared::events::EventEnvelope;
use otc_shared::kafka::topics;
use otc_testkit::TestDatabase;
use otc_testkit::process::ServiceProcess;

#[derive(Debug, Parser)]
#[command(
    about = "Reporting: events folded/s catching up on a backlog, and PaymentApplied -> ar_aging latency"
)]
struct Arguments {
    /// Events in the backlog (approximately: whole order-to-cash cycles).
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Customers the backlog is spread over.
    #[arg(long, default_value_t = 20_000)]
    customers: usize,
    /// Partitions of every input topic.
    #[arg(long, default_value_t = 6)]
    partitions: i32,
    /// Seconds of steady load after the catch-up (0: skip).
    #[arg(long, default_value_t = 30)]
    steady_seconds: u64,
    /// Background events per second during the steady phase.
    #[arg(long, default_value_t = 500)]
    steady_rate: u32,
    /// Probe payments per second during the steady phase.
    #[arg(long, default_value_t = 20)]
    probe_rate: u32,
    /// The catch-up goal, in events/s.
    #[arg(long, default_value_t = 20_000)]
    goal: u32,
    /// NAME=VALUE settings for the service (e.g. OTC_REPORTING__FOLD__BATCH_SIZE=5000).
    #[arg(long = "service-env")]
    service_env: Vec<String>,
    /// Keep the database and the topics for a look afterwards.
    #[arg(long)]
    keep: bool,
}

/// One event ready to publish.
struct Event {
    topic: &'static str,
    key: String,
    envelope: EventEnvelope,
    payload: Vec<u8>,
}

fn money(amount: &str, currency: &str) -> Option<Money> {
    Some(Money {
        amount: amount.into(),
        currency_code: currency.into(),
    })
}

/// Builds events of one tenant.
struct Generator {
    tenant: TenantId,
    today: NaiveDate,
    events: Vec<Event>,
}

impl Generator {
    fn push<M: Message>(&mut self, topic: &'static str, event_type: &str, key: &str, message: &M) {
        let envelope = EventEnvelope::new(event_type, "/bench", &self.tenant);
        self.events.push(Event {
            topic,
            key: key.to_owned(),
            envelope,
            payload: message.encode_to_vec(),
        });
    }

    fn date(&self, days_ago: u64) -> String {
        self.today
            .checked_sub_days(Days::new(days_ago))
            .unwrap_or(self.today)
            .to_string()
    }

    fn customer(&mut self, customer_id: &str, index: usize) {
        let currency = if index.is_multiple_of(5) {
            "USD"
        } else {
            "EUR"
        };
        self.push(
            topics::ORDER_EVENTS,
            "otc.order.v1.CustomerUpserted",
            customer_id,
            &proto::CustomerUpserted {
                customer_id: customer_id.into(),
                legal_name: format!("Customer {index}"),
                segment: ["enterprise", "mid-market", "smb"][index % 3].into(),
                currency_code: currency.into(),
                tax_region: "DE".into(),
                payment_terms_code: "NET30".into(),
                status: "ACTIVE".into(),
                version: 1,
                ..Default::default()
            },
        );
    }

    fn invoice(
        &mut self,
        customer_id: &str,
        invoice_id: &str,
        amount: &str,
        currency: &str,
        age: u64,
        number: usize,
    ) {
        self.push(
            topics::BILLING_EVENTS,
            "otc.billing.v1.InvoiceIssued",
            customer_id,
            &proto::InvoiceIssued {
                invoice_id: invoice_id.into(),
                invoice_number: format!("INV-{number}"),
                customer_id: customer_id.into(),
                total_amount: money(amount, currency),
                net_amount: money(amount, currency),
                tax_amount: money("0.00", currency),
                functional_total_amount: money(amount, "EUR"),
                issue_date: self.date(age),
                due_date: self.date(age.saturating_sub(30)),
                ..Default::default()
            },
        );
    }

    fn applied(
        &mut self,
        customer_id: &str,
        invoice_id: &str,
        receipt_id: &str,
        amount: &str,
        currency: &str,
    ) {
        self.push(
            topics::PAYMENT_EVENTS,
            "otc.payments.v1.PaymentApplied",
            customer_id,
            &proto::PaymentApplied {
                application_id: Uuid::now_v7().to_string(),
                receipt_id: receipt_id.into(),
                customer_id: customer_id.into(),
                invoice_id: invoice_id.into(),
                amount: money(amount, currency),
                discount_taken: money("0.00", currency),
                deduction: money("0.00", currency),
                automatic: true,
                method: "invoice_reference".into(),
                value_date: self.date(1),
                ..Default::default()
            },
        );
    }

    /// One order-to-cash cycle of a customer: about eight events.
    fn cycle(&mut self, customer_id: &str, currency: &str, cycle: usize) {
        let order_id = Uuid::now_v7().to_string();
        let invoice_id = Uuid::now_v7().to_string();
        let receipt_id = Uuid::now_v7().to_string();
        let amount = format!("{}.{:02}", 100 + cycle % 900, cycle % 100);
        let age = u64::try_from(cycle % 150).unwrap_or(0);
        self.push(
            topics::ORDER_EVENTS,
            "otc.order.v1.OrderPlaced",
            customer_id,
            &proto::OrderPlaced {
                order_id: order_id.clone(),
                customer_id: customer_id.into(),
                source: "shop".into(),
                external_order_id: format!("ext-{cycle}"),
                total: money(&amount, currency),
                ..Default::default()
            },
        );
        self.push(
            topics::ORDER_EVENTS,
            "otc.order.v1.OrderApproved",
            customer_id,
            &proto::OrderApproved {
                order_id: order_id.clone(),
                customer_id: customer_id.into(),
                ..Default::default()
            },
        );
        self.push(
            topics::ORDER_EVENTS,
            "otc.order.v1.ShipmentRecorded",
            customer_id,
            &proto::ShipmentRecorded {
                shipment_id: Uuid::now_v7().to_string(),
                order_id,
                customer_id: customer_id.into(),
                ..Default::default()
            },
        );
        self.invoice(customer_id, &invoice_id, &amount, currency, age, cycle);
        // Most invoices are paid, in full.
        if !cycle.is_multiple_of(4) {
            self.push(
                topics::PAYMENT_EVENTS,
                "otc.payments.v1.PaymentReceived",
                customer_id,
                &proto::PaymentReceived {
                    receipt_id: receipt_id.clone(),
                    customer_id: customer_id.into(),
                    amount: money(&amount, currency),
                    channel: "bank_statement".into(),
                    value_date: self.date(1),
                    ..Default::default()
                },
            );
            self.applied(customer_id, &invoice_id, &receipt_id, &amount, currency);
        }
        match cycle % 20 {
            1 => self.push(
                topics::BILLING_EVENTS,
                "otc.billing.v1.CreditNoteIssued",
                customer_id,
                &proto::CreditNoteIssued {
                    credit_note_id: Uuid::now_v7().to_string(),
                    credit_note_number: format!("CN-{cycle}"),
                    invoice_id: invoice_id.clone(),
                    customer_id: customer_id.into(),
                    total_amount: money("10.00", currency),
                    ..Default::default()
                },
            ),
            2 => self.push(
                topics::COLLECTIONS_EVENTS,
                "otc.collections.v1.DisputeOpened",
                customer_id,
                &proto::DisputeOpened {
                    dispute_id: Uuid::now_v7().to_string(),
                    customer_id: customer_id.into(),
                    invoice_id: invoice_id.clone(),
                    reason_code: "pricing".into(),
                    amount: money("5.00", currency),
                    source: "manual".into(),
                    ..Default::default()
                },
            ),
            3 => self.push(
                topics::COLLECTIONS_EVENTS,
                "otc.collections.v1.PromiseToPayRecorded",
                customer_id,
                &proto::PromiseToPayRecorded {
                    promise_id: Uuid::now_v7().to_string(),
                    customer_id: customer_id.into(),
                    invoice_ids: vec![invoice_id.clone()],
                    amount: money(&amount, currency),
                    promised_date: self.date(0),
                },
            ),
            4 => self.push(
                topics::COLLECTIONS_EVENTS,
                "otc.collections.v1.DunningNoticeSent",
                customer_id,
                &proto::DunningNoticeSent {
                    notice_id: Uuid::now_v7().to_string(),
                    customer_id: customer_id.into(),
                    level: 1,
                    channel: "email".into(),
                    invoice_ids: vec![invoice_id],
                    overdue_amount: money(&amount, currency),
                    as_of: self.date(0),
                    ..Default::default()
                },
            ),
            _ => {}
        }
    }
}

async fn publish(
    producer: &FutureProducer,
    namespace: &str,
    events: &[Event],
    progress: bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut sent = 0;
    for chunk in events.chunks(5_000) {
        let sends = chunk.iter().map(|event| async move {
            let topic = format!("{namespace}{}", event.topic);
            let record = FutureRecord::to(&topic)
                .key(&event.key)
                .payload(&event.payload)
                .headers(event.envelope.to_headers());
            producer
                .send(record, Duration::from_secs(60))
                .await
                .map_err(|(error, _)| anyhow::anyhow!("produce to {topic} failed: {error}"))
        });
        for result in futures::future::join_all(sends).await {
            result?;
        }
        sent += chunk.len();
        if progress && (sent % 100_000 < 5_000 || sent == events.len()) {
            println!(
                "  published {sent}/{} ({:.0}/s)",
                events.len(),
                figures::per_second(sent, started.elapsed())
            );
        }
    }
    Ok(())
}

/// Reads every input topic from its start with plain consumers: the most a
/// consumer of this backlog could do here.
async fn raw_consume(namespace: &str, expected: usize) -> anyhow::Result<(usize, Duration)> {
    let mut readers = Vec::new();
    for topic in [
        topics::ORDER_EVENTS,
        topics::BILLING_EVENTS,
        topics::PAYMENT_EVENTS,
        topics::COLLECTIONS_EVENTS,
    ] {
        readers.push(
            otc_bench::readers::from_start(&format!("{namespace}{topic}"), "raw-reporting").await?,
        );
    }
    let started = Instant::now();
    let mut handles = Vec::new();
    for reader in readers {
        handles.push(tokio::spawn(async move {
            let mut read = 0_usize;
            while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(3), reader.recv()).await
            {
                read += 1;
            }
            read
        }));
    }
    let mut read = 0;
    for handle in handles {
        read += handle.await?;
    }
    // The last three quiet seconds are not reading time.
    let elapsed = started.elapsed().saturating_sub(Duration::from_secs(3));
    anyhow::ensure!(
        read >= expected,
        "the raw readers saw {read} of {expected} records"
    );
    Ok((read, elapsed))
}

/// Records of the input topics the consumer group has committed.
async fn committed(group: &str, namespace: &str, partitions: i32) -> anyhow::Result<i64> {
    let group = group.to_owned();
    let namespace = namespace.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
        let consumer: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", otc_testkit::kafka_brokers())
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()?;
        let mut list = rdkafka::TopicPartitionList::new();
        for topic in INPUT_TOPICS {
            for partition in 0..partitions {
                list.add_partition(&format!("{namespace}{topic}"), partition);
            }
        }
        let committed = rdkafka::consumer::Consumer::committed_offsets(
            &consumer,
            list,
            Duration::from_secs(10),
        )?;
        Ok(committed
            .elements()
            .iter()
            .map(|element| match element.offset() {
                rdkafka::Offset::Offset(offset) => offset,
                _ => 0,
            })
            .sum())
    })
    .await?
}

const INPUT_TOPICS: [&str; 4] = [
    topics::ORDER_EVENTS,
    topics::BILLING_EVENTS,
    topics::PAYMENT_EVENTS,
    topics::COLLECTIONS_EVENTS,
];

/// A count over every tenant's rows (row-level security shows a session
/// without a tenant nothing).
async fn count_all(pool: &sqlx::PgPool, query: &'static str) -> anyhow::Result<i64> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('app.tenant', '*', true)")
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar(query).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(count)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    anyhow::ensure!(
        std::env::var_os("OTC_BIN_DIR").is_some(),
        "set OTC_BIN_DIR to the directory holding the built otc-reporting (e.g. target/release); \
         `make bench-reporting` builds it and sets it"
    );
    anyhow::ensure!(arguments.customers > 0, "--customers must be at least 1");
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("Reporting benchmark ({profile} build, {cores} cores)");
    let namespace = format!("bench{}.", otc_testkit::unique_suffix());
    let tenant = TenantId::parse(&format!("bench{}", &otc_testkit::unique_suffix()[..6]))?;
    for topic in [
        topics::ORDER_EVENTS,
        topics::BILLING_EVENTS,
        topics::PAYMENT_EVENTS,
        topics::COLLECTIONS_EVENTS,
    ] {
        otc_testkit::kafka::create_topic(&format!("{namespace}{topic}"), arguments.partitions)
            .await?;
    }

    // The backlog, and one invoice per probe customer the steady phase will pay.
    let probes = usize::try_from(u64::from(arguments.probe_rate) * arguments.steady_seconds)?;
    let mut generator = Generator {
        tenant: tenant.clone(),
        today: Utc::now().date_naive(),
        events: Vec::new(),
    };
    let customers: Vec<(String, &str)> = (0..arguments.customers)
        .map(|index| {
            (
                Uuid::now_v7().to_string(),
                if index.is_multiple_of(5) {
                    "USD"
                } else {
                    "EUR"
                },
            )
        })
        .collect();
    for (index, (customer_id, _)) in customers.iter().enumerate() {
        generator.customer(customer_id, index);
    }
    let probe_customers: Vec<(String, String)> = (0..probes)
        .map(|_| (Uuid::now_v7().to_string(), Uuid::now_v7().to_string()))
        .collect();
    for (index, (customer_id, invoice_id)) in probe_customers.iter().enumerate() {
        generator.customer(customer_id, index + 1);
        generator.invoice(
            customer_id,
            invoice_id,
            "1000.00",
            "EUR",
            10,
            10_000_000 + index,
        );
    }
    let mut cycle = 0;
    while generator.events.len() < arguments.events {
        let (customer_id, currency) = &customers[cycle % customers.len()];
        generator.cycle(customer_id, currency, cycle);
        cycle += 1;
    }
    let backlog = generator.events.split_off(0);
    println!(
        "backlog: {} events ({cycle} order-to-cash cycles, {} customers, {probes} probe customers)",
        backlog.len(),
        arguments.customers
    );
    let producer = otc_testkit::kafka::producer()?;
    let started = Instant::now();
    publish(&producer, &namespace, &backlog, true).await?;
    let produce_elapsed = started.elapsed();
    println!(
        "raw limit 1: produced {} in {} ({:.0}/s)",
        backlog.len(),
        figures::milliseconds(produce_elapsed),
        figures::per_second(backlog.len(), produce_elapsed)
    );
    let (raw_read, raw_elapsed) = raw_consume(&namespace, backlog.len()).await?;
    let raw_rate = figures::per_second(raw_read, raw_elapsed);
    println!(
        "raw limit 2: a plain consumer read them back in {} ({raw_rate:.0}/s)",
        figures::milliseconds(raw_elapsed)
    );

    // The catch-up.
    let database = TestDatabase::create("bench_reporting").await?;
    let mut environment = vec![
        ("OTC_KAFKA__TOPIC_NAMESPACE".to_owned(), namespace.clone()),
        ("OTC_LOG".to_owned(), "warn".to_owned()),
    ];
    for pair in &arguments.service_env {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--service-env wants NAME=VALUE, got {pair}"))?;
        environment.push((name.to_owned(), value.to_owned()));
    }
    let extra: Vec<(&str, &str)> = environment
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let postgres = PostgresProcesses::locate(&database.pool).await;
    let before = CpuSample::take(None, postgres.as_ref());
    let process_started = Instant::now();
    let service = ServiceProcess::start("reporting", &database.url, &extra).await?;
    let pid = service.pid().map(|pid| pid.as_raw());
    let total = i64::try_from(backlog.len())?;
    let mut first_fold: Option<Instant> = None;
    let mut last_report = Instant::now();
    // Progress from the offsets the service's consumer group committed
    // (each after its batch committed; a second behind at most), not from
    // the database: a count(*) of a million rows several times a second
    // would slow the very fold it measures. One exact count confirms the end.
    let group = format!("{namespace}reporting.read-models.g1");
    let folded_at = loop {
        let folded = committed(&group, &namespace, arguments.partitions).await?;
        if folded > 0 && first_fold.is_none() {
            first_fold = Some(Instant::now());
        }
        if folded >= total {
            let exact: i64 =
                sqlx::query_scalar("SELECT count(*) FROM inbox WHERE consumer = 'read-models'")
                    .fetch_one(&database.pool)
                    .await?;
            if exact >= total {
                break Instant::now();
            }
        }
        if last_report.elapsed() >= Duration::from_secs(5) {
            let rate = first_fold.map_or(0.0, |first| {
                figures::per_second(usize::try_from(folded).unwrap_or(0), first.elapsed())
            });
            println!("  folded {folded}/{total} ({rate:.0}/s)");
            last_report = Instant::now();
        }
        anyhow::ensure!(
            process_started.elapsed() < Duration::from_secs(1_800),
            "the catch-up took over 30 minutes; giving up"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let cpu = CpuSample::take(pid, postgres.as_ref()).since(&before, folded_at - process_started);
    let from_first = folded_at - first_fold.unwrap_or(process_started);
    let from_start = folded_at - process_started;
    let catchup_rate = figures::per_second(backlog.len(), from_first);
    // The snapshots of every customer, published after the fold.
    let snapshots_started = Instant::now();
    loop {
        let pending = count_all(
            &database.pool,
            "SELECT count(*) FROM snapshot_marks WHERE customer_id <> '00000000-0000-0000-0000-000000000000'",
        )
        .await?;
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1_000)).await;
    }
    let snapshots_elapsed = snapshots_started.elapsed();
    // And every record of the outbox on its topic (facts and snapshots).
    let relay_started = Instant::now();
    loop {
        let pending = count_all(
            &database.pool,
            "SELECT count(*) FROM outbox WHERE published_at IS NULL",
        )
        .await?;
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1_000)).await;
    }
    let relay_elapsed = relay_started.elapsed();
    let outbox_rows = count_all(&database.pool, "SELECT count(*) FROM outbox").await?;

    // The steady phase.
    let mut latencies = Latencies::new()?;
    let mut missing = 0;
    if arguments.steady_seconds > 0 && probes > 0 {
        let published: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
        let watcher = otc_bench::readers::from_end(
            &format!("{namespace}{}", topics::REPORTING_AR_AGING),
            "aging-watch",
        )
        .await?;
        // Let the reader take its place at the end before the first probe.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
        let watch_seen = Arc::clone(&seen);
        let watch = tokio::spawn(async move {
            loop {
                let Ok(Ok(message)) =
                    tokio::time::timeout(Duration::from_secs(30), watcher.recv()).await
                else {
                    break;
                };
                let at = Instant::now();
                let Some(payload) = message.payload() else {
                    continue;
                };
                let Ok(snapshot) = serde_json::from_slice::<serde_json::Value>(payload) else {
                    continue;
                };
                if snapshot["currencies"][0]["total"] == "750.00"
                    && let Some(customer) = snapshot["customer_id"].as_str()
                {
                    watch_seen
                        .lock()
                        .unwrap()
                        .entry(customer.to_owned())
                        .or_insert(at);
                }
            }
        });
        println!(
            "steady phase: {}s at {} background events/s and {} probe payments/s",
            arguments.steady_seconds, arguments.steady_rate, arguments.probe_rate
        );
        let steady_started = Instant::now();
        let tick = Duration::from_millis(100);
        let mut next = steady_started;
        let mut probe_index = 0;
        let mut background_sent: u64 = 0;
        let mut tick_index: u64 = 0;
        while steady_started.elapsed() < Duration::from_secs(arguments.steady_seconds) {
            tick_index += 1;
            // Background cycles (about eight events each) due by now.
            let due_events = u64::from(arguments.steady_rate) * tick_index / 10;
            let mut batch = Generator {
                tenant: tenant.clone(),
                today: Utc::now().date_naive(),
                events: Vec::new(),
            };
            while background_sent + (batch.events.len() as u64) < due_events {
                let (customer_id, currency) = &customers[cycle % customers.len()];
                batch.cycle(customer_id, currency, cycle);
                cycle += 1;
            }
            background_sent += batch.events.len() as u64;
            let due_probes = usize::try_from(u64::from(arguments.probe_rate) * tick_index / 10)?;
            let mut probe_ids = Vec::new();
            while probe_index < due_probes.min(probes) {
                let (customer_id, invoice_id) = &probe_customers[probe_index];
                batch.applied(
                    customer_id,
                    invoice_id,
                    &Uuid::now_v7().to_string(),
                    "250.00",
                    "EUR",
                );
                probe_ids.push(customer_id.clone());
                probe_index += 1;
            }
            let at = Instant::now();
            publish(&producer, &namespace, &batch.events, false).await?;
            {
                let mut map = published.lock().unwrap();
                for customer in probe_ids {
                    map.insert(customer, at);
                }
            }
            next += tick;
            tokio::time::sleep_until(next.into()).await;
        }
        // Let the last probes through.
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline && seen.lock().unwrap().len() < probe_index {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        watch.abort();
        let published = published.lock().unwrap();
        let seen = seen.lock().unwrap();
        for (customer, at) in published.iter() {
            match seen.get(customer) {
                Some(arrived) => latencies.record(arrived.saturating_duration_since(*at))?,
                None => missing += 1,
            }
        }
    }
    drop(service);
    if arguments.keep {
        println!("kept: database {}, topics {namespace}*", database.name);
    } else {
        database.drop_database().await;
        if let Err(error) = otc_bench::raw_kafka::delete_namespace_topics(&namespace).await {
            println!("could not delete the topics {namespace}*: {error:#}");
        }
    }

    println!();
    println!("== Reporting catch-up ({} events) ==", backlog.len());
    println!(
        "folded in {} from the first folded event: {catchup_rate:.0} events/s (goal {}: {:.2}x)",
        figures::milliseconds(from_first),
        arguments.goal,
        figures::ratio(catchup_rate, f64::from(arguments.goal))
    );
    println!(
        "          {} from the process start: {:.0} events/s",
        figures::milliseconds(from_start),
        figures::per_second(backlog.len(), from_start)
    );
    println!(
        "raw limits, same run: produce {:.0}/s; plain consume {raw_rate:.0}/s; fold / plain consume = {:.2}",
        figures::per_second(backlog.len(), produce_elapsed),
        figures::ratio(catchup_rate, raw_rate)
    );
    println!(
        "snapshots of every customer written {} after the fold; the outbox ({outbox_rows} fact and snapshot records) on the topics {} after that",
        figures::milliseconds(snapshots_elapsed),
        figures::milliseconds(relay_elapsed)
    );
    if let Some(service_cpu) = cpu.billing {
        println!(
            "CPU during the catch-up: reporting {:.0}%, PostgreSQL {:.0}% of one core; machine {:.0}% busy",
            100.0 * service_cpu.as_secs_f64() / cpu.wall.as_secs_f64(),
            100.0 * cpu.postgres.unwrap_or_default().as_secs_f64() / cpu.wall.as_secs_f64(),
            cpu.machine_busy.unwrap_or(0.0)
        );
    }
    if latencies.count() > 0 || missing > 0 {
        println!(
            "== Steady state: PaymentApplied -> ar_aging snapshot ({} probes, {missing} not seen) ==",
            latencies.count()
        );
        println!(
            "p50 {} p95 {} p99 {} max {} (goal p99 < 1 s)",
            figures::milliseconds(latencies.at_quantile(0.50)),
            figures::milliseconds(latencies.at_quantile(0.95)),
            figures::milliseconds(latencies.at_quantile(0.99)),
            figures::milliseconds(latencies.max()),
        );
    }
    Ok(())
}

//! Order ingestion benchmark: publishes N upstream `commerce.order.placed`
//! events to a real order service (its own database and topic namespace)
//! and measures orders/s and publish-to-`OrderApproved` latency, beside the
//! raw Kafka produce+consume rate of the same records on the same machine.
//! It prints figures and never fails on them.

// A benchmark prints its figures, and rates are floats (measurements, never
// money); setup failures end the run at once.
#![allow(
    clippy::print_stdout,
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    clippy::as_conversions,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

use otc_bench::figures::{self, Latencies};
use otc_bench::master_data;
use otc_bench::order_events::{OrderEventWatcher, Outcome};
use otc_bench::raw_kafka::{self, RawRun};
use otc_bench::upstream::{self, Pacing, Published, UpstreamOrder};
use otc_shared::kafka::topics;
use otc_testkit::TestDatabase;
use otc_testkit::credit::CreditServer;
use otc_testkit::process::ServiceProcess;

#[derive(Debug, Parser)]
#[command(about = "Upstream order events to OrderApproved: orders/s and latency, beside raw Kafka")]
struct Arguments {
    /// Orders measured.
    #[arg(long, default_value_t = 5_000)]
    orders: usize,
    /// Customers the orders are spread over.
    #[arg(long, default_value_t = 200)]
    customers: usize,
    /// Products (SKU-1 ..) the order lines use.
    #[arg(long, default_value_t = 20)]
    products: usize,
    /// Orders sent and awaited before measuring (not counted).
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Partitions of every topic of the run.
    #[arg(long, default_value_t = 6)]
    partitions: i32,
    /// Records sent concurrently; the next batch goes when all are acknowledged.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Publish at this many orders/s on average instead of as fast as possible.
    #[arg(long)]
    rate: Option<u32>,
    /// Give up waiting after this many seconds without a new approval.
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,
    /// The figure to compare against, in orders/s.
    #[arg(long, default_value_t = 2_000)]
    goal: u32,
    /// Keep the database and the topics for a look afterwards.
    #[arg(long)]
    keep: bool,
}

/// What became of one batch of published orders.
#[derive(Debug, Default)]
struct Outcomes {
    placed: HashMap<String, Instant>,
    approved: HashMap<String, Instant>,
    rejected: HashMap<String, Option<String>>,
}

impl Outcomes {
    fn settled(&self) -> usize {
        self.approved.len() + self.rejected.len()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    anyhow::ensure!(
        std::env::var_os("OTC_BIN_DIR").is_some(),
        "set OTC_BIN_DIR to the directory holding the built otc-order \
         (e.g. target/release); `make bench-orders` builds it and sets it"
    );
    let suffix = otc_testkit::unique_suffix();
    let namespace = format!("bench-{suffix}.");
    let database = TestDatabase::create("bench").await?;
    let result = run(&arguments, &namespace, &database).await;
    if arguments.keep {
        println!("kept: database {}, topics {namespace}*", database.name);
    } else {
        database.drop_database().await;
        match raw_kafka::delete_namespace_topics(&namespace).await {
            Ok(deleted) => println!("cleaned up: database and {} topics", deleted.len()),
            Err(error) => println!("could not delete the topics {namespace}*: {error:#}"),
        }
    }
    result
}

async fn run(
    arguments: &Arguments,
    namespace: &str,
    database: &TestDatabase,
) -> anyhow::Result<()> {
    let credit = CreditServer::start().await?;
    let partitions = arguments.partitions.to_string();
    let mut service = ServiceProcess::start(
        "order",
        &database.url,
        &[
            ("OTC_KAFKA__TOPIC_NAMESPACE", namespace),
            ("OTC_KAFKA__TOPIC_PARTITIONS", &partitions),
            ("OTC_PEERS__COLLECTIONS__URL", &credit.url()),
            ("OTC_TELEMETRY__LOG_FILTER", "warn"),
        ],
    )
    .await?;
    let log = std::env::temp_dir().join(format!("otc-test-order-{}.log", service.grpc_port));
    print_context(arguments, namespace, &log)?;

    let started = Instant::now();
    let channel = tonic::transport::Endpoint::from_shared(service.grpc_url())?
        .connect()
        .await?;
    master_data::seed(&channel, arguments.customers, arguments.products)
        .await
        .context("seeding customers and prices over gRPC")?;
    println!(
        "seeded {} customers, {} products with EUR list prices in {:.1} s",
        arguments.customers,
        arguments.products,
        started.elapsed().as_secs_f64()
    );

    let pipeline = measure_pipeline(arguments, namespace).await;
    match service.metrics().await {
        Ok(metrics) => print_service_metrics(&metrics),
        Err(error) => println!("order service /metrics unavailable: {error:#}"),
    }
    let _exit = service.terminate(Duration::from_secs(30)).await;
    let pipeline = pipeline.with_context(|| format!("order service log: {}", log.display()))?;

    // The service is stopped: the baseline has the machine to itself, as the pipeline had.
    let raw_orders = upstream::orders(
        "r",
        arguments.orders,
        arguments.customers,
        arguments.products,
    )?;
    let raw = raw_kafka::produce_and_consume(
        &format!("{namespace}bench.raw"),
        arguments.partitions,
        &raw_orders,
        arguments.batch,
        Duration::from_secs(arguments.idle_timeout.max(60)),
    )
    .await?;
    print_summary(arguments, &pipeline, &raw)
}

/// The measured part: warm-up, then N orders published while their
/// approvals are awaited.
struct PipelineRun {
    published: Vec<Published>,
    outcomes: Outcomes,
    /// From the first send to the last approval read.
    elapsed: Duration,
}

async fn measure_pipeline(arguments: &Arguments, namespace: &str) -> anyhow::Result<PipelineRun> {
    let mut watcher =
        OrderEventWatcher::start(&format!("{namespace}{}", topics::ORDER_EVENTS)).await?;
    let commerce_topic = format!("{namespace}{}", topics::COMMERCE_ORDERS);
    let producer = otc_testkit::kafka::producer()?;
    let pacing = Pacing {
        batch: arguments.batch,
        rate: arguments.rate,
    };
    let idle_timeout = Duration::from_secs(arguments.idle_timeout);

    if arguments.warmup > 0 {
        let warmup = upstream::orders(
            "w",
            arguments.warmup,
            arguments.customers,
            arguments.products,
        )?;
        let published = upstream::publish(&producer, &commerce_topic, &warmup, pacing).await?;
        let outcomes =
            await_outcomes(&mut watcher, "warm-up", "w", published.len(), idle_timeout).await?;
        report_shortfall("warm-up", published.len(), &outcomes);
    }

    let orders = upstream::orders(
        "o",
        arguments.orders,
        arguments.customers,
        arguments.products,
    )?;
    let publisher = spawn_publisher(producer, commerce_topic, orders, pacing);
    let outcomes = await_outcomes(
        &mut watcher,
        "measured",
        "o",
        arguments.orders,
        idle_timeout,
    )
    .await?;
    watcher.stop();
    let published = publisher.await??;
    report_shortfall("measured", arguments.orders, &outcomes);
    let first_send = published.iter().map(|sent| sent.at).min();
    let last_approval = outcomes.approved.values().copied().max();
    let elapsed = match (first_send, last_approval) {
        (Some(first), Some(last)) => last.saturating_duration_since(first),
        _ => Duration::ZERO,
    };
    Ok(PipelineRun {
        published,
        outcomes,
        elapsed,
    })
}

fn spawn_publisher(
    producer: rdkafka::producer::FutureProducer,
    topic: String,
    orders: Vec<UpstreamOrder>,
    pacing: Pacing,
) -> tokio::task::JoinHandle<anyhow::Result<Vec<Published>>> {
    tokio::spawn(async move { upstream::publish(&producer, &topic, &orders, pacing).await })
}

/// Reads order events until every order with ids `<prefix>…` is approved or
/// rejected, or none was approved for `idle_timeout`; prints progress each second.
async fn await_outcomes(
    watcher: &mut OrderEventWatcher,
    phase: &str,
    prefix: &str,
    expected: usize,
    idle_timeout: Duration,
) -> anyhow::Result<Outcomes> {
    let mut outcomes = Outcomes::default();
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut next_report = started + Duration::from_secs(1);
    while outcomes.settled() < expected && last_progress.elapsed() < idle_timeout {
        let wait = next_report.saturating_duration_since(Instant::now());
        if let Some(observation) = watcher.next(wait).await?
            && observation.external_order_id.starts_with(prefix)
        {
            let id = observation.external_order_id;
            match observation.outcome {
                Outcome::Placed => {
                    outcomes.placed.entry(id).or_insert(observation.at);
                }
                Outcome::Approved => {
                    outcomes.approved.entry(id).or_insert(observation.at);
                    last_progress = Instant::now();
                }
                Outcome::Rejected => {
                    outcomes.rejected.entry(id).or_insert(observation.reason);
                    last_progress = Instant::now();
                }
            }
        }
        if Instant::now() >= next_report {
            println!(
                "  {phase} {:>5.1} s: placed {}, approved {} / {expected}, rejected {}",
                started.elapsed().as_secs_f64(),
                outcomes.placed.len(),
                outcomes.approved.len(),
                outcomes.rejected.len()
            );
            next_report += Duration::from_secs(1);
        }
    }
    Ok(outcomes)
}

fn report_shortfall(phase: &str, expected: usize, outcomes: &Outcomes) {
    let missing = expected.saturating_sub(outcomes.settled());
    if missing > 0 {
        println!(
            "{phase}: {missing} of {expected} orders were neither approved nor rejected in time"
        );
    }
    if let Some((id, reason)) = outcomes.rejected.iter().next() {
        println!(
            "{phase}: {} rejected, e.g. {id}: {}",
            outcomes.rejected.len(),
            reason.as_deref().unwrap_or("(no reason)")
        );
    }
}

fn print_context(
    arguments: &Arguments,
    namespace: &str,
    log: &std::path::Path,
) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("order ingestion benchmark");
    println!(
        "  machine      {cores} cores (PostgreSQL, Kafka, the order service and this benchmark share them)"
    );
    println!(
        "  run          {} orders (+{} warm-up), {} customers, {} products, {} partitions, batch {}, rate {}",
        arguments.orders,
        arguments.warmup,
        arguments.customers,
        arguments.products,
        arguments.partitions,
        arguments.batch,
        arguments
            .rate
            .map_or_else(|| "unlimited".to_owned(), |rate| format!("{rate}/s"))
    );
    println!(
        "  binaries     benchmark {profile}, service {}",
        otc_testkit::process::binary_path("order")?.display()
    );
    println!("  topics       {namespace}*");
    println!("  service log  {}", log.display());
    Ok(())
}

/// The order service's consumer, outbox and credit counters, as Prometheus reports them.
fn print_service_metrics(metrics: &str) {
    println!("order service counters (/metrics):");
    let interesting = [
        "otc_consumer_records_total",
        "otc_consumer_retries_total",
        "otc_consumer_dead_letters_total",
        "otc_outbox_published_total",
        "otc_outbox_relay_failures_total",
        "otc_outbox_backlog",
        "otc_order_credit_decisions_total",
        "otc_order_credit_check_failures_total",
    ];
    metrics
        .lines()
        .filter(|line| interesting.iter().any(|name| line.starts_with(name)))
        .for_each(|line| println!("  {line}"));
}

fn print_summary(
    arguments: &Arguments,
    pipeline: &PipelineRun,
    raw: &RawRun,
) -> anyhow::Result<()> {
    let publish_instants: HashMap<&str, Instant> = pipeline
        .published
        .iter()
        .map(|sent| (sent.external_order_id.as_str(), sent.at))
        .collect();
    let mut latencies = Latencies::new()?;
    for (id, approved_at) in &pipeline.outcomes.approved {
        if let Some(sent_at) = publish_instants.get(id.as_str()) {
            latencies.record(approved_at.saturating_duration_since(*sent_at))?;
        }
    }
    let approved = pipeline.outcomes.approved.len();
    let pipeline_rate = figures::per_second(approved, pipeline.elapsed);
    let raw_rate = figures::per_second(raw.consumed, raw.elapsed);
    println!("results");
    println!(
        "  pipeline     {approved} of {} approved ({} placed, {} rejected) in {:.2} s: {pipeline_rate:.0} orders/s",
        arguments.orders,
        pipeline.outcomes.placed.len(),
        pipeline.outcomes.rejected.len(),
        pipeline.elapsed.as_secs_f64()
    );
    println!(
        "  latency      publish -> OrderApproved over {}: p50 {}, p95 {}, p99 {}, max {}",
        latencies.count(),
        figures::milliseconds(latencies.at_quantile(0.50)),
        figures::milliseconds(latencies.at_quantile(0.95)),
        figures::milliseconds(latencies.at_quantile(0.99)),
        figures::milliseconds(latencies.max())
    );
    println!(
        "  raw kafka    {} produced, {} consumed in {:.2} s: {raw_rate:.0} records/s",
        raw.produced,
        raw.consumed,
        raw.elapsed.as_secs_f64()
    );
    println!(
        "  ratio        pipeline / raw = {:.3}",
        figures::ratio(pipeline_rate, raw_rate)
    );
    let verdict = if pipeline_rate >= f64::from(arguments.goal) {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "  goal         {} orders/s: {verdict} ({pipeline_rate:.0} orders/s)",
        arguments.goal
    );
    Ok(())
}

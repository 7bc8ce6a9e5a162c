//! Invoice issuing benchmark: a backlog of N shipments (one per order, every
//! customer billed per shipment) drained by a real billing service on its
//! own database and topics, with PDF rendering off and on. It measures
//! invoices issued/s, documents stored/s, shipment -> `InvoiceIssued`
//! latency in the drain and at a fixed offered rate, CPU of billing and of
//! PostgreSQL, beside the raw PostgreSQL single-transaction commit rate of
//! the same server; then checks the books. It never fails on a figure.

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

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use otc_bench::probes::{CpuSample, CpuUse, DatabaseWork, PostgresProcesses, WaitProfile};
use sqlx::PgPool;

use otc_bench::billing_backlog::{self, InvoiceWatcher, OrderEvent, SHIPMENT_RECORDED, Sent};
use otc_bench::figures::{self, Latencies};
use otc_bench::raw_kafka;
use otc_bench::raw_postgres::{CommitRun, Scratch};
use otc_bench::upstream::Pacing;
use otc_shared::kafka::topics;
use otc_testkit::billing::BillingSuite;
use otc_testkit::suite::ServiceSuite;

const POLL: Duration = Duration::from_millis(250);
/// A progress line every this many polls (2 s).
const PROGRESS_EVERY: u32 = 8;
/// Events per batch at the steady rate: small, so the offered rate is even.
const STEADY_BATCH: usize = 10;
/// How long to wait for the relay to publish what is already committed.
const PUBLISH_WAIT: Duration = Duration::from_secs(30);

const ISSUED: &str = "SELECT count(*) FROM invoices WHERE status = 'issued'";
/// Numbers taken from the invoice series: one per issued invoice, committed
/// with it. A lookup of one row, where `count(*)` scans every invoice (tens
/// of milliseconds at 100,000, four times a second, on the PostgreSQL being
/// measured); that the two agree is checked after the drain.
const NUMBERED: &str =
    "SELECT coalesce(sum(last_value), 0)::bigint FROM numbering_series WHERE series = 'INV'";
const STORED: &str = "SELECT count(*) FROM documents WHERE status = 'stored'";
const APPLIED: &str = "SELECT count(*) FROM inbox";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PdfModes {
    Off,
    On,
    Both,
}

#[derive(Debug, Parser)]
#[command(
    about = "A backlog of shipments to InvoiceIssued: invoices/s with PDFs off and on, beside raw PostgreSQL commits/s"
)]
struct Arguments {
    /// Shipments in the backlog with PDFs off (one order and one invoice each).
    #[arg(long, default_value_t = 100_000)]
    shipments: usize,
    /// Shipments in the backlog with PDFs on.
    #[arg(long, default_value_t = 10_000)]
    pdf_shipments: usize,
    /// Render PDFs: off, on, or both runs one after the other.
    #[arg(long, value_enum, default_value_t = PdfModes::Both)]
    pdf: PdfModes,
    /// Customers the orders are spread over (every tenth bills in USD).
    #[arg(long, default_value_t = 1_000)]
    customers: usize,
    /// Shipments/s offered in the steady phase after the drain (0 skips it).
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Length of the steady phase.
    #[arg(long, default_value_t = 20)]
    steady_seconds: u32,
    /// Partitions of the run's topics.
    #[arg(long, default_value_t = 3)]
    partitions: i32,
    /// Records produced concurrently while building the backlog.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Give up waiting after this many seconds without progress.
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,
    /// Seconds of each raw PostgreSQL commit measurement.
    #[arg(long, default_value_t = 5)]
    raw_seconds: u64,
    /// Connections of the concurrent raw commit measurement.
    #[arg(long, default_value_t = 4)]
    raw_connections: usize,
    /// The figure to compare against, in invoices/s without PDFs.
    #[arg(long, default_value_t = 1_000)]
    goal: u32,
    /// Keep the databases, topics and documents for a look afterwards.
    #[arg(long)]
    keep: bool,
}

impl Arguments {
    fn pdf_runs(&self) -> Vec<bool> {
        match self.pdf {
            PdfModes::Off => vec![false],
            PdfModes::On => vec![true],
            PdfModes::Both => vec![false, true],
        }
    }
}

fn pdf_label(pdf: bool) -> &'static str {
    if pdf { "pdf on" } else { "pdf off" }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    anyhow::ensure!(
        std::env::var_os("OTC_BIN_DIR").is_some(),
        "set OTC_BIN_DIR to the directory holding the built otc-billing \
         (e.g. target/release); `make bench-invoices` builds it and sets it"
    );
    print_context(&arguments)?;
    let mut runs = Vec::new();
    for pdf in arguments.pdf_runs() {
        runs.push(run(&arguments, pdf).await?);
    }
    // Billing is stopped: the baseline has the machine to itself, as the drain had.
    let raw = raw_commit_rates(&arguments).await?;
    print_summary(&arguments, &runs, &raw);
    let failed: Vec<String> = runs
        .iter()
        .flat_map(|run| {
            run.checks
                .iter()
                .filter(|check| !check.ok)
                .map(|check| format!("{}: {}", pdf_label(run.pdf), check.name))
        })
        .collect();
    anyhow::ensure!(
        failed.is_empty(),
        "correctness checks failed: {}",
        failed.join("; ")
    );
    Ok(())
}

/// One run (PDFs off or on) on a fresh database and topic namespace.
struct Run {
    pdf: bool,
    measured: Measured,
    checks: Vec<Check>,
}

async fn run(arguments: &Arguments, pdf: bool) -> anyhow::Result<Run> {
    let shipments = if pdf {
        arguments.pdf_shipments
    } else {
        arguments.shipments
    };
    let partitions = arguments.partitions.to_string();
    let mut suite = BillingSuite::start(
        "bench_invoices",
        &[
            (
                "OTC_BILLING__RENDER_DOCUMENTS",
                if pdf { "true" } else { "false" },
            ),
            ("OTC_KAFKA__TOPIC_PARTITIONS", partitions.as_str()),
            ("OTC_TELEMETRY__LOG_FILTER", "warn"),
        ],
    )
    .await;
    let log =
        std::env::temp_dir().join(format!("otc-test-billing-{}.log", suite.service.grpc_port));
    println!();
    println!(
        "{}: {shipments} shipments, {} customers; database {}, topics {}*, service log {}",
        pdf_label(pdf),
        arguments.customers,
        suite.database.name,
        suite.namespace,
        log.display()
    );
    let measured = measure(arguments, &mut suite, shipments, pdf)
        .await
        .with_context(|| format!("billing service log: {}", log.display()));
    let _exit = suite.service.terminate(Duration::from_secs(30)).await;
    let result = match measured {
        Ok(measured) => match check_books(&suite.database.pool, &measured, pdf).await {
            Ok(checks) => Ok(Run {
                pdf,
                measured,
                checks,
            }),
            Err(error) => Err(error.context("checking the books")),
        },
        Err(error) => Err(error),
    };
    clean_up(arguments, suite).await;
    result
}

async fn clean_up(arguments: &Arguments, suite: BillingSuite) {
    let BillingSuite {
        suite:
            ServiceSuite {
                database,
                service,
                namespace,
                ..
            },
        documents_root,
    } = suite;
    drop(service);
    if arguments.keep {
        println!(
            "kept: database {}, topics {namespace}*, documents {}",
            database.name,
            documents_root.display()
        );
        return;
    }
    database.drop_database().await;
    if documents_root.exists()
        && let Err(error) = std::fs::remove_dir_all(&documents_root)
    {
        println!("could not delete {}: {error}", documents_root.display());
    }
    match raw_kafka::delete_namespace_topics(&namespace).await {
        Ok(deleted) => println!(
            "cleaned up: database, documents and {} topics",
            deleted.len()
        ),
        Err(error) => println!("could not delete the topics {namespace}*: {error:#}"),
    }
}

/// What one run measured.
struct Measured {
    shipments: usize,
    lines: usize,
    /// Customers and orders published and projected while billing ran.
    projection: Duration,
    /// The shipment backlog produced while billing was stopped.
    production: Duration,
    drain: Drain,
    steady: Option<Steady>,
    invoices_read: usize,
}

impl Measured {
    fn invoices(&self) -> usize {
        self.shipments + self.steady.as_ref().map_or(0, |steady| steady.shipments)
    }
}

/// Start billing and configure it, publish customers and orders and let
/// billing project them; stop billing, produce the shipments (the backlog),
/// start billing again and measure the drain; then the steady phase.
async fn measure(
    arguments: &Arguments,
    suite: &mut BillingSuite,
    shipments: usize,
    pdf: bool,
) -> anyhow::Result<Measured> {
    let today = chrono::Utc::now().date_naive();
    billing_backlog::configure(&suite.channel, &suite.tenant, today)
        .await
        .context("configuring the tenant over gRPC")?;
    let tenant = otc_testkit::tenant(&suite.tenant);
    let order_topic = suite.topic(topics::ORDER_EVENTS);
    let mut watcher = InvoiceWatcher::start(&suite.topic(topics::BILLING_EVENTS)).await?;
    let producer = otc_testkit::kafka::producer()?;
    let pacing = Pacing {
        batch: arguments.batch,
        rate: None,
    };
    let idle_timeout = Duration::from_secs(arguments.idle_timeout);

    let customers = billing_backlog::customers(arguments.customers);
    let orders = billing_backlog::orders(0, shipments, &customers)?;
    let lines = orders.iter().map(|order| order.lines).sum();
    let (placed, shipped): (Vec<OrderEvent>, Vec<OrderEvent>) = orders
        .into_iter()
        .map(|order| (order.placed, order.shipped))
        .unzip();
    let history: Vec<OrderEvent> = customers
        .iter()
        .map(billing_backlog::customer_upserted)
        .chain(placed)
        .collect();
    let started = Instant::now();
    billing_backlog::publish(&producer, &order_topic, &tenant, &history, pacing).await?;
    let pool = suite.database.pool.clone();
    let applied = wait_for_count(&pool, "projecting", APPLIED, history.len(), idle_timeout).await?;
    let projection = started.elapsed();
    anyhow::ensure!(
        applied >= history.len(),
        "billing projected {applied} of {} customer and order events",
        history.len()
    );
    println!(
        "  history: {} customers and {shipments} orders published and projected in {:.1} s ({:.0} events/s)",
        customers.len(),
        projection.as_secs_f64(),
        figures::per_second(history.len(), projection)
    );

    // The backlog: shipments pile up while billing is stopped.
    suite
        .service
        .terminate(Duration::from_secs(30))
        .await
        .context("stopping billing before producing the backlog")?;
    let started = Instant::now();
    let sent = billing_backlog::publish(&producer, &order_topic, &tenant, &shipped, pacing).await?;
    let production = started.elapsed();
    println!(
        "  backlog: {shipments} ShipmentRecorded produced in {:.1} s with billing stopped; starting billing",
        production.as_secs_f64()
    );

    let drain = drain(suite, &mut watcher, &sent, pdf, idle_timeout).await?;
    let steady = if arguments.rate > 0 && arguments.steady_seconds > 0 {
        let publisher = SteadyPublisher {
            producer,
            topic: order_topic,
            tenant,
        };
        Some(steady_state(arguments, &publisher, &mut watcher, &customers, shipments).await?)
    } else {
        None
    };
    match suite.service.metrics().await {
        Ok(metrics) => print_service_metrics(&metrics),
        Err(error) => println!("  billing /metrics unavailable: {error:#}"),
    }
    watcher.refresh().await?;
    let invoices_read = watcher.invoices_read();
    watcher.stop();
    Ok(Measured {
        shipments,
        lines,
        projection,
        production,
        drain,
        steady,
        invoices_read,
    })
}

/// A scalar count over every tenant's rows (row-level security is forced,
/// so the benchmark reads as the service's system tasks do).
async fn count(pool: &PgPool, query: &'static str) -> anyhow::Result<usize> {
    let mut transaction = otc_shared::db::begin_for_all_tenants(pool).await?;
    let count: i64 = sqlx::query_scalar(query)
        .fetch_one(&mut *transaction)
        .await
        .with_context(|| format!("counting with `{query}`"))?;
    transaction.commit().await?;
    Ok(usize::try_from(count)?)
}

/// Polls `query` until it reaches `target` or stops moving for `idle_timeout`.
async fn wait_for_count(
    pool: &PgPool,
    phase: &str,
    query: &'static str,
    target: usize,
    idle_timeout: Duration,
) -> anyhow::Result<usize> {
    let started = Instant::now();
    let mut last = 0;
    let mut last_progress = Instant::now();
    let mut polls = 0_u32;
    loop {
        let now = count(pool, query).await?;
        if now >= target || last_progress.elapsed() > idle_timeout {
            return Ok(now);
        }
        if now > last {
            last = now;
            last_progress = Instant::now();
        }
        polls += 1;
        if polls.is_multiple_of(PROGRESS_EVERY) {
            println!(
                "  {phase} {:>6.1} s: {now} / {target}",
                started.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// One poll of the drain.
#[derive(Debug, Clone, Copy)]
struct Poll {
    at: Instant,
    issued: usize,
    stored: usize,
}

/// What the drain of the backlog measured.
struct Drain {
    /// When billing was started on the backlog.
    started: Instant,
    serving: Instant,
    first_invoice: Option<Poll>,
    invoices_done: Option<Poll>,
    first_document: Option<Poll>,
    documents_done: Option<Poll>,
    last: Poll,
    /// When the last backlog `InvoiceIssued` was read.
    all_published: Option<Instant>,
    latencies: Latencies,
    /// Until the last invoice, and (PDFs on) until the last document.
    cpu_invoices: Option<CpuUse>,
    cpu_documents: Option<CpuUse>,
    waits: WaitProfile,
    database: Option<DatabaseWork>,
    polls: u32,
    poll_time: Duration,
    /// Every poll, for the rate along the backlog.
    history: Vec<Poll>,
    /// `count(*)` of issued invoices once drained, and what it cost.
    counted: usize,
    count_time: Duration,
}

impl Drain {
    fn new(started: Instant, serving: Instant) -> anyhow::Result<Self> {
        Ok(Self {
            started,
            serving,
            first_invoice: None,
            invoices_done: None,
            first_document: None,
            documents_done: None,
            last: Poll {
                at: started,
                issued: 0,
                stored: 0,
            },
            all_published: None,
            latencies: Latencies::new()?,
            cpu_invoices: None,
            cpu_documents: None,
            waits: WaitProfile::default(),
            database: None,
            polls: 0,
            poll_time: Duration::ZERO,
            history: Vec::new(),
            counted: 0,
            count_time: Duration::ZERO,
        })
    }

    /// Notes a poll; says whether it is the one that saw the last invoice,
    /// and the one that saw the last document.
    fn observe(&mut self, poll: Poll, target: usize, pdf: bool) -> (bool, bool) {
        if self.first_invoice.is_none() && poll.issued > 0 {
            self.first_invoice = Some(poll);
        }
        if self.first_document.is_none() && poll.stored > 0 {
            self.first_document = Some(poll);
        }
        let invoices_done = self.invoices_done.is_none() && poll.issued >= target;
        if invoices_done {
            self.invoices_done = Some(poll);
        }
        let documents_done = pdf && self.documents_done.is_none() && poll.stored >= target;
        if documents_done {
            self.documents_done = Some(poll);
        }
        self.last = poll;
        self.history.push(poll);
        (invoices_done, documents_done)
    }

    /// Invoices/s from the first poll that saw an invoice to the one that saw the last.
    fn invoice_rate(&self) -> f64 {
        rate_between(self.first_invoice, self.invoices_done, |poll| poll.issued)
    }

    /// Invoices/s from starting billing (start-up and group join included).
    fn invoice_rate_from_start(&self) -> f64 {
        self.invoices_done.map_or(0.0, |done| {
            figures::per_second(done.issued, done.at.saturating_duration_since(self.started))
        })
    }

    fn document_rate(&self) -> f64 {
        rate_between(self.first_document, self.documents_done, |poll| poll.stored)
    }

    fn document_rate_from_start(&self) -> f64 {
        self.documents_done.map_or(0.0, |done| {
            figures::per_second(done.stored, done.at.saturating_duration_since(self.started))
        })
    }

    /// Invoices/s over each tenth of the backlog, from the polls either side.
    fn rate_by_tenth(&self, target: usize) -> Vec<f64> {
        let crossing = |threshold: usize| {
            self.history
                .iter()
                .find(|poll| poll.issued >= threshold && poll.issued > 0)
                .copied()
        };
        let mut rates = Vec::new();
        let mut from = self.first_invoice;
        for tenth in 1..=10 {
            let to = crossing(target * tenth / 10);
            if let (Some(start), Some(end)) = (from, to)
                && end.issued > start.issued
            {
                rates.push(rate_between(Some(start), Some(end), |poll| poll.issued));
                from = Some(end);
            }
        }
        rates
    }
}

fn rate_between(first: Option<Poll>, last: Option<Poll>, value: fn(&Poll) -> usize) -> f64 {
    match (first, last) {
        (Some(first), Some(last)) => figures::per_second(
            value(&last).saturating_sub(value(&first)),
            last.at.saturating_duration_since(first.at),
        ),
        _ => 0.0,
    }
}

async fn drain(
    suite: &mut BillingSuite,
    watcher: &mut InvoiceWatcher,
    sent: &[Sent],
    pdf: bool,
    idle_timeout: Duration,
) -> anyhow::Result<Drain> {
    let pool = suite.database.pool.clone();
    let target = sent.len();
    let postgres = PostgresProcesses::locate(&pool).await;
    let before = CpuSample::take(None, postgres.as_ref());
    let database_before = DatabaseWork::read(&pool).await.ok();
    let started = Instant::now();
    suite
        .service
        .restart()
        .await
        .context("starting billing on the backlog")?;
    let serving = Instant::now();
    let billing_pid = suite.service.pid().map(|pid| pid.as_raw());
    let cpu_until_now = |at: Instant| {
        CpuSample::take(billing_pid, postgres.as_ref())
            .since(&before, at.saturating_duration_since(started))
    };
    let mut drain = Drain::new(started, serving)?;
    let mut interval = tokio::time::interval(POLL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_progress = Instant::now();
    let mut reported = drain.last;
    loop {
        interval.tick().await;
        let poll_started = Instant::now();
        let issued = count(&pool, NUMBERED).await?;
        let stored = if pdf { count(&pool, STORED).await? } else { 0 };
        drain.poll_time += poll_started.elapsed();
        drain.polls += 1;
        drain.waits.sample(&pool).await?;
        watcher.refresh().await?;
        let poll = Poll {
            at: Instant::now(),
            issued,
            stored,
        };
        if issued > drain.last.issued || stored > drain.last.stored {
            last_progress = poll.at;
        }
        let (invoices_done, documents_done) = drain.observe(poll, target, pdf);
        if invoices_done {
            drain.cpu_invoices = Some(cpu_until_now(poll.at));
        }
        if documents_done {
            drain.cpu_documents = Some(cpu_until_now(poll.at));
        }
        if drain.polls.is_multiple_of(PROGRESS_EVERY) {
            print_progress(&drain, &reported, target, pdf);
            reported = poll;
        }
        if drain.invoices_done.is_some() && (!pdf || drain.documents_done.is_some()) {
            break;
        }
        if last_progress.elapsed() > idle_timeout {
            println!(
                "  no progress for {} s: the drain stops at {issued} invoices, {stored} documents",
                idle_timeout.as_secs()
            );
            break;
        }
    }
    let counting = Instant::now();
    drain.counted = count(&pool, ISSUED).await?;
    drain.count_time = counting.elapsed();
    if let Some(before) = database_before {
        drain.database = DatabaseWork::read(&pool)
            .await
            .ok()
            .map(|after| after.since(&before));
    }
    await_published(watcher, target).await?;
    drain.all_published = watcher.last_read();
    for shipment in sent
        .iter()
        .filter(|sent| sent.event_type == SHIPMENT_RECORDED)
    {
        if let Some(issued_at) = watcher.issued_at(&shipment.order_id) {
            drain
                .latencies
                .record(issued_at.saturating_duration_since(shipment.at))?;
        }
    }
    Ok(drain)
}

fn print_progress(drain: &Drain, previous: &Poll, target: usize, pdf: bool) {
    let poll = drain.last;
    let window = poll.at.saturating_duration_since(previous.at);
    let rate = figures::per_second(poll.issued.saturating_sub(previous.issued), window);
    let documents = if pdf {
        format!(
            ", documents stored {} ({:.0}/s)",
            poll.stored,
            figures::per_second(poll.stored.saturating_sub(previous.stored), window)
        )
    } else {
        String::new()
    };
    println!(
        "  drain {:>6.1} s: issued {} / {target} ({rate:.0}/s){documents}",
        poll.at
            .saturating_duration_since(drain.started)
            .as_secs_f64(),
        poll.issued
    );
}

/// Waits until `expected` invoices were read from the billing topic, or none
/// came for a while (the relay publishes shortly after each commit).
async fn await_published(watcher: &mut InvoiceWatcher, expected: usize) -> anyhow::Result<()> {
    let mut last_count = watcher.invoices_read();
    let mut last_progress = Instant::now();
    while watcher.invoices_read() < expected && last_progress.elapsed() < PUBLISH_WAIT {
        tokio::time::sleep(POLL).await;
        watcher.refresh().await?;
        if watcher.invoices_read() > last_count {
            last_count = watcher.invoices_read();
            last_progress = Instant::now();
        }
    }
    Ok(())
}

/// What the steady phase offered and measured.
struct Steady {
    shipments: usize,
    lines: usize,
    invoiced: usize,
    /// Shipments/s as actually sent.
    sent_rate: f64,
    latencies: Latencies,
}

struct SteadyPublisher {
    producer: rdkafka::producer::FutureProducer,
    topic: String,
    tenant: otc_shared::TenantId,
}

/// `rate` new orders and shipments a second for `steady_seconds` (each order
/// placed just before its shipment), with billing caught up.
async fn steady_state(
    arguments: &Arguments,
    publisher: &SteadyPublisher,
    watcher: &mut InvoiceWatcher,
    customers: &[billing_backlog::BacklogCustomer],
    first_order: usize,
) -> anyhow::Result<Steady> {
    let count = usize::try_from(arguments.rate.saturating_mul(arguments.steady_seconds))?;
    let orders = billing_backlog::orders(first_order, count, customers)?;
    let lines = orders.iter().map(|order| order.lines).sum();
    let events: Vec<OrderEvent> = orders
        .into_iter()
        .flat_map(|order| [order.placed, order.shipped])
        .collect();
    println!(
        "  steady: {count} orders and shipments at {} shipments/s for {} s",
        arguments.rate, arguments.steady_seconds
    );
    let pacing = Pacing {
        batch: STEADY_BATCH,
        rate: Some(arguments.rate.saturating_mul(2)),
    };
    let producer = publisher.producer.clone();
    let topic = publisher.topic.clone();
    let tenant = publisher.tenant.clone();
    let sending = tokio::spawn(async move {
        billing_backlog::publish(&producer, &topic, &tenant, &events, pacing).await
    });
    let started = Instant::now();
    let mut next_report = started + Duration::from_secs(5);
    while !sending.is_finished() {
        tokio::time::sleep(POLL).await;
        watcher.refresh().await?;
        if Instant::now() >= next_report {
            println!(
                "  steady {:>5.1} s: {} invoices read in all",
                started.elapsed().as_secs_f64(),
                watcher.invoices_read()
            );
            next_report += Duration::from_secs(5);
        }
    }
    let sent = sending.await??;
    let shipments: Vec<&Sent> = sent
        .iter()
        .filter(|sent| sent.event_type == SHIPMENT_RECORDED)
        .collect();
    let invoiced = |watcher: &InvoiceWatcher| {
        shipments
            .iter()
            .filter(|sent| watcher.issued_at(&sent.order_id).is_some())
            .count()
    };
    let idle_timeout = Duration::from_secs(arguments.idle_timeout);
    let mut last_count = invoiced(watcher);
    let mut last_progress = Instant::now();
    while last_count < shipments.len() && last_progress.elapsed() < idle_timeout {
        tokio::time::sleep(POLL).await;
        watcher.refresh().await?;
        let now = invoiced(watcher);
        if now > last_count {
            last_count = now;
            last_progress = Instant::now();
        }
    }
    let mut latencies = Latencies::new()?;
    for shipment in &shipments {
        if let Some(issued_at) = watcher.issued_at(&shipment.order_id) {
            latencies.record(issued_at.saturating_duration_since(shipment.at))?;
        }
    }
    let first = shipments.iter().map(|sent| sent.at).min();
    let last = shipments.iter().map(|sent| sent.at).max();
    let sent_rate = match (first, last) {
        (Some(first), Some(last)) => figures::per_second(
            shipments.len().saturating_sub(1),
            last.saturating_duration_since(first),
        ),
        _ => 0.0,
    };
    Ok(Steady {
        shipments: shipments.len(),
        lines,
        invoiced: last_count,
        sent_rate,
        latencies,
    })
}

/// Billing's consumer and outbox counters, as Prometheus reports them.
fn print_service_metrics(metrics: &str) {
    let interesting = [
        "otc_consumer_records_total",
        "otc_consumer_retries_total",
        "otc_consumer_dead_letters_total",
        "otc_outbox_published_total",
        "otc_outbox_relay_failures_total",
        "otc_outbox_backlog",
    ];
    println!("  billing counters (/metrics):");
    metrics
        .lines()
        .filter(|line| interesting.iter().any(|name| line.starts_with(name)))
        .for_each(|line| println!("    {line}"));
}

// ---------------------------------------------------------------------------
// The baseline: raw single-transaction commits on the same server.

struct RawCommits {
    /// Server version, fsync and synchronous_commit.
    settings: String,
    sequential: CommitRun,
    concurrent: CommitRun,
}

async fn raw_commit_rates(arguments: &Arguments) -> anyhow::Result<RawCommits> {
    let scratch = Scratch::create(arguments.raw_connections).await?;
    let duration = Duration::from_secs(arguments.raw_seconds);
    let result = async {
        let sequential = scratch.commit_loop(1, duration).await?;
        let concurrent = scratch
            .commit_loop(arguments.raw_connections, duration)
            .await?;
        anyhow::Ok(RawCommits {
            settings: scratch.settings.clone(),
            sequential,
            concurrent,
        })
    }
    .await;
    scratch.drop_database().await;
    result
}

// ---------------------------------------------------------------------------
// Correctness, after the run and not timed.

struct Check {
    name: String,
    ok: bool,
    detail: String,
}

async fn check_books(pool: &PgPool, measured: &Measured, pdf: bool) -> anyhow::Result<Vec<Check>> {
    let invoices = measured.invoices();
    let mut checks = Vec::new();
    let mut expect = |name: &str, actual: usize, expected: usize| {
        checks.push(Check {
            name: name.to_owned(),
            ok: actual == expected,
            detail: format!("{actual} (expected {expected})"),
        });
    };
    expect(
        "issued invoices = shipments",
        count(
            pool,
            "SELECT count(*) FROM invoices WHERE status = 'issued' AND kind = 'invoice'",
        )
        .await?,
        invoices,
    );
    expect(
        "held invoices",
        count(pool, "SELECT count(*) FROM invoices WHERE status = 'held'").await?,
        0,
    );
    expect(
        "billable lines not invoiced",
        count(
            pool,
            "SELECT count(*) FROM billable_lines WHERE invoice_id IS NULL",
        )
        .await?,
        0,
    );
    expect(
        "billable lines recorded = lines shipped",
        count(pool, "SELECT count(*) FROM billable_lines").await?,
        measured.lines + measured.steady.as_ref().map_or(0, |steady| steady.lines),
    );
    expect(
        "billable lines on two invoices",
        count(
            pool,
            "SELECT count(*) FROM (SELECT billable_line_id FROM invoice_lines
              WHERE billable_line_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) twice",
        )
        .await?,
        0,
    );
    expect(
        "numbering series with a gap (max(sequence) <> count(*))",
        count(
            pool,
            "SELECT count(*) FROM (SELECT tenant, series FROM invoices WHERE status = 'issued'
              GROUP BY 1, 2 HAVING max(sequence) <> count(*) OR min(sequence) <> 1) gaps",
        )
        .await?,
        0,
    );
    expect(
        "dead-lettered order events",
        count(pool, "SELECT count(*) FROM dead_letters").await?,
        0,
    );
    expect(
        "InvoiceIssued events read",
        measured.invoices_read,
        invoices,
    );
    if pdf {
        expect(
            "document rows = issued invoices",
            count(pool, "SELECT count(*) FROM documents").await?,
            invoices,
        );
        expect(
            "failed documents",
            count(
                pool,
                "SELECT count(*) FROM documents WHERE status = 'failed'",
            )
            .await?,
            0,
        );
    }
    Ok(checks)
}

// ---------------------------------------------------------------------------
// Output.

fn print_context(arguments: &Arguments) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("invoice issuing benchmark");
    println!(
        "  machine      {cores} cores (PostgreSQL, Kafka, billing and this benchmark share them)"
    );
    println!(
        "  run          {}; {} customers (every tenth in USD), {} partitions",
        arguments
            .pdf_runs()
            .iter()
            .map(|pdf| {
                let shipments = if *pdf {
                    arguments.pdf_shipments
                } else {
                    arguments.shipments
                };
                format!("{}: {shipments} shipments", pdf_label(*pdf))
            })
            .collect::<Vec<_>>()
            .join(", "),
        arguments.customers,
        arguments.partitions
    );
    if arguments.rate > 0 && arguments.steady_seconds > 0 {
        println!(
            "  steady       {} shipments/s for {} s after each drain",
            arguments.rate, arguments.steady_seconds
        );
    }
    println!(
        "  binaries     benchmark {profile}, service {}",
        otc_testkit::process::binary_path("billing")?.display()
    );
    Ok(())
}

/// `12.3 ms` below a second, `1.23 s` below ten, `12.3 s` above.
fn short(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        figures::milliseconds(duration)
    } else if duration < Duration::from_secs(10) {
        format!("{:.2} s", duration.as_secs_f64())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

fn row(label: &str, cells: &[String]) {
    let cells: String = cells.iter().map(|cell| format!("{cell:>24}")).collect();
    println!("  {label:<44}{cells}");
}

fn optional<T>(value: Option<T>, show: impl Fn(T) -> String) -> String {
    value.map_or_else(|| "-".to_owned(), show)
}

/// A CPU time and the share of one core it is over `wall`.
fn cpu_cell(cpu: Option<Duration>, wall: Duration) -> String {
    optional(cpu, |cpu| {
        format!(
            "{:.1} s ({:.0}% core)",
            cpu.as_secs_f64(),
            100.0 * figures::ratio(cpu.as_secs_f64(), wall.as_secs_f64())
        )
    })
}

fn per_invoice(total: i64, invoices: usize) -> String {
    format!("{:.2}", figures::ratio(total as f64, invoices as f64))
}

fn print_summary(arguments: &Arguments, runs: &[Run], raw: &RawCommits) {
    println!();
    println!("results");
    let cells = |cell: &dyn Fn(&Run) -> String| runs.iter().map(cell).collect::<Vec<_>>();
    let since_start = |drain: &Drain, at: Option<Instant>| {
        optional(at, |at| short(at.saturating_duration_since(drain.started)))
    };
    row("", &cells(&|run| pdf_label(run.pdf).to_owned()));
    row(
        "shipments in the backlog",
        &cells(&|run| run.measured.shipments.to_string()),
    );
    row(
        "customers + orders projected (billing on)",
        &cells(&|run| short(run.measured.projection)),
    );
    row(
        "shipment backlog produced (billing off)",
        &cells(&|run| short(run.measured.production)),
    );
    row(
        "billing start -> SERVING",
        &cells(&|run| {
            short(
                run.measured
                    .drain
                    .serving
                    .saturating_duration_since(run.measured.drain.started),
            )
        }),
    );
    row(
        "billing start -> first invoice (poll)",
        &cells(&|run| {
            since_start(
                &run.measured.drain,
                run.measured.drain.first_invoice.map(|poll| poll.at),
            )
        }),
    );
    row(
        "billing start -> last invoice (time to drain)",
        &cells(&|run| {
            since_start(
                &run.measured.drain,
                run.measured.drain.invoices_done.map(|poll| poll.at),
            )
        }),
    );
    row(
        "billing start -> last InvoiceIssued read",
        &cells(&|run| since_start(&run.measured.drain, run.measured.drain.all_published)),
    );
    row(
        "INVOICES ISSUED/s (first -> last invoice)",
        &cells(&|run| format!("{:.0}", run.measured.drain.invoice_rate())),
    );
    row(
        "invoices issued/s (from billing start)",
        &cells(&|run| format!("{:.0}", run.measured.drain.invoice_rate_from_start())),
    );
    row(
        "documents stored/s (first -> last)",
        &cells(&|run| {
            if run.pdf {
                format!("{:.1}", run.measured.drain.document_rate())
            } else {
                "-".to_owned()
            }
        }),
    );
    row(
        "documents stored/s (from billing start)",
        &cells(&|run| {
            if run.pdf {
                format!("{:.1}", run.measured.drain.document_rate_from_start())
            } else {
                "-".to_owned()
            }
        }),
    );
    row(
        "billing start -> last document stored",
        &cells(&|run| {
            since_start(
                &run.measured.drain,
                run.measured.drain.documents_done.map(|poll| poll.at),
            )
        }),
    );
    for (label, quantile) in [("p50", 0.50), ("p95", 0.95), ("p99", 0.99)] {
        row(
            &format!("drain latency shipment -> InvoiceIssued {label}"),
            &cells(&|run| short(run.measured.drain.latencies.at_quantile(quantile))),
        );
    }
    row(
        "drain latency max",
        &cells(&|run| short(run.measured.drain.latencies.max())),
    );
    row(
        "steady: shipments offered/s (sent/s)",
        &cells(&|run| {
            optional(run.measured.steady.as_ref(), |steady| {
                format!("{} ({:.0})", arguments.rate, steady.sent_rate)
            })
        }),
    );
    row(
        "steady: invoiced / shipped",
        &cells(&|run| {
            optional(run.measured.steady.as_ref(), |steady| {
                format!("{} / {}", steady.invoiced, steady.shipments)
            })
        }),
    );
    for (label, quantile) in [("p50", 0.50), ("p95", 0.95), ("p99", 0.99)] {
        row(
            &format!("steady latency shipment -> InvoiceIssued {label}"),
            &cells(&|run| {
                optional(run.measured.steady.as_ref(), |steady| {
                    short(steady.latencies.at_quantile(quantile))
                })
            }),
        );
    }
    row(
        "steady latency max",
        &cells(&|run| {
            optional(run.measured.steady.as_ref(), |steady| {
                short(steady.latencies.max())
            })
        }),
    );
    for (label, cpu) in [
        ("CPU to last invoice: billing", 0),
        ("CPU to last invoice: PostgreSQL", 1),
        ("CPU to last invoice: this benchmark", 2),
    ] {
        row(
            label,
            &cells(&|run| {
                optional(run.measured.drain.cpu_invoices, |used| {
                    let value = match cpu {
                        0 => used.billing,
                        1 => used.postgres,
                        _ => used.benchmark,
                    };
                    cpu_cell(value, used.wall)
                })
            }),
        );
    }
    row(
        "machine busy to last invoice",
        &cells(&|run| {
            optional(
                run.measured
                    .drain
                    .cpu_invoices
                    .and_then(|used| used.machine_busy),
                |busy| format!("{busy:.0}%"),
            )
        }),
    );
    row(
        "CPU to last document: billing / PostgreSQL",
        &cells(&|run| {
            optional(run.measured.drain.cpu_documents, |used| {
                format!(
                    "{} / {}",
                    optional(used.billing, |cpu| format!("{:.1} s", cpu.as_secs_f64())),
                    optional(used.postgres, |cpu| format!("{:.1} s", cpu.as_secs_f64()))
                )
            })
        }),
    );
    row(
        "commits per invoice (drain)",
        &cells(&|run| {
            optional(run.measured.drain.database.as_ref(), |work| {
                per_invoice(work.commits, run.measured.shipments)
            })
        }),
    );
    row(
        "rows inserted / updated per invoice (drain)",
        &cells(&|run| {
            optional(run.measured.drain.database.as_ref(), |work| {
                format!(
                    "{} / {}",
                    per_invoice(work.inserted, run.measured.shipments),
                    per_invoice(work.updated, run.measured.shipments)
                )
            })
        }),
    );
    row(
        "benchmark's 250-ms poll (mean)",
        &cells(&|run| {
            let drain = &run.measured.drain;
            short(drain.poll_time / drain.polls.max(1))
        }),
    );
    row(
        "count(*) issued at drain end (its cost)",
        &cells(&|run| {
            let drain = &run.measured.drain;
            format!("{} ({})", drain.counted, short(drain.count_time))
        }),
    );
    println!();
    println!("invoices/s over each tenth of the backlog, first to last:");
    for run in runs {
        let rates: Vec<String> = run
            .measured
            .drain
            .rate_by_tenth(run.measured.shipments)
            .iter()
            .map(|rate| format!("{rate:.0}"))
            .collect();
        println!("  {:<8} {}", pdf_label(run.pdf), rates.join("  "));
    }
    println!();
    println!(
        "PostgreSQL backends of the run's database during the drain (average count per state / wait):"
    );
    for run in runs {
        let waits: Vec<String> = run
            .measured
            .drain
            .waits
            .averages()
            .iter()
            .take(6)
            .map(|(what, average)| format!("{what} {average:.2}"))
            .collect();
        println!("  {:<8} {}", pdf_label(run.pdf), waits.join("; "));
    }

    println!();
    println!("sequential scans during the drain (rows read per invoice, scans):");
    for run in runs {
        let scans: Vec<String> = run
            .measured
            .drain
            .database
            .as_ref()
            .map(|work| work.most_scanned(4))
            .unwrap_or_default()
            .iter()
            .map(|(table, scans, rows)| {
                format!(
                    "{table} {} ({scans})",
                    per_invoice(*rows, run.measured.shipments)
                )
            })
            .collect();
        println!("  {:<8} {}", pdf_label(run.pdf), scans.join("; "));
    }

    println!();
    println!(
        "raw PostgreSQL single-transaction commits ({}):",
        raw.settings
    );
    for commits in [&raw.sequential, &raw.concurrent] {
        println!(
            "  {} connection(s): {} commits in {:.1} s = {:.0} commits/s",
            commits.connections,
            commits.commits,
            commits.elapsed.as_secs_f64(),
            commits.rate()
        );
    }
    for run in runs {
        let rate = run.measured.drain.invoice_rate();
        println!(
            "  ratio {:<8} invoices/s / raw commits/s = {:.3} (1 connection), {:.3} ({} connections)",
            pdf_label(run.pdf),
            figures::ratio(rate, raw.sequential.rate()),
            figures::ratio(rate, raw.concurrent.rate()),
            raw.concurrent.connections
        );
    }
    if let Some(run) = runs.iter().find(|run| !run.pdf) {
        let rate = run.measured.drain.invoice_rate();
        let verdict = if rate >= f64::from(arguments.goal) {
            "met"
        } else {
            "NOT met"
        };
        println!();
        println!(
            "goal {} invoices/s without PDFs: {verdict} ({rate:.0} invoices/s)",
            arguments.goal
        );
    }

    println!();
    println!("correctness (after the run, not timed):");
    for run in runs {
        let failed = run.checks.iter().filter(|check| !check.ok).count();
        println!(
            "  {}: {}",
            pdf_label(run.pdf),
            if failed == 0 {
                "every billable line invoiced exactly once, invoices = shipments, numbers gapless: OK".to_owned()
            } else {
                format!("{failed} check(s) FAILED")
            }
        );
        for check in &run.checks {
            println!(
                "    [{}] {}: {}",
                if check.ok { "ok" } else { "FAIL" },
                check.name,
                check.detail
            );
        }
    }
}

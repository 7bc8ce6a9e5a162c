//! The whole pipeline benchmark: orders through all five services, from
//! the shop's `commerce.order.placed` to the payment applied and reflected
//! in the customer's `ar_aging` snapshot, at a fixed offered rate and at
//! saturation, with end-to-end latency percentiles, the CPU and memory of
//! each service process, and the raw limits measured in the same run
//! (Kafka produce+consume of as many records; PostgreSQL commits/s).
//!
//! Per order the benchmark plays the outside world, reacting to what it
//! reads: `OrderApproved` -> it publishes the shipment; `InvoiceIssued` ->
//! the card provider's signed webhook pays it; the `payment_applied` fact
//! on reporting's topic, then the customer's next `ar_aging` record ->
//! done. The latency includes those reactions (sub-millisecond). It prints
//! figures and never fails on them.

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
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Parser;
use prost::Message as _;
use rdkafka::Message as _;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};

use otc_bench::figures::{self, Latencies};
use otc_bench::probes;
use otc_bench::raw_kafka;
use otc_bench::raw_postgres::Scratch;
use otc_bench::upstream;
use otc_proto::events::{InvoiceIssued, OrderApproved};
use otc_proto::order::customer_service_client::CustomerServiceClient;
use otc_proto::order::{Customer, ListCustomersRequest};
use otc_proto::payments::RegisterWebhookProviderRequest;
use otc_proto::payments::payment_service_client::PaymentServiceClient;
use otc_proto::types::PageRequest;
use otc_shared::auth::Role;
use otc_shared::events::{RecordHeaders, header};
use otc_shared::kafka::topics;
use otc_testkit::process::ServiceProcess;
use otc_testkit::whole::WholeSuite;

#[derive(Debug, Parser)]
#[command(about = "Orders through all five services to payment applied and reflected in ar_aging")]
struct Arguments {
    /// Orders per phase (offered rate, then saturation).
    #[arg(long, default_value_t = 2_000)]
    orders: usize,
    /// The offered rate of the first phase, orders/s.
    #[arg(long, default_value_t = 500)]
    rate: u32,
    /// Customers the orders are spread over (set up by the simulator).
    #[arg(long, default_value_t = 200)]
    customers: u32,
    /// How long after its invoice the customer pays, in milliseconds (a
    /// payment for an invoice payments has not projected yet waits as
    /// unapplied cash). Subtracted from the latency printed.
    #[arg(long, default_value_t = 1_000)]
    pay_delay_ms: u64,
    /// Give up on a phase after this many seconds without a completion.
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,
    /// Goals, to print beside the figures.
    #[arg(long, default_value_t = 1_000)]
    goal_rate: u32,
    #[arg(long, default_value_t = 2_000)]
    goal_p99_ms: u64,
}

/// What the readers saw, when.
enum Seen {
    Approved {
        external: String,
        order_id: String,
    },
    Invoice(Box<InvoiceIssued>),
    Applied {
        invoice_id: String,
        occurred_at: DateTime<Utc>,
    },
    Aging {
        customer_id: String,
        generated_at: DateTime<Utc>,
    },
}

fn timestamp(value: &serde_json::Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map_or(DateTime::<Utc>::MIN_UTC, |time| time.with_timezone(&Utc))
}

/// One order on its way.
struct Flight {
    customer: usize,
    published: Instant,
    invoice: Option<String>,
    /// When the payment was applied (payments' clock), once its fact was read.
    applied: Option<DateTime<Utc>>,
}

struct World {
    tenant: String,
    namespace: String,
    customers: Vec<Customer>,
    secret: String,
    webhook_url: String,
}

/// Reads `topic` from its end, turning records into [`Seen`]s.
fn watch(consumer: StreamConsumer, sender: mpsc::UnboundedSender<(Seen, Instant)>) {
    tokio::spawn(async move {
        loop {
            let Ok(message) = consumer.recv().await else {
                continue;
            };
            let at = Instant::now();
            let headers = RecordHeaders::from_kafka(rdkafka::message::Message::headers(&message));
            let payload = message.payload().unwrap_or_default();
            let seen = match headers.get(header::TYPE) {
                Some("otc.order.v1.OrderApproved") => {
                    OrderApproved::decode(payload)
                        .ok()
                        .map(|approved| Seen::Approved {
                            external: approved.external_order_id,
                            order_id: approved.order_id,
                        })
                }
                Some("otc.billing.v1.InvoiceIssued") => InvoiceIssued::decode(payload)
                    .ok()
                    .map(|invoice| Seen::Invoice(Box::new(invoice))),
                _ => match serde_json::from_slice::<serde_json::Value>(payload) {
                    Ok(value) if value["fact_type"] == "payment_applied" => Some(Seen::Applied {
                        invoice_id: value["invoice_id"].as_str().unwrap_or_default().to_owned(),
                        occurred_at: timestamp(&value["occurred_at"]),
                    }),
                    Ok(value) if value.get("bucket_labels").is_some() => Some(Seen::Aging {
                        customer_id: value["customer_id"].as_str().unwrap_or_default().to_owned(),
                        generated_at: timestamp(&value["generated_at"]),
                    }),
                    _ => None,
                },
            };
            if let Some(seen) = seen
                && sender.send((seen, at)).is_err()
            {
                return;
            }
        }
    });
}

fn order_event(world: &World, external: &str, customer: &Customer) -> serde_json::Value {
    let details = customer.details.clone().unwrap_or_default();
    let reference = details
        .external_references
        .first()
        .map(|reference| format!("{}:{}", reference.platform, reference.external_id))
        .unwrap_or_else(|| customer.customer_id.clone());
    json!({
        "specversion": "1.0",
        "id": uuid::Uuid::now_v7().to_string(),
        "source": format!("/bench/{}", world.tenant),
        "type": "commerce.order.placed",
        "tenant": world.tenant,
        "data": {
            "external_order_id": external,
            "customer_ref": reference,
            "currency_code": details.currency_code,
            "lines": [{"line_id": "L1", "sku": "VALVE-DN50", "quantity": "1"}],
            "shipping_address": {"lines": ["1 Bench Road"], "city": "Springfield", "country_code": details.billing_address.map(|address| address.country_code).unwrap_or_default()},
        },
    })
}

fn shipment_event(world: &World, external: &str) -> serde_json::Value {
    json!({
        "specversion": "1.0",
        "id": uuid::Uuid::now_v7().to_string(),
        "source": format!("/wms/{}", world.tenant),
        "type": "commerce.fulfilment.shipped",
        "tenant": world.tenant,
        "data": {
            "external_order_id": external,
            "order_source": format!("/bench/{}", world.tenant),
            "shipment_id": format!("S-{external}"),
            "shipped_at": otc_shared::time::to_rfc3339(otc_shared::time::now()),
            "lines": [{"line_id": "L1", "quantity": "1"}],
        },
    })
}

fn send(producer: &FutureProducer, topic: String, key: String, event: &serde_json::Value) {
    let producer = producer.clone();
    let payload = serde_json::to_vec(event).unwrap_or_default();
    tokio::spawn(async move {
        let record = FutureRecord::to(&topic).key(&key).payload(&payload);
        if let Err((error, _)) = producer.send(record, Duration::from_secs(30)).await {
            println!("  could not publish to {topic}: {error}");
        }
    });
}

fn pay(
    world: &World,
    http: &reqwest::Client,
    permits: &Arc<Semaphore>,
    invoice: &InvoiceIssued,
    delay: Duration,
) {
    let total = invoice.total_amount.clone().unwrap_or_default();
    let body = serde_json::to_vec(&json!({
        "id": format!("evt_{}", uuid::Uuid::now_v7().simple()),
        "type": "payment.succeeded",
        "data": {
            "payment_id": format!("pay_{}", uuid::Uuid::now_v7().simple()),
            "amount": total.amount,
            "currency": total.currency_code,
            "customer_id": invoice.customer_id,
            "description": format!("RE {}", invoice.invoice_number),
        },
    }))
    .unwrap_or_default();
    let signature = otc_shared::signing::sign(
        world.secret.as_bytes(),
        chrono::Utc::now().timestamp(),
        &body,
    );
    let (http, url, permits) = (http.clone(), world.webhook_url.clone(), Arc::clone(permits));
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let Ok(_permit) = permits.acquire_owned().await else {
            return;
        };
        for _ in 0..20 {
            let sent = http
                .post(&url)
                .header(otc_shared::signing::SIGNATURE_HEADER, signature.clone())
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) if !response.status().is_server_error() => return,
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        println!("  a webhook could not be delivered");
    });
}

/// CPU ticks and resident memory of a process.
fn usage(pid: i32) -> (u64, u64) {
    let ticks = probes::process_stat(pid).map(|stat| stat.own).unwrap_or(0);
    let rss_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|value| value.parse().ok())
        })
        .unwrap_or(0);
    (ticks, rss_kib)
}

struct Phase {
    name: String,
    completed: usize,
    elapsed: Duration,
    latencies: Latencies,
    processes: Vec<(String, f64, u64)>,
    /// CPU of PostgreSQL (postmaster and backends) and of the Kafka broker,
    /// in % of one core, and the share of the whole machine that was busy.
    infrastructure: (Option<f64>, Option<f64>, Option<f64>),
    /// When each order was handed to the producer (epoch seconds), by
    /// external order id.
    published: HashMap<String, f64>,
}

/// CPU counters at one moment of a phase.
struct Sample {
    at: Instant,
    services: Vec<(u64, u64)>,
    postgres: Option<u64>,
    kafka: Option<u64>,
    machine: Option<(u64, u64)>,
}

#[allow(clippy::too_many_lines)]
async fn phase(
    name: &str,
    world: &World,
    suite: &WholeSuite,
    arguments: &Arguments,
    rate: Option<u32>,
    prefix: &str,
) -> anyhow::Result<Phase> {
    let (sender, mut seen) = mpsc::unbounded_channel();
    for topic in [
        topics::ORDER_EVENTS,
        topics::BILLING_EVENTS,
        topics::REPORTING_PAYMENT_FACTS,
        topics::REPORTING_AR_AGING,
    ] {
        let physical = format!("{}{topic}", world.namespace);
        watch(
            otc_bench::readers::from_end(&physical, "pipeline").await?,
            sender.clone(),
        );
    }
    let producer = otc_testkit::kafka::producer()?;
    let http = reqwest::Client::new();
    let permits = Arc::new(Semaphore::new(32));
    let processes: Vec<(&str, &ServiceProcess)> = vec![
        ("order", &suite.order),
        ("billing", &suite.billing),
        ("payments", &suite.payments),
        ("collections", &suite.collections),
        ("reporting", &suite.reporting),
    ];
    let pids: Vec<(String, i32)> = processes
        .iter()
        .filter_map(|(name, process)| Some(((*name).to_owned(), process.pid()?.as_raw())))
        .collect();
    let postgres = probes::PostgresProcesses::locate(&suite.order_db.pool).await;
    let kafka = probes::kafka_broker_pid();
    // Services' (ticks, RSS), then PostgreSQL and Kafka ticks and the
    // machine's (busy, total) ticks.
    let sample = || Sample {
        at: Instant::now(),
        services: pids.iter().map(|(_, pid)| usage(*pid)).collect(),
        postgres: postgres.as_ref().and_then(probes::PostgresProcesses::ticks),
        kafka: kafka.map(|pid| usage(pid).0),
        machine: probes::machine_ticks().ok(),
    };
    let first = sample();
    // The latest sample taken while orders were still completing: CPU is
    // averaged up to it, not over an idle wait for orders that never come.
    let mut busy_until: Option<Sample> = None;
    let mut reported = 0_usize;

    let mut flights: HashMap<String, Flight> = HashMap::new();
    let mut published_at: HashMap<String, f64> = HashMap::new();
    let mut by_order_id: HashMap<String, String> = HashMap::new();
    let mut by_invoice: HashMap<String, String> = HashMap::new();
    let mut waiting_aging: HashMap<String, Vec<String>> = HashMap::new();
    // Per customer: the last ar_aging record's generation time, and when it was read.
    let mut latest_aging: HashMap<String, (DateTime<Utc>, Instant)> = HashMap::new();
    let mut latencies = Latencies::new()?;
    let started = Instant::now();
    let mut last_completion = started;
    let mut sent = 0_usize;
    let mut completed = 0_usize;
    let interval = rate.map(|rate| Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    let orders_topic = format!("{}{}", world.namespace, topics::COMMERCE_ORDERS);
    let shipments_topic = format!("{}{}", world.namespace, topics::COMMERCE_FULFILMENTS);
    let pay_delay = Duration::from_millis(arguments.pay_delay_ms);
    let mut next_send = Instant::now();
    // Approved, invoiced, applied so far.
    let mut stages = [0_usize; 3];
    let mut last_report = Instant::now();
    while completed < arguments.orders {
        // Publish what the offered rate allows by now.
        while sent < arguments.orders && Instant::now() >= next_send {
            let external = format!("{prefix}{sent}");
            let customer = sent % world.customers.len();
            published_at.insert(external.clone(), otc_bench::hops::now());
            send(
                &producer,
                orders_topic.clone(),
                external.clone(),
                &order_event(world, &external, &world.customers[customer]),
            );
            flights.insert(
                external,
                Flight {
                    customer,
                    published: Instant::now(),
                    invoice: None,
                    applied: None,
                },
            );
            sent += 1;
            if let Some(interval) = interval {
                next_send += interval;
            }
        }
        let wait = if sent < arguments.orders {
            next_send.saturating_duration_since(Instant::now())
        } else {
            Duration::from_millis(200)
        };
        let Ok(event) =
            tokio::time::timeout(wait.max(Duration::from_micros(200)), seen.recv()).await
        else {
            if last_completion.elapsed() > Duration::from_secs(arguments.idle_timeout)
                && sent == arguments.orders
            {
                println!(
                    "  {name}: no completion for {} s; {completed} of {} done",
                    arguments.idle_timeout, arguments.orders
                );
                break;
            }
            continue;
        };
        let Some((event, at)) = event else {
            anyhow::bail!("the readers stopped");
        };
        match event {
            Seen::Approved { external, order_id } => {
                if flights.contains_key(&external) {
                    stages[0] += 1;
                    by_order_id.insert(order_id, external.clone());
                    send(
                        &producer,
                        shipments_topic.clone(),
                        external.clone(),
                        &shipment_event(world, &external),
                    );
                }
            }
            Seen::Invoice(invoice) => {
                let Some(external) = invoice.order_ids.iter().find_map(|id| by_order_id.get(id))
                else {
                    continue;
                };
                if let Some(flight) = flights.get_mut(external) {
                    stages[1] += 1;
                    flight.invoice = Some(invoice.invoice_id.clone());
                    by_invoice.insert(invoice.invoice_id.clone(), external.clone());
                    pay(world, &http, &permits, &invoice, pay_delay);
                }
            }
            Seen::Applied {
                invoice_id,
                occurred_at,
            } => {
                let Some(external) = by_invoice.get(&invoice_id).cloned() else {
                    continue;
                };
                let Some(flight) = flights.get_mut(&external) else {
                    continue;
                };
                if flight.applied.is_some() {
                    continue;
                }
                stages[2] += 1;
                flight.applied = Some(occurred_at);
                let customer = world.customers[flight.customer].customer_id.clone();
                // The snapshot that reflects it may have been read first
                // (another topic): one generated after the payment counts.
                let reflected = latest_aging
                    .get(&customer)
                    .is_some_and(|(generated, _)| *generated >= occurred_at);
                if reflected {
                    let flight = flights.remove(&external).context("a flight")?;
                    latencies.record(
                        at.saturating_duration_since(flight.published)
                            .saturating_sub(pay_delay),
                    )?;
                    completed += 1;
                    last_completion = at;
                } else {
                    waiting_aging.entry(customer).or_default().push(external);
                }
            }
            Seen::Aging {
                customer_id,
                generated_at,
            } => {
                latest_aging.insert(customer_id.clone(), (generated_at, at));
                let Some(waiting) = waiting_aging.remove(&customer_id) else {
                    continue;
                };
                let mut still = Vec::new();
                for external in waiting {
                    let applied = flights.get(&external).and_then(|flight| flight.applied);
                    match applied {
                        Some(applied) if generated_at >= applied => {
                            if let Some(flight) = flights.remove(&external) {
                                latencies.record(
                                    at.saturating_duration_since(flight.published)
                                        .saturating_sub(pay_delay),
                                )?;
                                completed += 1;
                                last_completion = at;
                            }
                        }
                        Some(_) => still.push(external),
                        None => {}
                    }
                }
                if !still.is_empty() {
                    waiting_aging.insert(customer_id, still);
                }
            }
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            if completed > reported {
                reported = completed;
                busy_until = Some(sample());
            }
            println!(
                "  {name}: {sent} sent, {} approved, {} invoiced, {} paid, {completed} through ({:.0}/s so far)",
                stages[0],
                stages[1],
                stages[2],
                figures::per_second(completed, started.elapsed())
            );
        }
    }
    let elapsed = last_completion.saturating_duration_since(started);
    let last = if completed == arguments.orders {
        sample()
    } else {
        busy_until.unwrap_or_else(sample)
    };
    let ticks_per_second = probes::clock_ticks_per_second() as f64;
    let wall = last
        .at
        .saturating_duration_since(first.at)
        .as_secs_f64()
        .max(0.001);
    let share = |now: Option<u64>, then: Option<u64>| {
        Some(now?.saturating_sub(then?) as f64 / ticks_per_second / wall * 100.0)
    };
    let machine = probes::busy_percent(first.machine, last.machine);
    let infrastructure = (
        share(last.postgres, first.postgres),
        share(last.kafka, first.kafka),
        machine,
    );
    let processes = pids
        .iter()
        .zip(first.services.iter().zip(&last.services))
        .map(|((name, _), ((ticks_before, _), (ticks_after, rss)))| {
            let cpu = (ticks_after.saturating_sub(*ticks_before)) as f64 / ticks_per_second / wall
                * 100.0;
            (name.clone(), cpu, *rss)
        })
        .collect();
    Ok(Phase {
        published: published_at,
        infrastructure,
        name: name.to_owned(),
        completed,
        elapsed,
        latencies,
        processes,
    })
}

async fn set_up(suite: &WholeSuite, customers: u32) -> anyhow::Result<World> {
    let tenant = format!("bench-{}", &otc_testkit::unique_suffix()[..8]);
    println!("setting up tenant {tenant} with the simulator ({customers} customers)…");
    let output = suite.simulator(&tenant, customers).output().await?;
    anyhow::ensure!(
        output.status.success(),
        "the simulator failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let request = |message| otc_testkit::billing::request(message, &tenant, &[Role::TenantAdmin]);
    let mut client = CustomerServiceClient::new(
        tonic::transport::Channel::from_shared(suite.order.grpc_url())?
            .connect()
            .await?,
    );
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_customers(request(ListCustomersRequest {
                page: Some(PageRequest {
                    page_size: 500,
                    page_token: token.clone(),
                }),
                ..Default::default()
            }))
            .await?
            .into_inner();
        all.extend(page.customers);
        token = page
            .page
            .map(|page| page.next_page_token)
            .unwrap_or_default();
        if token.is_empty() {
            break;
        }
    }
    // The simulator gives every 25th customer a tight limit: their orders
    // would wait on credit hold, so the benchmark leaves them out.
    all.retain(|customer| {
        customer
            .details
            .as_ref()
            .and_then(|details| details.external_references.first())
            .and_then(|reference| reference.external_id.rsplit('-').next())
            .and_then(|index| index.parse::<usize>().ok())
            .is_some_and(|index| index % 25 != 24)
    });
    anyhow::ensure!(!all.is_empty(), "no customers");
    let provider = PaymentServiceClient::new(
        tonic::transport::Channel::from_shared(suite.payments.grpc_url())?
            .connect()
            .await?,
    )
    .register_webhook_provider(otc_testkit::billing::request(
        RegisterWebhookProviderRequest {
            provider: "benchpay".into(),
        },
        &tenant,
        &[Role::TenantAdmin],
    ))
    .await
    .context("registering the benchmark's provider")?
    .into_inner();
    Ok(World {
        webhook_url: format!(
            "http://127.0.0.1:{}/webhooks/{tenant}/benchpay",
            suite.payments.http_port
        ),
        tenant,
        namespace: suite.namespace.clone(),
        customers: all,
        secret: provider.secret,
    })
}

fn print_phase(phase: &Phase, arguments: &Arguments) {
    let rate = figures::per_second(phase.completed, phase.elapsed);
    println!("\n{}", phase.name);
    println!(
        "  through the pipeline  {} orders in {:.1} s = {rate:.0} orders/s (goal {} orders/s sustained)",
        phase.completed,
        phase.elapsed.as_secs_f64(),
        arguments.goal_rate
    );
    if phase.latencies.count() > 0 {
        println!(
            "  latency, placed -> payment applied in ar_aging (less the customer's {} ms)  p50 {}  p95 {}  p99 {}  max {} (goal p99 < {} ms at 500/s)",
            arguments.pay_delay_ms,
            figures::milliseconds(phase.latencies.at_quantile(0.50)),
            figures::milliseconds(phase.latencies.at_quantile(0.95)),
            figures::milliseconds(phase.latencies.at_quantile(0.99)),
            figures::milliseconds(phase.latencies.max()),
            arguments.goal_p99_ms
        );
    }
    println!("  process        CPU (% of one core)   RSS");
    for (name, cpu, rss) in &phase.processes {
        println!("  {name:<13} {cpu:>8.0} %            {:>6} MiB", rss / 1024);
    }
    let (postgres, kafka, machine) = phase.infrastructure;
    let percent =
        |value: Option<f64>| value.map_or_else(|| "?".to_owned(), |value| format!("{value:.0} %"));
    println!("  PostgreSQL    {:>10}", percent(postgres));
    println!("  Kafka broker  {:>10}", percent(kafka));
    println!("  machine busy  {:>10} of both cores", percent(machine));
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    anyhow::ensure!(
        std::env::var_os("OTC_BIN_DIR").is_some(),
        "set OTC_BIN_DIR to the directory holding the built services and otc-simulator \
         (e.g. target/release); `make bench-pipeline` builds them and sets it"
    );
    println!("starting the five services (release builds, one database each)…");
    let suite = WholeSuite::start().await;
    let world = set_up(&suite, arguments.customers).await?;
    println!(
        "pipeline: {} customers, {} orders per phase",
        world.customers.len(),
        arguments.orders
    );
    let offered_from = otc_bench::hops::now();
    let offered = phase(
        &format!("Offered rate {} orders/s", arguments.rate),
        &world,
        &suite,
        &arguments,
        Some(arguments.rate),
        "PO-",
    )
    .await?;
    print_phase(&offered, &arguments);
    let saturation_from = otc_bench::hops::now();
    let saturation = phase(
        "Saturation (all orders at once)",
        &world,
        &suite,
        &arguments,
        None,
        "PS-",
    )
    .await?;
    print_phase(&saturation, &arguments);
    for (title, since, until, published) in [
        (
            "offered rate",
            offered_from,
            saturation_from,
            &offered.published,
        ),
        (
            "saturation",
            saturation_from,
            otc_bench::hops::now(),
            &saturation.published,
        ),
    ] {
        let mut hops = otc_bench::hops::measure(
            &otc_bench::hops::Pools {
                order: &suite.order_db.pool,
                billing: &suite.billing_db.pool,
                payments: &suite.payments_db.pool,
                reporting: &suite.reporting_db.pool,
            },
            published,
            since,
            until,
        )
        .await?;
        otc_bench::hops::print(title, &mut hops);
    }

    // The raw limits, on the same machine in the same run.
    let records = upstream::orders("RAW-", arguments.orders * 4, 50, 5)?;
    let raw_topic = format!("{}raw.pipeline", suite.namespace);
    let raw =
        raw_kafka::produce_and_consume(&raw_topic, 3, &records, 500, Duration::from_secs(120))
            .await?;
    let scratch = Scratch::create(4).await?;
    let commits = scratch.commit_loop(4, Duration::from_secs(5)).await?;
    scratch.drop_database().await;
    let kafka_rate = figures::per_second(raw.consumed, raw.elapsed);
    println!("\nRaw limits (same machine, same run)");
    println!(
        "  Kafka produce+consume   {} records in {:.1} s = {kafka_rate:.0} records/s",
        raw.consumed,
        raw.elapsed.as_secs_f64()
    );
    println!(
        "  PostgreSQL commits      {:.0} commits/s ({} connections)",
        commits.rate(),
        commits.connections
    );
    let best = figures::per_second(saturation.completed, saturation.elapsed)
        .max(figures::per_second(offered.completed, offered.elapsed));
    println!(
        "  orders/s through the pipeline vs raw Kafka records/s: {:.4}; vs PostgreSQL commits/s: {:.4}",
        figures::ratio(best, kafka_rate),
        figures::ratio(best, commits.rate())
    );
    Ok(())
}

//! `CheckCredit` benchmark: calls per second and latency percentiles of the
//! collections service's credit check over gRPC, with `--concurrency`
//! calls in flight, against `--customers` customers (default 100,000) with
//! credit limits, open items and approved orders; beside the raw limits
//! measured in the same run with the same concurrency: a trivial gRPC call
//! (the health check) on the same server, and PostgreSQL single-row
//! commits. It never fails on a figure; it fails if the books are wrong
//! afterwards (a customer approved beyond its limit, a hold not told once).
// A benchmark prints its figures, and rates are floats (measurements, never
// money); setup failures end the run at once.
#![allow(
    clippy::print_stdout,
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    clippy::as_conversions
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate, Utc};
use clap::Parser;
use rust_decimal::Decimal;
use sqlx::PgPool;
use tonic::Request;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use uuid::Uuid;

use otc_bench::figures::{self, Latencies};
use otc_bench::probes::{self, PostgresProcesses};
use otc_bench::raw_postgres::{CommitRun, Scratch};
use otc_proto::collections::credit_service_client::CreditServiceClient;
use otc_proto::collections::{CheckCreditRequest, CreditDecision};
use otc_proto::types::Money;
use otc_shared::auth::Role;
use otc_testkit::collections::CollectionsSuite;
use otc_testkit::suite::ServiceSuite;

const CURRENCY: &str = "EUR";
/// Customers written per seeding transaction.
const SEED_CHUNK: usize = 10_000;

#[derive(Debug, Parser)]
#[command(
    about = "CheckCredit calls/s and latency through the collections service, beside a trivial gRPC call and raw PostgreSQL commits at the same concurrency"
)]
struct Arguments {
    /// Customers seeded, each with a credit limit, 0-3 open invoices and
    /// sometimes an approved order not billed yet.
    #[arg(long, default_value_t = 100_000)]
    customers: usize,
    /// Measured CheckCredit calls.
    #[arg(long, default_value_t = 200_000)]
    calls: usize,
    /// Calls before the measurement (not counted).
    #[arg(long, default_value_t = 5_000)]
    warmup: usize,
    /// Calls in flight at once (and connections of the raw commit measurement).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// HTTP/2 connections the calls are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Hot customers (large limits) that many calls go to.
    #[arg(long, default_value_t = 100)]
    hot_customers: usize,
    /// Percent of calls that go to a hot customer.
    #[arg(long, default_value_t = 10)]
    hot_percent: u32,
    /// Percent of calls that ask again for a recent order (same id, same amount).
    #[arg(long, default_value_t = 5)]
    repeat_percent: u32,
    /// Seconds of each raw measurement (gRPC health check, PostgreSQL commits).
    #[arg(long, default_value_t = 5)]
    raw_seconds: u64,
    /// Seed of the customers and of the calls.
    #[arg(long, default_value_t = 20_261_123)]
    seed: u64,
    /// The goal in calls/s.
    #[arg(long, default_value_t = 5_000)]
    goal: u32,
    /// The goal for p99, in milliseconds.
    #[arg(long, default_value_t = 20)]
    goal_p99_ms: u64,
    /// Extra variables for the service, `NAME=VALUE` (e.g.
    /// `OTC_DATABASE__MAX_CONNECTIONS=20`); repeatable.
    #[arg(long = "service-env", value_name = "NAME=VALUE")]
    service_env: Vec<String>,
    /// Keep the database and topics for a look afterwards.
    #[arg(long)]
    keep: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    anyhow::ensure!(
        std::env::var_os("OTC_BIN_DIR").is_some(),
        "set OTC_BIN_DIR to the directory holding the built otc-collections \
         (e.g. target/release); `make bench-credit` builds it and sets it"
    );
    anyhow::ensure!(arguments.customers > 0, "--customers must be at least 1");
    anyhow::ensure!(
        arguments.hot_customers < arguments.customers,
        "--hot-customers must be fewer than --customers"
    );
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("CheckCredit benchmark ({profile} build, {cores} cores)");
    let environment: Vec<(String, String)> = arguments
        .service_env
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .ok_or_else(|| anyhow::anyhow!("--service-env wants NAME=VALUE, got {pair}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let extra: Vec<(&str, &str)> = environment
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let suite = CollectionsSuite::start("bench_credit", &extra).await;
    println!(
        "otc-collections started (database {}, tenant {})",
        suite.database.name, suite.tenant
    );
    let outcome = run(&arguments, &suite).await;
    let service_pid = suite.service.pid().map(|pid| pid.as_raw());
    let ServiceSuite {
        database,
        service,
        namespace,
        ..
    } = suite.suite;
    drop(service);
    let measured = outcome?;
    println!("otc-collections stopped (pid {service_pid:?}); raw PostgreSQL commits next");
    let raw_commits = raw_commits(&arguments).await?;
    if arguments.keep {
        println!("kept: database {}, topics {namespace}*", database.name);
    } else {
        database.drop_database().await;
        if let Err(error) = otc_bench::raw_kafka::delete_namespace_topics(&namespace).await {
            println!("could not delete the topics {namespace}*: {error:#}");
        }
    }
    print_summary(&arguments, &measured, &raw_commits);
    anyhow::ensure!(
        measured.books.iter().all(|check| check.ok),
        "the books are wrong after the run (see above)"
    );
    Ok(())
}

struct Measured {
    seeded: Seeded,
    seeding: Duration,
    checks: LoadRun,
    health: LoadRun,
    service_cpu: Option<Duration>,
    postgres_cpu: Option<Duration>,
    machine_busy: Option<f64>,
    books: Vec<Check>,
}

async fn run(arguments: &Arguments, suite: &CollectionsSuite) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let customers = seed(&suite.database.pool, &suite.tenant, arguments).await?;
    let seeding = started.elapsed();
    let seeded = customers.seeded;
    println!(
        "seeded in {}: {} customers, {} open items, {} approved orders",
        figures::milliseconds(seeding),
        seeded.customers,
        seeded.open_items,
        seeded.orders
    );
    let plan = Arc::new(plan(arguments, &customers.ids));
    let channels = channels(suite, arguments.connections).await?;
    let token = otc_testkit::token(&suite.tenant, &[Role::Service])?;
    let authorization: AsciiMetadataValue = format!("Bearer {token}").parse()?;
    if arguments.warmup > 0 {
        println!("warm-up: {} calls...", arguments.warmup);
        let warmup = check_load(
            &channels,
            &authorization,
            &plan[..arguments.warmup.min(plan.len())],
            arguments.concurrency,
        )
        .await?;
        println!(
            "  {:.0} calls/s, p99 {}",
            warmup.rate(),
            figures::milliseconds(warmup.latencies.at_quantile(0.99))
        );
    }
    println!(
        "measuring: {} CheckCredit calls, {} in flight over {} connections...",
        arguments.calls, arguments.concurrency, arguments.connections
    );
    let postgres = PostgresProcesses::locate(&suite.database.pool).await;
    let service_pid = suite.service.pid().map(|pid| pid.as_raw());
    let before = probes::CpuSample::take(service_pid, postgres.as_ref());
    let checks = check_load(
        &channels,
        &authorization,
        &plan[arguments.warmup.min(plan.len())..],
        arguments.concurrency,
    )
    .await?;
    let after = probes::CpuSample::take(service_pid, postgres.as_ref());
    let usage = after.since(&before, checks.elapsed);
    let service_cpu = after
        .billing
        .zip(before.billing)
        .map(|(now, then)| probes::ticks_to_duration(now.saturating_sub(then)));
    println!(
        "  {:.0} calls/s, p99 {}",
        checks.rate(),
        figures::milliseconds(checks.latencies.at_quantile(0.99))
    );
    println!(
        "raw gRPC: health checks on the same server, {} in flight, {} s...",
        arguments.concurrency, arguments.raw_seconds
    );
    let health = health_load(
        &channels,
        arguments.concurrency,
        Duration::from_secs(arguments.raw_seconds),
    )
    .await?;
    let books = check_books(&suite.database.pool).await?;
    Ok(Measured {
        seeded,
        seeding,
        checks,
        health,
        service_cpu,
        postgres_cpu: usage.postgres,
        machine_busy: usage.machine_busy,
        books,
    })
}

async fn channels(suite: &CollectionsSuite, connections: usize) -> anyhow::Result<Vec<Channel>> {
    let mut channels = Vec::with_capacity(connections.max(1));
    for _ in 0..connections.max(1) {
        channels.push(suite.service.channel().await?);
    }
    Ok(channels)
}

// ---------------------------------------------------------------------------
// Seeding: what the order, billing and payments events and the credit
// managers' limits would have left in the collections database, written
// with one UNNEST statement per table and chunk.

#[derive(Debug, Clone, Copy, Default)]
struct Seeded {
    customers: usize,
    open_items: usize,
    orders: usize,
}

struct Customers {
    ids: Vec<Uuid>,
    seeded: Seeded,
}

#[derive(Default)]
struct Chunk {
    ids: Vec<Uuid>,
    names: Vec<String>,
    statuses: Vec<String>,
    limits: Vec<Decimal>,
    risk_classes: Vec<String>,
    item_ids: Vec<Uuid>,
    item_customers: Vec<Uuid>,
    item_numbers: Vec<String>,
    item_totals: Vec<Decimal>,
    item_open: Vec<Decimal>,
    item_issued: Vec<NaiveDate>,
    item_due: Vec<NaiveDate>,
    movement_items: Vec<Uuid>,
    movement_customers: Vec<Uuid>,
    movement_kinds: Vec<String>,
    movement_documents: Vec<Uuid>,
    movement_event_types: Vec<String>,
    movement_amounts: Vec<Decimal>,
    order_ids: Vec<Uuid>,
    order_customers: Vec<Uuid>,
    order_totals: Vec<Decimal>,
}

fn random_uuid(rng: &mut fastrand::Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.u128(..).to_le_bytes()).into_uuid()
}

fn euros(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

fn days_from(today: NaiveDate, days: i64) -> anyhow::Result<NaiveDate> {
    let shift = Days::new(days.unsigned_abs());
    let date = if days < 0 {
        today.checked_sub_days(shift)
    } else {
        today.checked_add_days(shift)
    };
    date.ok_or_else(|| anyhow::anyhow!("date out of range"))
}

/// One customer: a limit of 10,000-50,000 EUR (hot customers 200,000),
/// 0-3 invoices (a tenth of them partly paid), one in four with an
/// approved order not billed yet; 4% owe more than their limit, 3% have an
/// invoice overdue beyond the 30-day policy and 1% are blocked (holds).
fn customer(
    rng: &mut fastrand::Rng,
    chunk: &mut Chunk,
    index: usize,
    hot: bool,
    today: NaiveDate,
) -> anyhow::Result<()> {
    let id = random_uuid(rng);
    let limit_euros = if hot {
        200_000
    } else {
        1_000 * rng.i64(10..=50)
    };
    let special = rng.u32(0..100);
    chunk.ids.push(id);
    chunk.names.push(format!("Bench Kunde {index} GmbH"));
    chunk.statuses.push(
        if special == 0 && !hot {
            "blocked"
        } else {
            "active"
        }
        .to_owned(),
    );
    chunk.limits.push(euros(limit_euros * 100));
    chunk
        .risk_classes
        .push(["A", "B", "C", "D"][rng.usize(0..4)].to_owned());
    let invoices = rng.usize(0..=3);
    for number in 0..invoices {
        let item = random_uuid(rng);
        let over_limit = !hot && (1..=4).contains(&special) && number == 0;
        let total = if over_limit {
            euros(limit_euros * 110)
        } else {
            euros(rng.i64(10_000..=limit_euros * 100 / 5))
        };
        let overdue = !hot && (5..=7).contains(&special) && number == 0;
        let due = if overdue {
            days_from(today, -45)?
        } else {
            days_from(today, rng.i64(-10..=30))?
        };
        let issued = days_from(due, -30)?;
        chunk.item_ids.push(item);
        chunk.item_customers.push(id);
        chunk.item_numbers.push(format!("INV-B{index:07}-{number}"));
        chunk.item_totals.push(total);
        chunk.item_issued.push(issued);
        chunk.item_due.push(due);
        chunk.movement_items.push(item);
        chunk.movement_customers.push(id);
        chunk.movement_kinds.push("invoice".to_owned());
        chunk.movement_documents.push(item);
        chunk
            .movement_event_types
            .push("otc.billing.v1.InvoiceIssued".to_owned());
        chunk.movement_amounts.push(total);
        let mut open = total;
        if rng.u32(0..10) == 0 {
            let paid = (total / Decimal::TWO).round_dp(2);
            open -= paid;
            chunk.movement_items.push(item);
            chunk.movement_customers.push(id);
            chunk.movement_kinds.push("cash_applied".to_owned());
            chunk.movement_documents.push(random_uuid(rng));
            chunk
                .movement_event_types
                .push("otc.payments.v1.PaymentApplied".to_owned());
            chunk.movement_amounts.push(-paid);
        }
        chunk.item_open.push(open);
    }
    if rng.u32(0..4) == 0 {
        chunk.order_ids.push(random_uuid(rng));
        chunk.order_customers.push(id);
        chunk.order_totals.push(euros(rng.i64(50_000..=500_000)));
    }
    Ok(())
}

async fn seed(pool: &PgPool, tenant: &str, arguments: &Arguments) -> anyhow::Result<Customers> {
    println!(
        "seeding {} customers ({} hot) with limits, open items and orders...",
        arguments.customers, arguments.hot_customers
    );
    let tenant_id = otc_testkit::tenant(tenant);
    let mut rng = fastrand::Rng::with_seed(arguments.seed);
    let today = Utc::now().date_naive();
    let mut ids = Vec::with_capacity(arguments.customers);
    let mut seeded = Seeded::default();
    let mut next = 0;
    while next < arguments.customers {
        let end = (next + SEED_CHUNK).min(arguments.customers);
        let mut chunk = Chunk::default();
        for index in next..end {
            customer(
                &mut rng,
                &mut chunk,
                index,
                index < arguments.hot_customers,
                today,
            )?;
        }
        let mut tx = otc_shared::db::begin_for_tenant(pool, &tenant_id).await?;
        write_chunk(&mut tx, tenant, &chunk).await?;
        tx.commit().await?;
        seeded.customers += chunk.ids.len();
        seeded.open_items += chunk.item_ids.len();
        seeded.orders += chunk.order_ids.len();
        ids.extend_from_slice(&chunk.ids);
        next = end;
        println!(
            "  {next}/{} customers, {} open items, {} orders",
            arguments.customers, seeded.open_items, seeded.orders
        );
    }
    // What autovacuum would have done by the time a real ledger is this big.
    for table in [
        "customers",
        "credit_limits",
        "credit_status",
        "open_items",
        "ledger_movements",
        "unbilled_orders",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}")))
            .execute(pool)
            .await?;
    }
    Ok(Customers { ids, seeded })
}

async fn write_chunk(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant: &str,
    chunk: &Chunk,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO customers (tenant, id, legal_name, currency, segment, status, master_version, tax_region)
         SELECT $1, id, name, 'EUR', 'smb', status, 1, 'DE'
           FROM UNNEST($2::uuid[], $3::text[], $4::text[]) AS c(id, name, status)",
    )
    .bind(tenant)
    .bind(&chunk.ids)
    .bind(&chunk.names)
    .bind(&chunk.statuses)
    .execute(&mut **tx)
    .await?;
    // As SetCreditLimit writes them: the limit, its history row, the audit record.
    sqlx::query(
        "WITH limits AS (
             INSERT INTO credit_limits (tenant, customer_id, amount, currency, risk_class, updated_by)
             SELECT $1, id, amount, $4, risk_class, 'bench-credit-manager'
               FROM UNNEST($2::uuid[], $3::numeric[], $5::text[]) AS l(id, amount, risk_class)
             RETURNING customer_id, amount, currency, risk_class, version),
         history AS (
             INSERT INTO credit_limit_history
                 (tenant, id, customer_id, amount, currency, risk_class, version, reason, changed_by)
             SELECT $1, gen_random_uuid(), customer_id, amount, currency, risk_class, version,
                    'benchmark seed', 'bench-credit-manager'
               FROM limits)
         INSERT INTO audit_log (tenant, actor, action, entity_type, entity_id, before_state, after_state)
         SELECT $1, 'bench-credit-manager', 'credit_limit.set', 'customer_credit', customer_id::text, NULL,
                jsonb_build_object('amount', amount::text, 'currency', currency,
                                   'risk_class', risk_class, 'version', version,
                                   'reason', 'benchmark seed')
           FROM limits",
    )
    .bind(tenant)
    .bind(&chunk.ids)
    .bind(&chunk.limits)
    .bind(CURRENCY)
    .bind(&chunk.risk_classes)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO open_items
             (tenant, id, customer_id, kind, number, currency, original_amount, open_amount,
              issue_date, due_date, issued_at)
         SELECT $1, id, customer_id, 'invoice', number, $2, total, open, issued, due, issued::timestamptz
           FROM UNNEST($3::uuid[], $4::uuid[], $5::text[], $6::numeric[], $7::numeric[],
                       $8::date[], $9::date[]) AS i(id, customer_id, number, total, open, issued, due)",
    )
    .bind(tenant)
    .bind(CURRENCY)
    .bind(&chunk.item_ids)
    .bind(&chunk.item_customers)
    .bind(&chunk.item_numbers)
    .bind(&chunk.item_totals)
    .bind(&chunk.item_open)
    .bind(&chunk.item_issued)
    .bind(&chunk.item_due)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO ledger_movements
             (tenant, id, item_id, customer_id, kind, document_id, event_id, event_type, currency,
              amount, occurred_at, posted_at)
         SELECT $1, gen_random_uuid(), item_id, customer_id, kind, document_id,
                gen_random_uuid()::text, event_type, $2, amount, now(), now()
           FROM UNNEST($3::uuid[], $4::uuid[], $5::text[], $6::uuid[], $7::text[], $8::numeric[])
                AS m(item_id, customer_id, kind, document_id, event_type, amount)",
    )
    .bind(tenant)
    .bind(CURRENCY)
    .bind(&chunk.movement_items)
    .bind(&chunk.movement_customers)
    .bind(&chunk.movement_kinds)
    .bind(&chunk.movement_documents)
    .bind(&chunk.movement_event_types)
    .bind(&chunk.movement_amounts)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO unbilled_orders (tenant, order_id, customer_id, currency, order_total, state)
         SELECT $1, order_id, customer_id, $2, total, 'approved'
           FROM UNNEST($3::uuid[], $4::uuid[], $5::numeric[]) AS o(order_id, customer_id, total)",
    )
    .bind(tenant)
    .bind(CURRENCY)
    .bind(&chunk.order_ids)
    .bind(&chunk.order_customers)
    .bind(&chunk.order_totals)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The calls: mostly distinct customers (a shuffled walk through all of
// them), `--hot-percent` to the hot ones, `--repeat-percent` asking again
// for one of the last thousand orders with its id and amount.

#[derive(Debug, Clone)]
struct Call {
    customer_id: String,
    order_id: String,
    amount: String,
}

fn plan(arguments: &Arguments, customers: &[Uuid]) -> Vec<Call> {
    let mut rng = fastrand::Rng::with_seed(arguments.seed.wrapping_add(1));
    let hot = arguments.hot_customers.min(customers.len());
    let mut walk: Vec<usize> = (hot..customers.len()).collect();
    rng.shuffle(&mut walk);
    let total = arguments.warmup + arguments.calls;
    let mut calls: Vec<Call> = Vec::with_capacity(total);
    let mut position = 0;
    for _ in 0..total {
        let repeat = !calls.is_empty() && rng.u32(0..100) < arguments.repeat_percent;
        if repeat {
            let back = rng.usize(1..=calls.len().min(1_000));
            let earlier = calls[calls.len() - back].clone();
            calls.push(earlier);
            continue;
        }
        let customer = if hot > 0 && rng.u32(0..100) < arguments.hot_percent {
            rng.usize(0..hot)
        } else if walk.is_empty() {
            rng.usize(0..customers.len())
        } else {
            let chosen = walk[position % walk.len()];
            position += 1;
            chosen
        };
        calls.push(Call {
            customer_id: customers[customer].to_string(),
            order_id: Uuid::now_v7().to_string(),
            amount: euros(rng.i64(5_000..=300_000)).to_string(),
        });
    }
    calls
}

struct LoadRun {
    calls: usize,
    elapsed: Duration,
    latencies: Latencies,
    approved: usize,
    held: usize,
    /// Status code -> count, with the first message of each.
    errors: BTreeMap<String, (usize, String)>,
}

impl LoadRun {
    fn rate(&self) -> f64 {
        figures::per_second(self.calls, self.elapsed)
    }

    fn error_count(&self) -> usize {
        self.errors.values().map(|(count, _)| count).sum()
    }
}

struct TaskTally {
    latencies: Latencies,
    calls: usize,
    approved: usize,
    held: usize,
    errors: BTreeMap<String, (usize, String)>,
}

impl TaskTally {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            latencies: Latencies::new()?,
            calls: 0,
            approved: 0,
            held: 0,
            errors: BTreeMap::new(),
        })
    }

    fn error(&mut self, status: &tonic::Status) {
        let entry = self
            .errors
            .entry(format!("{:?}", status.code()))
            .or_insert_with(|| (0, status.message().to_owned()));
        entry.0 += 1;
    }
}

fn merge(tallies: Vec<TaskTally>, elapsed: Duration) -> anyhow::Result<LoadRun> {
    let mut run = LoadRun {
        calls: 0,
        elapsed,
        latencies: Latencies::new()?,
        approved: 0,
        held: 0,
        errors: BTreeMap::new(),
    };
    for tally in tallies {
        run.calls += tally.calls;
        run.approved += tally.approved;
        run.held += tally.held;
        run.latencies.merge(&tally.latencies)?;
        for (code, (count, message)) in tally.errors {
            run.errors.entry(code).or_insert((0, message)).0 += count;
        }
    }
    Ok(run)
}

/// Runs `calls` with `concurrency` tasks, each taking the next call as
/// soon as its previous one is answered.
async fn check_load(
    channels: &[Channel],
    authorization: &AsciiMetadataValue,
    calls: &[Call],
    concurrency: usize,
) -> anyhow::Result<LoadRun> {
    let calls: Arc<Vec<Call>> = Arc::new(calls.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency.max(1) {
        let mut client = CreditServiceClient::new(channels[task % channels.len()].clone());
        let calls = Arc::clone(&calls);
        let next = Arc::clone(&next);
        let authorization = authorization.clone();
        tasks.spawn(async move {
            let mut tally = TaskTally::new()?;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(call) = calls.get(index) else {
                    break;
                };
                let mut request = Request::new(CheckCreditRequest {
                    customer_id: call.customer_id.clone(),
                    order_id: call.order_id.clone(),
                    order_amount: Some(Money {
                        amount: call.amount.clone(),
                        currency_code: CURRENCY.to_owned(),
                    }),
                });
                request
                    .metadata_mut()
                    .insert("authorization", authorization.clone());
                let one = Instant::now();
                let answer = client.check_credit(request).await;
                tally.latencies.record(one.elapsed())?;
                tally.calls += 1;
                match answer {
                    Ok(response) => match CreditDecision::try_from(response.get_ref().decision) {
                        Ok(CreditDecision::Approve) => tally.approved += 1,
                        Ok(CreditDecision::Hold) => tally.held += 1,
                        _ => tally.error(&tonic::Status::unknown("no decision in the answer")),
                    },
                    Err(status) => tally.error(&status),
                }
            }
            anyhow::Ok(tally)
        });
    }
    let mut tallies = Vec::with_capacity(concurrency);
    while let Some(joined) = tasks.join_next().await {
        tallies.push(joined??);
    }
    merge(tallies, started.elapsed())
}

/// The raw gRPC limit: the health check (no auth, no database) on the same
/// server, with the same concurrency, for `duration`.
async fn health_load(
    channels: &[Channel],
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<LoadRun> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency.max(1) {
        let mut client = HealthClient::new(channels[task % channels.len()].clone());
        tasks.spawn(async move {
            let mut tally = TaskTally::new()?;
            while Instant::now() < deadline {
                let one = Instant::now();
                let answer = client
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await;
                tally.latencies.record(one.elapsed())?;
                tally.calls += 1;
                if let Err(status) = answer {
                    tally.error(&status);
                }
            }
            anyhow::Ok(tally)
        });
    }
    let mut tallies = Vec::with_capacity(concurrency);
    while let Some(joined) = tasks.join_next().await {
        tallies.push(joined??);
    }
    merge(tallies, started.elapsed())
}

struct RawCommits {
    settings: String,
    run: CommitRun,
}

async fn raw_commits(arguments: &Arguments) -> anyhow::Result<RawCommits> {
    let scratch = Scratch::create(arguments.concurrency).await?;
    let run = scratch
        .commit_loop(
            arguments.concurrency,
            Duration::from_secs(arguments.raw_seconds),
        )
        .await;
    let settings = scratch.settings.clone();
    scratch.drop_database().await;
    Ok(RawCommits {
        settings,
        run: run?,
    })
}

// ---------------------------------------------------------------------------
// The books after the run (not timed).

struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
}

async fn check_books(pool: &PgPool) -> anyhow::Result<Vec<Check>> {
    let mut tx = otc_shared::db::begin_for_all_tenants(pool).await?;
    // Every customer with an order approved by a check is within its limit
    // (receivables + approved orders not billed yet).
    let over: i64 = sqlx::query_scalar(
        "WITH receivables AS (
              SELECT tenant, customer_id, SUM(open_amount) AS amount FROM open_items GROUP BY 1, 2),
              orders AS (
              SELECT tenant, customer_id, SUM(unbilled) AS amount,
                     bool_or(state = 'reserved') AS approved_by_check
                FROM unbilled_orders GROUP BY 1, 2)
         SELECT count(*) FROM orders o
           JOIN credit_limits l ON l.tenant = o.tenant AND l.customer_id = o.customer_id
           LEFT JOIN receivables r ON r.tenant = o.tenant AND r.customer_id = o.customer_id
          WHERE o.approved_by_check AND COALESCE(r.amount, 0) + o.amount > l.amount",
    )
    .fetch_one(&mut *tx)
    .await?;
    let approved_customers: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT customer_id) FROM unbilled_orders WHERE state = 'reserved'",
    )
    .fetch_one(&mut *tx)
    .await?;
    let on_hold: i64 = sqlx::query_scalar("SELECT count(*) FROM credit_status WHERE on_hold")
        .fetch_one(&mut *tx)
        .await?;
    let held_events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE event_type = 'otc.collections.v1.CustomerCreditHeld'",
    )
    .fetch_one(&mut *tx)
    .await?;
    let held_audits: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'credit.held'")
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(vec![
        Check {
            name: "no customer approved beyond its limit",
            ok: over == 0,
            detail: format!("{over} of {approved_customers} customers with approved orders over"),
        },
        Check {
            name: "each hold told once: one CustomerCreditHeld and one audit record per held customer",
            ok: on_hold == held_events && on_hold == held_audits,
            detail: format!(
                "{on_hold} customers on hold, {held_events} events in the outbox, {held_audits} audit records"
            ),
        },
    ])
}

// ---------------------------------------------------------------------------

fn print_summary(arguments: &Arguments, measured: &Measured, raw: &RawCommits) {
    let checks = &measured.checks;
    let rate = checks.rate();
    let health_rate = measured.health.rate();
    let commit_rate = raw.run.rate();
    let p99 = checks.latencies.at_quantile(0.99);
    println!();
    println!("== CheckCredit through otc-collections (gRPC, PostgreSQL) ==");
    println!(
        "  data         {} customers ({} hot), {} open items, {} approved orders (seeded in {})",
        measured.seeded.customers,
        arguments.hot_customers,
        measured.seeded.open_items,
        measured.seeded.orders,
        figures::milliseconds(measured.seeding)
    );
    println!(
        "  load         {} calls, {} in flight over {} connections, {}% to hot customers, {}% repeated order ids",
        checks.calls,
        arguments.concurrency,
        arguments.connections,
        arguments.hot_percent,
        arguments.repeat_percent
    );
    println!(
        "  throughput   {rate:.0} calls/s ({} calls in {})  goal {} -> {:.2}x",
        checks.calls,
        figures::milliseconds(checks.elapsed),
        arguments.goal,
        figures::ratio(rate, f64::from(arguments.goal))
    );
    println!(
        "  latency      p50 {}  p95 {}  p99 {}  max {}  (goal p99 < {} ms)",
        figures::milliseconds(checks.latencies.at_quantile(0.50)),
        figures::milliseconds(checks.latencies.at_quantile(0.95)),
        figures::milliseconds(p99),
        figures::milliseconds(checks.latencies.max()),
        arguments.goal_p99_ms
    );
    println!(
        "  decisions    {} approved, {} held, {} errors",
        checks.approved,
        checks.held,
        checks.error_count()
    );
    for (code, (count, message)) in &checks.errors {
        println!("    {count} x {code}: {message}");
    }
    let cpu = |cpu: Option<Duration>| {
        cpu.map_or("n/a".to_owned(), |cpu| {
            format!(
                "{:.1} s ({:.0}% of a core)",
                cpu.as_secs_f64(),
                100.0 * cpu.as_secs_f64() / checks.elapsed.as_secs_f64().max(0.001)
            )
        })
    };
    println!(
        "  CPU          otc-collections {}, PostgreSQL {}, machine {} busy",
        cpu(measured.service_cpu),
        cpu(measured.postgres_cpu),
        measured
            .machine_busy
            .map_or("n/a".to_owned(), |busy| format!("{busy:.0}%"))
    );
    println!(
        "== raw limits, same run, same concurrency ({}) ==",
        arguments.concurrency
    );
    println!(
        "  gRPC health check on the same server   {health_rate:.0} calls/s, p50 {}  p99 {}  ({} errors)",
        figures::milliseconds(measured.health.latencies.at_quantile(0.50)),
        figures::milliseconds(measured.health.latencies.at_quantile(0.99)),
        measured.health.error_count()
    );
    println!(
        "  PostgreSQL single-row commits          {commit_rate:.0} commits/s on {} connections ({})",
        raw.run.connections, raw.settings
    );
    println!(
        "  ratio        CheckCredit / health check = {:.3}, CheckCredit / raw commits = {:.3}",
        figures::ratio(rate, health_rate),
        figures::ratio(rate, commit_rate)
    );
    let met =
        rate >= f64::from(arguments.goal) && p99 < Duration::from_millis(arguments.goal_p99_ms);
    println!(
        "  goal         {} ({rate:.0}/s against {}/s, p99 {} against {} ms)",
        if met { "met" } else { "NOT met" },
        arguments.goal,
        figures::milliseconds(p99),
        arguments.goal_p99_ms
    );
    println!("== books ==");
    for check in &measured.books {
        println!(
            "  {}  {} ({})",
            if check.ok { "ok  " } else { "FAIL" },
            check.name,
            check.detail
        );
    }
}

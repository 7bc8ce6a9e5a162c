//! Dunning run benchmark: one run over `--items` open items (default
//! 1,000,000) of `--customers` customers (default 100,000), notices
//! generated and written but not sent (no delivery worker runs), through
//! the collections service's own run code against a real PostgreSQL.
//!
//! Item ages are spread so that every level of a four-level strategy
//! (-3, +7, +21, +45 days) fires; a share of the items is disputed or
//! promised, as in a real ledger. It prints the run's time and rates, the
//! raw limit (a plain scan of the same open items) and the ratio, then
//! runs again on the same day to show that nothing is dunned twice. It
//! never fails on a figure.
#![allow(
    clippy::print_stdout,
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    clippy::as_conversions,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta};
use clap::Parser;
use rust_decimal::Decimal;
use uuid::Uuid;

use otc_bench::figures;
use otc_collections::commands::Actor;
use otc_collections::domain::dunning::{Channel, Level};
use otc_collections::dunning::run::{DunningRunner, ON_DEMAND};
use otc_collections::dunning::settings::DunningSettings;
use otc_collections::store::dunning as store;
use otc_shared::TenantId;
use otc_testkit::TestDatabase;

#[derive(Debug, Parser)]
#[command(
    about = "A dunning run over a million open items: time, items/s, notices/s, beside a raw scan"
)]
struct Arguments {
    /// Customers with open items.
    #[arg(long, default_value_t = 100_000)]
    customers: usize,
    /// Open items, spread evenly over the customers.
    #[arg(long, default_value_t = 1_000_000)]
    items: usize,
    /// Customers per run batch (one transaction each).
    #[arg(long, default_value_t = 2_000)]
    batch_customers: i64,
    /// Percent of items under an open dispute, and again under an open promise.
    #[arg(long, default_value_t = 2)]
    skipped_percent: usize,
    /// The goal for one run, in seconds.
    #[arg(long, default_value_t = 60)]
    goal_seconds: u64,
    /// Keep the database for a look afterwards.
    #[arg(long)]
    keep: bool,
}

const TENANT: &str = "benchdunning";
const SEED_CHUNK: usize = 50_000;

fn progress(label: &str, done: usize, total: usize, started: Instant) {
    println!(
        "  {label}: {done:>9} / {total} ({:.0}/s)",
        figures::per_second(done, started.elapsed())
    );
}

async fn seed(
    database: &TestDatabase,
    arguments: &Arguments,
    as_of: NaiveDate,
) -> anyhow::Result<()> {
    let pool = &database.pool;
    let tenant = TenantId::parse(TENANT)?;
    println!(
        "seeding {} customers and {} open items",
        arguments.customers, arguments.items
    );
    let started = Instant::now();
    let customers: Vec<Uuid> = (0..arguments.customers).map(|_| Uuid::now_v7()).collect();
    for (chunk_index, chunk) in customers.chunks(SEED_CHUNK).enumerate() {
        let names: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(index, _)| format!("Customer {:06} GmbH", chunk_index * SEED_CHUNK + index))
            .collect();
        let emails: Vec<String> = chunk
            .iter()
            .map(|id| format!("ap-{}@customer.bench", id.simple()))
            .collect();
        let mut tx = otc_shared::db::begin_for_tenant(pool, &tenant).await?;
        sqlx::query(
            "INSERT INTO customers (tenant, id, legal_name, currency, segment, status, master_version)
             SELECT $1, id, name, 'EUR', 'smb', 'ACTIVE', 1 FROM UNNEST($2::uuid[], $3::text[]) AS c(id, name)",
        )
        .bind(TENANT)
        .bind(chunk)
        .bind(&names)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO dunning_contacts (tenant, customer_id, email, updated_by)
             SELECT $1, id, email, 'bench' FROM UNNEST($2::uuid[], $3::text[]) AS c(id, email)",
        )
        .bind(TENANT)
        .bind(chunk)
        .bind(&emails)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    progress("customers", customers.len(), customers.len(), started);

    let started = Instant::now();
    let mut written = 0;
    let mut disputed = Vec::new();
    let mut promised = Vec::new();
    let every = (100 / arguments.skipped_percent.clamp(1, 100)).max(1);
    while written < arguments.items {
        let count = SEED_CHUNK.min(arguments.items - written);
        let mut ids = Vec::with_capacity(count);
        let mut owners = Vec::with_capacity(count);
        let mut numbers = Vec::with_capacity(count);
        let mut amounts = Vec::with_capacity(count);
        let mut due_dates = Vec::with_capacity(count);
        for offset in 0..count {
            let index = written + offset;
            let id = Uuid::now_v7();
            ids.push(id);
            owners.push(customers[index % customers.len()]);
            numbers.push(format!("INV-{index:08}"));
            amounts.push(Decimal::new(1_000 + (index as i64 % 97_000), 2));
            // Ages from 10 days before the due date to 80 days after it.
            due_dates.push(as_of - TimeDelta::days((index as i64 * 7919) % 91 - 10));
            if index % every == 1 {
                disputed.push((id, owners[offset], amounts[offset]));
            } else if index % every == 2 {
                promised.push((id, owners[offset], amounts[offset]));
            }
        }
        let mut tx = otc_shared::db::begin_for_tenant(pool, &tenant).await?;
        sqlx::query(
            "INSERT INTO open_items (tenant, id, customer_id, kind, number, currency, original_amount,
                 open_amount, issue_date, due_date, issued_at)
             SELECT $1, id, customer_id, 'invoice', number, 'EUR', amount, amount,
                 due_date - 30, due_date, now()
             FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::numeric[], $6::date[])
                 AS i(id, customer_id, number, amount, due_date)",
        )
        .bind(TENANT)
        .bind(&ids)
        .bind(&owners)
        .bind(&numbers)
        .bind(&amounts)
        .bind(&due_dates)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        written += count;
        if written % 200_000 == 0 || written == arguments.items {
            progress("open items", written, arguments.items, started);
        }
    }

    let started = Instant::now();
    let mut tx = otc_shared::db::begin_for_tenant(pool, &tenant).await?;
    for chunk in disputed.chunks(SEED_CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
        let items: Vec<Uuid> = chunk.iter().map(|(item, _, _)| *item).collect();
        let owners: Vec<Uuid> = chunk.iter().map(|(_, owner, _)| *owner).collect();
        let amounts: Vec<Decimal> = chunk.iter().map(|(_, _, amount)| *amount).collect();
        sqlx::query(
            "INSERT INTO disputes (tenant, id, request_key, customer_id, reason_code, currency, amount,
                 state, sla_due_date, source, opened_by)
             SELECT $1, id, 'bench:' || id, customer_id, 'pricing', 'EUR', amount, 'open',
                 current_date + 10, 'manual', 'bench'
             FROM UNNEST($2::uuid[], $3::uuid[], $4::numeric[]) AS d(id, customer_id, amount)",
        )
        .bind(TENANT)
        .bind(&ids)
        .bind(&owners)
        .bind(&amounts)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO dispute_items (tenant, dispute_id, item_id, amount)
             SELECT $1, * FROM UNNEST($2::uuid[], $3::uuid[], $4::numeric[])",
        )
        .bind(TENANT)
        .bind(&ids)
        .bind(&items)
        .bind(&amounts)
        .execute(&mut *tx)
        .await?;
    }
    for chunk in promised.chunks(SEED_CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
        let items: Vec<Uuid> = chunk.iter().map(|(item, _, _)| *item).collect();
        let owners: Vec<Uuid> = chunk.iter().map(|(_, owner, _)| *owner).collect();
        let amounts: Vec<Decimal> = chunk.iter().map(|(_, _, amount)| *amount).collect();
        sqlx::query(
            "INSERT INTO promises_to_pay (tenant, id, request_key, customer_id, currency, amount,
                 promised_date, state, recorded_by)
             SELECT $1, id, 'bench:' || id, customer_id, 'EUR', amount, $5, 'open', 'bench'
             FROM UNNEST($2::uuid[], $3::uuid[], $4::numeric[]) AS p(id, customer_id, amount)",
        )
        .bind(TENANT)
        .bind(&ids)
        .bind(&owners)
        .bind(&amounts)
        .bind(as_of + TimeDelta::days(30))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO promise_items (tenant, promise_id, item_id)
             SELECT $1, * FROM UNNEST($2::uuid[], $3::uuid[])",
        )
        .bind(TENANT)
        .bind(&ids)
        .bind(&items)
        .execute(&mut *tx)
        .await?;
    }
    let levels = [(1, -3), (2, 7), (3, 21), (4, 45)].map(|(level, days)| Level {
        level,
        days_after_due: days,
        channel: Channel::Email,
        subject_template: String::new(),
        body_template: String::new(),
        fee: None,
        interest_rate: (level >= 2).then(|| Decimal::new(8, 0)),
    });
    store::put_strategy(&mut tx, TENANT, "", "standard", &levels, "bench").await?;
    tx.commit().await?;
    println!(
        "  {} disputed and {} promised items, strategy set ({:.1} s)",
        disputed.len(),
        promised.len(),
        started.elapsed().as_secs_f64()
    );
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

/// The raw limit: one plain scan of what a run reads.
async fn raw_scan(database: &TestDatabase) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut tx = otc_shared::db::begin_for_all_tenants(&database.pool).await?;
    let (count, sum): (i64, Decimal) = sqlx::query_as(
        "SELECT count(*), COALESCE(sum(open_amount), 0) FROM open_items WHERE open_amount > 0",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let elapsed = started.elapsed();
    println!(
        "raw scan: {count} open items, {sum} EUR open, {:.2} s",
        elapsed.as_secs_f64()
    );
    Ok(elapsed)
}

async fn timed_run(
    runner: &DunningRunner,
    database: &TestDatabase,
    as_of: NaiveDate,
    label: &str,
) -> anyhow::Result<(store::RunRow, Duration)> {
    let tenant = TenantId::parse(TENANT)?;
    let actor = Actor::new(tenant.clone(), "bench");
    let started = Instant::now();
    let run = runner
        .start(&actor, as_of, ON_DEMAND)
        .await?
        .expect("an on-demand run is always recorded");
    let pool = database.pool.clone();
    let run_id = run.id;
    let watcher = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let Ok(mut tx) = otc_shared::db::begin_for_all_tenants(&pool).await else {
                continue;
            };
            let row: Option<(i64, i64)> = sqlx::query_as(
                "SELECT items_considered, notices_created FROM dunning_runs WHERE id = $1",
            )
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await
            .ok()
            .flatten();
            let _ = tx.commit().await;
            if let Some((considered, notices)) = row {
                println!("  ... {considered} items considered, {notices} notices written");
            }
        }
    });
    let finished = runner.execute(&tenant, run.id).await?;
    watcher.abort();
    let elapsed = started.elapsed();
    println!(
        "{label}: {:.2} s, {} items considered ({:.0}/s), {} dunned, {} notices ({:.0}/s), skipped {} disputed and {} promised",
        elapsed.as_secs_f64(),
        finished.items_considered,
        figures::per_second(finished.items_considered as usize, elapsed),
        finished.items_dunned,
        finished.notices_created,
        figures::per_second(finished.notices_created as usize, elapsed),
        finished.items_skipped_disputed,
        finished.items_skipped_promised,
    );
    Ok((finished, elapsed))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    anyhow::ensure!(arguments.customers > 0, "--customers must be above 0");
    anyhow::ensure!(
        arguments.items >= arguments.customers,
        "--items must be at least --customers"
    );
    let database = TestDatabase::create("bench_dunning").await?;
    otc_collections::MIGRATOR.run(&database.pool).await?;
    let as_of = chrono::Utc::now().date_naive();
    seed(&database, &arguments, as_of).await?;
    let raw = raw_scan(&database).await?;

    let settings = DunningSettings {
        batch_customers: arguments.batch_customers,
        ..DunningSettings::default()
    };
    settings.check()?;
    let runner = DunningRunner::new(database.pool.clone(), settings);
    println!(
        "dunning run as of {as_of} ({} customers per batch)",
        arguments.batch_customers
    );
    let (first, elapsed) = timed_run(&runner, &database, as_of, "first run").await?;
    let (second, again) = timed_run(&runner, &database, as_of, "same day again").await?;

    let mut tx = otc_shared::db::begin_for_all_tenants(&database.pool).await?;
    let (rows, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT (item_id, level)) FROM dunning_notice_items",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;

    println!();
    println!(
        "== dunning run, {} open items of {} customers ==",
        arguments.items, arguments.customers
    );
    println!(
        "run:        {:.2} s (goal under {} s: {})",
        elapsed.as_secs_f64(),
        arguments.goal_seconds,
        if elapsed < Duration::from_secs(arguments.goal_seconds) {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "rates:      {:.0} items/s, {:.0} notices/s ({} notices for {} items)",
        figures::per_second(first.items_considered as usize, elapsed),
        figures::per_second(first.notices_created as usize, elapsed),
        first.notices_created,
        first.items_dunned
    );
    println!(
        "raw limit:  one scan of the open items in {:.2} s; the run takes {:.1}x that",
        raw.as_secs_f64(),
        figures::ratio(elapsed.as_secs_f64(), raw.as_secs_f64())
    );
    println!(
        "again:      {:.2} s, {} notices (nothing is dunned twice)",
        again.as_secs_f64(),
        second.notices_created
    );
    println!(
        "books:      {rows} notice items, {distinct} distinct (item, level) pairs{}",
        if rows == distinct && rows == first.items_dunned {
            ""
        } else {
            "  <-- MISMATCH"
        }
    );
    if arguments.keep {
        println!("database kept: {}", database.url);
    } else {
        database.drop_database().await;
    }
    Ok(())
}

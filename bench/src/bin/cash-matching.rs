//! Cash application benchmark, in two parts.
//!
//! 1. The matching engine alone: receipts matched per second on one core
//!    against an index of `--open-invoices` (default 1,000,000) open
//!    invoices and `--customers` customers from the labelled data set, with
//!    per-receipt latency percentiles and the auto-match figures.
//! 2. Through the payments service (a real process, PostgreSQL, Kafka):
//!    customers and invoices are projected from the topics, then camt.053
//!    files of `--statement-lines` lines are imported over gRPC; it measures
//!    statement lines imported (and cash-applied) per second and checks the
//!    books afterwards. It never fails on a figure.
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

use clap::Parser;
use futures::future::join_all;
use rust_decimal::Decimal;

use otc_bench::figures::{self, Latencies};
use otc_cash_matching::dataset::{self, DataSet};
use otc_cash_matching::{Policy, propose};
use otc_proto::payments::ImportStatementRequest;
use otc_shared::auth::Role;
use otc_testkit::payments::{IssuedInvoice, PaymentsSuite};
use otc_testkit::statements::{Line, camt053};
use otc_testkit::suite::ServiceSuite;

#[derive(Debug, Parser)]
#[command(
    about = "Receipts matched/s against a million open invoices, and statement lines imported/s through the payments service"
)]
struct Arguments {
    /// Open invoices in the engine's index.
    #[arg(long, default_value_t = 1_000_000)]
    open_invoices: usize,
    /// Customers in the engine's index.
    #[arg(long, default_value_t = 100_000)]
    customers: usize,
    /// Receipts matched by the engine.
    #[arg(long, default_value_t = 100_000)]
    receipts: usize,
    /// Seed of the data set.
    #[arg(long, default_value_t = 20_261_123)]
    seed: u64,
    /// The figure to compare against, in receipts/s.
    #[arg(long, default_value_t = 20_000)]
    goal: u32,
    /// Statement lines imported through the service (0 skips part 2).
    #[arg(long, default_value_t = 10_000)]
    statement_lines: usize,
    /// Lines per camt.053 file.
    #[arg(long, default_value_t = 2_000)]
    lines_per_file: usize,
    /// Customers projected into the service for part 2.
    #[arg(long, default_value_t = 2_000)]
    service_customers: usize,
    /// Keep the database and topics for a look afterwards.
    #[arg(long)]
    keep: bool,
}

struct EngineFigures {
    receipts: usize,
    elapsed: Duration,
    latencies: Latencies,
    automatic: usize,
    index_build: Duration,
}

fn engine(arguments: &Arguments) -> anyhow::Result<EngineFigures> {
    println!(
        "part 1: generating {} customers, {} open invoices and {} receipts (seed {})...",
        arguments.customers, arguments.open_invoices, arguments.receipts, arguments.seed
    );
    let data: DataSet = dataset::generate(
        arguments.seed,
        arguments.customers,
        arguments.open_invoices,
        arguments.receipts,
    );
    let started = Instant::now();
    let index = data.index();
    let index_build = started.elapsed();
    println!(
        "  index of {} open invoices built in {}",
        index.len(),
        figures::milliseconds(index_build)
    );
    let policy = Policy::default();
    let mut latencies = Latencies::new()?;
    let mut automatic = 0;
    let started = Instant::now();
    for (done, labelled) in data.receipts.iter().enumerate() {
        let one = Instant::now();
        let proposals = propose(&index, &labelled.receipt, &policy);
        latencies.record(one.elapsed())?;
        if proposals
            .first()
            .is_some_and(|best| best.is_automatic(&policy))
        {
            automatic += 1;
        }
        if (done + 1) % 25_000 == 0 {
            println!("  {} receipts matched...", done + 1);
        }
    }
    let elapsed = started.elapsed();
    let quality = dataset::evaluate(&index, &data.receipts, &policy);
    println!("{quality}");
    Ok(EngineFigures {
        receipts: data.receipts.len(),
        elapsed,
        latencies,
        automatic,
        index_build,
    })
}

struct ServiceFigures {
    lines: usize,
    files: usize,
    elapsed: Duration,
    file_latencies: Latencies,
    auto_applied: u32,
    exceptions: u32,
    books: Vec<(String, bool)>,
}

/// A line of the statement: most carry a number, some only the payer's
/// IBAN or name, a few come from strangers.
fn statement_line(
    index: usize,
    customer: &(String, String, String),
    invoice: &(String, String),
) -> Line {
    let (_, name, iban) = customer;
    let (number, total) = invoice;
    let reference = format!("L{index}");
    match index % 20 {
        0 => Line::credit(
            &reference,
            "13.37",
            "Stranger Things Ltd",
            "GB33BUKB20201555555555",
            "donation",
        ),
        1..=3 => Line::credit(&reference, total, name, iban, "payment"),
        4 => Line::credit(
            &reference,
            total,
            &name.to_uppercase(),
            "FR1420041010050500013M02606",
            "see invoice",
        ),
        _ => Line::credit(
            &reference,
            total,
            name,
            iban,
            &format!("Invoice {number} thank you"),
        ),
    }
}

async fn service(arguments: &Arguments) -> anyhow::Result<ServiceFigures> {
    println!(
        "part 2: starting otc-payments, projecting {} customers and {} invoices...",
        arguments.service_customers, arguments.statement_lines
    );
    let suite = PaymentsSuite::start(
        "bench_pay",
        &[("OTC_PAYMENTS__REMATCH_INTERVAL_SECONDS", "3600")],
    )
    .await;
    let customers: Vec<(String, String, String)> = (0..arguments.service_customers.max(1))
        .map(|index| {
            let id = uuid::Uuid::now_v7().to_string();
            // Valid German IBANs: a fixed bank code, the account number varies.
            let account = format!("{:010}", 1_000_000 + index);
            let iban = german_iban("37040044", &account);
            (id, format!("Kunde {index} Handels GmbH"), iban)
        })
        .collect();
    let suite_ref = &suite;
    for chunk in customers.chunks(500) {
        join_all(chunk.iter().map(|(id, name, iban)| async move {
            suite_ref.customer(id, name, &[iban.as_str()]).await;
        }))
        .await;
    }
    let invoices: Vec<(String, String)> = (0..arguments.statement_lines)
        .map(|index| {
            (
                format!("INV-2026-{:06}", index + 1),
                format!("{}.{:02}", 100 + (index * 37) % 9_000, index % 100),
            )
        })
        .collect();
    let ids: Vec<String> = invoices
        .iter()
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let customers_ref = &customers;
    let ids_ref = &ids;
    for (chunk_index, chunk) in invoices.chunks(500).enumerate() {
        join_all(
            chunk
                .iter()
                .enumerate()
                .map(|(offset, (number, total))| async move {
                    let index = chunk_index * 500 + offset;
                    let customer = &customers_ref[index % customers_ref.len()];
                    suite_ref
                        .invoice(&IssuedInvoice {
                            invoice_id: &ids_ref[index],
                            number,
                            customer_id: &customer.0,
                            total,
                            currency: "EUR",
                            issue_date: "2026-10-01",
                            due_date: "2026-10-31",
                            discount_date: "",
                            discount_amount: "0",
                        })
                        .await;
                }),
        )
        .await;
    }
    let expected = i64::try_from(invoices.len())?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let projected: i64 = suite.scalar("SELECT count(*) FROM open_items").await;
        println!("  {projected}/{expected} invoices projected");
        if projected >= expected {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the invoices were not projected in 10 minutes"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let lines: Vec<Line> = invoices
        .iter()
        .enumerate()
        .map(|(index, invoice)| statement_line(index, &customers[index % customers.len()], invoice))
        .collect();
    let mut client = suite.payments().max_decoding_message_size(64 * 1024 * 1024);
    let mut file_latencies = Latencies::new()?;
    let (mut auto_applied, mut exceptions, mut files) = (0, 0, 0);
    let started = Instant::now();
    for (file_index, chunk) in lines.chunks(arguments.lines_per_file.max(1)).enumerate() {
        let content = camt053(
            &format!("BENCH-{file_index}"),
            "DE89370400440532013000",
            Decimal::ZERO,
            chunk,
        );
        let one = Instant::now();
        let response = client
            .import_statement(suite.as_role(
                ImportStatementRequest {
                    format: "camt.053".into(),
                    file_name: format!("bench-{file_index}.xml"),
                    content: content.into_bytes(),
                },
                Role::CashApplicationSpecialist,
            ))
            .await?
            .into_inner();
        file_latencies.record(one.elapsed())?;
        for statement in response.statements {
            auto_applied += statement.auto_applied;
            exceptions += statement.exceptions;
        }
        files += 1;
        println!(
            "  file {} of {} lines imported in {}",
            file_index + 1,
            chunk.len(),
            figures::milliseconds(one.elapsed())
        );
    }
    let elapsed = started.elapsed();
    let books = check_books(&suite).await;
    clean_up(arguments, suite).await;
    Ok(ServiceFigures {
        lines: lines.len(),
        files,
        elapsed,
        file_latencies,
        auto_applied,
        exceptions,
        books,
    })
}

async fn clean_up(arguments: &Arguments, suite: PaymentsSuite) {
    let ServiceSuite {
        database,
        service,
        namespace,
        ..
    } = suite.suite;
    drop(service);
    if arguments.keep {
        println!("  kept: database {}, topics {namespace}*", database.name);
        return;
    }
    database.drop_database().await;
    if let Err(error) = otc_bench::raw_kafka::delete_namespace_topics(&namespace).await {
        println!("  could not delete the topics {namespace}*: {error:#}");
    }
}

/// A German IBAN for bank code and account (ISO 13616 mod-97 check digits).
fn german_iban(bank: &str, account: &str) -> String {
    let bban = format!("{bank}{account}");
    // "DE" = 13 14, then "00" as provisional check digits.
    let digits = format!("{bban}131400");
    let remainder = digits.bytes().fold(0_u32, |remainder, digit| {
        (remainder * 10 + u32::from(digit - b'0')) % 97
    });
    format!("DE{:02}{bban}", 98 - remainder)
}

async fn check_books(suite: &PaymentsSuite) -> Vec<(String, bool)> {
    let broken_cash: i64 = suite
        .scalar(
            "SELECT count(*) FROM (SELECT currency FROM receipts GROUP BY currency
               HAVING SUM(amount - reversed) <> SUM(applied) + SUM(unapplied) + SUM(refunded)) b",
        )
        .await;
    let over_applied: i64 = suite
        .scalar("SELECT count(*) FROM open_items WHERE open_amount < 0")
        .await;
    let double: i64 = suite
        .scalar(
            "SELECT count(*) FROM (SELECT invoice_id FROM applications WHERE reversed_at IS NULL
               GROUP BY invoice_id HAVING SUM(amount + discount + deduction) >
               (SELECT total FROM open_items o WHERE o.id = invoice_id)) d",
        )
        .await;
    vec![
        (
            "cash received = applied + unapplied + refunded".to_owned(),
            broken_cash == 0,
        ),
        ("no open item below zero".to_owned(), over_applied == 0),
        (
            "no invoice settled beyond its total".to_owned(),
            double == 0,
        ),
    ]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("cash application benchmark ({profile} build, {cores} cores)");
    let engine = engine(&arguments)?;
    let service = if arguments.statement_lines > 0 {
        anyhow::ensure!(
            std::env::var_os("OTC_BIN_DIR").is_some(),
            "set OTC_BIN_DIR to the directory holding the built otc-payments \
             (e.g. target/release); `make bench-payments` builds it and sets it"
        );
        Some(service(&arguments).await?)
    } else {
        None
    };

    let rate = figures::per_second(engine.receipts, engine.elapsed);
    println!();
    println!("== matching engine (one core, in memory) ==");
    println!(
        "  index        {} open invoices, {} customers (built in {})",
        arguments.open_invoices,
        arguments.customers,
        figures::milliseconds(engine.index_build)
    );
    println!(
        "  throughput   {rate:.0} receipts/s ({} receipts in {})  goal {} -> {:.2}x",
        engine.receipts,
        figures::milliseconds(engine.elapsed),
        arguments.goal,
        figures::ratio(rate, f64::from(arguments.goal))
    );
    println!(
        "  latency      p50 {}  p95 {}  p99 {}  max {}",
        micros(engine.latencies.at_quantile(0.50)),
        micros(engine.latencies.at_quantile(0.95)),
        micros(engine.latencies.at_quantile(0.99)),
        micros(engine.latencies.max())
    );
    println!(
        "  automatic    {} of {} receipts ({:.2}%)",
        engine.automatic,
        engine.receipts,
        figures::ratio(engine.automatic as f64 * 100.0, engine.receipts as f64)
    );
    if let Some(service) = service {
        let lines_rate = figures::per_second(service.lines, service.elapsed);
        println!(
            "== statement import through otc-payments (gRPC, PostgreSQL, one transaction per file) =="
        );
        println!(
            "  throughput   {lines_rate:.0} lines/s ({} lines in {} files, {})  engine alone {rate:.0}/s -> {:.3}x of it",
            service.lines,
            service.files,
            figures::milliseconds(service.elapsed),
            figures::ratio(lines_rate, rate)
        );
        println!(
            "  per file     p50 {}  max {}",
            figures::milliseconds(service.file_latencies.at_quantile(0.50)),
            figures::milliseconds(service.file_latencies.max())
        );
        println!(
            "  matching     {} applied automatically, {} to the exception queue",
            service.auto_applied, service.exceptions
        );
        println!("== books ==");
        for (check, ok) in &service.books {
            println!("  {}  {check}", if *ok { "ok  " } else { "FAIL" });
        }
    }
    Ok(())
}

fn micros(duration: Duration) -> String {
    format!("{} µs", duration.as_micros())
}

//! `otc-simulator`: the suite's main job. Drives a simulated business
//! through the five running services, as its outside world would:
//!
//! 1. the tenant's set-up (billing's seller, tax rules and exchange rates;
//!    the catalogue and its prices; credit limits; dunning strategies; the
//!    card provider's webhook secret);
//! 2. a few hundred customers across euros, dollars and pounds, four tax
//!    regions, three segments;
//! 3. the shop publishing CloudEvents orders on `commerce.orders.v1`, the
//!    warehouse publishing shipments on `commerce.fulfilments.v1` (some in
//!    two parts), billing invoicing every shipment;
//! 4. the bank's camt.053 statements (EUR and GBP) and the card provider's
//!    signed webhooks (USD) paying most invoices: on time, late, short, two
//!    invoices in one payment, some from payers nobody knows;
//! 5. disputes and promises to pay, then dunning run on simulated days;
//! 6. a summary a finance person reads, from the services themselves.
//!
//! Time is compressed: everything happens in minutes, so payments and
//! dunning carry simulated dates after the invoices' (real) issue date, and
//! the summary is as of the last simulated day.

// A command-line program: its progress and summary are its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod flow;
mod summary;
mod world;

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "otc-simulator",
    version,
    about = "Drives a simulated business through the running order-to-cash suite and prints a finance summary",
    long_about = "Drives a simulated business through the running order-to-cash suite (start it \
                  with `make run`, which then runs this): customers, CloudEvents orders and \
                  shipments, invoices, a camt.053 bank statement and card-provider webhooks \
                  paying most invoices (late, short, combined, unknown payers), disputes, \
                  promises to pay and dunning on simulated days; then a summary of orders, \
                  invoices, cash, auto-match rate, exception queue, AR aging and DSO. Each run \
                  uses a tenant of its own."
)]
pub struct Arguments {
    /// The tenant to simulate; a new `demo-<time>` one when omitted.
    #[arg(long)]
    pub tenant: Option<String>,
    /// How many customers.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=20_000))]
    pub customers: u32,
    /// Orders per customer.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub orders_per_customer: u32,
    /// Seed of the business (the same seed, the same customers and orders).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// How long to wait for the services at each step, in seconds.
    #[arg(long, default_value_t = 180)]
    pub step_timeout: u64,
    #[arg(long, env = "OTC_ORDER_URL", default_value = "http://127.0.0.1:50051")]
    pub order: String,
    #[arg(
        long,
        env = "OTC_BILLING_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    pub billing: String,
    #[arg(
        long,
        env = "OTC_PAYMENTS_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub payments: String,
    #[arg(
        long,
        env = "OTC_COLLECTIONS_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub collections: String,
    #[arg(
        long,
        env = "OTC_REPORTING_URL",
        default_value = "http://127.0.0.1:50055"
    )]
    pub reporting: String,
    /// The payments service's HTTP port, where provider webhooks arrive.
    #[arg(
        long,
        env = "OTC_PAYMENTS_HTTP_URL",
        default_value = "http://127.0.0.1:9103"
    )]
    pub payments_http: String,
    /// Where the dashboard is (only shown in the summary).
    #[arg(
        long,
        env = "OTC_DASHBOARD_URL",
        default_value = "http://127.0.0.1:9105/dashboard"
    )]
    pub dashboard: String,
    /// Kafka bootstrap servers (the shop and the warehouse publish there).
    #[arg(long, env = "OTC_KAFKA_BROKERS", default_value = "127.0.0.1:59092")]
    pub brokers: String,
    /// The services' topic namespace, if they run with one.
    #[arg(long, env = "OTC_KAFKA__TOPIC_NAMESPACE", default_value = "")]
    pub topic_namespace: String,
    /// The services' HS256 token secret (the local one by default).
    #[arg(long, env = "OTC_AUTH__HS256_SECRET", hide_env_values = true,
          hide_default_value = true, default_value = otc_shared::auth::LOCAL_DEV_HS256_SECRET)]
    pub secret: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let arguments = Arguments::parse();
    match flow::run(&arguments).await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("\notc-simulator stopped: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The broker and the database restarted while a simulated business runs
//! through the whole suite. This test process runs on a PostgreSQL cluster
//! and a Kafka broker of its own (`PrivateInfra`, started by the
//! repository's scripts on free ports), so stopping them touches no other
//! test: keep it the only test of this binary.
//!
//! While the shop publishes its orders, the broker is stopped for a few
//! seconds and started again (producers buffer, consumers and the outbox
//! relays reconnect); while the warehouse ships and billing invoices,
//! PostgreSQL is stopped and started again (every service loses every
//! connection mid-transaction). The simulation must still finish and the
//! books must hold: one order per order placed, one invoice per shipment,
//! cash balanced, reporting and collections equal to payments.

use std::time::Duration;

use otc_testkit::private_infra::PrivateInfra;
use otc_testkit::unique_suffix;
use otc_testkit::whole::WholeSuite;

const CUSTOMERS: u32 = 30;

#[tokio::test]
async fn the_books_hold_through_a_broker_restart_and_a_database_restart() {
    let infra = PrivateInfra::start().await.unwrap();
    let suite = WholeSuite::start().await;
    let tenant = format!("rst-{}", &unique_suffix()[..8]);
    let started_before: String = suite
        .order_db
        .scalar("SELECT pg_postmaster_start_time()::text")
        .await;

    let mut simulation = suite.run_simulator(&tenant, CUSTOMERS);
    let mut restarted: Vec<&str> = Vec::new();
    while let Some(line) = simulation.next_line().await {
        if line.starts_with("[3/7]") {
            // Orders are being published and credit-checked.
            tokio::time::sleep(Duration::from_millis(700)).await;
            infra.kafka("down").await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            infra.kafka("up").await.unwrap();
            restarted.push("kafka");
        } else if line.starts_with("[4/7]") {
            // Shipments are flowing and billing is invoicing.
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            infra.postgres("down").await.unwrap();
            tokio::time::sleep(Duration::from_secs(3)).await;
            infra.postgres("up").await.unwrap();
            restarted.push("postgres");
        }
    }
    let output = simulation.finish().await;
    assert_eq!(restarted, ["kafka", "postgres"], "{output}");
    suite.assert_nothing_doubled(CUSTOMERS).await;
    suite.assert_books().await;
    let started_after: String = suite
        .order_db
        .scalar("SELECT pg_postmaster_start_time()::text")
        .await;
    assert_ne!(
        started_before, started_after,
        "PostgreSQL was not restarted"
    );
    drop(suite);
    drop(infra);
}

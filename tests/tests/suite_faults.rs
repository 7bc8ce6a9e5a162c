#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Faults while a simulated business runs through the whole suite: first a
//! poison record on every topic the services consume, then kill -9 of each
//! service in turn, at the step where it is busiest, restarted at once on
//! its ports and database (no graceful shutdown, no offset commit, no
//! outbox flush). The simulation must still finish, and the books must
//! hold: every order placed once, every shipment billed once, cash
//! balanced, reporting equal to payments, collections equal to payments;
//! every poison record dead-lettered, nothing else.
//!
//! Broker and PostgreSQL restarts are in `suite_restarts.rs` (on an
//! infrastructure of its own); duplicated and reordered deliveries in
//! `suite_redelivery.rs`.

use std::time::Duration;

use otc_shared::events::{EventEnvelope, RecordHeaders};
use otc_shared::kafka::topics;
use otc_testkit::unique_suffix;
use otc_testkit::whole::WholeSuite;

const CUSTOMERS: u32 = 30;

#[tokio::test]
async fn the_books_hold_through_kill_9_of_every_service_and_poison_on_every_topic() {
    let mut suite = WholeSuite::start().await;
    let tenant = format!("flt-{}", &unique_suffix()[..8]);

    // One unreadable record on every consumed topic.
    let producer = otc_testkit::kafka::producer().unwrap();
    for (topic, event_type) in [
        (topics::COMMERCE_ORDERS, "commerce.order.placed"),
        (topics::COMMERCE_FULFILMENTS, "commerce.fulfilment.shipped"),
        (topics::ORDER_EVENTS, "otc.order.v1.OrderPlaced"),
        (topics::BILLING_EVENTS, "otc.billing.v1.InvoiceIssued"),
        (topics::PAYMENT_EVENTS, "otc.payments.v1.PaymentApplied"),
        (
            topics::COLLECTIONS_EVENTS,
            "otc.collections.v1.DisputeOpened",
        ),
    ] {
        let envelope = EventEnvelope::new(event_type, "/poison", &otc_testkit::tenant(&tenant));
        let headers = RecordHeaders::from_kafka(Some(&envelope.to_headers()));
        otc_testkit::kafka::produce(
            &producer,
            &format!("{}{topic}", suite.namespace),
            "poison",
            b"\xff{ not an event",
            &headers,
        )
        .await
        .unwrap();
    }

    let mut simulation = suite.run_simulator(&tenant, CUSTOMERS);
    let mut killed: Vec<&str> = Vec::new();
    while let Some(line) = simulation.next_line().await {
        // Each service dies where it is busiest.
        let victims: &[&str] = if line.starts_with("[3/7]") {
            &["collections", "order"]
        } else if line.starts_with("[4/7]") {
            &["billing"]
        } else if line.starts_with("[5/7]") {
            &["reporting"]
        } else if line.starts_with("[6/7]") {
            &["payments"]
        } else {
            &[]
        };
        for victim in victims {
            // Let the step get going, then pull the plug.
            tokio::time::sleep(Duration::from_millis(700)).await;
            let process = match *victim {
                "collections" => &mut suite.collections,
                "order" => &mut suite.order,
                "billing" => &mut suite.billing,
                "reporting" => &mut suite.reporting,
                _ => &mut suite.payments,
            };
            process.kill_hard().await.unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
            process.restart().await.unwrap();
            killed.push(victim);
        }
    }
    let output = simulation.finish().await;
    assert_eq!(
        killed,
        ["collections", "order", "billing", "reporting", "payments"],
        "{output}"
    );
    suite.assert_nothing_doubled(CUSTOMERS).await;
    suite.assert_books().await;
    // Every poison record is in its consumer's dead letters: the order
    // service's two commerce topics, and the event topics each service reads.
    for (name, database, at_least) in [
        ("order", &suite.order_db, 2),
        ("billing", &suite.billing_db, 1),
        ("payments", &suite.payments_db, 1),
        ("collections", &suite.collections_db, 1),
        ("reporting", &suite.reporting_db, 1),
    ] {
        let dead: i64 = database
            .wait_for_count(
                "SELECT count(*) FROM dead_letters",
                at_least,
                Duration::from_secs(30),
            )
            .await;
        assert!(dead >= at_least, "{name}: {dead} dead letters");
    }
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Promises to pay in the collections service as a process against the
//! real PostgreSQL and Kafka: kept by cash applied after the promise,
//! broken when a check with an injected date finds the date passed without
//! it, items flagged while promised; validation, roles and tenants.

use std::time::{Duration, Instant};

use chrono::{Days, Utc};
use prost::Message;
use rust_decimal::Decimal;
use tonic::Code;
use uuid::Uuid;

use otc_proto::collections::*;
use otc_proto::events as events_proto;
use otc_shared::auth::Role;
use otc_testkit::collections::{
    Application, CollectionsSuite, Issued, PROMISE_BROKEN, PROMISE_KEPT, PROMISE_TO_PAY_RECORDED,
    money,
};

const WAIT: Duration = Duration::from_secs(60);

fn id() -> String {
    Uuid::now_v7().to_string()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn days_from_today(days: u64) -> String {
    Utc::now()
        .date_naive()
        .checked_add_days(Days::new(days))
        .unwrap()
        .to_string()
}

fn invoice<'a>(id: &'a str, customer: &'a str, total: &'a str) -> Issued<'a> {
    Issued {
        id,
        number: "INV-2026-000009",
        customer_id: customer,
        total,
        currency: "EUR",
        due_date: "2026-01-31",
        functional: None,
    }
}

fn promise(
    key: &str,
    customer: &str,
    items: &[&str],
    amount: &str,
    date: &str,
) -> RecordPromiseRequest {
    RecordPromiseRequest {
        idempotency_key: key.into(),
        customer_id: customer.into(),
        item_ids: items.iter().map(|item| (*item).to_owned()).collect(),
        amount: Some(money(amount, "EUR")),
        promised_date: date.into(),
        note: "promised on the phone".into(),
    }
}

async fn promised(suite: &CollectionsSuite, item_id: &str) -> bool {
    suite
        .ledger()
        .list_open_items(suite.as_role(
            ListOpenItemsRequest {
                include_settled: true,
                ..ListOpenItemsRequest::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner()
        .items
        .into_iter()
        .find(|item| item.item_id == item_id)
        .unwrap()
        .promised
}

async fn state_of(suite: &CollectionsSuite, promise_id: &str) -> PromiseToPay {
    suite
        .promises()
        .get_promise(suite.as_role(
            GetPromiseRequest {
                promise_id: promise_id.into(),
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn promises_are_kept_by_cash_by_the_date_and_broken_when_the_date_passes_without_it() {
    let suite = CollectionsSuite::start("coll_promises", &[]).await;
    let customer = id();
    let first = id();
    let second = id();
    let third = id();
    suite.customer(&customer, "Kunde GmbH", "ACTIVE", 1).await;
    suite
        .invoice(&invoice(&first, &customer, "100.00"), None)
        .await;
    suite
        .invoice(&invoice(&second, &customer, "40.00"), None)
        .await;
    suite
        .invoice(&invoice(&third, &customer, "80.00"), None)
        .await;
    suite.wait_for_events_applied(4, WAIT).await;

    // Cash applied before the promise does not count towards it.
    suite
        .payment_applied(
            &Application {
                application_id: &id(),
                invoice_id: &third,
                customer_id: &customer,
                amount: "10.00",
                discount: "0",
                currency: "EUR",
            },
            None,
        )
        .await;
    suite.wait_for_events_applied(5, WAIT).await;

    let kept = suite
        .promises()
        .record_promise(suite.as_role(
            promise(
                "p-1",
                &customer,
                &[&first, &second],
                "120.00",
                &days_from_today(7),
            ),
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kept.state, "OPEN");
    let broken = suite
        .promises()
        .record_promise(suite.as_role(
            promise("p-2", &customer, &[&third], "50.00", &days_from_today(0)),
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(promised(&suite, &first).await);
    assert!(promised(&suite, &third).await);
    // The same key again is the same promise.
    let again = suite
        .promises()
        .record_promise(suite.as_role(
            promise(
                "p-1",
                &customer,
                &[&second, &first],
                "120.00",
                &days_from_today(7),
            ),
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.promise_id, kept.promise_id);

    // Validation and roles.
    let too_much = suite
        .promises()
        .record_promise(suite.as_role(
            promise("p-3", &customer, &[&second], "40.01", &days_from_today(3)),
            Role::Collector,
        ))
        .await
        .unwrap_err();
    assert_eq!(too_much.code(), Code::InvalidArgument);
    let past = suite
        .promises()
        .record_promise(suite.as_role(
            promise("p-4", &customer, &[&second], "10.00", "2020-01-01"),
            Role::Collector,
        ))
        .await
        .unwrap_err();
    assert_eq!(past.code(), Code::InvalidArgument);
    for role in [
        Role::CustomerServiceRepresentative,
        Role::CreditManager,
        Role::Executive,
    ] {
        let status = suite
            .promises()
            .record_promise(suite.as_role(
                promise("p-5", &customer, &[&second], "10.00", &days_from_today(3)),
                role,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{role}");
    }
    let stranger = otc_testkit::billing::request(
        GetPromiseRequest {
            promise_id: kept.promise_id.clone(),
        },
        "globex",
        &[Role::Collector],
    );
    assert_eq!(
        suite
            .promises()
            .get_promise(stranger)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    // Partial cash: still open; the rest: kept when it arrives.
    for (item, value) in [(&first, "80.00"), (&second, "40.00")] {
        suite
            .payment_applied(
                &Application {
                    application_id: &id(),
                    invoice_id: item,
                    customer_id: &customer,
                    amount: value,
                    discount: "0",
                    currency: "EUR",
                },
                None,
            )
            .await;
    }
    // 30.00 on the other promise's item: not enough for its 50.00.
    suite
        .payment_applied(
            &Application {
                application_id: &id(),
                invoice_id: &third,
                customer_id: &customer,
                amount: "30.00",
                discount: "0",
                currency: "EUR",
            },
            None,
        )
        .await;
    suite.wait_for_events_applied(8, WAIT).await;
    let deadline = Instant::now() + WAIT;
    while state_of(&suite, &kept.promise_id).await.state != "KEPT" {
        assert!(Instant::now() < deadline, "the promise was not kept");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let settled = state_of(&suite, &kept.promise_id).await;
    assert_eq!(
        settled.paid.unwrap().amount.parse::<Decimal>().unwrap(),
        dec("120.00")
    );
    assert!(!promised(&suite, &first).await);
    assert_eq!(state_of(&suite, &broken.promise_id).await.state, "OPEN");

    // A check on the promised date itself leaves it open; the day after breaks it.
    let today = suite
        .promises()
        .evaluate_promises(suite.as_role(
            EvaluatePromisesRequest {
                as_of: days_from_today(0),
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((today.kept, today.broken, today.still_open), (0, 0, 1));
    let tomorrow = suite
        .promises()
        .evaluate_promises(suite.as_role(
            EvaluatePromisesRequest {
                as_of: days_from_today(1),
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (tomorrow.kept, tomorrow.broken, tomorrow.still_open),
        (0, 1, 0)
    );
    let after = state_of(&suite, &broken.promise_id).await;
    assert_eq!(after.state, "BROKEN");
    assert_eq!(
        after.paid.unwrap().amount.parse::<Decimal>().unwrap(),
        dec("30.00")
    );
    assert!(!promised(&suite, &third).await);
    // Checking again changes nothing.
    let again = suite
        .promises()
        .evaluate_promises(suite.as_role(
            EvaluatePromisesRequest {
                as_of: days_from_today(2),
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.kept, again.broken, again.still_open), (0, 0, 0));

    let recorded = suite
        .collections_events(PROMISE_TO_PAY_RECORDED, 2, WAIT)
        .await;
    assert_eq!(recorded.len(), 2);
    let kept_events = suite.collections_events(PROMISE_KEPT, 1, WAIT).await;
    let event = events_proto::PromiseKept::decode(kept_events[0].payload.as_slice()).unwrap();
    assert_eq!(event.promise_id, kept.promise_id);
    let broken_events = suite
        .collections_events(PROMISE_BROKEN, 2, Duration::from_secs(3))
        .await;
    assert_eq!(broken_events.len(), 1);
    let event = events_proto::PromiseBroken::decode(broken_events[0].payload.as_slice()).unwrap();
    assert_eq!(event.promise_id, broken.promise_id);
    assert_eq!(event.as_of, days_from_today(1));
}

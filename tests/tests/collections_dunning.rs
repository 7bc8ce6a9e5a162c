//! Dunning against the real collections service, PostgreSQL, Kafka and the
//! SMTP sink: levels fire on their days (the run date is injected through
//! `RunDunning.as_of`), never twice for an item, skipping disputed and
//! promised items; notices carry their content and are delivered by email,
//! webhook and letter; a run cut short by kill -9 is carried on after the
//! restart without dunning or sending anything twice; the daily run is
//! once a day; roles and tenants are kept apart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{NaiveDate, TimeDelta, Utc};
use otc_proto::collections::{
    DisputedItem, DunningContact, DunningFee, DunningLevel, GetDunningNoticeRequest,
    GetWorklistRequest, ListDunningNoticesRequest, OpenDisputeRequest, RecordPromiseRequest,
    RunDunningRequest, SetDunningStrategyRequest,
};
use otc_proto::events as proto;
use otc_shared::auth::Role;
use otc_shared::kafka::topics;
use otc_shared::signing::{SIGNATURE_HEADER, verify};
use otc_testkit::collections::{CollectionsSuite, DUNNING_NOTICE_SENT, Issued, money};
use otc_testkit::mail::{messages_for, unique_recipient, wait_for_message};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);
const WEBHOOK_SECRET: &str = "dunning-webhook-secret-for-tests";

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn day(offset: i64) -> String {
    (today() + TimeDelta::days(offset)).to_string()
}

fn level(number: i32, days: i32, channel: &str) -> DunningLevel {
    DunningLevel {
        level: number,
        days_after_due: days,
        channel: channel.into(),
        ..DunningLevel::default()
    }
}

/// -3 reminder, +7 (with a 10 EUR fee and 8% interest), +21, +45 final.
fn standard_levels(channel: &str) -> Vec<DunningLevel> {
    vec![
        level(1, -3, channel),
        DunningLevel {
            fee: Some(DunningFee {
                amount: Some(money("10.00", "EUR")),
            }),
            interest_rate: "8".into(),
            ..level(2, 7, channel)
        },
        level(3, 21, channel),
        level(4, 45, channel),
    ]
}

async fn set_strategy(suite: &CollectionsSuite, segment: &str, levels: Vec<DunningLevel>) {
    suite
        .dunning()
        .set_dunning_strategy(suite.as_role(
            SetDunningStrategyRequest {
                segment: segment.into(),
                name: format!("strategy {segment}"),
                levels,
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap();
}

async fn set_email(suite: &CollectionsSuite, customer: &str, email: &str) {
    suite
        .dunning()
        .set_dunning_contact(suite.as_role(
            DunningContact {
                customer_id: customer.into(),
                contact_name: "Accounts Payable".into(),
                email: email.into(),
                ..DunningContact::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap();
}

async fn run_as_of(suite: &CollectionsSuite, offset: i64) -> otc_proto::collections::DunningRun {
    suite
        .dunning()
        .run_dunning(suite.as_role(RunDunningRequest { as_of: day(offset) }, Role::Collector))
        .await
        .unwrap()
        .into_inner()
}

fn invoice<'a>(
    id: &'a str,
    number: &'a str,
    customer: &'a str,
    total: &'a str,
    due: &'a str,
) -> Issued<'a> {
    Issued {
        id,
        number,
        customer_id: customer,
        total,
        currency: "EUR",
        due_date: due,
        functional: None,
    }
}

/// (item number, level) of every notice item in the service's database.
async fn dunned(suite: &CollectionsSuite) -> Vec<(String, i32)> {
    let listed: String = suite
        .scalar(
            "SELECT COALESCE(string_agg(number || ':' || level, ',' ORDER BY level, number), '')
             FROM dunning_notice_items",
        )
        .await;
    listed
        .split(',')
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (number, level) = entry.split_once(':').unwrap();
            (number.to_owned(), level.parse().unwrap())
        })
        .collect()
}

async fn notices(
    suite: &CollectionsSuite,
    role: Role,
) -> Vec<otc_proto::collections::DunningNotice> {
    suite
        .dunning()
        .list_dunning_notices(suite.as_role(
            ListDunningNoticesRequest {
                page: Some(otc_proto::types::PageRequest {
                    page_size: 500,
                    page_token: String::new(),
                }),
                ..ListDunningNoticesRequest::default()
            },
            role,
        ))
        .await
        .unwrap()
        .into_inner()
        .notices
}

async fn wait_until_all_sent(
    suite: &CollectionsSuite,
    expected: usize,
) -> Vec<otc_proto::collections::DunningNotice> {
    let started = std::time::Instant::now();
    loop {
        let all = notices(suite, Role::Collector).await;
        let sent = all.iter().filter(|notice| notice.status == "SENT").count();
        if all.len() == expected && sent == expected {
            return all;
        }
        assert!(
            started.elapsed() < WAIT,
            "{sent} of {} notices sent, {expected} expected: {:#?}",
            all.len(),
            all.iter()
                .map(|n| (&n.status, &n.last_error))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn levels_fire_on_their_days_never_twice_and_skip_disputed_and_promised_items() {
    let suite = CollectionsSuite::start(
        "dunning_levels",
        &[
            ("OTC_COLLECTIONS__DUNNING__CHECK_INTERVAL_SECONDS", "0"),
            ("OTC_COLLECTIONS__DUNNING__ALLOW_FUTURE_AS_OF", "true"),
        ],
    )
    .await;
    set_strategy(&suite, "", standard_levels("EMAIL")).await;
    let customer = Uuid::now_v7().to_string();
    let email = unique_recipient("ap");
    suite
        .customer(&customer, "Müller Maschinenbau GmbH", "ACTIVE", 1)
        .await;
    set_email(&suite, &customer, &email).await;
    let (a, b, c) = (
        Uuid::now_v7().to_string(),
        Uuid::now_v7().to_string(),
        Uuid::now_v7().to_string(),
    );
    let due = day(10);
    suite
        .invoice(&invoice(&a, "INV-A", &customer, "1000.00", &due), None)
        .await;
    suite
        .invoice(&invoice(&b, "INV-B", &customer, "50.00", &due), None)
        .await;
    suite
        .invoice(&invoice(&c, "INV-C", &customer, "30.00", &due), None)
        .await;
    suite.wait_for_events_applied(4, WAIT).await;

    // B is disputed, C is promised (by a date 30 days from now).
    suite
        .disputes()
        .open_dispute(suite.as_role(
            OpenDisputeRequest {
                idempotency_key: "dispute-b".into(),
                customer_id: customer.clone(),
                reason_code: "PRICING".into(),
                description: "price differs".into(),
                items: vec![DisputedItem {
                    item_id: b.clone(),
                    amount: Some(money("50.00", "EUR")),
                    ..DisputedItem::default()
                }],
                ..OpenDisputeRequest::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap();
    suite
        .promises()
        .record_promise(suite.as_role(
            RecordPromiseRequest {
                idempotency_key: "promise-c".into(),
                customer_id: customer.clone(),
                item_ids: vec![c.clone()],
                amount: Some(money("30.00", "EUR")),
                promised_date: day(30),
                note: "will pay at month end".into(),
            },
            Role::Collector,
        ))
        .await
        .unwrap();

    // Four days before the due date: nothing; three days before: level 1,
    // for A only.
    let run = run_as_of(&suite, 6).await;
    assert_eq!((run.state.as_str(), run.notices_created), ("COMPLETED", 0));
    assert_eq!(run.items_skipped_disputed, 0, "B is not due anything yet");
    let run = run_as_of(&suite, 7).await;
    assert_eq!(run.notices_created, 1);
    assert_eq!(
        (
            run.items_dunned,
            run.items_skipped_disputed,
            run.items_skipped_promised
        ),
        (1, 1, 1)
    );
    // The same day again, and the days before level 2: nothing new.
    for offset in [7, 8, 16] {
        let again = run_as_of(&suite, offset).await;
        assert_eq!(again.notices_created, 0, "as of +{offset}");
    }
    // Seven days past due: level 2 with its fee and interest.
    let run = run_as_of(&suite, 17).await;
    assert_eq!(run.notices_created, 1);
    assert_eq!(
        dunned(&suite).await,
        vec![("INV-A".to_owned(), 1), ("INV-A".to_owned(), 2)]
    );

    let sent = wait_until_all_sent(&suite, 2).await;
    let level_two = sent.iter().find(|notice| notice.level == 2).unwrap();
    assert_eq!(level_two.fee_amount, Some(money("10.00", "EUR")));
    // 1000 × 8% × 7 / 365 = 1.534... -> 1.53
    assert_eq!(level_two.interest_amount, Some(money("1.53", "EUR")));
    assert_eq!(level_two.total_due, Some(money("1011.53", "EUR")));
    assert_eq!(level_two.recipient, email);
    let full = suite
        .dunning()
        .get_dunning_notice(suite.as_role(
            GetDunningNoticeRequest {
                notice_id: level_two.notice_id.clone(),
            },
            Role::CreditManager,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(full.items.len(), 1);
    assert_eq!(full.items[0].number, "INV-A");
    assert_eq!(full.items[0].days_overdue, 7);

    // The emails as received: one per notice, with the stored content.
    let started = std::time::Instant::now();
    while messages_for(&email).len() < 2 {
        assert!(started.elapsed() < WAIT, "emails missing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mails = messages_for(&email);
    assert_eq!(mails.len(), 2);
    let second = mails
        .iter()
        .find(|mail| mail.subject == "Overdue items: notice 2")
        .unwrap();
    assert!(
        second.text_body.contains("Dear Müller Maschinenbau GmbH,"),
        "{}",
        second.text_body
    );
    assert!(second.text_body.contains("INV-A"), "{}", second.text_body);
    assert!(
        second.text_body.contains("Dunning fee: 10.00 EUR"),
        "{}",
        second.text_body
    );
    assert!(
        second.text_body.contains("Total due: 1011.53 EUR"),
        "{}",
        second.text_body
    );
    assert!(!second.text_body.contains("INV-B") && !second.text_body.contains("INV-C"));
    assert_eq!(
        second.message_id,
        format!("{}@collections.otc", level_two.notice_id)
    );

    // One DunningNoticeSent per notice, keyed by the customer.
    let events = suite.collections_events(DUNNING_NOTICE_SENT, 2, WAIT).await;
    let decoded: Vec<proto::DunningNoticeSent> = events
        .iter()
        .map(|record| prost::Message::decode(record.payload.as_slice()).unwrap())
        .collect();
    assert!(decoded.iter().all(|event| event.customer_id == customer));
    let levels: HashSet<i32> = decoded.iter().map(|event| event.level).collect();
    assert_eq!(levels, HashSet::from([1, 2]));

    // After the promise date passes unpaid, the run breaks the promise and
    // C is dunned at the level it has reached (4), with A, in one notice;
    // B stays out while its dispute is open.
    let run = run_as_of(&suite, 56).await;
    assert_eq!(run.notices_created, 1);
    assert_eq!(run.items_skipped_disputed, 1);
    assert_eq!(run.items_skipped_promised, 0);
    assert_eq!(
        dunned(&suite).await,
        vec![
            ("INV-A".to_owned(), 1),
            ("INV-A".to_owned(), 2),
            ("INV-A".to_owned(), 4),
            ("INV-C".to_owned(), 4),
        ]
    );
    // And later still, nothing: every item is at the last level.
    assert_eq!(run_as_of(&suite, 120).await.notices_created, 0);
}

#[tokio::test]
async fn a_run_cut_short_by_kill_9_carries_on_after_the_restart_and_sends_nothing_twice() {
    let mut suite = CollectionsSuite::start(
        "dunning_restart",
        &[
            ("OTC_COLLECTIONS__DUNNING__CHECK_INTERVAL_SECONDS", "1"),
            ("OTC_COLLECTIONS__DUNNING__SCHEDULE_DAILY", "false"),
            ("OTC_COLLECTIONS__DUNNING__BATCH_CUSTOMERS", "1"),
            ("OTC_COLLECTIONS__DUNNING__BATCH_PAUSE_MS", "250"),
            ("OTC_COLLECTIONS__DUNNING__LEASE_SECONDS", "2"),
        ],
    )
    .await;
    set_strategy(
        &suite,
        "",
        vec![level(1, -3, "EMAIL"), level(2, 7, "EMAIL")],
    )
    .await;
    const CUSTOMERS: usize = 12;
    let mut recipients = HashMap::new();
    for index in 0..CUSTOMERS {
        let customer = Uuid::now_v7().to_string();
        let email = unique_recipient(&format!("ap{index}"));
        suite
            .customer(&customer, &format!("Customer {index}"), "ACTIVE", 1)
            .await;
        set_email(&suite, &customer, &email).await;
        let id = Uuid::now_v7().to_string();
        let number = format!("INV-{index:03}");
        suite
            .invoice(&invoice(&id, &number, &customer, "100.00", &day(-10)), None)
            .await;
        recipients.insert(customer, email);
    }
    suite
        .wait_for_events_applied(i64::try_from(CUSTOMERS * 2).unwrap(), WAIT)
        .await;

    // The run is started over gRPC and the service is killed mid-way.
    let mut client = suite.dunning();
    let request = suite.as_role(RunDunningRequest { as_of: day(0) }, Role::Collector);
    let call = tokio::spawn(async move { client.run_dunning(request).await });
    let written = suite
        .wait_for_count("SELECT count(*) FROM dunning_notices", 3, WAIT)
        .await;
    assert!(written >= 3);
    suite.service.kill_hard().await.unwrap();
    assert!(
        call.await.unwrap().is_err(),
        "the call died with the service"
    );
    let before_restart = suite.count("SELECT count(*) FROM dunning_notices").await;
    assert!(
        before_restart < i64::try_from(CUSTOMERS).unwrap(),
        "the kill came after the run ended ({before_restart} notices); the test proves nothing"
    );
    let run_state: String = suite.scalar("SELECT state FROM dunning_runs").await;
    assert_eq!(run_state, "running");

    // After the restart the scheduler takes the run over once its lease ran
    // out and carries it on from its checkpoint.
    suite.service.restart().await.unwrap();
    suite
        .wait_for_count(
            "SELECT count(*) FROM dunning_runs WHERE state = 'completed'",
            1,
            WAIT,
        )
        .await;
    assert_eq!(suite.count("SELECT count(*) FROM dunning_runs").await, 1);
    let sent = wait_until_all_sent(&suite, CUSTOMERS).await;
    let per_customer: HashSet<&str> = sent
        .iter()
        .map(|notice| notice.customer_id.as_str())
        .collect();
    assert_eq!(per_customer.len(), CUSTOMERS, "one notice per customer");
    assert_eq!(
        suite
            .count(
                "SELECT count(*) FROM (SELECT DISTINCT item_id, level FROM dunning_notice_items) d"
            )
            .await,
        i64::try_from(CUSTOMERS).unwrap()
    );
    let run = suite
        .dunning()
        .list_dunning_runs(suite.as_role(Default::default(), Role::Executive))
        .await
        .unwrap()
        .into_inner()
        .runs;
    assert_eq!(run[0].notices_created, i64::try_from(CUSTOMERS).unwrap());
    assert_eq!(run[0].items_dunned, i64::try_from(CUSTOMERS).unwrap());

    // Every customer got its notice, and a receiver never sees two
    // different notices: a resend after a crash between the server's
    // acceptance and our commit would carry the same Message-ID.
    for (customer, email) in &recipients {
        wait_for_message(email, WAIT).await.unwrap();
        let notice = sent
            .iter()
            .find(|notice| &notice.customer_id == customer)
            .unwrap();
        let ids: HashSet<String> = messages_for(email)
            .into_iter()
            .map(|mail| mail.message_id)
            .collect();
        assert_eq!(
            ids,
            HashSet::from([format!("{}@collections.otc", notice.notice_id)]),
            "{email}"
        );
    }
}

#[tokio::test]
async fn the_scheduler_runs_each_tenant_once_a_day() {
    let suite = CollectionsSuite::start(
        "dunning_daily",
        &[("OTC_COLLECTIONS__DUNNING__CHECK_INTERVAL_SECONDS", "1")],
    )
    .await;
    set_strategy(&suite, "", vec![level(1, 7, "EMAIL")]).await;
    let customer = Uuid::now_v7().to_string();
    let email = unique_recipient("daily");
    suite.customer(&customer, "Daily Ltd", "ACTIVE", 1).await;
    set_email(&suite, &customer, &email).await;
    let id = Uuid::now_v7().to_string();
    suite
        .invoice(&invoice(&id, "INV-D1", &customer, "70.00", &day(-8)), None)
        .await;
    suite.wait_for_events_applied(2, WAIT).await;
    suite
        .wait_for_count(
            "SELECT count(*) FROM dunning_runs WHERE trigger = 'schedule' AND state = 'completed'",
            1,
            WAIT,
        )
        .await;
    let mail = wait_for_message(&email, WAIT).await.unwrap();
    assert!(mail.text_body.contains("INV-D1"));
    wait_until_all_sent(&suite, 1).await;
    // The collector worklist counts the notice as the customer's last contact.
    let rows = suite
        .worklist()
        .get_worklist(suite.as_role(
            GetWorklistRequest {
                all_customers: true,
                ..GetWorklistRequest::default()
            },
            Role::CreditManager,
        ))
        .await
        .unwrap()
        .into_inner()
        .rows;
    let contact = rows[0].last_contact.clone().unwrap();
    assert_eq!(rows[0].customer_id, customer);
    assert_eq!(
        (
            contact.kind.as_str(),
            contact.channel.as_str(),
            contact.outcome.as_str()
        ),
        ("DUNNING_NOTICE", "EMAIL", "DUNNING_LEVEL_1")
    );
    // Several more checks later: still one run today, and one notice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(suite.count("SELECT count(*) FROM dunning_runs").await, 1);
    let as_of: String = suite.scalar("SELECT as_of::text FROM dunning_runs").await;
    assert_eq!(as_of, today().to_string());
    assert_eq!(suite.count("SELECT count(*) FROM dunning_notices").await, 1);
}

/// A webhook as received: its Idempotency-Key, its body, and whether the
/// signature verified.
type Received = (String, serde_json::Value, Result<(), String>);

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Received>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let verified = verify(
        &[WEBHOOK_SECRET.as_bytes()],
        signature,
        &body,
        Utc::now().timestamp(),
        300,
    )
    .map(|_| ())
    .map_err(|error| error.to_string());
    let key = headers
        .get("Idempotency-Key")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let payload = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let ok = verified.is_ok();
    receiver.seen.lock().unwrap().push((key, payload, verified));
    if ok {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

#[tokio::test]
async fn notices_go_by_signed_webhook_and_by_letter_and_a_missing_contact_fails_until_set() {
    let suite = CollectionsSuite::start(
        "dunning_channels",
        &[
            ("OTC_COLLECTIONS__DUNNING__CHECK_INTERVAL_SECONDS", "0"),
            ("OTC_COLLECTIONS__DELIVERY__WEBHOOK_SECRET", WEBHOOK_SECRET),
        ],
    )
    .await;
    // Segment strategies win over the default: "key" accounts get webhooks,
    // "retail" letters, everyone else email.
    set_strategy(&suite, "", vec![level(1, 7, "EMAIL")]).await;
    set_strategy(&suite, "key", vec![level(1, 7, "WEBHOOK")]).await;
    set_strategy(&suite, "retail", vec![level(1, 7, "LETTER")]).await;

    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hooks/dunning", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let key_account = Uuid::now_v7().to_string();
    let retail = Uuid::now_v7().to_string();
    let nobody = Uuid::now_v7().to_string();
    let upsert = |id: &str, name: &str, segment: &str| proto::CustomerUpserted {
        customer_id: id.into(),
        legal_name: name.into(),
        currency_code: "EUR".into(),
        segment: segment.into(),
        status: "ACTIVE".into(),
        version: 1,
        billing_address: Some(otc_proto::types::PostalAddress {
            lines: vec!["Hauptstraße 5".into()],
            city: "Berlin".into(),
            postal_code: "10115".into(),
            country_code: "DE".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    for (id, name, segment) in [
        (&key_account, "Key Account AG", "key"),
        (&retail, "Retail Kunde GmbH", "retail"),
        (&nobody, "No Contact SARL", "smb"),
    ] {
        suite
            .publish(
                topics::ORDER_EVENTS,
                "otc.order.v1.CustomerUpserted",
                id,
                &upsert(id, name, segment),
                None,
            )
            .await;
    }
    suite
        .dunning()
        .set_dunning_contact(suite.as_role(
            DunningContact {
                customer_id: key_account.clone(),
                webhook_url: format!("http://{address}/hooks/dunning"),
                ..DunningContact::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap();
    let ids: Vec<String> = (0..3).map(|_| Uuid::now_v7().to_string()).collect();
    for (index, customer) in [&key_account, &retail, &nobody].into_iter().enumerate() {
        let number = format!("INV-CH-{index}");
        suite
            .invoice(
                &invoice(&ids[index], &number, customer, "200.00", &day(-7)),
                None,
            )
            .await;
    }
    suite.wait_for_events_applied(6, WAIT).await;
    let run = run_as_of(&suite, 0).await;
    assert_eq!(run.notices_created, 3);

    // The webhook: signed, keyed by the notice, with the items.
    let started = std::time::Instant::now();
    while receiver.seen.lock().unwrap().is_empty() {
        assert!(started.elapsed() < WAIT, "no webhook arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (key, payload, verified) = receiver.seen.lock().unwrap()[0].clone();
    verified.unwrap();
    assert_eq!(payload["customer_id"], key_account.as_str());
    assert_eq!(payload["notice_id"], key.as_str());
    assert_eq!(payload["total_due"], "200.00");
    assert_eq!(payload["items"][0]["number"], "INV-CH-0");

    // The letter: a PDF addressed to the billing address.
    let all = notices(&suite, Role::Collector).await;
    let letter_notice = all
        .iter()
        .find(|notice| notice.customer_id == retail)
        .unwrap();
    assert_eq!(letter_notice.channel, "LETTER");
    assert!(
        letter_notice.recipient.contains("10115 Berlin"),
        "{}",
        letter_notice.recipient
    );
    let started = std::time::Instant::now();
    let letter = loop {
        let answer = suite
            .dunning()
            .get_dunning_letter(suite.as_role(
                GetDunningNoticeRequest {
                    notice_id: letter_notice.notice_id.clone(),
                },
                Role::Collector,
            ))
            .await;
        match answer {
            Ok(letter) => break letter.into_inner(),
            Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                assert!(started.elapsed() < WAIT, "no letter: {status:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    };
    assert!(letter.pdf.starts_with(b"%PDF-"));
    let document = lopdf::Document::load_mem(&letter.pdf).unwrap();
    let text = document.extract_text(&[1]).unwrap();
    assert!(text.contains("Retail Kunde GmbH"), "{text}");
    assert!(text.contains("INV-CH-1"), "{text}");
    assert!(text.contains("200.00"), "{text}");

    // No email address: the notice is stored as failed, saying why; once a
    // contact is set, a retry sends it.
    let failed = all
        .iter()
        .find(|notice| notice.customer_id == nobody)
        .unwrap();
    assert_eq!(failed.status, "FAILED");
    assert!(
        failed.last_error.contains("no email address"),
        "{}",
        failed.last_error
    );
    let retry = GetDunningNoticeRequest {
        notice_id: failed.notice_id.clone(),
    };
    let refused = suite
        .dunning()
        .retry_dunning_notice(suite.as_role(retry.clone(), Role::Collector))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    let email = unique_recipient("late-contact");
    set_email(&suite, &nobody, &email).await;
    let requeued = suite
        .dunning()
        .retry_dunning_notice(suite.as_role(retry, Role::Collector))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (requeued.status.as_str(), requeued.recipient.as_str()),
        ("PENDING", email.as_str())
    );
    let mail = wait_for_message(&email, WAIT).await.unwrap();
    assert!(mail.text_body.contains("INV-CH-2"));
    wait_until_all_sent(&suite, 3).await;
}

#[tokio::test]
async fn bad_strategies_are_refused_field_by_field_and_roles_and_tenants_are_kept_apart() {
    let suite = CollectionsSuite::start(
        "dunning_rules",
        &[("OTC_COLLECTIONS__DUNNING__CHECK_INTERVAL_SECONDS", "0")],
    )
    .await;
    let bad = SetDunningStrategyRequest {
        segment: String::new(),
        name: String::new(),
        levels: vec![
            level(1, 10, "EMAIL"),
            DunningLevel {
                body_template: "{% for item in items %}".into(),
                ..level(2, 5, "PIGEON")
            },
            DunningLevel {
                fee: Some(DunningFee {
                    amount: Some(money("1.234", "EUR")),
                }),
                interest_rate: "lots".into(),
                ..level(3, 30, "EMAIL")
            },
        ],
    };
    let status = suite
        .dunning()
        .set_dunning_strategy(suite.as_role(bad, Role::TenantAdmin))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_error_details(&status);
    let fields: Vec<String> = details
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|violation| violation.field.clone())
        .collect();
    for expected in [
        "levels[1].channel",
        "levels[2].fee.amount.amount",
        "levels[2].interest_rate",
    ] {
        assert!(
            fields.contains(&expected.to_owned()),
            "{expected} missing from {fields:?}"
        );
    }
    // Once the channel is fixed, the remaining problems are reported.
    let status = suite
        .dunning()
        .set_dunning_strategy(suite.as_role(
            SetDunningStrategyRequest {
                segment: String::new(),
                name: String::new(),
                levels: vec![
                    level(1, 10, "EMAIL"),
                    DunningLevel {
                        body_template: "{% for item in items %}".into(),
                        ..level(2, 5, "EMAIL")
                    },
                ],
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap_err();
    let details = tonic_types::StatusExt::get_error_details(&status);
    let fields: Vec<String> = details
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|violation| violation.field.clone())
        .collect();
    assert_eq!(
        fields,
        vec![
            "name",
            "levels[1].days_after_due",
            "levels[1].body_template"
        ]
    );
    assert_eq!(
        suite.count("SELECT count(*) FROM dunning_strategies").await,
        0
    );

    // Collectors work dunning but do not configure it; CS representatives
    // neither; executives read.
    let good = SetDunningStrategyRequest {
        segment: String::new(),
        name: "standard".into(),
        levels: standard_levels("EMAIL"),
    };
    let refused = suite
        .dunning()
        .set_dunning_strategy(suite.as_role(good.clone(), Role::Collector))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let refused = suite
        .dunning()
        .run_dunning(suite.as_role(
            RunDunningRequest::default(),
            Role::CustomerServiceRepresentative,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let refused = suite
        .dunning()
        .run_dunning(suite.as_role(RunDunningRequest::default(), Role::Executive))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let strategy = suite
        .dunning()
        .set_dunning_strategy(suite.as_role(good, Role::TenantAdmin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(strategy.levels.len(), 4);
    // Without the simulation setting, a run ahead of today is refused.
    let ahead = suite
        .dunning()
        .run_dunning(suite.as_role(RunDunningRequest { as_of: day(1) }, Role::Collector))
        .await
        .unwrap_err();
    assert_eq!(ahead.code(), tonic::Code::InvalidArgument);
    assert!(ahead.message().contains("as_of"), "{ahead:?}");
    assert_eq!(strategy.levels[1].interest_rate, "8");
    let listed = suite
        .dunning()
        .list_dunning_strategies(suite.as_role(Default::default(), Role::Executive))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.strategies, vec![strategy]);
    let audited = suite
        .count("SELECT count(*) FROM audit_log WHERE action = 'dunning.strategy_set'")
        .await;
    assert_eq!(audited, 1);

    // A notice of this tenant is not found from another tenant.
    let customer = Uuid::now_v7().to_string();
    suite
        .customer(&customer, "Tenant A Customer", "ACTIVE", 1)
        .await;
    set_email(&suite, &customer, &unique_recipient("tenant-a")).await;
    let id = Uuid::now_v7().to_string();
    suite
        .invoice(&invoice(&id, "INV-T1", &customer, "10.00", &day(-30)), None)
        .await;
    suite.wait_for_events_applied(2, WAIT).await;
    assert_eq!(run_as_of(&suite, 0).await.notices_created, 1);
    let notice_id = notices(&suite, Role::Collector).await[0].notice_id.clone();
    let token = otc_testkit::local_token_issuer()
        .mint(
            &otc_testkit::tenant("othertenant"),
            "someone",
            &[Role::Collector],
            Duration::from_secs(600),
        )
        .unwrap();
    let mut request = tonic::Request::new(GetDunningNoticeRequest { notice_id });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let hidden = suite
        .dunning()
        .get_dunning_notice(request)
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), tonic::Code::NotFound);
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The reporting service as a process against the real PostgreSQL and
//! Kafka: every kind of event of the suite, each delivered twice, some
//! before what they refer to, and two poison records. The read models must
//! equal the events (AR balance = invoices − credit notes + debit notes −
//! applied cash − write-offs, to the cent), the poison records must be in
//! the DLQ with the field named, and every record of the BI topics, read
//! with a plain Kafka client, must validate against its JSON Schema.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate, Utc};
use prost::Message;
use rdkafka::Message as _;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use serde_json::Value;
use uuid::Uuid;

use otc_proto::events as proto;
use otc_proto::reporting::read_model_service_client::ReadModelServiceClient;
use otc_proto::reporting::{GetReadModelStatusRequest, RebuildReadModelsRequest};
use otc_shared::auth::Role;
use otc_shared::kafka::topics;
use otc_testkit::suite::{ServiceSuite, money, new_namespace};
use otc_testkit::{TestDatabase, kafka_brokers};
use tonic::Code;

const WAIT: Duration = Duration::from_secs(90);

fn id() -> String {
    Uuid::now_v7().to_string()
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn days_ago(days: u64) -> String {
    today()
        .checked_sub_days(Days::new(days))
        .unwrap()
        .to_string()
}

fn days_ahead(days: u64) -> String {
    today()
        .checked_add_days(Days::new(days))
        .unwrap()
        .to_string()
}

/// One event to publish: topic, type, key and payload.
struct Event {
    topic: &'static str,
    event_type: &'static str,
    key: String,
    payload: Vec<u8>,
}

fn event<M: Message>(
    topic: &'static str,
    event_type: &'static str,
    key: &str,
    message: &M,
) -> Event {
    Event {
        topic,
        event_type,
        key: key.to_owned(),
        payload: message.encode_to_vec(),
    }
}

#[derive(Debug, Default)]
struct Raw(Vec<u8>);

impl Message for Raw {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        buf.put_slice(&self.0);
    }
    fn merge_field(
        &mut self,
        _tag: u32,
        _wire_type: prost::encoding::WireType,
        _buf: &mut impl prost::bytes::Buf,
        _ctx: prost::encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        Ok(())
    }
    fn encoded_len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

fn invoice(
    invoice_id: &str,
    number: &str,
    customer_id: &str,
    total: (&str, &str),
    functional: Option<&str>,
    issue_date: &str,
    due_date: &str,
) -> proto::InvoiceIssued {
    proto::InvoiceIssued {
        invoice_id: invoice_id.into(),
        invoice_number: number.into(),
        customer_id: customer_id.into(),
        order_ids: vec![],
        net_amount: Some(money(total.0, total.1)),
        tax_amount: Some(money("0.00", total.1)),
        total_amount: Some(money(total.0, total.1)),
        functional_total_amount: functional.map(|amount| money(amount, "EUR")),
        issue_date: issue_date.into(),
        due_date: due_date.into(),
        ..Default::default()
    }
}

fn applied(
    application_id: &str,
    receipt_id: &str,
    customer_id: &str,
    invoice_id: &str,
    amount: (&str, &str),
    discount: &str,
    automatic: bool,
) -> proto::PaymentApplied {
    proto::PaymentApplied {
        application_id: application_id.into(),
        receipt_id: receipt_id.into(),
        customer_id: customer_id.into(),
        invoice_id: invoice_id.into(),
        amount: Some(money(amount.0, amount.1)),
        discount_taken: Some(money(discount, amount.1)),
        deduction: Some(money("0.00", amount.1)),
        automatic,
        confidence: "98.5".into(),
        method: if automatic {
            "invoice_reference"
        } else {
            "manual"
        }
        .into(),
        value_date: days_ago(1),
        ..Default::default()
    }
}

/// A record as read: key, headers, payload.
type Record = (Option<String>, HashMap<String, String>, Vec<u8>);

/// Every record of a topic, read from the beginning with a plain rdkafka
/// consumer (not the project's code), until the topic is quiet.
async fn read_topic(topic: &str, quiet: Duration) -> Vec<Record> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("group.id", format!("bi-reader-{}", Uuid::now_v7()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut records = Vec::new();
    while let Ok(Ok(message)) = tokio::time::timeout(quiet, consumer.recv()).await {
        let mut headers = HashMap::new();
        if let Some(all) = message.headers() {
            for header in all.iter() {
                if let Some(value) = header.value {
                    headers.insert(
                        header.key.to_owned(),
                        String::from_utf8_lossy(value).into_owned(),
                    );
                }
            }
        }
        records.push((
            message
                .key()
                .map(|key| String::from_utf8_lossy(key).into_owned()),
            headers,
            message.payload().unwrap_or_default().to_vec(),
        ));
    }
    records
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/schemas/reporting")
        .join(format!("{name}.v1.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path:?}: {error}"));
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&serde_json::from_str(&text).unwrap())
        .unwrap()
}

/// Every record validates against the topic's schema; returns them as JSON.
fn validated(name: &str, records: &[Record]) -> Vec<Value> {
    let validator = schema(name);
    records
        .iter()
        .map(|(key, headers, payload)| {
            assert!(key.is_some(), "{name}: a record without a key");
            assert_eq!(
                headers.get("content-type").map(String::as_str),
                Some("application/json")
            );
            assert!(
                headers.contains_key("ce_id") && headers.contains_key("tenant"),
                "{headers:?}"
            );
            let value: Value = serde_json::from_slice(payload).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|error| error.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{name} record {value} does not validate: {errors:?}"
            );
            value
        })
        .collect()
}

#[tokio::test]
async fn every_event_folds_once_in_any_order_and_the_bi_topics_follow_their_schemas() {
    let database = TestDatabase::create("reporting_fold").await.unwrap();
    let namespace = new_namespace();
    let suite = ServiceSuite::start("reporting", database, &namespace, &[]).await;
    let tenant = suite.tenant.clone();
    let (c1, c2) = (id(), id());
    let (inv1, inv2, inv3, dn1, cn1) = (id(), id(), id(), id(), id());
    let (r1, r3, r4) = (id(), id(), id());
    let (a1, a2, a3) = (id(), id(), id());
    let (order, dispute, promise) = (id(), id(), id());
    let customer = |customer_id: &str, name: &str, segment: &str, currency: &str, version: u64| {
        proto::CustomerUpserted {
            customer_id: customer_id.into(),
            legal_name: name.into(),
            segment: segment.into(),
            currency_code: currency.into(),
            tax_region: "DE".into(),
            payment_terms_code: "NET30".into(),
            status: "ACTIVE".into(),
            version,
            ..Default::default()
        }
    };
    let o = topics::ORDER_EVENTS;
    let b = topics::BILLING_EVENTS;
    let p = topics::PAYMENT_EVENTS;
    let c = topics::COLLECTIONS_EVENTS;
    let events = vec![
        // The newer master version first: the older one must not win.
        event(
            o,
            "otc.order.v1.CustomerUpserted",
            &c1,
            &customer(&c1, "Alpha GmbH", "enterprise", "EUR", 2),
        ),
        event(
            o,
            "otc.order.v1.CustomerUpserted",
            &c1,
            &customer(&c1, "Alpha (old name)", "smb", "EUR", 1),
        ),
        event(
            o,
            "otc.order.v1.CustomerUpserted",
            &c2,
            &customer(&c2, "Beta Inc", "smb", "USD", 1),
        ),
        // Cash applied before the invoice it pays is seen.
        event(
            p,
            "otc.payments.v1.PaymentApplied",
            &c1,
            &applied(&a1, &r1, &c1, &inv1, ("300.00", "EUR"), "0.00", true),
        ),
        event(
            b,
            "otc.billing.v1.InvoiceIssued",
            &c1,
            &invoice(
                &inv1,
                "INV-1",
                &c1,
                ("1000.00", "EUR"),
                Some("1000.00"),
                &days_ago(40),
                &days_ago(10),
            ),
        ),
        event(
            b,
            "otc.billing.v1.InvoiceIssued",
            &c1,
            &invoice(
                &inv2,
                "INV-2",
                &c1,
                ("500.00", "EUR"),
                Some("500.00"),
                &days_ago(5),
                &days_ahead(25),
            ),
        ),
        event(
            b,
            "otc.billing.v1.InvoiceIssued",
            &c2,
            &invoice(
                &inv3,
                "INV-3",
                &c2,
                ("250.00", "USD"),
                Some("230.00"),
                &days_ago(200),
                &days_ago(170),
            ),
        ),
        event(
            b,
            "otc.billing.v1.CreditNoteIssued",
            &c1,
            &proto::CreditNoteIssued {
                credit_note_id: cn1.clone(),
                credit_note_number: "CN-1".into(),
                invoice_id: inv1.clone(),
                customer_id: c1.clone(),
                total_amount: Some(money("100.00", "EUR")),
                reason: "price".into(),
                issue_date: days_ago(9),
                ..Default::default()
            },
        ),
        event(
            b,
            "otc.billing.v1.DebitNoteIssued",
            &c1,
            &proto::DebitNoteIssued {
                debit_note_id: dn1.clone(),
                debit_note_number: "DN-1".into(),
                invoice_id: inv1.clone(),
                customer_id: c1.clone(),
                total_amount: Some(money("50.00", "EUR")),
                reason: "freight".into(),
                issue_date: days_ago(36),
                due_date: days_ago(35),
                ..Default::default()
            },
        ),
        event(
            c,
            "otc.collections.v1.WriteOffApproved",
            &c1,
            &proto::WriteOffApproved {
                write_off_id: id(),
                customer_id: c1.clone(),
                invoice_id: inv2.clone(),
                amount: Some(money("20.00", "EUR")),
                approved_by: "cm".into(),
            },
        ),
        event(
            p,
            "otc.payments.v1.PaymentApplied",
            &c1,
            &applied(&a2, &r1, &c1, &inv2, ("200.00", "EUR"), "0.00", false),
        ),
        event(
            p,
            "otc.payments.v1.PaymentUnapplied",
            &c1,
            &proto::PaymentUnapplied {
                application_id: a2.clone(),
                receipt_id: r1.clone(),
                customer_id: c1.clone(),
                invoice_id: inv2.clone(),
                amount: Some(money("200.00", "EUR")),
                reason: "wrong invoice".into(),
                ..Default::default()
            },
        ),
        event(
            p,
            "otc.payments.v1.PaymentApplied",
            &c2,
            &applied(&a3, &r3, &c2, &inv3, ("100.00", "USD"), "5.00", true),
        ),
        event(
            p,
            "otc.payments.v1.PaymentReceived",
            &c1,
            &proto::PaymentReceived {
                receipt_id: r1.clone(),
                customer_id: c1.clone(),
                amount: Some(money("500.00", "EUR")),
                channel: "bank_statement".into(),
                value_date: days_ago(1),
                ..Default::default()
            },
        ),
        event(
            p,
            "otc.payments.v1.PaymentReceived",
            &c2,
            &proto::PaymentReceived {
                receipt_id: r3.clone(),
                customer_id: c2.clone(),
                amount: Some(money("100.00", "USD")),
                channel: "webhook".into(),
                value_date: days_ago(1),
                ..Default::default()
            },
        ),
        // A payer nobody knows, reversed: keyed by the receipt.
        event(
            p,
            "otc.payments.v1.PaymentReversed",
            &r4,
            &proto::PaymentReversed {
                receipt_id: r4.clone(),
                customer_id: String::new(),
                amount: Some(money("75.00", "EUR")),
                reason: "returned".into(),
            },
        ),
        event(
            p,
            "otc.payments.v1.PaymentReceived",
            &r4,
            &proto::PaymentReceived {
                receipt_id: r4.clone(),
                amount: Some(money("75.00", "EUR")),
                channel: "bank_statement".into(),
                value_date: days_ago(2),
                ..Default::default()
            },
        ),
        event(
            p,
            "otc.payments.v1.RefundIssued",
            &c1,
            &proto::RefundIssued {
                refund_id: id(),
                receipt_id: r1.clone(),
                customer_id: c1.clone(),
                amount: Some(money("200.00", "EUR")),
                reason: "overpaid".into(),
            },
        ),
        event(
            p,
            "otc.payments.v1.DeductionTaken",
            &c2,
            &proto::DeductionTaken {
                deduction_id: id(),
                application_id: a3.clone(),
                receipt_id: r3.clone(),
                customer_id: c2.clone(),
                invoice_id: inv3.clone(),
                amount: Some(money("2.00", "USD")),
                reason: "short".into(),
            },
        ),
        event(
            c,
            "otc.collections.v1.DisputeResolved",
            &c2,
            &proto::DisputeResolved {
                dispute_id: dispute.clone(),
                customer_id: c2.clone(),
                resolution: "rejected".into(),
                resolved_by: "collector".into(),
                ..Default::default()
            },
        ),
        event(
            c,
            "otc.collections.v1.DisputeOpened",
            &c2,
            &proto::DisputeOpened {
                dispute_id: dispute.clone(),
                customer_id: c2.clone(),
                invoice_id: inv3.clone(),
                reason_code: "pricing".into(),
                amount: Some(money("2.00", "USD")),
                source: "deduction".into(),
                owner: "collector".into(),
                sla_due_date: days_ahead(10),
                ..Default::default()
            },
        ),
        event(
            c,
            "otc.collections.v1.PromiseToPayRecorded",
            &c1,
            &proto::PromiseToPayRecorded {
                promise_id: promise.clone(),
                customer_id: c1.clone(),
                invoice_ids: vec![inv1.clone()],
                amount: Some(money("600.00", "EUR")),
                promised_date: days_ahead(3),
            },
        ),
        event(
            c,
            "otc.collections.v1.PromiseBroken",
            &c1,
            &proto::PromiseBroken {
                promise_id: promise.clone(),
                customer_id: c1.clone(),
                invoice_ids: vec![inv1.clone()],
                amount: Some(money("600.00", "EUR")),
                paid: Some(money("0.00", "EUR")),
                promised_date: days_ahead(3),
                as_of: days_ahead(4),
            },
        ),
        event(
            c,
            "otc.collections.v1.DunningNoticeSent",
            &c1,
            &proto::DunningNoticeSent {
                notice_id: id(),
                customer_id: c1.clone(),
                level: 1,
                channel: "email".into(),
                invoice_ids: vec![inv1.clone()],
                overdue_amount: Some(money("600.00", "EUR")),
                as_of: today().to_string(),
                ..Default::default()
            },
        ),
        event(
            c,
            "otc.collections.v1.CustomerCreditHeld",
            &c2,
            &proto::CustomerCreditHeld {
                customer_id: c2.clone(),
                reason: "overdue".into(),
                ..Default::default()
            },
        ),
        event(
            o,
            "otc.order.v1.ShipmentRecorded",
            &c1,
            &proto::ShipmentRecorded {
                shipment_id: id(),
                order_id: order.clone(),
                customer_id: c1.clone(),
                ..Default::default()
            },
        ),
        event(
            o,
            "otc.order.v1.OrderPlaced",
            &c1,
            &proto::OrderPlaced {
                order_id: order.clone(),
                customer_id: c1.clone(),
                source: "shop".into(),
                external_order_id: "ext-1".into(),
                total: Some(money("1000.00", "EUR")),
                ..Default::default()
            },
        ),
        event(
            o,
            "otc.order.v1.OrderApproved",
            &c1,
            &proto::OrderApproved {
                order_id: order.clone(),
                customer_id: c1.clone(),
                ..Default::default()
            },
        ),
        // A type reporting does not fold: recorded as seen, nothing else.
        event(
            b,
            "otc.billing.v1.InvoiceDelivered",
            &c1,
            &proto::InvoiceDelivered {
                invoice_id: inv1.clone(),
                ..Default::default()
            },
        ),
    ];
    let mut ids = Vec::new();
    for event in &events {
        let tenant = tenant.as_str();
        ids.push(
            suite
                .publish_as(
                    tenant,
                    event.topic,
                    event.event_type,
                    "/test",
                    &event.key,
                    &Raw(event.payload.clone()),
                    None,
                )
                .await,
        );
    }
    // Two poison records: a payload that is not protobuf, and a bad amount.
    suite
        .publish_as(
            &tenant,
            b,
            "otc.billing.v1.InvoiceIssued",
            "/test",
            &c1,
            &Raw(vec![0xff, 0xff, 0xff]),
            None,
        )
        .await;
    let mut bad = applied(&id(), &r1, &c1, &inv1, ("12,50", "EUR"), "0.00", true);
    bad.amount = Some(money("12,50", "EUR"));
    suite
        .publish_as(
            &tenant,
            p,
            "otc.payments.v1.PaymentApplied",
            "/test",
            &c1,
            &bad,
            None,
        )
        .await;
    // Every good event again, under the same id: duplicates change nothing.
    for (event, event_id) in events.iter().zip(&ids) {
        suite
            .publish_as(
                &tenant,
                event.topic,
                event.event_type,
                "/test",
                &event.key,
                &Raw(event.payload.clone()),
                Some(event_id),
            )
            .await;
    }

    let distinct = i64::try_from(events.len()).unwrap();
    let seen = suite
        .wait_for_count(
            "SELECT count(*) FROM inbox WHERE consumer = 'read-models'",
            distinct,
            WAIT,
        )
        .await;
    assert_eq!(seen, distinct);
    assert_eq!(
        suite
            .wait_for_count(
                "SELECT count(*) FROM dead_letters WHERE consumer = 'read-models'",
                2,
                WAIT
            )
            .await,
        2
    );
    // Let the duplicates arrive too, then check nothing changed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        suite
            .count("SELECT count(*) FROM inbox WHERE consumer = 'read-models'")
            .await,
        distinct
    );

    // The books, from the read models: C1 = 1000 + 500 − 100 + 50 − 300 − 200 + 200 − 20 = 1130.00;
    // C2 = 250 − 100 − 5 (discount) = 145.00.
    let balance = |customer: &str| {
        format!(
            "SELECT (SELECT COALESCE(sum(amount), 0) FROM documents WHERE customer_id = '{customer}')
                  + (SELECT COALESCE(sum(amount), 0) FROM movements WHERE customer_id = '{customer}')"
        )
    };
    let c1_balance: rust_decimal::Decimal = suite.scalar(&balance(&c1)).await;
    let c2_balance: rust_decimal::Decimal = suite.scalar(&balance(&c2)).await;
    assert_eq!(c1_balance.to_string(), "1130.000000");
    assert_eq!(c2_balance.to_string(), "145.000000");
    assert_eq!(suite.count("SELECT count(*) FROM documents").await, 4);
    assert_eq!(suite.count("SELECT count(*) FROM movements").await, 7);
    let name: String = suite
        .scalar(&format!(
            "SELECT legal_name FROM customers WHERE customer_id = '{c1}'"
        ))
        .await;
    assert_eq!(
        name, "Alpha GmbH",
        "the older master version overwrote the newer"
    );
    let reversed: rust_decimal::Decimal = suite
        .scalar(&format!(
            "SELECT reversed_amount FROM receipts WHERE receipt_id = '{r4}' AND amount = 75"
        ))
        .await;
    assert_eq!(reversed.to_string(), "75.000000");
    let unapplied: i64 = suite
        .count(&format!("SELECT count(*) FROM applications WHERE application_id = '{a2}' AND unapplied_at IS NOT NULL AND amount = 200"))
        .await;
    assert_eq!(unapplied, 1);
    let resolution: String = suite
        .scalar(&format!(
            "SELECT resolution || '/' || reason_code FROM disputes WHERE dispute_id = '{dispute}'"
        ))
        .await;
    assert_eq!(resolution, "rejected/pricing");
    let promise_outcome: String = suite
        .scalar(&format!(
            "SELECT outcome FROM promises WHERE promise_id = '{promise}'"
        ))
        .await;
    assert_eq!(promise_outcome, "broken");
    let order_steps: i64 = suite
        .count(&format!("SELECT count(*) FROM orders WHERE order_id = '{order}' AND placed_at IS NOT NULL AND approved_at IS NOT NULL AND first_shipped_at IS NOT NULL AND total = 1000"))
        .await;
    assert_eq!(order_steps, 1);

    // The poison records, in the DLQ with the field named.
    let dlq = read_topic(
        &format!("{namespace}{p}.dlq.read-models"),
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(dlq.len(), 1, "{dlq:?}");
    let error = dlq[0].1.get("dlq_error").cloned().unwrap_or_default();
    assert!(
        error.contains("amount.amount") && error.contains("12,50"),
        "{error}"
    );
    let dlq = read_topic(
        &format!("{namespace}{b}.dlq.read-models"),
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(dlq.len(), 1);
    assert!(dlq[0].1.get("dlq_error").unwrap().contains("protobuf"));

    // The BI topics, read with a plain Kafka client and checked against their schemas.
    let deadline = Instant::now() + WAIT;
    let (aging, invoices, payments, disputes, customer_kpis, kpis) = loop {
        let aging = read_topic(
            &format!("{namespace}{}", topics::REPORTING_AR_AGING),
            Duration::from_secs(3),
        )
        .await;
        let invoices = read_topic(
            &format!("{namespace}{}", topics::REPORTING_INVOICE_FACTS),
            Duration::from_secs(2),
        )
        .await;
        let payments = read_topic(
            &format!("{namespace}{}", topics::REPORTING_PAYMENT_FACTS),
            Duration::from_secs(2),
        )
        .await;
        let disputes = read_topic(
            &format!("{namespace}{}", topics::REPORTING_DISPUTE_FACTS),
            Duration::from_secs(2),
        )
        .await;
        let customer_kpis = validated(
            "customer_kpis",
            &read_topic(
                &format!("{namespace}{}", topics::REPORTING_CUSTOMER_KPIS),
                Duration::from_secs(2),
            )
            .await,
        );
        let kpis = validated(
            "kpis",
            &read_topic(
                &format!("{namespace}{}", topics::REPORTING_KPIS),
                Duration::from_secs(2),
            )
            .await,
        );
        let latest = validated("ar_aging", &aging);
        let settled = ["1130.00", "145.00"]
            .iter()
            .zip([&c1, &c2])
            .all(|(total, customer)| {
                latest
                    .iter()
                    .rev()
                    .find(|record| record["customer_id"] == customer.as_str())
                    .is_some_and(|record| record["currencies"][0]["total"] == *total)
            });
        let kpis_settled = kpis.last().is_some_and(|record| {
            record["currencies"]
                .as_array()
                .is_some_and(|currencies| currencies.len() == 2)
        });
        if (settled
            && kpis_settled
            && invoices.len() >= 5
            && payments.len() >= 10
            && disputes.len() >= 2)
            || Instant::now() > deadline
        {
            break (latest, invoices, payments, disputes, customer_kpis, kpis);
        }
    };
    let invoices = validated("invoice_facts", &invoices);
    let payments = validated("payment_facts", &payments);
    let disputes = validated("dispute_facts", &disputes);
    // One record per fact, duplicates or not.
    assert_eq!(invoices.len(), 5, "{invoices:#?}");
    assert_eq!(payments.len(), 10, "{payments:#?}");
    assert_eq!(disputes.len(), 2);
    let credit_note = invoices
        .iter()
        .find(|fact| fact["fact_type"] == "credit_note_issued")
        .unwrap();
    assert_eq!(
        credit_note["total"],
        serde_json::json!({"amount": "100.00", "currency": "EUR"})
    );
    assert_eq!(credit_note["invoice_id"], inv1.as_str());
    let unknown_payer = payments
        .iter()
        .find(|fact| fact["fact_type"] == "payment_reversed")
        .unwrap();
    assert_eq!(unknown_payer["customer_id"], Value::Null);

    // The latest aging of each customer, as hand-computed:
    // C1 EUR: INV-2 480.00 current (due in 25 days), INV-1 600.00 in 1-30 (10 days), DN-1 50.00 in 31-60 (35 days).
    let latest = |customer: &str| {
        aging
            .iter()
            .rev()
            .find(|record| record["customer_id"] == customer)
            .unwrap()
            .clone()
    };
    let alpha = latest(&c1);
    assert_eq!(alpha["legal_name"], "Alpha GmbH");
    assert_eq!(alpha["segment"], "enterprise");
    assert_eq!(
        alpha["bucket_labels"],
        serde_json::json!(["current", "1-30", "31-60", "61-90", "91-120", "120+"])
    );
    let eur = &alpha["currencies"][0];
    assert_eq!(eur["currency"], "EUR");
    let amounts: Vec<&str> = eur["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| bucket["amount"].as_str().unwrap())
        .collect();
    assert_eq!(
        amounts,
        ["480.00", "600.00", "50.00", "0.00", "0.00", "0.00"]
    );
    assert_eq!(
        (eur["total"].as_str(), eur["overdue"].as_str()),
        (Some("1130.00"), Some("650.00"))
    );
    // Functional: INV-1 and INV-2 have an EUR equivalent (DN-1 has none): 600 + 480.
    assert_eq!(alpha["functional"]["total"], "1080.00");
    // C2 USD: INV-3 145.00, 170 days past due: 120+; functional 145 × 230 / 250 = 133.40 EUR.
    let beta = latest(&c2);
    assert_eq!(beta["currencies"][0]["buckets"][5]["amount"], "145.00");
    assert_eq!(beta["functional"]["currency"], "EUR");
    assert_eq!(beta["functional"]["total"], "133.40");
    assert_eq!(beta["as_of"], today().to_string());

    // Customer KPIs: Alpha paid 300.00 of INV-1 (issued 40 days ago, due 10 days
    // ago) yesterday: 39 days to pay, 9 late, slightly late; the 200.00 applied
    // to INV-2 was unapplied and does not count. Beta is on credit hold.
    let latest_kpis = |customer: &str| {
        customer_kpis
            .iter()
            .rev()
            .find(|record| record["customer_id"] == customer)
            .unwrap()
            .clone()
    };
    let alpha = latest_kpis(&c1);
    assert_eq!(alpha["currencies"][0]["receivables"], "1130.00");
    assert_eq!(alpha["average_days_to_pay"], "39.0");
    assert_eq!(alpha["average_days_late"], "9.0");
    assert_eq!(alpha["payment_class"], "slightly_late");
    assert_eq!(
        (
            alpha["open_promises"].as_i64(),
            alpha["on_credit_hold"].as_bool()
        ),
        (Some(0), Some(false))
    );
    let beta = latest_kpis(&c2);
    assert_eq!(beta["on_credit_hold"], true);
    assert_eq!(beta["open_disputes"], 0);
    // Tenant KPIs, keyed by tenant, one entry per currency.
    let tenant_kpis = kpis.last().unwrap();
    assert_eq!(tenant_kpis["tenant"], tenant.as_str());
    let currencies: Vec<&str> = tenant_kpis["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["currency"].as_str().unwrap())
        .collect();
    assert_eq!(currencies, ["EUR", "USD"]);
    assert_eq!(tenant_kpis["currencies"][0]["receivables"], "1130.00");

    // Rebuild from offset 0: the same rows, nothing dead-lettered twice.
    let before = fingerprint(&suite).await;
    let mut read_models = ReadModelServiceClient::new(suite.channel.clone());
    let refused = read_models
        .rebuild_read_models(suite.as_role(
            RebuildReadModelsRequest { reason: " ".into() },
            Role::TenantAdmin,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("reason"), "{refused:?}");
    let refused = read_models
        .rebuild_read_models(suite.as_role(
            RebuildReadModelsRequest {
                reason: "test".into(),
            },
            Role::Executive,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let status = read_models
        .rebuild_read_models(suite.as_role(
            RebuildReadModelsRequest {
                reason: "prove the rebuild".into(),
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.generation, 2);
    assert_eq!(
        suite
            .wait_for_count(
                "SELECT count(*) FROM inbox WHERE consumer = 'read-models'",
                distinct,
                WAIT
            )
            .await,
        distinct
    );
    let after = fingerprint(&suite).await;
    assert_eq!(before, after, "the rebuild gave different read models");
    let status = read_models
        .get_read_model_status(suite.as_role(GetReadModelStatusRequest {}, Role::TenantAdmin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (status.generation, status.events_folded, status.dead_letters),
        (2, distinct, 2)
    );
    assert_eq!(suite.count("SELECT count(*) FROM dead_letters").await, 2);
    assert_eq!(
        suite
            .count("SELECT count(*) FROM audit_log WHERE action = 'read_models.rebuild'")
            .await,
        1
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let dlq = read_topic(
        &format!("{namespace}{p}.dlq.read-models"),
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(dlq.len(), 1, "a poison record was dead-lettered twice");
}

/// A digest of every read model table's rows.
async fn fingerprint(suite: &ServiceSuite) -> Vec<(String, String)> {
    let mut digests = Vec::new();
    for table in [
        "customers",
        "documents",
        "movements",
        "receipts",
        "applications",
        "refunds",
        "deductions",
        "orders",
        "disputes",
        "promises",
        "dunning_notices",
        "credit_status",
        "held_invoices",
    ] {
        let digest: String = suite
            .scalar(&format!(
                "SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) || ':' || count(*) FROM {table} t"
            ))
            .await;
        digests.push((table.to_owned(), digest));
    }
    digests
}

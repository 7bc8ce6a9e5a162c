#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Reporting's figures from a known event set, against expectations worked
//! out by hand (the arithmetic is in the comments): aging buckets on their
//! boundary days, DSO by both methods, best possible DSO, average days
//! delinquent and CEI; the aging export; roles, tenants and bad filters.
//!
//! As of 2026-06-30, period 90 days: (2026-04-01, 2026-06-30].

use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use prost::Message;
use tonic::Code;
use uuid::Uuid;

use otc_proto::events as proto;
use otc_proto::reporting::reporting_service_client::ReportingServiceClient;
use otc_proto::reporting::*;
use otc_shared::auth::Role;
use otc_shared::kafka::topics;
use otc_testkit::TestDatabase;
use otc_testkit::suite::{ServiceSuite, money, new_namespace};

const WAIT: Duration = Duration::from_secs(90);

/// A rate as compared: currency, total, matching, % by count, % by amount.
type RateRow = (String, i64, i64, Option<String>, Option<String>);
/// Disputes of a reason as compared: reason, currency, opened, amount, open,
/// resolved, average resolution days.
type DisputeRow = (String, String, i64, String, i64, i64, Option<String>);
const AS_OF: &str = "2026-06-30";

fn id() -> String {
    Uuid::now_v7().to_string()
}

fn at(date: &str) -> prost_types::Timestamp {
    let day: NaiveDate = date.parse().unwrap();
    otc_shared::time::to_proto(Utc.from_utc_datetime(&day.and_hms_opt(10, 0, 0).unwrap()))
}

struct Published {
    count: i64,
}

impl Published {
    async fn send<M: Message>(
        &mut self,
        suite: &ServiceSuite,
        topic: &str,
        event_type: &str,
        key: &str,
        message: &M,
    ) {
        suite
            .publish_as(
                &suite.tenant,
                topic,
                event_type,
                "/test",
                key,
                message,
                None,
            )
            .await;
        self.count += 1;
    }
}

/// Publishes an event stamped (`ce_time`) on a given day, as collections'
/// events are dated by their envelope.
async fn publish_on<M: Message>(
    suite: &ServiceSuite,
    topic: &str,
    event_type: &str,
    key: &str,
    message: &M,
    day: &str,
) {
    let mut envelope = otc_shared::events::EventEnvelope::new(
        event_type,
        "/test",
        &otc_testkit::tenant(&suite.tenant),
    );
    let day: NaiveDate = day.parse().unwrap();
    envelope.time = Utc.from_utc_datetime(&day.and_hms_opt(9, 0, 0).unwrap());
    let headers = otc_shared::events::RecordHeaders::from_kafka(Some(&envelope.to_headers()));
    let producer = otc_testkit::kafka::producer().unwrap();
    otc_testkit::kafka::produce(
        &producer,
        &suite.topic(topic),
        key,
        &message.encode_to_vec(),
        &headers,
    )
    .await
    .unwrap();
}

fn invoice(
    customer: &str,
    amount: &str,
    currency: &str,
    issue: &str,
    due: &str,
) -> proto::InvoiceIssued {
    proto::InvoiceIssued {
        invoice_id: id(),
        invoice_number: format!("INV-{}", &id()[24..]),
        customer_id: customer.into(),
        total_amount: Some(money(amount, currency)),
        net_amount: Some(money(amount, currency)),
        tax_amount: Some(money("0.00", currency)),
        functional_total_amount: (currency == "USD").then(|| money("920.00", "EUR")),
        issue_date: issue.into(),
        due_date: due.into(),
        ..Default::default()
    }
}

fn paid(
    customer: &str,
    invoice: &proto::InvoiceIssued,
    amount: &str,
    on: &str,
) -> proto::PaymentApplied {
    proto::PaymentApplied {
        application_id: id(),
        receipt_id: id(),
        customer_id: customer.into(),
        invoice_id: invoice.invoice_id.clone(),
        amount: Some(money(amount, "EUR")),
        automatic: true,
        applied_at: Some(at(on)),
        value_date: on.into(),
        ..Default::default()
    }
}

fn customer(
    customer_id: &str,
    name: &str,
    segment: &str,
    currency: &str,
) -> proto::CustomerUpserted {
    proto::CustomerUpserted {
        customer_id: customer_id.into(),
        legal_name: name.into(),
        segment: segment.into(),
        currency_code: currency.into(),
        version: 1,
        ..Default::default()
    }
}

#[tokio::test]
async fn figures_equal_the_hand_computed_ones() {
    let database = TestDatabase::create("reporting_figures").await.unwrap();
    let suite = ServiceSuite::start("reporting", database, &new_namespace(), &[]).await;
    let (a, b, c) = (id(), id(), id());
    let o = topics::ORDER_EVENTS;
    let bill = topics::BILLING_EVENTS;
    let pay = topics::PAYMENT_EVENTS;
    let mut published = Published { count: 0 };
    published
        .send(
            &suite,
            o,
            "otc.order.v1.CustomerUpserted",
            &a,
            &customer(&a, "Alpha", "enterprise", "EUR"),
        )
        .await;
    published
        .send(
            &suite,
            o,
            "otc.order.v1.CustomerUpserted",
            &b,
            &customer(&b, "Beta", "smb", "EUR"),
        )
        .await;
    published
        .send(
            &suite,
            o,
            "otc.order.v1.CustomerUpserted",
            &c,
            &customer(&c, "Gamma", "smb", "USD"),
        )
        .await;
    // Days past due on 2026-06-30 in brackets.
    let i1 = invoice(&a, "1000.00", "EUR", "2026-03-01", "2026-03-31"); // 91: 91-120
    let i7 = invoice(&a, "50.00", "EUR", "2026-03-01", "2026-03-02"); // 120: 91-120
    let i6 = invoice(&a, "100.00", "EUR", "2026-03-01", "2026-03-01"); // 121: 120+
    let i2 = invoice(&a, "2000.00", "EUR", "2026-05-01", "2026-05-31"); // paid in full
    let i8 = invoice(&a, "300.00", "EUR", "2026-05-01", "2026-05-31"); // 30: 1-30
    let i4 = invoice(&b, "500.00", "EUR", "2026-04-15", "2026-05-01"); // 60: 31-60
    let i9 = invoice(&b, "400.00", "EUR", "2026-04-15", "2026-04-30"); // 61: 61-90
    let i3 = invoice(&b, "3000.00", "EUR", "2026-06-01", "2026-06-30"); // 0: current
    let i11 = invoice(&b, "250.00", "EUR", "2026-05-01", "2026-05-30"); // 31: 31-60
    let i12 = invoice(&c, "1000.00", "USD", "2026-06-10", "2026-07-10"); // current, 920.00 EUR
    for (key, issued) in [
        (&a, &i1),
        (&a, &i7),
        (&a, &i6),
        (&a, &i2),
        (&a, &i8),
        (&b, &i4),
        (&b, &i9),
        (&b, &i3),
        (&b, &i11),
        (&c, &i12),
    ] {
        published
            .send(&suite, bill, "otc.billing.v1.InvoiceIssued", key, issued)
            .await;
    }
    published
        .send(
            &suite,
            pay,
            "otc.payments.v1.PaymentApplied",
            &a,
            &paid(&a, &i1, "400.00", "2026-06-15"),
        )
        .await;
    published
        .send(
            &suite,
            pay,
            "otc.payments.v1.PaymentApplied",
            &a,
            &paid(&a, &i2, "2000.00", "2026-06-20"),
        )
        .await;
    // After the as-of date: must not count.
    published
        .send(
            &suite,
            pay,
            "otc.payments.v1.PaymentApplied",
            &b,
            &paid(&b, &i3, "500.00", "2026-07-05"),
        )
        .await;
    published
        .send(
            &suite,
            bill,
            "otc.billing.v1.CreditNoteIssued",
            &b,
            &proto::CreditNoteIssued {
                credit_note_id: id(),
                credit_note_number: "CN-1".into(),
                invoice_id: i3.invoice_id.clone(),
                customer_id: b.clone(),
                total_amount: Some(money("100.00", "EUR")),
                issued_at: Some(at("2026-06-10")),
                issue_date: "2026-06-10".into(),
                ..Default::default()
            },
        )
        .await;
    // For the statistics: Delta pays in GBP (so the EUR figures above stay as they are).
    let d = id();
    let coll = topics::COLLECTIONS_EVENTS;
    published
        .send(
            &suite,
            o,
            "otc.order.v1.CustomerUpserted",
            &d,
            &customer(&d, "Delta", "enterprise", "GBP"),
        )
        .await;
    let order = id();
    published
        .send(
            &suite,
            o,
            "otc.order.v1.OrderPlaced",
            &d,
            &proto::OrderPlaced {
                order_id: order.clone(),
                customer_id: d.clone(),
                total: Some(money("1000.00", "GBP")),
                placed_at: Some(at("2026-04-20")),
                ..Default::default()
            },
        )
        .await;
    let mut i20 = invoice(&d, "1000.00", "GBP", "2026-05-11", "2026-06-10");
    i20.order_ids = vec![order.clone()];
    published
        .send(&suite, bill, "otc.billing.v1.InvoiceIssued", &d, &i20)
        .await;
    let mut manual = paid(&d, &i20, "600.00", "2026-06-10");
    manual.amount = Some(money("600.00", "GBP"));
    manual.automatic = false;
    let mut automatic = paid(&d, &i20, "400.00", "2026-06-20");
    automatic.amount = Some(money("400.00", "GBP"));
    published
        .send(&suite, pay, "otc.payments.v1.PaymentApplied", &d, &manual)
        .await;
    published
        .send(
            &suite,
            pay,
            "otc.payments.v1.PaymentApplied",
            &d,
            &automatic,
        )
        .await;
    let notice = |level: i32,
                  customer: &str,
                  invoice: &proto::InvoiceIssued,
                  amount: &str,
                  currency: &str,
                  sent: &str| proto::DunningNoticeSent {
        notice_id: id(),
        customer_id: customer.into(),
        level,
        channel: "email".into(),
        invoice_ids: vec![invoice.invoice_id.clone()],
        overdue_amount: Some(money(amount, currency)),
        sent_at: Some(at(sent)),
        as_of: sent.into(),
        ..Default::default()
    };
    let mut dated = 0;
    for (key, message, day) in [
        (
            &d,
            notice(1, &d, &i20, "1000.00", "GBP", "2026-06-12"),
            "2026-06-12",
        ),
        (
            &a,
            notice(2, &a, &i1, "600.00", "EUR", "2026-06-16"),
            "2026-06-16",
        ),
    ] {
        publish_on(
            &suite,
            coll,
            "otc.collections.v1.DunningNoticeSent",
            key,
            &message,
            day,
        )
        .await;
        dated += 1;
    }
    let dispute = |dispute_id: &str, customer: &str, reason: &str, amount: &str, currency: &str| {
        proto::DisputeOpened {
            dispute_id: dispute_id.into(),
            customer_id: customer.into(),
            reason_code: reason.into(),
            amount: Some(money(amount, currency)),
            source: "manual".into(),
            ..Default::default()
        }
    };
    let resolved = |dispute_id: &str, customer: &str| proto::DisputeResolved {
        dispute_id: dispute_id.into(),
        customer_id: customer.into(),
        resolution: "rejected".into(),
        ..Default::default()
    };
    let (d1, d2, d3) = (id(), id(), id());
    publish_on(
        &suite,
        coll,
        "otc.collections.v1.DisputeOpened",
        &a,
        &dispute(&d1, &a, "pricing", "50.00", "EUR"),
        "2026-05-01",
    )
    .await;
    publish_on(
        &suite,
        coll,
        "otc.collections.v1.DisputeResolved",
        &a,
        &resolved(&d1, &a),
        "2026-05-21",
    )
    .await;
    publish_on(
        &suite,
        coll,
        "otc.collections.v1.DisputeOpened",
        &b,
        &dispute(&d2, &b, "pricing", "30.00", "EUR"),
        "2026-06-01",
    )
    .await;
    publish_on(
        &suite,
        coll,
        "otc.collections.v1.DisputeOpened",
        &d,
        &dispute(&d3, &d, "quality", "20.00", "GBP"),
        "2026-06-05",
    )
    .await;
    publish_on(
        &suite,
        coll,
        "otc.collections.v1.DisputeResolved",
        &d,
        &resolved(&d3, &d),
        "2026-06-15",
    )
    .await;
    dated += 5;
    let promise = |promise_id: &str, customer: &str, amount: &str, currency: &str| {
        proto::PromiseToPayRecorded {
            promise_id: promise_id.into(),
            customer_id: customer.into(),
            invoice_ids: vec![],
            amount: Some(money(amount, currency)),
            promised_date: "2026-06-20".into(),
        }
    };
    let (p1, p2) = (id(), id());
    publish_on(
        &suite,
        coll,
        "otc.collections.v1.PromiseToPayRecorded",
        &d,
        &promise(&p1, &d, "1000.00", "GBP"),
        "2026-06-01",
    )
    .await;
    publish_on(
        &suite,
        coll,
        "otc.collections.v1.PromiseKept",
        &d,
        &proto::PromiseKept {
            promise_id: p1.clone(),
            customer_id: d.clone(),
            ..Default::default()
        },
        "2026-06-20",
    )
    .await;
    publish_on(
        &suite,
        coll,
        "otc.collections.v1.PromiseToPayRecorded",
        &a,
        &promise(&p2, &a, "600.00", "EUR"),
        "2026-06-01",
    )
    .await;
    publish_on(
        &suite,
        coll,
        "otc.collections.v1.PromiseBroken",
        &a,
        &proto::PromiseBroken {
            promise_id: p2.clone(),
            customer_id: a.clone(),
            ..Default::default()
        },
        "2026-06-25",
    )
    .await;
    dated += 4;
    // For the forecast: Delta owes 800 due 20 July and 200 due 31 August under a
    // promise (recorded 25 June) to pay on 2 July.
    let i21 = invoice(&d, "800.00", "GBP", "2026-06-20", "2026-07-20");
    let i22 = invoice(&d, "200.00", "GBP", "2026-06-25", "2026-08-31");
    published
        .send(&suite, bill, "otc.billing.v1.InvoiceIssued", &d, &i21)
        .await;
    published
        .send(&suite, bill, "otc.billing.v1.InvoiceIssued", &d, &i22)
        .await;
    let mut p3 = promise(&id(), &d, "200.00", "GBP");
    p3.invoice_ids = vec![i22.invoice_id.clone()];
    p3.promised_date = "2026-07-02".into();
    publish_on(
        &suite,
        coll,
        "otc.collections.v1.PromiseToPayRecorded",
        &d,
        &p3,
        "2026-06-25",
    )
    .await;
    dated += 1;
    // For the exception queue: 120.00 from a payer nobody knows, Beta on credit
    // hold, an invoice billing holds for review.
    let stranger = id();
    published
        .send(
            &suite,
            pay,
            "otc.payments.v1.PaymentReceived",
            &stranger,
            &proto::PaymentReceived {
                receipt_id: stranger.clone(),
                amount: Some(money("120.00", "EUR")),
                channel: "bank_statement".into(),
                value_date: "2026-06-29".into(),
                ..Default::default()
            },
        )
        .await;
    published
        .send(
            &suite,
            topics::COLLECTIONS_EVENTS,
            "otc.collections.v1.CustomerCreditHeld",
            &b,
            &proto::CustomerCreditHeld {
                customer_id: b.clone(),
                reason: "overdue".into(),
                ..Default::default()
            },
        )
        .await;
    published
        .send(
            &suite,
            bill,
            "otc.billing.v1.InvoiceHeld",
            &a,
            &proto::InvoiceHeld {
                invoice_id: id(),
                customer_id: a.clone(),
                reasons: vec![proto::HoldReason {
                    code: "price".into(),
                    message: "differs from the order".into(),
                }],
                total_amount: Some(money("75.00", "EUR")),
                ..Default::default()
            },
        )
        .await;
    let expected = published.count + dated;
    assert_eq!(
        suite
            .wait_for_count(
                "SELECT count(*) FROM inbox WHERE consumer = 'read-models'",
                expected,
                WAIT
            )
            .await,
        expected
    );

    let mut reporting = ReportingServiceClient::new(suite.channel.clone());
    let aging = reporting
        .get_aging(suite.as_role(
            GetAgingRequest {
                as_of: AS_OF.into(),
                ..Default::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        aging.bucket_labels,
        ["current", "1-30", "31-60", "61-90", "91-120", "120+"]
    );
    let of = |customer: &str| {
        aging
            .customers
            .iter()
            .find(|row| row.customer_id == customer)
            .unwrap()
            .clone()
    };
    // Alpha: I8 300 (30 days) in 1-30; I1 1000 − 400 = 600 (91) and I7 50 (120) in 91-120;
    // I6 100 (121) in 120+; I2 paid. Total 1,050.00, all overdue.
    let alpha = of(&a);
    assert_eq!(alpha.legal_name, "Alpha");
    assert_eq!(
        alpha.lines[0].buckets,
        ["0.00", "300.00", "0.00", "0.00", "650.00", "100.00"]
    );
    assert_eq!(alpha.lines[0].total.clone().unwrap().amount, "1050.00");
    // Beta: I3 3000 − 100 (credit note) = 2,900 current (due today; the payment of
    // 5 July is after the date); I4 500 (60) and I11 250 (31) in 31-60; I9 400 (61) in 61-90.
    let beta = of(&b);
    assert_eq!(
        beta.lines[0].buckets,
        ["2900.00", "0.00", "750.00", "400.00", "0.00", "0.00"]
    );
    assert_eq!(beta.lines[0].overdue.clone().unwrap().amount, "1150.00");
    let gamma = of(&c);
    assert_eq!(
        (
            gamma.lines[0].currency.as_str(),
            gamma.lines[0].buckets[0].as_str()
        ),
        ("USD", "1000.00")
    );
    assert_eq!(gamma.functional.unwrap().total.unwrap().amount, "920.00");

    // Grouped: by segment (smb holds Beta in EUR and Gamma in USD), by currency.
    let by_segment = reporting
        .get_aging(suite.as_role(
            GetAgingRequest {
                as_of: AS_OF.into(),
                group_by: AgingGroupBy::Segment.into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    let groups: Vec<(String, String, String)> = by_segment
        .groups
        .iter()
        .map(|group| {
            let line = group.line.clone().unwrap();
            (
                group.group.clone(),
                line.currency,
                line.total.unwrap().amount,
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            (
                "enterprise".to_owned(),
                "EUR".to_owned(),
                "1050.00".to_owned()
            ),
            // Delta's 800 + 200 (see the forecast below).
            (
                "enterprise".to_owned(),
                "GBP".to_owned(),
                "1000.00".to_owned()
            ),
            ("smb".to_owned(), "EUR".to_owned(), "4050.00".to_owned()),
            ("smb".to_owned(), "USD".to_owned(), "1000.00".to_owned()),
        ]
    );
    // Weekly buckets: I8 (30 days) is 14+.
    let weekly = reporting
        .get_aging(suite.as_role(
            GetAgingRequest {
                as_of: AS_OF.into(),
                bucket_bounds: vec![7, 14],
                customer_id: a.clone(),
                ..Default::default()
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(weekly.bucket_labels, ["current", "1-7", "8-14", "14+"]);
    assert_eq!(
        weekly.customers[0].lines[0].buckets,
        ["0.00", "0.00", "0.00", "1050.00"]
    );

    // KPIs in EUR. AR(D) = 1,050 + 4,050 = 5,100; current AR = 2,900.
    // Credit sales in (04-01, 06-30]: 2,000 + 300 + 250 (05-01) + 500 + 400 (04-15)
    //   + 3,000 (06-01) − 100 (credit note) = 6,350.
    // DSO standard = 5,100 / 6,350 × 90 = 72.28 → 72.3; best = 2,900 / 6,350 × 90 = 41.10 → 41.1;
    // ADD = 72.3 − 41.1 = 31.2.
    // Count-back: (05-30, 06-30] sold 2,900 (31 days), 5,100 − 2,900 = 2,200 left;
    //   (04-30, 05-30] sold 2,550 (30 days): 31 + 2,200 / 2,550 × 30 = 56.88 → 56.9.
    // CEI: AR(04-01) = 1,000 + 50 + 100 = 1,150;
    //   (1,150 + 6,350 − 5,100) / (1,150 + 6,350 − 2,900) × 100 = 2,400 / 4,600 = 52.17.
    let kpis = reporting
        .get_kpis(suite.as_role(
            GetKpisRequest {
                as_of: AS_OF.into(),
                currency: "EUR".into(),
                ..Default::default()
            },
            Role::CreditManager,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kpis.period_days, 90);
    assert_eq!(kpis.currencies.len(), 1);
    let eur = &kpis.currencies[0];
    assert_eq!(eur.receivables.clone().unwrap().amount, "5100.00");
    assert_eq!(eur.current_receivables.clone().unwrap().amount, "2900.00");
    assert_eq!(eur.credit_sales.clone().unwrap().amount, "6350.00");
    assert_eq!(eur.opening_receivables.clone().unwrap().amount, "1150.00");
    assert_eq!(eur.dso_standard.as_deref(), Some("72.3"));
    assert_eq!(eur.best_possible_dso.as_deref(), Some("41.1"));
    assert_eq!(eur.average_days_delinquent.as_deref(), Some("31.2"));
    assert_eq!(eur.dso_count_back.as_deref(), Some("56.9"));
    assert_eq!(eur.cei.as_deref(), Some("52.17"));

    // The export: the same figures, exact, one row per customer and currency.
    let csv = reporting
        .export_aging(suite.as_role(
            ExportAgingRequest {
                as_of: AS_OF.into(),
                format: ExportFormat::Csv.into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    let text = String::from_utf8(csv.content).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "customer_id,legal_name,segment,view,currency,current,1-30,31-60,61-90,91-120,120+,total,overdue,items"
    );
    assert!(lines.contains(&format!("{a},Alpha,enterprise,document,EUR,0.00,300.00,0.00,0.00,650.00,100.00,1050.00,1050.00,4").as_str()), "{text}");
    assert!(
        lines.contains(
            &format!("{c},Gamma,smb,functional,EUR,920.00,0.00,0.00,0.00,0.00,0.00,920.00,0.00,1")
                .as_str()
        ),
        "{text}"
    );
    let xlsx = reporting
        .export_aging(suite.as_role(
            ExportAgingRequest {
                as_of: AS_OF.into(),
                format: ExportFormat::Xlsx.into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        xlsx.filename.ends_with("-2026-06-30.xlsx"),
        "{}",
        xlsx.filename
    );
    assert!(
        xlsx.content.starts_with(b"PK") && xlsx.content.len() > 2_000,
        "not an XLSX (zip) file"
    );

    // Statistics over (04-01, 06-30].
    let stats = reporting
        .get_collection_statistics(suite.as_role(
            GetCollectionStatisticsRequest {
                as_of: AS_OF.into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    let rates = |rates: &[RateFigures]| -> Vec<RateRow> {
        rates
            .iter()
            .map(|rate| {
                (
                    rate.currency.clone(),
                    rate.total_count,
                    rate.matching_count,
                    rate.rate_by_count.clone(),
                    rate.rate_by_amount.clone(),
                )
            })
            .collect()
    };
    let text = |value: &str| Some(value.to_owned());
    // Auto-match: EUR 400 + 2,000 applied automatically (the 500 of 5 July is after
    // the date): 100%; GBP 600 by hand, 400 automatically: 50% by count, 40% by amount.
    assert_eq!(
        rates(&stats.auto_match),
        [
            ("EUR".to_owned(), 2, 2, text("100.00"), text("100.00")),
            ("GBP".to_owned(), 2, 1, text("50.00"), text("40.00")),
        ]
    );
    // Promises: EUR 600 broken, GBP 1,000 kept.
    assert_eq!(
        rates(&stats.promises_kept),
        [
            ("EUR".to_owned(), 1, 0, text("0.00"), text("0.00")),
            ("GBP".to_owned(), 1, 1, text("100.00"), text("100.00")),
        ]
    );
    // Dunning within 14 days: level 1 on Delta's invoice (12 June), settled 20 June: paid;
    // level 2 on INV-1 (16 June), still 600 open: not paid.
    let dunning: Vec<(i32, String, i64, i64)> = stats
        .dunning
        .iter()
        .map(|level| {
            let rate = level.paid_within.clone().unwrap();
            (
                level.level,
                rate.currency,
                rate.total_count,
                rate.matching_count,
            )
        })
        .collect();
    assert_eq!(
        dunning,
        [(1, "GBP".to_owned(), 1, 1), (2, "EUR".to_owned(), 1, 0)]
    );
    // Disputes: pricing EUR opened 1 May (resolved after 20 days) and 1 June (open):
    // 2 opened for 80.00, 1 open, 1 resolved in 20.0 days; quality GBP resolved in 10.
    let disputes: Vec<DisputeRow> = stats
        .disputes
        .iter()
        .map(|reason| {
            (
                reason.reason_code.clone(),
                reason.currency.clone(),
                reason.opened,
                reason.opened_amount.clone().unwrap().amount,
                reason.open,
                reason.resolved,
                reason.average_resolution_days.clone(),
            )
        })
        .collect();
    assert_eq!(
        disputes,
        [
            (
                "pricing".to_owned(),
                "EUR".to_owned(),
                2,
                "80.00".to_owned(),
                1,
                1,
                text("20.0")
            ),
            (
                "quality".to_owned(),
                "GBP".to_owned(),
                1,
                "20.00".to_owned(),
                0,
                1,
                text("10.0")
            ),
        ]
    );
    // Invoice to cash: INV-2 issued 1 May, settled 20 June (50 days); Delta's issued
    // 11 May, settled 20 June (40 days): average 45.0, median 40, p90 50.
    let invoice_to_cash = stats.invoice_to_cash.unwrap();
    assert_eq!(
        (
            invoice_to_cash.count,
            invoice_to_cash.average_days,
            invoice_to_cash.median_days,
            invoice_to_cash.p90_days
        ),
        (2, text("45.0"), text("40"), text("50"))
    );
    // Order to cash: Delta's order placed 20 April, its one invoice settled 20 June: 61 days.
    let order_to_cash = stats.order_to_cash.unwrap();
    assert_eq!(
        (order_to_cash.count, order_to_cash.average_days),
        (1, text("61.0"))
    );

    // The forecast made on 30 June. Days late before it: Alpha (400 paid 76 days
    // late, 2,000 20 days late) 29.3 → 29; Beta and Gamma no history; Delta
    // (600 on time, 400 10 days late) 4. Alpha's items all fall before the 30th
    // with 29 days added, and Beta's are due by it: EUR 5,100 in week 1. Gamma's
    // USD 1,000 is due 10 July: week 2. Delta's 800 is due 20 July + 4 = 24 July:
    // week 4; the 200 under the promise comes on 2 July: week 1.
    let forecast = reporting
        .get_cash_forecast(suite.as_role(
            GetCashForecastRequest {
                as_of: AS_OF.into(),
                accuracy_weeks: 2,
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(forecast.week_starts.len(), 13);
    assert_eq!(forecast.week_starts[1], "2026-07-07");
    let weeks = |currency: &str| -> Vec<String> {
        forecast
            .currencies
            .iter()
            .find(|line| line.currency == currency)
            .unwrap()
            .weeks
            .clone()
    };
    let zero = "0.00".to_owned();
    let mut eur = vec![zero.clone(); 13];
    eur[0] = "5100.00".into();
    assert_eq!(weeks("EUR"), eur);
    let mut usd = vec![zero.clone(); 13];
    usd[1] = "1000.00".into();
    assert_eq!(weeks("USD"), usd);
    let mut gbp = vec![zero.clone(); 13];
    gbp[0] = "200.00".into();
    gbp[3] = "800.00".into();
    assert_eq!(weeks("GBP"), gbp);
    // Accuracy of the forecast made on 16 June for [16 June, 23 June). Open then,
    // and expected that week: Alpha's INV-1 600 (76 days late on its one payment:
    // 15 June), I7 50, I6 100; Beta's I4 500, I9 400, I11 250 (due before): 1,900;
    // INV-2 and I8 (due 31 May + 76 days) and I3 (due 30 June) later. Applied with
    // a value date that week: INV-2's 2,000. Error 100, 5.00%. GBP: Delta's 400
    // left of I20, due 10 June, forecast 400; 400 came on 20 June: error 0.
    let week: Vec<(String, String, String, String, Option<String>)> = forecast
        .accuracy
        .iter()
        .filter(|row| row.week_start == "2026-06-16")
        .map(|row| {
            (
                row.currency.clone(),
                row.forecast.clone().unwrap().amount,
                row.actual.clone().unwrap().amount,
                row.error.clone().unwrap().amount,
                row.error_percent.clone(),
            )
        })
        .collect();
    assert_eq!(
        week,
        [
            (
                "EUR".to_owned(),
                "1900.00".to_owned(),
                "2000.00".to_owned(),
                "100.00".to_owned(),
                text("5.00")
            ),
            (
                "GBP".to_owned(),
                "400.00".to_owned(),
                "400.00".to_owned(),
                "0.00".to_owned(),
                text("0.00")
            ),
            // Gamma's USD invoice was due after that week, and nothing came:
            // no error percentage over nothing.
            (
                "USD".to_owned(),
                "0.00".to_owned(),
                "0.00".to_owned(),
                "0.00".to_owned(),
                None,
            ),
        ]
    );

    // The exception queue: the stranger's 120.00, Beta on hold, the held
    // invoice, and the one open dispute (pricing, 30.00): four.
    let queue = reporting
        .get_exception_queue(suite.as_role(GetExceptionQueueRequest {}, Role::Collector))
        .await
        .unwrap()
        .into_inner();
    let unapplied: Vec<(String, i64, String)> = queue
        .unapplied_cash
        .iter()
        .map(|line| {
            (
                line.currency.clone(),
                line.count,
                line.amount.clone().unwrap().amount,
            )
        })
        .collect();
    assert_eq!(unapplied, [("EUR".to_owned(), 1, "120.00".to_owned())]);
    assert_eq!(
        (
            queue.unidentified_receipts,
            queue.customers_on_credit_hold,
            queue.held_invoices
        ),
        (1, 1, 1)
    );
    assert_eq!(
        queue.open_disputes[0].amount.clone().unwrap().amount,
        "30.00"
    );
    assert_eq!(queue.total, 4);

    // Segmentation as of 30 June: Alpha pays 29.3 days late on average (59.3
    // days after issue: 400 × 106 + 2,000 × 50 over 2,400): late; Delta 4.0:
    // slightly late; Beta (its only payment is on 5 July) and Gamma: no history.
    let late = reporting
        .list_payment_behaviour(suite.as_role(
            ListPaymentBehaviourRequest {
                as_of: AS_OF.into(),
                payment_class: "late".into(),
                page: None,
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<(String, Option<String>, Option<String>)> = late
        .customers
        .iter()
        .map(|row| {
            (
                row.customer_id.clone(),
                row.average_days_to_pay.clone(),
                row.average_days_late.clone(),
            )
        })
        .collect();
    assert_eq!(rows, [(a.clone(), text("59.3"), text("29.3"))]);
    let unknown = reporting
        .list_payment_behaviour(suite.as_role(
            ListPaymentBehaviourRequest {
                as_of: AS_OF.into(),
                payment_class: "no_history".into(),
                page: None,
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = unknown
        .customers
        .iter()
        .map(|row| row.customer_id.as_str())
        .collect();
    assert_eq!(ids, [b.as_str(), c.as_str()]);
    let refused = reporting
        .list_payment_behaviour(suite.as_role(
            ListPaymentBehaviourRequest {
                payment_class: "sometimes".into(),
                ..Default::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap_err();
    assert!(refused.message().contains("payment_class"), "{refused:?}");

    // The facts of April to June: ten invoices issued and the credit note;
    // four applications (receipts came without a date in range); three disputes.
    let export = |kind: FactKind, format: ExportFormat| ExportFactsRequest {
        kind: kind.into(),
        from: "2026-04-01".into(),
        to: AS_OF.into(),
        format: format.into(),
    };
    let mut exports = Vec::new();
    for kind in [FactKind::Invoices, FactKind::Payments, FactKind::Disputes] {
        let file = reporting
            .export_facts(suite.as_role(export(kind, ExportFormat::Csv), Role::ArClerk))
            .await
            .unwrap()
            .into_inner();
        exports.push(String::from_utf8(file.content).unwrap());
    }
    let lines: Vec<Vec<&str>> = exports.iter().map(|text| text.lines().collect()).collect();
    assert_eq!(
        lines.iter().map(Vec::len).collect::<Vec<_>>(),
        [12, 5, 4],
        "{exports:#?}"
    );
    assert_eq!(
        lines[0][0],
        "kind,document_id,number,customer_id,invoice_id,currency,amount,issue_date,due_date"
    );
    assert!(
        lines[0].iter().any(|line| line.starts_with("credit_note,")
            && line.ends_with(&format!(",{b},{},EUR,100.00,2026-06-10,", i3.invoice_id))),
        "{}",
        exports[0]
    );
    assert!(
        lines[1]
            .iter()
            .any(|line| line.contains(&format!(",{},GBP,600.00,0.00,false,", i20.invoice_id))),
        "{}",
        exports[1]
    );
    let xlsx = reporting
        .export_facts(suite.as_role(
            export(FactKind::Payments, ExportFormat::Xlsx),
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(xlsx.content.starts_with(b"PK") && xlsx.filename.ends_with(".xlsx"));
    let bad = reporting
        .export_facts(suite.as_role(
            ExportFactsRequest {
                kind: 0,
                from: AS_OF.into(),
                to: "2026-01-01".into(),
                format: 7,
            },
            Role::ArClerk,
        ))
        .await
        .unwrap_err();
    for field in ["kind", "to", "format"] {
        assert!(
            bad.message().contains(field),
            "{field} not named: {}",
            bad.message()
        );
    }

    // Roles, tenants, bad filters.
    let refused = reporting
        .get_aging(suite.as_role(GetAgingRequest::default(), Role::SalesAssociate))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let other = reporting
        .get_aging(otc_testkit::billing::request(
            GetAgingRequest {
                as_of: AS_OF.into(),
                ..Default::default()
            },
            "othertenant",
            &[Role::Executive],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        other.customers.is_empty(),
        "another tenant saw {:?}",
        other.customers
    );
    let hidden = reporting
        .get_aging(otc_testkit::billing::request(
            GetAgingRequest {
                as_of: AS_OF.into(),
                customer_id: a.clone(),
                ..Default::default()
            },
            "othertenant",
            &[Role::Executive],
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let bad = reporting
        .get_aging(suite.as_role(
            GetAgingRequest {
                as_of: "30/06/2026".into(),
                bucket_bounds: vec![60, 30],
                currency: "EURO".into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    for field in ["as_of", "bucket_bounds", "currency"] {
        assert!(
            bad.message().contains(field),
            "{field} not named: {}",
            bad.message()
        );
    }
}

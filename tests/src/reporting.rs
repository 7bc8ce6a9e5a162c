//! A known book of reporting events (customers, invoices, payments, credit
//! notes, dunning, disputes, promises, holds), published to a reporting
//! suite: the figures tests check the figures it gives against hand-worked
//! expectations, the dashboard test checks the page shows the same ones.
//! Dates are fixed: the figures are as of [`AS_OF`].

use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use prost::Message;
use uuid::Uuid;

use otc_proto::events as proto;
use otc_shared::kafka::topics;

use crate::suite::{ServiceSuite, money};

/// How long the fold of the book may take.
pub const WAIT: Duration = Duration::from_secs(90);

/// The date the book's figures are worked out for.
pub const AS_OF: &str = "2026-06-30";

pub fn id() -> String {
    Uuid::now_v7().to_string()
}

pub fn at(date: &str) -> prost_types::Timestamp {
    let day: NaiveDate = date.parse().unwrap();
    otc_shared::time::to_proto(Utc.from_utc_datetime(&day.and_hms_opt(10, 0, 0).unwrap()))
}

pub struct Published {
    pub count: i64,
}

impl Published {
    pub async fn send<M: Message>(
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
pub async fn publish_on<M: Message>(
    suite: &ServiceSuite,
    topic: &str,
    event_type: &str,
    key: &str,
    message: &M,
    day: &str,
) {
    let mut envelope =
        otc_shared::events::EventEnvelope::new(event_type, "/test", &crate::tenant(&suite.tenant));
    let day: NaiveDate = day.parse().unwrap();
    envelope.time = Utc.from_utc_datetime(&day.and_hms_opt(9, 0, 0).unwrap());
    let headers = otc_shared::events::RecordHeaders::from_kafka(Some(&envelope.to_headers()));
    let producer = crate::kafka::producer().unwrap();
    crate::kafka::produce(
        &producer,
        &suite.topic(topic),
        key,
        &message.encode_to_vec(),
        &headers,
    )
    .await
    .unwrap();
}

pub fn invoice(
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

pub fn paid(
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

pub fn customer(
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

/// The ids of the book the expectations name.
pub struct KnownBook {
    /// Alpha (EUR, enterprise), Beta (EUR, smb, on credit hold), Gamma
    /// (USD); Delta (GBP) is left out.
    pub a: String,
    pub b: String,
    pub c: String,
    /// Alpha's 2,000.00 invoice of 1 May (due 31 May), paid in full on 20 June.
    pub i2: proto::InvoiceIssued,
    /// Beta's 3,000.00 invoice of 1 June, credited 100.00.
    pub i3: proto::InvoiceIssued,
    /// Delta's 1,000.00 invoice of 11 May, paid 600.00 by hand and 400.00
    /// automatically.
    pub i20: proto::InvoiceIssued,
}

/// Publishes the book for the suite's tenant and waits until reporting has
/// folded every event of it.
pub async fn publish_known_book(suite: &ServiceSuite) -> KnownBook {
    let (a, b, c) = (id(), id(), id());
    let o = topics::ORDER_EVENTS;
    let bill = topics::BILLING_EVENTS;
    let pay = topics::PAYMENT_EVENTS;
    let mut published = Published { count: 0 };
    published
        .send(
            suite,
            o,
            "otc.order.v1.CustomerUpserted",
            &a,
            &customer(&a, "Alpha", "enterprise", "EUR"),
        )
        .await;
    published
        .send(
            suite,
            o,
            "otc.order.v1.CustomerUpserted",
            &b,
            &customer(&b, "Beta", "smb", "EUR"),
        )
        .await;
    published
        .send(
            suite,
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
            .send(suite, bill, "otc.billing.v1.InvoiceIssued", key, issued)
            .await;
    }
    published
        .send(
            suite,
            pay,
            "otc.payments.v1.PaymentApplied",
            &a,
            &paid(&a, &i1, "400.00", "2026-06-15"),
        )
        .await;
    published
        .send(
            suite,
            pay,
            "otc.payments.v1.PaymentApplied",
            &a,
            &paid(&a, &i2, "2000.00", "2026-06-20"),
        )
        .await;
    // After the as-of date: must not count.
    published
        .send(
            suite,
            pay,
            "otc.payments.v1.PaymentApplied",
            &b,
            &paid(&b, &i3, "500.00", "2026-07-05"),
        )
        .await;
    published
        .send(
            suite,
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
            suite,
            o,
            "otc.order.v1.CustomerUpserted",
            &d,
            &customer(&d, "Delta", "enterprise", "GBP"),
        )
        .await;
    let order = id();
    published
        .send(
            suite,
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
        .send(suite, bill, "otc.billing.v1.InvoiceIssued", &d, &i20)
        .await;
    let mut manual = paid(&d, &i20, "600.00", "2026-06-10");
    manual.amount = Some(money("600.00", "GBP"));
    manual.automatic = false;
    let mut automatic = paid(&d, &i20, "400.00", "2026-06-20");
    automatic.amount = Some(money("400.00", "GBP"));
    published
        .send(suite, pay, "otc.payments.v1.PaymentApplied", &d, &manual)
        .await;
    published
        .send(suite, pay, "otc.payments.v1.PaymentApplied", &d, &automatic)
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
            suite,
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
        suite,
        coll,
        "otc.collections.v1.DisputeOpened",
        &a,
        &dispute(&d1, &a, "pricing", "50.00", "EUR"),
        "2026-05-01",
    )
    .await;
    publish_on(
        suite,
        coll,
        "otc.collections.v1.DisputeResolved",
        &a,
        &resolved(&d1, &a),
        "2026-05-21",
    )
    .await;
    publish_on(
        suite,
        coll,
        "otc.collections.v1.DisputeOpened",
        &b,
        &dispute(&d2, &b, "pricing", "30.00", "EUR"),
        "2026-06-01",
    )
    .await;
    publish_on(
        suite,
        coll,
        "otc.collections.v1.DisputeOpened",
        &d,
        &dispute(&d3, &d, "quality", "20.00", "GBP"),
        "2026-06-05",
    )
    .await;
    publish_on(
        suite,
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
        suite,
        coll,
        "otc.collections.v1.PromiseToPayRecorded",
        &d,
        &promise(&p1, &d, "1000.00", "GBP"),
        "2026-06-01",
    )
    .await;
    publish_on(
        suite,
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
        suite,
        coll,
        "otc.collections.v1.PromiseToPayRecorded",
        &a,
        &promise(&p2, &a, "600.00", "EUR"),
        "2026-06-01",
    )
    .await;
    publish_on(
        suite,
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
        .send(suite, bill, "otc.billing.v1.InvoiceIssued", &d, &i21)
        .await;
    published
        .send(suite, bill, "otc.billing.v1.InvoiceIssued", &d, &i22)
        .await;
    let mut p3 = promise(&id(), &d, "200.00", "GBP");
    p3.invoice_ids = vec![i22.invoice_id.clone()];
    p3.promised_date = "2026-07-02".into();
    publish_on(
        suite,
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
            suite,
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
            suite,
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
            suite,
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
    KnownBook {
        a,
        b,
        c,
        i2,
        i3,
        i20,
    }
}

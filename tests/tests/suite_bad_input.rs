#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Bad input at every edge of the running suite, in one place: after a
//! small simulated business, each way in gets something wrong (gRPC
//! commands of order, billing, collections and reporting; the card
//! provider's webhook; a bank statement file; an upstream commerce event).
//! Each is refused with an error that names what is wrong, and none of them
//! changes the books: orders, invoices, receipts, open items and credit
//! limits are what they were, and the only new event is the `OrderRejected`
//! that tells the shop about its bad order.

use std::time::Duration;

use prost::Message as _;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use otc_proto::billing::invoice_service_client::InvoiceServiceClient;
use otc_proto::billing::{IssueCreditNoteRequest, ListInvoicesRequest, issue_credit_note_request};
use otc_proto::collections::SetCreditLimitRequest;
use otc_proto::collections::credit_limit_service_client::CreditLimitServiceClient;
use otc_proto::events::OrderRejected;
use otc_proto::order::customer_service_client::CustomerServiceClient;
use otc_proto::order::order_service_client::OrderServiceClient;
use otc_proto::order::{CreateOrderRequest, ListCustomersRequest, OrderLineInput};
use otc_proto::payments::payment_service_client::PaymentServiceClient;
use otc_proto::payments::{ImportStatementRequest, RegisterWebhookProviderRequest};
use otc_proto::reporting::GetAgingRequest;
use otc_proto::reporting::reporting_service_client::ReportingServiceClient;
use otc_proto::types::Money;
use otc_shared::auth::Role;
use otc_shared::events::RecordHeaders;
use otc_shared::kafka::topics;
use otc_testkit::billing::request;
use otc_testkit::process::ServiceProcess;
use otc_testkit::statements::{Line, camt053};
use otc_testkit::unique_suffix;
use otc_testkit::whole::WholeSuite;

const CUSTOMERS: u32 = 10;

fn channel(process: &ServiceProcess) -> Channel {
    Endpoint::from_shared(process.grpc_url())
        .unwrap()
        .connect_lazy()
}

/// A call refused as invalid, naming a field that `named` accepts.
fn assert_refused<T>(result: Result<T, tonic::Status>, what: &str, named: impl Fn(&str) -> bool) {
    let Err(refused) = result else {
        panic!("{what}: accepted");
    };
    assert_eq!(refused.code(), Code::InvalidArgument, "{what}: {refused:?}");
    assert!(
        otc_testkit::violated_fields(&refused)
            .iter()
            .any(|field| named(field)),
        "{what}: no such field named: {refused:?}"
    );
}

/// What the books hold, from each service's own tables.
async fn books(suite: &WholeSuite) -> Vec<(&'static str, i64)> {
    vec![
        (
            "orders",
            suite.order_db.scalar("SELECT count(*) FROM orders").await,
        ),
        (
            "order events but rejections",
            suite
                .order_db
                .scalar("SELECT count(*) FROM outbox WHERE event_type NOT LIKE '%OrderRejected'")
                .await,
        ),
        (
            "invoices",
            suite
                .billing_db
                .scalar("SELECT count(*) FROM invoices")
                .await,
        ),
        (
            "receipts",
            suite
                .payments_db
                .scalar("SELECT count(*) FROM receipts")
                .await,
        ),
        (
            "open items",
            suite
                .collections_db
                .scalar("SELECT count(*) FROM open_items")
                .await,
        ),
        (
            "credit limit changes",
            suite
                .collections_db
                .scalar("SELECT count(*) FROM credit_limit_history")
                .await,
        ),
    ]
}

#[tokio::test]
async fn bad_input_at_every_edge_is_refused_by_name_and_changes_nothing() {
    let suite = WholeSuite::start().await;
    let tenant = format!("bad-{}", &unique_suffix()[..8]);
    suite.run_simulator(&tenant, CUSTOMERS).finish().await;
    let customer = CustomerServiceClient::new(channel(&suite.order))
        .list_customers(request(
            ListCustomersRequest::default(),
            &tenant,
            &[Role::SalesAssociate],
        ))
        .await
        .unwrap()
        .into_inner()
        .customers
        .into_iter()
        .next()
        .expect("a customer");
    let invoice = InvoiceServiceClient::new(channel(&suite.billing))
        .list_invoices(request(
            ListInvoicesRequest::default(),
            &tenant,
            &[Role::ArClerk],
        ))
        .await
        .unwrap()
        .into_inner()
        .invoices
        .into_iter()
        .next()
        .expect("an invoice");
    let before = books(&suite).await;

    // gRPC, order: every bad field of an order at once.
    let refused = OrderServiceClient::new(channel(&suite.order))
        .create_order(request(
            CreateOrderRequest {
                idempotency_key: "bad-order".into(),
                customer_ref: "shop:nobody".into(),
                currency_code: "EUR".into(),
                lines: vec![
                    OrderLineInput {
                        sku: "NO-SUCH-SKU".into(),
                        quantity: "1".into(),
                        ..OrderLineInput::default()
                    },
                    OrderLineInput {
                        sku: "VALVE-DN50".into(),
                        quantity: "-2".into(),
                        ..OrderLineInput::default()
                    },
                ],
                ..CreateOrderRequest::default()
            },
            &tenant,
            &[Role::SalesAssociate],
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let named = otc_testkit::violated_fields(&refused);
    for field in [
        "customer_ref",
        "lines[0].sku",
        "lines[1].quantity",
        "shipping_address",
    ] {
        assert!(
            named.iter().any(|name| name == field),
            "{field} not named: {named:?}"
        );
    }

    // gRPC, billing: a credit note of a malformed amount.
    let result = InvoiceServiceClient::new(channel(&suite.billing))
        .issue_credit_note(request(
            IssueCreditNoteRequest {
                idempotency_key: "bad-credit-note".into(),
                invoice_id: invoice.invoice_id.clone(),
                reason: "goodwill".into(),
                scope: Some(issue_credit_note_request::Scope::Amount(Money {
                    amount: "12,5x".into(),
                    currency_code: "EUR".into(),
                })),
            },
            &tenant,
            &[Role::ArClerk],
        ))
        .await;
    assert_refused(result, "a credit note of 12,5x", |field| {
        field.contains("amount")
    });

    // gRPC, collections: a negative credit limit.
    let result = CreditLimitServiceClient::new(channel(&suite.collections))
        .set_credit_limit(request(
            SetCreditLimitRequest {
                customer_id: customer.customer_id.clone(),
                credit_limit: Some(Money {
                    amount: "-100".into(),
                    currency_code: "EUR".into(),
                }),
                reason: "typo".into(),
                ..SetCreditLimitRequest::default()
            },
            &tenant,
            &[Role::CreditManager],
        ))
        .await;
    assert_refused(result, "a negative credit limit", |field| {
        field.starts_with("credit_limit")
    });

    // gRPC, reporting: a date that does not exist.
    let result = ReportingServiceClient::new(channel(&suite.reporting))
        .get_aging(request(
            GetAgingRequest {
                as_of: "2026-02-30".into(),
                ..GetAgingRequest::default()
            },
            &tenant,
            &[Role::Executive],
        ))
        .await;
    assert_refused(result, "an aging as of 30 February", |field| {
        field == "as_of"
    });

    // The card provider's webhook: unsigned, wrongly signed, then signed but
    // malformed.
    let provider = PaymentServiceClient::new(channel(&suite.payments))
        .register_webhook_provider(request(
            RegisterWebhookProviderRequest {
                provider: "badpay".into(),
            },
            &tenant,
            &[Role::TenantAdmin],
        ))
        .await
        .unwrap()
        .into_inner();
    let url = format!(
        "http://127.0.0.1:{}{}",
        suite.payments.http_port, provider.path
    );
    let http = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp();
    let good_body = format!(
        r#"{{"id":"evt_bad_1","type":"payment.succeeded","data":{{"payment_id":"pay_bad_1","amount":"10.00","currency":"USD","customer_id":"{}"}}}}"#,
        customer.customer_id
    );
    let post = |secret: Option<&str>, body: &str| {
        let mut post = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(secret) = secret {
            post = post.header(
                otc_shared::signing::SIGNATURE_HEADER,
                otc_shared::signing::sign(secret.as_bytes(), now, body.as_bytes()),
            );
        }
        post
    };
    assert_eq!(post(None, &good_body).send().await.unwrap().status(), 401);
    assert_eq!(
        post(Some("whsec_not_the_secret"), &good_body)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let malformed = r#"{"id":"evt_bad_2","type":"payment.succeeded","data":{"payment_id":"pay_bad_2","amount":12.5}}"#;
    let response = post(Some(&provider.secret), malformed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("data.amount") && text.contains("data.currency"),
        "{text}"
    );

    // A bank statement: one bad amount refuses the whole file, by its place;
    // a file that is no statement at all is refused too.
    let lines = vec![
        Line::credit("BAD-E1", "10.00", "Someone", "DE02120300000000202051", "x"),
        Line::credit("BAD-E2", "20.00", "Someone", "DE02120300000000202051", "y"),
    ];
    let statement = camt053(
        "STMT-BAD-INPUT",
        "DE89370400440532013000",
        rust_decimal::Decimal::ZERO,
        &lines,
    )
    .replacen(
        "<Amt Ccy=\"EUR\">20.00</Amt>",
        "<Amt Ccy=\"EUR\">20,0x</Amt>",
        1,
    );
    for (what, content) in [
        ("a bad amount", statement.as_str()),
        ("not XML", "this is not a statement"),
    ] {
        let refused = PaymentServiceClient::new(channel(&suite.payments))
            .import_statement(request(
                ImportStatementRequest {
                    format: String::new(),
                    file_name: "statement.xml".into(),
                    content: content.as_bytes().to_vec(),
                },
                &tenant,
                &[Role::CashApplicationSpecialist],
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{what}: {refused:?}");
        assert!(
            refused.message().contains("content"),
            "{what}: {}",
            refused.message()
        );
    }

    // An upstream order event with an unknown customer and a negative
    // quantity: dead-lettered with its reasons, and the shop is told.
    let external = format!("BAD-{}", unique_suffix());
    let event = serde_json::json!({
        "specversion": "1.0",
        "id": format!("evt-{external}"),
        "source": format!("/shop/{tenant}"),
        "type": "commerce.order.placed",
        "tenant": tenant,
        "data": {
            "external_order_id": external,
            "customer_ref": "shop:nobody",
            "currency_code": "EUR",
            "lines": [{"line_id": "L1", "sku": "VALVE-DN50", "quantity": "-1"}],
            "shipping_address": {"lines": ["1 Main St"], "city": "Springfield", "country_code": "DE"},
        },
    });
    let producer = otc_testkit::kafka::producer().unwrap();
    otc_testkit::kafka::produce(
        &producer,
        &format!("{}{}", suite.namespace, topics::COMMERCE_ORDERS),
        &external,
        &serde_json::to_vec(&event).unwrap(),
        &RecordHeaders::default(),
    )
    .await
    .unwrap();
    let dead = otc_testkit::kafka::read_all(
        &format!(
            "{}{}.dlq.commerce-orders",
            suite.namespace,
            topics::COMMERCE_ORDERS
        ),
        usize::MAX,
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    let ours = dead
        .iter()
        .find(|record| record.key.as_deref() == Some(external.as_str()))
        .expect("the bad upstream order is in the dead-letter topic");
    let reason = ours.headers.get("dlq_error").unwrap_or_default();
    assert!(
        reason.contains("customer_ref") && reason.contains("lines[0].quantity"),
        "{reason}"
    );
    let rejected = otc_testkit::kafka::events_of_type(
        &format!("{}{}", suite.namespace, topics::ORDER_EVENTS),
        "otc.order.v1.OrderRejected",
        1,
        Duration::from_secs(30),
    )
    .await;
    let told = rejected
        .iter()
        .filter_map(|record| OrderRejected::decode(record.payload.as_slice()).ok())
        .find(|event| event.external_order_id == external)
        .expect("an OrderRejected for the bad upstream order");
    assert!(
        told.violations
            .iter()
            .any(|violation| violation.field == "customer_ref"),
        "{told:?}"
    );

    // Nothing else changed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(books(&suite).await, before);
}

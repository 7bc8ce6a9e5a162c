#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The order service as a process, against the real PostgreSQL and Kafka and
//! a real tonic `CreditService` standing in for collections: customers,
//! pricing, order capture from gRPC and from upstream CloudEvents, the
//! lifecycle, shipments, credit holds, audit and tenant isolation.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use prost::Message;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_types::StatusExt;

use otc_proto::events as events_proto;
use otc_proto::order::customer_service_client::CustomerServiceClient;
use otc_proto::order::order_service_client::OrderServiceClient;
use otc_proto::order::pricing_service_client::PricingServiceClient;
use otc_proto::order::*;
use otc_proto::types::{Money, PageRequest, PostalAddress};
use otc_shared::auth::Role;
use otc_shared::events::{EventEnvelope, RecordHeaders, header};
use otc_testkit::credit::CreditServer;
use otc_testkit::kafka::{self, ReadRecord};
use otc_testkit::process::ServiceProcess;
use otc_testkit::{TestDatabase, unique_suffix};

const TENANT: &str = "acme";

struct Suite {
    database: TestDatabase,
    service: ServiceProcess,
    credit: CreditServer,
    namespace: String,
    channel: Channel,
}

fn request<T>(message: T, tenant: &str, roles: &[Role]) -> Request<T> {
    let token = otc_testkit::token(tenant, roles).unwrap();
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
        .metadata_mut()
        .insert("x-otc-tenant", tenant.parse().unwrap());
    request
}

fn admin<T>(message: T) -> Request<T> {
    request(message, TENANT, &[Role::TenantAdmin])
}

fn sales<T>(message: T) -> Request<T> {
    request(message, TENANT, &[Role::SalesAssociate])
}

fn address() -> PostalAddress {
    PostalAddress {
        lines: vec!["Hauptstraße 1".into()],
        city: "Berlin".into(),
        postal_code: "10115".into(),
        region: String::new(),
        country_code: "DE".into(),
    }
}

fn eur(amount: &str) -> Money {
    Money {
        amount: amount.into(),
        currency_code: "EUR".into(),
    }
}

impl Suite {
    async fn start(prefix: &str) -> Self {
        let credit = CreditServer::start().await.unwrap();
        let database = TestDatabase::create(prefix).await.unwrap();
        let namespace = format!("t{}.", unique_suffix());
        let service = ServiceProcess::start(
            "order",
            &database.url,
            &[
                ("OTC_KAFKA__TOPIC_NAMESPACE", &namespace),
                ("OTC_KAFKA__TOPIC_PARTITIONS", "3"),
                ("OTC_PEERS__COLLECTIONS__URL", &credit.url()),
                ("OTC_PEERS__COLLECTIONS__TIMEOUT_MS", "1000"),
            ],
        )
        .await
        .unwrap();
        let channel = Channel::from_shared(service.grpc_url())
            .unwrap()
            .connect()
            .await
            .unwrap();
        Self {
            database,
            service,
            credit,
            namespace,
            channel,
        }
    }

    fn customers(&self) -> CustomerServiceClient<Channel> {
        CustomerServiceClient::new(self.channel.clone())
    }

    fn pricing(&self) -> PricingServiceClient<Channel> {
        PricingServiceClient::new(self.channel.clone())
    }

    fn orders(&self) -> OrderServiceClient<Channel> {
        OrderServiceClient::new(self.channel.clone())
    }

    fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.namespace)
    }

    async fn create_customer(&self, external_id: &str) -> Customer {
        self.customers()
            .create_customer(admin(CreateCustomerRequest {
                details: Some(CustomerDetails {
                    legal_name: format!("Customer {external_id} GmbH"),
                    external_references: vec![ExternalReference {
                        platform: "shop".into(),
                        external_id: external_id.into(),
                    }],
                    billing_address: Some(address()),
                    tax_region: "DE".into(),
                    currency_code: "EUR".into(),
                    payment_terms_code: "NET30".into(),
                    segment: "smb".into(),
                    ..CustomerDetails::default()
                }),
            }))
            .await
            .unwrap()
            .into_inner()
    }

    /// Two products with EUR list prices.
    async fn seed_catalogue(&self) {
        for (sku, price) in [("SKU-1", "10.00"), ("SKU-2", "3.333")] {
            self.pricing()
                .upsert_product(admin(Product {
                    sku: sku.into(),
                    description: format!("Product {sku}"),
                    tax_code: "STANDARD".into(),
                    active: true,
                }))
                .await
                .unwrap();
            self.pricing()
                .set_list_price(admin(SetListPriceRequest {
                    sku: sku.into(),
                    unit_price: Some(eur(price)),
                    valid_from: "2026-01-01".into(),
                    valid_to: String::new(),
                }))
                .await
                .unwrap();
        }
    }

    async fn order(
        &self,
        key: &str,
        customer: &str,
        lines: &[(&str, &str)],
    ) -> Result<Order, tonic::Status> {
        self.orders()
            .create_order(sales(CreateOrderRequest {
                idempotency_key: key.into(),
                customer_ref: customer.into(),
                currency_code: "EUR".into(),
                lines: lines
                    .iter()
                    .map(|(sku, quantity)| OrderLineInput {
                        sku: (*sku).into(),
                        quantity: (*quantity).into(),
                        ..OrderLineInput::default()
                    })
                    .collect(),
                shipping_address: Some(address()),
                ..CreateOrderRequest::default()
            }))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn get(&self, order_id: &str) -> Order {
        self.orders()
            .get_order(sales(GetOrderRequest {
                order_id: order_id.into(),
            }))
            .await
            .unwrap()
            .into_inner()
    }

    async fn wait_for_status(&self, order_id: &str, status: &str, timeout: Duration) -> Order {
        let deadline = Instant::now() + timeout;
        loop {
            let order = self.get(order_id).await;
            if order.status == status {
                return order;
            }
            assert!(
                Instant::now() < deadline,
                "order {order_id} stayed {} ({}), expected {status}",
                order.status,
                order.credit_note
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Everything published so far on the order events topic.
    async fn order_events(&self, settle: Duration) -> Vec<ReadRecord> {
        kafka::read_all(&self.topic("otc.order.events.v1"), usize::MAX, settle)
            .await
            .unwrap()
    }

    async fn count_rows(&self, sql: &str) -> i64 {
        let mut tx = otc_shared::db::begin_for_all_tenants(&self.database.pool)
            .await
            .unwrap();
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        count
    }

    async fn wait_for_rows(&self, sql: &str, expected: i64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let count = self.count_rows(sql).await;
            if count == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{sql}` gave {count}, expected {expected}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn stop(mut self) {
        self.service
            .terminate(Duration::from_secs(15))
            .await
            .unwrap();
        self.credit.stop().await;
        self.database.drop_database().await;
    }
}

fn of_type<'a>(records: &'a [ReadRecord], name: &str) -> Vec<&'a ReadRecord> {
    let event_type = format!("otc.order.v1.{name}");
    records
        .iter()
        .filter(|record| record.headers.get(header::TYPE) == Some(event_type.as_str()))
        .collect()
}

fn upstream_order(id: &str, external_order_id: &str, data: Value) -> Vec<u8> {
    let mut body = json!({
        "specversion": "1.0",
        "id": id,
        "source": "/shop/eu",
        "type": "commerce.order.placed",
        "tenant": TENANT,
        "time": "2026-11-20T10:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
    });
    body["data"]["external_order_id"] = json!(external_order_id);
    serde_json::to_vec(&body).unwrap()
}

fn good_data(customer: &str) -> Value {
    json!({
        "customer_ref": customer,
        "currency_code": "EUR",
        "lines": [
            {"line_id": "a", "sku": "SKU-1", "quantity": "2"},
            {"line_id": "b", "sku": "SKU-2", "quantity": "3", "discount": {"percentage": "10"}}
        ],
        "shipping_address": {"lines": ["Hauptstraße 1"], "city": "Berlin", "postal_code": "10115", "country_code": "DE"}
    })
}

async fn publish(suite: &Suite, topic: &str, key: &str, payload: &[u8]) {
    let producer = kafka::producer().unwrap();
    kafka::produce(
        &producer,
        &suite.topic(topic),
        key,
        payload,
        &RecordHeaders::default(),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_upstream_event_three_times_creates_one_order_and_one_order_placed() {
    let suite = Suite::start("order_dedupe").await;
    suite.seed_catalogue().await;
    suite.create_customer("c1").await;
    let payload = upstream_order("evt-1", "1001", good_data("shop:c1"));
    for _ in 0..3 {
        publish(&suite, "commerce.orders.v1", "1001", &payload).await;
    }
    // The same order re-published under a new event id is recognised too.
    publish(
        &suite,
        "commerce.orders.v1",
        "1001",
        &upstream_order("evt-2", "1001", good_data("shop:c1")),
    )
    .await;
    suite
        .wait_for_rows(
            "SELECT count(*) FROM inbox WHERE consumer = 'commerce-orders'",
            2,
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(suite.count_rows("SELECT count(*) FROM orders").await, 1);
    let order_id = suite
        .orders()
        .list_orders(sales(ListOrdersRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .orders[0]
        .order_id
        .clone();
    let order = suite
        .wait_for_status(&order_id, "approved", Duration::from_secs(20))
        .await;
    // 2 × 10.00 + (3 × 3.333 = 9.999 → 10.00, less 10% = 1.00) = 29.00.
    assert_eq!(order.total.unwrap().amount, "29.00");
    assert_eq!(order.revision, 1);
    assert!(
        order.lines[1].derivation.contains("EUR price list"),
        "{}",
        order.lines[1].derivation
    );

    let records = suite.order_events(Duration::from_secs(5)).await;
    let placed = of_type(&records, "OrderPlaced");
    assert_eq!(placed.len(), 1, "exactly one OrderPlaced");
    let event = events_proto::OrderPlaced::decode(placed[0].payload.as_slice()).unwrap();
    assert_eq!(event.external_order_id, "1001");
    assert_eq!(event.source, "/shop/eu");
    assert_eq!(placed[0].key.as_deref(), Some(order.customer_id.as_str()));
    assert_eq!(of_type(&records, "OrderApproved").len(), 1);
    assert!(of_type(&records, "OrderAmended").is_empty());
    suite.stop().await;
}

/// A good order and one of the ways an upstream event goes wrong.
fn malformed(index: usize) -> (Vec<u8>, &'static str) {
    let external = format!("bad-{index}");
    let mut data = good_data("shop:c1");
    let field = match (index / 20) % 10 {
        0 => return (b"{not json".to_vec(), ""),
        1 => {
            data["lines"][0]["quantity"] = json!(2);
            "lines[0].quantity"
        }
        2 => {
            data["customer_ref"] = json!("shop:nobody");
            "customer_ref"
        }
        3 => {
            data["lines"][1]["sku"] = json!("SKU-404");
            "lines[1].sku"
        }
        4 => {
            data["currency_code"] = json!("USD");
            "currency_code"
        }
        5 => {
            data.as_object_mut().unwrap().remove("shipping_address");
            "shipping_address"
        }
        6 => {
            data["lines"][0]["quantity"] = json!("-1");
            "lines[0].quantity"
        }
        7 => {
            data["lines"][0]["unit_price"] = json!({"amount": "12,50", "currency_code": "EUR"});
            "lines[0].unit_price.amount"
        }
        8 => {
            let mut body: Value = serde_json::from_slice(&upstream_order(
                &format!("evt-{external}"),
                &external,
                data,
            ))
            .unwrap();
            body["specversion"] = json!("0.3");
            return (serde_json::to_vec(&body).unwrap(), "specversion");
        }
        _ => {
            data["lines"][0]["quantity"] = json!("0");
            data["lines"][1]["quantity"] = json!("abc");
            "lines[1].quantity"
        }
    };
    (
        upstream_order(&format!("evt-{external}"), &external, data),
        field,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_upstream_events_with_five_percent_malformed_lose_nothing() {
    let suite = Suite::start("order_bulk").await;
    suite.seed_catalogue().await;
    suite.create_customer("c1").await;
    let producer = kafka::producer().unwrap();
    let topic = suite.topic("commerce.orders.v1");
    let mut expected_fields = HashMap::new();
    let mut sends = Vec::new();
    for index in 0..1000_usize {
        let (key, payload) = if index % 20 == 7 {
            let (payload, field) = malformed(index);
            expected_fields.insert(format!("bad-{index}"), field);
            (format!("bad-{index}"), payload)
        } else {
            (
                format!("good-{index}"),
                upstream_order(
                    &format!("evt-{index}"),
                    &format!("good-{index}"),
                    good_data("shop:c1"),
                ),
            )
        };
        sends.push((key, payload));
    }
    assert_eq!(expected_fields.len(), 50);
    let no_headers = RecordHeaders::default();
    futures::future::join_all(
        sends
            .iter()
            .map(|(key, payload)| kafka::produce(&producer, &topic, key, payload, &no_headers)),
    )
    .await
    .into_iter()
    .collect::<anyhow::Result<Vec<_>>>()
    .unwrap();

    suite
        .wait_for_rows(
            "SELECT count(*) FROM dead_letters WHERE consumer = 'commerce-orders'",
            50,
            Duration::from_secs(120),
        )
        .await;
    suite
        .wait_for_rows("SELECT count(*) FROM orders", 950, Duration::from_secs(120))
        .await;
    let external_ids = suite
        .count_rows("SELECT count(*) FROM orders WHERE external_order_id LIKE 'good-%'")
        .await;
    assert_eq!(external_ids, 950);

    let dead = kafka::read_all(
        &format!("{topic}.dlq.commerce-orders"),
        50,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(dead.len(), 50, "every bad event is in the DLQ once");
    for record in &dead {
        let key = record.key.clone().unwrap();
        let field = expected_fields[&key];
        let error = record.headers.get("dlq_error").unwrap();
        assert!(
            error.contains(&format!("{field}: ")) || field.is_empty(),
            "{key}: {error}"
        );
    }
    // `OrderRejected` for every rejection that names its tenant (all of them
    // but the records that are not JSON at all).
    let records = suite.order_events(Duration::from_secs(10)).await;
    let rejected = of_type(&records, "OrderRejected");
    assert_eq!(rejected.len(), 45);
    for record in rejected {
        let event = events_proto::OrderRejected::decode(record.payload.as_slice()).unwrap();
        let field = expected_fields[&event.external_order_id];
        assert!(
            event
                .violations
                .iter()
                .any(|violation| violation.field == field),
            "{event:?}"
        );
        assert_eq!(event.source, "/shop/eu");
    }
    assert_eq!(of_type(&records, "OrderPlaced").len(), 950);
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_grpc_order_names_every_bad_field_and_idempotency_amends() {
    let suite = Suite::start("order_grpc").await;
    suite.seed_catalogue().await;
    let customer = suite.create_customer("c1").await;
    let status = suite
        .orders()
        .create_order(sales(CreateOrderRequest {
            idempotency_key: "k-bad".into(),
            customer_ref: "shop:unknown".into(),
            currency_code: "EUR".into(),
            lines: vec![
                OrderLineInput {
                    sku: "SKU-404".into(),
                    quantity: "1".into(),
                    ..OrderLineInput::default()
                },
                OrderLineInput {
                    sku: "SKU-1".into(),
                    quantity: "0".into(),
                    ..OrderLineInput::default()
                },
                OrderLineInput {
                    sku: "SKU-2".into(),
                    quantity: "1".into(),
                    unit_price: Some(Money {
                        amount: "1.2.3".into(),
                        currency_code: "EUR".into(),
                    }),
                    ..OrderLineInput::default()
                },
            ],
            ..CreateOrderRequest::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    let fields: Vec<String> = details
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|violation| violation.field.clone())
        .collect();
    for expected in [
        "customer_ref",
        "lines[0].sku",
        "lines[1].quantity",
        "lines[2].unit_price.amount",
        "shipping_address",
    ] {
        assert!(
            fields.iter().any(|field| field == expected),
            "{expected} missing from {fields:?}"
        );
    }
    // Currency mismatch against the customer.
    let mismatch = suite
        .orders()
        .create_order(sales(CreateOrderRequest {
            idempotency_key: "k-usd".into(),
            customer_ref: customer.customer_id.clone(),
            currency_code: "USD".into(),
            lines: vec![OrderLineInput {
                sku: "SKU-1".into(),
                quantity: "1".into(),
                ..OrderLineInput::default()
            }],
            shipping_address: Some(address()),
            ..CreateOrderRequest::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(
        mismatch
            .get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "currency_code"
    );
    assert_eq!(
        suite.count_rows("SELECT count(*) FROM orders").await,
        0,
        "a refused order changes nothing"
    );
    assert_eq!(
        suite
            .count_rows("SELECT count(*) FROM outbox WHERE event_type LIKE '%Order%'")
            .await,
        0
    );

    let first = suite
        .order("k-1", "shop:c1", &[("SKU-1", "1")])
        .await
        .unwrap();
    assert_eq!(first.status, "approved", "{}", first.credit_note);
    let again = suite
        .order("k-1", "shop:c1", &[("SKU-1", "1")])
        .await
        .unwrap();
    assert_eq!(again.order_id, first.order_id);
    assert_eq!(again.revision, 1);
    let amended = suite
        .order("k-1", "shop:c1", &[("SKU-1", "3")])
        .await
        .unwrap();
    assert_eq!(amended.order_id, first.order_id);
    assert_eq!(amended.revision, 2);
    assert_eq!(amended.total.unwrap().amount, "30.00");
    // An increase goes back through the credit check, and is approved again.
    assert_eq!(amended.status, "approved");
    let records = suite.order_events(Duration::from_secs(4)).await;
    assert_eq!(of_type(&records, "OrderPlaced").len(), 1);
    let amendments = of_type(&records, "OrderAmended");
    assert_eq!(amendments.len(), 1);
    let amendment = events_proto::OrderAmended::decode(amendments[0].payload.as_slice()).unwrap();
    assert_eq!(amendment.previous_total.unwrap().amount, "10.00");
    assert_eq!(of_type(&records, "OrderApproved").len(), 2);
    assert_eq!(suite.credit.requests().len(), 2);
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_shipments_sum_to_the_line_and_over_shipment_is_refused() {
    let suite = Suite::start("order_ship").await;
    suite.seed_catalogue().await;
    suite.create_customer("c1").await;
    let order = suite
        .order("k-ship", "shop:c1", &[("SKU-1", "3"), ("SKU-2", "3")])
        .await
        .unwrap();
    assert_eq!(order.status, "approved");
    let ship = |external: &str, lines: Vec<(&str, &str)>| RecordShipmentRequest {
        order_id: order.order_id.clone(),
        external_shipment_id: external.into(),
        lines: lines
            .into_iter()
            .map(|(line_id, quantity)| ShipmentLineInput {
                line_id: line_id.into(),
                sku: String::new(),
                quantity: quantity.into(),
            })
            .collect(),
        shipped_at: None,
    };
    let first = suite
        .orders()
        .record_shipment(sales(ship("s1", vec![("1", "1"), ("2", "1")])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.order.unwrap().status, "partially_fulfilled");
    // The same shipment again records nothing new.
    suite
        .orders()
        .record_shipment(sales(ship("s1", vec![("1", "1"), ("2", "1")])))
        .await
        .unwrap();
    let over = suite
        .orders()
        .record_shipment(sales(ship("s2", vec![("1", "3")])))
        .await
        .unwrap_err();
    assert_eq!(over.code(), Code::InvalidArgument);
    assert!(
        over.message().contains("only 2 of 3 remain"),
        "{}",
        over.message()
    );
    let cancel = suite
        .orders()
        .cancel_order(sales(CancelOrderRequest {
            order_id: order.order_id.clone(),
            reason: "changed mind".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(cancel.code(), Code::FailedPrecondition);

    // The rest arrives over the upstream fulfilment topic, in two parts.
    let fulfilment = |id: &str, shipment: &str, lines: Value| {
        serde_json::to_vec(&json!({
            "specversion": "1.0", "id": id, "source": "/wms/berlin", "type": "commerce.fulfilment.shipped", "tenant": TENANT,
            "data": {"order_id": order.order_id, "shipment_id": shipment, "lines": lines}
        }))
        .unwrap()
    };
    publish(
        &suite,
        "commerce.fulfilments.v1",
        &order.order_id,
        &fulfilment("f1", "s2", json!([{"line_id": "1", "quantity": "2"}])),
    )
    .await;
    publish(
        &suite,
        "commerce.fulfilments.v1",
        &order.order_id,
        &fulfilment("f2", "s3", json!([{"sku": "SKU-2", "quantity": "5"}])),
    )
    .await;
    publish(
        &suite,
        "commerce.fulfilments.v1",
        &order.order_id,
        &fulfilment("f3", "s4", json!([{"sku": "SKU-2", "quantity": "2"}])),
    )
    .await;
    let fulfilled = suite
        .wait_for_status(&order.order_id, "fulfilled", Duration::from_secs(30))
        .await;
    assert!(
        fulfilled
            .lines
            .iter()
            .all(|line| line.shipped_quantity == line.quantity)
    );
    suite
        .wait_for_rows(
            "SELECT count(*) FROM dead_letters WHERE consumer = 'commerce-fulfilments'",
            1,
            Duration::from_secs(20),
        )
        .await;

    let records = suite.order_events(Duration::from_secs(4)).await;
    let shipments: Vec<events_proto::ShipmentRecorded> = of_type(&records, "ShipmentRecorded")
        .iter()
        .map(|record| events_proto::ShipmentRecorded::decode(record.payload.as_slice()).unwrap())
        .collect();
    assert_eq!(shipments.len(), 3, "s1, s2 and s4; s3 over-ships");
    for line in &fulfilled.lines {
        let shipped: Decimal = shipments
            .iter()
            .flat_map(|shipment| &shipment.lines)
            .filter(|shipped| shipped.line_id == line.line_id)
            .map(|shipped| {
                shipped
                    .amount
                    .as_ref()
                    .unwrap()
                    .amount
                    .parse::<Decimal>()
                    .unwrap()
            })
            .sum();
        assert_eq!(
            shipped,
            line.line_amount
                .as_ref()
                .unwrap()
                .amount
                .parse::<Decimal>()
                .unwrap(),
            "line {}",
            line.line_id
        );
    }
    assert_eq!(shipments.last().unwrap().order_status, "fulfilled");
    let closed = suite
        .orders()
        .close_order(sales(CloseOrderRequest {
            order_id: order.order_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.status, "closed");
    assert_eq!(
        of_type(
            &suite.order_events(Duration::from_secs(3)).await,
            "OrderClosed"
        )
        .len(),
        1
    );
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn credit_holds_are_released_by_a_credit_manager_or_by_collections() {
    let suite = Suite::start("order_credit").await;
    suite.seed_catalogue().await;
    let customer = suite.create_customer("c1").await;
    suite
        .credit
        .set_limit(&customer.customer_id, Decimal::new(5000, 2));
    let within = suite
        .order("k-1", "shop:c1", &[("SKU-1", "4")])
        .await
        .unwrap();
    assert_eq!(within.status, "approved");
    let over = suite
        .order("k-2", "shop:c1", &[("SKU-1", "2")])
        .await
        .unwrap();
    assert_eq!(over.status, "on_credit_hold", "40 + 20 > 50");
    assert!(
        over.credit_note.contains("over credit limit"),
        "{}",
        over.credit_note
    );
    let shipping_held = suite
        .orders()
        .record_shipment(sales(RecordShipmentRequest {
            order_id: over.order_id.clone(),
            external_shipment_id: "s".into(),
            lines: vec![ShipmentLineInput {
                line_id: "1".into(),
                sku: String::new(),
                quantity: "1".into(),
            }],
            shipped_at: None,
        }))
        .await
        .unwrap_err();
    assert_eq!(shipping_held.code(), Code::FailedPrecondition);

    // Sales cannot release a hold; a credit manager can, and it is audited.
    let denied = suite
        .orders()
        .release_credit_hold(sales(ReleaseCreditHoldRequest {
            order_id: over.order_id.clone(),
            reason: "ok".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let released = suite
        .orders()
        .release_credit_hold(request(
            ReleaseCreditHoldRequest {
                order_id: over.order_id.clone(),
                reason: "paid by wire today".into(),
            },
            TENANT,
            &[Role::CreditManager],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(released.status, "approved");
    assert_eq!(
        suite.count_rows(&format!(
            "SELECT count(*) FROM audit_log WHERE entity_id = '{}' AND action = 'order.credit_hold_released' AND actor NOT LIKE 'system:%' AND before_state->>'status' = 'on_credit_hold' AND after_state->>'status' = 'approved'",
            over.order_id
        ))
        .await,
        1
    );

    // Collections publishes that the customer is back within limit: the next
    // held order is checked again and released.
    let held = suite
        .order("k-3", "shop:c1", &[("SKU-1", "2")])
        .await
        .unwrap();
    assert_eq!(held.status, "on_credit_hold");
    suite
        .credit
        .set_limit(&customer.customer_id, Decimal::new(100_000, 2));
    let release = events_proto::CustomerCreditReleased {
        customer_id: customer.customer_id.clone(),
        credit_limit: Some(eur("1000.00")),
        exposure: Some(eur("70.00")),
    };
    let mut envelope = EventEnvelope::new(
        "otc.collections.v1.CustomerCreditReleased",
        "/otc/collections",
        &otc_testkit::tenant(TENANT),
    );
    envelope.subject = Some(format!("customer/{}", customer.customer_id));
    let headers = RecordHeaders::from_kafka(Some(&envelope.to_headers()));
    let producer = kafka::producer().unwrap();
    let topic = suite.topic("otc.collections.events.v1");
    kafka::produce(
        &producer,
        &topic,
        &customer.customer_id,
        &release.encode_to_vec(),
        &headers,
    )
    .await
    .unwrap();
    // Delivered twice: the inbox applies it once.
    kafka::produce(
        &producer,
        &topic,
        &customer.customer_id,
        &release.encode_to_vec(),
        &headers,
    )
    .await
    .unwrap();
    suite
        .wait_for_status(&held.order_id, "approved", Duration::from_secs(30))
        .await;

    let records = suite.order_events(Duration::from_secs(4)).await;
    let releases: Vec<events_proto::OrderReleased> = of_type(&records, "OrderReleased")
        .iter()
        .map(|record| events_proto::OrderReleased::decode(record.payload.as_slice()).unwrap())
        .collect();
    assert_eq!(releases.len(), 2);
    assert!(
        releases.iter().any(
            |release| release.released_by == "collections" && release.order_id == held.order_id
        )
    );
    assert!(
        releases.iter().any(
            |release| release.released_by != "collections" && release.order_id == over.order_id
        )
    );
    assert_eq!(of_type(&records, "OrderPutOnCreditHold").len(), 2);
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn when_collections_is_down_the_order_waits_and_is_never_approved_by_default() {
    let mut suite = Suite::start("order_down").await;
    suite.seed_catalogue().await;
    suite.create_customer("c1").await;
    suite.credit.stop().await;
    let order = suite
        .order("k-1", "shop:c1", &[("SKU-1", "1")])
        .await
        .unwrap();
    assert_eq!(order.status, "pending_credit");
    assert!(
        order.credit_note.contains("collections unavailable"),
        "{}",
        order.credit_note
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waiting = suite.get(&order.order_id).await;
    assert_eq!(waiting.status, "pending_credit");
    let attempts = suite
        .count_rows("SELECT credit_check_attempts::bigint FROM orders")
        .await;
    assert!(attempts >= 2, "retried with backoff: {attempts} attempts");
    assert!(
        of_type(
            &suite.order_events(Duration::from_secs(2)).await,
            "OrderApproved"
        )
        .is_empty()
    );
    suite.credit.resume().await.unwrap();
    suite
        .wait_for_status(&order.order_id, "approved", Duration::from_secs(30))
        .await;
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_pricing_roles_and_tenants() {
    let suite = Suite::start("order_master").await;
    suite.seed_catalogue().await;
    let customer = suite.create_customer("c1").await;
    for index in 2..=5 {
        suite.create_customer(&format!("c{index}")).await;
    }
    // Sales may not change the customer master; the admin may, once per version.
    let denied = suite
        .customers()
        .create_customer(sales(CreateCustomerRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let invalid = suite
        .customers()
        .create_customer(admin(CreateCustomerRequest {
            details: Some(CustomerDetails {
                external_references: vec![ExternalReference {
                    platform: "shop".into(),
                    external_id: "c1".into(),
                }],
                currency_code: "EURO".into(),
                payment_terms_code: "NET".into(),
                ..CustomerDetails::default()
            }),
        }))
        .await
        .unwrap_err();
    let fields: Vec<String> = invalid
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    for expected in [
        "details.legal_name",
        "details.billing_address",
        "details.currency_code",
        "details.payment_terms_code",
    ] {
        assert!(
            fields.contains(&expected.to_owned()),
            "{expected} missing in {fields:?}"
        );
    }
    let mut details = customer.details.clone().unwrap();
    details.segment = "enterprise".into();
    details.external_references.push(ExternalReference {
        platform: "crm".into(),
        external_id: "0015x".into(),
    });
    let updated = suite
        .customers()
        .update_customer(admin(UpdateCustomerRequest {
            customer_id: customer.customer_id.clone(),
            expected_version: 1,
            details: Some(details.clone()),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.version, 2);
    let stale = suite
        .customers()
        .update_customer(admin(UpdateCustomerRequest {
            customer_id: customer.customer_id.clone(),
            expected_version: 1,
            details: Some(details),
        }))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // Listing pages through everyone and filters.
    let page = |token: &str| ListCustomersRequest {
        page: Some(PageRequest {
            page_size: 2,
            page_token: token.into(),
        }),
        ..ListCustomersRequest::default()
    };
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let response = suite
            .customers()
            .list_customers(sales(page(&token)))
            .await
            .unwrap()
            .into_inner();
        seen.extend(
            response
                .customers
                .into_iter()
                .map(|customer| customer.customer_id),
        );
        token = response.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    let filtered = suite
        .customers()
        .list_customers(sales(ListCustomersRequest {
            external_reference: "crm:0015x".into(),
            ..ListCustomersRequest::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(filtered.customers.len(), 1);
    assert_eq!(
        filtered.customers[0].details.as_ref().unwrap().segment,
        "enterprise"
    );

    // A contract price beats the list price, within its dates.
    suite
        .pricing()
        .set_contract_price(admin(SetContractPriceRequest {
            customer_id: customer.customer_id.clone(),
            sku: "SKU-1".into(),
            unit_price: Some(eur("8.50")),
            valid_from: "2026-06-01".into(),
            valid_to: "2026-12-31".into(),
        }))
        .await
        .unwrap();
    let quote = |date: &str| QuotePriceRequest {
        customer_id: customer.customer_id.clone(),
        sku: "SKU-1".into(),
        quantity: "2".into(),
        on_date: date.into(),
    };
    let contract = suite
        .pricing()
        .quote_price(sales(quote("2026-07-01")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(contract.price_source, "contract");
    assert_eq!(contract.line_amount.unwrap().amount, "17.00");
    assert!(
        contract.derivation.contains("list price 10.00"),
        "{}",
        contract.derivation
    );
    let list = suite
        .pricing()
        .quote_price(sales(quote("2027-01-05")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.price_source, "price_list");
    assert_eq!(list.line_amount.unwrap().amount, "20.00");

    // Tenant isolation: another tenant's token finds nothing.
    let order = suite
        .order("k-1", "shop:c1", &[("SKU-1", "1")])
        .await
        .unwrap();
    let foreign = suite
        .orders()
        .get_order(request(
            GetOrderRequest {
                order_id: order.order_id.clone(),
            },
            "globex",
            &[Role::SalesAssociate],
        ))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);
    let foreign_customer = suite
        .customers()
        .get_customer(request(
            GetCustomerRequest {
                customer_id: customer.customer_id.clone(),
            },
            "globex",
            &[Role::TenantAdmin],
        ))
        .await
        .unwrap_err();
    assert_eq!(foreign_customer.code(), Code::NotFound);
    // A customer service representative reads, but does not take orders.
    let reader = [Role::CustomerServiceRepresentative];
    suite
        .orders()
        .get_order(request(
            GetOrderRequest {
                order_id: order.order_id.clone(),
            },
            TENANT,
            &reader,
        ))
        .await
        .unwrap();
    let refused = suite
        .orders()
        .create_order(request(
            CreateOrderRequest {
                idempotency_key: "x".into(),
                ..CreateOrderRequest::default()
            },
            TENANT,
            &reader,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // Every change is audited; every customer change is published.
    assert_eq!(
        suite
            .count_rows("SELECT count(*) FROM audit_log WHERE entity_type = 'customer'")
            .await,
        6
    );
    assert!(
        suite
            .count_rows("SELECT count(*) FROM audit_log WHERE entity_type = 'order'")
            .await
            >= 2
    );
    let records = suite.order_events(Duration::from_secs(4)).await;
    let upserts = of_type(&records, "CustomerUpserted");
    assert_eq!(upserts.len(), 6);
    let last = upserts
        .iter()
        .map(|record| events_proto::CustomerUpserted::decode(record.payload.as_slice()).unwrap())
        .find(|event| event.customer_id == customer.customer_id && event.version == 2)
        .unwrap();
    assert_eq!(last.external_references, ["crm:0015x", "shop:c1"]);
    suite.stop().await;
}

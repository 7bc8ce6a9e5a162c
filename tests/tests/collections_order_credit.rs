#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The order service and the collections service as processes on one topic
//! namespace, the order service asking collections' real `CheckCredit`: an
//! order over the customer's limit goes on credit hold; a payment brings
//! the exposure back within the limit, collections publishes
//! `CustomerCreditReleased`, and the order service releases the order on
//! its own.

use std::time::{Duration, Instant};

use prost::Message;
use rust_decimal::Decimal;
use tonic::Request;
use tonic::transport::Channel;
use uuid::Uuid;

use otc_proto::collections::{GetCreditProfileRequest, SetCreditLimitRequest};
use otc_proto::events as events_proto;
use otc_proto::order::customer_service_client::CustomerServiceClient;
use otc_proto::order::order_service_client::OrderServiceClient;
use otc_proto::order::pricing_service_client::PricingServiceClient;
use otc_proto::order::*;
use otc_proto::types::PostalAddress;
use otc_shared::auth::Role;
use otc_shared::events::header;
use otc_testkit::collections::{
    Application, CUSTOMER_CREDIT_RELEASED, CollectionsSuite, Issued, money,
};
use otc_testkit::process::ServiceProcess;
use otc_testkit::{TestDatabase, kafka, unique_suffix};

const WAIT: Duration = Duration::from_secs(60);

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
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

struct Orders<'a> {
    suite: &'a CollectionsSuite,
    channel: Channel,
}

impl Orders<'_> {
    fn request<T>(&self, message: T, role: Role) -> Request<T> {
        self.suite.as_role(message, role)
    }

    async fn create_customer(&self) -> Customer {
        CustomerServiceClient::new(self.channel.clone())
            .create_customer(self.request(
                CreateCustomerRequest {
                    details: Some(CustomerDetails {
                        legal_name: "Müller Handels GmbH".into(),
                        external_references: vec![ExternalReference {
                            platform: "shop".into(),
                            external_id: "4711".into(),
                        }],
                        billing_address: Some(address()),
                        tax_region: "DE".into(),
                        currency_code: "EUR".into(),
                        payment_terms_code: "NET30".into(),
                        segment: "smb".into(),
                        ..CustomerDetails::default()
                    }),
                },
                Role::TenantAdmin,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    async fn seed_product(&self) {
        let mut pricing = PricingServiceClient::new(self.channel.clone());
        pricing
            .upsert_product(self.request(
                Product {
                    sku: "SKU-1".into(),
                    description: "Product SKU-1".into(),
                    tax_code: "STANDARD".into(),
                    active: true,
                },
                Role::TenantAdmin,
            ))
            .await
            .unwrap();
        pricing
            .set_list_price(self.request(
                SetListPriceRequest {
                    sku: "SKU-1".into(),
                    unit_price: Some(money("10.00", "EUR")),
                    valid_from: "2026-01-01".into(),
                    valid_to: String::new(),
                },
                Role::TenantAdmin,
            ))
            .await
            .unwrap();
    }

    async fn place(&self, key: &str, quantity: &str) -> Order {
        OrderServiceClient::new(self.channel.clone())
            .create_order(self.request(
                CreateOrderRequest {
                    idempotency_key: key.into(),
                    customer_ref: "shop:4711".into(),
                    currency_code: "EUR".into(),
                    lines: vec![OrderLineInput {
                        line_id: "1".into(),
                        sku: "SKU-1".into(),
                        quantity: quantity.into(),
                        ..OrderLineInput::default()
                    }],
                    shipping_address: Some(address()),
                    ..CreateOrderRequest::default()
                },
                Role::SalesAssociate,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    async fn wait_for_status(&self, order_id: &str, status: &str) -> Order {
        let deadline = Instant::now() + WAIT;
        loop {
            let order = OrderServiceClient::new(self.channel.clone())
                .get_order(self.request(
                    GetOrderRequest {
                        order_id: order_id.into(),
                    },
                    Role::SalesAssociate,
                ))
                .await
                .unwrap()
                .into_inner();
            if order.status == status {
                return order;
            }
            assert!(
                Instant::now() < deadline,
                "order {order_id} stayed {} ({}), expected {status}",
                order.status,
                order.credit_note
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test]
async fn a_held_order_is_released_by_the_order_service_once_a_payment_brings_exposure_within_the_limit()
 {
    let namespace = format!("t{}.", unique_suffix());
    let collections_db = TestDatabase::create("o2c_collections").await.unwrap();
    let order_db = TestDatabase::create("o2c_order").await.unwrap();
    let collections = CollectionsSuite::start_on(collections_db, &namespace, &[]).await;
    let order_service = ServiceProcess::start(
        "order",
        &order_db.url,
        &[
            ("OTC_KAFKA__TOPIC_NAMESPACE", namespace.as_str()),
            ("OTC_KAFKA__TOPIC_PARTITIONS", "3"),
            (
                "OTC_PEERS__COLLECTIONS__URL",
                &collections.service.grpc_url(),
            ),
        ],
    )
    .await
    .unwrap();
    let orders = Orders {
        suite: &collections,
        channel: order_service.channel().await.unwrap(),
    };

    let customer = orders.create_customer().await;
    orders.seed_product().await;
    let known = collections
        .wait_for_count(
            &format!(
                "SELECT count(*) FROM customers WHERE id = '{}'",
                customer.customer_id
            ),
            1,
            WAIT,
        )
        .await;
    assert_eq!(
        known, 1,
        "collections learnt the customer from CustomerUpserted"
    );
    collections
        .limits()
        .set_credit_limit(collections.as_role(
            SetCreditLimitRequest {
                customer_id: customer.customer_id.clone(),
                credit_limit: Some(money("100.00", "EUR")),
                risk_class: "C".into(),
                reason: "new customer".into(),
                expected_version: 0,
            },
            Role::CreditManager,
        ))
        .await
        .unwrap();
    // Billing invoiced 50.00 earlier.
    let invoice_id = Uuid::now_v7().to_string();
    collections
        .invoice(
            &Issued {
                id: &invoice_id,
                number: "INV-2026-000900",
                customer_id: &customer.customer_id,
                total: "50.00",
                currency: "EUR",
                due_date: "2026-12-31",
                functional: None,
            },
            None,
        )
        .await;
    collections
        .wait_for_count("SELECT count(*) FROM open_items", 1, WAIT)
        .await;

    // 50.00 open + 20.00 = 70.00: approved by collections.
    let small = orders.place("o2c-1", "2").await;
    let small = orders.wait_for_status(&small.order_id, "approved").await;
    assert!(
        small.credit_note.contains("approved by collections"),
        "{}",
        small.credit_note
    );
    // 50.00 + 20.00 + 80.00 = 150.00 > 100.00: held.
    let large = orders.place("o2c-2", "8").await;
    let held = orders
        .wait_for_status(&large.order_id, "on_credit_hold")
        .await;
    assert!(
        held.credit_note.contains("over credit limit"),
        "{}",
        held.credit_note
    );
    // Collections has seen the hold before the payment (the two come on
    // different topics; this keeps the story in order).
    let seen = collections
        .wait_for_count(
            "SELECT count(*) FROM inbox WHERE event_type = 'otc.order.v1.OrderPutOnCreditHold'",
            1,
            WAIT,
        )
        .await;
    assert_eq!(seen, 1);

    // The invoice is paid: 0 + 20.00 + 80.00 fits in 100.00.
    collections
        .payment_applied(
            &Application {
                application_id: &Uuid::now_v7().to_string(),
                invoice_id: &invoice_id,
                customer_id: &customer.customer_id,
                amount: "50.00",
                discount: "0",
                currency: "EUR",
            },
            None,
        )
        .await;
    let released = orders.wait_for_status(&large.order_id, "approved").await;
    assert!(
        released.credit_note.contains("approved by collections"),
        "{}",
        released.credit_note
    );

    let releases = collections
        .collections_events(CUSTOMER_CREDIT_RELEASED, 1, WAIT)
        .await;
    assert_eq!(releases.len(), 1, "one release for one transition");
    let event =
        events_proto::CustomerCreditReleased::decode(releases[0].payload.as_slice()).unwrap();
    assert_eq!(event.customer_id, customer.customer_id);
    assert_eq!(dec(&event.exposure.unwrap().amount), dec("100"));
    let order_events = kafka::read_all(
        &format!("{namespace}otc.order.events.v1"),
        usize::MAX,
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    let released_events: Vec<events_proto::OrderReleased> = order_events
        .iter()
        .filter(|record| record.headers.get(header::TYPE) == Some("otc.order.v1.OrderReleased"))
        .map(|record| events_proto::OrderReleased::decode(record.payload.as_slice()).unwrap())
        .collect();
    assert_eq!(released_events.len(), 1);
    assert_eq!(released_events[0].order_id, large.order_id);
    assert_eq!(released_events[0].released_by, "collections");

    // Both orders count once as unbilled: exposure is exactly the limit.
    let settled = collections
        .wait_for_count(
            "SELECT count(*) FROM unbilled_orders WHERE state = 'approved'",
            2,
            WAIT,
        )
        .await;
    assert_eq!(settled, 2, "both approvals reached collections");
    let profile = collections
        .limits()
        .get_credit_profile(collections.as_role(
            GetCreditProfileRequest {
                customer_id: customer.customer_id.clone(),
                history_page: None,
            },
            Role::CreditManager,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(dec(&profile.open_receivables.unwrap().amount), dec("0"));
    assert_eq!(dec(&profile.unbilled_orders.unwrap().amount), dec("100"));
    assert!(!profile.on_hold, "{}", profile.hold_reason);
    assert_eq!(profile.risk_class, "C");
}

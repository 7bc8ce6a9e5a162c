#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The order service and the billing service as processes on one topic
//! namespace: an order placed, approved (by a real tonic CreditService) and
//! shipped in two parts becomes two invoices whose lines are exactly the
//! order's amounts, taxed by billing's rules. This checks the contract
//! between the two services with the events the order service really
//! publishes, not hand-built ones.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tonic::Request;
use tonic::transport::Channel;

use otc_proto::billing::billing_config_service_client::BillingConfigServiceClient;
use otc_proto::billing::invoice_service_client::InvoiceServiceClient;
use otc_proto::billing::{ListInvoicesRequest, SetTaxRuleRequest, TaxRule, TenantSettings};
use otc_proto::order::customer_service_client::CustomerServiceClient;
use otc_proto::order::order_service_client::OrderServiceClient;
use otc_proto::order::pricing_service_client::PricingServiceClient;
use otc_proto::order::*;
use otc_proto::types::{Money, PostalAddress};
use otc_shared::auth::Role;
use otc_testkit::credit::CreditServer;
use otc_testkit::process::ServiceProcess;
use otc_testkit::{TestDatabase, unique_suffix};

const TENANT: &str = "acme";
const WAIT: Duration = Duration::from_secs(60);

fn request<T>(message: T, roles: &[Role]) -> Request<T> {
    otc_testkit::billing::request(message, TENANT, roles)
}

fn eur(amount: &str) -> Money {
    Money {
        amount: amount.into(),
        currency_code: "EUR".into(),
    }
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

async fn channel(process: &ServiceProcess) -> Channel {
    Channel::from_shared(process.grpc_url())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_order_shipped_in_two_parts_is_invoiced_line_for_line() {
    let credit = CreditServer::start().await.unwrap();
    let namespace = format!("t{}.", unique_suffix());
    let order_db = TestDatabase::create("o2i_order").await.unwrap();
    let billing_db = TestDatabase::create("o2i_billing").await.unwrap();
    let documents = std::env::temp_dir().join(format!("otc-o2i-{}", unique_suffix()));
    let order_service = ServiceProcess::start(
        "order",
        &order_db.url,
        &[
            ("OTC_KAFKA__TOPIC_NAMESPACE", &namespace),
            ("OTC_PEERS__COLLECTIONS__URL", &credit.url()),
        ],
    )
    .await
    .unwrap();
    let billing_service = ServiceProcess::start(
        "billing",
        &billing_db.url,
        &[
            ("OTC_KAFKA__TOPIC_NAMESPACE", &namespace),
            (
                "OTC_BILLING__DOCUMENTS__ROOT",
                &documents.display().to_string(),
            ),
        ],
    )
    .await
    .unwrap();
    let order_channel = channel(&order_service).await;
    let billing_channel = channel(&billing_service).await;

    let mut config = BillingConfigServiceClient::new(billing_channel.clone());
    config
        .set_tenant_settings(request(
            TenantSettings {
                functional_currency: "EUR".into(),
                seller_name: "OTC Demo AG".into(),
                ..TenantSettings::default()
            },
            &[Role::TenantAdmin],
        ))
        .await
        .unwrap();
    config
        .set_tax_rule(request(
            SetTaxRuleRequest {
                rule: Some(TaxRule {
                    region: "DE".into(),
                    tax_code: "STANDARD".into(),
                    rate: "0.19".into(),
                    valid_from: "2020-01-01".into(),
                    valid_to: String::new(),
                }),
            },
            &[Role::TenantAdmin],
        ))
        .await
        .unwrap();

    let admin = &[Role::TenantAdmin];
    let customer = CustomerServiceClient::new(order_channel.clone())
        .create_customer(request(
            CreateCustomerRequest {
                details: Some(CustomerDetails {
                    legal_name: "Müller Handels GmbH".into(),
                    external_references: vec![ExternalReference {
                        platform: "shop".into(),
                        external_id: "4711".into(),
                    }],
                    billing_address: Some(PostalAddress {
                        lines: vec!["Hauptstraße 1".into()],
                        city: "Berlin".into(),
                        postal_code: "10115".into(),
                        region: String::new(),
                        country_code: "DE".into(),
                    }),
                    tax_region: "DE".into(),
                    currency_code: "EUR".into(),
                    payment_terms_code: "2/10NET30".into(),
                    segment: "smb".into(),
                    ..CustomerDetails::default()
                }),
            },
            admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut pricing = PricingServiceClient::new(order_channel.clone());
    for (sku, price) in [("SKU-1", "10.00"), ("SKU-2", "3.333")] {
        pricing
            .upsert_product(request(
                Product {
                    sku: sku.into(),
                    description: format!("Product {sku}"),
                    tax_code: "STANDARD".into(),
                    active: true,
                },
                admin,
            ))
            .await
            .unwrap();
        pricing
            .set_list_price(request(
                SetListPriceRequest {
                    sku: sku.into(),
                    unit_price: Some(eur(price)),
                    valid_from: "2026-01-01".into(),
                    valid_to: String::new(),
                },
                admin,
            ))
            .await
            .unwrap();
    }
    let mut orders = OrderServiceClient::new(order_channel.clone());
    let sales = &[Role::SalesAssociate];
    let order = orders
        .create_order(request(
            CreateOrderRequest {
                idempotency_key: "o2i-1".into(),
                customer_ref: "shop:4711".into(),
                currency_code: "EUR".into(),
                lines: vec![
                    OrderLineInput {
                        line_id: "1".into(),
                        sku: "SKU-1".into(),
                        quantity: "3".into(),
                        discount: Some(Discount {
                            kind: Some(discount::Kind::Percentage("10".into())),
                        }),
                        ..OrderLineInput::default()
                    },
                    OrderLineInput {
                        line_id: "2".into(),
                        sku: "SKU-2".into(),
                        quantity: "7".into(),
                        ..OrderLineInput::default()
                    },
                ],
                shipping_address: Some(PostalAddress {
                    lines: vec!["Hauptstraße 1".into()],
                    city: "Berlin".into(),
                    postal_code: "10115".into(),
                    region: String::new(),
                    country_code: "DE".into(),
                }),
                ..CreateOrderRequest::default()
            },
            sales,
        ))
        .await
        .unwrap()
        .into_inner();
    let deadline = Instant::now() + WAIT;
    loop {
        let current = orders
            .get_order(request(
                GetOrderRequest {
                    order_id: order.order_id.clone(),
                },
                sales,
            ))
            .await
            .unwrap()
            .into_inner();
        if current.status.eq_ignore_ascii_case("approved") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "order not approved: {}",
            current.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (external, lines) in [
        ("shp-1", vec![("1", "1")]),
        ("shp-2", vec![("1", "2"), ("2", "7")]),
    ] {
        orders
            .record_shipment(request(
                RecordShipmentRequest {
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
                },
                sales,
            ))
            .await
            .unwrap();
    }

    let mut invoices = InvoiceServiceClient::new(billing_channel.clone());
    let deadline = Instant::now() + WAIT;
    let listed = loop {
        let listed = invoices
            .list_invoices(request(
                ListInvoicesRequest {
                    customer_id: customer.customer_id.clone(),
                    ..ListInvoicesRequest::default()
                },
                &[Role::ArClerk],
            ))
            .await
            .unwrap()
            .into_inner()
            .invoices;
        if listed.len() >= 2 {
            break listed;
        }
        assert!(Instant::now() < deadline, "{} invoices", listed.len());
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(listed.len(), 2, "one invoice per shipment");
    // The order: 3 x 10.00 - 10% = 27.00, and 7 x 3.333 = 23.331 -> 23.33.
    let ordered: Decimal = order
        .lines
        .iter()
        .map(|line| dec(&line.line_amount.as_ref().unwrap().amount))
        .sum();
    let invoiced_net: Decimal = listed
        .iter()
        .map(|invoice| dec(&invoice.net_amount.as_ref().unwrap().amount))
        .sum();
    assert_eq!(
        invoiced_net, ordered,
        "net invoiced = the order's amount, to the cent"
    );
    for invoice in &listed {
        assert!(
            invoice.discrepancies.is_empty(),
            "{:?}",
            invoice.discrepancies
        );
        assert_eq!(invoice.customer_name, "Müller Handels GmbH");
        assert_eq!(invoice.payment_terms_code, "2/10NET30");
        for line in &invoice.lines {
            let net = dec(&line.net.as_ref().unwrap().amount);
            let tax = dec(&line.tax.as_ref().unwrap().amount);
            let expected = (net * dec("0.19"))
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven);
            assert_eq!(tax, expected, "19% of {net}");
            let ordered_line = order
                .lines
                .iter()
                .find(|ordered| ordered.line_id == line.order_line_id)
                .unwrap();
            assert_eq!(
                dec(&line.unit_price.as_ref().unwrap().amount),
                dec(&ordered_line.unit_price.as_ref().unwrap().amount)
            );
        }
    }
    // The line shipped in two parts adds up to its line amount exactly.
    let first_line: Decimal = listed
        .iter()
        .flat_map(|invoice| invoice.lines.iter())
        .filter(|line| line.order_line_id == "1")
        .map(|line| dec(&line.net.as_ref().unwrap().amount))
        .sum();
    assert_eq!(first_line, dec("27.00"));
}

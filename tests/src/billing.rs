//! The billing service as a process, fed with the order service's events
//! (protobuf with CloudEvents headers, as the order service publishes them)
//! on per-test topics, and driven over its gRPC API.

use std::time::Duration;

use prost::Message;
use tonic::Request;
use tonic::transport::Channel;

use crate::kafka::ReadRecord;
pub use crate::suite::money;
use crate::suite::{ServiceSuite, new_namespace};
use crate::{TestDatabase, unique_suffix};
use otc_proto::billing::billing_config_service_client::BillingConfigServiceClient;
use otc_proto::billing::invoice_service_client::InvoiceServiceClient;
use otc_proto::events as proto;
use otc_proto::types::PostalAddress;
use otc_shared::auth::Role;
use otc_shared::kafka::topics;

pub struct BillingSuite {
    pub suite: ServiceSuite,
    pub documents_root: std::path::PathBuf,
}

impl std::ops::Deref for BillingSuite {
    type Target = ServiceSuite;

    fn deref(&self) -> &ServiceSuite {
        &self.suite
    }
}

impl std::ops::DerefMut for BillingSuite {
    fn deref_mut(&mut self) -> &mut ServiceSuite {
        &mut self.suite
    }
}

pub fn request<T>(message: T, tenant: &str, roles: &[Role]) -> Request<T> {
    let token = crate::token(tenant, roles).unwrap();
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// An order line as the order service publishes it.
pub struct Line<'a> {
    pub line_id: &'a str,
    pub sku: &'a str,
    pub quantity: &'a str,
    pub unit_price: &'a str,
    pub line_amount: &'a str,
    pub tax_code: &'a str,
}

impl BillingSuite {
    /// Starts billing on a fresh database and topic namespace; `extra` adds
    /// `OTC_*` variables.
    pub async fn start(prefix: &str, extra: &[(&str, &str)]) -> Self {
        let database = TestDatabase::create(prefix).await.unwrap();
        let documents_root =
            std::env::temp_dir().join(format!("otc-billing-docs-{}", unique_suffix()));
        let root = documents_root.display().to_string();
        // The test SMTP sink, wherever infra.sh put it (OTC_SMTP_PORT).
        let smtp_port = crate::mail::smtp_port().to_string();
        let mut environment = vec![
            ("OTC_BILLING__DOCUMENTS__KIND", "local"),
            ("OTC_BILLING__DOCUMENTS__ROOT", root.as_str()),
            ("OTC_BILLING__DELIVERY__SMTP__PORT", smtp_port.as_str()),
        ];
        environment.extend_from_slice(extra);
        let suite = ServiceSuite::start("billing", database, &new_namespace(), &environment).await;
        Self {
            suite,
            documents_root,
        }
    }

    pub fn invoices(&self) -> InvoiceServiceClient<Channel> {
        InvoiceServiceClient::new(self.channel.clone())
    }

    pub fn config(&self) -> BillingConfigServiceClient<Channel> {
        BillingConfigServiceClient::new(self.channel.clone())
    }

    /// Publishes an order-service event; `event_id` lets a test redeliver
    /// the same event (same id) or republish it (new id).
    pub async fn publish<M: Message>(
        &self,
        name: &str,
        key: &str,
        message: &M,
        event_id: Option<&str>,
    ) -> String {
        self.publish_for(&self.tenant, name, key, message, event_id)
            .await
    }

    /// [`Self::publish`] for another tenant than the suite's.
    pub async fn publish_for<M: Message>(
        &self,
        tenant: &str,
        name: &str,
        key: &str,
        message: &M,
        event_id: Option<&str>,
    ) -> String {
        self.publish_as(
            tenant,
            topics::ORDER_EVENTS,
            &format!("otc.order.v1.{name}"),
            "/otc/order",
            key,
            message,
            event_id,
        )
        .await
    }

    pub async fn customer(&self, customer_id: &str, currency: &str, region: &str, terms: &str) {
        self.customer_for(&self.tenant, customer_id, currency, region, terms)
            .await;
    }

    pub async fn customer_for(
        &self,
        tenant: &str,
        customer_id: &str,
        currency: &str,
        region: &str,
        terms: &str,
    ) {
        let customer = proto::CustomerUpserted {
            customer_id: customer_id.into(),
            legal_name: format!("Kunde {} GmbH", &customer_id[..8]),
            billing_address: Some(PostalAddress {
                lines: vec!["Hauptstraße 1".into()],
                city: "Berlin".into(),
                postal_code: "10115".into(),
                region: String::new(),
                country_code: "DE".into(),
            }),
            tax_region: region.into(),
            currency_code: currency.into(),
            payment_terms_code: terms.into(),
            segment: "smb".into(),
            status: "ACTIVE".into(),
            version: 1,
            ..Default::default()
        };
        self.publish_for(tenant, "CustomerUpserted", customer_id, &customer, None)
            .await;
    }

    pub async fn order_placed(
        &self,
        order_id: &str,
        customer_id: &str,
        currency: &str,
        lines: &[Line<'_>],
    ) {
        self.order_placed_for(&self.tenant, order_id, customer_id, currency, lines)
            .await;
    }

    pub async fn order_placed_for(
        &self,
        tenant: &str,
        order_id: &str,
        customer_id: &str,
        currency: &str,
        lines: &[Line<'_>],
    ) {
        let total: rust_decimal::Decimal = lines
            .iter()
            .map(|line| line.line_amount.parse::<rust_decimal::Decimal>().unwrap())
            .sum();
        let placed = proto::OrderPlaced {
            order_id: order_id.into(),
            customer_id: customer_id.into(),
            source: "shop".into(),
            external_order_id: format!("ext-{}", &order_id[..8]),
            lines: lines
                .iter()
                .map(|line| proto::OrderLine {
                    line_id: line.line_id.into(),
                    sku: line.sku.into(),
                    description: format!("Product {}", line.sku),
                    quantity: line.quantity.into(),
                    unit_price: Some(money(line.unit_price, currency)),
                    line_amount: Some(money(line.line_amount, currency)),
                    tax_code: line.tax_code.into(),
                })
                .collect(),
            total: Some(money(&total.to_string(), currency)),
            placed_at: Some(otc_shared::time::to_proto(otc_shared::time::now())),
            order_date: "2026-11-01".into(),
        };
        self.publish_for(tenant, "OrderPlaced", customer_id, &placed, None)
            .await;
    }

    /// A shipment of `(line, quantity, amount)` with the order's prices.
    pub fn shipment(
        shipment_id: &str,
        order_id: &str,
        customer_id: &str,
        currency: &str,
        shipped: &[(&Line<'_>, &str, &str)],
        shipped_at: chrono::DateTime<chrono::Utc>,
    ) -> proto::ShipmentRecorded {
        proto::ShipmentRecorded {
            shipment_id: shipment_id.into(),
            order_id: order_id.into(),
            customer_id: customer_id.into(),
            lines: shipped
                .iter()
                .map(|(line, quantity, amount)| proto::ShippedLine {
                    line_id: line.line_id.into(),
                    sku: line.sku.into(),
                    quantity: (*quantity).into(),
                    unit_price: Some(money(line.unit_price, currency)),
                    amount: Some(money(amount, currency)),
                    tax_code: line.tax_code.into(),
                    description: format!("Product {}", line.sku),
                })
                .collect(),
            shipped_at: Some(otc_shared::time::to_proto(shipped_at)),
            external_shipment_id: format!("shp-{}", &shipment_id[..8]),
            order_status: "PARTIALLY_FULFILLED".into(),
        }
    }

    /// Reads the billing topic until `expected` events of `event_type`.
    pub async fn billing_events(
        &self,
        event_type: &str,
        expected: usize,
        timeout: Duration,
    ) -> Vec<ReadRecord> {
        self.events(topics::BILLING_EVENTS, event_type, expected, timeout)
            .await
    }
}

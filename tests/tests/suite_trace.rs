#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One order's way through the whole suite is one trace. The five services
//! export their spans over OTLP to a collector this test runs (a real
//! OTLP/gRPC TraceService server). The test takes a business trace id and
//! acts as its client: it places the order, records the shipment and
//! imports the bank statement that pays the invoice, each call carrying
//! the trace's `traceparent`. The spans received must show that trace in
//! every service: order (and collections' credit check), billing (the
//! invoice), payments (open item, cash application), collections (AR
//! ledger) and reporting (the read models and their topics).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use rust_decimal::Decimal;
use tonic::{Request, Response, Status};

use otc_proto::billing::ListInvoicesRequest;
use otc_proto::billing::invoice_service_client::InvoiceServiceClient;
use otc_proto::order::customer_service_client::CustomerServiceClient;
use otc_proto::order::order_service_client::OrderServiceClient;
use otc_proto::order::{
    CreateOrderRequest, GetOrderRequest, ListCustomersRequest, OrderLineInput,
    RecordShipmentRequest, ShipmentLineInput,
};
use otc_proto::payments::ImportStatementRequest;
use otc_proto::payments::payment_service_client::PaymentServiceClient;
use otc_proto::types::PostalAddress;
use otc_shared::auth::Role;
use otc_testkit::statements::{Line, camt053};
use otc_testkit::unique_suffix;
use otc_testkit::whole::WholeSuite;

/// Service name -> the trace ids of the spans it exported.
type Seen = Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>;

#[derive(Clone, Default)]
struct Collector {
    seen: Seen,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut seen = self.seen.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .and_then(|attribute| attribute.value.as_ref())
                .and_then(|value| match &value.value {
                    Some(AnyValue::StringValue(name)) => Some(name.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            let traces = seen.entry(service).or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    traces.insert(hex(&span.trace_id));
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A request of the tenant, continuing the business trace.
fn traced<T>(message: T, tenant: &str, roles: &[Role], traceparent: &str) -> Request<T> {
    let mut request = otc_testkit::billing::request(message, tenant, roles);
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    request
}

#[tokio::test]
async fn one_order_is_one_trace_through_every_service() {
    let collector = Collector::default();
    let seen = Arc::clone(&collector.seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let suite = WholeSuite::start_with(&[("OTC_TELEMETRY__OTLP_ENDPOINT", &endpoint)]).await;

    // The simulator sets the tenant up (and runs a small business beside).
    let tenant = format!("trc-{}", &unique_suffix()[..8]);
    let output = suite.simulator(&tenant, 10).output().await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let trace_id = uuid::Uuid::now_v7().simple().to_string();
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let everything = [
        Role::SalesAssociate,
        Role::ArClerk,
        Role::CashApplicationSpecialist,
        Role::TenantAdmin,
    ];
    let channel = |url: String| {
        tonic::transport::Channel::from_shared(url)
            .unwrap()
            .connect_lazy()
    };
    let customer = CustomerServiceClient::new(channel(suite.order.grpc_url()))
        .list_customers(traced(
            ListCustomersRequest {
                currency_code: "EUR".into(),
                ..Default::default()
            },
            &tenant,
            &everything,
            &traceparent,
        ))
        .await
        .unwrap()
        .into_inner()
        .customers
        .into_iter()
        .find(|customer| {
            customer
                .details
                .as_ref()
                .is_some_and(|details| details.tax_region == "DE")
        })
        .unwrap();
    let details = customer.details.clone().unwrap();

    let mut orders = OrderServiceClient::new(channel(suite.order.grpc_url()));
    let order = orders
        .create_order(traced(
            CreateOrderRequest {
                idempotency_key: format!("traced-{trace_id}"),
                customer_ref: customer.customer_id.clone(),
                currency_code: "EUR".into(),
                lines: vec![OrderLineInput {
                    line_id: "L1".into(),
                    sku: "VALVE-DN50".into(),
                    quantity: "2".into(),
                    ..Default::default()
                }],
                shipping_address: Some(PostalAddress {
                    lines: vec!["Hafenstraße 1".into()],
                    city: "Hamburg".into(),
                    postal_code: "20457".into(),
                    region: String::new(),
                    country_code: "DE".into(),
                }),
                ..Default::default()
            },
            &tenant,
            &everything,
            &traceparent,
        ))
        .await
        .unwrap()
        .into_inner();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let current = orders
            .get_order(traced(
                GetOrderRequest {
                    order_id: order.order_id.clone(),
                },
                &tenant,
                &everything,
                &traceparent,
            ))
            .await
            .unwrap()
            .into_inner();
        if current.status == "approved" {
            break;
        }
        assert!(Instant::now() < deadline, "order {}", current.status);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    orders
        .record_shipment(traced(
            RecordShipmentRequest {
                order_id: order.order_id.clone(),
                external_shipment_id: format!("traced-{trace_id}"),
                lines: vec![ShipmentLineInput {
                    line_id: "L1".into(),
                    sku: String::new(),
                    quantity: "2".into(),
                }],
                shipped_at: None,
            },
            &tenant,
            &everything,
            &traceparent,
        ))
        .await
        .unwrap();
    let mut billing = InvoiceServiceClient::new(channel(suite.billing.grpc_url()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let invoice = loop {
        let found = billing
            .list_invoices(traced(
                ListInvoicesRequest {
                    customer_id: customer.customer_id.clone(),
                    ..Default::default()
                },
                &tenant,
                &everything,
                &traceparent,
            ))
            .await
            .unwrap()
            .into_inner()
            .invoices
            .into_iter()
            .find(|invoice| invoice.order_ids.contains(&order.order_id));
        if let Some(invoice) = found {
            break invoice;
        }
        assert!(Instant::now() < deadline, "no invoice for the order");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let total: Decimal = invoice
        .total_amount
        .as_ref()
        .unwrap()
        .amount
        .parse()
        .unwrap();
    // Payments must know the invoice before the cash can be applied to it.
    let item = format!(
        "SELECT count(*) FROM open_items WHERE id = '{}'",
        invoice.invoice_id
    );
    assert_eq!(
        suite
            .payments_db
            .wait_for_count(&item, 1, Duration::from_secs(60))
            .await,
        1
    );
    let statement = camt053(
        &format!("TRACED-{}", &trace_id[..12]),
        "DE89370400440532013000",
        Decimal::ZERO,
        &[Line::credit(
            "T1",
            &total.to_string(),
            &details.legal_name,
            &details.bank_accounts[0],
            &format!("RE {}", invoice.number),
        )],
    );
    let imported = PaymentServiceClient::new(channel(suite.payments.grpc_url()))
        .import_statement(traced(
            ImportStatementRequest {
                format: String::new(),
                file_name: "traced.xml".into(),
                content: statement.into_bytes(),
            },
            &tenant,
            &everything,
            &traceparent,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.statements[0].auto_applied, 1, "{imported:?}");

    // Every service exports a span of the trace (batches leave every 5 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    let services = ["order", "billing", "payments", "collections", "reporting"];
    loop {
        let missing: Vec<&str> = {
            let seen = seen.lock().unwrap();
            services
                .iter()
                .filter(|service| {
                    !seen
                        .iter()
                        .any(|(name, traces)| name.contains(*service) && traces.contains(&trace_id))
                })
                .copied()
                .collect()
        };
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no span of trace {trace_id} from {missing:?}; services seen: {:?}",
            seen.lock().unwrap().keys().collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

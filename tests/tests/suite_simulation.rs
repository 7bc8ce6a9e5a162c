#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The main job end to end: the five services as processes on one topic
//! namespace, each on its own database, and `otc-simulator` driving a small
//! business through them (orders as CloudEvents, shipments, invoices, a
//! camt.053 statement, card webhooks, disputes, promises, dunning on
//! simulated days). The run must finish, and its summary must show the
//! books right: cash received = applied + unapplied + refunded in every
//! currency, and collections' AR ledger equal to payments' to the cent.
//! Then the invariants are checked again straight from the databases, and
//! another tenant's token is shown to see none of it through any service.

use std::time::Duration;

use tonic::Code;

use otc_proto::billing::invoice_service_client::InvoiceServiceClient;
use otc_proto::billing::{GetInvoiceRequest, IssueCreditNoteRequest, ListInvoicesRequest};
use otc_proto::collections::credit_limit_service_client::CreditLimitServiceClient;
use otc_proto::collections::ledger_service_client::LedgerServiceClient;
use otc_proto::collections::{ListOpenItemsRequest, SetCreditLimitRequest};
use otc_proto::order::customer_service_client::CustomerServiceClient;
use otc_proto::order::order_service_client::OrderServiceClient;
use otc_proto::order::{GetCustomerRequest, ListCustomersRequest, ListOrdersRequest};
use otc_proto::payments::payment_service_client::PaymentServiceClient;
use otc_proto::payments::{ImportStatementRequest, ListReceiptsRequest};
use otc_proto::reporting::reporting_service_client::ReportingServiceClient;
use otc_proto::reporting::{GetAgingRequest, GetPaymentHistoryRequest};
use otc_shared::auth::Role;

use otc_testkit::process::ServiceProcess;
use otc_testkit::unique_suffix;
use otc_testkit::whole::WholeSuite;

#[tokio::test]
async fn a_simulated_business_runs_through_all_five_services_and_keeps_the_books() {
    let suite = WholeSuite::start().await;
    let tenant = format!("sim-{}", &unique_suffix()[..8]);
    let output = tokio::time::timeout(
        Duration::from_secs(600),
        suite.simulator(&tenant, 24).output(),
    )
    .await
    .expect("the simulation took more than 10 minutes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the simulation failed:\n{stdout}\n{stderr}"
    );
    for expected in [
        "[7/7]",
        &format!("Summary for tenant {tenant}"),
        "cash received = applied + unapplied + refunded: holds in every currency",
        "collections and payments agree for all",
        "AR aging as of",
        "auto-match rate EUR",
    ] {
        assert!(stdout.contains(expected), "`{expected}` missing:\n{stdout}");
    }
    assert!(
        !stdout.contains("dunning on simulated days skipped"),
        "{stdout}"
    );
    suite.assert_books().await;
    isolation_and_roles(
        &tenant,
        [
            &suite.order,
            &suite.billing,
            &suite.payments,
            &suite.collections,
            &suite.reporting,
        ],
    )
    .await;
}

/// Another tenant's token, with every role, sees nothing of the simulated
/// tenant through any service: lists are empty, ids are NOT_FOUND. And a
/// sales associate of the tenant itself is refused what the role matrix
/// does not give it, in every service.
async fn isolation_and_roles(tenant: &str, services: [&ServiceProcess; 5]) {
    let [order, billing, payments, collections, reporting] = services;
    let channel = |process: &ServiceProcess| {
        tonic::transport::Channel::from_shared(process.grpc_url())
            .unwrap()
            .connect_lazy()
    };
    let everything = [
        Role::TenantAdmin,
        Role::Executive,
        Role::ArClerk,
        Role::Collector,
        Role::CreditManager,
        Role::CashApplicationSpecialist,
        Role::SalesAssociate,
        Role::CustomerServiceRepresentative,
    ];
    // Requests as the tenant itself, as another tenant, as a sales associate.
    macro_rules! own {
        ($message:expr) => {
            otc_testkit::billing::request($message, tenant, &everything)
        };
    }
    macro_rules! theirs {
        ($message:expr) => {
            otc_testkit::billing::request($message, "intruder", &everything)
        };
    }
    macro_rules! sales {
        ($message:expr) => {
            otc_testkit::billing::request($message, tenant, &[Role::SalesAssociate])
        };
    }

    let mut customers = CustomerServiceClient::new(channel(order));
    let listed = customers
        .list_customers(own!(ListCustomersRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .customers;
    let customer_id = listed[0].customer_id.clone();
    let mut invoices = InvoiceServiceClient::new(channel(billing));
    let invoice_id = invoices
        .list_invoices(own!(ListInvoicesRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .invoices[0]
        .invoice_id
        .clone();

    // Lists of another tenant are empty.
    assert!(
        customers
            .list_customers(theirs!(ListCustomersRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .customers
            .is_empty()
    );
    assert!(
        OrderServiceClient::new(channel(order))
            .list_orders(theirs!(ListOrdersRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .orders
            .is_empty()
    );
    assert!(
        invoices
            .list_invoices(theirs!(ListInvoicesRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .invoices
            .is_empty()
    );
    let mut cash = PaymentServiceClient::new(channel(payments));
    assert!(
        cash.list_receipts(theirs!(ListReceiptsRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .receipts
            .is_empty()
    );
    let mut ledger = LedgerServiceClient::new(channel(collections));
    assert!(
        ledger
            .list_open_items(theirs!(ListOpenItemsRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .items
            .is_empty()
    );
    let mut figures = ReportingServiceClient::new(channel(reporting));
    assert!(
        figures
            .get_aging(theirs!(GetAgingRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .customers
            .is_empty()
    );
    // The tenant's ids are unknown to another tenant.
    let codes = [
        customers
            .get_customer(theirs!(GetCustomerRequest {
                customer_id: customer_id.clone(),
            }))
            .await
            .map(|_| ()),
        invoices
            .get_invoice(theirs!(GetInvoiceRequest {
                invoice_id: invoice_id.clone(),
                number: String::new(),
            }))
            .await
            .map(|_| ()),
        figures
            .get_payment_history(theirs!(GetPaymentHistoryRequest {
                customer_id: customer_id.clone(),
                ..Default::default()
            }))
            .await
            .map(|_| ()),
    ];
    for (call, result) in ["GetCustomer", "GetInvoice", "GetPaymentHistory"]
        .iter()
        .zip(codes)
    {
        assert_eq!(
            result.unwrap_err().code(),
            Code::NotFound,
            "{call} of another tenant"
        );
    }

    // A sales associate of the tenant: orders yes; credit notes, statement
    // imports, credit limits and reports no.
    assert!(
        OrderServiceClient::new(channel(order))
            .list_orders(sales!(ListOrdersRequest::default()))
            .await
            .is_ok()
    );
    let refusals = [
        invoices
            .issue_credit_note(sales!(IssueCreditNoteRequest {
                idempotency_key: "sales-try".into(),
                invoice_id: invoice_id.clone(),
                reason: "try".into(),
                ..Default::default()
            }))
            .await
            .map(|_| ()),
        cash.import_statement(sales!(ImportStatementRequest::default()))
            .await
            .map(|_| ()),
        CreditLimitServiceClient::new(channel(collections))
            .set_credit_limit(sales!(SetCreditLimitRequest {
                customer_id: customer_id.clone(),
                ..Default::default()
            }))
            .await
            .map(|_| ()),
        figures
            .get_aging(sales!(GetAgingRequest::default()))
            .await
            .map(|_| ()),
    ];
    for (call, result) in [
        "IssueCreditNote",
        "ImportStatement",
        "SetCreditLimit",
        "GetAging",
    ]
    .iter()
    .zip(refusals)
    {
        assert_eq!(
            result.unwrap_err().code(),
            Code::PermissionDenied,
            "{call} as a sales associate"
        );
    }
}

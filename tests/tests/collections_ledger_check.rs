#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The cross-service ledger check: payments and collections as processes
//! on one topic namespace and one tenant, fed the same billing events, cash
//! applied by the real payments service; `otcctl ledger check` must find them
//! consistent to the cent (a collections write-off included), then name the
//! customer and the amount of a movement only collections saw.

use std::process::Output;
use std::time::Duration;

use uuid::Uuid;

use otc_proto::collections::*;
use otc_proto::events as proto;
use otc_proto::payments::{Channel, RecordPaymentRequest};
use otc_shared::auth::Role;
use otc_shared::kafka::topics;
use otc_testkit::TestDatabase;
use otc_testkit::collections::{CollectionsSuite, money};
use otc_testkit::payments::{IssuedInvoice, PaymentsSuite};
use otc_testkit::suite::new_namespace;

const WAIT: Duration = Duration::from_secs(60);

fn id() -> String {
    Uuid::now_v7().to_string()
}

struct Services {
    payments: PaymentsSuite,
    collections: CollectionsSuite,
}

impl Services {
    async fn start() -> Self {
        let namespace = new_namespace();
        let payments = PaymentsSuite::start_on(
            TestDatabase::create("check_pay").await.unwrap(),
            &namespace,
            &[],
        )
        .await;
        let mut collections = CollectionsSuite::start_on(
            TestDatabase::create("check_coll").await.unwrap(),
            &namespace,
            &[],
        )
        .await;
        collections.suite.tenant = payments.tenant.clone();
        Self {
            payments,
            collections,
        }
    }

    /// Runs `otcctl ledger check` against both services with a credit
    /// manager's token and `arguments`.
    fn check(&self, arguments: &[&str]) -> Output {
        self.check_against(&self.payments.service.grpc_url(), arguments)
    }

    fn check_against(&self, payments_url: &str, arguments: &[&str]) -> Output {
        let token = otc_testkit::token(&self.payments.tenant, &[Role::CreditManager]).unwrap();
        let command = otc_testkit::process::tool_path("otcctl").unwrap();
        std::process::Command::new(command)
            .args(["ledger", "check"])
            .arg("--collections")
            .arg(self.collections.service.grpc_url())
            .arg("--payments")
            .arg(payments_url)
            .env("OTC_TOKEN", token)
            .args(arguments)
            .output()
            .unwrap()
    }

    async fn wait_for(&self, collections_query: &str, payments_query: &str, expected: i64) {
        let seen = self
            .collections
            .wait_for_count(collections_query, expected, WAIT)
            .await;
        assert_eq!(seen, expected, "collections: {collections_query}");
        let seen = self
            .payments
            .wait_for_count(payments_query, expected, WAIT)
            .await;
        assert_eq!(seen, expected, "payments: {payments_query}");
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_ledger_check_finds_both_services_agree_then_names_a_difference_to_the_cent() {
    let services = Services::start().await;
    let payments = &services.payments;
    let collections = &services.collections;
    let (brandt, keller) = (id(), id());
    payments
        .customer(
            &brandt,
            "Brandt Maschinenbau GmbH",
            &["DE89370400440532013000"],
        )
        .await;
    payments
        .customer(&keller, "Keller Logistik AG", &["DE02120300000000202051"])
        .await;
    let invoices = [
        (id(), "INV-2026-000301", brandt.clone(), "1190.00"),
        (id(), "INV-2026-000302", brandt.clone(), "250.00"),
        (id(), "INV-2026-000303", keller.clone(), "80.00"),
    ];
    for (invoice_id, number, customer, total) in &invoices {
        payments
            .invoice(&IssuedInvoice {
                invoice_id,
                number,
                customer_id: customer,
                total,
                currency: "EUR",
                issue_date: "2026-10-01",
                due_date: "2026-10-31",
                discount_date: "",
                discount_amount: "0",
            })
            .await;
    }
    services
        .wait_for(
            "SELECT count(*) FROM open_items",
            "SELECT count(*) FROM open_items",
            3,
        )
        .await;

    // Cash applied by the real payments service reaches collections.
    let receipt = payments
        .payments()
        .record_payment(payments.as_role(
            RecordPaymentRequest {
                idempotency_key: id(),
                channel: Channel::Wire.into(),
                amount: Some(money("1190.00", "EUR")),
                value_date: "2026-11-02".into(),
                payer_name: "BRANDT MASCHINENBAU".into(),
                payer_account: "DE89370400440532013000".into(),
                remittance_text: "Rechnung INV 2026 000301".into(),
                ..RecordPaymentRequest::default()
            },
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(receipt.status, "APPLIED", "{receipt:#?}");
    let applied = collections
        .wait_for_count(
            "SELECT count(*) FROM ledger_movements WHERE kind = 'cash_applied' AND posted_at IS NOT NULL",
            1,
            WAIT,
        )
        .await;
    assert_eq!(applied, 1);

    // A write-off only collections knows of: reported, not a difference.
    let written_off = collections
        .write_offs()
        .request_write_off(collections.as_role(
            RequestWriteOffRequest {
                idempotency_key: "check-wo".into(),
                item_id: invoices[1].0.clone(),
                amount: Some(money("5.00", "EUR")),
                reason: "rounding agreed with the customer".into(),
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(written_off.state, "APPLIED");

    // Collections' own view: per customer and kind, invariant holding.
    let balances = collections
        .ledger()
        .list_customer_balances(collections.as_role(
            ListCustomerBalancesRequest {
                customer_id: brandt.clone(),
                page: None,
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(balances.balances.len(), 1);
    let row = &balances.balances[0];
    assert_eq!(row.balance.as_ref().unwrap().amount, "245.00");
    assert_eq!(row.invoices.as_ref().unwrap().amount, "1440.00");
    assert_eq!(row.applied_cash.as_ref().unwrap().amount, "1190.00");
    assert_eq!(row.write_offs.as_ref().unwrap().amount, "5.00");
    assert!(row.violations.is_empty(), "{:?}", row.violations);
    let all = collections
        .ledger()
        .list_customer_balances(collections.as_role(
            ListCustomerBalancesRequest {
                customer_id: String::new(),
                page: Some(otc_proto::types::PageRequest {
                    page_size: 1,
                    page_token: String::new(),
                }),
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.balances.len(), 1, "one customer per page");
    assert!(!all.page.unwrap().next_page_token.is_empty());
    let refused = collections
        .ledger()
        .list_customer_balances(
            collections.as_role(ListCustomerBalancesRequest::default(), Role::SalesAssociate),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);

    let agreed = services.check(&[]);
    let report = stdout(&agreed);
    assert_eq!(agreed.status.code(), Some(0), "{report}\n{agreed:?}");
    assert!(report.contains("consistent to the cent"), "{report}");
    assert!(
        report.contains("2 customers, 2 customer balances compared"),
        "{report}"
    );
    assert!(
        report.contains("Write-offs (collections only, not compared): EUR 5.00"),
        "{report}"
    );

    // A cash application only collections sees (published as payments
    // would, but payments never made it): 12.34 EUR on Keller's invoice.
    let phantom = proto::PaymentApplied {
        application_id: id(),
        receipt_id: id(),
        customer_id: keller.clone(),
        invoice_id: invoices[2].0.clone(),
        amount: Some(money("12.34", "EUR")),
        discount_taken: Some(money("0", "EUR")),
        deduction: Some(money("0", "EUR")),
        applied_at: Some(otc_shared::time::to_proto(otc_shared::time::now())),
        method: "manual".into(),
        ..Default::default()
    };
    collections
        .publish(
            topics::PAYMENT_EVENTS,
            "otc.payments.v1.PaymentApplied",
            &keller,
            &phantom,
            None,
        )
        .await;
    let applied = collections
        .wait_for_count(
            "SELECT count(*) FROM ledger_movements WHERE kind = 'cash_applied' AND posted_at IS NOT NULL",
            2,
            WAIT,
        )
        .await;
    assert_eq!(applied, 2);

    let differs = services.check(&[]);
    let report = stdout(&differs);
    assert_eq!(differs.status.code(), Some(1), "{report}\n{differs:?}");
    let expected = format!(
        "DIFFERENCE customer {keller} EUR: collections 67.66 (before write-offs of 0.00), payments 80.00, difference EUR -12.34"
    );
    assert!(
        report.contains(&expected),
        "{expected:?} missing from {report}"
    );
    assert!(
        !report.contains(&format!("DIFFERENCE customer {brandt}")),
        "{report}"
    );
    assert!(
        report.contains("Result: 1 differences, 0 ledger invariant violations."),
        "{report}"
    );

    // One customer only; and waiting does not make a real difference go away.
    let brandt_only = services.check(&["--customer", &brandt]);
    assert_eq!(
        brandt_only.status.code(),
        Some(0),
        "{}",
        stdout(&brandt_only)
    );
    let settled = services.check(&["--customer", &keller, "--settle-seconds", "2"]);
    let report = stdout(&settled);
    assert_eq!(settled.status.code(), Some(1), "{report}");
    assert!(
        report.contains("Re-read the differing customers"),
        "{report}"
    );
    assert!(report.contains("difference EUR -12.34"), "{report}");

    // The check cannot be made: exit code 2, the reason on stderr.
    let unreachable = services.check_against("http://127.0.0.1:1", &[]);
    assert_eq!(unreachable.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("cannot reach payments"));
}

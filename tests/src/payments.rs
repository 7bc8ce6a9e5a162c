//! The payments service as a process, fed with the order and billing
//! services' events (protobuf with CloudEvents headers, as they publish
//! them) on per-test topics, and driven over gRPC and its webhook port.

use std::time::Duration;

use prost::Message;
use tonic::transport::Channel;

use crate::TestDatabase;
use crate::kafka::ReadRecord;
pub use crate::suite::money;
use crate::suite::{ServiceSuite, new_namespace};
use otc_proto::events as proto;
use otc_proto::payments::direct_debit_service_client::DirectDebitServiceClient;
use otc_proto::payments::payment_service_client::PaymentServiceClient;
use otc_shared::kafka::topics;

pub struct PaymentsSuite {
    pub suite: ServiceSuite,
}

impl std::ops::Deref for PaymentsSuite {
    type Target = ServiceSuite;

    fn deref(&self) -> &ServiceSuite {
        &self.suite
    }
}

impl std::ops::DerefMut for PaymentsSuite {
    fn deref_mut(&mut self) -> &mut ServiceSuite {
        &mut self.suite
    }
}

/// An invoice as billing publishes it.
pub struct IssuedInvoice<'a> {
    pub invoice_id: &'a str,
    pub number: &'a str,
    pub customer_id: &'a str,
    pub total: &'a str,
    pub currency: &'a str,
    pub issue_date: &'a str,
    pub due_date: &'a str,
    pub discount_date: &'a str,
    pub discount_amount: &'a str,
}

impl PaymentsSuite {
    pub async fn start(prefix: &str, extra: &[(&str, &str)]) -> Self {
        let database = TestDatabase::create(prefix).await.unwrap();
        Self::start_on(database, &new_namespace(), extra).await
    }

    /// Starts payments on `database` and the topics of `namespace` (beside
    /// other services of the same namespace).
    pub async fn start_on(database: TestDatabase, namespace: &str, extra: &[(&str, &str)]) -> Self {
        Self {
            suite: ServiceSuite::start("payments", database, namespace, extra).await,
        }
    }

    pub fn payments(&self) -> PaymentServiceClient<Channel> {
        PaymentServiceClient::new(self.channel.clone())
    }

    pub fn direct_debit(&self) -> DirectDebitServiceClient<Channel> {
        DirectDebitServiceClient::new(self.channel.clone())
    }

    pub fn webhook_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.service.http_port)
    }

    async fn publish<M: Message>(
        &self,
        topic: &str,
        event_type: &str,
        source: &str,
        key: &str,
        message: &M,
    ) {
        self.publish_as(&self.tenant, topic, event_type, source, key, message, None)
            .await;
    }

    /// A customer of the order service's master data.
    pub async fn customer(&self, customer_id: &str, legal_name: &str, accounts: &[&str]) {
        let customer = proto::CustomerUpserted {
            customer_id: customer_id.into(),
            legal_name: legal_name.into(),
            currency_code: "EUR".into(),
            payment_terms_code: "NET30".into(),
            status: "ACTIVE".into(),
            bank_accounts: accounts
                .iter()
                .map(|account| (*account).to_owned())
                .collect(),
            version: 1,
            ..Default::default()
        };
        self.publish(
            topics::ORDER_EVENTS,
            "otc.order.v1.CustomerUpserted",
            "/otc/order",
            customer_id,
            &customer,
        )
        .await;
    }

    pub async fn invoice(&self, invoice: &IssuedInvoice<'_>) {
        let issued = proto::InvoiceIssued {
            invoice_id: invoice.invoice_id.into(),
            invoice_number: invoice.number.into(),
            customer_id: invoice.customer_id.into(),
            total_amount: Some(money(invoice.total, invoice.currency)),
            issue_date: invoice.issue_date.into(),
            due_date: invoice.due_date.into(),
            discount_date: invoice.discount_date.into(),
            discount_amount: Some(money(invoice.discount_amount, invoice.currency)),
            issued_at: Some(otc_shared::time::to_proto(otc_shared::time::now())),
            ..Default::default()
        };
        self.publish(
            topics::BILLING_EVENTS,
            "otc.billing.v1.InvoiceIssued",
            "/otc/billing",
            invoice.customer_id,
            &issued,
        )
        .await;
    }

    pub async fn credit_note(
        &self,
        note_id: &str,
        invoice_id: &str,
        customer_id: &str,
        total: &str,
    ) {
        let issued = proto::CreditNoteIssued {
            credit_note_id: note_id.into(),
            credit_note_number: format!("CN-2026-{}", &note_id[..6]),
            invoice_id: invoice_id.into(),
            customer_id: customer_id.into(),
            total_amount: Some(money(total, "EUR")),
            issued_at: Some(otc_shared::time::to_proto(otc_shared::time::now())),
            ..Default::default()
        };
        self.publish(
            topics::BILLING_EVENTS,
            "otc.billing.v1.CreditNoteIssued",
            "/otc/billing",
            customer_id,
            &issued,
        )
        .await;
    }

    /// Events of `event_type` on the payment topic, once `expected` arrived
    /// (or the timeout passed).
    pub async fn payment_events(
        &self,
        event_type: &str,
        expected: usize,
        timeout: Duration,
    ) -> Vec<ReadRecord> {
        self.events(topics::PAYMENT_EVENTS, event_type, expected, timeout)
            .await
    }

    /// Invariant 3 of DESIGN.md, per currency, from the database: cash
    /// received (net of reversals) = applied + unapplied + refunded, and
    /// each receipt's applied cash equals its live applications.
    pub async fn assert_cash_balances(&self) {
        let broken: i64 = self
            .scalar(
                "SELECT count(*) FROM (
                   SELECT currency FROM receipts GROUP BY currency
                   HAVING SUM(amount - reversed) <> SUM(applied) + SUM(unapplied) + SUM(refunded)) b",
            )
            .await;
        assert_eq!(broken, 0, "cash received != applied + unapplied + refunded");
        let mismatched: i64 = self
            .scalar(
                "SELECT count(*) FROM receipts r WHERE r.applied <> COALESCE((
                   SELECT SUM(a.amount) FROM applications a
                   WHERE a.receipt_id = r.id AND a.reversed_at IS NULL), 0)",
            )
            .await;
        assert_eq!(
            mismatched, 0,
            "a receipt's applied cash differs from its applications"
        );
        let items: i64 = self
            .scalar(
                "SELECT count(*) FROM open_items o WHERE o.cash_applied <> COALESCE((
                   SELECT SUM(a.amount) FROM applications a
                   WHERE a.invoice_id = o.id AND a.reversed_at IS NULL), 0)",
            )
            .await;
        assert_eq!(
            items, 0,
            "an open item's applied cash differs from its applications"
        );
    }
}

//! The collections service as a process, fed with the order, billing and
//! payments services' events (protobuf with CloudEvents headers, as they
//! publish them) on per-test topics, and driven over its gRPC API.

use std::time::Duration;

use prost::Message;
use tonic::transport::Channel;

use crate::TestDatabase;
use crate::kafka::ReadRecord;
pub use crate::suite::money;
use crate::suite::{ServiceSuite, new_namespace};
use otc_proto::collections::credit_limit_service_client::CreditLimitServiceClient;
use otc_proto::collections::credit_service_client::CreditServiceClient;
use otc_proto::collections::dispute_service_client::DisputeServiceClient;
use otc_proto::collections::dunning_service_client::DunningServiceClient;
use otc_proto::collections::ledger_service_client::LedgerServiceClient;
use otc_proto::collections::promise_service_client::PromiseServiceClient;
use otc_proto::collections::worklist_service_client::WorklistServiceClient;
use otc_proto::collections::write_off_service_client::WriteOffServiceClient;
use otc_proto::events as proto;
use otc_shared::kafka::topics;

pub const CUSTOMER_CREDIT_RELEASED: &str = "otc.collections.v1.CustomerCreditReleased";
pub const CUSTOMER_CREDIT_HELD: &str = "otc.collections.v1.CustomerCreditHeld";
pub const DISPUTE_OPENED: &str = "otc.collections.v1.DisputeOpened";
pub const DISPUTE_RESOLVED: &str = "otc.collections.v1.DisputeResolved";
pub const WRITE_OFF_APPROVED: &str = "otc.collections.v1.WriteOffApproved";
pub const PROMISE_TO_PAY_RECORDED: &str = "otc.collections.v1.PromiseToPayRecorded";
pub const PROMISE_KEPT: &str = "otc.collections.v1.PromiseKept";
pub const PROMISE_BROKEN: &str = "otc.collections.v1.PromiseBroken";
pub const DUNNING_NOTICE_SENT: &str = "otc.collections.v1.DunningNoticeSent";
pub const COLLECTOR_CONTACT_RECORDED: &str = "otc.collections.v1.CollectorContactRecorded";
pub const CUSTOMER_COLLECTOR_ASSIGNED: &str = "otc.collections.v1.CustomerCollectorAssigned";

pub struct CollectionsSuite {
    pub suite: ServiceSuite,
}

impl std::ops::Deref for CollectionsSuite {
    type Target = ServiceSuite;

    fn deref(&self) -> &ServiceSuite {
        &self.suite
    }
}

impl std::ops::DerefMut for CollectionsSuite {
    fn deref_mut(&mut self) -> &mut ServiceSuite {
        &mut self.suite
    }
}

/// An invoice (or debit note) as billing publishes it.
pub struct Issued<'a> {
    pub id: &'a str,
    pub number: &'a str,
    pub customer_id: &'a str,
    pub total: &'a str,
    pub currency: &'a str,
    pub due_date: &'a str,
    /// The functional-currency equivalent ("amount", "code"), if any.
    pub functional: Option<(&'a str, &'a str)>,
}

/// A cash application (or its reversal) as payments publishes it.
pub struct Application<'a> {
    pub application_id: &'a str,
    pub invoice_id: &'a str,
    pub customer_id: &'a str,
    pub amount: &'a str,
    pub discount: &'a str,
    pub currency: &'a str,
}

fn invoice_issued(invoice: &Issued<'_>) -> proto::InvoiceIssued {
    proto::InvoiceIssued {
        invoice_id: invoice.id.into(),
        invoice_number: invoice.number.into(),
        customer_id: invoice.customer_id.into(),
        total_amount: Some(money(invoice.total, invoice.currency)),
        functional_total_amount: invoice
            .functional
            .map(|(amount, currency)| money(amount, currency)),
        issue_date: "2026-01-02".into(),
        due_date: invoice.due_date.into(),
        issued_at: Some(otc_shared::time::to_proto(otc_shared::time::now())),
        ..Default::default()
    }
}

impl CollectionsSuite {
    /// Starts collections on a fresh database and topic namespace; `extra`
    /// adds `OTC_*` variables.
    pub async fn start(prefix: &str, extra: &[(&str, &str)]) -> Self {
        let database = TestDatabase::create(prefix).await.unwrap();
        Self::start_on(database, &new_namespace(), extra).await
    }

    /// Starts collections on `database` and the topics of `namespace`,
    /// sending dunning email to the test SMTP sink.
    pub async fn start_on(database: TestDatabase, namespace: &str, extra: &[(&str, &str)]) -> Self {
        let smtp_port = crate::mail::smtp_port().to_string();
        let mut environment = vec![("OTC_COLLECTIONS__DELIVERY__SMTP__PORT", smtp_port.as_str())];
        environment.extend_from_slice(extra);
        Self {
            suite: ServiceSuite::start("collections", database, namespace, &environment).await,
        }
    }

    pub fn dunning(&self) -> DunningServiceClient<Channel> {
        DunningServiceClient::new(self.channel.clone())
    }

    pub fn credit(&self) -> CreditServiceClient<Channel> {
        CreditServiceClient::new(self.channel.clone())
    }

    pub fn limits(&self) -> CreditLimitServiceClient<Channel> {
        CreditLimitServiceClient::new(self.channel.clone())
    }

    pub fn ledger(&self) -> LedgerServiceClient<Channel> {
        LedgerServiceClient::new(self.channel.clone())
    }

    pub fn disputes(&self) -> DisputeServiceClient<Channel> {
        DisputeServiceClient::new(self.channel.clone())
    }

    pub fn write_offs(&self) -> WriteOffServiceClient<Channel> {
        WriteOffServiceClient::new(self.channel.clone())
    }

    pub fn promises(&self) -> PromiseServiceClient<Channel> {
        PromiseServiceClient::new(self.channel.clone())
    }

    pub fn worklist(&self) -> WorklistServiceClient<Channel> {
        WorklistServiceClient::new(self.channel.clone())
    }

    /// A request of the suite's tenant by the user `subject` with `roles`
    /// (segregation of duties is between people, not roles).
    pub fn as_user<T>(
        &self,
        message: T,
        subject: &str,
        roles: &[otc_shared::auth::Role],
    ) -> tonic::Request<T> {
        self.as_user_of(&self.tenant, message, subject, roles)
    }

    /// A short payment's deduction as payments publishes it; `event_id`
    /// redelivers under the same id.
    pub async fn deduction_taken(
        &self,
        deduction_id: &str,
        invoice_id: &str,
        customer_id: &str,
        amount: &str,
        reason: &str,
        event_id: Option<&str>,
    ) -> String {
        let taken = proto::DeductionTaken {
            deduction_id: deduction_id.into(),
            application_id: uuid::Uuid::now_v7().to_string(),
            receipt_id: uuid::Uuid::now_v7().to_string(),
            customer_id: customer_id.into(),
            invoice_id: invoice_id.into(),
            amount: Some(money(amount, "EUR")),
            reason: reason.into(),
        };
        self.publish(
            topics::PAYMENT_EVENTS,
            "otc.payments.v1.DeductionTaken",
            customer_id,
            &taken,
            event_id,
        )
        .await
    }

    /// Publishes as the named service would; `event_id` redelivers an
    /// event under the same id. Returns the event id.
    pub async fn publish<M: Message>(
        &self,
        topic: &str,
        event_type: &str,
        key: &str,
        message: &M,
        event_id: Option<&str>,
    ) -> String {
        let source = match topic {
            topics::BILLING_EVENTS => "/otc/billing",
            topics::PAYMENT_EVENTS => "/otc/payments",
            _ => "/otc/order",
        };
        self.publish_as(
            &self.tenant,
            topic,
            event_type,
            source,
            key,
            message,
            event_id,
        )
        .await
    }

    pub async fn customer(&self, customer_id: &str, legal_name: &str, status: &str, version: u64) {
        let customer = proto::CustomerUpserted {
            customer_id: customer_id.into(),
            legal_name: legal_name.into(),
            currency_code: "EUR".into(),
            payment_terms_code: "NET30".into(),
            segment: "smb".into(),
            status: status.into(),
            version,
            ..Default::default()
        };
        self.publish(
            topics::ORDER_EVENTS,
            "otc.order.v1.CustomerUpserted",
            customer_id,
            &customer,
            None,
        )
        .await;
    }

    /// A customer of `segment` in `tax_region` (what worklist rules match),
    /// of `tenant` (the suite's own, or another one).
    pub async fn customer_of(
        &self,
        tenant: &str,
        customer_id: &str,
        legal_name: &str,
        segment: &str,
        tax_region: &str,
    ) {
        let customer = proto::CustomerUpserted {
            customer_id: customer_id.into(),
            legal_name: legal_name.into(),
            currency_code: "EUR".into(),
            payment_terms_code: "NET30".into(),
            segment: segment.into(),
            tax_region: tax_region.into(),
            status: "ACTIVE".into(),
            version: 1,
            ..Default::default()
        };
        self.publish_as(
            tenant,
            topics::ORDER_EVENTS,
            "otc.order.v1.CustomerUpserted",
            "/otc/order",
            customer_id,
            &customer,
            None,
        )
        .await;
    }

    /// An invoice of `tenant` as billing publishes it.
    pub async fn invoice_of(&self, tenant: &str, invoice: &Issued<'_>) -> String {
        let issued = invoice_issued(invoice);
        self.publish_as(
            tenant,
            topics::BILLING_EVENTS,
            "otc.billing.v1.InvoiceIssued",
            "/otc/billing",
            invoice.customer_id,
            &issued,
            None,
        )
        .await
    }

    /// A request of `tenant` (any, not only the suite's) by `subject`.
    pub fn as_user_of<T>(
        &self,
        tenant: &str,
        message: T,
        subject: &str,
        roles: &[otc_shared::auth::Role],
    ) -> tonic::Request<T> {
        let token = crate::local_token_issuer()
            .mint(
                &crate::tenant(tenant),
                subject,
                roles,
                Duration::from_secs(3600),
            )
            .unwrap();
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        request
    }

    pub async fn invoice(&self, invoice: &Issued<'_>, event_id: Option<&str>) -> String {
        let issued = invoice_issued(invoice);
        self.publish(
            topics::BILLING_EVENTS,
            "otc.billing.v1.InvoiceIssued",
            invoice.customer_id,
            &issued,
            event_id,
        )
        .await
    }

    pub async fn debit_note(&self, note: &Issued<'_>, invoice_id: &str) -> String {
        let issued = proto::DebitNoteIssued {
            debit_note_id: note.id.into(),
            debit_note_number: note.number.into(),
            invoice_id: invoice_id.into(),
            customer_id: note.customer_id.into(),
            total_amount: Some(money(note.total, note.currency)),
            functional_total_amount: note
                .functional
                .map(|(amount, currency)| money(amount, currency)),
            issued_at: Some(otc_shared::time::to_proto(otc_shared::time::now())),
            due_date: note.due_date.into(),
            ..Default::default()
        };
        self.publish(
            topics::BILLING_EVENTS,
            "otc.billing.v1.DebitNoteIssued",
            note.customer_id,
            &issued,
            None,
        )
        .await
    }

    pub async fn credit_note(&self, note: &Issued<'_>, invoice_id: &str) -> String {
        let issued = proto::CreditNoteIssued {
            credit_note_id: note.id.into(),
            credit_note_number: note.number.into(),
            invoice_id: invoice_id.into(),
            customer_id: note.customer_id.into(),
            total_amount: Some(money(note.total, note.currency)),
            functional_total_amount: note
                .functional
                .map(|(amount, currency)| money(amount, currency)),
            issued_at: Some(otc_shared::time::to_proto(otc_shared::time::now())),
            ..Default::default()
        };
        self.publish(
            topics::BILLING_EVENTS,
            "otc.billing.v1.CreditNoteIssued",
            note.customer_id,
            &issued,
            None,
        )
        .await
    }

    pub async fn payment_applied(
        &self,
        application: &Application<'_>,
        event_id: Option<&str>,
    ) -> String {
        let applied = proto::PaymentApplied {
            application_id: application.application_id.into(),
            receipt_id: uuid::Uuid::now_v7().to_string(),
            customer_id: application.customer_id.into(),
            invoice_id: application.invoice_id.into(),
            amount: Some(money(application.amount, application.currency)),
            discount_taken: Some(money(application.discount, application.currency)),
            deduction: Some(money("0", application.currency)),
            applied_at: Some(otc_shared::time::to_proto(otc_shared::time::now())),
            method: "manual".into(),
            ..Default::default()
        };
        self.publish(
            topics::PAYMENT_EVENTS,
            "otc.payments.v1.PaymentApplied",
            application.customer_id,
            &applied,
            event_id,
        )
        .await
    }

    pub async fn payment_unapplied(&self, application: &Application<'_>) -> String {
        let unapplied = proto::PaymentUnapplied {
            application_id: application.application_id.into(),
            receipt_id: uuid::Uuid::now_v7().to_string(),
            customer_id: application.customer_id.into(),
            invoice_id: application.invoice_id.into(),
            amount: Some(money(application.amount, application.currency)),
            reason: "applied to the wrong invoice".into(),
            discount: Some(money(application.discount, application.currency)),
            deduction: Some(money("0", application.currency)),
        };
        self.publish(
            topics::PAYMENT_EVENTS,
            "otc.payments.v1.PaymentUnapplied",
            application.customer_id,
            &unapplied,
            None,
        )
        .await
    }

    pub async fn order_approved(&self, order_id: &str, customer_id: &str, total: &str) -> String {
        let approved = proto::OrderApproved {
            order_id: order_id.into(),
            customer_id: customer_id.into(),
            total: Some(money(total, "EUR")),
            source: "grpc".into(),
            external_order_id: order_id.into(),
        };
        self.publish(
            topics::ORDER_EVENTS,
            "otc.order.v1.OrderApproved",
            customer_id,
            &approved,
            None,
        )
        .await
    }

    pub async fn order_cancelled(&self, order_id: &str, customer_id: &str) -> String {
        let cancelled = proto::OrderCancelled {
            order_id: order_id.into(),
            customer_id: customer_id.into(),
            reason: "customer withdrew".into(),
        };
        self.publish(
            topics::ORDER_EVENTS,
            "otc.order.v1.OrderCancelled",
            customer_id,
            &cancelled,
            None,
        )
        .await
    }

    /// A shipment of one line of `amount` (net, EUR) of an order.
    pub async fn shipment(&self, order_id: &str, customer_id: &str, amount: &str) -> String {
        let shipment = proto::ShipmentRecorded {
            shipment_id: uuid::Uuid::now_v7().to_string(),
            order_id: order_id.into(),
            customer_id: customer_id.into(),
            lines: vec![proto::ShippedLine {
                line_id: "1".into(),
                sku: "SKU-1".into(),
                quantity: "1".into(),
                amount: Some(money(amount, "EUR")),
                ..Default::default()
            }],
            shipped_at: Some(otc_shared::time::to_proto(otc_shared::time::now())),
            ..Default::default()
        };
        self.publish(
            topics::ORDER_EVENTS,
            "otc.order.v1.ShipmentRecorded",
            customer_id,
            &shipment,
            None,
        )
        .await
    }

    /// Events of `event_type` on the collections topic, once `expected`
    /// arrived (or the timeout passed).
    pub async fn collections_events(
        &self,
        event_type: &str,
        expected: usize,
        timeout: Duration,
    ) -> Vec<ReadRecord> {
        self.events(topics::COLLECTIONS_EVENTS, event_type, expected, timeout)
            .await
    }

    /// Waits until the ledger consumer has applied (or skipped as
    /// duplicates) `expected` distinct events.
    pub async fn wait_for_events_applied(&self, expected: i64, timeout: Duration) {
        let seen = self
            .wait_for_count(
                "SELECT count(*) FROM inbox WHERE consumer = 'ledger'",
                expected,
                timeout,
            )
            .await;
        assert_eq!(seen, expected, "the ledger consumer applied {seen} events");
    }

    /// The ledger's own invariant: every item's open amount (and functional
    /// open amount) is the sum of its posted movements, and nothing is left
    /// parked for an item that is known.
    pub async fn assert_items_are_the_sum_of_their_movements(&self) {
        let broken: i64 = self
            .scalar(
                "SELECT count(*) FROM open_items o WHERE o.open_amount <> COALESCE((
                   SELECT SUM(m.amount) FROM ledger_movements m
                   WHERE m.item_id = o.id AND m.posted_at IS NOT NULL), -1)
                 OR o.functional_open IS DISTINCT FROM (
                   SELECT CASE WHEN o.functional_open IS NULL THEN NULL ELSE SUM(m.functional_amount) END
                   FROM ledger_movements m WHERE m.item_id = o.id AND m.posted_at IS NOT NULL)",
            )
            .await;
        assert_eq!(
            broken, 0,
            "an item's open amount differs from its movements"
        );
        let stranded: i64 = self
            .scalar(
                "SELECT count(*) FROM ledger_movements m JOIN open_items o ON o.id = m.item_id
                 WHERE m.posted_at IS NULL",
            )
            .await;
        assert_eq!(
            stranded, 0,
            "a movement stays parked although its item is known"
        );
    }
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Disputes and write-offs in the collections service as a process against
//! the real PostgreSQL and Kafka: disputes opened over gRPC and from a
//! payment's deduction (once, however often it is delivered), resolved by a
//! credit note from a real billing process (also when billing is down at
//! first), by rejection, and write-offs within and above the approval
//! threshold with segregation of duties; roles and tenant isolation.

use std::time::{Duration, Instant};

use chrono::Utc;
use prost::Message;
use rust_decimal::Decimal;
use tonic::Code;
use uuid::Uuid;

use otc_proto::billing::{
    DocumentKind, ListInvoicesRequest, SetTaxRuleRequest, TaxRule, TenantSettings,
};
use otc_proto::collections::*;
use otc_proto::events as events_proto;
use otc_shared::auth::Role;
use otc_shared::kafka::topics;
use otc_testkit::TestDatabase;
use otc_testkit::billing::{BillingSuite, Line};
use otc_testkit::collections::{
    CollectionsSuite, DISPUTE_OPENED, DISPUTE_RESOLVED, Issued, WRITE_OFF_APPROVED, money,
};
use otc_testkit::suite::{ServiceSuite, new_namespace};

const WAIT: Duration = Duration::from_secs(60);

fn id() -> String {
    Uuid::now_v7().to_string()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn amount(value: Option<&otc_proto::types::Money>) -> Decimal {
    dec(&value.unwrap().amount)
}

fn invoice<'a>(id: &'a str, customer: &'a str, total: &'a str) -> Issued<'a> {
    Issued {
        id,
        number: "INV-2026-000001",
        customer_id: customer,
        total,
        currency: "EUR",
        due_date: "2026-12-31",
        functional: None,
    }
}

fn item(item_id: &str, disputed: &str) -> DisputedItem {
    DisputedItem {
        item_id: item_id.into(),
        amount: Some(money(disputed, "EUR")),
        ..DisputedItem::default()
    }
}

async fn open_item(suite: &CollectionsSuite, item_id: &str) -> OpenItem {
    suite
        .ledger()
        .list_open_items(suite.as_role(
            ListOpenItemsRequest {
                include_settled: true,
                ..ListOpenItemsRequest::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner()
        .items
        .into_iter()
        .find(|item| item.item_id == item_id)
        .unwrap()
}

async fn balance(suite: &CollectionsSuite, customer: &str) -> Decimal {
    let ledger = suite
        .ledger()
        .get_customer_ledger(suite.as_role(
            GetCustomerLedgerRequest {
                customer_id: customer.into(),
                page: None,
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    amount(ledger.balances[0].balance.as_ref())
}

async fn get_dispute(suite: &CollectionsSuite, dispute_id: &str) -> Dispute {
    suite
        .disputes()
        .get_dispute(suite.as_role(
            GetDisputeRequest {
                dispute_id: dispute_id.into(),
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner()
}

fn open_request(key: &str, customer: &str, items: Vec<DisputedItem>) -> OpenDisputeRequest {
    OpenDisputeRequest {
        idempotency_key: key.into(),
        customer_id: customer.into(),
        reason_code: "PRICING".into(),
        description: "price differs from the contract".into(),
        items,
        attachment_uris: vec!["s3://evidence/contract-p4.pdf".into()],
        ..OpenDisputeRequest::default()
    }
}

#[tokio::test]
async fn disputes_are_opened_over_grpc_and_once_per_deduction_and_flag_their_items() {
    let suite = CollectionsSuite::start("coll_disputes", &[]).await;
    let customer = id();
    let other_customer = id();
    let first = id();
    let second = id();
    let foreign = id();
    suite.customer(&customer, "Kunde GmbH", "ACTIVE", 1).await;
    suite
        .invoice(&invoice(&first, &customer, "100.00"), None)
        .await;
    suite
        .invoice(&invoice(&second, &customer, "50.00"), None)
        .await;
    suite
        .invoice(&invoice(&foreign, &other_customer, "70.00"), None)
        .await;
    suite.wait_for_events_applied(4, WAIT).await;

    // A customer service representative opens a dispute over two items.
    let opened = suite
        .disputes()
        .open_dispute(suite.as_user(
            open_request(
                "cs-1",
                &customer,
                vec![item(&first, "30.00"), item(&second, "50.00")],
            ),
            "cs-anna",
            &[Role::CustomerServiceRepresentative],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(opened.state, "OPEN");
    assert_eq!(opened.source, "MANUAL");
    assert_eq!(amount(opened.amount.as_ref()), dec("80.00"));
    assert_eq!(opened.owner, "cs-anna");
    assert_eq!(opened.opened_by, "cs-anna");
    let expected_sla = Utc::now()
        .date_naive()
        .checked_add_days(chrono::Days::new(10))
        .unwrap();
    assert_eq!(opened.sla_due_date, expected_sla.to_string());
    assert_eq!(opened.notes.len(), 1);
    assert_eq!(
        opened.notes[0].attachment_uris,
        ["s3://evidence/contract-p4.pdf"]
    );
    // The same key again is the same dispute; for another request it is refused.
    let again = suite
        .disputes()
        .open_dispute(suite.as_role(
            open_request(
                "cs-1",
                &customer,
                vec![item(&first, "30.00"), item(&second, "50.00")],
            ),
            Role::CustomerServiceRepresentative,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.dispute_id, opened.dispute_id);
    let reused = suite
        .disputes()
        .open_dispute(suite.as_role(
            open_request("cs-1", &customer, vec![item(&first, "10.00")]),
            Role::CustomerServiceRepresentative,
        ))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::AlreadyExists);

    let viewed = open_item(&suite, &first).await;
    assert!(viewed.disputed);
    assert_eq!(amount(viewed.disputed_amount.as_ref()), dec("30.00"));
    assert_eq!(amount(viewed.open_amount.as_ref()), dec("100.00"));

    // More than is open (with what is already disputed), another customer's
    // item, an unknown reason: refused, naming the field.
    let too_much = suite
        .disputes()
        .open_dispute(suite.as_role(
            open_request("cs-2", &customer, vec![item(&first, "70.01")]),
            Role::Collector,
        ))
        .await
        .unwrap_err();
    assert_eq!(too_much.code(), Code::InvalidArgument);
    assert_eq!(
        otc_testkit::violated_fields(&too_much),
        ["items[0].amount.amount"]
    );
    let foreign_item = suite
        .disputes()
        .open_dispute(suite.as_role(
            open_request("cs-3", &customer, vec![item(&foreign, "1.00")]),
            Role::Collector,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        otc_testkit::violated_fields(&foreign_item),
        ["items[0].item_id"]
    );
    let mut bad_reason = open_request("cs-4", &customer, vec![item(&first, "1.00")]);
    bad_reason.reason_code = "MOOD".into();
    let status = suite
        .disputes()
        .open_dispute(suite.as_role(bad_reason, Role::Collector))
        .await
        .unwrap_err();
    assert_eq!(otc_testkit::violated_fields(&status), ["reason_code"]);

    // Roles: a sales associate may not open disputes, nor an executive.
    for role in [Role::SalesAssociate, Role::Executive, Role::CreditManager] {
        let status = suite
            .disputes()
            .open_dispute(suite.as_role(
                open_request("cs-5", &customer, vec![item(&first, "1.00")]),
                role,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{role}");
    }

    // Another tenant sees nothing of it.
    let stranger = otc_testkit::billing::request(
        GetDisputeRequest {
            dispute_id: opened.dispute_id.clone(),
        },
        "globex",
        &[Role::Collector],
    );
    let status = suite.disputes().get_dispute(stranger).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    // A deduction opens a dispute by itself: delivered twice (same event)
    // and republished (new event id), still one dispute.
    let deduction = id();
    let event_id = suite
        .deduction_taken(
            &deduction,
            &foreign,
            &other_customer,
            "20.00",
            "quality",
            None,
        )
        .await;
    suite
        .deduction_taken(
            &deduction,
            &foreign,
            &other_customer,
            "20.00",
            "quality",
            Some(&event_id),
        )
        .await;
    suite
        .deduction_taken(
            &deduction,
            &foreign,
            &other_customer,
            "20.00",
            "quality",
            None,
        )
        .await;
    suite.wait_for_events_applied(6, WAIT).await;
    let automatic = suite
        .disputes()
        .list_disputes(suite.as_role(
            ListDisputesRequest {
                customer_id: other_customer.clone(),
                ..ListDisputesRequest::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner()
        .disputes;
    assert_eq!(automatic.len(), 1, "one dispute per deduction");
    assert_eq!(automatic[0].source, "DEDUCTION");
    assert_eq!(automatic[0].deduction_id, deduction);
    assert_eq!(automatic[0].reason_code, "QUALITY");
    assert_eq!(amount(automatic[0].amount.as_ref()), dec("20.00"));
    assert!(open_item(&suite, &foreign).await.disputed);

    let opened_events = suite.collections_events(DISPUTE_OPENED, 2, WAIT).await;
    assert_eq!(opened_events.len(), 2);
    let extra = suite
        .collections_events(DISPUTE_OPENED, 3, Duration::from_secs(3))
        .await;
    assert_eq!(extra.len(), 2, "no DisputeOpened for a duplicate");

    // Review, a note, then a rejection returns the items to normal.
    let reviewed = suite
        .disputes()
        .review_dispute(suite.as_user(
            ReviewDisputeRequest {
                dispute_id: opened.dispute_id.clone(),
                owner: "collector-ben".into(),
                expected_version: opened.version,
            },
            "collector-ben",
            &[Role::Collector],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reviewed.state, "UNDER_REVIEW");
    assert_eq!(reviewed.owner, "collector-ben");
    let stale = suite
        .disputes()
        .review_dispute(suite.as_role(
            ReviewDisputeRequest {
                dispute_id: opened.dispute_id.clone(),
                owner: String::new(),
                expected_version: opened.version,
            },
            Role::Collector,
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let noted = suite
        .disputes()
        .add_dispute_note(suite.as_user(
            AddDisputeNoteRequest {
                dispute_id: opened.dispute_id.clone(),
                body: "customer confirmed the contract price".into(),
                attachment_uris: vec!["https://dms.example/doc/77".into()],
            },
            "collector-ben",
            &[Role::Collector],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(noted.notes.len(), 2);
    assert_eq!(noted.notes[1].author, "collector-ben");
    let bad_uri = suite
        .disputes()
        .add_dispute_note(suite.as_role(
            AddDisputeNoteRequest {
                dispute_id: opened.dispute_id.clone(),
                body: String::new(),
                attachment_uris: vec!["not a uri".into()],
            },
            Role::Collector,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        otc_testkit::violated_fields(&bad_uri),
        ["attachment_uris[0]"]
    );
    let rejected = suite
        .disputes()
        .resolve_dispute(suite.as_role(
            ResolveDisputeRequest {
                dispute_id: opened.dispute_id.clone(),
                resolution: "REJECTED".into(),
                note: "price is as agreed".into(),
                expected_version: 0,
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rejected.state, "REJECTED");
    assert_eq!(rejected.resolution, "REJECTED");
    let viewed = open_item(&suite, &first).await;
    assert!(!viewed.disputed);
    assert_eq!(amount(viewed.disputed_amount.as_ref()), Decimal::ZERO);
    assert_eq!(amount(viewed.open_amount.as_ref()), dec("100.00"));
    let resolved = suite.collections_events(DISPUTE_RESOLVED, 1, WAIT).await;
    let event = events_proto::DisputeResolved::decode(resolved[0].payload.as_slice()).unwrap();
    assert_eq!(event.resolution, "REJECTED");
    assert_eq!(event.dispute_id, opened.dispute_id);
    // A decided dispute cannot be decided again.
    let twice = suite
        .disputes()
        .resolve_dispute(suite.as_role(
            ResolveDisputeRequest {
                dispute_id: opened.dispute_id.clone(),
                resolution: "REJECTED".into(),
                note: "again".into(),
                expected_version: 0,
            },
            Role::Collector,
        ))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    // Resolved by write-off: within the threshold it is applied at once;
    // customer service may not write off.
    let small = suite
        .disputes()
        .open_dispute(suite.as_role(
            open_request("cs-6", &customer, vec![item(&second, "50.00")]),
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    let resolve_by_write_off = ResolveDisputeRequest {
        dispute_id: small.dispute_id.clone(),
        resolution: "WRITE_OFF".into(),
        note: "not worth chasing".into(),
        expected_version: 0,
    };
    let status = suite
        .disputes()
        .resolve_dispute(suite.as_role(
            resolve_by_write_off.clone(),
            Role::CustomerServiceRepresentative,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let written_off = suite
        .disputes()
        .resolve_dispute(suite.as_role(resolve_by_write_off, Role::Collector))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(written_off.state, "RESOLVED");
    assert_eq!(written_off.resolution, "WRITE_OFF");
    assert_eq!(written_off.write_off_ids.len(), 1);
    let viewed = open_item(&suite, &second).await;
    assert_eq!(amount(viewed.open_amount.as_ref()), Decimal::ZERO);
    assert!(!viewed.disputed);
    assert_eq!(balance(&suite, &customer).await, dec("100.00"));
    suite.assert_items_are_the_sum_of_their_movements().await;
    let resolved = suite.collections_events(DISPUTE_RESOLVED, 2, WAIT).await;
    let event = events_proto::DisputeResolved::decode(resolved[1].payload.as_slice()).unwrap();
    assert_eq!(event.resolution, "WRITE_OFF");
    assert_eq!(event.write_off_ids, written_off.write_off_ids);

    let audited = suite
        .count(&format!(
            "SELECT count(*) FROM audit_log WHERE entity_type = 'dispute' AND entity_id = '{}'",
            opened.dispute_id
        ))
        .await;
    assert_eq!(audited, 4, "opened, under review, note, rejected");
}

#[tokio::test]
async fn write_offs_apply_within_the_threshold_and_need_another_persons_approval_above_it() {
    let suite = CollectionsSuite::start("coll_write_offs", &[]).await;
    let customer = id();
    let item_id = id();
    suite.customer(&customer, "Kunde GmbH", "ACTIVE", 1).await;
    suite
        .invoice(&invoice(&item_id, &customer, "500.00"), None)
        .await;
    suite.wait_for_events_applied(2, WAIT).await;

    let request = |key: &str, value: &str| RequestWriteOffRequest {
        idempotency_key: key.into(),
        item_id: item_id.clone(),
        amount: Some(money(value, "EUR")),
        reason: "small balance".into(),
    };
    // At the default threshold (50.00): applied at once.
    let small = suite
        .write_offs()
        .request_write_off(suite.as_user(
            request("wo-1", "50.00"),
            "collector-ben",
            &[Role::Collector],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(small.state, "APPLIED");
    assert_eq!(small.decided_by, "system:write-off-threshold");
    assert_eq!(balance(&suite, &customer).await, dec("450.00"));
    // The same key again is the same write-off, applied once.
    let again = suite
        .write_offs()
        .request_write_off(suite.as_user(
            request("wo-1", "50.00"),
            "collector-ben",
            &[Role::Collector],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.write_off_id, small.write_off_id);
    assert_eq!(balance(&suite, &customer).await, dec("450.00"));

    // Above the threshold: pending until a credit manager decides.
    let large = suite
        .write_offs()
        .request_write_off(suite.as_user(
            request("wo-2", "200.00"),
            "collector-ben",
            &[Role::Collector],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(large.state, "PENDING_APPROVAL");
    assert_eq!(balance(&suite, &customer).await, dec("450.00"));
    let decide = |note: &str| DecideWriteOffRequest {
        write_off_id: large.write_off_id.clone(),
        note: note.into(),
        expected_version: 0,
    };
    // The requester cannot approve their own, even holding both roles;
    // a collector cannot approve at all.
    let own = suite
        .write_offs()
        .approve_write_off(suite.as_user(
            decide("mine"),
            "collector-ben",
            &[Role::Collector, Role::CreditManager],
        ))
        .await
        .unwrap_err();
    assert_eq!(own.code(), Code::PermissionDenied);
    let collector = suite
        .write_offs()
        .approve_write_off(suite.as_user(decide("x"), "collector-eva", &[Role::Collector]))
        .await
        .unwrap_err();
    assert_eq!(collector.code(), Code::PermissionDenied);
    // More than is open, or nothing at all, is refused at the request.
    let too_much = suite
        .write_offs()
        .request_write_off(suite.as_role(request("wo-3", "450.01"), Role::Collector))
        .await
        .unwrap_err();
    assert_eq!(otc_testkit::violated_fields(&too_much), ["amount.amount"]);
    let zero = suite
        .write_offs()
        .request_write_off(suite.as_role(request("wo-4", "0"), Role::Collector))
        .await
        .unwrap_err();
    assert_eq!(otc_testkit::violated_fields(&zero), ["amount.amount"]);

    let approved = suite
        .write_offs()
        .approve_write_off(suite.as_user(
            decide("uncollectable remainder"),
            "cm-carla",
            &[Role::CreditManager],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(approved.state, "APPLIED");
    assert_eq!(approved.decided_by, "cm-carla");
    assert_eq!(balance(&suite, &customer).await, dec("250.00"));
    let twice = suite
        .write_offs()
        .approve_write_off(suite.as_user(decide("again"), "cm-carla", &[Role::CreditManager]))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);

    // A rejected one changes nothing.
    let third = suite
        .write_offs()
        .request_write_off(suite.as_user(
            request("wo-5", "100.00"),
            "collector-ben",
            &[Role::Collector],
        ))
        .await
        .unwrap()
        .into_inner();
    let rejected = suite
        .write_offs()
        .reject_write_off(suite.as_user(
            DecideWriteOffRequest {
                write_off_id: third.write_off_id.clone(),
                note: "keep collecting".into(),
                expected_version: third.version,
            },
            "cm-carla",
            &[Role::CreditManager],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rejected.state, "REJECTED");
    assert_eq!(balance(&suite, &customer).await, dec("250.00"));

    // balance = invoices - write-offs, and every item is the sum of its movements.
    let movements = suite
        .ledger()
        .list_ledger_movements(suite.as_role(
            ListLedgerMovementsRequest {
                item_id: item_id.clone(),
                ..ListLedgerMovementsRequest::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner()
        .movements;
    let write_offs: Vec<Decimal> = movements
        .iter()
        .filter(|movement| movement.kind == "WRITE_OFF")
        .map(|movement| amount(movement.amount.as_ref()))
        .collect();
    assert_eq!(write_offs, [dec("-50.00"), dec("-200.00")]);
    suite.assert_items_are_the_sum_of_their_movements().await;
    let events = suite.collections_events(WRITE_OFF_APPROVED, 2, WAIT).await;
    assert_eq!(events.len(), 2);
    let event = events_proto::WriteOffApproved::decode(events[1].payload.as_slice()).unwrap();
    assert_eq!(event.approved_by, "cm-carla");
    assert_eq!(amount(event.amount.as_ref()), dec("200.00"));

    // A raised threshold (tenant admin) lets 100.00 through at once.
    suite
        .disputes()
        .set_collections_settings(suite.as_role(
            SetCollectionsSettingsRequest {
                dispute_sla_days: 5,
                write_off_threshold: "100".into(),
                expected_version: 0,
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap();
    let within = suite
        .write_offs()
        .request_write_off(suite.as_user(
            request("wo-6", "100.00"),
            "collector-ben",
            &[Role::Collector],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(within.state, "APPLIED");
    assert_eq!(balance(&suite, &customer).await, dec("150.00"));
    let refused = suite
        .disputes()
        .set_collections_settings(suite.as_role(
            SetCollectionsSettingsRequest {
                dispute_sla_days: 5,
                write_off_threshold: "100".into(),
                expected_version: 0,
            },
            Role::Collector,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

async fn set_up_billing_tenant(billing: &BillingSuite) {
    billing
        .config()
        .set_tenant_settings(billing.as_role(
            TenantSettings {
                functional_currency: "EUR".into(),
                seller_name: "OTC Demo AG".into(),
                seller_tax_id: "DE123456789".into(),
                payment_instructions: vec!["IBAN DE89 3704 0044 0532 0130 00".into()],
                fx_max_age_days: 5,
                ..TenantSettings::default()
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap();
    billing
        .config()
        .set_tax_rule(billing.as_role(
            SetTaxRuleRequest {
                rule: Some(TaxRule {
                    region: "DE".into(),
                    tax_code: "STANDARD".into(),
                    rate: "0.19".into(),
                    valid_from: "2020-01-01".into(),
                    valid_to: String::new(),
                }),
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap();
}

/// Billing issues a real invoice of 119.00 (100.00 + 19% VAT) from an order
/// and its shipment; its id.
async fn billed_invoice(billing: &BillingSuite, customer: &str) -> String {
    let order = id();
    let line = Line {
        line_id: "1",
        sku: "SKU-1",
        quantity: "10",
        unit_price: "10.00",
        line_amount: "100.00",
        tax_code: "STANDARD",
    };
    billing.order_placed(&order, customer, "EUR", &[line]).await;
    let line = Line {
        line_id: "1",
        sku: "SKU-1",
        quantity: "10",
        unit_price: "10.00",
        line_amount: "100.00",
        tax_code: "STANDARD",
    };
    let shipment = BillingSuite::shipment(
        &id(),
        &order,
        customer,
        "EUR",
        &[(&line, "10", "100.00")],
        Utc::now(),
    );
    billing
        .publish("ShipmentRecorded", customer, &shipment, None)
        .await;
    let issued = billing
        .billing_events("otc.billing.v1.InvoiceIssued", 1, WAIT)
        .await;
    assert_eq!(issued.len(), 1, "billing issued the invoice");
    events_proto::InvoiceIssued::decode(issued[0].payload.as_slice())
        .unwrap()
        .invoice_id
}

async fn credit_notes_in_billing(
    billing: &BillingSuite,
    customer: &str,
) -> Vec<otc_proto::billing::Invoice> {
    billing
        .invoices()
        .list_invoices(billing.as_role(
            ListInvoicesRequest {
                customer_id: customer.into(),
                ..ListInvoicesRequest::default()
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner()
        .invoices
        .into_iter()
        .filter(|document| document.kind == i32::from(DocumentKind::CreditNote))
        .collect()
}

async fn wait_for_open(suite: &CollectionsSuite, item_id: &str, expected: Decimal) {
    let deadline = Instant::now() + WAIT;
    loop {
        let item = open_item(suite, item_id).await;
        if amount(item.open_amount.as_ref()) == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "item {item_id} stays at {:?}, expected {expected}",
            item.open_amount
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_credit_note_resolution_is_issued_once_by_the_real_billing_even_when_billing_was_down() {
    // Billing and collections on one topic namespace and one tenant: billing
    // reads the order events, collections reads billing's events.
    let namespace = new_namespace();
    let documents_root =
        std::env::temp_dir().join(format!("otc-billing-docs-{}", otc_testkit::unique_suffix()));
    let root = documents_root.display().to_string();
    let smtp_port = otc_testkit::mail::smtp_port().to_string();
    let billing = BillingSuite {
        suite: ServiceSuite::start(
            "billing",
            TestDatabase::create("coll_cn_billing").await.unwrap(),
            &namespace,
            &[
                ("OTC_BILLING__DOCUMENTS__KIND", "local"),
                ("OTC_BILLING__DOCUMENTS__ROOT", root.as_str()),
                ("OTC_BILLING__DELIVERY__SMTP__PORT", smtp_port.as_str()),
            ],
        )
        .await,
        documents_root,
    };
    let billing_url = billing.service.grpc_url();
    let mut collections = CollectionsSuite::start_on(
        TestDatabase::create("coll_cn").await.unwrap(),
        &namespace,
        &[("OTC_PEERS__BILLING__URL", billing_url.as_str())],
    )
    .await;
    collections.suite.tenant = billing.tenant.clone();
    let mut billing = billing;
    set_up_billing_tenant(&billing).await;

    let customer = id();
    billing.customer(&customer, "EUR", "DE", "NET30").await;
    let invoice_id = billed_invoice(&billing, &customer).await;
    wait_for_open(&collections, &invoice_id, dec("119.00")).await;

    // First dispute: billing is up, the note is issued at once.
    let quick = collections
        .disputes()
        .open_dispute(collections.as_role(
            open_request("quick", &customer, vec![item(&invoice_id, "11.90")]),
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    let resolved = collections
        .disputes()
        .resolve_dispute(collections.as_role(
            ResolveDisputeRequest {
                dispute_id: quick.dispute_id.clone(),
                resolution: "CREDIT_NOTE".into(),
                note: "one unit overpriced".into(),
                expected_version: quick.version,
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.state, "RESOLVED", "{}", resolved.last_error);
    assert_eq!(resolved.resolution, "CREDIT_NOTE");
    assert!(!resolved.items[0].credit_note_id.is_empty());
    wait_for_open(&collections, &invoice_id, dec("107.10")).await;

    // Second dispute while billing is down: it stays pending, then the
    // resolver completes it once billing is back, with one note.
    let slow = collections
        .disputes()
        .open_dispute(collections.as_role(
            open_request("slow", &customer, vec![item(&invoice_id, "23.80")]),
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    billing.service.kill_hard().await.unwrap();
    let pending = collections
        .disputes()
        .resolve_dispute(collections.as_role(
            ResolveDisputeRequest {
                dispute_id: slow.dispute_id.clone(),
                resolution: "CREDIT_NOTE".into(),
                note: "two units damaged".into(),
                expected_version: 0,
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.state, "RESOLUTION_PENDING");
    assert!(!pending.last_error.is_empty());
    assert!(open_item(&collections, &invoice_id).await.disputed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        get_dispute(&collections, &slow.dispute_id).await.state,
        "RESOLUTION_PENDING"
    );

    billing.service.restart().await.unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let dispute = get_dispute(&collections, &slow.dispute_id).await;
        if dispute.state == "RESOLVED" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {}: {}",
            dispute.state,
            dispute.last_error
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    wait_for_open(&collections, &invoice_id, dec("83.30")).await;
    let item = open_item(&collections, &invoice_id).await;
    assert!(!item.disputed);

    // Exactly two notes in billing, one per dispute, and nothing more later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let notes = credit_notes_in_billing(&billing, &customer).await;
    let mut totals: Vec<Decimal> = notes
        .iter()
        .map(|note| amount(note.total_amount.as_ref()))
        .collect();
    totals.sort();
    assert_eq!(totals, [dec("11.90"), dec("23.80")]);
    let issued = collections
        .events(
            topics::BILLING_EVENTS,
            "otc.billing.v1.CreditNoteIssued",
            3,
            Duration::from_secs(3),
        )
        .await;
    assert_eq!(issued.len(), 2);
    let resolved_events = collections
        .collections_events(DISPUTE_RESOLVED, 2, WAIT)
        .await;
    assert_eq!(resolved_events.len(), 2);
    collections
        .assert_items_are_the_sum_of_their_movements()
        .await;
    assert_eq!(balance(&collections, &customer).await, dec("83.30"));
}

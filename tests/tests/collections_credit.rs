#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Credit control in the collections service as a process: `CheckCredit`
//! against limits, receivables and unbilled orders, the overdue rule and
//! the no-limit rule, holds and releases told once on
//! `otc.collections.events.v1`, roles and tenant isolation.

use std::time::Duration;

use chrono::Days;
use prost::Message;
use rust_decimal::Decimal;
use tonic::Code;
use uuid::Uuid;

use otc_proto::collections::*;
use otc_proto::events as events_proto;
use otc_shared::auth::Role;
use otc_testkit::collections::{
    Application, CUSTOMER_CREDIT_HELD, CUSTOMER_CREDIT_RELEASED, CollectionsSuite, Issued, money,
};

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

fn days_ago(days: u64) -> String {
    chrono::Utc::now()
        .date_naive()
        .checked_sub_days(Days::new(days))
        .unwrap()
        .to_string()
}

async fn check(
    suite: &CollectionsSuite,
    customer_id: &str,
    order_id: &str,
    order_amount: &str,
) -> CheckCreditResponse {
    suite
        .credit()
        .check_credit(suite.as_role(
            CheckCreditRequest {
                customer_id: customer_id.into(),
                order_id: order_id.into(),
                order_amount: Some(money(order_amount, "EUR")),
            },
            Role::Service,
        ))
        .await
        .unwrap()
        .into_inner()
}

async fn set_limit(suite: &CollectionsSuite, customer_id: &str, limit: &str) -> CreditProfile {
    suite
        .limits()
        .set_credit_limit(suite.as_role(
            SetCreditLimitRequest {
                customer_id: customer_id.into(),
                credit_limit: Some(money(limit, "EUR")),
                risk_class: "b".into(),
                reason: "annual review".into(),
                expected_version: 0,
            },
            Role::CreditManager,
        ))
        .await
        .unwrap()
        .into_inner()
}

/// A customer collections knows, with one open EUR invoice of `total`.
async fn customer_owing(suite: &CollectionsSuite, total: &str, due_date: &str) -> (String, String) {
    let customer = id();
    let invoice = id();
    suite
        .customer(&customer, "Keller Bau GmbH", "active", 1)
        .await;
    suite
        .invoice(
            &Issued {
                id: &invoice,
                number: &format!("INV-{}", &invoice[24..]),
                customer_id: &customer,
                total,
                currency: "EUR",
                due_date,
                functional: None,
            },
            None,
        )
        .await;
    let seen = suite
        .wait_for_count(
            &format!("SELECT count(*) FROM open_items WHERE customer_id = '{customer}'"),
            1,
            WAIT,
        )
        .await;
    assert_eq!(seen, 1, "the invoice reached the ledger");
    (customer, invoice)
}

fn decision(response: &CheckCreditResponse) -> CreditDecision {
    CreditDecision::try_from(response.decision).unwrap()
}

#[tokio::test]
async fn check_credit_approves_within_the_limit_holds_over_it_and_counts_an_order_once() {
    let suite = CollectionsSuite::start("coll_check", &[]).await;
    let (customer, invoice) = customer_owing(&suite, "400.00", &days_ago(0)).await;
    let profile = set_limit(&suite, &customer, "1000.00").await;
    assert_eq!(profile.risk_class, "B");
    assert_eq!(profile.limit_source, "CUSTOMER");
    assert_eq!(amount(profile.available_credit.as_ref()), dec("600"));

    let (first, second, third) = (id(), id(), id());
    let approved = check(&suite, &customer, &first, "500.00").await;
    assert_eq!(decision(&approved), CreditDecision::Approve, "{approved:?}");
    assert_eq!(amount(approved.open_receivables.as_ref()), dec("400"));
    assert_eq!(amount(approved.unbilled_orders.as_ref()), dec("0"));
    assert_eq!(amount(approved.exposure.as_ref()), dec("900"));
    assert_eq!(amount(approved.credit_limit.as_ref()), dec("1000"));
    assert_eq!(approved.risk_class, "B");
    // Asked again (and its approval event arriving) counts it once.
    let again = check(&suite, &customer, &first, "500.00").await;
    assert_eq!(amount(again.exposure.as_ref()), dec("900"));
    suite.order_approved(&first, &customer, "500.00").await;
    suite.wait_for_events_applied(3, WAIT).await;

    let held = check(&suite, &customer, &second, "200.00").await;
    assert_eq!(decision(&held), CreditDecision::Hold);
    assert_eq!(amount(held.unbilled_orders.as_ref()), dec("500"));
    assert_eq!(amount(held.exposure.as_ref()), dec("1100"));
    assert!(held.reason.contains("over credit limit"), "{}", held.reason);
    // Exactly at the limit is within it.
    let at_limit = check(&suite, &customer, &third, "100.00").await;
    assert_eq!(decision(&at_limit), CreditDecision::Approve, "{at_limit:?}");
    assert_eq!(amount(at_limit.exposure.as_ref()), dec("1000"));

    let held_events = suite
        .collections_events(CUSTOMER_CREDIT_HELD, 1, WAIT)
        .await;
    assert_eq!(held_events.len(), 1);
    assert_eq!(held_events[0].key.as_deref(), Some(customer.as_str()));

    // The invoice is paid: 0 + 600 unbilled + the held 200 fit in 1000.
    suite
        .payment_applied(
            &Application {
                application_id: &id(),
                invoice_id: &invoice,
                customer_id: &customer,
                amount: "400.00",
                discount: "0",
                currency: "EUR",
            },
            None,
        )
        .await;
    let released = suite
        .collections_events(CUSTOMER_CREDIT_RELEASED, 1, WAIT)
        .await;
    assert_eq!(released.len(), 1);
    let event =
        events_proto::CustomerCreditReleased::decode(released[0].payload.as_slice()).unwrap();
    assert_eq!(event.customer_id, customer);
    assert_eq!(amount(event.credit_limit.as_ref()), dec("1000"));
    assert_eq!(amount(event.exposure.as_ref()), dec("800"));
    let audited: String = suite
        .scalar(&format!(
            "SELECT concat_ws('/', after_state->>'trigger', after_state->>'open_receivables', after_state->>'unbilled_orders') FROM audit_log WHERE entity_id = '{customer}' AND action = 'credit.released'"
        ))
        .await;
    assert_eq!(audited, "otc.payments.v1.PaymentApplied/0.00/600.00");

    // A cancelled order leaves exposure; nothing is released twice.
    suite.order_cancelled(&third, &customer).await;
    suite.wait_for_events_applied(5, WAIT).await;
    let after = check(&suite, &customer, &second, "200.00").await;
    assert_eq!(decision(&after), CreditDecision::Approve, "{after:?}");
    assert_eq!(amount(after.exposure.as_ref()), dec("700"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all_released = suite
        .collections_events(CUSTOMER_CREDIT_RELEASED, 2, Duration::from_secs(3))
        .await;
    assert_eq!(all_released.len(), 1, "one release per transition");
    let audited: i64 = suite
        .scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE entity_id = '{customer}' AND action = 'credit.released' AND actor = 'system:credit-control'"
        ))
        .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn shipped_amounts_leave_unbilled_and_become_receivables() {
    let suite = CollectionsSuite::start("coll_unbilled", &[]).await;
    let (customer, _) = customer_owing(&suite, "100.00", &days_ago(0)).await;
    set_limit(&suite, &customer, "10000.00").await;
    let order = id();
    suite.order_approved(&order, &customer, "1000.00").await;
    suite.shipment(&order, &customer, "400.00").await;
    suite.wait_for_events_applied(4, WAIT).await;
    let profile = suite
        .limits()
        .get_credit_profile(suite.as_role(
            GetCreditProfileRequest {
                customer_id: customer.clone(),
                history_page: None,
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(profile.open_receivables.as_ref()), dec("100"));
    assert_eq!(amount(profile.unbilled_orders.as_ref()), dec("600"));
    assert_eq!(amount(profile.exposure.as_ref()), dec("700"));
    assert_eq!(profile.standing, "APPROVE");
    assert_eq!(profile.history.len(), 1);
    assert_eq!(profile.history[0].reason, "annual review");
    assert_eq!(profile.history[0].changed_by, "test-user");
}

#[tokio::test]
async fn items_overdue_beyond_the_policy_hold_new_orders() {
    let suite = CollectionsSuite::start("coll_overdue", &[]).await;
    let (customer, _) = customer_owing(&suite, "50.00", &days_ago(45)).await;
    set_limit(&suite, &customer, "1000.00").await;
    let held = check(&suite, &customer, &id(), "10.00").await;
    assert_eq!(decision(&held), CreditDecision::Hold);
    assert_eq!(
        held.reason,
        format!(
            "1 item(s) more than 30 days overdue (oldest due {})",
            days_ago(45)
        )
    );
    // A tenant admin allows 60 days: the customer is released, and orders pass.
    let policy = suite
        .limits()
        .set_credit_policy(suite.as_role(
            SetCreditPolicyRequest {
                overdue_hold_days: 60,
                default_credit_limit: None,
                expected_version: 0,
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(policy.overdue_hold_days, 60);
    assert_eq!(policy.version, 1);
    let released = suite
        .collections_events(CUSTOMER_CREDIT_RELEASED, 1, WAIT)
        .await;
    assert_eq!(released.len(), 1);
    let approved = check(&suite, &customer, &id(), "10.00").await;
    assert_eq!(decision(&approved), CreditDecision::Approve, "{approved:?}");
    // A credit manager may not change the policy.
    let refused = suite
        .limits()
        .set_credit_policy(suite.as_role(SetCreditPolicyRequest::default(), Role::CreditManager))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_customer_without_a_limit_is_held_until_one_is_set() {
    let suite = CollectionsSuite::start("coll_nolimit", &[]).await;
    let (customer, _) = customer_owing(&suite, "10.00", &days_ago(0)).await;
    let held = check(&suite, &customer, &id(), "10.00").await;
    assert_eq!(decision(&held), CreditDecision::Hold);
    assert_eq!(held.reason, "no credit limit set");
    assert!(held.credit_limit.is_none());
    assert_eq!(amount(held.exposure.as_ref()), dec("20"));
    let held_events = suite
        .collections_events(CUSTOMER_CREDIT_HELD, 1, WAIT)
        .await;
    let event =
        events_proto::CustomerCreditHeld::decode(held_events[0].payload.as_slice()).unwrap();
    assert_eq!(event.reason, "no credit limit set");
    assert_eq!(event.trigger, "CheckCredit");

    let profile = set_limit(&suite, &customer, "500.00").await;
    assert!(!profile.on_hold, "released by the new limit: {profile:?}");
    let released = suite
        .collections_events(CUSTOMER_CREDIT_RELEASED, 1, WAIT)
        .await;
    let event =
        events_proto::CustomerCreditReleased::decode(released[0].payload.as_slice()).unwrap();
    assert_eq!(amount(event.credit_limit.as_ref()), dec("500"));
    let trigger: String = suite
        .scalar(&format!(
            "SELECT after_state->>'trigger' FROM audit_log WHERE entity_id = '{customer}' AND action = 'credit.released'"
        ))
        .await;
    assert_eq!(trigger, "credit_limit.set");
    // Every change is kept: who, when, why, from what.
    let raised = suite
        .limits()
        .set_credit_limit(suite.as_role(
            SetCreditLimitRequest {
                customer_id: customer.clone(),
                credit_limit: Some(money("750.00", "EUR")),
                risk_class: String::new(),
                reason: "paid on time for a year".into(),
                expected_version: 1,
            },
            Role::CreditManager,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(raised.version, 2);
    assert_eq!(raised.history.len(), 2);
    let latest = &raised.history[0];
    assert_eq!(latest.reason, "paid on time for a year");
    assert_eq!(amount(latest.previous_limit.as_ref()), dec("500"));
    assert_eq!(latest.previous_risk_class, "B");
    let stale = suite
        .limits()
        .set_credit_limit(suite.as_role(
            SetCreditLimitRequest {
                customer_id: customer.clone(),
                credit_limit: Some(money("900.00", "EUR")),
                risk_class: String::new(),
                reason: "second opinion".into(),
                expected_version: 1,
            },
            Role::CreditManager,
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let audited: i64 = suite
        .scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE entity_id = '{customer}' AND action = 'credit_limit.set' AND actor = 'test-user'"
        ))
        .await;
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn credit_calls_are_role_checked_validated_and_tenant_scoped() {
    let suite = CollectionsSuite::start("coll_auth", &[]).await;
    let (customer, _) = customer_owing(&suite, "300.00", &days_ago(0)).await;
    set_limit(&suite, &customer, "1000.00").await;
    let request = CheckCreditRequest {
        customer_id: customer.clone(),
        order_id: id(),
        order_amount: Some(money("10.00", "EUR")),
    };

    let anonymous = suite
        .credit()
        .check_credit(tonic::Request::new(request.clone()))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    for role in [Role::SalesAssociate, Role::CreditManager] {
        let refused = suite
            .credit()
            .check_credit(suite.as_role(request.clone(), role))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{role}");
    }
    let collector = suite
        .limits()
        .set_credit_limit(suite.as_role(
            SetCreditLimitRequest {
                customer_id: customer.clone(),
                credit_limit: Some(money("1.00", "EUR")),
                reason: "why not".into(),
                ..Default::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap_err();
    assert_eq!(collector.code(), Code::PermissionDenied);

    let invalid = suite
        .limits()
        .set_credit_limit(suite.as_role(
            SetCreditLimitRequest {
                customer_id: "not-a-uuid".into(),
                credit_limit: Some(money("-5.00", "EUR")),
                risk_class: "E".into(),
                reason: "  ".into(),
                expected_version: 0,
            },
            Role::CreditManager,
        ))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    let fields: Vec<String> = tonic_types::StatusExt::get_error_details(&invalid)
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|violation| violation.field.clone())
        .collect();
    assert_eq!(
        fields,
        ["customer_id", "risk_class", "reason", "credit_limit.amount"]
    );
    let unknown = suite
        .limits()
        .set_credit_limit(suite.as_role(
            SetCreditLimitRequest {
                customer_id: id(),
                credit_limit: Some(money("5.00", "EUR")),
                reason: "new customer".into(),
                ..Default::default()
            },
            Role::CreditManager,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let bad_check = suite
        .credit()
        .check_credit(suite.as_role(
            CheckCreditRequest {
                customer_id: customer.clone(),
                order_id: String::new(),
                order_amount: Some(money("ten", "EUR")),
            },
            Role::Service,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_check.code(), Code::InvalidArgument);

    // Another tenant knows nothing of this customer, and its service asking
    // about it sees none of its receivables nor its limit.
    let globex = |message| otc_testkit::billing::request(message, "globex", &[Role::CreditManager]);
    let hidden = suite
        .limits()
        .get_credit_profile(globex(GetCreditProfileRequest {
            customer_id: customer.clone(),
            history_page: None,
        }))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let foreign = suite
        .credit()
        .check_credit(otc_testkit::billing::request(
            request.clone(),
            "globex",
            &[Role::Service],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision(&foreign), CreditDecision::Hold);
    assert_eq!(foreign.reason, "no credit limit set");
    assert_eq!(amount(foreign.open_receivables.as_ref()), dec("0"));
    let foreign_view = suite
        .limits()
        .get_credit_profile(globex(GetCreditProfileRequest {
            customer_id: customer.clone(),
            history_page: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(foreign_view.customer_name.is_empty(), "{foreign_view:?}");
    assert!(foreign_view.credit_limit.is_none());
    assert!(foreign_view.history.is_empty());
    // And its own tenant still sees its figures.
    let own = check(&suite, &customer, &id(), "10.00").await;
    assert_eq!(amount(own.open_receivables.as_ref()), dec("300"));
}

/// Many checks of two customers at once (and of a second tenant asking
/// about the same customer id): approvals never add up beyond a limit,
/// every hold was over it when decided, asking again changes nothing, and
/// each customer's hold is told once.
#[tokio::test]
async fn concurrent_checks_of_one_customer_never_approve_beyond_its_limit() {
    let suite = CollectionsSuite::start("coll_concurrent", &[]).await;
    let (first, _) = customer_owing(&suite, "100.00", &days_ago(0)).await;
    let (second, _) = customer_owing(&suite, "50.00", &days_ago(0)).await;
    set_limit(&suite, &first, "1000.00").await;
    set_limit(&suite, &second, "600.00").await;
    let amounts = ["40.00", "75.50", "120.25", "99.99", "10.01", "63.20"];
    let orders: Vec<(String, String, &str)> = (0..90)
        .map(|index| {
            let customer = if index % 3 == 2 { &second } else { &first };
            (customer.clone(), id(), amounts[index % amounts.len()])
        })
        .collect();
    let ask_all = || {
        futures::future::join_all(
            orders
                .iter()
                .map(|(customer, order, amount)| check(&suite, customer, order, amount)),
        )
    };
    let other_tenant = futures::future::join_all((0..10).map(|_| {
        let mut client = suite.credit();
        let request = otc_testkit::billing::request(
            CheckCreditRequest {
                customer_id: first.clone(),
                order_id: id(),
                order_amount: Some(money("1.00", "EUR")),
            },
            "globex",
            &[Role::Service],
        );
        async move { client.check_credit(request).await }
    }));
    let (answers, foreign) = tokio::join!(ask_all(), other_tenant);
    for answer in foreign {
        let answer = answer.unwrap().into_inner();
        assert_eq!(decision(&answer), CreditDecision::Hold);
        assert_eq!(answer.reason, "no credit limit set");
        assert_eq!(amount(answer.open_receivables.as_ref()), Decimal::ZERO);
    }

    for (customer, receivables, limit) in [(&first, "100", "1000"), (&second, "50", "600")] {
        let (receivables, limit) = (dec(receivables), dec(limit));
        let mine: Vec<(&str, Decimal, CreditDecision)> = orders
            .iter()
            .zip(&answers)
            .filter(|((owner, _, _), _)| owner == customer)
            .map(|((_, order, asked), answer)| (order.as_str(), dec(asked), decision(answer)))
            .collect();
        let approved: Decimal = mine
            .iter()
            .filter(|(_, _, decided)| *decided == CreditDecision::Approve)
            .map(|(_, asked, _)| *asked)
            .sum();
        let held: Vec<Decimal> = mine
            .iter()
            .filter(|(_, _, decided)| *decided == CreditDecision::Hold)
            .map(|(_, asked, _)| *asked)
            .collect();
        assert!(
            receivables + approved <= limit,
            "{customer}: {approved} approved over {receivables} owed breaks {limit}"
        );
        assert!(!held.is_empty(), "{customer}: 30 orders cannot all fit");
        for asked in &held {
            assert!(
                receivables + approved + asked > limit,
                "{customer}: {asked} was held although it fits beside {approved}"
            );
        }
        let reserved: Decimal = suite
            .scalar(&format!(
                "SELECT COALESCE(SUM(order_total), 0) FROM unbilled_orders WHERE tenant = '{tenant}' AND customer_id = '{customer}' AND state = 'reserved'",
                tenant = suite.tenant
            ))
            .await;
        assert_eq!(reserved, approved, "{customer}: stored as answered");
        let held_stored: i64 = suite
            .count(&format!(
                "SELECT count(*) FROM unbilled_orders WHERE tenant = '{tenant}' AND customer_id = '{customer}' AND state = 'held'",
                tenant = suite.tenant
            ))
            .await;
        assert_eq!(usize::try_from(held_stored).unwrap(), held.len());
        let audited: i64 = suite
            .count(&format!(
                "SELECT count(*) FROM audit_log WHERE tenant = '{tenant}' AND entity_id = '{customer}' AND action = 'credit.held'",
                tenant = suite.tenant
            ))
            .await;
        assert_eq!(audited, 1, "{customer}: one hold, audited once");
    }

    // Asking about every order again, all at once, decides each the same
    // way and counts nothing twice.
    let again = ask_all().await;
    for (before, after) in answers.iter().zip(&again) {
        assert_eq!(decision(before), decision(after));
    }
    let reserved_again: Decimal = suite
        .scalar(&format!(
            "SELECT COALESCE(SUM(order_total), 0) FROM unbilled_orders WHERE tenant = '{}' AND state = 'reserved'",
            suite.tenant
        ))
        .await;
    let approved_total: Decimal = orders
        .iter()
        .zip(&answers)
        .filter(|(_, answer)| decision(answer) == CreditDecision::Approve)
        .map(|((_, _, asked), _)| dec(asked))
        .sum();
    assert_eq!(reserved_again, approved_total);
    // One per customer of this tenant, and the other tenant's own hold of
    // the customer it knows nothing of (no limit there).
    let held_events = suite
        .collections_events(CUSTOMER_CREDIT_HELD, 4, Duration::from_secs(10))
        .await;
    let mut held_keys: Vec<String> = held_events
        .iter()
        .filter_map(|record| record.key.clone())
        .collect();
    held_keys.sort();
    let mut expected = vec![first.clone(), first.clone(), second.clone()];
    expected.sort();
    assert_eq!(
        held_keys, expected,
        "one CustomerCreditHeld per customer and tenant"
    );
}

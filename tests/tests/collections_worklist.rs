#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The collector worklist in the collections service as a process against
//! the real PostgreSQL and Kafka: ranking by the documented formula on a
//! hand-computed data set, keyset pages, filters, assignment by segment,
//! by region and by hand, promise, dispute and contact state with the next
//! action, roles, validation and tenant isolation.

use std::time::Duration;

use chrono::{Days, Utc};
use prost::Message;
use rust_decimal::Decimal;
use tonic::Code;
use uuid::Uuid;

use otc_proto::collections::*;
use otc_proto::events as events_proto;
use otc_shared::auth::Role;
use otc_testkit::collections::{
    COLLECTOR_CONTACT_RECORDED, CUSTOMER_COLLECTOR_ASSIGNED, CollectionsSuite, Issued, money,
};
use otc_testkit::unique_suffix;

const WAIT: Duration = Duration::from_secs(60);

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn days_ago(days: u64) -> String {
    Utc::now()
        .date_naive()
        .checked_sub_days(Days::new(days))
        .unwrap()
        .to_string()
}

fn days_ahead(days: u64) -> String {
    Utc::now()
        .date_naive()
        .checked_add_days(Days::new(days))
        .unwrap()
        .to_string()
}

/// The customers of the data set, each with what it owes.
struct DataSet {
    /// smb, DE-BY, risk C: 1000.00 EUR 10 days overdue.
    alpha: String,
    alpha_invoice: String,
    /// smb, FR, risk A: 2000.00 USD (1800.00 EUR) 20 days and 100.00 EUR
    /// 400 days overdue.
    beta: String,
    /// enterprise, DE-BY, no risk class: 500.00 EUR 50 days overdue, and
    /// 9999.00 EUR not due yet.
    gamma: String,
    gamma_invoice: String,
    /// enterprise, FR, risk D: 300.00 EUR 5 days overdue.
    delta: String,
    /// public, IT, risk B: 1000.00 EUR 3 days overdue.
    epsilon: String,
    epsilon_invoice: String,
    /// smb, DE-BY: nothing overdue (due in 10 days).
    zeta: String,
}

/// Hand-computed scores: sum(functional open x min(days, 365)) x weight.
/// beta:  (1800.00 x 20 + 100.00 x 365) x 0.75 = (36000 + 36500) x 0.75 = 54375
/// gamma: 500.00 x 50 x 1.00 = 25000 (the invoice not due counts nothing)
/// alpha: 1000.00 x 10 x 1.50 = 15000
/// delta: 300.00 x 5 x 2.00 = 3000
/// epsilon: 1000.00 x 3 x 1.00 = 3000 (a tie with delta: by customer id)
fn expected_order(data: &DataSet) -> Vec<(String, Decimal)> {
    let (first_tie, second_tie) = if data.delta < data.epsilon {
        (&data.delta, &data.epsilon)
    } else {
        (&data.epsilon, &data.delta)
    };
    vec![
        (data.beta.clone(), dec("54375")),
        (data.gamma.clone(), dec("25000")),
        (data.alpha.clone(), dec("15000")),
        (first_tie.clone(), dec("3000")),
        (second_tie.clone(), dec("3000")),
    ]
}

fn id() -> String {
    Uuid::now_v7().to_string()
}

async fn invoice(
    suite: &CollectionsSuite,
    customer: &str,
    total: &str,
    currency: &str,
    functional: &str,
    due_date: &str,
) -> String {
    let invoice_id = id();
    suite
        .invoice(
            &Issued {
                id: &invoice_id,
                number: &format!("INV-{}", &invoice_id[24..]),
                customer_id: customer,
                total,
                currency,
                due_date,
                functional: Some((functional, "EUR")),
            },
            None,
        )
        .await;
    invoice_id
}

async fn risk_class(suite: &CollectionsSuite, customer: &str, class: &str) {
    suite
        .limits()
        .set_credit_limit(suite.as_role(
            SetCreditLimitRequest {
                customer_id: customer.into(),
                credit_limit: Some(money("100000.00", "EUR")),
                risk_class: class.into(),
                reason: "annual review".into(),
                expected_version: 0,
            },
            Role::CreditManager,
        ))
        .await
        .unwrap();
}

async fn seed(suite: &CollectionsSuite) -> DataSet {
    let tenant = suite.tenant.clone();
    let data = DataSet {
        alpha: id(),
        alpha_invoice: String::new(),
        beta: id(),
        gamma: id(),
        gamma_invoice: String::new(),
        delta: id(),
        epsilon: id(),
        epsilon_invoice: String::new(),
        zeta: id(),
    };
    for (customer, name, segment, region) in [
        (&data.alpha, "Alpha GmbH", "smb", "DE-BY"),
        (&data.beta, "Beta SARL", "smb", "FR"),
        (&data.gamma, "Gamma AG", "enterprise", "DE-BY"),
        (&data.delta, "Delta SA", "enterprise", "FR"),
        (&data.epsilon, "Epsilon SpA", "public", "IT"),
        (&data.zeta, "Zeta KG", "smb", "DE-BY"),
    ] {
        suite
            .customer_of(&tenant, customer, name, segment, region)
            .await;
    }
    let alpha_invoice = invoice(
        suite,
        &data.alpha,
        "1000.00",
        "EUR",
        "1000.00",
        &days_ago(10),
    )
    .await;
    invoice(
        suite,
        &data.beta,
        "2000.00",
        "USD",
        "1800.00",
        &days_ago(20),
    )
    .await;
    invoice(suite, &data.beta, "100.00", "EUR", "100.00", &days_ago(400)).await;
    let gamma_invoice = invoice(suite, &data.gamma, "500.00", "EUR", "500.00", &days_ago(50)).await;
    invoice(
        suite,
        &data.gamma,
        "9999.00",
        "EUR",
        "9999.00",
        &days_ahead(10),
    )
    .await;
    invoice(suite, &data.delta, "300.00", "EUR", "300.00", &days_ago(5)).await;
    let epsilon_invoice = invoice(
        suite,
        &data.epsilon,
        "1000.00",
        "EUR",
        "1000.00",
        &days_ago(3),
    )
    .await;
    invoice(
        suite,
        &data.zeta,
        "700.00",
        "EUR",
        "700.00",
        &days_ahead(10),
    )
    .await;
    suite.wait_for_events_applied(14, WAIT).await;
    for (customer, class) in [
        (&data.alpha, "C"),
        (&data.beta, "A"),
        (&data.delta, "D"),
        (&data.epsilon, "B"),
    ] {
        risk_class(suite, customer, class).await;
    }
    DataSet {
        alpha_invoice,
        gamma_invoice,
        epsilon_invoice,
        ..data
    }
}

fn all_customers() -> GetWorklistRequest {
    GetWorklistRequest {
        all_customers: true,
        ..GetWorklistRequest::default()
    }
}

async fn worklist(
    suite: &CollectionsSuite,
    request: GetWorklistRequest,
    subject: &str,
    role: Role,
) -> Vec<WorklistRow> {
    suite
        .worklist()
        .get_worklist(suite.as_user(request, subject, &[role]))
        .await
        .unwrap()
        .into_inner()
        .rows
}

fn customers(rows: &[WorklistRow]) -> Vec<String> {
    rows.iter().map(|row| row.customer_id.clone()).collect()
}

async fn list_of(suite: &CollectionsSuite, collector: &str) -> Vec<String> {
    customers(
        &worklist(
            suite,
            GetWorklistRequest::default(),
            collector,
            Role::Collector,
        )
        .await,
    )
}

async fn unassigned(suite: &CollectionsSuite) -> Vec<String> {
    let request = GetWorklistRequest {
        unassigned: true,
        ..GetWorklistRequest::default()
    };
    customers(&worklist(suite, request, "carla", Role::CreditManager).await)
}

async fn set_rule(
    suite: &CollectionsSuite,
    collector: &str,
    segment: &str,
    region: &str,
    priority: u32,
) -> AssignmentRule {
    suite
        .worklist()
        .set_assignment_rule(suite.as_user(
            SetAssignmentRuleRequest {
                collector: collector.into(),
                segment: segment.into(),
                region: region.into(),
                priority,
                ..SetAssignmentRuleRequest::default()
            },
            "carla",
            &[Role::CreditManager],
        ))
        .await
        .unwrap()
        .into_inner()
}

async fn assign(suite: &CollectionsSuite, customer: &str, collector: &str) -> CustomerAssignment {
    suite
        .worklist()
        .assign_customer(suite.as_user(
            AssignCustomerRequest {
                customer_id: customer.into(),
                collector: collector.into(),
                reason: "key account".into(),
            },
            "carla",
            &[Role::CreditManager],
        ))
        .await
        .unwrap()
        .into_inner()
}

fn fields_of(status: &tonic::Status) -> Vec<String> {
    let mut fields: Vec<String> = tonic_types::StatusExt::get_error_details(status)
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|violation| violation.field.clone())
        .collect();
    fields.sort();
    fields
}

#[tokio::test]
async fn the_worklist_ranks_by_the_formula_and_follows_assignment_rules() {
    let suite = CollectionsSuite::start("coll_worklist_rank", &[]).await;
    let data = seed(&suite).await;
    let expected = expected_order(&data);

    // Everyone's list, as a credit manager sees it: the formula's order.
    let rows = worklist(&suite, all_customers(), "carla", Role::CreditManager).await;
    let ranked: Vec<(String, Decimal)> = rows
        .iter()
        .map(|row| (row.customer_id.clone(), dec(&row.score)))
        .collect();
    assert_eq!(ranked, expected);
    assert!(!customers(&rows).contains(&data.zeta), "nothing overdue");
    let beta = &rows[0];
    assert_eq!(beta.customer_name, "Beta SARL");
    assert_eq!((beta.segment.as_str(), beta.region.as_str()), ("smb", "FR"));
    assert_eq!(beta.risk_class, "A");
    assert_eq!(beta.overdue_items, 2);
    assert_eq!(beta.oldest_days_past_due, 400);
    let functional = beta.overdue_functional.as_ref().unwrap();
    assert_eq!(
        (dec(&functional.amount), functional.currency_code.as_str()),
        (dec("1900.00"), "EUR")
    );
    let per_currency: Vec<(String, Decimal)> = beta
        .overdue
        .iter()
        .map(|amount| (amount.currency_code.clone(), dec(&amount.amount)))
        .collect();
    assert_eq!(
        per_currency,
        vec![
            ("EUR".to_owned(), dec("100.00")),
            ("USD".to_owned(), dec("2000.00"))
        ]
    );
    let gamma = &rows[1];
    assert_eq!((gamma.risk_class.as_str(), gamma.overdue_items), ("", 1));
    assert_eq!(gamma.next_action.as_ref().unwrap().code, "CALL");
    assert_eq!(rows[2].next_action.as_ref().unwrap().code, "SEND_REMINDER");
    assert_eq!(rows[2].next_action.as_ref().unwrap().due_date, days_ago(0));
    assert!(rows.iter().all(|row| row.assignment == "UNASSIGNED"));

    // Keyset pages of two walk the same order, across the tie.
    let mut paged = Vec::new();
    let mut token = String::new();
    for _ in 0..5 {
        let answer = suite
            .worklist()
            .get_worklist(suite.as_role(
                GetWorklistRequest {
                    page: Some(otc_proto::types::PageRequest {
                        page_size: 2,
                        page_token: token.clone(),
                    }),
                    ..all_customers()
                },
                Role::Executive,
            ))
            .await
            .unwrap()
            .into_inner();
        paged.extend(customers(&answer.rows));
        token = answer.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let expected_ids: Vec<String> = expected.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(paged, expected_ids);

    // Filters: currency, segment, minimum score.
    let usd = GetWorklistRequest {
        currency_code: "USD".into(),
        ..all_customers()
    };
    assert_eq!(
        customers(&worklist(&suite, usd, "carla", Role::CreditManager).await),
        vec![data.beta.clone()]
    );
    let enterprise = GetWorklistRequest {
        segment: "Enterprise".into(),
        ..all_customers()
    };
    assert_eq!(
        customers(&worklist(&suite, enterprise, "carla", Role::CreditManager).await),
        vec![data.gamma.clone(), data.delta.clone()]
    );
    let high = GetWorklistRequest {
        min_score: "25000".into(),
        ..all_customers()
    };
    assert_eq!(
        customers(&worklist(&suite, high, "carla", Role::CreditManager).await),
        vec![data.beta.clone(), data.gamma.clone()]
    );

    // Rules: smb to sam, DE-BY to rita, same priority: alpha (smb in DE-BY)
    // goes to the older rule.
    let by_segment = set_rule(&suite, "sam", "smb", "", 10).await;
    let by_region = set_rule(&suite, "rita", "", "DE-BY", 10).await;
    assert_eq!(by_segment.created_by, "carla");
    assert_eq!(
        list_of(&suite, "sam").await,
        vec![data.beta.clone(), data.alpha.clone()]
    );
    assert_eq!(list_of(&suite, "rita").await, vec![data.gamma.clone()]);
    let (first_tie, second_tie) = (expected[3].0.clone(), expected[4].0.clone());
    assert_eq!(
        unassigned(&suite).await,
        vec![first_tie.clone(), second_tie.clone()]
    );
    let rows = worklist(
        &suite,
        GetWorklistRequest::default(),
        "sam",
        Role::Collector,
    )
    .await;
    assert_eq!(
        (rows[0].collector.as_str(), rows[0].assignment.as_str()),
        ("sam", "RULE")
    );

    // A more specific rule of the same priority wins over both.
    let specific = set_rule(&suite, "bo", "SMB", "de-by", 10).await;
    assert_eq!(list_of(&suite, "bo").await, vec![data.alpha.clone()]);
    assert_eq!(list_of(&suite, "sam").await, vec![data.beta.clone()]);
    let rules = suite
        .worklist()
        .list_assignment_rules(suite.as_role(ListAssignmentRulesRequest {}, Role::Executive))
        .await
        .unwrap()
        .into_inner()
        .rules;
    let order: Vec<String> = rules.iter().map(|rule| rule.rule_id.clone()).collect();
    assert_eq!(
        order,
        vec![
            specific.rule_id.clone(),
            by_segment.rule_id.clone(),
            by_region.rule_id.clone()
        ]
    );

    // By hand: delta to sam overrides that no rule matches it.
    let manual = assign(&suite, &data.delta, "sam").await;
    assert_eq!(
        (manual.collector.as_str(), manual.assignment.as_str()),
        ("sam", "MANUAL")
    );
    assert_eq!(
        list_of(&suite, "sam").await,
        vec![data.beta.clone(), data.delta.clone()]
    );
    assert_eq!(unassigned(&suite).await, vec![data.epsilon.clone()]);
    // By hand over a rule: alpha to rita, then back to the rules (bo).
    assign(&suite, &data.alpha, "rita").await;
    assert_eq!(
        list_of(&suite, "rita").await,
        vec![data.gamma.clone(), data.alpha.clone()]
    );
    let back = assign(&suite, &data.alpha, "").await;
    assert_eq!(
        (
            back.collector.as_str(),
            back.assignment.as_str(),
            back.rule_id.as_str()
        ),
        ("bo", "RULE", specific.rule_id.as_str())
    );
    assert_eq!(list_of(&suite, "bo").await, vec![data.alpha.clone()]);

    // A rule changed (with its version) and deleted.
    let moved = suite
        .worklist()
        .set_assignment_rule(suite.as_user(
            SetAssignmentRuleRequest {
                rule_id: by_region.rule_id.clone(),
                expected_version: by_region.version,
                collector: "rita".into(),
                region: "IT".into(),
                priority: 10,
                ..SetAssignmentRuleRequest::default()
            },
            "carla",
            &[Role::CreditManager],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.version, by_region.version + 1);
    assert_eq!(list_of(&suite, "rita").await, vec![data.epsilon.clone()]);
    let stale = suite
        .worklist()
        .set_assignment_rule(suite.as_user(
            SetAssignmentRuleRequest {
                rule_id: by_region.rule_id.clone(),
                expected_version: by_region.version,
                collector: "rita".into(),
                region: "FR".into(),
                priority: 10,
                ..SetAssignmentRuleRequest::default()
            },
            "carla",
            &[Role::CreditManager],
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    suite
        .worklist()
        .delete_assignment_rule(suite.as_user(
            DeleteAssignmentRuleRequest {
                rule_id: specific.rule_id.clone(),
            },
            "carla",
            &[Role::CreditManager],
        ))
        .await
        .unwrap();
    assert_eq!(
        list_of(&suite, "sam").await,
        vec![data.beta.clone(), data.alpha.clone(), data.delta.clone()]
    );
    assert!(list_of(&suite, "bo").await.is_empty());

    // Every change is audited; manual assignments are published.
    let audited = suite
        .count(
            "SELECT count(*) FROM audit_log WHERE action IN ('worklist_rule.created',
               'worklist_rule.changed', 'worklist_rule.deleted', 'worklist_assignment.set',
               'worklist_assignment.cleared')",
        )
        .await;
    assert_eq!(audited, 3 + 1 + 1 + 2 + 1);
    let assigned = suite
        .collections_events(CUSTOMER_COLLECTOR_ASSIGNED, 3, WAIT)
        .await;
    assert_eq!(assigned.len(), 3);
    let decoded: Vec<events_proto::CustomerCollectorAssigned> = assigned
        .iter()
        .map(|record| {
            events_proto::CustomerCollectorAssigned::decode(record.payload.as_slice()).unwrap()
        })
        .collect();
    let cleared = decoded
        .iter()
        .find(|event| event.collector.is_empty())
        .unwrap();
    assert_eq!(cleared.customer_id, data.alpha);
    assert_eq!(
        (
            cleared.collector.as_str(),
            cleared.previous_collector.as_str()
        ),
        ("", "rita")
    );

    // Another tenant: its customers never show here, ours never there.
    let other = format!("globex{}", &unique_suffix()[..6]);
    let stranger = id();
    suite
        .customer_of(&other, &stranger, "Fremd GmbH", "smb", "DE-BY")
        .await;
    let foreign_invoice = id();
    suite
        .invoice_of(
            &other,
            &Issued {
                id: &foreign_invoice,
                number: "INV-X-1",
                customer_id: &stranger,
                total: "99999.00",
                currency: "EUR",
                due_date: &days_ago(100),
                functional: Some(("99999.00", "EUR")),
            },
        )
        .await;
    suite.wait_for_events_applied(16, WAIT).await;
    suite
        .worklist()
        .set_assignment_rule(suite.as_user_of(
            &other,
            SetAssignmentRuleRequest {
                collector: "sam".into(),
                segment: "smb".into(),
                priority: 1,
                ..SetAssignmentRuleRequest::default()
            },
            "gus",
            &[Role::CreditManager],
        ))
        .await
        .unwrap();
    let ours = worklist(&suite, all_customers(), "carla", Role::CreditManager).await;
    assert_eq!(customers(&ours), expected_ids);
    assert!(!list_of(&suite, "sam").await.contains(&stranger));
    let theirs = suite
        .worklist()
        .get_worklist(suite.as_user_of(&other, all_customers(), "gus", &[Role::CreditManager]))
        .await
        .unwrap()
        .into_inner()
        .rows;
    assert_eq!(customers(&theirs), vec![stranger.clone()]);
    assert_eq!(theirs[0].collector, "sam");
    let their_rules = suite
        .worklist()
        .list_assignment_rules(suite.as_user_of(
            &other,
            ListAssignmentRulesRequest {},
            "gus",
            &[Role::CreditManager],
        ))
        .await
        .unwrap()
        .into_inner()
        .rules;
    assert_eq!(their_rules.len(), 1);
    let not_theirs = suite
        .worklist()
        .assign_customer(suite.as_user_of(
            &other,
            AssignCustomerRequest {
                customer_id: data.beta.clone(),
                collector: "gus".into(),
                reason: String::new(),
            },
            "gus",
            &[Role::CreditManager],
        ))
        .await
        .unwrap_err();
    assert_eq!(not_theirs.code(), Code::NotFound);
    let not_their_rule = suite
        .worklist()
        .delete_assignment_rule(suite.as_user_of(
            &other,
            DeleteAssignmentRuleRequest {
                rule_id: by_segment.rule_id.clone(),
            },
            "gus",
            &[Role::CreditManager],
        ))
        .await
        .unwrap_err();
    assert_eq!(not_their_rule.code(), Code::NotFound);
}

#[tokio::test]
async fn promises_disputes_and_contacts_show_and_decide_the_next_action() {
    let suite = CollectionsSuite::start("coll_worklist_work", &[]).await;
    let data = seed(&suite).await;
    set_rule(&suite, "sam", "smb", "", 10).await;

    // gamma promised 200.00 in a week; alpha promised today and broke it;
    // epsilon disputes everything it owes.
    let open_promise = suite
        .promises()
        .record_promise(suite.as_user(
            RecordPromiseRequest {
                idempotency_key: "gamma-1".into(),
                customer_id: data.gamma.clone(),
                item_ids: vec![data.gamma_invoice.clone()],
                amount: Some(money("200.00", "EUR")),
                promised_date: days_ahead(7),
                note: String::new(),
            },
            "rita",
            &[Role::Collector],
        ))
        .await;
    assert_eq!(open_promise.unwrap().into_inner().state, "OPEN");
    suite
        .promises()
        .record_promise(suite.as_user(
            RecordPromiseRequest {
                idempotency_key: "alpha-1".into(),
                customer_id: data.alpha.clone(),
                item_ids: vec![data.alpha_invoice.clone()],
                amount: Some(money("1000.00", "EUR")),
                promised_date: days_ahead(0),
                note: String::new(),
            },
            "sam",
            &[Role::Collector],
        ))
        .await
        .unwrap();
    let evaluated = suite
        .promises()
        .evaluate_promises(suite.as_role(
            EvaluatePromisesRequest {
                as_of: days_ahead(1),
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((evaluated.broken, evaluated.still_open), (1, 1));
    suite
        .disputes()
        .open_dispute(suite.as_role(
            OpenDisputeRequest {
                idempotency_key: "epsilon-1".into(),
                customer_id: data.epsilon.clone(),
                reason_code: "PRICING".into(),
                description: "price list not applied".into(),
                items: vec![DisputedItem {
                    item_id: data.epsilon_invoice.clone(),
                    amount: Some(money("1000.00", "EUR")),
                    ..DisputedItem::default()
                }],
                sla_due_date: days_ahead(9),
                ..OpenDisputeRequest::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap();

    let rows = worklist(&suite, all_customers(), "carla", Role::CreditManager).await;
    let row = |customer: &str| {
        rows.iter()
            .find(|row| row.customer_id == customer)
            .unwrap()
            .clone()
    };
    let gamma = row(&data.gamma);
    let promises = gamma.promises.as_ref().unwrap();
    assert_eq!(promises.open_promises, 1);
    assert_eq!(promises.broken_promises, 0);
    assert_eq!(
        dec(&promises.next_promised_amount.as_ref().unwrap().amount),
        dec("200.00")
    );
    assert_eq!(promises.next_promised_date, days_ahead(7));
    let action = gamma.next_action.unwrap();
    assert_eq!(
        (action.code.as_str(), action.due_date.as_str()),
        ("WAIT_FOR_PROMISE_DATE", days_ahead(7).as_str())
    );
    let alpha = row(&data.alpha);
    assert_eq!(alpha.promises.as_ref().unwrap().broken_promises, 1);
    assert_eq!(alpha.promises.as_ref().unwrap().open_promises, 0);
    assert_eq!(
        alpha.next_action.as_ref().unwrap().code,
        "FOLLOW_UP_BROKEN_PROMISE"
    );
    assert!(alpha.last_contact.is_none());
    let epsilon = row(&data.epsilon);
    let disputes = epsilon.disputes.as_ref().unwrap();
    assert_eq!(disputes.open_disputes, 1);
    assert!(disputes.all_overdue_disputed);
    assert_eq!(dec(&disputes.open_amount[0].amount), dec("1000.00"));
    let action = epsilon.next_action.unwrap();
    assert_eq!(
        (action.code.as_str(), action.due_date.as_str()),
        ("AWAIT_DISPUTE_RESOLUTION", days_ahead(9).as_str())
    );
    // The score does not move for promises or disputes: it is what is owed.
    assert_eq!(dec(&epsilon.score), dec("3000"));

    // sam calls alpha and plans a call back: last contact and next action follow.
    let contact =
        |key: &str, channel: &str, outcome: &str, next: &str, date: String| RecordContactRequest {
            idempotency_key: key.into(),
            customer_id: data.alpha.clone(),
            channel: channel.into(),
            outcome: outcome.into(),
            note: "spoke to the accounts payable clerk".into(),
            next_action: next.into(),
            next_action_date: date,
            contacted_at: None,
        };
    let recorded = suite
        .worklist()
        .record_contact(suite.as_user(
            contact(
                "c-1",
                "PHONE",
                "REACHED",
                "call back about the broken promise",
                days_ahead(2),
            ),
            "sam",
            &[Role::Collector],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (recorded.collector.as_str(), recorded.channel.as_str()),
        ("sam", "PHONE")
    );
    let again = suite
        .worklist()
        .record_contact(suite.as_user(
            contact(
                "c-1",
                "PHONE",
                "REACHED",
                "call back about the broken promise",
                days_ahead(2),
            ),
            "sam",
            &[Role::Collector],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.contact_id, recorded.contact_id);
    // An older letter, entered afterwards, is not the last contact.
    let mut letter = contact("c-0", "letter", "other", "", String::new());
    letter.contacted_at = Some(otc_shared::time::to_proto(
        Utc::now() - chrono::Duration::days(3),
    ));
    suite
        .worklist()
        .record_contact(suite.as_user(letter, "sam", &[Role::Collector]))
        .await
        .unwrap();
    let sams = worklist(
        &suite,
        GetWorklistRequest::default(),
        "sam",
        Role::Collector,
    )
    .await;
    let alpha = sams
        .iter()
        .find(|row| row.customer_id == data.alpha)
        .unwrap();
    let last = alpha.last_contact.as_ref().unwrap();
    assert_eq!(
        (
            last.channel.as_str(),
            last.outcome.as_str(),
            last.kind.as_str()
        ),
        ("PHONE", "REACHED", "COLLECTOR_CONTACT")
    );
    assert_eq!(last.at, recorded.contacted_at);
    let action = alpha.next_action.as_ref().unwrap();
    assert_eq!(
        (
            action.code.as_str(),
            action.description.as_str(),
            action.due_date.as_str()
        ),
        (
            "PLANNED",
            "call back about the broken promise",
            days_ahead(2).as_str()
        )
    );
    let listed = suite
        .worklist()
        .list_contacts(suite.as_role(
            ListContactsRequest {
                customer_id: data.alpha.clone(),
                page: None,
            },
            Role::CustomerServiceRepresentative,
        ))
        .await
        .unwrap()
        .into_inner()
        .contacts;
    let channels: Vec<&str> = listed
        .iter()
        .map(|contact| contact.channel.as_str())
        .collect();
    assert_eq!(channels, vec!["PHONE", "LETTER"]);
    let events = suite
        .collections_events(COLLECTOR_CONTACT_RECORDED, 2, WAIT)
        .await;
    assert_eq!(events.len(), 2);
    let event =
        events_proto::CollectorContactRecorded::decode(events[0].payload.as_slice()).unwrap();
    assert_eq!(event.customer_id, data.alpha);
    assert_eq!(event.contact_id, recorded.contact_id);
    assert_eq!(event.next_action_date, days_ahead(2));
    assert_eq!(
        suite
            .count("SELECT count(*) FROM audit_log WHERE action = 'collector_contact.recorded'")
            .await,
        2
    );

    // Every bad field is named.
    let bad = suite
        .worklist()
        .record_contact(suite.as_user(
            RecordContactRequest {
                idempotency_key: String::new(),
                customer_id: "nope".into(),
                channel: "fax".into(),
                outcome: "shouted".into(),
                next_action_date: days_ago(1),
                ..RecordContactRequest::default()
            },
            "sam",
            &[Role::Collector],
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        fields_of(&bad),
        vec![
            "channel",
            "customer_id",
            "idempotency_key",
            "next_action",
            "next_action_date",
            "outcome"
        ]
    );
    let bad_rule = suite
        .worklist()
        .set_assignment_rule(suite.as_user(
            SetAssignmentRuleRequest {
                priority: 2_000_000,
                ..SetAssignmentRuleRequest::default()
            },
            "carla",
            &[Role::CreditManager],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        fields_of(&bad_rule),
        vec!["collector", "priority", "region", "segment"]
    );
    let bad_read = suite
        .worklist()
        .get_worklist(suite.as_role(
            GetWorklistRequest {
                unassigned: true,
                all_customers: true,
                currency_code: "EURO".into(),
                min_score: "-1".into(),
                ..GetWorklistRequest::default()
            },
            Role::CreditManager,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        fields_of(&bad_read),
        vec!["all_customers", "currency_code", "min_score", "unassigned"]
    );
    let unknown = suite
        .worklist()
        .record_contact(suite.as_user(
            RecordContactRequest {
                customer_id: id(),
                ..contact("c-9", "EMAIL", "NO_ANSWER", "", String::new())
            },
            "sam",
            &[Role::Collector],
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    // Roles: collectors work their own list only; CS representatives and
    // executives read; only credit managers assign.
    let denied =
        |status: tonic::Status| assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let others_list = GetWorklistRequest {
        collector: "rita".into(),
        ..GetWorklistRequest::default()
    };
    denied(
        suite
            .worklist()
            .get_worklist(suite.as_user(others_list.clone(), "sam", &[Role::Collector]))
            .await
            .unwrap_err(),
    );
    denied(
        suite
            .worklist()
            .get_worklist(suite.as_user(
                GetWorklistRequest {
                    unassigned: true,
                    ..GetWorklistRequest::default()
                },
                "sam",
                &[Role::Collector],
            ))
            .await
            .unwrap_err(),
    );
    for role in [Role::CustomerServiceRepresentative, Role::Executive] {
        let read = worklist(
            &suite,
            GetWorklistRequest {
                collector: "sam".into(),
                ..GetWorklistRequest::default()
            },
            "viewer",
            role,
        )
        .await;
        assert_eq!(
            customers(&read),
            vec![data.beta.clone(), data.alpha.clone()],
            "{role}"
        );
        denied(
            suite
                .worklist()
                .record_contact(
                    suite.as_role(contact("c-5", "PHONE", "REACHED", "", String::new()), role),
                )
                .await
                .unwrap_err(),
        );
        denied(
            suite
                .worklist()
                .set_assignment_rule(suite.as_role(
                    SetAssignmentRuleRequest {
                        collector: "x".into(),
                        segment: "smb".into(),
                        ..SetAssignmentRuleRequest::default()
                    },
                    role,
                ))
                .await
                .unwrap_err(),
        );
        denied(
            suite
                .worklist()
                .assign_customer(suite.as_role(
                    AssignCustomerRequest {
                        customer_id: data.beta.clone(),
                        collector: "x".into(),
                        reason: String::new(),
                    },
                    role,
                ))
                .await
                .unwrap_err(),
        );
    }
    for role in [
        Role::Collector,
        Role::Executive,
        Role::CustomerServiceRepresentative,
    ] {
        denied(
            suite
                .worklist()
                .delete_assignment_rule(
                    suite.as_role(DeleteAssignmentRuleRequest { rule_id: id() }, role),
                )
                .await
                .unwrap_err(),
        );
    }
    denied(
        suite
            .worklist()
            .record_contact(suite.as_role(
                contact("c-6", "PHONE", "REACHED", "", String::new()),
                Role::CreditManager,
            ))
            .await
            .unwrap_err(),
    );
    denied(
        suite
            .worklist()
            .get_worklist(suite.as_role(all_customers(), Role::ArClerk))
            .await
            .unwrap_err(),
    );
    // Nothing refused was written.
    assert_eq!(
        suite.count("SELECT count(*) FROM collector_contacts").await,
        2
    );
    assert_eq!(
        suite
            .count("SELECT count(*) FROM worklist_assignment_rules")
            .await,
        1
    );

    // A contact's customer in another tenant is not found from here.
    let other = format!("globex{}", &unique_suffix()[..6]);
    let foreign = suite
        .worklist()
        .list_contacts(suite.as_user_of(
            &other,
            ListContactsRequest {
                customer_id: data.alpha.clone(),
                page: None,
            },
            "gus",
            &[Role::CreditManager],
        ))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);
    let foreign = suite
        .worklist()
        .record_contact(suite.as_user_of(
            &other,
            contact("c-7", "PHONE", "REACHED", "", String::new()),
            "gus",
            &[Role::Collector],
        ))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);
}

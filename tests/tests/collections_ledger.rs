#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The collections service's AR sub-ledger as a process against the real
//! PostgreSQL and Kafka: invoices, debit and credit notes, cash applied and
//! unapplied, each event delivered twice and some before the invoice they
//! move; the ledger must be the sum of its events to the cent.

use std::time::Duration;

use rust_decimal::Decimal;
use tonic::Code;
use uuid::Uuid;

use otc_proto::collections::*;
use otc_shared::auth::Role;
use otc_testkit::collections::{Application, CollectionsSuite, Issued};

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

async fn parked(suite: &CollectionsSuite) -> i64 {
    suite
        .scalar("SELECT count(*) FROM ledger_movements WHERE posted_at IS NULL")
        .await
}

async fn ledger_of(suite: &CollectionsSuite, customer_id: &str) -> CustomerLedger {
    suite
        .ledger()
        .get_customer_ledger(suite.as_role(
            GetCustomerLedgerRequest {
                customer_id: customer_id.into(),
                page: None,
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner()
}

fn balance_in<'a>(ledger: &'a CustomerLedger, currency: &str) -> &'a CurrencyBalance {
    ledger
        .balances
        .iter()
        .find(|balance| balance.balance.as_ref().unwrap().currency_code == currency)
        .unwrap_or_else(|| panic!("no {currency} balance in {ledger:#?}"))
}

#[tokio::test]
async fn the_ledger_is_the_sum_of_its_events_after_duplicates_and_out_of_order_delivery() {
    let suite = CollectionsSuite::start("coll_ledger", &[]).await;
    let customer = id();
    suite
        .customer(&customer, "Brandt Maschinenbau GmbH", "active", 1)
        .await;
    let (invoice_1, invoice_2, invoice_usd) = (id(), id(), id());
    let (debit_note, credit_note) = (id(), id());
    let (application_1, application_2, application_3, application_usd) = (id(), id(), id(), id());

    // Out of order: a payment (payments topic) and a credit note (billing
    // topic) for invoice 1 arrive before invoice 1 itself.
    let first_payment = Application {
        application_id: &application_1,
        invoice_id: &invoice_1,
        customer_id: &customer,
        amount: "300.00",
        discount: "0.00",
        currency: "EUR",
    };
    suite.payment_applied(&first_payment, None).await;
    suite
        .credit_note(
            &Issued {
                id: &credit_note,
                number: "CN-2026-000001",
                customer_id: &customer,
                total: "190.00",
                currency: "EUR",
                due_date: "",
                functional: Some(("190.00", "EUR")),
            },
            &invoice_1,
        )
        .await;
    let waiting = suite
        .wait_for_count(
            "SELECT count(*) FROM ledger_movements WHERE posted_at IS NULL",
            2,
            WAIT,
        )
        .await;
    assert_eq!(waiting, 2, "the payment and the credit note are parked");
    let early = ledger_of(&suite, &customer).await;
    assert_eq!(early.parked_movements, 2);
    assert!(
        early.balances.is_empty(),
        "parked movements count for nothing yet"
    );

    // The invoice arrives, twice under the same event id.
    let invoice_one = Issued {
        id: &invoice_1,
        number: "INV-2026-000101",
        customer_id: &customer,
        total: "1190.00",
        currency: "EUR",
        due_date: "2026-02-01",
        functional: Some(("1190.00", "EUR")),
    };
    let invoice_event = suite.invoice(&invoice_one, None).await;
    suite.invoice(&invoice_one, Some(&invoice_event)).await;
    suite
        .invoice(
            &Issued {
                id: &invoice_2,
                number: "INV-2026-000102",
                customer_id: &customer,
                total: "250.00",
                currency: "EUR",
                due_date: "2026-02-01",
                functional: Some(("250.00", "EUR")),
            },
            None,
        )
        .await;
    suite
        .debit_note(
            &Issued {
                id: &debit_note,
                number: "DN-2026-000001",
                customer_id: &customer,
                total: "40.00",
                currency: "EUR",
                due_date: "2026-03-01",
                functional: Some(("40.00", "EUR")),
            },
            &invoice_1,
        )
        .await;
    // Invoice 2 paid with an early-payment discount, the event delivered twice.
    let discounted = Application {
        application_id: &application_2,
        invoice_id: &invoice_2,
        customer_id: &customer,
        amount: "245.00",
        discount: "5.00",
        currency: "EUR",
    };
    let discounted_event = suite.payment_applied(&discounted, None).await;
    suite
        .payment_applied(&discounted, Some(&discounted_event))
        .await;
    // The first payment was wrong: unapplied (re-opens 300.00), and 700.00
    // applied instead, that one re-published under a new event id.
    suite.payment_unapplied(&first_payment).await;
    let second = Application {
        application_id: &application_3,
        invoice_id: &invoice_1,
        customer_id: &customer,
        amount: "700.00",
        discount: "0",
        currency: "EUR",
    };
    suite.payment_applied(&second, None).await;
    suite.payment_applied(&second, None).await;
    // A USD invoice booked at 0.9137 EUR per USD, a third of it paid.
    suite
        .invoice(
            &Issued {
                id: &invoice_usd,
                number: "INV-2026-000103",
                customer_id: &customer,
                total: "100.00",
                currency: "USD",
                due_date: "2026-02-01",
                functional: Some(("91.37", "EUR")),
            },
            None,
        )
        .await;
    suite
        .payment_applied(
            &Application {
                application_id: &application_usd,
                invoice_id: &invoice_usd,
                customer_id: &customer,
                amount: "33.33",
                discount: "0",
                currency: "USD",
            },
            None,
        )
        .await;

    // 1 customer + 2 parked + 3 (invoice 1 twice under one id, invoice 2,
    // debit note) + 1 (discounted, twice under one id) + 1 unapplied + 2
    // (700.00 under two ids) + USD invoice + USD payment.
    suite.wait_for_events_applied(12, WAIT).await;
    assert_eq!(parked(&suite).await, 0, "everything parked was posted");
    suite.assert_items_are_the_sum_of_their_movements().await;

    // By hand: invoices 1190.00 + 250.00 - credit note 190.00 + debit note
    // 40.00 - cash (300.00 + 245.00 - 300.00 + 700.00) - discount 5.00 = 340.00.
    let ledger = ledger_of(&suite, &customer).await;
    assert_eq!(ledger.customer_name, "Brandt Maschinenbau GmbH");
    assert_eq!(ledger.parked_movements, 0);
    let euros = balance_in(&ledger, "EUR");
    assert_eq!(amount(euros.balance.as_ref()), dec("340.00"));
    assert_eq!(euros.balance.as_ref().unwrap().amount, "340.00");
    assert_eq!(amount(euros.functional_balance.as_ref()), dec("340.00"));
    assert_eq!(euros.open_items, 2, "invoice 1 and the debit note");
    // 100.00 - 33.33 = 66.67 USD; 91.37 - round(33.33 x 0.9137) = 91.37 - 30.45.
    let dollars = balance_in(&ledger, "USD");
    assert_eq!(dollars.balance.as_ref().unwrap().amount, "66.67");
    let functional = dollars.functional_balance.as_ref().unwrap();
    assert_eq!(
        (
            functional.amount.as_str(),
            functional.currency_code.as_str()
        ),
        ("60.92", "EUR")
    );

    let open: Vec<(String, String)> = ledger
        .open_items
        .iter()
        .map(|item| {
            (
                item.number.clone(),
                item.open_amount.as_ref().unwrap().amount.clone(),
            )
        })
        .collect();
    assert!(
        open.contains(&("INV-2026-000101".into(), "300.00".into())),
        "{open:?}"
    );
    assert!(
        open.contains(&("DN-2026-000001".into(), "40.00".into())),
        "{open:?}"
    );
    assert!(
        !open.iter().any(|(number, _)| number == "INV-2026-000102"),
        "settled"
    );
    let first = ledger
        .open_items
        .iter()
        .find(|item| item.item_id == invoice_1)
        .unwrap();
    assert_eq!(first.status, "OPEN");
    assert!(first.days_overdue > 0, "due 2026-02-01");

    // Every movement once: invoices 1, 2 and USD, the debit note, the credit
    // note, cash of applications 1, 2, 3 and USD, the discount of 2, and the
    // unapplication of 1.
    let movements = suite
        .ledger()
        .list_ledger_movements(suite.as_role(
            ListLedgerMovementsRequest {
                customer_id: customer.clone(),
                ..Default::default()
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner()
        .movements;
    assert_eq!(movements.len(), 11, "{movements:#?}");
    let euro_sum: Decimal = movements
        .iter()
        .filter(|movement| movement.amount.as_ref().unwrap().currency_code == "EUR")
        .map(|movement| amount(movement.amount.as_ref()))
        .sum();
    assert_eq!(
        euro_sum,
        dec("340.00"),
        "the balance recomputed from movements"
    );
    let kinds = |kind: &str| {
        movements
            .iter()
            .filter(|movement| movement.kind == kind)
            .count()
    };
    assert_eq!(kinds("CASH_APPLIED"), 4);
    assert_eq!(kinds("DISCOUNT_TAKEN"), 1);
    assert_eq!(kinds("CASH_UNAPPLIED"), 1);
    assert_eq!(kinds("CREDIT_NOTE"), 1);
    assert_eq!(kinds("DEBIT_NOTE"), 1);
    assert_eq!(kinds("INVOICE"), 3);
}

#[tokio::test]
async fn open_items_are_listed_by_filter_and_page_and_only_to_readers_of_the_tenant() {
    let suite = CollectionsSuite::start("coll_items", &[]).await;
    let customer = id();
    suite
        .customer(&customer, "Nordwind Logistik AG", "active", 1)
        .await;
    let ids: Vec<String> = (0..3).map(|_| id()).collect();
    for (index, (item_id, due)) in ids
        .iter()
        .zip(["2020-01-10", "2020-06-10", "2999-01-01"])
        .enumerate()
    {
        suite
            .invoice(
                &Issued {
                    id: item_id,
                    number: &format!("INV-2026-00020{index}"),
                    customer_id: &customer,
                    total: "100.00",
                    currency: "EUR",
                    due_date: due,
                    functional: None,
                },
                None,
            )
            .await;
    }
    suite.wait_for_events_applied(4, WAIT).await;

    let list = |request: ListOpenItemsRequest, role: Role| {
        let request = suite.as_role(request, role);
        let mut client = suite.ledger();
        async move { client.list_open_items(request).await }
    };
    let overdue = list(
        ListOpenItemsRequest {
            customer_id: customer.clone(),
            min_days_overdue: 1,
            ..Default::default()
        },
        Role::Collector,
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(overdue.items.len(), 2, "the two past due");
    let first_page = list(
        ListOpenItemsRequest {
            customer_id: customer.clone(),
            page: Some(otc_proto::types::PageRequest {
                page_size: 2,
                page_token: String::new(),
            }),
            ..Default::default()
        },
        Role::Executive,
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(first_page.items.len(), 2);
    let token = first_page.page.unwrap().next_page_token;
    assert!(!token.is_empty());
    let second_page = list(
        ListOpenItemsRequest {
            customer_id: customer.clone(),
            page: Some(otc_proto::types::PageRequest {
                page_size: 2,
                page_token: token,
            }),
            ..Default::default()
        },
        Role::Executive,
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(second_page.items.len(), 1);
    assert_eq!(second_page.items[0].item_id, ids[2]);
    assert_eq!(second_page.items[0].days_overdue, 0);

    let refused = list(ListOpenItemsRequest::default(), Role::SalesAssociate)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let bad = list(
        ListOpenItemsRequest {
            currency_code: "EURO".into(),
            due_before: "yesterday".into(),
            ..Default::default()
        },
        Role::ArClerk,
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let fields: Vec<String> = tonic_types::StatusExt::get_error_details(&bad)
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|violation| violation.field.clone())
        .collect();
    assert_eq!(fields, ["due_before", "currency_code"]);

    // Another tenant sees none of it.
    let other =
        otc_testkit::billing::request(ListOpenItemsRequest::default(), "globex", &[Role::ArClerk]);
    let foreign = suite
        .ledger()
        .list_open_items(other)
        .await
        .unwrap()
        .into_inner();
    assert!(foreign.items.is_empty());
    let hidden = suite
        .ledger()
        .get_customer_ledger(otc_testkit::billing::request(
            GetCustomerLedgerRequest {
                customer_id: customer.clone(),
                page: None,
            },
            "globex",
            &[Role::ArClerk],
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The payments service as a process against the real PostgreSQL and Kafka:
//! receipts by gRPC cash-applied from the billing and customer projections,
//! the exception queue worked by hand (apply, split, reject), partial and
//! over-payments, refunds, reversed applications and payments (NSF),
//! short-pay deductions and early-payment discounts, idempotency, roles and
//! tenant isolation, concurrent receipts for one invoice, and the cash
//! invariant after every scenario.

use std::time::Duration;

use prost::Message;
use rust_decimal::Decimal;
use tonic::Code;
use uuid::Uuid;

use otc_proto::events as events_proto;
use otc_proto::payments::*;
use otc_shared::auth::Role;
use otc_testkit::payments::{IssuedInvoice, PaymentsSuite, money};

const WAIT: Duration = Duration::from_secs(60);

fn id() -> String {
    Uuid::now_v7().to_string()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn amount(value: &Option<otc_proto::types::Money>) -> Decimal {
    dec(&value.as_ref().unwrap().amount)
}

struct Customer {
    id: String,
}

/// A customer with one IBAN and the invoices given as (number, total),
/// projected into the payments service.
async fn customer_with_invoices(
    suite: &PaymentsSuite,
    name: &str,
    iban: &str,
    invoices: &[(&str, &str)],
) -> (Customer, Vec<String>) {
    let customer = Customer { id: id() };
    suite.customer(&customer.id, name, &[iban]).await;
    let mut ids = Vec::new();
    for (number, total) in invoices {
        let invoice_id = id();
        suite
            .invoice(&IssuedInvoice {
                invoice_id: &invoice_id,
                number,
                customer_id: &customer.id,
                total,
                currency: "EUR",
                issue_date: "2026-10-01",
                due_date: "2026-10-31",
                discount_date: "",
                discount_amount: "0",
            })
            .await;
        ids.push(invoice_id);
    }
    let expected = i64::try_from(invoices.len()).unwrap();
    let seen = suite
        .wait_for_count(
            &format!(
                "SELECT count(*) FROM open_items WHERE customer_id = '{}'",
                customer.id
            ),
            expected,
            WAIT,
        )
        .await;
    assert_eq!(seen, expected, "the invoices were not projected");
    (customer, ids)
}

fn payment(key: &str, amount: &str, remittance: &str) -> RecordPaymentRequest {
    RecordPaymentRequest {
        idempotency_key: key.into(),
        channel: Channel::Wire.into(),
        amount: Some(money(amount, "EUR")),
        value_date: "2026-11-02".into(),
        payer_name: "Unknown Payer Ltd".into(),
        payer_account: "GB33BUKB20201555555555".into(),
        remittance_text: remittance.into(),
        ..RecordPaymentRequest::default()
    }
}

async fn record(suite: &PaymentsSuite, request: RecordPaymentRequest) -> Receipt {
    suite
        .payments()
        .record_payment(suite.as_role(request, Role::CashApplicationSpecialist))
        .await
        .unwrap()
        .into_inner()
}

async fn open_amount(suite: &PaymentsSuite, invoice_id: &str) -> Decimal {
    suite
        .scalar(&format!(
            "SELECT open_amount FROM open_items WHERE id = '{invoice_id}'"
        ))
        .await
}

#[tokio::test]
async fn a_referenced_payment_is_applied_automatically_and_published() {
    let suite = PaymentsSuite::start("pay_auto", &[]).await;
    let (customer, invoices) = customer_with_invoices(
        &suite,
        "Brandt Maschinenbau GmbH",
        "DE89 3704 0044 0532 0130 00",
        &[
            ("INV-2026-000101", "1190.00"),
            ("INV-2026-000102", "250.00"),
        ],
    )
    .await;
    let mut request = payment(&id(), "1190.00", "Rechnung INV 2026 000101 vielen Dank");
    request.payer_name = "BRANDT MASCHINENBAU".into();
    request.payer_account = "DE89370400440532013000".into();
    let receipt = record(&suite, request).await;
    assert_eq!(receipt.status, "APPLIED", "{receipt:#?}");
    assert_eq!(receipt.match_state, "AUTO");
    assert_eq!(receipt.customer_id, customer.id);
    assert_eq!(receipt.applications.len(), 1);
    let application = &receipt.applications[0];
    assert_eq!(application.invoice_id, invoices[0]);
    assert!(application.automatic);
    assert!(application.confidence >= 90);
    assert_eq!(open_amount(&suite, &invoices[0]).await, Decimal::ZERO);
    assert_eq!(open_amount(&suite, &invoices[1]).await, dec("250"));

    let received = suite
        .payment_events("otc.payments.v1.PaymentReceived", 1, WAIT)
        .await;
    assert_eq!(received.len(), 1);
    let applied = suite
        .payment_events("otc.payments.v1.PaymentApplied", 1, WAIT)
        .await;
    assert_eq!(applied.len(), 1);
    let event = events_proto::PaymentApplied::decode(applied[0].payload.as_slice()).unwrap();
    assert_eq!(event.invoice_id, invoices[0]);
    assert_eq!(event.invoice_number, "INV-2026-000101");
    assert_eq!(dec(&event.amount.unwrap().amount), dec("1190.00"));
    assert!(event.automatic);
    assert_eq!(applied[0].key.as_deref(), Some(customer.id.as_str()));
    suite.assert_cash_balances().await;
}

#[tokio::test]
async fn the_same_key_records_one_receipt_and_a_different_request_is_refused() {
    let suite = PaymentsSuite::start("pay_idem", &[]).await;
    let key = id();
    let first = record(&suite, payment(&key, "10.00", "nothing to match")).await;
    let again = record(&suite, payment(&key, "10.00", "nothing to match")).await;
    assert_eq!(first.receipt_id, again.receipt_id);
    let error = suite
        .payments()
        .record_payment(suite.as_role(
            payment(&key, "11.00", "nothing"),
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::AlreadyExists);
    let receipts: i64 = suite.scalar("SELECT count(*) FROM receipts").await;
    assert_eq!(receipts, 1);
    let events = suite
        .payment_events("otc.payments.v1.PaymentReceived", 2, Duration::from_secs(5))
        .await;
    assert_eq!(events.len(), 1, "a replayed request published again");
}

#[tokio::test]
async fn bad_requests_name_every_field_and_change_nothing() {
    let suite = PaymentsSuite::start("pay_bad", &[]).await;
    let error = suite
        .payments()
        .record_payment(suite.as_role(
            RecordPaymentRequest {
                idempotency_key: String::new(),
                channel: Channel::BankStatement.into(),
                amount: Some(money("12.345", "EUR")),
                value_date: "02/11/2026".into(),
                customer_id: "not-a-uuid".into(),
                ..RecordPaymentRequest::default()
            },
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    for field in [
        "idempotency_key",
        "channel",
        "amount",
        "value_date",
        "customer_id",
    ] {
        assert!(
            error.message().contains(field),
            "{field} not named: {}",
            error.message()
        );
    }
    let receipts: i64 = suite.scalar("SELECT count(*) FROM receipts").await;
    assert_eq!(receipts, 0);
}

#[tokio::test]
async fn the_exception_queue_is_worked_by_hand_apply_split_and_reject() {
    let suite = PaymentsSuite::start("pay_queue", &[]).await;
    let (customer, invoices) = customer_with_invoices(
        &suite,
        "Nordlicht Handel KG",
        "DE02120300000000202051",
        &[("INV-2026-000201", "300.00"), ("INV-2026-000202", "200.00")],
    )
    .await;
    // No reference, unknown account and name: the payer is not identified.
    let receipt = record(&suite, payment(&id(), "500.00", "payment")).await;
    assert_eq!(receipt.match_state, "EXCEPTION", "{receipt:#?}");
    assert_eq!(receipt.status, "UNAPPLIED");
    let queue = suite
        .payments()
        .list_exceptions(suite.as_role(ListExceptionsRequest::default(), Role::ArClerk))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(queue.receipts.len(), 1);

    // An AR clerk reads but does not work the queue.
    let split = ApplyReceiptRequest {
        receipt_id: receipt.receipt_id.clone(),
        customer_id: customer.id.clone(),
        allocations: vec![
            Allocation {
                invoice_id: invoices[0].clone(),
                amount: Some(money("300.00", "EUR")),
                ..Allocation::default()
            },
            Allocation {
                invoice_id: invoices[1].clone(),
                amount: Some(money("150.00", "EUR")),
                ..Allocation::default()
            },
        ],
    };
    let refused = suite
        .payments()
        .apply_receipt(suite.as_role(split.clone(), Role::ArClerk))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // More than the invoice has open is refused, and nothing moves.
    let mut too_much = split.clone();
    too_much.allocations[1].amount = Some(money("200.01", "EUR"));
    let error = suite
        .payments()
        .apply_receipt(suite.as_role(too_much, Role::CashApplicationSpecialist))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition, "{error:?}");
    assert_eq!(open_amount(&suite, &invoices[0]).await, dec("300"));

    let applied = suite
        .payments()
        .apply_receipt(suite.as_role(split, Role::CashApplicationSpecialist))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(applied.status, "PARTIALLY_APPLIED");
    assert_eq!(applied.match_state, "MANUAL");
    assert_eq!(amount(&applied.unapplied), dec("50"));
    assert_eq!(open_amount(&suite, &invoices[1]).await, dec("50"));

    // The rest stays as the customer's credit, listed as unapplied cash.
    let unapplied = suite
        .payments()
        .list_unapplied_cash(suite.as_role(
            ListUnappliedCashRequest {
                customer_id: customer.id.clone(),
                ..ListUnappliedCashRequest::default()
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unapplied.receipts.len(), 1);

    // A second unidentified receipt is rejected: it leaves the queue as
    // unidentified cash.
    let stranger = record(&suite, payment(&id(), "42.00", "???")).await;
    let rejected = suite
        .payments()
        .reject_suggestions(suite.as_role(
            RejectSuggestionsRequest {
                receipt_id: stranger.receipt_id.clone(),
                reason: "not our customer; bank asked to recall".into(),
                customer_id: String::new(),
            },
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rejected.match_state, "REJECTED");
    let queue = suite
        .payments()
        .list_exceptions(suite.as_role(ListExceptionsRequest::default(), Role::ArClerk))
        .await
        .unwrap()
        .into_inner();
    assert!(queue.receipts.is_empty());
    suite.assert_cash_balances().await;
}

#[tokio::test]
async fn partial_and_over_payments_refunds_and_reversals_keep_the_cash_balanced() {
    let suite = PaymentsSuite::start("pay_life", &[]).await;
    let (customer, invoices) = customer_with_invoices(
        &suite,
        "Sørensen Logistik A/S",
        "DK5000400440116243",
        &[("INV-2026-000301", "1000.00"), ("INV-2026-000302", "80.00")],
    )
    .await;
    let mut partial = payment(&id(), "400.00", "INV-2026-000301 first instalment");
    partial.customer_id = customer.id.clone();
    let partial = record(&suite, partial).await;
    assert_eq!(partial.status, "APPLIED", "{partial:#?}");
    assert_eq!(open_amount(&suite, &invoices[0]).await, dec("600"));

    let mut over = payment(&id(), "100.00", "INV-2026-000302");
    over.customer_id = customer.id.clone();
    let over = record(&suite, over).await;
    assert_eq!(over.status, "PARTIALLY_APPLIED", "{over:#?}");
    assert_eq!(amount(&over.unapplied), dec("20"));
    assert_eq!(open_amount(&suite, &invoices[1]).await, Decimal::ZERO);

    // Refund the overpayment; the same key again refunds nothing more.
    let refund = IssueRefundRequest {
        receipt_id: over.receipt_id.clone(),
        idempotency_key: id(),
        amount: Some(money("20.00", "EUR")),
        reason: "overpayment".into(),
    };
    let refunded = suite
        .payments()
        .issue_refund(suite.as_role(refund.clone(), Role::CashApplicationSpecialist))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&refunded.refunded), dec("20"));
    suite
        .payments()
        .issue_refund(suite.as_role(refund, Role::CashApplicationSpecialist))
        .await
        .unwrap();
    let error = suite
        .payments()
        .issue_refund(suite.as_role(
            IssueRefundRequest {
                receipt_id: over.receipt_id.clone(),
                idempotency_key: id(),
                amount: Some(money("0.01", "EUR")),
                reason: "too much".into(),
            },
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition);

    // A wrong match is reversed: the invoice re-opens, the cash is unapplied.
    let reversed = suite
        .payments()
        .reverse_application(suite.as_role(
            ReverseApplicationRequest {
                application_id: partial.applications[0].application_id.clone(),
                reason: "applied to the wrong invoice".into(),
            },
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reversed.status, "UNAPPLIED");
    assert_eq!(open_amount(&suite, &invoices[0]).await, dec("1000"));
    let unapplied = suite
        .payment_events("otc.payments.v1.PaymentUnapplied", 1, WAIT)
        .await;
    assert_eq!(unapplied.len(), 1);

    // The cheque bounces (NSF): every application is undone, the receipt
    // no longer counts as cash received.
    let mut cheque = payment(&id(), "600.00", "INV-2026-000301");
    cheque.channel = Channel::Cheque.into();
    cheque.customer_id = customer.id.clone();
    let cheque = record(&suite, cheque).await;
    assert_eq!(open_amount(&suite, &invoices[0]).await, dec("400"));
    let bounced = suite
        .payments()
        .reverse_payment(suite.as_role(
            ReversePaymentRequest {
                receipt_id: cheque.receipt_id.clone(),
                reason: "NSF".into(),
            },
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(bounced.status, "REVERSED");
    assert_eq!(open_amount(&suite, &invoices[0]).await, dec("1000"));
    let reversed_events = suite
        .payment_events("otc.payments.v1.PaymentReversed", 1, WAIT)
        .await;
    assert_eq!(reversed_events.len(), 1);
    let position = suite
        .payments()
        .get_cash_position(suite.as_role(GetCashPositionRequest::default(), Role::Executive))
        .await
        .unwrap()
        .into_inner();
    let eur = position
        .currencies
        .iter()
        .find(|row| row.currency_code == "EUR")
        .unwrap();
    assert_eq!(amount(&eur.received), dec("500"));
    assert_eq!(
        amount(&eur.applied) + amount(&eur.unapplied) + amount(&eur.refunded),
        amount(&eur.received)
    );
    assert_eq!(amount(&eur.reversed), dec("600"));
    // What the customer still owes: 1,000 + 80 invoiced, 80 paid.
    let balances = suite
        .payments()
        .list_customer_balances(suite.as_role(
            ListCustomerBalancesRequest {
                customer_id: customer.id.clone(),
            },
            Role::CreditManager,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(balances.balances.len(), 1);
    assert_eq!(amount(&balances.balances[0].balance), dec("1000"));
    let history = suite
        .payments()
        .get_customer_payment_history(suite.as_role(
            GetCustomerPaymentHistoryRequest {
                customer_id: customer.id.clone(),
                page: None,
            },
            Role::CustomerServiceRepresentative,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.receipts.len(), 3);
    let statuses: Vec<&str> = history
        .receipts
        .iter()
        .map(|receipt| receipt.status.as_str())
        .collect();
    assert_eq!(
        statuses,
        ["REVERSED", "APPLIED", "UNAPPLIED"],
        "newest first"
    );
    assert_eq!(amount(&history.totals[0].refunded), dec("20"));
    suite.assert_cash_balances().await;
}

#[tokio::test]
async fn short_payments_within_tolerance_become_deductions_and_early_payers_take_the_discount() {
    let suite = PaymentsSuite::start("pay_tol", &[]).await;
    suite
        .payments()
        .set_cash_application_policy(suite.as_role(
            CashApplicationPolicy {
                auto_apply_threshold: 90,
                max_combination: 5,
                short_pay_tolerance_amount: "5.00".into(),
                short_pay_tolerance_percent: "0".into(),
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap();
    let customer = id();
    suite
        .customer(
            &customer,
            "Atelier Dubois SARL",
            &["FR1420041010050500013M02606"],
        )
        .await;
    let short_id = id();
    let discount_id = id();
    suite
        .invoice(&IssuedInvoice {
            invoice_id: &short_id,
            number: "INV-2026-000401",
            customer_id: &customer,
            total: "500.00",
            currency: "EUR",
            issue_date: "2026-10-01",
            due_date: "2026-10-31",
            discount_date: "",
            discount_amount: "0",
        })
        .await;
    suite
        .invoice(&IssuedInvoice {
            invoice_id: &discount_id,
            number: "INV-2026-000402",
            customer_id: &customer,
            total: "1000.00",
            currency: "EUR",
            issue_date: "2026-11-01",
            due_date: "2026-12-01",
            discount_date: "2026-11-11",
            discount_amount: "20.00",
        })
        .await;
    suite
        .wait_for_count(
            &format!("SELECT count(*) FROM open_items WHERE customer_id = '{customer}'"),
            2,
            WAIT,
        )
        .await;
    let mut short = payment(&id(), "496.50", "INV-2026-000401");
    short.payer_account = "FR1420041010050500013M02606".into();
    let short = record(&suite, short).await;
    assert_eq!(short.status, "APPLIED", "{short:#?}");
    assert_eq!(amount(&short.applications[0].deduction), dec("3.50"));
    let deductions = suite
        .payment_events("otc.payments.v1.DeductionTaken", 1, WAIT)
        .await;
    assert_eq!(deductions.len(), 1);

    let mut early = payment(&id(), "980.00", "INV-2026-000402");
    early.payer_account = "FR1420041010050500013M02606".into();
    let early = record(&suite, early).await;
    assert_eq!(early.status, "APPLIED", "{early:#?}");
    assert_eq!(amount(&early.applications[0].discount), dec("20.00"));
    assert_eq!(open_amount(&suite, &discount_id).await, Decimal::ZERO);
    suite.assert_cash_balances().await;
}

#[tokio::test]
async fn concurrent_receipts_for_one_invoice_never_apply_more_than_is_open() {
    let suite = PaymentsSuite::start("pay_race", &[]).await;
    let (customer, invoices) = customer_with_invoices(
        &suite,
        "Concurrent Corp",
        "NL91ABNA0417164300",
        &[("INV-2026-000501", "100.00")],
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = suite.payments();
        let mut request = payment(&id(), "100.00", "INV-2026-000501");
        request.customer_id = customer.id.clone();
        let request = suite.as_role(request, Role::CashApplicationSpecialist);
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            client.record_payment(request).await
        }));
    }
    let mut applied = 0;
    for task in tasks {
        let receipt = task.await.unwrap().unwrap().into_inner();
        if receipt.status == "APPLIED" {
            applied += 1;
        }
    }
    assert_eq!(applied, 1, "the invoice was paid more than once");
    assert_eq!(open_amount(&suite, &invoices[0]).await, Decimal::ZERO);
    suite.assert_cash_balances().await;
}

#[tokio::test]
async fn projections_apply_each_event_once_and_credit_notes_reduce_what_is_open() {
    let suite = PaymentsSuite::start("pay_proj", &[]).await;
    let (customer, invoices) = customer_with_invoices(
        &suite,
        "Projection GmbH",
        "DE44500105175407324931",
        &[("INV-2026-000601", "500.00")],
    )
    .await;
    // The same invoice again (billing republished it): still one item.
    suite
        .invoice(&IssuedInvoice {
            invoice_id: &invoices[0],
            number: "INV-2026-000601",
            customer_id: &customer.id,
            total: "500.00",
            currency: "EUR",
            issue_date: "2026-10-01",
            due_date: "2026-10-31",
            discount_date: "",
            discount_amount: "0",
        })
        .await;
    let note = id();
    suite
        .credit_note(&note, &invoices[0], &customer.id, "120.00")
        .await;
    suite
        .credit_note(&note, &invoices[0], &customer.id, "120.00")
        .await;
    suite
        .wait_for_count("SELECT count(*) FROM credit_notes", 1, WAIT)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let items: i64 = suite.scalar("SELECT count(*) FROM open_items").await;
    assert_eq!(items, 1);
    assert_eq!(open_amount(&suite, &invoices[0]).await, dec("380"));
    // The customer pays what is left, by reference.
    let receipt = record(&suite, payment(&id(), "380.00", "INV-2026-000601")).await;
    assert_eq!(receipt.status, "APPLIED", "{receipt:#?}");
}

#[tokio::test]
async fn another_tenant_sees_nothing() {
    let suite = PaymentsSuite::start("pay_tenant", &[]).await;
    let receipt = record(&suite, payment(&id(), "10.00", "x")).await;
    let other = otc_testkit::billing::request(
        GetReceiptRequest {
            receipt_id: receipt.receipt_id.clone(),
        },
        "othertenant",
        &[Role::Executive],
    );
    let error = suite.payments().get_receipt(other).await.unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    let listed = suite
        .payments()
        .list_receipts(otc_testkit::billing::request(
            ListReceiptsRequest::default(),
            "othertenant",
            &[Role::Executive],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.receipts.is_empty());
}

#[tokio::test]
async fn a_receipt_that_came_before_its_invoice_is_applied_when_the_invoice_arrives() {
    // The periodic re-match stays at its default (30 s): the receipt must be
    // applied because the invoice arrived, well before the next period.
    let suite = PaymentsSuite::start("pay_rematch", &[]).await;
    let customer = id();
    suite
        .customer(&customer, "Early Bird Ltd", &["IE29AIBK93115212345678"])
        .await;
    suite
        .wait_for_count("SELECT count(*) FROM customers", 1, WAIT)
        .await;
    let receipt = record(&suite, payment(&id(), "75.00", "INV-2026-000991")).await;
    assert_eq!(receipt.match_state, "EXCEPTION");
    let invoice_id = id();
    suite
        .invoice(&IssuedInvoice {
            invoice_id: &invoice_id,
            number: "INV-2026-000991",
            customer_id: &customer,
            total: "75.00",
            currency: "EUR",
            issue_date: "2026-11-01",
            due_date: "2026-12-01",
            discount_date: "",
            discount_amount: "0",
        })
        .await;
    let applied = suite
        .wait_for_count(
            &format!(
                "SELECT count(*) FROM receipts WHERE id = '{}' AND match_state = 'auto'",
                receipt.receipt_id
            ),
            1,
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(
        applied, 1,
        "the exception was not matched again within 10 s"
    );
    assert_eq!(open_amount(&suite, &invoice_id).await, Decimal::ZERO);
    suite.assert_cash_balances().await;
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Customer statements from the collections service as a process against
//! the real PostgreSQL and Kafka: invoices, notes, cash and a write-off
//! dated over three months in two currencies; the statement must add up
//! (opening + movements = closing = the aging buckets), agree with the
//! ledger balance, and read back from its PDF.

use std::time::Duration;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use tonic::Code;
use uuid::Uuid;

use otc_proto::collections::*;
use otc_proto::events as proto;
use otc_proto::types::PostalAddress;
use otc_shared::auth::Role;
use otc_shared::kafka::topics;
use otc_testkit::collections::{CollectionsSuite, money};

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

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn days_ago(days: u64) -> NaiveDate {
    today().checked_sub_days(Days::new(days)).unwrap()
}

fn days_ahead(days: u64) -> NaiveDate {
    today().checked_add_days(Days::new(days)).unwrap()
}

/// Noon UTC of `date` as a protobuf timestamp.
fn at(date: NaiveDate) -> Option<prost_types::Timestamp> {
    let instant = Utc.from_utc_datetime(&date.and_hms_opt(12, 0, 0).unwrap());
    Some(otc_shared::time::to_proto(instant))
}

struct Dated<'a> {
    id: &'a str,
    number: &'a str,
    total: &'a str,
    currency: &'a str,
    functional: Option<(&'a str, &'a str)>,
    issued: NaiveDate,
    due: NaiveDate,
}

async fn invoice(suite: &CollectionsSuite, customer: &str, invoice: &Dated<'_>) {
    let issued = proto::InvoiceIssued {
        invoice_id: invoice.id.into(),
        invoice_number: invoice.number.into(),
        customer_id: customer.into(),
        total_amount: Some(money(invoice.total, invoice.currency)),
        functional_total_amount: invoice
            .functional
            .map(|(amount, currency)| money(amount, currency)),
        issue_date: invoice.issued.to_string(),
        due_date: invoice.due.to_string(),
        issued_at: at(invoice.issued),
        ..Default::default()
    };
    suite
        .publish(
            topics::BILLING_EVENTS,
            "otc.billing.v1.InvoiceIssued",
            customer,
            &issued,
            None,
        )
        .await;
}

async fn payment(
    suite: &CollectionsSuite,
    customer: &str,
    invoice_id: &str,
    cash: &str,
    currency: &str,
    on: NaiveDate,
) {
    let applied = proto::PaymentApplied {
        application_id: id(),
        receipt_id: id(),
        customer_id: customer.into(),
        invoice_id: invoice_id.into(),
        amount: Some(money(cash, currency)),
        discount_taken: Some(money("0", currency)),
        deduction: Some(money("0", currency)),
        applied_at: at(on),
        method: "manual".into(),
        ..Default::default()
    };
    suite
        .publish(
            topics::PAYMENT_EVENTS,
            "otc.payments.v1.PaymentApplied",
            customer,
            &applied,
            None,
        )
        .await;
}

async fn credit_note(suite: &CollectionsSuite, customer: &str, invoice_id: &str, on: NaiveDate) {
    let issued = proto::CreditNoteIssued {
        credit_note_id: id(),
        credit_note_number: "CN-2026-000031".into(),
        invoice_id: invoice_id.into(),
        customer_id: customer.into(),
        total_amount: Some(money("50.00", "EUR")),
        issued_at: at(on),
        ..Default::default()
    };
    suite
        .publish(
            topics::BILLING_EVENTS,
            "otc.billing.v1.CreditNoteIssued",
            customer,
            &issued,
            None,
        )
        .await;
}

fn request(customer: &str, from: NaiveDate, to: NaiveDate) -> GetCustomerStatementRequest {
    GetCustomerStatementRequest {
        customer_id: customer.into(),
        from_date: from.to_string(),
        to_date: to.to_string(),
        currency_code: String::new(),
    }
}

async fn statement(
    suite: &CollectionsSuite,
    message: GetCustomerStatementRequest,
) -> CustomerStatement {
    suite
        .ledger()
        .get_customer_statement(suite.as_role(message, Role::Collector))
        .await
        .unwrap()
        .into_inner()
}

fn in_currency<'a>(statement: &'a CustomerStatement, code: &str) -> &'a CurrencyStatement {
    statement
        .currencies
        .iter()
        .find(|currency| currency.currency_code == code)
        .unwrap_or_else(|| panic!("no {code} in {statement:#?}"))
}

/// The invariants every statement keeps, whatever its range.
fn assert_adds_up(currency: &CurrencyStatement) {
    let opening = amount(currency.opening_balance.as_ref());
    let closing = amount(currency.closing_balance.as_ref());
    let mut running = opening;
    for line in &currency.lines {
        running += amount(line.debit.as_ref()) - amount(line.credit.as_ref());
        assert_eq!(amount(line.balance.as_ref()), running, "{line:#?}");
    }
    assert_eq!(running, closing, "opening + movements != closing");
    assert_eq!(
        opening + amount(currency.total_debits.as_ref()) - amount(currency.total_credits.as_ref()),
        closing
    );
    let aging = currency.aging.as_ref().unwrap();
    let buckets = amount(aging.not_due.as_ref())
        + amount(aging.days_1_30.as_ref())
        + amount(aging.days_31_60.as_ref())
        + amount(aging.days_61_90.as_ref())
        + amount(aging.over_90.as_ref());
    assert_eq!(
        buckets, closing,
        "the aging does not add up to the closing balance"
    );
}

#[tokio::test]
async fn a_statement_adds_up_agrees_with_the_ledger_and_reads_back_as_a_pdf() {
    let suite = CollectionsSuite::start("coll_stmt", &[]).await;
    let customer = id();
    let customer_upserted = proto::CustomerUpserted {
        customer_id: customer.clone(),
        legal_name: "Brasserie Éloïse Müller SARL".into(),
        billing_address: Some(PostalAddress {
            lines: vec!["14 rue de la Paix".into()],
            city: "Paris".into(),
            postal_code: "75002".into(),
            region: String::new(),
            country_code: "FR".into(),
        }),
        currency_code: "EUR".into(),
        status: "ACTIVE".into(),
        version: 1,
        ..Default::default()
    };
    suite
        .publish(
            topics::ORDER_EVENTS,
            "otc.order.v1.CustomerUpserted",
            &customer,
            &customer_upserted,
            None,
        )
        .await;
    let (old_eur, new_eur, usd) = (id(), id(), id());
    // EUR: one invoice long before the range (due 30 days ago), one in it.
    invoice(
        &suite,
        &customer,
        &Dated {
            id: &old_eur,
            number: "INV-2026-000101",
            total: "1190.00",
            currency: "EUR",
            functional: None,
            issued: days_ago(60),
            due: days_ago(30),
        },
    )
    .await;
    invoice(
        &suite,
        &customer,
        &Dated {
            id: &new_eur,
            number: "INV-2026-000102",
            total: "500.00",
            currency: "EUR",
            functional: None,
            issued: days_ago(10),
            due: days_ahead(20),
        },
    )
    .await;
    // USD at 0.92 EUR per USD, due 95 days ago.
    invoice(
        &suite,
        &customer,
        &Dated {
            id: &usd,
            number: "INV-2026-000103",
            total: "200.00",
            currency: "USD",
            functional: Some(("184.00", "EUR")),
            issued: days_ago(120),
            due: days_ago(95),
        },
    )
    .await;
    payment(&suite, &customer, &old_eur, "400.00", "EUR", days_ago(5)).await;
    credit_note(&suite, &customer, &new_eur, days_ago(3)).await;
    payment(&suite, &customer, &usd, "50.00", "USD", days_ago(2)).await;
    suite.wait_for_events_applied(7, WAIT).await;
    // A small write-off (under the approval threshold) posts today.
    let written_off = suite
        .write_offs()
        .request_write_off(suite.as_role(
            RequestWriteOffRequest {
                idempotency_key: "stmt-wo".into(),
                item_id: old_eur.clone(),
                amount: Some(money("10.00", "EUR")),
                reason: "bank charges".into(),
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(written_off.state, "APPLIED");
    suite.assert_items_are_the_sum_of_their_movements().await;

    // The last fifteen days.
    let recent = statement(&suite, request(&customer, days_ago(15), today())).await;
    assert_eq!(recent.customer_name, "Brasserie Éloïse Müller SARL");
    assert_eq!(recent.billing_address.as_ref().unwrap().city, "Paris");
    assert_eq!(recent.parked_movements, 0);
    let codes: Vec<&str> = recent
        .currencies
        .iter()
        .map(|currency| currency.currency_code.as_str())
        .collect();
    assert_eq!(codes, ["EUR", "USD"]);
    let eur = in_currency(&recent, "EUR");
    assert_adds_up(eur);
    assert_eq!(amount(eur.opening_balance.as_ref()), dec("1190.00"));
    let kinds: Vec<(&str, &str)> = eur
        .lines
        .iter()
        .map(|line| (line.kind.as_str(), line.item_number.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("INVOICE", "INV-2026-000102"),
            ("CASH_APPLIED", "INV-2026-000101"),
            ("CREDIT_NOTE", "INV-2026-000102"),
            ("WRITE_OFF", "INV-2026-000101"),
        ]
    );
    assert_eq!(eur.lines[0].date, days_ago(10).to_string());
    assert_eq!(amount(eur.lines[1].credit.as_ref()), dec("400.00"));
    assert_eq!(amount(eur.lines[1].debit.as_ref()), Decimal::ZERO);
    assert_eq!(amount(eur.closing_balance.as_ref()), dec("1230.00"));
    let eur_aging = eur.aging.as_ref().unwrap();
    assert_eq!(amount(eur_aging.not_due.as_ref()), dec("450.00"));
    assert_eq!(amount(eur_aging.days_1_30.as_ref()), dec("780.00"));
    assert_eq!(amount(eur_aging.over_90.as_ref()), Decimal::ZERO);
    // No functional amounts on the EUR invoices: no functional figures.
    assert!(eur.functional_closing_balance.is_none());

    let usd_statement = in_currency(&recent, "USD");
    assert_adds_up(usd_statement);
    assert_eq!(
        amount(usd_statement.opening_balance.as_ref()),
        dec("200.00")
    );
    assert_eq!(
        amount(usd_statement.closing_balance.as_ref()),
        dec("150.00")
    );
    assert_eq!(
        amount(usd_statement.aging.as_ref().unwrap().over_90.as_ref()),
        dec("150.00")
    );
    let functional_opening = usd_statement.functional_opening_balance.as_ref().unwrap();
    assert_eq!(functional_opening.currency_code, "EUR");
    assert_eq!(dec(&functional_opening.amount), dec("184.00"));
    // 50 USD at the booking rate 0.92: 46.00 EUR.
    assert_eq!(
        amount(usd_statement.functional_closing_balance.as_ref()),
        dec("138.00")
    );

    // The statement closing today is the ledger balance.
    let ledger = suite
        .ledger()
        .get_customer_ledger(suite.as_role(
            GetCustomerLedgerRequest {
                customer_id: customer.clone(),
                page: None,
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    for balance in &ledger.balances {
        let money = balance.balance.as_ref().unwrap();
        let closing = in_currency(&recent, &money.currency_code);
        assert_eq!(amount(closing.closing_balance.as_ref()), dec(&money.amount));
    }
    assert_eq!(ledger.balances.len(), 2);

    // An older range: what was open then, aged then.
    let earlier = statement(&suite, request(&customer, days_ago(15), days_ago(8))).await;
    let eur_then = in_currency(&earlier, "EUR");
    assert_adds_up(eur_then);
    assert_eq!(eur_then.lines.len(), 1);
    assert_eq!(amount(eur_then.closing_balance.as_ref()), dec("1690.00"));
    let aging_then = eur_then.aging.as_ref().unwrap();
    assert_eq!(amount(aging_then.days_1_30.as_ref()), dec("1190.00"));
    assert_eq!(amount(aging_then.not_due.as_ref()), dec("500.00"));
    let usd_then = in_currency(&earlier, "USD");
    assert_adds_up(usd_then);
    assert!(usd_then.lines.is_empty());
    assert_eq!(amount(usd_then.closing_balance.as_ref()), dec("200.00"));

    // One currency only.
    let mut only_usd = request(&customer, days_ago(15), today());
    only_usd.currency_code = "usd".into();
    let usd_only = statement(&suite, only_usd).await;
    assert_eq!(usd_only.currencies.len(), 1);
    assert_eq!(usd_only.currencies[0].currency_code, "USD");

    // As a PDF: it parses, shows the customer and the closing balance, and
    // the same request gives the same bytes.
    let render = || async {
        suite
            .ledger()
            .render_customer_statement(suite.as_role(
                request(&customer, days_ago(15), today()),
                Role::CreditManager,
            ))
            .await
            .unwrap()
            .into_inner()
    };
    let document = render().await;
    assert!(document.pdf.starts_with(b"%PDF-"));
    assert_eq!(
        document.file_name,
        format!("statement-{customer}-{}-{}.pdf", days_ago(15), today())
    );
    let pdf = lopdf::Document::load_mem(&document.pdf).unwrap();
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    let text = pdf
        .extract_text(&pages)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for expected in [
        "Brasserie Éloïse Müller SARL",
        "14 rue de la Paix",
        &format!("Closing balance on {} EUR 1,230.00", today()),
        &format!("Closing balance on {} USD 150.00", today()),
        "INV-2026-000102",
        "Write-off",
        "Over 90 days",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    assert_eq!(render().await.pdf, document.pdf);
}

#[tokio::test]
async fn bad_statement_requests_name_every_field_and_others_see_nothing() {
    let suite = CollectionsSuite::start("coll_stmt_bad", &[]).await;
    let customer = id();
    let invoice_id = id();
    invoice(
        &suite,
        &customer,
        &Dated {
            id: &invoice_id,
            number: "INV-2026-000201",
            total: "99.00",
            currency: "EUR",
            functional: None,
            issued: days_ago(3),
            due: days_ahead(27),
        },
    )
    .await;
    suite.wait_for_events_applied(1, WAIT).await;

    let ask = |message: GetCustomerStatementRequest, role: Role| {
        let mut client = suite.ledger();
        let request = suite.as_role(message, role);
        async move { client.get_customer_statement(request).await }
    };
    let bad = ask(
        GetCustomerStatementRequest {
            customer_id: "not-a-uuid".into(),
            from_date: "2026-02-30".into(),
            to_date: "soon".into(),
            currency_code: "EURO".into(),
        },
        Role::Collector,
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        otc_testkit::violated_fields(&bad),
        ["customer_id", "from_date", "to_date", "currency_code"]
    );
    let backwards = ask(request(&customer, today(), days_ago(1)), Role::Collector)
        .await
        .unwrap_err();
    assert_eq!(backwards.code(), Code::InvalidArgument);
    assert_eq!(otc_testkit::violated_fields(&backwards), ["to_date"]);
    let missing = ask(GetCustomerStatementRequest::default(), Role::Collector)
        .await
        .unwrap_err();
    assert_eq!(
        otc_testkit::violated_fields(&missing),
        ["customer_id", "from_date", "to_date"]
    );

    // Ledger readers only.
    let refused = ask(
        request(&customer, days_ago(30), today()),
        Role::SalesAssociate,
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let refused_pdf = suite
        .ledger()
        .render_customer_statement(suite.as_role(
            request(&customer, days_ago(30), today()),
            Role::SalesAssociate,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused_pdf.code(), Code::PermissionDenied);

    // Readable by the tenant, not found by another one or for a stranger.
    let own = ask(request(&customer, days_ago(30), today()), Role::Executive)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        amount(own.currencies[0].closing_balance.as_ref()),
        dec("99.00")
    );
    let foreign = suite
        .ledger()
        .get_customer_statement(otc_testkit::billing::request(
            request(&customer, days_ago(30), today()),
            "globex",
            &[Role::ArClerk],
        ))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);
    let stranger = ask(request(&id(), days_ago(30), today()), Role::Collector)
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound);
}

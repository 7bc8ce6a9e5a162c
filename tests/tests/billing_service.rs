#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The billing service as a process against the real PostgreSQL and Kafka:
//! invoices from shipment events exactly once (redelivery, republication,
//! kill -9 mid-batch), tax and due dates, holds for a missing rule or rate
//! and their release, discrepancies, credit and debit notes, gapless
//! numbering under concurrent issuers, consolidated billing and tenant
//! isolation.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{Datelike, Utc};
use prost::Message;
use rust_decimal::Decimal;
use tonic::Code;
use uuid::Uuid;

use otc_proto::billing::*;
use otc_proto::events as events_proto;
use otc_shared::auth::Role;
use otc_testkit::billing::{BillingSuite, Line, money};

const WAIT: Duration = Duration::from_secs(60);

fn id() -> String {
    Uuid::now_v7().to_string()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

async fn set_up_tenant(suite: &BillingSuite) {
    suite
        .config()
        .set_tenant_settings(suite.as_role(
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
    for (region, code, rate) in [("DE", "STANDARD", "0.19"), ("DE", "REDUCED", "0.07")] {
        suite
            .config()
            .set_tax_rule(suite.as_role(
                SetTaxRuleRequest {
                    rule: Some(TaxRule {
                        region: region.into(),
                        tax_code: code.into(),
                        rate: rate.into(),
                        valid_from: "2020-01-01".into(),
                        valid_to: String::new(),
                    }),
                },
                Role::TenantAdmin,
            ))
            .await
            .unwrap();
    }
}

fn lines() -> [Line<'static>; 2] {
    [
        Line {
            line_id: "1",
            sku: "SKU-1",
            quantity: "10",
            unit_price: "10.00",
            line_amount: "100.00",
            tax_code: "STANDARD",
        },
        Line {
            line_id: "2",
            sku: "SKU-2",
            quantity: "3",
            unit_price: "3.333",
            line_amount: "10.00",
            tax_code: "REDUCED",
        },
    ]
}

async fn list_all(suite: &BillingSuite, customer_id: &str) -> Vec<Invoice> {
    suite
        .invoices()
        .list_invoices(suite.as_role(
            ListInvoicesRequest {
                customer_id: customer_id.into(),
                ..ListInvoicesRequest::default()
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner()
        .invoices
}

fn total_of(invoice: &Invoice) -> Decimal {
    dec(&invoice.total_amount.as_ref().unwrap().amount)
}

fn assert_totals_are_sums_of_lines(invoice: &Invoice) {
    let net: Decimal = invoice
        .lines
        .iter()
        .map(|line| dec(&line.net.as_ref().unwrap().amount))
        .sum();
    let tax: Decimal = invoice
        .lines
        .iter()
        .map(|line| dec(&line.tax.as_ref().unwrap().amount))
        .sum();
    assert_eq!(net, dec(&invoice.net_amount.as_ref().unwrap().amount));
    assert_eq!(tax, dec(&invoice.tax_amount.as_ref().unwrap().amount));
    assert_eq!(net + tax, total_of(invoice));
    let summary_tax: Decimal = invoice
        .tax_summary
        .iter()
        .map(|row| dec(&row.tax.as_ref().unwrap().amount))
        .sum();
    assert_eq!(
        summary_tax, tax,
        "the tax summary adds up to the invoice's tax"
    );
}

#[tokio::test]
async fn shipments_are_invoiced_exactly_once_with_tax_terms_and_numbers() {
    let suite = BillingSuite::start("billing_once", &[]).await;
    set_up_tenant(&suite).await;
    let customer = id();
    let order = id();
    suite.customer(&customer, "EUR", "DE", "2/10NET30").await;
    let [first, second] = lines();
    suite
        .order_placed(&order, &customer, "EUR", &[first, second])
        .await;
    let [first, second] = lines();
    let now = Utc::now();
    // A partial shipment, delivered twice with the same event id (Kafka
    // redelivery) and republished once with a new id (upstream retry).
    let shipment_a = id();
    let event = BillingSuite::shipment(
        &shipment_a,
        &order,
        &customer,
        "EUR",
        &[(&first, "4", "40.00")],
        now,
    );
    let event_id = suite
        .publish("ShipmentRecorded", &customer, &event, None)
        .await;
    suite
        .publish("ShipmentRecorded", &customer, &event, Some(&event_id))
        .await;
    suite
        .publish("ShipmentRecorded", &customer, &event, None)
        .await;
    // The rest of the order.
    let shipment_b = id();
    let event = BillingSuite::shipment(
        &shipment_b,
        &order,
        &customer,
        "EUR",
        &[(&first, "6", "60.00"), (&second, "3", "10.00")],
        now,
    );
    suite
        .publish("ShipmentRecorded", &customer, &event, None)
        .await;

    suite
        .billing_events("otc.billing.v1.InvoiceIssued", 2, WAIT)
        .await;
    // Give any duplicate a chance to show up before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let issued = suite
        .billing_events("otc.billing.v1.InvoiceIssued", 3, Duration::from_secs(3))
        .await;
    let invoices: BTreeSet<String> = issued
        .iter()
        .map(|record| {
            events_proto::InvoiceIssued::decode(record.payload.as_slice())
                .unwrap()
                .invoice_id
        })
        .collect();
    assert_eq!(
        invoices.len(),
        2,
        "one invoice per shipment, whatever the redeliveries"
    );
    assert_eq!(
        suite
            .count("SELECT count(*) FROM billable_lines WHERE invoice_id IS NULL")
            .await,
        0
    );
    assert_eq!(suite.count("SELECT count(*) FROM billable_lines").await, 3);
    assert_eq!(
        suite
            .count("SELECT count(*) FROM (SELECT billable_line_id FROM invoice_lines GROUP BY 1 HAVING count(*) > 1) d")
            .await,
        0,
        "no shipped line is on two invoices"
    );

    let mut listed = list_all(&suite, &customer).await;
    listed.sort_by(|left, right| left.number.cmp(&right.number));
    let year = Utc::now().year();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].number, format!("INV-{year}-000001"));
    assert_eq!(listed[1].number, format!("INV-{year}-000002"));
    for invoice in &listed {
        assert_totals_are_sums_of_lines(invoice);
        assert_eq!(invoice.status, "ISSUED");
        assert_eq!(invoice.payment_terms_code, "2/10NET30");
        let issue = chrono::NaiveDate::parse_from_str(&invoice.issue_date, "%Y-%m-%d").unwrap();
        assert_eq!(
            invoice.due_date,
            (issue + chrono::Days::new(30)).to_string()
        );
        assert_eq!(
            invoice.discount_date,
            (issue + chrono::Days::new(10)).to_string()
        );
    }
    // 40.00 at 19% = 7.60; discount 2% of 47.60 = 0.95 (0.952 half-even).
    let first_invoice = listed
        .iter()
        .find(|invoice| total_of(invoice) == dec("47.60"))
        .unwrap();
    assert_eq!(
        first_invoice.discount_amount.as_ref().unwrap().amount,
        "0.95"
    );
    // 60.00 at 19% = 11.40, 10.00 at 7% = 0.70: 82.10.
    let second_invoice = listed
        .iter()
        .find(|invoice| invoice.lines.len() == 2)
        .unwrap();
    assert_eq!(total_of(second_invoice), dec("82.10"));
    assert_eq!(second_invoice.tax_summary.len(), 2);
    assert_eq!(
        second_invoice
            .functional_total_amount
            .as_ref()
            .unwrap()
            .amount,
        "82.10",
        "EUR invoices of an EUR tenant carry the same functional amounts"
    );
    // An issued invoice never changes, even for a direct UPDATE.
    let mut tx = otc_shared::db::begin_for_all_tenants(&suite.database.pool)
        .await
        .unwrap();
    let refused = sqlx::query("UPDATE invoices SET total_amount = 0 WHERE number IS NOT NULL")
        .execute(&mut *tx)
        .await;
    assert!(
        refused.is_err(),
        "the database refuses to change an issued invoice"
    );
    drop(tx);
    // Audit: who issued what.
    assert!(
        suite
            .count("SELECT count(*) FROM audit_log WHERE action = 'invoice.issued'")
            .await
            >= 2
    );
}

#[tokio::test]
async fn a_missing_tax_rule_or_rate_holds_the_invoice_until_it_is_set() {
    let suite = BillingSuite::start("billing_holds", &[]).await;
    set_up_tenant(&suite).await;
    let customer = id();
    let order = id();
    // A USD customer in a region without rules.
    suite.customer(&customer, "USD", "FR", "NET30").await;
    let line = Line {
        line_id: "1",
        sku: "SKU-9",
        quantity: "2",
        unit_price: "54.25",
        line_amount: "108.50",
        tax_code: "STANDARD",
    };
    suite
        .order_placed(&order, &customer, "USD", std::slice::from_ref(&line))
        .await;
    let event = BillingSuite::shipment(
        &id(),
        &order,
        &customer,
        "USD",
        &[(&line, "2", "108.50")],
        Utc::now(),
    );
    suite
        .publish("ShipmentRecorded", &customer, &event, None)
        .await;

    let held = suite
        .billing_events("otc.billing.v1.InvoiceHeld", 1, WAIT)
        .await;
    let held = events_proto::InvoiceHeld::decode(held[0].payload.as_slice()).unwrap();
    let codes: BTreeSet<&str> = held
        .reasons
        .iter()
        .map(|reason| reason.code.as_str())
        .collect();
    assert_eq!(
        codes,
        BTreeSet::from(["MISSING_FX_RATE", "MISSING_TAX_RULE"])
    );
    let queue = suite
        .invoices()
        .list_held_invoices(suite.as_role(ListHeldInvoicesRequest::default(), Role::ArClerk))
        .await
        .unwrap()
        .into_inner()
        .invoices;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].status, "HELD");
    assert!(queue[0].number.is_empty(), "a held draft has no number");
    assert!(
        queue[0]
            .hold_reasons
            .iter()
            .any(|reason| reason.message.contains("FR")),
        "the reason names what is missing: {:?}",
        queue[0].hold_reasons
    );
    let by_status = suite
        .invoices()
        .list_invoices(suite.as_role(
            ListInvoicesRequest {
                customer_id: customer.clone(),
                status: "HELD".into(),
                ..ListInvoicesRequest::default()
            },
            Role::CustomerServiceRepresentative,
        ))
        .await
        .unwrap()
        .into_inner()
        .invoices;
    assert_eq!(
        by_status.len(),
        1,
        "the held queue is also a status filter of ListInvoices"
    );
    assert!(
        list_all(&suite, &customer).await.is_empty(),
        "nothing issued yet"
    );
    assert!(
        queue[0]
            .lines
            .iter()
            .all(|line| line.tax_category == "PENDING"),
        "never a made-up zero rate"
    );

    // The rule arrives: still held for the rate.
    suite
        .config()
        .set_tax_rule(suite.as_role(
            SetTaxRuleRequest {
                rule: Some(TaxRule {
                    region: "FR".into(),
                    tax_code: "STANDARD".into(),
                    rate: "0.2".into(),
                    valid_from: "2024-01-01".into(),
                    valid_to: String::new(),
                }),
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap();
    // ECB rates (1 EUR = 1.0850 USD) imported for today.
    let today = Utc::now().date_naive();
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube><Cube time="{today}"><Cube currency="USD" rate="1.0850"/><Cube currency="GBP" rate="0.8312"/></Cube></Cube>
</gesmes:Envelope>"#
    );
    let imported = suite
        .config()
        .import_ecb_rates(suite.as_role(
            ImportEcbRatesRequest {
                xml: xml.into_bytes(),
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.rates_imported, 2);

    let issued = suite
        .billing_events("otc.billing.v1.InvoiceIssued", 1, WAIT)
        .await;
    assert_eq!(
        issued.len(),
        1,
        "the retry issues the held invoice once rule and rate exist"
    );
    let invoice = events_proto::InvoiceIssued::decode(issued[0].payload.as_slice()).unwrap();
    assert_eq!(
        invoice.invoice_id, held.invoice_id,
        "the draft itself is issued"
    );
    // 108.50 + 20% = 130.20 USD; in EUR at 1/1.085: 108.50/1.085 = 100.00, 21.70/1.085 = 20.00.
    assert_eq!(invoice.total_amount.as_ref().unwrap().amount, "130.20");
    assert_eq!(
        invoice.functional_total_amount.as_ref().unwrap().amount,
        "120.00"
    );
    assert_eq!(
        invoice
            .functional_total_amount
            .as_ref()
            .unwrap()
            .currency_code,
        "EUR"
    );
    let queue = suite
        .invoices()
        .list_held_invoices(suite.as_role(ListHeldInvoicesRequest::default(), Role::ArClerk))
        .await
        .unwrap()
        .into_inner()
        .invoices;
    assert!(queue.is_empty());

    // A malformed ECB file imports nothing and names the problem.
    let status = suite
        .config()
        .import_ecb_rates(suite.as_role(
            ImportEcbRatesRequest {
                xml: b"<Cube><Cube time=\"2026-13-01\"><Cube currency=\"USD\" rate=\"x\"/></Cube></Cube>".to_vec(),
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("xml"), "{}", status.message());
    // An AR clerk may not set rules (admin only).
    let status = suite
        .config()
        .set_fx_rate(suite.as_role(SetFxRateRequest::default(), Role::ArClerk))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_difference_with_the_order_is_flagged_and_held_until_accepted() {
    let suite = BillingSuite::start("billing_discrepancy", &[]).await;
    set_up_tenant(&suite).await;
    let customer = id();
    let order = id();
    suite.customer(&customer, "EUR", "DE", "NET14").await;
    let [first, _] = lines();
    suite
        .order_placed(&order, &customer, "EUR", std::slice::from_ref(&first))
        .await;
    // The warehouse reports a different price than the order's.
    let changed = Line {
        unit_price: "11.00",
        ..lines()[0]
    };
    let event = BillingSuite::shipment(
        &id(),
        &order,
        &customer,
        "EUR",
        &[(&changed, "2", "22.00")],
        Utc::now(),
    );
    suite
        .publish("ShipmentRecorded", &customer, &event, None)
        .await;
    let flagged = suite
        .billing_events("otc.billing.v1.InvoiceDiscrepancyFlagged", 1, WAIT)
        .await;
    let flagged =
        events_proto::InvoiceDiscrepancyFlagged::decode(flagged[0].payload.as_slice()).unwrap();
    assert_eq!(flagged.discrepancies.len(), 1);
    assert_eq!(flagged.discrepancies[0].kind, "UNIT_PRICE");
    assert_eq!(flagged.discrepancies[0].expected, "10");
    assert_eq!(flagged.discrepancies[0].actual, "11");
    assert!(
        list_all(&suite, &customer).await.is_empty(),
        "not silently issued"
    );

    // A customer service representative may not release it; an AR clerk may.
    let status = suite
        .invoices()
        .release_held_invoice(suite.as_role(
            ReleaseHeldInvoiceRequest {
                invoice_id: flagged.invoice_id.clone(),
                accept_discrepancy: true,
                note: String::new(),
            },
            Role::CustomerServiceRepresentative,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // Releasing without accepting keeps it held.
    let still = suite
        .invoices()
        .release_held_invoice(suite.as_role(
            ReleaseHeldInvoiceRequest {
                invoice_id: flagged.invoice_id.clone(),
                accept_discrepancy: false,
                note: String::new(),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(still.status, "HELD");
    let invoice = suite
        .invoices()
        .release_held_invoice(suite.as_role(
            ReleaseHeldInvoiceRequest {
                invoice_id: flagged.invoice_id.clone(),
                accept_discrepancy: true,
                note: "price agreed by phone".into(),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(invoice.status, "ISSUED");
    assert!(!invoice.discrepancy_accepted_by.is_empty());
    assert_eq!(
        invoice.discrepancies.len(),
        1,
        "the flag stays on the invoice"
    );
    assert_eq!(total_of(&invoice), dec("26.18"));
    let issued = suite
        .billing_events("otc.billing.v1.InvoiceIssued", 1, WAIT)
        .await;
    let event = events_proto::InvoiceIssued::decode(issued[0].payload.as_slice()).unwrap();
    assert_eq!(event.discrepancies.len(), 1);
}

async fn issue_one_invoice(suite: &BillingSuite, customer: &str) -> Invoice {
    let order = id();
    let [first, second] = lines();
    suite
        .order_placed(&order, customer, "EUR", &[first, second])
        .await;
    let [first, second] = lines();
    let event = BillingSuite::shipment(
        &id(),
        &order,
        customer,
        "EUR",
        &[(&first, "10", "100.00"), (&second, "3", "10.00")],
        Utc::now(),
    );
    suite
        .publish("ShipmentRecorded", customer, &event, None)
        .await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let listed = list_all(suite, customer).await;
        if let Some(invoice) = listed
            .into_iter()
            .find(|invoice| invoice.kind == i32::from(DocumentKind::Invoice))
        {
            return invoice;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no invoice for {customer}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn credit_notes_never_exceed_what_remains_and_debit_notes_are_taxed() {
    let suite = BillingSuite::start("billing_notes", &[]).await;
    set_up_tenant(&suite).await;
    let customer = id();
    suite.customer(&customer, "EUR", "DE", "NET30").await;
    let invoice = issue_one_invoice(&suite, &customer).await;
    assert_eq!(total_of(&invoice), dec("129.70"));
    let year = Utc::now().year();

    let partial = IssueCreditNoteRequest {
        idempotency_key: "cn-1".into(),
        invoice_id: invoice.invoice_id.clone(),
        reason: "two units damaged".into(),
        scope: Some(issue_credit_note_request::Scope::Lines(CreditLines {
            lines: vec![CreditLine {
                line_no: 1,
                quantity: "2".into(),
                net_amount: None,
            }],
        })),
    };
    let note = suite
        .invoices()
        .issue_credit_note(suite.as_role(partial.clone(), Role::ArClerk))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(note.number, format!("CN-{year}-000001"));
    assert_eq!(note.kind, i32::from(DocumentKind::CreditNote));
    assert_eq!(total_of(&note), dec("23.80"), "2 x 10.00 + 19%");
    assert_eq!(note.corrects_invoice_id, invoice.invoice_id);
    // The same request again is the same note; the same key for another is refused.
    let again = suite
        .invoices()
        .issue_credit_note(suite.as_role(partial.clone(), Role::ArClerk))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.invoice_id, note.invoice_id);
    let mut other = partial.clone();
    other.reason = "something else".into();
    let status = suite
        .invoices()
        .issue_credit_note(suite.as_role(other, Role::ArClerk))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    // More than remains is refused, naming the field.
    let status = suite
        .invoices()
        .issue_credit_note(suite.as_role(
            IssueCreditNoteRequest {
                idempotency_key: "cn-2".into(),
                invoice_id: invoice.invoice_id.clone(),
                reason: "too much".into(),
                scope: Some(issue_credit_note_request::Scope::Amount(money(
                    "106.00", "EUR",
                ))),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("remain"), "{}", status.message());
    // A customer service representative may not issue notes.
    let status = suite
        .invoices()
        .issue_credit_note(suite.as_role(partial.clone(), Role::CustomerServiceRepresentative))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // The rest, in full; then nothing is left.
    let rest = suite
        .invoices()
        .issue_credit_note(suite.as_role(
            IssueCreditNoteRequest {
                idempotency_key: "cn-3".into(),
                invoice_id: invoice.invoice_id.clone(),
                reason: "order cancelled".into(),
                scope: Some(issue_credit_note_request::Scope::Full(true)),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        total_of(&rest) + total_of(&note),
        total_of(&invoice),
        "credited exactly the invoice"
    );
    let reloaded = suite
        .invoices()
        .get_invoice(suite.as_role(
            GetInvoiceRequest {
                invoice_id: invoice.invoice_id.clone(),
                number: String::new(),
            },
            Role::CustomerServiceRepresentative,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reloaded.creditable_amount.unwrap().amount, "0.00");
    let status = suite
        .invoices()
        .issue_credit_note(suite.as_role(
            IssueCreditNoteRequest {
                idempotency_key: "cn-4".into(),
                invoice_id: invoice.invoice_id.clone(),
                reason: "again".into(),
                scope: Some(issue_credit_note_request::Scope::Full(true)),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    // A debit note: an extra charge, taxed by the rules.
    let debit = suite
        .invoices()
        .issue_debit_note(suite.as_role(
            IssueDebitNoteRequest {
                idempotency_key: "dn-1".into(),
                invoice_id: invoice.invoice_id.clone(),
                reason: "freight".into(),
                lines: vec![DebitLine {
                    description: "Express freight".into(),
                    net_amount: Some(money("25.00", "EUR")),
                    tax_code: "STANDARD".into(),
                }],
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(debit.number, format!("DN-{year}-000001"));
    assert_eq!(total_of(&debit), dec("29.75"));
    assert!(!debit.due_date.is_empty());
    // A tax code without a rule is refused, naming the line.
    let status = suite
        .invoices()
        .issue_debit_note(suite.as_role(
            IssueDebitNoteRequest {
                idempotency_key: "dn-2".into(),
                invoice_id: invoice.invoice_id.clone(),
                reason: "fee".into(),
                lines: vec![DebitLine {
                    description: "Fee".into(),
                    net_amount: Some(money("5.00", "EUR")),
                    tax_code: "LUXURY".into(),
                }],
            },
            Role::ArClerk,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("lines[0].tax_code"),
        "{}",
        status.message()
    );

    let credits = suite
        .billing_events("otc.billing.v1.CreditNoteIssued", 2, WAIT)
        .await;
    assert_eq!(credits.len(), 2, "one event per note, none for the replay");
    let debits = suite
        .billing_events("otc.billing.v1.DebitNoteIssued", 1, WAIT)
        .await;
    assert_eq!(debits.len(), 1);

    // Another tenant sees none of it.
    let status = suite
        .invoices()
        .get_invoice(otc_testkit::billing::request(
            GetInvoiceRequest {
                invoice_id: invoice.invoice_id.clone(),
                number: String::new(),
            },
            "globex",
            &[Role::Executive],
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn numbering_has_no_gap_and_no_duplicate_under_eight_concurrent_issuers() {
    let suite = BillingSuite::start("billing_numbers", &[]).await;
    set_up_tenant(&suite).await;
    let mut invoices = Vec::new();
    for _ in 0..8 {
        let customer = id();
        suite.customer(&customer, "EUR", "DE", "NET30").await;
        invoices.push(issue_one_invoice(&suite, &customer).await);
    }
    // Eight issuers at once, each issuing credit and debit notes in turn.
    let mut tasks = Vec::new();
    for (issuer, invoice) in invoices.iter().enumerate() {
        let client = suite.invoices();
        let tenant = suite.tenant.clone();
        let invoice_id = invoice.invoice_id.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            for round in 0..6 {
                let credit = IssueCreditNoteRequest {
                    idempotency_key: format!("cn-{issuer}-{round}"),
                    invoice_id: invoice_id.clone(),
                    reason: "goodwill".into(),
                    scope: Some(issue_credit_note_request::Scope::Amount(money(
                        "1.19", "EUR",
                    ))),
                };
                client
                    .issue_credit_note(otc_testkit::billing::request(
                        credit,
                        &tenant,
                        &[Role::ArClerk],
                    ))
                    .await
                    .unwrap();
                let debit = IssueDebitNoteRequest {
                    idempotency_key: format!("dn-{issuer}-{round}"),
                    invoice_id: invoice_id.clone(),
                    reason: "late fee".into(),
                    lines: vec![DebitLine {
                        description: "Late fee".into(),
                        net_amount: Some(money("5.00", "EUR")),
                        tax_code: "STANDARD".into(),
                    }],
                };
                client
                    .issue_debit_note(otc_testkit::billing::request(
                        debit,
                        &tenant,
                        &[Role::ArClerk],
                    ))
                    .await
                    .unwrap();
            }
        }));
    }
    // Meanwhile the consumer issues invoices too.
    let mut more = Vec::new();
    for _ in 0..4 {
        let customer = id();
        suite.customer(&customer, "EUR", "DE", "NET30").await;
        more.push(customer);
    }
    for customer in &more {
        issue_one_invoice(&suite, customer).await;
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut tx = otc_shared::db::begin_for_all_tenants(&suite.database.pool)
        .await
        .unwrap();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT series, sequence FROM invoices WHERE status = 'issued' ORDER BY series, sequence",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let year = Utc::now().year();
    for (series, expected) in [("INV", 12), ("CN", 48), ("DN", 48)] {
        let sequences: Vec<i64> = rows
            .iter()
            .filter(|(name, _)| *name == format!("{series}-{year}"))
            .map(|(_, sequence)| *sequence)
            .collect();
        assert_eq!(
            sequences,
            (1..=expected).collect::<Vec<i64>>(),
            "{series}: gapless from 1, no duplicate"
        );
    }
}

#[tokio::test]
async fn a_kill_in_the_middle_of_a_batch_neither_loses_nor_doubles_an_invoice() {
    let mut suite = BillingSuite::start("billing_kill", &[]).await;
    set_up_tenant(&suite).await;
    let customers: Vec<String> = (0..10).map(|_| id()).collect();
    for customer in &customers {
        suite.customer(customer, "EUR", "DE", "NET30").await;
    }
    let [first, second] = lines();
    let mut shipments = 0_i64;
    let mut orders = Vec::new();
    for _ in 0..30 {
        for customer in &customers {
            let order = id();
            suite.order_placed(&order, customer, "EUR", &lines()).await;
            orders.push((order, customer.clone()));
        }
    }
    for (order, customer) in &orders {
        let event = BillingSuite::shipment(
            &id(),
            order,
            customer,
            "EUR",
            &[(&first, "10", "100.00"), (&second, "3", "10.00")],
            Utc::now(),
        );
        suite
            .publish("ShipmentRecorded", customer, &event, None)
            .await;
        shipments += 1;
    }
    // Kill -9 while the backlog drains, twice, then let it finish.
    for _ in 0..2 {
        suite
            .wait_for_count(
                "SELECT count(*) FROM invoices WHERE status = 'issued'",
                40,
                WAIT,
            )
            .await;
        suite.service.kill_hard().await.unwrap();
        suite.service.restart().await.unwrap();
    }
    let issued = suite
        .wait_for_count(
            "SELECT count(*) FROM invoices WHERE status = 'issued'",
            shipments,
            Duration::from_secs(180),
        )
        .await;
    assert_eq!(issued, shipments, "every shipment invoiced");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        suite
            .count("SELECT count(*) FROM invoices WHERE status = 'issued'")
            .await,
        shipments,
        "and none twice"
    );
    assert_eq!(
        suite
            .count("SELECT count(*) FROM billable_lines WHERE invoice_id IS NULL")
            .await,
        0
    );
    assert_eq!(
        suite.count("SELECT count(*) FROM billable_lines").await,
        shipments * 2
    );
    // Published once each (a relay crash may repeat a record; its event id is the same).
    let events = suite
        .billing_events(
            "otc.billing.v1.InvoiceIssued",
            usize::try_from(shipments).unwrap(),
            Duration::from_secs(120),
        )
        .await;
    let ids: BTreeSet<String> = events
        .iter()
        .map(|record| {
            events_proto::InvoiceIssued::decode(record.payload.as_slice())
                .unwrap()
                .invoice_id
        })
        .collect();
    assert_eq!(i64::try_from(ids.len()).unwrap(), shipments);
}

#[tokio::test]
async fn consolidated_customers_get_one_invoice_per_closed_period() {
    // The automatic cycle is off so the test decides when periods close.
    let suite = BillingSuite::start(
        "billing_cycle",
        &[("OTC_BILLING__CYCLE_INTERVAL_SECONDS", "0")],
    )
    .await;
    set_up_tenant(&suite).await;
    let customer = id();
    suite.customer(&customer, "EUR", "DE", "EOM15").await;
    let profile = suite
        .invoices()
        .set_billing_profile(suite.as_role(
            SetBillingProfileRequest {
                profile: Some(BillingProfile {
                    customer_id: customer.clone(),
                    invoicing_frequency: "MONTHLY".into(),
                    ..BillingProfile::default()
                }),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(profile.invoicing_frequency, "MONTHLY");
    // Three shipments in October, one in November.
    let shipped = |day: u32, month: u32| {
        chrono::NaiveDate::from_ymd_opt(2026, month, day)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
    };
    let [first, _] = lines();
    for (day, month) in [(3, 10), (17, 10), (31, 10), (2, 11)] {
        let order = id();
        suite
            .order_placed(&order, &customer, "EUR", std::slice::from_ref(&first))
            .await;
        let event = BillingSuite::shipment(
            &id(),
            &order,
            &customer,
            "EUR",
            &[(&first, "1", "10.00")],
            shipped(day, month),
        );
        suite
            .publish("ShipmentRecorded", &customer, &event, None)
            .await;
    }
    suite
        .wait_for_count("SELECT count(*) FROM billable_lines", 4, WAIT)
        .await;
    assert_eq!(
        suite.count("SELECT count(*) FROM invoices").await,
        0,
        "nothing per shipment"
    );
    // Before the period closes: nothing.
    let run = |as_of: &str| {
        let mut client = suite.invoices();
        let request = suite.as_role(
            RunBillingCycleRequest {
                as_of: as_of.into(),
            },
            Role::ArClerk,
        );
        async move {
            client
                .run_billing_cycle(request)
                .await
                .unwrap()
                .into_inner()
        }
    };
    assert_eq!(run("2026-10-31").await.invoices_issued, 0);
    let outcome = run("2026-11-01").await;
    assert_eq!(outcome.invoices_issued, 1);
    // Running again (a restart, a second replica) bills nothing twice.
    assert_eq!(run("2026-11-01").await.invoices_issued, 0);
    assert_eq!(run("2026-11-15").await.invoices_issued, 0);
    let listed = list_all(&suite, &customer).await;
    assert_eq!(listed.len(), 1);
    let invoice = &listed[0];
    assert_eq!(invoice.billing_period, "2026-10");
    assert_eq!(invoice.lines.len(), 3);
    assert_eq!(total_of(invoice), dec("35.70"));
    assert_eq!(invoice.issue_date, "2026-11-01");
    assert_eq!(
        invoice.due_date, "2026-12-15",
        "EOM15: end of November + 15 days"
    );
    assert_eq!(
        run("2026-12-01").await.invoices_issued,
        1,
        "November closes"
    );
    assert_eq!(
        suite
            .count("SELECT count(*) FROM billable_lines WHERE invoice_id IS NULL")
            .await,
        0
    );

    // A line shipped while the customer was on a period, left open when it
    // switched to per-shipment invoicing, is billed by the scheduler's
    // safety net once it is a minute old.
    let order = id();
    suite
        .order_placed(&order, &customer, "EUR", std::slice::from_ref(&first))
        .await;
    let event = BillingSuite::shipment(
        &id(),
        &order,
        &customer,
        "EUR",
        &[(&first, "1", "10.00")],
        shipped(20, 11),
    );
    suite
        .publish("ShipmentRecorded", &customer, &event, None)
        .await;
    suite
        .wait_for_count("SELECT count(*) FROM billable_lines", 5, WAIT)
        .await;
    suite
        .invoices()
        .set_billing_profile(suite.as_role(
            SetBillingProfileRequest {
                profile: Some(BillingProfile {
                    customer_id: customer.clone(),
                    invoicing_frequency: "PER_SHIPMENT".into(),
                    ..BillingProfile::default()
                }),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap();
    assert_eq!(
        run("2026-11-21").await.invoices_issued,
        0,
        "too fresh to be a straggler"
    );
    let mut tx = otc_shared::db::begin_for_all_tenants(&suite.database.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE billable_lines SET recorded_at = now() - interval '2 minutes' WHERE invoice_id IS NULL")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(run("2026-11-21").await.invoices_issued, 1);
    let listed = list_all(&suite, &customer).await;
    assert!(
        listed
            .iter()
            .any(|invoice| invoice.billing_period == "PER_SHIPMENT")
    );
    assert_eq!(
        suite
            .count("SELECT count(*) FROM billable_lines WHERE invoice_id IS NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn exempt_reverse_charge_and_tax_inclusive_customers_are_taxed_as_their_profile_says() {
    let suite = BillingSuite::start("billing_treatments", &[]).await;
    set_up_tenant(&suite).await;
    let profiles = [
        ("EXEMPT", "", "charity, certificate 42", ""),
        ("REVERSE_CHARGE", "", "", "FR12345678901"),
        ("STANDARD", "INCLUSIVE", "", ""),
    ];
    let mut customers = Vec::new();
    for (treatment, basis, reason, buyer_tax_id) in profiles {
        let customer = id();
        suite.customer(&customer, "EUR", "DE", "NET30").await;
        suite
            .invoices()
            .set_billing_profile(suite.as_role(
                SetBillingProfileRequest {
                    profile: Some(BillingProfile {
                        customer_id: customer.clone(),
                        tax_treatment: treatment.into(),
                        price_basis: basis.into(),
                        tax_exemption_reason: reason.into(),
                        buyer_tax_id: buyer_tax_id.into(),
                        ..BillingProfile::default()
                    }),
                },
                Role::ArClerk,
            ))
            .await
            .unwrap();
        customers.push(customer);
    }
    // Reverse charge needs the buyer's tax id.
    let status = suite
        .invoices()
        .set_billing_profile(suite.as_role(
            SetBillingProfileRequest {
                profile: Some(BillingProfile {
                    customer_id: id(),
                    tax_treatment: "REVERSE_CHARGE".into(),
                    invoicing_frequency: "YEARLY".into(),
                    ..BillingProfile::default()
                }),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("profile.buyer_tax_id"),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("profile.invoicing_frequency"),
        "{}",
        status.message()
    );

    let mut invoices = Vec::new();
    for customer in &customers {
        invoices.push(issue_one_invoice(&suite, customer).await);
    }
    let [exempt, reverse, inclusive] = [&invoices[0], &invoices[1], &invoices[2]];
    assert_eq!(total_of(exempt), dec("110.00"));
    assert!(
        exempt
            .lines
            .iter()
            .all(|line| line.tax_category == "EXEMPT")
    );
    assert_eq!(total_of(reverse), dec("110.00"));
    assert!(
        reverse
            .lines
            .iter()
            .all(|line| line.tax_category == "REVERSE_CHARGE")
    );
    // Inclusive: 100.00 gross at 19% = 84.03 net + 15.97 tax; 10.00 at 7% = 9.35 + 0.65.
    assert_eq!(total_of(inclusive), dec("110.00"));
    assert_eq!(inclusive.net_amount.as_ref().unwrap().amount, "93.38");
    assert_eq!(inclusive.tax_amount.as_ref().unwrap().amount, "16.62");
    for invoice in &invoices {
        assert_totals_are_sums_of_lines(invoice);
    }
}

#[tokio::test]
async fn concurrent_billing_runs_issue_each_period_once() {
    let suite = BillingSuite::start(
        "billing_cycle_race",
        &[("OTC_BILLING__CYCLE_INTERVAL_SECONDS", "0")],
    )
    .await;
    set_up_tenant(&suite).await;
    let [first, _] = lines();
    let mut customers = Vec::new();
    for _ in 0..6 {
        let customer = id();
        suite.customer(&customer, "EUR", "DE", "NET30").await;
        suite
            .invoices()
            .set_billing_profile(suite.as_role(
                SetBillingProfileRequest {
                    profile: Some(BillingProfile {
                        customer_id: customer.clone(),
                        invoicing_frequency: "WEEKLY".into(),
                        ..BillingProfile::default()
                    }),
                },
                Role::ArClerk,
            ))
            .await
            .unwrap();
        customers.push(customer);
    }
    // Monday 2026-11-02 .. Sunday 2026-11-08 is ISO week 45.
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    for customer in &customers {
        for day in 0..5 {
            let order = id();
            suite
                .order_placed(&order, customer, "EUR", std::slice::from_ref(&first))
                .await;
            let shipped = (monday + chrono::Days::new(day))
                .and_hms_opt(9, 0, 0)
                .unwrap()
                .and_utc();
            let event = BillingSuite::shipment(
                &id(),
                &order,
                customer,
                "EUR",
                &[(&first, "1", "10.00")],
                shipped,
            );
            suite
                .publish("ShipmentRecorded", customer, &event, None)
                .await;
        }
    }
    suite
        .wait_for_count("SELECT count(*) FROM billable_lines", 30, WAIT)
        .await;
    let mut runs = Vec::new();
    for _ in 0..6 {
        let mut client = suite.invoices();
        let request = suite.as_role(
            RunBillingCycleRequest {
                as_of: "2026-11-09".into(),
            },
            Role::ArClerk,
        );
        runs.push(tokio::spawn(async move {
            client
                .run_billing_cycle(request)
                .await
                .unwrap()
                .into_inner()
        }));
    }
    let mut issued = 0;
    for run in runs {
        issued += run.await.unwrap().invoices_issued;
    }
    assert_eq!(
        issued, 6,
        "one invoice per customer for week 45, whichever run issued it"
    );
    assert_eq!(suite.count("SELECT count(*) FROM invoices").await, 6);
    assert_eq!(
        suite
            .count("SELECT count(*) FROM invoices WHERE billing_period = '2026-W45'")
            .await,
        6
    );
    assert_eq!(
        suite
            .count("SELECT count(*) FROM billable_lines WHERE invoice_id IS NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn tenants_sharing_a_consumer_batch_keep_their_own_numbers_rules_and_invoices() {
    let suite = BillingSuite::start("billing_tenants", &[]).await;
    set_up_tenant(&suite).await;
    // A second tenant with its own 20% rule and no reduced rate.
    let other = format!("globex{}", &id()[30..]);
    let admin = |message| otc_testkit::billing::request(message, &other, &[Role::TenantAdmin]);
    suite
        .config()
        .set_tax_rule(admin(SetTaxRuleRequest {
            rule: Some(TaxRule {
                region: "DE".into(),
                tax_code: "STANDARD".into(),
                rate: "0.2".into(),
                valid_from: "2020-01-01".into(),
                valid_to: String::new(),
            }),
        }))
        .await
        .unwrap();
    // Customers and orders first (each keyed by its customer, as the order
    // service does); then the shipments on one partition key, so both
    // tenants' shipments share consumer batches.
    let key = id();
    let [first, _] = lines();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut shipments = Vec::new();
    for round in 0..6 {
        let (tenant, customers) = if round % 2 == 0 {
            (suite.tenant.clone(), &mut ours)
        } else {
            (other.clone(), &mut theirs)
        };
        let customer = id();
        suite
            .customer_for(&tenant, &customer, "EUR", "DE", "NET30")
            .await;
        let order = id();
        suite
            .order_placed_for(
                &tenant,
                &order,
                &customer,
                "EUR",
                std::slice::from_ref(&first),
            )
            .await;
        let event = BillingSuite::shipment(
            &id(),
            &order,
            &customer,
            "EUR",
            &[(&first, "2", "20.00")],
            Utc::now(),
        );
        shipments.push((tenant, event));
        customers.push(customer);
    }
    suite
        .wait_for_count("SELECT count(*) FROM customers", 6, WAIT)
        .await;
    suite
        .wait_for_count("SELECT count(*) FROM order_lines", 6, WAIT)
        .await;
    for (tenant, event) in &shipments {
        suite
            .publish_for(tenant, "ShipmentRecorded", &key, event, None)
            .await;
    }
    suite
        .wait_for_count(
            "SELECT count(*) FROM invoices WHERE status = 'issued'",
            6,
            WAIT,
        )
        .await;
    let year = Utc::now().year();
    let listed = |tenant: String| {
        let mut client = suite.invoices();
        async move {
            client
                .list_invoices(otc_testkit::billing::request(
                    ListInvoicesRequest::default(),
                    &tenant,
                    &[Role::ArClerk],
                ))
                .await
                .unwrap()
                .into_inner()
                .invoices
        }
    };
    let mine = listed(suite.tenant.clone()).await;
    let yours = listed(other.clone()).await;
    assert_eq!(mine.len(), 3);
    assert_eq!(yours.len(), 3);
    let numbers = |invoices: &[Invoice]| {
        let mut numbers: Vec<String> = invoices
            .iter()
            .map(|invoice| invoice.number.clone())
            .collect();
        numbers.sort();
        numbers
    };
    let expected: Vec<String> = (1..=3).map(|n| format!("INV-{year}-{n:06}")).collect();
    assert_eq!(numbers(&mine), expected, "each tenant numbers from 1");
    assert_eq!(numbers(&yours), expected);
    assert!(
        mine.iter().all(|invoice| total_of(invoice) == dec("23.80")),
        "19% for us"
    );
    assert!(
        yours
            .iter()
            .all(|invoice| total_of(invoice) == dec("24.00")),
        "20% for them"
    );
    assert!(
        mine.iter()
            .all(|invoice| ours.contains(&invoice.customer_id))
    );
    assert!(
        yours
            .iter()
            .all(|invoice| theirs.contains(&invoice.customer_id))
    );
}

#[tokio::test]
async fn a_malformed_shipment_is_dead_lettered_with_the_field_and_bills_nothing() {
    let suite = BillingSuite::start("billing_poison", &[]).await;
    set_up_tenant(&suite).await;
    let customer = id();
    let order = id();
    suite.customer(&customer, "EUR", "DE", "NET30").await;
    let [first, _] = lines();
    suite
        .order_placed(&order, &customer, "EUR", std::slice::from_ref(&first))
        .await;
    // The same order line twice, then a quantity that is not a number.
    let twice = BillingSuite::shipment(
        &id(),
        &order,
        &customer,
        "EUR",
        &[(&first, "1", "10.00"), (&first, "2", "20.00")],
        Utc::now(),
    );
    suite
        .publish("ShipmentRecorded", &customer, &twice, None)
        .await;
    let unreadable = BillingSuite::shipment(
        &id(),
        &order,
        &customer,
        "EUR",
        &[(&first, "two", "20.00")],
        Utc::now(),
    );
    suite
        .publish("ShipmentRecorded", &customer, &unreadable, None)
        .await;
    // A good one after them still goes through.
    let good = BillingSuite::shipment(
        &id(),
        &order,
        &customer,
        "EUR",
        &[(&first, "3", "30.00")],
        Utc::now(),
    );
    suite
        .publish("ShipmentRecorded", &customer, &good, None)
        .await;
    suite
        .wait_for_count(
            "SELECT count(*) FROM invoices WHERE status = 'issued'",
            1,
            WAIT,
        )
        .await;
    let dlq = suite.topic("otc.order.events.v1.dlq.order-events");
    let dead = otc_testkit::kafka::read_all(&dlq, 2, WAIT).await.unwrap();
    assert_eq!(dead.len(), 2);
    let errors: Vec<&str> = dead
        .iter()
        .map(|record| record.headers.get("dlq_error").unwrap())
        .collect();
    assert!(
        errors
            .iter()
            .any(|error| error.contains("lines[1].line_id")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|error| error.contains("lines[0].quantity")),
        "{errors:?}"
    );
    assert_eq!(suite.count("SELECT count(*) FROM invoices").await, 1);
    assert_eq!(
        suite.count("SELECT count(*) FROM billable_lines").await,
        1,
        "nothing of the bad shipments kept"
    );
}

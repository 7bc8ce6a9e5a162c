#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Invoice documents and their delivery, end to end with the billing
//! process: the PDF is rendered, stored with its SHA-256, streamed back
//! verified (and refused when the stored file was altered), emailed once
//! through a real SMTP server, and sent by signed webhook with retries.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Utc;
use sha2::Digest;
use tonic::Code;
use uuid::Uuid;

use otc_proto::billing::*;
use otc_proto::events as events_proto;
use otc_shared::auth::Role;
use otc_shared::signing::{SIGNATURE_HEADER, verify};
use otc_testkit::billing::{BillingSuite, Line};
use otc_testkit::mail;
use prost::Message;

const WAIT: Duration = Duration::from_secs(60);
const SECRET: &str = "test-webhook-signing-secret-0123456789";

fn id() -> String {
    Uuid::now_v7().to_string()
}

async fn set_up(suite: &BillingSuite) {
    suite
        .config()
        .set_tenant_settings(suite.as_role(
            TenantSettings {
                functional_currency: "EUR".into(),
                seller_name: "OTC Demo AG".into(),
                seller_tax_id: "DE123456789".into(),
                payment_instructions: vec![
                    "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX".into(),
                ],
                ..TenantSettings::default()
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap();
    suite
        .config()
        .set_tax_rule(suite.as_role(
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

async fn profile(suite: &BillingSuite, customer: &str, channel: &str, target: &str) {
    let mut profile = BillingProfile {
        customer_id: customer.into(),
        delivery_channel: channel.into(),
        ..BillingProfile::default()
    };
    if channel == "EMAIL" {
        profile.delivery_email = target.into();
    } else {
        profile.delivery_webhook_url = target.into();
    }
    suite
        .invoices()
        .set_billing_profile(suite.as_role(
            SetBillingProfileRequest {
                profile: Some(profile),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap();
}

const LINE: Line<'static> = Line {
    line_id: "1",
    sku: "SKU-1",
    quantity: "10",
    unit_price: "12.50",
    line_amount: "125.00",
    tax_code: "STANDARD",
};

/// Ships one order and returns the issued invoice's id.
async fn ship(suite: &BillingSuite, customer: &str) -> String {
    let order = id();
    suite
        .order_placed(&order, customer, "EUR", std::slice::from_ref(&LINE))
        .await;
    let event = BillingSuite::shipment(
        &id(),
        &order,
        customer,
        "EUR",
        &[(&LINE, "10", "125.00")],
        Utc::now(),
    );
    suite
        .publish("ShipmentRecorded", customer, &event, None)
        .await;
    let issued = suite
        .billing_events("otc.billing.v1.InvoiceIssued", 1, WAIT)
        .await;
    events_proto::InvoiceIssued::decode(issued[0].payload.as_slice())
        .unwrap()
        .invoice_id
}

async fn get(suite: &BillingSuite, invoice_id: &str) -> Invoice {
    suite
        .invoices()
        .get_invoice(suite.as_role(
            GetInvoiceRequest {
                invoice_id: invoice_id.into(),
                number: String::new(),
            },
            Role::CustomerServiceRepresentative,
        ))
        .await
        .unwrap()
        .into_inner()
}

async fn stored_document(suite: &BillingSuite, invoice_id: &str) -> Invoice {
    let deadline = Instant::now() + WAIT;
    loop {
        let invoice = get(suite, invoice_id).await;
        if invoice
            .document
            .as_ref()
            .is_some_and(|document| document.status == "STORED")
        {
            return invoice;
        }
        assert!(
            Instant::now() < deadline,
            "document never stored: {:?}",
            invoice.document
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn download(
    suite: &BillingSuite,
    invoice_id: &str,
) -> Result<(Vec<u8>, String), tonic::Status> {
    let mut stream = suite
        .invoices()
        .get_invoice_document(suite.as_role(
            GetInvoiceDocumentRequest {
                invoice_id: invoice_id.into(),
            },
            Role::CustomerServiceRepresentative,
        ))
        .await?
        .into_inner();
    let mut bytes = Vec::new();
    let mut sha = String::new();
    while let Some(chunk) = stream.message().await? {
        if !chunk.sha256.is_empty() {
            sha = chunk.sha256.clone();
            assert_eq!(chunk.content_type, "application/pdf");
        }
        bytes.extend_from_slice(&chunk.data);
    }
    Ok((bytes, sha))
}

fn text_of(pdf: &[u8]) -> String {
    let document = lopdf::Document::load_mem(pdf).unwrap();
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    document
        .extract_text(&pages)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[tokio::test]
async fn an_invoice_is_rendered_stored_verified_and_emailed_once() {
    let suite = BillingSuite::start("billing_docs_mail", &[]).await;
    set_up(&suite).await;
    let customer = id();
    suite.customer(&customer, "EUR", "DE", "NET30").await;
    let recipient = mail::unique_recipient("invoices");
    profile(&suite, &customer, "EMAIL", &recipient).await;
    let invoice_id = ship(&suite, &customer).await;
    let invoice = stored_document(&suite, &invoice_id).await;
    let document = invoice.document.clone().unwrap();

    // Streamed back with its hash verified; the text a reader extracts has
    // the number, the buyer, the total and the due date.
    let (pdf, sha) = download(&suite, &invoice_id).await.unwrap();
    assert_eq!(sha, document.sha256);
    assert_eq!(sha256_hex(&pdf), document.sha256);
    let text = text_of(&pdf);
    for expected in [
        invoice.number.as_str(),
        "EUR 148.75",
        invoice.due_date.as_str(),
        invoice.customer_name.as_str(),
        "OTC Demo AG",
        "IBAN DE89",
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` not in the PDF text: {text}"
        );
    }

    // Emailed once, with the same PDF attached.
    let message = mail::wait_for_message(&recipient, WAIT).await.unwrap();
    assert!(
        message.subject.contains(&invoice.number),
        "{}",
        message.subject
    );
    assert_eq!(message.attachments.len(), 1);
    assert_eq!(message.attachments[0].content_type, "application/pdf");
    assert_eq!(sha256_hex(&message.attachments[0].bytes), document.sha256);
    let delivered = suite
        .billing_events("otc.billing.v1.InvoiceDelivered", 1, WAIT)
        .await;
    let delivered =
        events_proto::InvoiceDelivered::decode(delivered[0].payload.as_slice()).unwrap();
    assert_eq!(delivered.channel, "EMAIL");
    assert_eq!(delivered.target, recipient);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        mail::messages_for(&recipient).len(),
        1,
        "never sent twice once accepted"
    );
    let deliveries = suite
        .invoices()
        .list_deliveries(suite.as_role(
            ListDeliveriesRequest {
                invoice_id: invoice_id.clone(),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner()
        .deliveries;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, "ACCEPTED");

    // Re-rendering gives the same bytes (the document is deterministic).
    suite
        .invoices()
        .rerender_document(suite.as_role(
            RerenderDocumentRequest {
                invoice_id: invoice_id.clone(),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let document = get(&suite, &invoice_id).await.document.unwrap();
        if document.render_count == 2 && document.status == "STORED" {
            assert_eq!(document.sha256, sha, "a re-render is byte-identical");
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // An altered stored file is detected, never served.
    let path = suite.documents_root.join(&document.object_key);
    let mut altered = std::fs::read(&path).unwrap();
    let last = altered.len() - 10;
    altered[last] ^= 0x20;
    std::fs::write(&path, altered).unwrap();
    let status = download(&suite, &invoice_id).await.unwrap_err();
    assert_eq!(status.code(), Code::DataLoss, "{status:?}");
}

#[derive(Clone)]
struct Receiver {
    /// Answers in turn; the last one repeats.
    answers: Arc<Vec<StatusCode>>,
    seen: Arc<Mutex<Vec<(HeaderMap, Bytes, bool)>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let valid = verify(
        &[SECRET.as_bytes()],
        &signature,
        &body,
        Utc::now().timestamp(),
        300,
    )
    .is_ok();
    let mut seen = receiver.seen.lock().unwrap();
    let answer = receiver.answers[seen.len().min(receiver.answers.len() - 1)];
    seen.push((headers, body, valid));
    if valid {
        answer
    } else {
        StatusCode::UNAUTHORIZED
    }
}

async fn start_receiver(answers: Vec<StatusCode>) -> (String, Receiver) {
    let receiver = Receiver {
        answers: Arc::new(answers),
        seen: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hooks/invoices", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/hooks/invoices"), receiver)
}

#[tokio::test]
async fn a_webhook_delivery_is_signed_retried_until_accepted_and_tracked() {
    let suite = BillingSuite::start(
        "billing_docs_webhook",
        &[
            ("OTC_BILLING__DELIVERY__WEBHOOK_SECRET", SECRET),
            ("OTC_BILLING__DELIVERY__RETRY_BASE_MS", "200"),
            ("OTC_BILLING__DELIVERY__MAX_ATTEMPTS", "5"),
        ],
    )
    .await;
    set_up(&suite).await;
    let customer = id();
    suite.customer(&customer, "EUR", "DE", "NET30").await;
    // Two failures (the receiver is down for maintenance), then accepted.
    let (url, receiver) = start_receiver(vec![
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::OK,
    ])
    .await;
    profile(&suite, &customer, "WEBHOOK", &url).await;
    let invoice_id = ship(&suite, &customer).await;
    let delivered = suite
        .billing_events("otc.billing.v1.InvoiceDelivered", 1, WAIT)
        .await;
    let delivered =
        events_proto::InvoiceDelivered::decode(delivered[0].payload.as_slice()).unwrap();
    assert_eq!(delivered.invoice_id, invoice_id);
    assert_eq!(delivered.attempts, 3);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        3,
        "two retries, then nothing more once accepted"
    );
    assert!(
        seen.iter().all(|(_, _, valid)| *valid),
        "every attempt is signed"
    );
    let keys: Vec<&str> = seen
        .iter()
        .map(|(headers, _, _)| headers.get("idempotency-key").unwrap().to_str().unwrap())
        .collect();
    assert!(
        keys.iter().all(|key| *key == keys[0]),
        "one idempotency key per delivery"
    );
    let body: serde_json::Value = serde_json::from_slice(&seen[2].1).unwrap();
    assert_eq!(body["invoice_id"], invoice_id);
    assert_eq!(body["total"], "148.75");
    assert!(
        body["document"]["base64"]
            .as_str()
            .is_some_and(|pdf| pdf.len() > 1000)
    );

    // A receiver that refuses (400) fails the delivery for good, visibly.
    let (refusing, refusals) = start_receiver(vec![StatusCode::BAD_REQUEST]).await;
    let resent = suite
        .invoices()
        .resend_invoice(suite.as_role(
            ResendInvoiceRequest {
                invoice_id: invoice_id.clone(),
                channel: "WEBHOOK".into(),
                target: refusing,
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    let deadline = Instant::now() + WAIT;
    loop {
        let deliveries = suite
            .invoices()
            .list_deliveries(suite.as_role(
                ListDeliveriesRequest {
                    invoice_id: invoice_id.clone(),
                },
                Role::ArClerk,
            ))
            .await
            .unwrap()
            .into_inner()
            .deliveries;
        let failed = deliveries
            .iter()
            .find(|delivery| delivery.delivery_id == resent.delivery_id)
            .unwrap();
        if failed.status == "FAILED" {
            assert_eq!(failed.attempts, 1, "a permanent refusal is not retried");
            assert!(failed.last_error.contains("400"), "{}", failed.last_error);
            break;
        }
        assert!(Instant::now() < deadline, "{failed:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(refusals.seen.lock().unwrap().len(), 1);
}

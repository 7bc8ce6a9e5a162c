//! Invoice delivery against real receivers: emails through the local SMTP
//! sink (read back from its Maildir), webhooks to an HTTP server on loopback
//! that checks the `OTC-Signature` with the shared verifier.
//!
//! Needs `scripts/infra/infra.sh up` (the SMTP sink); each test mails an
//! address of its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use otc_billing::workers::delivery::DEFAULT_FROM;
use otc_delivery::{
    Attachment, DeliveryError, DeliverySettings, EmailSender, OutgoingEmail, WebhookSender,
};
use otc_shared::signing::{SIGNATURE_HEADER, verify};
use otc_testkit::mail::{messages_for, smtp_port, unique_recipient, wait_for_message};
use secrecy::SecretString;
use serde_json::json;

const MAIL_TIMEOUT: Duration = Duration::from_secs(10);
const SECRET: &str = "whsec-test-3f9a";

fn settings_for_sink() -> DeliverySettings {
    let mut settings = DeliverySettings {
        from_address: "Billing <billing@otc.local>".to_owned(),
        timeout_ms: 5_000,
        ..DeliverySettings::default()
    };
    settings.smtp.port = smtp_port();
    settings
}

/// Bytes shaped like a small PDF, with every byte value in it so a lossy
/// transfer encoding or a line-end conversion would show.
fn pdf_like() -> Vec<u8> {
    let mut bytes =
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nstream\n".to_vec();
    for round in 0..40_u8 {
        bytes.extend((0..=255_u8).map(|byte| byte.wrapping_add(round)));
        bytes.extend_from_slice(b"\r\n\n\r.\r\n");
    }
    bytes.extend_from_slice(b"\nendstream\nendobj\n%%EOF\n");
    bytes
}

fn invoice_email(to: &str, message_id: &str) -> OutgoingEmail {
    OutgoingEmail {
        message_id: message_id.to_owned(),
        to: to.to_owned(),
        to_name: Some("Müller & Söhne GmbH — AP".to_owned()),
        subject: "Rechnung INV-2026-000042 über 1.190,00 €".to_owned(),
        text_body: "Guten Tag,\n\nanbei Ihre Rechnung INV-2026-000042.\n.\nFällig: 2026-12-31\n"
            .to_owned(),
        attachment: Some(Attachment {
            file_name: "INV-2026-000042.pdf".to_owned(),
            content_type: "application/pdf".to_owned(),
            bytes: pdf_like(),
        }),
    }
}

#[tokio::test]
async fn an_invoice_email_arrives_with_its_pdf_intact_and_exactly_once() {
    let sender = EmailSender::from_settings(&settings_for_sink(), DEFAULT_FROM).unwrap();
    let recipient = unique_recipient("ap");
    let email = invoice_email(&recipient, &format!("delivery-1.{recipient}"));

    let accepted = sender.send(&email).await.unwrap();
    assert!(accepted.response.starts_with("250"), "{accepted:?}");

    let received = wait_for_message(&recipient, MAIL_TIMEOUT).await.unwrap();
    assert_eq!(received.subject, email.subject);
    assert_eq!(received.message_id, format!("delivery-1.{recipient}"));
    assert!(
        received.from.contains("billing@otc.local"),
        "{}",
        received.from
    );
    assert_eq!(received.to, vec![recipient.to_ascii_lowercase()]);
    assert_eq!(received.text_body.trim_end(), email.text_body.trim_end());
    assert_eq!(received.attachments.len(), 1, "{:?}", received.path);
    let attachment = &received.attachments[0];
    assert_eq!(attachment.name, "INV-2026-000042.pdf");
    assert_eq!(attachment.content_type, "application/pdf");
    assert!(
        attachment.bytes == pdf_like(),
        "attachment bytes changed on the way ({:?})",
        received.path
    );

    // Nothing else turns up later (no duplicate from a hidden retry).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(messages_for(&recipient).len(), 1);
}

#[tokio::test]
async fn a_retried_send_carries_the_same_message_id() {
    let sender = EmailSender::from_settings(&settings_for_sink(), DEFAULT_FROM).unwrap();
    let recipient = unique_recipient("retry");
    let email = OutgoingEmail {
        attachment: None,
        // Brackets are optional on the way in and never doubled.
        ..invoice_email(&recipient, &format!("<invoice-42.delivery-7.{recipient}>"))
    };
    sender.send(&email).await.unwrap();
    sender.send(&email).await.unwrap();

    let deadline = tokio::time::Instant::now() + MAIL_TIMEOUT;
    while messages_for(&recipient).len() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received = messages_for(&recipient);
    assert_eq!(received.len(), 2, "{received:#?}");
    for mail in &received {
        assert_eq!(
            mail.message_id,
            format!("invoice-42.delivery-7.{recipient}")
        );
        assert!(mail.attachments.is_empty());
    }
}

#[tokio::test]
async fn a_bad_address_is_permanent_and_names_the_field() {
    let sender = EmailSender::from_settings(&settings_for_sink(), DEFAULT_FROM).unwrap();
    let email = invoice_email("accounts payable at customer", "bad-address.1@otc.local");
    let error = sender.send(&email).await.unwrap_err();
    assert!(
        matches!(error, DeliveryError::Permanent { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("field `to`"), "{error}");
}

#[tokio::test]
async fn an_smtp_server_that_is_not_listening_is_transient() {
    let mut settings = settings_for_sink();
    settings.smtp.port = unused_port().await;
    settings.timeout_ms = 2_000;
    let sender = EmailSender::from_settings(&settings, DEFAULT_FROM).unwrap();
    let recipient = unique_recipient("down");
    let error = sender
        .send(&invoice_email(&recipient, "down.1@otc.local"))
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains(&format!("127.0.0.1:{}", settings.smtp.port)),
        "{error}"
    );
}

// ---------------------------------------------------------------- webhooks

/// What the receiver saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    headers: HeaderMap,
    body: Bytes,
    signature: Result<i64, String>,
}

#[derive(Clone)]
struct Receiver {
    secret: &'static str,
    answer: StatusCode,
    delay: Duration,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    tokio::time::sleep(receiver.delay).await;
    let header = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let now = chrono::Utc::now().timestamp();
    let signature = verify(&[receiver.secret.as_bytes()], &header, &body, now, 300)
        .map_err(|error| error.to_string());
    receiver.seen.lock().unwrap().push(Seen {
        headers,
        body,
        signature: signature.clone(),
    });
    match signature {
        Ok(_) => (
            receiver.answer,
            format!("answer {}", receiver.answer.as_u16()),
        ),
        Err(error) => (StatusCode::UNAUTHORIZED, error),
    }
}

/// Starts a receiver on a free loopback port; returns its URL.
async fn start_receiver(receiver: Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hooks/invoices", post(receive))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/hooks/invoices")
}

fn receiver(answer: StatusCode) -> Receiver {
    Receiver {
        secret: SECRET,
        answer,
        delay: Duration::ZERO,
        seen: Arc::default(),
    }
}

fn signing_sender() -> WebhookSender {
    WebhookSender::new(
        "billing",
        Some(SecretString::from(SECRET)),
        Duration::from_secs(5),
    )
    .unwrap()
}

fn invoice_payload() -> serde_json::Value {
    json!({
        "type": "invoice.issued",
        "invoice_number": "INV-2026-000042",
        "total": {"amount": "1190.00", "currency": "EUR"},
        "document_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    })
}

#[tokio::test]
async fn a_signed_webhook_is_verified_and_accepted() {
    let receiver = receiver(StatusCode::ACCEPTED);
    let url = start_receiver(receiver.clone()).await;
    let before = chrono::Utc::now().timestamp();

    let accepted = signing_sender()
        .send(&url, "delivery-7f3e", &invoice_payload())
        .await
        .unwrap();
    assert!(accepted.response.contains("202"), "{accepted:?}");

    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    let signed_at = request.signature.clone().unwrap();
    assert!(
        (before..=before + 5).contains(&signed_at),
        "signed at {signed_at}, sent after {before}"
    );
    assert_eq!(request.headers["idempotency-key"], "delivery-7f3e");
    assert_eq!(request.headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, invoice_payload());
}

#[tokio::test]
async fn a_receiver_with_another_secret_refuses_and_that_is_permanent() {
    let receiver = Receiver {
        secret: "someone-elses-secret",
        ..receiver(StatusCode::OK)
    };
    let url = start_receiver(receiver.clone()).await;
    let error = signing_sender()
        .send(&url, "delivery-other", &invoice_payload())
        .await
        .unwrap_err();
    assert!(
        matches!(error, DeliveryError::Permanent { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("401"), "{error}");
    let seen = receiver.seen.lock().unwrap().clone();
    assert!(
        seen[0]
            .signature
            .as_ref()
            .is_err_and(|e| e.contains("no OTC-Signature v1 signature matches"))
    );
}

#[tokio::test]
async fn a_receiver_answering_503_is_transient() {
    let receiver = receiver(StatusCode::SERVICE_UNAVAILABLE);
    let url = start_receiver(receiver.clone()).await;
    let error = signing_sender()
        .send(&url, "delivery-503", &invoice_payload())
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(error.to_string().contains("503"), "{error}");
    assert!(receiver.seen.lock().unwrap()[0].signature.is_ok());
}

#[tokio::test]
async fn a_receiver_answering_400_is_permanent() {
    let url = start_receiver(receiver(StatusCode::BAD_REQUEST)).await;
    let error = signing_sender()
        .send(&url, "delivery-400", &invoice_payload())
        .await
        .unwrap_err();
    assert!(
        matches!(error, DeliveryError::Permanent { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("400"), "{error}");
}

#[tokio::test]
async fn without_a_secret_nothing_is_sent_and_the_setting_is_named() {
    let receiver = receiver(StatusCode::OK);
    let url = start_receiver(receiver.clone()).await;
    let sender = WebhookSender::new("billing", None, Duration::from_secs(5)).unwrap();
    let error = sender
        .send(&url, "delivery-unsigned", &invoice_payload())
        .await
        .unwrap_err();
    assert!(
        matches!(error, DeliveryError::Permanent { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("OTC_BILLING__DELIVERY__WEBHOOK_SECRET"),
        "{error}"
    );
    assert!(receiver.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_transient_and_odd_urls_permanent() {
    let slow = Receiver {
        delay: Duration::from_secs(3),
        ..receiver(StatusCode::OK)
    };
    let slow_url = start_receiver(slow).await;
    let impatient = WebhookSender::new(
        "billing",
        Some(SecretString::from(SECRET)),
        Duration::from_millis(300),
    )
    .unwrap();
    let error = impatient
        .send(&slow_url, "delivery-slow", &invoice_payload())
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error:?}");

    let closed = format!("http://127.0.0.1:{}/hooks/invoices", unused_port().await);
    let error = signing_sender()
        .send(&closed, "delivery-closed", &invoice_payload())
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error:?}");

    let error = signing_sender()
        .send("ftp://127.0.0.1/hooks", "delivery-ftp", &invoice_payload())
        .await
        .unwrap_err();
    assert!(
        matches!(error, DeliveryError::Permanent { .. }),
        "{error:?}"
    );
}

/// A loopback port nothing listens on (bound, then released).
async fn unused_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

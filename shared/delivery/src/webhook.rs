//! Webhooks: a JSON POST signed with the suite's `OTC-Signature`
//! scheme (see `otc_shared::signing`) and carrying an `Idempotency-Key`, so
//! the receiver can both trust the sender and drop a retried delivery.

use std::time::Duration;

use otc_shared::signing::{SIGNATURE_HEADER, sign};
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};

use crate::settings::DeliverySettings;
use crate::{Accepted, DeliveryError};

pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// How much of a receiver's answer is kept in `Accepted`/errors.
const RESPONSE_EXCERPT_CHARS: usize = 300;

#[derive(Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    secret: Option<SecretString>,
    /// The environment variable that sets the secret, for the error.
    secret_setting: String,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WebhookSender")
            .field("signing", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

impl WebhookSender {
    /// `timeout` bounds a whole request (connect, send, answer); `service`
    /// names the sender in the User-Agent and in the missing-secret error.
    /// Without a secret the sender still builds, but every `send` is
    /// refused: an unsigned webhook would teach receivers to accept
    /// forgeries.
    pub fn new(
        service: &str,
        secret: Option<SecretString>,
        timeout: Duration,
    ) -> Result<Self, DeliveryError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // A redirect would re-send the signed body to wherever the
            // receiver points; the configured URL must be the final one.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(format!(
                "otc-{service}/{} (webhook)",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|error| {
                DeliveryError::permanent(format!("cannot create the webhook HTTP client: {error}"))
            })?;
        Ok(Self {
            client,
            secret,
            secret_setting: format!(
                "OTC_{}__DELIVERY__WEBHOOK_SECRET",
                service.to_ascii_uppercase()
            ),
        })
    }

    pub fn from_settings(
        service: &str,
        settings: &DeliverySettings,
    ) -> Result<Self, DeliveryError> {
        Self::new(
            service,
            settings.webhook_secret.clone(),
            Duration::from_millis(settings.timeout_ms),
        )
    }

    /// POSTs `payload` to `url`. 2xx is accepted; 408, 429, 5xx, timeouts
    /// and connection errors are transient; other answers are permanent.
    pub async fn send(
        &self,
        url: &str,
        idempotency_key: &str,
        payload: &serde_json::Value,
    ) -> Result<Accepted, DeliveryError> {
        let url = checked_url(url)?;
        let secret = self
            .secret
            .as_ref()
            .filter(|secret| !secret.expose_secret().is_empty())
            .ok_or_else(|| {
                DeliveryError::permanent(format!(
                    "webhook not sent: no signing secret configured; set delivery.webhook_secret \
                     ({})",
                    self.secret_setting
                ))
            })?;
        let idempotency_value = HeaderValue::from_str(idempotency_key)
            .ok()
            .filter(|_| !idempotency_key.trim().is_empty())
            .ok_or_else(|| {
                DeliveryError::permanent(format!(
                    "field `idempotency_key`: `{idempotency_key}` must be non-empty visible ASCII"
                ))
            })?;
        let body = serde_json::to_vec(payload).map_err(|error| {
            DeliveryError::permanent(format!("field `payload` cannot be serialised: {error}"))
        })?;
        let signature = sign(
            secret.expose_secret().as_bytes(),
            chrono::Utc::now().timestamp(),
            &body,
        );
        let response = self
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_KEY_HEADER, idempotency_value)
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(|error| request_failed(&url, &error))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .map(|value| format!(" (Retry-After: {value})"))
            .unwrap_or_default();
        // The answer's body is only for people reading the delivery log; a
        // receiver that accepted but then broke off must not cause a resend.
        let excerpt = response
            .text()
            .await
            .map(|text| excerpt(&text))
            .unwrap_or_default();
        let described = format!(
            "{} answered HTTP {status}{retry_after}: {excerpt}",
            redacted(&url)
        );
        if status.is_success() {
            Ok(Accepted {
                response: described,
            })
        } else if is_transient_status(status) {
            Err(DeliveryError::transient(described))
        } else {
            Err(DeliveryError::permanent(described))
        }
    }
}

/// Refused before any connection: not http(s), or no host.
pub(crate) fn checked_url(url: &str) -> Result<Url, DeliveryError> {
    let parsed = Url::parse(url.trim()).map_err(|error| {
        DeliveryError::permanent(format!("field `url`: `{url}` is not a URL: {error}"))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(DeliveryError::permanent(format!(
            "field `url`: scheme `{}` is not http or https",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(DeliveryError::permanent(format!(
            "field `url`: `{url}` has no host"
        )));
    }
    Ok(parsed)
}

fn is_transient_status(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

fn request_failed(url: &Url, error: &reqwest::Error) -> DeliveryError {
    let reason = format!("POST {}: {}", redacted(url), error_chain(error));
    if error.is_builder() {
        DeliveryError::permanent(reason)
    } else {
        // Timeouts, refused connections, TLS and broken connections: the
        // receiver may well be back later.
        DeliveryError::transient(reason)
    }
}

/// reqwest's own message is only "error sending request"; the cause
/// (refused, timed out, certificate) is further down the chain.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The URL without credentials or query (tokens often live there), for logs.
fn redacted(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

fn excerpt(text: &str) -> String {
    let trimmed = text.trim();
    match trimmed.char_indices().nth(RESPONSE_EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn only_http_urls_with_a_host_pass() {
        assert!(checked_url("https://erp.example/hooks/invoices?token=x").is_ok());
        assert!(checked_url("http://127.0.0.1:8080/in").is_ok());
        for (bad, expected) in [
            ("ftp://erp.example/in", "scheme `ftp`"),
            ("file:///etc/passwd", "scheme `file`"),
            ("erp.example/in", "is not a URL"),
            ("", "is not a URL"),
        ] {
            let error = checked_url(bad).unwrap_err();
            assert!(!error.is_transient());
            assert!(error.to_string().contains(expected), "{bad}: {error}");
            assert!(error.to_string().contains("field `url`"), "{error}");
        }
    }

    #[test]
    fn status_classes() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(
                is_transient_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 409, 410, 422, 301, 302] {
            assert!(
                !is_transient_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }

    #[test]
    fn logged_urls_drop_credentials_and_query() {
        let url = Url::parse("https://user:pw@erp.example:8443/hooks?token=secret").unwrap();
        assert_eq!(redacted(&url), "https://erp.example:8443/hooks");
    }

    #[test]
    fn excerpts_cut_on_a_character_boundary() {
        let long = "é".repeat(RESPONSE_EXCERPT_CHARS + 5);
        assert_eq!(excerpt(&long).chars().count(), RESPONSE_EXCERPT_CHARS + 1);
        assert_eq!(excerpt("  ok \n"), "ok");
    }
}

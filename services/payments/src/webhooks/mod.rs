//! Payment provider webhooks: `POST /webhooks/<tenant>/<provider>` on the
//! HTTP port, HMAC-signed (`OTC-Signature: t=<unix>,v1=<hex>`, see
//! `otc_shared::signing`), within a replay window, idempotent on the
//! provider's event id. The accepted payload is documented in
//! `docs/payments/webhooks.md`.

mod payload;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use sqlx::PgPool;

use crate::commands::receive::{self, IncomingPayment};
use crate::commands::{Actor, CommandError, manual};
use crate::store::{policies, webhooks};
use otc_shared::TenantId;
use otc_shared::signing::{self, SIGNATURE_HEADER};

pub use payload::{WebhookEvent, parse};

/// Webhook bodies are small; anything larger is refused before reading.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
struct WebhookState {
    pool: PgPool,
    tolerance_seconds: i64,
}

pub fn routes(pool: PgPool, tolerance_seconds: i64) -> Router {
    Router::new()
        .route("/webhooks/{tenant}/{provider}", post(receive_webhook))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(WebhookState {
            pool,
            tolerance_seconds,
        }))
}

pub fn valid_provider(provider: &str) -> bool {
    let mut characters = provider.chars();
    matches!(characters.next(), Some(first) if first.is_ascii_lowercase() || first.is_ascii_digit())
        && provider.len() <= 40
        && provider.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        })
}

/// 32 random bytes from the operating system, hex-encoded; `None` when the
/// host has no entropy source (then no secret is better than a weak one).
pub fn new_secret() -> Option<String> {
    let mut bytes = [0_u8; 32];
    if let Err(error) = getrandom::fill(&mut bytes) {
        tracing::error!(%error, "the operating system gave no random bytes");
        return None;
    }
    Some(format!("whsec_{}", hex::encode(bytes)))
}

pub fn path_for(tenant: &TenantId, provider: &str) -> String {
    format!("/webhooks/{}/{provider}", tenant.as_str())
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn refused(status: StatusCode, error: &str) -> Response {
    reply(status, serde_json::json!({ "error": error }))
}

async fn receive_webhook(
    State(state): State<Arc<WebhookState>>,
    Path((tenant, provider)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let unauthorised = || refused(StatusCode::UNAUTHORIZED, "signature not accepted");
    let (Ok(tenant), true) = (TenantId::parse(&tenant), valid_provider(&provider)) else {
        return unauthorised();
    };
    let Some(signature) = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
    else {
        return refused(StatusCode::UNAUTHORIZED, "missing OTC-Signature header");
    };
    let mut tx = match otc_shared::db::begin_for_tenant(&state.pool, &tenant).await {
        Ok(tx) => tx,
        Err(error) => return unavailable(&error),
    };
    let secret = match webhooks::secret(&mut tx, &provider).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return unauthorised(),
        Err(error) => return unavailable(&error),
    };
    let now = chrono::Utc::now().timestamp();
    if let Err(error) = signing::verify(
        &[secret.as_bytes()],
        signature,
        &body,
        now,
        state.tolerance_seconds,
    ) {
        tracing::info!(%tenant, %provider, %error, "webhook refused");
        // Stale and future timestamps are told apart (a clock problem the
        // provider can fix); a wrong MAC is not explained further.
        return match error {
            signing::SignatureError::NoMatch => unauthorised(),
            other => refused(StatusCode::UNAUTHORIZED, &other.to_string()),
        };
    }
    let event = match parse(&body) {
        Ok(event) => event,
        Err(violations) => {
            return reply(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "error": "invalid payload", "fields": violations }),
            );
        }
    };
    let actor = Actor::new(tenant.clone(), format!("webhook:{provider}"));
    match handle(&mut tx, &actor, &provider, &event).await {
        Ok(body) => match tx.commit().await {
            Ok(()) => reply(StatusCode::OK, body),
            Err(error) => unavailable(&error),
        },
        Err(CommandError::Database(error)) => unavailable(&error),
        Err(CommandError::Invalid(violations)) => reply(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "error": "invalid payload", "fields": violations.to_string() }),
        ),
        Err(CommandError::NotFound(message)) => refused(StatusCode::NOT_FOUND, &message),
        Err(other) => refused(StatusCode::CONFLICT, &other.to_string()),
    }
}

fn unavailable(error: &sqlx::Error) -> Response {
    tracing::warn!(%error, "webhook could not be recorded");
    refused(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily unavailable; retry",
    )
}

async fn handle(
    tx: &mut crate::store::Tx,
    actor: &Actor,
    provider: &str,
    event: &WebhookEvent,
) -> Result<serde_json::Value, CommandError> {
    let first_time =
        webhooks::claim_event(tx, actor.tenant.as_str(), provider, &event.id, &event.kind).await?;
    if !first_time {
        return Ok(serde_json::json!({ "duplicate": true, "event_id": event.id }));
    }
    let source_key = format!("webhook:{provider}/{}", event.payment_id);
    match event.kind.as_str() {
        payload::PAYMENT_SUCCEEDED => {
            let policy = policies::get(tx).await?;
            let received = receive::receive(
                tx,
                actor,
                &policy,
                &IncomingPayment {
                    source_key,
                    request_hash: crate::commands::import::sha256_hex(
                        format!("{}|{}|{}", event.payment_id, event.amount, event.currency)
                            .as_bytes(),
                    ),
                    channel: "provider",
                    customer_id: event.customer_id,
                    amount: event.money,
                    value_date: event.value_date,
                    payer_name: event.payer_name.clone(),
                    payer_account: event.payer_account.clone(),
                    remittance: event.description.clone(),
                    external_reference: format!("{provider}:{}", event.payment_id),
                    statement_id: None,
                    known_allocation: None,
                },
            )
            .await?;
            webhooks::link_receipt(tx, provider, &event.id, received.receipt.id).await?;
            Ok(serde_json::json!({
                "event_id": event.id,
                "receipt_id": received.receipt.id,
                "match_state": received.receipt.match_state,
            }))
        }
        _ => {
            let receipt = crate::store::receipts::by_source_key(tx, &source_key)
                .await?
                .ok_or_else(|| {
                    CommandError::NotFound(format!(
                        "no payment `{}` from {provider} was received",
                        event.payment_id
                    ))
                })?;
            let reason = format!("{}: {}", event.kind, event.reason);
            let reversed = manual::reverse_payment(tx, actor, receipt.id, &reason).await?;
            webhooks::link_receipt(tx, provider, &event.id, reversed.id).await?;
            Ok(serde_json::json!({
                "event_id": event.id,
                "receipt_id": reversed.id,
                "reversed": true,
            }))
        }
    }
}

//! Calls from one service of the suite to another over gRPC: where each peer
//! listens (`peers.<service>.url`, defaulting to its loopback port) and the
//! short-lived, tenant-scoped `service` token each call carries.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use crate::auth::{AuthSettings, Role, TENANT_METADATA, TokenIssuer};
use crate::config::ConfigError;
use crate::ids::TenantId;

/// How long a minted service token lives; each call mints its own.
const SERVICE_TOKEN_TTL: Duration = Duration::from_secs(300);

/// The `peers` section: one optional endpoint per service of the suite.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSettings {
    pub order: Option<PeerEndpoint>,
    pub billing: Option<PeerEndpoint>,
    pub payments: Option<PeerEndpoint>,
    pub collections: Option<PeerEndpoint>,
    pub reporting: Option<PeerEndpoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PeerEndpoint {
    /// e.g. `http://otc-collections:50054`.
    pub url: String,
    /// Deadline of each call, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    3_000
}

impl PeerSettings {
    /// The configured endpoint of `service`, or its default loopback port.
    pub fn endpoint(&self, service: &str) -> Result<PeerEndpoint, ConfigError> {
        let configured = match service {
            "order" => &self.order,
            "billing" => &self.billing,
            "payments" => &self.payments,
            "collections" => &self.collections,
            "reporting" => &self.reporting,
            other => {
                return Err(ConfigError::Load(format!(
                    "peers: `{other}` is not a service of the suite"
                )));
            }
        };
        if let Some(endpoint) = configured {
            return Ok(endpoint.clone());
        }
        let port = crate::topology::default_grpc_port(service)
            .ok_or_else(|| ConfigError::Load(format!("peers: no default port for `{service}`")))?;
        Ok(PeerEndpoint {
            url: format!("http://127.0.0.1:{port}"),
            timeout_ms: default_timeout_ms(),
        })
    }
}

/// A lazily connected channel to a peer plus what each call needs: a
/// service token for the tenant, the tenant header, the trace context and a
/// deadline.
#[derive(Clone)]
pub struct PeerChannel {
    pub callee: String,
    pub channel: Channel,
    subject: String,
    issuer: Arc<TokenIssuer>,
    timeout: Duration,
}

impl PeerChannel {
    /// No connection is made until the first call, so a peer that is down at
    /// start-up does not stop the caller from starting.
    pub fn connect_lazy(
        caller: &str,
        callee: &str,
        peers: &PeerSettings,
        auth: &AuthSettings,
    ) -> Result<Self, ConfigError> {
        let endpoint = peers.endpoint(callee)?;
        let field = format!("peers.{callee}.url");
        let channel = Endpoint::from_shared(endpoint.url.clone())
            .map_err(|error| ConfigError::invalid(&field, error.to_string()))?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .connect_lazy();
        // Service tokens are signed with the suite's service secret (or,
        // locally, the one HS256 secret of user tokens too).
        let secret = auth.service_token_secret().ok_or_else(|| {
            ConfigError::invalid(
                "auth.service_hs256_secret",
                format!("{caller} calls {callee} and signs its service tokens with this secret; set it (the same on every service)"),
            )
        })?;
        Ok(Self {
            callee: callee.to_owned(),
            channel,
            subject: format!("service:{caller}"),
            issuer: Arc::new(TokenIssuer::new(
                &auth.issuer,
                &auth.audience,
                secret.expose_secret(),
            )),
            timeout: Duration::from_millis(endpoint.timeout_ms),
        })
    }

    /// `message` as a call on behalf of `tenant`.
    pub fn request<T>(&self, tenant: &TenantId, message: T) -> Result<Request<T>, Status> {
        let token = self
            .issuer
            .mint(tenant, &self.subject, &[Role::Service], SERVICE_TOKEN_TTL)
            .map_err(|error| Status::internal(format!("cannot sign a service token: {error}")))?;
        let mut request = Request::new(message);
        request.set_timeout(self.timeout);
        let metadata = request.metadata_mut();
        let bearer: MetadataValue<_> = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::internal("service token is not valid metadata"))?;
        metadata.insert("authorization", bearer);
        let tenant_value: MetadataValue<_> = tenant
            .as_str()
            .parse()
            .map_err(|_| Status::internal("tenant is not valid metadata"))?;
        metadata.insert(TENANT_METADATA, tenant_value);
        crate::telemetry::inject_trace_context(metadata);
        Ok(request)
    }
}

/// Milliseconds before the next call to a peer after `attempts` failures:
/// 500, 1000, 2000, ... capped at a minute (retry workers keep it in the
/// database with their lease).
pub fn retry_backoff_millis(attempts: i32) -> i64 {
    let exponent = u32::try_from(attempts.clamp(0, 10)).unwrap_or(0);
    500_i64.saturating_mul(2_i64.pow(exponent)).min(60_000)
}

#[cfg(test)]
mod backoff_tests {
    use super::retry_backoff_millis;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let delays: Vec<i64> = (0..12).map(retry_backoff_millis).collect();
        assert_eq!(delays[..4], [500, 1000, 2000, 4000]);
        assert_eq!(delays[11], 60_000);
    }
}

//! The tonic side of auth: a server interceptor that turns the bearer token
//! into a [`Principal`] in the request extensions, and a client interceptor
//! that sends a token (service-to-service calls and tests).

use std::sync::Arc;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::{Request, Status};

use super::{AuthError, AuthSettings, Principal, TokenVerifier};

/// Metadata a caller may send to say which tenant it means to address. When
/// present it must match the token's tenant, so a request built for one
/// tenant is never served with another tenant's token.
pub const TENANT_METADATA: &str = "x-otc-tenant";

const AUTHORIZATION_METADATA: &str = "authorization";

/// Server interceptor: verifies `authorization: Bearer <jwt>` and puts the
/// [`Principal`] in the request extensions for [`super::authorize`].
#[derive(Clone, Debug)]
pub struct AuthInterceptor {
    verifier: Arc<TokenVerifier>,
}

impl AuthInterceptor {
    pub fn new(verifier: Arc<TokenVerifier>) -> Self {
        Self { verifier }
    }

    pub fn from_settings(settings: &AuthSettings) -> Result<Self, AuthError> {
        Ok(Self::new(Arc::new(TokenVerifier::from_settings(settings)?)))
    }

    fn principal_of(&self, request: &Request<()>) -> Result<Principal, AuthError> {
        let token = bearer_token(request)?;
        let principal = self.verifier.verify(token)?;
        let Some(requested) = request.metadata().get(TENANT_METADATA) else {
            return Ok(principal);
        };
        // Not-quite-text is shown lossily: it can only be a mismatch anyway.
        let requested = String::from_utf8_lossy(requested.as_bytes());
        if requested.trim() != principal.tenant.as_str() {
            return Err(AuthError::WrongTenant {
                token_tenant: principal.tenant.to_string(),
                requested_tenant: requested.into_owned(),
            });
        }
        Ok(principal)
    }
}

/// The token of an `authorization: Bearer <jwt>` header. The scheme is
/// case-insensitive (RFC 7235); anything else counts as no token.
fn bearer_token<T>(request: &Request<T>) -> Result<&str, AuthError> {
    let header = request
        .metadata()
        .get(AUTHORIZATION_METADATA)
        .ok_or(AuthError::MissingToken)?
        .to_str()
        .map_err(|_| AuthError::MissingToken)?;
    let Some((scheme, token)) = header.trim().split_once(' ') else {
        return Err(AuthError::MissingToken);
    };
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(token)
}

impl tonic::service::Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        match self.principal_of(&request) {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                Ok(request)
            }
            Err(refusal) => {
                // Refusals are worth a line for whoever investigates access;
                // the token itself is never logged.
                tracing::info!(reason = %refusal, "call refused");
                Err(refusal.into())
            }
        }
    }
}

/// Client interceptor: sends `authorization: Bearer <token>` on every call.
#[derive(Clone)]
pub struct BearerToken {
    value: MetadataValue<Ascii>,
}

impl BearerToken {
    pub fn new(token: &str) -> Result<Self, AuthError> {
        let mut value: MetadataValue<Ascii> = format!("Bearer {}", token.trim())
            .parse()
            .map_err(|_| AuthError::InvalidToken("token is not valid header text".to_owned()))?;
        // Keeps the header out of HPACK tables and debug output.
        value.set_sensitive(true);
        Ok(Self { value })
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("BearerToken(..)")
    }
}

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert(AUTHORIZATION_METADATA, self.value.clone());
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tonic::Code;
    use tonic::service::Interceptor;

    use super::*;
    use crate::auth::{LOCAL_DEV_HS256_SECRET, Role, TokenIssuer};
    use crate::ids::TenantId;

    fn interceptor() -> AuthInterceptor {
        AuthInterceptor::from_settings(&AuthSettings {
            leeway_seconds: 0,
            allowed_tenants: vec!["acme".to_owned(), "globex".to_owned()],
            ..AuthSettings::local_development()
        })
        .unwrap()
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::new("otc-local", "otc", LOCAL_DEV_HS256_SECRET)
    }

    fn token_for(tenant: &str, roles: &[Role]) -> String {
        issuer()
            .mint(
                &TenantId::parse(tenant).unwrap(),
                "alice",
                roles,
                Duration::from_secs(60),
            )
            .unwrap()
    }

    fn bearer(token: &str) -> (&'static str, String) {
        (AUTHORIZATION_METADATA, format!("Bearer {token}"))
    }

    fn call(metadata: &[(&'static str, String)]) -> Result<Request<()>, Status> {
        let mut request = Request::new(());
        for (name, value) in metadata {
            request.metadata_mut().insert(*name, value.parse().unwrap());
        }
        interceptor().call(request)
    }

    fn refusal(metadata: &[(&'static str, String)]) -> (Code, String) {
        let status = call(metadata).unwrap_err();
        (status.code(), status.message().to_owned())
    }

    #[test]
    fn a_valid_token_puts_the_principal_in_the_extensions() {
        let token = token_for("acme", &[Role::Collector]);
        for metadata in [
            vec![bearer(&token)],
            vec![(AUTHORIZATION_METADATA, format!("bearer  {token} "))],
            vec![bearer(&token), (TENANT_METADATA, "acme".to_owned())],
        ] {
            let request = call(&metadata).unwrap();
            let principal = request.extensions().get::<Principal>().unwrap();
            assert_eq!(principal.tenant.as_str(), "acme");
            assert_eq!(principal.subject, "alice");
            assert_eq!(principal.roles, vec![Role::Collector]);
        }
    }

    #[test]
    fn a_missing_or_malformed_header_is_unauthenticated() {
        let token = token_for("acme", &[Role::Collector]);
        for metadata in [
            vec![],
            vec![(AUTHORIZATION_METADATA, "Basic YWxpY2U6c2VjcmV0".to_owned())],
            vec![(AUTHORIZATION_METADATA, "Bearer".to_owned())],
            vec![(AUTHORIZATION_METADATA, "Bearer   ".to_owned())],
            vec![(AUTHORIZATION_METADATA, token.clone())],
        ] {
            let (code, message) = refusal(&metadata);
            assert_eq!(code, Code::Unauthenticated, "{metadata:?}");
            assert!(message.starts_with("missing bearer token"), "{message}");
        }
        let (code, _) = refusal(&[bearer("garbage")]);
        assert_eq!(code, Code::Unauthenticated);
    }

    #[test]
    fn bad_tokens_are_unauthenticated_with_the_reason() {
        let mut expired = issuer().claims(
            &TenantId::parse("acme").unwrap(),
            "alice",
            &[Role::Collector],
            Duration::ZERO,
        );
        expired.exp -= 120;
        let mut foreign = expired.clone();
        foreign.exp += 300;
        foreign.aud = "someone-else".to_owned();
        let mut other_issuer = foreign.clone();
        other_issuer.aud = "otc".to_owned();
        other_issuer.iss = "evil".to_owned();
        let forged = TokenIssuer::new("otc-local", "otc", "not-the-secret-but-long-enough-0000")
            .mint(
                &TenantId::parse("acme").unwrap(),
                "mallory",
                &[Role::TenantAdmin],
                Duration::from_secs(60),
            )
            .unwrap();
        for (token, reason) in [
            (issuer().mint_claims(&expired).unwrap(), "token expired"),
            (issuer().mint_claims(&foreign).unwrap(), "wrong audience"),
            (issuer().mint_claims(&other_issuer).unwrap(), "wrong issuer"),
            (forged, "bad signature"),
        ] {
            let (code, message) = refusal(&[bearer(&token)]);
            assert_eq!(code, Code::Unauthenticated, "{reason}");
            assert!(message.contains(reason), "{message}");
            assert!(!message.contains(LOCAL_DEV_HS256_SECRET), "{message}");
        }
    }

    #[test]
    fn the_wrong_tenant_is_permission_denied() {
        let token = token_for("acme", &[Role::Collector]);
        let (code, message) = refusal(&[bearer(&token), (TENANT_METADATA, "globex".to_owned())]);
        assert_eq!(code, Code::PermissionDenied);
        assert_eq!(
            message,
            "token is for tenant acme, request addresses tenant globex"
        );

        let (code, message) = refusal(&[bearer(&token_for("initech", &[Role::Collector]))]);
        assert_eq!(code, Code::PermissionDenied);
        assert!(message.contains("initech"), "{message}");
    }

    #[test]
    fn the_client_interceptor_sends_what_the_server_accepts() {
        let token = token_for("globex", &[Role::Service]);
        let mut client = BearerToken::new(&token).unwrap();
        assert!(!format!("{client:?}").contains(&token));
        let request = client.call(Request::new(())).unwrap();
        let request = interceptor().call(request).unwrap();
        let principal = request.extensions().get::<Principal>().unwrap();
        assert_eq!(principal.roles, vec![Role::Service]);

        assert!(BearerToken::new("line\nbreak").is_err());
    }
}

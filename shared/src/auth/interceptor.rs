//! The tonic side: a server interceptor that turns a bearer token into a
//! [`Principal`] in the request extensions, the per-call permission check,
//! and a client interceptor that sends a token.

use std::sync::Arc;

use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

use super::{AuthError, Permission, Principal, TokenVerifier};

/// Metadata a caller may send to say which tenant it means to address; it
/// must match the token's tenant.
pub const TENANT_METADATA: &str = "x-otc-tenant";

#[derive(Clone)]
pub struct AuthInterceptor {
    verifier: Arc<TokenVerifier>,
}

impl AuthInterceptor {
    pub fn new(verifier: Arc<TokenVerifier>) -> Self {
        Self { verifier }
    }

    fn principal_of(&self, request: &Request<()>) -> Result<Principal, AuthError> {
        let header = request
            .metadata()
            .get("authorization")
            .ok_or(AuthError::MissingToken)?
            .to_str()
            .map_err(|_| AuthError::MissingToken)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::MissingToken)?;
        let principal = self.verifier.verify(token)?;
        if let Some(requested) = request.metadata().get(TENANT_METADATA) {
            let requested = requested.to_str().unwrap_or_default();
            if requested != principal.tenant.as_str() {
                return Err(AuthError::WrongTenant {
                    token_tenant: principal.tenant.to_string(),
                    requested_tenant: requested.to_owned(),
                });
            }
        }
        Ok(principal)
    }
}

impl tonic::service::Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        match self.principal_of(&request) {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                Ok(request)
            }
            Err(error) => {
                tracing::info!(reason = %error, "call refused");
                Err(error.into())
            }
        }
    }
}

/// The principal the interceptor established, if it holds `permission`.
pub fn authorize<T>(request: &Request<T>, permission: Permission) -> Result<Principal, Status> {
    let principal = request
        .extensions()
        .get::<Principal>()
        .ok_or_else(|| Status::from(AuthError::MissingToken))?;
    principal.require(permission)?;
    Ok(principal.clone())
}

/// Client side: sends `authorization: Bearer <token>` on every call.
#[derive(Clone)]
pub struct BearerToken {
    value: MetadataValue<tonic::metadata::Ascii>,
}

impl BearerToken {
    pub fn new(token: &str) -> Result<Self, AuthError> {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| AuthError::InvalidToken("token is not valid header text".to_owned()))?;
        Ok(Self { value })
    }
}

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.value.clone());
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;
    use tonic::Code;
    use tonic::service::Interceptor;

    use super::*;
    use crate::auth::{AuthSettings, LOCAL_DEV_HS256_SECRET, Role, TokenIssuer};
    use crate::ids::TenantId;

    fn interceptor() -> AuthInterceptor {
        let settings = AuthSettings {
            issuer: "otc-local".to_owned(),
            audience: "otc".to_owned(),
            hs256_secret: Some(SecretString::from(LOCAL_DEV_HS256_SECRET)),
            rs256_public_key_file: None,
            jwks_file: None,
            leeway_seconds: 0,
            allowed_tenants: Vec::new(),
        };
        AuthInterceptor::new(Arc::new(TokenVerifier::from_settings(&settings).unwrap()))
    }

    fn token(roles: &[Role]) -> String {
        TokenIssuer::new("otc-local", "otc", LOCAL_DEV_HS256_SECRET)
            .mint(
                &TenantId::parse("acme").unwrap(),
                "alice",
                roles,
                Duration::from_secs(60),
            )
            .unwrap()
    }

    fn call(metadata: &[(&'static str, String)]) -> Result<Request<()>, Status> {
        let mut request = Request::new(());
        for (name, value) in metadata {
            request.metadata_mut().insert(*name, value.parse().unwrap());
        }
        interceptor().call(request)
    }

    #[test]
    fn statuses_match_the_failure() {
        assert_eq!(call(&[]).unwrap_err().code(), Code::Unauthenticated);
        assert_eq!(
            call(&[("authorization", "Basic abc".to_owned())])
                .unwrap_err()
                .code(),
            Code::Unauthenticated
        );
        let wrong_tenant = call(&[
            (
                "authorization",
                format!("Bearer {}", token(&[Role::Collector])),
            ),
            (TENANT_METADATA, "globex".to_owned()),
        ])
        .unwrap_err();
        assert_eq!(wrong_tenant.code(), Code::PermissionDenied);
        assert!(
            wrong_tenant.message().contains("tenant acme"),
            "{}",
            wrong_tenant.message()
        );

        let accepted = call(&[(
            "authorization",
            format!("Bearer {}", token(&[Role::Collector])),
        )])
        .unwrap();
        let principal = accepted.extensions().get::<Principal>().unwrap().clone();
        assert_eq!(principal.subject, "alice");
        let denied = authorize(&accepted, Permission::WriteOffsApprove).unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        assert!(denied.message().contains("write_offs.approve"));
        assert!(authorize(&accepted, Permission::DunningWork).is_ok());
        assert_eq!(
            authorize(&Request::new(()), Permission::DunningWork)
                .unwrap_err()
                .code(),
            Code::Unauthenticated
        );
    }
}

//! Security shared by every service: JWT bearer tokens verified by a tonic
//! interceptor, the roles of the finance team, and the one roles-to-permissions
//! matrix that handlers check with [`authorize`].
//!
//! A service mounts its gRPC server with `Server::with_interceptor(service,
//! AuthInterceptor)`; each handler starts with
//! `let principal = authorize(&request, Permission::OrdersWrite)?;` and scopes
//! every query to `principal.tenant`.

mod interceptor;
mod permissions;
mod principal;
mod roles;
mod token;

pub use interceptor::{AuthInterceptor, BearerToken, TENANT_METADATA};
pub use permissions::{Permission, permissions_of};
pub use principal::{Principal, authorize, authorize_any};
pub use roles::{Role, UnknownRole};
pub use token::{
    AuthSettings, Claims, LOCAL_DEV_HS256_SECRET, MAX_LEEWAY_SECONDS, MIN_HS256_SECRET_BYTES,
    TokenIssuer, TokenVerifier,
};

/// Why a caller was refused (or why auth could not be set up). Messages go
/// back to callers, so they never contain tokens or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token (send `authorization: Bearer <jwt>`)")]
    MissingToken,
    #[error("token expired")]
    Expired,
    #[error("token is not valid: {0}")]
    InvalidToken(String),
    #[error("token is for tenant {token_tenant}, request addresses tenant {requested_tenant}")]
    WrongTenant {
        token_tenant: String,
        requested_tenant: String,
    },
    #[error("tenant {0} is not served here")]
    TenantNotAllowed(String),
    #[error("permission {permission} is required; roles held: {roles}")]
    PermissionDenied {
        permission: &'static str,
        roles: String,
    },
    #[error("auth configuration: {0}")]
    Configuration(String),
    #[error("cannot sign token: {0}")]
    Signing(String),
}

impl From<AuthError> for tonic::Status {
    fn from(error: AuthError) -> Self {
        match error {
            // Who you are could not be established: UNAUTHENTICATED.
            AuthError::MissingToken | AuthError::Expired | AuthError::InvalidToken(_) => {
                tonic::Status::unauthenticated(error.to_string())
            }
            // Who you are is known, and may not do this: PERMISSION_DENIED.
            AuthError::WrongTenant { .. }
            | AuthError::TenantNotAllowed(_)
            | AuthError::PermissionDenied { .. } => {
                tonic::Status::permission_denied(error.to_string())
            }
            // Our fault, not the caller's; details stay in our logs.
            AuthError::Configuration(_) | AuthError::Signing(_) => {
                tracing::error!(%error, "auth failed on our side");
                tonic::Status::internal("authentication is misconfigured")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn refusals_map_to_the_grpc_codes_callers_expect() {
        let cases = [
            (AuthError::MissingToken, Code::Unauthenticated),
            (AuthError::Expired, Code::Unauthenticated),
            (
                AuthError::InvalidToken("bad signature".to_owned()),
                Code::Unauthenticated,
            ),
            (
                AuthError::WrongTenant {
                    token_tenant: "acme".to_owned(),
                    requested_tenant: "globex".to_owned(),
                },
                Code::PermissionDenied,
            ),
            (
                AuthError::TenantNotAllowed("acme".to_owned()),
                Code::PermissionDenied,
            ),
            (
                AuthError::PermissionDenied {
                    permission: "orders.write",
                    roles: "executive".to_owned(),
                },
                Code::PermissionDenied,
            ),
            (
                AuthError::Configuration("auth.jwks_file: /etc/otc/jwks.json".to_owned()),
                Code::Internal,
            ),
        ];
        for (error, code) in cases {
            let message = error.to_string();
            let status = tonic::Status::from(error);
            assert_eq!(status.code(), code, "{message}");
            if code != Code::Internal {
                assert_eq!(status.message(), message);
            }
        }
    }

    #[test]
    fn internal_details_do_not_reach_the_caller() {
        let status = tonic::Status::from(AuthError::Configuration("/etc/otc/jwks.json".to_owned()));
        assert!(!status.message().contains("/etc/otc"));
    }
}

//! Security framework used by every service: JWT bearer tokens verified by
//! a tonic interceptor, the roles of the finance team, and the one
//! roles-to-permissions matrix.

mod interceptor;
mod permissions;
mod token;

pub use interceptor::{AuthInterceptor, BearerToken, TENANT_METADATA, authorize};
pub use permissions::{Permission, Role, permissions_of};
pub use token::{
    AuthSettings, Claims, LOCAL_DEV_HS256_SECRET, Principal, TokenIssuer, TokenVerifier,
};

/// Why a caller was refused.
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
}

impl From<AuthError> for tonic::Status {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::MissingToken | AuthError::Expired | AuthError::InvalidToken(_) => {
                tonic::Status::unauthenticated(error.to_string())
            }
            AuthError::WrongTenant { .. }
            | AuthError::TenantNotAllowed(_)
            | AuthError::PermissionDenied { .. } => {
                tonic::Status::permission_denied(error.to_string())
            }
            AuthError::Configuration(_) => {
                tonic::Status::internal("authentication is misconfigured")
            }
        }
    }
}

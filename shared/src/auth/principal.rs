//! Who is calling, as established from a verified token, and the per-call
//! permission check every handler starts with.

use tonic::{Request, Status};

use super::{AuthError, Permission, Role, permissions_of};
use crate::ids::TenantId;

/// The authenticated caller. Only [`super::TokenVerifier`] (through the
/// interceptor) should build one from a request; tests may build it directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub subject: String,
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether any of the caller's roles grants `permission`.
    pub fn has(&self, permission: Permission) -> bool {
        self.roles
            .iter()
            .any(|role| permissions_of(*role).contains(&permission))
    }

    /// `Ok` if the caller holds `permission`; otherwise the refusal names the
    /// permission and the roles held, so the caller knows what to ask for.
    pub fn require(&self, permission: Permission) -> Result<(), AuthError> {
        if self.has(permission) {
            return Ok(());
        }
        Err(AuthError::PermissionDenied {
            permission: permission.name(),
            roles: self.roles_list(),
        })
    }

    /// The roles as a comma-separated list, for messages and logs.
    pub fn roles_list(&self) -> String {
        let names: Vec<&str> = self.roles.iter().map(|role| role.as_str()).collect();
        names.join(", ")
    }
}

/// The caller the [`super::AuthInterceptor`] put on `request`, if it holds
/// `permission`. Handlers start with this:
/// `let principal = authorize(&request, Permission::OrdersWrite)?;`
pub fn authorize<T>(request: &Request<T>, permission: Permission) -> Result<Principal, Status> {
    let Some(principal) = request.extensions().get::<Principal>() else {
        // Either the caller sent no token, or the service was mounted without
        // the interceptor; the second is our bug, so say so to the operator.
        tracing::error!(
            permission = permission.name(),
            "no Principal on the request: is this service wrapped with AuthInterceptor?"
        );
        return Err(AuthError::MissingToken.into());
    };
    if let Err(refusal) = principal.require(permission) {
        tracing::info!(
            tenant = %principal.tenant,
            subject = %principal.subject,
            reason = %refusal,
            "call refused"
        );
        return Err(refusal.into());
    }
    Ok(principal.clone())
}

/// The caller if it holds any of `permissions`, for a call that serves
/// roles in different ways (a collector's own worklist, or any worklist);
/// the handler then asks [`Principal::has`] what the caller may see. The
/// refusal names the first permission.
pub fn authorize_any<T>(
    request: &Request<T>,
    permissions: &[Permission],
) -> Result<Principal, Status> {
    let held = request
        .extensions()
        .get::<Principal>()
        .and_then(|principal| {
            permissions
                .iter()
                .copied()
                .find(|permission| principal.has(*permission))
        });
    match (held, permissions.first()) {
        (Some(permission), _) => authorize(request, permission),
        (None, Some(first)) => authorize(request, *first),
        (None, None) => Err(AuthError::Configuration("no permission asked for".to_owned()).into()),
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    fn collector() -> Principal {
        Principal {
            tenant: TenantId::parse("acme").unwrap(),
            subject: "cole".to_owned(),
            roles: vec![Role::Collector],
        }
    }

    #[test]
    fn a_principal_holds_the_union_of_its_roles() {
        let mut principal = collector();
        assert!(principal.has(Permission::WriteOffsRequest));
        assert!(!principal.has(Permission::CreditLimitsWrite));
        principal.roles.push(Role::CreditManager);
        assert!(principal.has(Permission::CreditLimitsWrite));
    }

    #[test]
    fn a_refusal_names_the_permission_and_the_roles_held() {
        let refusal = collector()
            .require(Permission::WriteOffsApprove)
            .unwrap_err();
        assert_eq!(
            refusal,
            AuthError::PermissionDenied {
                permission: "write_offs.approve",
                roles: "collector".to_owned(),
            }
        );
        let message = refusal.to_string();
        assert!(message.contains("write_offs.approve"), "{message}");
        assert!(message.contains("collector"), "{message}");
    }

    #[test]
    fn authorize_reads_the_principal_from_the_extensions() {
        let mut request = Request::new(());
        request.extensions_mut().insert(collector());
        assert_eq!(
            authorize(&request, Permission::DunningWork).unwrap(),
            collector()
        );
        let denied = authorize(&request, Permission::WriteOffsApprove).unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        assert!(denied.message().contains("write_offs.approve"));
        assert!(denied.message().contains("collector"));

        let anonymous = authorize(&Request::new(()), Permission::DunningRead).unwrap_err();
        assert_eq!(anonymous.code(), Code::Unauthenticated);
    }

    #[test]
    fn authorize_any_passes_on_any_one_and_names_the_first_when_none() {
        let mut request = Request::new(());
        request.extensions_mut().insert(collector());
        let either = [Permission::WorklistRead, Permission::WorklistWork];
        assert_eq!(authorize_any(&request, &either).unwrap(), collector());
        let denied = authorize_any(
            &request,
            &[Permission::WorklistAssign, Permission::WriteOffsApprove],
        )
        .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        assert!(denied.message().contains("worklist.assign"));
        assert_eq!(
            authorize_any(&request, &[]).unwrap_err().code(),
            Code::Internal
        );
        let anonymous = authorize_any(&Request::new(()), &either).unwrap_err();
        assert_eq!(anonymous.code(), Code::Unauthenticated);
    }
}

//! The payments service's state changes. Each runs inside the caller's
//! tenant-scoped transaction and writes its events (outbox) and audit
//! records there, so a change and its events commit together.

pub mod apply;
pub mod cash_application;
pub mod import;
pub mod manual;
pub mod receive;
pub mod rematch;
pub mod view;

pub use otc_shared::grpc::CommandError;

use otc_shared::TenantId;

/// Who asks: the tenant and the authenticated subject (or `system:<task>`).
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant: TenantId,
    pub subject: String,
}

impl Actor {
    pub fn new(tenant: TenantId, subject: impl Into<String>) -> Self {
        Self {
            tenant,
            subject: subject.into(),
        }
    }
}

//! The collections service's state changes. Each runs inside the caller's
//! tenant-scoped transaction (a gRPC call's or a consumed event's) and
//! writes its events (outbox) and audit records there, so a change and what
//! it causes commit together.

pub mod check;
pub mod credit_control;
pub mod disputes;
pub mod dunning;
pub mod ledger;
pub mod limits;
pub mod promises;
pub mod worklist;
pub mod write_offs;

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

/// Today in UTC: what due dates are compared with.
pub fn today() -> chrono::NaiveDate {
    otc_shared::time::now().date_naive()
}

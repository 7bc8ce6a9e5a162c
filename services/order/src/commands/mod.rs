//! What the service does, whichever way it is asked (gRPC or an upstream
//! event): each command runs in the caller's tenant-scoped transaction and
//! writes its state change, its events (outbox) and its audit record there.

pub mod customers;
pub mod orders;
pub mod pricing;
pub mod shipments;

use crate::domain::Violations;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("invalid request: {0}")]
    Invalid(Violations),
    #[error("{0}")]
    NotFound(String),
    /// The command does not apply in the current state (e.g. cancelling a shipped order).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Optimistic concurrency: someone else changed it first.
    #[error("{0}")]
    Aborted(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl CommandError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(Violations::single(field, description))
    }
}

/// The actor recorded in the audit log for changes made by the service itself.
pub fn system_actor(task: &str) -> String {
    format!("system:{task}")
}

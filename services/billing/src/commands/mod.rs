//! What the service does, whichever way it is asked (an order event, the
//! scheduler, gRPC): each command runs in the caller's tenant-scoped
//! transaction and writes its state change, its events (outbox) and its
//! audit record there.

pub mod config;
pub mod cycle;
pub mod evaluate;
pub mod issue;
pub mod notes;
pub mod profile;
pub mod view;

use otc_shared::violations::Violations;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("invalid request: {0}")]
    Invalid(Violations),
    #[error("{0}")]
    NotFound(String),
    /// The command does not apply in the current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The same idempotency key was used for a different request.
    #[error("{0}")]
    AlreadyExists(String),
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

/// Stored category names of [`crate::domain::tax::TaxCategory`].
pub fn category_name(category: crate::domain::tax::TaxCategory) -> &'static str {
    use crate::domain::tax::TaxCategory;
    match category {
        TaxCategory::Standard => "standard",
        TaxCategory::Zero => "zero",
        TaxCategory::Exempt => "exempt",
        TaxCategory::ReverseCharge => "reverse_charge",
    }
}

pub fn category_of(name: &str) -> crate::domain::tax::TaxCategory {
    use crate::domain::tax::TaxCategory;
    match name {
        "zero" => TaxCategory::Zero,
        "exempt" => TaxCategory::Exempt,
        "reverse_charge" => TaxCategory::ReverseCharge,
        _ => TaxCategory::Standard,
    }
}

/// What a document needs from the service's settings.
#[derive(Debug, Clone, Copy)]
pub struct IssueOptions {
    /// Queue a PDF rendering (and delivery) for each issued document.
    pub render_documents: bool,
}

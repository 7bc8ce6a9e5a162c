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

pub use otc_shared::grpc::CommandError;

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

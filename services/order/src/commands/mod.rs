//! What the service does, whichever way it is asked (gRPC or an upstream
//! event): each command runs in the caller's tenant-scoped transaction and
//! writes its state change, its events (outbox) and its audit record there.

pub mod customers;
pub mod orders;
pub mod pricing;
pub mod shipments;

pub use otc_shared::grpc::CommandError;

/// The actor recorded in the audit log for changes made by the service itself.
pub fn system_actor(task: &str) -> String {
    format!("system:{task}")
}

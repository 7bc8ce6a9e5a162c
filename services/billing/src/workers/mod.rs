//! Background work, all durable in PostgreSQL and safe to run in several
//! replicas: rendering documents, delivering them, consolidated billing and
//! re-evaluating held drafts.

pub mod delivery;
pub mod documents;
pub mod scheduler;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Sleeps `period`, or less if shut down; false once shutdown was asked.
pub async fn pause(shutdown: &CancellationToken, period: Duration) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(period) => true,
    }
}

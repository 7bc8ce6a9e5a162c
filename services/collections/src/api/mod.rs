//! gRPC handlers: thin. Each authorizes, opens a transaction scoped to the
//! caller's tenant, runs a command or a read and maps the outcome to the wire.

pub mod credit;
pub mod dispute_views;
pub mod disputes;
pub mod dunning;
pub mod ledger;
pub mod limits;
pub mod promises;
pub mod statements;
pub mod views;
pub mod worklist;
pub mod write_offs;

use otc_shared::auth::Principal;

use crate::commands::Actor;

pub use otc_shared::grpc::{Fields, begin, commit, database_status, status_of};

pub fn actor(principal: &Principal) -> Actor {
    Actor::new(principal.tenant.clone(), principal.subject.clone())
}

/// Maps a database error of a read to its status.
pub fn read_error(error: sqlx::Error) -> tonic::Status {
    database_status(&error)
}

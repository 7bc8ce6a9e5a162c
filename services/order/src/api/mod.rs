//! gRPC handlers: thin. Each authorizes, opens a transaction scoped to the
//! caller's tenant, runs a command and maps the outcome to the wire.

pub mod customers;
pub mod orders;
pub mod pricing;

use tonic::Status;

use crate::commands::CommandError;

pub use otc_shared::grpc::{
    begin, commit, database_status, invalid_argument, next_page_token, non_empty, page, parse_id,
};

pub fn status_of(error: CommandError) -> Status {
    match error {
        CommandError::Invalid(violations) => invalid_argument(&violations),
        CommandError::NotFound(message) => Status::not_found(message),
        CommandError::FailedPrecondition(message) => Status::failed_precondition(message),
        CommandError::Aborted(message) => Status::aborted(message),
        CommandError::Database(error) => database_status(&error),
    }
}

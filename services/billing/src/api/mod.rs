//! gRPC handlers: thin. Each authorizes, opens a transaction scoped to the
//! caller's tenant, runs a command and maps the outcome to the wire.

pub mod config;
pub mod convert;
pub mod invoices;

pub use otc_shared::grpc::{
    Fields, begin, commit, database_status, invalid_argument, non_empty, request_hash, status_of,
};

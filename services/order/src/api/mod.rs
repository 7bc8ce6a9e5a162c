//! gRPC handlers: thin. Each authorizes, opens a transaction scoped to the
//! caller's tenant, runs a command and maps the outcome to the wire.

pub mod customers;
pub mod orders;
pub mod pricing;

pub use otc_shared::grpc::{
    begin, commit, database_status, invalid_argument, next_page_token, non_empty, page, parse_id,
    status_of,
};

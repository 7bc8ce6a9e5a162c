//! gRPC services of reporting.

pub mod read_models;
pub mod reporting;

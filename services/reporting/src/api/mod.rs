//! gRPC services of reporting.

pub mod read_models;

//! Payments service: receipts, bank statements, cash application, unapplied cash, refunds, reversals, direct debit.
//!
//! The service stands on the shared runtime (configuration, telemetry,
//! database and migrations, outbox relay, gRPC health, reflection, auth and
//! operations, metrics, graceful shutdown); this crate adds what is its own.

use otc_shared::runtime::ServiceDefinition;

pub const SERVICE: ServiceDefinition = ServiceDefinition {
    name: "payments",
    default_grpc_port: 50053,
    default_http_port: 9103,
    migrations: None,
};

//! Billing service: invoices, credit and debit notes, tax rules, FX rates, numbering series, invoice documents.
//!
//! The service stands on the shared runtime (configuration, telemetry,
//! database and migrations, outbox relay, gRPC health, reflection, auth and
//! operations, metrics, graceful shutdown); this crate adds what is its own.

use otc_shared::runtime::ServiceDefinition;

pub const SERVICE: ServiceDefinition = ServiceDefinition {
    name: "billing",
    default_grpc_port: 50052,
    default_http_port: 9102,
    migrations: None,
};

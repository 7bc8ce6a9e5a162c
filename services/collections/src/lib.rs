//! Collections service: the AR sub-ledger, credit limits and exposure, dunning, disputes, promises to pay, write-offs.
//!
//! The service stands on the shared runtime (configuration, telemetry,
//! database and migrations, outbox relay, gRPC health, reflection, auth and
//! operations, metrics, graceful shutdown); this crate adds what is its own.

use otc_shared::runtime::ServiceDefinition;

pub const SERVICE: ServiceDefinition = ServiceDefinition {
    name: "collections",
    default_grpc_port: 50054,
    default_http_port: 9104,
    migrations: None,
};

//! Order service: customers, price lists and contract prices, orders and shipments, credit holds.
//!
//! The service stands on the shared runtime (configuration, telemetry,
//! database and migrations, outbox relay, gRPC health, reflection, auth and
//! operations, metrics, graceful shutdown); this crate adds what is its own.

use otc_shared::runtime::ServiceDefinition;

pub const SERVICE: ServiceDefinition = ServiceDefinition {
    name: "order",
    default_grpc_port: 50051,
    default_http_port: 9101,
    migrations: None,
};

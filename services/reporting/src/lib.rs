//! Reporting service: read models rebuilt from every event topic, KPIs, BI topics, queries, exports and the dashboard.
//!
//! The service stands on the shared runtime (configuration, telemetry,
//! database and migrations, outbox relay, gRPC health, reflection, auth and
//! operations, metrics, graceful shutdown); this crate adds what is its own.

use otc_shared::runtime::ServiceDefinition;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub const SERVICE: ServiceDefinition = ServiceDefinition {
    name: "reporting",
    default_grpc_port: 50055,
    default_http_port: 9105,
    migrations: Some(&MIGRATOR),
};

//! Benchmarks of the suite against the real PostgreSQL and Kafka that
//! `scripts/infra/infra.sh` runs. Each is a binary that prints figures and
//! never asserts a time, so a slow or busy machine cannot fail a build.

pub mod billing_backlog;
pub mod figures;
pub mod hops;
pub mod master_data;
pub mod order_events;
pub mod probes;
pub mod raw_kafka;
pub mod raw_postgres;
pub mod readers;
pub mod upstream;

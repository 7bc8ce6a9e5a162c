//! The shared crate of the order-to-cash suite: everything more than one
//! service needs, written once.
//!
//! - [`money`]: exact money and currencies; [`ids`], [`time`], [`domain`]:
//!   typed ids, timestamps and the enums shared across services; [`terms`]:
//!   payment terms and the due dates they give.
//! - [`events`]: the CloudEvents envelope carried in Kafka headers;
//!   [`outbox`]: the transactional outbox and its relay; [`inbox`]: the
//!   idempotent consumer with retries and dead-letter topics.
//! - [`auth`]: JWT verification, roles and permissions.
//! - [`config`], [`telemetry`], [`db`], [`kafka`], [`runtime`]: the service
//!   skeleton every binary is built from.

pub mod address;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod event_fields;
pub mod events;
pub mod grpc;
pub mod ids;
pub mod inbox;
pub mod kafka;
pub mod money;
pub mod ops;
pub mod outbox;
pub mod peers;
pub mod runtime;
pub mod signing;
pub mod telemetry;
pub mod terms;
pub mod time;
pub mod topology;
pub mod violations;

pub use ids::TenantId;
pub use money::{Currency, Money, MoneyError};

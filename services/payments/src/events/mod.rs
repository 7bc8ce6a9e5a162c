//! Kafka: the consumer of order and billing events (the projections cash
//! application works on) and the events this service publishes.

pub mod consumer;
pub mod outgoing;

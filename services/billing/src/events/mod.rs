//! Kafka: the order-events consumer (customers, orders, shipments) and the
//! events billing publishes.

pub mod order_events;
pub mod outgoing;

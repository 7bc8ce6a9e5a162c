//! Kafka: the upstream commerce topics (CloudEvents in structured JSON mode),
//! collections' credit events, and the events this service publishes.

pub mod cloudevents;
pub mod commerce_orders;
pub mod credit_status;
pub mod fulfilments;
pub mod outgoing;

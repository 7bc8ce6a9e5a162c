//! Watches the order service's `otc.order.events.v1` for what became of the
//! upstream orders: placed, approved or rejected, by external order id, each
//! with the instant it was read.

use std::time::{Duration, Instant};

use prost::Message as _;
use rdkafka::Message as _;
use rdkafka::consumer::StreamConsumer;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use otc_proto::events::{OrderApproved, OrderPlaced, OrderRejected};
use otc_shared::events::{RecordHeaders, header};

pub const ORDER_PLACED_TYPE: &str = "otc.order.v1.OrderPlaced";
pub const ORDER_APPROVED_TYPE: &str = "otc.order.v1.OrderApproved";
pub const ORDER_REJECTED_TYPE: &str = "otc.order.v1.OrderRejected";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Placed,
    Approved,
    Rejected,
}

#[derive(Debug, Clone)]
pub struct Observation {
    pub external_order_id: String,
    pub outcome: Outcome,
    /// When the record was read (the same clock as the publisher's).
    pub at: Instant,
    /// Why, for a rejection: the violations as `field: description`.
    pub reason: Option<String>,
}

/// A consumer of its own (fresh group, from the earliest offset) reading the
/// order events in a task, so that reading never waits on the caller.
pub struct OrderEventWatcher {
    observations: mpsc::UnboundedReceiver<Observation>,
    reader: JoinHandle<anyhow::Result<()>>,
}

impl OrderEventWatcher {
    /// Starts reading `topic` from its beginning, so that nothing published
    /// before or while the reader starts is missed.
    pub async fn start(topic: &str) -> anyhow::Result<Self> {
        let consumer = crate::readers::from_start(topic, "watcher").await?;
        let (sender, observations) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read(consumer, sender));
        Ok(Self {
            observations,
            reader,
        })
    }

    /// The next observation, or `None` if there was none within `wait`.
    pub async fn next(&mut self, wait: Duration) -> anyhow::Result<Option<Observation>> {
        match tokio::time::timeout(wait, self.observations.recv()).await {
            Ok(Some(observation)) => Ok(Some(observation)),
            Ok(None) => match (&mut self.reader).await {
                Ok(Ok(())) => anyhow::bail!("the order event reader stopped"),
                Ok(Err(error)) => Err(error.context("the order event reader failed")),
                Err(error) => {
                    Err(anyhow::Error::from(error).context("the order event reader died"))
                }
            },
            Err(_) => Ok(None),
        }
    }

    pub fn stop(self) {
        self.reader.abort();
    }
}

async fn read(
    consumer: StreamConsumer,
    sender: mpsc::UnboundedSender<Observation>,
) -> anyhow::Result<()> {
    loop {
        let message = consumer.recv().await?;
        let at = Instant::now();
        let headers = RecordHeaders::from_kafka(message.headers());
        let payload = message.payload().unwrap_or_default();
        let Some(observation) = observe(headers.get(header::TYPE), payload, at)? else {
            continue;
        };
        if sender.send(observation).is_err() {
            return Ok(());
        }
    }
}

/// What one order event tells about an upstream order, if it is one we count.
fn observe(
    event_type: Option<&str>,
    payload: &[u8],
    at: Instant,
) -> anyhow::Result<Option<Observation>> {
    let observation = |external_order_id: String, outcome: Outcome, reason: Option<String>| {
        Some(Observation {
            external_order_id,
            outcome,
            at,
            reason,
        })
    };
    Ok(match event_type {
        Some(ORDER_PLACED_TYPE) => {
            let placed = OrderPlaced::decode(payload)?;
            observation(placed.external_order_id, Outcome::Placed, None)
        }
        Some(ORDER_APPROVED_TYPE) => {
            let approved = OrderApproved::decode(payload)?;
            observation(approved.external_order_id, Outcome::Approved, None)
        }
        Some(ORDER_REJECTED_TYPE) => {
            let rejected = OrderRejected::decode(payload)?;
            let reason = rejected
                .violations
                .iter()
                .map(|violation| format!("{}: {}", violation.field, violation.description))
                .collect::<Vec<_>>()
                .join("; ");
            observation(rejected.external_order_id, Outcome::Rejected, Some(reason))
        }
        _ => None,
    })
}

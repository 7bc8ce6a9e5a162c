//! Upstream orders as a commerce platform publishes them on
//! `commerce.orders.v1` (CloudEvents, structured JSON), and a publisher that
//! sends them in concurrent batches and notes when each was sent.

use std::time::{Duration, Instant};

use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::json;

use crate::master_data::{CURRENCY, SHOP_PLATFORM, TENANT, customer_external_id, sku};

pub const ORDER_PLACED: &str = "commerce.order.placed";
pub const SOURCE: &str = "/shop/bench";
/// How long a record may wait in the producer's queue before it fails.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// One upstream order: the record key (its external order id) and the
/// CloudEvent bytes.
#[derive(Debug, Clone)]
pub struct UpstreamOrder {
    pub external_order_id: String,
    pub payload: Vec<u8>,
}

/// When an upstream order was handed to the producer.
#[derive(Debug, Clone)]
pub struct Published {
    pub external_order_id: String,
    pub at: Instant,
}

/// `count` orders `<prefix>0`, `<prefix>1`, ...; order i is for customer
/// `i % customers` and has one to three lines of the `products` SKUs.
pub fn orders(
    prefix: &str,
    count: usize,
    customers: usize,
    products: usize,
) -> anyhow::Result<Vec<UpstreamOrder>> {
    anyhow::ensure!(
        customers > 0 && products > 0,
        "need at least one customer and one product"
    );
    (0..count)
        .map(|index| {
            let external_order_id = format!("{prefix}{index}");
            let payload = order_placed(&external_order_id, index, customers, products)?;
            Ok(UpstreamOrder {
                external_order_id,
                payload,
            })
        })
        .collect()
}

fn order_placed(
    external_order_id: &str,
    index: usize,
    customers: usize,
    products: usize,
) -> anyhow::Result<Vec<u8>> {
    let line_count = 1 + index % 3;
    let lines: Vec<_> = (0..line_count)
        .map(|line| {
            json!({
                "sku": sku(1 + (index + line * 7) % products),
                "quantity": (1 + (index + line) % 4).to_string(),
            })
        })
        .collect();
    let event = json!({
        "specversion": "1.0",
        "id": uuid::Uuid::now_v7().to_string(),
        "source": SOURCE,
        "type": ORDER_PLACED,
        "tenant": TENANT,
        "time": chrono::Utc::now().to_rfc3339(),
        "datacontenttype": "application/json",
        "data": {
            "external_order_id": external_order_id,
            "customer_ref": format!("{SHOP_PLATFORM}:{}", customer_external_id(index % customers)),
            "currency_code": CURRENCY,
            "lines": lines,
            "shipping_address": {
                "lines": ["Main St 1"],
                "city": "Berlin",
                "postal_code": "10115",
                "country_code": "DE",
            },
        },
    });
    Ok(serde_json::to_vec(&event)?)
}

/// How the publisher paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Records sent concurrently; the next batch starts when all are acknowledged.
    pub batch: usize,
    /// Orders per second on average, or as fast as Kafka takes them.
    pub rate: Option<u32>,
}

/// Sends every order to `topic` keyed by its external order id, a batch at
/// a time, and returns when each was sent.
pub async fn publish(
    producer: &FutureProducer,
    topic: &str,
    orders: &[UpstreamOrder],
    pacing: Pacing,
) -> anyhow::Result<Vec<Published>> {
    let started = Instant::now();
    let batch_size = pacing.batch.max(1);
    let mut published = Vec::with_capacity(orders.len());
    for (batch_index, batch) in orders.chunks(batch_size).enumerate() {
        if let Some(rate) = pacing.rate {
            let due = batch_due(batch_index, batch_size, rate)?;
            tokio::time::sleep_until((started + due).into()).await;
        }
        let sends = batch.iter().map(|order| async move {
            let record = FutureRecord::to(topic)
                .key(&order.external_order_id)
                .payload(&order.payload);
            let at = Instant::now();
            producer
                .send(record, QUEUE_TIMEOUT)
                .await
                .map_err(|(error, _)| anyhow::anyhow!("produce to {topic} failed: {error}"))?;
            anyhow::Ok(Published {
                external_order_id: order.external_order_id.clone(),
                at,
            })
        });
        for result in futures::future::join_all(sends).await {
            published.push(result?);
        }
    }
    Ok(published)
}

/// When batch `batch_index` is due after the start, at `rate` orders/s.
fn batch_due(batch_index: usize, batch: usize, rate: u32) -> anyhow::Result<Duration> {
    let orders_before = u64::try_from(batch_index.saturating_mul(batch))?;
    let micros = orders_before.saturating_mul(1_000_000) / u64::from(rate.max(1));
    Ok(Duration::from_micros(micros))
}

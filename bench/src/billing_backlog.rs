//! The order history a billing benchmark drains — customers (mostly EUR, a
//! few USD, in regions with tax rules), orders of one to three lines and one
//! full shipment per order — as the order service publishes it on
//! `otc.order.events.v1` (protobuf, CloudEvents headers, keyed by customer),
//! the tenant configuration billing needs to issue every one of them, and a
//! reader of the `InvoiceIssued` events that come out.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use prost::Message as _;
use rdkafka::Message as _;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tonic::Request;
use tonic::transport::Channel;

use otc_proto::billing::billing_config_service_client::BillingConfigServiceClient;
use otc_proto::billing::{FxRate, SetFxRateRequest, SetTaxRuleRequest, TaxRule, TenantSettings};
use otc_proto::events as proto;
use otc_proto::types::{Money, PostalAddress};
use otc_shared::TenantId;
use otc_shared::auth::Role;
use otc_shared::events::{EventEnvelope, RecordHeaders, header};

use crate::upstream::Pacing;

pub const SOURCE: &str = "/otc/order";
pub const CUSTOMER_UPSERTED: &str = "otc.order.v1.CustomerUpserted";
pub const ORDER_PLACED: &str = "otc.order.v1.OrderPlaced";
pub const SHIPMENT_RECORDED: &str = "otc.order.v1.ShipmentRecorded";
pub const INVOICE_ISSUED: &str = "otc.billing.v1.InvoiceIssued";
pub const FUNCTIONAL_CURRENCY: &str = "EUR";
/// Every tenth customer is billed in USD, so its invoices need the FX rate.
const USD_EVERY: usize = 10;
/// 1 EUR = 1.0850 USD, set for today and the days before.
const EUR_USD_RATE: &str = "1.0850";
const FX_DAYS_BACK: u64 = 3;
/// Regions with their STANDARD and REDUCED rates.
const EUR_REGIONS: [(&str, &str, &str); 4] = [
    ("DE", "0.19", "0.07"),
    ("FR", "0.20", "0.055"),
    ("NL", "0.21", "0.09"),
    ("AT", "0.20", "0.10"),
];
const USD_REGION: (&str, &str, &str) = ("US-NY", "0.08875", "0.04");
const TERMS: [&str; 3] = ["NET30", "2/10NET30", "EOM"];
/// SKUs `SKU-1` ..; every fourth is taxed at the reduced rate.
const PRODUCTS: usize = 20;
/// How long a record may wait in the producer's queue before it fails.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct BacklogCustomer {
    pub id: String,
    pub currency: &'static str,
    pub region: &'static str,
    pub terms: &'static str,
}

/// `count` customers; customer i is USD when i is a multiple of ten.
pub fn customers(count: usize) -> Vec<BacklogCustomer> {
    (0..count)
        .map(|index| {
            let usd = index.is_multiple_of(USD_EVERY);
            let region = if usd {
                USD_REGION.0
            } else {
                EUR_REGIONS[index % EUR_REGIONS.len()].0
            };
            BacklogCustomer {
                id: uuid::Uuid::now_v7().to_string(),
                currency: if usd { "USD" } else { FUNCTIONAL_CURRENCY },
                region,
                terms: TERMS[index % TERMS.len()],
            }
        })
        .collect()
}

/// One event ready to publish: its type, record key (the customer id, so a
/// customer's events stay in order), the order it is about and its bytes.
#[derive(Debug, Clone)]
pub struct OrderEvent {
    pub event_type: &'static str,
    pub key: String,
    /// Empty for a customer event.
    pub order_id: String,
    pub payload: Vec<u8>,
}

pub fn customer_upserted(customer: &BacklogCustomer) -> OrderEvent {
    let message = proto::CustomerUpserted {
        customer_id: customer.id.clone(),
        legal_name: format!("Benchmark Customer {}", &customer.id[24..]),
        billing_address: Some(PostalAddress {
            lines: vec!["Rechnungsweg 1".to_owned()],
            city: "Berlin".to_owned(),
            postal_code: "10115".to_owned(),
            region: String::new(),
            country_code: "DE".to_owned(),
        }),
        tax_region: customer.region.to_owned(),
        currency_code: customer.currency.to_owned(),
        payment_terms_code: customer.terms.to_owned(),
        segment: "smb".to_owned(),
        status: "ACTIVE".to_owned(),
        version: 1,
        ..proto::CustomerUpserted::default()
    };
    OrderEvent {
        event_type: CUSTOMER_UPSERTED,
        key: customer.id.clone(),
        order_id: String::new(),
        payload: message.encode_to_vec(),
    }
}

/// An order and its one shipment, which ships every line in full.
#[derive(Debug, Clone)]
pub struct BacklogOrder {
    pub placed: OrderEvent,
    pub shipped: OrderEvent,
    pub lines: usize,
}

/// Cents as a decimal string (`1990` -> `19.90`): prices stay integers.
fn amount(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Orders `first .. first + count`; order i is for customer
/// `i % customers.len()` and has `1 + i % 3` lines of distinct SKUs.
pub fn orders(
    first: usize,
    count: usize,
    customers: &[BacklogCustomer],
) -> anyhow::Result<Vec<BacklogOrder>> {
    anyhow::ensure!(!customers.is_empty(), "need at least one customer");
    let now = otc_shared::time::now();
    let timestamp = otc_shared::time::to_proto(now);
    let order_date = now.date_naive().to_string();
    (first..first.saturating_add(count))
        .map(|index| {
            let customer = &customers[index % customers.len()];
            let money = |cents: u64| Money {
                amount: amount(cents),
                currency_code: customer.currency.to_owned(),
            };
            let mut order_lines = Vec::new();
            let mut shipped_lines = Vec::new();
            let mut total_cents = 0;
            for line in 0..1 + index % 3 {
                let product = 1 + (index + line * 7) % PRODUCTS;
                let unit_cents = 990 + 100 * u64::try_from(product)?;
                let quantity = 1 + u64::try_from((index + line) % 4)?;
                let line_cents = unit_cents * quantity;
                total_cents += line_cents;
                let sku = format!("SKU-{product}");
                let tax_code = if product.is_multiple_of(4) {
                    "REDUCED"
                } else {
                    "STANDARD"
                };
                let description = format!("Benchmark product {product}");
                order_lines.push(proto::OrderLine {
                    line_id: (line + 1).to_string(),
                    sku: sku.clone(),
                    description: description.clone(),
                    quantity: quantity.to_string(),
                    unit_price: Some(money(unit_cents)),
                    line_amount: Some(money(line_cents)),
                    tax_code: tax_code.to_owned(),
                });
                shipped_lines.push(proto::ShippedLine {
                    line_id: (line + 1).to_string(),
                    sku,
                    quantity: quantity.to_string(),
                    unit_price: Some(money(unit_cents)),
                    amount: Some(money(line_cents)),
                    tax_code: tax_code.to_owned(),
                    description,
                });
            }
            let order_id = uuid::Uuid::now_v7().to_string();
            let lines = order_lines.len();
            let placed = proto::OrderPlaced {
                order_id: order_id.clone(),
                customer_id: customer.id.clone(),
                source: "shop".to_owned(),
                external_order_id: format!("bench-{index}"),
                lines: order_lines,
                total: Some(money(total_cents)),
                placed_at: Some(timestamp),
                order_date: order_date.clone(),
            };
            let shipped = proto::ShipmentRecorded {
                shipment_id: uuid::Uuid::now_v7().to_string(),
                order_id: order_id.clone(),
                customer_id: customer.id.clone(),
                lines: shipped_lines,
                shipped_at: Some(timestamp),
                external_shipment_id: format!("shp-{index}"),
                order_status: "FULFILLED".to_owned(),
            };
            let event = |event_type, payload| OrderEvent {
                event_type,
                key: customer.id.clone(),
                order_id: order_id.clone(),
                payload,
            };
            Ok(BacklogOrder {
                placed: event(ORDER_PLACED, placed.encode_to_vec()),
                shipped: event(SHIPMENT_RECORDED, shipped.encode_to_vec()),
                lines,
            })
        })
        .collect()
}

/// When an event was handed to the producer.
#[derive(Debug, Clone)]
pub struct Sent {
    pub event_type: &'static str,
    pub order_id: String,
    pub at: Instant,
}

/// Sends `events` to `topic` in order, a batch at a time (the idempotent
/// producer keeps each partition's order), with fresh CloudEvents headers
/// for `tenant`; returns when each was sent. With `pacing.rate`, that many
/// events per second on average.
pub async fn publish(
    producer: &FutureProducer,
    topic: &str,
    tenant: &TenantId,
    events: &[OrderEvent],
    pacing: Pacing,
) -> anyhow::Result<Vec<Sent>> {
    let started = Instant::now();
    let batch_size = pacing.batch.max(1);
    let mut sent = Vec::with_capacity(events.len());
    for (batch_index, batch) in events.chunks(batch_size).enumerate() {
        if let Some(rate) = pacing.rate {
            let events_before = u64::try_from(batch_index.saturating_mul(batch_size))?;
            let due = events_before.saturating_mul(1_000_000) / u64::from(rate.max(1));
            tokio::time::sleep_until((started + Duration::from_micros(due)).into()).await;
        }
        // join_all polls the sends in order, so they are enqueued in order.
        let sends = batch.iter().map(|event| async move {
            let headers = EventEnvelope::new(event.event_type, SOURCE, tenant).to_headers();
            let record = FutureRecord::to(topic)
                .key(&event.key)
                .payload(&event.payload)
                .headers(headers);
            let at = Instant::now();
            producer
                .send(record, QUEUE_TIMEOUT)
                .await
                .map_err(|(error, _)| anyhow::anyhow!("produce to {topic} failed: {error}"))?;
            anyhow::Ok(Sent {
                event_type: event.event_type,
                order_id: event.order_id.clone(),
                at,
            })
        });
        for result in futures::future::join_all(sends).await {
            sent.push(result?);
        }
    }
    Ok(sent)
}

fn authorized<T>(message: T, token: &str) -> anyhow::Result<Request<T>> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(request)
}

/// What billing needs to issue every backlog invoice, set over gRPC by a
/// tenant admin: seller and functional currency, a STANDARD and a REDUCED
/// rule per region, and the EUR/USD rate for `today` and the days before.
pub async fn configure(channel: &Channel, tenant: &str, today: NaiveDate) -> anyhow::Result<()> {
    let token = otc_testkit::token(tenant, &[Role::TenantAdmin])?;
    let mut config = BillingConfigServiceClient::new(channel.clone());
    let settings = TenantSettings {
        functional_currency: FUNCTIONAL_CURRENCY.to_owned(),
        seller_name: "OTC Benchmark AG".to_owned(),
        seller_tax_id: "DE123456789".to_owned(),
        payment_instructions: vec!["IBAN DE89 3704 0044 0532 0130 00".to_owned()],
        fx_max_age_days: 5,
        ..TenantSettings::default()
    };
    config
        .set_tenant_settings(authorized(settings, &token)?)
        .await?;
    for (region, standard, reduced) in EUR_REGIONS.iter().chain([&USD_REGION]) {
        for (tax_code, rate) in [("STANDARD", standard), ("REDUCED", reduced)] {
            let rule = TaxRule {
                region: (*region).to_owned(),
                tax_code: tax_code.to_owned(),
                rate: (*rate).to_owned(),
                valid_from: "2020-01-01".to_owned(),
                valid_to: String::new(),
            };
            let request = SetTaxRuleRequest { rule: Some(rule) };
            config.set_tax_rule(authorized(request, &token)?).await?;
        }
    }
    for days_back in 0..=FX_DAYS_BACK {
        let rate_date = today
            .checked_sub_days(chrono::Days::new(days_back))
            .unwrap_or(today);
        let rate = FxRate {
            from_currency: FUNCTIONAL_CURRENCY.to_owned(),
            to_currency: "USD".to_owned(),
            rate_date: rate_date.to_string(),
            rate: EUR_USD_RATE.to_owned(),
            source: "manual".to_owned(),
        };
        let request = SetFxRateRequest { rate: Some(rate) };
        config.set_fx_rate(authorized(request, &token)?).await?;
    }
    Ok(())
}

/// One `InvoiceIssued` as read from the billing topic.
#[derive(Debug, Clone)]
struct IssuedInvoice {
    invoice_id: String,
    order_ids: Vec<String>,
    /// When it was read (the same clock as the publisher's).
    at: Instant,
}

/// Reads the billing topic from its start in a task of its own (assigned
/// every partition, no group join) and keeps, for each order, when its
/// first `InvoiceIssued` was read.
pub struct InvoiceWatcher {
    received: mpsc::UnboundedReceiver<IssuedInvoice>,
    reader: JoinHandle<anyhow::Result<()>>,
    issued_by_order: HashMap<String, Instant>,
    invoices: HashSet<String>,
    last_read: Option<Instant>,
}

impl InvoiceWatcher {
    pub async fn start(topic: &str) -> anyhow::Result<Self> {
        let consumer = crate::readers::from_start(topic, "invoices").await?;
        let (sender, received) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_issued(consumer, sender));
        Ok(Self {
            received,
            reader,
            issued_by_order: HashMap::new(),
            invoices: HashSet::new(),
            last_read: None,
        })
    }

    /// Takes in every invoice read so far, without waiting for more.
    pub async fn refresh(&mut self) -> anyhow::Result<()> {
        loop {
            match self.received.try_recv() {
                Ok(invoice) => {
                    self.last_read = Some(invoice.at);
                    for order_id in invoice.order_ids {
                        self.issued_by_order.entry(order_id).or_insert(invoice.at);
                    }
                    self.invoices.insert(invoice.invoice_id);
                }
                Err(mpsc::error::TryRecvError::Empty) => return Ok(()),
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    return match (&mut self.reader).await {
                        Ok(Ok(())) => Err(anyhow::anyhow!("the InvoiceIssued reader stopped")),
                        Ok(Err(error)) => Err(error.context("the InvoiceIssued reader failed")),
                        Err(error) => {
                            Err(anyhow::Error::from(error).context("the InvoiceIssued reader died"))
                        }
                    };
                }
            }
        }
    }

    /// When the first invoice of `order_id` was read.
    pub fn issued_at(&self, order_id: &str) -> Option<Instant> {
        self.issued_by_order.get(order_id).copied()
    }

    /// Distinct invoices read.
    pub fn invoices_read(&self) -> usize {
        self.invoices.len()
    }

    pub fn last_read(&self) -> Option<Instant> {
        self.last_read
    }

    pub fn stop(self) {
        self.reader.abort();
    }
}

async fn read_issued(
    consumer: StreamConsumer,
    sender: mpsc::UnboundedSender<IssuedInvoice>,
) -> anyhow::Result<()> {
    loop {
        let message = consumer.recv().await?;
        let at = Instant::now();
        let headers = RecordHeaders::from_kafka(message.headers());
        if headers.get(header::TYPE) != Some(INVOICE_ISSUED) {
            continue;
        }
        let issued = proto::InvoiceIssued::decode(message.payload().unwrap_or_default())?;
        let invoice = IssuedInvoice {
            invoice_id: issued.invoice_id,
            order_ids: issued.order_ids,
            at,
        };
        if sender.send(invoice).is_err() {
            return Ok(());
        }
    }
}

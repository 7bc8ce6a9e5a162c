//! The simulation, step by step, each with its progress and a bounded wait
//! for the services.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Days, NaiveDate};
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::json;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use otc_bank_formats::write::{self, Header, Line};
use otc_proto::billing::billing_config_service_client::BillingConfigServiceClient;
use otc_proto::billing::invoice_service_client::InvoiceServiceClient;
use otc_proto::billing::{
    FxRate, Invoice, ListHeldInvoicesRequest, ListInvoicesRequest, SetFxRateRequest,
    SetTaxRuleRequest, TaxRule, TenantSettings,
};
use otc_proto::collections::credit_limit_service_client::CreditLimitServiceClient;
use otc_proto::collections::dispute_service_client::DisputeServiceClient;
use otc_proto::collections::dunning_service_client::DunningServiceClient;
use otc_proto::collections::promise_service_client::PromiseServiceClient;
use otc_proto::collections::{
    DisputedItem, DunningLevel, GetDunningRunRequest, OpenDisputeRequest, RecordPromiseRequest,
    RunDunningRequest, SetCreditLimitRequest, SetCreditPolicyRequest, SetDunningStrategyRequest,
};
use otc_proto::order::customer_service_client::CustomerServiceClient;
use otc_proto::order::order_service_client::OrderServiceClient;
use otc_proto::order::pricing_service_client::PricingServiceClient;
use otc_proto::order::{
    CreateCustomerRequest, CustomerDetails, ExternalReference, ListOrdersRequest, Order, Product,
    SetListPriceRequest,
};
use otc_proto::payments::payment_service_client::PaymentServiceClient;
use otc_proto::payments::{ImportStatementRequest, RegisterWebhookProviderRequest};
use otc_proto::types::{Money, PageInfo, PageRequest, PostalAddress};
use otc_shared::auth::{Role, TokenIssuer};
use otc_shared::ids::TenantId;

use crate::Arguments;
use crate::summary::{self, Tally};
use crate::world::{self, Customer, FX_TO_EUR, PRODUCTS, TAX_RATES};

/// Our bank accounts: the euro and the pound statement come from these.
const EUR_ACCOUNT: &str = "DE89370400440532013000";
const GBP_ACCOUNT: &str = "GB33BUKB20201555555555";
/// The card provider paying the dollar invoices.
const PROVIDER: &str = "cardpay";
/// The simulated days dunning runs on, after the invoices' issue day.
const DUNNING_DAYS: [u64; 4] = [27, 37, 51, 75];
/// The last simulated day: what the summary is as of.
pub const LAST_DAY: u64 = 75;

pub struct Channels {
    pub order: Channel,
    pub billing: Channel,
    pub payments: Channel,
    pub collections: Channel,
    pub reporting: Channel,
}

pub struct Simulation<'a> {
    pub arguments: &'a Arguments,
    pub tenant: String,
    token: String,
    pub channels: Channels,
    pub today: NaiveDate,
    rng: fastrand::Rng,
    pub tally: Tally,
}

fn style(bar: &ProgressBar, template: &str) {
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
}

fn counter(total: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(u64::try_from(total).unwrap_or(0));
    style(
        &bar,
        &format!("  {{spinner}} {{bar:30}} {{pos}}/{{len}} {what}  {{msg}}"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn step(number: u32, text: &str) {
    println!("\n[{number}/7] {text}");
}

fn money(amount: &str, currency: &str) -> Option<Money> {
    Some(Money {
        amount: amount.to_owned(),
        currency_code: currency.to_owned(),
    })
}

fn decimal(money: Option<&Money>) -> Decimal {
    money
        .and_then(|money| money.amount.parse().ok())
        .unwrap_or_default()
}

async fn connect(url: &str) -> anyhow::Result<Channel> {
    tonic::transport::Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("bad endpoint {url}"))?
        .connect()
        .await
        .with_context(|| format!("cannot reach {url}: is the suite running (make run)?"))
}

/// Retries `call` while the service answers that it does not know the
/// thing yet (its events are still on their way), up to `timeout`.
async fn eventually<T, F, Fut>(timeout: Duration, mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match call().await {
            Err(status)
                if (matches!(status.code(), Code::NotFound | Code::FailedPrecondition)
                    || transient(&status))
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            other => return other,
        }
    }
}

/// Whether a failure is the service being away (restarting, say) rather
/// than its answer.
fn transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded
    )
}

/// Retries `call` while the service is away, up to `timeout`: a restarted
/// service comes back on its port and the channel reconnects. Only for
/// calls that may safely run twice (reads, and writes the service keeps
/// idempotent).
pub async fn retry<T, F, Fut>(timeout: Duration, mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match call().await {
            Err(status) if transient(&status) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

/// Every row of a paged list, 500 a page, each page retried while the
/// service is away.
async fn every_page<T, F, Fut>(
    timeout: Duration,
    what: &str,
    mut fetch: F,
) -> anyhow::Result<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<PageInfo>), Status>>,
{
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let (rows, page) = retry(timeout, || {
            fetch(PageRequest {
                page_size: 500,
                page_token: token.clone(),
            })
        })
        .await
        .with_context(|| what.to_owned())?;
        all.extend(rows);
        token = page.map(|page| page.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return Ok(all);
        }
    }
}

pub async fn run(arguments: &Arguments) -> anyhow::Result<String> {
    let started = Instant::now();
    let tenant = match &arguments.tenant {
        Some(tenant) => tenant.clone(),
        None => format!("demo-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S")),
    };
    let tenant_id =
        TenantId::parse(&tenant).map_err(|error| anyhow::anyhow!("--tenant: {error}"))?;
    let token = TokenIssuer::new("otc-local", "otc", &arguments.secret)
        .mint(
            &tenant_id,
            "otc-simulator",
            &[
                Role::TenantAdmin,
                Role::SalesAssociate,
                Role::ArClerk,
                Role::CashApplicationSpecialist,
                Role::Collector,
                Role::CreditManager,
                Role::Executive,
                Role::CustomerServiceRepresentative,
            ],
            Duration::from_secs(6 * 3600),
        )
        .map_err(|error| anyhow::anyhow!("cannot mint the simulator's token: {error}"))?;
    let channels = Channels {
        order: connect(&arguments.order).await?,
        billing: connect(&arguments.billing).await?,
        payments: connect(&arguments.payments).await?,
        collections: connect(&arguments.collections).await?,
        reporting: connect(&arguments.reporting).await?,
    };
    println!(
        "Simulating tenant {tenant}: {} customers, {} orders each (seed {}).",
        arguments.customers, arguments.orders_per_customer, arguments.seed
    );
    let mut simulation = Simulation {
        arguments,
        tenant,
        token,
        channels,
        today: chrono::Utc::now().date_naive(),
        rng: fastrand::Rng::with_seed(arguments.seed),
        tally: Tally::default(),
    };
    simulation.set_up().await?;
    let mut customers = simulation.customers().await?;
    let orders = simulation.orders(&customers).await?;
    let invoices = simulation.ship(&orders).await?;
    simulation.pay(&mut customers, &invoices).await?;
    simulation.follow_up(&customers, &invoices).await?;
    step(7, "Waiting for reporting to catch up, then the summary");
    summary::settle(&simulation).await?;
    let report = summary::render(&simulation, started.elapsed()).await?;
    Ok(report)
}

impl Simulation<'_> {
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Ok(value) = format!("Bearer {}", self.token).parse() {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.arguments.step_timeout)
    }

    pub fn day(&self, offset: u64) -> NaiveDate {
        self.today
            .checked_add_days(Days::new(offset))
            .unwrap_or(self.today)
    }

    async fn set_up(&mut self) -> anyhow::Result<()> {
        step(
            1,
            "Setting up the tenant: seller, taxes, rates, catalogue, credit, dunning, provider",
        );
        let mut config = BillingConfigServiceClient::new(self.channels.billing.clone());
        config
            .set_tenant_settings(self.request(TenantSettings {
                functional_currency: "EUR".into(),
                seller_name: "Rheinpumpen Industrietechnik GmbH".into(),
                seller_address: Some(PostalAddress {
                    lines: vec!["Industriestraße 12".into()],
                    city: "Duisburg".into(),
                    postal_code: "47051".into(),
                    region: String::new(),
                    country_code: "DE".into(),
                }),
                seller_tax_id: "DE811234567".into(),
                payment_instructions: vec![format!(
                    "IBAN {EUR_ACCOUNT} (EUR), {GBP_ACCOUNT} (GBP)"
                )],
                fx_max_age_days: 30,
                ..TenantSettings::default()
            }))
            .await
            .context("billing tenant settings")?;
        for (region, rate) in TAX_RATES {
            config
                .set_tax_rule(self.request(SetTaxRuleRequest {
                    rule: Some(TaxRule {
                        region: region.into(),
                        tax_code: "STANDARD".into(),
                        rate: rate.into(),
                        valid_from: "2020-01-01".into(),
                        valid_to: String::new(),
                    }),
                }))
                .await
                .with_context(|| format!("tax rule {region}"))?;
        }
        for (currency, rate) in FX_TO_EUR {
            config
                .set_fx_rate(self.request(SetFxRateRequest {
                    rate: Some(FxRate {
                        from_currency: currency.into(),
                        to_currency: "EUR".into(),
                        rate_date: self.today.to_string(),
                        rate: rate.into(),
                        source: "simulator".into(),
                    }),
                }))
                .await
                .with_context(|| format!("FX rate {currency}"))?;
        }
        let mut pricing = PricingServiceClient::new(self.channels.order.clone());
        for (sku, description, eur, usd, gbp) in PRODUCTS {
            pricing
                .upsert_product(self.request(Product {
                    sku: sku.into(),
                    description: description.into(),
                    tax_code: "STANDARD".into(),
                    active: true,
                }))
                .await
                .with_context(|| format!("product {sku}"))?;
            for (price, currency) in [(eur, "EUR"), (usd, "USD"), (gbp, "GBP")] {
                pricing
                    .set_list_price(self.request(SetListPriceRequest {
                        sku: sku.into(),
                        unit_price: money(price, currency),
                        valid_from: "2020-01-01".into(),
                        valid_to: String::new(),
                    }))
                    .await
                    .with_context(|| format!("list price {sku} {currency}"))?;
            }
        }
        let mut credit = CreditLimitServiceClient::new(self.channels.collections.clone());
        credit
            .set_credit_policy(self.request(SetCreditPolicyRequest {
                overdue_hold_days: 60,
                default_credit_limit: None,
                expected_version: 0,
            }))
            .await
            .context("credit policy")?;
        let mut dunning = DunningServiceClient::new(self.channels.collections.clone());
        for segment in ["enterprise", "smb", "retail"] {
            let levels = [(1, -3), (2, 7), (3, 21), (4, 45)]
                .into_iter()
                .map(|(level, days)| DunningLevel {
                    level,
                    days_after_due: days,
                    channel: "LETTER".into(),
                    ..DunningLevel::default()
                })
                .collect();
            dunning
                .set_dunning_strategy(self.request(SetDunningStrategyRequest {
                    segment: segment.into(),
                    name: format!("{segment} standard"),
                    levels,
                }))
                .await
                .with_context(|| format!("dunning strategy {segment}"))?;
        }
        let provider = PaymentServiceClient::new(self.channels.payments.clone())
            .register_webhook_provider(self.request(RegisterWebhookProviderRequest {
                provider: PROVIDER.into(),
            }))
            .await
            .context("registering the card provider")?
            .into_inner();
        self.tally.webhook_secret = provider.secret;
        println!(
            "  {} tax regions, {} exchange rates, {} products in 3 currencies, dunning at -3/+7/+21/+45 days, provider {PROVIDER}",
            TAX_RATES.len(),
            FX_TO_EUR.len(),
            PRODUCTS.len()
        );
        Ok(())
    }

    async fn customers(&mut self) -> anyhow::Result<Vec<Customer>> {
        step(2, "Creating customers and their credit limits");
        let count = usize::try_from(self.arguments.customers).unwrap_or(0);
        let mut customers = world::customers(&mut self.rng, count, &self.tenant);
        let mut client = CustomerServiceClient::new(self.channels.order.clone());
        let bar = counter(customers.len(), "customers");
        for customer in &mut customers {
            let created = client
                .create_customer(self.request(CreateCustomerRequest {
                    details: Some(CustomerDetails {
                        legal_name: customer.legal_name.clone(),
                        external_references: vec![ExternalReference {
                            platform: "shop".into(),
                            external_id:
                                customer.external_ref.trim_start_matches("shop:").to_owned(),
                        }],
                        billing_address: Some(PostalAddress {
                            lines: vec![format!("{} Commerce Street", 10 + customer.index)],
                            city: "Springfield".into(),
                            postal_code: format!("{:05}", 10_000 + customer.index),
                            region: String::new(),
                            country_code: customer.market.country.into(),
                        }),
                        tax_region: customer.market.tax_region.into(),
                        currency_code: customer.market.currency.into(),
                        payment_terms_code: customer.payment_terms.into(),
                        segment: customer.segment.into(),
                        bank_accounts: vec![customer.account.clone()],
                        ..CustomerDetails::default()
                    }),
                }))
                .await
                .with_context(|| format!("creating customer {}", customer.legal_name))?
                .into_inner();
            customer.customer_id = created.customer_id;
            bar.inc(1);
        }
        bar.finish_and_clear();
        let limits = CreditLimitServiceClient::new(self.channels.collections.clone());
        let bar = counter(customers.len(), "credit limits");
        for customer in &customers {
            let limit = if customer.tight_credit {
                "500.00"
            } else {
                "250000.00"
            };
            let timeout = self.timeout();
            let request = SetCreditLimitRequest {
                customer_id: customer.customer_id.clone(),
                credit_limit: money(limit, customer.market.currency),
                risk_class: if customer.tight_credit { "D" } else { "B" }.into(),
                reason: "opening limit".into(),
                expected_version: 0,
            };
            eventually(timeout, || {
                let mut client = limits.clone();
                let request = self.request(request.clone());
                async move { client.set_credit_limit(request).await }
            })
            .await
            .with_context(|| format!("credit limit of {}", customer.legal_name))?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        let tight = customers
            .iter()
            .filter(|customer| customer.tight_credit)
            .count();
        println!(
            "  {} customers (EUR {}, USD {}, GBP {}), {tight} with a tight credit limit",
            customers.len(),
            customers
                .iter()
                .filter(|c| c.market.currency == "EUR")
                .count(),
            customers
                .iter()
                .filter(|c| c.market.currency == "USD")
                .count(),
            customers
                .iter()
                .filter(|c| c.market.currency == "GBP")
                .count(),
        );
        self.tally.customers = customers.len();
        Ok(customers)
    }

    fn producer(&self) -> anyhow::Result<FutureProducer> {
        ClientConfig::new()
            .set("bootstrap.servers", &self.arguments.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .create()
            .context("the Kafka producer")
    }

    async fn publish(
        &self,
        producer: &FutureProducer,
        topic: &str,
        key: &str,
        event: &serde_json::Value,
    ) -> anyhow::Result<()> {
        let payload = serde_json::to_vec(event)?;
        let topic = format!("{}{topic}", self.arguments.topic_namespace);
        producer
            .send(
                FutureRecord::to(&topic).key(key).payload(&payload).headers(
                    rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
                        key: "content-type",
                        value: Some("application/cloudevents+json"),
                    }),
                ),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(error, _)| anyhow::anyhow!("publishing to {topic}: {error}"))?;
        Ok(())
    }

    fn source(&self) -> String {
        format!("/shop/{}", self.tenant)
    }

    /// Every order of the tenant, as the order service has them.
    async fn list_orders(&self) -> anyhow::Result<Vec<Order>> {
        let client = OrderServiceClient::new(self.channels.order.clone());
        every_page(self.timeout(), "listing orders", |page| {
            let mut client = client.clone();
            let request = self.request(ListOrdersRequest {
                page: Some(page),
                ..ListOrdersRequest::default()
            });
            async move {
                let listed = client.list_orders(request).await?.into_inner();
                Ok((listed.orders, listed.page))
            }
        })
        .await
    }

    async fn orders(&mut self, customers: &[Customer]) -> anyhow::Result<Vec<Order>> {
        step(
            3,
            "The shop publishes orders (CloudEvents on commerce.orders.v1); credit is checked",
        );
        let per_customer = usize::try_from(self.arguments.orders_per_customer).unwrap_or(1);
        let orders = world::orders(&mut self.rng, customers, per_customer);
        let producer = self.producer()?;
        let bar = counter(orders.len(), "orders published");
        for order in &orders {
            let customer = &customers[order.customer];
            let lines: Vec<serde_json::Value> = order
                .lines
                .iter()
                .map(|line| {
                    json!({"line_id": line.line_id, "sku": line.sku, "quantity": line.quantity.to_string()})
                })
                .collect();
            let event = json!({
                "specversion": "1.0",
                "id": uuid::Uuid::now_v7().to_string(),
                "source": self.source(),
                "type": "commerce.order.placed",
                "tenant": self.tenant,
                "time": otc_shared::time::to_rfc3339(otc_shared::time::now()),
                "subject": format!("order/{}", order.external_id),
                "datacontenttype": "application/json",
                "data": {
                    "external_order_id": order.external_id,
                    "customer_ref": customer.external_ref,
                    "currency_code": customer.market.currency,
                    "order_date": self.today.to_string(),
                    "lines": lines,
                    "shipping_address": {
                        "lines": [format!("{} Commerce Street", 10 + customer.index)],
                        "city": "Springfield",
                        "postal_code": format!("{:05}", 10_000 + customer.index),
                        "country_code": customer.market.country,
                    },
                },
            });
            self.publish(&producer, "commerce.orders.v1", &order.external_id, &event)
                .await?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        let bar = counter(orders.len(), "orders decided");
        let deadline = Instant::now() + self.timeout();
        let listed = loop {
            let listed = self.list_orders().await?;
            let decided = listed
                .iter()
                .filter(|order| order.status != "pending_credit")
                .count();
            bar.set_position(u64::try_from(decided).unwrap_or(0));
            if listed.len() >= orders.len() && decided == listed.len() {
                break listed;
            }
            if Instant::now() > deadline {
                bar.abandon();
                bail!(
                    "after {} s the order service has {} of {} orders, {decided} decided; see .cache/logs/order.log",
                    self.arguments.step_timeout,
                    listed.len(),
                    orders.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        bar.finish_and_clear();
        let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
        for order in &listed {
            *by_status.entry(order.status.clone()).or_default() += 1;
        }
        println!(
            "  {} orders: {}",
            listed.len(),
            by_status
                .iter()
                .map(|(status, count)| format!("{count} {status}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.tally.orders = listed.len();
        self.tally.orders_by_status = by_status;
        Ok(listed)
    }

    async fn list_invoices(&self) -> anyhow::Result<Vec<Invoice>> {
        let client = InvoiceServiceClient::new(self.channels.billing.clone());
        every_page(self.timeout(), "listing invoices", |page| {
            let mut client = client.clone();
            let request = self.request(ListInvoicesRequest {
                page: Some(page),
                ..ListInvoicesRequest::default()
            });
            async move {
                let listed = client.list_invoices(request).await?.into_inner();
                Ok((listed.invoices, listed.page))
            }
        })
        .await
    }

    async fn ship(&mut self, orders: &[Order]) -> anyhow::Result<Vec<Invoice>> {
        step(
            4,
            "The warehouse ships (commerce.fulfilments.v1); billing invoices every shipment",
        );
        let producer = self.producer()?;
        let approved: Vec<&Order> = orders
            .iter()
            .filter(|order| order.status == "approved")
            .collect();
        let mut shipments = 0_usize;
        let bar = counter(approved.len(), "orders shipped");
        for (position, order) in approved.iter().enumerate() {
            // One order in ten leaves in two parts: the first line (or half
            // of it) now, the rest later.
            let split = position % 10 == 3;
            let quantities: Vec<(String, Decimal)> = order
                .lines
                .iter()
                .map(|line| {
                    (
                        line.line_id.clone(),
                        line.quantity.parse().unwrap_or_default(),
                    )
                })
                .collect();
            let parts: Vec<Vec<(String, Decimal)>> = if split && quantities.len() > 1 {
                vec![quantities[..1].to_vec(), quantities[1..].to_vec()]
            } else if split
                && quantities
                    .first()
                    .is_some_and(|(_, quantity)| *quantity >= Decimal::TWO)
            {
                let (line, quantity) = quantities[0].clone();
                let first = (quantity / Decimal::TWO).floor();
                vec![vec![(line.clone(), first)], vec![(line, quantity - first)]]
            } else {
                vec![quantities]
            };
            for (part, lines) in parts.iter().enumerate() {
                let shipment_id = format!("DESP-{}-{}", order.external_order_id, part + 1);
                let event = json!({
                    "specversion": "1.0",
                    "id": uuid::Uuid::now_v7().to_string(),
                    "source": format!("/wms/{}", self.tenant),
                    "type": "commerce.fulfilment.shipped",
                    "tenant": self.tenant,
                    "time": otc_shared::time::to_rfc3339(otc_shared::time::now()),
                    "subject": format!("shipment/{shipment_id}"),
                    "data": {
                        "external_order_id": order.external_order_id,
                        "order_source": order.source,
                        "shipment_id": shipment_id,
                        "shipped_at": otc_shared::time::to_rfc3339(otc_shared::time::now()),
                        "lines": lines.iter().map(|(line_id, quantity)| json!({"line_id": line_id, "quantity": quantity.to_string()})).collect::<Vec<_>>(),
                    },
                });
                self.publish(
                    &producer,
                    "commerce.fulfilments.v1",
                    &order.external_order_id,
                    &event,
                )
                .await?;
                shipments += 1;
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        let bar = counter(shipments, "invoices issued");
        let deadline = Instant::now() + self.timeout();
        let billing = InvoiceServiceClient::new(self.channels.billing.clone());
        let (invoices, held) = loop {
            let invoices = self.list_invoices().await?;
            let held = retry(self.timeout(), || {
                let mut client = billing.clone();
                let request = self.request(ListHeldInvoicesRequest {
                    page: Some(PageRequest {
                        page_size: 500,
                        page_token: String::new(),
                    }),
                    reason_code: String::new(),
                });
                async move { client.list_held_invoices(request).await }
            })
            .await
            .context("listing held invoices")?
            .into_inner()
            .invoices
            .len();
            bar.set_position(u64::try_from(invoices.len() + held).unwrap_or(0));
            if invoices.len() + held >= shipments {
                break (invoices, held);
            }
            if Instant::now() > deadline {
                bar.abandon();
                bail!(
                    "after {} s billing issued {} invoices for {shipments} shipments ({held} held); see .cache/logs/billing.log",
                    self.arguments.step_timeout,
                    invoices.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        bar.finish_and_clear();
        let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
        for invoice in &invoices {
            let total = invoice.total_amount.as_ref();
            *totals
                .entry(
                    total
                        .map(|money| money.currency_code.clone())
                        .unwrap_or_default(),
                )
                .or_default() += decimal(total);
        }
        println!(
            "  {shipments} shipments of {} orders, {} invoices issued ({held} held for review): {}",
            approved.len(),
            invoices.len(),
            totals
                .iter()
                .map(|(currency, total)| format!("{total} {currency}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.tally.shipments = shipments;
        self.tally.invoices = invoices.len();
        self.tally.held_invoices = held;
        self.tally.invoiced = totals;
        Ok(invoices)
    }
}

/// How an invoice is paid in the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payment {
    OnTime,
    Late,
    Short,
    Combined,
    UnknownPayer,
    Unpaid,
}

impl Payment {
    fn label(self) -> &'static str {
        match self {
            Self::OnTime => "on time",
            Self::Late => "late",
            Self::Short => "short",
            Self::Combined => "combined (two invoices)",
            Self::UnknownPayer => "from an unknown payer",
            Self::Unpaid => "unpaid",
        }
    }
}

fn plan(rng: &mut fastrand::Rng) -> Payment {
    match rng.u8(..100) {
        0..=47 => Payment::OnTime,
        48..=59 => Payment::Late,
        60..=67 => Payment::Short,
        68..=75 => Payment::Combined,
        76..=79 => Payment::UnknownPayer,
        _ => Payment::Unpaid,
    }
}

impl Simulation<'_> {
    async fn pay(
        &mut self,
        customers: &mut [Customer],
        invoices: &[Invoice],
    ) -> anyhow::Result<()> {
        step(
            5,
            "The bank's camt.053 statements (EUR, GBP) and card-provider webhooks (USD) pay",
        );
        let by_id: BTreeMap<&str, &Customer> = customers
            .iter()
            .map(|customer| (customer.customer_id.as_str(), customer))
            .collect();
        let mut lines: BTreeMap<&'static str, Vec<Line>> = BTreeMap::new();
        let mut webhooks: Vec<serde_json::Value> = Vec::new();
        let mut pending_combined: BTreeMap<String, &Invoice> = BTreeMap::new();
        let mut unpaid: Vec<String> = Vec::new();
        let mut sorted: Vec<&Invoice> = invoices.iter().collect();
        sorted.sort_by(|left, right| left.number.cmp(&right.number));
        for invoice in sorted {
            let Some(customer) = by_id.get(invoice.customer_id.as_str()) else {
                continue;
            };
            let total = decimal(invoice.total_amount.as_ref());
            let currency = customer.market.currency;
            let due: NaiveDate = invoice.due_date.parse().unwrap_or(self.today);
            let mut kind = if pending_combined.contains_key(&invoice.customer_id) {
                Payment::Combined
            } else {
                plan(&mut self.rng)
            };
            if customer.market.pays_by_card && kind == Payment::UnknownPayer {
                kind = Payment::OnTime;
            }
            let on = |offset: i64| -> NaiveDate {
                let day = if offset >= 0 {
                    due.checked_add_days(Days::new(offset.unsigned_abs()))
                } else {
                    due.checked_sub_days(Days::new(offset.unsigned_abs()))
                };
                day.unwrap_or(due).max(self.today)
            };
            let (amount, value_date, remittance, payer, account) = match kind {
                Payment::Unpaid => {
                    unpaid.push(invoice.invoice_id.clone());
                    continue;
                }
                Payment::OnTime => (
                    total,
                    on(-self.rng.i64(0..8)),
                    format!("RE {}", invoice.number),
                    customer.legal_name.clone(),
                    customer.account.clone(),
                ),
                Payment::Late => (
                    total,
                    on(self.rng.i64(5..40)),
                    format!("{} thank you", invoice.number),
                    customer.legal_name.to_uppercase(),
                    customer.account.clone(),
                ),
                Payment::Short => (
                    (total * Decimal::new(97, 2))
                        .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven),
                    on(self.rng.i64(-3..10)),
                    format!("{} less damaged goods", invoice.number),
                    customer.legal_name.clone(),
                    customer.account.clone(),
                ),
                Payment::Combined => {
                    // Paid together with the customer's next invoice, one
                    // payment naming both; the next one waits for it.
                    let Some(first) = pending_combined.remove(&invoice.customer_id) else {
                        pending_combined.insert(invoice.customer_id.clone(), invoice);
                        continue;
                    };
                    (
                        total + decimal(first.total_amount.as_ref()),
                        on(self.rng.i64(-5..5)),
                        format!("{} {}", first.number, invoice.number),
                        customer.legal_name.clone(),
                        customer.account.clone(),
                    )
                }
                Payment::UnknownPayer => (
                    total,
                    on(self.rng.i64(-5..5)),
                    "payment".to_owned(),
                    format!("Private account {}", self.rng.u32(1000..9999)),
                    world::iban(
                        "DE",
                        &format!("{:018}", self.rng.u64(..1_000_000_000_000_000_000)),
                    ),
                ),
            };
            *self
                .tally
                .payments_by_kind
                .entry(kind.label().to_owned())
                .or_default() += 1;
            if customer.market.pays_by_card {
                webhooks.push(json!({
                    "id": format!("evt_{}", uuid::Uuid::now_v7().simple()),
                    "type": "payment.succeeded",
                    "created": otc_shared::time::to_rfc3339(otc_shared::time::now()),
                    "data": {
                        "payment_id": format!("pay_{}", uuid::Uuid::now_v7().simple()),
                        "amount": amount.to_string(),
                        "currency": currency,
                        "value_date": value_date.to_string(),
                        "customer_id": customer.customer_id,
                        "description": remittance,
                    },
                }));
            } else {
                // The bank's entry reference: unique within the statement.
                let sequence = lines.values().map(Vec::len).sum::<usize>() + 1;
                let mut line = Line::credit(
                    &format!("SIM{sequence:06}"),
                    &amount.to_string(),
                    &payer,
                    &account,
                    &remittance,
                );
                line.value_date = value_date.to_string();
                lines.entry(currency_key(currency)).or_default().push(line);
            }
            *self.tally.paid.entry(currency.to_owned()).or_default() += amount;
        }
        // A combined payment whose partner never came: left unpaid.
        for invoice in pending_combined.into_values() {
            unpaid.push(invoice.invoice_id.clone());
        }
        let payments = PaymentServiceClient::new(self.channels.payments.clone());
        let last_day = self.day(LAST_DAY).to_string();
        for (currency, account) in [("EUR", EUR_ACCOUNT), ("GBP", GBP_ACCOUNT)] {
            let Some(statement_lines) = lines.get(currency_key(currency)) else {
                continue;
            };
            let id = format!("SIM-{}-{currency}", self.tenant);
            let file = write::camt053(
                &Header {
                    id: &id,
                    own_iban: account,
                    currency,
                    date: &last_day,
                },
                Decimal::ZERO,
                statement_lines,
            );
            let bar = counter(
                statement_lines.len(),
                &format!("{currency} statement lines"),
            );
            // Imported once per statement: a retry after a lost answer
            // imports nothing twice.
            let content = file.into_bytes();
            let imported = retry(self.timeout(), || {
                let mut client = payments.clone();
                let request = self.request(ImportStatementRequest {
                    format: "camt.053".into(),
                    file_name: format!("{id}.xml"),
                    content: content.clone(),
                });
                async move { client.import_statement(request).await }
            })
            .await
            .with_context(|| format!("importing the {currency} statement"))?
            .into_inner();
            bar.finish_and_clear();
            for statement in imported.statements {
                println!(
                    "  camt.053 {} ({currency}): {} receipts, {} applied automatically, {} to the exception queue",
                    statement.statement_id,
                    statement.receipts,
                    statement.auto_applied,
                    statement.exceptions
                );
                self.tally.receipts += u64::from(statement.receipts);
                self.tally.auto_applied += u64::from(statement.auto_applied);
                self.tally.exceptions += u64::from(statement.exceptions);
            }
        }
        let http = reqwest::Client::new();
        let url = format!(
            "{}/webhooks/{}/{PROVIDER}",
            self.arguments.payments_http.trim_end_matches('/'),
            self.tenant
        );
        let bar = counter(webhooks.len(), "card payments (webhooks)");
        for webhook in &webhooks {
            let body = serde_json::to_vec(webhook)?;
            let signature = otc_shared::signing::sign(
                self.tally.webhook_secret.as_bytes(),
                chrono::Utc::now().timestamp(),
                &body,
            );
            // Idempotent on the provider's event id: resent while the
            // service is away, as a provider would.
            let deadline = Instant::now() + self.timeout();
            let response = loop {
                let sent = http
                    .post(&url)
                    .header(otc_shared::signing::SIGNATURE_HEADER, signature.clone())
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(response) if !response.status().is_server_error() => break response,
                    Ok(_) | Err(_) if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Ok(response) => break response,
                    Err(error) => {
                        return Err(error).with_context(|| format!("posting a webhook to {url}"));
                    }
                }
            };
            if !response.status().is_success() {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                bar.abandon();
                bail!("the payments service refused a webhook ({status}): {text}");
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        println!("  {} card payments by webhook", webhooks.len());
        self.tally.webhooks = webhooks.len();
        self.tally.unpaid = unpaid;
        Ok(())
    }

    async fn follow_up(
        &mut self,
        customers: &[Customer],
        invoices: &[Invoice],
    ) -> anyhow::Result<()> {
        step(
            6,
            "Collections: disputes, promises to pay, dunning on simulated days",
        );
        let by_id: BTreeMap<&str, &Invoice> = invoices
            .iter()
            .map(|invoice| (invoice.invoice_id.as_str(), invoice))
            .collect();
        let known: BTreeMap<&str, &Customer> = customers
            .iter()
            .map(|customer| (customer.customer_id.as_str(), customer))
            .collect();
        let unpaid: Vec<&Invoice> = self
            .tally
            .unpaid
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).copied())
            .filter(|invoice| known.contains_key(invoice.customer_id.as_str()))
            .collect();
        let disputes = DisputeServiceClient::new(self.channels.collections.clone());
        let reasons = ["pricing", "quality", "not_received", "quantity"];
        let mut opened = 0_usize;
        for (position, invoice) in unpaid.iter().take(reasons.len()).enumerate() {
            let total = invoice.total_amount.clone();
            let request = OpenDisputeRequest {
                idempotency_key: format!("sim-dispute-{}", invoice.invoice_id),
                customer_id: invoice.customer_id.clone(),
                reason_code: reasons[position].into(),
                description: format!("Customer disputes {}", invoice.number),
                items: vec![DisputedItem {
                    item_id: invoice.invoice_id.clone(),
                    amount: total,
                    ..DisputedItem::default()
                }],
                ..OpenDisputeRequest::default()
            };
            eventually(self.timeout(), || {
                let mut client = disputes.clone();
                let request = self.request(request.clone());
                async move { client.open_dispute(request).await }
            })
            .await
            .with_context(|| format!("opening a dispute on {}", invoice.number))?;
            opened += 1;
        }
        let promises = PromiseServiceClient::new(self.channels.collections.clone());
        let mut promised = 0_usize;
        for invoice in unpaid.iter().skip(reasons.len()).take(4) {
            let request = RecordPromiseRequest {
                idempotency_key: format!("sim-promise-{}", invoice.invoice_id),
                customer_id: invoice.customer_id.clone(),
                item_ids: vec![invoice.invoice_id.clone()],
                amount: invoice.total_amount.clone(),
                promised_date: self.day(40).to_string(),
                note: "Promised on the phone".into(),
            };
            eventually(self.timeout(), || {
                let mut client = promises.clone();
                let request = self.request(request.clone());
                async move { client.record_promise(request).await }
            })
            .await
            .with_context(|| format!("recording a promise on {}", invoice.number))?;
            promised += 1;
        }
        println!("  {opened} disputes opened, {promised} promises to pay recorded");
        self.tally.disputes = opened;
        self.tally.promises = promised;
        let dunning = DunningServiceClient::new(self.channels.collections.clone());
        for offset in DUNNING_DAYS {
            let as_of = self.day(offset);
            // A second run of a day sends no level twice.
            let run = match retry(self.timeout(), || {
                let mut client = dunning.clone();
                let request = self.request(RunDunningRequest {
                    as_of: as_of.to_string(),
                });
                async move { client.run_dunning(request).await }
            })
            .await
            {
                Ok(run) => run.into_inner(),
                Err(status) if status.code() == Code::InvalidArgument => {
                    // Collections refuses dates ahead of today unless it runs
                    // with collections.dunning.allow_future_as_of (make run
                    // sets it): say so rather than stop.
                    println!(
                        "  dunning on simulated days skipped: collections refuses future dates \
                         (start it with OTC_COLLECTIONS__DUNNING__ALLOW_FUTURE_AS_OF=true, as make run does)"
                    );
                    break;
                }
                Err(status) => {
                    return Err(anyhow::anyhow!("dunning as of {as_of}: {status}"));
                }
            };
            let deadline = Instant::now() + self.timeout();
            let mut finished = run;
            while finished.state != "COMPLETED" {
                if Instant::now() > deadline {
                    bail!(
                        "the dunning run {} as of {as_of} did not finish",
                        finished.run_id
                    );
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                let run_id = finished.run_id.clone();
                finished = retry(self.timeout(), || {
                    let mut client = dunning.clone();
                    let request = self.request(GetDunningRunRequest {
                        run_id: run_id.clone(),
                    });
                    async move { client.get_dunning_run(request).await }
                })
                .await
                .context("reading a dunning run")?
                .into_inner();
            }
            println!(
                "  dunning as of day {offset} ({as_of}): {} notices ({} items dunned, {} skipped as disputed, {} as promised)",
                finished.notices_created,
                finished.items_dunned,
                finished.items_skipped_disputed,
                finished.items_skipped_promised
            );
            self.tally.dunning.push((offset, finished.notices_created));
        }
        Ok(())
    }
}

fn currency_key(currency: &str) -> &'static str {
    match currency {
        "GBP" => "GBP",
        "USD" => "USD",
        _ => "EUR",
    }
}

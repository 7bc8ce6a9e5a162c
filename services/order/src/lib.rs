//! Order service: customers, price lists and contract prices, orders and
//! shipments, credit holds.
//!
//! Reads top-down: [`install`] wires the gRPC [`api`], the Kafka consumers
//! in [`events`] and the [`credit`] worker onto the shared runtime; they all
//! run [`commands`] (transactions: state, outbox events and audit together)
//! over the pure [`domain`] and the sqlx [`store`].

pub mod api;
pub mod commands;
pub mod credit;
pub mod domain;
pub mod events;
pub mod store;

use otc_proto::order::customer_service_server::CustomerServiceServer;
use otc_proto::order::order_service_server::OrderServiceServer;
use otc_proto::order::pricing_service_server::PricingServiceServer;
use otc_shared::inbox::InboxConsumer;
use otc_shared::kafka::topics;
use otc_shared::peers::PeerChannel;
use otc_shared::runtime::{Application, ServiceDefinition};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub const SERVICE: ServiceDefinition = ServiceDefinition {
    name: "order",
    default_grpc_port: 50051,
    default_http_port: 9101,
    migrations: Some(&MIGRATOR),
};

/// Adds the order service's own parts to the shared skeleton.
pub fn install(application: &mut Application) -> anyhow::Result<()> {
    let context = application.context().clone();
    let settings = application.settings().clone();
    let peer =
        PeerChannel::connect_lazy(SERVICE.name, "collections", &settings.peers, &settings.auth)?;
    let credit = credit::CreditChecker::new(context.pool.clone(), peer);

    let auth = context.auth.clone();
    application.add_grpc_service(CustomerServiceServer::with_interceptor(
        api::customers::CustomerApi::new(context.pool.clone()),
        auth.clone(),
    ));
    application.add_grpc_service(PricingServiceServer::with_interceptor(
        api::pricing::PricingApi::new(context.pool.clone()),
        auth.clone(),
    ));
    application.add_grpc_service(OrderServiceServer::with_interceptor(
        api::orders::OrderApi::new(context.pool.clone(), Some(credit.clone())),
        auth,
    ));

    let consumer = |name: &str, topic: &'static str| {
        (
            name.to_owned(),
            topic,
            context.pool.clone(),
            context.kafka.clone(),
            context.producer.clone(),
        )
    };
    let (name, topic, pool, kafka, producer) = consumer("commerce-orders", topics::COMMERCE_ORDERS);
    application.add_consumer(InboxConsumer::new(
        SERVICE.name,
        &name,
        &[topic],
        pool,
        kafka,
        producer,
        events::commerce_orders::CommerceOrders,
    ));
    let (name, topic, pool, kafka, producer) =
        consumer("commerce-fulfilments", topics::COMMERCE_FULFILMENTS);
    application.add_consumer(InboxConsumer::new(
        SERVICE.name,
        &name,
        &[topic],
        pool,
        kafka,
        producer,
        events::fulfilments::CommerceFulfilments,
    ));
    let (name, topic, pool, kafka, producer) =
        consumer("credit-status", topics::COLLECTIONS_EVENTS);
    application.add_consumer(InboxConsumer::new(
        SERVICE.name,
        &name,
        &[topic],
        pool,
        kafka,
        producer,
        events::credit_status::CreditStatus,
    ));

    application.add_background_task("credit worker", move |shutdown| credit.run(shutdown));
    Ok(())
}

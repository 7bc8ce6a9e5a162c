//! Collections service, first slice: the AR sub-ledger (open items and the
//! movements they are the sum of, from billing and payment events) and
//! credit control (limits, exposure with unbilled orders, `CheckCredit`,
//! holds and releases told to the order service).
//!
//! Reads top-down: [`install`] wires the gRPC [`api`] and the ledger
//! consumer in [`events`] onto the shared runtime; they run [`commands`]
//! (state, outbox events and audit in one transaction) over the pure
//! [`domain`] and the sqlx [`store`].

pub mod api;
pub mod commands;
pub mod domain;
pub mod events;
pub mod store;

use otc_proto::collections::credit_limit_service_server::CreditLimitServiceServer;
use otc_proto::collections::credit_service_server::CreditServiceServer;
use otc_proto::collections::ledger_service_server::LedgerServiceServer;
use otc_shared::inbox::InboxConsumer;
use otc_shared::kafka::topics;
use otc_shared::runtime::{Application, ServiceDefinition};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub const SERVICE: ServiceDefinition = ServiceDefinition {
    name: "collections",
    default_grpc_port: 50054,
    default_http_port: 9104,
    migrations: Some(&MIGRATOR),
};

/// Adds the collections service's own parts to the shared skeleton.
pub fn install(application: &mut Application) -> anyhow::Result<()> {
    let context = application.context().clone();
    let auth = context.auth.clone();
    application.add_grpc_service(CreditServiceServer::with_interceptor(
        api::credit::CreditApi::new(context.pool.clone()),
        auth.clone(),
    ));
    application.add_grpc_service(CreditLimitServiceServer::with_interceptor(
        api::limits::CreditLimitApi::new(context.pool.clone()),
        auth.clone(),
    ));
    application.add_grpc_service(LedgerServiceServer::with_interceptor(
        api::ledger::LedgerApi::new(context.pool.clone()),
        auth,
    ));
    application.add_consumer(InboxConsumer::new(
        SERVICE.name,
        "ledger",
        &[
            topics::ORDER_EVENTS,
            topics::BILLING_EVENTS,
            topics::PAYMENT_EVENTS,
        ],
        context.pool.clone(),
        context.kafka.clone(),
        context.producer.clone(),
        events::consumer::Ledger,
    ));
    Ok(())
}

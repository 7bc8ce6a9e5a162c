//! Payments service: receipts (gRPC, provider webhooks, bank statements),
//! cash application with an exception queue, unapplied cash, refunds,
//! reversals and SEPA direct debit.
//!
//! The service stands on the shared runtime (configuration, telemetry,
//! database and migrations, outbox relay, gRPC health, reflection, auth and
//! operations, metrics, graceful shutdown); this crate adds what is its own.

pub mod api;
pub mod commands;
pub mod direct_debit;
pub mod domain;
pub mod events;
pub mod settings;
pub mod store;
pub mod webhooks;
pub mod workers;

use otc_proto::payments::direct_debit_service_server::DirectDebitServiceServer;
use otc_proto::payments::payment_service_server::PaymentServiceServer;
use otc_shared::config::ServiceSettings;
use otc_shared::inbox::InboxConsumer;
use otc_shared::kafka::topics;
use otc_shared::runtime::{Application, ServiceDefinition};
use tonic::service::interceptor::InterceptedService;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub const SERVICE: ServiceDefinition = ServiceDefinition {
    name: "payments",
    default_grpc_port: 50053,
    default_http_port: 9103,
    migrations: Some(&MIGRATOR),
};

/// Adds the payments service's own parts to the shared skeleton: the gRPC
/// services, the provider webhook route, the projections consumer and the
/// direct-debit scheduler.
pub fn install(application: &mut Application) -> anyhow::Result<()> {
    let payments: settings::PaymentsSettings = ServiceSettings::load_section("payments")?;
    let context = application.context().clone();
    let auth = context.auth.clone();
    // Statement files travel in one message: allow them their size.
    let payments_api =
        PaymentServiceServer::new(api::payments::PaymentApi::new(context.pool.clone()))
            .max_decoding_message_size(api::payments::MAX_STATEMENT_BYTES + 64 * 1024);
    application.add_grpc_service(InterceptedService::new(payments_api, auth.clone()));
    application.add_grpc_service(DirectDebitServiceServer::with_interceptor(
        api::direct_debit::DirectDebitApi::new(context.pool.clone()),
        auth,
    ));
    application.add_http_routes(webhooks::routes(
        context.pool.clone(),
        payments.webhook_tolerance_seconds,
    ));
    let items_arrived = std::sync::Arc::new(tokio::sync::Notify::new());
    application.add_consumer(InboxConsumer::new(
        SERVICE.name,
        "projections",
        &[topics::ORDER_EVENTS, topics::BILLING_EVENTS],
        context.pool.clone(),
        context.kafka.clone(),
        context.producer.clone(),
        events::consumer::Projections::new(std::sync::Arc::clone(&items_arrived)),
    ));
    let scheduler = workers::direct_debit::DirectDebitScheduler::new(
        context.pool.clone(),
        payments.direct_debit_interval_seconds,
    );
    application.add_background_task("direct-debit scheduler", move |shutdown| {
        scheduler.run(shutdown)
    });
    let rematcher = workers::rematch::ExceptionRematcher::new(
        context.pool.clone(),
        payments.rematch_interval_seconds,
        items_arrived,
    );
    application.add_background_task("exception re-match", move |shutdown| {
        rematcher.run(shutdown)
    });
    Ok(())
}

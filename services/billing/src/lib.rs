//! Billing service: invoices, credit and debit notes, tax rules, FX rates,
//! numbering series, invoice documents and their delivery.
//!
//! The service stands on the shared runtime (configuration, telemetry,
//! database and migrations, outbox relay, gRPC health, reflection, auth and
//! operations, metrics, graceful shutdown); this crate adds what is its own.

pub mod api;
pub mod commands;
pub mod documents;
pub mod domain;
pub mod events;
pub mod settings;
pub mod store;
pub mod workers;

use std::sync::Arc;

use otc_proto::billing::billing_config_service_server::BillingConfigServiceServer;
use otc_proto::billing::invoice_service_server::InvoiceServiceServer;
use otc_shared::config::ServiceSettings;
use otc_shared::inbox::InboxConsumer;
use otc_shared::kafka::topics;
use otc_shared::runtime::{Application, ServiceDefinition};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub const SERVICE: ServiceDefinition = ServiceDefinition {
    name: "billing",
    default_grpc_port: 50052,
    default_http_port: 9102,
    migrations: Some(&MIGRATOR),
};

/// Adds billing's own parts to the shared skeleton: the gRPC services, the
/// order-events consumer, the scheduler and the document and delivery workers.
pub fn install(application: &mut Application) -> anyhow::Result<()> {
    let billing: settings::BillingSettings = ServiceSettings::load_section("billing")?;
    let context = application.context().clone();
    let options = commands::IssueOptions {
        render_documents: billing.render_documents,
    };
    let store = Arc::new(documents::store::DocumentStore::from_settings(
        &billing.documents,
    )?);
    let auth = context.auth.clone();
    application.add_grpc_service(InvoiceServiceServer::with_interceptor(
        api::invoices::InvoiceApi::new(context.pool.clone(), options, store.clone()),
        auth.clone(),
    ));
    application.add_grpc_service(BillingConfigServiceServer::with_interceptor(
        api::config::ConfigApi::new(context.pool.clone()),
        auth,
    ));
    application.add_consumer(InboxConsumer::new(
        SERVICE.name,
        "order-events",
        &[topics::ORDER_EVENTS],
        context.pool.clone(),
        context.kafka.clone(),
        context.producer.clone(),
        events::order_events::OrderEvents { options },
    ));
    let scheduler = workers::scheduler::Scheduler::new(
        context.pool.clone(),
        options,
        billing.cycle_interval_seconds,
    );
    application.add_background_task("billing scheduler", move |shutdown| scheduler.run(shutdown));
    let renderer = workers::documents::DocumentWorker::new(context.pool.clone(), store.clone());
    application.add_background_task("document renderer", move |shutdown| renderer.run(shutdown));
    let delivery =
        workers::delivery::DeliveryWorker::new(context.pool.clone(), store, &billing.delivery)?;
    application.add_background_task("document delivery", move |shutdown| delivery.run(shutdown));
    Ok(())
}

//! Reporting service: read models rebuilt from every event topic, KPIs, BI
//! topics, queries, exports and the dashboard.
//!
//! Reporting owns no truth. Its [`consumer`] folds every event topic into
//! order-independent fact tables ([`fold`]), a batch per transaction, with
//! the BI fact records ([`topics`]) and the marks of the customers whose
//! snapshots changed; the [`snapshots`] publisher turns marks into compacted
//! snapshot records; [`figures`] computes everything shown from the facts,
//! as of any date. Dropping the tables and replaying the topics from offset
//! 0 gives the same figures.

pub mod api;
pub mod consumer;
pub mod dashboard;
pub mod export;
pub mod figures;
pub mod fold;
pub mod rebuild;
pub mod settings;
pub mod snapshots;
pub mod topics;

use std::sync::Arc;

use otc_proto::reporting::read_model_service_server::ReadModelServiceServer;
use otc_proto::reporting::reporting_service_server::ReportingServiceServer;
use otc_shared::config::ServiceSettings;
use otc_shared::runtime::{Application, ServiceDefinition};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub const SERVICE: ServiceDefinition = ServiceDefinition {
    name: "reporting",
    default_grpc_port: 50055,
    default_http_port: 9105,
    migrations: Some(&MIGRATOR),
};

/// Adds the reporting service's own parts to the shared skeleton.
pub fn install(application: &mut Application) -> anyhow::Result<()> {
    let own: settings::ReportingSettings = ServiceSettings::load_section("reporting")?;
    own.fold.check()?;
    own.dashboard.check()?;
    let buckets = own.snapshots.check()?;
    let context = application.context().clone();
    let settings = application.settings().clone();
    application.add_grpc_service(ReadModelServiceServer::with_interceptor(
        api::read_models::ReadModelApi::new(context.pool.clone()),
        context.auth.clone(),
    ));
    application.add_grpc_service(ReportingServiceServer::with_interceptor(
        api::reporting::ReportingApi::new(context.pool.clone()),
        context.auth.clone(),
    ));
    if own.dashboard.enabled {
        let verifier = otc_shared::auth::TokenVerifier::from_settings(&settings.auth)
            .map_err(|error| anyhow::anyhow!("auth settings: {error}"))?;
        application.add_http_routes(dashboard::routes(
            api::reporting::ReportingApi::new(context.pool.clone()),
            Arc::new(verifier),
            own.dashboard.clone(),
        ));
    }
    let wake = Arc::new(tokio::sync::Notify::new());
    let behind = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let consumer = consumer::ReadModelConsumer::new(
        context.pool.clone(),
        settings.kafka.clone(),
        context.producer.clone(),
        own.fold.clone(),
        Arc::clone(&wake),
        Arc::clone(&behind),
    );
    application.add_background_task("read-model consumer", move |shutdown| {
        consumer.run(shutdown)
    });
    let publisher = snapshots::SnapshotPublisher::new(
        context.pool.clone(),
        own.snapshots.clone(),
        buckets,
        wake,
        behind,
    );
    application.add_background_task("snapshot publisher", move |shutdown| {
        publisher.run(shutdown)
    });
    Ok(())
}

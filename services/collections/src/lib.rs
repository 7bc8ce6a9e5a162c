//! Collections service: the AR sub-ledger (open items and the movements
//! they are the sum of, from billing and payment events), credit control
//! (limits, exposure with unbilled orders, `CheckCredit`, holds and
//! releases told to the order service), disputes (resolved by a credit
//! note billing issues, see [`resolution`], a write-off or a rejection)
//! write-offs with approval, promises to pay (kept or broken, see
//! [`promise_check`]), dunning (strategies, daily runs, notices and their
//! delivery, see [`dunning`]), and the collector worklist (ranked per
//! collector, assignment rules, the contact log).
//!
//! Reads top-down: [`install`] wires the gRPC [`api`] and the ledger
//! consumer in [`events`] onto the shared runtime; they run [`commands`]
//! (state, outbox events and audit in one transaction) over the pure
//! [`domain`] and the sqlx [`store`].

pub mod api;
pub mod commands;
pub mod credit_batcher;
pub mod documents;
pub mod domain;
pub mod dunning;
pub mod events;
pub mod ledger_check;
pub mod promise_check;
pub mod resolution;
pub mod settings;
pub mod store;

use otc_proto::collections::credit_limit_service_server::CreditLimitServiceServer;
use otc_proto::collections::credit_service_server::CreditServiceServer;
use otc_proto::collections::dispute_service_server::DisputeServiceServer;
use otc_proto::collections::dunning_service_server::DunningServiceServer;
use otc_proto::collections::ledger_service_server::LedgerServiceServer;
use otc_proto::collections::promise_service_server::PromiseServiceServer;
use otc_proto::collections::worklist_service_server::WorklistServiceServer;
use otc_proto::collections::write_off_service_server::WriteOffServiceServer;
use otc_shared::config::ServiceSettings;
use otc_shared::inbox::InboxConsumer;
use otc_shared::kafka::topics;
use otc_shared::peers::PeerChannel;
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
    let own: settings::CollectionsSettings = ServiceSettings::load_section("collections")?;
    own.dunning.check()?;
    let context = application.context().clone();
    let settings = application.settings().clone();
    // Disputes resolved by credit note ask billing for it (topology: collections calls billing).
    let billing =
        PeerChannel::connect_lazy(SERVICE.name, "billing", &settings.peers, &settings.auth)?;
    let resolver = resolution::DisputeResolver::new(context.pool.clone(), billing);
    let auth = context.auth.clone();
    // CheckCredit calls are decided a batch at a time (see credit_batcher).
    let (credit_checks, credit_check_workers) = credit_batcher::credit_checks(
        context.pool.clone(),
        own.credit_check_batch,
        own.credit_check_workers,
    );
    application.add_background_task("credit checks", move |shutdown| {
        credit_check_workers.run(shutdown)
    });
    application.add_grpc_service(CreditServiceServer::with_interceptor(
        api::credit::CreditApi::new(credit_checks),
        auth.clone(),
    ));
    application.add_grpc_service(CreditLimitServiceServer::with_interceptor(
        api::limits::CreditLimitApi::new(context.pool.clone()),
        auth.clone(),
    ));
    application.add_grpc_service(LedgerServiceServer::with_interceptor(
        api::ledger::LedgerApi::new(context.pool.clone()),
        auth.clone(),
    ));
    application.add_grpc_service(DisputeServiceServer::with_interceptor(
        api::disputes::DisputeApi::new(context.pool.clone(), resolver.clone()),
        auth.clone(),
    ));
    application.add_grpc_service(WriteOffServiceServer::with_interceptor(
        api::write_offs::WriteOffApi::new(context.pool.clone()),
        auth.clone(),
    ));
    application.add_grpc_service(PromiseServiceServer::with_interceptor(
        api::promises::PromiseApi::new(context.pool.clone()),
        auth.clone(),
    ));
    let runner = dunning::run::DunningRunner::new(context.pool.clone(), own.dunning.clone());
    application.add_grpc_service(DunningServiceServer::with_interceptor(
        api::dunning::DunningApi::new(context.pool.clone(), runner.clone()),
        auth.clone(),
    ));
    application.add_grpc_service(WorklistServiceServer::with_interceptor(
        api::worklist::WorklistApi::new(context.pool.clone()),
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
    let promise_check = promise_check::PromiseCheck::new(context.pool.clone());
    application.add_background_task("dispute resolver", move |shutdown| resolver.run(shutdown));
    application.add_background_task("promise check", move |shutdown| promise_check.run(shutdown));
    let scheduler = dunning::scheduler::DunningScheduler::new(runner);
    application.add_background_task("dunning scheduler", move |shutdown| scheduler.run(shutdown));
    let delivery = dunning::delivery::NoticeDelivery::new(context.pool.clone(), &own.delivery)?;
    application.add_background_task("dunning delivery", move |shutdown| delivery.run(shutdown));
    Ok(())
}

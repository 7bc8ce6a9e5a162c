//! The service skeleton every binary is built from: configuration, telemetry,
//! database and migrations, Kafka producer and topics, the outbox relay,
//! consumers, gRPC (with health, reflection, auth and the operations
//! service), Prometheus `/metrics`, and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rdkafka::producer::{FutureProducer, Producer};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::auth::{AuthInterceptor, TokenVerifier};
use crate::config::ServiceSettings;
use crate::events::EventEnvelope;
use crate::ids::TenantId;
use crate::inbox::{EventHandler, InboxConsumer};
use crate::kafka::{KafkaSettings, TopicSpec};
use crate::outbox::OutboxRelay;
use otc_proto::ops::operations_service_server::OperationsServiceServer;

/// What makes one service different from another at the skeleton level.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDefinition {
    /// Short name: `order`, `billing`, ...; also the CloudEvents source
    /// `/otc/<name>` and the consumer group prefix.
    pub name: &'static str,
    pub default_grpc_port: u16,
    pub default_http_port: u16,
    /// The service's own migrations (the shared ones always run first).
    pub migrations: Option<&'static Migrator>,
}

/// What request handlers and consumers of a service share.
#[derive(Clone)]
pub struct ServiceContext {
    pub service: &'static str,
    pub pool: PgPool,
    pub kafka: KafkaSettings,
    pub producer: FutureProducer,
    pub auth: AuthInterceptor,
}

impl ServiceContext {
    /// A new event envelope from this service.
    pub fn envelope(&self, event_type: &str, tenant: &TenantId) -> EventEnvelope {
        EventEnvelope::new(event_type, &format!("/otc/{}", self.service), tenant)
    }
}

type BackgroundTask = Box<
    dyn FnOnce(CancellationToken) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>
        + Send,
>;

pub struct Application {
    definition: ServiceDefinition,
    settings: ServiceSettings,
    context: ServiceContext,
    grpc_listener: TcpListener,
    http_listener: TcpListener,
    routes: RoutesBuilder,
    service_names: Vec<&'static str>,
    health: HealthReporter,
    background: Vec<(String, BackgroundTask)>,
    topics: Vec<TopicSpec>,
    metrics: PrometheusHandle,
    http_routes: Router,
}

static METRICS: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

fn metrics_handle() -> anyhow::Result<PrometheusHandle> {
    METRICS
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .map_err(|error| error.to_string())
        })
        .clone()
        .map_err(|error| anyhow::anyhow!("could not install the metrics recorder: {error}"))
}

impl Application {
    /// Connects, migrates and binds; nothing is served until
    /// [`Application::run_until_stopped`]. Port 0 picks a free port.
    pub async fn build(
        definition: ServiceDefinition,
        settings: ServiceSettings,
    ) -> anyhow::Result<Self> {
        let metrics = metrics_handle()?;
        let verifier = TokenVerifier::from_settings(&settings.auth).context("auth settings")?;
        let auth = AuthInterceptor::new(Arc::new(verifier));

        tracing::info!(service = definition.name, "connecting to PostgreSQL");
        let pool = crate::db::connect(&settings.database).await?;
        crate::db::migrate(&pool, definition.migrations).await?;
        tracing::info!(service = definition.name, "database migrated");

        let producer = settings
            .kafka
            .idempotent_producer(&format!("otc-{}", definition.name))?;
        let grpc_listener = TcpListener::bind(settings.grpc.address())
            .await
            .with_context(|| {
                format!(
                    "cannot listen for gRPC on {} (grpc.port)",
                    settings.grpc.address()
                )
            })?;
        let http_listener = TcpListener::bind(settings.http.address())
            .await
            .with_context(|| {
                format!(
                    "cannot listen for HTTP on {} (http.port)",
                    settings.http.address()
                )
            })?;

        let (health, health_service) = tonic_health::server::health_reporter();
        // NOT_SERVING until the database check passes.
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(otc_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .context("could not build the reflection service")?;
        let mut routes = RoutesBuilder::default();
        routes.add_service(health_service);
        routes.add_service(reflection);
        let context = ServiceContext {
            service: definition.name,
            pool,
            kafka: settings.kafka.clone(),
            producer,
            auth,
        };
        let mut application = Self {
            definition,
            // Topics it publishes, created at start-up when `kafka.create_topics`.
            topics: crate::topology::service(definition.name)
                .map(|topology| {
                    topology
                        .publishes
                        .iter()
                        .map(|topic| TopicSpec {
                            name: settings.kafka.physical_topic(topic.name),
                            partitions: None,
                            compacted: topic.compacted,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            settings,
            context,
            grpc_listener,
            http_listener,
            routes,
            service_names: Vec::new(),
            health,
            background: Vec::new(),
            metrics,
            http_routes: Router::new(),
        };
        let operations =
            crate::ops::Operations::new(definition.name, application.context.pool.clone());
        let auth = application.context.auth.clone();
        application.add_grpc_service(OperationsServiceServer::with_interceptor(operations, auth));
        Ok(application)
    }

    pub fn context(&self) -> &ServiceContext {
        &self.context
    }

    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc_listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or(0)
    }

    pub fn http_port(&self) -> u16 {
        self.http_listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or(0)
    }

    /// Serves a gRPC service (wrap it with `context().auth` for auth).
    pub fn add_grpc_service<S>(&mut self, service: S)
    where
        S: tower::Service<http::Request<tonic::body::Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.service_names.push(S::NAME);
        self.routes.add_service(service);
    }

    /// Serves HTTP routes of the service's own (such as provider webhooks)
    /// on the HTTP port, beside `/metrics` and `/healthz`. They are not
    /// behind the gRPC token check: each route authenticates its caller.
    pub fn add_http_routes(&mut self, routes: Router) {
        let current = std::mem::take(&mut self.http_routes);
        self.http_routes = current.merge(routes);
    }

    /// Runs a consumer beside the server; its topics and DLQs are created at start.
    pub fn add_consumer<H: EventHandler>(&mut self, consumer: InboxConsumer<H>) {
        let name = consumer.group_id.clone();
        self.background.push((
            name,
            Box::new(move |shutdown| Box::pin(async move { consumer.run(shutdown).await })),
        ));
    }

    /// Runs a task of the service's own (a scheduler, a retry loop) beside
    /// the server until shutdown; it stops the service if it fails.
    pub fn add_background_task<F, Fut>(&mut self, name: &str, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.background.push((
            name.to_owned(),
            Box::new(move |shutdown| Box::pin(task(shutdown))),
        ));
    }

    /// Serves until `shutdown` resolves, then drains: health goes
    /// NOT_SERVING, in-flight gRPC calls finish, consumers commit their
    /// offsets, the relay finishes its batch and the producer is flushed.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let Self {
            definition,
            settings,
            context,
            grpc_listener,
            http_listener,
            routes,
            service_names,
            health,
            background,
            topics,
            metrics,
            http_routes,
        } = self;
        if context.kafka.create_topics {
            crate::kafka::ensure_topics(&context.kafka, &topics)
                .await
                .context("could not create the service's topics")?;
        }

        let stop_serving = CancellationToken::new();
        let stop_background = CancellationToken::new();
        let mut tasks = JoinSet::new();

        if settings.outbox.enabled {
            let relay = OutboxRelay::new(
                context.pool.clone(),
                context.producer.clone(),
                settings.outbox.clone(),
                definition.name,
            )
            .with_topic_namespace(&context.kafka.topic_namespace);
            let token = stop_background.clone();
            tasks.spawn(async move {
                relay.run(token).await;
                ("outbox relay".to_owned(), Ok(()))
            });
        }
        for (name, task) in background {
            let token = stop_background.clone();
            tasks.spawn(async move { (name, task(token).await) });
        }

        let grpc_token = stop_serving.clone();
        let grpc_server = tonic::transport::Server::builder()
            .trace_fn(crate::telemetry::grpc_request_span)
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(
                TcpListenerStream::new(grpc_listener),
                grpc_token.cancelled_owned(),
            );
        let grpc_task = tokio::spawn(grpc_server);

        let http_token = stop_serving.clone();
        let router = Router::new()
            .route(
                "/metrics",
                get(move || std::future::ready(metrics.render())),
            )
            .route("/healthz", get(|| std::future::ready("ok")))
            .merge(http_routes);
        let http_task = tokio::spawn(async move {
            axum::serve(http_listener, router)
                .with_graceful_shutdown(http_token.cancelled_owned())
                .await
        });

        let health_token = stop_serving.clone();
        let health_task = tokio::spawn(watch_database(
            context.pool.clone(),
            health.clone(),
            service_names.clone(),
            health_token,
        ));
        tracing::info!(
            service = definition.name,
            grpc = %settings.grpc.address(),
            http = %settings.http.address(),
            "service started"
        );

        // Wait for the stop signal or for a background task to die.
        let failure = tokio::select! {
            () = shutdown => None,
            finished = tasks.join_next() => finished.map(|result| match result {
                Ok((name, Ok(()))) => anyhow::anyhow!("{name} stopped unexpectedly"),
                Ok((name, Err(error))) => error.context(format!("{name} failed")),
                Err(error) => anyhow::anyhow!("a background task panicked: {error}"),
            }),
        };
        tracing::info!(service = definition.name, "shutting down");
        set_status(&health, &service_names, ServingStatus::NotServing).await;

        let grace = Duration::from_secs(settings.shutdown_grace_seconds);
        stop_serving.cancel();
        match tokio::time::timeout(grace, grpc_task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!(%error, "gRPC server ended with an error"),
            Ok(Err(error)) => tracing::warn!(%error, "gRPC server task failed"),
            Err(_) => tracing::warn!("in-flight gRPC calls did not finish within the grace period"),
        }
        stop_background.cancel();
        let drained = tokio::time::timeout(grace, async {
            while let Some(result) = tasks.join_next().await {
                match result {
                    Ok((name, Err(error))) => tracing::warn!(task = %name, error = format!("{error:#}"), "task ended with an error"),
                    Ok((name, Ok(()))) => tracing::debug!(task = %name, "task stopped"),
                    Err(error) => tracing::warn!(%error, "task panicked"),
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!("background tasks did not stop within the grace period");
        }
        let _http_result = tokio::time::timeout(Duration::from_secs(5), http_task).await;
        health_task.abort();
        if let Err(error) = context.producer.flush(Duration::from_secs(10)) {
            tracing::warn!(%error, "producer flush failed");
        }
        context.pool.close().await;
        tracing::info!(service = definition.name, "stopped");
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

async fn set_status(
    health: &HealthReporter,
    service_names: &[&'static str],
    status: ServingStatus,
) {
    health.set_service_status("", status).await;
    for name in service_names {
        health.set_service_status(*name, status).await;
    }
}

/// Keeps gRPC health in step with the database: NOT_SERVING while it cannot
/// be reached, so that Kubernetes stops routing calls that would fail.
async fn watch_database(
    pool: PgPool,
    health: HealthReporter,
    service_names: Vec<&'static str>,
    stop: CancellationToken,
) {
    let mut current = None;
    loop {
        let reachable = matches!(
            tokio::time::timeout(
                Duration::from_secs(3),
                sqlx::query("SELECT 1").execute(&pool)
            )
            .await,
            Ok(Ok(_))
        );
        let status = if reachable {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if current != Some(status) {
            if !reachable {
                tracing::warn!("database unreachable, reporting NOT_SERVING");
            }
            set_status(&health, &service_names, status).await;
            current = Some(status);
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// `<service> migrate`: applies the shared and service migrations and exits
/// (a Kubernetes pre-install/pre-upgrade Job runs it before new pods start).
async fn migrate_only(definition: ServiceDefinition) -> ExitCode {
    let result = async {
        let database = ServiceSettings::load_database()?;
        let pool = crate::db::connect(&database).await?;
        crate::db::migrate(&pool, definition.migrations).await?;
        pool.close().await;
        anyhow::Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            eprintln!("otc-{}: database migrated", definition.name);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("otc-{}: migration failed: {error:#}", definition.name);
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the service");
                let _ignored = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ignored = interrupt.await;
    }
}

/// The whole of a service's `main`: load settings, start telemetry, build
/// the application, let `customize` add the service's own gRPC services and
/// consumers, run until SIGTERM/SIGINT. Errors go to stderr and exit 1.
pub fn run_main<F>(definition: ServiceDefinition, customize: F) -> ExitCode
where
    F: FnOnce(&mut Application) -> anyhow::Result<()>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!(
                "{}: cannot start the async runtime: {error}",
                definition.name
            );
            return ExitCode::FAILURE;
        }
    };
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.first().map(String::as_str) {
        None => {}
        Some("migrate") => return runtime.block_on(migrate_only(definition)),
        Some("--version") => {
            eprintln!("otc-{} {}", definition.name, env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!(
                "otc-{name}: unknown argument `{other}`\n\nusage: otc-{name}            serve (settings from OTC_* variables)\n       otc-{name} migrate    apply the database migrations and exit",
                name = definition.name
            );
            return ExitCode::from(2);
        }
    }
    let result = runtime.block_on(async move {
        let settings =
            ServiceSettings::load(definition.default_grpc_port, definition.default_http_port)?;
        let _telemetry = crate::telemetry::init(definition.name, &settings.telemetry)?;
        let mut application = Application::build(definition, settings).await?;
        customize(&mut application)?;
        application.run_until_stopped(shutdown_signal()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}: {error:#}", definition.name);
            ExitCode::FAILURE
        }
    }
}

//! Logs, traces and trace context: JSON logs through `tracing`, spans
//! exported over OTLP when an endpoint is configured, and W3C trace context
//! carried across gRPC metadata and Kafka headers.

use std::collections::HashMap;

use anyhow::Context as _;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::{Deserialize, Serialize};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Json,
    Pretty,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `tracing` filter directives, e.g. `info,otc_shared=debug`.
    #[serde(default = "default_log_filter")]
    pub log_filter: String,
    #[serde(default)]
    pub log_format: LogFormat,
    /// OTLP/gRPC collector endpoint, e.g. `http://127.0.0.1:4317`. Without it
    /// trace context is still propagated, but spans are not exported.
    pub otlp_endpoint: Option<String>,
}

fn default_log_filter() -> String {
    "info".to_owned()
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_filter: default_log_filter(),
            log_format: LogFormat::Json,
            otlp_endpoint: None,
        }
    }
}

/// Flushes and shuts down span export when dropped at the end of `main`.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("telemetry: span exporter did not shut down cleanly: {error}");
        }
    }
}

/// Installs the global subscriber (logs to stdout) and trace propagation.
pub fn init(service_name: &str, settings: &TelemetrySettings) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let mut provider_builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = &settings.otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .with_context(|| format!("telemetry.otlp_endpoint: cannot export to {endpoint}"))?;
        provider_builder = provider_builder.with_batch_exporter(exporter);
    }
    let provider = provider_builder.build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let tracer = provider.tracer(service_name.to_owned());

    let filter = EnvFilter::try_new(&settings.log_filter).with_context(|| {
        format!(
            "telemetry.log_filter: `{}` is not a valid filter",
            settings.log_filter
        )
    })?;
    let format_layer = match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(format_layer)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init()
        .context("a global tracing subscriber was already installed")?;
    Ok(TelemetryGuard { provider })
}

struct MapCarrier<'a>(&'a mut HashMap<String, String>);

impl Injector for MapCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

struct MapExtractor<'a>(&'a HashMap<String, String>);

impl Extractor for MapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The W3C `traceparent` / `tracestate` of the current span, if it is part of
/// a trace.
pub fn current_trace_context() -> HashMap<String, String> {
    let mut carrier = HashMap::new();
    let context = tracing::Span::current().context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut MapCarrier(&mut carrier));
    }
    carrier
}

/// Makes `span` a child of the trace described by `traceparent` (from a
/// Kafka header or gRPC metadata). Malformed values are ignored.
pub fn set_parent(span: &tracing::Span, traceparent: Option<&str>, tracestate: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let mut carrier = HashMap::new();
    carrier.insert("traceparent".to_owned(), traceparent.to_owned());
    if let Some(tracestate) = tracestate {
        carrier.insert("tracestate".to_owned(), tracestate.to_owned());
    }
    let parent = TraceContextPropagator::new().extract(&MapExtractor(&carrier));
    if parent.span().span_context().is_valid() {
        // Only fails when the span is disabled, in which case there is nothing to link.
        let _ignored = span.set_parent(parent);
    }
}

/// The trace id of the current span (32 hex digits), for logs and audit rows.
pub fn current_trace_id() -> Option<String> {
    let context = tracing::Span::current().context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// The server side of gRPC trace propagation: a span per call, child of the
/// caller's trace when it sent `traceparent`. Used with `Server::trace_fn`.
pub fn grpc_request_span(request: &http::Request<()>) -> tracing::Span {
    let span = tracing::info_span!(
        "grpc.request",
        otel.kind = "server",
        rpc.method = %request.uri().path(),
    );
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    set_parent(&span, header("traceparent"), header("tracestate"));
    span
}

/// Adds the current trace context to the metadata of an outgoing gRPC call.
pub fn inject_trace_context(metadata: &mut tonic::metadata::MetadataMap) {
    for (key, value) in current_trace_context() {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            value.parse(),
        ) {
            metadata.insert(key, value);
        }
    }
}

/// The client side: adds the current trace context to outgoing gRPC calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceContextInterceptor;

impl tonic::service::Interceptor for TraceContextInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        inject_trace_context(request.metadata_mut());
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A subscriber with the OpenTelemetry layer, as `init` installs, but
    /// scoped to one test.
    fn with_tracing<T>(body: impl FnOnce() -> T) -> T {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, body)
    }

    #[test]
    fn trace_context_survives_a_hop_through_headers() {
        with_tracing(|| {
            let producer_span = tracing::info_span!("produce");
            let (headers, producer_trace_id) =
                producer_span.in_scope(|| (current_trace_context(), current_trace_id()));
            let traceparent = headers
                .get("traceparent")
                .expect("a traceparent for the current span");
            assert!(traceparent.starts_with("00-"), "{traceparent}");
            let producer_trace_id = producer_trace_id.expect("a trace id");
            assert!(traceparent.contains(&producer_trace_id));

            // The consumer side: a new span made a child of the carried context.
            let consumer_span = tracing::info_span!("consume");
            set_parent(&consumer_span, Some(traceparent), None);
            let consumer_trace_id = consumer_span.in_scope(current_trace_id);
            assert_eq!(
                consumer_trace_id.as_deref(),
                Some(producer_trace_id.as_str())
            );

            // Garbage is ignored: a fresh trace starts instead.
            let unrelated = tracing::info_span!("unrelated");
            set_parent(&unrelated, Some("not-a-traceparent"), None);
            assert_ne!(
                unrelated.in_scope(current_trace_id),
                Some(producer_trace_id)
            );
        });
    }

    #[test]
    fn grpc_spans_continue_the_callers_trace() {
        with_tracing(|| {
            let caller = tracing::info_span!("caller");
            let traceparent = caller
                .in_scope(current_trace_context)
                .remove("traceparent")
                .expect("traceparent");
            let request = http::Request::builder()
                .uri("/otc.ops.v1.OperationsService/GetOutboxStatus")
                .header("traceparent", &traceparent)
                .body(())
                .expect("request");
            let server_span = grpc_request_span(&request);
            let server_trace_id = server_span.in_scope(current_trace_id).expect("trace id");
            assert!(traceparent.contains(&server_trace_id));

            // And the client interceptor puts the current context into metadata.
            let outgoing = caller
                .in_scope(|| {
                    use tonic::service::Interceptor;
                    TraceContextInterceptor.call(tonic::Request::new(()))
                })
                .expect("interceptor");
            assert_eq!(
                outgoing
                    .metadata()
                    .get("traceparent")
                    .and_then(|value| value.to_str().ok()),
                Some(traceparent.as_str())
            );
        });
    }
}

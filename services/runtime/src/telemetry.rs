//! Logs through `tracing`; when `telemetry.otlp_endpoint` is set, spans also
//! go to an OpenTelemetry collector over OTLP/gRPC, with the service name and
//! the tenant as resource attributes. Without an endpoint there is no
//! exporter at all, so no connection errors in the log.

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::config::TelemetryConfig;

/// Flushes exported spans when dropped (or on [`TelemetryGuard::shutdown`]).
#[derive(Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    pub fn shutdown(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("telemetry: flushing spans failed: {e}");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The OpenTelemetry layer and its provider. Must be called inside the Tokio
/// runtime (the batch exporter runs on it).
pub fn otel_layer<S>(
    endpoint: &str,
    service_name: &str,
    tenant: &str,
) -> anyhow::Result<(impl Layer<S> + Send + Sync + use<S>, SdkTracerProvider)>
where
    S: tracing::Subscriber + Send + Sync + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .with_attribute(KeyValue::new("kerndesk.tenant", tenant.to_owned()))
                .build(),
        )
        .build();
    let tracer = provider.tracer("kerndesk");
    // The exporter itself speaks gRPC: tracing its transport would trace the
    // exporter exporting, forever.
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(filter_fn(|meta| {
            let target = meta.target();
            !["h2", "hyper", "tonic", "tower", "opentelemetry"]
                .iter()
                .any(|noisy| target.starts_with(noisy))
        }));
    Ok((layer, provider))
}

/// Installs the global subscriber. Call once per process, inside Tokio.
pub fn init(
    config: &TelemetryConfig,
    service_name: &str,
    tenant: &str,
) -> anyhow::Result<TelemetryGuard> {
    // sqlx logs every Postgres NOTICE at info; those are not ours to report.
    let filter = EnvFilter::try_new(format!("{},sqlx::postgres::notice=warn", config.log_filter))?;
    // Logs go to stderr: stdout is for what a command prints (a token, the
    // configuration, the applied migrations).
    let fmt_layer = if config.log_format == "json" {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    };
    let mut guard = TelemetryGuard::default();
    let otel = if config.otlp_endpoint.is_empty() {
        None
    } else {
        let (layer, provider) =
            otel_layer::<Registry>(&config.otlp_endpoint, service_name, tenant)?;
        guard.provider = Some(provider);
        Some(layer)
    };
    tracing_subscriber::registry()
        .with(otel)
        .with(filter)
        .with(fmt_layer)
        .try_init()?;
    Ok(guard)
}

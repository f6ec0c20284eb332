//! The one function that assembles a kerndesk gRPC server: standard health
//! (per service and ""), reflection (v1 and v1alpha), gRPC-Web with CORS,
//! request size and time limits, and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::ServerConfig;

/// Per-request limits every service applies.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_request_bytes: usize,
    pub request_timeout: Duration,
}

impl From<&ServerConfig> for Limits {
    fn from(c: &ServerConfig) -> Self {
        Self {
            max_request_bytes: c.max_request_bytes,
            request_timeout: Duration::from_secs(c.request_timeout_secs),
        }
    }
}

/// The services one process serves, with their names for health.
#[derive(Default)]
pub struct Services {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
}

impl Services {
    pub fn add<S>(&mut self, service: S) -> &mut Self
    where
        S: tower::Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// Serves `services` on `listener` until `shutdown` resolves; then health
/// turns NOT_SERVING, new connections are refused, and in-flight calls get
/// `shutdown_grace_secs` to finish.
pub async fn serve(
    config: &ServerConfig,
    listener: TcpListener,
    services: Services,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in services.names.iter().copied().chain([""]) {
        health
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }

    let mut routes = services.routes;
    routes.add_service(health_service);
    if config.reflection {
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(kerndesk_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        let v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(kerndesk_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        routes.add_service(reflection.build_v1().expect("descriptor sets are valid"));
        routes.add_service(v1alpha.build_v1alpha().expect("descriptor sets are valid"));
    }

    let names = services.names.clone();
    let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
    let health_on_stop = health.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: health NOT_SERVING, finishing in-flight calls");
        for name in names.iter().copied().chain([""]) {
            health_on_stop
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        let _ = stopping_tx.send(true);
    };

    let server = Server::builder()
        .accept_http1(true)
        .timeout(Duration::from_secs(config.request_timeout_secs))
        .trace_fn(|request| {
            tracing::info_span!(
                "rpc",
                rpc = %request.uri().path(),
                subject = tracing::field::Empty,
            )
        })
        .layer(cors(&config.cors_allowed_origins))
        .layer(tonic_web::GrpcWebLayer::new())
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), signal);

    let grace = Duration::from_secs(config.shutdown_grace_secs);
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result,
        _ = async {
            while !*stopping_rx.borrow_and_update() {
                if stopping_rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_secs = grace.as_secs(), "calls still running after the grace period; stopping anyway");
            Ok(())
        }
    }
}

/// CORS for gRPC-Web: only the configured origins, only what gRPC-Web needs.
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let header = HeaderName::from_static;
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers([
            header("authorization"),
            header("content-type"),
            header("x-grpc-web"),
            header("x-user-agent"),
            header("grpc-timeout"),
        ])
        .expose_headers([
            header("grpc-status"),
            header("grpc-message"),
            header("grpc-status-details-bin"),
        ])
        .max_age(Duration::from_secs(3600))
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

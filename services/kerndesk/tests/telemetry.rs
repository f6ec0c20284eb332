//! OpenTelemetry export from the real binary to a real OTLP/gRPC receiver.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const BIN: &str = env!("CARGO_BIN_EXE_kerndesk");

#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `kerndesk serve`, makes one call, stops it; returns its stderr.
async fn serve_once(env: &[(&str, String)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env("KERNDESK__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut health = loop {
        if let Ok(channel) =
            tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
                .unwrap()
                .connect()
                .await
        {
            break HealthClient::new(channel);
        }
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    drop(health);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn spans_reach_the_collector_with_service_and_tenant() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    serve_once(&[
        ("KERNDESK__TELEMETRY__OTLP_ENDPOINT", endpoint),
        ("KERNDESK__TENANT", "de-linde".into()),
    ])
    .await;

    let exports = receiver.0.lock().unwrap().clone();
    let spans: Vec<_> = exports
        .iter()
        .flat_map(|e| &e.resource_spans)
        .flat_map(|rs| {
            let attrs: Vec<(String, String)> = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    Value::StringValue(s) => Some((kv.key.clone(), s.clone())),
                    _ => None,
                })
                .collect();
            rs.scope_spans
                .iter()
                .flat_map(|ss| &ss.spans)
                .map(move |s| (s.name.clone(), attrs.clone()))
        })
        .collect();
    let rpc = spans
        .iter()
        .find(|(name, _)| name == "rpc")
        .unwrap_or_else(|| panic!("no rpc span exported: {spans:?}"));
    assert!(
        rpc.1.contains(&("service.name".into(), "kerndesk".into())),
        "{rpc:?}"
    );
    assert!(
        rpc.1
            .contains(&("kerndesk.tenant".into(), "de-linde".into())),
        "{rpc:?}"
    );
}

#[tokio::test]
async fn without_an_endpoint_there_is_no_exporter_and_no_error_noise() {
    let stderr = serve_once(&[]).await;
    assert!(
        !stderr.contains("ERROR") && !stderr.contains("WARN"),
        "{stderr}"
    );
    assert!(!stderr.to_lowercase().contains("opentelemetry"), "{stderr}");
}

//! What the server assembly gives every service: health, reflection,
//! gRPC-Web with CORS, limits, graceful shutdown.

use std::time::Duration;

use kerndesk_proto::intake::v1 as pb;
use kerndesk_runtime::auth::Role;
use kerndesk_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test]
async fn health_reports_serving_per_service_and_overall() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in [
        "",
        "kerndesk.intake.v1.Tickets",
        "kerndesk.intake.v1.Directory",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "kerndesk.nope.v1.Nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_services() {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient as V1;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest as V1Req;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse as V1Resp;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as V1Alpha;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AReq;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as AResp;

    let app = spawn_app().await;
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(V1Req::ListServices(String::new())),
    };
    let mut responses = V1::new(app.channel.clone())
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(V1Resp::ListServicesResponse(list)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "kerndesk.intake.v1.Tickets",
        "kerndesk.intake.v1.Directory",
        "grpc.health.v1.Health",
    ] {
        assert!(names.contains(&expected), "{expected} missing in {names:?}");
    }

    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(AReq::FileContainingSymbol(
            "kerndesk.intake.v1.Tickets".into(),
        )),
    };
    let mut responses = V1Alpha::new(app.channel.clone())
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(AResp::FileDescriptorResponse(files)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected file descriptors");
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

/// One HTTP/1.1 exchange; returns the raw response.
async fn http1(addr: std::net::SocketAddr, request: Vec<u8>) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("response in time")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

const PORTAL: &str = "https://portal.delinde.example";

#[tokio::test]
async fn browsers_call_through_grpc_web_from_allowed_origins() {
    let app = spawn_app_with(&[("KERNDESK__SERVER__CORS_ALLOWED_ORIGINS", PORTAL)]).await;
    app.seed().await;
    let token = app.token("e1", &[Role::Employee]);

    // An empty ListDepartmentsRequest: one uncompressed frame of length 0.
    let body = [0u8, 0, 0, 0, 0];
    let mut request = format!(
        "POST /kerndesk.intake.v1.Directory/ListDepartments HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nOrigin: {PORTAL}\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        app.addr,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let response = http1(app.addr, request).await;
    let lower = response.to_ascii_lowercase();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        lower.contains("content-type: application/grpc-web+proto"),
        "{response}"
    );
    assert!(
        lower.contains(&format!("access-control-allow-origin: {PORTAL}")),
        "{response}"
    );
    assert!(
        lower.contains("grpc-status:0"),
        "trailer frame says OK: {response}"
    );
    assert!(
        response.contains("Verhuur & Wonen"),
        "the departments are in the body"
    );

    // The same call without a token is refused through gRPC-Web too.
    let mut request = format!(
        "POST /kerndesk.intake.v1.Directory/ListDepartments HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nOrigin: {PORTAL}\r\n\
         Content-Length: 5\r\nConnection: close\r\n\r\n",
        app.addr
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let response = http1(app.addr, request).await.to_ascii_lowercase();
    assert!(
        response.contains("grpc-status: 16") || response.contains("grpc-status:16"),
        "{response}"
    );
}

#[tokio::test]
async fn cors_preflight_allows_only_configured_origins() {
    let app = spawn_app_with(&[("KERNDESK__SERVER__CORS_ALLOWED_ORIGINS", PORTAL)]).await;
    let preflight = |origin: &str| {
        format!(
            "OPTIONS /kerndesk.intake.v1.Tickets/CreateTicket HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\n\
             Access-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: content-type,x-grpc-web,authorization\r\nConnection: close\r\n\r\n",
            app.addr
        )
        .into_bytes()
    };
    let allowed = http1(app.addr, preflight(PORTAL))
        .await
        .to_ascii_lowercase();
    assert!(
        allowed.contains(&format!("access-control-allow-origin: {PORTAL}")),
        "{allowed}"
    );
    assert!(allowed.contains("authorization"), "{allowed}");
    let other = http1(app.addr, preflight("https://evil.example"))
        .await
        .to_ascii_lowercase();
    assert!(!other.contains("access-control-allow-origin"), "{other}");
}

#[tokio::test]
async fn requests_over_the_size_limit_are_refused_and_change_nothing() {
    let app = spawn_app_with(&[("KERNDESK__SERVER__MAX_REQUEST_BYTES", "4096")]).await;
    app.seed().await;
    let mut req = new_ticket("big", "Te groot");
    req.description = "x".repeat(8000);
    let status = app
        .tickets_as("e1", &[Role::Employee])
        .create_ticket(req)
        .await
        .unwrap_err();
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{status:?}"
    );
    assert_eq!(app.count("tickets").await, 0);
}

#[tokio::test]
async fn shutdown_turns_health_not_serving_and_the_server_exits_cleanly() {
    let mut app = spawn_app().await;
    let mut watch = HealthClient::new(app.channel.clone())
        .watch(HealthCheckRequest {
            service: "kerndesk.intake.v1.Tickets".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.next().await.unwrap().unwrap().status(),
        ServingStatus::Serving
    );

    let server = app.begin_shutdown().expect("running");
    let next = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("health changes on shutdown")
        .unwrap()
        .unwrap();
    assert_eq!(next.status(), ServingStatus::NotServing);
    drop(watch);
    let result = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops within the grace period")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");

    // New calls are no longer accepted.
    let refused = tokio::time::timeout(
        Duration::from_secs(5),
        app.tickets_as("e1", &[Role::Employee])
            .list_tickets(pb::ListTicketsRequest::default()),
    )
    .await
    .expect("no hang");
    assert!(refused.is_err());
}

#[tokio::test]
async fn shutdown_ends_live_ticket_streams_instead_of_waiting_for_them() {
    let mut app = spawn_intake().await;
    app.seed().await;
    let t = app
        .tickets_as("e1", &[Role::Employee])
        .create_ticket(new_ticket("r", "Live volgen"))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let mut stream = app
        .tickets_as("e1", &[Role::Employee])
        .watch_ticket(pb::WatchTicketRequest {
            ticket_id: t.id,
            after_event_id: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stream.next().await.unwrap().unwrap().event.unwrap().kind,
        "CREATED"
    );

    let started = std::time::Instant::now();
    let server = app.begin_shutdown().expect("running");
    let end = tokio::time::timeout(Duration::from_secs(4), stream.next())
        .await
        .expect("the stream ends on shutdown");
    assert!(end.is_none() || end.unwrap().is_err(), "no more events");
    tokio::time::timeout(Duration::from_secs(4), server)
        .await
        .expect("the server does not wait out its 5 s grace period")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
}

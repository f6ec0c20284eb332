//! The `kerndesk` binary as an operator uses it: the README's flow on the
//! embedded default, configuration errors, shutdown on SIGTERM.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use kerndesk_proto::intake::v1 as pb;
use kerndesk_proto::intake::v1::tickets_client::TicketsClient;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const BIN: &str = env!("CARGO_BIN_EXE_kerndesk");

fn kerndesk(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .expect("run kerndesk")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_serve(dir: &Path, port: u16, args: &[&str]) -> Child {
    Command::new(BIN)
        .arg("serve")
        .args(args)
        .current_dir(dir)
        .env("KERNDESK__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kerndesk serve")
}

async fn wait_serving(port: u16) -> Channel {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(channel) = Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
        {
            let status = HealthClient::new(channel.clone())
                .check(HealthCheckRequest {
                    service: "kerndesk.intake.v1.Tickets".into(),
                })
                .await;
            if let Ok(r) = status
                && r.into_inner().status() == ServingStatus::Serving
            {
                return channel;
            }
        }
        assert!(Instant::now() < deadline, "kerndesk did not become SERVING");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Async, so the client connections of this test keep running and can
/// answer the server's GOAWAY, as real clients do.
async fn terminate(child: &mut Child) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    // Well under the 20 s grace period: idle client connections must not
    // hold shutdown up, only in-flight calls may.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "kerndesk did not stop promptly on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn token(dir: &Path, subject: &str, role: &str) -> String {
    let out = kerndesk(dir, &["token", "--subject", subject, "--role", role], &[]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn create(
    channel: &Channel,
    token: &str,
    request_id: &str,
) -> Result<pb::Ticket, tonic::Status> {
    let mut request = tonic::Request::new(pb::CreateTicketRequest {
        request_id: request_id.into(),
        application: "teams".into(),
        topic: "vergaderen".into(),
        title: "Geluid valt weg in vergaderingen".into(),
        description: "Sinds vanochtend valt het geluid steeds weg.".into(),
        category: pb::Category::Incident.into(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    TicketsClient::new(channel.clone())
        .create_ticket(request)
        .await
        .map(|r| r.into_inner().ticket.unwrap())
}

#[tokio::test]
async fn the_readme_flow_on_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = spawn_serve(dir.path(), port, &["--demo"]);
    let channel = wait_serving(port).await;
    assert!(
        dir.path().join("kerndesk.db").exists(),
        "SQLite file in the working directory"
    );
    assert!(
        dir.path().join("kerndesk.jwt.key").exists(),
        "generated signing key"
    );

    let employee = token(dir.path(), "e001", "employee");
    let first = create(&channel, &employee, "readme-1").await.unwrap();
    let filed = Instant::now();
    let retry = create(&channel, &employee, "readme-1").await.unwrap();
    assert_eq!(first.id, retry.id);

    // The router of the same process gives it to the Teams key user of the
    // demo corporation within a second.
    let routed = loop {
        let mut request = tonic::Request::new(pb::GetTicketRequest { id: first.id });
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {employee}").parse().unwrap(),
        );
        let t = TicketsClient::new(channel.clone())
            .get_ticket(request)
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        if t.status() != pb::TicketStatus::New {
            break t;
        }
        assert!(
            filed.elapsed() < Duration::from_secs(1),
            "not routed within a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        (routed.status(), routed.assignee.as_str()),
        (pb::TicketStatus::WithKeyUser, "e030")
    );

    let status = create(&channel, "not-a-token", "readme-2")
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);

    let exit = terminate(&mut server).await;
    assert!(exit.success(), "exit 0 on SIGTERM, got {exit:?}");

    // Restart on the same file: the acknowledged ticket is still there and a
    // retry still finds it; the demo load is idempotent.
    let mut server = spawn_serve(dir.path(), port, &["--demo"]);
    let channel = wait_serving(port).await;
    let again = create(&channel, &employee, "readme-1").await.unwrap();
    assert_eq!(again.id, first.id);
    let exit = terminate(&mut server).await;
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn serve_runs_a_single_named_service_and_refuses_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = spawn_serve(dir.path(), port, &["intake"]);
    wait_serving(port).await;
    assert!(terminate(&mut server).await.success());

    let out = kerndesk(dir.path(), &["serve", "billing"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown service"));
}

#[test]
fn invalid_configuration_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (key, value, named) in [
        ("KERNDESK__TENANT", "Niet Geldig", "tenant"),
        ("KERNDESK__SERVER__LISTEN", "overal", "server.listen"),
        (
            "KERNDESK__TELEMETRY__LOG_FORMAT",
            "xml",
            "telemetry.log_format",
        ),
    ] {
        let out = kerndesk(dir.path(), &["serve"], &[(key, value)]);
        assert_eq!(out.status.code(), Some(2), "{key}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{key}: {stderr}");
    }
    std::fs::write(
        dir.path().join("kerndesk.toml"),
        "[server]\nlisen = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let out = kerndesk(dir.path(), &["config"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("lisen"),
        "unknown keys are named"
    );
}

#[test]
fn config_shows_the_layers_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kerndesk.toml"), "tenant = \"de-linde\"\n").unwrap();
    let out = kerndesk(
        dir.path(),
        &["config"],
        &[
            (
                "KERNDESK__AUTH__JWT_SECRET",
                "a-very-secret-value-of-32-bytes!!",
            ),
            ("KERNDESK__SERVER__LISTEN", "0.0.0.0:6000"),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(
        shown.contains("tenant = \"de-linde\""),
        "file layer: {shown}"
    );
    assert!(shown.contains("0.0.0.0:6000"), "env layer: {shown}");
    assert!(!shown.contains("a-very-secret"), "secret masked: {shown}");
}

#[test]
fn token_refuses_unknown_roles_and_help_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = kerndesk(
        dir.path(),
        &["token", "--subject", "e1", "--role", "superuser"],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role"));

    let out = kerndesk(dir.path(), &["--help"], &[]);
    let help = String::from_utf8(out.stdout).unwrap();
    for command in ["serve", "migrate", "token", "config", "demo"] {
        assert!(help.contains(command), "{command} in {help}");
    }
}

#[test]
fn migrate_applies_every_migration_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = kerndesk(dir.path(), &["migrate"], &[]);
    assert!(first.status.success(), "{first:?}");
    let listed = String::from_utf8(first.stdout).unwrap();
    assert_eq!(listed.lines().count(), 6, "{listed}");
    assert!(listed.contains("m20261127_000002_create_tickets"));
    let second = kerndesk(dir.path(), &["migrate"], &[]);
    assert!(second.status.success());
    assert_eq!(String::from_utf8(second.stdout).unwrap(), listed);
}

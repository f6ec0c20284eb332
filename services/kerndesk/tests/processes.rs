//! Several kerndesk processes on one database, as in production: intake and
//! routers in separate processes, coordinating only through the database.
//! PostgreSQL when KERNDESK_TEST_DATABASE_URL is set, else one SQLite file.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kerndesk_proto::intake::v1 as pb;
use kerndesk_proto::intake::v1::directory_client::DirectoryClient;
use kerndesk_proto::intake::v1::tickets_client::TicketsClient;
use kerndesk_proto::routing::v1 as rpb;
use kerndesk_proto::routing::v1::key_user_desk_client::KeyUserDeskClient;
use kerndesk_proto::routing::v1::key_user_register_client::KeyUserRegisterClient;
use kerndesk_runtime::auth::{Authenticator, Role};
use kerndesk_runtime::clock::SystemClock;
use kerndesk_store::testing::TestDb;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const BIN: &str = env!("CARGO_BIN_EXE_kerndesk");
const TENANT: &str = "delinde";
const SECRET: &str = "process-test-secret-process-test-secret";

struct Deployment {
    db: TestDb,
    dir: tempfile::TempDir,
    auth: Authenticator,
}

/// A running `kerndesk serve ...`; killed when dropped.
struct Proc {
    child: Child,
    port: u16,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Deployment {
    async fn new() -> Self {
        let db = TestDb::new().await;
        let dir = tempfile::tempdir().unwrap();
        let d = Self {
            db,
            dir,
            auth: Authenticator::hs256(TENANT, SECRET.as_bytes(), Arc::new(SystemClock)),
        };
        let out = d.command(&["migrate"], &[]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        d
    }

    fn command(&self, args: &[&str], env: &[(&str, String)]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(self.dir.path())
            .env("KERNDESK__TENANT", TENANT)
            .env("KERNDESK__DATABASE__URL", &self.db.url)
            .env("KERNDESK__AUTH__JWT_SECRET", SECRET)
            .env("KERNDESK__TELEMETRY__LOG_FILTER", "warn")
            .env("KERNDESK__ROUTING__POLL_INTERVAL_MS", "50")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    async fn serve(&self, service: &str, batch_size: u32) -> Proc {
        let port = free_port();
        let child = self
            .command(
                &["serve", service, "--no-migrate"],
                &[
                    ("KERNDESK__SERVER__LISTEN", format!("127.0.0.1:{port}")),
                    ("KERNDESK__ROUTING__BATCH_SIZE", batch_size.to_string()),
                ],
            )
            .spawn()
            .unwrap();
        let proc = Proc { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(channel) = channel(port).await
                && let Ok(r) = HealthClient::new(channel)
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                && r.into_inner().status() == ServingStatus::Serving
            {
                return proc;
            }
            assert!(Instant::now() < deadline, "{service} did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn token(&self, subject: &str, roles: &[Role]) -> String {
        self.auth.issue(subject, roles, Duration::from_secs(3600))
    }

    async fn db(&self) -> DatabaseConnection {
        Database::connect(&self.db.url).await.unwrap()
    }
}

async fn channel(port: u16) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
}

fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

/// Directory, catalogue and key users: ku1 primary, ku2 deputy of erp.
async fn seed(d: &Deployment, intake: &Proc, routing: &Proc) {
    let admin = d.token("admin", &[Role::Admin]);
    let mut dir = DirectoryClient::new(channel(intake.port).await.unwrap());
    let employee = |id: &str| pb::Employee {
        id: id.into(),
        display_name: id.to_uppercase(),
        email: String::new(),
        department: "verhuur".into(),
        active: true,
    };
    dir.import_employees(authed(
        pb::ImportEmployeesRequest {
            departments: vec![pb::Department {
                code: "verhuur".into(),
                name: "Verhuur".into(),
            }],
            employees: vec![employee("e1"), employee("ku1"), employee("ku2")],
        },
        &admin,
    ))
    .await
    .unwrap();
    dir.upsert_applications(authed(
        pb::UpsertApplicationsRequest {
            applications: vec![pb::Application {
                code: "erp".into(),
                name: "ERP".into(),
                active: true,
                modules: vec![],
                topics: vec![],
            }],
        },
        &admin,
    ))
    .await
    .unwrap();
    let mut register = KeyUserRegisterClient::new(channel(routing.port).await.unwrap());
    for (who, role) in [
        ("ku1", rpb::KeyUserRole::Primary),
        ("ku2", rpb::KeyUserRole::Deputy),
    ] {
        register
            .assign_key_user(authed(
                rpb::AssignKeyUserRequest {
                    employee: who.into(),
                    application: "erp".into(),
                    module: String::new(),
                    role: role.into(),
                    hours_per_week: 0,
                },
                &admin,
            ))
            .await
            .unwrap();
    }
}

/// Files `n` tickets through intake, 16 at a time; returns their ids.
async fn file_tickets(d: &Deployment, intake: &Proc, n: usize) -> Vec<i64> {
    let token = d.token("e1", &[Role::Employee]);
    let channel = channel(intake.port).await.unwrap();
    let workers = (0..16).map(|w| {
        let (channel, token) = (channel.clone(), token.clone());
        tokio::spawn(async move {
            let mut client = TicketsClient::new(channel);
            let mut ids = Vec::new();
            for i in (w..n).step_by(16) {
                let t = client
                    .create_ticket(authed(
                        pb::CreateTicketRequest {
                            request_id: format!("load-{i}"),
                            application: "erp".into(),
                            title: format!("Ticket {i}"),
                            description: "Meerdere routers".into(),
                            category: pb::Category::Question.into(),
                            ..Default::default()
                        },
                        &token,
                    ))
                    .await
                    .unwrap();
                ids.push(t.into_inner().ticket.unwrap().id);
            }
            ids
        })
    });
    let mut ids = Vec::new();
    for w in futures::future::join_all(workers).await {
        ids.extend(w.unwrap());
    }
    ids
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index::<i64>(0)
    .unwrap()
}

async fn wait_all_routed(db: &DatabaseConnection, limit: Duration) {
    let deadline = Instant::now() + limit;
    while scalar(db, "SELECT COUNT(*) FROM tickets WHERE status = 'NEW'").await > 0 {
        assert!(
            Instant::now() < deadline,
            "tickets still NEW after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every ticket has exactly one ROUTED event.
async fn assert_routed_exactly_once(db: &DatabaseConnection, tickets: i64) {
    let routed = scalar(
        db,
        "SELECT COUNT(DISTINCT ticket_id) FROM ticket_events WHERE kind = 'ROUTED'",
    )
    .await;
    let events = scalar(
        db,
        "SELECT COUNT(*) FROM ticket_events WHERE kind = 'ROUTED'",
    )
    .await;
    assert_eq!(
        (routed, events),
        (tickets, tickets),
        "each ticket routed once"
    );
    let twice = scalar(
        db,
        "SELECT COUNT(*) FROM (SELECT ticket_id FROM ticket_events WHERE kind = 'ROUTED' \
         GROUP BY ticket_id HAVING COUNT(*) > 1) AS doubles",
    )
    .await;
    assert_eq!(twice, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_router_processes_assign_every_ticket_exactly_once() {
    let d = Deployment::new().await;
    let n = if d.db.is_postgres() { 3000 } else { 1000 };
    let intake = d.serve("intake", 50).await;
    let routers = [
        d.serve("routing", 50).await,
        d.serve("routing", 50).await,
        d.serve("routing", 50).await,
    ];
    seed(&d, &intake, &routers[0]).await;
    let ids = file_tickets(&d, &intake, n).await;
    assert_eq!(ids.len(), n);

    let db = d.db().await;
    wait_all_routed(&db, Duration::from_secs(120)).await;
    assert_routed_exactly_once(&db, n as i64).await;
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM tickets WHERE status = 'WITH_KEY_USER'"
        )
        .await,
        n as i64
    );
    let routers_that_worked = scalar(
        &db,
        "SELECT COUNT(DISTINCT actor) FROM ticket_events WHERE kind = 'ROUTED'",
    )
    .await;
    assert!(
        routers_that_worked >= 2,
        "the work was shared, not done by one router"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_router_killed_mid_batch_leaves_nothing_stuck() {
    let d = Deployment::new().await;
    let (n, batch) = (2000_i64, 200_i64);
    let intake = d.serve("intake", 50).await;
    // The register is served by a routing process, stopped (dropped) before
    // the tickets are filed, so they wait as NEW for the victim.
    {
        let register = d.serve("routing", batch as u32).await;
        seed(&d, &intake, &register).await;
    }
    file_tickets(&d, &intake, n as usize).await;
    let db = d.db().await;
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM tickets WHERE status = 'NEW'").await,
        n
    );

    let mut victim = d.serve("routing", batch as u32).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while scalar(
        &db,
        "SELECT COUNT(*) FROM ticket_events WHERE kind = 'ROUTED'",
    )
    .await
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "the router never committed a batch"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    victim.child.kill().unwrap(); // SIGKILL
    victim.child.wait().unwrap();
    let routed = scalar(
        &db,
        "SELECT COUNT(*) FROM ticket_events WHERE kind = 'ROUTED'",
    )
    .await;
    assert!(routed < n, "killed before it finished ({routed} routed)");
    assert_eq!(
        routed % batch,
        0,
        "a batch commits whole or not at all ({routed} routed)"
    );

    let _survivor = d.serve("routing", batch as u32).await;
    wait_all_routed(&db, Duration::from_secs(120)).await;
    assert_routed_exactly_once(&db, n).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watch_ticket_follows_changes_written_by_a_separate_routing_process() {
    use tokio_stream::StreamExt;

    let d = Deployment::new().await;
    let intake = d.serve("intake", 50).await;
    let routing = d.serve("routing", 50).await;
    seed(&d, &intake, &routing).await;
    let ticket = file_tickets(&d, &intake, 1).await[0];
    let employee = d.token("e1", &[Role::Employee]);
    let mut tickets = TicketsClient::new(channel(intake.port).await.unwrap());

    let mut stream = tickets
        .watch_ticket(authed(
            pb::WatchTicketRequest {
                ticket_id: ticket,
                after_event_id: 0,
            },
            &employee,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("event within 10 s")
            .unwrap()
            .unwrap()
            .event
            .unwrap()
    };
    let created = next().await;
    let routed = next().await;
    assert_eq!(
        (created.kind.as_str(), routed.kind.as_str()),
        ("CREATED", "ROUTED")
    );
    assert!(routed.actor.starts_with("system:router:"));

    let mut desk = KeyUserDeskClient::new(channel(routing.port).await.unwrap());
    let ku = d.token("ku1", &[Role::KeyUser]);
    desk.accept_ticket(authed(
        rpb::AcceptTicketRequest {
            ticket_id: ticket,
            version: 0,
        },
        &ku,
    ))
    .await
    .unwrap();
    let accepted = next().await;
    assert_eq!(accepted.kind, "ACCEPTED");
    drop(stream);

    // While nobody watches, the key user resolves; reconnecting with the
    // last id seen delivers exactly what was missed.
    desk.resolve_ticket(authed(
        rpb::ResolveTicketRequest {
            ticket_id: ticket,
            version: 0,
            kind: rpb::ResolutionKind::HowTo.into(),
            note: "Uitgelegd".into(),
        },
        &ku,
    ))
    .await
    .unwrap();
    let mut resumed = tickets
        .watch_ticket(authed(
            pb::WatchTicketRequest {
                ticket_id: ticket,
                after_event_id: accepted.id,
            },
            &employee,
        ))
        .await
        .unwrap()
        .into_inner();
    let missed = tokio::time::timeout(Duration::from_secs(10), resumed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
        .event
        .unwrap();
    assert_eq!(missed.kind, "RESOLVED");
    assert!(missed.id > accepted.id);

    // Someone else cannot watch it.
    let other = d.token("ku2", &[Role::Employee]);
    let status = tickets
        .watch_ticket(authed(
            pb::WatchTicketRequest {
                ticket_id: ticket,
                after_event_id: 0,
            },
            &other,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
}

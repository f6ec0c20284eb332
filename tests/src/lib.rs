//! Test support: real kerndesk servers on real listeners (port 0), real
//! tonic clients, and a fresh database per test: a SQLite file by default,
//! or a new PostgreSQL database when `KERNDESK_TEST_DATABASE_URL` points at
//! a server (created here, dropped when the test ends).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kerndesk::app::{self, Service};
use kerndesk_proto::intake::v1 as pb;
use kerndesk_proto::intake::v1::directory_client::DirectoryClient;
use kerndesk_proto::intake::v1::tickets_client::TicketsClient;
use kerndesk_runtime::AppContext;
use kerndesk_runtime::auth::{Claims, Role};
use kerndesk_runtime::clock::{Clock, ManualClock, SystemClock};
use kerndesk_runtime::config::Config;
use sea_orm::{ConnectionTrait, DbBackend};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

pub use kerndesk_proto::reason;

/// The tenant every test deployment serves.
pub const TENANT: &str = "delinde";
pub const SECRET: &str = "test-secret-test-secret-test-secret!";

pub use kerndesk_store::testing::TestDb;

/// Configuration for a test deployment on `db`, with `extra` env overrides.
pub fn test_config(db_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = [
        ("KERNDESK__TENANT", TENANT),
        ("KERNDESK__DATABASE__URL", db_url),
        ("KERNDESK__AUTH__JWT_SECRET", SECRET),
        ("KERNDESK__SERVER__LISTEN", "127.0.0.1:0"),
        ("KERNDESK__SERVER__SHUTDOWN_GRACE_SECS", "5"),
        ("KERNDESK__DATABASE__MAX_CONNECTIONS", "8"),
        ("KERNDESK__ROUTING__POLL_INTERVAL_MS", "50"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    Config::load_with_env(None, Some(env)).expect("test config is valid")
}

/// A running deployment.
pub struct TestApp {
    pub addr: SocketAddr,
    pub channel: Channel,
    pub ctx: AppContext,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    pub db: TestDb,
}

/// Starts every service on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts intake alone: its tickets stay NEW (no router runs).
pub async fn spawn_intake() -> TestApp {
    spawn(
        Service::ALL
            .iter()
            .copied()
            .filter(|s| *s == Service::Intake)
            .collect(),
        &[],
        Arc::new(SystemClock),
    )
    .await
}

/// Starts every service with extra config overrides (`KERNDESK__...`).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    spawn(Service::ALL.to_vec(), extra, Arc::new(SystemClock)).await
}

/// Starts every service on a clock the test moves.
pub async fn spawn_app_at(clock: Arc<ManualClock>, extra: &[(&str, &str)]) -> TestApp {
    spawn(Service::ALL.to_vec(), extra, clock).await
}

/// Starts `services` with `extra` config overrides on `clock`.
pub async fn spawn(
    services: Vec<Service>,
    extra: &[(&str, &str)],
    clock: Arc<dyn Clock>,
) -> TestApp {
    let db = TestDb::new().await;
    let config = test_config(&db.url, extra);
    let store = app::open_store(&config, true).await.expect("store");
    let ctx = app::context(&config, store, clock).expect("context");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let server = {
        let (config, ctx) = (config.clone(), ctx.clone());
        tokio::spawn(async move {
            app::serve(&config, &ctx, &services, listener, async {
                let _ = rx.await;
            })
            .await
        })
    };
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect to the test server");
    TestApp {
        addr,
        channel,
        ctx,
        config,
        shutdown: Some(tx),
        server: Some(server),
        db,
    }
}

/// Adds `authorization: Bearer ...` to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    /// No authorization metadata at all.
    pub fn none() -> Self {
        Self(None)
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type Tickets = TicketsClient<InterceptedService<Channel, Bearer>>;
pub type Directory = DirectoryClient<InterceptedService<Channel, Bearer>>;

impl TestApp {
    /// A valid token of this deployment.
    pub fn token(&self, subject: &str, roles: &[Role]) -> String {
        self.ctx
            .auth
            .issue(subject, roles, Duration::from_secs(600))
    }

    /// A token with arbitrary claims, signed with this deployment's key.
    pub fn token_with(&self, claims: &Claims) -> String {
        self.ctx.auth.issue_claims(claims)
    }

    fn bearer(token: Option<&str>) -> Bearer {
        Bearer(token.map(|t| format!("Bearer {t}").parse().expect("ascii token")))
    }

    pub fn tickets(&self, token: Option<&str>) -> Tickets {
        TicketsClient::with_interceptor(self.channel.clone(), Self::bearer(token))
    }

    pub fn directory(&self, token: Option<&str>) -> Directory {
        DirectoryClient::with_interceptor(self.channel.clone(), Self::bearer(token))
    }

    /// Tickets client acting as `subject` with `roles`.
    pub fn tickets_as(&self, subject: &str, roles: &[Role]) -> Tickets {
        self.tickets(Some(&self.token(subject, roles)))
    }

    pub fn directory_as(&self, subject: &str, roles: &[Role]) -> Directory {
        self.directory(Some(&self.token(subject, roles)))
    }

    pub fn backend(&self) -> DbBackend {
        self.ctx.store.backend()
    }

    /// Loads the small test directory through the API, as an admin would.
    pub async fn seed(&self) {
        let mut dir = self.directory_as("admin", &[Role::Admin]);
        let people = dir
            .import_employees(seed_employees())
            .await
            .expect("seed employees")
            .into_inner();
        assert!(people.refused_employees.is_empty(), "{people:?}");
        let apps = dir
            .upsert_applications(seed_applications())
            .await
            .expect("seed applications")
            .into_inner();
        assert!(apps.refused.is_empty(), "{apps:?}");
    }

    /// Counts rows of a table, straight from the database.
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .ctx
            .store
            .connection()
            .query_one_raw(sea_orm::Statement::from_string(
                self.backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("one row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// Sets a ticket's status the way another service would: row + event in
    /// one transaction (intake itself has no RPC that resolves a ticket).
    pub async fn set_status_as_other_service(&self, ticket_id: i64, status: &str) {
        use sea_orm::TransactionTrait;
        let db = self.ctx.store.connection();
        let txn = db.begin().await.expect("begin");
        let backend = self.backend();
        let (sql_update, sql_event) = match backend {
            DbBackend::Postgres => (
                "UPDATE tickets SET status = $1, version = version + 1 WHERE id = $2",
                "INSERT INTO ticket_events (ticket_id, kind, actor, to_status, created_at) VALUES ($1, 'TEST_TRANSITION', 'system:test', $2, now())",
            ),
            _ => (
                "UPDATE tickets SET status = ?, version = version + 1 WHERE id = ?",
                "INSERT INTO ticket_events (ticket_id, kind, actor, to_status, created_at) VALUES (?, 'TEST_TRANSITION', 'system:test', ?, datetime('now'))",
            ),
        };
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql_update,
            [status.into(), ticket_id.into()],
        ))
        .await
        .expect("update status");
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql_event,
            [ticket_id.into(), status.into()],
        ))
        .await
        .expect("append event");
        txn.commit().await.expect("commit");
    }

    /// Stops the server like SIGTERM would and waits for it to finish.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(handle) => handle.await?,
            None => Ok(()),
        }
    }

    /// Signals shutdown without waiting.
    pub fn begin_shutdown(&mut self) -> Option<JoinHandle<anyhow::Result<()>>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.take()
    }
}

pub fn seed_employees() -> pb::ImportEmployeesRequest {
    let employee = |id: &str, name: &str, dept: &str, active: bool| pb::Employee {
        id: id.into(),
        display_name: name.into(),
        email: format!("{id}@delinde.example"),
        department: dept.into(),
        active,
    };
    pb::ImportEmployeesRequest {
        departments: vec![
            pb::Department {
                code: "verhuur".into(),
                name: "Verhuur & Wonen".into(),
            },
            pb::Department {
                code: "financien".into(),
                name: "Financiën".into(),
            },
        ],
        employees: vec![
            employee("e1", "Anouk de Vries", "verhuur", true),
            employee("e2", "Bram Jansen", "verhuur", true),
            employee("e3", "Charlotte Bakker", "financien", true),
            employee("ku1", "Daan Visser", "financien", true),
            employee("gone", "Esther Smit", "financien", false),
        ],
    }
}

pub fn seed_applications() -> pb::UpsertApplicationsRequest {
    let named = |code: &str, name: &str| (code.to_owned(), name.to_owned());
    let app = |code: &str,
               name: &str,
               active: bool,
               modules: Vec<(String, String)>,
               topics: Vec<(String, String)>| {
        pb::Application {
            code: code.into(),
            name: name.into(),
            active,
            modules: modules
                .into_iter()
                .map(|(code, name)| pb::Module { code, name })
                .collect(),
            topics: topics
                .into_iter()
                .map(|(code, name)| pb::Topic { code, name })
                .collect(),
        }
    };
    pb::UpsertApplicationsRequest {
        applications: vec![
            app(
                "erp",
                "ERP Vastgoed & Huur",
                true,
                vec![
                    named("huur", "Huuradministratie"),
                    named("onderhoud", "Onderhoud"),
                ],
                vec![
                    named("werkwijze", "Hoe werkt ...?"),
                    named("rapportage", "Rapportages"),
                ],
            ),
            app(
                "teams",
                "Microsoft Teams",
                true,
                vec![],
                vec![named("vergaderen", "Vergaderen")],
            ),
            app("fax", "Faxserver", false, vec![], vec![]),
        ],
    }
}

/// A valid ticket request for the seeded catalogue.
pub fn new_ticket(request_id: &str, title: &str) -> pb::CreateTicketRequest {
    pb::CreateTicketRequest {
        request_id: request_id.into(),
        application: "erp".into(),
        module: "huur".into(),
        topic: "werkwijze".into(),
        title: title.into(),
        description: "Wat moet ik invullen bij een huurverhoging?".into(),
        category: pb::Category::Question.into(),
        ..Default::default()
    }
}

/// Asserts the canonical code and the `ErrorInfo` reason of a refusal.
#[track_caller]
pub fn assert_refused(status: &Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    assert_eq!(info.domain, kerndesk_proto::ERROR_DOMAIN);
}

/// The fields a `BadRequest` names.
pub fn bad_fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// Asserts INVALID_ARGUMENT naming exactly `fields` (in any order).
#[track_caller]
pub fn assert_bad_fields(status: &Status, fields: &[&str]) {
    assert_refused(status, Code::InvalidArgument, reason::INVALID_FIELDS);
    let mut got = bad_fields(status);
    got.sort();
    let mut want: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    want.sort();
    assert_eq!(got, want, "{status:?}");
}

// ----------------------------------------------------------------- routing

use kerndesk_proto::routing::v1 as routing_pb;
use kerndesk_proto::routing::v1::key_user_desk_client::KeyUserDeskClient;
use kerndesk_proto::routing::v1::key_user_register_client::KeyUserRegisterClient;
use kerndesk_proto::routing::v1::supplier_desk_client::SupplierDeskClient;

pub type Register = KeyUserRegisterClient<InterceptedService<Channel, Bearer>>;
pub type KeyUserDesk = KeyUserDeskClient<InterceptedService<Channel, Bearer>>;
pub type SupplierDesk = SupplierDeskClient<InterceptedService<Channel, Bearer>>;

impl TestApp {
    pub fn register_as(&self, subject: &str, roles: &[Role]) -> Register {
        KeyUserRegisterClient::with_interceptor(
            self.channel.clone(),
            Self::bearer(Some(&self.token(subject, roles))),
        )
    }

    pub fn key_user_desk(&self, subject: &str) -> KeyUserDesk {
        KeyUserDeskClient::with_interceptor(
            self.channel.clone(),
            Self::bearer(Some(&self.token(subject, &[Role::Employee, Role::KeyUser]))),
        )
    }

    pub fn key_user_desk_as(&self, subject: &str, roles: &[Role]) -> KeyUserDesk {
        KeyUserDeskClient::with_interceptor(
            self.channel.clone(),
            Self::bearer(Some(&self.token(subject, roles))),
        )
    }

    pub fn supplier_desk(&self, subject: &str) -> SupplierDesk {
        SupplierDeskClient::with_interceptor(
            self.channel.clone(),
            Self::bearer(Some(&self.token(subject, &[Role::SupplierAgent]))),
        )
    }

    pub fn supplier_desk_as(&self, subject: &str, roles: &[Role]) -> SupplierDesk {
        SupplierDeskClient::with_interceptor(
            self.channel.clone(),
            Self::bearer(Some(&self.token(subject, roles))),
        )
    }

    /// Makes `employee` a key user of `application` (whole application).
    pub async fn assign(
        &self,
        employee: &str,
        application: &str,
        role: routing_pb::KeyUserRole,
        hours: i32,
    ) {
        self.register_as("admin", &[Role::Admin])
            .assign_key_user(routing_pb::AssignKeyUserRequest {
                employee: employee.into(),
                application: application.into(),
                module: String::new(),
                role: role.into(),
                hours_per_week: hours,
            })
            .await
            .expect("assign key user");
    }

    /// Waits until the router moved ticket `id` out of NEW; returns it.
    pub async fn routed(&self, id: i64) -> pb::Ticket {
        let mut admin = self.tickets_as("admin", &[Role::Admin]);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let t = admin
                .get_ticket(pb::GetTicketRequest { id })
                .await
                .expect("get ticket")
                .into_inner()
                .ticket
                .expect("ticket");
            if t.status() != pb::TicketStatus::New {
                return t;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "ticket {id} was not routed within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Event kinds of a ticket, oldest first, straight from the database.
    pub async fn event_kinds(&self, ticket_id: i64) -> Vec<String> {
        use kerndesk_store::entity::ticket_event;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        ticket_event::Entity::find()
            .filter(ticket_event::Column::TicketId.eq(ticket_id))
            .order_by_asc(ticket_event::Column::Id)
            .all(self.ctx.store.connection())
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }
}

/// Files a ticket as `subject` and returns it.
pub async fn file_ticket(app: &TestApp, subject: &str, request_id: &str) -> pb::Ticket {
    app.tickets_as(subject, &[Role::Employee])
        .create_ticket(new_ticket(request_id, "Vraag over het ERP"))
        .await
        .expect("ticket filed")
        .into_inner()
        .ticket
        .expect("ticket")
}

//! kerndesk storage: the one database every service coordinates through.
//!
//! - [`entity`]: sea-orm entities, one per table.
//! - [`migration`]: schema migrations, one per file, identical on SQLite and
//!   PostgreSQL.
//! - [`model`]: the stored domain vocabulary (ticket status, category, ...).
//! - [`Store`]: connecting, migrating, write transactions and the
//!   coordination primitives (NOTIFY, idempotency records) that let services
//!   work together without calling each other.

pub mod entity;
pub mod events;
pub mod idempotency;
pub mod migration;
pub mod model;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transitions;
pub mod wakeup;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

pub use sea_orm;

/// PostgreSQL channel on which intake announces a new ticket (payload: its id).
/// The router of the routing service listens on it.
pub const NEW_TICKET_CHANNEL: &str = "kerndesk_new_ticket";
/// PostgreSQL channel on which every appended ticket event is announced
/// (payload: the ticket id), for live followers.
pub const TICKET_EVENT_CHANNEL: &str = "kerndesk_ticket_event";

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path?mode=rwc`, `sqlite::memory:` or `postgres://...`.
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

/// The database handle shared by the services of one process.
#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// Kept for LISTEN connections, which live outside the pool.
    url: Option<String>,
}

impl Store {
    /// Connects with settings that make SQLite safe for several writers:
    /// WAL (readers never block the writer), a busy timeout, full fsync on
    /// commit (an acknowledged ticket survives a power cut).
    pub async fn connect(options: &StoreOptions) -> Result<Self, DbErr> {
        let in_memory = options.url.contains(":memory:");
        let mut opts = ConnectOptions::new(options.url.clone());
        opts.max_connections(if in_memory {
            1
        } else {
            options.max_connections
        })
        .min_connections(if in_memory { 1 } else { 0 })
        .acquire_timeout(options.acquire_timeout)
        .connect_timeout(options.acquire_timeout)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            let o = o
                .busy_timeout(Duration::from_secs(30))
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true);
            if in_memory {
                o
            } else {
                o.journal_mode(SqliteJournalMode::Wal)
            }
        });
        let db = Database::connect(opts).await?;
        Ok(Self {
            db,
            url: Some(options.url.clone()),
        })
    }

    /// Wraps an existing connection (tests, tools).
    pub fn from_connection(db: DatabaseConnection) -> Self {
        Self { db, url: None }
    }

    /// The URL for LISTEN connections, on PostgreSQL.
    pub fn postgres_url(&self) -> Option<String> {
        self.url
            .clone()
            .filter(|_| self.backend() == DbBackend::Postgres)
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Applies every pending migration. Safe to run from several processes on
    /// PostgreSQL: sea-orm-migration records applied versions in a table.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        migration::Migrator::up(&self.db, None).await
    }

    /// Names of the applied migrations, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<String>, DbErr> {
        Ok(migration::Migrator::get_applied_migrations(&self.db)
            .await?
            .into_iter()
            .map(|m| m.name().to_owned())
            .collect())
    }

    /// Begins a transaction that will write. On SQLite it is `BEGIN
    /// IMMEDIATE`: a deferred transaction that reads first cannot upgrade
    /// to a writer once another connection committed (SQLITE_BUSY without
    /// waiting), so writers take the lock up front and queue on the busy
    /// timeout instead.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.db.ping().await
    }
}

/// Sends a PostgreSQL `NOTIFY` inside the caller's transaction, so it is
/// delivered exactly when (and only if) the transaction commits. SQLite has
/// no notifications; its followers poll.
pub async fn notify<C: ConnectionTrait>(db: &C, channel: &str, payload: &str) -> Result<(), DbErr> {
    notify_all(db, &[channel], payload).await
}

/// [`notify`] on several channels in one round trip.
pub async fn notify_all<C: ConnectionTrait>(
    db: &C,
    channels: &[&str],
    payload: &str,
) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres || channels.is_empty() {
        return Ok(());
    }
    let calls: Vec<String> = (0..channels.len())
        .map(|i| format!("pg_notify(${}, ${})", i + 2, 1))
        .collect();
    let mut values: Vec<sea_orm::Value> = vec![payload.into()];
    values.extend(channels.iter().map(|c| (*c).into()));
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("SELECT {}", calls.join(", ")),
        values,
    ))
    .await?;
    Ok(())
}

/// Whether an error means "the database is not reachable right now" (worth a
/// retry) rather than a bug.
pub fn is_unavailable(err: &DbErr) -> bool {
    matches!(
        err,
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) | DbErr::Exec(_) | DbErr::Query(_)
    ) && {
        let text = err.to_string().to_ascii_lowercase();
        text.contains("connection")
            || text.contains("timed out")
            || text.contains("pool")
            || text.contains("database is locked")
            || text.contains("broken pipe")
    }
}

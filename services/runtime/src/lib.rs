//! What every kerndesk service shares at run time.
//!
//! - [`config`]: layered configuration (defaults < file < `KERNDESK__A__B`).
//! - [`auth`]: bearer JWTs, roles, the tenant check.
//! - [`errors`]: the domain error type and its one mapping to `google.rpc.Status`.
//! - [`server`]: the one function that assembles and runs the gRPC server.
//! - [`telemetry`]: logs and OpenTelemetry traces.
//! - [`clock`]: time, replaceable in tests.

pub mod auth;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod errors;
pub mod paging;
pub mod server;
pub mod telemetry;

use std::sync::Arc;

use kerndesk_store::Store;

pub use errors::{Error, Violations};

/// Everything a service handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppContext {
    pub config: Arc<config::Config>,
    pub store: Store,
    pub auth: Arc<auth::Authenticator>,
    pub clock: Arc<dyn clock::Clock>,
    pub limits: server::Limits,
    /// Turns true when the process shuts down: workers stop, live streams
    /// end (clients reconnect elsewhere with their cursor).
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
}

//! Assembling a running kerndesk: config -> store -> context -> services ->
//! server. The CLI and the integration tests both start kerndesk through
//! here, so the tests run what production runs.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context as _;
use kerndesk_runtime::AppContext;
use kerndesk_runtime::auth::Authenticator;
use kerndesk_runtime::clock::Clock;
use kerndesk_runtime::config::Config;
use kerndesk_runtime::server::{self, Limits, Services};
use kerndesk_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The services a process can run. `kerndesk serve` runs all of them;
/// `kerndesk serve intake` one, for separate deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Intake,
    Routing,
}

impl Service {
    /// Every service that exists today. Routing, rollout and reporting join
    /// this list as they are built.
    pub const ALL: &'static [Service] = &[Service::Intake, Service::Routing];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Intake => "intake",
            Service::Routing => "routing",
        }
    }

    fn mount(self, ctx: &AppContext, services: &mut Services) {
        match self {
            Service::Intake => kerndesk_intake::mount(ctx, services),
            Service::Routing => kerndesk_routing::mount(ctx, services),
        }
    }

    /// Background workers of the service; they stop when `stop` turns true.
    fn spawn_workers(self, ctx: &AppContext, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        match self {
            Service::Intake => Vec::new(),
            Service::Routing => kerndesk_routing::spawn_workers(ctx, stop.clone()),
        }
    }
}

impl FromStr for Service {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::ALL
            .iter()
            .copied()
            .find(|svc| svc.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Service::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown service {s:?}; known: {}", known.join(", "))
            })
    }
}

/// Connects to the configured database (creating the embedded SQLite file
/// and the data directory when needed) and optionally migrates it.
pub async fn open_store(config: &Config, migrate: bool) -> anyhow::Result<Store> {
    if config.database.url.is_empty() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    }
    let store = Store::connect(&config.store_options())
        .await
        .with_context(|| format!("connecting to {}", redact(&config.database_url())))?;
    if migrate {
        store.migrate().await.context("migrating the database")?;
    }
    Ok(store)
}

fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((_, host)) if url.contains("://") => format!("…@{host}"),
        _ => url.to_owned(),
    }
}

pub fn context(config: &Config, store: Store, clock: Arc<dyn Clock>) -> anyhow::Result<AppContext> {
    let auth = Authenticator::from_config(config, clock.clone())
        .context("loading the token signing key")?;
    Ok(AppContext {
        config: Arc::new(config.clone()),
        store,
        auth: Arc::new(auth),
        clock,
        limits: Limits::from(&config.server),
        stopping: Arc::new(watch::channel(false).0),
    })
}

/// Serves `which` on `listener` until `shutdown`.
pub async fn serve(
    config: &Config,
    ctx: &AppContext,
    which: &[Service],
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut services = Services::default();
    let stopped = ctx.stopping.subscribe();
    let mut workers = Vec::new();
    for service in which {
        service.mount(ctx, &mut services);
        workers.extend(service.spawn_workers(ctx, &stopped));
    }
    tracing::info!(
        address = %listener.local_addr()?,
        tenant = %config.tenant,
        services = ?services.names(),
        "serving"
    );
    let stopping = ctx.stopping.clone();
    let result = server::serve(&config.server, listener, services, async move {
        shutdown.await;
        // Workers finish their current batch (a batch cut short rolls back
        // and the next router takes it); live streams end.
        stopping.send_replace(true);
    })
    .await;
    for worker in workers {
        let _ = worker.await;
    }
    result?;
    Ok(())
}

//! `kerndesk`: run, migrate and operate a kerndesk deployment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kerndesk::app::{self, Service};
use kerndesk_runtime::auth::Role;
use kerndesk_runtime::clock::SystemClock;
use kerndesk_runtime::config::Config;
use kerndesk_runtime::{server, telemetry};

/// kerndesk: help desk for housing corporations that outsourced their IT.
/// Employees ask their key users first; key users are the buffer toward the
/// supplier; the corporation manages its supplier with quarterly reports.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Configuration file (TOML). Default: kerndesk.toml if present.
    /// Environment variables KERNDESK__SECTION__KEY override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run services. Without names: every service, in one process, on one
    /// address (the embedded default: a SQLite file, no set-up).
    Serve {
        /// Services to run (default: all). Known: intake, routing.
        #[arg(value_name = "SERVICE")]
        services: Vec<String>,
        /// Load the demo tenant (Woonstichting De Linde) before serving.
        #[arg(long)]
        demo: bool,
        /// Do not migrate the database on start (production: run
        /// `kerndesk migrate` once per release instead).
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a signed token for calling the API (uses the deployment's key).
    Token {
        /// The employee id the token speaks for (its `sub`).
        #[arg(long)]
        subject: String,
        /// A role: employee, key_user, supplier_agent, contract_manager, admin.
        /// Repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Lifetime: seconds, or with a unit: 30m, 8h, 7d.
        #[arg(long)]
        ttl: Option<String>,
    },
    /// Print the effective configuration, secrets masked.
    Config,
    /// Load the demo tenant (departments, 100 employees, applications, tickets).
    Demo,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("kerndesk: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kerndesk: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve {
            services,
            demo,
            no_migrate,
        } => serve(config, services, demo, !no_migrate).await,
        Command::Migrate => {
            let _telemetry =
                telemetry::init(&config.telemetry, "kerndesk-migrate", &config.tenant)?;
            let store = app::open_store(&config, true).await?;
            for name in store.applied_migrations().await? {
                println!("applied {name}");
            }
            Ok(())
        }
        Command::Token {
            subject,
            roles,
            ttl,
        } => {
            let roles = roles
                .iter()
                .map(|r| {
                    Role::parse(r).with_context(|| {
                        format!(
                            "unknown role {r:?}; known: employee, key_user, supplier_agent, contract_manager, admin"
                        )
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let ttl = match ttl {
                Some(text) => parse_duration(&text)?,
                None => Duration::from_secs(config.auth.default_token_ttl_secs),
            };
            let auth =
                kerndesk_runtime::auth::Authenticator::from_config(&config, Arc::new(SystemClock))
                    .context("loading the token signing key")?;
            println!("{}", auth.issue(&subject, &roles, ttl));
            Ok(())
        }
        Command::Config => {
            print!("{}", config.to_masked_toml());
            Ok(())
        }
        Command::Demo => {
            let _telemetry = telemetry::init(&config.telemetry, "kerndesk-demo", &config.tenant)?;
            let store = app::open_store(&config, true).await?;
            let ctx = app::context(&config, store, Arc::new(SystemClock))?;
            let (rows, tickets) = kerndesk::demo::load(&ctx).await?;
            println!(
                "demo tenant loaded: {rows} directory rows written, {tickets} demo tickets present"
            );
            Ok(())
        }
    }
}

async fn serve(
    config: Config,
    names: Vec<String>,
    demo: bool,
    migrate: bool,
) -> anyhow::Result<()> {
    let which: Vec<Service> = if names.is_empty() {
        Service::ALL.to_vec()
    } else {
        names
            .iter()
            .map(|n| n.parse().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?
    };
    // The all-in-one process is "kerndesk"; a process deployed for one
    // service is named after it, so traces tell the deployments apart.
    let service_name = match (names.is_empty(), which.as_slice()) {
        (false, [one]) => format!("kerndesk-{}", one.as_str()),
        _ => "kerndesk".to_owned(),
    };
    let mut telemetry = telemetry::init(&config.telemetry, &service_name, &config.tenant)?;
    let store = app::open_store(&config, migrate).await?;
    let ctx = app::context(&config, store, Arc::new(SystemClock))?;
    if demo {
        let (rows, tickets) = kerndesk::demo::load(&ctx).await?;
        tracing::info!(rows, tickets, "demo tenant loaded");
    }
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let result = app::serve(&config, &ctx, &which, listener, server::shutdown_signal()).await;
    telemetry.shutdown();
    result
}

fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .with_context(|| format!("invalid --ttl {text:?}: use e.g. 3600, 30m, 8h or 7d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => anyhow::bail!("invalid --ttl {text:?}: use e.g. 3600, 30m, 8h or 7d"),
    };
    anyhow::ensure!(secs > 0, "--ttl must be positive");
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("30m").unwrap().as_secs(), 1800);
        assert_eq!(parse_duration("8h").unwrap().as_secs(), 28_800);
        assert_eq!(parse_duration("7d").unwrap().as_secs(), 604_800);
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("8y").is_err());
    }
}

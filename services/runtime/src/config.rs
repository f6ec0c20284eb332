//! Layered configuration: built-in defaults < a TOML file (`--config FILE`,
//! else `kerndesk.toml` in the working directory if present) < environment
//! variables `KERNDESK__SECTION__KEY` (e.g. `KERNDESK__DATABASE__URL`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The defaults, also the reference of every key (README, "Configuration").
pub const DEFAULTS: &str = include_str!("defaults.toml");

/// File read when no `--config` is given, if it exists.
pub const DEFAULT_FILE: &str = "kerndesk.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Slug of the housing corporation this deployment serves. Every token
    /// must carry it in its `tenant` claim.
    pub tenant: String,
    /// Where the embedded SQLite file and the generated token key live.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub telemetry: TelemetryConfig,
    pub routing: RoutingConfig,
    pub sla: SlaConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub max_request_bytes: usize,
    pub request_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
    pub reflection: bool,
    /// Origins allowed to call through gRPC-Web; empty: no browser access.
    pub cors_allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Empty: the SQLite file `kerndesk.db` in `data_dir`.
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// HS256 secret (at least 32 bytes). Empty: a key generated on first
    /// start in `data_dir/kerndesk.jwt.key`.
    pub jwt_secret: String,
    /// Lifetime of tokens issued by `kerndesk token` unless `--ttl` says otherwise.
    pub default_token_ttl_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `tracing` filter directive, e.g. `info,kerndesk_intake=debug`.
    pub log_filter: String,
    /// `text` or `json`.
    pub log_format: String,
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`. Empty: no export.
    pub otlp_endpoint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    pub batch_size: u64,
    pub poll_interval_ms: u64,
    pub sla_check_interval_secs: u64,
    pub reopen_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// IANA time zone of the office hours.
    pub timezone: String,
    /// `HH:MM`.
    pub office_open: String,
    /// `HH:MM`.
    pub office_close: String,
    /// Business hours per priority: LOW, MEDIUM, HIGH, CRITICAL.
    pub response_hours: Vec<u32>,
    pub resolution_hours: Vec<u32>,
}

impl SlaConfig {
    pub fn tz(&self) -> Option<chrono_tz::Tz> {
        self.timezone.parse().ok()
    }

    pub fn open(&self) -> Option<chrono::NaiveTime> {
        chrono::NaiveTime::parse_from_str(&self.office_open, "%H:%M").ok()
    }

    pub fn close(&self) -> Option<chrono::NaiveTime> {
        chrono::NaiveTime::parse_from_str(&self.office_close, "%H:%M").ok()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Config {
    /// Loads the layers. `file`: an explicit `--config`, which must exist.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, None)
    }

    /// As [`Config::load`], with environment variables from `env` instead of
    /// the process (tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        builder = match file {
            Some(path) => builder.add_source(config::File::from(path).required(true)),
            None => builder.add_source(config::File::with_name(DEFAULT_FILE).required(false)),
        };
        let mut environment = config::Environment::with_prefix("KERNDESK")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("server.cors_allowed_origins");
        if let Some(env) = env {
            environment = environment.source(Some(env));
        }
        let config: Config = builder.add_source(environment).build()?.try_deserialize()?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.to_owned(),
            })
        };
        if !is_slug(&self.tenant) {
            return invalid(
                "tenant",
                "must be a slug: 1-40 of a-z, 0-9 and '-', starting with a letter or digit",
            );
        }
        if self.server.max_request_bytes < 1024 {
            return invalid("server.max_request_bytes", "must be at least 1024");
        }
        if self.server.request_timeout_secs == 0 {
            return invalid("server.request_timeout_secs", "must be at least 1");
        }
        for origin in &self.server.cors_allowed_origins {
            if origin.parse::<http::HeaderValue>().is_err() || !is_http_url(origin) {
                return invalid(
                    "server.cors_allowed_origins",
                    "each origin must be an http:// or https:// origin",
                );
            }
        }
        if !(self.database.url.is_empty()
            || self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres://")
            || self.database.url.starts_with("postgresql://"))
        {
            return invalid(
                "database.url",
                "must be empty (embedded SQLite), sqlite:... or postgres://...",
            );
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        if !self.auth.jwt_secret.is_empty() && self.auth.jwt_secret.len() < 32 {
            return invalid("auth.jwt_secret", "must be at least 32 bytes, or empty");
        }
        if self.auth.default_token_ttl_secs == 0 {
            return invalid("auth.default_token_ttl_secs", "must be at least 1");
        }
        if !matches!(self.telemetry.log_format.as_str(), "text" | "json") {
            return invalid("telemetry.log_format", "must be `text` or `json`");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.telemetry.log_filter).is_err() {
            return invalid("telemetry.log_filter", "is not a valid tracing filter");
        }
        let endpoint = &self.telemetry.otlp_endpoint;
        if !(endpoint.is_empty() || is_http_url(endpoint)) {
            return invalid(
                "telemetry.otlp_endpoint",
                "must be an http:// or https:// URL, or empty",
            );
        }
        if self.routing.batch_size == 0 || self.routing.batch_size > 10_000 {
            return invalid("routing.batch_size", "must be 1-10000");
        }
        if self.routing.poll_interval_ms == 0 {
            return invalid("routing.poll_interval_ms", "must be at least 1");
        }
        if self.routing.sla_check_interval_secs == 0 {
            return invalid("routing.sla_check_interval_secs", "must be at least 1");
        }
        if self.sla.tz().is_none() {
            return invalid(
                "sla.timezone",
                "is not an IANA time zone such as Europe/Amsterdam",
            );
        }
        match (self.sla.open(), self.sla.close()) {
            (None, _) => return invalid("sla.office_open", "must be HH:MM"),
            (_, None) => return invalid("sla.office_close", "must be HH:MM"),
            (Some(open), Some(close)) if open >= close => {
                return invalid("sla.office_close", "must be after sla.office_open");
            }
            _ => {}
        }
        for (key, hours) in [
            ("sla.response_hours", &self.sla.response_hours),
            ("sla.resolution_hours", &self.sla.resolution_hours),
        ] {
            if hours.len() != 4 || hours.contains(&0) {
                return invalid(
                    key,
                    "must be four positive numbers: LOW, MEDIUM, HIGH, CRITICAL",
                );
            }
        }
        Ok(())
    }

    /// The database URL in effect: the configured one, or the embedded
    /// SQLite file in `data_dir`.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("kerndesk.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    pub fn store_options(&self) -> kerndesk_store::StoreOptions {
        kerndesk_store::StoreOptions {
            url: self.database_url(),
            max_connections: self.database.max_connections,
            acquire_timeout: Duration::from_secs(self.database.acquire_timeout_secs),
        }
    }

    /// The effective configuration as TOML, secrets masked (`kerndesk config`).
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        if !shown.auth.jwt_secret.is_empty() {
            shown.auth.jwt_secret = "********".into();
        }
        shown.database.url = mask_url_password(&self.database.url);
        toml::to_string_pretty(&shown).expect("config serialises")
    }
}

fn is_http_url(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://")
}

pub fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 40
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
}

/// `postgres://user:secret@host/db` -> `postgres://user:********@host/db`.
fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:********@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_are_valid_and_embedded() {
        let c = Config::load_with_env(None, env(&[])).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:50051");
        assert!(c.database_url().starts_with("sqlite://"));
        assert!(c.database_url().ends_with("kerndesk.db?mode=rwc"));
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.toml");
        std::fs::write(
            &file,
            "tenant = \"woonstad\"\n[server]\nlisten = \"0.0.0.0:6000\"\n",
        )
        .unwrap();
        let c = Config::load_with_env(
            Some(&file),
            env(&[
                ("KERNDESK__SERVER__LISTEN", "127.0.0.1:7000"),
                (
                    "KERNDESK__SERVER__CORS_ALLOWED_ORIGINS",
                    "https://a.example,https://b.example",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(c.tenant, "woonstad");
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(c.server.cors_allowed_origins.len(), 2);
    }

    #[test]
    fn invalid_values_name_the_key() {
        let err = Config::load_with_env(None, env(&[("KERNDESK__TENANT", "Not A Slug")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`tenant`"), "{err}");
        let err = Config::load_with_env(None, env(&[("KERNDESK__SERVER__LISTEN", "nowhere")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.listen"), "{err}");
        let err = Config::load_with_env(None, env(&[("KERNDESK__AUTH__JWT_SECRET", "short")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("auth.jwt_secret"), "{err}");
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        assert!(Config::load_with_env(Some(Path::new("/nonexistent/k.toml")), env(&[])).is_err());
    }

    #[test]
    fn secrets_are_masked() {
        let c = Config::load_with_env(
            None,
            env(&[
                (
                    "KERNDESK__AUTH__JWT_SECRET",
                    "0123456789abcdef0123456789abcdef",
                ),
                ("KERNDESK__DATABASE__URL", "postgres://kd:hunter2@db/kd"),
            ]),
        )
        .unwrap();
        let shown = c.to_masked_toml();
        assert!(!shown.contains("hunter2") && !shown.contains("0123456789abcdef"));
        assert!(shown.contains("postgres://kd:********@db/kd"));
    }
}

//! Layered configuration: built-in defaults → `config/{env}.toml` → `PV__SECTION__KEY`.
//!
//! Unknown keys and bad values fail start-up with a message naming the key; secrets are held
//! in `secrecy` types so neither `Debug` output nor errors can print them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The built-in defaults, compiled in so an installed binary works without a config directory.
const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration error: {0}")]
    Invalid(String),
    #[error("configuration error: `{key}` {problem}")]
    Key { key: &'static str, problem: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub security: SecuritySettings,
    pub log: LogSettings,
    pub worker: WorkerSettings,
    pub runs: RunSettings,
    pub graph: GraphSettings,
    pub imports: ImportSettings,
    pub schedules: ScheduleSettings,
    #[serde(default)]
    pub retention: RetentionSettings,
    #[serde(default)]
    pub smtp: SmtpSettings,
    #[serde(default)]
    pub shared_app: SharedAppSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// Overrides only the port of `listen` (handy as `PV__SERVER__PORT`).
    #[serde(default)]
    pub port: Option<u16>,
    pub public_url: String,
}

impl ServerSettings {
    pub fn listen_addr(&self) -> SocketAddr {
        let mut addr = self.listen;
        if let Some(port) = self.port {
            addr.set_port(port);
        }
        addr
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May carry a password, hence secret.
    pub url: SecretString,
    pub max_connections: u32,
    pub connect_timeout_secs: u64,
    /// How long a run waits out an unreachable database before it fails `database_error`.
    pub retry_budget_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: SecretString,
    pub key_prefix: String,
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    #[serde(default)]
    pub encryption_key: Option<SecretString>,
    #[serde(default)]
    pub encryption_key_file: Option<PathBuf>,
    #[serde(default)]
    pub create_key_file: bool,
    /// A browser session ends after this long without a request.
    pub session_idle_secs: u64,
    /// A browser session ends this long after sign-in, however active.
    pub session_max_secs: u64,
    /// Failed sign-ins of one account within the window before further attempts get 429.
    pub login_max_failures_per_account: u32,
    /// Failed sign-ins from one client address within the window before it gets 429.
    pub login_max_failures_per_address: u32,
    /// Length of the failure-counting window, counted from the first failure.
    pub login_failure_window_secs: u64,
    /// Take the client address from the last `X-Forwarded-For` entry (behind a proxy).
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Slots per queue a worker starts with, and never goes below.
    pub concurrency: usize,
    /// Slots per queue a worker may grow to while its slots are all busy and the CPU has room;
    /// at or below `concurrency`, the slots stay fixed.
    pub max_concurrency: usize,
    pub listen: SocketAddr,
    pub poll_interval_ms: u64,
    /// How long a stopping worker lets in-flight runs finish before handing them back.
    pub shutdown_grace_secs: u64,
    /// `/healthz` answers 503 once a queue consumer or the reaper has been down this long.
    pub unhealthy_after_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    pub max_attempts: i32,
    pub max_duration_secs: u64,
    pub heartbeat_secs: u64,
    pub stale_after_secs: u64,
    pub reaper_interval_secs: u64,
    pub repush_after_secs: u64,
    pub dedupe_ttl_secs: u64,
    pub tenant_concurrency: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSettings {
    pub graph_base_url: String,
    pub login_base_url: String,
    pub request_timeout_secs: u64,
    /// No retry of a Graph call starts after this many seconds since its first attempt.
    pub retry_budget_secs: u64,
    /// After this many consecutive items of a run fail because Graph is unavailable for the
    /// tenant (outage, throttling, timeouts), the remaining items are not attempted.
    pub outage_item_limit: u32,
    /// GET sub-requests per `$batch` (1 to 20; 1 sends none).
    pub batch_size: usize,
}

/// The scheduler each worker runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    /// How often a worker looks for due schedules, in milliseconds.
    pub poll_ms: u64,
}

/// What a tenant keeps when it is pruned (a `prune` run, usually on a schedule); each value
/// can be overridden per tenant (`PUT /api/v1/tenants/{tenant}/retention`). A snapshot is
/// kept while either snapshot rule keeps it; the newest snapshot, a snapshot a queued or
/// running run reads, and a pre-restore copy younger than the undo window are never pruned.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Keep snapshots younger than this many days (0: no age rule).
    pub snapshot_days: u32,
    /// Keep the newest this many capture snapshots (0: no count rule).
    pub snapshot_keep: u32,
    /// Keep this many versions of each object of a backup set, newest first (0: all).
    pub backup_versions_keep: u32,
    /// Keep finished runs and their item results this many days (0: forever).
    pub run_days: u32,
    /// A live restore can be undone this many days after it finished: its pre-restore copy
    /// and the run itself are kept at least that long.
    pub undo_window_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            snapshot_days: 90,
            snapshot_keep: 10,
            backup_versions_keep: 0,
            run_days: 180,
            undo_window_days: 30,
        }
    }
}

/// E-mail: every notification is also mailed to its recipient, when enabled. The worker
/// sends (retrying with backoff); notifications of the hour before it was enabled are sent
/// too, older ones are not.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    pub enabled: bool,
    /// `smtp://host:587?tls=required` (STARTTLS), `smtps://host:465` (TLS) or
    /// `smtp://host:25` (plain, for a local relay); credentials as `user:password@`.
    pub url: SecretString,
    /// The sender, e.g. `PolicyVault <policyvault@msp.example>`.
    pub from: String,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            url: SecretString::from("smtp://127.0.0.1:25".to_string()),
            from: "PolicyVault <policyvault@localhost>".into(),
        }
    }
}

/// The MSP's one multi-tenant app registration: tenants registered with their Entra
/// directory id alone sign in with it, once their admin consented to it. Give `client_id`
/// and one of `client_secret` and `certificate_file`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharedAppSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// PEM file with the app's certificate and its unencrypted RSA private key.
    pub certificate_file: Option<PathBuf>,
}

/// Uploads of exported objects (`POST /api/v1/tenants/{tenant}/imports`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// Largest upload accepted (bytes); larger ones are answered 413.
    pub max_upload_bytes: u64,
    /// Most files an archive may hold.
    pub max_files: usize,
    /// Largest file inside an archive, unpacked (bytes); larger ones are failed items.
    pub max_file_bytes: u64,
    /// Most bytes an archive may unpack to in all (guards against zip bombs).
    pub max_unpacked_bytes: u64,
}

/// Where settings come from; tests build one by hand to avoid touching the process env.
#[derive(Debug, Clone, Default)]
pub struct SettingsSource {
    /// Directory holding `{env}.toml` files; `config` when not given.
    pub config_dir: Option<PathBuf>,
    /// Environment name (`PV_ENV`), selects `config/{env}.toml`.
    pub env: Option<String>,
    /// Extra `section.key = value` overrides applied last (used by tests and CLI flags).
    pub overrides: Vec<(String, String)>,
    /// Read `PV__SECTION__KEY` variables from the process environment.
    pub use_process_env: bool,
}

impl SettingsSource {
    /// The source used by the binary: `PV_CONFIG_DIR`, `PV_ENV` and the process environment.
    pub fn from_process() -> Self {
        Self {
            config_dir: std::env::var_os("PV_CONFIG_DIR").map(PathBuf::from),
            env: std::env::var("PV_ENV").ok().filter(|e| !e.is_empty()),
            overrides: Vec::new(),
            use_process_env: true,
        }
    }
}

impl Settings {
    pub fn load(source: &SettingsSource) -> Result<Self, SettingsError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        let dir = source
            .config_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("config"));
        if let Some(env) = &source.env {
            let path = dir.join(format!("{env}.toml"));
            if !path.is_file() {
                return Err(SettingsError::Invalid(format!(
                    "PV_ENV={env} but {} does not exist",
                    path.display()
                )));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        if source.use_process_env {
            builder = builder.add_source(
                Environment::with_prefix("PV")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            );
        }
        for (key, value) in &source.overrides {
            builder = builder
                .set_override(key.as_str(), value.as_str())
                .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        }
        let settings: Settings = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| SettingsError::Invalid(describe_config_error(&e)))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let db = self.database.url.expose_secret();
        if !(db.starts_with("postgres://")
            || db.starts_with("postgresql://")
            || db.starts_with("sqlite:"))
        {
            return Err(SettingsError::Key {
                key: "database.url",
                problem: "must start with postgres://, postgresql:// or sqlite:".into(),
            });
        }
        let redis = self.redis.url.expose_secret();
        if !(redis.starts_with("redis://") || redis.starts_with("rediss://")) {
            return Err(SettingsError::Key {
                key: "redis.url",
                problem: "must start with redis:// or rediss://".into(),
            });
        }
        if self.smtp.enabled {
            let url = self.smtp.url.expose_secret();
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(SettingsError::Key {
                    key: "smtp.url",
                    problem: "must start with smtp:// or smtps://".into(),
                });
            }
            if self.smtp.from.parse::<lettre::message::Mailbox>().is_err() {
                return Err(SettingsError::Key {
                    key: "smtp.from",
                    problem: "must be an address, e.g. PolicyVault <policyvault@msp.example>"
                        .into(),
                });
            }
        }
        if self.database.max_connections == 0 {
            return Err(SettingsError::Key {
                key: "database.max_connections",
                problem: "must be at least 1".into(),
            });
        }
        if !(1..=20).contains(&self.graph.batch_size) {
            return Err(SettingsError::Key {
                key: "graph.batch_size",
                problem: "must be 1 to 20 (Graph takes at most 20 requests per $batch)".into(),
            });
        }
        if self.worker.concurrency == 0 {
            return Err(SettingsError::Key {
                key: "worker.concurrency",
                problem: "must be at least 1".into(),
            });
        }
        let runs = &self.runs;
        for (key, value) in [
            ("runs.max_attempts", runs.max_attempts as i64),
            ("runs.max_duration_secs", runs.max_duration_secs as i64),
            ("runs.heartbeat_secs", runs.heartbeat_secs as i64),
            (
                "runs.reaper_interval_secs",
                runs.reaper_interval_secs as i64,
            ),
            ("runs.tenant_concurrency", runs.tenant_concurrency as i64),
        ] {
            if value < 1 {
                return Err(SettingsError::Key {
                    key,
                    problem: "must be at least 1".into(),
                });
            }
        }
        let security = &self.security;
        for (key, value) in [
            ("security.session_idle_secs", security.session_idle_secs),
            ("security.session_max_secs", security.session_max_secs),
            (
                "security.login_max_failures_per_account",
                u64::from(security.login_max_failures_per_account),
            ),
            (
                "security.login_max_failures_per_address",
                u64::from(security.login_max_failures_per_address),
            ),
            (
                "security.login_failure_window_secs",
                security.login_failure_window_secs,
            ),
        ] {
            if value < 1 {
                return Err(SettingsError::Key {
                    key,
                    problem: "must be at least 1".into(),
                });
            }
        }
        if runs.stale_after_secs <= runs.heartbeat_secs {
            return Err(SettingsError::Key {
                key: "runs.stale_after_secs",
                problem: "must be greater than runs.heartbeat_secs".into(),
            });
        }
        if self.redis.key_prefix.is_empty() || self.redis.key_prefix.contains(char::is_whitespace) {
            return Err(SettingsError::Key {
                key: "redis.key_prefix",
                problem: "must be a non-empty word without spaces".into(),
            });
        }
        for (key, url) in [
            ("server.public_url", &self.server.public_url),
            ("graph.graph_base_url", &self.graph.graph_base_url),
            ("graph.login_base_url", &self.graph.login_base_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(SettingsError::Key {
                    key,
                    problem: format!("must be an http:// or https:// URL, got {url:?}"),
                });
            }
        }
        let app = &self.shared_app;
        let client_id = app.client_id.as_deref().map(str::trim);
        match (
            client_id.filter(|c| !c.is_empty()),
            app.client_secret.is_some(),
            app.certificate_file.is_some(),
        ) {
            (None, false, false) => {}
            (None, _, _) => {
                return Err(SettingsError::Key {
                    key: "shared_app.client_id",
                    problem: "must be set with shared_app.client_secret or certificate_file".into(),
                });
            }
            (Some(_), true, true) | (Some(_), false, false) => {
                return Err(SettingsError::Key {
                    key: "shared_app.client_secret",
                    problem: "or shared_app.certificate_file must be set, not both".into(),
                });
            }
            (Some(_), _, _) => {}
        }
        if self.security.encryption_key.is_none() && self.security.encryption_key_file.is_none() {
            return Err(SettingsError::Key {
                key: "security.encryption_key",
                problem: "or security.encryption_key_file must be set".into(),
            });
        }
        Ok(())
    }

    pub fn key_file(&self) -> Option<&Path> {
        self.security.encryption_key_file.as_deref()
    }
}

/// The `config` crate's messages already name the key; strip its wording down to one line
/// and never echo values of secret keys.
fn describe_config_error(error: &config::ConfigError) -> String {
    let text = error.to_string().replace('\n', " ");
    let lowered = text.to_lowercase();
    if ["url", "encryption_key", "client_secret"]
        .iter()
        .any(|k| lowered.contains(k))
        && lowered.contains("invalid")
    {
        // Values of these keys may be secret: keep the key name, drop the value.
        if let Some(pos) = text.find(" for key") {
            return format!("invalid value{}", &text[pos..]);
        }
    }
    text
}

/// Hides credentials in a URL for messages: `postgres://u:secret@h/db` → `postgres://h/db`.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map(|(_, host)| host).unwrap_or(rest);
            let rest = rest.split('?').next().unwrap_or(rest);
            format!("{scheme}://{rest}")
        }
        None => url.split('?').next().unwrap_or(url).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(overrides: &[(&str, &str)]) -> SettingsSource {
        SettingsSource {
            overrides: overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..SettingsSource::default()
        }
    }

    #[test]
    fn defaults_load() {
        let s = Settings::load(&source(&[])).expect("defaults are valid");
        assert_eq!(s.server.listen_addr().port(), 8080);
        assert_eq!(s.redis.key_prefix, "pv");
    }

    #[test]
    fn bad_port_names_the_key() {
        let err = Settings::load(&source(&[("server.port", "abc")])).unwrap_err();
        assert!(err.to_string().contains("server.port"), "{err}");
    }

    #[test]
    fn unknown_key_is_rejected() {
        let err = Settings::load(&source(&[("server.prot", "1")])).unwrap_err();
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn session_and_throttle_defaults() {
        let s = Settings::load(&source(&[])).unwrap();
        assert_eq!(s.security.session_idle_secs, 7200);
        assert_eq!(s.security.login_max_failures_per_account, 5);
        assert!(!s.security.trust_forwarded_for);
        let err = Settings::load(&source(&[("security.session_idle_secs", "0")])).unwrap_err();
        assert!(
            err.to_string().contains("security.session_idle_secs"),
            "{err}"
        );
    }

    #[test]
    fn port_override_applies() {
        let s = Settings::load(&source(&[("server.port", "9999")])).unwrap();
        assert_eq!(s.server.listen_addr().port(), 9999);
    }

    #[test]
    fn secrets_do_not_leak_through_debug_or_errors() {
        let s = Settings::load(&source(&[
            ("database.url", "postgres://pv:hunter2@db/pv"),
            ("security.encryption_key", "c2VjcmV0LWtleQ=="),
        ]))
        .unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2"));
        assert!(!debug.contains("c2VjcmV0LWtleQ"));
        let err =
            Settings::load(&source(&[("database.url", "mysql://pv:hunter2@db/pv")])).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("database.url"));
    }

    #[test]
    fn redact_url_drops_credentials() {
        assert_eq!(
            redact_url("postgres://u:p@h:5432/db?x=1"),
            "postgres://h:5432/db"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6380"),
            "redis://127.0.0.1:6380"
        );
    }
}

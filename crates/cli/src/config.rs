//! Configuration, read once at start: command-line flags and `CREDENCE_*` variables over an
//! optional TOML file over defaults that run the demo with nothing set.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::Args;
use serde::Deserialize;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Holds the SQLite file and uploads.
    #[arg(long, global = true, env = "CREDENCE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://…; defaults to SQLite in the data directory.
    #[arg(
        long,
        global = true,
        env = "CREDENCE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// A TOML file with the same settings (snake_case keys); flags and variables win.
    #[arg(long, global = true, env = "CREDENCE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Fixes "today" for every agency (YYYY-MM-DD), for demos, tests and training.
    #[arg(long, global = true, env = "CREDENCE_TODAY")]
    pub today: Option<NaiveDate>,
    /// Skip bringing the database schema up to date.
    #[arg(long, global = true)]
    pub no_migrate: bool,
    /// Where e-mail goes: smtp://host:port. Without it, messages stay in the outbox.
    #[arg(long, global = true, env = "CREDENCE_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of Credence's e-mail.
    #[arg(long, global = true, env = "CREDENCE_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Where files are kept: s3://bucket (credentials from AWS_* variables); by default a
    /// `files` folder in the data directory.
    #[arg(long, global = true, env = "CREDENCE_FILES_URL")]
    pub files_url: Option<String>,
    /// The address people reach Credence at, for links on certificates and in e-mail.
    #[arg(long, global = true, env = "CREDENCE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Log format: text or json.
    #[arg(long, global = true, env = "CREDENCE_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Reverse proxies (comma-separated IP addresses) whose X-Forwarded-For names the client.
    #[arg(
        long,
        global = true,
        env = "CREDENCE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Send Strict-Transport-Security: browsers then reach Credence only over HTTPS. Set it
    /// only when every address Credence is served at is HTTPS.
    #[arg(long, global = true, env = "CREDENCE_HSTS")]
    pub hsts: bool,
    /// Seconds a connection may take to send a request head (or sit idle between requests)
    /// before it is closed. Default 10.
    #[arg(long, global = true, env = "CREDENCE_HEADER_READ_TIMEOUT_SECS")]
    pub header_read_timeout_secs: Option<u64>,
    /// Connections served at once; more wait to be accepted. Default 1024.
    #[arg(long, global = true, env = "CREDENCE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Minutes a signed-in web session may go unused before it is signed out. Default 30.
    #[arg(long, global = true, env = "CREDENCE_SESSION_IDLE_MINUTES")]
    pub session_idle_minutes: Option<u32>,
    /// A secret /metrics then requires as `Authorization: Bearer <token>`. Without it
    /// /metrics is open to anyone who reaches the server.
    #[arg(
        long,
        global = true,
        env = "CREDENCE_METRICS_TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
    /// Seals the agencies' badge-signing keys at rest: 32 bytes as 64 hex digits or base64
    /// (e.g. `openssl rand -hex 32`). Without it the server does not sign badges; the demo
    /// keeps one of its own in the data directory.
    #[arg(
        long,
        global = true,
        env = "CREDENCE_KEY_ENCRYPTION_KEY",
        hide_env_values = true
    )]
    pub key_encryption_key: Option<String>,
    /// Let webhooks point at loopback addresses (127.0.0.1, localhost). For tests and local
    /// development only: on a server it lets an admin make Credence call services that
    /// listen only on the machine itself.
    #[arg(long, global = true, env = "CREDENCE_WEBHOOKS_ALLOW_LOOPBACK")]
    pub webhooks_allow_loopback: bool,
    /// Seconds a webhook receiver may take to answer before the attempt fails. Default 10.
    #[arg(long, global = true, env = "CREDENCE_WEBHOOK_TIMEOUT_SECS")]
    pub webhook_timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    bind: Option<String>,
    today: Option<NaiveDate>,
    log_format: Option<String>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    files_url: Option<String>,
    public_url: Option<String>,
    trusted_proxies: Option<Vec<std::net::IpAddr>>,
    hsts: Option<bool>,
    header_read_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    session_idle_minutes: Option<u32>,
    metrics_token: Option<String>,
    key_encryption_key: Option<String>,
    webhooks_allow_loopback: Option<bool>,
    webhook_timeout_secs: Option<u64>,
}

/// The settings in force.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub bind: Option<SocketAddr>,
    pub today: Option<NaiveDate>,
    pub migrate: bool,
    pub json_logs: bool,
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    pub files_url: Option<String>,
    pub public_url: Option<String>,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub hsts: bool,
    pub header_read_timeout: std::time::Duration,
    pub max_connections: usize,
    pub session_idle: chrono::Duration,
    pub metrics_token: Option<String>,
    pub key_encryption_key: Option<String>,
    pub webhooks_allow_loopback: bool,
    pub webhook_timeout: std::time::Duration,
}

/// A slow or idle client's connection is closed after this many seconds without a request.
const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
const DEFAULT_MAX_CONNECTIONS: usize = 1024;
const DEFAULT_SESSION_IDLE_MINUTES: u32 = 30;

impl Config {
    pub fn load(args: &GlobalArgs) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./credence-data"));
        let database_url = match args.database_url.clone().or(file.database_url) {
            Some(url) => url,
            None => sqlite_url(&data_dir),
        };
        let bind = match std::env::var("CREDENCE_BIND").ok().or(file.bind) {
            Some(b) => Some(b.parse().with_context(|| {
                format!("CREDENCE_BIND {b:?} is not an address like 127.0.0.1:8080")
            })?),
            None => None,
        };
        let log_format = args
            .log_format
            .clone()
            .or(file.log_format)
            .unwrap_or_else(|| "text".into());
        if !matches!(log_format.as_str(), "text" | "json") {
            bail!("log format must be text or json, not {log_format:?}");
        }
        let header_read_timeout_secs = args
            .header_read_timeout_secs
            .or(file.header_read_timeout_secs)
            .unwrap_or(DEFAULT_HEADER_READ_TIMEOUT_SECS);
        let max_connections = args
            .max_connections
            .or(file.max_connections)
            .unwrap_or(DEFAULT_MAX_CONNECTIONS);
        let session_idle_minutes = args
            .session_idle_minutes
            .or(file.session_idle_minutes)
            .unwrap_or(DEFAULT_SESSION_IDLE_MINUTES);
        let metrics_token = args.metrics_token.clone().or(file.metrics_token);
        if metrics_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            bail!("the metrics token must not be empty");
        }
        let webhook_timeout_secs = args
            .webhook_timeout_secs
            .or(file.webhook_timeout_secs)
            .unwrap_or(10);
        if webhook_timeout_secs == 0 || webhook_timeout_secs > 120 {
            bail!("webhook_timeout_secs must be between 1 and 120");
        }
        if header_read_timeout_secs == 0 || max_connections == 0 || session_idle_minutes == 0 {
            bail!("header_read_timeout_secs, max_connections and session_idle_minutes must be at least 1");
        }
        Ok(Config {
            data_dir,
            database_url,
            bind,
            today: args.today.or(file.today),
            migrate: !args.no_migrate,
            json_logs: log_format == "json",
            smtp_url: args.smtp_url.clone().or(file.smtp_url),
            files_url: args.files_url.clone().or(file.files_url),
            public_url: args.public_url.clone().or(file.public_url),
            trusted_proxies: if args.trusted_proxies.is_empty() {
                file.trusted_proxies.unwrap_or_default()
            } else {
                args.trusted_proxies.clone()
            },
            hsts: args.hsts || file.hsts.unwrap_or(false),
            header_read_timeout: std::time::Duration::from_secs(header_read_timeout_secs),
            max_connections,
            session_idle: chrono::Duration::minutes(i64::from(session_idle_minutes)),
            metrics_token,
            key_encryption_key: args.key_encryption_key.clone().or(file.key_encryption_key),
            webhooks_allow_loopback: args.webhooks_allow_loopback
                || file.webhooks_allow_loopback.unwrap_or(false),
            webhook_timeout: std::time::Duration::from_secs(webhook_timeout_secs),
            smtp_from: args
                .smtp_from
                .clone()
                .or(file.smtp_from)
                .unwrap_or_else(|| "credence@localhost".into()),
        })
    }

    /// Whether the database is the embedded SQLite file (which lives in the data directory).
    pub fn uses_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("credence.sqlite3").display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> GlobalArgs {
        GlobalArgs {
            data_dir: None,
            database_url: None,
            config: None,
            today: None,
            no_migrate: false,
            log_format: None,
            smtp_url: None,
            smtp_from: None,
            files_url: None,
            public_url: None,
            trusted_proxies: Vec::new(),
            hsts: false,
            header_read_timeout_secs: None,
            max_connections: None,
            session_idle_minutes: None,
            metrics_token: None,
            key_encryption_key: None,
            webhooks_allow_loopback: false,
            webhook_timeout_secs: None,
        }
    }

    #[test]
    fn defaults_run_sqlite_in_the_data_dir() {
        let c = Config::load(&args()).unwrap();
        assert_eq!(c.database_url, "sqlite://./credence-data/credence.sqlite3");
        assert!(c.uses_sqlite() && c.migrate && !c.json_logs && !c.hsts);
        assert_eq!(c.header_read_timeout, std::time::Duration::from_secs(10));
        assert_eq!(c.max_connections, 1024);
        assert_eq!(c.session_idle, chrono::Duration::minutes(30));
        assert_eq!(
            c.metrics_token, None,
            "metrics are open unless a token is set"
        );
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = std::env::temp_dir().join(format!("credence-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("credence.toml");
        std::fs::write(
            &file,
            "data_dir = \"/srv/credence\"\ntoday = \"2026-01-02\"\nlog_format = \"json\"\nhsts = true\nmax_connections = 64\nmetrics_token = \"from-file\"\n",
        )
        .unwrap();
        let mut a = args();
        a.config = Some(file.clone());
        a.today = Some("2026-03-04".parse().unwrap());
        let c = Config::load(&a).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/srv/credence"));
        assert_eq!(c.today, Some("2026-03-04".parse().unwrap()));
        assert!(c.json_logs && c.hsts);
        assert_eq!(c.max_connections, 64);
        assert_eq!(c.metrics_token.as_deref(), Some("from-file"));
        std::fs::write(&file, "colour = \"blue\"\n").unwrap();
        assert!(Config::load(&a).is_err(), "unknown keys are refused");
    }
}

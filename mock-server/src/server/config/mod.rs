//! The server's configuration: built-in defaults, then a TOML file, then the environment (for
//! the §8 settings), then command-line flags (for the server keys). Later sources win.
//!
//! The file has two tables. `[server]` holds the mock's own knobs; `[settings]` holds the plugin
//! settings under exactly the names of spec §8 (`CALL_RING_TIMEOUT`, ...), so one name works in
//! the design document, the environment and the file. `assets/mock-server.example.toml`
//! documents every key. Loading is pure apart from reading the file: the environment comes in as
//! a lookup function, so tests never touch the process environment.
//!
//! This file holds the configuration, its defaults and [`load`], which layers the sources. The
//! config file is read and applied in `file`, the environment and the flags in `overrides`;
//! `checks` holds the value checks the three share and `position` locates a problem in the file.

mod checks;
mod file;
mod overrides;
mod position;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};

use zulip_calls_protocol::settings::{Settings, SettingsError};

use self::file::apply_file;
use self::overrides::{apply_env, apply_flags};
use self::position::line_suffix;
use crate::server::realm::{LoadedRealms, RealmError, demo_realms, load_realm_file};
pub use crate::server::telemetry::LogFormat;
use crate::server::tls::TlsSource;

/// Port 9991 on loopback, where a Zulip checkout's dev server listens: clients' defaults fit.
pub const DEFAULT_BIND: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9991));
/// The `db` value for a database that lives only as long as the process.
pub const MEMORY_DB: &str = ":memory:";
/// Where the database goes when the user has no data directory (no home, say).
pub const FALLBACK_DB: &str = "./zulip-calls-mock.sqlite3";
/// Where a generated TLS certificate goes for a database in memory when the user has no data
/// directory.
pub const FALLBACK_TLS_DIR: &str = "./zulip-calls-mock-tls";
pub const DEFAULT_HEARTBEAT_SECONDS: u64 = 60;
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 600;

/// The environment variable that overrides `[server] push_webhook_url`.
pub const PUSH_WEBHOOK_URL: &str = "PUSH_WEBHOOK_URL";

/// The environment variable that overrides `[server] admin_token`.
pub const MOCK_ADMIN_TOKEN: &str = "MOCK_ADMIN_TOKEN";

/// The `admin_token` value (flag, variable or file) that leaves the control API open on
/// purpose, even off loopback, where a token is otherwise generated.
pub const NO_ADMIN_TOKEN: &str = "none";

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// [`MEMORY_DB`] or a path to the SQLite file (its directory may not exist yet).
    pub db: String,
    /// The realm file; `None` means the built-in demo realms.
    pub realm_file: Option<PathBuf>,
    /// The plugin settings of spec §8, validated.
    pub settings: Settings,
    /// How often an idle long-poll (`GET events`) returns a heartbeat event.
    pub heartbeat_seconds: u64,
    /// Larger request bodies are refused before they are parsed.
    pub max_body_bytes: usize,
    /// The rate limit in requests per minute; 0 turns rate limiting off.
    pub rate_limit_per_minute: u32,
    /// Finished calls and ended group calls older than this many days are deleted every
    /// `CALL_CLEANUP_INTERVAL`; `None` keeps them forever.
    pub prune_calls_after_days: Option<u32>,
    /// Every recorded push is also POSTed here as JSON (the outbox entry), when set.
    pub push_webhook_url: Option<String>,
    /// When set, the control API (`/mock/v1/*`, `/metrics`) requires
    /// `Authorization: Bearer <token>`. When unset it is open on loopback, and off loopback
    /// [`Server::start`](crate::Server::start) generates one, unless `control_open`.
    pub admin_token: Option<String>,
    /// `admin_token = "none"`: the control API stays open even off loopback (no token is
    /// generated), for a trusted network.
    pub control_open: bool,
    /// How log lines are written: text for people, JSON for log collectors.
    pub log_format: LogFormat,
    /// Time moves only through `POST /mock/v1/clock/advance` (`serve --virtual-clock`).
    pub virtual_clock: bool,
    /// Where a virtual clock starts; `None` means the wall time at start. Setting it implies
    /// `virtual_clock`.
    pub clock_start: Option<zulip_calls_protocol::Timestamp>,
    /// Serve HTTPS (and WSS) with a certificate generated into [`ServerConfig::tls_dir`] on
    /// first start (`serve --tls`); implied by `tls_cert` and `tls_key`.
    pub tls: bool,
    /// The PEM certificate chain to serve instead of a generated one (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// The private key of `tls_cert`, PEM.
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: DEFAULT_BIND,
            db: default_db(),
            realm_file: None,
            settings: Settings::default(),
            heartbeat_seconds: DEFAULT_HEARTBEAT_SECONDS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            prune_calls_after_days: None,
            push_webhook_url: None,
            admin_token: None,
            control_open: false,
            log_format: LogFormat::Text,
            virtual_clock: false,
            clock_start: None,
            tls: false,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl ServerConfig {
    /// A server for one test or scenario: on loopback at a free port, nothing kept on disk,
    /// `settings` for the plugin, and time moved only through the control API.
    pub fn throwaway(settings: Settings) -> ServerConfig {
        ServerConfig {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            db: MEMORY_DB.to_owned(),
            settings,
            virtual_clock: true,
            ..ServerConfig::default()
        }
    }

    /// Where the server's certificate comes from, when it speaks HTTPS.
    pub fn tls_source(&self) -> Option<TlsSource> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsSource::Files {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ if self.tls => Some(TlsSource::Generated {
                dir: self.tls_dir(),
            }),
            _ => None,
        }
    }

    /// Where a generated certificate is kept: `tls/` beside the database file, or, for a
    /// database in memory, in the user's data directory (`./zulip-calls-mock-tls` without
    /// one), so the certificate clients were told to trust survives restarts.
    pub fn tls_dir(&self) -> PathBuf {
        if self.db == MEMORY_DB {
            return default_tls_dir();
        }
        Path::new(&self.db)
            .parent()
            .unwrap_or(Path::new(""))
            .join("tls")
    }

    /// The realms to serve: the realm file's, or the demo realms when there is none.
    pub fn realms(&self) -> Result<LoadedRealms, RealmError> {
        match &self.realm_file {
            Some(path) => load_realm_file(path),
            None => demo_realms(),
        }
    }
}

/// `zulip-calls-mock/mock.sqlite3` in the user's data directory (`~/.local/share` on Linux), so
/// calls survive restarts without littering the working directory; [`FALLBACK_DB`] without one.
pub fn default_db() -> String {
    directories::BaseDirs::new()
        .map(|dirs| {
            dirs.data_dir()
                .join("zulip-calls-mock")
                .join("mock.sqlite3")
        })
        .and_then(|path| path.into_os_string().into_string().ok())
        .unwrap_or_else(|| FALLBACK_DB.to_owned())
}

/// [`ServerConfig::tls_dir`] for a database in memory.
pub fn default_tls_dir() -> PathBuf {
    directories::BaseDirs::new().map_or_else(
        || PathBuf::from(FALLBACK_TLS_DIR),
        |dirs| dirs.data_dir().join("zulip-calls-mock").join("tls"),
    )
}

/// Command-line overrides of `[server]` keys; `None` leaves the file's (or default) value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFlags {
    pub bind: Option<SocketAddr>,
    pub db: Option<String>,
    pub realm: Option<PathBuf>,
    pub heartbeat_seconds: Option<u64>,
    /// A token, or [`NO_ADMIN_TOKEN`].
    pub admin_token: Option<String>,
    pub log_format: Option<LogFormat>,
    /// `--virtual-clock`: only ever turns the virtual clock on.
    pub virtual_clock: bool,
    pub clock_start: Option<zulip_calls_protocol::Timestamp>,
    /// `--calls-api`: the dialects served (`CALLS_API`), over the environment and the file.
    pub calls_api: Option<zulip_calls_protocol::CallsApi>,
    /// `--compat`: the released plugin's behaviour (`CALLS_COMPAT`), over the environment and
    /// the file.
    pub compat: Option<zulip_calls_protocol::Compat>,
    /// `--tls`: only ever turns TLS on.
    pub tls: bool,
    /// `--tls-cert`, with `--tls-key`.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// Why the configuration was refused. Each message names where the bad value came from and its
/// key; none ever shows `JITSI_JWT_SECRET`'s value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Bad TOML or an unknown table: toml's message and position, without the quoted source
    /// line (which could hold the JWT secret).
    #[error("config file {origin}: {message}")]
    Syntax { origin: String, message: String },
    /// A bad or unknown key in the file; `key` is `server.<name>` or `settings.<NAME>`.
    #[error("config file {origin}: {key}: {problem}{}", line_suffix(*.line))]
    Value {
        origin: String,
        key: String,
        problem: String,
        line: Option<usize>,
    },
    /// An environment variable of a §8 name held a bad value.
    #[error("environment: {0}")]
    Environment(SettingsError),
    /// Settings valid one by one but not together (a JWT secret without an app id), possibly
    /// from different sources.
    #[error("settings: {0}")]
    Combination(SettingsError),
    /// `PUSH_WEBHOOK_URL` is not an http(s) URL.
    #[error("environment: {PUSH_WEBHOOK_URL}: {0}")]
    Webhook(String),
    /// A command-line override was unusable; `flag` is the `[server]` key it overrides.
    #[error("command line: {flag}: {problem}")]
    Flag { flag: &'static str, problem: String },
    /// Only one of `tls_cert` and `tls_key` is set, over all sources.
    #[error(
        "tls_cert and tls_key (--tls-cert and --tls-key) go together: the certificate chain and its private key"
    )]
    TlsPair,
    /// `MOCK_ADMIN_TOKEN` is set but unusable.
    #[error("environment: {MOCK_ADMIN_TOKEN}: {0}")]
    AdminToken(String),
}

impl ConfigError {
    /// The offending key (`settings.CALL_RING_TIMEOUT`, `server.bind`, or an environment
    /// variable's name), when one is to blame.
    pub fn key(&self) -> Option<String> {
        match self {
            ConfigError::Read { .. } | ConfigError::Syntax { .. } => None,
            ConfigError::Value { key, .. } => Some(key.clone()),
            ConfigError::Environment(e) | ConfigError::Combination(e) => Some(e.name().to_owned()),
            ConfigError::Flag { flag, .. } => Some(format!("server.{flag}")),
            ConfigError::Webhook(_) => Some(PUSH_WEBHOOK_URL.to_owned()),
            ConfigError::AdminToken(_) => Some(MOCK_ADMIN_TOKEN.to_owned()),
            ConfigError::TlsPair => Some("server.tls_cert".to_owned()),
        }
    }
}

/// The configuration from defaults, the optional config `file`, the environment (`env` looks a
/// variable up by name, usually `|n| std::env::var(n).ok()`) and command-line `flags`.
///
/// Relative paths in the file (`db`, `realm`) are relative to the file's directory, so a config
/// and its realm file can move together; paths in `flags` are left as given (relative to the
/// working directory).
pub fn load(
    file: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
    flags: &ConfigFlags,
) -> Result<ServerConfig, ConfigError> {
    let mut config = ServerConfig::default();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        apply_file(&mut config, &text, path)?;
    }
    apply_env(&mut config, env)?;
    apply_flags(&mut config, flags)?;
    if config.clock_start.is_some() {
        config.virtual_clock = true;
    }
    match (&config.tls_cert, &config.tls_key) {
        (Some(_), Some(_)) => config.tls = true,
        (None, None) => {}
        _ => return Err(ConfigError::TlsPair),
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use pretty_assertions::assert_eq;

    use super::*;

    pub(super) fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    pub(super) fn no_env(_: &str) -> Option<String> {
        None
    }

    /// Loads `text` as the config file `dir/x.toml`.
    pub(super) fn load_text(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
        flags: &ConfigFlags,
    ) -> Result<ServerConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.toml");
        std::fs::write(&path, text).unwrap();
        load(Some(&path), env, flags)
    }

    /// Applies `text` as if read from `x.toml` (a bare name, so errors are predictable).
    pub(super) fn apply(text: &str) -> Result<ServerConfig, ConfigError> {
        let mut config = ServerConfig::default();
        apply_file(&mut config, text, Path::new("x.toml"))?;
        Ok(config)
    }

    pub(super) fn apply_err(text: &str) -> ConfigError {
        apply(text).unwrap_err()
    }

    #[test]
    fn defaults() {
        let c = ServerConfig::default();
        assert_eq!(c.bind.to_string(), "127.0.0.1:9991");
        assert_eq!(c.realm_file, None);
        assert_eq!(c.settings, Settings::default());
        assert_eq!(c.heartbeat_seconds, 60);
        assert_eq!(c.max_body_bytes, 1_048_576);
        assert_eq!(c.rate_limit_per_minute, 600);
        assert!(
            c.db == FALLBACK_DB
                || Path::new(&c.db).ends_with(Path::new("zulip-calls-mock").join("mock.sqlite3")),
            "{}",
            c.db
        );
        assert_eq!(load(None, no_env, &ConfigFlags::default()).unwrap(), c);
        assert_eq!(c.realms().unwrap(), demo_realms().unwrap());
    }

    #[test]
    fn precedence_is_defaults_then_file_then_env_then_flags() {
        let file = r#"
[server]
bind = "127.0.0.1:1111"
db = ":memory:"
heartbeat_seconds = 10
max_body_bytes = 4096

[settings]
CALL_RING_TIMEOUT = 45
CALL_MAX_DURATION = 100
ENABLE_VIDEO_CALLS = false
"#;
        // File over defaults.
        let c = load_text(file, no_env, &ConfigFlags::default()).unwrap();
        assert_eq!(c.bind.port(), 1111);
        assert_eq!(c.heartbeat_seconds, 10);
        assert_eq!(c.settings.call_ring_timeout, 45);
        assert_eq!(c.settings.call_notification_timeout, 120);
        assert_eq!(c.rate_limit_per_minute, 600);

        // Environment over file (and over defaults).
        let c = load_text(
            file,
            env(&[
                ("CALL_RING_TIMEOUT", "15"),
                ("ENABLE_VIDEO_CALLS", "yes"),
                ("CALL_NOTIFICATION_TIMEOUT", "90"),
            ]),
            &ConfigFlags::default(),
        )
        .unwrap();
        assert_eq!(c.settings.call_ring_timeout, 15);
        assert!(c.settings.enable_video_calls);
        assert_eq!(c.settings.call_notification_timeout, 90);
        assert_eq!(c.settings.call_max_duration, 100);

        // Flags over file.
        let flags = ConfigFlags {
            bind: Some("127.0.0.1:2222".parse().unwrap()),
            db: Some("flag.sqlite3".into()),
            realm: Some("flag-realms.toml".into()),
            heartbeat_seconds: Some(3),
            ..ConfigFlags::default()
        };
        let c = load_text(file, env(&[("CALL_RING_TIMEOUT", "15")]), &flags).unwrap();
        assert_eq!(c.bind.port(), 2222);
        assert_eq!(c.db, "flag.sqlite3");
        assert_eq!(c.realm_file, Some(PathBuf::from("flag-realms.toml")));
        assert_eq!(c.heartbeat_seconds, 3);
        assert_eq!(c.max_body_bytes, 4096);
        assert_eq!(c.settings.call_ring_timeout, 15);

        // Flags over defaults, with no file.
        let c = load(None, no_env, &flags).unwrap();
        assert_eq!(c.bind.port(), 2222);
        assert_eq!(c.heartbeat_seconds, 3);
    }

    #[test]
    fn jwt_secret_may_come_from_a_different_source_than_its_app_id() {
        let c = load_text(
            "[settings]\nJITSI_JWT_SECRET = \"s3cret\"\n",
            env(&[("JITSI_JWT_APP_ID", "zulip")]),
            &ConfigFlags::default(),
        )
        .unwrap();
        assert!(c.settings.jwt_enabled());
        assert_eq!(c.settings.jitsi_jwt_app_id.as_deref(), Some("zulip"));

        let err = load_text(
            "[settings]\nJITSI_JWT_SECRET = \"s3cret\"\n",
            no_env,
            &ConfigFlags::default(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Combination(SettingsError::MissingJwtAppId)
        ));
        assert!(
            err.to_string()
                .starts_with("settings: JITSI_JWT_APP_ID must be set"),
            "{err}"
        );
        assert!(!err.to_string().contains("s3cret"));

        // The environment can switch JWT off again with an empty value.
        let c = load_text(
            "[settings]\nJITSI_JWT_APP_ID = \"zulip\"\nJITSI_JWT_SECRET = \"s3cret\"\n",
            env(&[("JITSI_JWT_SECRET", "")]),
            &ConfigFlags::default(),
        )
        .unwrap();
        assert!(!c.settings.jwt_enabled());

        // Empty strings in the file mean unset, as in the environment.
        let c = apply("[settings]\nJITSI_JWT_APP_ID = \"\"\nJITSI_JWT_SECRET = \"\"\n").unwrap();
        assert_eq!(c.settings.jitsi_jwt_app_id, None);
        assert_eq!(c.settings.jitsi_jwt_secret, None);
    }

    #[test]
    fn the_realm_file_is_loaded_from_the_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("realms.toml"),
            "[[realm]]\nname = \"Solo\"\nurl = \"http://solo\"\n",
        )
        .unwrap();
        let path = dir.path().join("mock.toml");
        std::fs::write(&path, "[server]\nrealm = \"realms.toml\"\n").unwrap();
        let c = load(Some(&path), no_env, &ConfigFlags::default()).unwrap();
        assert_eq!(c.realms().unwrap().realms[0].name, "Solo");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.toml");
        let err = load(Some(&path), no_env, &ConfigFlags::default()).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
        assert!(err.to_string().contains("nope.toml"), "{err}");
    }

    #[test]
    fn none_leaves_the_control_api_open_from_any_source() {
        let open = |c: &ServerConfig| (c.admin_token.clone(), c.control_open);
        let c = load_text(
            "[server]\nadmin_token = \"none\"\n",
            no_env,
            &ConfigFlags::default(),
        )
        .unwrap();
        assert_eq!(open(&c), (None, true));
        let c = load(
            None,
            env(&[(MOCK_ADMIN_TOKEN, "none")]),
            &ConfigFlags::default(),
        )
        .unwrap();
        assert_eq!(open(&c), (None, true));
        let flags = ConfigFlags {
            admin_token: Some("none".into()),
            ..ConfigFlags::default()
        };
        let c = load(None, env(&[(MOCK_ADMIN_TOKEN, "from-env")]), &flags).unwrap();
        assert_eq!(open(&c), (None, true));
        // A token from a later source closes it again.
        let flags = ConfigFlags {
            admin_token: Some("t0ken".into()),
            ..ConfigFlags::default()
        };
        let c = load(None, env(&[(MOCK_ADMIN_TOKEN, "none")]), &flags).unwrap();
        assert_eq!(open(&c), (Some("t0ken".into()), false));
        assert_eq!(open(&ServerConfig::default()), (None, false));
    }

    #[test]
    fn the_log_format_comes_from_the_file_or_the_flag() {
        assert_eq!(ServerConfig::default().log_format, LogFormat::Text);
        let c = load_text(
            "[server]\nlog_format = \"json\"\n",
            no_env,
            &ConfigFlags::default(),
        )
        .unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        let flags = ConfigFlags {
            log_format: Some(LogFormat::Text),
            ..ConfigFlags::default()
        };
        let c = load_text("[server]\nlog_format = \"json\"\n", no_env, &flags).unwrap();
        assert_eq!(c.log_format, LogFormat::Text);
        let err = apply_err("[server]\nlog_format = \"xml\"\n");
        assert!(
            err.to_string()
                .contains("server.log_format: expected \"text\" or \"json\", got \"xml\""),
            "{err}"
        );
    }

    #[test]
    fn the_control_api_token_and_virtual_clock_are_layered() {
        let file = "[server]\nadmin_token = \"from-file\"\nvirtual_clock = true\n";
        let c = load_text(file, no_env, &ConfigFlags::default()).unwrap();
        assert_eq!(c.admin_token.as_deref(), Some("from-file"));
        assert!(c.virtual_clock);
        assert_eq!(c.clock_start, None);

        let c = load_text(
            file,
            env(&[(MOCK_ADMIN_TOKEN, "from-env")]),
            &ConfigFlags::default(),
        )
        .unwrap();
        assert_eq!(c.admin_token.as_deref(), Some("from-env"));
        // An empty variable is unset.
        let c = load_text(
            file,
            env(&[(MOCK_ADMIN_TOKEN, "")]),
            &ConfigFlags::default(),
        )
        .unwrap();
        assert_eq!(c.admin_token.as_deref(), Some("from-file"));

        let start: zulip_calls_protocol::Timestamp = "2026-01-01T09:00:00Z".parse().unwrap();
        let flags = ConfigFlags {
            admin_token: Some("from-flag".into()),
            clock_start: Some(start),
            ..ConfigFlags::default()
        };
        let c = load(None, env(&[(MOCK_ADMIN_TOKEN, "from-env")]), &flags).unwrap();
        assert_eq!(c.admin_token.as_deref(), Some("from-flag"));
        // A start time implies the virtual clock.
        assert!(c.virtual_clock);
        assert_eq!(c.clock_start, Some(start));

        // The file takes a string or a TOML date-time.
        for line in [
            "clock_start = \"2026-01-01T10:00:00+01:00\"",
            "clock_start = 2026-01-01T09:00:00Z",
        ] {
            let c = apply(&format!("[server]\n{line}\n")).unwrap();
            assert_eq!(c.clock_start, Some(start), "{line}");
        }
    }

    #[test]
    fn tls_is_generated_beside_the_database_or_read_from_a_pair_of_files() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("mock.sqlite3").display().to_string();
        let flags = ConfigFlags {
            db: Some(db),
            tls: true,
            ..ConfigFlags::default()
        };
        let c = load(None, no_env, &flags).unwrap();
        assert_eq!(
            c.tls_source(),
            Some(TlsSource::Generated {
                dir: dir.path().join("tls")
            })
        );
        assert_eq!(
            load(None, no_env, &ConfigFlags::default())
                .unwrap()
                .tls_source(),
            None
        );

        let c = load_text(
            "[server]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
            no_env,
            &ConfigFlags::default(),
        )
        .unwrap();
        assert!(c.tls);
        assert!(matches!(c.tls_source(), Some(TlsSource::Files { .. })));

        let err = load_text(
            "[server]\ntls_cert = \"c.pem\"\n",
            no_env,
            &ConfigFlags::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::TlsPair), "{err}");
        assert_eq!(err.key().as_deref(), Some("server.tls_cert"));
    }
}

//! The server's configuration: built-in defaults, then a TOML file, then the environment (for
//! the §8 settings), then command-line flags (for the server keys). Later sources win.
//!
//! The file has two tables. `[server]` holds the mock's own knobs; `[settings]` holds the plugin
//! settings under exactly the names of spec §8 (`CALL_RING_TIMEOUT`, ...), so one name works in
//! the design document, the environment and the file. `assets/mock-server.example.toml`
//! documents every key. Loading is pure apart from reading the file: the environment comes in as
//! a lookup function, so tests never touch the process environment.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Spanned, Value};
use zulip_calls_protocol::settings::{self as names, Settings, SettingsError};

use crate::realm::{LoadedRealms, RealmError, demo_realms, load_realm_file};

/// Port 9991 on loopback, where a Zulip checkout's dev server listens: clients' defaults fit.
pub const DEFAULT_BIND: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9991));
/// The `db` value for a database that lives only as long as the process.
pub const MEMORY_DB: &str = ":memory:";
/// Where the database goes when the user has no data directory (no home, say).
pub const FALLBACK_DB: &str = "./zulip-calls-mock.sqlite3";
pub const DEFAULT_HEARTBEAT_SECONDS: u64 = 60;
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 600;

/// The keys of the `[server]` table, for error messages.
const SERVER_KEYS: &str = "bind, db, realm, heartbeat_seconds, max_body_bytes, rate_limit_per_minute, prune_calls_after_days, push_webhook_url, admin_token, virtual_clock, clock_start";

/// The environment variable that overrides `[server] push_webhook_url`.
pub const PUSH_WEBHOOK_URL: &str = "PUSH_WEBHOOK_URL";

/// The environment variable that overrides `[server] admin_token`.
pub const MOCK_ADMIN_TOKEN: &str = "MOCK_ADMIN_TOKEN";

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
    /// Finished calls older than this many days are deleted every `CALL_CLEANUP_INTERVAL`;
    /// `None` keeps them forever.
    pub prune_calls_after_days: Option<u32>,
    /// Every recorded push is also POSTed here as JSON (the outbox entry), when set.
    pub push_webhook_url: Option<String>,
    /// When set, the control API (`/mock/v1/*`, `/metrics`) requires
    /// `Authorization: Bearer <token>`; otherwise it is open (the server binds to localhost).
    pub admin_token: Option<String>,
    /// Time moves only through `POST /mock/v1/clock/advance` (`serve --virtual-clock`).
    pub virtual_clock: bool,
    /// Where a virtual clock starts; `None` means the wall time at start. Setting it implies
    /// `virtual_clock`.
    pub clock_start: Option<zulip_calls_protocol::Timestamp>,
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
            virtual_clock: false,
            clock_start: None,
        }
    }
}

impl ServerConfig {
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

/// Command-line overrides of `[server]` keys; `None` leaves the file's (or default) value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFlags {
    pub bind: Option<SocketAddr>,
    pub db: Option<String>,
    pub realm: Option<PathBuf>,
    pub heartbeat_seconds: Option<u64>,
    pub admin_token: Option<String>,
    /// `--virtual-clock`: only ever turns the virtual clock on.
    pub virtual_clock: bool,
    pub clock_start: Option<zulip_calls_protocol::Timestamp>,
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
        }
    }
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|n| format!(" (line {n})")).unwrap_or_default()
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
    // Every file value was checked on its own, so what fails now is an environment value or
    // the one cross-setting rule.
    config.settings = config.settings.with_overrides(&env).map_err(|e| match e {
        SettingsError::MissingJwtAppId => ConfigError::Combination(e),
        other => ConfigError::Environment(other),
    })?;
    if let Some(url) = env(PUSH_WEBHOOK_URL).filter(|u| !u.trim().is_empty()) {
        config.push_webhook_url = Some(http_url(url.trim()).map_err(ConfigError::Webhook)?);
    }
    // Empty means unset, as for the other variables.
    if let Some(token) = env(MOCK_ADMIN_TOKEN).filter(|t| !t.is_empty()) {
        config.admin_token = Some(admin_token(&token).map_err(ConfigError::AdminToken)?);
    }
    apply_flags(&mut config, flags)?;
    if config.clock_start.is_some() {
        config.virtual_clock = true;
    }
    Ok(config)
}

/// Checks a control API token: it travels in an `Authorization` header, so it must be
/// non-empty visible ASCII without spaces. The error never shows the token.
fn admin_token(token: &str) -> Result<String, String> {
    if token.is_empty() {
        Err("expected a non-empty token".to_owned())
    } else if !token.bytes().all(|b| b.is_ascii_graphic()) {
        Err("expected visible ASCII characters without spaces".to_owned())
    } else {
        Ok(token.to_owned())
    }
}

/// Reads a `clock_start`: an RFC 3339 time, as a string or a TOML date-time.
fn clock_start(value: &Value) -> Result<zulip_calls_protocol::Timestamp, String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Datetime(d) => d.to_string(),
        other => {
            return Err(format!(
                "expected an RFC 3339 time such as \"2026-01-01T09:00:00Z\", got {}",
                got(other)
            ));
        }
    };
    text.parse().map_err(|_| {
        format!("expected an RFC 3339 time such as \"2026-01-01T09:00:00Z\", got {text:?}")
    })
}

/// Checks that `text` is an absolute http(s) URL.
fn http_url(text: &str) -> Result<String, String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            Ok(text.to_owned())
        }
        _ => Err(format!("expected an http(s) URL, got {text:?}")),
    }
}

/// The file as written: two optional tables; any other top-level key is toml's error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: BTreeMap<String, Spanned<Value>>,
    #[serde(default)]
    settings: BTreeMap<String, Spanned<Value>>,
}

/// Applies the config file `text` (read from `path`) over `config`.
fn apply_file(config: &mut ServerConfig, text: &str, path: &Path) -> Result<(), ConfigError> {
    let origin = path.display().to_string();
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        origin: origin.clone(),
        message: match e.span() {
            Some(span) => format!(
                "TOML parse error at {}: {}",
                position(text, span.start),
                e.message().trim_end()
            ),
            None => e.message().trim_end().to_owned(),
        },
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let error =
        |table: &str, key: &str, value: &Spanned<Value>, problem: String| ConfigError::Value {
            origin: origin.clone(),
            key: format!("{table}.{key}"),
            problem,
            line: Some(line_of(text, value.span().start)),
        };
    for (key, value) in &raw.server {
        apply_server_key(config, key, value.get_ref(), base)
            .map_err(|problem| error("server", key, value, problem))?;
    }
    for (key, value) in &raw.settings {
        apply_setting(&mut config.settings, key, value.get_ref())
            .map_err(|problem| error("settings", key, value, problem))?;
    }
    Ok(())
}

/// Sets one `[server]` key; the error is the problem, without the key.
fn apply_server_key(
    config: &mut ServerConfig,
    key: &str,
    value: &Value,
    base: &Path,
) -> Result<(), String> {
    match key {
        "bind" => {
            config.bind = string(value)?.parse().map_err(|_| {
                format!(
                    "expected an IP address and port such as \"127.0.0.1:9991\", got {}",
                    got(value)
                )
            })?;
        }
        "db" => {
            let db = non_empty_path(value, "\":memory:\" or a file path")?;
            config.db = if db == MEMORY_DB {
                db
            } else {
                base.join(&db).into_os_string().into_string().map_err(|_| {
                    "the path, joined to the config file's directory, is not UTF-8".to_owned()
                })?
            };
        }
        "realm" => {
            let realm = non_empty_path(value, "the path of a realm file")?;
            config.realm_file = Some(base.join(realm));
        }
        "heartbeat_seconds" => config.heartbeat_seconds = positive(value)?,
        "max_body_bytes" => {
            config.max_body_bytes = usize::try_from(positive(value)?)
                .map_err(|_| format!("{} is too large for this machine", got(value)))?;
        }
        "rate_limit_per_minute" => {
            config.rate_limit_per_minute = match value {
                Value::Integer(n) => u32::try_from(*n).ok(),
                _ => None,
            }
            .ok_or_else(|| {
                format!(
                    "expected an integer from 0 (no limit) to {}, got {}",
                    u32::MAX,
                    got(value)
                )
            })?;
        }
        "prune_calls_after_days" => {
            config.prune_calls_after_days = Some(
                match value {
                    Value::Integer(n) => u32::try_from(*n).ok().filter(|n| *n > 0),
                    _ => None,
                }
                .ok_or_else(|| format!("expected a positive number of days, got {}", got(value)))?,
            );
        }
        "push_webhook_url" => {
            let Value::String(url) = value else {
                return Err(format!("expected an http(s) URL, got {}", got(value)));
            };
            config.push_webhook_url = Some(http_url(url)?);
        }
        "admin_token" => {
            let Value::String(token) = value else {
                // Not `got`: a mistyped token is not echoed.
                return Err(format!("expected a string, got {}", a_type(value)));
            };
            config.admin_token = Some(admin_token(token)?);
        }
        "virtual_clock" => config.virtual_clock = boolean(value)?,
        "clock_start" => config.clock_start = Some(clock_start(value)?),
        _ => return Err(format!("unknown key (the [server] keys are {SERVER_KEYS})")),
    }
    Ok(())
}

/// Sets one `[settings]` key (a §8 name); the error is the problem, without the key.
///
/// Values are checked here, one by one, so errors name the file's key rather than surfacing
/// later as if they came from the environment.
fn apply_setting(s: &mut Settings, key: &str, value: &Value) -> Result<(), String> {
    match key {
        names::JITSI_SERVER_URL => {
            let candidate = Settings {
                jitsi_server_url: string(value)?,
                ..Settings::default()
            };
            s.jitsi_server_url = candidate.validate().map_err(describe)?.jitsi_server_url;
        }
        names::JITSI_MEETING_PREFIX => {
            let candidate = Settings {
                jitsi_meeting_prefix: string(value)?,
                ..Settings::default()
            };
            s.jitsi_meeting_prefix = candidate.validate().map_err(describe)?.jitsi_meeting_prefix;
        }
        names::JITSI_JWT_AUDIENCE => s.jitsi_jwt_audience = string(value)?,
        names::CALL_PUSH_NOTIFICATION_SOUND => s.call_push_notification_sound = string(value)?,
        // Empty means unset, as for the environment variables.
        names::JITSI_JWT_APP_ID => {
            s.jitsi_jwt_app_id = Some(string(value)?).filter(|v| !v.is_empty())
        }
        names::JITSI_JWT_SECRET => {
            let secret = match value {
                Value::String(v) => v.clone(),
                // Not `got`: even a mistyped secret is not echoed.
                other => return Err(format!("expected a string, got {}", a_type(other))),
            };
            s.jitsi_jwt_secret = Some(secret).filter(|v| !v.is_empty());
        }
        names::JITSI_API_ENABLED => s.jitsi_api_enabled = boolean(value)?,
        names::CALL_PUSH_NOTIFICATION_ENABLED => s.call_push_notification_enabled = boolean(value)?,
        names::ENABLE_VIDEO_CALLS => s.enable_video_calls = boolean(value)?,
        names::ENABLE_AUDIO_CALLS => s.enable_audio_calls = boolean(value)?,
        names::ENABLE_CALL_HISTORY => s.enable_call_history = boolean(value)?,
        names::CALL_NOTIFICATION_TIMEOUT => s.call_notification_timeout = positive(value)?,
        names::CALL_RING_TIMEOUT => s.call_ring_timeout = positive(value)?,
        names::CALL_MAX_DURATION => s.call_max_duration = positive(value)?,
        names::CALL_CLEANUP_INTERVAL => s.call_cleanup_interval = positive(value)?,
        names::EVENT_QUEUE_LIFESPAN => s.event_queue_lifespan = positive(value)?,
        _ => {
            let upper = key.to_ascii_uppercase();
            return Err(if Settings::NAMES.contains(&upper.as_str()) {
                format!(
                    "unknown setting; did you mean {upper}? (settings are spelt in upper case, as in spec §8)"
                )
            } else {
                format!(
                    "unknown setting (the settings are {})",
                    Settings::NAMES.join(", ")
                )
            });
        }
    }
    Ok(())
}

/// Applies the command-line overrides, which win over everything.
fn apply_flags(config: &mut ServerConfig, flags: &ConfigFlags) -> Result<(), ConfigError> {
    if let Some(bind) = flags.bind {
        config.bind = bind;
    }
    if let Some(db) = &flags.db {
        if db.trim().is_empty() {
            return Err(ConfigError::Flag {
                flag: "db",
                problem: "expected \":memory:\" or a file path, got an empty string".to_owned(),
            });
        }
        config.db.clone_from(db);
    }
    if let Some(realm) = &flags.realm {
        config.realm_file = Some(realm.clone());
    }
    if let Some(seconds) = flags.heartbeat_seconds {
        if seconds == 0 {
            return Err(ConfigError::Flag {
                flag: "heartbeat_seconds",
                problem: "expected a positive integer, got 0".to_owned(),
            });
        }
        config.heartbeat_seconds = seconds;
    }
    if let Some(token) = &flags.admin_token {
        config.admin_token = Some(admin_token(token).map_err(|problem| ConfigError::Flag {
            flag: "admin_token",
            problem,
        })?);
    }
    if flags.virtual_clock {
        config.virtual_clock = true;
    }
    if let Some(start) = flags.clock_start {
        config.clock_start = Some(start);
    }
    Ok(())
}

/// The problem a single-setting [`Settings::validate`] found, phrased like this module's others.
fn describe(error: SettingsError) -> String {
    match error {
        SettingsError::BadUrl { value, reason, .. } => {
            format!(
                "expected an http(s) URL with a host and no query or fragment, got {value:?} ({reason})"
            )
        }
        SettingsError::BadPrefix { value, .. } => format!(
            "expected only ASCII letters, digits, '-', '_', '.' and '~' (it is part of the room URL), got {value:?}"
        ),
        other => other.to_string(),
    }
}

fn string(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("expected a string, got {}", got(other))),
    }
}

fn non_empty_path(value: &Value, expected: &str) -> Result<String, String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        other => Err(format!("expected {expected}, got {}", got(other))),
    }
}

fn boolean(value: &Value) -> Result<bool, String> {
    match value {
        Value::Boolean(b) => Ok(*b),
        other => Err(format!("expected true or false, got {}", got(other))),
    }
}

/// A positive integer: zero durations would fire at once or spin.
fn positive(value: &Value) -> Result<u64, String> {
    match value {
        Value::Integer(n) if *n > 0 => Ok(n.unsigned_abs()),
        other => Err(format!("expected a positive integer, got {}", got(other))),
    }
}

/// A value as the user wrote it, for "got ..." (strings quoted; arrays and tables by kind).
fn got(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Integer(_) | Value::Float(_) | Value::Boolean(_) | Value::Datetime(_) => {
            value.to_string()
        }
        Value::Array(_) | Value::Table(_) => a_type(value).to_owned(),
    }
}

fn a_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// `line L, column C` (1-based, columns in characters) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    format!("line {}, column {column}", line_of(text, offset))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use pretty_assertions::assert_eq;

    use super::*;

    const EXAMPLE: &str = include_str!("../../assets/mock-server.example.toml");

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// Loads `text` as the config file `dir/x.toml`.
    fn load_text(
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
    fn apply(text: &str) -> Result<ServerConfig, ConfigError> {
        let mut config = ServerConfig::default();
        apply_file(&mut config, text, Path::new("x.toml"))?;
        Ok(config)
    }

    fn apply_err(text: &str) -> ConfigError {
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
    fn a_file_sets_every_key() {
        let c = load_text(
            r#"
[server]
bind = "0.0.0.0:8080"
db = ":memory:"
realm = "/srv/realms.toml"
heartbeat_seconds = 5
max_body_bytes = 2048
rate_limit_per_minute = 0

[settings]
JITSI_SERVER_URL = "https://Jitsi.Example.com/"
JITSI_MEETING_PREFIX = "acme-"
JITSI_API_ENABLED = false
JITSI_JWT_APP_ID = "zulip"
JITSI_JWT_SECRET = "s3cret"
JITSI_JWT_AUDIENCE = "meet"
CALL_NOTIFICATION_TIMEOUT = 60
CALL_RING_TIMEOUT = 15
CALL_MAX_DURATION = 7200
CALL_CLEANUP_INTERVAL = 30
CALL_PUSH_NOTIFICATION_ENABLED = false
CALL_PUSH_NOTIFICATION_SOUND = "bell.caf"
ENABLE_VIDEO_CALLS = false
ENABLE_AUDIO_CALLS = true
ENABLE_CALL_HISTORY = false
EVENT_QUEUE_LIFESPAN = 900
"#,
            no_env,
            &ConfigFlags::default(),
        )
        .unwrap();
        assert_eq!(
            c,
            ServerConfig {
                bind: "0.0.0.0:8080".parse().unwrap(),
                db: ":memory:".into(),
                realm_file: Some("/srv/realms.toml".into()),
                settings: Settings {
                    jitsi_server_url: "https://jitsi.example.com".into(),
                    jitsi_meeting_prefix: "acme-".into(),
                    jitsi_api_enabled: false,
                    jitsi_jwt_app_id: Some("zulip".into()),
                    jitsi_jwt_secret: Some("s3cret".into()),
                    jitsi_jwt_audience: "meet".into(),
                    call_notification_timeout: 60,
                    call_ring_timeout: 15,
                    call_max_duration: 7200,
                    call_cleanup_interval: 30,
                    call_push_notification_enabled: false,
                    call_push_notification_sound: "bell.caf".into(),
                    enable_video_calls: false,
                    enable_audio_calls: true,
                    enable_call_history: false,
                    event_queue_lifespan: 900,
                },
                heartbeat_seconds: 5,
                max_body_bytes: 2048,
                rate_limit_per_minute: 0,
                prune_calls_after_days: None,
                push_webhook_url: None,
                admin_token: None,
                virtual_clock: false,
                clock_start: None,
            }
        );
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
    fn env_is_read_only_for_the_section_8_names_and_the_push_webhook() {
        let seen = std::cell::RefCell::new(Vec::new());
        load(
            None,
            |name| {
                seen.borrow_mut().push(name.to_owned());
                None
            },
            &ConfigFlags::default(),
        )
        .unwrap();
        let mut seen = seen.into_inner();
        seen.sort();
        let mut expected: Vec<String> = Settings::NAMES.iter().map(|n| (*n).to_owned()).collect();
        expected.push(PUSH_WEBHOOK_URL.to_owned());
        expected.push(MOCK_ADMIN_TOKEN.to_owned());
        expected.sort();
        assert_eq!(seen, expected);
    }

    #[test]
    fn bad_setting_values_name_their_key() {
        let err = apply_err("[settings]\nCALL_RING_TIMEOUT = \"soon\"\n");
        assert_eq!(
            err.to_string(),
            "config file x.toml: settings.CALL_RING_TIMEOUT: expected a positive integer, got \"soon\" (line 2)"
        );
        assert_eq!(err.key().as_deref(), Some("settings.CALL_RING_TIMEOUT"));

        let cases = [
            (
                "CALL_NOTIFICATION_TIMEOUT = 0",
                "expected a positive integer, got 0",
            ),
            (
                "CALL_MAX_DURATION = -5",
                "expected a positive integer, got -5",
            ),
            (
                "CALL_CLEANUP_INTERVAL = 1.5",
                "expected a positive integer, got 1.5",
            ),
            (
                "EVENT_QUEUE_LIFESPAN = [600]",
                "expected a positive integer, got an array",
            ),
            (
                "ENABLE_AUDIO_CALLS = \"yes\"",
                "expected true or false, got \"yes\"",
            ),
            ("JITSI_API_ENABLED = 1", "expected true or false, got 1"),
            (
                "CALL_PUSH_NOTIFICATION_ENABLED = {}",
                "expected true or false, got a table",
            ),
            (
                "CALL_PUSH_NOTIFICATION_SOUND = 3",
                "expected a string, got 3",
            ),
            ("JITSI_JWT_AUDIENCE = true", "expected a string, got true"),
            ("JITSI_JWT_APP_ID = 7", "expected a string, got 7"),
            (
                "JITSI_SERVER_URL = \"ftp://meet.example\"",
                "expected an http(s) URL",
            ),
            ("JITSI_SERVER_URL = \"meet.jit.si\"", "got \"meet.jit.si\""),
            ("JITSI_MEETING_PREFIX = \"my room\"", "got \"my room\""),
        ];
        for (line, expected) in cases {
            let key = line.split(' ').next().unwrap_or_default();
            let err = apply_err(&format!("[settings]\n{line}\n"));
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("config file x.toml: settings.{key}: ")),
                "{line}: {text}"
            );
            assert!(text.contains(expected), "{line}: {text}");
            assert_eq!(err.key(), Some(format!("settings.{key}")));
        }
    }

    #[test]
    fn bad_server_values_name_their_key() {
        let cases = [
            (
                "bind = \"localhost:9991\"",
                "expected an IP address and port such as \"127.0.0.1:9991\", got \"localhost:9991\"",
            ),
            ("bind = 9991", "expected a string, got 9991"),
            (
                "db = \"\"",
                "expected \":memory:\" or a file path, got \"\"",
            ),
            (
                "db = false",
                "expected \":memory:\" or a file path, got false",
            ),
            (
                "realm = \" \"",
                "expected the path of a realm file, got \" \"",
            ),
            (
                "heartbeat_seconds = 0",
                "expected a positive integer, got 0",
            ),
            (
                "heartbeat_seconds = \"60\"",
                "expected a positive integer, got \"60\"",
            ),
            ("max_body_bytes = -1", "expected a positive integer, got -1"),
            (
                "rate_limit_per_minute = -1",
                "expected an integer from 0 (no limit) to 4294967295, got -1",
            ),
            ("rate_limit_per_minute = 4294967296", "got 4294967296"),
            ("rate_limit_per_minute = 1.0", "got 1.0"),
        ];
        for (line, expected) in cases {
            let key = line.split(' ').next().unwrap_or_default();
            let err = apply_err(&format!("[server]\n{line}\n"));
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("config file x.toml: server.{key}: ")),
                "{line}: {text}"
            );
            assert!(text.contains(expected), "{line}: {text}");
            assert!(text.ends_with(" (line 2)"), "{line}: {text}");
            assert_eq!(err.key(), Some(format!("server.{key}")));
        }
        // The maximum rate is accepted.
        assert_eq!(
            apply("[server]\nrate_limit_per_minute = 4294967295\n")
                .unwrap()
                .rate_limit_per_minute,
            u32::MAX
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = apply_err("[settings]\nCALL_RING_TIMOUT = 30\n");
        assert_eq!(
            err.key().as_deref(),
            Some(
                "settings.CALL_RING_TIMOUT"
                    .replace("TIMEOUT", "TIMOUT")
                    .as_str()
            )
        );
        assert!(
            err.to_string()
                .contains("unknown setting (the settings are JITSI_SERVER_URL, "),
            "{err}"
        );

        let err = apply_err("[settings]\ncall_ring_timeout = 30\n");
        assert!(
            err.to_string().contains("did you mean CALL_RING_TIMEOUT?"),
            "{err}"
        );

        let err = apply_err("[server]\nport = 9991\n");
        assert_eq!(
            err.to_string(),
            "config file x.toml: server.port: unknown key (the [server] keys are bind, db, realm, \
             heartbeat_seconds, max_body_bytes, rate_limit_per_minute, prune_calls_after_days, \
             push_webhook_url, admin_token, virtual_clock, clock_start) (line 2)"
        );

        // An unknown table is toml's error, with its position.
        let err = apply_err("[server]\n\n[sever]\nbind = \"127.0.0.1:1\"\n");
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with("config file x.toml: "), "{text}");
        assert!(text.contains("sever") && text.contains("line 3"), "{text}");

        let err = apply_err("bind = \"127.0.0.1:1\"\n");
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
    }

    #[test]
    fn syntax_errors_keep_tomls_position() {
        let err = apply_err("[server]\nbind = \n");
        let text = err.to_string();
        assert!(text.starts_with("config file x.toml: "), "{text}");
        assert!(text.contains("line 2"), "{text}");
        assert_eq!(err.key(), None);

        let err = apply_err("server = 3\n");
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");

        // toml's quoted source line is left out: it could be the secret's.
        let err = apply_err("[settings]\nJITSI_JWT_SECRET = s3cret\n");
        let text = err.to_string();
        assert!(
            text.starts_with("config file x.toml: TOML parse error at line 2, column 20: "),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn bad_environment_values_name_the_variable() {
        let err = load(
            None,
            env(&[("CALL_RING_TIMEOUT", "soon")]),
            &ConfigFlags::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment: CALL_RING_TIMEOUT=\"soon\" is not a whole number of seconds"
        );
        assert_eq!(err.key().as_deref(), Some("CALL_RING_TIMEOUT"));

        // A bad environment value is an error even when the file's value is fine.
        let err = load_text(
            "[settings]\nENABLE_AUDIO_CALLS = true\n",
            env(&[("ENABLE_AUDIO_CALLS", "maybe")]),
            &ConfigFlags::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::Environment(_)), "{err:?}");
        assert_eq!(err.key().as_deref(), Some("ENABLE_AUDIO_CALLS"));

        // ... and a good one rescues nothing: the file is checked on its own.
        let err = load_text(
            "[settings]\nCALL_RING_TIMEOUT = 0\n",
            env(&[("CALL_RING_TIMEOUT", "30")]),
            &ConfigFlags::default(),
        )
        .unwrap_err();
        assert_eq!(err.key().as_deref(), Some("settings.CALL_RING_TIMEOUT"));
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
    fn a_mistyped_secret_is_not_echoed() {
        let err = apply_err("[settings]\nJITSI_JWT_SECRET = 123456789\n");
        let text = err.to_string();
        assert!(!text.contains("123456789"), "{text}");
        assert!(
            text.contains("settings.JITSI_JWT_SECRET: expected a string, got an integer"),
            "{text}"
        );
    }

    #[test]
    fn relative_paths_in_the_file_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let conf_dir = dir.path().join("conf");
        std::fs::create_dir(&conf_dir).unwrap();
        let path = conf_dir.join("mock.toml");
        std::fs::write(
            &path,
            "[server]\ndb = \"data/mock.sqlite3\"\nrealm = \"realms.toml\"\n",
        )
        .unwrap();
        let c = load(Some(&path), no_env, &ConfigFlags::default()).unwrap();
        assert_eq!(Path::new(&c.db), conf_dir.join("data/mock.sqlite3"));
        assert_eq!(c.realm_file, Some(conf_dir.join("realms.toml")));

        // Absolute paths and the in-memory database are taken as they are.
        let absolute = dir.path().join("abs.sqlite3");
        std::fs::write(
            &path,
            format!("[server]\ndb = {:?}\n", absolute.display().to_string()),
        )
        .unwrap();
        let c = load(Some(&path), no_env, &ConfigFlags::default()).unwrap();
        assert_eq!(Path::new(&c.db), absolute);
        let c = apply("[server]\ndb = \":memory:\"\n").unwrap();
        assert_eq!(c.db, MEMORY_DB);
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
    fn bad_flags_name_their_key() {
        let flags = ConfigFlags {
            heartbeat_seconds: Some(0),
            ..ConfigFlags::default()
        };
        let err = load(None, no_env, &flags).unwrap_err();
        assert_eq!(
            err.to_string(),
            "command line: heartbeat_seconds: expected a positive integer, got 0"
        );
        assert_eq!(err.key().as_deref(), Some("server.heartbeat_seconds"));

        let flags = ConfigFlags {
            db: Some(String::new()),
            ..ConfigFlags::default()
        };
        let err = load(None, no_env, &flags).unwrap_err();
        assert_eq!(err.key().as_deref(), Some("server.db"));
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
    fn an_empty_file_changes_nothing() {
        let c = load_text("# nothing yet\n", no_env, &ConfigFlags::default()).unwrap();
        assert_eq!(c, ServerConfig::default());
        let c = load_text("[server]\n[settings]\n", no_env, &ConfigFlags::default()).unwrap();
        assert_eq!(c, ServerConfig::default());
    }

    #[test]
    fn the_example_config_is_the_defaults_but_for_the_database() {
        let mut config = ServerConfig::default();
        apply_file(
            &mut config,
            EXAMPLE,
            Path::new("assets/mock-server.example.toml"),
        )
        .unwrap();
        let config = ServerConfig {
            settings: config.settings.validate().unwrap(),
            ..config
        };
        // Deliberately different: the example keeps nothing on disk.
        assert_eq!(config.db, MEMORY_DB);
        assert_eq!(
            config,
            ServerConfig {
                db: MEMORY_DB.to_owned(),
                ..ServerConfig::default()
            }
        );
    }

    #[test]
    fn the_example_config_mentions_every_key() {
        for key in SERVER_KEYS.split(", ") {
            assert!(
                EXAMPLE.contains(&format!("\n{key} = "))
                    || EXAMPLE.contains(&format!("\n# {key} = ")),
                "{key}"
            );
        }
        for name in Settings::NAMES {
            assert!(
                EXAMPLE.contains(&format!("\n{name} = "))
                    || EXAMPLE.contains(&format!("\n# {name} = ")),
                "{name}"
            );
        }
        // Uncommenting the commented-out examples gives a valid file too.
        let uncommented: String = EXAMPLE
            .lines()
            .map(|line| {
                let rest = line.strip_prefix("# ").unwrap_or(line);
                let is_key = rest.split_once(" = ").is_some_and(|(k, _)| {
                    SERVER_KEYS.split(", ").any(|s| s == k) || Settings::NAMES.contains(&k)
                });
                if is_key { rest } else { line }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let mut config = ServerConfig::default();
        apply_file(&mut config, &uncommented, Path::new("example.toml")).unwrap();
        assert!(config.settings.validate().is_ok());
    }

    #[test]
    fn the_push_webhook_comes_from_the_file_or_the_environment() {
        let flags = ConfigFlags::default();
        let none = load(None, |_| None, &flags).unwrap();
        assert_eq!(none.push_webhook_url, None);
        let env = load(
            None,
            |name| (name == PUSH_WEBHOOK_URL).then(|| "http://127.0.0.1:8080/push".to_owned()),
            &flags,
        )
        .unwrap();
        assert_eq!(
            env.push_webhook_url.as_deref(),
            Some("http://127.0.0.1:8080/push")
        );
        let err = load(
            None,
            |name| (name == PUSH_WEBHOOK_URL).then(|| "ftp://x".to_owned()),
            &flags,
        )
        .unwrap_err();
        assert_eq!(err.key().as_deref(), Some(PUSH_WEBHOOK_URL));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[server]\npush_webhook_url = \"https://hooks.example/p\"\n",
        )
        .unwrap();
        let file = load(Some(&path), |_| None, &flags).unwrap();
        assert_eq!(
            file.push_webhook_url.as_deref(),
            Some("https://hooks.example/p")
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
    fn bad_tokens_and_clock_starts_are_refused_without_echoing_the_token() {
        let err = apply_err("[server]\nadmin_token = \"has space\"\n");
        assert_eq!(err.key().as_deref(), Some("server.admin_token"));
        assert!(!err.to_string().contains("has space"), "{err}");
        let err = apply_err("[server]\nadmin_token = 12345\n");
        assert!(!err.to_string().contains("12345"), "{err}");
        let err = apply_err("[server]\nclock_start = \"tomorrow\"\n");
        assert_eq!(err.key().as_deref(), Some("server.clock_start"));
        assert!(err.to_string().contains("RFC 3339"), "{err}");
        let err = apply_err("[server]\nvirtual_clock = \"yes\"\n");
        assert_eq!(err.key().as_deref(), Some("server.virtual_clock"));

        let err = load(
            None,
            env(&[(MOCK_ADMIN_TOKEN, "two words")]),
            &ConfigFlags::default(),
        )
        .unwrap_err();
        assert_eq!(err.key().as_deref(), Some(MOCK_ADMIN_TOKEN));
        assert!(!err.to_string().contains("two words"), "{err}");
        let flags = ConfigFlags {
            admin_token: Some(String::new()),
            ..ConfigFlags::default()
        };
        let err = load(None, no_env, &flags).unwrap_err();
        assert_eq!(err.key().as_deref(), Some("server.admin_token"));
    }
}

//! The config file: its `[server]` and `[settings]` tables read with each value's position, and
//! every key applied to the configuration once its value is checked, so an error names the
//! file, the key and the line.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::{Spanned, Value};
use zulip_calls_protocol::settings::{self as names, Settings};

use super::checks::{
    a_type, boolean, clock_start, describe, got, http_url, non_empty_path, one_of, positive,
    seconds_or_off, set_admin_token, string,
};
use super::position::{line_of, position};
use super::{ConfigError, LogFormat, MEMORY_DB, ServerConfig};

/// The keys of the `[server]` table, for error messages.
const SERVER_KEYS: &str = "bind, db, realm, heartbeat_seconds, max_body_bytes, rate_limit_per_minute, prune_calls_after_days, push_webhook_url, admin_token, log_format, virtual_clock, clock_start, tls, tls_cert, tls_key";

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
pub(super) fn apply_file(
    config: &mut ServerConfig,
    text: &str,
    path: &Path,
) -> Result<(), ConfigError> {
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
            set_admin_token(config, token)?;
        }
        "log_format" => {
            config.log_format = match value {
                Value::String(s) if s == "text" => LogFormat::Text,
                Value::String(s) if s == "json" => LogFormat::Json,
                other => return Err(format!("expected \"text\" or \"json\", got {}", got(other))),
            };
        }
        "virtual_clock" => config.virtual_clock = boolean(value)?,
        "clock_start" => config.clock_start = Some(clock_start(value)?),
        "tls" => config.tls = boolean(value)?,
        "tls_cert" => {
            let cert = non_empty_path(value, "the path of a PEM certificate chain")?;
            config.tls_cert = Some(base.join(cert));
        }
        "tls_key" => {
            let key = non_empty_path(value, "the path of a PEM private key")?;
            config.tls_key = Some(base.join(key));
        }
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
        names::CALLS_API => s.calls_api = one_of(value, "\"both\", \"design\", \"1.1\"")?,
        names::CALLS_EVENT_DIALECT => {
            s.calls_event_dialect = match value {
                Value::String(text) if text.trim().is_empty() => None,
                _ => Some(one_of(value, "\"design\", \"1.1\"")?),
            }
        }
        names::CALL_HEARTBEAT_INTERVAL => s.call_heartbeat_interval = positive(value)?,
        names::CALL_HEARTBEAT_TIMEOUT => s.call_heartbeat_timeout = seconds_or_off(value)?,
        names::CALLS_COMPAT => s.calls_compat = one_of(value, "\"contract\", \"plugin-1.1.0\"")?,
        names::CALL_REDIAL_COOLDOWN => s.call_redial_cooldown = seconds_or_off(value)?,
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

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::server::config::tests::{apply, apply_err, load_text, no_env};
    use crate::server::config::{ConfigFlags, load};

    const EXAMPLE: &str = include_str!("../../../../assets/mock-server.example.toml");

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
                    ..Settings::default()
                },
                heartbeat_seconds: 5,
                max_body_bytes: 2048,
                rate_limit_per_minute: 0,
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
             push_webhook_url, admin_token, log_format, virtual_clock, clock_start, tls, tls_cert, \
             tls_key) (line 2)"
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
}

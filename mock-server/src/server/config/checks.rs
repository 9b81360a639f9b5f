//! The value checks the file, the environment and the flags share: each returns the value it
//! accepts or the problem, phrased "expected ..., got ..." without the key (the caller adds it);
//! where a value could be a secret, the problem names its type instead of echoing it.

use toml::Value;
use zulip_calls_protocol::settings::SettingsError;

use super::{NO_ADMIN_TOKEN, ServerConfig};

/// Sets `config`'s admin token from a flag, variable or file value: a token, or
/// [`NO_ADMIN_TOKEN`] to leave the control API open.
pub(super) fn set_admin_token(config: &mut ServerConfig, token: &str) -> Result<(), String> {
    if token == NO_ADMIN_TOKEN {
        config.admin_token = None;
        config.control_open = true;
    } else {
        config.admin_token = Some(admin_token(token)?);
        config.control_open = false;
    }
    Ok(())
}

/// Checks a control API token: it travels in an `Authorization` header, so it must be
/// non-empty visible ASCII without spaces. The error never shows the token.
pub(super) fn admin_token(token: &str) -> Result<String, String> {
    if token.is_empty() {
        Err("expected a non-empty token".to_owned())
    } else if !token.bytes().all(|b| b.is_ascii_graphic()) {
        Err("expected visible ASCII characters without spaces".to_owned())
    } else {
        Ok(token.to_owned())
    }
}

/// Reads a `clock_start`: an RFC 3339 time, as a string or a TOML date-time.
pub(super) fn clock_start(value: &Value) -> Result<zulip_calls_protocol::Timestamp, String> {
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
pub(super) fn http_url(text: &str) -> Result<String, String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            Ok(text.to_owned())
        }
        _ => Err(format!("expected an http(s) URL, got {text:?}")),
    }
}

/// The problem a single-setting [`Settings::validate`](zulip_calls_protocol::settings::Settings::validate)
/// found, phrased like this module's others.
pub(super) fn describe(error: SettingsError) -> String {
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

pub(super) fn string(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("expected a string, got {}", got(other))),
    }
}

pub(super) fn non_empty_path(value: &Value, expected: &str) -> Result<String, String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        other => Err(format!("expected {expected}, got {}", got(other))),
    }
}

pub(super) fn boolean(value: &Value) -> Result<bool, String> {
    match value {
        Value::Boolean(b) => Ok(*b),
        other => Err(format!("expected true or false, got {}", got(other))),
    }
}

/// A positive integer: zero durations would fire at once or spin.
pub(super) fn positive(value: &Value) -> Result<u64, String> {
    match value {
        Value::Integer(n) if *n > 0 => Ok(n.unsigned_abs()),
        other => Err(format!("expected a positive integer, got {}", got(other))),
    }
}

/// A whole number of seconds where 0 means "off".
pub(super) fn seconds_or_off(value: &Value) -> Result<u64, String> {
    match value {
        Value::Integer(n) if *n >= 0 => Ok(n.unsigned_abs()),
        other => Err(format!(
            "expected 0 (off) or a positive integer, got {}",
            got(other)
        )),
    }
}

/// One of a closed set of names (`T`'s wire values).
pub(super) fn one_of<T: std::str::FromStr>(value: &Value, expected: &str) -> Result<T, String> {
    match value {
        Value::String(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("expected one of {expected}, got {}", got(value))),
        other => Err(format!("expected one of {expected}, got {}", got(other))),
    }
}

/// A value as the user wrote it, for "got ..." (strings quoted; arrays and tables by kind).
pub(super) fn got(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Integer(_) | Value::Float(_) | Value::Boolean(_) | Value::Datetime(_) => {
            value.to_string()
        }
        Value::Array(_) | Value::Table(_) => a_type(value).to_owned(),
    }
}

pub(super) fn a_type(value: &Value) -> &'static str {
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

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use crate::server::config::tests::{apply, apply_err, env, no_env};
    use crate::server::config::{ConfigFlags, MOCK_ADMIN_TOKEN, load};

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

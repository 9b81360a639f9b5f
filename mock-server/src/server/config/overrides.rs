//! The sources over the file: the environment (the §8 settings, `PUSH_WEBHOOK_URL` and
//! `MOCK_ADMIN_TOKEN`), then the command-line flags, which win over everything.

use zulip_calls_protocol::settings::SettingsError;

use super::checks::{http_url, set_admin_token};
use super::{ConfigError, ConfigFlags, MOCK_ADMIN_TOKEN, PUSH_WEBHOOK_URL, ServerConfig};

/// Applies the environment (`env` looks a variable up by name) over `config`.
pub(super) fn apply_env(
    config: &mut ServerConfig,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    // Every file value was checked on its own, so what fails now is an environment value or
    // the one cross-setting rule.
    config.settings = config
        .settings
        .clone()
        .with_overrides(&env)
        .map_err(|e| match e {
            SettingsError::MissingJwtAppId | SettingsError::CompatNeedsV1_1 => {
                ConfigError::Combination(e)
            }
            other => ConfigError::Environment(other),
        })?;
    if let Some(url) = env(PUSH_WEBHOOK_URL).filter(|u| !u.trim().is_empty()) {
        config.push_webhook_url = Some(http_url(url.trim()).map_err(ConfigError::Webhook)?);
    }
    // Empty means unset, as for the other variables.
    if let Some(token) = env(MOCK_ADMIN_TOKEN).filter(|t| !t.is_empty()) {
        set_admin_token(config, &token).map_err(ConfigError::AdminToken)?;
    }
    Ok(())
}

/// Applies the command-line overrides, which win over everything.
pub(super) fn apply_flags(
    config: &mut ServerConfig,
    flags: &ConfigFlags,
) -> Result<(), ConfigError> {
    if let Some(bind) = flags.bind {
        config.bind = bind;
    }
    if flags.calls_api.is_some() || flags.compat.is_some() {
        if let Some(calls_api) = flags.calls_api {
            config.settings.calls_api = calls_api;
        }
        if let Some(compat) = flags.compat {
            config.settings.calls_compat = compat;
        }
        // The two flags together may break the one rule that ties them.
        config.settings = config
            .settings
            .clone()
            .validate()
            .map_err(ConfigError::Combination)?;
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
        set_admin_token(config, token).map_err(|problem| ConfigError::Flag {
            flag: "admin_token",
            problem,
        })?;
    }
    if let Some(format) = flags.log_format {
        config.log_format = format;
    }
    if flags.virtual_clock {
        config.virtual_clock = true;
    }
    if let Some(start) = flags.clock_start {
        config.clock_start = Some(start);
    }
    if flags.tls {
        config.tls = true;
    }
    if let Some(cert) = &flags.tls_cert {
        config.tls_cert = Some(cert.clone());
    }
    if let Some(key) = &flags.tls_key {
        config.tls_key = Some(key.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use zulip_calls_protocol::settings::Settings;

    use super::*;
    use zulip_calls_protocol::{CallsApi, Compat};

    use crate::server::config::load;
    use crate::server::config::tests::{env, load_text, no_env};

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
    fn the_calls_api_flag_wins_over_the_environment() {
        let env = |name: &str| (name == "CALLS_API").then(|| "design".to_owned());
        let from_env = load(None, env, &ConfigFlags::default()).unwrap();
        assert_eq!(from_env.settings.calls_api, CallsApi::Design);
        let flags = ConfigFlags {
            calls_api: Some(CallsApi::V1_1),
            ..ConfigFlags::default()
        };
        let flagged = load(None, env, &flags).unwrap();
        assert_eq!(flagged.settings.calls_api, CallsApi::V1_1);
    }

    #[test]
    fn the_compat_flag_makes_a_1_1_server_and_refuses_a_design_one() {
        let flags = ConfigFlags {
            compat: Some(Compat::Plugin1_1_0),
            ..ConfigFlags::default()
        };
        let config = load(None, no_env, &flags).unwrap();
        assert_eq!(config.settings.calls_compat, Compat::Plugin1_1_0);
        assert_eq!(config.settings.calls_api, CallsApi::V1_1);
        let env = |name: &str| (name == "CALLS_API").then(|| "design".to_owned());
        let err = load(None, env, &flags).unwrap_err();
        assert_eq!(
            err.to_string(),
            "settings: CALLS_COMPAT=plugin-1.1.0 needs CALLS_API=1.1 (the released plugin has no design dialect)"
        );
        assert_eq!(err.key().as_deref(), Some("CALLS_COMPAT"));
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
}

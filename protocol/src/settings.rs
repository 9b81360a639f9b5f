//! Server settings (spec §8): every setting, its default, and environment-style overrides.
//!
//! The names are the design document's Django settings; an environment variable of the same
//! name overrides a setting. A config file (TOML, JSON) holds the same settings under their
//! snake_case names, each optional. After loading from anywhere, [`Settings::validate`] (which
//! [`Settings::with_overrides`] runs for you) normalises and checks the values.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::call::CallType;
use crate::dialect::{CallsApi, Compat, Dialect};
use crate::ids::CallId;

// The settings' names (spec §8), shared by environment variables, errors and docs.
pub const JITSI_SERVER_URL: &str = "JITSI_SERVER_URL";
pub const JITSI_MEETING_PREFIX: &str = "JITSI_MEETING_PREFIX";
pub const JITSI_API_ENABLED: &str = "JITSI_API_ENABLED";
pub const JITSI_JWT_APP_ID: &str = "JITSI_JWT_APP_ID";
pub const JITSI_JWT_SECRET: &str = "JITSI_JWT_SECRET";
pub const JITSI_JWT_AUDIENCE: &str = "JITSI_JWT_AUDIENCE";
pub const CALL_NOTIFICATION_TIMEOUT: &str = "CALL_NOTIFICATION_TIMEOUT";
pub const CALL_RING_TIMEOUT: &str = "CALL_RING_TIMEOUT";
pub const CALL_MAX_DURATION: &str = "CALL_MAX_DURATION";
pub const CALL_CLEANUP_INTERVAL: &str = "CALL_CLEANUP_INTERVAL";
pub const CALL_PUSH_NOTIFICATION_ENABLED: &str = "CALL_PUSH_NOTIFICATION_ENABLED";
pub const CALL_PUSH_NOTIFICATION_SOUND: &str = "CALL_PUSH_NOTIFICATION_SOUND";
pub const ENABLE_VIDEO_CALLS: &str = "ENABLE_VIDEO_CALLS";
pub const ENABLE_AUDIO_CALLS: &str = "ENABLE_AUDIO_CALLS";
pub const ENABLE_CALL_HISTORY: &str = "ENABLE_CALL_HISTORY";
pub const EVENT_QUEUE_LIFESPAN: &str = "EVENT_QUEUE_LIFESPAN";
// The 1.1 dialect's (see `dialect`).
pub const CALLS_API: &str = "CALLS_API";
pub const CALLS_EVENT_DIALECT: &str = "CALLS_EVENT_DIALECT";
pub const CALL_HEARTBEAT_INTERVAL: &str = "CALL_HEARTBEAT_INTERVAL";
pub const CALL_HEARTBEAT_TIMEOUT: &str = "CALL_HEARTBEAT_TIMEOUT";
// The released plugin's behaviour (`plugin-1.1-dialect.md` §9).
pub const CALLS_COMPAT: &str = "CALLS_COMPAT";
pub const CALL_REDIAL_COOLDOWN: &str = "CALL_REDIAL_COOLDOWN";

/// The server's settings. Durations are whole seconds, as the design document writes them.
///
/// `Debug` never shows the JWT secret. `Serialize` does write it, because a config file must be
/// able to hold it: do not serialise settings anywhere a user can read them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Settings {
    /// Base URL of the Jitsi server, stored without a trailing slash.
    pub jitsi_server_url: String,
    /// Prepended to the call id to name the room.
    pub jitsi_meeting_prefix: String,
    /// When false, join URLs are the bare room URL (no token, no config fragment).
    pub jitsi_api_enabled: bool,
    /// The tokens' `iss`; required when a secret is set.
    pub jitsi_jwt_app_id: Option<String>,
    /// HS256 key; tokens are issued only when this is set.
    pub jitsi_jwt_secret: Option<String>,
    /// The tokens' `aud`.
    pub jitsi_jwt_audience: String,
    /// Ringing → `missed` after this long; what responses call `timeout_seconds`.
    pub call_notification_timeout: u64,
    /// `calling` with no device acknowledged → `timeout` after this long.
    pub call_ring_timeout: u64,
    /// An accepted call is ended (`max_duration`) after this long; also bounds JWT lifetime.
    pub call_max_duration: u64,
    /// How often old terminal calls are pruned.
    pub call_cleanup_interval: u64,
    pub call_push_notification_enabled: bool,
    /// The sound file named in APNs `call` pushes.
    pub call_push_notification_sound: String,
    pub enable_video_calls: bool,
    pub enable_audio_calls: bool,
    pub enable_call_history: bool,
    /// An event queue nobody polled for this long is deleted.
    pub event_queue_lifespan: u64,
    /// Which dialects the server serves.
    pub calls_api: CallsApi,
    /// The event dialect of a queue whose `event_types` name neither dialect's call events;
    /// `None`: the default of `calls_api` (see [`CallsApi::default_event_dialect`]).
    pub calls_event_dialect: Option<Dialect>,
    /// How often a 1.1 client heartbeats an accepted call (told to clients; the watch uses
    /// the timeout).
    pub call_heartbeat_interval: u64,
    /// A watched party silent for this long ends its accepted call as `network_failure`;
    /// 0 turns the watch off.
    pub call_heartbeat_timeout: u64,
    /// `plugin-1.1.0`: behave as the released plugin's code does, bugs included (needs the
    /// 1.1 dialect alone; `both` becomes `1.1`).
    pub calls_compat: Compat,
    /// Placing a call within this long after one of the caller's calls ended answers 429
    /// (the plugin's 5 s); 0 = off.
    pub call_redial_cooldown: u64,
}

impl Default for Settings {
    /// The defaults of spec §8.
    fn default() -> Self {
        Settings {
            jitsi_server_url: "https://meet.jit.si".to_owned(),
            jitsi_meeting_prefix: "zulip-call-".to_owned(),
            jitsi_api_enabled: true,
            jitsi_jwt_app_id: None,
            jitsi_jwt_secret: None,
            jitsi_jwt_audience: "jitsi".to_owned(),
            call_notification_timeout: 120,
            call_ring_timeout: 30,
            call_max_duration: 3600,
            call_cleanup_interval: 300,
            call_push_notification_enabled: true,
            call_push_notification_sound: "call_ring.wav".to_owned(),
            enable_video_calls: true,
            enable_audio_calls: true,
            enable_call_history: true,
            event_queue_lifespan: 600,
            calls_api: CallsApi::Both,
            calls_event_dialect: None,
            call_heartbeat_interval: 15,
            call_heartbeat_timeout: 60,
            calls_compat: Compat::Contract,
            call_redial_cooldown: 0,
        }
    }
}

impl fmt::Debug for Settings {
    /// Like a derived `Debug`, but the secret shows as `<redacted>` so logs never leak it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Redacted;
        impl fmt::Debug for Redacted {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("<redacted>")
            }
        }
        f.debug_struct("Settings")
            .field("jitsi_server_url", &self.jitsi_server_url)
            .field("jitsi_meeting_prefix", &self.jitsi_meeting_prefix)
            .field("jitsi_api_enabled", &self.jitsi_api_enabled)
            .field("jitsi_jwt_app_id", &self.jitsi_jwt_app_id)
            .field(
                "jitsi_jwt_secret",
                &self.jitsi_jwt_secret.as_ref().map(|_| Redacted),
            )
            .field("jitsi_jwt_audience", &self.jitsi_jwt_audience)
            .field("call_notification_timeout", &self.call_notification_timeout)
            .field("call_ring_timeout", &self.call_ring_timeout)
            .field("call_max_duration", &self.call_max_duration)
            .field("call_cleanup_interval", &self.call_cleanup_interval)
            .field(
                "call_push_notification_enabled",
                &self.call_push_notification_enabled,
            )
            .field(
                "call_push_notification_sound",
                &self.call_push_notification_sound,
            )
            .field("enable_video_calls", &self.enable_video_calls)
            .field("enable_audio_calls", &self.enable_audio_calls)
            .field("enable_call_history", &self.enable_call_history)
            .field("event_queue_lifespan", &self.event_queue_lifespan)
            .field("calls_api", &self.calls_api)
            .field("calls_event_dialect", &self.calls_event_dialect)
            .field("call_heartbeat_interval", &self.call_heartbeat_interval)
            .field("call_heartbeat_timeout", &self.call_heartbeat_timeout)
            .field("calls_compat", &self.calls_compat)
            .field("call_redial_cooldown", &self.call_redial_cooldown)
            .finish()
    }
}

/// A setting that could not be applied. Never carries the JWT secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{name}={value:?} is not a boolean (expected true/false, 1/0, yes/no or on/off)")]
    NotABoolean { name: &'static str, value: String },
    #[error("{name}={value:?} is not a whole number of seconds")]
    NotAnInteger { name: &'static str, value: String },
    #[error("{name}={value} must be greater than 0")]
    NotPositive { name: &'static str, value: u64 },
    #[error("{name}={value:?} is not a usable http(s) URL: {reason}")]
    BadUrl {
        name: &'static str,
        value: String,
        reason: String,
    },
    /// The prefix becomes part of a URL path, so only unreserved characters are allowed.
    #[error(
        "{name}={value:?} may only contain ASCII letters, digits, '-', '_', '.' and '~' (it is part of the room URL)"
    )]
    BadPrefix { name: &'static str, value: String },
    /// Tokens need an issuer; a secret alone would produce tokens Jitsi rejects.
    #[error("JITSI_JWT_APP_ID must be set when JITSI_JWT_SECRET is set (it is the tokens' iss)")]
    MissingJwtAppId,
    /// The released plugin speaks the 1.1 dialect only.
    #[error(
        "CALLS_COMPAT=plugin-1.1.0 needs CALLS_API=1.1 (the released plugin has no design dialect)"
    )]
    CompatNeedsV1_1,
    #[error("{name}={value:?} is not one of: {expected}")]
    NotOneOf {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl SettingsError {
    /// The setting (environment variable name) at fault.
    pub fn name(&self) -> &'static str {
        match self {
            SettingsError::NotABoolean { name, .. }
            | SettingsError::NotAnInteger { name, .. }
            | SettingsError::NotPositive { name, .. }
            | SettingsError::BadUrl { name, .. }
            | SettingsError::BadPrefix { name, .. }
            | SettingsError::NotOneOf { name, .. } => name,
            SettingsError::MissingJwtAppId => JITSI_JWT_APP_ID,
            SettingsError::CompatNeedsV1_1 => CALLS_COMPAT,
        }
    }
}

impl Settings {
    /// Every setting's name, as environment variables and the design document spell them.
    pub const NAMES: &'static [&'static str] = &[
        JITSI_SERVER_URL,
        JITSI_MEETING_PREFIX,
        JITSI_API_ENABLED,
        JITSI_JWT_APP_ID,
        JITSI_JWT_SECRET,
        JITSI_JWT_AUDIENCE,
        CALL_NOTIFICATION_TIMEOUT,
        CALL_RING_TIMEOUT,
        CALL_MAX_DURATION,
        CALL_CLEANUP_INTERVAL,
        CALL_PUSH_NOTIFICATION_ENABLED,
        CALL_PUSH_NOTIFICATION_SOUND,
        ENABLE_VIDEO_CALLS,
        ENABLE_AUDIO_CALLS,
        ENABLE_CALL_HISTORY,
        EVENT_QUEUE_LIFESPAN,
        CALLS_API,
        CALLS_EVENT_DIALECT,
        CALL_HEARTBEAT_INTERVAL,
        CALL_HEARTBEAT_TIMEOUT,
        CALLS_COMPAT,
        CALL_REDIAL_COOLDOWN,
    ];

    /// These settings with every variable that `lookup` knows applied, then validated.
    ///
    /// `lookup` is usually `|name| std::env::var(name).ok()`; taking it as a function keeps this
    /// pure and testable. Booleans are read leniently (`true`/`false`, `1`/`0`, `yes`/`no`,
    /// `on`/`off`, any case); integers are decimal seconds. An empty `JITSI_JWT_APP_ID` or
    /// `JITSI_JWT_SECRET` means unset, so a blank line in an env file turns JWT off.
    pub fn with_overrides(
        self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let mut s = self;
        let text = |name: &'static str, field: &mut String| {
            if let Some(value) = lookup(name) {
                *field = value;
            }
        };
        text(JITSI_SERVER_URL, &mut s.jitsi_server_url);
        text(JITSI_MEETING_PREFIX, &mut s.jitsi_meeting_prefix);
        text(JITSI_JWT_AUDIENCE, &mut s.jitsi_jwt_audience);
        text(
            CALL_PUSH_NOTIFICATION_SOUND,
            &mut s.call_push_notification_sound,
        );

        let optional = |name: &'static str, field: &mut Option<String>| {
            if let Some(value) = lookup(name) {
                *field = Some(value).filter(|v| !v.is_empty());
            }
        };
        optional(JITSI_JWT_APP_ID, &mut s.jitsi_jwt_app_id);
        optional(JITSI_JWT_SECRET, &mut s.jitsi_jwt_secret);

        let boolean = |name: &'static str, field: &mut bool| -> Result<(), SettingsError> {
            if let Some(value) = lookup(name) {
                *field = parse_bool(&value).ok_or(SettingsError::NotABoolean { name, value })?;
            }
            Ok(())
        };
        boolean(JITSI_API_ENABLED, &mut s.jitsi_api_enabled)?;
        boolean(
            CALL_PUSH_NOTIFICATION_ENABLED,
            &mut s.call_push_notification_enabled,
        )?;
        boolean(ENABLE_VIDEO_CALLS, &mut s.enable_video_calls)?;
        boolean(ENABLE_AUDIO_CALLS, &mut s.enable_audio_calls)?;
        boolean(ENABLE_CALL_HISTORY, &mut s.enable_call_history)?;

        let seconds = |name: &'static str, field: &mut u64| -> Result<(), SettingsError> {
            if let Some(value) = lookup(name) {
                *field = value
                    .trim()
                    .parse()
                    .map_err(|_| SettingsError::NotAnInteger { name, value })?;
            }
            Ok(())
        };
        seconds(CALL_NOTIFICATION_TIMEOUT, &mut s.call_notification_timeout)?;
        seconds(CALL_RING_TIMEOUT, &mut s.call_ring_timeout)?;
        seconds(CALL_MAX_DURATION, &mut s.call_max_duration)?;
        seconds(CALL_CLEANUP_INTERVAL, &mut s.call_cleanup_interval)?;
        seconds(EVENT_QUEUE_LIFESPAN, &mut s.event_queue_lifespan)?;
        seconds(CALL_HEARTBEAT_INTERVAL, &mut s.call_heartbeat_interval)?;
        seconds(CALL_HEARTBEAT_TIMEOUT, &mut s.call_heartbeat_timeout)?;
        seconds(CALL_REDIAL_COOLDOWN, &mut s.call_redial_cooldown)?;

        if let Some(value) = lookup(CALLS_API) {
            s.calls_api = value.trim().parse().map_err(|_| SettingsError::NotOneOf {
                name: CALLS_API,
                value,
                expected: "both, design, 1.1",
            })?;
        }
        if let Some(value) = lookup(CALLS_EVENT_DIALECT) {
            s.calls_event_dialect = match value.trim() {
                "" => None,
                name => Some(name.parse().map_err(|_| SettingsError::NotOneOf {
                    name: CALLS_EVENT_DIALECT,
                    value: value.clone(),
                    expected: "design, 1.1",
                })?),
            };
        }

        if let Some(value) = lookup(CALLS_COMPAT) {
            s.calls_compat = value.trim().parse().map_err(|_| SettingsError::NotOneOf {
                name: CALLS_COMPAT,
                value,
                expected: "contract, plugin-1.1.0",
            })?;
        }

        s.validate()
    }

    /// These settings checked and normalised; run it on settings read from a config file.
    ///
    /// The server URL must be http(s) with a host and no query or fragment (room URLs are built
    /// by appending `/<room>`), and is stored in `url`'s normal form without a trailing slash.
    /// The prefix may hold only URL-unreserved characters. Every duration must be positive. An
    /// empty app id or secret becomes `None`; a secret needs an app id.
    pub fn validate(self) -> Result<Settings, SettingsError> {
        let mut s = self;
        s.jitsi_server_url = normalise_server_url(&s.jitsi_server_url)?;

        let prefix_ok = s
            .jitsi_meeting_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
        if !prefix_ok {
            return Err(SettingsError::BadPrefix {
                name: JITSI_MEETING_PREFIX,
                value: s.jitsi_meeting_prefix,
            });
        }

        for (name, value) in [
            (CALL_NOTIFICATION_TIMEOUT, s.call_notification_timeout),
            (CALL_RING_TIMEOUT, s.call_ring_timeout),
            (CALL_MAX_DURATION, s.call_max_duration),
            (CALL_CLEANUP_INTERVAL, s.call_cleanup_interval),
            (EVENT_QUEUE_LIFESPAN, s.event_queue_lifespan),
            (CALL_HEARTBEAT_INTERVAL, s.call_heartbeat_interval),
        ] {
            if value == 0 {
                return Err(SettingsError::NotPositive { name, value });
            }
        }

        if s.calls_compat == Compat::Plugin1_1_0 {
            // The plugin speaks 1.1 alone; a server that also spoke the design dialect would
            // be no deployment's.
            match s.calls_api {
                CallsApi::Both => s.calls_api = CallsApi::V1_1,
                CallsApi::V1_1 => {}
                CallsApi::Design => return Err(SettingsError::CompatNeedsV1_1),
            }
        }

        s.jitsi_jwt_app_id = s.jitsi_jwt_app_id.filter(|v| !v.is_empty());
        s.jitsi_jwt_secret = s.jitsi_jwt_secret.filter(|v| !v.is_empty());
        if s.jitsi_jwt_secret.is_some() && s.jitsi_jwt_app_id.is_none() {
            return Err(SettingsError::MissingJwtAppId);
        }
        Ok(s)
    }

    /// The event dialect of a queue that names neither dialect's call event types.
    pub fn event_dialect(&self) -> Dialect {
        self.calls_event_dialect
            .unwrap_or(self.calls_api.default_event_dialect())
    }

    /// What responses and events call `timeout_seconds`: `CALL_NOTIFICATION_TIMEOUT`.
    pub fn timeout_seconds(&self) -> u64 {
        self.call_notification_timeout
    }

    /// Whether calls of `call_type` may be placed (`CALL_TYPE_DISABLED` otherwise).
    pub fn call_type_enabled(&self, call_type: CallType) -> bool {
        match call_type {
            CallType::Video => self.enable_video_calls,
            CallType::Audio => self.enable_audio_calls,
        }
    }

    /// Whether join URLs carry a token (`JITSI_JWT_SECRET` is set).
    pub fn jwt_enabled(&self) -> bool {
        self.jitsi_jwt_secret.is_some()
    }

    /// The host of `JITSI_SERVER_URL`, the tokens' `sub`.
    pub fn jitsi_host(&self) -> Option<String> {
        crate::jitsi::jitsi_host(&self.jitsi_server_url)
    }

    /// The Jitsi room of a call: `JITSI_MEETING_PREFIX + call_id`.
    pub fn room_name(&self, call_id: CallId) -> String {
        crate::jitsi::room_name(&self.jitsi_meeting_prefix, call_id)
    }

    /// The bare room URL of a call (the call's `jitsi_url`).
    pub fn room_url(&self, call_id: CallId) -> String {
        crate::jitsi::room_url(&self.jitsi_server_url, &self.room_name(call_id))
    }
}

/// Django-style lenient boolean: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, any case.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn normalise_server_url(value: &str) -> Result<String, SettingsError> {
    let bad = |reason: &str| SettingsError::BadUrl {
        name: JITSI_SERVER_URL,
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let url = url::Url::parse(value).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("there is no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a query or fragment cannot be followed by a room name"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_are_the_spec_defaults_and_valid() {
        let s = Settings::default();
        assert_eq!(s.jitsi_server_url, "https://meet.jit.si");
        assert_eq!(s.jitsi_meeting_prefix, "zulip-call-");
        assert_eq!(s.jitsi_jwt_audience, "jitsi");
        assert_eq!(s.timeout_seconds(), 120);
        assert_eq!(s.call_ring_timeout, 30);
        assert_eq!(s.call_max_duration, 3600);
        assert_eq!(s.call_cleanup_interval, 300);
        assert_eq!(s.event_queue_lifespan, 600);
        assert_eq!(s.call_push_notification_sound, "call_ring.wav");
        assert!(s.jitsi_api_enabled && s.call_push_notification_enabled);
        assert!(s.enable_video_calls && s.enable_audio_calls && s.enable_call_history);
        assert!(!s.jwt_enabled());
        assert_eq!(s.jitsi_host().as_deref(), Some("meet.jit.si"));
        assert_eq!(s.clone().validate().unwrap(), s);
        assert_eq!(Settings::NAMES.len(), 22);
        assert_eq!(
            (s.calls_compat, s.call_redial_cooldown),
            (Compat::Contract, 0)
        );
        // The 1.1 dialect's: both dialects served, design events by default, 15 s/60 s.
        assert_eq!(s.calls_api, CallsApi::Both);
        assert_eq!(s.event_dialect(), Dialect::Design);
        assert_eq!(
            (s.call_heartbeat_interval, s.call_heartbeat_timeout),
            (15, 60)
        );
    }

    #[test]
    fn the_plugin_compatibility_mode_speaks_1_1_alone() {
        let s = Settings::default()
            .with_overrides(env(&[
                ("CALLS_COMPAT", "plugin-1.1.0"),
                ("CALL_REDIAL_COOLDOWN", "5"),
            ]))
            .unwrap();
        assert_eq!(s.calls_compat, Compat::Plugin1_1_0);
        assert_eq!(s.calls_api, CallsApi::V1_1, "both becomes 1.1");
        assert_eq!(s.call_redial_cooldown, 5);
        let err = Settings::default()
            .with_overrides(env(&[
                ("CALLS_COMPAT", "plugin-1.1.0"),
                ("CALLS_API", "design"),
            ]))
            .unwrap_err();
        assert_eq!(err, SettingsError::CompatNeedsV1_1);
        assert_eq!(err.name(), "CALLS_COMPAT");
        let err = Settings::default()
            .with_overrides(env(&[("CALLS_COMPAT", "plugin")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "CALLS_COMPAT=\"plugin\" is not one of: contract, plugin-1.1.0"
        );
    }

    #[test]
    fn the_dialect_settings_read_their_values_and_name_the_bad_ones() {
        let s = Settings::default()
            .with_overrides(env(&[
                ("CALLS_API", "1.1"),
                ("CALL_HEARTBEAT_INTERVAL", "5"),
                ("CALL_HEARTBEAT_TIMEOUT", "0"),
            ]))
            .unwrap();
        assert_eq!(s.calls_api, CallsApi::V1_1);
        assert_eq!(s.event_dialect(), Dialect::V1_1);
        assert_eq!(
            (s.call_heartbeat_interval, s.call_heartbeat_timeout),
            (5, 0)
        );
        let s = Settings::default()
            .with_overrides(env(&[("CALLS_EVENT_DIALECT", "1.1")]))
            .unwrap();
        assert_eq!(
            (s.calls_api, s.event_dialect()),
            (CallsApi::Both, Dialect::V1_1)
        );
        let err = Settings::default()
            .with_overrides(env(&[("CALLS_API", "2.0")]))
            .unwrap_err();
        assert_eq!(err.name(), "CALLS_API");
        assert_eq!(
            err.to_string(),
            "CALLS_API=\"2.0\" is not one of: both, design, 1.1"
        );
        let err = Settings::default()
            .with_overrides(env(&[("CALL_HEARTBEAT_INTERVAL", "0")]))
            .unwrap_err();
        assert_eq!(err.name(), "CALL_HEARTBEAT_INTERVAL");
    }

    #[test]
    fn no_overrides_changes_nothing() {
        let s = Settings::default().with_overrides(|_| None).unwrap();
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn overrides_apply_with_lenient_booleans() {
        let s = Settings::default()
            .with_overrides(env(&[
                ("JITSI_SERVER_URL", "https://Jitsi.Example.com:8443/meet/"),
                ("JITSI_MEETING_PREFIX", "acme-"),
                ("JITSI_API_ENABLED", "FALSE"),
                ("JITSI_JWT_APP_ID", "zulip"),
                ("JITSI_JWT_SECRET", "s3cret"),
                ("JITSI_JWT_AUDIENCE", "meet"),
                ("CALL_NOTIFICATION_TIMEOUT", " 60 "),
                ("CALL_RING_TIMEOUT", "15"),
                ("CALL_MAX_DURATION", "7200"),
                ("CALL_CLEANUP_INTERVAL", "30"),
                ("CALL_PUSH_NOTIFICATION_ENABLED", "off"),
                ("CALL_PUSH_NOTIFICATION_SOUND", "bell.caf"),
                ("ENABLE_VIDEO_CALLS", "0"),
                ("ENABLE_AUDIO_CALLS", "Yes"),
                ("ENABLE_CALL_HISTORY", "no"),
                ("EVENT_QUEUE_LIFESPAN", "900"),
            ]))
            .unwrap();
        assert_eq!(s.jitsi_server_url, "https://jitsi.example.com:8443/meet");
        assert_eq!(s.jitsi_meeting_prefix, "acme-");
        assert!(!s.jitsi_api_enabled);
        assert_eq!(s.jitsi_jwt_app_id.as_deref(), Some("zulip"));
        assert!(s.jwt_enabled());
        assert_eq!(s.jitsi_jwt_audience, "meet");
        assert_eq!(s.timeout_seconds(), 60);
        assert_eq!(s.call_ring_timeout, 15);
        assert_eq!(s.call_max_duration, 7200);
        assert_eq!(s.call_cleanup_interval, 30);
        assert!(!s.call_push_notification_enabled);
        assert_eq!(s.call_push_notification_sound, "bell.caf");
        assert!(!s.call_type_enabled(CallType::Video));
        assert!(s.call_type_enabled(CallType::Audio));
        assert!(!s.enable_call_history);
        assert_eq!(s.event_queue_lifespan, 900);
        assert_eq!(s.jitsi_host().as_deref(), Some("jitsi.example.com"));
    }

    #[test]
    fn every_boolean_spelling() {
        for (text, expected) in [
            ("true", true),
            ("True", true),
            ("TRUE", true),
            ("1", true),
            ("yes", true),
            ("ON", true),
            ("false", false),
            ("False", false),
            ("0", false),
            ("NO", false),
            ("off", false),
        ] {
            assert_eq!(parse_bool(text), Some(expected), "{text}");
        }
        for text in ["", "2", "tru", "enabled", "y"] {
            assert_eq!(parse_bool(text), None, "{text}");
        }
    }

    #[test]
    fn trailing_slash_is_dropped() {
        let s = Settings::default()
            .with_overrides(env(&[("JITSI_SERVER_URL", "http://localhost:8000/")]))
            .unwrap();
        assert_eq!(s.jitsi_server_url, "http://localhost:8000");
        let call_id: CallId = "0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f".parse().unwrap();
        assert_eq!(
            s.room_url(call_id),
            "http://localhost:8000/zulip-call-0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f"
        );
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        let err = Settings::default()
            .with_overrides(env(&[("ENABLE_AUDIO_CALLS", "maybe")]))
            .unwrap_err();
        assert_eq!(
            err,
            SettingsError::NotABoolean {
                name: "ENABLE_AUDIO_CALLS",
                value: "maybe".into()
            }
        );
        assert!(err.to_string().contains("ENABLE_AUDIO_CALLS=\"maybe\""));

        let err = Settings::default()
            .with_overrides(env(&[("CALL_RING_TIMEOUT", "30s")]))
            .unwrap_err();
        assert_eq!(err.name(), "CALL_RING_TIMEOUT");
        assert!(err.to_string().contains("\"30s\""), "{err}");

        for bad in ["-5", "1.5", ""] {
            let err = Settings::default()
                .with_overrides(env(&[("CALL_MAX_DURATION", bad)]))
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    SettingsError::NotAnInteger {
                        name: "CALL_MAX_DURATION",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn zero_timeouts_are_rejected() {
        for name in [
            "CALL_NOTIFICATION_TIMEOUT",
            "CALL_RING_TIMEOUT",
            "CALL_MAX_DURATION",
            "CALL_CLEANUP_INTERVAL",
            "EVENT_QUEUE_LIFESPAN",
        ] {
            let err = Settings::default()
                .with_overrides(env(&[(name, "0")]))
                .unwrap_err();
            assert_eq!(err, SettingsError::NotPositive { name, value: 0 });
        }
    }

    #[test]
    fn server_url_must_be_http_with_a_host() {
        for bad in [
            "meet.jit.si",
            "ftp://meet.jit.si",
            "https://",
            "https://meet.jit.si/?x=1",
            "https://meet.jit.si/#frag",
            "",
        ] {
            let err = Settings::default()
                .with_overrides(env(&[("JITSI_SERVER_URL", bad)]))
                .unwrap_err();
            assert!(
                matches!(&err, SettingsError::BadUrl { name: "JITSI_SERVER_URL", value, .. } if value == bad),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn prefix_must_be_url_safe() {
        for bad in ["my room-", "a/b-", "x?", "ü-"] {
            let err = Settings::default()
                .with_overrides(env(&[("JITSI_MEETING_PREFIX", bad)]))
                .unwrap_err();
            assert_eq!(err.name(), "JITSI_MEETING_PREFIX", "{bad}");
        }
        let ok = Settings::default()
            .with_overrides(env(&[("JITSI_MEETING_PREFIX", "")]))
            .unwrap();
        assert_eq!(ok.jitsi_meeting_prefix, "");
    }

    #[test]
    fn empty_jwt_values_mean_unset_and_secret_needs_app_id() {
        let s = Settings::default()
            .with_overrides(env(&[("JITSI_JWT_APP_ID", ""), ("JITSI_JWT_SECRET", "")]))
            .unwrap();
        assert_eq!(s.jitsi_jwt_app_id, None);
        assert_eq!(s.jitsi_jwt_secret, None);

        let err = Settings::default()
            .with_overrides(env(&[("JITSI_JWT_SECRET", "hunter2")]))
            .unwrap_err();
        assert_eq!(err, SettingsError::MissingJwtAppId);
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn debug_redacts_the_secret() {
        let s = Settings {
            jitsi_jwt_app_id: Some("zulip".into()),
            jitsi_jwt_secret: Some("hunter2".into()),
            ..Settings::default()
        };
        let text = format!("{s:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("jitsi_jwt_secret: Some(<redacted>)"),
            "{text}"
        );
        assert!(text.contains("jitsi_jwt_app_id: Some(\"zulip\")"), "{text}");
        let pretty = format!("{s:#?}");
        assert!(!pretty.contains("hunter2"));
        assert!(format!("{:?}", Settings::default()).contains("jitsi_jwt_secret: None"));
    }

    #[test]
    fn config_file_fields_are_snake_case_and_optional() {
        let s: Settings = serde_json::from_str(
            r#"{"jitsi_server_url": "https://jitsi.example.com/", "call_ring_timeout": 45,
                "enable_audio_calls": false}"#,
        )
        .unwrap();
        let s = s.validate().unwrap();
        assert_eq!(s.jitsi_server_url, "https://jitsi.example.com");
        assert_eq!(s.call_ring_timeout, 45);
        assert!(!s.enable_audio_calls);
        assert_eq!(s.call_max_duration, 3600);

        let value = serde_json::to_value(Settings::default()).unwrap();
        let keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        let mut expected: Vec<String> = Settings::NAMES
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .collect();
        expected.sort();
        let mut keys_sorted = keys;
        keys_sorted.sort();
        assert_eq!(keys_sorted, expected);
        let back: Settings = serde_json::from_value(value).unwrap();
        assert_eq!(back, Settings::default());
    }
}

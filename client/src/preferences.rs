//! The user's preferences: the `[zulip-calls]` section of the zuliprc, the way zulip-terminal
//! keeps its own `[zterm]` section beside Zulip's `[api]`.
//!
//! ```ini
//! [zulip-calls]
//! ring = sound            ; sound | bell | off
//! notifications = true    ; desktop notifications for incoming and missed calls
//! open_browser = true     ; open the meeting when a call is answered
//! share_status = true     ; "In a call" (and "Do not disturb") as your Zulip status
//! dnd_action = ignore     ; what do-not-disturb does with a call: ignore | decline
//! calls_api = auto        ; auto | design | 1.1
//! ```
//!
//! Every key is optional. A key this version does not know is reported as a warning (a typo
//! should not go unnoticed, but a newer zuliprc must still work); a bad value is an error
//! naming the key and the file.

use std::path::{Path, PathBuf};

use crate::backend::dialect::CallsApiChoice;

/// The zuliprc section of this client's own settings.
pub const CLIENT_SECTION: &str = "zulip-calls";

/// A value the section's key cannot take (the caller names the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    pub key: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

/// How an incoming call makes itself heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ring {
    /// The ringtone (in builds with the `sound` feature) and the terminal bell.
    #[default]
    Sound,
    /// The terminal bell only.
    Bell,
    /// Silent: the call still pops up.
    Off,
}

impl Ring {
    pub const NAMES: &'static [&'static str] = &["sound", "bell", "off"];
}

/// What do-not-disturb does with an incoming call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DndAction {
    /// Let it ring out unanswered, so it ends as missed.
    #[default]
    Ignore,
    /// Decline it at once.
    Decline,
}

impl DndAction {
    pub const NAMES: &'static [&'static str] = &["ignore", "decline"];
}

/// The `[zulip-calls]` settings, with their defaults where the zuliprc says nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    pub ring: Ring,
    pub notifications: bool,
    pub open_browser: bool,
    pub share_status: bool,
    pub dnd_action: DndAction,
    pub calls_api: Option<CallsApiChoice>,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            ring: Ring::default(),
            notifications: true,
            open_browser: true,
            share_status: true,
            dnd_action: DndAction::default(),
            calls_api: None,
        }
    }
}

/// The keys of the section, in the order the documentation lists them.
pub const KEYS: &[&str] = &[
    "ring",
    "notifications",
    "open_browser",
    "share_status",
    "dnd_action",
    "calls_api",
];

const BOOLEAN: &[&str] = &["true", "false"];

/// A key of the section this version does not know, for a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub path: PathBuf,
    pub key: String,
}

impl std::fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: unknown key {:?} in [{CLIENT_SECTION}] is ignored (known keys: {})",
            self.path.display(),
            self.key,
            KEYS.join(", ")
        )
    }
}

/// Reads the section (absent: all defaults) of the zuliprc at `path`.
pub fn parse(
    section: Option<&ini::Properties>,
    path: &Path,
) -> Result<(Preferences, Vec<UnknownKey>), BadValue> {
    let mut preferences = Preferences::default();
    let mut unknown = Vec::new();
    let Some(section) = section else {
        return Ok((preferences, unknown));
    };
    for (key, value) in section.iter() {
        let value = value.trim();
        let bad = |key: &'static str, expected: &'static [&'static str]| BadValue {
            key,
            value: value.to_owned(),
            expected,
        };
        // An empty value means "the default", as for the `[api]` keys.
        if value.is_empty() && KEYS.contains(&key) {
            continue;
        }
        match key {
            "ring" => {
                preferences.ring = match value.to_ascii_lowercase().as_str() {
                    "sound" => Ring::Sound,
                    "bell" => Ring::Bell,
                    "off" | "none" | "false" => Ring::Off,
                    _ => return Err(bad("ring", Ring::NAMES)),
                }
            }
            "notifications" => {
                preferences.notifications =
                    boolean(value).ok_or_else(|| bad("notifications", BOOLEAN))?;
            }
            "open_browser" => {
                preferences.open_browser =
                    boolean(value).ok_or_else(|| bad("open_browser", BOOLEAN))?;
            }
            "share_status" => {
                preferences.share_status =
                    boolean(value).ok_or_else(|| bad("share_status", BOOLEAN))?;
            }
            "dnd_action" => {
                preferences.dnd_action = match value.to_ascii_lowercase().as_str() {
                    "ignore" => DndAction::Ignore,
                    "decline" => DndAction::Decline,
                    _ => return Err(bad("dnd_action", DndAction::NAMES)),
                }
            }
            "calls_api" => {
                preferences.calls_api = Some(
                    value
                        .parse::<CallsApiChoice>()
                        .map_err(|_| bad("calls_api", CallsApiChoice::NAMES))?,
                );
            }
            other => unknown.push(UnknownKey {
                path: path.to_owned(),
                key: other.to_owned(),
            }),
        }
    }
    Ok((preferences, unknown))
}

/// The spellings of a boolean the `[api]` section's `insecure` accepts too.
fn boolean(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;

    fn parse_text(text: &str) -> Result<(Preferences, Vec<UnknownKey>), ConfigError> {
        let ini = ini::Ini::load_from_str(text).unwrap();
        let path = Path::new("/x/zuliprc");
        parse(ini.section(Some(CLIENT_SECTION)), path).map_err(|bad| bad.in_file(path))
    }

    #[test]
    fn no_section_means_the_defaults() {
        let (preferences, unknown) = parse_text("[api]\nsite=x\n").unwrap();
        assert_eq!(preferences, Preferences::default());
        assert!(preferences.share_status && preferences.open_browser);
        assert_eq!(preferences.ring, Ring::Sound);
        assert!(unknown.is_empty());
    }

    #[test]
    fn every_key_is_read() {
        let (preferences, unknown) = parse_text(
            "[zulip-calls]\nring = bell\nnotifications = no\nopen_browser = off\n\
             share_status = false\ndnd_action = Decline\ncalls_api = 1.1\n",
        )
        .unwrap();
        assert_eq!(
            preferences,
            Preferences {
                ring: Ring::Bell,
                notifications: false,
                open_browser: false,
                share_status: false,
                dnd_action: DndAction::Decline,
                calls_api: Some(CallsApiChoice::Fixed(zulip_calls_protocol::Dialect::V1_1)),
            }
        );
        assert!(unknown.is_empty());
        let (off, _) = parse_text("[zulip-calls]\nring=off\nshare_status=\n").unwrap();
        assert_eq!(off.ring, Ring::Off);
        assert!(off.share_status, "an empty value keeps the default");
    }

    #[test]
    fn unknown_keys_are_named_and_the_rest_still_applies() {
        let (preferences, unknown) =
            parse_text("[zulip-calls]\nrign = off\nnotifications = false\nvolume = 3\n").unwrap();
        assert!(!preferences.notifications);
        assert_eq!(preferences.ring, Ring::Sound);
        let keys: Vec<&str> = unknown.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(keys, ["rign", "volume"]);
        assert_eq!(
            unknown[0].to_string(),
            "/x/zuliprc: unknown key \"rign\" in [zulip-calls] is ignored (known keys: ring, \
             notifications, open_browser, share_status, dnd_action, calls_api)"
        );
    }

    #[test]
    fn bad_values_name_the_key_and_the_file() {
        let err = parse_text("[zulip-calls]\nring = loud\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/x/zuliprc: ring in [zulip-calls] must be one of sound, bell, off, not \"loud\""
        );
        let err = parse_text("[zulip-calls]\nshare_status = maybe\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/x/zuliprc: share_status in [zulip-calls] must be one of true, false, not \"maybe\""
        );
        let err = parse_text("[zulip-calls]\ndnd_action = hang up\n").unwrap_err();
        assert!(err.to_string().contains("dnd_action"), "{err}");
        assert!(err.to_string().contains("ignore, decline"), "{err}");
    }
}

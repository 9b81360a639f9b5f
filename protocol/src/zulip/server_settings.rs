//! `GET server_settings`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::endpoint::{Empty, endpoint};

endpoint! {
    /// The server's version and log-in options; needs no credentials.
    ServerSettings: Get "server_settings", auth None,
    name "zulip.server_settings", path (), Empty => ServerSettingsResponse
}

/// Response of `server_settings`.
///
/// Zulip omits realm-specific fields on the root domain of a multi-realm server and older
/// servers omit newer fields, so only the version and `authentication_methods` are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServerSettingsResponse {
    pub zulip_version: String,
    /// Absent before Zulip 3.0; treat as 0 ([`Self::feature_level`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zulip_feature_level: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zulip_merge_base: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_notifications_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_incompatible: Option<bool>,
    /// Backend name (`password`, `ldap`, `openid connect`, ...) → enabled. Deprecated by Zulip
    /// in favour of `external_authentication_methods`, still sent.
    pub authentication_methods: BTreeMap<String, bool>,
    /// Social/SSO methods in display order (`name`, `display_name`, `login_url`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_authentication_methods: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_auth_enabled: Option<bool>,
    /// When true, a log-in prompt may insist on an email-shaped username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_email_format_usernames: Option<bool>,
    /// Zulip 9.0+ (feature level 257). Such servers send `realm_uri` too, so the two are kept
    /// apart rather than aliased (an alias would reject a body carrying both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_url: Option<String>,
    /// The deprecated name of `realm_url`, the only one before Zulip 9.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_icon: Option<String>,
    /// HTML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_web_public_access_enabled: Option<bool>,
    /// Fields this crate does not model, kept so a round trip is exact.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ServerSettingsResponse {
    /// The feature level, 0 when the server predates them (as Zulip recommends).
    pub fn feature_level(&self) -> u64 {
        self.zulip_feature_level.unwrap_or(0)
    }

    /// The organization's URL under either name (`realm_url` first).
    pub fn organization_url(&self) -> Option<&str> {
        self.realm_url.as_deref().or(self.realm_uri.as_deref())
    }

    /// Whether backend `name` (e.g. `password`) is enabled.
    pub fn auth_method_enabled(&self, name: &str) -> bool {
        self.authentication_methods
            .get(name)
            .copied()
            .unwrap_or(false)
    }
}

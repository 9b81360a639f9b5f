//! `PATCH settings` and the `user_settings` event, shaped as in Zulip's 2025 OpenAPI
//! description. Only `presence_enabled` is modelled: the one setting calls depend on.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::endpoint::endpoint;

endpoint! {
    /// Changes the user's own settings (Zulip 5.0, feature level 80, merged the older
    /// `settings/display` and `settings/notifications` into it).
    UpdateSettings: Patch "settings", auth Basic,
    name "zulip.settings_update", path (), UpdateSettingsRequest => UpdateSettingsResponse
}

/// The `type` of user settings events.
pub const USER_SETTINGS_EVENT_TYPE: &str = "user_settings";

/// Parameters of `PATCH settings`; only those passed change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpdateSettingsRequest {
    /// Whether others see the user's presence; `false` is invisible mode. The same fact as
    /// the user status's deprecated `away`, negated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_enabled: Option<bool>,
}

/// Response of `PATCH settings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpdateSettingsResponse {
    /// Parameters the server did not act on (Zulip 5.0, feature level 78); absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_parameters_unsupported: Option<Vec<String>>,
}

/// A `user_settings` event: one of the user's settings changed, sent to that user's queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserSettingsEvent {
    /// Always `update`.
    pub op: String,
    /// The setting's name, e.g. `presence_enabled`.
    pub property: String,
    /// Its new value: a boolean, integer or string depending on the setting.
    pub value: Value,
    /// Present only for `default_language`: the language's English name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_name: Option<String>,
}

impl UserSettingsEvent {
    /// The event for `property` changing to `value`.
    pub fn update(property: &str, value: impl Into<Value>) -> Self {
        UserSettingsEvent {
            op: "update".to_owned(),
            property: property.to_owned(),
            value: value.into(),
            language_name: None,
        }
    }
}

//! `POST users/me/status`, `GET users/{user_id}/status`, `POST users/{user_id}/status` and the
//! `user_status` event, shaped as in Zulip's 2025 OpenAPI description.

use serde::{Deserialize, Serialize};

use crate::endpoint::{Empty, endpoint};
use crate::ids::UserId;

endpoint! {
    /// Changes the parameters passed of the user's own status.
    UpdateStatus: Post "users/me/status", auth Basic,
    name "zulip.status_update", path (), UpdateStatusRequest => Empty
}

endpoint! {
    /// One user's status (Zulip 9.0, feature level 262).
    GetUserStatus: Get "users/{user_id}/status", auth Basic,
    name "zulip.user_status", path UserId, Empty => GetUserStatusResponse
}

endpoint! {
    /// An administrator changes another user's status (Zulip 11.0, feature level 407). Shares
    /// its path with [`GetUserStatus`].
    UpdateStatusForUser: Post "users/{user_id}/status", auth Basic,
    name "zulip.status_update_for_user", path UserId, UpdateStatusForUserRequest => Empty
}

/// The `type` of user status events.
pub const USER_STATUS_EVENT_TYPE: &str = "user_status";

/// Zulip's limit on `status_text`, in characters.
pub const MAX_STATUS_TEXT_CHARS: usize = 60;

/// The emoji namespaces Zulip knows (`reaction_type`).
pub const REACTION_TYPES: &[&str] = &["unicode_emoji", "realm_emoji", "zulip_extra_emoji"];

/// Parameters of `POST users/me/status`; only those passed change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateStatusRequest {
    /// `""` clears the text. At most [`MAX_STATUS_TEXT_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_text: Option<String>,
    /// Deprecated: `!presence_enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away: Option<bool>,
    /// `""` clears the emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_type: Option<String>,
}

/// Parameters of `POST users/{user_id}/status`: those of [`UpdateStatusRequest`] but `away`,
/// which is the target's own `presence_enabled` setting and not the administrator's to change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateStatusForUserRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_type: Option<String>,
}

impl From<UpdateStatusForUserRequest> for UpdateStatusRequest {
    fn from(request: UpdateStatusForUserRequest) -> Self {
        UpdateStatusRequest {
            status_text: request.status_text,
            away: None,
            emoji_name: request.emoji_name,
            emoji_code: request.emoji_code,
            reaction_type: request.reaction_type,
        }
    }
}

/// A user's status: only what is set is present (`{}` for none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_type: Option<String>,
}

impl UserStatus {
    /// Nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == UserStatus::default()
    }
}

/// Response of `GET users/{user_id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetUserStatusResponse {
    pub status: UserStatus,
}

/// A `user_status` event: the fields that changed, sent to the user's realm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserStatusEvent {
    pub user_id: UserId,
    #[serde(flatten)]
    pub status: UserStatus,
}

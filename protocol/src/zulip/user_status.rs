//! `POST users/me/status`, `GET users/{user_id}/status`, `POST users/{user_id}/status` and the
//! `user_status` event, shaped as in Zulip's 2025 OpenAPI description.

use serde::{Deserialize, Serialize};

use crate::endpoint::{Empty, endpoint};
use crate::event::{EventKind, QueueEvent};
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GetUserStatusResponse {
    pub status: UserStatus,
}

/// A `user_status` event: the fields that changed, sent to the user's realm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserStatusEvent {
    pub user_id: UserId,
    #[serde(flatten)]
    pub status: UserStatus,
}

impl UserStatusEvent {
    /// The status event `event` carries, if it is one (queues keep Zulip's own events whole).
    pub fn from_queue_event(event: &QueueEvent) -> Option<Self> {
        match &event.kind {
            EventKind::Unknown { event_type, fields } if event_type == USER_STATUS_EVENT_TYPE => {
                Self::deserialize(fields).ok()
            }
            _ => None,
        }
    }
}

impl UserStatus {
    /// `self` with the fields of `change` that are present (a `user_status` event names only
    /// what changed; an empty text or emoji name clears it, as Zulip's clients apply them).
    pub fn updated(&self, change: &UserStatus) -> UserStatus {
        let pick = |new: &Option<String>, old: &Option<String>| match new {
            Some(v) if v.is_empty() => None,
            Some(v) => Some(v.clone()),
            None => old.clone(),
        };
        let emoji_cleared = change.emoji_name.as_deref() == Some("");
        UserStatus {
            away: change.away.or(self.away),
            status_text: pick(&change.status_text, &self.status_text),
            emoji_name: pick(&change.emoji_name, &self.emoji_name),
            emoji_code: if emoji_cleared {
                None
            } else {
                pick(&change.emoji_code, &self.emoji_code)
            },
            reaction_type: if emoji_cleared {
                None
            } else {
                pick(&change.reaction_type, &self.reaction_type)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zulip::presence::PresenceEvent;

    fn event(json: &str) -> QueueEvent {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn status_events_are_read_from_the_queue_and_applied_field_by_field() {
        let e = event(
            r#"{"type":"user_status","id":3,"user_id":9,"status_text":"In a call",
                "emoji_name":"phone","emoji_code":"1f4de","reaction_type":"unicode_emoji"}"#,
        );
        let change = UserStatusEvent::from_queue_event(&e).unwrap();
        assert_eq!(change.user_id, UserId(9));
        let before = UserStatus {
            away: Some(false),
            status_text: Some("Lunch".into()),
            ..UserStatus::default()
        };
        let during = before.updated(&change.status);
        assert_eq!(during.status_text.as_deref(), Some("In a call"));
        assert_eq!(during.emoji_code.as_deref(), Some("1f4de"));
        assert_eq!(during.away, Some(false), "untouched fields stay");
        let cleared = UserStatus {
            status_text: Some(String::new()),
            emoji_name: Some(String::new()),
            ..UserStatus::default()
        };
        let after = during.updated(&cleared);
        assert_eq!(after.status_text, None);
        assert_eq!(after.emoji_name, None);
        assert_eq!(after.emoji_code, None, "clearing the name clears the emoji");
        assert!(PresenceEvent::from_queue_event(&e).is_none());
    }

    #[test]
    fn presence_events_and_initial_state_are_read() {
        let e = event(
            r#"{"type":"presence","id":4,"user_id":10,"email":"a@b.c","server_timestamp":1.5,
                "presence":{"website":{"client":"website","status":"active","timestamp":100,
                "pushable":false}}}"#,
        );
        let presence = PresenceEvent::from_queue_event(&e).unwrap();
        assert_eq!(presence.user_id, UserId(10));
        assert_eq!(presence.entry().unwrap().timestamp, 100);
        assert!(UserStatusEvent::from_queue_event(&e).is_none());
        let register: crate::zulip::register::RegisterResponse = serde_json::from_str(
            r#"{"queue_id":"q","last_event_id":-1,"zulip_version":"9","zulip_feature_level":1,
                "presences":{"10":{"active_timestamp":5,"idle_timestamp":6}},
                "server_timestamp":7.25,"presence_last_update_id":12,
                "user_status":{"10":{"status_text":"Busy"},"x":{}}}"#,
        )
        .unwrap();
        let state = register.presence_state().unwrap();
        assert_eq!(
            state.presences.modern(UserId(10)).unwrap().idle_timestamp,
            6
        );
        assert_eq!(state.server_timestamp, Some(7.25));
        assert_eq!(state.last_update_id, Some(12));
        let statuses = register.user_statuses().unwrap();
        assert_eq!(statuses.len(), 1, "a key that is not a user id is skipped");
        assert_eq!(statuses[&UserId(10)].status_text.as_deref(), Some("Busy"));
    }
}

//! `POST register`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use std::collections::BTreeMap;

use crate::endpoint::endpoint;
use crate::ids::{EventId, QueueId, UserId};
use crate::zulip::presence::Presences;
use crate::zulip::user_status::UserStatus;

endpoint! {
    /// Opens an event queue (spec §5); `event_types=["call_event"]` limits it to calls.
    Register: Post "register", auth Basic,
    name "zulip.register", path (), RegisterRequest => RegisterResponse
}

/// The long-poll timeout Zulip tells clients to assume when `register` does not say.
pub const DEFAULT_LONGPOLL_TIMEOUT_SECONDS: u64 = 90;

/// Parameters of `register`. Zulip reads every one as JSON, so lists travel as JSON text
/// (`event_types=["call_event"]`) and booleans as `true`/`false`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegisterRequest {
    /// Event types to queue; `None` = all.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::params::as_json_text",
        deserialize_with = "crate::zulip::json_text_list"
    )]
    pub event_types: Option<Vec<String>>,
    /// Initial state to return; `None` = the same as `event_types`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::params::as_json_text",
        deserialize_with = "crate::zulip::json_text_list"
    )]
    pub fetch_event_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_markdown: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_gravatar: Option<bool>,
    /// Key presence data by user id rather than email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slim_presence: Option<bool>,
}

impl RegisterRequest {
    /// A queue for `types` only.
    pub fn for_event_types<I, S>(types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RegisterRequest {
            event_types: Some(types.into_iter().map(Into::into).collect()),
            ..RegisterRequest::default()
        }
    }

    /// Whether events of type `event_type` go to this queue.
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t == event_type))
    }
}

/// The presence part of `register`'s initial state.
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceState {
    pub presences: Presences,
    /// Unix seconds, fractional.
    pub server_timestamp: Option<f64>,
    pub last_update_id: Option<i64>,
}

/// Response of `register`: the queue, the server's version, and whatever initial state was
/// asked for (kept in `extra`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegisterResponse {
    /// Zulip sends `null` only to unauthenticated (web-public) visitors, which this API never
    /// serves, so it is required here.
    pub queue_id: QueueId,
    /// The `last_event_id` to poll from (-1 for a new queue).
    pub last_event_id: EventId,
    pub zulip_version: String,
    /// Always sent since Zulip 3.0.
    pub zulip_feature_level: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zulip_merge_base: Option<String>,
    /// Present when `realm` state was fetched; see [`Self::longpoll_timeout_seconds`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_queue_longpoll_timeout_seconds: Option<u64>,
    /// Our extension (spec §5): where to open the event WebSocket for this queue. Servers
    /// without it leave it out and clients long-poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_websocket_path: Option<String>,
    /// The initial state (`realm_users`, `realm_jitsi_server_url`, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RegisterResponse {
    /// The initial presence state (`presences`, `server_timestamp`, `presence_last_update_id`),
    /// when `presence` was fetched and the server has it.
    pub fn presence_state(&self) -> Option<PresenceState> {
        let presences = Presences::deserialize(self.extra.get("presences")?).ok()?;
        Some(PresenceState {
            presences,
            server_timestamp: self.extra.get("server_timestamp").and_then(Value::as_f64),
            last_update_id: self
                .extra
                .get("presence_last_update_id")
                .and_then(Value::as_i64),
        })
    }

    /// The initial `user_status` state: every user with a status set, when `user_status` was
    /// fetched. Entries that do not parse are left out.
    pub fn user_statuses(&self) -> Option<BTreeMap<UserId, UserStatus>> {
        let Value::Object(statuses) = self.extra.get("user_status")? else {
            return None;
        };
        Some(
            statuses
                .iter()
                .filter_map(|(id, status)| {
                    Some((id.parse().ok()?, UserStatus::deserialize(status).ok()?))
                })
                .collect(),
        )
    }

    /// The HTTP timeout to use for `GET events` on this queue.
    pub fn longpoll_timeout_seconds(&self) -> u64 {
        self.event_queue_longpoll_timeout_seconds
            .unwrap_or(DEFAULT_LONGPOLL_TIMEOUT_SECONDS)
    }
}

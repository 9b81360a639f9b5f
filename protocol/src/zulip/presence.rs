//! `POST users/me/presence`, `GET realm/presence`, `GET users/{user_id_or_email}/presence` and
//! the `presence` event, shaped as in Zulip's 2025 OpenAPI description.
//!
//! Zulip sends timestamps, not verdicts: a client decides "active", "idle" or "offline" by
//! comparing them with the server's clock and [`OFFLINE_THRESHOLD_SECS`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::endpoint::{Empty, PathParams, endpoint};
use crate::event::{EventKind, QueueEvent};
use crate::ids::UserId;
use crate::macros::string_enum;

endpoint! {
    /// Reports this client's presence and, unless `ping_only`, fetches everyone's.
    UpdatePresence: Post "users/me/presence", auth Basic,
    name "zulip.presence_update", path (), UpdatePresenceRequest => UpdatePresenceResponse
}

endpoint! {
    /// Everyone's presence in the legacy format, keyed by email.
    GetRealmPresence: Get "realm/presence", auth Basic,
    name "zulip.realm_presence", path (), Empty => RealmPresenceResponse
}

endpoint! {
    /// One user's presence, by id or API email.
    GetUserPresence: Get "users/{user_id_or_email}/presence", auth Basic,
    name "zulip.user_presence", path UserIdOrEmail, Empty => UserPresenceResponse
}

/// Zulip's `OFFLINE_THRESHOLD_SECS`: a user whose newest report is older than this is
/// offline; within it, "active" when an `active` report is that recent, else "idle".
pub const OFFLINE_THRESHOLD_SECS: i64 = 140;

/// Zulip's `PRESENCE_LEGACY_EVENT_OFFSET_FOR_ACTIVITY_SECONDS`: in the legacy format a user is
/// "active" while their last active report is at most this much older than their last report.
pub const LEGACY_ACTIVITY_OFFSET_SECS: i64 = 70;

/// The `type` of presence events.
pub const PRESENCE_EVENT_TYPE: &str = "presence";

/// The client key of legacy presence objects: Zulip 7.0+ no longer stores clients and always
/// says `website`.
pub const LEGACY_CLIENT: &str = "website";

string_enum! {
    /// What a client reports about its user.
    pub enum PresenceStatus {
        Active = "active",
        Idle = "idle",
    }
}

string_enum! {
    /// A legacy presence object's status; `offline` only in `GET users/{..}/presence`'s
    /// aggregate, which Zulip judges itself.
    pub enum LegacyStatus {
        Active = "active",
        Idle = "idle",
        Offline = "offline",
    }
}

/// The path of [`GetUserPresence`]: Zulip takes a user id or an API email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserIdOrEmail {
    Id(UserId),
    Email(String),
}

impl schemars::JsonSchema for UserIdOrEmail {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "UserIdOrEmail".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let id = generator.subschema_for::<UserId>();
        schemars::json_schema!({ "anyOf": [id, { "type": "string" }] })
    }
}

impl PathParams for UserIdOrEmail {
    fn render(&self, template: &str) -> String {
        let segment = match self {
            UserIdOrEmail::Id(id) => id.to_string(),
            UserIdOrEmail::Email(email) => email.clone(),
        };
        template.replace("{user_id_or_email}", &segment)
    }
}

/// Parameters of `POST users/me/presence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpdatePresenceRequest {
    pub status: PresenceStatus,
    /// Only report; the answer carries no presence data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_only: Option<bool>,
    /// The user touched the client since its previous report (usage statistics only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_user_input: Option<bool>,
    /// Deprecated way to ask for the modern format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slim_presence: Option<bool>,
    /// Only data newer than this; implies the modern format. `-1` for everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_id: Option<i64>,
    /// How far back the first fetch reaches (Zulip's default: 14 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_limit_days: Option<i64>,
}

impl UpdatePresenceRequest {
    /// A report of `status` that fetches everything in the modern format.
    pub fn modern(status: PresenceStatus, last_update_id: i64) -> Self {
        UpdatePresenceRequest {
            status,
            ping_only: None,
            new_user_input: None,
            slim_presence: None,
            last_update_id: Some(last_update_id),
            history_limit_days: None,
        }
    }
}

/// A user's presence in the modern format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModernPresence {
    /// Last time a client said the user was really there (Unix seconds).
    pub active_timestamp: i64,
    /// Last time any client of the user was connected, idle or not (Unix seconds).
    pub idle_timestamp: i64,
}

impl ModernPresence {
    /// What a client shows at `now` (Unix seconds), the way Zulip's clients judge it.
    pub fn status_at(&self, now: i64) -> LegacyStatus {
        if now - self.active_timestamp <= OFFLINE_THRESHOLD_SECS {
            LegacyStatus::Active
        } else if now - self.idle_timestamp <= OFFLINE_THRESHOLD_SECS {
            LegacyStatus::Idle
        } else {
            LegacyStatus::Offline
        }
    }
}

/// One entry of a legacy presence object (`website` or `aggregated`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LegacyClientPresence {
    /// Always `website` since Zulip 7.0; absent from `GET users/{..}/presence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    pub status: LegacyStatus,
    /// Unix seconds.
    pub timestamp: i64,
    /// Always `false` since Zulip 7.0; absent from `aggregated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushable: Option<bool>,
}

/// A user's presence in the legacy format: `{"website": .., "aggregated": ..}`.
pub type LegacyPresence = BTreeMap<String, LegacyClientPresence>;

/// `presences` of `POST users/me/presence` and `register`: keyed by user id (modern) or by
/// email (legacy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Presences {
    Modern(BTreeMap<String, ModernPresence>),
    Legacy(BTreeMap<String, LegacyPresence>),
}

impl Presences {
    /// The modern entry of `user`, if these are modern and name them.
    pub fn modern(&self, user: UserId) -> Option<&ModernPresence> {
        match self {
            Presences::Modern(map) => map.get(&user.to_string()),
            Presences::Legacy(_) => None,
        }
    }

    /// How many users are listed.
    pub fn len(&self) -> usize {
        match self {
            Presences::Modern(map) => map.len(),
            Presences::Legacy(map) => map.len(),
        }
    }

    /// Nobody is listed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Response of `POST users/me/presence`; all absent for `ping_only`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpdatePresenceResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presences: Option<Presences>,
    /// Unix seconds, fractional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_timestamp: Option<f64>,
    /// The `last_update_id` to pass next time; `-1` when nothing was sent and none passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_last_update_id: Option<i64>,
}

/// Response of `GET realm/presence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RealmPresenceResponse {
    /// Legacy objects keyed by API email.
    pub presences: BTreeMap<String, LegacyPresence>,
    pub server_timestamp: f64,
}

/// Response of `GET users/{user_id_or_email}/presence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserPresenceResponse {
    /// `aggregated` and `website`, with `status` and `timestamp` only.
    pub presence: LegacyPresence,
}

impl PresenceEvent {
    /// The presence event `event` carries, if it is one (queues keep Zulip's own events whole).
    pub fn from_queue_event(event: &QueueEvent) -> Option<Self> {
        match &event.kind {
            EventKind::Unknown { event_type, fields } if event_type == PRESENCE_EVENT_TYPE => {
                Self::deserialize(fields).ok()
            }
            _ => None,
        }
    }

    /// The event's one client entry (`website` since Zulip 7.0; any other if not).
    pub fn entry(&self) -> Option<&LegacyClientPresence> {
        self.presence
            .get(LEGACY_CLIENT)
            .or_else(|| self.presence.values().next())
    }
}

/// A `presence` event: sent to the realm when a user comes online (legacy shape, as Zulip
/// sends it to clients without the `simplified_presence_events` capability).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PresenceEvent {
    pub user_id: UserId,
    pub email: String,
    pub server_timestamp: f64,
    /// `{"website": ..}`.
    pub presence: LegacyPresence,
}

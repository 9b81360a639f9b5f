//! The server's own records: what it stores beyond the wire types of the protocol crate.

use serde::{Deserialize, Serialize};
use zulip_calls_protocol::call::Party;
use zulip_calls_protocol::{Call, CallId, MediaStatus, Timestamp, UserId};

/// The shortest API key accepted: short keys are guessable, and Zulip's own are 32 characters.
pub const MIN_API_KEY_LEN: usize = 16;

/// A realm (organisation). Users see and call only users of their own realm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RealmId(pub i64);

/// A realm as loaded from the realm file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealmRecord {
    pub id: RealmId,
    pub name: String,
    /// The organisation URL, e.g. `http://localhost:9991`.
    pub url: String,
}

/// A user as loaded from the realm file.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub realm_id: RealmId,
    pub email: String,
    pub full_name: String,
    pub api_key: String,
    /// For `fetch_api_key`; `None` means password login is refused.
    pub password: Option<String>,
    pub is_admin: bool,
    pub is_active: bool,
    pub is_bot: bool,
}

impl std::fmt::Debug for UserRecord {
    /// Credentials stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("realm_id", &self.realm_id)
            .field("email", &self.email)
            .field("full_name", &self.full_name)
            .field("is_admin", &self.is_admin)
            .field("is_active", &self.is_active)
            .field("is_bot", &self.is_bot)
            .finish_non_exhaustive()
    }
}

/// A call as stored: the §2 object plus its realm and each party's latest media report.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub call: Call,
    pub realm_id: RealmId,
    pub sender_media_status: Option<MediaStatus>,
    pub receiver_media_status: Option<MediaStatus>,
    /// When each party last heartbeated an accepted call (the 1.1 dialect's watch); `None`:
    /// that party is not watched.
    pub sender_heartbeat_at: Option<Timestamp>,
    pub receiver_heartbeat_at: Option<Timestamp>,
}

impl CallRecord {
    /// The latest media status `party` reported.
    pub fn media_status(&self, party: Party) -> &Option<MediaStatus> {
        match party {
            Party::Sender => &self.sender_media_status,
            Party::Receiver => &self.receiver_media_status,
        }
    }

    /// The heartbeat slot of `party`.
    pub fn heartbeat_at_mut(&mut self, party: Party) -> &mut Option<Timestamp> {
        match party {
            Party::Sender => &mut self.sender_heartbeat_at,
            Party::Receiver => &mut self.receiver_heartbeat_at,
        }
    }

    /// The media status slot of `party`.
    pub fn media_status_mut(&mut self, party: Party) -> &mut Option<MediaStatus> {
        match party {
            Party::Sender => &mut self.sender_media_status,
            Party::Receiver => &mut self.receiver_media_status,
        }
    }
}

/// One line of a call's audit log: who did what, when (the seed's call history tracking).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub call_id: CallId,
    pub at: Timestamp,
    /// `None` when the server or an operator acted.
    pub actor_id: Option<UserId>,
    /// What happened: an event type (`call_started`, `call_ended`, ...) or an idempotent
    /// repeat (`acknowledge_repeat`, `end_repeat`).
    pub action: String,
    /// The call's state after the action.
    pub state: zulip_calls_protocol::CallState,
    /// Extra facts (end reason, media status, ...).
    pub detail: serde_json::Value,
}

/// A push device registered with Zulip's token endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Device {
    Fcm { token: String },
    Apns { token: String, appid: String },
}

/// A push the server built and recorded instead of sending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutboxEntry {
    pub id: i64,
    pub at: Timestamp,
    /// The push's recipient.
    pub user_id: UserId,
    pub call_id: CallId,
    /// `call`, `call_response`, `call_cancelled` or `missed_call`.
    pub event: String,
    /// The exact provider request (`zulip_calls_protocol::push::PushRequest` as JSON).
    pub request: serde_json::Value,
}

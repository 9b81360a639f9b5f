//! The call (spec §2) and its enumerations, plus the per-viewer shapes that `active`,
//! `history` and events derive from it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::{CallId, UserId};
use crate::macros::string_enum;
use crate::time::Timestamp;

string_enum! {
    /// Audio or video. Audio calls join Jitsi with the camera off.
    pub enum CallType {
        Video = "video",
        Audio = "audio",
    }
}

impl Default for CallType {
    /// `start` and `create` default to video, as the plugin does.
    fn default() -> Self {
        CallType::Video
    }
}

impl CallType {
    /// The legacy boolean form used by `initiate` and `create` (`is_video_call`).
    pub const fn from_is_video(is_video_call: bool) -> Self {
        if is_video_call {
            CallType::Video
        } else {
            CallType::Audio
        }
    }
}

string_enum! {
    /// Where a call is in its life (spec §3).
    pub enum CallState {
        /// Created; no device of the receiver has acknowledged yet.
        Calling = "calling",
        /// At least one device of the receiver is ringing.
        Ringing = "ringing",
        /// The receiver answered; both parties are (or may be) in the meeting.
        Accepted = "accepted",
        /// The receiver declined, or ended the call before answering.
        Rejected = "rejected",
        /// Nobody acknowledged within the ring timeout, or an operator cleaned it up.
        Timeout = "timeout",
        /// An accepted call that is over.
        Ended = "ended",
        /// It rang but was not answered in time.
        Missed = "missed",
        /// The sender hung up before an answer.
        Cancelled = "cancelled",
        /// An accepted call whose heartbeats stopped (the 1.1 dialect's watch).
        NetworkFailure = "network_failure",
    }
}

string_enum! {
    /// The `status` of the 1.1 dialect's `GET calls/{id}/status`: the call's state as the
    /// plugin's mobile app reads it.
    pub enum CallStatus {
        Created = "created",
        Ringing = "ringing",
        Accepted = "accepted",
        Declined = "declined",
        Cancelled = "cancelled",
        Ended = "ended",
    }
}

impl CallState {
    /// The 1.1 dialect's `status` for this state: `calling → created`, `rejected →
    /// declined`, every terminal state but `rejected` and `cancelled` → `ended`.
    pub const fn status(self) -> CallStatus {
        match self {
            CallState::Calling => CallStatus::Created,
            CallState::Ringing => CallStatus::Ringing,
            CallState::Accepted => CallStatus::Accepted,
            CallState::Rejected => CallStatus::Declined,
            CallState::Cancelled => CallStatus::Cancelled,
            CallState::Timeout
            | CallState::Ended
            | CallState::Missed
            | CallState::NetworkFailure => CallStatus::Ended,
        }
    }

    /// `calling`, `ringing` or `accepted`: the call still occupies both parties.
    pub const fn is_active(self) -> bool {
        matches!(
            self,
            CallState::Calling | CallState::Ringing | CallState::Accepted
        )
    }

    /// The call is over; no transition leaves this state.
    pub const fn is_terminal(self) -> bool {
        !self.is_active()
    }

    /// `calling` or `ringing`: still waiting for the receiver to answer.
    pub const fn is_unanswered(self) -> bool {
        matches!(self, CallState::Calling | CallState::Ringing)
    }
}

string_enum! {
    /// Why a call ended (spec §2 `end_reason`).
    pub enum EndReason {
        /// A party hung up an accepted call.
        Hangup = "hangup",
        /// The sender hung up before an answer.
        Cancelled = "cancelled",
        /// The receiver declined.
        Rejected = "rejected",
        /// It rang past `CALL_NOTIFICATION_TIMEOUT`.
        Missed = "missed",
        /// No device acknowledged within `CALL_RING_TIMEOUT`.
        Timeout = "timeout",
        /// It lasted `CALL_MAX_DURATION`.
        MaxDuration = "max_duration",
        /// An operator's cleanup timed it out.
        Cleanup = "cleanup",
        /// A party's heartbeats stopped (the 1.1 dialect's watch).
        NetworkFailure = "network_failure",
    }
}

string_enum! {
    /// In-call media and connection status reported with `POST calls/status`.
    pub enum MediaStatus {
        Connected = "connected",
        OnHold = "on_hold",
        Resumed = "resumed",
        Muted = "muted",
        Unmuted = "unmuted",
        VideoDisabled = "video_disabled",
        VideoEnabled = "video_enabled",
        ScreenSharing = "screen_sharing",
        ScreenSharingStopped = "screen_sharing_stopped",
    }
}

/// A party's media as a whole, folded from the stream of [`MediaStatus`] reports.
///
/// The wire only carries the latest report of each party; a client that watches
/// `call_status_update` events folds them into this to show mute, camera, hold and sharing at
/// once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MediaState {
    /// The party reported `connected` at least once.
    pub connected: bool,
    pub muted: bool,
    pub video_off: bool,
    pub on_hold: bool,
    pub screen_sharing: bool,
}

impl MediaState {
    /// The state at the start of a call of `call_type` (audio calls start with the camera off).
    pub const fn initial(call_type: CallType) -> Self {
        MediaState {
            connected: false,
            muted: false,
            video_off: matches!(call_type, CallType::Audio),
            on_hold: false,
            screen_sharing: false,
        }
    }

    /// This state after `status` was reported.
    pub const fn apply(mut self, status: MediaStatus) -> Self {
        match status {
            MediaStatus::Connected => self.connected = true,
            MediaStatus::OnHold => self.on_hold = true,
            MediaStatus::Resumed => self.on_hold = false,
            MediaStatus::Muted => self.muted = true,
            MediaStatus::Unmuted => self.muted = false,
            MediaStatus::VideoDisabled => self.video_off = true,
            MediaStatus::VideoEnabled => self.video_off = false,
            MediaStatus::ScreenSharing => self.screen_sharing = true,
            MediaStatus::ScreenSharingStopped => self.screen_sharing = false,
        }
        self
    }
}

/// The receiver's answer in `POST calls/respond`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RespondAction {
    Accept,
    /// Sent as `reject`; `decline` is read as a synonym.
    Reject,
}

impl RespondAction {
    /// The value as this crate sends it.
    pub const fn as_str(self) -> &'static str {
        match self {
            RespondAction::Accept => "accept",
            RespondAction::Reject => "reject",
        }
    }
}

impl std::fmt::Display for RespondAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RespondAction {
    type Err = crate::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "accept" => Ok(RespondAction::Accept),
            "reject" | "decline" => Ok(RespondAction::Reject),
            other => Err(crate::UnknownValue {
                kind: "RespondAction",
                value: other.to_owned(),
                expected: &["accept", "reject", "decline"],
            }),
        }
    }
}

impl Serialize for RespondAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl schemars::JsonSchema for RespondAction {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RespondAction".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "enum": ["accept", "reject", "decline"] })
    }
}

impl<'de> Deserialize<'de> for RespondAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The call object of spec §2, as `create` and `GET calls/{call_id}` return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Call {
    pub call_id: CallId,
    pub call_type: CallType,
    pub state: CallState,
    pub sender_id: UserId,
    pub sender_name: String,
    pub sender_email: String,
    pub receiver_id: UserId,
    pub receiver_name: String,
    pub receiver_email: String,
    pub jitsi_room_id: String,
    /// The bare room URL, safe to show to both parties (never a join URL).
    pub jitsi_url: String,
    pub created_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    /// Seconds between `answered_at` and `ended_at`; `null` when never answered.
    pub duration: Option<f64>,
    pub end_reason: Option<EndReason>,
}

/// Which side of a call a user is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Sender,
    Receiver,
}

impl Call {
    /// The duration as the contract defines it: seconds from answer to end, `None` when the
    /// call was never answered or has not ended.
    pub fn computed_duration(&self) -> Option<f64> {
        call_duration(self.answered_at, self.ended_at)
    }

    /// Which party `user` is, if any.
    pub fn party_of(&self, user: UserId) -> Option<Party> {
        if user == self.sender_id {
            Some(Party::Sender)
        } else if user == self.receiver_id {
            Some(Party::Receiver)
        } else {
            None
        }
    }

    /// The id and name of the party that is not `viewer` (the receiver when `viewer` is the
    /// sender, the sender otherwise).
    pub fn other_party(&self, viewer: UserId) -> (UserId, &str) {
        if viewer == self.sender_id {
            (self.receiver_id, &self.receiver_name)
        } else {
            (self.sender_id, &self.sender_name)
        }
    }

    /// The entry of `GET calls/active` as `viewer` sees it.
    pub fn to_active(&self, viewer: UserId) -> ActiveCall {
        ActiveCall {
            call_id: self.call_id,
            call_type: self.call_type,
            state: self.state,
            sender_id: self.sender_id,
            sender_name: self.sender_name.clone(),
            receiver_id: self.receiver_id,
            receiver_name: self.receiver_name.clone(),
            jitsi_url: self.jitsi_url.clone(),
            created_at: self.created_at,
            is_outgoing: viewer == self.sender_id,
        }
    }

    /// The entry of `GET calls/history` as `viewer` sees it.
    pub fn to_history(&self, viewer: UserId) -> HistoryEntry {
        let (user_id, user_name) = self.other_party(viewer);
        HistoryEntry {
            call_id: self.call_id,
            user_id,
            user_name: user_name.to_owned(),
            call_type: self.call_type,
            state: self.state,
            is_outgoing: viewer == self.sender_id,
            created_at: self.created_at,
            answered_at: self.answered_at,
            ended_at: self.ended_at,
            duration: self.duration,
        }
    }
}

/// Seconds between `answered_at` and `ended_at`, when both are known.
pub fn call_duration(answered_at: Option<Timestamp>, ended_at: Option<Timestamp>) -> Option<f64> {
    match (answered_at, ended_at) {
        (Some(answered), Some(ended)) => Some(ended.seconds_since(answered).max(0.0)),
        _ => None,
    }
}

/// One entry of `GET calls/active`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActiveCall {
    pub call_id: CallId,
    pub call_type: CallType,
    pub state: CallState,
    pub sender_id: UserId,
    pub sender_name: String,
    pub receiver_id: UserId,
    pub receiver_name: String,
    pub jitsi_url: String,
    pub created_at: Timestamp,
    /// The requesting user placed this call.
    pub is_outgoing: bool,
}

/// One entry of `GET calls/history`; `user_*` is the other party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryEntry {
    pub call_id: CallId,
    pub user_id: UserId,
    pub user_name: String,
    pub call_type: CallType,
    pub state: CallState,
    pub is_outgoing: bool,
    pub created_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub duration: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_and_terminal_partition_the_states() {
        for state in CallState::ALL {
            assert_ne!(state.is_active(), state.is_terminal(), "{state}");
        }
        let active: Vec<_> = CallState::ALL.iter().filter(|s| s.is_active()).collect();
        assert_eq!(
            active,
            [
                &CallState::Calling,
                &CallState::Ringing,
                &CallState::Accepted
            ]
        );
    }

    #[test]
    fn decline_reads_as_reject_and_writes_as_reject() {
        let action: RespondAction = serde_json::from_str("\"decline\"").unwrap();
        assert_eq!(action, RespondAction::Reject);
        assert_eq!(serde_json::to_string(&action).unwrap(), "\"reject\"");
        assert!("maybe".parse::<RespondAction>().is_err());
    }

    #[test]
    fn unknown_call_type_is_an_error_naming_the_choices() {
        let err = "hologram".parse::<CallType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown CallType \"hologram\" (expected one of: video, audio)"
        );
    }

    #[test]
    fn media_state_folds_reports() {
        let state = MediaState::initial(CallType::Audio)
            .apply(MediaStatus::Connected)
            .apply(MediaStatus::Muted)
            .apply(MediaStatus::VideoEnabled)
            .apply(MediaStatus::OnHold)
            .apply(MediaStatus::Resumed);
        assert_eq!(
            state,
            MediaState {
                connected: true,
                muted: true,
                video_off: false,
                on_hold: false,
                screen_sharing: false
            }
        );
    }

    #[test]
    fn duration_needs_both_ends() {
        let a = Timestamp::from_unix_seconds(100).unwrap();
        let b = Timestamp::from_unix_seconds(160).unwrap();
        assert_eq!(call_duration(Some(a), Some(b)), Some(60.0));
        assert_eq!(call_duration(None, Some(b)), None);
        assert_eq!(call_duration(Some(a), None), None);
    }
}

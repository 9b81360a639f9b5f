//! The group call and its participants as the 1.1 dialect describes them (its spec's §6).

use serde::{Deserialize, Serialize};

use crate::call::CallType;
use crate::ids::{CallId, StreamId, UserId};
use crate::macros::string_enum;
use crate::time::Timestamp;

/// How many participants a group call holds at most (counted among the `joined`).
pub const GROUP_MAX_PARTICIPANTS: u32 = 50;

/// Every group call's Jitsi room name starts with this, whatever `JITSI_MEETING_PREFIX` says
/// (the plugin's rooms are named so, and its mobile app recognises them by it).
pub const GROUP_ROOM_PREFIX: &str = "zulip-group-call-";

/// How many hex digits follow [`GROUP_ROOM_PREFIX`].
pub const GROUP_ROOM_HEX_DIGITS: usize = 16;

/// A fresh room name: [`GROUP_ROOM_PREFIX`] and 16 random hex digits.
///
/// Drawn apart from the call id, so that a room name seen in a Jitsi log tells nothing about
/// the id that joins the call.
pub fn new_group_room_name() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{GROUP_ROOM_PREFIX}{}", &random[..GROUP_ROOM_HEX_DIGITS])
}

/// `name` has the shape of a group call's room name (prefix and 16 lowercase hex digits).
pub fn is_group_room_name(name: &str) -> bool {
    name.strip_prefix(GROUP_ROOM_PREFIX).is_some_and(|hex| {
        hex.len() == GROUP_ROOM_HEX_DIGITS
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

string_enum! {
    /// Where a group call is in its life. Unlike a 1:1 call it never rings as a whole: its
    /// participants do, each on their own ([`ParticipantState`]).
    pub enum GroupCallState {
        /// Open: participants may join, leave and be invited.
        Active = "active",
        /// Over: only `status` and `participants` still answer.
        Ended = "ended",
    }
}

string_enum! {
    /// Where one participant of a group call stands.
    pub enum ParticipantState {
        /// Asked to join; no device has rung yet.
        Invited = "invited",
        /// A device of theirs is ringing.
        Ringing = "ringing",
        /// In the meeting (the host from the start).
        Joined = "joined",
        /// Said no to the invitation.
        Declined = "declined",
        /// Was in the meeting and is not any more (by choice or dropped by the server).
        Left = "left",
        /// Neither joined nor declined within `CALL_NOTIFICATION_TIMEOUT`, or the call ended
        /// first.
        Missed = "missed",
    }
}

impl ParticipantState {
    /// `invited` or `ringing`: the invitation is still open.
    pub const fn is_pending(self) -> bool {
        matches!(self, ParticipantState::Invited | ParticipantState::Ringing)
    }

    /// `invited`, `ringing` or `joined`: the participant still follows the call, so they get
    /// the events about others joining and leaving.
    pub const fn is_engaged(self) -> bool {
        self.is_pending() || matches!(self, ParticipantState::Joined)
    }
}

/// A user as group calls name the host (and an inviter): id and name only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupUser {
    pub user_id: UserId,
    pub full_name: String,
}

/// A group call (its spec's §6 `GroupCall`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupCall {
    pub call_id: CallId,
    pub call_type: CallType,
    pub state: GroupCallState,
    /// `null` when the host gave none (pushes then say "Group Call", as the plugin's do).
    #[serde(default)]
    pub title: Option<String>,
    pub host: GroupUser,
    /// The stream the call was started from, if any.
    #[serde(default)]
    pub stream_id: Option<StreamId>,
    /// The topic in that stream; only ever set together with `stream_id`.
    #[serde(default)]
    pub topic: Option<String>,
    /// [`GROUP_ROOM_PREFIX`] and 16 hex digits.
    pub jitsi_room_name: String,
    /// The bare room URL (never a join URL).
    pub jitsi_url: String,
    pub max_participants: u32,
    pub created_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

impl GroupCall {
    /// The call is still open.
    pub const fn is_active(&self) -> bool {
        matches!(self.state, GroupCallState::Active)
    }

    /// With `joined` participants in, nobody else may join.
    pub const fn is_full(&self, joined: u32) -> bool {
        joined >= self.max_participants
    }
}

/// One participant of a group call (its spec's §6), as `group/{id}/participants` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupParticipant {
    pub user_id: UserId,
    pub full_name: String,
    pub email: String,
    pub state: ParticipantState,
    pub is_host: bool,
    /// When last invited (the host: when the call was created).
    pub invited_at: Timestamp,
    /// When last joined; `null` if never.
    pub joined_at: Option<Timestamp>,
    /// When last left; `null` if never.
    pub left_at: Option<Timestamp>,
}

impl GroupParticipant {
    /// The host of a call created at `at`: `joined` from the start.
    pub fn host(user: GroupUser, email: impl Into<String>, at: Timestamp) -> Self {
        GroupParticipant {
            user_id: user.user_id,
            full_name: user.full_name,
            email: email.into(),
            state: ParticipantState::Joined,
            is_host: true,
            invited_at: at,
            joined_at: Some(at),
            left_at: None,
        }
    }

    /// A user invited at `at`.
    pub fn invitee(user: GroupUser, email: impl Into<String>, at: Timestamp) -> Self {
        GroupParticipant {
            user_id: user.user_id,
            full_name: user.full_name,
            email: email.into(),
            state: ParticipantState::Invited,
            is_host: false,
            invited_at: at,
            joined_at: None,
            left_at: None,
        }
    }

    /// The participant by id and name.
    pub fn user(&self) -> GroupUser {
        GroupUser {
            user_id: self.user_id,
            full_name: self.full_name.clone(),
        }
    }
}

/// How many of `participants` are `joined`: a call's `participant_count`.
pub fn joined_count(participants: &[GroupParticipant]) -> u32 {
    let joined = participants
        .iter()
        .filter(|p| p.state == ParticipantState::Joined)
        .count();
    u32::try_from(joined).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_have_the_plugin_shape() {
        let name = new_group_room_name();
        assert!(is_group_room_name(&name), "{name}");
        assert_eq!(name.len(), GROUP_ROOM_PREFIX.len() + 16);
        assert_ne!(name, new_group_room_name());
        assert!(is_group_room_name("zulip-group-call-0123456789abcdef"));
        for bad in [
            "zulip-group-call-0123456789ABCDEF",
            "zulip-group-call-0123456789abcde",
            "zulip-call-0123456789abcdef",
            "zulip-group-call-0123456789abcdeg",
        ] {
            assert!(!is_group_room_name(bad), "{bad}");
        }
    }

    #[test]
    fn pending_and_engaged_states() {
        use ParticipantState as P;
        let pending: Vec<_> = P::ALL.iter().filter(|s| s.is_pending()).collect();
        assert_eq!(pending, [&P::Invited, &P::Ringing]);
        let engaged: Vec<_> = P::ALL.iter().filter(|s| s.is_engaged()).collect();
        assert_eq!(engaged, [&P::Invited, &P::Ringing, &P::Joined]);
    }

    #[test]
    fn a_call_is_full_at_its_maximum() {
        let call = GroupCall {
            call_id: CallId::new_random(),
            call_type: CallType::Video,
            state: GroupCallState::Active,
            title: None,
            host: GroupUser {
                user_id: UserId(10),
                full_name: "King Hamlet".into(),
            },
            stream_id: None,
            topic: None,
            jitsi_room_name: "zulip-group-call-0123456789abcdef".into(),
            jitsi_url: "https://meet.jit.si/zulip-group-call-0123456789abcdef".into(),
            max_participants: GROUP_MAX_PARTICIPANTS,
            created_at: Timestamp::from_unix_seconds(0).unwrap(),
            ended_at: None,
        };
        assert!(call.is_active());
        assert!(!call.is_full(49));
        assert!(call.is_full(50));
    }
}

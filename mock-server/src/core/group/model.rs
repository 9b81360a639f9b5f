//! The server's records of group calls: the protocol's [`GroupCall`] and participants plus
//! what the server keeps beside them (realm, end reason, heartbeat watch, audit log).

use serde::{Deserialize, Serialize};
use zulip_calls_protocol::plugin::group::{
    GroupCall, GroupEndReason, GroupParticipant, ParticipantState,
};
use zulip_calls_protocol::{CallId, Timestamp, UserId};

use crate::core::model::RealmId;

/// A group call as stored: the §6 object, its realm, why it ended and its participants (the
/// host first, then in the order they were first invited).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub call: GroupCall,
    pub realm_id: RealmId,
    /// Set once the call is `ended`.
    pub end_reason: Option<GroupEndReason>,
    pub participants: Vec<ParticipantRecord>,
}

impl GroupRecord {
    /// The participant `user`, if they have a place in the call.
    pub fn participant(&self, user: UserId) -> Option<&ParticipantRecord> {
        self.participants
            .iter()
            .find(|p| p.participant.user_id == user)
    }

    /// The participant `user`, to change.
    pub fn participant_mut(&mut self, user: UserId) -> Option<&mut ParticipantRecord> {
        self.participants
            .iter_mut()
            .find(|p| p.participant.user_id == user)
    }

    /// How many participants are `joined` (the call's `participant_count`).
    pub fn joined_count(&self) -> u32 {
        let joined = self
            .participants
            .iter()
            .filter(|p| p.state() == ParticipantState::Joined)
            .count();
        u32::try_from(joined).unwrap_or(u32::MAX)
    }

    /// The participants as the protocol shows them.
    pub fn wire_participants(&self) -> Vec<GroupParticipant> {
        self.participants
            .iter()
            .map(|p| p.participant.clone())
            .collect()
    }

    /// Each participant's state, in order (what a change records as its `before`).
    pub fn states(&self) -> Vec<(UserId, ParticipantState)> {
        self.participants
            .iter()
            .map(|p| (p.participant.user_id, p.state()))
            .collect()
    }
}

/// One participant as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantRecord {
    pub participant: GroupParticipant,
    /// When this participant last heartbeated, or joined; `None` while not `joined` (only
    /// joined participants are watched).
    pub heartbeat_at: Option<Timestamp>,
}

impl ParticipantRecord {
    pub fn state(&self) -> ParticipantState {
        self.participant.state
    }

    pub fn user_id(&self) -> UserId {
        self.participant.user_id
    }
}

/// One line of a group call's audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupAuditEntry {
    pub call_id: CallId,
    pub at: Timestamp,
    /// `None` when the server acted (a deadline).
    pub actor_id: Option<UserId>,
    /// What happened: a `group_call` event op (`created`, `participant_joined`, ...).
    pub action: String,
    /// The participant it happened to, if it is about one.
    pub subject_id: Option<UserId>,
    /// Extra facts (reason, invited ids, ...).
    pub detail: serde_json::Value,
}

/// What a group call's next deadline does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupDeadline {
    /// An invitee's ring is over (`CALL_NOTIFICATION_TIMEOUT` after the invitation): missed.
    Miss(UserId),
    /// A joined participant stopped heartbeating (`CALL_HEARTBEAT_TIMEOUT`): left, as a
    /// network failure.
    Drop(UserId),
    /// Nobody has been joined for `CALL_RING_TIMEOUT`: the call ends as `empty`.
    Empty,
    /// `CALL_MAX_DURATION` since the creation: the call ends as `max_duration`.
    MaxDuration,
}

impl GroupDeadline {
    /// Its name where fired deadlines are listed.
    pub const fn name(self) -> &'static str {
        match self {
            GroupDeadline::Miss(_) => "group_participant_missed",
            GroupDeadline::Drop(_) => "group_heartbeat_lost",
            GroupDeadline::Empty => "group_empty",
            GroupDeadline::MaxDuration => "group_max_duration",
        }
    }

    /// The participant it concerns, if one.
    pub const fn user(self) -> Option<UserId> {
        match self {
            GroupDeadline::Miss(user) | GroupDeadline::Drop(user) => Some(user),
            GroupDeadline::Empty | GroupDeadline::MaxDuration => None,
        }
    }
}

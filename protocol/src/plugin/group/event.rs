//! Group call events: `{"type": "group_call", "op": ..., ...}` (the 1.1 spec's §6).
//!
//! Each carries the call and every participant's state as they are after the change, so a
//! client redraws from the event alone. They arrive in the same queues as every other event
//! and are read by [`crate::event::QueueEvent`] as [`crate::event::EventKind::GroupCall`]; an
//! `op` this crate does not know keeps the whole event as
//! [`crate::event::EventKind::Unknown`].

use serde::{Deserialize, Serialize};

use super::model::{GroupCall, GroupParticipant, ParticipantState};
use crate::call::CallType;
use crate::ids::{CallId, StreamId, UserId};
use crate::macros::string_enum;
use crate::plugin::avatar_path;
use crate::plugin::event::CallOpUser;
use crate::time::Timestamp;

string_enum! {
    /// The `op` of a group call event.
    pub enum GroupCallOp {
        /// To the host: the call was opened.
        Created = "created",
        /// To each new invitee: they were invited (their devices ring).
        ParticipantInvited = "participant_invited",
        /// To the participants already joined: others were invited.
        ParticipantsInvited = "participants_invited",
        /// To everyone invited, ringing or joined.
        ParticipantJoined = "participant_joined",
        /// To everyone still invited, ringing or joined.
        ParticipantLeft = "participant_left",
        /// To the host and the joined.
        ParticipantDeclined = "participant_declined",
        /// To the host, the joined, and the invitee whose invitation ran out.
        ParticipantMissed = "participant_missed",
        /// To every participant.
        Ended = "ended",
    }
}

string_enum! {
    /// Why a participant left.
    pub enum GroupLeftReason {
        /// They left (`group/{id}/leave`).
        Left = "left",
        /// Their heartbeats stopped.
        NetworkFailure = "network_failure",
    }
}

string_enum! {
    /// Why a group call ended.
    pub enum GroupEndReason {
        /// The host ended it.
        HostEnded = "host_ended",
        /// Nobody was joined for `CALL_RING_TIMEOUT` after the last one left.
        Empty = "empty",
        /// It reached `CALL_MAX_DURATION`.
        MaxDuration = "max_duration",
    }
}

/// A participant as events list them: no email, an avatar path instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupEventParticipant {
    pub user_id: UserId,
    pub full_name: String,
    /// `/avatar/<user_id>`, relative to the realm.
    pub avatar_url: String,
    pub state: ParticipantState,
    pub is_host: bool,
}

impl From<&GroupParticipant> for GroupEventParticipant {
    fn from(participant: &GroupParticipant) -> Self {
        GroupEventParticipant {
            user_id: participant.user_id,
            full_name: participant.full_name.clone(),
            avatar_url: avatar_path(participant.user_id),
            state: participant.state,
            is_host: participant.is_host,
        }
    }
}

/// A group call event: the call and its participants as they are now, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupCallEvent {
    pub call_id: CallId,
    pub call_type: CallType,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub stream_id: Option<StreamId>,
    #[serde(default)]
    pub topic: Option<String>,
    /// The bare room URL (never a join URL).
    pub jitsi_url: String,
    /// When the event happened.
    pub timestamp: Timestamp,
    pub host: CallOpUser,
    pub participants: Vec<GroupEventParticipant>,
    #[serde(flatten)]
    pub detail: GroupCallDetail,
}

/// The per-op part of a group call event, tagged by `op`.
///
/// Reasons are optional: the plugin sends none, and a client must still read its events.
/// This crate's servers always send one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum GroupCallDetail {
    Created,
    ParticipantInvited {
        inviter_id: UserId,
        /// The invitee had no live event queue when invited.
        was_offline: bool,
    },
    ParticipantsInvited {
        new_participants: Vec<UserId>,
        inviter_id: UserId,
    },
    ParticipantJoined {
        joined_user_id: UserId,
    },
    ParticipantLeft {
        left_user_id: UserId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<GroupLeftReason>,
    },
    ParticipantDeclined {
        declined_user_id: UserId,
    },
    ParticipantMissed {
        missed_user_id: UserId,
    },
    Ended {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<GroupEndReason>,
    },
}

impl GroupCallDetail {
    /// The `op` of this detail.
    pub const fn op(&self) -> GroupCallOp {
        match self {
            GroupCallDetail::Created => GroupCallOp::Created,
            GroupCallDetail::ParticipantInvited { .. } => GroupCallOp::ParticipantInvited,
            GroupCallDetail::ParticipantsInvited { .. } => GroupCallOp::ParticipantsInvited,
            GroupCallDetail::ParticipantJoined { .. } => GroupCallOp::ParticipantJoined,
            GroupCallDetail::ParticipantLeft { .. } => GroupCallOp::ParticipantLeft,
            GroupCallDetail::ParticipantDeclined { .. } => GroupCallOp::ParticipantDeclined,
            GroupCallDetail::ParticipantMissed { .. } => GroupCallOp::ParticipantMissed,
            GroupCallDetail::Ended { .. } => GroupCallOp::Ended,
        }
    }
}

impl GroupCallEvent {
    /// The event about `call` with `participants` (in their states after the change) at
    /// `timestamp`.
    pub fn new(
        call: &GroupCall,
        participants: &[GroupParticipant],
        detail: GroupCallDetail,
        timestamp: Timestamp,
    ) -> Self {
        GroupCallEvent {
            call_id: call.call_id,
            call_type: call.call_type,
            title: call.title.clone(),
            stream_id: call.stream_id,
            topic: call.topic.clone(),
            jitsi_url: call.jitsi_url.clone(),
            timestamp,
            host: CallOpUser::new(call.host.user_id, call.host.full_name.clone()),
            participants: participants
                .iter()
                .map(GroupEventParticipant::from)
                .collect(),
            detail,
        }
    }

    /// The `op`.
    pub const fn op(&self) -> GroupCallOp {
        self.detail.op()
    }

    /// Whether a participant gets an `op` event (the spec's table), given their state after
    /// the change, whether they are the host, and whether the event is about them (for
    /// `participant_invited` and `participants_invited`: whether they are among the invitees).
    ///
    /// A participant who left (or was dropped) no longer gets `participant_left`: their own
    /// client learns it from its answer, or from a heartbeat refused.
    pub const fn is_recipient(
        op: GroupCallOp,
        state: ParticipantState,
        is_host: bool,
        is_subject: bool,
    ) -> bool {
        let joined = matches!(state, ParticipantState::Joined);
        match op {
            GroupCallOp::Created => is_host,
            GroupCallOp::ParticipantInvited => is_subject,
            GroupCallOp::ParticipantsInvited => joined && !is_subject,
            GroupCallOp::ParticipantJoined => state.is_engaged(),
            GroupCallOp::ParticipantLeft => state.is_engaged(),
            GroupCallOp::ParticipantDeclined => is_host || joined,
            GroupCallOp::ParticipantMissed => is_host || joined || is_subject,
            GroupCallOp::Ended => true,
        }
    }
}

//! The 1.1 dialect's 1:1 call events: `{"type": "call", "op": ..., ...}` (its spec's §5).
//!
//! They arrive in the same queues as every other event and are read by
//! [`crate::event::QueueEvent`] as [`crate::event::EventKind::CallOp`]. An `op` this crate does
//! not know keeps the whole event as [`crate::event::EventKind::Unknown`], as unknown design
//! `event_type`s do, so a newer server never breaks a client.

use serde::{Deserialize, Serialize};

use super::{avatar_path, whole_seconds};
use crate::call::{Call, CallState, CallType, EndReason};
use crate::ids::{CallId, UserId};
use crate::macros::string_enum;
use crate::time::Timestamp;

string_enum! {
    /// The `op` of a 1.1 call event.
    pub enum CallOp {
        /// To the caller: the call was created.
        Initiated = "initiated",
        /// To the receiver: the call was created (their devices ring).
        IncomingCall = "incoming_call",
        /// A device of the receiver acknowledged.
        Ringing = "ringing",
        Accepted = "accepted",
        Declined = "declined",
        /// The caller withdrew the call before an answer.
        Cancelled = "cancelled",
        /// An answered call is over (hangup, maximum duration, heartbeat loss, cleanup).
        Ended = "ended",
        /// Nobody answered (rang out, or no device acknowledged).
        Missed = "missed",
    }
}

string_enum! {
    /// The `reason` of an `ended` or `missed` event.
    pub enum CallOpReason {
        /// `ended`: a party hung up.
        Hangup = "hangup",
        /// `ended`: the call reached `CALL_MAX_DURATION`.
        MaxDuration = "max_duration",
        /// `ended`: a party stopped heartbeating.
        NetworkFailure = "network_failure",
        /// `ended`: an operator's cleanup timed out a stale call.
        TimeoutStale = "timeout_stale",
        /// `missed`: it rang past `CALL_NOTIFICATION_TIMEOUT`.
        NoAnswer = "no_answer",
        /// `missed`: no device acknowledged within `CALL_RING_TIMEOUT`.
        NotDelivered = "not_delivered",
    }
}

impl CallOpReason {
    /// The `reason` of an `ended` event for a call that ended for `end_reason`; `hangup`
    /// for every end a person caused.
    pub const fn ended(end_reason: Option<EndReason>) -> Self {
        match end_reason {
            Some(EndReason::MaxDuration) => CallOpReason::MaxDuration,
            Some(EndReason::NetworkFailure) => CallOpReason::NetworkFailure,
            Some(EndReason::Cleanup) => CallOpReason::TimeoutStale,
            _ => CallOpReason::Hangup,
        }
    }

    /// The `reason` of a `missed` event for a call that ended for `end_reason`.
    pub const fn missed(end_reason: Option<EndReason>) -> Self {
        match end_reason {
            Some(EndReason::Timeout) => CallOpReason::NotDelivered,
            _ => CallOpReason::NoAnswer,
        }
    }
}

impl CallOp {
    /// The op that tells `recipient` about `call` in its current state: on creation the caller
    /// gets `initiated` and the receiver `incoming_call`; a ring timeout is `missed`, an
    /// operator's cleanup `ended` (with `timeout_stale`).
    pub fn for_call(call: &Call, recipient: UserId) -> Self {
        match call.state {
            CallState::Calling if recipient == call.sender_id => CallOp::Initiated,
            CallState::Calling => CallOp::IncomingCall,
            CallState::Ringing => CallOp::Ringing,
            CallState::Accepted => CallOp::Accepted,
            CallState::Rejected => CallOp::Declined,
            CallState::Cancelled => CallOp::Cancelled,
            CallState::Ended | CallState::NetworkFailure => CallOp::Ended,
            CallState::Missed => CallOp::Missed,
            CallState::Timeout => match call.end_reason {
                Some(EndReason::Cleanup) => CallOp::Ended,
                _ => CallOp::Missed,
            },
        }
    }
}

/// A party of the call as 1.1 events name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CallOpUser {
    pub user_id: UserId,
    pub full_name: String,
    /// `/avatar/<user_id>`, relative to the realm.
    pub avatar_url: String,
}

impl CallOpUser {
    /// `user_id` called `full_name`, with their avatar path.
    pub fn new(user_id: UserId, full_name: impl Into<String>) -> Self {
        CallOpUser {
            user_id,
            full_name: full_name.into(),
            avatar_url: avatar_path(user_id),
        }
    }
}

/// A 1.1 call event: the call as it is now, who acted, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CallOpEvent {
    pub call_id: CallId,
    pub call_type: CallType,
    pub state: CallState,
    /// The bare room URL (never a join URL).
    pub jitsi_url: String,
    /// When the event happened.
    pub timestamp: Timestamp,
    pub sender: CallOpUser,
    pub receiver: CallOpUser,
    /// Who acted; `null` when the server did. Missing in events of servers that predate it,
    /// which reads as `null`.
    #[serde(default)]
    pub user_id: Option<UserId>,
    #[serde(flatten)]
    pub detail: CallOpDetail,
}

/// The per-op part of a 1.1 call event, tagged by `op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CallOpDetail {
    Initiated {
        /// Seconds the receiver has to answer (`CALL_NOTIFICATION_TIMEOUT`). Deployed
        /// plugins leave it out; they miss a call after their hard-coded 90 s.
        #[serde(default = "deployed_ring_seconds")]
        timeout_seconds: u64,
    },
    IncomingCall {
        /// The receiver had no live event queue when the call was made.
        #[serde(default)]
        receiver_was_offline: bool,
        #[serde(default = "deployed_ring_seconds")]
        timeout_seconds: u64,
    },
    Ringing,
    Accepted,
    Declined,
    Cancelled,
    Ended {
        /// Missing in a deployed plugin's end before an answer: a hang-up.
        #[serde(default = "hangup")]
        reason: CallOpReason,
        /// Whole seconds from answer to end; `null` when never answered.
        #[serde(default, with = "whole_seconds")]
        #[schemars(with = "Option<u64>")]
        duration: Option<u64>,
    },
    Missed {
        #[serde(default = "no_answer")]
        reason: CallOpReason,
        #[serde(default = "deployed_ring_seconds")]
        timeout_seconds: u64,
    },
}

/// How long a deployed plugin 1.1.0 lets a call ring (its cleanup's hard-coded 90 s).
pub const DEPLOYED_RING_SECONDS: u64 = 90;

fn deployed_ring_seconds() -> u64 {
    DEPLOYED_RING_SECONDS
}

fn hangup() -> CallOpReason {
    CallOpReason::Hangup
}

fn no_answer() -> CallOpReason {
    CallOpReason::NoAnswer
}

/// What a 1.1 event says beyond the call itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallOpExtras {
    /// `CALL_NOTIFICATION_TIMEOUT`, for `initiated`, `incoming_call` and `missed`.
    pub timeout_seconds: u64,
    /// For `incoming_call`: the receiver had no live event queue.
    pub receiver_was_offline: bool,
}

impl CallOpDetail {
    /// The detail of `op` about `call`: reasons and duration come from the call, the rest
    /// from `extras`.
    pub fn new(op: CallOp, call: &Call, extras: CallOpExtras) -> Self {
        let timeout_seconds = extras.timeout_seconds;
        match op {
            CallOp::Initiated => CallOpDetail::Initiated { timeout_seconds },
            CallOp::IncomingCall => CallOpDetail::IncomingCall {
                receiver_was_offline: extras.receiver_was_offline,
                timeout_seconds,
            },
            CallOp::Ringing => CallOpDetail::Ringing,
            CallOp::Accepted => CallOpDetail::Accepted,
            CallOp::Declined => CallOpDetail::Declined,
            CallOp::Cancelled => CallOpDetail::Cancelled,
            CallOp::Ended => CallOpDetail::Ended {
                reason: CallOpReason::ended(call.end_reason),
                duration: call.duration.map(whole_seconds::from_f64),
            },
            CallOp::Missed => CallOpDetail::Missed {
                reason: CallOpReason::missed(call.end_reason),
                timeout_seconds,
            },
        }
    }

    /// The `op` of this detail.
    pub const fn op(&self) -> CallOp {
        match self {
            CallOpDetail::Initiated { .. } => CallOp::Initiated,
            CallOpDetail::IncomingCall { .. } => CallOp::IncomingCall,
            CallOpDetail::Ringing => CallOp::Ringing,
            CallOpDetail::Accepted => CallOp::Accepted,
            CallOpDetail::Declined => CallOp::Declined,
            CallOpDetail::Cancelled => CallOp::Cancelled,
            CallOpDetail::Ended { .. } => CallOp::Ended,
            CallOpDetail::Missed { .. } => CallOp::Missed,
        }
    }
}

impl CallOpEvent {
    /// The `op` event about `call` at `timestamp`, acted by `actor` (`None`: the server).
    pub fn new(
        call: &Call,
        op: CallOp,
        actor: Option<UserId>,
        extras: CallOpExtras,
        timestamp: Timestamp,
    ) -> Self {
        CallOpEvent {
            call_id: call.call_id,
            call_type: call.call_type,
            state: call.state,
            jitsi_url: call.jitsi_url.clone(),
            timestamp,
            sender: CallOpUser::new(call.sender_id, call.sender_name.clone()),
            receiver: CallOpUser::new(call.receiver_id, call.receiver_name.clone()),
            user_id: actor,
            detail: CallOpDetail::new(op, call, extras),
        }
    }

    /// The event telling `recipient` about `call` as it is now ([`CallOp::for_call`]).
    pub fn for_recipient(
        call: &Call,
        recipient: UserId,
        actor: Option<UserId>,
        extras: CallOpExtras,
        timestamp: Timestamp,
    ) -> Self {
        CallOpEvent::new(
            call,
            CallOp::for_call(call, recipient),
            actor,
            extras,
            timestamp,
        )
    }

    /// The `op`.
    pub const fn op(&self) -> CallOp {
        self.detail.op()
    }
}

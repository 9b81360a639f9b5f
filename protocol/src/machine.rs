//! The call state machine of spec §3 as one pure function.
//!
//! This is the only place the transition table lives. The server applies [`transition`] inside
//! its atomic update of a call (so of two racing requests exactly one sees the old state and
//! wins); the client uses it to predict what a key press will do and to grey out keys that
//! cannot work.

use crate::call::{CallState, EndReason};
use crate::event::CallEventType;

/// What happens to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `POST acknowledge`: a device of the receiver is ringing.
    Acknowledge,
    /// `POST respond` with `accept`.
    Accept,
    /// `POST respond` with `reject` (or `decline`).
    Reject,
    /// `POST end` or `end-all`: hang up, cancel, or (receiver, unanswered) reject.
    End,
    /// `POST status`: a media status report.
    Status,
    /// `CALL_RING_TIMEOUT` passed with no acknowledgement.
    RingTimeout,
    /// `CALL_NOTIFICATION_TIMEOUT` passed since `created_at` while ringing.
    NotificationTimeout,
    /// `CALL_MAX_DURATION` passed since `answered_at`.
    MaxDuration,
    /// The operator's cleanup of stale unanswered calls.
    Cleanup,
    /// The caller withdraws a call not yet answered (the 1.1 dialect's `{id}/cancel`).
    Cancel,
    /// A watched party of an accepted call stopped heartbeating (the 1.1 dialect's watch).
    HeartbeatLost,
}

impl Action {
    /// Every action.
    pub const ALL: &'static [Action] = &[
        Action::Acknowledge,
        Action::Accept,
        Action::Reject,
        Action::End,
        Action::Status,
        Action::RingTimeout,
        Action::NotificationTimeout,
        Action::MaxDuration,
        Action::Cleanup,
        Action::Cancel,
        Action::HeartbeatLost,
    ];

    /// The verb used in `INVALID_CALL_STATE` messages ("Cannot respond to call in state: ...").
    pub const fn verb(self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledge",
            Action::Accept | Action::Reject => "respond to",
            Action::End => "end",
            Action::Status => "update status of",
            Action::RingTimeout | Action::NotificationTimeout => "time out",
            Action::MaxDuration => "expire",
            Action::Cleanup => "clean up",
            Action::Cancel => "cancel",
            Action::HeartbeatLost => "drop",
        }
    }

    /// Who may perform this action at all.
    pub const fn allowed(self, actor: Actor) -> bool {
        match self {
            Action::Acknowledge | Action::Accept | Action::Reject => {
                matches!(actor, Actor::Receiver)
            }
            Action::End | Action::Status => matches!(actor, Actor::Sender | Actor::Receiver),
            Action::RingTimeout
            | Action::NotificationTimeout
            | Action::MaxDuration
            | Action::HeartbeatLost => matches!(actor, Actor::Server),
            Action::Cleanup => matches!(actor, Actor::Operator),
            Action::Cancel => matches!(actor, Actor::Sender),
        }
    }
}

/// Who performs an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The caller.
    Sender,
    /// The callee (any of their devices).
    Receiver,
    /// The server's own deadlines.
    Server,
    /// An administrator running cleanup.
    Operator,
}

impl Actor {
    /// Every actor.
    pub const ALL: &'static [Actor] = &[
        Actor::Sender,
        Actor::Receiver,
        Actor::Server,
        Actor::Operator,
    ];
}

/// The result of an allowed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The call moves to `to`; `end_reason` is set when `to` is terminal.
    Moved {
        to: CallState,
        end_reason: Option<EndReason>,
        event: CallEventType,
    },
    /// The state stays but the action is recorded and announced (a media status report).
    Updated { event: CallEventType },
    /// An idempotent repeat (`acknowledge` while ringing, `end` on a finished call): answer
    /// success with the current state and emit nothing.
    Unchanged,
}

impl Outcome {
    /// The state after this outcome, given the state before it.
    pub const fn state_after(self, before: CallState) -> CallState {
        match self {
            Outcome::Moved { to, .. } => to,
            Outcome::Updated { .. } | Outcome::Unchanged => before,
        }
    }

    /// The event to send to both parties, if any.
    pub const fn event(self) -> Option<CallEventType> {
        match self {
            Outcome::Moved { event, .. } | Outcome::Updated { event } => Some(event),
            Outcome::Unchanged => None,
        }
    }
}

/// Why an action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The actor is not the party this action needs (`NOT_A_PARTICIPANT`).
    #[error("{actor:?} may not {}", action.verb())]
    NotAllowed { action: Action, actor: Actor },
    /// The call's state does not allow the action (`INVALID_CALL_STATE`).
    #[error("Cannot {} call in state: {state}", action.verb())]
    InvalidState { action: Action, state: CallState },
}

/// The state every call starts in (`initiate`, `start`, `create`, by the sender).
pub const INITIAL_STATE: CallState = CallState::Calling;

/// Applies `action` by `actor` to a call in `state`.
///
/// Permission is checked before state, as Zulip does: a sender trying to `respond` gets
/// `NotAllowed` whatever the state.
pub fn transition(
    state: CallState,
    action: Action,
    actor: Actor,
) -> Result<Outcome, TransitionError> {
    use CallState as S;
    if !action.allowed(actor) {
        return Err(TransitionError::NotAllowed { action, actor });
    }
    let moved = |to, end_reason, event| Outcome::Moved {
        to,
        end_reason,
        event,
    };
    let outcome = match (action, state) {
        (Action::Acknowledge, S::Calling) => {
            moved(S::Ringing, None, CallEventType::ParticipantRinging)
        }
        (Action::Acknowledge, S::Ringing) => Outcome::Unchanged,

        (Action::Accept, S::Calling | S::Ringing) => {
            moved(S::Accepted, None, CallEventType::CallAccepted)
        }
        (Action::Reject, S::Calling | S::Ringing) => moved(
            S::Rejected,
            Some(EndReason::Rejected),
            CallEventType::CallRejected,
        ),

        (Action::End, S::Calling | S::Ringing) => match actor {
            Actor::Receiver => moved(
                S::Rejected,
                Some(EndReason::Rejected),
                CallEventType::CallEnded,
            ),
            _ => moved(
                S::Cancelled,
                Some(EndReason::Cancelled),
                CallEventType::CallEnded,
            ),
        },
        (Action::End, S::Accepted) => {
            moved(S::Ended, Some(EndReason::Hangup), CallEventType::CallEnded)
        }
        (Action::End, _) => Outcome::Unchanged,

        (Action::Status, S::Accepted) => Outcome::Updated {
            event: CallEventType::CallStatusUpdate,
        },

        (Action::RingTimeout, S::Calling) => moved(
            S::Timeout,
            Some(EndReason::Timeout),
            CallEventType::CallEnded,
        ),
        (Action::NotificationTimeout, S::Ringing) => {
            moved(S::Missed, Some(EndReason::Missed), CallEventType::CallEnded)
        }
        (Action::MaxDuration, S::Accepted) => moved(
            S::Ended,
            Some(EndReason::MaxDuration),
            CallEventType::CallEnded,
        ),
        (Action::Cleanup, S::Calling | S::Ringing) => moved(
            S::Timeout,
            Some(EndReason::Cleanup),
            CallEventType::CallEnded,
        ),

        (Action::Cancel, S::Calling | S::Ringing) => moved(
            S::Cancelled,
            Some(EndReason::Cancelled),
            CallEventType::CallEnded,
        ),
        // Withdrawing a call that is already over changes nothing (1.1 answers "already ended").
        (Action::Cancel, state) if state.is_terminal() => Outcome::Unchanged,

        (Action::HeartbeatLost, S::Accepted) => moved(
            S::NetworkFailure,
            Some(EndReason::NetworkFailure),
            CallEventType::CallEnded,
        ),

        _ => return Err(TransitionError::InvalidState { action, state }),
    };
    Ok(outcome)
}

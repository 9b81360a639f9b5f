//! The rules of group calls (the 1.1 spec's §6) as pure functions, like [`crate::machine`]
//! for 1:1 calls: what a participant's state becomes under each action, what an ended call
//! still answers, and which error each refusal is.
//!
//! A server checks in this order, as for 1:1 calls (who before state): the user is a
//! participant ([`GroupRefusal::NotParticipant`]), may act at all (`end`: the host; `invite`:
//! a joined participant), the call is open ([`call_gate`]), then the participant's own state
//! ([`participant_transition`]).

use crate::call::CallState;
use crate::envelope::{ApiError, ErrorCode};
use crate::params::ParamError;

use super::model::{GroupCallState, ParticipantState};

/// What happens to one participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParticipantAction {
    /// The server: the invitation reached a live device or queue of the invitee.
    Ring,
    /// `POST group/{id}/join`.
    Join,
    /// `POST group/{id}/leave`.
    Leave,
    /// `POST group/{id}/decline`.
    Decline,
    /// `POST heartbeat` with the group call's id.
    Heartbeat,
    /// `POST group/{id}/invite` naming a user who already has a place in the call.
    Reinvite,
    /// The server: `CALL_NOTIFICATION_TIMEOUT` passed since the invitation.
    Miss,
    /// The server: a joined participant stopped heartbeating (`CALL_HEARTBEAT_TIMEOUT`).
    Drop,
    /// The call ended (host, empty, maximum duration) with the participant in this state.
    CallEnded,
}

impl ParticipantAction {
    /// Every action, in the order of the table in [`participant_transition`].
    pub const ALL: &'static [ParticipantAction] = &[
        ParticipantAction::Ring,
        ParticipantAction::Join,
        ParticipantAction::Leave,
        ParticipantAction::Decline,
        ParticipantAction::Heartbeat,
        ParticipantAction::Reinvite,
        ParticipantAction::Miss,
        ParticipantAction::Drop,
        ParticipantAction::CallEnded,
    ];

    /// The verb of refusals ("Cannot leave call in state: invited").
    pub const fn verb(self) -> &'static str {
        match self {
            ParticipantAction::Ring => "ring",
            ParticipantAction::Join => "join",
            ParticipantAction::Leave => "leave",
            ParticipantAction::Decline => "decline",
            ParticipantAction::Heartbeat => "heartbeat",
            ParticipantAction::Reinvite => "invite to",
            ParticipantAction::Miss => "time out",
            ParticipantAction::Drop => "drop from",
            ParticipantAction::CallEnded => "end",
        }
    }
}

/// The result of an allowed action on a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantOutcome {
    /// The participant moves to `to` (and the matching event goes out).
    Moved { to: ParticipantState },
    /// Nothing changes: answer success and emit nothing (a repeated `leave` or `decline`, a
    /// heartbeat, inviting someone already in).
    Unchanged,
}

impl ParticipantOutcome {
    /// The state after this outcome, given the state before it.
    pub const fn state_after(self, before: ParticipantState) -> ParticipantState {
        match self {
            ParticipantOutcome::Moved { to } => to,
            ParticipantOutcome::Unchanged => before,
        }
    }
}

/// Why a group call request is refused; [`GroupRefusal::api_error`] is the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GroupRefusal {
    /// The user has no place in the call (or the call is of another realm): 404, so that a
    /// call id alone reveals nothing (the plugin let anyone who knew it join).
    #[error("Group call not found")]
    NotParticipant,
    /// `end` by anyone but the host: 403.
    #[error("Only the host can end the call")]
    NotHost,
    /// `invite` by a participant who is not `joined`: 403.
    #[error("Only joined participants can invite others")]
    NotJoined,
    /// The call is over and the request changes it: 400.
    #[error("Call has ended")]
    CallEnded,
    /// `join` with `max` participants already joined: 400.
    #[error("Call is full ({max} participants)")]
    CallFull { max: u32 },
    /// `join` by a participant already `joined`: 400.
    #[error("Already in call")]
    AlreadyJoined,
    /// `invite` left nobody to invite (unknown, deactivated, other realm, the host): 400
    /// naming `user_ids`.
    #[error("Invalid 'user_ids': no valid users to invite")]
    NoValidInvitees,
    /// The participant's state does not allow the action: 400.
    #[error("Cannot {} call in state: {state}", action.verb())]
    InvalidState {
        action: ParticipantAction,
        state: ParticipantState,
    },
}

impl GroupRefusal {
    /// The error code the contract pairs with this refusal.
    pub const fn code(self) -> ErrorCode {
        match self {
            GroupRefusal::NotParticipant => ErrorCode::CallNotFound,
            GroupRefusal::NotHost | GroupRefusal::NotJoined => ErrorCode::NotAParticipant,
            GroupRefusal::CallEnded
            | GroupRefusal::CallFull { .. }
            | GroupRefusal::AlreadyJoined
            | GroupRefusal::NoValidInvitees
            | GroupRefusal::InvalidState { .. } => ErrorCode::BadRequest,
        }
    }

    /// The error body (with `message` beside `msg`, as 1.1 errors carry).
    pub fn api_error(self) -> ApiError {
        ApiError::new(self.code(), self.to_string())
    }
}

impl From<GroupRefusal> for ApiError {
    fn from(refusal: GroupRefusal) -> Self {
        refusal.api_error()
    }
}

impl GroupRefusal {
    /// The refusal as the parameter error it is, when it is about a parameter (so that a
    /// server reports it like any other bad `user_ids`).
    pub fn param_error(self) -> Option<ParamError> {
        match self {
            GroupRefusal::NoValidInvitees => Some(ParamError::Invalid {
                name: "user_ids".into(),
                reason: "no valid users to invite".into(),
            }),
            _ => None,
        }
    }
}

/// Applies `action` to a participant in `state`. The table (`=` unchanged, `—` refused):
///
/// | action \ state | invited | ringing | joined | declined | left | missed |
/// |---|---|---|---|---|---|---|
/// | `Ring` | ringing | = | — | — | — | — |
/// | `Join` | joined | joined | — (already) | joined | joined | joined |
/// | `Leave` | — | — | left | = | = | = |
/// | `Decline` | declined | declined | — | = | — | = |
/// | `Heartbeat` | — | — | = | — | — | — |
/// | `Reinvite` | = | = | = | invited | invited | invited |
/// | `Miss` | missed | missed | — | — | — | — |
/// | `Drop` | — | — | left | — | — | — |
/// | `CallEnded` | missed | missed | left | = | = | = |
///
/// Anyone with a place in the call may join while it is open: the spec's "invited (or
/// previously left)" is read as "was invited", as the plugin does, so a participant who
/// declined or missed the ring can still change their mind. Repeating a way out (`leave`
/// once out, `decline` once declined or missed) is a 200 no-op, as on 1:1 calls, so a retry
/// after a lost answer does not fail. An invitee leaves by declining; a joined participant
/// declines nothing.
pub fn participant_transition(
    state: ParticipantState,
    action: ParticipantAction,
) -> Result<ParticipantOutcome, GroupRefusal> {
    use ParticipantAction as A;
    use ParticipantState as S;
    let to = |to| Ok(ParticipantOutcome::Moved { to });
    let same = Ok(ParticipantOutcome::Unchanged);
    match (action, state) {
        (A::Ring, S::Invited) => to(S::Ringing),
        (A::Ring, S::Ringing) => same,

        (A::Join, S::Joined) => Err(GroupRefusal::AlreadyJoined),
        (A::Join, _) => to(S::Joined),

        (A::Leave, S::Joined) => to(S::Left),
        (A::Leave, S::Left | S::Declined | S::Missed) => same,

        (A::Decline, S::Invited | S::Ringing) => to(S::Declined),
        (A::Decline, S::Declined | S::Missed) => same,

        (A::Heartbeat, S::Joined) => same,

        (A::Reinvite, S::Invited | S::Ringing | S::Joined) => same,
        (A::Reinvite, S::Declined | S::Left | S::Missed) => to(S::Invited),

        (A::Miss, S::Invited | S::Ringing) => to(S::Missed),
        (A::Drop, S::Joined) => to(S::Left),

        (A::CallEnded, S::Invited | S::Ringing) => to(S::Missed),
        (A::CallEnded, S::Joined) => to(S::Left),
        (A::CallEnded, S::Declined | S::Left | S::Missed) => same,

        _ => Err(GroupRefusal::InvalidState { action, state }),
    }
}

/// A request to a group call's endpoints (and `heartbeat` with a group call's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupRequest {
    Invite,
    Join,
    Leave,
    Decline,
    End,
    Status,
    Participants,
    Heartbeat,
}

impl GroupRequest {
    /// Every request.
    pub const ALL: &'static [GroupRequest] = &[
        GroupRequest::Invite,
        GroupRequest::Join,
        GroupRequest::Leave,
        GroupRequest::Decline,
        GroupRequest::End,
        GroupRequest::Status,
        GroupRequest::Participants,
        GroupRequest::Heartbeat,
    ];
}

/// What a request may do on a call, before the participant's own state is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallGate {
    /// Go on.
    Proceed,
    /// Answer success and change nothing (`leave` or `end` of an ended call; a heartbeat is
    /// answered with the call's state).
    NoOp,
}

/// What `request` may do on a call in `state`: an open call serves everything; an ended one
/// still shows itself (`status`, `participants`), takes `leave`, `end` and heartbeats as
/// no-ops (as 1:1 calls do, so a retry or a late client does not fail) and refuses the rest.
pub const fn call_gate(
    state: GroupCallState,
    request: GroupRequest,
) -> Result<CallGate, GroupRefusal> {
    match (state, request) {
        (GroupCallState::Active, _)
        | (GroupCallState::Ended, GroupRequest::Status | GroupRequest::Participants) => {
            Ok(CallGate::Proceed)
        }
        (
            GroupCallState::Ended,
            GroupRequest::Leave | GroupRequest::End | GroupRequest::Heartbeat,
        ) => Ok(CallGate::NoOp),
        (GroupCallState::Ended, _) => Err(GroupRefusal::CallEnded),
    }
}

impl GroupCallState {
    /// The `call_state` a `heartbeat` with this group call's id answers. That answer is a 1:1
    /// state, so an open call reads as `accepted` and an ended one as `ended`: a 1.1 client
    /// keeps heartbeating, and stops, exactly as it does for a 1:1 call.
    pub const fn heartbeat_state(self) -> CallState {
        match self {
            GroupCallState::Active => CallState::Accepted,
            GroupCallState::Ended => CallState::Ended,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParticipantAction as A;
    use ParticipantState as S;

    /// The table of [`participant_transition`], row by row: `Some(state)` moves there,
    /// `None` is unchanged, and refusals are listed apart.
    #[test]
    fn the_participant_table() {
        let moved = |to| Ok(ParticipantOutcome::Moved { to });
        let same = Ok(ParticipantOutcome::Unchanged);
        let refused = |action, state| Err(GroupRefusal::InvalidState { action, state });
        let rows = [
            (A::Ring, S::Invited, moved(S::Ringing)),
            (A::Ring, S::Ringing, same),
            (A::Join, S::Invited, moved(S::Joined)),
            (A::Join, S::Ringing, moved(S::Joined)),
            (A::Join, S::Joined, Err(GroupRefusal::AlreadyJoined)),
            (A::Join, S::Declined, moved(S::Joined)),
            (A::Join, S::Left, moved(S::Joined)),
            (A::Join, S::Missed, moved(S::Joined)),
            (A::Leave, S::Invited, refused(A::Leave, S::Invited)),
            (A::Leave, S::Ringing, refused(A::Leave, S::Ringing)),
            (A::Leave, S::Joined, moved(S::Left)),
            (A::Leave, S::Declined, same),
            (A::Leave, S::Left, same),
            (A::Leave, S::Missed, same),
            (A::Decline, S::Invited, moved(S::Declined)),
            (A::Decline, S::Ringing, moved(S::Declined)),
            (A::Decline, S::Joined, refused(A::Decline, S::Joined)),
            (A::Decline, S::Declined, same),
            (A::Decline, S::Left, refused(A::Decline, S::Left)),
            (A::Decline, S::Missed, same),
            (A::Heartbeat, S::Joined, same),
            (A::Reinvite, S::Invited, same),
            (A::Reinvite, S::Ringing, same),
            (A::Reinvite, S::Joined, same),
            (A::Reinvite, S::Declined, moved(S::Invited)),
            (A::Reinvite, S::Left, moved(S::Invited)),
            (A::Reinvite, S::Missed, moved(S::Invited)),
            (A::Miss, S::Invited, moved(S::Missed)),
            (A::Miss, S::Ringing, moved(S::Missed)),
            (A::Drop, S::Joined, moved(S::Left)),
            (A::CallEnded, S::Invited, moved(S::Missed)),
            (A::CallEnded, S::Ringing, moved(S::Missed)),
            (A::CallEnded, S::Joined, moved(S::Left)),
            (A::CallEnded, S::Declined, same),
            (A::CallEnded, S::Left, same),
            (A::CallEnded, S::Missed, same),
        ];
        for (action, state, expected) in rows {
            assert_eq!(
                participant_transition(state, action),
                expected,
                "{action:?} on {state}"
            );
        }
        // Every pair not listed is refused for its state.
        for &action in A::ALL {
            for &state in S::ALL {
                if rows.iter().any(|(a, s, _)| (*a, *s) == (action, state)) {
                    continue;
                }
                assert_eq!(
                    participant_transition(state, action),
                    refused(action, state),
                    "{action:?} on {state}"
                );
            }
        }
    }

    #[test]
    fn only_joined_participants_heartbeat_and_only_invitees_ring_or_miss() {
        for &state in S::ALL {
            let ok = |action| participant_transition(state, action).is_ok();
            assert_eq!(ok(A::Heartbeat), state == S::Joined, "{state}");
            assert_eq!(ok(A::Drop), state == S::Joined, "{state}");
            assert_eq!(ok(A::Miss), state.is_pending(), "{state}");
            assert_eq!(ok(A::Ring), state.is_pending(), "{state}");
            // A call's end leaves nobody engaged.
            let after = participant_transition(state, A::CallEnded)
                .unwrap()
                .state_after(state);
            assert!(!after.is_engaged(), "{state} → {after}");
        }
    }

    #[test]
    fn an_ended_call_shows_itself_and_takes_only_no_ops() {
        for &request in GroupRequest::ALL {
            assert_eq!(
                call_gate(GroupCallState::Active, request),
                Ok(CallGate::Proceed)
            );
            let expected = match request {
                GroupRequest::Status | GroupRequest::Participants => Ok(CallGate::Proceed),
                GroupRequest::Leave | GroupRequest::End | GroupRequest::Heartbeat => {
                    Ok(CallGate::NoOp)
                }
                _ => Err(GroupRefusal::CallEnded),
            };
            assert_eq!(
                call_gate(GroupCallState::Ended, request),
                expected,
                "{request:?}"
            );
        }
    }

    #[test]
    fn refusals_are_the_contract_errors() {
        let cases = [
            (GroupRefusal::NotParticipant, 404, "Group call not found"),
            (GroupRefusal::NotHost, 403, "Only the host can end the call"),
            (
                GroupRefusal::NotJoined,
                403,
                "Only joined participants can invite others",
            ),
            (GroupRefusal::CallEnded, 400, "Call has ended"),
            (
                GroupRefusal::CallFull { max: 50 },
                400,
                "Call is full (50 participants)",
            ),
            (GroupRefusal::AlreadyJoined, 400, "Already in call"),
            (
                GroupRefusal::NoValidInvitees,
                400,
                "Invalid 'user_ids': no valid users to invite",
            ),
            (
                GroupRefusal::InvalidState {
                    action: A::Leave,
                    state: S::Invited,
                },
                400,
                "Cannot leave call in state: invited",
            ),
        ];
        for (refusal, status, msg) in cases {
            let err = ApiError::from(refusal);
            assert_eq!(err.http_status().as_u16(), status, "{refusal:?}");
            assert_eq!((err.msg.as_str(), err.message.as_deref()), (msg, Some(msg)));
        }
        assert_eq!(
            GroupRefusal::NoValidInvitees
                .param_error()
                .map(|p| ApiError::from(p).msg),
            Some(GroupRefusal::NoValidInvitees.to_string())
        );
        assert_eq!(GroupRefusal::CallEnded.param_error(), None);
    }

    #[test]
    fn heartbeats_read_a_group_call_as_a_call() {
        assert_eq!(
            GroupCallState::Active.heartbeat_state(),
            CallState::Accepted
        );
        assert_eq!(GroupCallState::Ended.heartbeat_state(), CallState::Ended);
    }
}

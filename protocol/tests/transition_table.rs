//! Walks every state × action × actor through the state machine and compares the result with
//! the transition table of spec §3, written out here independently of the implementation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use zulip_calls_protocol::machine::INITIAL_STATE;
use zulip_calls_protocol::{
    Action, Actor, CallEventType, CallState, EndReason, Outcome, TransitionError, transition,
};

use Action as A;
use Actor as R;
use CallEventType as E;
use CallState as S;

/// Who may perform each action (spec §3 "by" column; §4 for status).
fn allowed(action: Action, actor: Actor) -> bool {
    match action {
        A::Acknowledge | A::Accept | A::Reject => actor == R::Receiver,
        A::End | A::Status => matches!(actor, R::Sender | R::Receiver),
        A::RingTimeout | A::NotificationTimeout | A::MaxDuration | A::HeartbeatLost => {
            actor == R::Server
        }
        A::Cleanup => actor == R::Operator,
        A::Cancel => actor == R::Sender,
    }
}

fn moved(to: CallState, end_reason: Option<EndReason>, event: CallEventType) -> Outcome {
    Outcome::Moved {
        to,
        end_reason,
        event,
    }
}

/// Spec §3, one row per (from, action, actor) that succeeds.
fn table() -> Vec<(CallState, Action, Actor, Outcome)> {
    let mut rows = vec![
        // calling → ringing: acknowledge; a repeat while ringing is idempotent.
        (
            S::Calling,
            A::Acknowledge,
            R::Receiver,
            moved(S::Ringing, None, E::ParticipantRinging),
        ),
        (S::Ringing, A::Acknowledge, R::Receiver, Outcome::Unchanged),
        // ringing → missed, calling → timeout, accepted → ended (max_duration): the server.
        (
            S::Calling,
            A::RingTimeout,
            R::Server,
            moved(S::Timeout, Some(EndReason::Timeout), E::CallEnded),
        ),
        (
            S::Ringing,
            A::NotificationTimeout,
            R::Server,
            moved(S::Missed, Some(EndReason::Missed), E::CallEnded),
        ),
        (
            S::Accepted,
            A::MaxDuration,
            R::Server,
            moved(S::Ended, Some(EndReason::MaxDuration), E::CallEnded),
        ),
        // accepted → ended: either party hangs up.
        (
            S::Accepted,
            A::End,
            R::Sender,
            moved(S::Ended, Some(EndReason::Hangup), E::CallEnded),
        ),
        (
            S::Accepted,
            A::End,
            R::Receiver,
            moved(S::Ended, Some(EndReason::Hangup), E::CallEnded),
        ),
        // Status reports only while accepted, by either party; the state stays.
        (
            S::Accepted,
            A::Status,
            R::Sender,
            Outcome::Updated {
                event: E::CallStatusUpdate,
            },
        ),
        (
            S::Accepted,
            A::Status,
            R::Receiver,
            Outcome::Updated {
                event: E::CallStatusUpdate,
            },
        ),
    ];
    for from in [S::Calling, S::Ringing] {
        rows.extend([
            (
                from,
                A::Accept,
                R::Receiver,
                moved(S::Accepted, None, E::CallAccepted),
            ),
            (
                from,
                A::Reject,
                R::Receiver,
                moved(S::Rejected, Some(EndReason::Rejected), E::CallRejected),
            ),
            (
                from,
                A::End,
                R::Sender,
                moved(S::Cancelled, Some(EndReason::Cancelled), E::CallEnded),
            ),
            (
                from,
                A::End,
                R::Receiver,
                moved(S::Rejected, Some(EndReason::Rejected), E::CallEnded),
            ),
            (
                from,
                A::Cleanup,
                R::Operator,
                moved(S::Timeout, Some(EndReason::Cleanup), E::CallEnded),
            ),
            // The 1.1 dialect's `{id}/cancel`: the caller withdraws an unanswered call.
            (
                from,
                A::Cancel,
                R::Sender,
                moved(S::Cancelled, Some(EndReason::Cancelled), E::CallEnded),
            ),
        ]);
    }
    // The 1.1 dialect's heartbeat watch ends an accepted call whose party went silent.
    rows.push((
        S::Accepted,
        A::HeartbeatLost,
        R::Server,
        moved(
            S::NetworkFailure,
            Some(EndReason::NetworkFailure),
            E::CallEnded,
        ),
    ));
    // `end` on a finished call answers with its state and emits nothing.
    // So does `cancel`.
    for from in [
        S::Rejected,
        S::Timeout,
        S::Ended,
        S::Missed,
        S::Cancelled,
        S::NetworkFailure,
    ] {
        rows.push((from, A::End, R::Sender, Outcome::Unchanged));
        rows.push((from, A::End, R::Receiver, Outcome::Unchanged));
        rows.push((from, A::Cancel, R::Sender, Outcome::Unchanged));
    }
    rows
}

#[test]
fn the_whole_table_matches_the_contract() {
    let table = table();
    let mut checked = 0;
    for &state in CallState::ALL {
        for &action in Action::ALL {
            for &actor in Actor::ALL {
                let expected = table
                    .iter()
                    .find(|(s, a, r, _)| (*s, *a, *r) == (state, action, actor))
                    .map(|(_, _, _, outcome)| Ok(*outcome))
                    .unwrap_or(if allowed(action, actor) {
                        Err(TransitionError::InvalidState { action, state })
                    } else {
                        Err(TransitionError::NotAllowed { action, actor })
                    });
                assert_eq!(
                    transition(state, action, actor),
                    expected,
                    "{state} × {action:?} × {actor:?}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 9 * 11 * 4);
    assert_eq!(table.len(), 40, "rows of the table as written above");
}

#[test]
fn calls_start_in_calling() {
    assert_eq!(INITIAL_STATE, S::Calling);
}

#[test]
fn terminal_states_are_the_five_of_the_contract_and_the_1_1_network_failure() {
    let terminal: Vec<_> = CallState::ALL
        .iter()
        .copied()
        .filter(|s| s.is_terminal())
        .collect();
    assert_eq!(
        terminal,
        [
            S::Rejected,
            S::Timeout,
            S::Ended,
            S::Missed,
            S::Cancelled,
            S::NetworkFailure
        ]
    );
}

#[test]
fn refusals_carry_what_the_error_body_needs() {
    let err = transition(S::Accepted, A::Accept, R::Receiver).unwrap_err();
    assert_eq!(err.to_string(), "Cannot respond to call in state: accepted");
    let err = transition(S::Ringing, A::Accept, R::Sender).unwrap_err();
    assert_eq!(
        err,
        TransitionError::NotAllowed {
            action: A::Accept,
            actor: R::Sender
        }
    );
    // A late client learns the outcome: acknowledge/respond/status on a finished call.
    for action in [A::Acknowledge, A::Accept, A::Reject, A::Status] {
        let actor = if action == A::Status {
            R::Sender
        } else {
            R::Receiver
        };
        assert_eq!(
            transition(S::Missed, action, actor),
            Err(TransitionError::InvalidState {
                action,
                state: S::Missed
            })
        );
    }
}

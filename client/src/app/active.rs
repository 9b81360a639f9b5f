//! Keeps the active-calls list in step with the event stream, so the Active view shows a call
//! the moment it rings and drops it the moment it ends, without waiting for a reload.

use zulip_calls_protocol::event::EventCall;
use zulip_calls_protocol::{ActiveCall, CallEvent, CallEventDetail, UserId};

use super::model::ActiveState;

/// Folds one call event into the list: a call still going is added or updated, one that is
/// over is removed.
pub(super) fn follow(active: &mut ActiveState, event: &CallEvent, me: UserId) {
    let call = &event.call;
    let over = matches!(
        event.detail,
        CallEventDetail::CallEnded { .. } | CallEventDetail::CallRejected
    ) || !call.state.is_active();
    let at = active.calls.iter().position(|c| c.call_id == call.call_id);
    match (over, at) {
        (true, Some(i)) => {
            active.calls.remove(i);
            active.selected = active.selected.min(active.calls.len().saturating_sub(1));
        }
        (true, None) => {}
        (false, Some(i)) => active.calls[i].state = call.state,
        (false, None) => active.calls.push(active_call(call, me)),
    }
}

fn active_call(call: &EventCall, me: UserId) -> ActiveCall {
    ActiveCall {
        call_id: call.call_id,
        call_type: call.call_type,
        state: call.state,
        sender_id: call.sender_id,
        sender_name: call.sender_name.clone(),
        receiver_id: call.receiver_id,
        receiver_name: call.receiver_name.clone(),
        jitsi_url: call.jitsi_url.clone(),
        created_at: call.created_at,
        is_outgoing: call.sender_id == me,
    }
}

//! Calling each other at once: the server refuses my call because the callee's own call to me
//! is still ringing, so instead of "busy" I accept that call and we both end up in it.

use zulip_calls_protocol::{CallId, RespondAction, UserId};

use super::model::{CallPanel, Incoming, Level, Model};
use super::msg::Command;
use super::notes::{log, notice};

/// My call to `user_id` met their call `call_id` to me: accept theirs (or, when I cancelled
/// mine meanwhile, decline it).
pub(super) fn accept_theirs(model: &mut Model, user_id: UserId, call_id: CallId) -> Vec<Command> {
    let CallPanel::Outgoing(o) = &model.call else {
        return Vec::new();
    };
    if o.to_id != user_id {
        return Vec::new();
    }
    let (name, call_type, cancelled) = (o.to_name.clone(), o.call_type, o.cancel_requested);
    if cancelled {
        model.call = CallPanel::None;
        notice(
            model,
            Level::Info,
            format!("Declined {name}'s call, placed as you called them"),
        );
        return vec![Command::Respond {
            call_id,
            action: RespondAction::Reject,
        }];
    }
    log(
        model,
        format!("{name} was calling you at the same time: accepting their call"),
    );
    // Shown as an answer in flight: the `respond` result opens the meeting.
    model.call = CallPanel::Incoming(Incoming {
        call_id,
        from_id: user_id,
        from_name: name,
        call_type,
        jitsi_url: String::new(),
        received_at: model.now,
        timeout_seconds: None,
        answered: Some(RespondAction::Accept),
    });
    vec![Command::Respond {
        call_id,
        action: RespondAction::Accept,
    }]
}

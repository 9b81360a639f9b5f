//! Do not disturb: while it is on, an incoming call neither rings nor pops up nor notifies.
//! It is left to ring out unanswered (so it ends as missed) or declined at once, as the
//! `dnd_action` preference says, and either way it is counted with the missed calls. Turning
//! DND off brings back a call that is still ringing.

use zulip_calls_protocol::{CallId, RespondAction};

use super::model::{CallPanel, Incoming, Level, Model};
use super::msg::Command;
use super::notes::{log, notice};
use crate::preferences::DndAction;

/// Do-not-disturb and the calls it kept quiet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dnd {
    pub on: bool,
    /// Calls left ringing unanswered (`dnd_action = ignore`) that may still ring.
    pub silenced: Vec<Incoming>,
}

/// What the core needs of the user's preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Show "In a call" / "Do not disturb" as the Zulip status.
    pub share_status: bool,
    pub dnd_action: DndAction,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            share_status: true,
            dnd_action: DndAction::Ignore,
        }
    }
}

/// A 1:1 call would ring here: with DND on it is kept quiet instead, and the commands for
/// that are returned (`None`: DND is off, ring as usual).
pub(super) fn intercept(model: &mut Model, incoming: Incoming) -> Option<Vec<Command>> {
    if !model.dnd.on {
        return None;
    }
    Some(turn_away(model, incoming))
}

fn turn_away(model: &mut Model, incoming: Incoming) -> Vec<Command> {
    let id = incoming.call_id;
    model.recent.turned_away.push(id);
    match model.settings.dnd_action {
        DndAction::Ignore => {
            log(
                model,
                format!(
                    "do not disturb: {} is calling; left to ring out",
                    incoming.from_name
                ),
            );
            let commands = vec![Command::Acknowledge(id)];
            model.dnd.silenced.retain(|s| s.call_id != id);
            model.dnd.silenced.push(incoming);
            commands
        }
        DndAction::Decline => {
            log(
                model,
                format!(
                    "do not disturb: declined a call from {}",
                    incoming.from_name
                ),
            );
            vec![Command::Respond {
                call_id: id,
                action: RespondAction::Reject,
            }]
        }
    }
}

/// A group call invitation would ring here: with DND on it is declined or left alone.
pub(super) fn intercept_group(
    model: &mut Model,
    call_id: CallId,
    inviter: &str,
) -> Option<Vec<Command>> {
    if !model.dnd.on {
        return None;
    }
    model.recent.turned_away.push(call_id);
    Some(match model.settings.dnd_action {
        DndAction::Ignore => {
            log(
                model,
                format!("do not disturb: {inviter} invited you to a group call"),
            );
            Vec::new()
        }
        DndAction::Decline => {
            log(
                model,
                format!("do not disturb: declined {inviter}'s group call"),
            );
            vec![Command::Group(super::GroupCommand::Decline(call_id))]
        }
    })
}

/// A call is over: it rings no more.
pub(super) fn forget(model: &mut Model, call_id: CallId) {
    model.dnd.silenced.retain(|s| s.call_id != call_id);
}

/// `d`: DND on or off. Turning it on quiets a call ringing now; turning it off brings back
/// the newest call still ringing.
pub(super) fn toggle(model: &mut Model) -> Vec<Command> {
    model.dnd.on = !model.dnd.on;
    if model.dnd.on {
        notice(
            model,
            Level::Info,
            "Do not disturb is on: calls will not ring".to_owned(),
        );
        if let CallPanel::Incoming(i) = &model.call
            && i.answered.is_none()
        {
            let incoming = i.clone();
            model.call = CallPanel::None;
            let mut commands = vec![Command::StopRinging];
            commands.extend(turn_away(model, incoming));
            return commands;
        }
        return Vec::new();
    }
    notice(
        model,
        Level::Info,
        "Do not disturb is off: calls ring again".to_owned(),
    );
    if model.call.is_active() {
        return Vec::new();
    }
    let Some(incoming) = model.dnd.silenced.pop() else {
        return Vec::new();
    };
    model.dnd.silenced.clear();
    model
        .recent
        .turned_away
        .retain(|id| *id != incoming.call_id);
    model.call = CallPanel::Incoming(incoming);
    vec![Command::StartRinging]
}

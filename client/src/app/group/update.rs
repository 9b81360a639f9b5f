//! The group call transitions, called from [`crate::app::update()`]: keys, `group_call`
//! events, and the results of group requests.

use zulip_calls_protocol::plugin::group::{
    GroupCallDetail, GroupCallEvent, GroupCallState, GroupEndReason, GroupLeftReason,
    ParticipantState,
};
use zulip_calls_protocol::{CallId, CallType, UserId};

use super::{
    GroupAnswer, GroupCommand, GroupInvitation, GroupMember, GroupMsg, GroupPending, GroupSnapshot,
    InGroup, TitlePrompt,
};
use crate::app::answer::AnswerError;
use crate::app::model::{CallPanel, Level, Model, Overlay, View};
use crate::app::msg::{Command, KeyInput};
use crate::app::notes::{end_with, log, notice};
use crate::backend::keepalive::Held;

/// What the panel and the summary call a group call without a title.
const UNTITLED: &str = "Group call";

fn group(command: GroupCommand) -> Command {
    Command::Group(command)
}

/// The call's title, or what stands for it.
fn title_of(title: Option<&str>) -> String {
    title.map_or_else(|| UNTITLED.to_owned(), str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// Keys

/// Space on the teammates view with no call going: marks or unmarks the selected teammate.
pub(crate) fn toggle_mark(model: &mut Model) {
    if !model.features.group_calls {
        notice(
            model,
            Level::Info,
            format!(
                "Group calls are not available on this server (calls API {})",
                model.features.name
            ),
        );
        return;
    }
    let Some(who) = model.selected_teammate().map(|t| t.user_id) else {
        return;
    };
    if let Some(at) = model.marked.iter().position(|id| *id == who) {
        model.marked.remove(at);
    } else {
        model.marked.push(who);
    }
}

/// `v`/`a` with teammates marked: asks for the title of the group call to start.
pub(crate) fn prompt_title(model: &mut Model, call_type: CallType) {
    model.overlay = Overlay::GroupTitle(TitlePrompt {
        call_type,
        invitees: model.marked.clone(),
        title: String::new(),
    });
}

/// Keys of the group overlays (title prompt, leave and end confirmations); `None` when no
/// group overlay is open.
pub(crate) fn overlay_key(model: &mut Model, key: KeyInput) -> Option<Vec<Command>> {
    match &mut model.overlay {
        Overlay::GroupTitle(prompt) => Some(match key {
            KeyInput::Char(c) => {
                prompt.title.push(c);
                Vec::new()
            }
            KeyInput::Backspace => {
                prompt.title.pop();
                Vec::new()
            }
            KeyInput::Enter => {
                let prompt = prompt.clone();
                model.overlay = Overlay::None;
                start(model, prompt)
            }
            KeyInput::Esc => {
                model.overlay = Overlay::None;
                Vec::new()
            }
            _ => Vec::new(),
        }),
        Overlay::ConfirmLeaveGroup | Overlay::ConfirmEndGroup => {
            let leaving = model.overlay == Overlay::ConfirmLeaveGroup;
            Some(match key {
                KeyInput::Char('y') | KeyInput::Enter => {
                    model.overlay = Overlay::None;
                    match &mut model.call {
                        CallPanel::Group(g) if g.occupies() => match g.call_id {
                            Some(call_id) if leaving => {
                                g.pending = Some(GroupPending::Leaving);
                                vec![group(GroupCommand::Leave(call_id))]
                            }
                            Some(call_id) => {
                                g.pending = Some(GroupPending::Ending);
                                vec![group(GroupCommand::End(call_id))]
                            }
                            None => Vec::new(),
                        },
                        _ => Vec::new(),
                    }
                }
                KeyInput::Char('n') | KeyInput::Esc => {
                    model.overlay = Overlay::None;
                    Vec::new()
                }
                _ => Vec::new(),
            })
        }
        _ => None,
    }
}

/// Opens the group call `prompt` describes: the panel shows at once, with me as its joined
/// host and the invitees invited, until the server's events say more.
fn start(model: &mut Model, prompt: TitlePrompt) -> Vec<Command> {
    if model.call.is_active() {
        notice(
            model,
            Level::Error,
            "Already in a call: the group call was not started".to_owned(),
        );
        return Vec::new();
    }
    let title = Some(prompt.title.trim().to_owned()).filter(|t| !t.is_empty());
    let me = model.me;
    let mut members = vec![GroupMember {
        user_id: me,
        name: my_name(model),
        state: ParticipantState::Joined,
        is_host: true,
    }];
    for id in &prompt.invitees {
        let name = model
            .teammates
            .iter()
            .find(|t| t.user_id == *id)
            .map_or_else(|| format!("user {}", id.0), |t| t.name.clone());
        members.push(GroupMember {
            user_id: *id,
            name,
            state: ParticipantState::Invited,
            is_host: false,
        });
    }
    let names: Vec<&str> = members[1..].iter().map(|m| m.name.as_str()).collect();
    let line = format!(
        "starting a group {} call with {}",
        prompt.call_type,
        names.join(", ")
    );
    model.call = CallPanel::Group(InGroup {
        call_id: None,
        call_type: prompt.call_type,
        title: title.clone(),
        host_id: me,
        members,
        my_state: ParticipantState::Joined,
        url: None,
        room_url: None,
        since: model.now,
        pending: None,
        inviting: false,
    });
    model.marked.clear();
    log(model, line);
    vec![group(GroupCommand::Start {
        user_ids: prompt.invitees,
        call_type: prompt.call_type,
        title,
    })]
}

/// My name as the teammates list has it.
fn my_name(model: &Model) -> String {
    model
        .teammates
        .iter()
        .find(|t| t.user_id == model.me)
        .map_or_else(|| "You".to_owned(), |t| t.name.clone())
}

/// Keys of a group invitation or the group panel; `None` when the key is not theirs.
pub(crate) fn panel_key(model: &mut Model, key: KeyInput) -> Option<Vec<Command>> {
    let me = model.me;
    match &mut model.call {
        CallPanel::GroupInvitation(i) if i.answered.is_none() => {
            let (answer, command) = match key {
                KeyInput::Char('y') | KeyInput::Enter => {
                    (GroupAnswer::Join, GroupCommand::Join(i.call_id))
                }
                KeyInput::Char('n') => (GroupAnswer::Decline, GroupCommand::Decline(i.call_id)),
                _ => return None,
            };
            i.answered = Some(answer);
            Some(vec![Command::StopRinging, group(command)])
        }
        CallPanel::Group(g) if g.inviting => invite_key(model, key),
        CallPanel::Group(g) => {
            let call_id = g.call_id?;
            let (inside, host, pending) = (g.occupies(), g.host_id == me, g.pending.is_some());
            let url = g.open_url().map(str::to_owned);
            match key {
                KeyInput::Char('i') if inside => {
                    g.inviting = true;
                    model.marked.clear();
                    model.view = View::Teammates;
                    Some(Vec::new())
                }
                KeyInput::Char('e') if inside => {
                    model.overlay = Overlay::ConfirmLeaveGroup;
                    Some(Vec::new())
                }
                KeyInput::Char('E') if inside && host => {
                    model.overlay = Overlay::ConfirmEndGroup;
                    Some(Vec::new())
                }
                KeyInput::Char('E') if inside => {
                    notice(
                        model,
                        Level::Info,
                        "Only the host can end the call for everyone (e leaves it)".to_owned(),
                    );
                    Some(Vec::new())
                }
                KeyInput::Char('j') if !inside => {
                    if pending {
                        return Some(Vec::new());
                    }
                    g.pending = Some(GroupPending::Joining);
                    Some(vec![group(GroupCommand::Join(call_id))])
                }
                KeyInput::Esc if !inside => {
                    model.call = CallPanel::None;
                    Some(Vec::new())
                }
                KeyInput::Char('o') => Some(url.map(Command::OpenUrl).into_iter().collect()),
                KeyInput::Char('u') => {
                    let url = url?;
                    notice(
                        model,
                        Level::Info,
                        format!("Join URL (copied to the clipboard): {url}"),
                    );
                    Some(vec![Command::CopyToClipboard(url)])
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Keys while picking teammates to invite: Space marks (on the teammates view), Enter
/// invites the marked, Esc gives up; anything else (moving, filtering) goes on as usual.
fn invite_key(model: &mut Model, key: KeyInput) -> Option<Vec<Command>> {
    let CallPanel::Group(g) = &model.call else {
        return None;
    };
    match key {
        KeyInput::Char(' ') if model.view == View::Teammates => {
            let who = model.selected_teammate()?;
            let (id, name) = (who.user_id, who.name.clone());
            if g.is_engaged(id) {
                notice(
                    model,
                    Level::Info,
                    format!("{name} is already in this call"),
                );
            } else if let Some(at) = model.marked.iter().position(|m| *m == id) {
                model.marked.remove(at);
            } else {
                model.marked.push(id);
            }
            Some(Vec::new())
        }
        KeyInput::Enter => {
            if model.marked.is_empty() {
                notice(
                    model,
                    Level::Info,
                    "Mark teammates with Space, then Enter to invite them".to_owned(),
                );
                return Some(Vec::new());
            }
            let user_ids = std::mem::take(&mut model.marked);
            let CallPanel::Group(g) = &mut model.call else {
                return None;
            };
            g.inviting = false;
            let call_id = g.call_id?;
            g.pending = Some(GroupPending::Inviting);
            Some(vec![group(GroupCommand::Invite { call_id, user_ids })])
        }
        KeyInput::Esc => {
            model.marked.clear();
            if let CallPanel::Group(g) = &mut model.call {
                g.inviting = false;
            }
            Some(Vec::new())
        }
        _ => None,
    }
}

/// What quitting does to a group call: leave it (it goes on for the others), or silence an
/// invitation.
pub(crate) fn quit(model: &Model) -> Vec<Command> {
    match &model.call {
        CallPanel::Group(g) if g.occupies() => g
            .call_id
            .map(|id| group(GroupCommand::Leave(id)))
            .into_iter()
            .collect(),
        CallPanel::GroupInvitation(i) if i.answered.is_none() => vec![Command::StopRinging],
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Events

/// A `group_call` event: the panel or invitation of that call takes its participants list
/// as it is (each event carries it whole), and an invitation to a new call rings.
pub(crate) fn on_event(model: &mut Model, event: &GroupCallEvent) -> Vec<Command> {
    let members: Vec<GroupMember> = event.participants.iter().map(GroupMember::from).collect();
    let line = describe(event, &members);
    log(model, line);
    let me = model.me;
    let id = event.call_id;
    let starting = matches!(
        &model.call,
        CallPanel::Group(g) if g.call_id.is_none() && event.host.user_id == me
            && matches!(event.detail, GroupCallDetail::Created)
    );
    match &model.call {
        CallPanel::Group(g) if g.call_id == Some(id) || starting => {
            in_call_event(model, event, members)
        }
        CallPanel::GroupInvitation(i) if i.call_id == id => invitation_event(model, event, members),
        _ => match event.detail {
            GroupCallDetail::ParticipantInvited { inviter_id, .. } => {
                invited(model, event, members, inviter_id)
            }
            _ => Vec::new(),
        },
    }
}

/// A log line for an event: what happened, to whom, in which call.
fn describe(event: &GroupCallEvent, members: &[GroupMember]) -> String {
    let name = |id: UserId| {
        members
            .iter()
            .find(|m| m.user_id == id)
            .map_or_else(|| format!("user {}", id.0), |m| m.name.clone())
    };
    let what = match &event.detail {
        GroupCallDetail::Created => format!("{} started it", event.host.full_name),
        GroupCallDetail::ParticipantInvited { inviter_id, .. } => {
            format!("{} invited you", name(*inviter_id))
        }
        GroupCallDetail::ParticipantsInvited {
            new_participants, ..
        } => {
            let names: Vec<String> = new_participants.iter().map(|id| name(*id)).collect();
            format!("{} invited", names.join(", "))
        }
        GroupCallDetail::ParticipantJoined { joined_user_id } => {
            format!("{} joined", name(*joined_user_id))
        }
        GroupCallDetail::ParticipantLeft { left_user_id, .. } => {
            format!("{} left", name(*left_user_id))
        }
        GroupCallDetail::ParticipantDeclined { declined_user_id } => {
            format!("{} declined", name(*declined_user_id))
        }
        GroupCallDetail::ParticipantMissed { missed_user_id } => {
            format!("{} missed it", name(*missed_user_id))
        }
        GroupCallDetail::Ended { .. } => "it ended".to_owned(),
    };
    format!("group call {}: {what}", title_of(event.title.as_deref()))
}

fn in_call_event(
    model: &mut Model,
    event: &GroupCallEvent,
    members: Vec<GroupMember>,
) -> Vec<Command> {
    let me = model.me;
    // Before my own state changes with the list: the timer stops when I am out.
    let elapsed = model.call_elapsed();
    let CallPanel::Group(g) = &mut model.call else {
        return Vec::new();
    };
    let was_in = g.occupies();
    g.call_id = Some(event.call_id);
    g.call_type = event.call_type;
    g.title.clone_from(&event.title);
    g.room_url = Some(event.jitsi_url.clone());
    g.set_members(members, me);
    let dropped = was_in && !g.occupies() && g.pending != Some(GroupPending::Leaving);
    let host_name = event.host.full_name.clone();
    let host_is_me = event.host.user_id == me;
    let title = title_of(g.title.as_deref());
    let mut info = None;
    match &event.detail {
        GroupCallDetail::Ended { reason } => {
            let text = match reason {
                Some(GroupEndReason::HostEnded) if host_is_me => {
                    "You ended the group call for everyone".to_owned()
                }
                Some(GroupEndReason::HostEnded) => {
                    format!("{host_name} ended the group call for everyone")
                }
                Some(GroupEndReason::Empty) => {
                    "The group call ended: nobody was left in it".to_owned()
                }
                Some(GroupEndReason::MaxDuration) => {
                    "The group call reached its maximum duration".to_owned()
                }
                None => "The group call ended".to_owned(),
            };
            close_group_overlays(model);
            model.marked.clear();
            end_with(model, title, text, elapsed);
            return Vec::new();
        }
        GroupCallDetail::ParticipantLeft {
            left_user_id,
            reason: Some(GroupLeftReason::NetworkFailure),
        } if *left_user_id != me => {
            info = Some(format!(
                "{} dropped out: the connection was lost",
                name_in(g, *left_user_id)
            ));
        }
        GroupCallDetail::ParticipantJoined { joined_user_id } if *joined_user_id != me => {
            info = Some(format!("{} joined", name_in(g, *joined_user_id)));
        }
        GroupCallDetail::ParticipantLeft { left_user_id, .. } if *left_user_id != me => {
            info = Some(format!("{} left", name_in(g, *left_user_id)));
        }
        GroupCallDetail::ParticipantDeclined { declined_user_id } => {
            info = Some(format!("{} declined", name_in(g, *declined_user_id)));
        }
        GroupCallDetail::ParticipantMissed { missed_user_id } => {
            info = Some(format!("{} did not answer", name_in(g, *missed_user_id)));
        }
        _ => {}
    }
    if dropped {
        g.inviting = false;
        close_group_overlays(model);
        notice(
            model,
            Level::Error,
            "You are out of the group call (the connection was lost): j to rejoin".to_owned(),
        );
    } else if let Some(text) = info {
        notice(model, Level::Info, text);
    }
    Vec::new()
}

/// `user`'s name among the call's members.
fn name_in(g: &InGroup, user: UserId) -> String {
    g.members
        .iter()
        .find(|m| m.user_id == user)
        .map_or_else(|| format!("user {}", user.0), |m| m.name.clone())
}

/// Closes a leave or end confirmation: there is nothing left to confirm.
fn close_group_overlays(model: &mut Model) {
    if matches!(
        model.overlay,
        Overlay::ConfirmLeaveGroup | Overlay::ConfirmEndGroup
    ) {
        model.overlay = Overlay::None;
    }
}

fn invitation_event(
    model: &mut Model,
    event: &GroupCallEvent,
    members: Vec<GroupMember>,
) -> Vec<Command> {
    let me = model.me;
    let CallPanel::GroupInvitation(i) = &mut model.call else {
        return Vec::new();
    };
    let mine = members.iter().find(|m| m.user_id == me).map(|m| m.state);
    i.members = members;
    i.title.clone_from(&event.title);
    let answered = i.answered;
    let ringing = answered.is_none();
    let from = i.inviter_name.clone();
    let title = title_of(i.title.as_deref());
    let stop = |mut commands: Vec<Command>| {
        if ringing {
            commands.insert(0, Command::StopRinging);
        }
        commands
    };
    if let GroupCallDetail::Ended { .. } = event.detail {
        model.call = CallPanel::None;
        notice(
            model,
            Level::Info,
            format!("The group call from {from} ended before you joined"),
        );
        return stop(Vec::new());
    }
    match mine {
        Some(ParticipantState::Missed) => {
            model.call = CallPanel::None;
            notice(model, Level::Info, format!("Missed group call from {from}"));
            stop(vec![Command::Notify {
                title: "Missed group call".to_owned(),
                body: format!("{from} invited you to {title}"),
            }])
        }
        // Answered on another device (my own answer's result moves the panel here).
        Some(ParticipantState::Joined) if answered != Some(GroupAnswer::Join) => {
            model.call = CallPanel::None;
            notice(
                model,
                Level::Info,
                format!("Group call from {from} joined on another device"),
            );
            stop(Vec::new())
        }
        Some(ParticipantState::Declined) if answered.is_none() => {
            model.call = CallPanel::None;
            notice(
                model,
                Level::Info,
                format!("Group call from {from} declined on another device"),
            );
            stop(Vec::new())
        }
        _ => Vec::new(),
    }
}

/// I was invited to a group call: it rings, unless another call occupies me.
fn invited(
    model: &mut Model,
    event: &GroupCallEvent,
    members: Vec<GroupMember>,
    inviter: UserId,
) -> Vec<Command> {
    let me = model.me;
    let pending = members
        .iter()
        .any(|m| m.user_id == me && m.state.is_pending());
    if !pending {
        return Vec::new();
    }
    let inviter_name = members
        .iter()
        .find(|m| m.user_id == inviter)
        .map_or_else(|| event.host.full_name.clone(), |m| m.name.clone());
    let title = title_of(event.title.as_deref());
    if model.call.is_active() {
        notice(
            model,
            Level::Info,
            format!("{inviter_name} invited you to {title} (you are in another call)"),
        );
        return Vec::new();
    }
    if let Some(commands) = crate::app::dnd::intercept_group(model, event.call_id, &inviter_name) {
        return commands;
    }
    model.call = CallPanel::GroupInvitation(GroupInvitation {
        call_id: event.call_id,
        call_type: event.call_type,
        title: event.title.clone(),
        host_id: event.host.user_id,
        inviter_name: inviter_name.clone(),
        members,
        received_at: model.now,
        answered: None,
    });
    vec![
        Command::StartRinging,
        Command::Notify {
            title: format!("Group {} call", event.call_type),
            body: format!("{inviter_name} invites you to {title}"),
        },
    ]
}

/// After the event stream was gone a while: the group call on screen is read again, since
/// its events of the gap are lost.
pub(crate) fn after_resync(model: &Model) -> Vec<Command> {
    model
        .call
        .group_call_id()
        .map(|id| group(GroupCommand::Load(id)))
        .into_iter()
        .collect()
}

/// A held call's heartbeat stopped by itself: for a group call, the server may have dropped
/// me without an event, so the call is read again.
pub(crate) fn on_heartbeat_stopped(model: &mut Model, held: Held) -> Vec<Command> {
    match held {
        Held::Group(id) if model.call.group_call_id() == Some(id) => {
            vec![group(GroupCommand::Load(id))]
        }
        other => {
            log(model, format!("heartbeat of {} stopped", other.call_id()));
            Vec::new()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Results

pub(crate) fn on_msg(model: &mut Model, msg: GroupMsg) -> Vec<Command> {
    let me = model.me;
    match msg {
        GroupMsg::Started(result) => {
            let CallPanel::Group(g) = &mut model.call else {
                return Vec::new();
            };
            if g.host_id != me || g.url.is_some() {
                return Vec::new();
            }
            match result {
                Ok(r) => {
                    g.call_id = Some(r.call_id);
                    g.call_type = r.call_type;
                    g.title = r.title;
                    g.url = Some(r.call_url.clone());
                    vec![Command::OpenUrl(r.call_url)]
                }
                Err(e) => {
                    let title = title_of(g.title.as_deref());
                    end_with(
                        model,
                        title,
                        format!("Could not start the group call: {e}"),
                        None,
                    );
                    Vec::new()
                }
            }
        }
        GroupMsg::Invited { call_id, result } => {
            if let CallPanel::Group(g) = &mut model.call
                && g.call_id == Some(call_id)
                && g.pending == Some(GroupPending::Inviting)
            {
                g.pending = None;
            }
            match result {
                Ok(r) => notice(
                    model,
                    Level::Info,
                    match r.invited_count {
                        1 => "Invited 1 teammate".to_owned(),
                        n => format!("Invited {n} teammates"),
                    },
                ),
                Err(e) => notice(model, Level::Error, format!("Could not invite: {e}")),
            }
            Vec::new()
        }
        GroupMsg::Joined { call_id, result } => joined(model, call_id, result),
        GroupMsg::Declined { call_id, result } => {
            let CallPanel::GroupInvitation(i) = &mut model.call else {
                return Vec::new();
            };
            if i.call_id != call_id {
                return Vec::new();
            }
            let from = i.inviter_name.clone();
            match result {
                Ok(()) => {
                    model.call = CallPanel::None;
                    notice(
                        model,
                        Level::Info,
                        format!("Declined the group call from {from}"),
                    );
                }
                Err(AnswerError::CallOver(e)) => {
                    model.call = CallPanel::None;
                    notice(
                        model,
                        Level::Error,
                        format!("Could not decline the group call from {from}: {e}"),
                    );
                }
                Err(AnswerError::NotSent(e)) => {
                    i.answered = None;
                    notice(
                        model,
                        Level::Error,
                        format!("Could not decline: {e} (y or n to try again)"),
                    );
                }
            }
            Vec::new()
        }
        GroupMsg::Left { call_id, result } => {
            let CallPanel::Group(g) = &mut model.call else {
                return Vec::new();
            };
            if g.call_id != Some(call_id) {
                return Vec::new();
            }
            g.pending = None;
            match result {
                Ok(()) => {
                    g.inviting = false;
                    g.set_my_state(me, ParticipantState::Left);
                    model.marked.clear();
                    notice(
                        model,
                        Level::Info,
                        "You left the group call (j to rejoin, Esc to close)".to_owned(),
                    );
                }
                Err(e) => notice(model, Level::Error, format!("Could not leave: {e}")),
            }
            Vec::new()
        }
        GroupMsg::Ended { call_id, result } => {
            let CallPanel::Group(g) = &mut model.call else {
                // The `ended` event came first and summed the call up.
                return Vec::new();
            };
            if g.call_id != Some(call_id) {
                return Vec::new();
            }
            match result {
                Ok(()) => {
                    let title = title_of(g.title.as_deref());
                    model.marked.clear();
                    end_with(
                        model,
                        title,
                        "You ended the group call for everyone".to_owned(),
                        None,
                    );
                }
                Err(e) => {
                    g.pending = None;
                    notice(model, Level::Error, format!("Could not end the call: {e}"));
                }
            }
            Vec::new()
        }
        GroupMsg::Loaded { call_id, result } => match result {
            Ok(snapshot) => loaded(model, call_id, snapshot),
            Err(e) => {
                log(model, format!("could not read the group call again: {e}"));
                Vec::new()
            }
        },
    }
}

fn joined(
    model: &mut Model,
    call_id: CallId,
    result: Result<zulip_calls_protocol::plugin::group::GroupJoinResponse, AnswerError>,
) -> Vec<Command> {
    let me = model.me;
    match &mut model.call {
        CallPanel::GroupInvitation(i) if i.call_id == call_id => match result {
            Ok(r) => {
                let mut panel = InGroup {
                    call_id: Some(call_id),
                    call_type: r.call_type,
                    title: r.title,
                    host_id: i.host_id,
                    members: i.members.clone(),
                    my_state: ParticipantState::Joined,
                    url: Some(r.call_url.clone()),
                    room_url: None,
                    since: model.now,
                    pending: None,
                    inviting: false,
                };
                panel.set_my_state(me, ParticipantState::Joined);
                model.call = CallPanel::Group(panel);
                vec![Command::OpenUrl(r.call_url)]
            }
            Err(AnswerError::CallOver(e)) => {
                let from = i.inviter_name.clone();
                model.call = CallPanel::None;
                notice(
                    model,
                    Level::Error,
                    format!("Could not join the group call from {from}: {e}"),
                );
                Vec::new()
            }
            Err(AnswerError::NotSent(e)) => {
                i.answered = None;
                notice(
                    model,
                    Level::Error,
                    format!("Could not join: {e} (y or n to try again)"),
                );
                Vec::new()
            }
        },
        CallPanel::Group(g) if g.call_id == Some(call_id) => {
            g.pending = None;
            match result {
                Ok(r) => {
                    g.set_my_state(me, ParticipantState::Joined);
                    g.url = Some(r.call_url.clone());
                    g.since = model.now;
                    vec![Command::OpenUrl(r.call_url)]
                }
                Err(AnswerError::CallOver(e) | AnswerError::NotSent(e)) => {
                    notice(model, Level::Error, format!("Could not rejoin: {e}"));
                    Vec::new()
                }
            }
        }
        _ => Vec::new(),
    }
}

/// The call as the server has it now, after a gap in its events.
fn loaded(model: &mut Model, call_id: CallId, snapshot: GroupSnapshot) -> Vec<Command> {
    let me = model.me;
    let members: Vec<GroupMember> = snapshot
        .participants
        .iter()
        .map(GroupMember::from)
        .collect();
    let over = snapshot.call.state == GroupCallState::Ended;
    let elapsed = model.call_elapsed();
    match &mut model.call {
        CallPanel::Group(g) if g.call_id == Some(call_id) => {
            let was_in = g.occupies();
            g.title.clone_from(&snapshot.call.title);
            g.room_url = Some(snapshot.call.jitsi_url.clone());
            g.set_members(members, me);
            if over {
                let title = title_of(g.title.as_deref());
                close_group_overlays(model);
                end_with(model, title, "The group call ended".to_owned(), elapsed);
            } else if was_in && !g.occupies() {
                g.inviting = false;
                close_group_overlays(model);
                notice(
                    model,
                    Level::Error,
                    "You are out of the group call (the connection was lost): j to rejoin"
                        .to_owned(),
                );
            }
            Vec::new()
        }
        CallPanel::GroupInvitation(i) if i.call_id == call_id => {
            let ringing = i.answered.is_none();
            let still_open = members
                .iter()
                .any(|m| m.user_id == me && m.state.is_pending());
            i.members = members;
            if over || (!still_open && ringing) {
                let from = i.inviter_name.clone();
                model.call = CallPanel::None;
                notice(
                    model,
                    Level::Info,
                    format!("The invitation from {from} is over"),
                );
                return if ringing {
                    vec![Command::StopRinging]
                } else {
                    Vec::new()
                };
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

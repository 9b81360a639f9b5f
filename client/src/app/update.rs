//! The one function that changes the model: `update(model, msg) -> commands`.

use zulip_calls_protocol::calls::HistoryResponse;
use zulip_calls_protocol::machine::Action;
use zulip_calls_protocol::{
    ActiveCall, CallEvent, CallEventDetail, CallId, CallState, CallType, EndReason, MediaState,
    MediaStatus, RespondAction, UserId,
};

use super::answer::AnswerError;
use super::group::update as group;
use super::model::{CallPanel, InCall, Incoming, Level, Model, Outgoing, Overlay, PAGE_ROWS, View};
use super::msg::{Command, KeyInput, Msg};
use super::notes::{end_with, log, notice};
use crate::backend::events::StreamItem;
use zulip_calls_protocol::zulip::PresenceEvent;
use zulip_calls_protocol::zulip::UserStatusEvent;

/// What an update asks of the runner: effects to run, and whether the screen is stale.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    pub commands: Vec<Command>,
    /// The model changed in a way the views show; redraw only then.
    pub redraw: bool,
}

/// The commands to run once at start-up.
pub fn init(model: &Model) -> Vec<Command> {
    vec![Command::LoadUsers, super::missed::load(model)]
}

/// Applies `msg` to `model` and returns the effects to run.
pub fn update(model: &mut Model, msg: Msg) -> Update {
    match msg {
        Msg::Tick(now) => {
            // Ticks always move `now`; redraw only when a number on screen changes (or a
            // teammate's presence aged into another mark).
            let before = clock_face(model);
            let (commands, presence_changed) = super::presence::on_tick(model, now);
            Update {
                commands,
                redraw: presence_changed || clock_face(model) != before,
            }
        }
        Msg::Resize => Update {
            commands: Vec::new(),
            redraw: true,
        },
        msg => {
            // A key press says the user is here: bookkeeping, not something on screen, so
            // it is done before the snapshot.
            let mut commands = if matches!(msg, Msg::Key(_)) {
                super::presence::on_input(model)
            } else {
                Vec::new()
            };
            // Compare snapshots so "redraw only when changed" is exact. The log is left out of
            // the snapshot (it is only on screen when its pane is open) and compared by count.
            let log = std::mem::take(&mut model.log);
            let written = log.written;
            let before = model.clone();
            model.log = log;
            commands.extend(handle(model, msg));
            let log = std::mem::take(&mut model.log);
            let redraw = *model != before || (model.show_log && log.written != written);
            model.log = log;
            Update { commands, redraw }
        }
    }
}

/// Everything on screen that depends on the clock alone.
fn clock_face(model: &Model) -> (Option<i64>, Option<i64>, String, bool) {
    (
        model.call_elapsed().map(|s| s.floor() as i64),
        model.call_time_left().map(|s| s.ceil() as i64),
        model.connection_text(),
        model.current_notice().is_some(),
    )
}

fn handle(model: &mut Model, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) => on_key(model, key),
        Msg::Tick(_) | Msg::Resize => Vec::new(),
        Msg::PresenceReported(result) => super::presence::on_reported(model, result),
        Msg::Stream(item) => on_stream(model, item),
        Msg::Users(Ok(mut users)) => {
            users.sort_by_key(|u| u.name.to_lowercase());
            model.teammates = users;
            model.selected = clamp(model.selected, model.visible_teammates().len());
            Vec::new()
        }
        Msg::Users(Err(e)) => {
            notice(model, Level::Error, format!("Could not load users: {e}"));
            Vec::new()
        }
        Msg::Started { user_id, result } => on_started(model, user_id, result),
        Msg::CallingEachOther { user_id, call_id } => {
            super::crossed::accept_theirs(model, user_id, call_id)
        }
        Msg::Responded {
            call_id,
            action,
            result,
        } => on_responded(model, call_id, action, result),
        Msg::StatusSent {
            call_id,
            status,
            result,
        } => {
            if let Err(e) = result {
                // The toggle was shown at once; undo it since the server did not take it.
                if let CallPanel::InCall(c) = &mut model.call
                    && c.call_id == call_id
                    && let Some(undo) = opposite(status)
                {
                    c.mine = c.mine.apply(undo);
                }
                notice(model, Level::Error, format!("Could not send {status}: {e}"));
            }
            Vec::new()
        }
        Msg::Ended { call_id, result } => on_ended(model, call_id, result),
        Msg::EndedAll(Ok(n)) => {
            notice(model, Level::Info, format!("Ended {n} active calls"));
            model.active.loading = true;
            vec![Command::LoadActive]
        }
        Msg::EndedAll(Err(e)) => {
            notice(model, Level::Error, format!("Could not end calls: {e}"));
            Vec::new()
        }
        Msg::History { offset, result } => {
            on_history(model, offset, result);
            Vec::new()
        }
        Msg::ActiveLoaded(Ok(calls)) => {
            set_active(model, calls);
            Vec::new()
        }
        Msg::ActiveLoaded(Err(e)) => {
            model.active.loading = false;
            notice(
                model,
                Level::Error,
                format!("Could not load active calls: {e}"),
            );
            Vec::new()
        }
        Msg::JoinAt(url) => {
            notice(model, Level::Info, format!("Join the meeting at {url}"));
            Vec::new()
        }
        Msg::OpenFailed(e) => {
            notice(
                model,
                Level::Error,
                format!("Could not open the browser: {e}"),
            );
            Vec::new()
        }
        Msg::Recent(result) => super::missed::on_loaded(model, result),
        Msg::Group(msg) => group::on_msg(model, msg),
        Msg::HeartbeatStopped(held) => group::on_heartbeat_stopped(model, held),
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

fn on_key(model: &mut Model, key: KeyInput) -> Vec<Command> {
    if key == KeyInput::CtrlC {
        return quit(model);
    }
    if let Some(commands) = group::overlay_key(model, key) {
        return commands;
    }
    match model.overlay {
        Overlay::None => {}
        // Taken by `group::overlay_key` above.
        Overlay::GroupTitle(_) | Overlay::ConfirmLeaveGroup | Overlay::ConfirmEndGroup => {
            return Vec::new();
        }
        Overlay::Help => {
            if matches!(key, KeyInput::Char('?') | KeyInput::Esc | KeyInput::Enter) {
                model.overlay = Overlay::None;
            }
            return Vec::new();
        }
        Overlay::ConfirmQuit => {
            return match key {
                KeyInput::Char('y') | KeyInput::Enter => quit(model),
                KeyInput::Char('n') | KeyInput::Esc => {
                    model.overlay = Overlay::None;
                    Vec::new()
                }
                _ => Vec::new(),
            };
        }
        Overlay::ConfirmEndAll => {
            return match key {
                KeyInput::Char('y') | KeyInput::Enter => {
                    model.overlay = Overlay::None;
                    vec![Command::EndAll]
                }
                KeyInput::Char('n') | KeyInput::Esc => {
                    model.overlay = Overlay::None;
                    Vec::new()
                }
                _ => Vec::new(),
            };
        }
    }
    if model.filtering {
        filter_key(model, key);
        return Vec::new();
    }
    if let Some(commands) = call_key(model, key) {
        return commands;
    }
    match key {
        KeyInput::Char('?') => {
            model.overlay = Overlay::Help;
            Vec::new()
        }
        KeyInput::Char('l') => {
            model.show_log = !model.show_log;
            Vec::new()
        }
        KeyInput::Char('d') => super::dnd::toggle(model),
        KeyInput::Char('q') => {
            if model.call.is_active() {
                model.overlay = Overlay::ConfirmQuit;
                Vec::new()
            } else {
                quit(model)
            }
        }
        KeyInput::Tab | KeyInput::BackTab => {
            model.view = if key == KeyInput::Tab {
                model.view.next()
            } else {
                model.view.previous()
            };
            let mut commands = match model.view {
                View::History if !model.history.loaded && !model.history.loading => {
                    load_history(model, 0)
                }
                View::Active if !model.active.loading => {
                    model.active.loading = true;
                    vec![Command::LoadActive]
                }
                _ => Vec::new(),
            };
            if model.view == View::History {
                commands.extend(super::missed::looked(model));
            }
            commands
        }
        KeyInput::Char('r') => match model.view {
            View::Teammates => vec![Command::LoadUsers],
            View::History => load_history(model, model.history.offset),
            View::Active => {
                model.active.loading = true;
                vec![Command::LoadActive]
            }
        },
        _ => match model.view {
            View::Teammates => teammates_key(model, key),
            View::History => history_key(model, key),
            View::Active => active_key(model, key),
        },
    }
}

/// Keys while typing a filter: text edits the filter, Enter keeps it, Esc clears it.
fn filter_key(model: &mut Model, key: KeyInput) {
    match key {
        KeyInput::Char(c) => {
            model.filter.push(c);
            model.selected = 0;
        }
        KeyInput::Backspace => {
            model.filter.pop();
            model.selected = 0;
        }
        KeyInput::Enter => model.filtering = false,
        KeyInput::Esc => {
            model.filter.clear();
            model.filtering = false;
            model.selected = 0;
        }
        KeyInput::Up | KeyInput::Down | KeyInput::PageUp | KeyInput::PageDown => {
            let len = model.visible_teammates().len();
            model.selected = moved(model.selected, len, key);
        }
        KeyInput::Tab | KeyInput::BackTab | KeyInput::CtrlC => {}
    }
}

/// Keys of the call panel; `None` when the panel does not use the key.
fn call_key(model: &mut Model, key: KeyInput) -> Option<Vec<Command>> {
    if let Some(commands) = group::panel_key(model, key) {
        return Some(commands);
    }
    let accept = model.call.allows(Action::Accept);
    let end = model.call.allows(Action::End);
    let status = model.call.allows(Action::Status);
    match &mut model.call {
        CallPanel::Incoming(i) if i.answered.is_none() && accept => {
            let action = match key {
                KeyInput::Char('y') | KeyInput::Enter => RespondAction::Accept,
                KeyInput::Char('n') => RespondAction::Reject,
                _ => return None,
            };
            i.answered = Some(action);
            Some(vec![
                Command::StopRinging,
                Command::Respond {
                    call_id: i.call_id,
                    action,
                },
            ])
        }
        CallPanel::Outgoing(o) if end => match key {
            KeyInput::Esc | KeyInput::Char('e') => {
                if o.cancel_requested {
                    return Some(Vec::new());
                }
                o.cancel_requested = true;
                // Without an id the End goes out when `start` answers.
                Some(o.call_id.map(Command::End).into_iter().collect())
            }
            _ => None,
        },
        CallPanel::InCall(c) => {
            let toggle = match key {
                KeyInput::Char('m') => {
                    Some(pick(c.mine.muted, MediaStatus::Unmuted, MediaStatus::Muted))
                }
                KeyInput::Char('c') => Some(pick(
                    c.mine.video_off,
                    MediaStatus::VideoEnabled,
                    MediaStatus::VideoDisabled,
                )),
                KeyInput::Char('h') => Some(pick(
                    c.mine.on_hold,
                    MediaStatus::Resumed,
                    MediaStatus::OnHold,
                )),
                KeyInput::Char('s') => Some(pick(
                    c.mine.screen_sharing,
                    MediaStatus::ScreenSharingStopped,
                    MediaStatus::ScreenSharing,
                )),
                _ => None,
            };
            if let Some(new) = toggle {
                if !model.features.media_status {
                    let text = format!(
                        "{} is not supported by this server (calls API {})",
                        media_name(new),
                        model.features.name
                    );
                    notice(model, Level::Info, text);
                    return Some(Vec::new());
                }
                if !status {
                    return Some(Vec::new());
                }
                c.mine = c.mine.apply(new);
                return Some(vec![Command::SendStatus {
                    call_id: c.call_id,
                    status: new,
                }]);
            }
            match key {
                KeyInput::Char('e') if end => {
                    c.hangup_requested = true;
                    Some(vec![Command::End(c.call_id)])
                }
                KeyInput::Char('o') => Some(vec![Command::OpenUrl(c.url.clone())]),
                KeyInput::Char('u') => {
                    let url = c.url.clone();
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
        CallPanel::Ended { .. } => match key {
            KeyInput::Esc | KeyInput::Enter => {
                model.call = CallPanel::None;
                Some(Vec::new())
            }
            _ => None,
        },
        _ => None,
    }
}

/// What a media key changes, for the "not supported" note.
const fn media_name(status: MediaStatus) -> &'static str {
    match status {
        MediaStatus::Muted | MediaStatus::Unmuted => "Muting",
        MediaStatus::VideoDisabled | MediaStatus::VideoEnabled => "Turning the camera on or off",
        MediaStatus::OnHold | MediaStatus::Resumed => "Holding",
        MediaStatus::ScreenSharing | MediaStatus::ScreenSharingStopped => "Screen sharing",
        MediaStatus::Connected => "Media status",
    }
}

const fn pick(on: bool, if_on: MediaStatus, if_off: MediaStatus) -> MediaStatus {
    if on { if_on } else { if_off }
}

fn teammates_key(model: &mut Model, key: KeyInput) -> Vec<Command> {
    match key {
        KeyInput::Char('/') => {
            // A fresh filter each time, not more text on the last one.
            model.filter.clear();
            model.selected = 0;
            model.filtering = true;
            Vec::new()
        }
        KeyInput::Esc if !model.filter.is_empty() => {
            model.filter.clear();
            model.selected = 0;
            Vec::new()
        }
        KeyInput::Up | KeyInput::Down | KeyInput::PageUp | KeyInput::PageDown => {
            let len = model.visible_teammates().len();
            model.selected = moved(model.selected, len, key);
            Vec::new()
        }
        KeyInput::Char(' ') if !model.call.is_active() => {
            group::toggle_mark(model);
            Vec::new()
        }
        KeyInput::Esc if !model.marked.is_empty() => {
            model.marked.clear();
            Vec::new()
        }
        KeyInput::Char(c @ ('v' | 'a')) => {
            if model.call.is_active() {
                return Vec::new();
            }
            let call_type = if c == 'v' {
                CallType::Video
            } else {
                CallType::Audio
            };
            if !model.marked.is_empty() {
                group::prompt_title(model, call_type);
                return Vec::new();
            }
            let Some(who) = model.selected_teammate().cloned() else {
                return Vec::new();
            };
            place_call(model, who.user_id, who.name, call_type)
        }
        _ => Vec::new(),
    }
}

/// Places a 1:1 call to `user_id`: the outgoing panel, and the request.
pub(super) fn place_call(
    model: &mut Model,
    user_id: UserId,
    name: String,
    call_type: CallType,
) -> Vec<Command> {
    log(model, format!("calling {name} ({call_type})"));
    model.call = CallPanel::Outgoing(Outgoing {
        call_id: None,
        to_id: user_id,
        to_name: name,
        call_type,
        ringing: false,
        placed_at: model.now,
        timeout_seconds: None,
        join_url: None,
        cancel_requested: false,
    });
    vec![Command::Start { user_id, call_type }]
}

fn history_key(model: &mut Model, key: KeyInput) -> Vec<Command> {
    let h = &mut model.history;
    match key {
        KeyInput::Up | KeyInput::Down => {
            h.selected = moved(h.selected, h.entries.len(), key);
            Vec::new()
        }
        KeyInput::PageDown if h.has_more && !h.loading => {
            let offset = h.offset.saturating_add(h.limit);
            load_history(model, offset)
        }
        KeyInput::PageUp if h.offset > 0 && !h.loading => {
            let offset = h.offset.saturating_sub(h.limit);
            load_history(model, offset)
        }
        KeyInput::Char('t') => {
            h.call_type = match h.call_type {
                None => Some(CallType::Video),
                Some(CallType::Video) => Some(CallType::Audio),
                Some(CallType::Audio) => None,
            };
            load_history(model, 0)
        }
        KeyInput::Char('f') => {
            // None, then every state in order, then None again.
            h.state = match h.state {
                None => CallState::ALL.first().copied(),
                Some(s) => CallState::ALL
                    .iter()
                    .skip_while(|x| **x != s)
                    .nth(1)
                    .copied(),
            };
            load_history(model, 0)
        }
        KeyInput::Enter => super::missed::call_back(model, None),
        KeyInput::Char('v') => super::missed::call_back(model, Some(CallType::Video)),
        KeyInput::Char('a') => super::missed::call_back(model, Some(CallType::Audio)),
        _ => Vec::new(),
    }
}

fn active_key(model: &mut Model, key: KeyInput) -> Vec<Command> {
    match key {
        KeyInput::Up | KeyInput::Down => {
            model.active.selected = moved(model.active.selected, model.active.calls.len(), key);
        }
        KeyInput::Char('x') if !model.active.calls.is_empty() => {
            model.overlay = Overlay::ConfirmEndAll;
        }
        _ => {}
    }
    Vec::new()
}

/// Asks for the history page at `offset` with the current filters.
fn load_history(model: &mut Model, offset: u32) -> Vec<Command> {
    let h = &mut model.history;
    h.offset = offset;
    h.loading = true;
    vec![Command::LoadHistory {
        offset,
        limit: h.limit,
        call_type: h.call_type,
        state: h.state,
    }]
}

/// Quitting during a call ends it, so the other side is not left waiting in an empty room.
fn quit(model: &mut Model) -> Vec<Command> {
    let mut commands = Vec::new();
    match &model.call {
        CallPanel::Incoming(i) if i.answered.is_none() => commands.push(Command::StopRinging),
        CallPanel::Outgoing(_) | CallPanel::InCall(_) => {
            commands.extend(model.call.call_id().map(Command::End));
        }
        _ => commands.extend(group::quit(model)),
    }
    model.overlay = Overlay::None;
    model.quitting = true;
    commands.push(Command::Quit);
    commands
}

// ---------------------------------------------------------------------------------------------
// Event stream

fn on_stream(model: &mut Model, item: StreamItem) -> Vec<Command> {
    match item {
        StreamItem::State(state) => {
            if state != model.connection {
                log(model, format!("connection: {state:?}"));
                model.connection = state;
                model.connection_since = model.now;
            }
            Vec::new()
        }
        StreamItem::Event(event) => {
            if let Some(call_event) = event.as_call() {
                if !call_event.call.state.is_active() {
                    super::dnd::forget(model, call_event.call.call_id);
                }
                super::active::follow(&mut model.active, call_event, model.me);
                let mut commands = on_call_event(model, call_event);
                commands.extend(super::missed::follow(model, call_event));
                commands
            } else if let Some(group_event) = event.as_group_call() {
                group::on_event(model, group_event)
            } else if let Some(presence) = PresenceEvent::from_queue_event(&event) {
                super::presence::on_presence_event(model, &presence);
                Vec::new()
            } else if let Some(status) = UserStatusEvent::from_queue_event(&event) {
                super::presence::on_status_event(model, &status);
                Vec::new()
            } else {
                log(
                    model,
                    format!("ignored event of type {}", event.type_name()),
                );
                Vec::new()
            }
        }
        StreamItem::Resynced(calls) => on_resynced(model, calls),
        StreamItem::Registered { presence, statuses } => {
            super::presence::on_registered(model, presence.as_ref(), statuses.as_ref());
            Vec::new()
        }
    }
}

fn on_call_event(model: &mut Model, event: &CallEvent) -> Vec<Command> {
    let call = &event.call;
    log(
        model,
        format!(
            "{} {} → {} ({})",
            event.event_type(),
            call.sender_name,
            call.receiver_name,
            call.state
        ),
    );
    let id = call.call_id;
    let me = model.me;
    let ours = model.call.call_id() == Some(id);
    match (&event.detail, &mut model.call) {
        (CallEventDetail::CallStarted { timeout_seconds }, panel) => {
            if call.receiver_id == me && call.sender_id != me {
                if panel.is_active() {
                    // Same call replayed, or a stale panel; `Resynced` repairs the latter.
                    return Vec::new();
                }
                let incoming = Incoming {
                    call_id: id,
                    from_id: call.sender_id,
                    from_name: call.sender_name.clone(),
                    call_type: call.call_type,
                    jitsi_url: call.jitsi_url.clone(),
                    received_at: model.now,
                    timeout_seconds: Some(*timeout_seconds),
                    answered: None,
                };
                if let Some(commands) = super::dnd::intercept(model, incoming.clone()) {
                    return commands;
                }
                model.call = CallPanel::Incoming(incoming);
                return vec![
                    Command::Acknowledge(id),
                    Command::StartRinging,
                    Command::Notify {
                        title: format!("Incoming {} call", call.call_type),
                        body: format!("{} is calling you", call.sender_name),
                    },
                ];
            }
            // My own call: the event may beat the `start` response, so learn the id here too.
            if let CallPanel::Outgoing(o) = panel
                && o.call_id.is_none()
                && o.to_id == call.receiver_id
            {
                o.call_id = Some(id);
                o.timeout_seconds = Some(*timeout_seconds);
                if o.cancel_requested {
                    return vec![Command::End(id)];
                }
            } else if let CallPanel::Outgoing(o) = panel
                && o.call_id == Some(id)
            {
                // The event's deadline is the server's own; some servers' placing answers
                // carry none, and the client then assumed the default.
                o.timeout_seconds = Some(*timeout_seconds);
            }
            Vec::new()
        }
        (CallEventDetail::ParticipantRinging, CallPanel::Outgoing(o)) if ours => {
            o.ringing = true;
            Vec::new()
        }
        (CallEventDetail::CallAccepted, CallPanel::Outgoing(o)) if ours => {
            // Without the `start` response yet, the bare room is the best URL there is.
            let url = o.join_url.clone().unwrap_or_else(|| call.jitsi_url.clone());
            model.call = CallPanel::InCall(InCall {
                call_id: id,
                other_id: o.to_id,
                other_name: o.to_name.clone(),
                call_type: o.call_type,
                outgoing: true,
                since: model.now,
                mine: MediaState::initial(o.call_type),
                theirs: MediaState::initial(o.call_type),
                url: url.clone(),
                hangup_requested: false,
            });
            vec![Command::OpenUrl(url)]
        }
        (CallEventDetail::CallAccepted, CallPanel::Incoming(i)) if ours => {
            if i.answered.is_some() {
                // My own answer; the `respond` result moves the panel.
                return Vec::new();
            }
            let text = format!("Call from {} answered on another device", i.from_name);
            model.call = CallPanel::None;
            notice(model, Level::Info, text);
            vec![Command::StopRinging]
        }
        (CallEventDetail::CallRejected, CallPanel::Outgoing(o)) if ours => {
            let text = format!("{} declined the call", o.to_name);
            let other = o.to_name.clone();
            end_with(model, other, text, None);
            Vec::new()
        }
        (CallEventDetail::CallRejected, CallPanel::Incoming(i)) if ours => {
            let acted = i.answered.is_some();
            let text = if acted {
                format!("You declined the call from {}", i.from_name)
            } else {
                format!("Call from {} declined on another device", i.from_name)
            };
            model.call = CallPanel::None;
            notice(model, Level::Info, text);
            if acted {
                Vec::new()
            } else {
                vec![Command::StopRinging]
            }
        }
        (
            CallEventDetail::CallStatusUpdate {
                status,
                updated_by_id,
                ..
            },
            CallPanel::InCall(c),
        ) if ours => {
            if *updated_by_id == me {
                c.mine = c.mine.apply(*status);
            } else {
                c.theirs = c.theirs.apply(*status);
            }
            Vec::new()
        }
        (
            CallEventDetail::CallEnded {
                reason,
                ended_by_id,
                duration,
            },
            panel,
        ) if ours => {
            let ending = on_call_ended(panel.clone(), *reason, *ended_by_id, *duration, me);
            ending.apply(model)
        }
        _ => Vec::new(),
    }
}

/// What ending a call does to the model, computed from the panel as it was.
struct Ending {
    other_name: String,
    text: String,
    duration: Option<f64>,
    commands: Vec<Command>,
    notify: Option<(String, String)>,
}

impl Ending {
    fn apply(self, model: &mut Model) -> Vec<Command> {
        let mut commands = self.commands;
        if let Some((title, body)) = self.notify {
            commands.push(Command::Notify { title, body });
        }
        end_with(model, self.other_name, self.text, self.duration);
        commands
    }
}

fn on_call_ended(
    panel: CallPanel,
    reason: EndReason,
    ended_by: Option<UserId>,
    duration: Option<f64>,
    me: UserId,
) -> Ending {
    match panel {
        CallPanel::Outgoing(o) => {
            let name = o.to_name;
            let text = match reason {
                EndReason::Rejected => format!("{name} declined the call"),
                EndReason::Timeout => format!("No answer from {name}: the call timed out"),
                EndReason::Missed => format!("{name} did not answer (missed)"),
                EndReason::Cancelled => format!("Call to {name} cancelled"),
                EndReason::Cleanup => format!("Call to {name} was cleaned up by the server"),
                EndReason::Hangup | EndReason::MaxDuration => format!("Call to {name} ended"),
                EndReason::NetworkFailure => {
                    format!("Call to {name} dropped: the connection was lost")
                }
            };
            Ending {
                other_name: name,
                text,
                duration: None,
                commands: Vec::new(),
                notify: None,
            }
        }
        CallPanel::Incoming(i) => {
            let name = i.from_name;
            let mut notify = None;
            let text = match reason {
                EndReason::Cancelled => format!("{name} cancelled the call"),
                EndReason::Missed => {
                    notify = Some(("Missed call".to_owned(), format!("{name} called you")));
                    format!("Missed call from {name}")
                }
                EndReason::Timeout | EndReason::Cleanup => format!("Call from {name} timed out"),
                EndReason::Rejected if i.answered.is_some() => {
                    format!("You declined the call from {name}")
                }
                EndReason::Rejected => format!("Call from {name} declined on another device"),
                EndReason::Hangup | EndReason::MaxDuration => format!("Call from {name} ended"),
                EndReason::NetworkFailure => {
                    format!("Call from {name} dropped: the connection was lost")
                }
            };
            let commands = if i.answered.is_none() {
                vec![Command::StopRinging]
            } else {
                Vec::new()
            };
            Ending {
                other_name: name,
                text,
                duration: None,
                commands,
                notify,
            }
        }
        CallPanel::InCall(c) => {
            let name = c.other_name;
            let text = match ended_by {
                Some(who) if who == me => "You ended the call".to_owned(),
                None if c.hangup_requested && reason == EndReason::Hangup => {
                    "You ended the call".to_owned()
                }
                Some(_) => format!("{name} ended the call"),
                None if reason == EndReason::MaxDuration => {
                    "The call reached its maximum duration".to_owned()
                }
                None if reason == EndReason::NetworkFailure => {
                    "The call dropped: a connection was lost".to_owned()
                }
                // Some servers do not say who hung up.
                None if reason == EndReason::Hangup => "The call ended".to_owned(),
                None => "The server ended the call".to_owned(),
            };
            Ending {
                other_name: name,
                text,
                duration,
                commands: Vec::new(),
                notify: None,
            }
        }
        // Never about a 1:1 call's end (its id is not theirs).
        CallPanel::None
        | CallPanel::Ended { .. }
        | CallPanel::GroupInvitation(_)
        | CallPanel::Group(_) => Ending {
            other_name: String::new(),
            text: "Call ended".to_owned(),
            duration,
            commands: Vec::new(),
            notify: None,
        },
    }
}

/// Rebuilds the call panel from the server's list of active calls, after a (re)registration.
fn on_resynced(model: &mut Model, calls: Vec<ActiveCall>) -> Vec<Command> {
    // Calls do-not-disturb kept quiet that ended unseen ring no more.
    model.dnd.silenced.retain(|s| {
        calls
            .iter()
            .any(|c| c.call_id == s.call_id && c.state.is_active())
    });
    if model.call.group_call_id().is_some() {
        // The snapshot lists 1:1 calls only: the group call is read again instead.
        set_active(model, calls);
        log(model, "resynchronised active calls".to_owned());
        return group::after_resync(model);
    }
    let me = model.me;
    let mine = calls
        .iter()
        .find(|c| c.state.is_active() && (c.sender_id == me || c.receiver_id == me))
        .cloned();
    set_active(model, calls);
    log(model, "resynchronised active calls".to_owned());
    let was_ringing = matches!(&model.call, CallPanel::Incoming(i) if i.answered.is_none());
    let Some(c) = mine else {
        // A `start` still in flight is not in the snapshot yet; anything else ended unseen.
        let pending = matches!(&model.call, CallPanel::Outgoing(o) if o.call_id.is_none());
        if model.call.is_active() && !pending {
            let other = match &model.call {
                CallPanel::Outgoing(o) => o.to_name.clone(),
                CallPanel::Incoming(i) => i.from_name.clone(),
                CallPanel::InCall(c) => c.other_name.clone(),
                _ => String::new(),
            };
            end_with(
                model,
                other,
                "The call ended while the connection was down".to_owned(),
                None,
            );
            if was_ringing {
                return vec![Command::StopRinging];
            }
        }
        return Vec::new();
    };
    let outgoing = c.sender_id == me;
    let (other_id, other_name) = if outgoing {
        (c.receiver_id, c.receiver_name.clone())
    } else {
        (c.sender_id, c.sender_name.clone())
    };
    let same = model.call.call_id() == Some(c.call_id);
    match c.state {
        CallState::Accepted => {
            let answering = matches!(
                &model.call,
                CallPanel::Incoming(i) if i.answered == Some(RespondAction::Accept)
            );
            if same && (matches!(model.call, CallPanel::InCall(_)) || answering) {
                // In the call already, or my `respond` result will bring the join URL.
                return Vec::new();
            }
            // My call was answered while the connection was down: I have not joined yet.
            let pending_join = match &model.call {
                CallPanel::Outgoing(o) if same => Some(o.join_url.clone()),
                _ => None,
            };
            let url = pending_join
                .clone()
                .flatten()
                .unwrap_or_else(|| c.jitsi_url.clone());
            model.call = CallPanel::InCall(InCall {
                call_id: c.call_id,
                other_id,
                other_name,
                call_type: c.call_type,
                outgoing,
                since: model.now,
                mine: MediaState::initial(c.call_type),
                theirs: MediaState::initial(c.call_type),
                url: url.clone(),
                hangup_requested: false,
            });
            if was_ringing {
                vec![Command::StopRinging]
            } else if pending_join.is_some() {
                vec![Command::OpenUrl(url)]
            } else {
                Vec::new()
            }
        }
        _ if outgoing => {
            if let CallPanel::Outgoing(o) = &mut model.call
                && (same || (o.call_id.is_none() && o.to_id == other_id))
            {
                o.call_id = Some(c.call_id);
                o.ringing |= c.state == CallState::Ringing;
                return Vec::new();
            }
            let mut commands = Vec::new();
            if was_ringing {
                commands.push(Command::StopRinging);
            }
            model.call = CallPanel::Outgoing(Outgoing {
                call_id: Some(c.call_id),
                to_id: other_id,
                to_name: other_name,
                call_type: c.call_type,
                ringing: c.state == CallState::Ringing,
                placed_at: model.now,
                timeout_seconds: None,
                join_url: None,
                cancel_requested: false,
            });
            commands
        }
        _ => {
            if same && matches!(model.call, CallPanel::Incoming(_)) {
                return Vec::new();
            }
            let incoming = Incoming {
                call_id: c.call_id,
                from_id: other_id,
                from_name: other_name,
                call_type: c.call_type,
                jitsi_url: c.jitsi_url.clone(),
                received_at: model.now,
                timeout_seconds: None,
                answered: None,
            };
            if model.dnd.silenced.iter().any(|s| s.call_id == c.call_id) {
                // Already kept quiet.
                return Vec::new();
            }
            if let Some(mut commands) = super::dnd::intercept(model, incoming.clone()) {
                if was_ringing {
                    commands.insert(0, Command::StopRinging);
                }
                model.call = CallPanel::None;
                return commands;
            }
            model.call = CallPanel::Incoming(incoming);
            vec![Command::Acknowledge(c.call_id), Command::StartRinging]
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Command results

fn on_started(
    model: &mut Model,
    user_id: UserId,
    result: Result<zulip_calls_protocol::calls::StartResponse, String>,
) -> Vec<Command> {
    let CallPanel::Outgoing(o) = &mut model.call else {
        return Vec::new();
    };
    if o.to_id != user_id {
        return Vec::new();
    }
    match result {
        Ok(r) => {
            let first = o.call_id.is_none();
            o.call_id = Some(r.call_id);
            if first {
                o.timeout_seconds = Some(r.timeout_seconds);
            } else {
                // The call's event came first, with the server's own deadline.
                o.timeout_seconds.get_or_insert(r.timeout_seconds);
            }
            o.join_url = Some(r.join_url.unwrap_or(r.jitsi_url));
            if o.cancel_requested && first {
                vec![Command::End(r.call_id)]
            } else {
                Vec::new()
            }
        }
        Err(e) => {
            let name = o.to_name.clone();
            let text = format!("Could not call {name}: {e}");
            end_with(model, name, text, None);
            Vec::new()
        }
    }
}

fn on_responded(
    model: &mut Model,
    call_id: CallId,
    action: RespondAction,
    result: Result<zulip_calls_protocol::calls::RespondResponse, AnswerError>,
) -> Vec<Command> {
    let CallPanel::Incoming(i) = &model.call else {
        if let Err(AnswerError::CallOver(e) | AnswerError::NotSent(e)) = result {
            notice(model, Level::Error, format!("Could not answer: {e}"));
        }
        return Vec::new();
    };
    if i.call_id != call_id {
        return Vec::new();
    }
    let i = i.clone();
    match (action, result) {
        (RespondAction::Accept, Ok(r)) => {
            let url = r.join_url.or(r.jitsi_url).unwrap_or(i.jitsi_url);
            model.call = CallPanel::InCall(InCall {
                call_id,
                other_id: i.from_id,
                other_name: i.from_name,
                call_type: i.call_type,
                outgoing: false,
                since: model.now,
                mine: MediaState::initial(i.call_type),
                theirs: MediaState::initial(i.call_type),
                url: url.clone(),
                hangup_requested: false,
            });
            vec![Command::OpenUrl(url)]
        }
        (RespondAction::Reject, Ok(_)) => {
            model.call = CallPanel::None;
            notice(
                model,
                Level::Info,
                format!("Declined the call from {}", i.from_name),
            );
            Vec::new()
        }
        (_, Err(AnswerError::CallOver(e))) => {
            let text = format!("Could not answer the call from {}: {e}", i.from_name);
            end_with(model, i.from_name, text, None);
            Vec::new()
        }
        (_, Err(AnswerError::NotSent(e))) => {
            // The call may still be ringing: the modal stays, to answer again.
            if let CallPanel::Incoming(incoming) = &mut model.call {
                incoming.answered = None;
            }
            notice(
                model,
                Level::Error,
                format!("Could not answer: {e} (y or n to try again)"),
            );
            Vec::new()
        }
    }
}

fn on_ended(
    model: &mut Model,
    call_id: CallId,
    result: Result<zulip_calls_protocol::calls::EndResponse, String>,
) -> Vec<Command> {
    let ours = model.call.call_id() == Some(call_id);
    match result {
        Ok(r) if ours => {
            // The `call_ended` event may come first; then the panel has already moved on.
            let (name, text) = match &model.call {
                CallPanel::Outgoing(o) => (
                    o.to_name.clone(),
                    format!("Call to {} cancelled", o.to_name),
                ),
                CallPanel::InCall(c) => (c.other_name.clone(), "You ended the call".to_owned()),
                CallPanel::Incoming(i) => (
                    i.from_name.clone(),
                    format!("Call from {} ended", i.from_name),
                ),
                CallPanel::None
                | CallPanel::Ended { .. }
                | CallPanel::GroupInvitation(_)
                | CallPanel::Group(_) => return Vec::new(),
            };
            end_with(model, name, text, r.duration);
            Vec::new()
        }
        Ok(_) => Vec::new(),
        Err(e) => {
            match &mut model.call {
                CallPanel::Outgoing(o) if ours => o.cancel_requested = false,
                CallPanel::InCall(c) if ours => c.hangup_requested = false,
                _ => {}
            }
            notice(model, Level::Error, format!("Could not end the call: {e}"));
            Vec::new()
        }
    }
}

fn on_history(model: &mut Model, offset: u32, result: Result<HistoryResponse, String>) {
    if offset != model.history.offset {
        return; // an older request, superseded
    }
    model.history.loading = false;
    match result {
        Ok(r) => {
            let h = &mut model.history;
            h.has_more = r.more_after(h.limit);
            h.total = r.total;
            h.entries = r.calls;
            h.selected = 0;
            h.loaded = true;
        }
        Err(e) => notice(model, Level::Error, format!("Could not load history: {e}")),
    }
}

fn set_active(model: &mut Model, calls: Vec<ActiveCall>) {
    let a = &mut model.active;
    a.calls = calls;
    a.selected = clamp(a.selected, a.calls.len());
    a.loading = false;
    a.loaded = true;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The report that undoes `status`, for rolling back an optimistic toggle.
const fn opposite(status: MediaStatus) -> Option<MediaStatus> {
    Some(match status {
        MediaStatus::Muted => MediaStatus::Unmuted,
        MediaStatus::Unmuted => MediaStatus::Muted,
        MediaStatus::OnHold => MediaStatus::Resumed,
        MediaStatus::Resumed => MediaStatus::OnHold,
        MediaStatus::VideoDisabled => MediaStatus::VideoEnabled,
        MediaStatus::VideoEnabled => MediaStatus::VideoDisabled,
        MediaStatus::ScreenSharing => MediaStatus::ScreenSharingStopped,
        MediaStatus::ScreenSharingStopped => MediaStatus::ScreenSharing,
        MediaStatus::Connected => return None,
    })
}

fn clamp(selected: usize, len: usize) -> usize {
    selected.min(len.saturating_sub(1))
}

fn moved(selected: usize, len: usize, key: KeyInput) -> usize {
    let target = match key {
        KeyInput::Up => selected.saturating_sub(1),
        KeyInput::Down => selected.saturating_add(1),
        KeyInput::PageUp => selected.saturating_sub(PAGE_ROWS),
        KeyInput::PageDown => selected.saturating_add(PAGE_ROWS),
        _ => selected,
    };
    clamp(target, len)
}

//! Everything the terminal shows, as plain data. Views read it; only [`super::update()`] writes it.

use std::collections::VecDeque;

use zulip_calls_protocol::machine::{Action, Actor, transition};
use zulip_calls_protocol::plugin::group::ParticipantState;
use zulip_calls_protocol::zulip::User;
use zulip_calls_protocol::{
    ActiveCall, CallId, CallState, CallType, HistoryEntry, MediaState, Timestamp, UserId,
};

use super::group::{GroupInvitation, InGroup, TitlePrompt};
use crate::backend::calls::Features;
use crate::backend::events::ConnectionState;
use crate::backend::keepalive::Held;

/// How many log lines the event log pane keeps; older ones are dropped so memory stays flat.
pub const LOG_CAPACITY: usize = 200;
/// How long a notice stays on screen, in seconds.
pub const NOTICE_SECONDS: f64 = 8.0;
/// History rows per page.
pub const HISTORY_PAGE: u32 = 20;
/// Rows moved by PageUp/PageDown in lists.
pub const PAGE_ROWS: usize = 10;

/// The main screen being shown (the call panel and overlays sit on top of any of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    #[default]
    Teammates,
    History,
    Active,
}

impl View {
    /// The next view for `Tab`.
    pub const fn next(self) -> View {
        match self {
            View::Teammates => View::History,
            View::History => View::Active,
            View::Active => View::Teammates,
        }
    }

    /// The previous view for `Shift-Tab`.
    pub const fn previous(self) -> View {
        match self {
            View::Teammates => View::Active,
            View::History => View::Teammates,
            View::Active => View::History,
        }
    }
}

/// One person the user can call. A subset of Zulip's `User`, so tests can build it in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Teammate {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub is_bot: bool,
}

impl From<&User> for Teammate {
    fn from(user: &User) -> Self {
        Teammate {
            user_id: user.user_id,
            name: user.full_name.clone(),
            email: user.email.clone(),
            is_bot: user.is_bot,
        }
    }
}

/// A call I placed that has not been answered yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// `None` until the `start` response (or our own `call_started` event) names the call.
    pub call_id: Option<CallId>,
    pub to_id: UserId,
    pub to_name: String,
    pub call_type: CallType,
    /// A device of the callee acknowledged (`participant_ringing`).
    pub ringing: bool,
    pub placed_at: Timestamp,
    pub timeout_seconds: Option<u64>,
    /// My join URL, opened when the callee accepts.
    pub join_url: Option<String>,
    /// Esc was pressed before the call id was known: end it as soon as it is.
    pub cancel_requested: bool,
}

/// A call ringing here.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub call_id: CallId,
    pub from_id: UserId,
    pub from_name: String,
    pub call_type: CallType,
    pub jitsi_url: String,
    pub received_at: Timestamp,
    pub timeout_seconds: Option<u64>,
    /// What I answered on this device, so events about my own answer are not mistaken for an
    /// answer from another device.
    pub answered: Option<zulip_calls_protocol::RespondAction>,
}

/// A call in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct InCall {
    pub call_id: CallId,
    pub other_id: UserId,
    pub other_name: String,
    pub call_type: CallType,
    pub outgoing: bool,
    /// Local time the call was seen accepted; the duration timer counts from here.
    pub since: Timestamp,
    pub mine: MediaState,
    pub theirs: MediaState,
    /// My join URL, for `o` (falls back to the bare room).
    pub url: String,
    /// I pressed `e`: an end that names nobody (the released plugin's events name nobody) was
    /// mine.
    pub hangup_requested: bool,
}

/// How a call ended, shown until dismissed.
#[derive(Debug, Clone, PartialEq)]
pub struct EndSummary {
    pub other_name: String,
    /// The sentence to show ("Ana ended the call", "Ana declined the call", ...).
    pub text: String,
    /// Seconds in the call, when it was answered.
    pub duration: Option<f64>,
}

/// The call area: at most one call at a time, as the server enforces.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum CallPanel {
    #[default]
    None,
    Outgoing(Outgoing),
    Incoming(Incoming),
    InCall(InCall),
    Ended {
        summary: EndSummary,
    },
    /// A group call invitation ringing here (a modal, like [`CallPanel::Incoming`]).
    GroupInvitation(GroupInvitation),
    /// A group call I host or joined: the participants panel.
    Group(InGroup),
}

impl CallPanel {
    /// The call's id, its state as this client believes it, and my role in it.
    pub fn call_state(&self) -> Option<(Option<CallId>, CallState, Actor)> {
        match self {
            CallPanel::Outgoing(o) => Some((
                o.call_id,
                if o.ringing {
                    CallState::Ringing
                } else {
                    CallState::Calling
                },
                Actor::Sender,
            )),
            CallPanel::Incoming(i) => Some((Some(i.call_id), CallState::Ringing, Actor::Receiver)),
            CallPanel::InCall(c) => Some((
                Some(c.call_id),
                CallState::Accepted,
                if c.outgoing {
                    Actor::Sender
                } else {
                    Actor::Receiver
                },
            )),
            CallPanel::None
            | CallPanel::Ended { .. }
            | CallPanel::GroupInvitation(_)
            | CallPanel::Group(_) => None,
        }
    }

    /// The state machine allows `action` on the current call.
    pub fn allows(&self, action: Action) -> bool {
        self.call_state()
            .is_some_and(|(_, state, actor)| transition(state, action, actor).is_ok())
    }

    /// A call occupies me (so placing another is pointless and quitting needs a confirmation).
    pub fn is_active(&self) -> bool {
        match self {
            CallPanel::GroupInvitation(_) => true,
            CallPanel::Group(g) => g.occupies(),
            _ => self.call_state().is_some(),
        }
    }

    /// The id of the current 1:1 call, once known (group calls have their own
    /// [`CallPanel::group_call_id`], so 1:1 events never match them).
    pub fn call_id(&self) -> Option<CallId> {
        self.call_state().and_then(|(id, _, _)| id)
    }

    /// The id of the group call on screen (invitation or panel), once known.
    pub fn group_call_id(&self) -> Option<CallId> {
        match self {
            CallPanel::GroupInvitation(i) => Some(i.call_id),
            CallPanel::Group(g) => g.call_id,
            _ => None,
        }
    }

    /// The other party of the current call.
    pub fn other_party(&self) -> Option<UserId> {
        match self {
            CallPanel::Outgoing(o) => Some(o.to_id),
            CallPanel::Incoming(i) => Some(i.from_id),
            CallPanel::InCall(c) => Some(c.other_id),
            CallPanel::None
            | CallPanel::Ended { .. }
            | CallPanel::GroupInvitation(_)
            | CallPanel::Group(_) => None,
        }
    }
}

/// A modal on top of everything that takes all keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Overlay {
    #[default]
    None,
    Help,
    /// `q` during a call: quitting ends the call (leaves a group call).
    ConfirmQuit,
    /// End every active call of mine.
    ConfirmEndAll,
    /// The title of the group call about to start.
    GroupTitle(TitlePrompt),
    /// `e` in a group call: leave it (it goes on without me).
    ConfirmLeaveGroup,
    /// `E` in a group call I host: end it for everyone.
    ConfirmEndGroup,
}

/// Severity of a notice, for colouring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

/// A one-line message in the status area that expires by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
    pub at: Timestamp,
}

/// The call history screen: one page at a time, with server-side filters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryState {
    pub entries: Vec<HistoryEntry>,
    pub offset: u32,
    pub limit: u32,
    pub has_more: bool,
    pub total: Option<u64>,
    pub call_type: Option<CallType>,
    pub state: Option<CallState>,
    pub selected: usize,
    /// A page has been asked for and has not arrived.
    pub loading: bool,
    /// A page has arrived at least once (so switching views does not reload).
    pub loaded: bool,
}

/// The active-calls screen (`GET calls/active`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActiveState {
    pub calls: Vec<ActiveCall>,
    pub selected: usize,
    pub loading: bool,
    pub loaded: bool,
}

/// The event log pane's lines, bounded so memory stays flat.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventLog {
    pub lines: VecDeque<String>,
    /// Lines ever written, so `update` can tell the log moved without comparing lines.
    pub written: u64,
}

impl EventLog {
    /// Appends a line, dropping the oldest beyond [`LOG_CAPACITY`].
    pub fn push(&mut self, line: String) {
        self.lines.push_back(line);
        self.written += 1;
        while self.lines.len() > LOG_CAPACITY {
            self.lines.pop_front();
        }
    }
}

/// A key and what it does now, for the status bar and the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHint {
    pub key: &'static str,
    pub label: &'static str,
}

const fn hint(key: &'static str, label: &'static str) -> KeyHint {
    KeyHint { key, label }
}

/// The whole UI state.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The logged-in user, to tell my calls from calls to me.
    pub me: UserId,
    /// The latest time given by `Msg::Tick`; the core never reads a clock.
    pub now: Timestamp,
    pub view: View,
    pub teammates: Vec<Teammate>,
    pub filter: String,
    /// Keys go to the filter (after `/`) instead of being commands.
    pub filtering: bool,
    /// Index into [`Model::visible_teammates`].
    pub selected: usize,
    /// Teammates marked with Space for a group call (or for inviting to one), in order.
    pub marked: Vec<UserId>,
    pub call: CallPanel,
    pub overlay: Overlay,
    pub connection: ConnectionState,
    /// What the server's calls API offers (its name is on the status bar).
    pub features: Features,
    /// When `connection` last changed, to count down "reconnecting in N s".
    pub connection_since: Timestamp,
    pub notice: Option<Notice>,
    pub log: EventLog,
    pub show_log: bool,
    pub history: HistoryState,
    pub active: ActiveState,
    /// The last days' calls: the missed-call count and the History chart.
    pub recent: super::missed::Recent,
    /// Teammates' presence and statuses, and this client's presence reports.
    pub roster: super::presence::Roster,
    /// Do not disturb.
    pub dnd: super::dnd::Dnd,
    /// What the core needs of the user's preferences.
    pub settings: super::dnd::Settings,
    /// Set once the app should exit; the runner stops after the `Quit` command.
    pub quitting: bool,
}

impl Model {
    /// A fresh model for user `me` at time `now`.
    pub fn new(me: UserId, now: Timestamp) -> Self {
        Model {
            me,
            now,
            view: View::Teammates,
            teammates: Vec::new(),
            filter: String::new(),
            filtering: false,
            selected: 0,
            marked: Vec::new(),
            call: CallPanel::None,
            overlay: Overlay::None,
            connection: ConnectionState::Connecting,
            features: Features::default(),
            connection_since: now,
            notice: None,
            log: EventLog::default(),
            show_log: false,
            history: HistoryState {
                limit: HISTORY_PAGE,
                ..HistoryState::default()
            },
            active: ActiveState::default(),
            recent: super::missed::Recent::default(),
            roster: super::presence::Roster::default(),
            dnd: super::dnd::Dnd::default(),
            settings: super::dnd::Settings::default(),
            quitting: false,
        }
    }

    /// The same, with the preferences the core needs and DND as it starts.
    pub fn with_settings(mut self, settings: super::dnd::Settings, dnd: bool) -> Self {
        self.settings = settings;
        self.dnd.on = dnd;
        self
    }

    /// The same, for a server whose calls API offers `features`.
    pub fn with_features(mut self, features: Features) -> Self {
        self.features = features;
        self
    }

    /// The accepted 1:1 call this client holds, which must be kept alive while it lasts.
    pub fn held_call(&self) -> Option<CallId> {
        match &self.call {
            CallPanel::InCall(c) => Some(c.call_id),
            _ => None,
        }
    }

    /// The call this client holds, 1:1 or group (one I am joined to), which must be kept
    /// alive while it lasts.
    pub fn held(&self) -> Option<Held> {
        match &self.call {
            CallPanel::InCall(c) => Some(Held::Call(c.call_id)),
            CallPanel::Group(g) if g.occupies() => g.call_id.map(Held::Group),
            _ => None,
        }
    }

    /// Whether `user` is marked for a group call.
    pub fn is_marked(&self, user: UserId) -> bool {
        self.marked.contains(&user)
    }

    /// The group call panel, when one is on screen.
    pub fn group(&self) -> Option<&InGroup> {
        match &self.call {
            CallPanel::Group(g) => Some(g),
            _ => None,
        }
    }

    /// Picking teammates to invite to the group call.
    pub fn inviting(&self) -> bool {
        self.group().is_some_and(|g| g.inviting)
    }

    /// Teammates matching the filter (case-insensitive, name or email), never myself; once
    /// presence is known, the people who can take a call first (by name within each group).
    pub fn visible_teammates(&self) -> Vec<&Teammate> {
        let needle = self.filter.to_lowercase();
        let mut visible: Vec<&Teammate> = self
            .teammates
            .iter()
            .filter(|t| t.user_id != self.me)
            .filter(|t| {
                needle.is_empty()
                    || t.name.to_lowercase().contains(&needle)
                    || t.email.to_lowercase().contains(&needle)
            })
            .collect();
        if self.roster.known {
            // Stable: the alphabetical order stays within each group.
            visible.sort_by_cached_key(|t| self.availability(t));
        }
        visible
    }

    /// What `teammate` is shown as: their presence and status, or in a call as far as this
    /// client can see; `None` while the server has told nothing about presence.
    pub fn availability(&self, teammate: &Teammate) -> Option<super::presence::Availability> {
        use super::presence::Availability;
        let known = self.roster.availability(teammate, self.now);
        if self.in_call(teammate.user_id) && known != Some(Availability::DoNotDisturb) {
            return Some(Availability::InCall);
        }
        known
    }

    /// The highlighted teammate, if any.
    pub fn selected_teammate(&self) -> Option<&Teammate> {
        self.visible_teammates().get(self.selected).copied()
    }

    /// Whether `user` is known to be in a call: with me (a group call of mine too), or in the
    /// active-calls list.
    pub fn in_call(&self, user: UserId) -> bool {
        self.call.other_party() == Some(user)
            || self.group().is_some_and(|g| {
                g.members
                    .iter()
                    .any(|m| m.user_id == user && m.state == ParticipantState::Joined)
            })
            || self
                .active
                .calls
                .iter()
                .any(|c| c.state.is_active() && (c.sender_id == user || c.receiver_id == user))
    }

    /// The status bar's connection text.
    pub fn connection_text(&self) -> String {
        match &self.connection {
            ConnectionState::Connecting => "connecting…".to_owned(),
            ConnectionState::Connected { .. } => "connected".to_owned(),
            ConnectionState::Reconnecting { retry_in, .. } => {
                let waited = self.now.seconds_since(self.connection_since).max(0.0);
                let left = (retry_in.as_secs_f64() - waited).max(0.0).ceil();
                format!("reconnecting in {left:.0} s")
            }
            ConnectionState::Offline { reason } => format!("offline: {reason}"),
        }
    }

    /// The notice, unless it has expired.
    pub fn current_notice(&self) -> Option<&Notice> {
        self.notice
            .as_ref()
            .filter(|n| self.now.seconds_since(n.at) < NOTICE_SECONDS)
    }

    /// Seconds since the current call began ringing or was answered, for the timer.
    pub fn call_elapsed(&self) -> Option<f64> {
        let since = match &self.call {
            CallPanel::Outgoing(o) => o.placed_at,
            CallPanel::Incoming(i) => i.received_at,
            CallPanel::InCall(c) => c.since,
            CallPanel::GroupInvitation(i) => i.received_at,
            CallPanel::Group(g) if g.occupies() => g.since,
            CallPanel::None | CallPanel::Ended { .. } | CallPanel::Group(_) => return None,
        };
        Some(self.now.seconds_since(since).max(0.0))
    }

    /// Seconds left before an unanswered call times out, when the timeout is known.
    pub fn call_time_left(&self) -> Option<f64> {
        let timeout = match &self.call {
            CallPanel::Outgoing(o) => o.timeout_seconds?,
            CallPanel::Incoming(i) => i.timeout_seconds?,
            _ => return None,
        };
        let elapsed = self.call_elapsed()?;
        Some((timeout as f64 - elapsed).max(0.0))
    }

    /// The keys that do something right now, in the order the status bar lists them.
    pub fn key_hints(&self) -> Vec<KeyHint> {
        match self.overlay {
            Overlay::Help => return vec![hint("?/Esc", "close help")],
            Overlay::ConfirmQuit
            | Overlay::ConfirmEndAll
            | Overlay::ConfirmLeaveGroup
            | Overlay::ConfirmEndGroup => {
                return vec![hint("y", "confirm"), hint("n/Esc", "cancel")];
            }
            Overlay::GroupTitle(_) => {
                return vec![
                    hint("type", "title (optional)"),
                    hint("Enter", "start"),
                    hint("Esc", "cancel"),
                ];
            }
            Overlay::None => {}
        }
        if self.filtering {
            return vec![
                hint("type", "filter"),
                hint("Enter", "done"),
                hint("Esc", "clear"),
            ];
        }
        let mut hints = Vec::new();
        match &self.call {
            CallPanel::Incoming(i) if i.answered.is_none() => {
                hints.push(hint("y/Enter", "accept"));
                hints.push(hint("n", "reject"));
            }
            CallPanel::Outgoing(_) if self.call.allows(Action::End) => {
                hints.push(hint("Esc/e", "cancel"));
            }
            CallPanel::InCall(_) => {
                if self.features.media_status {
                    hints.extend([
                        hint("m", "mute"),
                        hint("c", "camera"),
                        hint("h", "hold"),
                        hint("s", "share"),
                    ]);
                }
                hints.extend([
                    hint("e", "end"),
                    hint("o", "open meeting"),
                    hint("u", "copy URL"),
                ]);
            }
            CallPanel::Ended { .. } => hints.push(hint("Esc", "dismiss")),
            CallPanel::GroupInvitation(i) if i.answered.is_none() => {
                hints.push(hint("y/Enter", "join"));
                hints.push(hint("n", "decline"));
            }
            CallPanel::Group(g) if g.inviting => {
                return vec![
                    hint("Space", "mark"),
                    hint("Enter", "invite marked"),
                    hint("Esc", "cancel"),
                    hint("/", "filter"),
                ];
            }
            CallPanel::Group(g) if g.call_id.is_some() => {
                if g.occupies() {
                    hints.push(hint("i", "invite"));
                    hints.push(hint("e", "leave"));
                    if g.host_id == self.me {
                        hints.push(hint("E", "end for all"));
                    }
                    hints.push(hint("o", "open meeting"));
                    hints.push(hint("u", "copy URL"));
                } else {
                    hints.push(hint("j", "rejoin"));
                    hints.push(hint("Esc", "close"));
                }
            }
            _ => {}
        }
        match self.view {
            View::Teammates => {
                if !self.call.is_active() && self.selected_teammate().is_some() {
                    if self.marked.is_empty() {
                        hints.push(hint("v", "video call"));
                        hints.push(hint("a", "audio call"));
                    } else {
                        hints.push(hint("v", "group video"));
                        hints.push(hint("a", "group audio"));
                    }
                    if self.features.group_calls {
                        hints.push(hint("Space", "mark"));
                    }
                    if !self.marked.is_empty() {
                        hints.push(hint("Esc", "unmark all"));
                    }
                }
                hints.push(hint("/", "filter"));
                if !self.filter.is_empty() {
                    hints.push(hint("Esc", "clear filter"));
                }
            }
            View::History => {
                if !self.call.is_active() && !self.history.entries.is_empty() {
                    hints.push(hint("Enter/v/a", "call back"));
                }
                hints.push(hint("t", "type filter"));
                hints.push(hint("f", "state filter"));
                if self.history.has_more {
                    hints.push(hint("PgDn", "older"));
                }
                if self.history.offset > 0 {
                    hints.push(hint("PgUp", "newer"));
                }
            }
            View::Active => {
                if !self.active.calls.is_empty() {
                    hints.push(hint("x", "end all"));
                }
            }
        }
        hints.extend([
            hint("Tab", "view"),
            hint("r", "refresh"),
            hint("l", "log"),
            hint("?", "help"),
            hint("q", "quit"),
        ]);
        hints
    }
}

//! Presence, the Zulip way: this client reports its user as active or idle every
//! [`PING_INTERVAL_SECS`] (and at once when the user comes back), fetching only what changed
//! since its last report (`last_update_id`); `presence` events tell of teammates coming online
//! in between, and `user_status` events of statuses. What a teammate is shown as comes from
//! the timestamps judged against the server's clock, as Zulip's own clients do, and from their
//! status ("In a call", "Do not disturb").

use std::collections::BTreeMap;

use zulip_calls_protocol::zulip::PresenceState;
use zulip_calls_protocol::zulip::{
    LegacyStatus, ModernPresence, PresenceEvent, PresenceStatus, Presences, UpdatePresenceResponse,
};
use zulip_calls_protocol::zulip::{UserStatus, UserStatusEvent};
use zulip_calls_protocol::{Timestamp, UserId};

use super::model::{Model, Teammate};
use super::msg::Command;
use super::own_status::{is_do_not_disturb, is_in_a_call};

/// How often presence is reported: what Zulip's clients use when the server does not say.
pub const PING_INTERVAL_SECS: f64 = 60.0;
/// Without a key press for this long the user is reported idle (Zulip's web app's timeout).
pub const IDLE_AFTER_SECS: f64 = 300.0;

/// What a teammate is shown as, in the order the list sorts them: the people you can reach
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Availability {
    Active,
    Idle,
    /// Bots have no presence and always answer.
    Bot,
    InCall,
    DoNotDisturb,
    Offline,
}

impl Availability {
    /// Whether the list spells it out after the name (the dot alone says "active").
    pub const fn is_labelled(self) -> bool {
        !matches!(self, Availability::Active | Availability::Bot)
    }

    /// The word for it.
    pub const fn label(self) -> &'static str {
        match self {
            Availability::Active => "active",
            Availability::Idle => "idle",
            Availability::Bot => "bot",
            Availability::InCall => "in a call",
            Availability::DoNotDisturb => "do not disturb",
            Availability::Offline => "offline",
        }
    }
}

/// Teammates' presence and statuses, and the state of this client's own reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Roster {
    presence: BTreeMap<UserId, ModernPresence>,
    statuses: BTreeMap<UserId, UserStatus>,
    /// The server's clock minus ours, in seconds, from the last answer that gave its time.
    clock_offset: f64,
    /// What to pass as `last_update_id`; `None` before the first data (then -1: everything).
    last_update_id: Option<i64>,
    /// Presence data arrived: the list shows marks and sorts by them.
    pub known: bool,
    /// The server has no presence API; reporting stopped.
    pub unsupported: bool,
    /// A report is on its way.
    pub reporting: bool,
    /// When the next report is due; `None` for at once.
    pub next_report: Option<Timestamp>,
    /// The last key press, for active versus idle.
    pub last_input: Option<Timestamp>,
    /// A key was pressed since the last report (Zulip's `new_user_input`).
    pub input_since_report: bool,
    /// What the last report said.
    pub reported: Option<PresenceStatus>,
}

impl Roster {
    /// The server's time now, in Unix seconds.
    fn server_now(&self, now: Timestamp) -> i64 {
        (now.unix_millis() as f64 / 1000.0 + self.clock_offset).round() as i64
    }

    fn learn_clock(&mut self, now: Timestamp, server_timestamp: Option<f64>) {
        if let Some(server) = server_timestamp {
            self.clock_offset = server - now.unix_millis() as f64 / 1000.0;
        }
    }

    fn merge(&mut self, presences: &Presences) {
        if let Presences::Modern(map) = presences {
            for (id, presence) in map {
                if let Ok(id) = id.parse() {
                    self.presence.insert(id, *presence);
                }
            }
        }
        // The legacy format is keyed by email; this client always asks for the modern one.
        self.known = true;
    }

    /// The presence state `register` returned.
    pub fn reset(
        &mut self,
        state: Option<&PresenceState>,
        statuses: Option<&BTreeMap<UserId, UserStatus>>,
        now: Timestamp,
    ) {
        if let Some(state) = state {
            self.presence.clear();
            self.merge(&state.presences);
            self.learn_clock(now, state.server_timestamp);
            self.last_update_id = state.last_update_id.or(self.last_update_id);
        }
        if let Some(statuses) = statuses {
            self.statuses = statuses.clone();
        }
    }

    /// `user`'s status, as far as this client knows it.
    pub fn status(&self, user: UserId) -> Option<&UserStatus> {
        self.statuses.get(&user)
    }

    /// What `user` is shown as at `now`; `None` while nothing is known about presence.
    pub fn availability(&self, teammate: &Teammate, now: Timestamp) -> Option<Availability> {
        if let Some(status) = self.statuses.get(&teammate.user_id) {
            if is_in_a_call(status) {
                return Some(Availability::InCall);
            }
            if is_do_not_disturb(status) {
                return Some(Availability::DoNotDisturb);
            }
        }
        if teammate.is_bot {
            return self.known.then_some(Availability::Bot);
        }
        if !self.known {
            return None;
        }
        let Some(presence) = self.presence.get(&teammate.user_id) else {
            return Some(Availability::Offline);
        };
        Some(match presence.status_at(self.server_now(now)) {
            LegacyStatus::Active => Availability::Active,
            LegacyStatus::Idle => Availability::Idle,
            LegacyStatus::Offline => Availability::Offline,
        })
    }
}

/// The presence state of a fresh event queue arrived.
pub(super) fn on_registered(
    model: &mut Model,
    presence: Option<&PresenceState>,
    statuses: Option<&BTreeMap<UserId, UserStatus>>,
) {
    keeping_selection(model, |model| {
        let now = model.now;
        model.roster.reset(presence, statuses, now);
    });
}

/// A `presence` event: someone came online.
pub(super) fn on_presence_event(model: &mut Model, event: &PresenceEvent) {
    let Some(entry) = event.entry() else {
        return;
    };
    keeping_selection(model, |model| {
        let roster = &mut model.roster;
        let known = roster
            .presence
            .entry(event.user_id)
            .or_insert(ModernPresence {
                active_timestamp: 0,
                idle_timestamp: 0,
            });
        known.idle_timestamp = known.idle_timestamp.max(entry.timestamp);
        if entry.status == LegacyStatus::Active {
            known.active_timestamp = known.active_timestamp.max(entry.timestamp);
        }
        roster.learn_clock(model.now, Some(event.server_timestamp));
        roster.known = true;
    });
}

/// A `user_status` event.
pub(super) fn on_status_event(model: &mut Model, event: &UserStatusEvent) {
    keeping_selection(model, |model| {
        let statuses = &mut model.roster.statuses;
        let updated = statuses
            .get(&event.user_id)
            .cloned()
            .unwrap_or_default()
            .updated(&event.status);
        if updated.is_empty() {
            statuses.remove(&event.user_id);
        } else {
            statuses.insert(event.user_id, updated);
        }
    });
}

/// A key was pressed: the user is here. Coming back from idle is reported at once, so
/// teammates see it without waiting for the next interval.
pub(super) fn on_input(model: &mut Model) -> Vec<Command> {
    let roster = &mut model.roster;
    roster.last_input = Some(model.now);
    roster.input_since_report = true;
    if roster.reported == Some(PresenceStatus::Idle) {
        roster.next_report = None;
        return due(model);
    }
    Vec::new()
}

/// The report to send now, if one is due.
pub(super) fn due(model: &mut Model) -> Vec<Command> {
    let now = model.now;
    let roster = &mut model.roster;
    if roster.unsupported || roster.reporting || roster.next_report.is_some_and(|at| now < at) {
        return Vec::new();
    }
    // Just started counts as input: the user is at the keyboard.
    let last_input = *roster.last_input.get_or_insert(now);
    let active = now.seconds_since(last_input) < IDLE_AFTER_SECS;
    let status = if active {
        PresenceStatus::Active
    } else {
        PresenceStatus::Idle
    };
    roster.reporting = true;
    roster.reported = Some(status);
    roster.next_report = Some(now.plus_seconds(PING_INTERVAL_SECS as i64));
    let new_user_input = std::mem::take(&mut roster.input_since_report);
    vec![Command::ReportPresence {
        status,
        new_user_input,
        last_update_id: roster.last_update_id.unwrap_or(-1),
    }]
}

/// Why a presence report failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportError {
    /// The server has no presence API.
    Unsupported,
    Failed(String),
}

/// A report's answer: what changed since the last one.
pub(super) fn on_reported(
    model: &mut Model,
    result: Result<UpdatePresenceResponse, ReportError>,
) -> Vec<Command> {
    model.roster.reporting = false;
    match result {
        Ok(response) => keeping_selection(model, |model| {
            let now = model.now;
            let roster = &mut model.roster;
            if let Some(presences) = &response.presences {
                roster.merge(presences);
            }
            roster.learn_clock(now, response.server_timestamp);
            if let Some(id) = response.presence_last_update_id {
                roster.last_update_id = Some(id);
            }
        }),
        Err(ReportError::Unsupported) => {
            model.roster.unsupported = true;
            super::notes::log(model, "the server has no presence API".to_owned());
        }
        Err(ReportError::Failed(e)) => {
            // Tried again at the next interval.
            super::notes::log(model, format!("presence report failed: {e}"));
        }
    }
    Vec::new()
}

/// The clock moved: presence ages (a teammate may turn idle or offline, and the list
/// re-sorts), and a report may be due. Also says whether the marks or the order changed.
pub(super) fn on_tick(model: &mut Model, now: Timestamp) -> (Vec<Command>, bool) {
    let before = marks(model);
    keeping_selection(model, |model| model.now = now);
    let changed = marks(model) != before;
    (due(model), changed)
}

/// What the list shows of presence: who, in which order, with which mark.
fn marks(model: &Model) -> Vec<(UserId, Option<Availability>)> {
    if !model.roster.known {
        return Vec::new();
    }
    model
        .visible_teammates()
        .into_iter()
        .map(|t| (t.user_id, model.availability(t)))
        .collect()
}

/// Runs `change`, then puts the selection back on the teammate it was on (the list may have
/// been re-sorted).
fn keeping_selection(model: &mut Model, change: impl FnOnce(&mut Model)) {
    let selected = model.selected_teammate().map(|t| t.user_id);
    change(model);
    if let Some(user) = selected
        && let Some(index) = model
            .visible_teammates()
            .iter()
            .position(|t| t.user_id == user)
    {
        model.selected = index;
    }
}

//! Missed calls and calling back: the recent history the status bar counts missed calls in
//! (those to me since I last looked at History) and the History view's chart is drawn from,
//! kept in step with call events; and placing a call to the other party of a History row.

use zulip_calls_protocol::{
    CallEvent, CallEventDetail, CallId, CallState, CallType, HistoryEntry, Timestamp, UserId,
};

use super::model::{Model, View};
use super::msg::Command;
use super::notes::log;
use super::stats::{CHART_DAYS, period_start};
use super::update::place_call;

/// The calls of the last days, for the missed-call count and the History chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recent {
    /// Calls since [`Recent::since`] asked for, newest first.
    pub entries: Vec<HistoryEntry>,
    /// The first answer has arrived.
    pub loaded: bool,
    /// When I last looked at History (kept between runs); `None` when never.
    pub seen: Option<Timestamp>,
    /// Calls do-not-disturb kept from ringing: missed too, even when it declined them.
    pub turned_away: Vec<CallId>,
}

impl Recent {
    /// Missed calls to me newer than the mark, newest first.
    pub fn missed(&self) -> Vec<&HistoryEntry> {
        self.entries
            .iter()
            .filter(|e| {
                (is_missed(e) || (!e.is_outgoing && self.turned_away.contains(&e.call_id)))
                    && self.seen.is_none_or(|seen| e.created_at > seen)
            })
            .collect()
    }

    /// The oldest call time needed: the chart's first day, or the mark when older.
    pub fn since(&self, now: Timestamp) -> Timestamp {
        let start = period_start(now, CHART_DAYS);
        self.seen.map_or(start, |seen| seen.min(start))
    }
}

/// A call to me that rang unanswered (`missed`, or `timeout`: no device of mine took it).
pub fn is_missed(entry: &HistoryEntry) -> bool {
    !entry.is_outgoing && matches!(entry.state, CallState::Missed | CallState::Timeout)
}

/// The missed calls among `entries` newer than `seen` (all of them without a mark).
pub fn missed_since(entries: &[HistoryEntry], seen: Option<Timestamp>) -> Vec<&HistoryEntry> {
    entries
        .iter()
        .filter(|e| is_missed(e) && seen.is_none_or(|seen| e.created_at > seen))
        .collect()
}

/// The request for the recent calls, at start-up.
pub(super) fn load(model: &Model) -> Command {
    Command::LoadRecent {
        since: model.recent.since(model.now),
    }
}

/// The recent calls arrived; the first time, a notification names who called while the
/// client was closed.
pub(super) fn on_loaded(
    model: &mut Model,
    result: Result<Vec<HistoryEntry>, String>,
) -> Vec<Command> {
    let entries = match result {
        Ok(entries) => entries,
        Err(e) => {
            log(model, format!("could not load recent calls: {e}"));
            return Vec::new();
        }
    };
    let first = !model.recent.loaded;
    // Calls the event stream added meanwhile stay (the answer may predate them).
    let mut merged = entries;
    for e in &model.recent.entries {
        if !merged.iter().any(|m| m.call_id == e.call_id) {
            merged.push(e.clone());
        }
    }
    merged.sort_by_key(|e| std::cmp::Reverse(e.created_at));
    model.recent.entries = merged;
    model.recent.loaded = true;
    if !first || model.view == View::History {
        return Vec::new();
    }
    let missed = model.recent.missed();
    if missed.is_empty() {
        return Vec::new();
    }
    let mut names: Vec<&str> = Vec::new();
    for e in &missed {
        if !names.contains(&e.user_name.as_str()) {
            names.push(&e.user_name);
        }
    }
    let n = missed.len();
    let title = if n == 1 {
        "Missed call".to_owned()
    } else {
        format!("{n} missed calls")
    };
    let body = format!("{} called you", names.join(", "));
    vec![Command::Notify { title, body }]
}

/// Folds a call event of mine into the recent calls: a call that is over is added (or
/// updated), so a call missed now is counted at once.
pub(super) fn follow(model: &mut Model, event: &CallEvent) -> Vec<Command> {
    let call = &event.call;
    let me = model.me;
    if call.state.is_active() || (call.sender_id != me && call.receiver_id != me) {
        return Vec::new();
    }
    let outgoing = call.sender_id == me;
    let (user_id, user_name): (UserId, String) = if outgoing {
        (call.receiver_id, call.receiver_name.clone())
    } else {
        (call.sender_id, call.sender_name.clone())
    };
    let duration = match event.detail {
        CallEventDetail::CallEnded { duration, .. } => duration,
        _ => None,
    };
    let entry = HistoryEntry {
        call_id: call.call_id,
        user_id,
        user_name,
        call_type: call.call_type,
        state: call.state,
        is_outgoing: outgoing,
        created_at: call.created_at,
        answered_at: call.answered_at,
        ended_at: call.ended_at,
        duration,
    };
    let entries = &mut model.recent.entries;
    match entries.iter_mut().find(|e| e.call_id == entry.call_id) {
        Some(old) => *old = entry,
        None => entries.insert(0, entry),
    }
    if model.view == View::History {
        // Seen as it happens.
        return looked(model);
    }
    Vec::new()
}

/// History came on screen: everything missed so far counts as seen, here and in the state
/// directory.
pub(super) fn looked(model: &mut Model) -> Vec<Command> {
    model.recent.seen = Some(model.now);
    vec![Command::SaveSeen(model.now)]
}

/// `Enter`, `v` or `a` on a History row: calls its other party back (Enter with the row's
/// call type).
pub(super) fn call_back(model: &mut Model, call_type: Option<CallType>) -> Vec<Command> {
    if model.call.is_active() {
        return Vec::new();
    }
    let Some(entry) = model.history.entries.get(model.history.selected) else {
        return Vec::new();
    };
    let call_type = call_type.unwrap_or(entry.call_type);
    let (user_id, name) = (entry.user_id, entry.user_name.clone());
    place_call(model, user_id, name, call_type)
}

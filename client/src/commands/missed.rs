//! `missed` and `stats`: the figures the terminal UI shows on its status bar and above its
//! History, for scripts. Both read the recent history ([`history_since`]) and compute with the
//! UI's own pure functions ([`crate::app::missed`], [`crate::app::stats`]).

use serde::Serialize;
use zulip_calls_protocol::endpoint::Empty;
use zulip_calls_protocol::zulip::GetOwnUser;
use zulip_calls_protocol::{HistoryEntry, Timestamp};

use super::{CommandError, format_duration};
use crate::app::missed::missed_since;
use crate::app::stats::{Stats, compute, period_start};
use crate::backend::calls::Calls;
use crate::backend::recent::{SeenMarks, history_since};
use crate::output::Render;

/// The outcome of `missed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missed {
    /// When History was last looked at in the terminal UI (the calls listed are newer); `null`
    /// with `--all` or when it never was.
    pub since: Option<Timestamp>,
    pub count: usize,
    /// Newest first; `user_*` is the caller.
    pub calls: Vec<HistoryEntry>,
}

impl Render for Missed {
    fn human(&self) -> String {
        if self.calls.is_empty() {
            return "No missed calls\n".to_owned();
        }
        let mut text = String::new();
        for call in &self.calls {
            text.push_str(&format!(
                "{}  {}  {:<7}  {} ({})\n",
                call.created_at, call.call_id, call.state, call.user_name, call.call_type
            ));
        }
        let plural = if self.count == 1 { "" } else { "s" };
        text.push_str(&format!("{} missed call{plural}\n", self.count));
        text
    }
}

/// `missed`: calls to me that rang unanswered since I last looked at History in the terminal
/// UI (with `all`, every one the recent history holds).
pub async fn missed(
    calls: &Calls,
    marks: Option<&SeenMarks>,
    all: bool,
) -> Result<Missed, CommandError> {
    let since = if all {
        None
    } else {
        let me = calls
            .api()
            .request::<GetOwnUser>(&(), &Empty {})
            .await?
            .user
            .user_id;
        let account = SeenMarks::account(&calls.api().server().site_str(), me);
        marks.and_then(|m| m.recall(&account))
    };
    // Without a mark, the UI counts over the chart's days; so does this.
    let from = since.unwrap_or_else(|| {
        if all {
            Timestamp::from_unix_seconds(0).unwrap_or_else(now)
        } else {
            period_start(now(), crate::app::stats::CHART_DAYS)
        }
    });
    let entries = history_since(calls, from).await?;
    let calls: Vec<HistoryEntry> = missed_since(&entries, since).into_iter().cloned().collect();
    Ok(Missed {
        since,
        count: calls.len(),
        calls,
    })
}

impl Render for Stats {
    fn human(&self) -> String {
        let rate = self
            .answer_rate
            .map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0));
        let average = self
            .average_seconds
            .map_or_else(|| "-".to_owned(), format_duration);
        let mut text = format!(
            "Last {} days: {} calls, {} answered, {} missed, {} declined\n\
             answer rate: {rate}\naverage call: {average}\n",
            self.days, self.total, self.answered, self.missed, self.declined
        );
        for day in &self.per_day {
            text.push_str(&format!(
                "{}  {:>3} answered  {:>3} missed  {:>3} declined  {:>3} in all\n",
                day.date, day.answered, day.missed, day.declined, day.total
            ));
        }
        text
    }
}

/// `stats --days N`: calls per day, the answer rate and the average call length.
pub async fn stats(calls: &Calls, days: u32) -> Result<Stats, CommandError> {
    let now = now();
    let entries = history_since(calls, period_start(now, days)).await?;
    Ok(compute(&entries, now, days))
}

fn now() -> Timestamp {
    Timestamp(std::time::SystemTime::now().into())
}

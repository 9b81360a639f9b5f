//! "Your calls at a glance": calls per day over the last days, by outcome, the answer rate and
//! the average call length, computed from history rows alone (pure, so the History view's
//! chart and `zulip-calls stats` show the same figures). Days are UTC days.

use serde::Serialize;
use zulip_calls_protocol::{CallState, HistoryEntry, Timestamp};

/// The days the History view's chart covers.
pub const CHART_DAYS: u32 = 14;

const DAY: i64 = 86_400;

/// How a call turned out, as the chart colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered (over or still going).
    Answered,
    /// Rang without an answer (missed, or timed out).
    Missed,
    /// Declined by the callee.
    Declined,
    /// Anything else: cancelled by the caller, dropped before an answer, still ringing.
    Other,
}

impl Outcome {
    /// The outcome of a history row.
    pub fn of(entry: &HistoryEntry) -> Outcome {
        match entry.state {
            CallState::Accepted | CallState::Ended => Outcome::Answered,
            CallState::NetworkFailure if entry.answered_at.is_some() => Outcome::Answered,
            CallState::Missed | CallState::Timeout => Outcome::Missed,
            CallState::Rejected => Outcome::Declined,
            _ => Outcome::Other,
        }
    }
}

/// One day's calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub answered: u32,
    pub missed: u32,
    pub declined: u32,
    /// Calls of the day, all outcomes.
    pub total: u32,
}

/// The figures for the last `days` days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub days: u32,
    /// Oldest first, one per day, ending today.
    pub per_day: Vec<Day>,
    /// Calls in the period, both directions, all outcomes.
    pub total: u32,
    pub answered: u32,
    pub missed: u32,
    pub declined: u32,
    /// Calls to me that I answered, of those to me that were answered, missed or declined
    /// (0 to 1; none when nobody called).
    pub answer_rate: Option<f64>,
    /// Mean length in seconds of the answered calls with a known duration.
    pub average_seconds: Option<f64>,
}

/// The figures for the `days` days ending with `now`'s day, from `entries` (any order; rows
/// outside the period are ignored, each call counted once).
pub fn compute(entries: &[HistoryEntry], now: Timestamp, days: u32) -> Stats {
    let days = days.max(1);
    let today = day_of(now);
    let first = today - i64::from(days) + 1;
    let mut per_day: Vec<Day> = (first..=today)
        .map(|d| Day {
            date: date_of(d),
            answered: 0,
            missed: 0,
            declined: 0,
            total: 0,
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let (mut incoming, mut incoming_answered) = (0u32, 0u32);
    let (mut durations, mut timed) = (0.0, 0u32);
    for entry in entries {
        let d = day_of(entry.created_at);
        if d < first || d > today || !seen.insert(entry.call_id) {
            continue;
        }
        let Some(day) = usize::try_from(d - first)
            .ok()
            .and_then(|i| per_day.get_mut(i))
        else {
            continue;
        };
        day.total += 1;
        let outcome = Outcome::of(entry);
        match outcome {
            Outcome::Answered => day.answered += 1,
            Outcome::Missed => day.missed += 1,
            Outcome::Declined => day.declined += 1,
            Outcome::Other => {}
        }
        if !entry.is_outgoing && outcome != Outcome::Other {
            incoming += 1;
            if outcome == Outcome::Answered {
                incoming_answered += 1;
            }
        }
        if outcome == Outcome::Answered
            && let Some(seconds) = entry.duration
        {
            durations += seconds;
            timed += 1;
        }
    }
    let sum = |f: fn(&Day) -> u32| per_day.iter().map(f).sum::<u32>();
    Stats {
        days,
        total: sum(|d| d.total),
        answered: sum(|d| d.answered),
        missed: sum(|d| d.missed),
        declined: sum(|d| d.declined),
        answer_rate: (incoming > 0).then(|| f64::from(incoming_answered) / f64::from(incoming)),
        average_seconds: (timed > 0).then(|| durations / f64::from(timed)),
        per_day,
    }
}

/// The start of the period [`compute`] covers for `days` days ending with `now`'s day: rows
/// older than this are not needed.
pub fn period_start(now: Timestamp, days: u32) -> Timestamp {
    let first = day_of(now) - i64::from(days.max(1)) + 1;
    Timestamp::from_unix_seconds(first * DAY).unwrap_or(now)
}

fn day_of(t: Timestamp) -> i64 {
    t.unix_seconds().div_euclid(DAY)
}

fn date_of(day: i64) -> String {
    Timestamp::from_unix_seconds(day * DAY)
        .map(|t| t.0.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use zulip_calls_protocol::{CallId, CallType, UserId};

    use super::*;

    /// 2023-11-14 22:13:20 UTC.
    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_unix_seconds(1_700_000_000 + secs).unwrap()
    }

    fn row(
        n: u8,
        at: i64,
        state: CallState,
        outgoing: bool,
        duration: Option<f64>,
    ) -> HistoryEntry {
        HistoryEntry {
            call_id: format!("00000000-0000-4000-8000-0000000000{n:02}")
                .parse::<CallId>()
                .unwrap(),
            user_id: UserId(2),
            user_name: "Ana".to_owned(),
            call_type: CallType::Video,
            state,
            is_outgoing: outgoing,
            created_at: ts(at),
            answered_at: duration.map(|_| ts(at + 5)),
            ended_at: None,
            duration,
        }
    }

    #[test]
    fn counts_per_day_by_outcome_with_rate_and_average() {
        let rows = [
            row(1, 0, CallState::Ended, false, Some(60.0)),
            row(2, -10, CallState::Missed, false, None),
            row(3, -DAY, CallState::Rejected, false, None),
            row(4, -DAY, CallState::Ended, true, Some(120.0)),
            row(5, -2 * DAY, CallState::Timeout, false, None),
            row(6, -2 * DAY, CallState::Cancelled, true, None),
            // Outside three days, and a repeated row: neither counts.
            row(7, -3 * DAY, CallState::Ended, false, Some(999.0)),
            row(1, 0, CallState::Ended, false, Some(60.0)),
        ];
        let s = compute(&rows, ts(100), 3);
        let days: Vec<_> = s
            .per_day
            .iter()
            .map(|d| (d.date.as_str(), d.answered, d.missed, d.declined, d.total))
            .collect();
        assert_eq!(
            days,
            [
                ("2023-11-12", 0, 1, 0, 2),
                ("2023-11-13", 1, 0, 1, 2),
                ("2023-11-14", 1, 1, 0, 2),
            ]
        );
        assert_eq!((s.total, s.answered, s.missed, s.declined), (6, 2, 2, 1));
        // Calls to me: answered 1 of 4 (ended, missed, rejected, timeout).
        assert_eq!(s.answer_rate, Some(0.25));
        assert_eq!(s.average_seconds, Some(90.0));
    }

    #[test]
    fn no_calls_no_rate() {
        let s = compute(&[], ts(0), 14);
        assert_eq!(s.per_day.len(), 14);
        assert_eq!((s.total, s.answer_rate, s.average_seconds), (0, None, None));
    }

    #[test]
    fn the_period_starts_at_midnight_of_its_first_day() {
        assert_eq!(
            period_start(ts(100), 1).0.format("%F %T").to_string(),
            "2023-11-14 00:00:00"
        );
        assert_eq!(
            period_start(ts(100), 14).0.format("%F").to_string(),
            "2023-11-01"
        );
    }
}

//! Time as the server sees it. Every domain function takes its "now" from a [`Clock`], so
//! tests (and later a virtual clock for QA) decide when deadlines pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use zulip_calls_protocol::Timestamp;

/// A source of the current time.
#[derive(Debug, Clone)]
pub enum Clock {
    /// The machine's wall clock.
    System,
    /// A clock that moves only when told to (milliseconds since the Unix epoch).
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock starting at `start`.
    pub fn manual(start: Timestamp) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(start.unix_millis())))
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        match self {
            // Whole milliseconds: what storage keeps, so a stored call compares equal.
            // From the system's count of milliseconds: chrono's `Utc::now` would work out a
            // calendar date only to have it dropped for the rounding.
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .and_then(|since| i64::try_from(since.as_millis()).ok())
                .and_then(Timestamp::from_unix_millis)
                .unwrap_or_else(|| Timestamp(chrono::Utc::now())),
            Clock::Manual(millis) => Timestamp::from_unix_millis(millis.load(Ordering::SeqCst))
                .unwrap_or_else(|| Timestamp(chrono::Utc::now())),
        }
    }

    /// A clock that moves only when told to (the control API can move it).
    pub fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual(_))
    }

    /// Sets a manual clock to `at`; the system clock cannot be set.
    pub fn set(&self, at: Timestamp) -> bool {
        match self {
            Clock::System => false,
            Clock::Manual(now) => {
                now.store(at.unix_millis(), Ordering::SeqCst);
                true
            }
        }
    }

    /// Moves a manual clock forward by `millis`; the system clock cannot be moved.
    pub fn advance_millis(&self, millis: i64) -> bool {
        match self {
            Clock::System => false,
            Clock::Manual(now) => {
                now.fetch_add(millis, Ordering::SeqCst);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole milliseconds, what storage keeps, and the time it is.
    #[test]
    fn the_system_clock_reads_whole_milliseconds_of_now() {
        use chrono::Timelike as _;
        let before = chrono::Utc::now().timestamp_millis();
        let now = Clock::System.now();
        let after = chrono::Utc::now().timestamp_millis();
        assert_eq!(now.0.nanosecond() % 1_000_000, 0, "{now}");
        assert!((before..=after).contains(&now.unix_millis()), "{now}");
    }
}

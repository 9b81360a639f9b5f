//! Group commit: the writes of concurrent requests share one transaction.
//!
//! A commit is most of what a call change costs (the WAL frames of every page it touched,
//! written out again by the next checkpoint). With batching on, [`Store::with_tx`]
//! (super::Store::with_tx) runs each change in a savepoint of one open transaction, the
//! *batch*, and the batch is committed by whoever first needs it on disk: the server answers
//! a request only once the batch holding what the answer reflects is committed (see
//! `AppState::durable`), so a client never hears of a change a crash could lose, while the
//! requests that arrived meanwhile ride on the same commit.
//!
//! These counters let that check run without the store's lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// Batch generations: `opened` counts the batches begun, `committed` the last one ended (by
/// a commit or, when that failed, a rollback), `failed` the last one rolled back.
#[derive(Debug, Default)]
pub struct BatchCounters {
    opened: AtomicU64,
    committed: AtomicU64,
    failed: AtomicU64,
}

impl BatchCounters {
    /// The batch that holds everything written so far, if it is not committed yet.
    pub fn pending(&self) -> Option<u64> {
        let opened = self.opened.load(Ordering::Acquire);
        (self.committed.load(Ordering::Acquire) < opened).then_some(opened)
    }

    /// Whether batch `generation` has ended.
    pub fn has_ended(&self, generation: u64) -> bool {
        self.committed.load(Ordering::Acquire) >= generation
    }

    /// Whether batch `generation` may have been rolled back instead of committed: it was, or
    /// a later one was (only the last failure is kept; a rare false alarm beats a lost write).
    pub fn has_failed(&self, generation: u64) -> bool {
        self.failed.load(Ordering::Acquire) >= generation
    }

    pub(super) fn open(&self) {
        self.opened.fetch_add(1, Ordering::AcqRel);
    }

    /// Ends the open batch; `committed` says how.
    pub(super) fn end(&self, committed: bool) {
        let opened = self.opened.load(Ordering::Acquire);
        if !committed {
            self.failed.store(opened, Ordering::Release);
        }
        self.committed.store(opened, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_pending_from_its_opening_to_its_end() {
        let counters = BatchCounters::default();
        assert_eq!(counters.pending(), None);
        counters.open();
        assert_eq!(counters.pending(), Some(1));
        assert!(!counters.has_ended(1));
        counters.end(true);
        assert_eq!(counters.pending(), None);
        assert!(counters.has_ended(1) && !counters.has_failed(1));
        counters.open();
        counters.end(false);
        assert!(counters.has_ended(2) && counters.has_failed(2));
        // A later failure is reported to an earlier batch's late waiter too: never wrongly Ok.
        assert!(counters.has_failed(1));
        counters.open();
        counters.end(true);
        assert!(!counters.has_failed(3));
    }
}

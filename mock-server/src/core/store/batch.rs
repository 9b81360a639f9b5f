//! Group commit: the writes of concurrent requests share one transaction.
//!
//! A commit is most of what a call change costs (the WAL frames of every page it touched,
//! written out again by the next checkpoint). With batching on, [`Store::with_tx`]
//! (super::Store::with_tx) runs each change in a savepoint of one open transaction, the
//! *batch*, and the batch is committed by whoever first needs it on disk: the server answers
//! a request only once the batch holding what the answer reflects is committed (see
//! `Core::durable`), so a client never hears of a change a crash could lose, while the
//! requests that arrived meanwhile ride on the same commit.
//!
//! [`BatchCounters`] let that check run without the store's lock; a [`Change`] is one
//! request's part of the batch.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

/// Runs a statement without parameters or rows, prepared once per connection: the batch's
/// control statements run several times per request, and SQLite's parser showed in the
/// profile while they were parsed every time.
pub(super) fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// One change inside the batch: all or nothing, like a transaction of its own. Kept by
/// [`Change::keep`]; dropped otherwise (an `Err`, a panic), it is rolled back, and the batch
/// goes on without it.
///
/// A change that opens the batch is the batch's only content, so undoing it is rolling the
/// batch back, and it takes no savepoint: inside a transaction, a savepoint makes SQLite copy
/// each page it touches to a sub-journal first (~2 % of the server's profile). Only the
/// changes that join an open batch pay for one. At low load almost every batch holds one
/// change.
pub(super) struct Change<'a> {
    conn: &'a Connection,
    /// The counters of the batch this change opened, if it opened one.
    opened: Option<&'a BatchCounters>,
    kept: bool,
}

impl<'a> Change<'a> {
    /// Starts a change: opens a batch when none is open, else takes a savepoint in it.
    pub(super) fn begin(conn: &'a Connection, batch: &'a BatchCounters) -> rusqlite::Result<Self> {
        let opened = if conn.is_autocommit() {
            run_cached(conn, "BEGIN IMMEDIATE")?;
            batch.open();
            Some(batch)
        } else {
            run_cached(conn, "SAVEPOINT change")?;
            None
        };
        Ok(Change {
            conn,
            opened,
            kept: false,
        })
    }

    pub(super) fn keep(mut self) -> rusqlite::Result<()> {
        if self.opened.is_none() {
            run_cached(self.conn, "RELEASE change")?;
        }
        self.kept = true;
        Ok(())
    }
}

impl Drop for Change<'_> {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let undone = match self.opened {
            Some(batch) => {
                let undone = run_cached(self.conn, "ROLLBACK");
                // The batch held nothing else: it ends with nothing lost, so whoever waits on
                // it goes on as if it had been committed.
                batch.end(true);
                undone
            }
            None => run_cached(self.conn, "ROLLBACK TO change")
                .and_then(|()| run_cached(self.conn, "RELEASE change")),
        };
        if let Err(err) = undone {
            tracing::error!(error = %err, "could not roll back a failed change");
        }
    }
}

/// Batch generations: `opened` counts the batches begun, `committed` the last one ended (by
/// a commit or, when that failed, a rollback), `failed` the ones rolled back.
#[derive(Debug, Default)]
pub struct BatchCounters {
    opened: AtomicU64,
    committed: AtomicU64,
    /// How many batches were rolled back: almost always none, so checking costs one load.
    failures: AtomicU64,
    /// The latest [`REMEMBERED_FAILURES`] of them (a lock is fine on this rare path).
    failed: Mutex<BTreeSet<u64>>,
}

/// Failed batches remembered for their late waiters; a waiter is never that late.
const REMEMBERED_FAILURES: usize = 1024;

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

    /// Whether batch `generation` was rolled back instead of committed (asked once it has
    /// ended).
    pub fn has_failed(&self, generation: u64) -> bool {
        self.failures.load(Ordering::Acquire) > 0 && self.failed_batches().contains(&generation)
    }

    /// How many batches have ended (committed or rolled back) so far.
    pub fn ended(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    pub(super) fn open(&self) {
        self.opened.fetch_add(1, Ordering::AcqRel);
    }

    /// Ends the open batch; `committed` says how.
    pub(super) fn end(&self, committed: bool) {
        let opened = self.opened.load(Ordering::Acquire);
        if !committed {
            let mut failed = self.failed_batches();
            failed.insert(opened);
            if failed.len() > REMEMBERED_FAILURES {
                failed.pop_first();
            }
            self.failures.fetch_add(1, Ordering::AcqRel);
        }
        // Last, so whoever sees the batch ended also sees how.
        self.committed.store(opened, Ordering::Release);
    }

    fn failed_batches(&self) -> MutexGuard<'_, BTreeSet<u64>> {
        // A set of numbers has no invariant a panic could break.
        self.failed.lock().unwrap_or_else(PoisonError::into_inner)
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
        // A late waiter of an earlier batch still hears its own outcome.
        assert!(!counters.has_failed(1));
        counters.open();
        counters.end(true);
        assert!(!counters.has_failed(3) && counters.has_failed(2));
    }
}

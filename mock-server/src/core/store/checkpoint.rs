//! WAL checkpoints off the request path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that
//! request copies the whole WAL into the database and syncs it, while holding the store lock
//! every other change waits for. The server turns the automatic one off for its connection
//! and checkpoints here instead, on a connection of its own in a blocking thread, looking
//! every [`CHECKPOINT_EVERY`]. Passive checkpoints never wait for (or block) the writer.
//!
//! A checkpoint waits for [`CHECKPOINT_AFTER_BATCHES`] committed batches, or for
//! [`CHECKPOINT_AT_LEAST_EVERY`] to pass with any. Each one that copies the whole WAL makes
//! the next commit start it over, which clears SQLite's 32 KB index of the WAL, and syncs
//! the database file: once per commit when a lightly loaded server checkpointed every tick.
//! A busy server commits that many batches within a tick, so it still checkpoints every one.
//!
//! Under steady writes a passive checkpoint never quite catches up (commits land while it
//! copies), and SQLite starts the WAL over only when a transaction begins with every frame
//! in the database: the file would grow without end (a gigabyte in ten seconds of the
//! bench), each commit paying for fresh file pages. So when the WAL holds more than
//! [`CATCH_UP_FRAMES`], a second checkpoint copies the few frames written meanwhile while
//! the writer is held, and the next commit starts the WAL over.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

use super::batch::BatchCounters;
use super::{BUSY_TIMEOUT, StoreError};

/// How often the checkpointer looks whether the WAL is due to be copied into the database.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// Committed batches after which a checkpoint is due.
pub const CHECKPOINT_AFTER_BATCHES: u64 = 32;
/// A checkpoint is due this long after the last one when any batch committed since.
pub const CHECKPOINT_AT_LEAST_EVERY: Duration = Duration::from_secs(1);
/// The WAL file is truncated to this size after a checkpoint that reset it.
pub(super) const WAL_SIZE_LIMIT_BYTES: i64 = 16 * 1024 * 1024;
/// WAL frames above which the writer is held for a checkpoint to catch up.
pub const CATCH_UP_FRAMES: i64 = 1000;

/// A connection that checkpoints the database at `path`.
#[derive(Debug)]
pub struct Checkpointer {
    conn: Arc<Mutex<Connection>>,
}

impl Checkpointer {
    pub fn open(path: PathBuf) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)?;
        Ok(Checkpointer {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// One passive checkpoint; returns the WAL's frames and how many are in the database.
    pub fn checkpoint(&self) -> Result<(i64, i64), StoreError> {
        passive_checkpoint(&self.conn.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Checkpoints when one is due (see the module's documentation), looking every
    /// [`CHECKPOINT_EVERY`], until the task is dropped. `batches` counts the writer's commits;
    /// `catch_up` runs a checkpoint while holding the writer (the store's lock), for when the
    /// WAL is large.
    pub async fn run<F>(self, batches: Arc<BatchCounters>, catch_up: F)
    where
        F: Fn() -> Result<(i64, i64), StoreError> + Send + Sync + 'static,
    {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let me = Arc::new(self);
        let catch_up = Arc::new(catch_up);
        let mut checkpointed = batches.ended();
        let mut last = tokio::time::Instant::now();
        loop {
            every.tick().await;
            let ended = batches.ended();
            if !is_due(ended - checkpointed, last.elapsed()) {
                continue;
            }
            checkpointed = ended;
            last = tokio::time::Instant::now();
            let me = Arc::clone(&me);
            let catch_up = Arc::clone(&catch_up);
            let round = tokio::task::spawn_blocking(move || {
                let (frames, copied) = me.checkpoint()?;
                tracing::trace!(frames, copied, "WAL checkpoint");
                if frames > CATCH_UP_FRAMES {
                    let (frames, copied) = catch_up()?;
                    tracing::debug!(frames, copied, "WAL checkpoint caught up with the writer");
                }
                Ok::<(), StoreError>(())
            });
            match round.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(error = %err, "WAL checkpoint failed"),
                Err(err) => tracing::warn!(error = %err, "WAL checkpoint task failed"),
            }
        }
    }
}

/// Whether a checkpoint is due with `batches` committed since the last, `elapsed` ago.
fn is_due(batches: u64, elapsed: Duration) -> bool {
    batches >= CHECKPOINT_AFTER_BATCHES || (batches > 0 && elapsed >= CHECKPOINT_AT_LEAST_EVERY)
}

/// A passive checkpoint on `conn`: the WAL's frames and how many are in the database.
pub(super) fn passive_checkpoint(conn: &Connection) -> Result<(i64, i64), StoreError> {
    Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_waits_for_batches_or_for_time_with_some() {
        assert!(!is_due(0, Duration::from_secs(60)), "nothing to copy");
        assert!(!is_due(1, Duration::from_millis(100)));
        assert!(!is_due(CHECKPOINT_AFTER_BATCHES - 1, Duration::ZERO));
        assert!(is_due(CHECKPOINT_AFTER_BATCHES, Duration::ZERO));
        assert!(is_due(1, CHECKPOINT_AT_LEAST_EVERY));
    }
}

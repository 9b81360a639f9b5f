//! WAL checkpoints off the request path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that
//! request copies the whole WAL into the database and syncs it, while holding the store lock
//! every other change waits for. The server turns the automatic one off for its connection
//! and checkpoints here instead, on a connection of its own in a blocking thread, every
//! [`CHECKPOINT_EVERY`]. Passive checkpoints never wait for (or block) the writer.
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

use super::{BUSY_TIMEOUT, StoreError};

/// How often the WAL is copied into the database.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
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

    /// SQLite's count of commits by other connections: it changes when the writer commits, so
    /// an idle server skips its checkpoints (no thread hand-off ten times a second).
    fn data_version(&self) -> Result<i64, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(conn.query_row("PRAGMA data_version", [], |row| row.get(0))?)
    }

    /// Checkpoints every [`CHECKPOINT_EVERY`] until the task is dropped. `catch_up` runs a
    /// checkpoint while holding the writer (the store's lock), for when the WAL is large.
    pub async fn run<F>(self, catch_up: F)
    where
        F: Fn() -> Result<(i64, i64), StoreError> + Send + Sync + 'static,
    {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let me = Arc::new(self);
        let catch_up = Arc::new(catch_up);
        let mut seen_version = None;
        loop {
            every.tick().await;
            match me.data_version() {
                Ok(version) if seen_version == Some(version) => continue,
                Ok(version) => seen_version = Some(version),
                Err(err) => tracing::warn!(error = %err, "cannot read the data version"),
            }
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

/// A passive checkpoint on `conn`: the WAL's frames and how many are in the database.
pub(super) fn passive_checkpoint(conn: &Connection) -> Result<(i64, i64), StoreError> {
    Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    })?)
}

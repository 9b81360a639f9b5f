//! WAL checkpoints off the request path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that
//! request copies the whole WAL into the database and syncs it, while holding the store lock
//! every other change waits for. The server turns the automatic one off for its connection
//! and checkpoints here instead, on a connection of its own in a blocking thread, every
//! [`CHECKPOINT_EVERY`]. Passive checkpoints never wait for (or block) the writer.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

use super::{BUSY_TIMEOUT, StoreError};

/// How often the WAL is copied into the database.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// The WAL file is truncated to this size after a checkpoint that reset it.
const WAL_SIZE_LIMIT_BYTES: i64 = 16 * 1024 * 1024;

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
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(1)?, row.get(2)?))
        })?)
    }

    /// Checkpoints every [`CHECKPOINT_EVERY`] until the task is dropped.
    pub async fn run(self) {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let me = Arc::new(self);
        loop {
            every.tick().await;
            let me = Arc::clone(&me);
            match tokio::task::spawn_blocking(move || me.checkpoint()).await {
                Ok(Ok((frames, copied))) => {
                    tracing::trace!(frames, copied, "WAL checkpoint");
                }
                Ok(Err(err)) => tracing::warn!(error = %err, "WAL checkpoint failed"),
                Err(err) => tracing::warn!(error = %err, "WAL checkpoint task failed"),
            }
        }
    }
}

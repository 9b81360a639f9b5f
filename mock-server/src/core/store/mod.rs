//! Persistence: realms, users, calls with their audit log, group calls with their participants
//! and audit log, push devices and the push outbox, in
//! SQLite.
//!
//! A [`Store`] wraps one connection. The server serialises access behind its own mutex, so
//! there is no locking here; a [`Store`] is `Send` but not `Sync`. Single-statement operations
//! are atomic on their own; anything that writes more than one row runs in a transaction
//! ([`Store::with_tx`], [`Store::apply_transition`], [`Store::create_call`], ...).
//!
//! The active calls are also kept in memory, beside their rows ([`active`]): every request on
//! a call in progress reads it from there.
//!
//! Storage conventions: times are integer milliseconds since the Unix epoch (so sub-millisecond
//! precision is dropped), enumerations are their wire strings, call ids their hyphenated
//! lowercase form, JSON values their compact text.

pub mod batch;
pub mod checkpoint;
pub mod migrations;

mod active;
mod calls;
mod directory;
mod groups;
mod presence;
mod push;
mod reset;
mod rows;

pub use calls::CallFilter;
pub use directory::ControlUserChange;
pub use groups::GroupCallFilter;
pub use push::{DeviceKind, PushFilter};
pub use reset::ClearedActivity;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use rusqlite::{Connection, Row, TransactionBehavior};
use zulip_calls_protocol::CallId;

/// How long a statement waits for another connection's lock before failing with `SQLITE_BUSY`.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DbLocation {
    /// A private in-memory database, gone when the store is dropped (`:memory:`).
    Memory,
    /// A database file; missing parent directories are created.
    File(PathBuf),
}

impl DbLocation {
    /// `:memory:` is [`DbLocation::Memory`]; anything else is a file path.
    pub fn parse(s: &str) -> DbLocation {
        if s == ":memory:" {
            DbLocation::Memory
        } else {
            DbLocation::File(PathBuf::from(s))
        }
    }
}

impl FromStr for DbLocation {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(DbLocation::parse(s))
    }
}

impl fmt::Display for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbLocation::Memory => f.write_str(":memory:"),
            DbLocation::File(path) => path.display().fmt(f),
        }
    }
}

/// Prepared statements kept per connection (rusqlite's default is 16; the store has more).
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create the database directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database was written by a newer build; nothing was changed.
    #[error(
        "the database has schema version {found}, newer than the {supported} this build \
         supports; use a newer zulip-calls-mock or another database file"
    )]
    TooNew { found: i64, supported: i64 },
    /// A stored value this build cannot read (an unknown state string, a bad call id, ...).
    #[error("corrupt stored value: {what}")]
    Corrupt { what: String },
    /// An update named a call that is not stored.
    #[error("no stored call {0}")]
    CallNotFound(CallId),
    /// The batch holding a change could not be committed, so the change was rolled back.
    #[error("the change could not be committed and was rolled back")]
    NotCommitted,
}

impl StoreError {
    /// A uniqueness or foreign-key constraint refused the write (e.g. a call id that already
    /// exists, or a call whose party is not a stored user).
    pub fn is_constraint_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation
        )
    }
}

/// The persistence layer: one SQLite connection, migrated to the latest schema.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    /// Set by [`Store::batch_writes`]: changes wait in one open transaction for
    /// [`Store::commit_batch`] (see [`batch`]).
    batch: Option<std::sync::Arc<batch::BatchCounters>>,
    /// The active calls in memory (see [`active`]).
    active: active::ActiveCalls,
}

/// An open transaction, handed to the closure of [`Store::with_tx`]. It offers the same
/// operations as [`Store`]; they commit together or not at all.
#[derive(Debug)]
pub struct StoreTx<'a> {
    /// A transaction of its own, or a savepoint in the open batch.
    tx: &'a Connection,
    active: &'a active::ActiveCalls,
}

/// What an operation runs on: a connection (the store's, or a transaction's) with the copy
/// of the active calls kept beside it. It derefs to the connection, so an operation that
/// needs only SQL takes `&Connection`.
#[derive(Debug, Clone, Copy)]
struct Db<'a> {
    conn: &'a Connection,
    active: &'a active::ActiveCalls,
}

impl std::ops::Deref for Db<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Store {
    fn db(&self) -> Db<'_> {
        Db {
            conn: &self.conn,
            active: &self.active,
        }
    }
}

impl StoreTx<'_> {
    fn db(&self) -> Db<'_> {
        Db {
            conn: self.tx,
            active: self.active,
        }
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `location`.
    ///
    /// Files get `journal_mode=WAL`, `synchronous=NORMAL`, `foreign_keys=ON` and a busy
    /// timeout. A database written by a newer build is refused with [`StoreError::TooNew`]
    /// before anything in it is changed.
    pub fn open(location: &DbLocation) -> Result<Store, StoreError> {
        let mut conn = match location {
            DbLocation::Memory => Connection::open_in_memory()?,
            DbLocation::File(path) => {
                if let Some(parent) = path.parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                        path: parent.to_owned(),
                        source,
                    })?;
                }
                Connection::open(path)?
            }
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Room for every statement the server runs, so none is parsed again after the first.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        let found = migrations::current_version(&conn)?;
        let supported = migrations::latest_version();
        if found > supported {
            return Err(StoreError::TooNew { found, supported });
        }
        if let DbLocation::File(path) = location {
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(
                    path = %path.display(),
                    journal_mode = %mode,
                    "SQLite refused WAL mode; continuing with this journal mode"
                );
            }
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::migrate(&mut conn)?;
        Ok(Store {
            conn,
            batch: None,
            active: active::ActiveCalls::default(),
        })
    }

    /// Turns SQLite's automatic checkpoints off for this connection, for a [`checkpoint`]
    /// task to do them instead (a no-op in memory).
    pub fn hand_checkpoints_over(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        self.conn
            .pragma_update(None, "journal_size_limit", checkpoint::WAL_SIZE_LIMIT_BYTES)?;
        Ok(())
    }

    /// A passive checkpoint on the writer's own connection: with the store's lock held no
    /// commit lands meanwhile, so it copies every frame and the next commit starts the WAL
    /// over. Returns the WAL's frames and how many are in the database.
    pub fn checkpoint(&self) -> Result<(i64, i64), StoreError> {
        checkpoint::passive_checkpoint(&self.conn)
    }

    /// A fresh private in-memory store.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::open(&DbLocation::Memory)
    }

    /// The database's schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        migrations::current_version(&self.conn)
    }

    /// Runs `f` in one (immediate) transaction: committed when `f` returns `Ok`, rolled back
    /// when it returns `Err` (or panics). `f` may use its own error type, so a domain refusal
    /// (`INVALID_CALL_STATE`, ...) can abort the transaction too.
    ///
    /// When writes are batched, `f` runs as one change of the open batch instead (opening
    /// one if needed, see [`batch::Change`]): its changes are all or nothing as well, but on
    /// disk only once [`Store::commit_batch`] has run.
    pub fn with_tx<T, E>(&mut self, f: impl FnOnce(&StoreTx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        // Declared first, so it is dropped last: after the rollback, on every path but success.
        let undo = active::UndoGuard::new(&self.active);
        let Some(batch) = &self.batch else {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let value = f(&StoreTx {
                tx: &tx,
                active: &self.active,
            })?;
            tx.commit().map_err(StoreError::from)?;
            undo.kept();
            return Ok(value);
        };
        let change = batch::Change::begin(&self.conn, batch).map_err(StoreError::from)?;
        let value = f(&StoreTx {
            tx: &self.conn,
            active: &self.active,
        })?;
        change.keep().map_err(StoreError::from)?;
        undo.kept();
        Ok(value)
    }

    /// Batches writes from now on (see [`batch`]); returns the counters that tell whether a
    /// batch is waiting.
    pub fn batch_writes(&mut self) -> std::sync::Arc<batch::BatchCounters> {
        std::sync::Arc::clone(self.batch.get_or_insert_default())
    }

    /// The batch counters, when writes are batched.
    pub fn batch_counters(&self) -> Option<std::sync::Arc<batch::BatchCounters>> {
        self.batch.clone()
    }

    /// Whether changes are waiting in an open batch.
    pub fn in_batch(&self) -> bool {
        self.batch.is_some() && !self.conn.is_autocommit()
    }

    /// Commits the open batch, if there is one; returns whether there was. A batch that
    /// cannot be committed is rolled back (and reported failed to its waiters).
    pub fn commit_batch(&mut self) -> Result<bool, StoreError> {
        let Some(batch) = &self.batch else {
            return Ok(false);
        };
        if self.conn.is_autocommit() {
            return Ok(false);
        }
        match batch::run_cached(&self.conn, "COMMIT") {
            Ok(()) => {
                batch.end(true);
                Ok(true)
            }
            Err(err) => {
                // The batch's changes are undone, and with them what the copy followed.
                self.active.forget();
                if !self.conn.is_autocommit()
                    && let Err(rollback) = batch::run_cached(&self.conn, "ROLLBACK")
                {
                    tracing::error!(error = %rollback, "could not roll back a failed batch");
                }
                batch.end(false);
                Err(err.into())
            }
        }
    }
}

/// Declares the operations both [`Store`] and [`StoreTx`] offer, delegating to the functions
/// of the same names in the `ops` module where it is used.
macro_rules! shared_ops {
    ($(
        $(#[$meta:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
    )*) => {
        impl Store {
            $(
                $(#[$meta])*
                pub fn $name(&self $(, $arg: $ty)*) -> Result<$ret, StoreError> {
                    ops::$name(&self.db() $(, $arg)*)
                }
            )*
        }

        impl StoreTx<'_> {
            $(
                $(#[$meta])*
                pub fn $name(&self $(, $arg: $ty)*) -> Result<$ret, StoreError> {
                    ops::$name(&self.db() $(, $arg)*)
                }
            )*
        }
    };
}

use shared_ops;

/// Runs `sql` and converts every row with `convert`.
fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    convert: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(convert(row)?);
    }
    Ok(out)
}

/// Runs `sql` and converts its first row, if any.
fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    convert: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    rows.next()?.map(convert).transpose()
}

/// A number of rows, as the operations report it.
fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;

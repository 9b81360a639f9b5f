//! Persistence: realms, users, calls with their audit log, push devices and the push outbox, in
//! SQLite.
//!
//! A [`Store`] wraps one connection. The server serialises access behind its own mutex, so
//! there is no locking here; a [`Store`] is `Send` but not `Sync`. Single-statement operations
//! are atomic on their own; anything that writes more than one row runs in a transaction
//! ([`Store::with_tx`], [`Store::apply_transition`], [`Store::create_call`], ...).
//!
//! Storage conventions: times are integer milliseconds since the Unix epoch (so sub-millisecond
//! precision is dropped), enumerations are their wire strings, call ids their hyphenated
//! lowercase form, JSON values their compact text.

pub mod batch;
pub mod checkpoint;
pub mod migrations;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use rusqlite::{Connection, Row, TransactionBehavior, params};
use zulip_calls_protocol::call::EndReason;
use zulip_calls_protocol::{Call, CallId, CallState, CallType, MediaStatus, Timestamp, UserId};

use crate::core::model::{AuditEntry, CallRecord, Device, OutboxEntry, RealmId, RealmRecord, UserRecord};

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

/// The two kinds of push device Zulip registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// `POST|DELETE users/me/android_gcm_reg_id`.
    Fcm,
    /// `POST|DELETE users/me/apns_device_token`.
    Apns,
}

impl DeviceKind {
    /// The kind of `device`.
    pub fn of(device: &Device) -> DeviceKind {
        match device {
            Device::Fcm { .. } => DeviceKind::Fcm,
            Device::Apns { .. } => DeviceKind::Apns,
        }
    }

    /// The value stored in `devices.kind`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Fcm => "fcm",
            DeviceKind::Apns => "apns",
        }
    }
}

/// Which outbox entries [`Store::pushes`] returns; `None` fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushFilter {
    pub user_id: Option<UserId>,
    pub call_id: Option<CallId>,
    /// `call`, `call_response`, `call_cancelled` or `missed_call`.
    pub event: Option<String>,
}

/// Which calls [`Store::calls_matching`] returns (the control API's call listing); `None`
/// fields match everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFilter {
    pub state: Option<CallState>,
    pub call_type: Option<CallType>,
    /// Either party.
    pub user: Option<UserId>,
    pub realm: Option<RealmId>,
    /// At most this many calls, newest first.
    pub limit: u32,
}

/// What [`Store::clear_activity`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClearedActivity {
    pub calls: u64,
    pub devices: u64,
    pub pushes: u64,
}

/// The persistence layer: one SQLite connection, migrated to the latest schema.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    /// Set by [`Store::batch_writes`]: changes wait in one open transaction for
    /// [`Store::commit_batch`] (see [`batch`]).
    batch: Option<std::sync::Arc<batch::BatchCounters>>,
}

/// A change the control API made to a user, kept across restarts until a reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlUserChange {
    pub user_id: UserId,
    /// Created through the control API: the realm file does not have this user.
    pub added: bool,
    /// Activated or deactivated through the control API.
    pub is_active: Option<bool>,
}

/// An open transaction, handed to the closure of [`Store::with_tx`]. It offers the same
/// operations as [`Store`]; they commit together or not at all.
#[derive(Debug)]
pub struct StoreTx<'a> {
    /// A transaction of its own, or a savepoint in the open batch.
    tx: &'a Connection,
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
        Ok(Store { conn, batch: None })
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
        let Some(batch) = &self.batch else {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let value = f(&StoreTx { tx: &tx })?;
            tx.commit().map_err(StoreError::from)?;
            return Ok(value);
        };
        let change = batch::Change::begin(&self.conn, batch).map_err(StoreError::from)?;
        let value = f(&StoreTx { tx: &self.conn })?;
        change.keep().map_err(StoreError::from)?;
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

    /// Loads the realm file's content: realms and users are upserted by id; users that are no
    /// longer listed are marked inactive (not deleted), so their calls keep their history.
    /// Realms that are no longer listed are kept as they were.
    pub fn replace_realms(
        &mut self,
        realms: &[RealmRecord],
        users: &[UserRecord],
    ) -> Result<(), StoreError> {
        self.with_tx(|tx| tx.replace_realms(realms, users))
    }

    /// The realm file's `users` with the control API's changes stored in this database laid
    /// over them: users it created are added back (as stored), activations it set win. What
    /// a restart on an existing database serves.
    pub fn users_with_control_changes(
        &self,
        mut users: Vec<UserRecord>,
    ) -> Result<Vec<UserRecord>, StoreError> {
        for change in self.control_user_changes()? {
            if let Some(user) = users.iter_mut().find(|u| u.id == change.user_id) {
                if let Some(active) = change.is_active {
                    user.is_active = active;
                }
            } else if change.added
                && let Some(mut stored) = self.user_by_id(change.user_id)?
            {
                // An address the realm file now gives someone else is theirs.
                if users
                    .iter()
                    .any(|u| u.email.eq_ignore_ascii_case(&stored.email))
                {
                    continue;
                }
                if let Some(active) = change.is_active {
                    stored.is_active = active;
                }
                users.push(stored);
            }
        }
        Ok(users)
    }

    /// Stores a new call and its first audit entry atomically.
    pub fn create_call(&mut self, call: &CallRecord, audit: &AuditEntry) -> Result<(), StoreError> {
        self.with_tx(|tx| tx.create_call(call, audit))
    }

    /// Updates a call and appends its audit entries atomically.
    pub fn apply_transition(
        &mut self,
        call: &CallRecord,
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        self.with_tx(|tx| tx.apply_transition(call, audit))
    }

    /// Deletes the terminal calls that ended before `before` (calls without `ended_at` count
    /// from `created_at`), with their audit rows. Returns how many calls were deleted. Their
    /// push outbox entries are kept.
    pub fn delete_terminal_ended_before(
        &mut self,
        before: Timestamp,
        realm: Option<RealmId>,
    ) -> Result<u64, StoreError> {
        self.with_tx(|tx| tx.delete_terminal_ended_before(before, realm))
    }

    /// Deletes every call with its audit log, every push device and the whole push outbox, in
    /// one transaction: the control API's reset. Realms and users stay.
    pub fn clear_activity(&mut self) -> Result<ClearedActivity, StoreError> {
        self.with_tx(|tx| ops::clear_activity(tx.tx))
    }
}

impl StoreTx<'_> {
    /// See [`Store::clear_activity`].
    pub fn clear_activity(&self) -> Result<ClearedActivity, StoreError> {
        ops::clear_activity(self.tx)
    }

    /// See [`Store::replace_realms`].
    pub fn replace_realms(
        &self,
        realms: &[RealmRecord],
        users: &[UserRecord],
    ) -> Result<(), StoreError> {
        ops::replace_realms(self.tx, realms, users)
    }

    /// See [`Store::create_call`].
    pub fn create_call(&self, call: &CallRecord, audit: &AuditEntry) -> Result<(), StoreError> {
        ops::insert_call(self.tx, call)?;
        ops::append_audit(self.tx, audit)
    }

    /// See [`Store::apply_transition`].
    pub fn apply_transition(
        &self,
        call: &CallRecord,
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        ops::update_call(self.tx, call)?;
        for entry in audit {
            ops::append_audit(self.tx, entry)?;
        }
        Ok(())
    }

    /// See [`Store::delete_terminal_ended_before`].
    pub fn delete_terminal_ended_before(
        &self,
        before: Timestamp,
        realm: Option<RealmId>,
    ) -> Result<u64, StoreError> {
        ops::delete_terminal_ended_before(self.tx, before, realm)
    }
}

/// Declares the operations both [`Store`] and [`StoreTx`] offer, delegating to `ops`.
macro_rules! shared_ops {
    ($(
        $(#[$meta:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
    )*) => {
        impl Store {
            $(
                $(#[$meta])*
                pub fn $name(&self $(, $arg: $ty)*) -> Result<$ret, StoreError> {
                    ops::$name(&self.conn $(, $arg)*)
                }
            )*
        }

        impl StoreTx<'_> {
            $(
                $(#[$meta])*
                pub fn $name(&self $(, $arg: $ty)*) -> Result<$ret, StoreError> {
                    ops::$name(self.tx $(, $arg)*)
                }
            )*
        }
    };
}

shared_ops! {
    /// Every stored realm, by id.
    fn realms(&self) -> Vec<RealmRecord>;

    /// Records that `user` was created through the control API.
    fn note_user_added(&self, user: UserId) -> ();

    /// Records an activation or deactivation of `user` through the control API.
    fn note_user_active(&self, user: UserId, active: bool) -> ();

    /// The control API's changes to users, by user id.
    fn control_user_changes(&self) -> Vec<ControlUserChange>;

    /// Forgets the control API's changes to users (a reset).
    fn forget_control_user_changes(&self) -> ();

    /// Every stored user (active or not), by id.
    fn users(&self) -> Vec<UserRecord>;

    /// The user with id `id`, active or not.
    fn user_by_id(&self, id: UserId) -> Option<UserRecord>;

    /// The user with this email, compared case-insensitively (Unicode lowercase). When several
    /// match (a deactivated user's address reused), an active one wins, then the lowest id.
    fn user_by_email(&self, email: &str) -> Option<UserRecord>;

    /// Stores a new call. A call id that exists already is a constraint violation.
    fn insert_call(&self, call: &CallRecord) -> ();

    /// Writes the mutable fields of a stored call: `state`, `answered_at`, `ended_at`,
    /// `duration`, `end_reason` and both media statuses. [`StoreError::CallNotFound`] when the
    /// call is not stored.
    fn update_call(&self, call: &CallRecord) -> ();

    /// The call with id `id`.
    fn call(&self, id: CallId) -> Option<CallRecord>;

    /// The active (`calling`, `ringing`, `accepted`) call `user` is party to; the newest if,
    /// against the rules, there are several.
    fn active_call_of(&self, user: UserId) -> Option<CallRecord>;

    /// Every active call `user` is party to, newest first.
    fn active_calls_of(&self, user: UserId) -> Vec<CallRecord>;

    /// Every active call, oldest first: what needs deadlines scheduled after a restart.
    fn all_active_calls(&self) -> Vec<CallRecord>;

    /// One page of the calls `user` is party to, newest first (ties by call id, descending),
    /// optionally only of one type and/or state, and the total number matching the filters.
    fn history(
        &self,
        user: UserId,
        call_type: Option<CallType>,
        state: Option<CallState>,
        limit: u32,
        offset: u32,
    ) -> (Vec<CallRecord>, u64);

    /// The unanswered (`calling`, `ringing`) calls created before `before`, oldest first.
    fn unanswered_created_before(&self, before: Timestamp) -> Vec<CallRecord>;

    /// Appends a line to a call's audit log.
    fn append_audit(&self, entry: &AuditEntry) -> ();

    /// A call's audit log, in the order it was written.
    fn audit_of(&self, call_id: CallId) -> Vec<AuditEntry>;

    /// Registers a push device of `user`. Idempotent: registering a known (kind, token) again
    /// only refreshes an APNs `appid`. Returns whether the device is new.
    fn add_device(&self, user: UserId, device: &Device) -> bool;

    /// Forgets the device of `user` with the kind and token of `device` (an APNs `appid` is
    /// ignored, as Zulip's delete endpoints do). Returns whether there was one.
    fn remove_device(&self, user: UserId, device: &Device) -> bool;

    /// The push devices of `user`, in registration order.
    fn devices_of(&self, user: UserId) -> Vec<Device>;

    /// Records a push the server built instead of sending it.
    fn record_push(
        &self,
        at: Timestamp,
        user: UserId,
        call_id: CallId,
        event: &str,
        request: &serde_json::Value,
    ) -> OutboxEntry;

    /// The recorded pushes matching `filter`, oldest first.
    fn pushes(&self, filter: &PushFilter) -> Vec<OutboxEntry>;

    /// Empties the push outbox; returns how many entries it held.
    fn clear_pushes(&self) -> u64;

    /// The calls matching `filter`, newest first (ties by call id, descending).
    fn calls_matching(&self, filter: &CallFilter) -> Vec<CallRecord>;
}

/// "The call is active", as SQL: the predicate of the partial indexes over active calls
/// (see `migrations`), which a query must repeat word for word for SQLite to use them.
///
/// Written as `OR`s, not `state IN (...)`: SQLite builds a temporary b-tree for an `IN` list
/// of more than two constants each time it evaluates one, and a partial index evaluates its
/// predicate at every write of a row.
macro_rules! active_call {
    () => {
        "(state = 'calling' OR state = 'ringing' OR state = 'accepted')"
    };
}

/// "The call is not answered yet", as SQL.
macro_rules! unanswered_call {
    () => {
        "state IN ('calling', 'ringing')"
    };
}

/// The columns [`ops::call_from_row`] reads, in its order.
macro_rules! call_columns {
    () => {
        "call_id, realm_id, call_type, state, sender_id, sender_name, sender_email, \
         receiver_id, receiver_name, receiver_email, jitsi_room_id, jitsi_url, created_at, \
         answered_at, ended_at, duration, end_reason, sender_media_status, receiver_media_status"
    };
}

/// The operations, on a connection or a transaction (which derefs to one).
mod ops {
    use super::*;

    const USER_COLUMNS: &str =
        "id, realm_id, email, full_name, api_key, password, is_admin, is_active, is_bot";

    const PUSH_COLUMNS: &str = "id, at, user_id, call_id, event, request";

    // ---- conversions -------------------------------------------------------------------

    fn millis(t: Timestamp) -> i64 {
        t.unix_millis()
    }

    fn timestamp(what: &str, millis: i64) -> Result<Timestamp, StoreError> {
        Timestamp::from_unix_millis(millis).ok_or_else(|| StoreError::Corrupt {
            what: format!("{what}: {millis} ms is out of range"),
        })
    }

    fn opt_timestamp(what: &str, millis: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
        millis.map(|m| timestamp(what, m)).transpose()
    }

    fn parse<T>(what: &str, value: &str) -> Result<T, StoreError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        value.parse().map_err(|e| StoreError::Corrupt {
            what: format!("{what}: {e}"),
        })
    }

    fn opt_parse<T>(what: &str, value: Option<String>) -> Result<Option<T>, StoreError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        value.map(|v| parse(what, &v)).transpose()
    }

    fn json(what: &str, text: &str) -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
            what: format!("{what}: {e}"),
        })
    }

    fn email_key(email: &str) -> String {
        email.to_lowercase()
    }

    fn count(n: usize) -> u64 {
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    // ---- rows --------------------------------------------------------------------------

    fn user_from_row(row: &Row<'_>) -> Result<UserRecord, StoreError> {
        Ok(UserRecord {
            id: UserId(row.get(0)?),
            realm_id: RealmId(row.get(1)?),
            email: row.get(2)?,
            full_name: row.get(3)?,
            api_key: row.get(4)?,
            password: row.get(5)?,
            is_admin: row.get(6)?,
            is_active: row.get(7)?,
            is_bot: row.get(8)?,
        })
    }

    pub(super) fn call_from_row(row: &Row<'_>) -> Result<CallRecord, StoreError> {
        let call_id: String = row.get(0)?;
        let call_type: String = row.get(2)?;
        let state: String = row.get(3)?;
        Ok(CallRecord {
            call: Call {
                call_id: parse("calls.call_id", &call_id)?,
                call_type: parse("calls.call_type", &call_type)?,
                state: parse("calls.state", &state)?,
                sender_id: UserId(row.get(4)?),
                sender_name: row.get(5)?,
                sender_email: row.get(6)?,
                receiver_id: UserId(row.get(7)?),
                receiver_name: row.get(8)?,
                receiver_email: row.get(9)?,
                jitsi_room_id: row.get(10)?,
                jitsi_url: row.get(11)?,
                created_at: timestamp("calls.created_at", row.get(12)?)?,
                answered_at: opt_timestamp("calls.answered_at", row.get(13)?)?,
                ended_at: opt_timestamp("calls.ended_at", row.get(14)?)?,
                duration: row.get(15)?,
                end_reason: opt_parse::<EndReason>("calls.end_reason", row.get(16)?)?,
            },
            realm_id: RealmId(row.get(1)?),
            sender_media_status: opt_parse::<MediaStatus>(
                "calls.sender_media_status",
                row.get(17)?,
            )?,
            receiver_media_status: opt_parse::<MediaStatus>(
                "calls.receiver_media_status",
                row.get(18)?,
            )?,
        })
    }

    fn audit_from_row(row: &Row<'_>) -> Result<AuditEntry, StoreError> {
        let call_id: String = row.get(0)?;
        let state: String = row.get(4)?;
        let detail: String = row.get(5)?;
        Ok(AuditEntry {
            call_id: parse("call_audit.call_id", &call_id)?,
            at: timestamp("call_audit.at", row.get(1)?)?,
            actor_id: row.get::<_, Option<i64>>(2)?.map(UserId),
            action: row.get(3)?,
            state: parse("call_audit.state", &state)?,
            detail: json("call_audit.detail", &detail)?,
        })
    }

    fn device_from_row(row: &Row<'_>) -> Result<Device, StoreError> {
        let kind: String = row.get(0)?;
        let token: String = row.get(1)?;
        let appid: Option<String> = row.get(2)?;
        match (kind.as_str(), appid) {
            ("fcm", _) => Ok(Device::Fcm { token }),
            ("apns", Some(appid)) => Ok(Device::Apns { token, appid }),
            ("apns", None) => Err(StoreError::Corrupt {
                what: "devices.appid: missing for an APNs device".to_owned(),
            }),
            (other, _) => Err(StoreError::Corrupt {
                what: format!("devices.kind: unknown device kind {other:?}"),
            }),
        }
    }

    fn push_from_row(row: &Row<'_>) -> Result<OutboxEntry, StoreError> {
        let call_id: String = row.get(3)?;
        let request: String = row.get(5)?;
        Ok(OutboxEntry {
            id: row.get(0)?,
            at: timestamp("push_outbox.at", row.get(1)?)?,
            user_id: UserId(row.get(2)?),
            call_id: parse("push_outbox.call_id", &call_id)?,
            event: row.get(4)?,
            request: json("push_outbox.request", &request)?,
        })
    }

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

    // ---- realms and users --------------------------------------------------------------

    pub(super) fn note_user_added(conn: &Connection, user: UserId) -> Result<(), StoreError> {
        conn.prepare_cached(
            "INSERT INTO control_user_changes (user_id, added) VALUES (?1, 1)
             ON CONFLICT(user_id) DO UPDATE SET added = 1",
        )?
        .execute([user.0])?;
        Ok(())
    }

    pub(super) fn note_user_active(
        conn: &Connection,
        user: UserId,
        active: bool,
    ) -> Result<(), StoreError> {
        conn.prepare_cached(
            "INSERT INTO control_user_changes (user_id, added, is_active) VALUES (?1, 0, ?2)
             ON CONFLICT(user_id) DO UPDATE SET is_active = excluded.is_active",
        )?
        .execute(params![user.0, active])?;
        Ok(())
    }

    pub(super) fn control_user_changes(
        conn: &Connection,
    ) -> Result<Vec<ControlUserChange>, StoreError> {
        query_all(
            conn,
            "SELECT user_id, added, is_active FROM control_user_changes ORDER BY user_id",
            [],
            |row| {
                Ok(ControlUserChange {
                    user_id: UserId(row.get(0)?),
                    added: row.get(1)?,
                    is_active: row.get(2)?,
                })
            },
        )
    }

    pub(super) fn forget_control_user_changes(conn: &Connection) -> Result<(), StoreError> {
        conn.execute("DELETE FROM control_user_changes", [])?;
        Ok(())
    }

    pub(super) fn replace_realms(
        conn: &Connection,
        realms: &[RealmRecord],
        users: &[UserRecord],
    ) -> Result<(), StoreError> {
        {
            let mut stmt = conn.prepare_cached(
                "INSERT INTO realms (id, name, url) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, url = excluded.url",
            )?;
            for realm in realms {
                stmt.execute(params![realm.id.0, realm.name, realm.url])?;
            }
        }
        // Everyone not in the file ends up inactive; everyone in it gets the file's flag.
        conn.execute("UPDATE users SET is_active = 0", [])?;
        let mut stmt = conn.prepare_cached(
            "INSERT INTO users
                 (id, realm_id, email, email_key, full_name, api_key, password,
                  is_admin, is_active, is_bot)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT(id) DO UPDATE SET
                 realm_id = excluded.realm_id, email = excluded.email,
                 email_key = excluded.email_key, full_name = excluded.full_name,
                 api_key = excluded.api_key, password = excluded.password,
                 is_admin = excluded.is_admin, is_active = excluded.is_active,
                 is_bot = excluded.is_bot",
        )?;
        for user in users {
            stmt.execute(params![
                user.id.0,
                user.realm_id.0,
                user.email,
                email_key(&user.email),
                user.full_name,
                user.api_key,
                user.password,
                user.is_admin,
                user.is_active,
                user.is_bot,
            ])?;
        }
        Ok(())
    }

    pub(super) fn realms(conn: &Connection) -> Result<Vec<RealmRecord>, StoreError> {
        query_all(
            conn,
            "SELECT id, name, url FROM realms ORDER BY id",
            [],
            |row| {
                Ok(RealmRecord {
                    id: RealmId(row.get(0)?),
                    name: row.get(1)?,
                    url: row.get(2)?,
                })
            },
        )
    }

    pub(super) fn users(conn: &Connection) -> Result<Vec<UserRecord>, StoreError> {
        query_all(
            conn,
            &format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"),
            [],
            user_from_row,
        )
    }

    pub(super) fn user_by_id(
        conn: &Connection,
        id: UserId,
    ) -> Result<Option<UserRecord>, StoreError> {
        query_one(
            conn,
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            [id.0],
            user_from_row,
        )
    }

    pub(super) fn user_by_email(
        conn: &Connection,
        email: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        query_one(
            conn,
            &format!(
                "SELECT {USER_COLUMNS} FROM users WHERE email_key = ?1
                 ORDER BY is_active DESC, id LIMIT 1"
            ),
            [email_key(email)],
            user_from_row,
        )
    }

    // ---- calls -------------------------------------------------------------------------

    pub(super) fn insert_call(conn: &Connection, record: &CallRecord) -> Result<(), StoreError> {
        let call = &record.call;
        let mut stmt = conn.prepare_cached(concat!(
            "INSERT INTO calls (",
            call_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
             ?17, ?18, ?19)"
        ))?;
        stmt.execute(params![
            call.call_id.to_string(),
            record.realm_id.0,
            call.call_type.as_str(),
            call.state.as_str(),
            call.sender_id.0,
            call.sender_name,
            call.sender_email,
            call.receiver_id.0,
            call.receiver_name,
            call.receiver_email,
            call.jitsi_room_id,
            call.jitsi_url,
            millis(call.created_at),
            call.answered_at.map(millis),
            call.ended_at.map(millis),
            call.duration,
            call.end_reason.map(EndReason::as_str),
            record.sender_media_status.map(MediaStatus::as_str),
            record.receiver_media_status.map(MediaStatus::as_str),
        ])?;
        Ok(())
    }

    pub(super) fn update_call(conn: &Connection, record: &CallRecord) -> Result<(), StoreError> {
        let call = &record.call;
        let mut stmt = conn.prepare_cached(
            "UPDATE calls SET state = ?2, answered_at = ?3, ended_at = ?4, duration = ?5,
                 end_reason = ?6, sender_media_status = ?7, receiver_media_status = ?8
             WHERE call_id = ?1",
        )?;
        let changed = stmt.execute(params![
            call.call_id.to_string(),
            call.state.as_str(),
            call.answered_at.map(millis),
            call.ended_at.map(millis),
            call.duration,
            call.end_reason.map(EndReason::as_str),
            record.sender_media_status.map(MediaStatus::as_str),
            record.receiver_media_status.map(MediaStatus::as_str),
        ])?;
        if changed == 0 {
            return Err(StoreError::CallNotFound(call.call_id));
        }
        Ok(())
    }

    pub(super) fn call(conn: &Connection, id: CallId) -> Result<Option<CallRecord>, StoreError> {
        query_one(
            conn,
            concat!("SELECT ", call_columns!(), " FROM calls WHERE call_id = ?1"),
            [id.to_string()],
            call_from_row,
        )
    }

    pub(super) fn active_call_of(
        conn: &Connection,
        user: UserId,
    ) -> Result<Option<CallRecord>, StoreError> {
        Ok(active_calls_of(conn, user)?.into_iter().next())
    }

    pub(super) fn active_calls_of(
        conn: &Connection,
        user: UserId,
    ) -> Result<Vec<CallRecord>, StoreError> {
        query_all(
            conn,
            concat!(
                "SELECT ",
                call_columns!(),
                " FROM calls WHERE (sender_id = ?1 OR receiver_id = ?1) AND ",
                active_call!(),
                " ORDER BY created_at DESC, call_id DESC"
            ),
            [user.0],
            call_from_row,
        )
    }

    pub(super) fn all_active_calls(conn: &Connection) -> Result<Vec<CallRecord>, StoreError> {
        query_all(
            conn,
            concat!(
                "SELECT ",
                call_columns!(),
                " FROM calls WHERE ",
                active_call!(),
                " ORDER BY created_at, call_id"
            ),
            [],
            call_from_row,
        )
    }

    pub(super) fn history(
        conn: &Connection,
        user: UserId,
        call_type: Option<CallType>,
        state: Option<CallState>,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<CallRecord>, u64), StoreError> {
        const FILTER: &str = "(sender_id = ?1 OR receiver_id = ?1)
             AND (?2 IS NULL OR call_type = ?2) AND (?3 IS NULL OR state = ?3)";
        let call_type = call_type.map(CallType::as_str);
        let state = state.map(CallState::as_str);
        let total: i64 = conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM calls WHERE {FILTER}"))?
            .query_row(params![user.0, call_type, state], |row| row.get(0))?;
        let calls = query_all(
            conn,
            &format!(
                "SELECT {} FROM calls WHERE {FILTER}
                 ORDER BY created_at DESC, call_id DESC LIMIT ?4 OFFSET ?5",
                call_columns!()
            ),
            params![
                user.0,
                call_type,
                state,
                i64::from(limit),
                i64::from(offset),
            ],
            call_from_row,
        )?;
        Ok((calls, u64::try_from(total).unwrap_or(0)))
    }

    pub(super) fn unanswered_created_before(
        conn: &Connection,
        before: Timestamp,
    ) -> Result<Vec<CallRecord>, StoreError> {
        query_all(
            conn,
            concat!(
                "SELECT ",
                call_columns!(),
                // The active states first, so the partial index of active calls serves.
                " FROM calls WHERE ",
                active_call!(),
                " AND ",
                unanswered_call!(),
                " AND created_at < ?1 ORDER BY created_at, call_id"
            ),
            [millis(before)],
            call_from_row,
        )
    }

    pub(super) fn delete_terminal_ended_before(
        conn: &Connection,
        before: Timestamp,
        realm: Option<RealmId>,
    ) -> Result<u64, StoreError> {
        // The audit rows go with their calls (`ON DELETE CASCADE`).
        let deleted = conn
            .prepare_cached(concat!(
                "DELETE FROM calls WHERE NOT ",
                active_call!(),
                " AND COALESCE(ended_at, created_at) < ?1 AND (?2 IS NULL OR realm_id = ?2)"
            ))?
            .execute(params![millis(before), realm.map(|r| r.0)])?;
        Ok(count(deleted))
    }

    // ---- audit -------------------------------------------------------------------------

    pub(super) fn append_audit(conn: &Connection, entry: &AuditEntry) -> Result<(), StoreError> {
        conn.prepare_cached(
            // An unknown call has no `seq`: the NULL fails the NOT NULL constraint.
            "INSERT INTO call_audit (call_seq, at, actor_id, action, state, detail)
             VALUES ((SELECT seq FROM calls WHERE call_id = ?1), ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            entry.call_id.to_string(),
            millis(entry.at),
            entry.actor_id.map(|id| id.0),
            entry.action,
            entry.state.as_str(),
            entry.detail.to_string(),
        ])?;
        Ok(())
    }

    pub(super) fn audit_of(
        conn: &Connection,
        call_id: CallId,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        query_all(
            conn,
            "SELECT c.call_id, a.at, a.actor_id, a.action, a.state, a.detail
             FROM call_audit AS a JOIN calls AS c ON c.seq = a.call_seq
             WHERE c.call_id = ?1 ORDER BY a.id",
            [call_id.to_string()],
            audit_from_row,
        )
    }

    // ---- devices -----------------------------------------------------------------------

    pub(super) fn add_device(
        conn: &Connection,
        user: UserId,
        device: &Device,
    ) -> Result<bool, StoreError> {
        let (token, appid) = match device {
            Device::Fcm { token } => (token, None),
            Device::Apns { token, appid } => (token, Some(appid)),
        };
        let kind = DeviceKind::of(device).as_str();
        let inserted = conn
            .prepare_cached(
                "INSERT INTO devices (user_id, kind, token, appid) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(user_id, kind, token) DO NOTHING",
            )?
            .execute(params![user.0, kind, token, appid])?;
        if inserted == 0 {
            conn.prepare_cached(
                "UPDATE devices SET appid = ?4 WHERE user_id = ?1 AND kind = ?2 AND token = ?3",
            )?
            .execute(params![user.0, kind, token, appid])?;
        }
        Ok(inserted > 0)
    }

    pub(super) fn remove_device(
        conn: &Connection,
        user: UserId,
        device: &Device,
    ) -> Result<bool, StoreError> {
        let (Device::Fcm { token } | Device::Apns { token, .. }) = device;
        let kind = DeviceKind::of(device);
        let removed = conn
            .prepare_cached("DELETE FROM devices WHERE user_id = ?1 AND kind = ?2 AND token = ?3")?
            .execute(params![user.0, kind.as_str(), token])?;
        Ok(removed > 0)
    }

    pub(super) fn devices_of(conn: &Connection, user: UserId) -> Result<Vec<Device>, StoreError> {
        query_all(
            conn,
            "SELECT kind, token, appid FROM devices WHERE user_id = ?1 ORDER BY id",
            [user.0],
            device_from_row,
        )
    }

    // ---- push outbox -------------------------------------------------------------------

    pub(super) fn record_push(
        conn: &Connection,
        at: Timestamp,
        user: UserId,
        call_id: CallId,
        event: &str,
        request: &serde_json::Value,
    ) -> Result<OutboxEntry, StoreError> {
        let id: i64 = conn
            .prepare_cached(
                "INSERT INTO push_outbox (at, user_id, call_id, event, request)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            )?
            .query_row(
                params![
                    millis(at),
                    user.0,
                    call_id.to_string(),
                    event,
                    request.to_string()
                ],
                |row| row.get(0),
            )?;
        Ok(OutboxEntry {
            id,
            // As stored, so the entry equals what `pushes` returns later.
            at: timestamp("push_outbox.at", millis(at))?,
            user_id: user,
            call_id,
            event: event.to_owned(),
            request: request.clone(),
        })
    }

    pub(super) fn pushes(
        conn: &Connection,
        filter: &PushFilter,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        query_all(
            conn,
            &format!(
                "SELECT {PUSH_COLUMNS} FROM push_outbox
                 WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR call_id = ?2)
                   AND (?3 IS NULL OR event = ?3)
                 ORDER BY id"
            ),
            params![
                filter.user_id.map(|id| id.0),
                filter.call_id.map(|id| id.to_string()),
                filter.event,
            ],
            push_from_row,
        )
    }

    pub(super) fn clear_pushes(conn: &Connection) -> Result<u64, StoreError> {
        Ok(count(conn.execute("DELETE FROM push_outbox", [])?))
    }

    // ---- control API -------------------------------------------------------------------

    pub(super) fn calls_matching(
        conn: &Connection,
        filter: &CallFilter,
    ) -> Result<Vec<CallRecord>, StoreError> {
        query_all(
            conn,
            concat!(
                "SELECT ",
                call_columns!(),
                " FROM calls WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR call_type = ?2)
                   AND (?3 IS NULL OR sender_id = ?3 OR receiver_id = ?3)
                   AND (?4 IS NULL OR realm_id = ?4)
                 ORDER BY created_at DESC, call_id DESC LIMIT ?5"
            ),
            params![
                filter.state.map(CallState::as_str),
                filter.call_type.map(CallType::as_str),
                filter.user.map(|u| u.0),
                filter.realm.map(|r| r.0),
                i64::from(filter.limit),
            ],
            call_from_row,
        )
    }

    pub(super) fn clear_activity(conn: &Connection) -> Result<ClearedActivity, StoreError> {
        conn.execute("DELETE FROM call_audit", [])?;
        Ok(ClearedActivity {
            calls: count(conn.execute("DELETE FROM calls", [])?),
            devices: count(conn.execute("DELETE FROM devices", [])?),
            pushes: count(conn.execute("DELETE FROM push_outbox", [])?),
        })
    }
}

#[cfg(test)]
mod tests;

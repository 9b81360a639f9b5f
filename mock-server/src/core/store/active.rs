//! The active calls, kept in memory beside their rows.
//!
//! Every request on a call in progress reads the call, and every call placed asks whether
//! either party is busy; answered by SQLite, those reads were a sixth of a lifecycle's
//! instructions. The rows stay the truth: this copy follows every write to them as it is
//! made, and it is forgotten whenever SQLite undoes writes (a change rolled back, a batch that
//! could not be committed, a reset), to be read again from the rows when next needed. So it
//! always shows what a query on the same connection would.
//!
//! It also holds each active call's `seq`, the rowid its updates and audit lines are
//! written by, so those need no search of the index by call id.

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::Connection;
use zulip_calls_protocol::{CallId, Timestamp, UserId};

use super::StoreError;
use super::rows::{call_columns, call_from_row};
use crate::core::model::CallRecord;

/// The copy of the active calls, or nothing when it has to be read again.
#[derive(Debug, Default)]
pub(super) struct ActiveCalls {
    loaded: RefCell<Option<Loaded>>,
}

/// The active calls and, per user, the ones they are party to.
#[derive(Debug, Default)]
pub(super) struct Loaded {
    calls: HashMap<CallId, Active>,
    /// Each user's active calls (almost always one).
    by_user: HashMap<UserId, Vec<CallId>>,
}

/// One active call as stored.
#[derive(Debug)]
struct Active {
    seq: i64,
    record: CallRecord,
}

impl ActiveCalls {
    /// Runs `f` over the active calls, reading them from `conn` first if they were forgotten.
    pub(super) fn with<T>(
        &self,
        conn: &Connection,
        f: impl FnOnce(&mut Loaded) -> T,
    ) -> Result<T, StoreError> {
        let mut slot = self.loaded.borrow_mut();
        let loaded = match slot.take() {
            Some(loaded) => loaded,
            None => Loaded::read(conn)?,
        };
        Ok(f(slot.insert(loaded)))
    }

    /// Follows the insertion of a call stored with rowid `seq` (if the copy is in memory; if it
    /// is not, the next [`ActiveCalls::with`] reads it, this call included).
    pub(super) fn inserted(&self, seq: i64, record: &CallRecord) {
        if let Some(loaded) = self.loaded.borrow_mut().as_mut() {
            loaded.insert(seq, record);
        }
    }

    /// Follows the update of a call's mutable fields (if the copy is in memory).
    pub(super) fn updated(&self, record: &CallRecord) {
        let mut slot = self.loaded.borrow_mut();
        if slot.as_mut().is_some_and(|loaded| !loaded.update(record)) {
            *slot = None;
        }
    }

    /// Drops the copy: SQLite undid writes it had followed.
    pub(super) fn forget(&self) {
        *self.loaded.borrow_mut() = None;
    }
}

/// Forgets the active calls when dropped before [`UndoGuard::kept`]: what a change wrote is
/// rolled back on every path that does not keep it (an error, a panic).
pub(super) struct UndoGuard<'a> {
    active: &'a ActiveCalls,
    kept: bool,
}

impl<'a> UndoGuard<'a> {
    pub(super) fn new(active: &'a ActiveCalls) -> Self {
        UndoGuard {
            active,
            kept: false,
        }
    }

    pub(super) fn kept(mut self) {
        self.kept = true;
    }
}

impl Drop for UndoGuard<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.active.forget();
        }
    }
}

/// The active calls' rows with their `seq` last, read through a partial index over them.
///
/// `active` is a column of its own (1 while the call is calling, ringing or accepted, NULL
/// once it is over) rather than a test of `state`: SQLite rewrites a partial index's entry at
/// every update that sets a column its predicate names, and `active` is set only when a call
/// is created and when it ends, where `state` changes at every step.
pub(super) const LOAD: &str = concat!(
    "SELECT ",
    call_columns!(),
    ", seq FROM calls WHERE active = 1"
);

impl Loaded {
    fn read(conn: &Connection) -> Result<Loaded, StoreError> {
        let mut stmt = conn.prepare_cached(LOAD)?;
        let mut rows = stmt.query([])?;
        let mut loaded = Loaded::default();
        while let Some(row) = rows.next()? {
            let seq = row.get(21)?;
            loaded.insert(seq, &call_from_row(row)?);
        }
        Ok(loaded)
    }

    /// A call stored with rowid `seq`; kept only while it is active.
    fn insert(&mut self, seq: i64, record: &CallRecord) {
        if !record.call.state.is_active() {
            return;
        }
        let record = as_stored(record);
        let call = &record.call;
        let id = call.call_id;
        self.by_user.entry(call.sender_id).or_default().push(id);
        if call.receiver_id != call.sender_id {
            self.by_user.entry(call.receiver_id).or_default().push(id);
        }
        self.calls.insert(id, Active { seq, record });
    }

    /// A call's mutable fields as just written (see `write_call`); a call no longer active
    /// leaves. Returns false when it cannot follow: a call became active again, which the
    /// state machine never does, and whose other fields it does not have.
    fn update(&mut self, record: &CallRecord) -> bool {
        let id = record.call.call_id;
        if record.call.state.is_active() {
            return match self.calls.get_mut(&id) {
                Some(active) => {
                    take_mutable_fields(&mut active.record, &as_stored(record));
                    true
                }
                None => false,
            };
        }
        if self.calls.remove(&id).is_some() {
            for user in [record.call.sender_id, record.call.receiver_id] {
                if let Some(ids) = self.by_user.get_mut(&user) {
                    ids.retain(|other| *other != id);
                    if ids.is_empty() {
                        self.by_user.remove(&user);
                    }
                }
            }
        }
        true
    }

    /// The active call `id`, if it is one.
    pub(super) fn call(&self, id: CallId) -> Option<CallRecord> {
        self.calls.get(&id).map(|active| active.record.clone())
    }

    /// The rowid of the active call `id`, if it is one.
    pub(super) fn seq(&self, id: CallId) -> Option<i64> {
        self.calls.get(&id).map(|active| active.seq)
    }

    /// The last placed active call `user` is party to.
    pub(super) fn id_of(&self, user: UserId) -> Option<CallId> {
        self.by_user.get(&user).and_then(|ids| {
            ids.iter()
                .copied()
                .max_by_key(|id| self.calls.get(id).map(|active| active.seq))
        })
    }

    /// The active calls `user` is party to, newest first (ties by call id, descending).
    pub(super) fn of(&self, user: UserId) -> Vec<CallRecord> {
        let mut calls: Vec<CallRecord> = self
            .by_user
            .get(&user)
            .into_iter()
            .flatten()
            .filter_map(|id| self.call(*id))
            .collect();
        calls.sort_by(|a, b| placement_order(b, a));
        calls
    }

    /// The active calls matching `keep`, oldest first (ties by call id).
    pub(super) fn all(&self, keep: impl Fn(&CallRecord) -> bool) -> Vec<CallRecord> {
        let mut calls: Vec<CallRecord> = self
            .calls
            .values()
            .map(|active| &active.record)
            .filter(|record| keep(record))
            .cloned()
            .collect();
        calls.sort_by(placement_order);
        calls
    }
}

/// The order of `ORDER BY created_at, call_id` (SQLite's order of the stored hyphenated ids is
/// their bytes' order, which is `CallId`'s).
fn placement_order(a: &CallRecord, b: &CallRecord) -> std::cmp::Ordering {
    (a.call.created_at, a.call.call_id).cmp(&(b.call.created_at, b.call.call_id))
}

/// The fields `write_call` writes, from `from` into `into`.
fn take_mutable_fields(into: &mut CallRecord, from: &CallRecord) {
    into.call.state = from.call.state;
    into.call.answered_at = from.call.answered_at;
    into.call.ended_at = from.call.ended_at;
    into.call.duration = from.call.duration;
    into.call.end_reason = from.call.end_reason;
    into.sender_media_status = from.sender_media_status;
    into.receiver_media_status = from.receiver_media_status;
    into.sender_heartbeat_at = from.sender_heartbeat_at;
    into.receiver_heartbeat_at = from.receiver_heartbeat_at;
}

/// `record` as its row reads back: times in whole milliseconds.
fn as_stored(record: &CallRecord) -> CallRecord {
    let millis = |at: Timestamp| {
        if at.0.timestamp_subsec_nanos().is_multiple_of(1_000_000) {
            // Whole already, as every reading of the server's clock is.
            return at;
        }
        Timestamp::from_unix_millis(at.unix_millis()).unwrap_or(at)
    };
    let mut stored = record.clone();
    let call = &mut stored.call;
    call.created_at = millis(call.created_at);
    for at in [
        &mut call.answered_at,
        &mut call.ended_at,
        &mut stored.sender_heartbeat_at,
        &mut stored.receiver_heartbeat_at,
    ] {
        *at = at.map(millis);
    }
    stored
}

//! Calls and their audit log: creating a call and its transitions, the lookups (by id, the
//! active calls, a user's history, the control API's listing) and the pruning of ended calls.

use zulip_calls_protocol::{CallId, CallState, CallType, Timestamp, UserId};

use super::{Store, StoreError, StoreTx, shared_ops};
use crate::core::model::{AuditEntry, CallRecord, RealmId};

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

impl Store {
    /// Stores a new call and its first audit entry atomically.
    pub fn create_call(&mut self, call: &CallRecord, audit: &AuditEntry) -> Result<(), StoreError> {
        self.with_tx(|tx| tx.create_call(call, audit))
    }

    /// Updates a call that was in state `from` and appends its audit entries atomically.
    pub fn apply_transition(
        &mut self,
        call: &CallRecord,
        from: CallState,
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        self.with_tx(|tx| tx.apply_transition(call, from, audit))
    }

    /// Deletes the terminal calls that ended before `before` (calls without `ended_at` count
    /// from `created_at`), with their audit rows, and the ended group calls likewise, with
    /// their participants and audit rows: whatever prunes or cleans up old calls covers both
    /// kinds. Returns how many calls (of both kinds) were deleted. Their push outbox entries
    /// are kept.
    pub fn delete_terminal_ended_before(
        &mut self,
        before: Timestamp,
        realm: Option<RealmId>,
    ) -> Result<u64, StoreError> {
        self.with_tx(|tx| tx.delete_terminal_ended_before(before, realm))
    }
}

impl StoreTx<'_> {
    /// See [`Store::create_call`].
    pub fn create_call(&self, call: &CallRecord, audit: &AuditEntry) -> Result<(), StoreError> {
        let seq = ops::insert_call(&self.db(), call)?;
        ops::append_audit_at(self.tx, Some(seq), audit)
    }

    /// See [`Store::apply_transition`].
    pub fn apply_transition(
        &self,
        call: &CallRecord,
        from: CallState,
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        let db = self.db();
        let id = call.call.call_id;
        // Looked up once, before the end of a call takes it out of the active calls.
        let seq = ops::seq_of(&db, id)?.ok_or(StoreError::CallNotFound(id))?;
        let set_active = call.call.state.is_active() != from.is_active();
        ops::write_call(&db, seq, call, set_active)?;
        for entry in audit {
            let seq = if entry.call_id == id {
                Some(seq)
            } else {
                ops::seq_of(&db, entry.call_id)?
            };
            ops::append_audit_at(self.tx, seq, entry)?;
        }
        Ok(())
    }

    /// See [`Store::delete_terminal_ended_before`].
    pub fn delete_terminal_ended_before(
        &self,
        before: Timestamp,
        realm: Option<RealmId>,
    ) -> Result<u64, StoreError> {
        let calls = ops::delete_terminal_ended_before(self.tx, before, realm)?;
        Ok(calls + self.delete_ended_group_calls_before(before, realm)?)
    }
}

shared_ops! {
    /// Stores a new call; returns its `seq`. A call id that exists already is a constraint
    /// violation.
    fn insert_call(&self, call: &CallRecord) -> i64;

    /// Writes the mutable fields of a stored call: `state`, `answered_at`, `ended_at`,
    /// `duration`, `end_reason`, both media statuses and both heartbeat times. [`StoreError::CallNotFound`] when the
    /// call is not stored.
    fn update_call(&self, call: &CallRecord) -> ();

    /// The call with id `id`.
    fn call(&self, id: CallId) -> Option<CallRecord>;

    /// The active (`calling`, `ringing`, `accepted`) call `user` is party to; the newest if,
    /// against the rules, there are several.
    fn active_call_of(&self, user: UserId) -> Option<CallRecord>;

    /// The id of the active call `user` is party to (the last placed if, against the rules,
    /// there are several): what makes them busy. Asked for both parties of every call placed,
    /// so it reads the two active-call indexes and nothing else.
    fn active_call_id_of(&self, user: UserId) -> Option<CallId>;

    /// Every active call `user` is party to, newest first.
    fn active_calls_of(&self, user: UserId) -> Vec<CallRecord>;

    /// The newest call `user` is party to that became `ended` after `since` (the redial
    /// cooldown's question; cancelled, rejected and missed calls do not count).
    fn ended_call_of_since(&self, user: UserId, since: Timestamp) -> Option<CallRecord>;

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

    /// Up to `limit` calls `user` is party to, newest first (ties by call id, descending),
    /// strictly after the call `after` names (its creation time and id) in that order,
    /// optionally only of one type and of the given states: a page of the 1.1 history.
    fn history_after(
        &self,
        user: UserId,
        call_type: Option<CallType>,
        states: &[CallState],
        after: Option<(Timestamp, CallId)>,
        limit: u32,
    ) -> Vec<CallRecord>;

    /// How many calls `user` is party to, optionally only of one type and of the given
    /// states (empty: every state).
    fn history_count(
        &self,
        user: UserId,
        call_type: Option<CallType>,
        states: &[CallState],
    ) -> u64;

    /// The unanswered (`calling`, `ringing`) calls created before `before`, oldest first.
    fn unanswered_created_before(&self, before: Timestamp) -> Vec<CallRecord>;

    /// Appends a line to a call's audit log.
    fn append_audit(&self, entry: &AuditEntry) -> ();

    /// A call's audit log, in the order it was written.
    fn audit_of(&self, call_id: CallId) -> Vec<AuditEntry>;


    /// The calls matching `filter`, newest first (ties by call id, descending).
    fn calls_matching(&self, filter: &CallFilter) -> Vec<CallRecord>;
}

/// The operations on calls and their audit log, on a connection or a transaction (which
/// derefs to one).
mod ops {
    use rusqlite::{Connection, params};
    use zulip_calls_protocol::MediaStatus;
    use zulip_calls_protocol::call::EndReason;

    use super::*;
    use crate::core::store::rows::{audit_from_row, call_columns, call_from_row, millis};
    use crate::core::store::{Db, count, query_all, query_one};

    // ---- calls -------------------------------------------------------------------------

    pub(super) fn insert_call(db: &Db<'_>, record: &CallRecord) -> Result<i64, StoreError> {
        let call = &record.call;
        let mut stmt = db.prepare_cached(concat!(
            "INSERT INTO calls (",
            call_columns!(),
            ", active) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
             ?16, ?17, ?18, ?19, ?20, ?21, ?22)"
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
            record.sender_heartbeat_at.map(millis),
            record.receiver_heartbeat_at.map(millis),
            active(call.state),
        ])?;
        let seq = db.last_insert_rowid();
        db.active.inserted(seq, record);
        Ok(seq)
    }

    pub(super) fn update_call(db: &Db<'_>, record: &CallRecord) -> Result<(), StoreError> {
        let id = record.call.call_id;
        let seq = seq_of(db, id)?.ok_or(StoreError::CallNotFound(id))?;
        write_call(db, seq, record, true)
    }

    /// The `seq` (rowid) of call `id`: from memory while the call is active.
    pub(super) fn seq_of(db: &Db<'_>, id: CallId) -> Result<Option<i64>, StoreError> {
        if let Some(seq) = db.active.with(db, |calls| calls.seq(id))? {
            return Ok(Some(seq));
        }
        query_one(
            db,
            "SELECT seq FROM calls WHERE call_id = ?1",
            [id.to_string()],
            |row| Ok(row.get(0)?),
        )
    }

    /// Writes the mutable fields of the call stored as `seq`, `active` among them when
    /// `set_active`: a change that leaves the call as active as it was (an acknowledgement,
    /// an answer, a media status, a heartbeat) does not set it, so the partial indexes over
    /// active calls are left alone.
    pub(super) fn write_call(
        db: &Db<'_>,
        seq: i64,
        record: &CallRecord,
        set_active: bool,
    ) -> Result<(), StoreError> {
        let call = &record.call;
        let sql = if set_active {
            "UPDATE calls SET state = ?2, answered_at = ?3, ended_at = ?4, duration = ?5,
                 end_reason = ?6, sender_media_status = ?7, receiver_media_status = ?8,
                 sender_heartbeat_at = ?9, receiver_heartbeat_at = ?10, active = ?11
             WHERE seq = ?1"
        } else {
            "UPDATE calls SET state = ?2, answered_at = ?3, ended_at = ?4, duration = ?5,
                 end_reason = ?6, sender_media_status = ?7, receiver_media_status = ?8,
                 sender_heartbeat_at = ?9, receiver_heartbeat_at = ?10
             WHERE seq = ?1"
        };
        let values: [&dyn rusqlite::ToSql; 11] = [
            &seq,
            &call.state.as_str(),
            &call.answered_at.map(millis),
            &call.ended_at.map(millis),
            &call.duration,
            &call.end_reason.map(EndReason::as_str),
            &record.sender_media_status.map(MediaStatus::as_str),
            &record.receiver_media_status.map(MediaStatus::as_str),
            &record.sender_heartbeat_at.map(millis),
            &record.receiver_heartbeat_at.map(millis),
            &active(call.state),
        ];
        let bound = if set_active {
            &values[..]
        } else {
            &values[..10]
        };
        let changed = db.prepare_cached(sql)?.execute(bound)?;
        if changed == 0 {
            return Err(StoreError::CallNotFound(call.call_id));
        }
        db.active.updated(record);
        Ok(())
    }

    /// The `active` column for a call in `state` (see `active::LOAD`).
    fn active(state: CallState) -> Option<i64> {
        state.is_active().then_some(1)
    }

    pub(super) fn call(db: &Db<'_>, id: CallId) -> Result<Option<CallRecord>, StoreError> {
        if let Some(record) = db.active.with(db, |calls| calls.call(id))? {
            return Ok(Some(record));
        }
        query_one(
            db,
            concat!("SELECT ", call_columns!(), " FROM calls WHERE call_id = ?1"),
            [id.to_string()],
            call_from_row,
        )
    }

    pub(super) fn active_call_of(
        db: &Db<'_>,
        user: UserId,
    ) -> Result<Option<CallRecord>, StoreError> {
        Ok(active_calls_of(db, user)?.into_iter().next())
    }

    pub(super) fn active_call_id_of(
        db: &Db<'_>,
        user: UserId,
    ) -> Result<Option<CallId>, StoreError> {
        db.active.with(db, |calls| calls.id_of(user))
    }

    pub(super) fn active_calls_of(
        db: &Db<'_>,
        user: UserId,
    ) -> Result<Vec<CallRecord>, StoreError> {
        db.active.with(db, |calls| calls.of(user))
    }

    pub(super) fn ended_call_of_since(
        conn: &Connection,
        user: UserId,
        since: Timestamp,
    ) -> Result<Option<CallRecord>, StoreError> {
        Ok(query_all(
            conn,
            concat!(
                "SELECT ",
                call_columns!(),
                " FROM calls WHERE (sender_id = ?1 OR receiver_id = ?1) AND state = 'ended' \
                 AND ended_at > ?2 ORDER BY ended_at DESC, call_id DESC LIMIT 1"
            ),
            params![user.0, millis(since)],
            call_from_row,
        )?
        .into_iter()
        .next())
    }

    pub(super) fn all_active_calls(db: &Db<'_>) -> Result<Vec<CallRecord>, StoreError> {
        db.active.with(db, |calls| calls.all(|_| true))
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

    pub(super) fn history_count(
        conn: &Connection,
        user: UserId,
        call_type: Option<CallType>,
        states: &[CallState],
    ) -> Result<u64, StoreError> {
        let total: i64 = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM calls WHERE (sender_id = ?1 OR receiver_id = ?1)
                 AND (?2 IS NULL OR call_type = ?2)
                 AND (?3 IS NULL OR instr(',' || ?3 || ',', ',' || state || ',') > 0)",
            )?
            .query_row(
                params![user.0, call_type.map(CallType::as_str), state_list(states)],
                |row| row.get(0),
            )?;
        Ok(u64::try_from(total).unwrap_or(0))
    }

    /// `states` as one comma-separated list for `instr`, `None` when empty (every state).
    fn state_list(states: &[CallState]) -> Option<String> {
        (!states.is_empty()).then(|| {
            states
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    pub(super) fn history_after(
        conn: &Connection,
        user: UserId,
        call_type: Option<CallType>,
        states: &[CallState],
        after: Option<(Timestamp, CallId)>,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let states = state_list(states);
        let (after_millis, after_id) = after.map_or((None, None), |(at, id)| {
            (Some(millis(at)), Some(id.to_string()))
        });
        query_all(
            conn,
            concat!(
                "SELECT ",
                call_columns!(),
                " FROM calls WHERE (sender_id = ?1 OR receiver_id = ?1)
                 AND (?2 IS NULL OR call_type = ?2)
                 AND (?3 IS NULL OR instr(',' || ?3 || ',', ',' || state || ',') > 0)
                 AND (?4 IS NULL OR created_at < ?4 OR (created_at = ?4 AND call_id < ?5))
                 ORDER BY created_at DESC, call_id DESC LIMIT ?6"
            ),
            params![
                user.0,
                call_type.map(CallType::as_str),
                states,
                after_millis,
                after_id,
                i64::from(limit),
            ],
            call_from_row,
        )
    }

    pub(super) fn unanswered_created_before(
        db: &Db<'_>,
        before: Timestamp,
    ) -> Result<Vec<CallRecord>, StoreError> {
        db.active.with(db, |calls| {
            calls.all(|record| record.call.state.is_unanswered() && record.call.created_at < before)
        })
    }

    pub(super) fn delete_terminal_ended_before(
        conn: &Connection,
        before: Timestamp,
        realm: Option<RealmId>,
    ) -> Result<u64, StoreError> {
        // The audit rows go with their calls (`ON DELETE CASCADE`).
        let deleted = conn
            .prepare_cached(concat!(
                "DELETE FROM calls WHERE active IS NULL",
                " AND COALESCE(ended_at, created_at) < ?1 AND (?2 IS NULL OR realm_id = ?2)"
            ))?
            .execute(params![millis(before), realm.map(|r| r.0)])?;
        Ok(count(deleted))
    }

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

    // ---- audit -------------------------------------------------------------------------

    pub(super) fn append_audit(db: &Db<'_>, entry: &AuditEntry) -> Result<(), StoreError> {
        append_audit_at(db, seq_of(db, entry.call_id)?, entry)
    }

    /// Appends `entry` to the log of the call stored as `seq`; with no `seq` (an unknown
    /// call) the NULL fails the NOT NULL constraint.
    pub(super) fn append_audit_at(
        conn: &Connection,
        seq: Option<i64>,
        entry: &AuditEntry,
    ) -> Result<(), StoreError> {
        conn.prepare_cached(
            "INSERT INTO call_audit (call_seq, at, actor_id, action, state, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            seq,
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
}

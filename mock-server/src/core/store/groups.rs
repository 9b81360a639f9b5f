//! Group calls with their participants and audit log: creating a call, saving it after a
//! change, the lookups (by id, a user's active group calls, every active one for the
//! deadlines after a restart, the control API's listing) and the pruning of ended calls.
//!
//! A group call is written whole: its row, and every participant's row (at most a few
//! dozen), upserted. Participants keep the order they were first added in.

use rusqlite::{Connection, Row, params};
use zulip_calls_protocol::plugin::group::{
    GroupCall, GroupCallState, GroupEndReason, GroupParticipant, GroupUser,
};
use zulip_calls_protocol::{CallId, CallType, StreamId, Timestamp, UserId};

use super::rows::{millis, timestamp};
use super::{Store, StoreError, StoreTx, count, query_all, query_one, shared_ops};
use crate::core::group::model::{GroupAuditEntry, GroupRecord, ParticipantRecord};
use crate::core::model::RealmId;

/// Which group calls [`Store::group_calls_matching`] returns (the control API's listing);
/// `None` fields match everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCallFilter {
    pub state: Option<GroupCallState>,
    pub call_type: Option<CallType>,
    /// A participant in any state, the host included.
    pub user: Option<UserId>,
    pub realm: Option<RealmId>,
    /// At most this many calls, newest first.
    pub limit: u32,
}

impl Store {
    /// Stores a new group call, its participants and its first audit entry atomically.
    pub fn create_group_call(
        &mut self,
        record: &GroupRecord,
        audit: &GroupAuditEntry,
    ) -> Result<(), StoreError> {
        self.with_tx(|tx| tx.create_group_call(record, audit))
    }

    /// Writes a changed group call (state, end, every participant) and appends its audit
    /// entries atomically.
    pub fn save_group_call(
        &mut self,
        record: &GroupRecord,
        audit: &[GroupAuditEntry],
    ) -> Result<(), StoreError> {
        self.with_tx(|tx| tx.save_group_call(record, audit))
    }
}

impl StoreTx<'_> {
    /// See [`Store::create_group_call`].
    pub fn create_group_call(
        &self,
        record: &GroupRecord,
        audit: &GroupAuditEntry,
    ) -> Result<(), StoreError> {
        ops::insert_group_call(self.tx, record)?;
        ops::append_group_audit(self.tx, audit)
    }

    /// See [`Store::save_group_call`].
    pub fn save_group_call(
        &self,
        record: &GroupRecord,
        audit: &[GroupAuditEntry],
    ) -> Result<(), StoreError> {
        ops::update_group_call(self.tx, record)?;
        for entry in audit {
            ops::append_group_audit(self.tx, entry)?;
        }
        Ok(())
    }

    /// Deletes the ended group calls that ended before `before`, with their participants and
    /// audit rows; returns how many calls. Active calls stay, however old. Part of
    /// [`Store::delete_terminal_ended_before`], which prunes both kinds of call.
    pub fn delete_ended_group_calls_before(
        &self,
        before: Timestamp,
        realm: Option<RealmId>,
    ) -> Result<u64, StoreError> {
        ops::delete_ended_group_calls_before(self.tx, before, realm)
    }
}

shared_ops! {
    /// Stores a new group call with its participants. An id that exists already is a
    /// constraint violation.
    fn insert_group_call(&self, record: &GroupRecord) -> ();

    /// Writes the mutable fields of a stored group call (`state`, `ended_at`, `end_reason`)
    /// and every participant (new ones are added). [`StoreError::CallNotFound`] when the call
    /// is not stored.
    fn update_group_call(&self, record: &GroupRecord) -> ();

    /// The group call with id `id`, with its participants.
    fn group_call(&self, id: CallId) -> Option<GroupRecord>;

    /// The id of the active group call `user` is `joined` in (the last placed if, against the
    /// rules, there are several): what makes them busy. Asked by every 1:1 call's start, so it
    /// reads one index and no participant list.
    fn joined_group_call_id_of(&self, user: UserId) -> Option<CallId>;

    /// Every active group call `user` has a place in (any participant state), newest first.
    fn active_group_calls_of(&self, user: UserId) -> Vec<GroupRecord>;

    /// Every active group call, oldest first: what needs deadlines scheduled after a restart.
    fn all_active_group_calls(&self) -> Vec<GroupRecord>;

    /// Appends a line to a group call's audit log.
    fn append_group_audit(&self, entry: &GroupAuditEntry) -> ();

    /// A group call's audit log, in the order it was written.
    fn group_audit_of(&self, call_id: CallId) -> Vec<GroupAuditEntry>;

    /// The group calls matching `filter` with their participants, newest first.
    fn group_calls_matching(&self, filter: &GroupCallFilter) -> Vec<GroupRecord>;
}

/// The columns [`call_from_row`] reads, in its order.
const CALL_COLUMNS: &str = "seq, call_id, realm_id, call_type, state, title, host_id, host_name, \
     stream_id, topic, jitsi_room_name, jitsi_url, max_participants, created_at, ended_at, \
     end_reason";

/// The id of the newest (last placed) active group call user `?1` is joined in: read along the
/// participants' index by user, newest first. A join rather than `seq IN (SELECT ...)`, and
/// ordered by the index rather than by creation time, each of which SQLite would otherwise
/// fill into a temporary b-tree each time.
pub(super) const JOINED_GROUP_CALL_ID: &str = "SELECT g.call_id
     FROM group_participants p JOIN group_calls g ON g.seq = p.call_seq
     WHERE p.user_id = ?1 AND p.state = 'joined' AND g.state = 'active'
     ORDER BY p.call_seq DESC LIMIT 1";

/// The columns [`participant_from_row`] reads, in its order.
const PARTICIPANT_COLUMNS: &str = "user_id, full_name, email, state, is_host, invited_at, \
     joined_at, left_at, heartbeat_at";

fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: format!("{what}: {err}"),
    }
}

fn opt_time(
    what: &str,
    millis: Option<i64>,
) -> Result<Option<zulip_calls_protocol::Timestamp>, StoreError> {
    millis.map(|m| timestamp(what, m)).transpose()
}

/// A group call row without its participants, and its sequence number.
fn call_from_row(row: &Row<'_>) -> Result<(i64, GroupRecord), StoreError> {
    let call_id: String = row.get(1)?;
    let call_type: String = row.get(3)?;
    let state: String = row.get(4)?;
    let end_reason: Option<String> = row.get(15)?;
    let max: i64 = row.get(12)?;
    let call = GroupCall {
        call_id: call_id.parse().map_err(|e| corrupt("group call id", e))?,
        call_type: call_type
            .parse()
            .map_err(|e| corrupt("group call type", e))?,
        state: state.parse().map_err(|e| corrupt("group call state", e))?,
        title: row.get(5)?,
        host: GroupUser {
            user_id: UserId(row.get(6)?),
            full_name: row.get(7)?,
        },
        stream_id: row.get::<_, Option<i64>>(8)?.map(StreamId),
        topic: row.get(9)?,
        jitsi_room_name: row.get(10)?,
        jitsi_url: row.get(11)?,
        max_participants: u32::try_from(max).map_err(|e| corrupt("max_participants", e))?,
        created_at: timestamp("group created_at", row.get(13)?)?,
        ended_at: opt_time("group ended_at", row.get(14)?)?,
    };
    let end_reason = end_reason
        .map(|r| r.parse::<GroupEndReason>())
        .transpose()
        .map_err(|e| corrupt("group end_reason", e))?;
    Ok((
        row.get(0)?,
        GroupRecord {
            call,
            realm_id: RealmId(row.get(2)?),
            end_reason,
            participants: Vec::new(),
        },
    ))
}

fn participant_from_row(row: &Row<'_>) -> Result<ParticipantRecord, StoreError> {
    let state: String = row.get(3)?;
    Ok(ParticipantRecord {
        participant: GroupParticipant {
            user_id: UserId(row.get(0)?),
            full_name: row.get(1)?,
            email: row.get(2)?,
            state: state.parse().map_err(|e| corrupt("participant state", e))?,
            is_host: row.get(4)?,
            invited_at: timestamp("invited_at", row.get(5)?)?,
            joined_at: opt_time("joined_at", row.get(6)?)?,
            left_at: opt_time("left_at", row.get(7)?)?,
        },
        heartbeat_at: opt_time("heartbeat_at", row.get(8)?)?,
    })
}

fn audit_from_row(row: &Row<'_>) -> Result<GroupAuditEntry, StoreError> {
    let call_id: String = row.get(0)?;
    let detail: String = row.get(5)?;
    Ok(GroupAuditEntry {
        call_id: call_id.parse().map_err(|e| corrupt("group call id", e))?,
        at: timestamp("group audit at", row.get(1)?)?,
        actor_id: row.get::<_, Option<i64>>(2)?.map(UserId),
        action: row.get(3)?,
        subject_id: row.get::<_, Option<i64>>(4)?.map(UserId),
        detail: serde_json::from_str(&detail).map_err(|e| corrupt("group audit detail", e))?,
    })
}

/// The operations on group calls, on a connection or a transaction (which derefs to one).
mod ops {
    use super::*;

    pub(super) fn insert_group_call(
        conn: &Connection,
        record: &GroupRecord,
    ) -> Result<(), StoreError> {
        let call = &record.call;
        let mut stmt = conn.prepare_cached(
            "INSERT INTO group_calls (call_id, realm_id, call_type, state, title, host_id,
                 host_name, stream_id, topic, jitsi_room_name, jitsi_url, max_participants,
                 created_at, ended_at, end_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        stmt.execute(params![
            call.call_id.to_string(),
            record.realm_id.0,
            call.call_type.as_str(),
            call.state.as_str(),
            call.title,
            call.host.user_id.0,
            call.host.full_name,
            call.stream_id.map(|s| s.0),
            call.topic,
            call.jitsi_room_name,
            call.jitsi_url,
            call.max_participants,
            millis(call.created_at),
            call.ended_at.map(millis),
            record.end_reason.map(GroupEndReason::as_str),
        ])?;
        let seq = conn.last_insert_rowid();
        write_participants(conn, seq, record)
    }

    pub(super) fn update_group_call(
        conn: &Connection,
        record: &GroupRecord,
    ) -> Result<(), StoreError> {
        let call = &record.call;
        let seq = seq_of(conn, call.call_id)?.ok_or(StoreError::CallNotFound(call.call_id))?;
        let mut stmt = conn.prepare_cached(
            "UPDATE group_calls SET state = ?2, ended_at = ?3, end_reason = ?4 WHERE seq = ?1",
        )?;
        stmt.execute(params![
            seq,
            call.state.as_str(),
            call.ended_at.map(millis),
            record.end_reason.map(GroupEndReason::as_str),
        ])?;
        write_participants(conn, seq, record)
    }

    fn write_participants(
        conn: &Connection,
        seq: i64,
        record: &GroupRecord,
    ) -> Result<(), StoreError> {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO group_participants (call_seq, user_id, position, full_name, email,
                 state, is_host, invited_at, joined_at, left_at, heartbeat_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (call_seq, user_id) DO UPDATE SET state = excluded.state,
                 invited_at = excluded.invited_at, joined_at = excluded.joined_at,
                 left_at = excluded.left_at, heartbeat_at = excluded.heartbeat_at",
        )?;
        for (position, p) in record.participants.iter().enumerate() {
            let part = &p.participant;
            stmt.execute(params![
                seq,
                part.user_id.0,
                i64::try_from(position).unwrap_or(i64::MAX),
                part.full_name,
                part.email,
                part.state.as_str(),
                part.is_host,
                millis(part.invited_at),
                part.joined_at.map(millis),
                part.left_at.map(millis),
                p.heartbeat_at.map(millis),
            ])?;
        }
        Ok(())
    }

    fn seq_of(conn: &Connection, id: CallId) -> Result<Option<i64>, StoreError> {
        let mut stmt = conn.prepare_cached("SELECT seq FROM group_calls WHERE call_id = ?1")?;
        let mut rows = stmt.query([id.to_string()])?;
        Ok(match rows.next()? {
            Some(row) => Some(row.get(0)?),
            None => None,
        })
    }

    /// Fills in the participants of calls read without them.
    fn with_participants(
        conn: &Connection,
        calls: Vec<(i64, GroupRecord)>,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        calls
            .into_iter()
            .map(|(seq, mut record)| {
                record.participants = query_all(
                    conn,
                    &format!(
                        "SELECT {PARTICIPANT_COLUMNS} FROM group_participants
                         WHERE call_seq = ?1 ORDER BY position"
                    ),
                    [seq],
                    participant_from_row,
                )?;
                Ok(record)
            })
            .collect()
    }

    pub(super) fn group_call(
        conn: &Connection,
        id: CallId,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let found = query_one(
            conn,
            &format!("SELECT {CALL_COLUMNS} FROM group_calls WHERE call_id = ?1"),
            [id.to_string()],
            call_from_row,
        )?;
        Ok(with_participants(conn, found.into_iter().collect())?.pop())
    }

    pub(super) fn joined_group_call_id_of(
        conn: &Connection,
        user: UserId,
    ) -> Result<Option<CallId>, StoreError> {
        query_one(conn, JOINED_GROUP_CALL_ID, [user.0], |row| {
            let call_id: String = row.get(0)?;
            call_id.parse().map_err(|e| corrupt("group call id", e))
        })
    }

    pub(super) fn active_group_calls_of(
        conn: &Connection,
        user: UserId,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        let found = query_all(
            conn,
            &format!(
                "SELECT {CALL_COLUMNS} FROM group_calls WHERE state = 'active' AND seq IN (
                     SELECT call_seq FROM group_participants WHERE user_id = ?1)
                 ORDER BY created_at DESC, seq DESC"
            ),
            [user.0],
            call_from_row,
        )?;
        with_participants(conn, found)
    }

    pub(super) fn all_active_group_calls(
        conn: &Connection,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        let found = query_all(
            conn,
            &format!(
                "SELECT {CALL_COLUMNS} FROM group_calls WHERE state = 'active'
                 ORDER BY created_at, seq"
            ),
            [],
            call_from_row,
        )?;
        with_participants(conn, found)
    }

    pub(super) fn append_group_audit(
        conn: &Connection,
        entry: &GroupAuditEntry,
    ) -> Result<(), StoreError> {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO group_call_audit (call_seq, at, actor_id, action, subject_id, detail)
             SELECT seq, ?2, ?3, ?4, ?5, ?6 FROM group_calls WHERE call_id = ?1",
        )?;
        let written = stmt.execute(params![
            entry.call_id.to_string(),
            millis(entry.at),
            entry.actor_id.map(|u| u.0),
            entry.action,
            entry.subject_id.map(|u| u.0),
            entry.detail.to_string(),
        ])?;
        if written == 0 {
            return Err(StoreError::CallNotFound(entry.call_id));
        }
        Ok(())
    }

    pub(super) fn group_audit_of(
        conn: &Connection,
        call_id: CallId,
    ) -> Result<Vec<GroupAuditEntry>, StoreError> {
        query_all(
            conn,
            "SELECT g.call_id, a.at, a.actor_id, a.action, a.subject_id, a.detail
             FROM group_call_audit AS a JOIN group_calls AS g ON g.seq = a.call_seq
             WHERE g.call_id = ?1 ORDER BY a.id",
            [call_id.to_string()],
            audit_from_row,
        )
    }

    pub(super) fn group_calls_matching(
        conn: &Connection,
        filter: &GroupCallFilter,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        let found = query_all(
            conn,
            &format!(
                "SELECT {CALL_COLUMNS} FROM group_calls
                 WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR call_type = ?2)
                   AND (?3 IS NULL OR seq IN (
                       SELECT call_seq FROM group_participants WHERE user_id = ?3))
                   AND (?4 IS NULL OR realm_id = ?4)
                 ORDER BY created_at DESC, seq DESC LIMIT ?5"
            ),
            params![
                filter.state.map(GroupCallState::as_str),
                filter.call_type.map(CallType::as_str),
                filter.user.map(|u| u.0),
                filter.realm.map(|r| r.0),
                i64::from(filter.limit),
            ],
            call_from_row,
        )?;
        with_participants(conn, found)
    }

    pub(super) fn delete_ended_group_calls_before(
        conn: &Connection,
        before: Timestamp,
        realm: Option<RealmId>,
    ) -> Result<u64, StoreError> {
        // Participants and audit rows go with their calls (`ON DELETE CASCADE`).
        let deleted = conn
            .prepare_cached(
                "DELETE FROM group_calls WHERE state = 'ended'
                   AND COALESCE(ended_at, created_at) < ?1 AND (?2 IS NULL OR realm_id = ?2)",
            )?
            .execute(params![millis(before), realm.map(|r| r.0)])?;
        Ok(count(deleted))
    }
}

//! Presence and user status rows (Zulip's `UserPresence` and `UserStatus`).

use zulip_calls_protocol::{Timestamp, UserId};

use super::{Store, StoreError, StoreTx, shared_ops};
use crate::core::model::RealmId;
use crate::core::presence::{PresenceRecord, StatusRecord};

shared_ops! {
    /// Records a report of `user` at `now` (`active` or idle) under the realm's next update
    /// id. Returns the row before and after.
    fn record_presence(
        &self,
        user: UserId,
        realm: RealmId,
        now: Timestamp,
        active: bool,
    ) -> (Option<PresenceRecord>, PresenceRecord);

    /// The presence of `user`, if they ever reported.
    fn presence_of(&self, user: UserId) -> Option<PresenceRecord>;

    /// The presence rows of `realm` newer than update id `after_update_id` and connected at
    /// or after `connected_since`, by user id.
    fn realm_presence(
        &self,
        realm: RealmId,
        after_update_id: i64,
        connected_since: Timestamp,
    ) -> Vec<PresenceRecord>;

    /// Stores the status of `user`.
    fn set_user_status(&self, user: UserId, realm: RealmId, status: &StatusRecord) -> ();

    /// The status of `user`, if they ever set one.
    fn user_status(&self, user: UserId) -> Option<StatusRecord>;

    /// The statuses of `realm`'s users, by user id.
    fn realm_user_statuses(&self, realm: RealmId) -> Vec<(UserId, StatusRecord)>;
}

mod ops {
    use rusqlite::{Connection, Row, params};

    use super::*;
    use crate::core::store::rows::{millis, timestamp};
    use crate::core::store::{query_all, query_one};

    const PRESENCE_COLUMNS: &str =
        "user_id, realm_id, last_connected_at, last_active_at, last_update_id";

    fn presence_from_row(row: &Row<'_>) -> Result<PresenceRecord, StoreError> {
        let last_active: Option<i64> = row.get(3)?;
        Ok(PresenceRecord {
            user_id: UserId(row.get(0)?),
            realm_id: RealmId(row.get(1)?),
            last_connected: timestamp("presence.last_connected_at", row.get(2)?)?,
            last_active: last_active
                .map(|m| timestamp("presence.last_active_at", m))
                .transpose()?,
            last_update_id: row.get(4)?,
        })
    }

    fn status_from_row(row: &Row<'_>) -> Result<(UserId, StatusRecord), StoreError> {
        let away: i64 = row.get(2)?;
        Ok((
            UserId(row.get(0)?),
            StatusRecord {
                status_text: row.get(1)?,
                away: away != 0,
                emoji_name: row.get(3)?,
                emoji_code: row.get(4)?,
                reaction_type: row.get(5)?,
            },
        ))
    }

    pub(super) fn record_presence(
        conn: &Connection,
        user: UserId,
        realm: RealmId,
        now: Timestamp,
        active: bool,
    ) -> Result<(Option<PresenceRecord>, PresenceRecord), StoreError> {
        let before = presence_of(conn, user)?;
        let next: i64 = conn
            .prepare_cached(
                "SELECT COALESCE(MAX(last_update_id), 0) + 1 FROM presence WHERE realm_id = ?1",
            )?
            .query_row([realm.0], |row| row.get(0))?;
        let last_active = if active {
            Some(now)
        } else {
            before.and_then(|b| b.last_active)
        };
        conn.prepare_cached(
            "INSERT INTO presence (user_id, realm_id, last_connected_at, last_active_at,
                                   last_update_id)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(user_id) DO UPDATE SET realm_id = ?2, last_connected_at = ?3,
                 last_active_at = ?4, last_update_id = ?5",
        )?
        .execute(params![
            user.0,
            realm.0,
            millis(now),
            last_active.map(millis),
            next
        ])?;
        let after = PresenceRecord {
            user_id: user,
            realm_id: realm,
            last_connected: now,
            last_active,
            last_update_id: next,
        };
        Ok((before, after))
    }

    pub(super) fn presence_of(
        conn: &Connection,
        user: UserId,
    ) -> Result<Option<PresenceRecord>, StoreError> {
        query_one(
            conn,
            &format!("SELECT {PRESENCE_COLUMNS} FROM presence WHERE user_id = ?1"),
            [user.0],
            presence_from_row,
        )
    }

    pub(super) fn realm_presence(
        conn: &Connection,
        realm: RealmId,
        after_update_id: i64,
        connected_since: Timestamp,
    ) -> Result<Vec<PresenceRecord>, StoreError> {
        query_all(
            conn,
            &format!(
                "SELECT {PRESENCE_COLUMNS} FROM presence
                 WHERE realm_id = ?1 AND last_update_id > ?2 AND last_connected_at >= ?3
                 ORDER BY user_id"
            ),
            params![realm.0, after_update_id, millis(connected_since)],
            presence_from_row,
        )
    }

    pub(super) fn set_user_status(
        conn: &Connection,
        user: UserId,
        realm: RealmId,
        status: &StatusRecord,
    ) -> Result<(), StoreError> {
        conn.prepare_cached(
            "INSERT INTO user_status (user_id, realm_id, status_text, away, emoji_name,
                                      emoji_code, reaction_type)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(user_id) DO UPDATE SET realm_id = ?2, status_text = ?3, away = ?4,
                 emoji_name = ?5, emoji_code = ?6, reaction_type = ?7",
        )?
        .execute(params![
            user.0,
            realm.0,
            status.status_text,
            i64::from(status.away),
            status.emoji_name,
            status.emoji_code,
            status.reaction_type
        ])?;
        Ok(())
    }

    const STATUS_COLUMNS: &str =
        "user_id, status_text, away, emoji_name, emoji_code, reaction_type";

    pub(super) fn user_status(
        conn: &Connection,
        user: UserId,
    ) -> Result<Option<StatusRecord>, StoreError> {
        Ok(query_one(
            conn,
            &format!("SELECT {STATUS_COLUMNS} FROM user_status WHERE user_id = ?1"),
            [user.0],
            status_from_row,
        )?
        .map(|(_, status)| status))
    }

    pub(super) fn realm_user_statuses(
        conn: &Connection,
        realm: RealmId,
    ) -> Result<Vec<(UserId, StatusRecord)>, StoreError> {
        query_all(
            conn,
            &format!(
                "SELECT {STATUS_COLUMNS} FROM user_status WHERE realm_id = ?1 ORDER BY user_id"
            ),
            [realm.0],
            status_from_row,
        )
    }
}

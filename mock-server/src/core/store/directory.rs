//! Realms and users: loading the realm file, the lookups, and the control API's changes to
//! users, which a restart lays over the realm file.

use zulip_calls_protocol::UserId;

use super::{Store, StoreError, StoreTx, shared_ops};
use crate::core::model::{RealmId, RealmRecord, UserRecord};

/// A change the control API made to a user, kept across restarts until a reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlUserChange {
    pub user_id: UserId,
    /// Created through the control API: the realm file does not have this user.
    pub added: bool,
    /// Activated or deactivated through the control API.
    pub is_active: Option<bool>,
}

impl Store {
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
}

impl StoreTx<'_> {
    /// See [`Store::replace_realms`].
    pub fn replace_realms(
        &self,
        realms: &[RealmRecord],
        users: &[UserRecord],
    ) -> Result<(), StoreError> {
        ops::replace_realms(self.tx, realms, users)
    }
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
}

/// The operations on realms and users, on a connection or a transaction (which derefs to one).
mod ops {
    use rusqlite::{Connection, params};

    use super::*;
    use crate::core::store::rows::{USER_COLUMNS, email_key, user_from_row};
    use crate::core::store::{query_all, query_one};

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
}

//! Realms and users in memory, for authentication and lookups on every request.

use std::sync::Arc;

use foldhash::HashMap;

use zulip_calls_protocol::UserId;

use crate::core::model::{RealmId, RealmRecord, UserRecord};

/// The loaded realms and their users.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    realms: HashMap<RealmId, RealmRecord>,
    /// Shared, so a request's signed-in user is a reference count, not a copy of its strings.
    users: HashMap<UserId, Arc<UserRecord>>,
    /// Lower-cased email → user id (emails compare case-insensitively).
    by_email: HashMap<String, UserId>,
}

impl Directory {
    /// A directory of `realms` and `users`.
    pub fn new(realms: Vec<RealmRecord>, users: Vec<UserRecord>) -> Self {
        let mut directory = Directory::default();
        for realm in realms {
            directory.realms.insert(realm.id, realm);
        }
        for user in users {
            directory
                .by_email
                .insert(user.email.to_lowercase(), user.id);
            directory.users.insert(user.id, Arc::new(user));
        }
        directory
    }

    /// The user with this id, in any realm.
    pub fn user(&self, id: UserId) -> Option<&UserRecord> {
        self.users.get(&id).map(Arc::as_ref)
    }

    /// [`Directory::user`], shared: the record itself, which a replaced directory does not
    /// have (so a holder can tell whether its copy is still current).
    pub fn shared_user(&self, id: UserId) -> Option<&Arc<UserRecord>> {
        self.users.get(&id)
    }

    /// The user with this email (case-insensitive), in any realm.
    pub fn user_by_email(&self, email: &str) -> Option<&UserRecord> {
        self.shared_user_by_email(email).map(Arc::as_ref)
    }

    /// [`Directory::user_by_email`], shared.
    pub fn shared_user_by_email(&self, email: &str) -> Option<&Arc<UserRecord>> {
        // Every request signs in by email: skip the lowercased copy when there is nothing to fold.
        let key = if email.is_ascii() && !email.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Borrowed(email)
        } else {
            std::borrow::Cow::Owned(email.to_lowercase())
        };
        self.by_email
            .get(key.as_ref())
            .and_then(|id| self.users.get(id))
    }

    /// A user `viewer` may see and call: same realm and active.
    pub fn visible_user(&self, viewer: &UserRecord, id: UserId) -> Option<&UserRecord> {
        self.user(id)
            .filter(|u| u.realm_id == viewer.realm_id && u.is_active)
    }

    /// Same as [`Directory::visible_user`], by email.
    pub fn visible_user_by_email(&self, viewer: &UserRecord, email: &str) -> Option<&UserRecord> {
        self.user_by_email(email)
            .filter(|u| u.realm_id == viewer.realm_id && u.is_active)
    }

    /// The realm of `user`.
    pub fn realm(&self, id: RealmId) -> Option<&RealmRecord> {
        self.realms.get(&id)
    }

    /// Every user of `realm`, by id.
    pub fn realm_users(&self, realm: RealmId) -> Vec<&UserRecord> {
        let mut users: Vec<&UserRecord> = self
            .users
            .values()
            .map(Arc::as_ref)
            .filter(|u| u.realm_id == realm)
            .collect();
        users.sort_by_key(|u| u.id);
        users
    }

    /// Every realm, by id.
    pub fn realms(&self) -> Vec<&RealmRecord> {
        let mut realms: Vec<_> = self.realms.values().collect();
        realms.sort_by_key(|r| r.id);
        realms
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An active user of realm 1, for tests.
    pub(crate) fn user(id: i64, email: &str) -> UserRecord {
        UserRecord {
            id: UserId(id),
            realm_id: RealmId(1),
            email: email.into(),
            full_name: format!("User {id}"),
            api_key: format!("key{id}"),
            password: None,
            is_admin: false,
            is_active: true,
            is_bot: false,
        }
    }

    #[test]
    fn emails_match_in_any_case() {
        let directory = Directory::new(
            Vec::new(),
            vec![user(1, "Eva@Example.com"), user(2, "ÉMILE@example.com")],
        );
        let id = |email: &str| directory.user_by_email(email).map(|u| u.id.0);
        assert_eq!(id("eva@example.com"), Some(1));
        assert_eq!(id("EVA@EXAMPLE.COM"), Some(1));
        assert_eq!(id("émile@example.com"), Some(2));
        assert_eq!(id("Émile@Example.com"), Some(2));
        assert_eq!(id("eve@example.com"), None);
    }
}

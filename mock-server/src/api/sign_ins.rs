//! The sign-ins the HTTP edge recalls (see [`SignIns`]).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use foldhash::HashMap;

use crate::core::Core;
use crate::core::model::UserRecord;

/// The sign-ins that succeeded, by the `Authorization` header that carried them: a client
/// sends the same one with every request, and recalling it is a fraction of decoding it and
/// searching the directory. Only successes are kept, so wrong guesses take no room.
///
/// A recalled sign-in holds only while the directory still has the very same user record: a
/// reload or a change through the control API replaces the directory with new records, so a
/// new key or a deactivation applies at once.
#[derive(Debug, Default)]
pub struct SignIns {
    by_header: Mutex<HashMap<Box<[u8]>, Recalled>>,
}

#[derive(Debug)]
struct Recalled {
    /// As the credentials spelled it, for the journal.
    email: String,
    user: Arc<UserRecord>,
}

/// How many sign-ins [`SignIns`] keeps before it starts over: one per client, so far more
/// than a server has, and a bound on what forged-but-valid headers could take.
const REMEMBERED_SIGN_INS: usize = 65_536;

impl SignIns {
    /// The email and user `header` signed in as, if it did and the user is unchanged.
    pub(super) fn recall(&self, core: &Core, header: &[u8]) -> Option<(String, Arc<UserRecord>)> {
        let (email, user) = {
            let by_header = self.lock();
            let recalled = by_header.get(header)?;
            (recalled.email.clone(), Arc::clone(&recalled.user))
        };
        let current = core
            .directory()
            .shared_user(user.id)
            .is_some_and(|current| Arc::ptr_eq(current, &user));
        current.then_some((email, user))
    }

    pub(super) fn remember(&self, header: &[u8], email: &str, user: &Arc<UserRecord>) {
        let mut by_header = self.lock();
        if by_header.len() >= REMEMBERED_SIGN_INS {
            by_header.clear();
        }
        by_header.insert(
            header.into(),
            Recalled {
                email: email.to_owned(),
                user: Arc::clone(user),
            },
        );
    }

    /// How many sign-ins are kept.
    #[cfg(test)]
    pub(super) fn remembered(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Box<[u8]>, Recalled>> {
        // A map of checked sign-ins has no invariant a panic could break.
        self.by_header
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

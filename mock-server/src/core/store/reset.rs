//! The control API's reset: every call (1:1 and group) with its audit log, every push device,
//! the whole push outbox, presence and user statuses deleted in one transaction, while realms
//! and users stay.

use super::{Store, StoreError, StoreTx};

/// What [`Store::clear_activity`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClearedActivity {
    /// 1:1 calls.
    pub calls: u64,
    pub group_calls: u64,
    pub devices: u64,
    pub pushes: u64,
}

impl Store {
    /// Deletes every call with its audit log, every push device and the whole push outbox, in
    /// one transaction: the control API's reset. Realms and users stay.
    pub fn clear_activity(&mut self) -> Result<ClearedActivity, StoreError> {
        self.with_tx(|tx| tx.clear_activity())
    }
}

impl StoreTx<'_> {
    /// See [`Store::clear_activity`].
    pub fn clear_activity(&self) -> Result<ClearedActivity, StoreError> {
        let cleared = ops::clear_activity(self.tx)?;
        // Read again (none) when next asked, as after a rollback of this.
        self.active.forget();
        Ok(cleared)
    }
}

/// The reset, on a connection or a transaction (which derefs to one).
mod ops {
    use rusqlite::Connection;

    use super::*;
    use crate::core::store::count;

    pub(super) fn clear_activity(conn: &Connection) -> Result<ClearedActivity, StoreError> {
        conn.execute("DELETE FROM call_audit", [])?;
        conn.execute("DELETE FROM group_call_audit", [])?;
        conn.execute("DELETE FROM group_participants", [])?;
        conn.execute("DELETE FROM presence", [])?;
        conn.execute("DELETE FROM user_status", [])?;
        let group_calls = count(conn.execute("DELETE FROM group_calls", [])?);
        Ok(ClearedActivity {
            group_calls,
            calls: count(conn.execute("DELETE FROM calls", [])?),
            devices: count(conn.execute("DELETE FROM devices", [])?),
            pushes: count(conn.execute("DELETE FROM push_outbox", [])?),
        })
    }
}

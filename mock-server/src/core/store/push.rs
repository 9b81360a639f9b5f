//! Push devices and the push outbox: the devices users register, and the pushes the server
//! records instead of sending them.

use zulip_calls_protocol::{CallId, Timestamp, UserId};

use super::{Store, StoreError, StoreTx, shared_ops};
use crate::core::model::{Device, OutboxEntry};

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

shared_ops! {
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
}

/// The operations on push devices and the push outbox, on a connection or a transaction
/// (which derefs to one).
mod ops {
    use rusqlite::{Connection, params};

    use super::*;
    use crate::core::store::rows::{
        PUSH_COLUMNS, device_from_row, millis, push_from_row, timestamp,
    };
    use crate::core::store::{count, query_all};

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
}

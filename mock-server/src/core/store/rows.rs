//! Stored values and model values: the conversions between them (times, wire strings, JSON,
//! email keys) and, per table, the columns a query selects with the reader of one row.

use std::fmt;
use std::str::FromStr;

use rusqlite::Row;
use zulip_calls_protocol::call::EndReason;
use zulip_calls_protocol::{Call, MediaStatus, Timestamp, UserId};

use super::StoreError;
use crate::core::model::{AuditEntry, CallRecord, Device, OutboxEntry, RealmId, UserRecord};

/// The columns [`call_from_row`] reads, in its order.
macro_rules! call_columns {
    () => {
        "call_id, realm_id, call_type, state, sender_id, sender_name, sender_email, \
         receiver_id, receiver_name, receiver_email, jitsi_room_id, jitsi_url, created_at, \
         answered_at, ended_at, duration, end_reason, sender_media_status, receiver_media_status, \
         sender_heartbeat_at, receiver_heartbeat_at"
    };
}

pub(super) use call_columns;

pub(super) const USER_COLUMNS: &str =
    "id, realm_id, email, full_name, api_key, password, is_admin, is_active, is_bot";

pub(super) const PUSH_COLUMNS: &str = "id, at, user_id, call_id, event, request";

// ---- conversions ---------------------------------------------------------------------------

pub(super) fn millis(t: Timestamp) -> i64 {
    t.unix_millis()
}

pub(super) fn timestamp(what: &str, millis: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_unix_millis(millis).ok_or_else(|| StoreError::Corrupt {
        what: format!("{what}: {millis} ms is out of range"),
    })
}

fn opt_timestamp(what: &str, millis: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    millis.map(|m| timestamp(what, m)).transpose()
}

pub(super) fn parse<T>(what: &str, value: &str) -> Result<T, StoreError>
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

pub(super) fn email_key(email: &str) -> String {
    email.to_lowercase()
}

// ---- rows ----------------------------------------------------------------------------------

pub(super) fn user_from_row(row: &Row<'_>) -> Result<UserRecord, StoreError> {
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
        sender_media_status: opt_parse::<MediaStatus>("calls.sender_media_status", row.get(17)?)?,
        receiver_media_status: opt_parse::<MediaStatus>(
            "calls.receiver_media_status",
            row.get(18)?,
        )?,
        sender_heartbeat_at: opt_timestamp("calls.sender_heartbeat_at", row.get(19)?)?,
        receiver_heartbeat_at: opt_timestamp("calls.receiver_heartbeat_at", row.get(20)?)?,
    })
}

pub(super) fn audit_from_row(row: &Row<'_>) -> Result<AuditEntry, StoreError> {
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

pub(super) fn device_from_row(row: &Row<'_>) -> Result<Device, StoreError> {
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

pub(super) fn push_from_row(row: &Row<'_>) -> Result<OutboxEntry, StoreError> {
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

//! Zulip's presence and user status as records: who reported what when, and what users say
//! about themselves. The wire shapes are the API layer's; this is what the store keeps.

use zulip_calls_protocol::zulip::UserStatus;
use zulip_calls_protocol::{Timestamp, UserId};

use crate::core::model::RealmId;

/// Zulip's `OFFLINE_THRESHOLD_SECS` is in the protocol (`zulip::OFFLINE_THRESHOLD_SECS`);
/// a report after this long without one counts as coming back online (Zulip's
/// `stale_status`: 1 minute 10 seconds).
pub const STALE_AFTER_SECS: i64 = 70;

/// A user's presence as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceRecord {
    pub user_id: UserId,
    pub realm_id: RealmId,
    /// Last report of any kind.
    pub last_connected: Timestamp,
    /// Last `active` report; `None` when the user only ever reported idle.
    pub last_active: Option<Timestamp>,
    /// Position in the realm's presence sequence.
    pub last_update_id: i64,
}

impl PresenceRecord {
    /// Whether a report of `active` at `now` brings the user online, as Zulip decides when to
    /// send a `presence` event: an active report after a stale or idle one.
    pub fn comes_online(before: Option<&PresenceRecord>, active: bool, now: Timestamp) -> bool {
        let Some(before) = before else {
            return true;
        };
        let stale = now.unix_seconds() - before.last_connected.unix_seconds() > STALE_AFTER_SECS;
        let was_idle = before.last_active != Some(before.last_connected);
        active && (stale || was_idle)
    }
}

/// A user's status as stored; empty strings mean "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusRecord {
    pub status_text: String,
    pub away: bool,
    pub emoji_name: String,
    pub emoji_code: String,
    pub reaction_type: String,
}

impl StatusRecord {
    /// The status as Zulip shows it: only what is set.
    pub fn to_wire(&self) -> UserStatus {
        let emoji = !self.emoji_name.is_empty();
        UserStatus {
            away: self.away.then_some(true),
            status_text: (!self.status_text.is_empty()).then(|| self.status_text.clone()),
            emoji_name: emoji.then(|| self.emoji_name.clone()),
            emoji_code: emoji.then(|| self.emoji_code.clone()),
            reaction_type: emoji.then(|| self.reaction_type.clone()),
        }
    }
}

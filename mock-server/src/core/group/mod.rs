//! Group calls (the 1.1 dialect's §6): a host opens a call in a Jitsi room of its own and
//! invites users, who each ring, join, decline, leave or miss it on their own.
//!
//! Like 1:1 calls ([`super::calls`]), every operation goes through one desk, [`GroupDesk`],
//! which applies the protocol's participant rules
//! ([`zulip_calls_protocol::plugin::group::machine`]) under the store lock, persists the call
//! with its participants and an audit entry, moves the call's deadline and announces a
//! [`GroupChange`] to the core's listeners. Rendering that change (events, pushes) is the
//! listeners' business.
//!
//! A user is in at most one call at a time, whatever its kind: a party of an active 1:1 call
//! and a `joined` participant of an active group call are both busy (see
//! [`busy_call_of`]), except where group calls make nobody busy, as on the deployed plugin
//! (`Quirks::group_calls_never_busy`). The other ways the deployed plugin's group calls differ
//! are fields of [`crate::core::compat::Quirks`] too, read here where they apply.

pub mod desk;
pub mod model;

pub use desk::{
    GroupDesk, GroupError, GroupResult, Invited, NewGroupCall, busy_call_of, next_group_deadline,
};
pub use model::{GroupAuditEntry, GroupDeadline, GroupRecord, ParticipantRecord};

#[cfg(test)]
mod tests;

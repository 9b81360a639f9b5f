//! The push outbox: a listener that builds, for each change that notifies someone's devices,
//! the exact FCM/APNs request the plugin would send, and records it instead of sending it
//! (spec §6; group calls: spec 1.1 §6). It then announces each recorded push to the other
//! listeners (metrics count it, the webhook forwards it).
//!
//! `one_to_one` builds the pushes of 1:1 calls, `group` those of group calls; both record
//! through `outbox`.

mod group;
mod one_to_one;
mod outbox;

use zulip_calls_protocol::push::PushKind;

use super::news::{CallChange, GroupChange, Listener, Tx};

/// Records the pushes of every call change.
#[derive(Debug, Default)]
pub struct PushOutbox;

impl Listener for PushOutbox {
    fn call_changed(&self, change: &CallChange, tx: &mut Tx<'_>) {
        let kind = if change.before.is_none() {
            Some(PushKind::Call)
        } else if change.moved() {
            PushKind::for_state(change.record.call.state)
        } else {
            None
        };
        if let Some(kind) = kind {
            one_to_one::record(tx, &change.record, kind, change.at);
        }
    }

    fn group_changed(&self, change: &GroupChange, tx: &mut Tx<'_>) {
        group::record(tx, change);
    }
}

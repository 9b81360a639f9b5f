//! The pushes of group calls (spec 1.1 §6), heard by the push outbox: `group_call` to each
//! new invitee's devices, and `group_call_cancelled` when an invitation ends unanswered (the
//! invitee missed it, or the call ended first). Where the server pushes as the deployed
//! plugin does (`Quirks::plugin_pushes`), an invitation is its legacy `call` push alone and
//! nothing else is pushed; where misses go untold (`Quirks::group_misses_untold`), no
//! `group_call_cancelled`.

use zulip_calls_protocol::UserId;
use zulip_calls_protocol::plugin::deployed_push::{
    CallPushData, DeployedPushContext, call_push_notification,
};
use zulip_calls_protocol::plugin::group::{GroupPushContext, GroupPushKind, GroupUser};
use zulip_calls_protocol::push::{PushNotification, build_push};

use super::outbox::{OutgoingPush, push_context, record_one, target_of};
use crate::core::news::{GroupChange, GroupHappening, Tx};
use crate::core::store::DeviceKind;

/// Records the pushes `change` sends.
pub(super) fn record(tx: &mut Tx<'_>, change: &GroupChange) {
    if !tx.core.settings().call_push_notification_enabled {
        return;
    }
    let record = &change.record;
    let host = &record.call.host;
    let inviter = |by: Option<UserId>| -> GroupUser {
        by.and_then(|id| record.participant(id))
            .map(|p| GroupUser {
                user_id: p.participant.user_id,
                full_name: p.participant.full_name.clone(),
            })
            .unwrap_or_else(|| host.clone())
    };
    let (kind, users, sender): (_, Vec<UserId>, _) = match &change.what {
        GroupHappening::Created { invited } => (
            GroupPushKind::Invitation,
            invited.clone(),
            inviter(change.by),
        ),
        GroupHappening::Invited { users } => {
            (GroupPushKind::Invitation, users.clone(), inviter(change.by))
        }
        _ if tx.core.quirks().plugin_pushes => return,
        _ if tx.core.quirks().group_misses_untold => return,
        GroupHappening::Missed { user } => (GroupPushKind::Cancelled, vec![*user], host.clone()),
        // Invitations still open when the call ended are cancelled.
        GroupHappening::Ended { .. } => {
            let pending = change
                .before
                .iter()
                .filter(|(_, state)| state.is_pending())
                .map(|(user, _)| *user)
                .collect();
            (GroupPushKind::Cancelled, pending, host.clone())
        }
        _ => return,
    };
    if users.is_empty() {
        return;
    }
    let Some((context, realm)) = push_context(tx.core, record.realm_id) else {
        return;
    };
    let ctx = GroupPushContext {
        context: &context,
        realm: &realm,
        now: change.at,
    };
    if tx.core.quirks().plugin_pushes {
        plugin_invitations(tx, change, &users, &sender, &context, &realm);
        return;
    }
    let sound = tx.core.settings().call_push_notification_sound.clone();
    for user in users {
        let Some(place) = record.participant(user) else {
            continue;
        };
        let devices = match tx.store().devices_of(user) {
            Ok(devices) => devices,
            Err(err) => {
                tracing::error!(error = %err, "could not read devices");
                continue;
            }
        };
        if devices.is_empty() {
            continue;
        }
        let notification =
            PushNotification::group(&record.call, &place.participant, &sender, kind, &ctx);
        for device in devices {
            let provider = DeviceKind::of(&device).as_str();
            let request = build_push(&target_of(device), &notification, &sound);
            let body = serde_json::to_value(&request).unwrap_or_default();
            let push = OutgoingPush {
                provider,
                recipient: user,
                call_id: record.call.call_id,
                event: kind.event().as_str(),
            };
            record_one(tx, &push, change.at, &body);
        }
    }
}

/// The plugin's group invitations: `send_call_push_notification` to each invitee, with the
/// group call's id, its bare room URL and the inviter as the caller (the legacy push alone).
fn plugin_invitations(
    tx: &mut Tx<'_>,
    change: &GroupChange,
    users: &[UserId],
    inviter: &GroupUser,
    context: &zulip_calls_protocol::push::PushContext,
    realm: &zulip_calls_protocol::push::PushRealm,
) {
    let call = &change.record.call;
    let data = CallPushData {
        call_id: call.call_id,
        call_type: call.call_type,
        sender_id: inviter.user_id.0,
        sender_name: &inviter.full_name,
        jitsi_url: &call.jitsi_url,
    };
    let ctx = DeployedPushContext {
        context,
        realm_name: &realm.name,
        realm_id: realm.id,
        receiver_join_url: &call.jitsi_url,
        now: change.at,
    };
    for user in users {
        let devices = match tx.store().devices_of(*user) {
            Ok(devices) => devices,
            Err(err) => {
                tracing::error!(error = %err, "could not read devices");
                continue;
            }
        };
        for device in devices {
            let provider = DeviceKind::of(&device).as_str();
            let body = call_push_notification(&data, user.0, &target_of(device), &ctx);
            let push = OutgoingPush {
                provider,
                recipient: *user,
                call_id: call.call_id,
                // A `call` push, as the app reads it.
                event: zulip_calls_protocol::push::PushKind::Call.event().as_str(),
            };
            record_one(tx, &push, change.at, &body);
        }
    }
}

//! The pushes of 1:1 calls: the invitation to the receiver, the answer to the caller, the
//! cancellation and the missed call, in the contract's form or the deployed plugin's.

use zulip_calls_protocol::RespondAction;
use zulip_calls_protocol::call::Party;
use zulip_calls_protocol::plugin::deployed_push::{
    DeployedPush, DeployedPushContext, deployed_pushes,
};
use zulip_calls_protocol::push::{PushKind, PushNotification, build_push_in};
use zulip_calls_protocol::{Dialect, Timestamp};

use super::outbox::{OutgoingPush, push_context, record_one, target_of};
use crate::core::model::{CallRecord, Device};
use crate::core::news::Tx;
use crate::core::store::DeviceKind;

/// Records the push for `kind` to each device of its recipient.
pub(super) fn record(tx: &mut Tx<'_>, record: &CallRecord, kind: PushKind, now: Timestamp) {
    let core = tx.core;
    let settings = core.settings();
    if !settings.call_push_notification_enabled {
        return;
    }
    let recipient = match kind {
        PushKind::CallResponse(_) => record.call.sender_id,
        _ => record.call.receiver_id,
    };
    let devices = match tx.store().devices_of(recipient) {
        Ok(devices) if devices.is_empty() => return,
        Ok(devices) => devices,
        Err(err) => {
            tracing::error!(error = %err, "could not read devices");
            return;
        }
    };
    // A server that speaks the 1.1 dialect adds the keys its mobile app reads (spec 1.1 §7);
    // clients of the design dialect ignore them.
    let dialect = if settings.calls_api.serves(Dialect::V1_1) {
        Dialect::V1_1
    } else {
        Dialect::Design
    };
    let Some((context, realm)) = push_context(core, record.realm_id) else {
        return;
    };
    if core.quirks().plugin_pushes {
        let push = match kind {
            PushKind::Call => DeployedPush::Invitation,
            PushKind::CallResponse(RespondAction::Reject) => DeployedPush::Declined,
            PushKind::MissedCall => DeployedPush::Missed,
            // The plugin pushes nothing else.
            PushKind::CallResponse(RespondAction::Accept) | PushKind::CallCancelled => return,
        };
        let join_url = core.join_urls.for_party(&record.call, Party::Receiver, now);
        let ctx = DeployedPushContext {
            context: &context,
            realm_name: &realm.name,
            realm_id: realm.id,
            receiver_join_url: &join_url,
            now,
        };
        // The legacy pushes to every device first, then the FCM call pushes, as the
        // plugin's two on-commit hooks send them.
        let mut requests: Vec<(Device, serde_json::Value)> = Vec::new();
        let mut second: Vec<(Device, serde_json::Value)> = Vec::new();
        for device in devices {
            let target = target_of(device.clone());
            let mut built =
                deployed_pushes(push, &record.call, recipient.0, &target, &ctx).into_iter();
            if let Some(first) = built.next() {
                requests.push((device.clone(), first));
            }
            second.extend(built.map(|request| (device.clone(), request)));
        }
        requests.extend(second);
        for (device, body) in requests {
            let provider = DeviceKind::of(&device).as_str();
            save(tx, provider, record, recipient, kind, now, &body);
        }
        return;
    }
    let notification = PushNotification::new(&record.call, recipient, kind, &context, now);
    for device in devices {
        let provider = DeviceKind::of(&device).as_str();
        let target = target_of(device);
        let request = build_push_in(
            dialect,
            &realm,
            &target,
            &notification,
            &settings.call_push_notification_sound,
        );
        let body = serde_json::to_value(&request).unwrap_or_default();
        save(tx, provider, record, recipient, kind, now, &body);
    }
}

/// Records one push, sent through `provider`.
fn save(
    tx: &mut Tx<'_>,
    provider: &'static str,
    record: &CallRecord,
    recipient: zulip_calls_protocol::UserId,
    kind: PushKind,
    now: Timestamp,
    body: &serde_json::Value,
) {
    let push = OutgoingPush {
        provider,
        recipient,
        call_id: record.call.call_id,
        event: kind.event().as_str(),
    };
    record_one(tx, &push, now, body);
}

//! The push outbox: a listener that builds, for each call change that notifies a party's
//! devices, the exact FCM/APNs request the plugin would send, and records it instead of
//! sending it (spec §6). It then announces each recorded push to the other listeners
//! (metrics count it, the webhook forwards it).

use zulip_calls_protocol::RespondAction;
use zulip_calls_protocol::call::Party;
use zulip_calls_protocol::plugin::deployed_push::{
    DeployedPush, DeployedPushContext, deployed_pushes,
};
use zulip_calls_protocol::push::{
    PushContext, PushKind, PushNotification, PushRealm, PushTarget, build_push_in,
};
use zulip_calls_protocol::{Dialect, Timestamp};

use super::model::{CallRecord, Device};
use super::news::{CallChange, GroupChange, Listener, RecordedPush, Tx};
use super::store::DeviceKind;

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
            record(tx, &change.record, kind, change.at);
        }
    }

    fn group_changed(&self, change: &GroupChange, tx: &mut Tx<'_>) {
        super::group::pushes::record(tx, change);
    }
}

/// Records the push for `kind` to each device of its recipient.
fn record(tx: &mut Tx<'_>, record: &CallRecord, kind: PushKind, now: Timestamp) {
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

/// The server and realm fields of a push to a user of `realm_id`; `None` (logged) when the
/// realm's URL has no host to name.
pub(crate) fn push_context(
    core: &super::Core,
    realm_id: super::model::RealmId,
) -> Option<(PushContext, PushRealm)> {
    let (realm_url, realm) = {
        let directory = core.directory();
        let realm = directory.realm(realm_id);
        (
            realm.map(|r| r.url.clone()).unwrap_or_default(),
            PushRealm {
                name: realm.map(|r| r.name.clone()).unwrap_or_default(),
                id: realm_id.0,
            },
        )
    };
    let context = PushContext::from_realm_url(&realm_url, core.settings().timeout_seconds());
    if context.is_none() {
        tracing::warn!(realm_url, "realm URL has no host; push not built");
    }
    Some((context?, realm))
}

/// Where a registered device's pushes go.
pub(crate) fn target_of(device: Device) -> PushTarget {
    match device {
        Device::Fcm { token } => PushTarget::Fcm { token },
        Device::Apns { token, appid } => PushTarget::Apns { token, appid },
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

/// One push about to be recorded: to whom, through which provider, about which call.
pub(crate) struct OutgoingPush {
    pub provider: &'static str,
    pub recipient: zulip_calls_protocol::UserId,
    pub call_id: zulip_calls_protocol::CallId,
    pub event: &'static str,
}

/// Records `push` with its request `body`, and tells the listeners that hear of pushes.
pub(crate) fn record_one(
    tx: &mut Tx<'_>,
    push: &OutgoingPush,
    now: Timestamp,
    body: &serde_json::Value,
) {
    tracing::info!(user = %push.recipient, call_id = %push.call_id, event = push.event, "push recorded");
    match tx
        .store()
        .record_push(now, push.recipient, push.call_id, push.event, body)
    {
        Ok(entry) => tx.announce_push(&RecordedPush {
            entry,
            provider: push.provider,
        }),
        Err(err) => tracing::error!(error = %err, "could not record a push"),
    }
}

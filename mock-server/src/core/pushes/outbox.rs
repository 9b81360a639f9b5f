//! Recording a built push: the outbox row, and the news of it to the listeners that hear of
//! pushes. Shared by the 1:1 and the group pushes.

use zulip_calls_protocol::Timestamp;
use zulip_calls_protocol::push::{PushContext, PushRealm, PushTarget};

use crate::core::Core;
use crate::core::model::{Device, RealmId};
use crate::core::news::{RecordedPush, Tx};

/// The server and realm fields of a push to a user of `realm_id`; `None` (logged) when the
/// realm's URL has no host to name.
pub(super) fn push_context(core: &Core, realm_id: RealmId) -> Option<(PushContext, PushRealm)> {
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
pub(super) fn target_of(device: Device) -> PushTarget {
    match device {
        Device::Fcm { token } => PushTarget::Fcm { token },
        Device::Apns { token, appid } => PushTarget::Apns { token, appid },
    }
}

/// One push about to be recorded: to whom, through which provider, about which call.
pub(super) struct OutgoingPush {
    pub provider: &'static str,
    pub recipient: zulip_calls_protocol::UserId,
    pub call_id: zulip_calls_protocol::CallId,
    pub event: &'static str,
}

/// Records `push` with its request `body`, and tells the listeners that hear of pushes.
pub(super) fn record_one(
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

//! Push notifications (spec §6): the data every push carries, and the exact provider requests
//! for FCM (HTTP v1 `messages:send`) and APNs (HTTP/2 provider API).
//!
//! A server builds a [`PushNotification`] for a call event and recipient, then one
//! [`PushRequest`] per registered device with [`build_push`] (or [`build_push_in`] for a
//! chosen dialect). Requests serialise to JSON so a server (or the mock server) can record them
//! in an outbox before or instead of sending them.
//!
//! The 1.1 dialect's pushes (its spec's §7) are the same flat string data with the keys the
//! plugin's mobile app reads added ([`PluginPushFields`]); the design pushes are unchanged.
//! Group call invitations carry other data ([`crate::plugin::group::GroupPushData`]) in the
//! same provider envelopes, which are generic over the data ([`PushPayload`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::call::{Call, CallState, CallType, RespondAction};
use crate::dialect::Dialect;
use crate::ids::{CallId, UserId};
use crate::macros::string_enum;
use crate::time::Timestamp;

string_enum! {
    /// The push's `event` field.
    pub enum PushEvent {
        /// To the receiver: a call was created (the phone rings).
        Call = "call",
        /// To the sender: the receiver accepted or rejected.
        CallResponse = "call_response",
        /// To the receiver: the caller cancelled, or the call timed out before an answer
        /// (the phone stops ringing).
        CallCancelled = "call_cancelled",
        /// To the receiver: the call rang out unanswered.
        MissedCall = "missed_call",
        /// To an invitee of a group call: they were invited (the phone rings).
        GroupCall = "group_call",
        /// To an invitee of a group call: the invitation ended unanswered, or the call ended
        /// first (the phone stops ringing).
        GroupCallCancelled = "group_call_cancelled",
    }
}

impl PushEvent {
    /// The push rings the phone: it gets the ringtone on APNs and lives only as long as the
    /// ring (a ring delivered after it rang out is pointless).
    pub const fn rings(self) -> bool {
        matches!(self, PushEvent::Call | PushEvent::GroupCall)
    }

    /// The push replaces a ring: it lives as long as the ring it replaces, so that a phone
    /// offline meanwhile gets the cancellation in place of the stale ring.
    pub const fn stops_ringing(self) -> bool {
        matches!(
            self,
            PushEvent::CallCancelled | PushEvent::GroupCallCancelled
        )
    }
}

/// What the provider envelopes need of a push's data, whatever the push is about (a 1:1 call,
/// [`PushData`], or a group call invitation).
pub trait PushPayload: Clone {
    /// The wire `event`.
    fn event(&self) -> PushEvent;
    /// The call the push is about: the APNs collapse id, so a later push about the call
    /// replaces an earlier one on screen.
    fn call_id(&self) -> CallId;
    /// How long the phone rings (`CALL_NOTIFICATION_TIMEOUT`): a ringing push's FCM TTL.
    fn timeout_seconds(&self) -> u64;
}

impl PushPayload for PushData {
    fn event(&self) -> PushEvent {
        self.event
    }

    fn call_id(&self) -> CallId {
        self.call_id
    }

    fn timeout_seconds(&self) -> u64 {
        self.timeout_seconds
    }
}

/// What a push is about: the event, with the receiver's answer for `call_response`.
///
/// Carrying the answer in the variant makes a `call_response` without one (or another event
/// with one) unrepresentable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushKind {
    Call,
    CallResponse(RespondAction),
    CallCancelled,
    MissedCall,
}

impl PushKind {
    /// The wire `event`.
    pub const fn event(self) -> PushEvent {
        match self {
            PushKind::Call => PushEvent::Call,
            PushKind::CallResponse(_) => PushEvent::CallResponse,
            PushKind::CallCancelled => PushEvent::CallCancelled,
            PushKind::MissedCall => PushEvent::MissedCall,
        }
    }

    /// The wire `response`, present only for `call_response`.
    pub const fn response(self) -> Option<RespondAction> {
        match self {
            PushKind::CallResponse(action) => Some(action),
            _ => None,
        }
    }

    /// The push a transition into `state` sends, if any (to whom: see [`PushEvent`]).
    ///
    /// `timeout` covers both the ring timeout and an operator's cleanup: either way the
    /// receiver's phone may still be ringing and must stop.
    pub const fn for_state(state: CallState) -> Option<PushKind> {
        match state {
            CallState::Calling => Some(PushKind::Call),
            CallState::Accepted => Some(PushKind::CallResponse(RespondAction::Accept)),
            CallState::Rejected => Some(PushKind::CallResponse(RespondAction::Reject)),
            CallState::Cancelled | CallState::Timeout => Some(PushKind::CallCancelled),
            CallState::Missed => Some(PushKind::MissedCall),
            CallState::Ringing | CallState::Ended | CallState::NetworkFailure => None,
        }
    }
}

/// The server-wide part of every push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushContext {
    /// The server's host (Zulip's `EXTERNAL_HOST`), e.g. `chat.example.com`.
    pub server: String,
    /// The realm's URL, e.g. `https://chat.example.com`.
    pub realm_url: String,
    /// `CALL_NOTIFICATION_TIMEOUT`.
    pub timeout_seconds: u64,
}

impl PushContext {
    /// The context of a realm, with `server` taken from its URL (host, plus the port when it
    /// is not the scheme's default, as Zulip's `EXTERNAL_HOST` writes it).
    pub fn from_realm_url(realm_url: &str, timeout_seconds: u64) -> Option<PushContext> {
        let url = url::Url::parse(realm_url).ok()?;
        let host = url.host_str().filter(|h| !h.is_empty())?;
        let server = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Some(PushContext {
            server,
            realm_url: realm_url.trim_end_matches('/').to_owned(),
            timeout_seconds,
        })
    }
}

/// Serde for values that travel as decimal strings (FCM data values must all be strings).
pub(crate) mod as_string {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// The fields every push carries (FCM `data`, and the APNs body beside `aps`).
///
/// Every value serialises as a string. `sender_*` is always the call's sender (the caller),
/// whoever receives the push; `user_id` is the recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PushData {
    pub event: PushEvent,
    /// The server's host.
    pub server: String,
    pub realm_url: String,
    /// The push's recipient.
    #[serde(with = "as_string")]
    #[schemars(with = "String")]
    pub user_id: UserId,
    pub call_id: CallId,
    #[serde(with = "as_string")]
    #[schemars(with = "String")]
    pub sender_id: UserId,
    pub sender_full_name: String,
    pub call_type: CallType,
    /// The bare room URL, never a join URL (a join URL may hold the recipient's token and a
    /// push passes through Google or Apple).
    pub jitsi_url: String,
    #[serde(with = "as_string")]
    #[schemars(with = "String")]
    pub timeout_seconds: u64,
    /// When the push was built, in Unix seconds.
    #[serde(with = "as_string")]
    #[schemars(with = "String")]
    pub time: i64,
    /// Only for `call_response`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<RespondAction>,
    /// The 1.1 dialect's additional keys; absent from design pushes.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginPushFields>,
}

/// The realm facts a 1.1 push carries beside the design data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PushRealm {
    /// The realm's display name.
    pub name: String,
    /// The realm's numeric id.
    pub id: i64,
}

/// The keys the plugin's mobile app reads, which the 1.1 dialect adds to every push. Like the
/// rest of the data, every value is a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PluginPushFields {
    /// The same value as `event` (the app reads `type`).
    #[serde(rename = "type")]
    pub push_type: PushEvent,
    /// The caller's name (= `sender_full_name`).
    pub sender_name: String,
    /// `/avatar/<sender_id>`, relative to the realm.
    pub sender_avatar_url: String,
    /// The realm's URL (= `realm_url`, under the app's older name).
    pub realm_uri: String,
    pub realm_name: String,
    #[serde(with = "as_string")]
    #[schemars(with = "String")]
    pub realm_id: i64,
}

impl PluginPushFields {
    /// The 1.1 keys for a push with design `data` from `realm`.
    pub fn new(data: &PushData, realm: &PushRealm) -> Self {
        PluginPushFields {
            push_type: data.event,
            sender_name: data.sender_full_name.clone(),
            sender_avatar_url: crate::plugin::avatar_path(data.sender_id),
            realm_uri: data.realm_url.clone(),
            realm_name: realm.name.clone(),
            realm_id: realm.id,
        }
    }
}

impl PushData {
    /// The data of a `kind` push about `call` to `recipient`, built at `now`.
    pub fn new(
        call: &Call,
        recipient: UserId,
        kind: PushKind,
        context: &PushContext,
        now: Timestamp,
    ) -> PushData {
        PushData {
            event: kind.event(),
            server: context.server.clone(),
            realm_url: context.realm_url.clone(),
            user_id: recipient,
            call_id: call.call_id,
            sender_id: call.sender_id,
            sender_full_name: call.sender_name.clone(),
            call_type: call.call_type,
            jitsi_url: call.jitsi_url.clone(),
            timeout_seconds: context.timeout_seconds,
            time: now.unix_seconds(),
            response: kind.response(),
            plugin: None,
        }
    }

    /// The same data in `dialect`: with the 1.1 keys from `realm` added, or without them.
    pub fn in_dialect(mut self, dialect: Dialect, realm: &PushRealm) -> PushData {
        self.plugin = match dialect {
            Dialect::Design => None,
            Dialect::V1_1 => Some(PluginPushFields::new(&self, realm)),
        };
        self
    }

    /// The same fields as a string map, for FCM client libraries that take one.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            map.insert(k.to_owned(), v);
        };
        put("event", self.event.as_str().to_owned());
        put("server", self.server.clone());
        put("realm_url", self.realm_url.clone());
        put("user_id", self.user_id.to_string());
        put("call_id", self.call_id.to_string());
        put("sender_id", self.sender_id.to_string());
        put("sender_full_name", self.sender_full_name.clone());
        put("call_type", self.call_type.as_str().to_owned());
        put("jitsi_url", self.jitsi_url.clone());
        put("timeout_seconds", self.timeout_seconds.to_string());
        put("time", self.time.to_string());
        if let Some(response) = self.response {
            put("response", response.as_str().to_owned());
        }
        if let Some(plugin) = &self.plugin {
            put("type", plugin.push_type.as_str().to_owned());
            put("sender_name", plugin.sender_name.clone());
            put("sender_avatar_url", plugin.sender_avatar_url.clone());
            put("realm_uri", plugin.realm_uri.clone());
            put("realm_name", plugin.realm_name.clone());
            put("realm_id", plugin.realm_id.to_string());
        }
        map
    }
}

/// A push ready for any device: its data and the visible alert (used by APNs only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PushNotification<D = PushData> {
    pub data: D,
    pub alert: ApnsAlert,
    /// Unix seconds when the phone stops ringing (`timeout_seconds` after a 1:1 call's
    /// `created_at`, or after a group invitee's `invited_at`): how long APNs may hold a ringing
    /// push, and the one that stops it, for an offline phone.
    pub ring_expires_at: i64,
}

impl PushNotification {
    /// The `kind` push about `call` to `recipient`, built at `now`.
    ///
    /// The alert needs the receiver's name (for `call_response`), which the data does not
    /// carry, so both are built here from the call.
    pub fn new(
        call: &Call,
        recipient: UserId,
        kind: PushKind,
        context: &PushContext,
        now: Timestamp,
    ) -> PushNotification {
        let timeout = i64::try_from(context.timeout_seconds).unwrap_or(i64::MAX);
        PushNotification {
            data: PushData::new(call, recipient, kind, context, now),
            alert: alert_for(kind, call.call_type, &call.sender_name, &call.receiver_name),
            ring_expires_at: call.created_at.unix_seconds().saturating_add(timeout),
        }
    }

    /// The same push in `dialect` (see [`PushData::in_dialect`]); the alert is shared.
    pub fn in_dialect(mut self, dialect: Dialect, realm: &PushRealm) -> PushNotification {
        self.data = self.data.in_dialect(dialect, realm);
        self
    }
}

/// The visible APNs alert of each push.
///
/// The contract fixes only the `call` alert ("Incoming video call" / "&lt;name&gt; is calling you");
/// the texts of the other events are this crate's choice and live here, in one place.
/// `call_cancelled` reads the same whether the caller hung up or the call timed out.
pub fn alert_for(
    kind: PushKind,
    call_type: CallType,
    sender_name: &str,
    receiver_name: &str,
) -> ApnsAlert {
    let (title, body) = match kind {
        PushKind::Call => (
            match call_type {
                CallType::Video => "Incoming video call",
                CallType::Audio => "Incoming audio call",
            },
            format!("{sender_name} is calling you"),
        ),
        PushKind::CallResponse(RespondAction::Accept) => (
            "Call accepted",
            format!("{receiver_name} accepted your call"),
        ),
        PushKind::CallResponse(RespondAction::Reject) => (
            "Call declined",
            format!("{receiver_name} declined your call"),
        ),
        PushKind::CallCancelled => (
            "Call cancelled",
            format!("{sender_name} cancelled the call"),
        ),
        PushKind::MissedCall => (
            match call_type {
                CallType::Video => "Missed video call",
                CallType::Audio => "Missed audio call",
            },
            format!("You missed a call from {sender_name}"),
        ),
    };
    ApnsAlert {
        title: title.to_owned(),
        body,
    }
}

/// A registered device (Zulip's `android_gcm_reg_id` / `apns_device_token` endpoints).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PushTarget {
    /// An Android device's FCM registration token.
    Fcm { token: String },
    /// An iOS device token and the app's bundle id (the `apns-topic`).
    Apns { token: String, appid: String },
}

/// One provider request, as a server sends it or the mock server records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "provider", content = "request", rename_all = "snake_case")]
pub enum PushRequest<D = PushData> {
    Fcm(FcmRequest<D>),
    Apns(ApnsRequest<D>),
}

/// The provider request for `notification` to `device`, in `dialect`: [`build_push`]'s request
/// with the 1.1 keys from `realm` added for [`Dialect::V1_1`], exactly it for the design.
///
/// Either way it is one request per device and event: the 1.1 app rings on one data message.
pub fn build_push_in(
    dialect: Dialect,
    realm: &PushRealm,
    device: &PushTarget,
    notification: &PushNotification,
    sound: &str,
) -> PushRequest {
    let notification = notification.clone().in_dialect(dialect, realm);
    build_push(device, &notification, sound)
}

/// The provider request for `notification` to `device`.
///
/// `sound` is `CALL_PUSH_NOTIFICATION_SOUND`; it rings only on pushes that ring
/// ([`PushEvent::rings`]), and an empty string means no sound.
pub fn build_push<D: PushPayload>(
    device: &PushTarget,
    notification: &PushNotification<D>,
    sound: &str,
) -> PushRequest<D> {
    match device {
        PushTarget::Fcm { token } => PushRequest::Fcm(FcmRequest::new(token, &notification.data)),
        PushTarget::Apns { token, appid } => {
            PushRequest::Apns(ApnsRequest::new(token, appid, notification, sound))
        }
    }
}

string_enum! {
    /// FCM's `android.priority`.
    pub enum AndroidPriority {
        Normal = "NORMAL",
        High = "HIGH",
    }
}

/// The body of FCM HTTP v1 `POST /v1/projects/<project>/messages:send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FcmRequest<D = PushData> {
    pub message: FcmMessage<D>,
}

/// A data-only FCM message: the app decides how to ring, so there is no `notification` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FcmMessage<D = PushData> {
    pub token: String,
    pub data: D,
    pub android: FcmAndroid,
}

/// FCM's Android options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FcmAndroid {
    pub priority: AndroidPriority,
    /// `"<timeout_seconds>s"` on a push that rings (a ring delivered after the call rang out
    /// is pointless); absent otherwise, leaving FCM's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

impl<D: PushPayload> FcmRequest<D> {
    /// The FCM request for `data` to the device `token`.
    ///
    /// Priority is HIGH for every event, not just `call`: a normal-priority message may wait
    /// until the phone leaves Doze, and a `call_cancelled` that waits leaves the phone ringing
    /// for a call that is over.
    pub fn new(token: &str, data: &D) -> FcmRequest<D> {
        let ttl = data
            .event()
            .rings()
            .then(|| format!("{}s", data.timeout_seconds()));
        FcmRequest {
            message: FcmMessage {
                token: token.to_owned(),
                data: data.clone(),
                android: FcmAndroid {
                    priority: AndroidPriority::High,
                    ttl,
                },
            },
        }
    }
}

/// An APNs provider request: `POST /3/device/<device_token>` with these headers and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApnsRequest<D = PushData> {
    /// The device token; it goes in the request path, see [`ApnsRequest::path`].
    pub device_token: String,
    pub headers: ApnsHeaders,
    pub body: ApnsBody<D>,
}

/// The APNs request headers, under their real header names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApnsHeaders {
    /// `alert`: the notification is visible.
    #[serde(rename = "apns-push-type")]
    pub apns_push_type: String,
    /// `10`: deliver immediately.
    #[serde(rename = "apns-priority")]
    pub apns_priority: String,
    /// Unix seconds after which APNs drops an undelivered push; `0` means try once, never store.
    #[serde(rename = "apns-expiration")]
    pub apns_expiration: String,
    /// The app's bundle id (`appid`).
    #[serde(rename = "apns-topic")]
    pub apns_topic: String,
    /// The call id, so a later push about the call replaces an earlier one on screen.
    #[serde(rename = "apns-collapse-id")]
    pub apns_collapse_id: String,
}

impl ApnsHeaders {
    /// The headers as (name, value) pairs, in a fixed order, for an HTTP client.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("apns-push-type", self.apns_push_type.clone()),
            ("apns-priority", self.apns_priority.clone()),
            ("apns-expiration", self.apns_expiration.clone()),
            ("apns-topic", self.apns_topic.clone()),
            ("apns-collapse-id", self.apns_collapse_id.clone()),
        ]
    }
}

/// The APNs JSON payload: `aps` plus the push data alongside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApnsBody<D = PushData> {
    pub aps: Aps,
    #[serde(flatten)]
    pub data: D,
}

/// The `aps` dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Aps {
    pub alert: ApnsAlert,
    /// Only on a push that rings: the ringtone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<String>,
}

/// A visible alert; see [`alert_for`] for the texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApnsAlert {
    pub title: String,
    pub body: String,
}

impl<D: PushPayload> ApnsRequest<D> {
    /// The APNs request for `notification` to device `token` of app `appid`.
    ///
    /// A ringing push expires when the call would ring out, so a phone that comes online later
    /// does not ring for a dead call; the push that stops the ring lives as long, to replace
    /// it; the others use `0` (deliver now or never).
    pub fn new(
        token: &str,
        appid: &str,
        notification: &PushNotification<D>,
        sound: &str,
    ) -> ApnsRequest<D> {
        let data = &notification.data;
        let event = data.event();
        // A cancellation shares the ring's collapse id and lifetime, so a phone that was
        // offline gets the cancellation in place of the stale ring instead of ringing.
        let expiration = if event.rings() || event.stops_ringing() {
            notification.ring_expires_at.to_string()
        } else {
            "0".to_owned()
        };
        ApnsRequest {
            device_token: token.to_owned(),
            headers: ApnsHeaders {
                apns_push_type: "alert".to_owned(),
                apns_priority: "10".to_owned(),
                apns_expiration: expiration,
                apns_topic: appid.to_owned(),
                apns_collapse_id: data.call_id().to_string(),
            },
            body: ApnsBody {
                aps: Aps {
                    alert: notification.alert.clone(),
                    sound: (event.rings() && !sound.is_empty()).then(|| sound.to_owned()),
                },
                data: data.clone(),
            },
        }
    }

    /// The request path on the APNs host.
    pub fn path(&self) -> String {
        format!("/3/device/{}", self.device_token)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn call(call_type: CallType) -> Call {
        Call {
            call_id: "0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f".parse().unwrap(),
            call_type,
            state: CallState::Calling,
            sender_id: UserId(10),
            sender_name: "King Hamlet".into(),
            sender_email: "hamlet@zulip.com".into(),
            receiver_id: UserId(12),
            receiver_name: "Othello, the Moor of Venice".into(),
            receiver_email: "othello@zulip.com".into(),
            jitsi_room_id: "zulip-call-0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f".into(),
            jitsi_url: "https://meet.jit.si/zulip-call-0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f".into(),
            created_at: "2024-01-01T12:00:00Z".parse().unwrap(),
            answered_at: None,
            ended_at: None,
            duration: None,
            end_reason: None,
        }
    }

    fn context() -> PushContext {
        PushContext::from_realm_url("https://chat.example.com", 120).unwrap()
    }

    fn now() -> Timestamp {
        "2024-01-01T12:00:00Z".parse().unwrap()
    }

    fn notification(kind: PushKind, recipient: UserId) -> PushNotification {
        PushNotification::new(&call(CallType::Video), recipient, kind, &context(), now())
    }

    #[test]
    fn every_data_value_is_a_string() {
        let data = notification(PushKind::CallResponse(RespondAction::Accept), UserId(10)).data;
        let value = serde_json::to_value(&data).unwrap();
        let object = value.as_object().unwrap();
        assert_eq!(object.len(), 12);
        assert!(object.values().all(Value::is_string), "{value}");
        assert_eq!(value["response"], "accept");
        assert_eq!(value["user_id"], "10");
        assert_eq!(value["time"], "1704110400");
        let map: BTreeMap<String, String> = serde_json::from_value(value).unwrap();
        assert_eq!(map, data.to_map());
    }

    #[test]
    fn response_only_on_call_response() {
        for kind in [
            PushKind::Call,
            PushKind::CallCancelled,
            PushKind::MissedCall,
        ] {
            let value = serde_json::to_value(notification(kind, UserId(12)).data).unwrap();
            assert!(value.get("response").is_none(), "{kind:?}");
        }
    }

    #[test]
    fn context_from_realm_url() {
        let ctx = PushContext::from_realm_url("http://localhost:9991/", 60).unwrap();
        assert_eq!(ctx.server, "localhost:9991");
        assert_eq!(ctx.realm_url, "http://localhost:9991");
        assert_eq!(context().server, "chat.example.com");
        assert_eq!(PushContext::from_realm_url("nope", 60), None);
    }

    #[test]
    fn fcm_is_high_priority_with_ttl_only_on_call() {
        let device = PushTarget::Fcm {
            token: "tok".into(),
        };
        for kind in [
            PushKind::Call,
            PushKind::CallResponse(RespondAction::Reject),
            PushKind::CallCancelled,
            PushKind::MissedCall,
        ] {
            let PushRequest::Fcm(request) =
                build_push(&device, &notification(kind, UserId(12)), "x.wav")
            else {
                panic!("not FCM");
            };
            assert_eq!(request.message.android.priority, AndroidPriority::High);
            let expected_ttl = matches!(kind, PushKind::Call).then(|| "120s".to_owned());
            assert_eq!(request.message.android.ttl, expected_ttl, "{kind:?}");
        }
    }

    #[test]
    fn apns_sound_only_on_call_and_expiry_only_for_the_ring() {
        let device = PushTarget::Apns {
            token: "abc".into(),
            appid: "org.zulip.Zulip".into(),
        };
        let PushRequest::Apns(ring) = build_push(
            &device,
            &notification(PushKind::Call, UserId(12)),
            "call_ring.wav",
        ) else {
            panic!("not APNs");
        };
        assert_eq!(ring.body.aps.sound.as_deref(), Some("call_ring.wav"));
        assert_eq!(ring.headers.apns_expiration, "1704110520");
        assert_eq!(ring.path(), "/3/device/abc");

        let PushRequest::Apns(silent) =
            build_push(&device, &notification(PushKind::Call, UserId(12)), "")
        else {
            panic!("not APNs");
        };
        assert_eq!(silent.body.aps.sound, None);

        let PushRequest::Apns(cancel) = build_push(
            &device,
            &notification(PushKind::CallCancelled, UserId(12)),
            "call_ring.wav",
        ) else {
            panic!("not APNs");
        };
        assert_eq!(cancel.body.aps.sound, None);
        // The cancellation lives as long as the ring it replaces (same collapse id).
        assert_eq!(cancel.headers.apns_expiration, ring.headers.apns_expiration);
        let PushRequest::Apns(missed) = build_push(
            &device,
            &notification(PushKind::MissedCall, UserId(12)),
            "call_ring.wav",
        ) else {
            panic!("not APNs");
        };
        assert_eq!(missed.headers.apns_expiration, "0");
        assert_eq!(
            cancel.headers.pairs(),
            vec![
                ("apns-push-type", "alert".to_owned()),
                ("apns-priority", "10".to_owned()),
                ("apns-expiration", "1704110520".to_owned()),
                ("apns-topic", "org.zulip.Zulip".to_owned()),
                (
                    "apns-collapse-id",
                    "0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f".to_owned()
                ),
            ]
        );
        let headers = serde_json::to_value(&cancel.headers).unwrap();
        let names: Vec<&str> = headers
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for (name, value) in cancel.headers.pairs() {
            assert!(names.contains(&name));
            assert_eq!(headers[name], value);
        }
    }

    #[test]
    fn alert_texts() {
        let hamlet = "King Hamlet";
        let othello = "Othello";
        let text = |kind, call_type| {
            let a = alert_for(kind, call_type, hamlet, othello);
            (a.title, a.body)
        };
        let pair = |t: &str, b: &str| (t.to_owned(), b.to_owned());
        assert_eq!(
            text(PushKind::Call, CallType::Video),
            pair("Incoming video call", "King Hamlet is calling you")
        );
        assert_eq!(
            text(PushKind::Call, CallType::Audio),
            pair("Incoming audio call", "King Hamlet is calling you")
        );
        assert_eq!(
            text(
                PushKind::CallResponse(RespondAction::Accept),
                CallType::Video
            ),
            pair("Call accepted", "Othello accepted your call")
        );
        assert_eq!(
            text(
                PushKind::CallResponse(RespondAction::Reject),
                CallType::Audio
            ),
            pair("Call declined", "Othello declined your call")
        );
        assert_eq!(
            text(PushKind::CallCancelled, CallType::Video),
            pair("Call cancelled", "King Hamlet cancelled the call")
        );
        assert_eq!(
            text(PushKind::MissedCall, CallType::Video),
            pair("Missed video call", "You missed a call from King Hamlet")
        );
        assert_eq!(
            text(PushKind::MissedCall, CallType::Audio),
            pair("Missed audio call", "You missed a call from King Hamlet")
        );
    }

    #[test]
    fn kinds_follow_states() {
        assert_eq!(
            PushKind::for_state(CallState::Calling),
            Some(PushKind::Call)
        );
        assert_eq!(
            PushKind::for_state(CallState::Rejected),
            Some(PushKind::CallResponse(RespondAction::Reject))
        );
        assert_eq!(
            PushKind::for_state(CallState::Timeout),
            Some(PushKind::CallCancelled)
        );
        assert_eq!(
            PushKind::for_state(CallState::Missed),
            Some(PushKind::MissedCall)
        );
        assert_eq!(PushKind::for_state(CallState::Ended), None);
        assert_eq!(PushKind::for_state(CallState::Ringing), None);
    }

    #[test]
    fn rings_and_their_cancellations() {
        let ringing: Vec<_> = PushEvent::ALL.iter().filter(|e| e.rings()).collect();
        assert_eq!(ringing, [&PushEvent::Call, &PushEvent::GroupCall]);
        let stopping: Vec<_> = PushEvent::ALL
            .iter()
            .filter(|e| e.stops_ringing())
            .collect();
        assert_eq!(
            stopping,
            [&PushEvent::CallCancelled, &PushEvent::GroupCallCancelled]
        );
    }

    #[test]
    fn push_request_and_target_are_tagged() {
        let device = PushTarget::Fcm { token: "t".into() };
        assert_eq!(
            serde_json::to_value(&device).unwrap(),
            json!({"kind": "fcm", "token": "t"})
        );
        let request = build_push(&device, &notification(PushKind::MissedCall, UserId(12)), "");
        let value = serde_json::to_value(&request).unwrap();
        assert_eq!(value["provider"], "fcm");
        assert_eq!(value["request"]["message"]["token"], "t");
        let back: PushRequest = serde_json::from_value(value).unwrap();
        assert_eq!(back, request);
    }
}

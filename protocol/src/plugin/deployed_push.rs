//! The pushes the released plugin 1.1.0 sends, as a device receives them (what
//! `plugin-1.1-dialect.md` §7 fixes): an invitation goes out twice to an Android device
//! (Zulip's legacy path, whose `custom` blob arrives as a Python `repr` string, then the
//! fork's flat FCM call path), once to an Apple one; a decline tells the caller, a missed
//! call the receiver; a group invitation is the legacy invitation alone, about the group
//! call; nothing else is pushed.
//!
//! Each push is recorded as the contract's are (`{"provider", "request"}`, as
//! [`crate::push::PushRequest`] serialises), in the same envelopes ([`crate::push::FcmRequest`]'s
//! `message`, [`crate::push::ApnsRequest`]'s `body`), holding what the plugin's code puts there.

use serde_json::{Value, json};

use crate::call::{Call, CallType};
use crate::ids::CallId;
use crate::push::{PushContext, PushTarget};
use crate::time::Timestamp;

/// Which of the plugin's pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployedPush {
    /// To the receiver, when the call is created.
    Invitation,
    /// To the caller, when the receiver declines.
    Declined,
    /// To the receiver, when the plugin's cleanup marks the call missed.
    Missed,
}

/// A value of the plugin's `custom` dictionary: Python keeps its type, which its `repr`
/// shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Py {
    Str(String),
    Int(i64),
}

impl Py {
    fn json(&self) -> Value {
        match self {
            Py::Str(s) => json!(s),
            Py::Int(n) => json!(n),
        }
    }

    fn str(&self) -> String {
        match self {
            Py::Str(s) => s.clone(),
            Py::Int(n) => n.to_string(),
        }
    }
}

fn s(text: impl Into<String>) -> Py {
    Py::Str(text.into())
}

/// Everything a push needs beside the call.
#[derive(Debug, Clone)]
pub struct DeployedPushContext<'a> {
    pub context: &'a PushContext,
    pub realm_name: &'a str,
    pub realm_id: i64,
    /// The receiver's own join URL (the invitation carries it).
    pub receiver_join_url: &'a str,
    pub now: Timestamp,
}

/// What the plugin's views hand `send_call_push_notification` (their `push_data`), as far
/// as it reads it.
#[derive(Debug, Clone, Copy)]
pub struct CallPushData<'a> {
    pub call_id: CallId,
    pub call_type: CallType,
    /// The caller; for a group call, whoever invited.
    pub sender_id: i64,
    pub sender_name: &'a str,
    /// The receiver's join URL; for a group call, the bare room URL.
    pub jitsi_url: &'a str,
}

impl<'a> CallPushData<'a> {
    /// A 1:1 call's invitation, with the receiver's join URL.
    fn of(call: &'a Call, join_url: &'a str) -> Self {
        CallPushData {
            call_id: call.call_id,
            call_type: call.call_type,
            sender_id: call.sender_id.0,
            sender_name: &call.sender_name,
            jitsi_url: join_url,
        }
    }

    fn alert(&self) -> (String, String) {
        (
            format!("Incoming {} call", call_type(self.call_type)),
            format!("{} is calling you", self.sender_name),
        )
    }
}

/// The provider request of the plugin's `send_call_push_notification(recipient, data)` to
/// `device`: Zulip's legacy push (what a group invitation is, with the group call's id).
pub fn call_push_notification(
    data: &CallPushData<'_>,
    recipient: i64,
    device: &PushTarget,
    ctx: &DeployedPushContext<'_>,
) -> Value {
    let custom = invitation_fields(data, recipient, ctx);
    let (title, body) = data.alert();
    legacy_request(&custom, &title, &body, device)
}

/// The provider requests for `push` of `call` to `device`, in the order the plugin sends
/// them.
pub fn deployed_pushes(
    push: DeployedPush,
    call: &Call,
    recipient: i64,
    device: &PushTarget,
    ctx: &DeployedPushContext<'_>,
) -> Vec<Value> {
    let custom = custom(push, call, recipient, ctx);
    let (title, body) = alert(push, call);
    let mut requests = vec![legacy_request(&custom, &title, &body, device)];
    if let (PushTarget::Fcm { token }, DeployedPush::Invitation) = (device, push) {
        requests.push(fcm_call_request(token, call, recipient, ctx));
    }
    requests
}

/// Zulip's legacy push of `custom` with an alert.
fn legacy_request(custom: &[(&str, Py)], title: &str, body: &str, device: &PushTarget) -> Value {
    match device {
        PushTarget::Fcm { token } => {
            // The legacy path: every value of the GCM payload `str()`-ed, so `custom` arrives
            // as a Python repr; no `event` among its keys, so the generic notification block.
            let data = json!({
                "title": title,
                "content": body,
                "custom": python_repr(custom),
            });
            json!({ "provider": "fcm", "request": { "message": {
                "token": token,
                "data": data,
                "android": { "priority": "high", "notification": {
                    "title": "Zulip", "body": "New notification", "channel_id": "messages-4",
                }},
            }}})
        }
        PushTarget::Apns { .. } => {
            let mut message: serde_json::Map<String, Value> = custom
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.json()))
                .collect();
            message.insert(
                "aps".to_owned(),
                json!({ "alert": { "title": title, "body": body }, "badge": 1, "sound": "default" }),
            );
            json!({ "provider": "apns", "request": { "body": Value::Object(message) } })
        }
    }
}

/// The alert's title and body.
fn alert(push: DeployedPush, call: &Call) -> (String, String) {
    let call_type = call_type(call.call_type);
    match push {
        DeployedPush::Invitation => CallPushData::of(call, "").alert(),
        DeployedPush::Declined => (
            "Call declined".to_owned(),
            format!("{} declined your call", call.receiver_name),
        ),
        DeployedPush::Missed => (
            "Missed call".to_owned(),
            format!("Missed {call_type} call from {}", call.sender_name),
        ),
    }
}

fn call_type(call_type: CallType) -> &'static str {
    call_type.as_str()
}

/// The plugin's `payload_data_to_encrypt`, key by key in its order.
fn custom(
    push: DeployedPush,
    call: &Call,
    recipient: i64,
    ctx: &DeployedPushContext<'_>,
) -> Vec<(&'static str, Py)> {
    if push == DeployedPush::Invitation {
        return invitation_fields(
            &CallPushData::of(call, ctx.receiver_join_url),
            recipient,
            ctx,
        );
    }
    let realm = realm_fields(recipient, ctx);
    let sender = call.sender_id.0;
    let mut fields = match push {
        DeployedPush::Invitation => Vec::new(),
        DeployedPush::Declined => {
            let receiver = call.receiver_id.0;
            vec![
                ("event", s("call_response")),
                ("type", s("call_response")),
                ("call_id", s(call.call_id.to_string())),
                ("response", s("decline")),
                ("receiver_id", Py::Int(receiver)),
                ("receiver_name", s(&call.receiver_name)),
                ("receiver_avatar_url", s(format!("/avatar/{receiver}"))),
                ("sender_id", Py::Int(sender)),
                ("sender_full_name", s(&call.sender_name)),
                ("sender_avatar_url", s(format!("/avatar/{sender}"))),
                ("call_type", s(call_type(call.call_type))),
            ]
        }
        DeployedPush::Missed => vec![
            ("event", s("missed_call")),
            ("type", s("missed_call")),
            ("call_id", s(call.call_id.to_string())),
            ("sender_id", Py::Int(sender)),
            ("sender_full_name", s(&call.sender_name)),
            ("sender_name", s(&call.sender_name)),
            ("sender_avatar_url", s(format!("/avatar/{sender}"))),
            ("call_type", s(call_type(call.call_type))),
            ("timestamp", s(python_isoformat(call.created_at))),
            ("time", s(call.created_at.0.timestamp().to_string())),
        ],
    };
    fields.extend(realm);
    if push != DeployedPush::Missed {
        fields.push(("time", s(ctx.now.0.timestamp().to_string())));
    }
    fields
}

/// `send_call_push_notification`'s `payload_data_to_encrypt`, key by key in its order.
fn invitation_fields(
    data: &CallPushData<'_>,
    recipient: i64,
    ctx: &DeployedPushContext<'_>,
) -> Vec<(&'static str, Py)> {
    let sender = data.sender_id;
    let mut fields = vec![
        ("event", s("call")),
        ("type", s("call")),
        ("call_id", s(data.call_id.to_string())),
        ("sender_id", s(sender.to_string())),
        ("sender_full_name", s(data.sender_name)),
        ("sender_name", s(data.sender_name)),
        ("sender_avatar_url", s(format!("/avatar/{sender}"))),
        ("call_type", s(call_type(data.call_type))),
        ("jitsi_url", s(data.jitsi_url)),
        (
            "timeout_seconds",
            Py::Int(i64::try_from(ctx.context.timeout_seconds).unwrap_or(i64::MAX)),
        ),
    ];
    fields.extend(realm_fields(recipient, ctx));
    fields.push(("time", s(ctx.now.0.timestamp().to_string())));
    fields
}

/// The realm and recipient keys every push of the plugin's carries.
fn realm_fields(recipient: i64, ctx: &DeployedPushContext<'_>) -> [(&'static str, Py); 5] {
    let realm_url = ctx.context.realm_url.as_str();
    [
        ("realm_uri", s(realm_url)),
        ("realm_name", s(ctx.realm_name)),
        ("realm_url", s(realm_url)),
        ("server", s(&ctx.context.server)),
        ("user_id", s(recipient.to_string())),
    ]
}

/// The fork's own FCM call push (Android devices only, after the legacy one).
fn fcm_call_request(
    token: &str,
    call: &Call,
    recipient: i64,
    ctx: &DeployedPushContext<'_>,
) -> Value {
    let call_type = call_type(call.call_type);
    let sender = call.sender_id.0;
    json!({ "provider": "fcm", "request": { "message": {
        "token": token,
        "data": {
            "event": "call",
            "server": ctx.context.server,
            "realm_url": ctx.context.realm_url,
            "realm_id": ctx.realm_id.to_string(),
            "user_id": recipient.to_string(),
            "call_id": call.call_id.to_string(),
            "sender_id": sender.to_string(),
            "sender_full_name": call.sender_name,
            "sender_name": call.sender_name,
            "call_type": call_type,
            "jitsi_url": ctx.receiver_join_url,
            "sender_avatar_url": format!("/avatar/{sender}"),
            "time": ctx.now.0.timestamp().to_string(),
        },
        "android": { "priority": "high", "notification": {
            "channel_id": "calls-1",
            "tag": format!("call:{}", call.call_id),
            "title": format!("Incoming {call_type} call"),
            "body": format!("From {}", call.sender_name),
        }},
    }}})
}

/// Python's `datetime.isoformat()` of a UTC time: microseconds when there are any, and
/// `+00:00`.
fn python_isoformat(t: Timestamp) -> String {
    let micros = t.0.timestamp_subsec_micros();
    let base = t.0.format("%Y-%m-%dT%H:%M:%S");
    if micros == 0 {
        format!("{base}+00:00")
    } else {
        format!("{base}.{micros:06}+00:00")
    }
}

/// Python's `repr()` of a dict of strings and ints, as `str(dict)` writes it.
fn python_repr(fields: &[(&str, Py)]) -> String {
    let items: Vec<String> = fields
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Py::Str(text) => python_str_repr(text),
                Py::Int(_) => value.str(),
            };
            format!("{}: {value}", python_str_repr(key))
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Python's `repr()` of a string: single quotes unless it holds one and no double quote.
fn python_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reprs_are_pythons() {
        assert_eq!(python_str_repr("King Hamlet"), "'King Hamlet'");
        assert_eq!(
            python_str_repr("Cordelia, Lear's daughter"),
            "\"Cordelia, Lear's daughter\""
        );
        assert_eq!(python_str_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(python_str_repr("tab\there"), "'tab\\there'");
        assert_eq!(
            python_repr(&[("event", s("call")), ("timeout_seconds", Py::Int(120))]),
            "{'event': 'call', 'timeout_seconds': 120}"
        );
    }

    #[test]
    fn isoformat_is_pythons() {
        let t: Timestamp = "2026-12-07T10:31:17.439392Z".parse().unwrap();
        assert_eq!(python_isoformat(t), "2026-12-07T10:31:17.439392+00:00");
        let t: Timestamp = "2026-12-07T10:31:17Z".parse().unwrap();
        assert_eq!(python_isoformat(t), "2026-12-07T10:31:17+00:00");
    }
}

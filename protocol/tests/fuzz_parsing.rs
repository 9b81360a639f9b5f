//! Fuzzing of every parsing entry point that takes untrusted input: queue events and WebSocket
//! frames, the lenient parameter decoding of query, form and JSON bodies for every endpoint's
//! request type, response envelopes and error bodies, push payloads, Jitsi JWT claims, ids,
//! timestamps, enumerations and settings overrides.
//!
//! Inputs are arbitrary bytes, arbitrary strings and near-valid ones: the exact fixtures of the
//! contract with keys dropped, duplicated or added, values replaced by other types, huge and
//! negative numbers, unicode and deep nesting. Nothing may panic; whatever parses must
//! serialise to a fixed point (parse → serialise → parse → serialise gives the same JSON), and
//! every error must carry a code (and a `var_name` for a missing parameter).
//!
//! The number of cases per property is `FUZZ_CASES` (default 128).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Debug;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use zulip_calls_protocol::calls::{
    AckStatus, Acknowledge, Active, Cleanup, Create, CreateRequest, End, EndAll, GetCall, History,
    HistoryRequest, Initiate, InitiateRequest, Respond, Start, Status,
};
use zulip_calls_protocol::dialect::{CALL_OP_EVENT_TYPE, GROUP_CALL_EVENT_TYPE};
use zulip_calls_protocol::endpoint::{Auth, Endpoint, Verb, all_endpoints};
use zulip_calls_protocol::envelope::decode_response;
use zulip_calls_protocol::event::{
    CALL_EVENT_TYPE, CallEventType, CallOp, CallOpReason, HEARTBEAT_TYPE, WsAck, WsConnectParams,
    parse_event_frame,
};
use zulip_calls_protocol::jitsi::{JitsiClaims, JwtHeader};
use zulip_calls_protocol::params::{Params, RawParam, to_urlencoded, unquote};
use zulip_calls_protocol::plugin::group::{
    GroupCallOp, GroupCallState, GroupCreate, GroupCreateRequest, GroupDecline, GroupEnd,
    GroupEndReason, GroupInvite, GroupJoin, GroupLeave, GroupLeftReason, GroupParticipants,
    GroupPushData, GroupStatus, ParticipantState, UserIds,
};
use zulip_calls_protocol::plugin::{
    CallStatusById, Cancel, EndById, Heartbeat, HistoryCursor, HistoryStatus, PluginCreate,
    PluginHistory, PluginHistoryRequest, RespondById, RespondOutcome, SharedHistoryRequest,
    SharedHistoryResponse,
};
use zulip_calls_protocol::push::{ApnsRequest, FcmRequest, PushData};
use zulip_calls_protocol::settings::Settings;
use zulip_calls_protocol::zulip::{
    AddAndroidGcmRegId, AddApnsDeviceToken, DeleteEvents, FetchApiKey, GetEvents, GetOwnUser,
    GetRealmPresence, GetUser, GetUserPresence, GetUserStatus, GetUsers, Register,
    RemoveAndroidGcmRegId, RemoveApnsDeviceToken, ServerSettings, UpdatePresence, UpdateSettings,
    UpdateStatus, UpdateStatusForUser,
};
use zulip_calls_protocol::{
    ApiError, CallId, CallState, CallStatus, CallType, DecodeError, EndReason, ErrorCode, EventId,
    EventKind, MediaStatus, ParamError, QueueEvent, QueueId, RespondAction, Success, Timestamp,
    UserId,
};

use common::{fixture_json, fixture_path};

/// Cases per property: `FUZZ_CASES`, or a default that keeps this file at a few seconds.
fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/// Strings a fuzzer should try: wire values of the contract, edge-case numbers, quoting,
/// whitespace, unicode, control characters, and anything at all.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            " ",
            "0",
            "-1",
            "6",
            " 6 ",
            "+6",
            "6.0",
            "1e3",
            "-0",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "4294967295",
            "4294967296",
            "99999999999999999999999999999999",
            "NaN",
            "inf",
            "true",
            "TRUE",
            "False",
            "\"true\"",
            "\"6\"",
            "\"\"",
            "\"",
            "null",
            "[]",
            "{}",
            "[\"call_event\"]",
            "[1,2]",
            "video",
            "audio",
            "VIDEO",
            "accept",
            "reject",
            "decline",
            "ringing",
            "muted",
            "call_event",
            "call_ended",
            "heartbeat",
            "7d0b2a3e-4c1f-4b8e-9a57-2f6e1c9d3b40",
            "7D0B2A3E-4C1F-4B8E-9A57-2F6E1C9D3B40",
            "7d0b2a3e4c1f4b8e9a572f6e1c9d3b40",
            "00000000-0000-0000-0000-000000000000",
            "2024-01-01T12:00:05Z",
            "2024-01-01T12:00:05.123456789+14:00",
            "+262143-12-31T23:59:59Z",
            "9999-12-31T23:59:59.999999999-23:59",
            "hamlet@zulip.com",
            "HAMLET@ZULIP.COM",
            "1375801870:2942",
            "\u{0}",
            "\u{feff}",
            "é",
            "👩‍🚀",
            "\u{202e}evil",
            "%ff",
            "%",
            "&",
            "=",
            "a=b&c",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
        "[ -~]{0,24}",
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        ".{0,8}".prop_map(|s| format!("\"{s}\"")),
        (1..5000usize).prop_map(|n| "9".repeat(n)),
        (1..2000usize).prop_map(|n| "é".repeat(n)),
    ]
}

/// A JSON leaf: every type, with edge-case numbers.
fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(vec![
            0i64,
            -1,
            1,
            6,
            10,
            i64::MAX,
            i64::MIN,
            u32::MAX.into()
        ])
        .prop_map(Value::from),
        nasty_string().prop_map(Value::String),
    ]
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((nasty_key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Parameter and field names: the contract's, near misses, and anything.
fn nasty_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KNOWN_KEYS.to_vec()).prop_map(str::to_owned),
        1 => prop::sample::select(KNOWN_KEYS.to_vec()).prop_map(|k| k.to_uppercase()),
        1 => prop::sample::select(KNOWN_KEYS.to_vec()).prop_map(|k| format!("{k} ")),
        1 => any::<String>(),
        1 => "[a-z_]{1,12}",
    ]
}

/// Every field and parameter name the contract uses.
const KNOWN_KEYS: &[&str] = &[
    "id",
    "type",
    "event_type",
    "timestamp",
    "call_id",
    "call_type",
    "state",
    "sender_id",
    "sender_name",
    "receiver_id",
    "receiver_name",
    "jitsi_url",
    "created_at",
    "answered_at",
    "ended_at",
    "reason",
    "ended_by_id",
    "duration",
    "timeout_seconds",
    "status",
    "updated_by_id",
    "updated_by_name",
    "user_id",
    "recipient_email",
    "is_video_call",
    "response",
    "limit",
    "offset",
    "timeout_minutes",
    "cleanup_old_calls",
    "old_calls_days",
    "queue_id",
    "last_event_id",
    "dont_block",
    "event_types",
    "fetch_event_types",
    "apply_markdown",
    "client_gravatar",
    "slim_presence",
    "include_custom_profile_fields",
    "token",
    "appid",
    "username",
    "password",
    "result",
    "msg",
    "code",
    "message",
    "var_name",
    "existing_call_id",
    "call_status",
    "retry-after",
    "events",
    "calls",
    "call",
    "event",
    "server",
    "realm_url",
    "sender_full_name",
    "time",
    "data",
    "android",
    "priority",
    "ttl",
    "device_token",
    "headers",
    "body",
    "aps",
    "alert",
    "title",
    "sound",
    "iss",
    "aud",
    "sub",
    "room",
    "iat",
    "nbf",
    "exp",
    "context",
    "user",
    "name",
    "email",
    "avatar",
    "moderator",
    "alg",
    "typ",
];

/// One change to a JSON object, applied to the pairs of its text form.
#[derive(Debug, Clone)]
enum Mutation {
    /// Drops the pair at this index (modulo the length).
    Drop(usize),
    /// Repeats the pair at this index with another value: a duplicate key.
    Duplicate(usize, Value),
    /// Replaces the value at this index.
    Replace(usize, Value),
    /// Replaces the value at this index by its JSON text, or a string by its content as JSON.
    Retype(usize),
    /// Wraps the value at this index in `depth` arrays.
    Nest(usize, usize),
    /// Adds a pair.
    Add(String, Value),
    /// Replaces a nested object's pairs the same way (one level down).
    Inner(usize, Box<Mutation>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let flat = prop_oneof![
        any::<usize>().prop_map(Mutation::Drop),
        (any::<usize>(), json_value()).prop_map(|(i, v)| Mutation::Duplicate(i, v)),
        (any::<usize>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<usize>().prop_map(Mutation::Retype),
        (any::<usize>(), 1..200usize).prop_map(|(i, d)| Mutation::Nest(i, d)),
        (nasty_key(), json_value()).prop_map(|(k, v)| Mutation::Add(k, v)),
    ];
    flat.prop_recursive(2, 4, 1, |inner| {
        (any::<usize>(), inner).prop_map(|(i, m)| Mutation::Inner(i, Box::new(m)))
    })
}

/// An object as ordered pairs, so that duplicate keys survive until rendering.
type Pairs = Vec<(String, Value)>;

fn pairs_of(value: &Value) -> Pairs {
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Vec::new(),
    }
}

fn apply(pairs: &mut Pairs, mutation: &Mutation) {
    let len = pairs.len();
    let at = |i: &usize| if len == 0 { None } else { Some(i % len) };
    match mutation {
        Mutation::Drop(i) => {
            if let Some(i) = at(i) {
                pairs.remove(i);
            }
        }
        Mutation::Duplicate(i, value) => {
            if let Some(i) = at(i) {
                let key = pairs[i].0.clone();
                pairs.push((key, value.clone()));
            }
        }
        Mutation::Replace(i, value) => {
            if let Some(i) = at(i) {
                pairs[i].1 = value.clone();
            }
        }
        Mutation::Retype(i) => {
            if let Some(i) = at(i) {
                let old = std::mem::take(&mut pairs[i].1);
                pairs[i].1 = match old {
                    Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
                    other => Value::String(other.to_string()),
                };
            }
        }
        Mutation::Nest(i, depth) => {
            if let Some(i) = at(i) {
                let mut value = std::mem::take(&mut pairs[i].1);
                for _ in 0..*depth {
                    value = Value::Array(vec![value]);
                }
                pairs[i].1 = value;
            }
        }
        Mutation::Add(key, value) => pairs.push((key.clone(), value.clone())),
        Mutation::Inner(i, inner) => {
            if let Some(i) = at(i)
                && pairs[i].1.is_object()
            {
                let mut nested = pairs_of(&pairs[i].1);
                apply(&mut nested, inner);
                pairs[i].1 = Value::Object(nested.into_iter().collect());
            }
        }
    }
}

/// The JSON text of `pairs`, duplicate keys included.
fn render(pairs: &Pairs) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), v))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// The form encoding of `pairs`: strings as they are, other values as JSON text.
fn render_form(pairs: &Pairs) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        match v {
            Value::String(text) => form.append_pair(k, text),
            other => form.append_pair(k, &other.to_string()),
        };
    }
    form.finish()
}

/// A fixture with `mutations` applied, as ordered pairs.
fn mutated(fixture: &Value, mutations: &[Mutation]) -> Pairs {
    let mut pairs = pairs_of(fixture);
    for m in mutations {
        apply(&mut pairs, m);
    }
    pairs
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 0..5)
}

/// Byte soup, with a bias towards JSON and form punctuation.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::vec(
            prop::sample::select(b"{}[]\":,=&%+ 0123456789-.eEtrufalsn\\u\xff".to_vec()),
            0..128
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// `text` as a JSON value; `None` only past serde_json's recursion limit (128 levels), which
/// the typed readers do not hit when the deep part is a field they skip.
fn as_value(text: &str) -> Option<Value> {
    match serde_json::from_str(text) {
        Ok(value) => Some(value),
        Err(err) if err.to_string().contains("recursion limit") => None,
        Err(err) => panic!("the typed reader took what is not JSON: {err}: {text}"),
    }
}

/// Whatever parsed serialises to a fixed point: serialise, parse again, serialise again, and
/// the two JSON values are equal.
fn fixed_point<T: Serialize + DeserializeOwned + Debug>(parsed: &T) -> Result<(), TestCaseError> {
    let first = serde_json::to_value(parsed)
        .map_err(|e| TestCaseError::fail(format!("{parsed:?} does not serialise: {e}")))?;
    let again: T = serde_json::from_value(first.clone()).map_err(|e| {
        TestCaseError::fail(format!(
            "{first} (written from {parsed:?}) does not parse: {e}"
        ))
    })?;
    let second = serde_json::to_value(&again).unwrap();
    prop_assert_eq!(first, second);
    Ok(())
}

/// Parses `text` as `T`; on success checks the fixed point.
fn parse_json<T: Serialize + DeserializeOwned + Debug>(text: &str) -> Result<(), TestCaseError> {
    if let Ok(parsed) = serde_json::from_str::<T>(text) {
        fixed_point(&parsed)?;
    }
    Ok(())
}

/// An error from parameter decoding, as the server sends it, always names a code and (for a
/// missing parameter) the variable.
fn check_param_error(err: ParamError) -> Result<(), TestCaseError> {
    let api = ApiError::from(err.clone());
    prop_assert!(!api.msg.trim().is_empty(), "{err:?}: empty msg");
    prop_assert_eq!(api.message.as_deref(), Some(api.msg.as_str()));
    prop_assert_eq!(api.http_status().as_u16(), 400);
    match &err {
        ParamError::Missing(name) => {
            prop_assert_eq!(&api.code, &ErrorCode::RequestVariableMissing);
            prop_assert_eq!(api.var_name.as_deref(), Some(name.as_str()));
            prop_assert!(!name.is_empty());
        }
        ParamError::Invalid { .. } | ParamError::Body(_) => {
            prop_assert_eq!(&api.code, &ErrorCode::BadRequest);
        }
    }
    // The error body itself parses back as the same error.
    let body = serde_json::to_string(&api).unwrap();
    let back: ApiError = serde_json::from_str(&body).unwrap();
    prop_assert_eq!(back, api);
    Ok(())
}

/// Whether decoding strips a level of quoting from some string of `value`: such a string
/// cannot survive a round trip through the lenient decoder (a documented leniency).
fn has_quoted_string(value: &Value) -> bool {
    match value {
        Value::String(text) => unquote(text) != text.as_str(),
        Value::Array(items) => items.iter().any(has_quoted_string),
        Value::Object(map) => map.values().any(has_quoted_string),
        _ => false,
    }
}

/// Decodes `params` as `E::Request`. A success must survive both encodings a client uses (the
/// form encoding and a JSON body) unchanged; an error must be a well-formed API error.
fn decode_request<E: Endpoint>(params: &Params) -> Result<(), TestCaseError> {
    match params.decode::<E::Request>() {
        Ok(request) => {
            let value = serde_json::to_value(&request).unwrap();
            if has_quoted_string(&value) {
                return Ok(());
            }
            let form = to_urlencoded(&request).map_err(|e| {
                TestCaseError::fail(format!(
                    "{}: {request:?} has no form encoding: {e}",
                    E::NAME
                ))
            })?;
            let from_form: E::Request =
                Params::from_urlencoded(form.as_bytes())
                    .decode()
                    .map_err(|e| {
                        TestCaseError::fail(format!("{}: {form:?} does not decode: {e}", E::NAME))
                    })?;
            prop_assert_eq!(
                &serde_json::to_value(&from_form).unwrap(),
                &value,
                "{}: form {:?}",
                E::NAME,
                form
            );
            let json_body = serde_json::to_vec(&request).unwrap();
            let from_json: E::Request = Params::from_json(&json_body)
                .and_then(|p| p.decode())
                .map_err(|e| TestCaseError::fail(format!("{}: JSON body: {e}", E::NAME)))?;
            prop_assert_eq!(&serde_json::to_value(&from_json).unwrap(), &value);
            Ok(())
        }
        Err(err) => check_param_error(err),
    }
}

/// The three ways a server reads a body, each decoded as `E::Request`.
fn decode_bodies<E: Endpoint>(query: &[u8], body: &[u8]) -> Result<(), TestCaseError> {
    let mut form = Params::from_urlencoded(query);
    form.extend(Params::from_urlencoded(body));
    decode_request::<E>(&form)?;
    match Params::from_json(body) {
        Ok(json) => {
            let mut all = Params::from_urlencoded(query);
            all.extend(json);
            decode_request::<E>(&all)?;
        }
        Err(err) => {
            prop_assert!(matches!(err, ParamError::Body(_)), "{err:?}");
            check_param_error(err)?;
        }
    }
    Ok(())
}

/// Reads a response body as `E`'s success; checks the branch follows the `result` tag.
fn decode_endpoint_response<E: Endpoint>(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let tag = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("result").cloned());
    match decode_response::<Success<E::Response>>(status, body) {
        Ok(success) => {
            prop_assert_eq!(tag, Some(json!("success")));
            fixed_point(&success)?;
        }
        Err(DecodeError::Api(err)) => {
            prop_assert_eq!(tag, Some(json!("error")));
            fixed_point(&*err)?;
        }
        Err(DecodeError::Malformed { status: s, reason }) => {
            prop_assert_eq!(s, status);
            prop_assert!(!reason.is_empty());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

/// One endpoint's checks, with the fixtures of its request and responses.
struct EndpointFuzz {
    name: &'static str,
    request_fixtures: &'static [&'static str],
    response_fixtures: &'static [&'static str],
    decode_bodies: fn(&[u8], &[u8]) -> Result<(), TestCaseError>,
    decode_response: fn(u16, &[u8]) -> Result<(), TestCaseError>,
}

macro_rules! endpoints {
    ($list:ident: $( $ty:ty: [$($req:literal),*] [$($resp:literal),*]; )*) => {
        fn $list() -> Vec<EndpointFuzz> {
            vec![$(
                EndpointFuzz {
                    name: <$ty as Endpoint>::NAME,
                    request_fixtures: &[$($req),*],
                    response_fixtures: &[$($resp),*],
                    decode_bodies: decode_bodies::<$ty>,
                    decode_response: decode_endpoint_response::<$ty>,
                },
            )*]
        }
    };
}

endpoints! {
    endpoint_fuzzers:
    Initiate: ["calls/initiate.request.json", "calls/initiate.request.by_user_id.json"]
        ["calls/initiate.response.json"];
    Start: ["calls/start.request.json"] ["calls/start.response.json"];
    Create: ["calls/create.request.json", "plugin/create.request.json"]
        ["calls/create.response.json"];
    Acknowledge: ["calls/acknowledge.request.json", "plugin/acknowledge.request.json"]
        ["calls/acknowledge.response.json", "plugin/acknowledge.response.json",
         "plugin/acknowledge.response.already_ended.json"];
    Respond: ["calls/respond.request.json"]
        ["calls/respond.response.json", "calls/respond.response.reject.json"];
    Status: ["calls/status.request.json"] ["calls/status.response.json"];
    End: ["calls/end.request.json"] ["calls/end.response.json", "calls/end.response.cancelled.json"];
    EndAll: ["calls/end_all.request.json"] ["calls/end_all.response.json"];
    Active: ["calls/active.request.json"] ["calls/active.response.json"];
    History: ["calls/history.request.json"]
        ["calls/history.response.json", "plugin/history.response.both.json"];
    GetCall: ["calls/get.request.json"] ["calls/get.response.json"];
    Cleanup: ["calls/cleanup.request.json"] ["calls/cleanup.response.json"];
    RespondById: ["plugin/respond_by_id.request.json", "plugin/respond_by_id.request.decline.json"]
        ["plugin/respond_by_id.response.json", "plugin/respond_by_id.response.decline.json",
         "plugin/respond_by_id.response.noop.json"];
    Cancel: ["plugin/cancel.request.json"]
        ["plugin/cancel.response.json", "plugin/cancel.response.already_ended.json"];
    EndById: ["plugin/end_by_id.request.json"] ["plugin/end_by_id.response.json"];
    CallStatusById: ["plugin/status_by_id.request.json"]
        ["plugin/status_by_id.response.json", "plugin/status_by_id.response.network_failure.json"];
    Heartbeat: ["plugin/heartbeat.request.json"] ["plugin/heartbeat.response.json"];
    GroupCreate: ["plugin/group/create.request.json"] ["plugin/group/create.response.json"];
    GroupInvite: ["plugin/group/invite.request.json"] ["plugin/group/invite.response.json"];
    GroupJoin: ["plugin/group/join.request.json"] ["plugin/group/join.response.json"];
    GroupLeave: ["plugin/group/leave.request.json"]
        ["plugin/group/leave.response.json", "plugin/group/leave.response.already_ended.json"];
    GroupDecline: ["plugin/group/decline.request.json"] ["plugin/group/decline.response.json"];
    GroupEnd: ["plugin/group/end.request.json"] ["plugin/group/end.response.json"];
    GroupStatus: ["plugin/group/status.request.json"]
        ["plugin/group/status.response.json", "plugin/group/status.response.ended.json"];
    GroupParticipants: ["plugin/group/participants.request.json"]
        ["plugin/group/participants.response.json"];
    ServerSettings: [] ["zulip/server_settings_response.json", "zulip/server_settings_response_openapi.json"];
    FetchApiKey: ["zulip/fetch_api_key_request.json"] ["zulip/fetch_api_key_response.json"];
    GetOwnUser: [] ["zulip/users_me_response.json"];
    GetUsers: ["zulip/users_request.json"] ["zulip/users_response.json"];
    GetUser: ["zulip/users_request.json"] ["zulip/user_response.json"];
    Register: ["zulip/register_request.json"]
        ["zulip/register_response.json", "zulip/register_response_openapi.json"];
    GetEvents: ["zulip/events_request.json"]
        ["zulip/events_response.json", "zulip/events_response_openapi.json", "zulip/events_heartbeat_response.json"];
    DeleteEvents: ["zulip/delete_events_request.json"] ["zulip/empty_success_response.json"];
    AddAndroidGcmRegId: ["zulip/android_gcm_reg_id_request.json"] ["zulip/empty_success_response.json"];
    RemoveAndroidGcmRegId: ["zulip/android_gcm_reg_id_request.json"] ["zulip/empty_success_response.json"];
    AddApnsDeviceToken: ["zulip/apns_device_token_add_request.json"] ["zulip/empty_success_response.json"];
    RemoveApnsDeviceToken: ["zulip/apns_device_token_remove_request.json"] ["zulip/empty_success_response.json"];
    UpdatePresence: ["zulip/presence_update_request.json"]
        ["zulip/presence_update_response_openapi_modern.json",
         "zulip/presence_update_response_openapi_legacy.json", "zulip/empty_success_response.json"];
    GetRealmPresence: [] ["zulip/realm_presence_response_openapi.json"];
    GetUserPresence: [] ["zulip/user_presence_response_openapi.json"];
    UpdateStatus: ["zulip/status_update_request.json"] ["zulip/empty_success_response.json"];
    GetUserStatus: [] ["zulip/user_status_response_openapi.json"];
    UpdateStatusForUser: ["zulip/status_update_for_user_request.json"]
        ["zulip/empty_success_response.json"];
    UpdateSettings: ["zulip/settings_update_request.json"]
        ["zulip/settings_update_response_openapi.json", "zulip/empty_success_response.json"];
}

/// The history path as a server serving both dialects reads and answers it (no route of its
/// own: it is `calls/history`).
#[derive(Debug)]
struct SharedHistory;

impl Endpoint for SharedHistory {
    const NAME: &'static str = "calls.history.shared";
    const METHOD: Verb = Verb::Get;
    const PATH: &'static str = "calls/history";
    const AUTH: Auth = Auth::Basic;
    type Path = ();
    type Request = SharedHistoryRequest;
    type Response = SharedHistoryResponse;
}

endpoints! {
    shared_path_fuzzers:
    PluginCreate: ["plugin/create.request.json"]
        ["plugin/create.response.json", "calls/create.response.json"];
    PluginHistory: ["plugin/history.request.json"]
        ["plugin/history.response.json", "plugin/history.response.last_page.json",
         "plugin/history.response.both.json"];
    SharedHistory: ["calls/history.request.json", "plugin/history.request.json"]
        ["plugin/history.response.both.json"];
}

/// Every route's fuzzer, then the other dialect's readings of the shared paths.
fn all_fuzzers() -> Vec<EndpointFuzz> {
    let mut all = endpoint_fuzzers();
    all.extend(shared_path_fuzzers());
    all
}

/// Every error fixture: the bodies `decode_response` must read as errors.
fn error_fixtures() -> Vec<Value> {
    let dir = fixture_path("errors");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 19,
        "error fixtures missing in {}",
        dir.display()
    );
    names
        .iter()
        .map(|n| fixture_json(&format!("errors/{n}")))
        .chain(
            ["BAD_REQUEST.cursor", "INVALID_CALL_STATE.cancel"]
                .iter()
                .map(|n| fixture_json(&format!("plugin/errors/{n}.json"))),
        )
        .chain(
            [
                "BAD_REQUEST.user_ids",
                "BAD_REQUEST.no_valid_invitees",
                "BAD_REQUEST.call_full",
                "BAD_REQUEST.already_joined",
                "BAD_REQUEST.call_ended",
                "BAD_REQUEST.leave",
                "CALL_NOT_FOUND",
                "NOT_A_PARTICIPANT.end",
            ]
            .iter()
            .map(|n| fixture_json(&format!("plugin/group/errors/{n}.json"))),
        )
        .collect()
}

fn event_fixtures() -> Vec<Value> {
    [
        "call_started",
        "participant_ringing",
        "call_accepted",
        "call_rejected",
        "call_status_update",
        "call_ended",
        "call_ended.timeout",
        "heartbeat",
        "unknown_type",
        "unknown_call_event_type",
    ]
    .iter()
    .map(|n| fixture_json(&format!("events/{n}.json")))
    .chain(
        [
            "initiated",
            "incoming_call",
            "ringing",
            "accepted",
            "accepted.without_user_id",
            "declined",
            "cancelled",
            "ended",
            "ended.network_failure",
            "missed",
            "missed.not_delivered",
            "unknown_op",
        ]
        .iter()
        .map(|n| fixture_json(&format!("plugin/events/{n}.json"))),
    )
    .chain(
        [
            "created",
            "participant_invited",
            "participants_invited",
            "participant_joined",
            "participant_left",
            "participant_left.network_failure",
            "participant_left.without_reason",
            "participant_declined",
            "participant_missed",
            "ended",
            "ended.without_reason",
            "unknown_op",
        ]
        .iter()
        .map(|n| fixture_json(&format!("plugin/group/events/{n}.json"))),
    )
    .collect()
}

#[test]
fn every_endpoint_is_fuzzed() {
    let fuzzed: Vec<&str> = endpoint_fuzzers().iter().map(|e| e.name).collect();
    for endpoint in all_endpoints() {
        assert!(
            fuzzed.contains(&endpoint.name),
            "{} has no parameter fuzzer",
            endpoint.name
        );
    }
    assert_eq!(fuzzed.len(), all_endpoints().count());
    // Every fixture named exists and is a JSON object.
    for e in all_fuzzers() {
        for name in e.request_fixtures.iter().chain(e.response_fixtures) {
            assert!(fixture_json(name).is_object(), "{name}");
        }
    }
}

#[test]
fn every_request_fixture_decodes_and_every_response_fixture_reads() {
    for e in all_fuzzers() {
        for name in e.request_fixtures {
            let body = fixture_json(name);
            let text = body.to_string();
            (e.decode_bodies)(b"", text.as_bytes()).unwrap();
            let decoded = Params::from_json(text.as_bytes()).unwrap();
            assert!(decoded.names().count() == body.as_object().unwrap().len());
        }
        for name in e.response_fixtures {
            let body = fixture_json(name).to_string();
            (e.decode_response)(200, body.as_bytes()).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary query strings and bodies, read as form and as JSON, for every endpoint.
    #[test]
    fn params_from_arbitrary_bytes(query in bytes(), body in bytes()) {
        for e in all_fuzzers() {
            (e.decode_bodies)(&query, &body)?;
        }
    }

    /// Arbitrary parameter names and values, for every endpoint: in a form, in a JSON body,
    /// and as raw parameters.
    #[test]
    fn params_from_arbitrary_pairs(
        pairs in prop::collection::vec((nasty_key(), json_value()), 0..8),
    ) {
        let form = render_form(&pairs);
        let json = render(&pairs);
        let mut raw = Params::new();
        for (k, v) in &pairs {
            raw.insert(k.clone(), RawParam::Json(v.clone()));
        }
        for e in all_fuzzers() {
            (e.decode_bodies)(b"", form.as_bytes())?;
            (e.decode_bodies)(form.as_bytes(), json.as_bytes())?;
        }
        // The lenient decoder sees the same names whichever way they came.
        let from_form = Params::from_urlencoded(form.as_bytes());
        prop_assert_eq!(from_form.names().count(), raw.names().count());
    }

    /// The request fixtures of every endpoint, mutated, as JSON bodies, form bodies and query
    /// strings.
    #[test]
    fn params_from_mutated_fixtures(which in any::<prop::sample::Index>(), muts in mutations()) {
        let fuzzers = all_fuzzers();
        let with_fixtures: Vec<&EndpointFuzz> =
            fuzzers.iter().filter(|e| !e.request_fixtures.is_empty()).collect();
        let e = which.get(&with_fixtures);
        for name in e.request_fixtures {
            let pairs = mutated(&fixture_json(name), &muts);
            let json = render(&pairs);
            let form = render_form(&pairs);
            (e.decode_bodies)(b"", json.as_bytes())?;
            (e.decode_bodies)(b"", form.as_bytes())?;
            (e.decode_bodies)(form.as_bytes(), b"")?;
        }
    }

    /// The validation steps after decoding never panic and name the parameter at fault.
    #[test]
    fn request_validation(pairs in prop::collection::vec((nasty_key(), json_value()), 0..6)) {
        let Ok(params) = Params::from_json(render(&pairs).as_bytes()) else {
            return Ok(());
        };
        if let Ok(r) = params.decode::<InitiateRequest>()
            && let Err(err) = r.target()
        {
            check_param_error(err)?;
        }
        if let Ok(r) = params.decode::<CreateRequest>() {
            if let Err(err) = r.target() {
                check_param_error(err)?;
            }
            if let Err(err) = r.call_type() {
                check_param_error(err)?;
            }
        }
        if let Ok(r) = params.decode::<GroupCreateRequest>() {
            // The accessors never fail; a topic never comes without a stream.
            let _ = (r.call_type(), r.title());
            prop_assert!(r.topic().is_none() || r.stream_id.is_some());
        }
        if let Ok(r) = params.decode::<HistoryRequest>() {
            match r.validate() {
                Ok(()) => prop_assert!((1..=200).contains(&r.limit)),
                Err(err) => check_param_error(err)?,
            }
        }
        if let Ok(r) = params.decode::<PluginHistoryRequest>() {
            match r.validate() {
                Ok(()) => {
                    prop_assert!((1..=100).contains(&r.limit));
                    prop_assert_eq!(r.after().is_ok_and(|a| a.is_some()), r.cursor.is_some());
                }
                Err(err) => {
                    let named = matches!(
                        &err,
                        ParamError::Invalid { name, .. } if name == "limit" || name == "cursor"
                    );
                    prop_assert!(named, "{:?}", err);
                    check_param_error(err)?;
                }
            }
        }
        if let Ok(r) = params.decode::<SharedHistoryRequest>() {
            match r.validate() {
                Ok(()) => {
                    prop_assert!((1..=200).contains(&r.limit));
                    prop_assert!(r.start().is_ok());
                }
                Err(err) => check_param_error(err)?,
            }
        }
    }

    /// Response bodies: arbitrary bytes, arbitrary JSON, mutated success fixtures and mutated
    /// error fixtures, for every endpoint.
    #[test]
    fn responses(
        status in prop::sample::select(vec![200u16, 400, 401, 404, 409, 413, 429, 500, 502]),
        noise in bytes(),
        value in json_value(),
        which in any::<prop::sample::Index>(),
        muts in mutations(),
    ) {
        let fuzzers = all_fuzzers();
        let e = which.get(&fuzzers);
        let mut bodies = vec![noise, value.to_string().into_bytes()];
        for name in e.response_fixtures {
            bodies.push(render(&mutated(&fixture_json(name), &muts)).into_bytes());
        }
        let errors = error_fixtures();
        let error = which.get(&errors);
        bodies.push(render(&mutated(error, &muts)).into_bytes());
        for body in &bodies {
            (e.decode_response)(status, body)?;
        }
    }

    /// Error bodies alone: whatever parses as an `ApiError` has a code (`BAD_REQUEST` if none
    /// was sent) and a fixed point.
    #[test]
    fn error_bodies(which in any::<prop::sample::Index>(), muts in mutations()) {
        let errors = error_fixtures();
        let text = render(&mutated(which.get(&errors), &muts));
        if let Ok(err) = serde_json::from_str::<ApiError>(&text) {
            // `None`: nested past the recursion limit of a `Value`, in a field the typed
            // reader skips (serde_json skips without that limit); only the fixed point is checked.
            if let Some(sent) = as_value(&text)
                && sent.get("code").is_none()
            {
                prop_assert_eq!(&err.code, &ErrorCode::BadRequest);
            }
            prop_assert!(err.http_status().as_u16() < 500);
            fixed_point(&err)?;
        }
    }

    /// Every wire string reads as the code it names, and back.
    #[test]
    fn error_codes(code in nasty_string()) {
        let parsed = ErrorCode::parse(&code);
        prop_assert_eq!(parsed.as_str(), code.as_str());
        prop_assert!(parsed.http_status().is_client_error());
    }

    /// Queue events, one WebSocket frame each: arbitrary text, arbitrary JSON and mutated
    /// fixtures of every event type. Unknown types are kept whole.
    #[test]
    fn events(
        noise in any::<String>(),
        value in json_value(),
        which in any::<prop::sample::Index>(),
        muts in mutations(),
    ) {
        let fixtures = event_fixtures();
        let mutated = render(&mutated(which.get(&fixtures), &muts));
        for text in [noise, value.to_string(), mutated] {
            let Ok(event) = parse_event_frame(&text) else { continue };
            fixed_point(&event)?;
            // Duplicate keys: serde_json keeps the last one, like the event's own parse.
            let sent: Map<String, Value> = serde_json::from_str(&text).unwrap();
            let type_name = sent["type"].as_str().unwrap();
            prop_assert_eq!(event.type_name(), type_name);
            prop_assert_eq!(&serde_json::to_value(event.id).unwrap(), &sent["id"]);
            let known_call = type_name == CALL_EVENT_TYPE
                && sent
                    .get("event_type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.parse::<CallEventType>().is_ok());
            let known_op = type_name == CALL_OP_EVENT_TYPE
                && sent
                    .get("op")
                    .and_then(Value::as_str)
                    .is_some_and(|op| op.parse::<CallOp>().is_ok());
            let known_group_op = type_name == GROUP_CALL_EVENT_TYPE
                && sent
                    .get("op")
                    .and_then(Value::as_str)
                    .is_some_and(|op| op.parse::<GroupCallOp>().is_ok());
            match &event.kind {
                EventKind::Call(call) => {
                    prop_assert!(known_call);
                    prop_assert_eq!(
                        Some(call.event_type().as_str()),
                        sent["event_type"].as_str()
                    );
                }
                EventKind::CallOp(call) => {
                    prop_assert!(known_op);
                    prop_assert_eq!(Some(call.op().as_str()), sent["op"].as_str());
                }
                EventKind::GroupCall(call) => {
                    prop_assert!(known_group_op);
                    prop_assert_eq!(Some(call.op().as_str()), sent["op"].as_str());
                }
                EventKind::Heartbeat => prop_assert_eq!(type_name, HEARTBEAT_TYPE),
                EventKind::Unknown { event_type, fields } => {
                    prop_assert!(
                        !known_call && !known_op && !known_group_op && type_name != HEARTBEAT_TYPE
                    );
                    prop_assert_eq!(event_type, type_name);
                    let mut rest = sent.clone();
                    rest.remove("id");
                    rest.remove("type");
                    prop_assert_eq!(fields, &rest);
                }
            }
            // A frame written back reads back as the same event.
            let written = serde_json::to_string(&event).unwrap();
            let again: QueueEvent = parse_event_frame(&written).unwrap();
            prop_assert_eq!(again.type_name(), event.type_name());
            prop_assert_eq!(again.id, event.id);
        }
    }

    /// Acknowledgement frames and the WebSocket's connect parameters.
    #[test]
    fn websocket_frames(
        noise in any::<String>(),
        value in json_value(),
        id in json_leaf(),
        muts in mutations(),
    ) {
        let ack = render(&mutated(&fixture_json("events/ws_ack.json"), &muts));
        let by_id = json!({"last_event_id": id}).to_string();
        for text in [noise, value.to_string(), ack, by_id] {
            match WsAck::parse(&text) {
                Ok(ack) => {
                    let written = serde_json::to_string(&ack).unwrap();
                    prop_assert_eq!(WsAck::parse(&written).unwrap(), ack);
                    // `{"last_event_id": N}`, or serde's sequence form of a struct, `[N]`
                    // (unless nested too deep for a `Value` where the reader skips, as above).
                    if let Some(sent) = as_value(&text) {
                        let id = sent.get("last_event_id").or_else(|| sent.get(0));
                        prop_assert_eq!(id.and_then(Value::as_i64), Some(ack.last_event_id.0));
                    }
                }
                Err(err) => prop_assert!(!err.to_string().is_empty()),
            }
        }
        let connect = mutated(&fixture_json("events/ws_connect.request.json"), &muts);
        let from_json = match Params::from_json(render(&connect).as_bytes()) {
            Ok(params) => Some(params),
            // Nested past serde_json's recursion limit.
            Err(err) => {
                check_param_error(err)?;
                None
            }
        };
        for params in from_json
            .into_iter()
            .chain([Params::from_urlencoded(render_form(&connect).as_bytes())])
        {
            match params.decode::<WsConnectParams>() {
                Ok(request) => {
                    let form = to_urlencoded(&request).unwrap();
                    let back: WsConnectParams =
                        Params::from_urlencoded(form.as_bytes()).decode().unwrap();
                    if unquote(request.queue_id.as_str()) == request.queue_id.as_str() {
                        prop_assert_eq!(back, request);
                    }
                }
                Err(err) => check_param_error(err)?,
            }
        }
    }

    /// FCM and APNs requests and the data every push carries (what a phone parses).
    #[test]
    fn push_payloads(which in 0..7usize, muts in mutations(), noise in any::<String>()) {
        let name = ["push/fcm.call.json", "push/fcm.call_response.json", "push/apns.call.json",
            "push/apns.missed_call.json", "plugin/push/fcm.call.json",
            "plugin/push/fcm.call_cancelled.json", "plugin/push/apns.call.json"][which];
        let fixture = fixture_json(name);
        let text = render(&mutated(&fixture, &muts));
        parse_json::<FcmRequest>(&text)?;
        parse_json::<ApnsRequest>(&text)?;
        parse_json::<FcmRequest>(&noise)?;
        parse_json::<ApnsRequest>(&noise)?;
        // The data alone, as an FCM client or the APNs body sees it.
        let data = fixture.pointer("/message/data").or_else(|| fixture.pointer("/body")).unwrap();
        let data = render(&mutated(data, &muts));
        parse_json::<PushData>(&data)?;
        if let Ok(parsed) = serde_json::from_str::<PushData>(&data) {
            // Every value travels as a string.
            let written = serde_json::to_value(&parsed).unwrap();
            for (k, v) in parsed.to_map() {
                prop_assert!(!k.is_empty());
                prop_assert_eq!(written[&k].as_str(), Some(v.as_str()));
            }
        }
    }

    /// Group call pushes: the provider requests and their data, which is flat strings.
    #[test]
    fn group_push_payloads(which in 0..4usize, muts in mutations(), noise in any::<String>()) {
        let name = ["fcm.group_call", "fcm.group_call_cancelled", "apns.group_call",
            "apns.group_call_cancelled"][which];
        let fixture = fixture_json(&format!("plugin/group/push/{name}.json"));
        let text = render(&mutated(&fixture, &muts));
        parse_json::<FcmRequest<GroupPushData>>(&text)?;
        parse_json::<ApnsRequest<GroupPushData>>(&text)?;
        parse_json::<FcmRequest<GroupPushData>>(&noise)?;
        let data = fixture.pointer("/message/data").or_else(|| fixture.pointer("/body")).unwrap();
        let data = render(&mutated(data, &muts));
        parse_json::<GroupPushData>(&data)?;
        if let Ok(parsed) = serde_json::from_str::<GroupPushData>(&data) {
            let written = serde_json::to_value(&parsed).unwrap();
            prop_assert!(written.as_object().unwrap().values().all(Value::is_string));
        }
    }

    /// Jitsi JWT claims and header.
    #[test]
    fn jwt_claims(which in 0..2usize, muts in mutations(), header in json_value()) {
        let name = ["jitsi/claims.sender.json", "jitsi/claims.receiver.json"][which];
        let text = render(&mutated(&fixture_json(name), &muts));
        parse_json::<JitsiClaims>(&text)?;
        let header_fixture = json!({"alg": "HS256", "typ": "JWT"});
        parse_json::<JwtHeader>(&render(&mutated(&header_fixture, &muts)))?;
        parse_json::<JwtHeader>(&header.to_string())?;
    }

    /// Ids, timestamps and enumerations read from strings: whatever parses prints as a string
    /// that parses to the same value.
    #[test]
    fn scalars(text in nasty_string()) {
        fn round<T>(text: &str) -> Result<(), TestCaseError>
        where
            T: std::str::FromStr + std::fmt::Display + PartialEq + Debug,
        {
            if let Ok(v) = text.parse::<T>() {
                let printed = v.to_string();
                let back = printed.parse::<T>().ok();
                prop_assert!(back.as_ref() == Some(&v), "{text:?} → {printed:?} → {back:?}");
            }
            Ok(())
        }
        round::<UserId>(&text)?;
        round::<CallId>(&text)?;
        round::<QueueId>(&text)?;
        round::<EventId>(&text)?;
        round::<CallType>(&text)?;
        round::<CallState>(&text)?;
        round::<EndReason>(&text)?;
        round::<MediaStatus>(&text)?;
        round::<CallEventType>(&text)?;
        round::<RespondAction>(&text)?;
        round::<AckStatus>(&text)?;
        round::<CallOp>(&text)?;
        round::<CallOpReason>(&text)?;
        round::<CallStatus>(&text)?;
        round::<RespondOutcome>(&text)?;
        round::<HistoryStatus>(&text)?;
        round::<GroupCallState>(&text)?;
        round::<ParticipantState>(&text)?;
        round::<GroupCallOp>(&text)?;
        round::<GroupLeftReason>(&text)?;
        round::<GroupEndReason>(&text)?;
        // `user_ids` in any form: whatever reads writes back (comma-separated) as the same list.
        if let Ok(ids) = text.parse::<UserIds>() {
            prop_assert_eq!(ids.to_string().parse::<UserIds>(), Ok(ids));
        }
        // Any text as a cursor: a position or an error naming `cursor`, never a panic; a
        // position written back as a cursor names the same position.
        match HistoryCursor(text.clone()).decode() {
            Ok((created_at, call_id)) => {
                let again = HistoryCursor::encode(created_at, call_id).decode().unwrap();
                prop_assert_eq!(again.1, call_id);
                prop_assert_eq!(again.0.unix_millis(), created_at.unix_millis());
            }
            Err(err) => {
                let named = matches!(&err, ParamError::Invalid { name, .. } if name == "cursor");
                prop_assert!(named, "{:?}", err);
            }
        }
        // Timestamps print in UTC with at most millisecond precision: a fixed point after one
        // normalisation.
        if let Ok(t) = text.parse::<Timestamp>() {
            let printed = t.to_string();
            let back: Timestamp = printed.parse().unwrap();
            prop_assert_eq!(back.to_string(), printed);
        }
        let quoted = Value::String(text.clone()).to_string();
        parse_json::<Timestamp>(&quoted)?;
        parse_json::<CallId>(&quoted)?;
    }

    /// Settings overrides from the environment: any value of any variable gives settings or an
    /// error naming that variable.
    #[test]
    fn settings_overrides(
        values in prop::collection::vec((prop::sample::select(Settings::NAMES), nasty_string()), 0..6),
    ) {
        let lookup = |name: &str| {
            values.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
        };
        match Settings::default().with_overrides(lookup) {
            Ok(settings) => {
                let _ = settings.jitsi_host();
                let _ = settings.room_url(CallId::new_random());
            }
            Err(err) => {
                prop_assert!(Settings::NAMES.contains(&err.name()), "{err}");
                prop_assert!(!err.to_string().is_empty());
            }
        }
    }
}

/// A body just under the 1 MiB limit made of distinct names (`a0=&a1=&...`, about 120 000 of
/// them) is read in well under a second even in a debug build. Each name was once looked up
/// with a linear scan, which made such a body cost minutes of CPU.
#[test]
fn many_distinct_names_are_read_in_linear_time() {
    let mut body = String::new();
    let mut count = 0;
    while body.len() < 1_000_000 {
        body.push_str(&format!("a{count}=&"));
        count += 1;
    }
    let started = std::time::Instant::now();
    let params = Params::from_urlencoded(body.as_bytes());
    let elapsed = started.elapsed();
    assert_eq!(params.names().count(), count);
    assert_eq!(params.get("a0"), Some(&RawParam::Text(String::new())));
    let last = format!("a{}", count - 1);
    assert!(params.get(&last).is_some());
    // The quadratic scan took about 100 s here; linear takes well under 1 s.
    assert!(
        elapsed < std::time::Duration::from_secs(10),
        "{count} names took {elapsed:?}"
    );
    // The last value of a repeated name still wins, in the first one's place.
    let repeated = Params::from_urlencoded(b"x=1&y=2&x=3");
    assert_eq!(repeated.names().collect::<Vec<_>>(), ["x", "y"]);
    assert_eq!(repeated.get("x"), Some(&RawParam::Text("3".into())));
}

//! Push requests (spec §6) and Jitsi tokens and URLs (spec §7) against exact fixtures.
//!
//! Every fixture is built by this crate's functions from the fixed inputs below and must match
//! byte for byte (as JSON values), then survive a parse/serialise round trip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{assert_round_trip, fixture_json};
use pretty_assertions::assert_eq;
use zulip_calls_protocol::jitsi::{
    JitsiClaims, JitsiParticipant, JwtConfig, join_url, room_name, room_url,
};
use zulip_calls_protocol::push::{
    ApnsRequest, FcmRequest, PushContext, PushKind, PushNotification, PushRequest, PushTarget,
    build_push,
};
use zulip_calls_protocol::settings::Settings;
use zulip_calls_protocol::{
    Call, CallId, CallState, CallType, Party, RespondAction, Timestamp, UserId,
};

const CALL_ID: &str = "0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f";
const APNS_TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const APPID: &str = "org.zulip.Zulip";

fn at(time: &str) -> Timestamp {
    time.parse().unwrap()
}

/// King Hamlet (10) calls Othello (12) at 2024-01-01T12:00:00Z with default settings.
fn call(call_type: CallType, state: CallState) -> Call {
    let settings = Settings::default();
    let call_id: CallId = CALL_ID.parse().unwrap();
    Call {
        call_id,
        call_type,
        state,
        sender_id: UserId(10),
        sender_name: "King Hamlet".into(),
        sender_email: "hamlet@zulip.com".into(),
        receiver_id: UserId(12),
        receiver_name: "Othello, the Moor of Venice".into(),
        receiver_email: "othello@zulip.com".into(),
        jitsi_room_id: settings.room_name(call_id),
        jitsi_url: settings.room_url(call_id),
        created_at: at("2024-01-01T12:00:00Z"),
        answered_at: None,
        ended_at: None,
        duration: None,
        end_reason: None,
    }
}

fn context() -> PushContext {
    let ctx = PushContext::from_realm_url(
        "https://chat.example.com",
        Settings::default().timeout_seconds(),
    )
    .unwrap();
    assert_eq!(ctx.server, "chat.example.com");
    ctx
}

fn push(
    call: &Call,
    recipient: UserId,
    kind: PushKind,
    now: &str,
    device: &PushTarget,
) -> PushRequest {
    let notification = PushNotification::new(call, recipient, kind, &context(), at(now));
    build_push(
        device,
        &notification,
        &Settings::default().call_push_notification_sound,
    )
}

fn fcm(name: &str, built: PushRequest) {
    let PushRequest::Fcm(request) = built else {
        panic!("{name}: not an FCM request");
    };
    assert_eq!(serde_json::to_value(&request).unwrap(), fixture_json(name));
    assert_eq!(assert_round_trip::<FcmRequest>(name), request);
    // FCM wants `data` as a string map; the fixture's data must read as one.
    let data: BTreeMap<String, String> =
        serde_json::from_value(fixture_json(name)["message"]["data"].clone()).unwrap();
    assert_eq!(data, request.message.data.to_map());
}

fn apns(name: &str, built: PushRequest) -> ApnsRequest {
    let PushRequest::Apns(request) = built else {
        panic!("{name}: not an APNs request");
    };
    assert_eq!(serde_json::to_value(&request).unwrap(), fixture_json(name));
    assert_eq!(assert_round_trip::<ApnsRequest>(name), request);
    request
}

#[test]
fn fcm_call() {
    let device = PushTarget::Fcm {
        token: "fcm-token-othello-pixel".into(),
    };
    let call = call(CallType::Video, CallState::Calling);
    let built = push(
        &call,
        UserId(12),
        PushKind::Call,
        "2024-01-01T12:00:00Z",
        &device,
    );
    fcm("push/fcm.call.json", built);
}

#[test]
fn fcm_call_response() {
    let device = PushTarget::Fcm {
        token: "fcm-token-hamlet-phone".into(),
    };
    let call = call(CallType::Video, CallState::Accepted);
    let kind = PushKind::for_state(call.state).unwrap();
    assert_eq!(kind, PushKind::CallResponse(RespondAction::Accept));
    let built = push(&call, call.sender_id, kind, "2024-01-01T12:00:05Z", &device);
    fcm("push/fcm.call_response.json", built);
}

#[test]
fn apns_call() {
    let device = PushTarget::Apns {
        token: APNS_TOKEN.into(),
        appid: APPID.into(),
    };
    let call = call(CallType::Video, CallState::Calling);
    let built = push(
        &call,
        UserId(12),
        PushKind::Call,
        "2024-01-01T12:00:00Z",
        &device,
    );
    let request = apns("push/apns.call.json", built);
    assert_eq!(request.path(), format!("/3/device/{APNS_TOKEN}"));
    let fixture = fixture_json("push/apns.call.json");
    for (name, value) in request.headers.pairs() {
        assert_eq!(fixture["headers"][name], value.as_str(), "{name}");
    }
}

#[test]
fn apns_missed_call() {
    let device = PushTarget::Apns {
        token: APNS_TOKEN.into(),
        appid: APPID.into(),
    };
    let call = call(CallType::Audio, CallState::Missed);
    let kind = PushKind::for_state(call.state).unwrap();
    let built = push(
        &call,
        call.receiver_id,
        kind,
        "2024-01-01T12:02:00Z",
        &device,
    );
    apns("push/apns.missed_call.json", built);
}

fn jwt_config() -> JwtConfig {
    let settings = Settings::default()
        .with_overrides(|name| match name {
            "JITSI_JWT_APP_ID" => Some("zulip-calls".into()),
            "JITSI_JWT_SECRET" => Some("not-in-any-fixture".into()),
            _ => None,
        })
        .unwrap();
    JwtConfig::from_settings(&settings).unwrap()
}

fn claims(name: &str, party: Party, avatar: &str, now: &str) {
    let call = call(CallType::Video, CallState::Accepted);
    let room = room_name("zulip-call-", call.call_id);
    assert_eq!(room, call.jitsi_room_id);
    let participant = JitsiParticipant::of_call(&call, party, avatar);
    let built = JitsiClaims::for_participant(&jwt_config(), &room, &participant, at(now));
    assert_eq!(serde_json::to_value(&built).unwrap(), fixture_json(name));
    assert_eq!(assert_round_trip::<JitsiClaims>(name), built);
}

#[test]
fn jwt_claims_of_the_sender() {
    claims(
        "jitsi/claims.sender.json",
        Party::Sender,
        "https://chat.example.com/avatar/10",
        "2024-01-01T12:00:00Z",
    );
}

#[test]
fn jwt_claims_of_the_receiver() {
    claims(
        "jitsi/claims.receiver.json",
        Party::Receiver,
        "https://chat.example.com/avatar/12",
        "2024-01-01T12:00:05Z",
    );
}

#[test]
fn join_urls() {
    let expected: BTreeMap<String, String> = assert_round_trip("jitsi/join_urls.json");
    let base = room_url(
        "https://meet.jit.si/",
        &room_name("zulip-call-", CALL_ID.parse().unwrap()),
    );
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig";
    let built: BTreeMap<String, String> = [
        (
            "sender_video_with_jwt",
            join_url(&base, CallType::Video, "King Hamlet", Some(jwt), true),
        ),
        (
            "receiver_audio",
            join_url(
                &base,
                CallType::Audio,
                "Othello, the Moor of Venice",
                None,
                true,
            ),
        ),
        (
            "unicode_name",
            join_url(&base, CallType::Video, "Zoë \"Z\" Ørsted 🎉", None, true),
        ),
        (
            "api_disabled",
            join_url(&base, CallType::Audio, "King Hamlet", Some(jwt), false),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(built, expected);
}

//! The 1.1 dialect (`spec/plugin-1.1-dialect.md`) against exact fixtures: its own endpoints,
//! its view of the shared paths, the mobile app's JSON-quoted form values, the history cursor,
//! the `call` events of every op, its pushes and its error bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{assert_request, assert_response, assert_round_trip, fixture_json, fixture_text};
use pretty_assertions::assert_eq;
use zulip_calls_protocol::calls::{
    self, AckStatus, Acknowledge, AcknowledgeRequest, AcknowledgeResponse, CreateRequest,
    CreateResponse, HistoryRequest, HistoryResponse,
};
use zulip_calls_protocol::endpoint::{Endpoint, Verb, info, request_path, route};
use zulip_calls_protocol::event::{CallOpExtras, CallOpReason, parse_event_frame};
use zulip_calls_protocol::jitsi::join_url;
use zulip_calls_protocol::params::Params;
use zulip_calls_protocol::plugin::{
    self, ALREADY_ENDED, CallStatusById, Cancel, EndById, EndByIdRequest, Heartbeat,
    HeartbeatRequest, HistoryCursor, HistoryStart, HistoryStatus, MessageResponse, PluginCall,
    PluginCreate, PluginCreateResponse, PluginHistory, PluginHistoryCall, PluginHistoryRequest,
    PluginHistoryResponse, RespondById, RespondByIdRequest, RespondByIdResponse, RespondOutcome,
    SharedHistoryEntry, SharedHistoryRequest, SharedHistoryResponse,
};
use zulip_calls_protocol::push::{
    PushContext, PushKind, PushNotification, PushRealm, PushRequest, PushTarget, build_push,
    build_push_in,
};
use zulip_calls_protocol::settings::Settings;
use zulip_calls_protocol::{
    Action, ApiError, Call, CallId, CallOp, CallOpDetail, CallOpEvent, CallState, CallStatus,
    CallType, Dialect, EndReason, ErrorCode, EventId, EventKind, ParamError, QueueEvent,
    RespondAction, Timestamp, UserId,
};

const CALL_ID: &str = "7f1e5a52-3c9b-4d2e-8f6a-9b0c1d2e3f40";
const MISSED_CALL_ID: &str = "c0ffee00-1234-4abc-8def-0123456789ab";
const HAMLET: UserId = UserId(10);
const OTHELLO: UserId = UserId(12);
const IAGO: UserId = UserId(5);

fn call_id() -> CallId {
    CALL_ID.parse().unwrap()
}

fn at(time: &str) -> Timestamp {
    time.parse().unwrap()
}

/// King Hamlet (10) calls Othello (12) at 2024-01-01T12:00:00Z; the call is now in `state`.
fn call(state: CallState) -> Call {
    let settings = Settings::default();
    Call {
        call_id: call_id(),
        call_type: CallType::Video,
        state,
        sender_id: HAMLET,
        sender_name: "King Hamlet".into(),
        sender_email: "hamlet@zulip.com".into(),
        receiver_id: OTHELLO,
        receiver_name: "Othello, the Moor of Venice".into(),
        receiver_email: "othello@zulip.com".into(),
        jitsi_room_id: settings.room_name(call_id()),
        jitsi_url: settings.room_url(call_id()),
        created_at: at("2024-01-01T12:00:00Z"),
        answered_at: None,
        ended_at: None,
        duration: None,
        end_reason: None,
    }
}

/// The call answered at 12:00:05 and over at `ended_at`, in `state` for `reason`.
fn answered_and_over(state: CallState, reason: EndReason, ended_at: &str) -> Call {
    let mut call = call(state);
    call.answered_at = Some(at("2024-01-01T12:00:05Z"));
    call.ended_at = Some(at(ended_at));
    call.duration = call.computed_duration();
    call.end_reason = Some(reason);
    call
}

/// Iago (5) called King Hamlet on 2023-12-31 and it rang out.
fn missed_call_from_iago() -> Call {
    let settings = Settings::default();
    let id: CallId = MISSED_CALL_ID.parse().unwrap();
    Call {
        call_id: id,
        call_type: CallType::Audio,
        state: CallState::Missed,
        sender_id: IAGO,
        sender_name: "Iago".into(),
        sender_email: "iago@zulip.com".into(),
        receiver_id: HAMLET,
        receiver_name: "King Hamlet".into(),
        receiver_email: "hamlet@zulip.com".into(),
        jitsi_room_id: settings.room_name(id),
        jitsi_url: settings.room_url(id),
        created_at: at("2023-12-31T09:15:00Z"),
        answered_at: None,
        ended_at: Some(at("2023-12-31T09:17:00Z")),
        duration: None,
        end_reason: Some(EndReason::Missed),
    }
}

/// Checks `plugin/<name>.request.json` and `plugin/<name>.response.json` for endpoint `E`,
/// named after `E::NAME` (`calls.respond_by_id` → `plugin/respond_by_id.*.json`).
fn check_endpoint<E: Endpoint>() -> (E::Request, E::Response)
where
    E::Request: PartialEq,
{
    let (_, file) = E::NAME.split_once('.').unwrap();
    let request = assert_request::<E::Request>(&format!("plugin/{file}.request.json"));
    let response = assert_response::<E::Response>(&format!("plugin/{file}.response.json"));
    (request, response)
}

/// A mobile app's form body (`plugin/<name>.request.mobile.txt`), JSON-quoted values and all,
/// decoded as the server decodes it.
fn mobile_form<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let body = fixture_text(&format!("plugin/{name}.request.mobile.txt"));
    Params::from_urlencoded(body.trim_end().as_bytes())
        .decode()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

/// The 1.1 dialect's own routes, with the method and path of its spec's §3.
#[test]
fn every_plugin_endpoint_has_the_spec_method_and_path() {
    let table = [
        (info::<RespondById>(), Verb::Post, "calls/{call_id}/respond"),
        (info::<Cancel>(), Verb::Post, "calls/{call_id}/cancel"),
        (info::<EndById>(), Verb::Post, "calls/{call_id}/end"),
        (
            info::<CallStatusById>(),
            Verb::Get,
            "calls/{call_id}/status",
        ),
        (info::<Heartbeat>(), Verb::Post, "calls/heartbeat"),
    ];
    // The 1:1 routes first; the group calls' follow (`group_fixtures.rs`).
    let listed: Vec<_> = plugin::ENDPOINTS
        .iter()
        .map(|e| e.name)
        .filter(|name| !name.starts_with("calls.group."))
        .collect();
    let expected: Vec<_> = table.iter().map(|(i, _, _)| i.name).collect();
    assert_eq!(listed, expected);
    assert_eq!(
        &plugin::ENDPOINTS[..expected.len()],
        table.map(|(i, _, _)| i)
    );
    assert_eq!(plugin::ENDPOINTS.len(), expected.len() + 8);
    assert_eq!(
        expected,
        [
            "calls.respond_by_id",
            "calls.cancel",
            "calls.end_by_id",
            "calls.status_by_id",
            "calls.heartbeat"
        ]
    );
    for (info, method, path) in table {
        assert_eq!((info.method, info.path), (method, path), "{}", info.name);
        assert_eq!(
            info.auth,
            zulip_calls_protocol::endpoint::Auth::Basic,
            "{}",
            info.name
        );
    }
    assert_eq!(route::<Cancel>(), "/api/v1/calls/{call_id}/cancel");
    assert_eq!(
        request_path::<RespondById>(&call_id()),
        format!("/api/v1/calls/{CALL_ID}/respond")
    );
    assert_eq!(
        request_path::<CallStatusById>(&call_id()),
        format!("/api/v1/calls/{CALL_ID}/status")
    );
    assert_eq!(request_path::<Heartbeat>(&()), "/api/v1/calls/heartbeat");
}

/// The shared paths are mounted once, by the design endpoints; the 1.1 descriptors of them
/// name the same routes.
#[test]
fn shared_paths_are_the_design_routes() {
    let design: BTreeSet<_> = calls::ENDPOINTS
        .iter()
        .map(|e| (e.name, e.method.as_str(), e.path))
        .collect();
    for shared in plugin::SHARED_ENDPOINTS {
        assert!(
            design.contains(&(shared.name, shared.method.as_str(), shared.path)),
            "{shared:?}"
        );
    }
    assert_eq!(
        [info::<PluginCreate>(), info::<PluginHistory>()].map(|i| i.path),
        ["calls/create", "calls/history"]
    );
    let own: BTreeSet<_> = plugin::ENDPOINTS
        .iter()
        .map(|e| (e.method.as_str(), e.path))
        .collect();
    assert!(
        design
            .iter()
            .all(|(_, method, path)| !own.contains(&(*method, *path)))
    );
}

#[test]
fn create() {
    let (request, response) = check_endpoint::<PluginCreate>();
    assert_eq!(request.call_type().unwrap(), CallType::Video);
    assert_eq!(
        request.target().unwrap(),
        calls::CallTarget::Id(OTHELLO),
        "user_id names the callee"
    );
    let design = assert_response::<CreateResponse>("calls/create.response.json");
    assert_eq!(PluginCreateResponse::from(design), response);
    // A 1.1 client also reads the design (and union) answer, ignoring `call`.
    let from_design: zulip_calls_protocol::Success<PluginCreateResponse> =
        serde_json::from_value(fixture_json("calls/create.response.json")).unwrap();
    assert_eq!(from_design.body, response);

    let mobile: CreateRequest = mobile_form("create");
    assert_eq!(mobile, request);
}

#[test]
fn acknowledge_without_status_and_with_a_message() {
    let request = assert_request::<AcknowledgeRequest>("plugin/acknowledge.request.json");
    assert_eq!((request.call_id, request.status), (call_id(), None));
    let mobile: AcknowledgeRequest = mobile_form("acknowledge");
    assert_eq!(mobile, request);
    let with_status: AcknowledgeRequest =
        Params::from_urlencoded(format!("call_id=%22{CALL_ID}%22&status=%22ringing%22").as_bytes())
            .decode()
            .unwrap();
    assert_eq!(with_status.status, Some(AckStatus::Ringing));

    let response = assert_response::<AcknowledgeResponse>("plugin/acknowledge.response.json");
    assert_eq!(
        response,
        AcknowledgeResponse {
            call_status: CallState::Ringing,
            message: Some(AcknowledgeResponse::ACKNOWLEDGED.to_owned()),
        }
    );
    let over =
        assert_response::<AcknowledgeResponse>("plugin/acknowledge.response.already_ended.json");
    assert_eq!(over.call_status, CallState::Cancelled);
    assert_eq!(over.message.as_deref(), Some(ALREADY_ENDED));
    // The design answer has no `message` and is written without one.
    let design = assert_response::<AcknowledgeResponse>("calls/acknowledge.response.json");
    assert_eq!(design.message, None);
    assert_eq!(info::<Acknowledge>().path, "calls/acknowledge");
}

#[test]
fn respond_by_id() {
    let (request, response) = check_endpoint::<RespondById>();
    assert_eq!(request.response, RespondAction::Accept);
    let othello_url = join_url(
        &call(CallState::Accepted).jitsi_url,
        CallType::Video,
        "Othello, the Moor of Venice",
        None,
        true,
    );
    assert_eq!(response, RespondByIdResponse::accepted(othello_url));

    let decline = assert_request::<RespondByIdRequest>("plugin/respond_by_id.request.decline.json");
    assert_eq!(decline.response, RespondAction::Reject);
    assert_eq!(
        serde_json::to_value(&decline).unwrap()["response"],
        "decline",
        "a refusal is sent as the plugin's word"
    );
    let reject: RespondByIdRequest = Params::from_urlencoded(b"response=reject")
        .decode()
        .unwrap();
    assert_eq!(reject, decline);
    let mobile: RespondByIdRequest = mobile_form("respond_by_id");
    assert_eq!(mobile, decline);

    let declined =
        assert_response::<RespondByIdResponse>("plugin/respond_by_id.response.decline.json");
    assert_eq!(declined, RespondByIdResponse::declined());
    let noop = assert_response::<RespondByIdResponse>("plugin/respond_by_id.response.noop.json");
    assert_eq!(noop, RespondByIdResponse::noop());
    assert_eq!(
        RespondOutcome::from(RespondAction::Reject),
        RespondOutcome::Decline
    );
    let bad = Params::from_urlencoded(b"response=maybe").decode::<RespondByIdRequest>();
    assert!(matches!(bad, Err(ParamError::Invalid { name, .. }) if name == "response"));
    let missing = Params::from_urlencoded(b"").decode::<RespondByIdRequest>();
    assert_eq!(missing, Err(ParamError::Missing("response".into())));
}

#[test]
fn cancel() {
    let (_, response) = check_endpoint::<Cancel>();
    assert_eq!(response, MessageResponse::new(MessageResponse::CANCELLED));
    let over = assert_response::<MessageResponse>("plugin/cancel.response.already_ended.json");
    assert_eq!(over, MessageResponse::new(ALREADY_ENDED));
}

#[test]
fn end_by_id() {
    let (request, response) = check_endpoint::<EndById>();
    assert_eq!(request.duration, Some(1795.5));
    assert_eq!(response, MessageResponse::new(MessageResponse::ENDED));
    let mobile: EndByIdRequest = mobile_form("end_by_id");
    assert_eq!(mobile, request);
    let bare: EndByIdRequest = Params::from_urlencoded(b"").decode().unwrap();
    assert_eq!(bare, EndByIdRequest::default());
    // Servers ignore the duration, so a malformed one does not fail the hang-up.
    for junk in ["abc", "NaN", "inf", "[1]"] {
        let read: EndByIdRequest = Params::from_urlencoded(format!("duration={junk}").as_bytes())
            .decode()
            .unwrap();
        assert_eq!(read.duration, None, "{junk}");
    }
}

#[test]
fn status_by_id() {
    let (_, response) = check_endpoint::<CallStatusById>();
    let mut accepted = call(CallState::Accepted);
    accepted.answered_at = Some(at("2024-01-01T12:00:05Z"));
    let hamlet_url = join_url(
        &accepted.jitsi_url,
        CallType::Video,
        "King Hamlet",
        None,
        true,
    );
    assert_eq!(response.call, PluginCall::new(&accepted, Some(hamlet_url)));
    assert_eq!(response.call.status, CallStatus::Accepted);
    assert_eq!(response.call.timestamp, 1_704_110_400);

    let over = assert_response::<plugin::CallStatusByIdResponse>(
        "plugin/status_by_id.response.network_failure.json",
    );
    let failed = answered_and_over(
        CallState::NetworkFailure,
        EndReason::NetworkFailure,
        "2024-01-01T12:30:00Z",
    );
    assert_eq!(over.call, PluginCall::new(&failed, None));
    assert_eq!(
        (over.call.status, over.call.duration),
        (CallStatus::Ended, Some(1795))
    );

    let fields: BTreeSet<String> = fixture_json("plugin/status_by_id.response.json")["call"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let spec: BTreeSet<String> = [
        "call_id",
        "caller_id",
        "recipient_id",
        "call_type",
        "status",
        "state",
        "jitsi_url",
        "call_url",
        "timestamp",
        "duration",
        "created_at",
        "started_at",
        "ended_at",
        "sender",
        "receiver",
    ]
    .map(String::from)
    .into();
    assert_eq!(fields, spec);
}

#[test]
fn heartbeat() {
    let (request, response) = check_endpoint::<Heartbeat>();
    assert_eq!(
        request,
        HeartbeatRequest {
            call_id: call_id(),
            is_backgrounded: Some(false)
        }
    );
    assert_eq!(response.call_state, CallState::Accepted);
    let mobile: HeartbeatRequest = mobile_form("heartbeat");
    assert_eq!(
        mobile,
        HeartbeatRequest {
            call_id: call_id(),
            is_backgrounded: Some(true)
        }
    );
    let bad = Params::from_urlencoded(b"call_id=42").decode::<HeartbeatRequest>();
    assert!(matches!(bad, Err(ParamError::Invalid { name, .. }) if name == "call_id"));
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

#[test]
fn history() {
    let request = assert_request::<PluginHistoryRequest>("plugin/history.request.json");
    assert_eq!(request.limit, 20);
    assert_eq!(request.status, Some(HistoryStatus::Answered));
    request.validate().unwrap();
    assert_eq!(
        request.after().unwrap(),
        Some((
            at("2024-01-02T08:30:00.250Z"),
            "3d9a1c7e-5b2f-4e8a-9c1d-2f3e4a5b6c7d".parse().unwrap()
        ))
    );

    let response = assert_response::<PluginHistoryResponse>("plugin/history.response.json");
    let ended = answered_and_over(CallState::Ended, EndReason::Hangup, "2024-01-01T12:30:00Z");
    let built = PluginHistoryResponse::new(
        vec![
            PluginHistoryCall::new(&ended, HAMLET),
            PluginHistoryCall::new(&missed_call_from_iago(), HAMLET),
        ],
        true,
    );
    assert_eq!(built, response);
    let last = assert_response::<PluginHistoryResponse>("plugin/history.response.last_page.json");
    assert_eq!(last, PluginHistoryResponse::new(Vec::new(), false));
}

#[test]
fn history_from_the_mobile_app() {
    let mobile: PluginHistoryRequest = mobile_form("history");
    let plain = assert_request::<PluginHistoryRequest>("plugin/history.request.json");
    assert_eq!(mobile.limit, 20);
    assert_eq!(
        mobile.cursor, plain.cursor,
        "the quoted cursor is read bare"
    );
    assert_eq!(mobile.status, Some(HistoryStatus::Missed));
    mobile.validate().unwrap();
}

#[test]
fn history_cursor_round_trip() {
    let response = assert_response::<PluginHistoryResponse>("plugin/history.response.json");
    let cursor = response.next_cursor.unwrap();
    let missed = missed_call_from_iago();
    assert_eq!(
        cursor.decode().unwrap(),
        (missed.created_at, missed.call_id)
    );
    assert_eq!(
        HistoryCursor::encode(missed.created_at, missed.call_id),
        cursor
    );
    let precise = at("2024-01-01T12:00:05.123Z");
    let again = HistoryCursor::encode(precise, call_id());
    assert_eq!(again.decode().unwrap(), (precise, call_id()));
    assert!(HistoryCursor::comes_after(
        (missed.created_at, missed.call_id),
        at("2023-12-30T00:00:00Z"),
        call_id()
    ));
}

#[test]
fn a_bad_cursor_is_a_bad_request_naming_cursor() {
    for bad in ["not base64!", "aGVsbG8=", "", "%%%"] {
        let request: PluginHistoryRequest =
            Params::from_urlencoded(format!("cursor={bad}").as_bytes())
                .decode()
                .unwrap();
        let err = request.validate().unwrap_err();
        assert!(
            matches!(&err, ParamError::Invalid { name, .. } if name == "cursor"),
            "{bad:?}: {err}"
        );
        let api = ApiError::from(err);
        assert_eq!(
            (api.code.clone(), api.http_status().as_u16()),
            (ErrorCode::BadRequest, 400)
        );
        assert_eq!(
            serde_json::to_value(&api).unwrap(),
            fixture_json("plugin/errors/BAD_REQUEST.cursor.json")
        );
    }
    assert_round_trip::<ApiError>("plugin/errors/BAD_REQUEST.cursor.json");
}

#[test]
fn history_limits_of_the_plugin() {
    let decode = |form: &str| {
        Params::from_urlencoded(form.as_bytes())
            .decode::<PluginHistoryRequest>()
            .unwrap()
    };
    assert_eq!(decode(""), PluginHistoryRequest::default());
    assert_eq!(decode("").limit, 50);
    assert!(decode("limit=100").validate().is_ok());
    for limit in ["0", "101", "200"] {
        let err = decode(&format!("limit={limit}")).validate().unwrap_err();
        assert!(
            matches!(err, ParamError::Invalid { name, .. } if name == "limit"),
            "{limit}"
        );
    }
    let word = Params::from_urlencoded(b"limit=ten").decode::<PluginHistoryRequest>();
    assert!(matches!(word, Err(ParamError::Invalid { name, .. }) if name == "limit"));
    let status = Params::from_urlencoded(b"status=ended").decode::<PluginHistoryRequest>();
    assert!(matches!(status, Err(ParamError::Invalid { name, .. }) if name == "status"));
}

/// One server serving both dialects reads either dialect's history parameters.
#[test]
fn shared_history_reads_both_dialects() {
    let decode = |form: &str| {
        Params::from_urlencoded(form.as_bytes())
            .decode::<SharedHistoryRequest>()
            .unwrap()
    };
    let design_fixture = common::fixture_text("calls/history.request.json");
    let design: SharedHistoryRequest = Params::from_json(design_fixture.as_bytes())
        .unwrap()
        .decode()
        .unwrap();
    let as_design = assert_request::<HistoryRequest>("calls/history.request.json");
    assert_eq!(design, SharedHistoryRequest::from(as_design));
    assert_eq!(design.start().unwrap(), HistoryStart::Offset(40));
    assert_eq!(design.dialect(), Some(Dialect::Design));
    assert!(design.admits(CallType::Video, CallState::Ended));
    assert!(!design.admits(CallType::Video, CallState::Missed));

    let plugin_fixture = common::fixture_text("plugin/history.request.json");
    let from_plugin: SharedHistoryRequest = Params::from_json(plugin_fixture.as_bytes())
        .unwrap()
        .decode()
        .unwrap();
    let as_plugin = assert_request::<PluginHistoryRequest>("plugin/history.request.json");
    assert_eq!(from_plugin, SharedHistoryRequest::from(as_plugin));
    assert_eq!(from_plugin.dialect(), Some(Dialect::V1_1));
    assert_eq!(
        from_plugin.start().unwrap(),
        HistoryStart::After {
            created_at: at("2024-01-02T08:30:00.250Z"),
            call_id: "3d9a1c7e-5b2f-4e8a-9c1d-2f3e4a5b6c7d".parse().unwrap()
        }
    );
    assert!(from_plugin.admits(CallType::Video, CallState::Accepted));
    assert!(!from_plugin.admits(CallType::Audio, CallState::Ended));

    let mobile = fixture_text("plugin/history.request.mobile.txt");
    let mobile = decode(mobile.trim_end());
    mobile.validate().unwrap();
    assert_eq!(mobile.status, Some(HistoryStatus::Missed));

    let plain = decode("");
    assert_eq!(plain, SharedHistoryRequest::default());
    assert_eq!(
        (plain.start().unwrap(), plain.dialect()),
        (HistoryStart::Offset(0), None)
    );
    assert!(decode("limit=200").validate().is_ok());
    assert!(decode("limit=201").validate().is_err());
    let cursor = HistoryCursor::encode(at("2024-01-01T12:00:00Z"), call_id());
    let both = decode(&format!("offset=10&cursor={cursor}"));
    assert!(matches!(both.validate(), Err(ParamError::Invalid { name, .. }) if name == "cursor"));
    let bad = decode("cursor=nope").start().unwrap_err();
    assert!(matches!(bad, ParamError::Invalid { name, .. } if name == "cursor"));
    let filters = decode("state=ended&status=answered");
    assert!(filters.admits(CallType::Audio, CallState::Ended));
    assert!(!filters.admits(CallType::Audio, CallState::Accepted));
}

/// The union answer of a server serving both dialects reads as either dialect's response.
#[test]
fn shared_history_answer_serves_both_dialects() {
    let union = assert_response::<SharedHistoryResponse>("plugin/history.response.both.json");
    let ended = answered_and_over(CallState::Ended, EndReason::Hangup, "2024-01-01T12:30:00Z");
    let built = SharedHistoryResponse::new(
        vec![
            SharedHistoryEntry::new(&ended, HAMLET),
            SharedHistoryEntry::new(&missed_call_from_iago(), HAMLET),
        ],
        true,
        42,
    );
    assert_eq!(built, union);

    let value = fixture_json("plugin/history.response.both.json");
    let design: zulip_calls_protocol::Success<HistoryResponse> =
        serde_json::from_value(value.clone()).unwrap();
    let design_only = assert_response::<HistoryResponse>("calls/history.response.json");
    assert_eq!(design.body, design_only);
    let plugin: zulip_calls_protocol::Success<PluginHistoryResponse> =
        serde_json::from_value(value).unwrap();
    let plugin_only = assert_response::<PluginHistoryResponse>("plugin/history.response.json");
    assert_eq!(plugin.body, plugin_only);
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn error_bodies_carry_msg_and_message() {
    let fixture = fixture_json("plugin/errors/INVALID_CALL_STATE.cancel.json");
    let built = ApiError::invalid_call_state(Action::Cancel.verb(), CallState::Accepted);
    assert_eq!(serde_json::to_value(&built).unwrap(), fixture);
    let parsed = assert_round_trip::<ApiError>("plugin/errors/INVALID_CALL_STATE.cancel.json");
    assert_eq!(parsed.message.as_deref(), Some(parsed.msg.as_str()));

    // A body with only `msg` gains `message`; a reworded `msg` carries over.
    let mut bare: ApiError = serde_json::from_value(serde_json::json!({
        "result": "error",
        "msg": "Cannot cancel call in state: accepted",
        "code": "INVALID_CALL_STATE",
        "call_status": "accepted"
    }))
    .unwrap();
    assert_eq!(bare.message, None);
    assert_eq!(
        serde_json::to_value(bare.clone().with_message()).unwrap(),
        fixture
    );
    bare.msg = "Call already answered".into();
    assert_eq!(
        bare.with_message().message.as_deref(),
        Some("Call already answered")
    );
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// The call each op's fixture is about, the event's id and time, who acted and the op's
/// recipient.
fn op_case(name: &str) -> (Call, EventId, &'static str, Option<UserId>, UserId) {
    let ended = || answered_and_over(CallState::Ended, EndReason::Hangup, "2024-01-01T12:30:00Z");
    let unanswered = |state, reason| {
        let mut c = call(state);
        c.ended_at = Some(at("2024-01-01T12:00:05Z"));
        c.end_reason = Some(reason);
        c
    };
    match name {
        "initiated" => (
            call(CallState::Calling),
            EventId(0),
            "2024-01-01T12:00:00Z",
            Some(HAMLET),
            HAMLET,
        ),
        "incoming_call" => (
            call(CallState::Calling),
            EventId(0),
            "2024-01-01T12:00:00Z",
            Some(HAMLET),
            OTHELLO,
        ),
        "ringing" => (
            call(CallState::Ringing),
            EventId(1),
            "2024-01-01T12:00:01Z",
            Some(OTHELLO),
            HAMLET,
        ),
        "accepted" => {
            let mut c = call(CallState::Accepted);
            c.answered_at = Some(at("2024-01-01T12:00:05Z"));
            (c, EventId(2), "2024-01-01T12:00:05Z", Some(OTHELLO), HAMLET)
        }
        "declined" => (
            unanswered(CallState::Rejected, EndReason::Rejected),
            EventId(2),
            "2024-01-01T12:00:05Z",
            Some(OTHELLO),
            OTHELLO,
        ),
        "cancelled" => (
            unanswered(CallState::Cancelled, EndReason::Cancelled),
            EventId(2),
            "2024-01-01T12:00:04Z",
            Some(HAMLET),
            OTHELLO,
        ),
        "ended" => (
            ended(),
            EventId(3),
            "2024-01-01T12:30:00Z",
            Some(HAMLET),
            OTHELLO,
        ),
        "ended.network_failure" => {
            let c = answered_and_over(
                CallState::NetworkFailure,
                EndReason::NetworkFailure,
                "2024-01-01T12:30:00.500Z",
            );
            assert_eq!(c.duration, Some(1795.5));
            (c, EventId(3), "2024-01-01T12:30:00.500Z", None, HAMLET)
        }
        "missed" => {
            let mut c = call(CallState::Missed);
            c.ended_at = Some(at("2024-01-01T12:02:00Z"));
            c.end_reason = Some(EndReason::Missed);
            (c, EventId(2), "2024-01-01T12:02:00Z", None, OTHELLO)
        }
        "missed.not_delivered" => {
            let mut c = call(CallState::Timeout);
            c.ended_at = Some(at("2024-01-01T12:00:30Z"));
            c.end_reason = Some(EndReason::Timeout);
            (c, EventId(1), "2024-01-01T12:00:30Z", None, HAMLET)
        }
        other => panic!("no case for {other}"),
    }
}

const OP_FIXTURES: &[&str] = &[
    "initiated",
    "incoming_call",
    "ringing",
    "accepted",
    "declined",
    "cancelled",
    "ended",
    "ended.network_failure",
    "missed",
    "missed.not_delivered",
];

fn extras() -> CallOpExtras {
    CallOpExtras {
        timeout_seconds: Settings::default().timeout_seconds(),
        receiver_was_offline: false,
    }
}

#[test]
fn every_op_has_a_fixture_that_round_trips() {
    for op in CallOp::ALL {
        let name = format!("plugin/events/{op}.json");
        let event = assert_round_trip::<QueueEvent>(&name);
        let call_op = event
            .as_call_op()
            .unwrap_or_else(|| panic!("{name} is not a 1.1 call event: {event:?}"));
        assert_eq!(call_op.op(), *op, "{name}");
        assert_eq!(event.type_name(), "call");
        assert_eq!(event.as_call(), None);
    }
}

/// Each fixture is what the constructor builds from the call, the op's recipient, the actor
/// and the settings' timeout.
#[test]
fn op_events_are_built_from_the_call() {
    for name in OP_FIXTURES {
        let (call, id, time, actor, recipient) = op_case(name);
        let event = CallOpEvent::for_recipient(&call, recipient, actor, extras(), at(time));
        let written = serde_json::to_value(QueueEvent {
            id,
            kind: EventKind::CallOp(std::sync::Arc::new(event.clone())),
        })
        .unwrap();
        assert_eq!(
            written,
            fixture_json(&format!("plugin/events/{name}.json")),
            "{name}"
        );
        let direct = CallOpEvent::new(&call, event.op(), actor, extras(), at(time));
        assert_eq!(direct, event, "{name}");
    }
}

/// The base fields of its spec's §5, on every op; never a join URL.
#[test]
fn op_events_carry_the_base_fields() {
    let base = [
        "id",
        "type",
        "op",
        "call_id",
        "call_type",
        "state",
        "jitsi_url",
        "timestamp",
        "sender",
        "receiver",
        "user_id",
    ];
    for name in OP_FIXTURES {
        let value = fixture_json(&format!("plugin/events/{name}.json"));
        for field in base {
            assert!(value.get(field).is_some(), "{name} lacks {field}");
        }
        for party in ["sender", "receiver"] {
            let id = value[party]["user_id"].as_i64().unwrap();
            assert_eq!(
                value[party]["avatar_url"],
                format!("/avatar/{id}"),
                "{name}"
            );
        }
        assert!(value.get("join_url").is_none() && value.get("call_url").is_none());
    }
}

#[test]
fn op_extras_follow_the_spec_table() {
    let detail = |name: &str| {
        assert_round_trip::<QueueEvent>(&format!("plugin/events/{name}.json"))
            .as_call_op()
            .unwrap()
            .detail
    };
    assert_eq!(
        detail("incoming_call"),
        CallOpDetail::IncomingCall {
            receiver_was_offline: false,
            timeout_seconds: 120
        }
    );
    assert_eq!(
        detail("ended"),
        CallOpDetail::Ended {
            reason: CallOpReason::Hangup,
            duration: Some(1795)
        }
    );
    assert_eq!(
        detail("ended.network_failure"),
        CallOpDetail::Ended {
            reason: CallOpReason::NetworkFailure,
            duration: Some(1795)
        }
    );
    assert_eq!(
        detail("missed.not_delivered"),
        CallOpDetail::Missed {
            reason: CallOpReason::NotDelivered,
            timeout_seconds: 120
        }
    );
    let cleaned = {
        let mut c = call(CallState::Timeout);
        c.end_reason = Some(EndReason::Cleanup);
        c
    };
    assert_eq!(CallOp::for_call(&cleaned, HAMLET), CallOp::Ended);
    assert_eq!(
        CallOpDetail::new(CallOp::Ended, &cleaned, extras()),
        CallOpDetail::Ended {
            reason: CallOpReason::TimeoutStale,
            duration: None
        }
    );
    let max = answered_and_over(
        CallState::Ended,
        EndReason::MaxDuration,
        "2024-01-01T13:00:05Z",
    );
    assert_eq!(
        CallOpDetail::new(CallOp::Ended, &max, extras()),
        CallOpDetail::Ended {
            reason: CallOpReason::MaxDuration,
            duration: Some(3600)
        }
    );
}

/// Servers that predate the top-level `user_id` (its spec's §10) are read all the same.
#[test]
fn an_event_without_user_id_parses() {
    let value = fixture_json("plugin/events/accepted.without_user_id.json");
    let event: QueueEvent = serde_json::from_value(value).unwrap();
    let call_op = event.as_call_op().unwrap();
    assert_eq!((call_op.op(), call_op.user_id), (CallOp::Accepted, None));
    let with_id = assert_round_trip::<QueueEvent>("plugin/events/accepted.json");
    let mut expected = with_id.as_call_op().unwrap().clone();
    expected.user_id = None;
    assert_eq!(call_op, &expected);
    assert!(serde_json::to_value(&event).unwrap()["user_id"].is_null());
}

/// A fractional `duration` (a server counting like the design dialect) reads rounded down.
#[test]
fn a_fractional_duration_reads_as_whole_seconds() {
    let mut value = fixture_json("plugin/events/ended.json");
    value["duration"] = serde_json::json!(1795.9);
    let event: QueueEvent = serde_json::from_value(value).unwrap();
    assert_eq!(
        event.as_call_op().unwrap().detail,
        CallOpDetail::Ended {
            reason: CallOpReason::Hangup,
            duration: Some(1795)
        }
    );
}

#[test]
fn unknown_ops_are_kept_whole() {
    let event = assert_round_trip::<QueueEvent>("plugin/events/unknown_op.json");
    let EventKind::Unknown { event_type, fields } = &event.kind else {
        panic!("expected an unknown event, got {event:?}");
    };
    assert_eq!(event_type, "call");
    assert_eq!(fields["op"], "transferred");
    assert_eq!(fields["transferred_to_id"], 5);
}

#[test]
fn a_known_op_with_a_broken_payload_is_an_error_not_unknown() {
    let mut value = fixture_json("plugin/events/missed.json");
    value["reason"] = "bored".into();
    let err = serde_json::from_value::<QueueEvent>(value).unwrap_err();
    assert!(err.to_string().contains("bored"), "{err}");
    let text = fixture_text("plugin/events/ringing.json");
    assert_eq!(
        parse_event_frame(&text).unwrap().as_call_op().unwrap().op(),
        CallOp::Ringing
    );
}

// ---------------------------------------------------------------------------------------------
// Pushes
// ---------------------------------------------------------------------------------------------

const PUSH_CALL_ID: &str = "0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f";

fn push_call() -> Call {
    let settings = Settings::default();
    let id: CallId = PUSH_CALL_ID.parse().unwrap();
    Call {
        call_id: id,
        jitsi_room_id: settings.room_name(id),
        jitsi_url: settings.room_url(id),
        ..call(CallState::Calling)
    }
}

fn realm() -> PushRealm {
    PushRealm {
        name: "Example Organization".into(),
        id: 2,
    }
}

fn plugin_push(kind: PushKind, now: &str, device: &PushTarget) -> PushRequest {
    let context = PushContext::from_realm_url(
        "https://chat.example.com",
        Settings::default().timeout_seconds(),
    )
    .unwrap();
    let notification = PushNotification::new(&push_call(), OTHELLO, kind, &context, at(now));
    let sound = Settings::default().call_push_notification_sound;
    // The design dialect's output is untouched by the dialect-aware builder.
    assert_eq!(
        build_push_in(Dialect::Design, &realm(), device, &notification, &sound),
        build_push(device, &notification, &sound)
    );
    build_push_in(Dialect::V1_1, &realm(), device, &notification, &sound)
}

fn fcm_device() -> PushTarget {
    PushTarget::Fcm {
        token: "fcm-token-othello-pixel".into(),
    }
}

fn check_fcm(name: &str, built: PushRequest) {
    let PushRequest::Fcm(request) = built else {
        panic!("{name}: not FCM");
    };
    assert_eq!(serde_json::to_value(&request).unwrap(), fixture_json(name));
    assert_eq!(
        assert_round_trip::<zulip_calls_protocol::push::FcmRequest>(name),
        request
    );
    let data: std::collections::BTreeMap<String, String> =
        serde_json::from_value(fixture_json(name)["message"]["data"].clone()).unwrap();
    assert_eq!(
        data,
        request.message.data.to_map(),
        "every value is a string"
    );
    assert_eq!(data["type"], data["event"]);
}

#[test]
fn fcm_call_in_the_plugin_dialect() {
    let built = plugin_push(PushKind::Call, "2024-01-01T12:00:00Z", &fcm_device());
    check_fcm("plugin/push/fcm.call.json", built);
    // The design keys are the design push's, unchanged.
    let design = fixture_json("push/fcm.call.json");
    let plugin = fixture_json("plugin/push/fcm.call.json");
    for (key, value) in design["message"]["data"].as_object().unwrap() {
        assert_eq!(&plugin["message"]["data"][key], value, "{key}");
    }
}

#[test]
fn fcm_call_cancelled_in_the_plugin_dialect() {
    let built = plugin_push(
        PushKind::CallCancelled,
        "2024-01-01T12:00:04Z",
        &fcm_device(),
    );
    check_fcm("plugin/push/fcm.call_cancelled.json", built);
}

#[test]
fn apns_call_in_the_plugin_dialect() {
    let device = PushTarget::Apns {
        token: "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90".into(),
        appid: "org.zulip.Zulip".into(),
    };
    let PushRequest::Apns(request) = plugin_push(PushKind::Call, "2024-01-01T12:00:00Z", &device)
    else {
        panic!("not APNs");
    };
    let name = "plugin/push/apns.call.json";
    assert_eq!(serde_json::to_value(&request).unwrap(), fixture_json(name));
    assert_eq!(
        assert_round_trip::<zulip_calls_protocol::push::ApnsRequest>(name),
        request
    );
    let body = fixture_json(name)["body"].clone();
    let flat = body.as_object().unwrap();
    assert!(
        flat.iter()
            .filter(|(k, _)| k.as_str() != "aps")
            .all(|(_, v)| v.is_string()),
        "flat string data beside aps: {body}"
    );
    assert!(flat.get("custom").is_none());
}

/// The events a deployed plugin 1.1.0 sends (its `actions.py`): no top-level `user_id`, no
/// `timeout_seconds` on `initiated`/`incoming_call`, an `ended` without `duration` and, for
/// an end before the answer, without `reason`. They still decode (§10: read leniently).
#[test]
fn a_deployed_plugins_events_decode() {
    let common = serde_json::json!({
        "type": "call", "call_id": "6f1c1d52-32a4-4c5e-9d7a-3a0e2f6b8c11", "call_type": "video",
        "sender": {"user_id": 2, "full_name": "King Hamlet", "avatar_url": "/avatar/2"},
        "receiver": {"user_id": 3, "full_name": "Othello", "avatar_url": "/avatar/3"},
        "state": "calling", "jitsi_url": "https://meet.example.com/zulip-call-0123456789ab",
        "timestamp": "2026-12-07T10:39:03.308221+00:00",
    });
    let with = |extra: serde_json::Value| {
        let mut event = common.clone();
        event
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value::<CallOpEvent>(event).unwrap()
    };
    let incoming = with(serde_json::json!({"op": "incoming_call", "receiver_was_offline": true}));
    assert_eq!(incoming.user_id, None);
    assert!(matches!(
        incoming.detail,
        CallOpDetail::IncomingCall {
            receiver_was_offline: true,
            timeout_seconds: 90
        }
    ));
    let ended = with(serde_json::json!({"op": "ended", "state": "ended"}));
    assert!(matches!(
        ended.detail,
        CallOpDetail::Ended {
            reason: CallOpReason::Hangup,
            duration: None
        }
    ));
}

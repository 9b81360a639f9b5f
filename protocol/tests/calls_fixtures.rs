//! Every endpoint of spec §4 against exact fixtures, every error code of spec §1, and the
//! design document's own examples.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{assert_request, assert_response, assert_round_trip, fixture_text};
use pretty_assertions::assert_eq;
use zulip_calls_protocol::calls::*;
use zulip_calls_protocol::endpoint::{Endpoint, Verb, info, request_path, route};
use zulip_calls_protocol::params::Params;
use zulip_calls_protocol::{
    ApiError, CallId, CallState, CallType, EndReason, ErrorCode, MediaStatus, ParamError,
    RespondAction, UserId,
};

const CALL_ID: &str = "7f1e5a52-3c9b-4d2e-8f6a-9b0c1d2e3f40";

fn call_id() -> CallId {
    CALL_ID.parse().unwrap()
}

/// Checks `<dir>/<name>.request.json` and `<dir>/<name>.response.json` for endpoint `E`,
/// named after `E::NAME` (`calls.end_all` → `calls/end_all.*.json`).
fn check_endpoint<E: Endpoint>() -> (E::Request, E::Response)
where
    E::Request: PartialEq,
{
    let (dir, file) = E::NAME.split_once('.').unwrap();
    let request = assert_request::<E::Request>(&format!("{dir}/{file}.request.json"));
    let response = assert_response::<E::Response>(&format!("{dir}/{file}.response.json"));
    (request, response)
}

/// The plugin's endpoints with their method and path exactly as spec §4 lists them.
#[test]
fn every_calls_endpoint_has_the_contract_method_and_path() {
    let table = [
        (info::<Initiate>(), Verb::Post, "calls/initiate"),
        (info::<Start>(), Verb::Post, "calls/start"),
        (info::<Create>(), Verb::Post, "calls/create"),
        (info::<Acknowledge>(), Verb::Post, "calls/acknowledge"),
        (info::<Respond>(), Verb::Post, "calls/respond"),
        (info::<Status>(), Verb::Post, "calls/status"),
        (info::<End>(), Verb::Post, "calls/end"),
        (info::<EndAll>(), Verb::Post, "calls/end-all"),
        (info::<Active>(), Verb::Get, "calls/active"),
        (info::<History>(), Verb::Get, "calls/history"),
        (info::<GetCall>(), Verb::Get, "calls/{call_id}"),
        (info::<Cleanup>(), Verb::Post, "calls/cleanup"),
    ];
    for (info, method, path) in table {
        assert_eq!((info.method, info.path), (method, path), "{}", info.name);
    }
    let names: BTreeSet<_> = table.iter().map(|(i, _, _)| i.name).collect();
    assert_eq!(names.len(), table.len(), "endpoint names are unique");
    assert_eq!(route::<GetCall>(), "/api/v1/calls/{call_id}");
    assert_eq!(
        request_path::<GetCall>(&call_id()),
        format!("/api/v1/calls/{CALL_ID}")
    );
    assert_eq!(request_path::<EndAll>(&()), "/api/v1/calls/end-all");
}

#[test]
fn initiate() {
    let (request, response) = check_endpoint::<Initiate>();
    assert_eq!(
        request.target().unwrap(),
        CallTarget::Email("othello@zulip.com".into())
    );
    assert_eq!(request.call_type(), CallType::Video);
    assert_eq!(response.message, InitiateResponse::MESSAGE);
    assert_eq!(response.room_id, format!("zulip-call-{CALL_ID}"));
    assert!(
        response
            .call_url
            .contains("userInfo.displayName=%22King%20Hamlet%22")
    );

    let by_id = assert_request::<InitiateRequest>("calls/initiate.request.by_user_id.json");
    assert_eq!(by_id.target().unwrap(), CallTarget::Id(UserId(12)));
    assert_eq!(by_id.call_type(), CallType::Audio);
}

#[test]
fn initiate_needs_a_callee() {
    let err = InitiateRequest::default().target().unwrap_err();
    assert_eq!(err, ParamError::Missing("user_id".into()));
    assert_eq!(ApiError::from(err).var_name.as_deref(), Some("user_id"));
    let both = InitiateRequest {
        recipient_email: Some("iago@zulip.com".into()),
        user_id: Some(UserId(12)),
        is_video_call: None,
    };
    assert_eq!(both.target().unwrap(), CallTarget::Id(UserId(12)));
}

#[test]
fn start() {
    let (request, response) = check_endpoint::<Start>();
    assert_eq!(
        request,
        StartRequest {
            user_id: UserId(12),
            call_type: CallType::Audio
        }
    );
    assert_eq!(response.timeout_seconds, 120);
    assert!(
        response
            .join_or_room_url()
            .contains("#config.startWithVideoMuted=true&")
    );
}

#[test]
fn start_defaults_to_video() {
    let request: StartRequest = Params::from_urlencoded(b"user_id=12").decode().unwrap();
    assert_eq!(request.call_type, CallType::Video);
}

#[test]
fn create() {
    let (request, response) = check_endpoint::<Create>();
    assert_eq!(request.call_type().unwrap(), CallType::Video);
    assert!(response.receiver_online);
    assert_eq!(response.recipient.full_name, "Othello, the Moor of Venice");
    assert_eq!(response.call.state, CallState::Calling);
    assert_eq!(response.call.duration, None);
    assert_eq!(response.call.call_id, response.call_id);
}

#[test]
fn create_reads_either_form_of_the_call_type() {
    let decode = |form: &str| {
        Params::from_urlencoded(form.as_bytes())
            .decode::<CreateRequest>()
            .unwrap()
            .call_type()
    };
    assert_eq!(decode("user_id=1&is_video_call=false"), Ok(CallType::Audio));
    assert_eq!(decode("user_id=1&call_type=audio"), Ok(CallType::Audio));
    assert_eq!(decode("user_id=1"), Ok(CallType::Video));
    assert!(matches!(
        decode("user_id=1&call_type=audio&is_video_call=true"),
        Err(ParamError::Invalid { name, .. }) if name == "is_video_call"
    ));
}

#[test]
fn acknowledge() {
    let (request, response) = check_endpoint::<Acknowledge>();
    assert_eq!(request.call_id, call_id());
    assert_eq!(request.status, Some(AckStatus::Ringing));
    assert_eq!(response.call_status, CallState::Ringing);
    let bad = Params::from_urlencoded(format!("call_id={CALL_ID}&status=accepted").as_bytes())
        .decode::<AcknowledgeRequest>();
    assert!(matches!(bad, Err(ParamError::Invalid { name, .. }) if name == "status"));
}

#[test]
fn respond() {
    let (request, response) = check_endpoint::<Respond>();
    assert_eq!(request.response, RespondAction::Accept);
    assert_eq!(response.call_status, CallState::Accepted);
    assert!(
        response
            .join_url
            .as_deref()
            .unwrap()
            .contains("%22Othello%2C%20the%20Moor%20of%20Venice%22")
    );
    let rejected = assert_response::<RespondResponse>("calls/respond.response.reject.json");
    assert_eq!(rejected.call_status, CallState::Rejected);
    assert_eq!(rejected.join_url, None);

    let declined: RespondRequest =
        Params::from_urlencoded(format!("call_id={CALL_ID}&response=decline").as_bytes())
            .decode()
            .unwrap();
    assert_eq!(declined.response, RespondAction::Reject);
}

#[test]
fn status() {
    let (request, response) = check_endpoint::<Status>();
    assert_eq!(request.status, MediaStatus::ScreenSharing);
    assert_eq!(response.call_status, CallState::Accepted);
    for status in MediaStatus::ALL {
        let form = format!("call_id={CALL_ID}&status={status}");
        let decoded: StatusRequest = Params::from_urlencoded(form.as_bytes()).decode().unwrap();
        assert_eq!(decoded.status, *status);
    }
}

#[test]
fn end() {
    let (request, response) = check_endpoint::<End>();
    assert_eq!(request.call_id, call_id());
    assert_eq!(response.call_status, Some(CallState::Ended));
    assert_eq!(response.duration, Some(1795.0));
    let cancelled = assert_response::<EndResponse>("calls/end.response.cancelled.json");
    assert_eq!(cancelled.call_status, Some(CallState::Cancelled));
    assert_eq!(cancelled.duration, None);
}

#[test]
fn end_all() {
    let (_, response) = check_endpoint::<EndAll>();
    assert_eq!(response, EndAllResponse::new(2));
}

#[test]
fn active() {
    let (_, response) = check_endpoint::<Active>();
    assert_eq!(response.count, 1);
    assert!(response.active_calls[0].is_outgoing);
    assert_eq!(response.active_calls[0].state, CallState::Ringing);
}

#[test]
fn history() {
    let (request, response) = check_endpoint::<History>();
    assert_eq!(
        request,
        HistoryRequest {
            limit: 20,
            offset: 40,
            call_type: Some(CallType::Video),
            state: Some(CallState::Ended),
        }
    );
    request.validate().unwrap();
    assert_eq!(response.total, Some(42));
    assert!(response.more_after(20));
    let missed = &response.calls[1];
    assert_eq!(
        (missed.state, missed.duration, missed.is_outgoing),
        (CallState::Missed, None, false)
    );
}

#[test]
fn history_defaults_and_limits() {
    let defaults: HistoryRequest = Params::from_urlencoded(b"").decode().unwrap();
    assert_eq!(defaults, HistoryRequest::default());
    assert_eq!((defaults.limit, defaults.offset), (50, 0));
    for limit in ["0", "201"] {
        let request: HistoryRequest = Params::from_urlencoded(format!("limit={limit}").as_bytes())
            .decode()
            .unwrap();
        assert!(request.validate().is_err(), "limit {limit}");
    }
    let negative = Params::from_urlencoded(b"offset=-1").decode::<HistoryRequest>();
    assert!(matches!(negative, Err(ParamError::Invalid { name, .. }) if name == "offset"));
}

#[test]
fn get_call() {
    let (_, response) = check_endpoint::<GetCall>();
    let detail = response.call;
    assert_eq!(detail.call.state, CallState::Accepted);
    assert_eq!(detail.sender_media_status, Some(MediaStatus::Muted));
    assert_eq!(detail.receiver_media_status, None);
    assert!(detail.join_url.unwrap().contains("King%20Hamlet"));
}

#[test]
fn cleanup() {
    let (request, response) = check_endpoint::<Cleanup>();
    assert_eq!(
        request,
        CleanupRequest {
            timeout_minutes: 10,
            cleanup_old_calls: true,
            old_calls_days: 7
        }
    );
    assert_eq!(
        response.calls_cleaned,
        response.calls_timed_out + response.calls_deleted
    );
    let defaults: CleanupRequest = Params::from_urlencoded(b"").decode().unwrap();
    assert_eq!(defaults, CleanupRequest::default());
}

/// The call object of spec §2 as `create` returns it, with every field present.
#[test]
fn call_object_has_every_field_of_the_contract() {
    let value = common::fixture_json("calls/create.response.json");
    let call = value["call"].as_object().unwrap();
    let fields: BTreeSet<_> = call.keys().map(String::as_str).collect();
    let contract: BTreeSet<_> = [
        "call_id",
        "call_type",
        "state",
        "sender_id",
        "sender_name",
        "sender_email",
        "receiver_id",
        "receiver_name",
        "receiver_email",
        "jitsi_room_id",
        "jitsi_url",
        "created_at",
        "answered_at",
        "ended_at",
        "duration",
        "end_reason",
    ]
    .into_iter()
    .collect();
    assert_eq!(fields, contract);
    let ended = assert_response::<GetCallResponse>("calls/get.response.json");
    assert_eq!(ended.call.call.end_reason, None);
    let parsed: EndReason = serde_json::from_str("\"max_duration\"").unwrap();
    assert_eq!(parsed, EndReason::MaxDuration);
}

#[test]
fn every_error_code_has_a_fixture_with_its_extras() {
    for code in ErrorCode::KNOWN {
        let name = format!("errors/{code}.json");
        let err = assert_round_trip::<ApiError>(&name);
        assert_eq!(&err.code, code, "{name}");
        assert_eq!(
            err.message.as_deref(),
            Some(err.msg.as_str()),
            "{name}: message mirrors msg"
        );
        let has_extra = match code {
            ErrorCode::RequestVariableMissing => err.var_name.is_some(),
            ErrorCode::CallerBusy => err.existing_call_id.is_some(),
            ErrorCode::InvalidCallState => err.call_status.is_some(),
            ErrorCode::BadEventQueueId => err.queue_id.is_some(),
            ErrorCode::RateLimitHit => err.retry_after.is_some(),
            _ => true,
        };
        assert!(has_extra, "{name} lacks its extra field");
        if *code == ErrorCode::UserBusy {
            assert_eq!(
                err.existing_call_id, None,
                "USER_BUSY must not reveal the call"
            );
        }
    }
}

#[test]
fn error_constructors_produce_the_contract_bodies() {
    let fixture =
        |code: &str| -> serde_json::Value { common::fixture_json(&format!("errors/{code}.json")) };
    let json = |err: ApiError| serde_json::to_value(err).unwrap();
    assert_eq!(
        json(ApiError::missing_argument("call_id")),
        fixture("REQUEST_VARIABLE_MISSING")
    );
    assert_eq!(
        json(ApiError::invalid_call_state(
            "respond to",
            CallState::Accepted
        )),
        fixture("INVALID_CALL_STATE")
    );
    assert_eq!(
        json(ApiError::user_busy("Othello, the Moor of Venice")),
        fixture("USER_BUSY")
    );
    assert_eq!(
        json(ApiError::caller_busy(
            "c0ffee00-1234-4abc-8def-0123456789ab".parse().unwrap()
        )),
        fixture("CALLER_BUSY")
    );
    assert_eq!(
        json(ApiError::bad_event_queue_id(
            &"1375801870:2942".parse().unwrap()
        )),
        fixture("BAD_EVENT_QUEUE_ID")
    );
    assert_eq!(
        json(ApiError::rate_limited(2.78)),
        fixture("RATE_LIMIT_HIT")
    );
    let bad = Params::from_urlencoded(b"user_id=12&call_type=hologram")
        .decode::<StartRequest>()
        .unwrap_err();
    assert_eq!(json(ApiError::from(bad)), fixture("BAD_REQUEST"));
}

#[test]
fn error_codes_map_to_their_http_status() {
    let expected = [
        ("BAD_REQUEST", 400),
        ("REQUEST_VARIABLE_MISSING", 400),
        ("UNAUTHORIZED", 401),
        ("INVALID_API_KEY", 401),
        ("USER_DEACTIVATED", 401),
        ("AUTHENTICATION_FAILED", 401),
        ("NOT_A_PARTICIPANT", 403),
        ("UNAUTHORIZED_PRINCIPAL", 403),
        ("CALL_NOT_FOUND", 404),
        ("USER_NOT_FOUND", 404),
        ("CANNOT_CALL_SELF", 400),
        ("USER_BUSY", 409),
        ("CALLER_BUSY", 409),
        ("INVALID_CALL_STATE", 409),
        ("CALL_TYPE_DISABLED", 400),
        ("FEATURE_DISABLED", 400),
        ("BAD_EVENT_QUEUE_ID", 400),
        ("RATE_LIMIT_HIT", 429),
        ("PAYLOAD_TOO_LARGE", 413),
    ];
    assert_eq!(expected.len(), ErrorCode::KNOWN.len());
    for (code, status) in expected {
        assert_eq!(
            ErrorCode::parse(code).http_status().as_u16(),
            status,
            "{code}"
        );
    }
}

/// The design document's examples, kept verbatim in `fixtures/design-doc/`. They are
/// illustrations, not wire bodies: they carry `# or "audio"` comments and the placeholder
/// `uuid-string`, and predate fields the contract added. This normalises the first two and
/// checks that our types read what remains.
fn design_doc_example(name: &str, call_id: &str) -> String {
    fixture_text(&format!("design-doc/{name}"))
        .lines()
        .map(|line| line.split("  #").next().unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("uuid-string", call_id)
}

#[test]
fn design_doc_requests_decode_on_the_server() {
    let start: StartRequest =
        Params::from_json(design_doc_example("start.request.txt", CALL_ID).as_bytes())
            .unwrap()
            .decode()
            .unwrap();
    assert_eq!(
        start,
        StartRequest {
            user_id: UserId(123),
            call_type: CallType::Video
        }
    );
    let curl: StartRequest =
        Params::from_json(design_doc_example("curl-start.request.txt", CALL_ID).as_bytes())
            .unwrap()
            .decode()
            .unwrap();
    assert_eq!(curl, start);
    let respond: RespondRequest =
        Params::from_json(design_doc_example("respond.request.txt", CALL_ID).as_bytes())
            .unwrap()
            .decode()
            .unwrap();
    assert_eq!(
        respond,
        RespondRequest {
            call_id: call_id(),
            response: RespondAction::Accept
        }
    );
    let end: EndRequest =
        Params::from_json(design_doc_example("end.request.txt", CALL_ID).as_bytes())
            .unwrap()
            .decode()
            .unwrap();
    assert_eq!(end.call_id, call_id());
}

#[test]
fn design_doc_placeholder_call_id_is_a_clear_bad_request() {
    let body = design_doc_example("end.request.txt", "uuid-string");
    let err = Params::from_json(body.as_bytes())
        .unwrap()
        .decode::<EndRequest>()
        .unwrap_err();
    assert!(
        matches!(&err, ParamError::Invalid { name, .. } if name == "call_id"),
        "{err}"
    );
    let api = ApiError::from(err);
    assert_eq!(
        (api.code.clone(), api.http_status().as_u16()),
        (ErrorCode::BadRequest, 400)
    );
}

#[test]
fn design_doc_responses_are_read_by_the_client_types() {
    let decode = |name: &str| design_doc_example(name, CALL_ID);
    let start: zulip_calls_protocol::Success<StartResponse> =
        serde_json::from_str(&decode("start.response.txt")).unwrap();
    assert_eq!(start.body.call_id, call_id());
    assert_eq!(start.body.timeout_seconds, 120);
    assert_eq!(
        start.body.join_or_room_url(),
        "https://meet.jit.si/zulip-call-uuid"
    );

    let respond: zulip_calls_protocol::Success<RespondResponse> =
        serde_json::from_str(&decode("respond.response.txt")).unwrap();
    assert_eq!(respond.body.call_status, CallState::Accepted);
    assert_eq!(respond.body.join_url, None);

    let end: zulip_calls_protocol::Success<EndResponse> =
        serde_json::from_str(&decode("end.response.txt")).unwrap();
    assert_eq!((end.body.call_status, end.body.duration), (None, None));

    let history: zulip_calls_protocol::Success<HistoryResponse> =
        serde_json::from_str(&decode("history.response.txt")).unwrap();
    let entry = &history.body.calls[0];
    assert_eq!(
        (entry.user_name.as_str(), entry.duration),
        ("John Doe", Some(1795.0))
    );
    assert_eq!(entry.state, CallState::Ended);
    assert!(
        !history.body.more_after(50),
        "one call on a page of 50: nothing more"
    );
}

/// A router mounts every endpoint once: names and (method, path) pairs are unique across the
/// plugin's and Zulip's endpoints.
#[test]
fn all_endpoints_are_distinct_routes() {
    let all: Vec<_> = zulip_calls_protocol::endpoint::all_endpoints().collect();
    // 12 design routes, 13 of the 1.1 dialect (5 for 1:1 calls, 8 for group calls), 19 of
    // Zulip's (7 of them presence, user status and settings).
    assert_eq!(all.len(), 44);
    let names: BTreeSet<_> = all.iter().map(|e| e.name).collect();
    let routes: BTreeSet<_> = all.iter().map(|e| (e.method.as_str(), e.path)).collect();
    assert_eq!(names.len(), all.len());
    assert_eq!(routes.len(), all.len());
}

/// Both called each other at once: the busy error says the existing call is the callee's
/// call to the caller, and an error without the flag reads as `None`.
#[test]
fn caller_busy_says_when_the_callee_is_calling_you() {
    let err = assert_round_trip::<ApiError>("errors/CALLER_BUSY.calling_you.json");
    assert_eq!(err.code, ErrorCode::CallerBusy);
    assert_eq!(err.calling_you, Some(true));
    let mut built = ApiError::caller_busy("c0ffee00-1234-4abc-8def-0123456789ab".parse().unwrap());
    built.calling_you = Some(true);
    assert_eq!(
        serde_json::to_value(built).unwrap(),
        common::fixture_json("errors/CALLER_BUSY.calling_you.json")
    );
    let plain = assert_round_trip::<ApiError>("errors/CALLER_BUSY.json");
    assert_eq!(plain.calling_you, None);
}

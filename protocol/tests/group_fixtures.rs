//! Group calls of the 1.1 dialect (`spec/plugin-1.1-dialect.md` §6) against exact fixtures:
//! the eight endpoints (requests as JSON bodies and as the mobile app's JSON-quoted forms),
//! `user_ids` in every form, the `group_call` events of every op, the two pushes and the
//! errors.
//!
//! One story runs through the fixtures: at 12:00 King Hamlet (10) opens "Weekly sync" from
//! stream 3, topic "planning", inviting Othello (12) and Iago (5). Othello joins at 12:00:05;
//! Iago's phone rings and he declines at 12:00:20; Othello invites Cordelia (8) at 12:01, who
//! misses it at 12:03; Othello leaves at 12:30 and Hamlet ends the call at 12:45.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{assert_request, assert_response, assert_round_trip, fixture_json, fixture_text};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use zulip_calls_protocol::endpoint::{Auth, Endpoint, Verb, all_endpoints, info, route};
use zulip_calls_protocol::event::parse_event_frame;
use zulip_calls_protocol::jitsi::{join_url, room_url};
use zulip_calls_protocol::params::Params;
use zulip_calls_protocol::plugin::group::{
    GROUP_MAX_PARTICIPANTS, GroupCall, GroupCallDetail, GroupCallEvent, GroupCallOp,
    GroupCallState, GroupCallStatus, GroupCreate, GroupCreateRequest, GroupCreateResponse,
    GroupDecline, GroupEnd, GroupEndReason, GroupInvite, GroupInviteRequest, GroupInviteResponse,
    GroupJoin, GroupJoinResponse, GroupLeave, GroupLeftReason, GroupParticipant, GroupParticipants,
    GroupParticipantsResponse, GroupPushContext, GroupPushData, GroupPushKind, GroupRefusal,
    GroupStatus, GroupUser, ParticipantAction, ParticipantState, UserIds, is_group_room_name,
    participant_transition,
};
use zulip_calls_protocol::plugin::{self, ALREADY_ENDED, MessageResponse};
use zulip_calls_protocol::push::{
    ApnsRequest, FcmRequest, PushContext, PushEvent, PushNotification, PushRealm, PushRequest,
    PushTarget, build_push,
};
use zulip_calls_protocol::settings::Settings;
use zulip_calls_protocol::{
    ApiError, CallId, CallType, ErrorCode, EventId, EventKind, ParamError, QueueEvent, StreamId,
    Timestamp, UserId,
};

const CALL_ID: &str = "3f6c2a1e-9b4d-4e7a-8c5f-0d1e2f3a4b5c";
const ROOM: &str = "zulip-group-call-9c4e1f7a2b3d5e60";
const HAMLET: UserId = UserId(10);
const OTHELLO: UserId = UserId(12);
const IAGO: UserId = UserId(5);
const CORDELIA: UserId = UserId(8);

fn at(time: &str) -> Timestamp {
    time.parse().unwrap()
}

fn user(id: UserId) -> GroupUser {
    let full_name = match id {
        HAMLET => "King Hamlet",
        OTHELLO => "Othello, the Moor of Venice",
        IAGO => "Iago",
        CORDELIA => "Cordelia, Lear's daughter",
        other => panic!("no user {other}"),
    };
    GroupUser {
        user_id: id,
        full_name: full_name.into(),
    }
}

fn email(id: UserId) -> String {
    let name = match id {
        HAMLET => "hamlet",
        OTHELLO => "othello",
        IAGO => "iago",
        CORDELIA => "cordelia",
        other => panic!("no user {other}"),
    };
    format!("{name}@zulip.com")
}

/// "Weekly sync", open.
fn call() -> GroupCall {
    GroupCall {
        call_id: CALL_ID.parse().unwrap(),
        call_type: CallType::Video,
        state: GroupCallState::Active,
        title: Some("Weekly sync".into()),
        host: user(HAMLET),
        stream_id: Some(StreamId(3)),
        topic: Some("planning".into()),
        jitsi_room_name: ROOM.into(),
        jitsi_url: room_url(&Settings::default().jitsi_server_url, ROOM),
        max_participants: GROUP_MAX_PARTICIPANTS,
        created_at: at("2024-01-01T12:00:00Z"),
        ended_at: None,
    }
}

/// "Weekly sync", ended by the host at 12:45.
fn ended_call() -> GroupCall {
    GroupCall {
        state: GroupCallState::Ended,
        ended_at: Some(at("2024-01-01T12:45:00Z")),
        ..call()
    }
}

/// The moments of the story, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Created,
    Invited,
    Joined,
    Declined,
    InvitedMore,
    Missed,
    Left,
    Ended,
}

/// Applies `action` to `id` in `roster` at `time`, by the participant table.
fn act(roster: &mut [GroupParticipant], id: UserId, action: ParticipantAction, time: &str) {
    let p = roster.iter_mut().find(|p| p.user_id == id).unwrap();
    let to = participant_transition(p.state, action)
        .unwrap()
        .state_after(p.state);
    match to {
        ParticipantState::Joined => p.joined_at = Some(at(time)),
        ParticipantState::Left => p.left_at = Some(at(time)),
        _ => {}
    }
    p.state = to;
}

/// What happens at `step`.
fn happen(roster: &mut Vec<GroupParticipant>, step: Step) {
    use ParticipantAction as A;
    let invitee = |id, time| GroupParticipant::invitee(user(id), email(id), at(time));
    match step {
        Step::Created => roster.push(GroupParticipant::host(
            user(HAMLET),
            email(HAMLET),
            at("2024-01-01T12:00:00Z"),
        )),
        Step::Invited => {
            roster.push(invitee(OTHELLO, "2024-01-01T12:00:00Z"));
            roster.push(invitee(IAGO, "2024-01-01T12:00:00Z"));
        }
        Step::Joined => {
            act(roster, OTHELLO, A::Join, "2024-01-01T12:00:05Z");
            act(roster, IAGO, A::Ring, "2024-01-01T12:00:05Z");
        }
        Step::Declined => act(roster, IAGO, A::Decline, "2024-01-01T12:00:20Z"),
        Step::InvitedMore => roster.push(invitee(CORDELIA, "2024-01-01T12:01:00Z")),
        Step::Missed => act(roster, CORDELIA, A::Miss, "2024-01-01T12:03:00Z"),
        Step::Left => act(roster, OTHELLO, A::Leave, "2024-01-01T12:30:00Z"),
        Step::Ended => {
            for id in [HAMLET, OTHELLO, IAGO, CORDELIA] {
                act(roster, id, A::CallEnded, "2024-01-01T12:45:00Z");
            }
        }
    }
}

/// Every participant as they are once `upto` happened.
fn roster(upto: Step) -> Vec<GroupParticipant> {
    let steps = [
        Step::Created,
        Step::Invited,
        Step::Joined,
        Step::Declined,
        Step::InvitedMore,
        Step::Missed,
        Step::Left,
        Step::Ended,
    ];
    let mut roster = Vec::new();
    for step in steps.into_iter().take_while(|s| *s <= upto) {
        happen(&mut roster, step);
    }
    roster
}

/// Checks `plugin/group/<name>.request.json` and `.response.json` for `E`, named after
/// `E::NAME` (`calls.group.invite` → `plugin/group/invite.*.json`).
fn check_endpoint<E: Endpoint>() -> (E::Request, E::Response)
where
    E::Request: PartialEq,
{
    let file = E::NAME.strip_prefix("calls.group.").unwrap();
    let request = assert_request::<E::Request>(&format!("plugin/group/{file}.request.json"));
    let response = assert_response::<E::Response>(&format!("plugin/group/{file}.response.json"));
    (request, response)
}

/// The mobile app's form body (`plugin/group/<name>.request.mobile.txt`), decoded as the
/// server decodes it.
fn mobile_form<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let body = fixture_text(&format!("plugin/group/{name}.request.mobile.txt"));
    Params::from_urlencoded(body.trim_end().as_bytes())
        .decode()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn form<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, ParamError> {
    Params::from_urlencoded(body.as_bytes()).decode()
}

fn own_join_url(id: UserId) -> String {
    join_url(
        &call().jitsi_url,
        CallType::Video,
        &user(id).full_name,
        None,
        true,
    )
}

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

#[test]
fn every_group_endpoint_has_the_spec_method_and_path() {
    let table = [
        (info::<GroupCreate>(), Verb::Post, "calls/group/create"),
        (
            info::<GroupInvite>(),
            Verb::Post,
            "calls/group/{call_id}/invite",
        ),
        (
            info::<GroupJoin>(),
            Verb::Post,
            "calls/group/{call_id}/join",
        ),
        (
            info::<GroupLeave>(),
            Verb::Post,
            "calls/group/{call_id}/leave",
        ),
        (
            info::<GroupDecline>(),
            Verb::Post,
            "calls/group/{call_id}/decline",
        ),
        (info::<GroupEnd>(), Verb::Post, "calls/group/{call_id}/end"),
        (
            info::<GroupStatus>(),
            Verb::Get,
            "calls/group/{call_id}/status",
        ),
        (
            info::<GroupParticipants>(),
            Verb::Get,
            "calls/group/{call_id}/participants",
        ),
    ];
    for (info, method, path) in table {
        assert_eq!(
            (info.method, info.path, info.auth),
            (method, path, Auth::Basic)
        );
        assert!(
            plugin::ENDPOINTS.contains(&info),
            "{} not listed",
            info.name
        );
        assert!(
            all_endpoints().any(|e| e == info),
            "{} not routed",
            info.name
        );
    }
    let group: Vec<_> = plugin::ENDPOINTS
        .iter()
        .filter(|e| e.path.starts_with("calls/group/"))
        .map(|e| e.name)
        .collect();
    assert_eq!(group, table.map(|(i, _, _)| i.name));
    assert_eq!(
        route::<GroupInvite>(),
        "/api/v1/calls/group/{call_id}/invite"
    );
    let id: CallId = CALL_ID.parse().unwrap();
    assert_eq!(
        zulip_calls_protocol::endpoint::request_path::<GroupJoin>(&id),
        format!("/api/v1/calls/group/{CALL_ID}/join")
    );
}

#[test]
fn create() {
    let (request, response) = check_endpoint::<GroupCreate>();
    assert_eq!(request.call_type(), CallType::Video);
    assert_eq!(request.title(), Some("Weekly sync"));
    assert_eq!(request.user_ids, UserIds(vec![OTHELLO, IAGO]));
    assert_eq!(request.topic(), Some("planning"));
    let mobile: GroupCreateRequest = mobile_form("create");
    assert_eq!(mobile, request);

    let call = call();
    assert_eq!(
        response,
        GroupCreateResponse {
            call_id: call.call_id,
            call_url: own_join_url(HAMLET),
            call_type: call.call_type,
            title: call.title.clone(),
            room_name: call.jitsi_room_name.clone(),
            host: user(HAMLET),
            invited_count: 2,
        }
    );
    assert!(is_group_room_name(&response.room_name));

    // Nothing is required: a host may open a call alone, untitled, and invite later.
    let bare: GroupCreateRequest = form("").unwrap();
    assert_eq!(bare, GroupCreateRequest::default());
    assert_eq!((bare.call_type(), bare.title()), (CallType::Video, None));
    assert!(bare.user_ids.is_empty());
    // A blank title is none; a topic without a stream is dropped.
    let loose: GroupCreateRequest = form("title=%20%20&topic=planning&call_type=audio").unwrap();
    assert_eq!(
        (loose.title(), loose.topic(), loose.call_type()),
        (None, None, CallType::Audio)
    );
    let bad = form::<GroupCreateRequest>("call_type=screen");
    assert!(matches!(bad, Err(ParamError::Invalid { name, .. }) if name == "call_type"));

    // The plugin's answer: no title.
    let untitled = json!({
        "result": "success", "call_id": CALL_ID, "call_url": call.jitsi_url,
        "call_type": "audio", "title": null, "room_name": ROOM,
        "host": {"user_id": 10, "full_name": "King Hamlet"}, "invited_count": 0
    });
    let read: zulip_calls_protocol::Success<GroupCreateResponse> =
        serde_json::from_value(untitled).unwrap();
    assert_eq!(read.body.title, None);
}

/// `user_ids` as a JSON list, comma-separated, or JSON-quoted either way; from a form or a
/// JSON body; on `create` and `invite` alike.
#[test]
fn user_ids_in_every_form() {
    let expected = UserIds(vec![OTHELLO, IAGO]);
    for body in [
        "user_ids=12,5",
        "user_ids=12%2C5",
        "user_ids=%5B12%2C5%5D",
        "user_ids=%2212%2C5%22",
        "user_ids=%22%5B12%2C5%5D%22",
        "user_ids=%20%5B%2012%20%2C%205%20%5D%20",
    ] {
        let invite: GroupInviteRequest = form(body).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(invite.user_ids, expected, "{body}");
        let create: GroupCreateRequest = form(body).unwrap();
        assert_eq!(create.user_ids, expected, "{body}");
    }
    for body in [
        r#"{"user_ids": [12, 5]}"#,
        r#"{"user_ids": "12,5"}"#,
        r#"{"user_ids": "[12,5]"}"#,
        r#"{"user_ids": "\"12,5\""}"#,
        r#"{"user_ids": ["12", 5]}"#,
    ] {
        let invite: GroupInviteRequest = Params::from_json(body.as_bytes())
            .unwrap()
            .decode()
            .unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(invite.user_ids, expected, "{body}");
    }
    // Clients send the form every server takes (the plugin reads only this one).
    let sent = zulip_calls_protocol::params::to_urlencoded(&GroupInviteRequest {
        user_ids: expected.clone(),
    })
    .unwrap();
    assert_eq!(sent, "user_ids=12%2C5");

    for bad in ["abc", "12,,5", "[12,", "%22abc%22", "1.5", "%5Bnull%5D"] {
        for result in [
            form::<GroupInviteRequest>(&format!("user_ids={bad}")).map(|r| r.user_ids),
            form::<GroupCreateRequest>(&format!("user_ids={bad}")).map(|r| r.user_ids),
        ] {
            assert!(
                matches!(&result, Err(ParamError::Invalid { name, .. }) if name == "user_ids"),
                "{bad}: {result:?}"
            );
        }
    }
    let json_bad = Params::from_json(br#"{"user_ids": {"a": 1}}"#)
        .unwrap()
        .decode::<GroupInviteRequest>();
    assert!(matches!(json_bad, Err(ParamError::Invalid { name, .. }) if name == "user_ids"));
    assert_eq!(
        form::<GroupInviteRequest>(""),
        Err(ParamError::Missing("user_ids".into()))
    );
    let err = ApiError::from(form::<GroupInviteRequest>("user_ids=abc").unwrap_err());
    assert_eq!(
        serde_json::to_value(&err).unwrap(),
        fixture_json("plugin/group/errors/BAD_REQUEST.user_ids.json")
    );
}

#[test]
fn invite() {
    let (request, response) = check_endpoint::<GroupInvite>();
    assert_eq!(request.user_ids, UserIds(vec![CORDELIA]));
    let mobile: GroupInviteRequest = mobile_form("invite");
    assert_eq!(mobile, request);
    assert_eq!(
        response,
        GroupInviteResponse {
            invited_count: 1,
            online_count: 1,
            offline_count: 0
        }
    );
}

#[test]
fn join() {
    let (_, response) = check_endpoint::<GroupJoin>();
    assert_eq!(
        response,
        GroupJoinResponse {
            call_url: own_join_url(OTHELLO),
            call_type: CallType::Video,
            title: Some("Weekly sync".into()),
            participant_count: 2,
        }
    );
}

#[test]
fn leave_decline_and_end_answer_a_sentence() {
    let (_, left) = check_endpoint::<GroupLeave>();
    assert_eq!(left, MessageResponse::new(MessageResponse::LEFT));
    let again =
        assert_response::<MessageResponse>("plugin/group/leave.response.already_ended.json");
    assert_eq!(again, MessageResponse::new(ALREADY_ENDED));
    let (_, declined) = check_endpoint::<GroupDecline>();
    assert_eq!(declined, MessageResponse::new(MessageResponse::DECLINED));
    let (_, ended) = check_endpoint::<GroupEnd>();
    assert_eq!(ended, MessageResponse::new(MessageResponse::ENDED));
}

#[test]
fn status() {
    let (_, response) = check_endpoint::<GroupStatus>();
    assert_eq!(
        response.call,
        GroupCallStatus::new(&call(), &roster(Step::InvitedMore))
    );
    assert_eq!(response.call.participant_count, 2);
    let over = assert_response::<zulip_calls_protocol::plugin::group::GroupStatusResponse>(
        "plugin/group/status.response.ended.json",
    );
    assert_eq!(
        over.call,
        GroupCallStatus::new(&ended_call(), &roster(Step::Ended))
    );
    assert_eq!(
        (over.call.state, over.call.participant_count),
        (GroupCallState::Ended, 0)
    );
    let fields: BTreeSet<String> = fixture_json("plugin/group/status.response.json")["call"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let spec: BTreeSet<String> = [
        "call_id",
        "call_type",
        "state",
        "title",
        "jitsi_url",
        "host",
        "stream_id",
        "topic",
        "created_at",
        "ended_at",
        "participant_count",
        "max_participants",
    ]
    .map(String::from)
    .into();
    assert_eq!(fields, spec);
}

#[test]
fn participants() {
    let (_, response) = check_endpoint::<GroupParticipants>();
    assert_eq!(
        response,
        GroupParticipantsResponse::new(roster(Step::InvitedMore))
    );
    assert_eq!((response.total_count, response.joined_count), (4, 2));
    let states: Vec<_> = response.participants.iter().map(|p| p.state).collect();
    assert_eq!(
        states,
        [
            ParticipantState::Joined,
            ParticipantState::Joined,
            ParticipantState::Declined,
            ParticipantState::Invited
        ]
    );
    let fixture = fixture_json("plugin/group/participants.response.json");
    for p in fixture["participants"].as_array().unwrap() {
        let keys: BTreeSet<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        let spec = [
            "user_id",
            "full_name",
            "email",
            "state",
            "is_host",
            "invited_at",
            "joined_at",
            "left_at",
        ];
        assert_eq!(keys, BTreeSet::from(spec));
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn errors_are_the_refusals() {
    let cases = [
        ("CALL_NOT_FOUND", GroupRefusal::NotParticipant),
        ("NOT_A_PARTICIPANT.end", GroupRefusal::NotHost),
        (
            "BAD_REQUEST.call_full",
            GroupRefusal::CallFull {
                max: GROUP_MAX_PARTICIPANTS,
            },
        ),
        ("BAD_REQUEST.already_joined", GroupRefusal::AlreadyJoined),
        ("BAD_REQUEST.call_ended", GroupRefusal::CallEnded),
        (
            "BAD_REQUEST.leave",
            participant_transition(ParticipantState::Invited, ParticipantAction::Leave)
                .unwrap_err(),
        ),
    ];
    for (name, refusal) in cases {
        let name = format!("plugin/group/errors/{name}.json");
        let parsed = assert_round_trip::<ApiError>(&name);
        assert_eq!(parsed, refusal.api_error(), "{name}");
        assert_eq!(parsed.code, refusal.code());
    }
    let no_one =
        assert_round_trip::<ApiError>("plugin/group/errors/BAD_REQUEST.no_valid_invitees.json");
    assert_eq!(
        no_one,
        ApiError::from(GroupRefusal::NoValidInvitees.param_error().unwrap())
    );
    assert_eq!(no_one, GroupRefusal::NoValidInvitees.api_error());
    assert_eq!(
        assert_round_trip::<ApiError>("plugin/group/errors/BAD_REQUEST.user_ids.json").code,
        ErrorCode::BadRequest
    );
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// Each event fixture: the story's moment, the event's id and time, and what happened.
fn event_case(name: &str) -> (Step, EventId, &'static str, GroupCallDetail) {
    match name {
        "created" => (
            Step::Created,
            EventId(0),
            "2024-01-01T12:00:00Z",
            GroupCallDetail::Created,
        ),
        "participant_invited" => (
            Step::Invited,
            EventId(0),
            "2024-01-01T12:00:00Z",
            GroupCallDetail::ParticipantInvited {
                inviter_id: HAMLET,
                was_offline: false,
            },
        ),
        "participant_joined" => (
            Step::Joined,
            EventId(1),
            "2024-01-01T12:00:05Z",
            GroupCallDetail::ParticipantJoined {
                joined_user_id: OTHELLO,
            },
        ),
        "participant_declined" => (
            Step::Declined,
            EventId(2),
            "2024-01-01T12:00:20Z",
            GroupCallDetail::ParticipantDeclined {
                declined_user_id: IAGO,
            },
        ),
        "participants_invited" => (
            Step::InvitedMore,
            EventId(3),
            "2024-01-01T12:01:00Z",
            GroupCallDetail::ParticipantsInvited {
                new_participants: vec![CORDELIA],
                inviter_id: OTHELLO,
            },
        ),
        "participant_missed" => (
            Step::Missed,
            EventId(4),
            "2024-01-01T12:03:00Z",
            GroupCallDetail::ParticipantMissed {
                missed_user_id: CORDELIA,
            },
        ),
        "participant_left" => (
            Step::Left,
            EventId(5),
            "2024-01-01T12:30:00Z",
            GroupCallDetail::ParticipantLeft {
                left_user_id: OTHELLO,
                reason: Some(GroupLeftReason::Left),
            },
        ),
        "participant_left.network_failure" => (
            Step::Left,
            EventId(5),
            "2024-01-01T12:30:00Z",
            GroupCallDetail::ParticipantLeft {
                left_user_id: OTHELLO,
                reason: Some(GroupLeftReason::NetworkFailure),
            },
        ),
        "ended" => (
            Step::Ended,
            EventId(6),
            "2024-01-01T12:45:00Z",
            GroupCallDetail::Ended {
                reason: Some(GroupEndReason::HostEnded),
            },
        ),
        other => panic!("no case for {other}"),
    }
}

const EVENT_FIXTURES: &[&str] = &[
    "created",
    "participant_invited",
    "participant_joined",
    "participant_declined",
    "participants_invited",
    "participant_missed",
    "participant_left",
    "participant_left.network_failure",
    "ended",
];

/// The event of fixture `name` as the constructor builds it from the story.
fn built_event(name: &str) -> QueueEvent {
    let (step, id, time, detail) = event_case(name);
    let call = if step == Step::Ended {
        ended_call()
    } else {
        call()
    };
    QueueEvent {
        id,
        kind: EventKind::GroupCall(std::sync::Arc::new(GroupCallEvent::new(
            &call,
            &roster(step),
            detail,
            at(time),
        ))),
    }
}

#[test]
fn every_op_has_a_fixture_that_round_trips() {
    for op in GroupCallOp::ALL {
        let name = format!("plugin/group/events/{op}.json");
        let event = assert_round_trip::<QueueEvent>(&name);
        let group = event
            .as_group_call()
            .unwrap_or_else(|| panic!("{name} is not a group call event: {event:?}"));
        assert_eq!(group.op(), *op, "{name}");
        assert_eq!(event.type_name(), "group_call");
        assert_eq!((event.as_call(), event.as_call_op()), (None, None));
    }
}

#[test]
fn events_are_built_from_the_call_and_its_participants() {
    for name in EVENT_FIXTURES {
        let fixture = fixture_json(&format!("plugin/group/events/{name}.json"));
        assert_eq!(
            serde_json::to_value(built_event(name)).unwrap(),
            fixture,
            "{name}"
        );
        assert_round_trip::<QueueEvent>(&format!("plugin/group/events/{name}.json"));
    }
}

/// The common fields of the spec, on every op; avatars are relative paths; never a join URL
/// or an email.
#[test]
fn events_carry_the_common_fields() {
    let common = [
        "id",
        "type",
        "op",
        "call_id",
        "call_type",
        "title",
        "stream_id",
        "topic",
        "jitsi_url",
        "timestamp",
        "host",
        "participants",
    ];
    for name in EVENT_FIXTURES {
        let value = fixture_json(&format!("plugin/group/events/{name}.json"));
        for field in common {
            assert!(value.get(field).is_some(), "{name} lacks {field}");
        }
        assert_eq!(value["host"]["avatar_url"], "/avatar/10", "{name}");
        for p in value["participants"].as_array().unwrap() {
            let keys: BTreeSet<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                BTreeSet::from(["user_id", "full_name", "avatar_url", "state", "is_host"]),
                "{name}"
            );
            assert_eq!(p["avatar_url"], format!("/avatar/{}", p["user_id"]));
        }
        let text = value.to_string();
        assert!(
            !text.contains("@zulip.com") && !text.contains("call_url"),
            "{name}"
        );
    }
}

/// The plugin sends no `reason` on `participant_left` and `ended` (spec §9, §10).
#[test]
fn events_without_a_reason_parse() {
    for (name, with_reason) in [
        ("participant_left.without_reason", "participant_left"),
        ("ended.without_reason", "ended"),
    ] {
        let event = assert_round_trip::<QueueEvent>(&format!("plugin/group/events/{name}.json"));
        let detail = &event.as_group_call().unwrap().detail;
        match detail {
            GroupCallDetail::ParticipantLeft { reason, .. } => assert_eq!(*reason, None),
            GroupCallDetail::Ended { reason } => assert_eq!(*reason, None),
            other => panic!("{name}: {other:?}"),
        }
        let mut full = fixture_json(&format!("plugin/group/events/{with_reason}.json"));
        full.as_object_mut().unwrap().remove("reason");
        let stripped: QueueEvent = serde_json::from_value(full).unwrap();
        assert_eq!(
            stripped.as_group_call().unwrap().op(),
            detail.op(),
            "{name}"
        );
    }
    // A plugin timestamp (microseconds, `+00:00`) reads as any other.
    let mut value = fixture_json("plugin/group/events/ended.without_reason.json");
    value["timestamp"] = json!("2024-01-01T12:45:00.123456+00:00");
    let event: QueueEvent = serde_json::from_value(value).unwrap();
    assert_eq!(
        event.as_group_call().unwrap().timestamp,
        at("2024-01-01T12:45:00.123456Z")
    );
}

#[test]
fn unknown_ops_are_kept_whole_and_broken_payloads_are_errors() {
    let event = assert_round_trip::<QueueEvent>("plugin/group/events/unknown_op.json");
    let EventKind::Unknown { event_type, fields } = &event.kind else {
        panic!("expected an unknown event, got {event:?}");
    };
    assert_eq!(event_type, "group_call");
    assert_eq!(fields["op"], "participant_muted");

    let mut value = fixture_json("plugin/group/events/ended.json");
    value["reason"] = "bored".into();
    let err = serde_json::from_value::<QueueEvent>(value).unwrap_err();
    assert!(err.to_string().contains("bored"), "{err}");
    let mut value = fixture_json("plugin/group/events/participant_joined.json");
    value.as_object_mut().unwrap().remove("joined_user_id");
    assert!(serde_json::from_value::<QueueEvent>(value).is_err());

    let text = fixture_text("plugin/group/events/participant_joined.json");
    assert_eq!(
        parse_event_frame(&text)
            .unwrap()
            .as_group_call()
            .unwrap()
            .op(),
        GroupCallOp::ParticipantJoined
    );
}

/// The spec's "to" column, for the story's participants.
#[test]
fn recipients_follow_the_spec_table() {
    let to = |op, step: Step, subjects: &[UserId]| -> Vec<UserId> {
        roster(step)
            .iter()
            .filter(|p| {
                GroupCallEvent::is_recipient(op, p.state, p.is_host, subjects.contains(&p.user_id))
            })
            .map(|p| p.user_id)
            .collect()
    };
    use GroupCallOp as Op;
    assert_eq!(to(Op::Created, Step::Created, &[]), [HAMLET]);
    assert_eq!(
        to(Op::ParticipantInvited, Step::Invited, &[OTHELLO, IAGO]),
        [OTHELLO, IAGO]
    );
    assert_eq!(
        to(Op::ParticipantsInvited, Step::InvitedMore, &[CORDELIA]),
        [HAMLET, OTHELLO]
    );
    // The joiner too, and Iago whose phone is ringing.
    assert_eq!(
        to(Op::ParticipantJoined, Step::Joined, &[OTHELLO]),
        [HAMLET, OTHELLO, IAGO]
    );
    assert_eq!(
        to(Op::ParticipantDeclined, Step::Declined, &[IAGO]),
        [HAMLET, OTHELLO]
    );
    assert_eq!(
        to(Op::ParticipantMissed, Step::Missed, &[CORDELIA]),
        [HAMLET, OTHELLO, CORDELIA]
    );
    // Othello has left: only the host is still in.
    assert_eq!(to(Op::ParticipantLeft, Step::Left, &[OTHELLO]), [HAMLET]);
    assert_eq!(
        to(Op::Ended, Step::Ended, &[]),
        [HAMLET, OTHELLO, IAGO, CORDELIA]
    );
}

// ---------------------------------------------------------------------------------------------
// Pushes
// ---------------------------------------------------------------------------------------------

fn realm() -> PushRealm {
    PushRealm {
        name: "Example Organization".into(),
        id: 2,
    }
}

fn fcm_device(who: &str) -> PushTarget {
    PushTarget::Fcm {
        token: format!("fcm-token-{who}-pixel"),
    }
}

fn apns_device() -> PushTarget {
    PushTarget::Apns {
        token: "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f".into(),
        appid: "org.zulip.Zulip".into(),
    }
}

/// The `kind` push to `invitee` of the story, invited by `inviter`, at `now`.
fn group_push(
    kind: GroupPushKind,
    step: Step,
    invitee: UserId,
    inviter: UserId,
    now: &str,
    device: &PushTarget,
) -> PushRequest<GroupPushData> {
    let settings = Settings::default();
    let context =
        PushContext::from_realm_url("https://chat.example.com", settings.timeout_seconds())
            .unwrap();
    let roster = roster(step);
    let participant = roster.iter().find(|p| p.user_id == invitee).unwrap();
    let ctx = GroupPushContext {
        context: &context,
        realm: &realm(),
        now: at(now),
    };
    let notification = PushNotification::group(&call(), participant, &user(inviter), kind, &ctx);
    build_push(
        device,
        &notification,
        &settings.call_push_notification_sound,
    )
}

fn invitation(device: &PushTarget) -> PushRequest<GroupPushData> {
    group_push(
        GroupPushKind::Invitation,
        Step::Invited,
        OTHELLO,
        HAMLET,
        "2024-01-01T12:00:00Z",
        device,
    )
}

fn cancellation(device: &PushTarget) -> PushRequest<GroupPushData> {
    group_push(
        GroupPushKind::Cancelled,
        Step::Missed,
        CORDELIA,
        OTHELLO,
        "2024-01-01T12:03:00Z",
        device,
    )
}

/// Flat data, every value a string, `type` = `event`.
fn assert_flat_strings(name: &str, data: &Value) {
    let object = data.as_object().unwrap();
    assert!(object.values().all(Value::is_string), "{name}: {data}");
    assert_eq!(data["type"], data["event"], "{name}");
    assert!(object.get("custom").is_none());
}

#[test]
fn fcm_invitation_and_cancellation() {
    for (name, built, ttl) in [
        (
            "plugin/group/push/fcm.group_call.json",
            invitation(&fcm_device("othello")),
            Some("120s"),
        ),
        (
            "plugin/group/push/fcm.group_call_cancelled.json",
            cancellation(&fcm_device("cordelia")),
            None,
        ),
    ] {
        let PushRequest::Fcm(request) = built else {
            panic!("{name}: not FCM");
        };
        assert_eq!(serde_json::to_value(&request).unwrap(), fixture_json(name));
        assert_eq!(
            assert_round_trip::<FcmRequest<GroupPushData>>(name),
            request
        );
        assert_eq!(request.message.android.ttl.as_deref(), ttl, "{name}");
        assert_flat_strings(name, &fixture_json(name)["message"]["data"]);
    }
}

#[test]
fn apns_invitation_and_cancellation() {
    let ring = "plugin/group/push/apns.group_call.json";
    let stop = "plugin/group/push/apns.group_call_cancelled.json";
    let (PushRequest::Apns(ringing), PushRequest::Apns(cancelled)) =
        (invitation(&apns_device()), cancellation(&apns_device()))
    else {
        panic!("not APNs");
    };
    for (name, request) in [(ring, &ringing), (stop, &cancelled)] {
        assert_eq!(serde_json::to_value(request).unwrap(), fixture_json(name));
        assert_eq!(
            &assert_round_trip::<ApnsRequest<GroupPushData>>(name),
            request
        );
        let mut body = fixture_json(name)["body"].clone();
        body.as_object_mut().unwrap().remove("aps");
        assert_flat_strings(name, &body);
    }
    assert_eq!(ringing.body.aps.sound.as_deref(), Some("call_ring.wav"));
    assert_eq!(cancelled.body.aps.sound, None);
    // Each lives until its invitation rings out: Othello's from 12:00, Cordelia's from 12:01.
    assert_eq!(ringing.headers.apns_expiration, "1704110520");
    assert_eq!(cancelled.headers.apns_expiration, "1704110580");
    assert_eq!(ringing.headers.apns_collapse_id, CALL_ID);
}

/// The keys of the spec: the invitation's own and the realm's, the inviter as sender.
#[test]
fn group_push_data_names_the_inviter_and_the_title() {
    let data =
        fixture_json("plugin/group/push/fcm.group_call_cancelled.json")["message"]["data"].clone();
    let read: GroupPushData = serde_json::from_value(data.clone()).unwrap();
    assert_eq!(read.event, PushEvent::GroupCallCancelled);
    assert_eq!((read.sender_id, read.user_id), (OTHELLO, CORDELIA));
    assert_eq!(read.title, "Weekly sync");
    for key in [
        "event",
        "type",
        "call_id",
        "title",
        "call_type",
        "sender_id",
        "sender_full_name",
        "sender_name",
        "sender_avatar_url",
        "jitsi_url",
        "server",
        "realm_url",
        "realm_uri",
        "realm_name",
        "realm_id",
        "user_id",
    ] {
        assert!(data.get(key).is_some(), "no {key}");
    }
    // An untitled call is pushed under the plugin's words.
    let untitled = GroupCall {
        title: None,
        ..call()
    };
    let context = PushContext::from_realm_url("https://chat.example.com", 120).unwrap();
    let ctx = GroupPushContext {
        context: &context,
        realm: &realm(),
        now: at("2024-01-01T12:00:00Z"),
    };
    let othello = &roster(Step::Invited)[1];
    let push = GroupPushData::new(
        &untitled,
        othello,
        &user(HAMLET),
        GroupPushKind::Invitation,
        &ctx,
    );
    assert_eq!(push.title, "Group Call");
}

//! Queue events of spec §5 against exact fixtures, including the forward-compatible cases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_round_trip, fixture_json, fixture_text};
use pretty_assertions::assert_eq;
use zulip_calls_protocol::event::{CALL_EVENT_TYPE, WsAck, parse_event_frame};
use zulip_calls_protocol::{
    CallEvent, CallEventDetail, CallEventType, CallState, EndReason, EventId, EventKind,
    MediaStatus, QueueEvent, UserId,
};

fn call_event(name: &str) -> (QueueEvent, CallEvent) {
    let event = assert_round_trip::<QueueEvent>(name);
    let call = event
        .as_call()
        .cloned()
        .unwrap_or_else(|| panic!("{name} is not a call event"));
    (event, call)
}

#[test]
fn every_call_event_type_has_a_fixture_that_round_trips() {
    for event_type in CallEventType::ALL {
        let name = format!("events/{event_type}.json");
        let (event, call) = call_event(&name);
        assert_eq!(call.event_type(), *event_type, "{name}");
        assert_eq!(event.type_name(), CALL_EVENT_TYPE);
    }
}

/// The base fields every call event carries (spec §5).
#[test]
fn call_events_carry_the_base_fields() {
    let base = [
        "id",
        "type",
        "event_type",
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
        "timestamp",
    ];
    for event_type in CallEventType::ALL {
        let value = fixture_json(&format!("events/{event_type}.json"));
        for field in base {
            assert!(value.get(field).is_some(), "{event_type} lacks {field}");
        }
        assert!(
            value.get("join_url").is_none(),
            "join URLs never travel in events"
        );
    }
}

#[test]
fn call_started_carries_the_timeout() {
    let (event, call) = call_event("events/call_started.json");
    assert_eq!(event.id, EventId(0));
    assert_eq!(
        call.detail,
        CallEventDetail::CallStarted {
            timeout_seconds: 120
        }
    );
    assert_eq!(call.call.state, CallState::Calling);
}

#[test]
fn status_update_names_who_changed_what() {
    let (_, call) = call_event("events/call_status_update.json");
    assert_eq!(
        call.detail,
        CallEventDetail::CallStatusUpdate {
            status: MediaStatus::Muted,
            updated_by_id: UserId(12),
            updated_by_name: "Othello, the Moor of Venice".into(),
        }
    );
}

#[test]
fn call_ended_by_a_person_and_by_the_server() {
    let (_, hangup) = call_event("events/call_ended.json");
    assert_eq!(
        hangup.detail,
        CallEventDetail::CallEnded {
            reason: EndReason::Hangup,
            ended_by_id: Some(UserId(10)),
            duration: Some(1795.0),
        }
    );
    let (_, timeout) = call_event("events/call_ended.timeout.json");
    assert_eq!(
        timeout.detail,
        CallEventDetail::CallEnded {
            reason: EndReason::Timeout,
            ended_by_id: None,
            duration: None
        }
    );
    let written = serde_json::to_value(QueueEvent {
        id: EventId(1),
        kind: EventKind::Call(std::sync::Arc::new(timeout)),
    })
    .unwrap();
    assert!(
        written["ended_by_id"].is_null(),
        "a server end is written as an explicit null"
    );
}

#[test]
fn heartbeat_round_trips() {
    let event = assert_round_trip::<QueueEvent>("events/heartbeat.json");
    assert_eq!(
        event,
        QueueEvent {
            id: EventId(7),
            kind: EventKind::Heartbeat
        }
    );
}

#[test]
fn unknown_event_types_are_kept_whole() {
    let event = assert_round_trip::<QueueEvent>("events/unknown_type.json");
    let EventKind::Unknown { event_type, fields } = &event.kind else {
        panic!("expected an unknown event, got {event:?}");
    };
    assert_eq!(event_type, "presence");
    assert_eq!(fields["presence"]["website"]["status"], "active");
    assert_eq!(event.type_name(), "presence");
}

#[test]
fn unknown_call_event_types_are_kept_whole() {
    let event = assert_round_trip::<QueueEvent>("events/unknown_call_event_type.json");
    let EventKind::Unknown { event_type, fields } = &event.kind else {
        panic!("expected an unknown event, got {event:?}");
    };
    assert_eq!(event_type, CALL_EVENT_TYPE);
    assert_eq!(fields["event_type"], "call_transferred");
    assert_eq!(fields["transferred_to_id"], 5);
}

#[test]
fn a_known_call_event_with_a_broken_payload_is_an_error_not_unknown() {
    let mut value = fixture_json("events/call_accepted.json");
    value["state"] = "on_fire".into();
    let err = serde_json::from_value::<QueueEvent>(value).unwrap_err();
    assert!(err.to_string().contains("on_fire"), "{err}");
}

#[test]
fn events_need_an_id_and_a_type() {
    assert!(parse_event_frame(r#"{"type":"heartbeat"}"#).is_err());
    assert!(parse_event_frame(r#"{"id":3}"#).is_err());
    assert!(parse_event_frame(r#"{"id":3,"type":7}"#).is_err());
    assert!(parse_event_frame("[]").is_err());
    assert_eq!(
        parse_event_frame(&fixture_text("events/heartbeat.json"))
            .unwrap()
            .kind,
        EventKind::Heartbeat
    );
}

#[test]
fn websocket_acknowledgement_frames() {
    let ack = assert_round_trip::<WsAck>("events/ws_ack.json");
    assert_eq!(
        ack,
        WsAck {
            last_event_id: EventId(4)
        }
    );
    assert_eq!(
        WsAck::parse(r#"{"last_event_id": -1}"#)
            .unwrap()
            .last_event_id,
        EventId::BEFORE_FIRST
    );
    let err = WsAck::parse("ack 4").unwrap_err();
    assert!(err.to_string().contains("last_event_id"), "{err}");
}

#[test]
fn websocket_upgrade_query() {
    use zulip_calls_protocol::event::WsConnectParams;
    let params = common::assert_request::<WsConnectParams>("events/ws_connect.request.json");
    assert_eq!(params.queue_id.as_str(), "1375801870:2942");
    assert_eq!(params.last_event_id, EventId(4));
    let fresh: WsConnectParams = zulip_calls_protocol::Params::from_urlencoded(b"queue_id=abc")
        .decode()
        .unwrap();
    assert_eq!(fresh.last_event_id, EventId::BEFORE_FIRST);
}

//! One test per UI transition, with fixed timestamps.

use std::time::Duration;

use pretty_assertions::assert_eq;
use zulip_calls_protocol::calls::{
    EndResponse, HistoryResponse, OkStatus, RespondResponse, StartResponse,
};
use zulip_calls_protocol::event::EventCall;
use zulip_calls_protocol::{
    ActiveCall, CallEvent, CallEventDetail, CallId, CallState, CallType, Dialect, EndReason,
    EventId, EventKind, HistoryEntry, MediaState, MediaStatus, QueueEvent, RespondAction,
    Timestamp, UserId,
};

use super::model::LOG_CAPACITY;
use super::*;
use crate::backend::calls::Features;
use crate::backend::events::{ConnectionState, StreamItem, Transport};

mod presence_dnd;

const ME: UserId = UserId(1);
const ANA: UserId = UserId(2);
const BOB: UserId = UserId(3);
const BOT: UserId = UserId(4);
const JOIN: &str = "https://meet.example.com/zulip-call-1#jwt=mine";
const ROOM: &str = "https://meet.example.com/zulip-call-1";

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_700_000_000 + secs).unwrap()
}

fn cid(n: u8) -> CallId {
    format!("00000000-0000-4000-8000-0000000000{n:02}")
        .parse()
        .unwrap()
}

fn mate(id: UserId, name: &str, is_bot: bool) -> Teammate {
    Teammate {
        user_id: id,
        name: name.to_owned(),
        email: format!("{}@example.com", name.to_lowercase()),
        is_bot,
    }
}

/// A model at t=0 with teammates loaded (Ana selected first).
fn model() -> Model {
    let mut m = Model::new(ME, ts(0));
    update(
        &mut m,
        Msg::Users(Ok(vec![
            mate(BOB, "Bob", false),
            mate(ME, "Me", false),
            mate(ANA, "Ana", false),
            mate(BOT, "Welcome Bot", true),
        ])),
    );
    m
}

fn key(m: &mut Model, k: KeyInput) -> Update {
    update(m, Msg::Key(k))
}

fn ch(m: &mut Model, c: char) -> Update {
    key(m, KeyInput::Char(c))
}

fn tick(m: &mut Model, secs: i64) -> Update {
    update(m, Msg::Tick(ts(secs)))
}

fn event(
    id: CallId,
    sender: (UserId, &str),
    receiver: (UserId, &str),
    state: CallState,
    detail: CallEventDetail,
) -> Msg {
    Msg::Stream(StreamItem::Event(QueueEvent {
        id: EventId(7),
        kind: EventKind::Call(std::sync::Arc::new(CallEvent {
            call: EventCall {
                call_id: id,
                call_type: CallType::Video,
                state,
                sender_id: sender.0,
                sender_name: sender.1.to_owned(),
                receiver_id: receiver.0,
                receiver_name: receiver.1.to_owned(),
                jitsi_url: ROOM.to_owned(),
                created_at: ts(0),
                answered_at: None,
                ended_at: None,
            },
            timestamp: ts(0),
            detail,
        })),
    }))
}

/// An event about my outgoing call to Ana.
fn out_event(state: CallState, detail: CallEventDetail) -> Msg {
    event(cid(1), (ME, "Me"), (ANA, "Ana"), state, detail)
}

/// An event about Ana's call to me.
fn in_event(state: CallState, detail: CallEventDetail) -> Msg {
    event(cid(2), (ANA, "Ana"), (ME, "Me"), state, detail)
}

fn ended(reason: EndReason, by: Option<UserId>, duration: Option<f64>) -> CallEventDetail {
    CallEventDetail::CallEnded {
        reason,
        ended_by_id: by,
        duration,
    }
}

fn started_ok() -> Msg {
    Msg::Started {
        user_id: ANA,
        result: Ok(StartResponse {
            call_id: cid(1),
            jitsi_url: ROOM.to_owned(),
            join_url: Some(JOIN.to_owned()),
            timeout_seconds: 30,
        }),
    }
}

/// I pressed `v` on Ana and the server created the call.
fn placed() -> Model {
    let mut m = model();
    ch(&mut m, 'v');
    update(&mut m, started_ok());
    m
}

fn outgoing(m: &Model) -> &Outgoing {
    match &m.call {
        CallPanel::Outgoing(o) => o,
        other => panic!("expected an outgoing call, got {other:?}"),
    }
}

fn incoming(m: &Model) -> &Incoming {
    match &m.call {
        CallPanel::Incoming(i) => i,
        other => panic!("expected an incoming call, got {other:?}"),
    }
}

fn in_call(m: &Model) -> &InCall {
    match &m.call {
        CallPanel::InCall(c) => c,
        other => panic!("expected a call in progress, got {other:?}"),
    }
}

fn summary(m: &Model) -> &EndSummary {
    match &m.call {
        CallPanel::Ended { summary } => summary,
        other => panic!("expected an end summary, got {other:?}"),
    }
}

/// My accepted outgoing call to Ana, accepted at t=10.
fn talking() -> Model {
    let mut m = placed();
    tick(&mut m, 10);
    update(
        &mut m,
        out_event(CallState::Accepted, CallEventDetail::CallAccepted),
    );
    m
}

/// Ana is calling me, received at t=0.
fn ringing() -> Model {
    let mut m = model();
    update(
        &mut m,
        in_event(
            CallState::Calling,
            CallEventDetail::CallStarted {
                timeout_seconds: 30,
            },
        ),
    );
    m
}

// ---------------------------------------------------------------------------------------------
// Outgoing

#[test]
fn v_places_a_video_call_with_the_selected_teammate() {
    let mut m = model();
    assert_eq!(m.selected_teammate().unwrap().name, "Ana");
    let u = ch(&mut m, 'v');
    assert_eq!(
        u.commands,
        vec![Command::Start {
            user_id: ANA,
            call_type: CallType::Video
        }]
    );
    assert!(u.redraw);
    let o = outgoing(&m);
    assert_eq!(
        (o.to_name.as_str(), o.ringing, o.call_id),
        ("Ana", false, None)
    );
}

#[test]
fn a_places_an_audio_call() {
    let mut m = model();
    key(&mut m, KeyInput::Down);
    let u = ch(&mut m, 'a');
    assert_eq!(
        u.commands,
        vec![Command::Start {
            user_id: BOB,
            call_type: CallType::Audio
        }]
    );
}

#[test]
fn start_response_records_id_and_timeout() {
    let m = placed();
    let o = outgoing(&m);
    assert_eq!(o.call_id, Some(cid(1)));
    assert_eq!(o.join_url.as_deref(), Some(JOIN));
    assert_eq!(m.call_time_left(), Some(30.0));
}

#[test]
fn the_servers_own_deadline_wins_over_the_placing_answer() {
    let mut m = placed();
    update(
        &mut m,
        out_event(
            CallState::Calling,
            CallEventDetail::CallStarted {
                timeout_seconds: 45,
            },
        ),
    );
    assert_eq!(m.call_time_left(), Some(45.0));

    // The same when the event beats the placing answer.
    let mut m = model();
    ch(&mut m, 'v');
    update(
        &mut m,
        out_event(
            CallState::Calling,
            CallEventDetail::CallStarted {
                timeout_seconds: 45,
            },
        ),
    );
    update(&mut m, started_ok());
    assert_eq!(m.call_time_left(), Some(45.0));
}

#[test]
fn participant_ringing_shows_ringing() {
    let mut m = placed();
    let u = update(
        &mut m,
        out_event(CallState::Ringing, CallEventDetail::ParticipantRinging),
    );
    assert!(u.redraw && u.commands.is_empty());
    assert!(outgoing(&m).ringing);
}

#[test]
fn outgoing_timer_counts_up_and_down() {
    let mut m = placed();
    assert!(tick(&mut m, 12).redraw);
    assert_eq!(m.call_elapsed(), Some(12.0));
    assert_eq!(m.call_time_left(), Some(18.0));
}

#[test]
fn accepted_opens_my_join_url_and_switches_to_in_call() {
    let mut m = placed();
    tick(&mut m, 10);
    let u = update(
        &mut m,
        out_event(CallState::Accepted, CallEventDetail::CallAccepted),
    );
    assert_eq!(u.commands, vec![Command::OpenUrl(JOIN.to_owned())]);
    let c = in_call(&m);
    assert_eq!((c.other_id, c.outgoing, c.since), (ANA, true, ts(10)));
    assert_eq!(c.mine, MediaState::initial(CallType::Video));
}

#[test]
fn rejected_says_declined() {
    let mut m = placed();
    update(
        &mut m,
        out_event(CallState::Rejected, CallEventDetail::CallRejected),
    );
    assert_eq!(summary(&m).text, "Ana declined the call");
}

#[test]
fn missed_says_no_answer() {
    let mut m = placed();
    update(
        &mut m,
        out_event(CallState::Missed, ended(EndReason::Missed, None, None)),
    );
    assert_eq!(summary(&m).text, "Ana did not answer (missed)");
}

#[test]
fn timeout_says_timed_out() {
    let mut m = placed();
    update(
        &mut m,
        out_event(CallState::Timeout, ended(EndReason::Timeout, None, None)),
    );
    assert_eq!(summary(&m).text, "No answer from Ana: the call timed out");
}

#[test]
fn busy_shows_the_servers_reason() {
    let mut m = model();
    ch(&mut m, 'v');
    update(
        &mut m,
        Msg::Started {
            user_id: ANA,
            result: Err("Ana is currently in another call".to_owned()),
        },
    );
    assert_eq!(
        summary(&m).text,
        "Could not call Ana: Ana is currently in another call"
    );
    assert!(!m.call.is_active());
}

#[test]
fn esc_cancels_with_end_and_the_result_shows_cancelled() {
    let mut m = placed();
    let u = key(&mut m, KeyInput::Esc);
    assert_eq!(u.commands, vec![Command::End(cid(1))]);
    // A second Esc does not send a second End.
    assert!(key(&mut m, KeyInput::Esc).commands.is_empty());
    update(
        &mut m,
        Msg::Ended {
            call_id: cid(1),
            result: Ok(EndResponse {
                status: OkStatus::Ok,
                call_status: Some(CallState::Cancelled),
                duration: None,
            }),
        },
    );
    assert_eq!(summary(&m).text, "Call to Ana cancelled");
}

#[test]
fn e_also_cancels() {
    let mut m = placed();
    assert_eq!(ch(&mut m, 'e').commands, vec![Command::End(cid(1))]);
}

#[test]
fn cancel_before_the_start_response_ends_the_call_once_it_is_known() {
    let mut m = model();
    ch(&mut m, 'v');
    assert!(key(&mut m, KeyInput::Esc).commands.is_empty());
    assert!(outgoing(&m).cancel_requested);
    assert_eq!(
        update(&mut m, started_ok()).commands,
        vec![Command::End(cid(1))]
    );
}

#[test]
fn failed_cancel_can_be_retried() {
    let mut m = placed();
    key(&mut m, KeyInput::Esc);
    update(
        &mut m,
        Msg::Ended {
            call_id: cid(1),
            result: Err("network down".to_owned()),
        },
    );
    assert_eq!(
        m.current_notice().unwrap().text,
        "Could not end the call: network down"
    );
    assert_eq!(
        key(&mut m, KeyInput::Esc).commands,
        vec![Command::End(cid(1))]
    );
}

// ---------------------------------------------------------------------------------------------
// Incoming

#[test]
fn call_started_for_me_acknowledges_rings_and_shows_the_modal() {
    let mut m = model();
    let u = update(
        &mut m,
        in_event(
            CallState::Calling,
            CallEventDetail::CallStarted {
                timeout_seconds: 30,
            },
        ),
    );
    assert_eq!(
        u.commands,
        vec![
            Command::Acknowledge(cid(2)),
            Command::StartRinging,
            Command::Notify {
                title: "Incoming video call".to_owned(),
                body: "Ana is calling you".to_owned()
            }
        ]
    );
    let i = incoming(&m);
    assert_eq!(
        (i.from_name.as_str(), i.call_type),
        ("Ana", CallType::Video)
    );
    tick(&mut m, 5);
    assert_eq!(m.call_time_left(), Some(25.0));
}

#[test]
fn replayed_call_started_does_not_ring_twice() {
    let mut m = ringing();
    let u = update(
        &mut m,
        in_event(
            CallState::Calling,
            CallEventDetail::CallStarted {
                timeout_seconds: 30,
            },
        ),
    );
    assert!(u.commands.is_empty());
}

#[test]
fn my_own_call_started_does_not_ring() {
    let mut m = model();
    ch(&mut m, 'v');
    let u = update(
        &mut m,
        out_event(
            CallState::Calling,
            CallEventDetail::CallStarted {
                timeout_seconds: 30,
            },
        ),
    );
    assert!(u.commands.is_empty());
    assert_eq!(outgoing(&m).call_id, Some(cid(1)));
}

#[test]
fn y_accepts_then_the_response_opens_my_join_url() {
    let mut m = ringing();
    let u = ch(&mut m, 'y');
    assert_eq!(
        u.commands,
        vec![
            Command::StopRinging,
            Command::Respond {
                call_id: cid(2),
                action: RespondAction::Accept
            }
        ]
    );
    // The call_accepted event of my own answer does not dismiss the modal.
    let u = update(
        &mut m,
        in_event(CallState::Accepted, CallEventDetail::CallAccepted),
    );
    assert!(u.commands.is_empty());
    tick(&mut m, 3);
    let u = update(
        &mut m,
        Msg::Responded {
            call_id: cid(2),
            action: RespondAction::Accept,
            result: Ok(RespondResponse {
                status: OkStatus::Ok,
                call_status: CallState::Accepted,
                jitsi_url: Some(ROOM.to_owned()),
                join_url: Some(JOIN.to_owned()),
            }),
        },
    );
    assert_eq!(u.commands, vec![Command::OpenUrl(JOIN.to_owned())]);
    let c = in_call(&m);
    assert_eq!(
        (c.other_name.as_str(), c.outgoing, c.since),
        ("Ana", false, ts(3))
    );
}

#[test]
fn enter_accepts_too() {
    let mut m = ringing();
    let u = key(&mut m, KeyInput::Enter);
    assert!(u.commands.contains(&Command::Respond {
        call_id: cid(2),
        action: RespondAction::Accept
    }));
}

#[test]
fn n_rejects() {
    let mut m = ringing();
    let u = ch(&mut m, 'n');
    assert_eq!(
        u.commands,
        vec![
            Command::StopRinging,
            Command::Respond {
                call_id: cid(2),
                action: RespondAction::Reject
            }
        ]
    );
    update(
        &mut m,
        Msg::Responded {
            call_id: cid(2),
            action: RespondAction::Reject,
            result: Ok(RespondResponse {
                status: OkStatus::Ok,
                call_status: CallState::Rejected,
                jitsi_url: None,
                join_url: None,
            }),
        },
    );
    assert_eq!(m.call, CallPanel::None);
    assert_eq!(
        m.current_notice().unwrap().text,
        "Declined the call from Ana"
    );
}

#[test]
fn accept_that_lost_a_race_explains_why() {
    let mut m = ringing();
    ch(&mut m, 'y');
    update(
        &mut m,
        Msg::Responded {
            call_id: cid(2),
            action: RespondAction::Accept,
            result: Err(AnswerError::CallOver(
                "Cannot respond to call in state: cancelled".to_owned(),
            )),
        },
    );
    assert_eq!(
        summary(&m).text,
        "Could not answer the call from Ana: Cannot respond to call in state: cancelled"
    );
}

#[test]
fn an_answer_that_did_not_get_through_can_be_given_again() {
    let mut m = ringing();
    ch(&mut m, 'y');
    let u = update(
        &mut m,
        Msg::Responded {
            call_id: cid(2),
            action: RespondAction::Accept,
            result: Err(AnswerError::NotSent("Service unavailable (503)".to_owned())),
        },
    );
    assert!(u.commands.is_empty());
    let CallPanel::Incoming(i) = &m.call else {
        panic!("the modal stays: {:?}", m.call);
    };
    assert_eq!(i.answered, None);
    let notice = m.current_notice().unwrap();
    assert_eq!(notice.level, Level::Error);
    assert_eq!(
        notice.text,
        "Could not answer: Service unavailable (503) (y or n to try again)"
    );
    // The second try goes out.
    let u = update(&mut m, Msg::Key(KeyInput::Char('y')));
    assert!(
        u.commands.iter().any(|c| matches!(
            c,
            Command::Respond {
                action: RespondAction::Accept,
                ..
            }
        )),
        "{:?}",
        u.commands
    );
}

#[test]
fn answered_on_another_device_stops_ringing_and_closes_the_modal() {
    let mut m = ringing();
    let u = update(
        &mut m,
        in_event(CallState::Accepted, CallEventDetail::CallAccepted),
    );
    assert_eq!(u.commands, vec![Command::StopRinging]);
    assert_eq!(m.call, CallPanel::None);
    assert_eq!(
        m.current_notice().unwrap().text,
        "Call from Ana answered on another device"
    );
}

#[test]
fn rejected_on_another_device_stops_ringing() {
    let mut m = ringing();
    let u = update(
        &mut m,
        in_event(CallState::Rejected, CallEventDetail::CallRejected),
    );
    assert_eq!(u.commands, vec![Command::StopRinging]);
    assert_eq!(m.call, CallPanel::None);
}

#[test]
fn cancelled_by_the_caller_stops_ringing_with_a_message() {
    let mut m = ringing();
    let u = update(
        &mut m,
        in_event(
            CallState::Cancelled,
            ended(EndReason::Cancelled, Some(ANA), None),
        ),
    );
    assert_eq!(u.commands, vec![Command::StopRinging]);
    assert_eq!(summary(&m).text, "Ana cancelled the call");
}

#[test]
fn missed_call_stops_ringing_and_notifies() {
    let mut m = ringing();
    let u = update(
        &mut m,
        in_event(CallState::Missed, ended(EndReason::Missed, None, None)),
    );
    assert_eq!(
        u.commands,
        vec![
            Command::StopRinging,
            Command::Notify {
                title: "Missed call".to_owned(),
                body: "Ana called you".to_owned()
            }
        ]
    );
    assert_eq!(summary(&m).text, "Missed call from Ana");
}

#[test]
fn incoming_timeout_stops_ringing() {
    let mut m = ringing();
    let u = update(
        &mut m,
        in_event(CallState::Timeout, ended(EndReason::Timeout, None, None)),
    );
    assert_eq!(u.commands, vec![Command::StopRinging]);
    assert_eq!(summary(&m).text, "Call from Ana timed out");
}

// ---------------------------------------------------------------------------------------------
// In call

#[test]
fn toggles_send_the_right_status_and_show_it_at_once() {
    let mut m = talking();
    let sent = |m: &mut Model, c: char| ch(m, c).commands;
    let status = |s| {
        vec![Command::SendStatus {
            call_id: cid(1),
            status: s,
        }]
    };
    assert_eq!(sent(&mut m, 'm'), status(MediaStatus::Muted));
    assert!(in_call(&m).mine.muted);
    assert_eq!(sent(&mut m, 'm'), status(MediaStatus::Unmuted));
    assert_eq!(sent(&mut m, 'c'), status(MediaStatus::VideoDisabled));
    assert_eq!(sent(&mut m, 'h'), status(MediaStatus::OnHold));
    assert_eq!(sent(&mut m, 's'), status(MediaStatus::ScreenSharing));
    let mine = in_call(&m).mine;
    assert!(!mine.muted && mine.video_off && mine.on_hold && mine.screen_sharing);
}

#[test]
fn audio_call_camera_toggle_turns_video_on() {
    let mut m = model();
    ch(&mut m, 'a');
    update(&mut m, started_ok());
    update(
        &mut m,
        out_event(CallState::Accepted, CallEventDetail::CallAccepted),
    );
    assert_eq!(
        ch(&mut m, 'c').commands,
        vec![Command::SendStatus {
            call_id: cid(1),
            status: MediaStatus::VideoEnabled
        }]
    );
}

#[test]
fn failed_status_is_rolled_back() {
    let mut m = talking();
    ch(&mut m, 'm');
    update(
        &mut m,
        Msg::StatusSent {
            call_id: cid(1),
            status: MediaStatus::Muted,
            result: Err("timeout".to_owned()),
        },
    );
    assert!(!in_call(&m).mine.muted);
    assert_eq!(m.current_notice().unwrap().level, Level::Error);
}

#[test]
fn the_other_partys_status_updates_are_folded() {
    let mut m = talking();
    for status in [
        MediaStatus::Connected,
        MediaStatus::Muted,
        MediaStatus::ScreenSharing,
    ] {
        update(
            &mut m,
            out_event(
                CallState::Accepted,
                CallEventDetail::CallStatusUpdate {
                    status,
                    updated_by_id: ANA,
                    updated_by_name: "Ana".to_owned(),
                },
            ),
        );
    }
    let c = in_call(&m);
    assert!(c.theirs.connected && c.theirs.muted && c.theirs.screen_sharing);
    assert_eq!(c.mine, MediaState::initial(CallType::Video));
}

/// My call to Ana, accepted, on a server of the 1.1 dialect.
fn talking_on_1_1() -> Model {
    let mut m = talking();
    m.features = Features::of(Dialect::V1_1);
    m
}

#[test]
fn media_keys_on_a_server_without_media_status_say_so_and_send_nothing() {
    let mut m = talking_on_1_1();
    for (key, what) in [
        ('m', "Muting"),
        ('c', "Turning the camera on or off"),
        ('h', "Holding"),
        ('s', "Screen sharing"),
    ] {
        let u = ch(&mut m, key);
        assert_eq!(u.commands, vec![], "{key}");
        let notice = m.current_notice().unwrap();
        assert_eq!(notice.level, Level::Info);
        assert_eq!(
            notice.text,
            format!("{what} is not supported by this server (calls API 1.1)")
        );
    }
    assert_eq!(in_call(&m).mine, MediaState::initial(CallType::Video));
    let keys: Vec<_> = m.key_hints().iter().map(|h| h.key).collect();
    assert_eq!(&keys[..2], ["e", "o"]);
}

#[test]
fn the_held_call_is_the_accepted_one() {
    assert_eq!(model().held_call(), None);
    assert_eq!(placed().held_call(), None, "not before the answer");
    assert_eq!(ringing().held_call(), None);
    let mut m = talking();
    assert_eq!(m.held_call(), Some(cid(1)));
    update(
        &mut m,
        out_event(
            CallState::Ended,
            ended(EndReason::Hangup, Some(ANA), Some(3.0)),
        ),
    );
    assert_eq!(m.held_call(), None, "not after the end");
}

/// The released plugin's `ended` names nobody: when I pressed `e`, the end is mine, whether
/// the event or the answer to my request comes first; a failed request forgets it.
#[test]
fn my_own_hangup_is_mine_though_the_event_names_nobody() {
    let mut m = talking_on_1_1();
    let out = ch(&mut m, 'e');
    assert!(
        matches!(out.commands.as_slice(), [Command::End(_)]),
        "{:?}",
        out.commands
    );
    update(
        &mut m,
        out_event(CallState::Ended, ended(EndReason::Hangup, None, None)),
    );
    assert_eq!(summary(&m).text, "You ended the call");

    let mut m = talking_on_1_1();
    let call_id = in_call(&m).call_id;
    ch(&mut m, 'e');
    update(
        &mut m,
        Msg::Ended {
            call_id,
            result: Err("no route to host".to_owned()),
        },
    );
    assert!(!in_call(&m).hangup_requested);
    update(
        &mut m,
        out_event(CallState::Ended, ended(EndReason::Hangup, None, None)),
    );
    assert_eq!(summary(&m).text, "The call ended");
}

#[test]
fn an_end_without_an_actor_does_not_blame_the_server_for_a_hangup() {
    let mut m = talking_on_1_1();
    update(
        &mut m,
        out_event(CallState::Ended, ended(EndReason::Hangup, None, Some(9.0))),
    );
    assert_eq!(summary(&m).text, "The call ended");
    let mut m = talking_on_1_1();
    update(
        &mut m,
        out_event(
            CallState::NetworkFailure,
            ended(EndReason::NetworkFailure, None, Some(70.0)),
        ),
    );
    assert_eq!(summary(&m).text, "The call dropped: a connection was lost");
    assert_eq!(summary(&m).duration, Some(70.0));
}

#[test]
fn duration_timer_runs_in_call() {
    let mut m = talking();
    tick(&mut m, 75);
    assert_eq!(m.call_elapsed(), Some(65.0));
    assert_eq!(m.call_time_left(), None);
}

#[test]
fn other_side_ending_shows_who_and_how_long() {
    let mut m = talking();
    update(
        &mut m,
        out_event(
            CallState::Ended,
            ended(EndReason::Hangup, Some(ANA), Some(65.0)),
        ),
    );
    assert_eq!(
        summary(&m),
        &EndSummary {
            other_name: "Ana".to_owned(),
            text: "Ana ended the call".to_owned(),
            duration: Some(65.0)
        }
    );
}

#[test]
fn max_duration_is_explained_and_timed_locally_when_missing() {
    let mut m = talking();
    tick(&mut m, 40);
    update(
        &mut m,
        out_event(CallState::Ended, ended(EndReason::MaxDuration, None, None)),
    );
    let s = summary(&m);
    assert_eq!(s.text, "The call reached its maximum duration");
    assert_eq!(s.duration, Some(30.0));
}

#[test]
fn e_ends_the_call_and_the_result_shows_the_summary() {
    let mut m = talking();
    assert_eq!(ch(&mut m, 'e').commands, vec![Command::End(cid(1))]);
    update(
        &mut m,
        Msg::Ended {
            call_id: cid(1),
            result: Ok(EndResponse {
                status: OkStatus::Ok,
                call_status: Some(CallState::Ended),
                duration: Some(12.5),
            }),
        },
    );
    assert_eq!(summary(&m).text, "You ended the call");
    assert_eq!(summary(&m).duration, Some(12.5));
    // Esc dismisses the summary.
    key(&mut m, KeyInput::Esc);
    assert_eq!(m.call, CallPanel::None);
}

#[test]
fn o_reopens_the_meeting() {
    let mut m = talking();
    assert_eq!(
        ch(&mut m, 'o').commands,
        vec![Command::OpenUrl(JOIN.to_owned())]
    );
}

#[test]
fn u_shows_and_copies_the_join_url() {
    let mut m = talking();
    let u = ch(&mut m, 'u');
    assert_eq!(u.commands, vec![Command::CopyToClipboard(JOIN.to_owned())]);
    assert!(u.redraw);
    let notice = m.current_notice().unwrap();
    assert!(notice.text.contains(JOIN), "{}", notice.text);
    assert!(m.key_hints().iter().any(|h| h.key == "u"));
    // Without a call, `u` does nothing.
    let mut idle = model();
    assert!(ch(&mut idle, 'u').commands.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Quit, overlays, status bar

#[test]
fn q_quits_at_once_without_a_call() {
    let mut m = model();
    assert_eq!(ch(&mut m, 'q').commands, vec![Command::Quit]);
    assert!(m.quitting);
}

#[test]
fn q_asks_first_during_a_call() {
    let mut m = talking();
    let u = ch(&mut m, 'q');
    assert!(u.commands.is_empty());
    assert_eq!(m.overlay, Overlay::ConfirmQuit);
    ch(&mut m, 'n');
    assert_eq!(m.overlay, Overlay::None);
    ch(&mut m, 'q');
    assert_eq!(
        ch(&mut m, 'y').commands,
        vec![Command::End(cid(1)), Command::Quit]
    );
}

#[test]
fn ctrl_c_while_ringing_stops_the_ringer_and_quits() {
    let mut m = ringing();
    assert_eq!(
        key(&mut m, KeyInput::CtrlC).commands,
        vec![Command::StopRinging, Command::Quit]
    );
}

#[test]
fn help_toggles_and_swallows_keys() {
    let mut m = model();
    assert!(ch(&mut m, '?').redraw);
    assert_eq!(m.overlay, Overlay::Help);
    let u = ch(&mut m, 'v');
    assert!(u.commands.is_empty() && !u.redraw);
    ch(&mut m, '?');
    assert_eq!(m.overlay, Overlay::None);
}

#[test]
fn log_pane_toggles_and_is_bounded() {
    let mut m = model();
    ch(&mut m, 'l');
    assert!(m.show_log);
    ch(&mut m, 'l');
    assert!(!m.show_log);
    for _ in 0..LOG_CAPACITY + 5 {
        update(
            &mut m,
            out_event(CallState::Ringing, CallEventDetail::ParticipantRinging),
        );
    }
    assert_eq!(m.log.lines.len(), LOG_CAPACITY);
    assert_eq!(m.log.written, LOG_CAPACITY as u64 + 5);
}

#[test]
fn connection_state_reaches_the_status_bar() {
    let mut m = model();
    assert_eq!(m.connection_text(), "connecting…");
    update(
        &mut m,
        Msg::Stream(StreamItem::State(ConnectionState::Connected {
            transport: Transport::WebSocket,
        })),
    );
    assert_eq!(m.connection_text(), "connected");
    tick(&mut m, 100);
    update(
        &mut m,
        Msg::Stream(StreamItem::State(ConnectionState::Reconnecting {
            attempt: 1,
            retry_in: Duration::from_secs(5),
            reason: "reset".to_owned(),
        })),
    );
    assert_eq!(m.connection_text(), "reconnecting in 5 s");
    assert!(tick(&mut m, 102).redraw);
    assert_eq!(m.connection_text(), "reconnecting in 3 s");
    update(
        &mut m,
        Msg::Stream(StreamItem::State(ConnectionState::Offline {
            reason: "invalid API key".to_owned(),
        })),
    );
    assert_eq!(m.connection_text(), "offline: invalid API key");
}

#[test]
fn key_hints_follow_the_state() {
    let keys = |m: &Model| m.key_hints().iter().map(|h| h.key).collect::<Vec<_>>();
    let m = model();
    assert!(keys(&m).contains(&"v") && !keys(&m).contains(&"m"));
    let m = ringing();
    assert_eq!(&keys(&m)[..2], ["y/Enter", "n"]);
    assert!(!keys(&m).contains(&"v"));
    let m = placed();
    assert_eq!(keys(&m)[0], "Esc/e");
    let m = talking();
    assert_eq!(&keys(&m)[..3], ["m", "c", "h"]);
}

#[test]
fn ticks_redraw_only_when_something_visible_changes() {
    let mut m = model();
    assert!(!tick(&mut m, 1).redraw);
    let mut m = placed();
    assert!(tick(&mut m, 1).redraw);
    // Same whole second: nothing on screen moves.
    assert!(
        !update(
            &mut m,
            Msg::Tick(Timestamp::from_unix_millis(1_700_000_001_500).unwrap())
        )
        .redraw
    );
}

#[test]
fn notices_expire() {
    let mut m = ringing();
    update(
        &mut m,
        in_event(CallState::Accepted, CallEventDetail::CallAccepted),
    );
    assert!(m.current_notice().is_some());
    assert!(tick(&mut m, 9).redraw);
    assert!(m.current_notice().is_none());
}

// ---------------------------------------------------------------------------------------------
// Teammates

#[test]
fn list_is_sorted_without_me_and_marks_bots() {
    let m = model();
    let names: Vec<_> = m
        .visible_teammates()
        .iter()
        .map(|t| (t.name.as_str(), t.is_bot))
        .collect();
    assert_eq!(
        names,
        [("Ana", false), ("Bob", false), ("Welcome Bot", true)]
    );
}

#[test]
fn typing_a_filter_narrows_the_list() {
    let mut m = model();
    ch(&mut m, '/');
    assert!(m.filtering);
    ch(&mut m, 'b');
    assert_eq!(m.visible_teammates().len(), 2);
    ch(&mut m, 'o');
    ch(&mut m, 'b');
    let names: Vec<_> = m
        .visible_teammates()
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(names, ["Bob"]);
    // While filtering, `v` is text, not a call.
    assert!(ch(&mut m, 'v').commands.is_empty());
    key(&mut m, KeyInput::Backspace);
    key(&mut m, KeyInput::Enter);
    assert!(!m.filtering);
    assert_eq!(
        ch(&mut m, 'v').commands,
        vec![Command::Start {
            user_id: BOB,
            call_type: CallType::Video
        }]
    );
}

#[test]
fn esc_clears_the_filter() {
    let mut m = model();
    ch(&mut m, '/');
    ch(&mut m, 'z');
    assert!(m.visible_teammates().is_empty());
    key(&mut m, KeyInput::Esc);
    assert_eq!(m.visible_teammates().len(), 3);
}

#[test]
fn selection_stays_in_bounds() {
    let mut m = model();
    key(&mut m, KeyInput::PageDown);
    assert_eq!(m.selected, 2);
    assert!(!key(&mut m, KeyInput::Down).redraw);
    key(&mut m, KeyInput::PageUp);
    assert_eq!(m.selected, 0);
}

#[test]
fn the_other_party_is_shown_in_a_call() {
    let m = talking();
    assert!(m.in_call(ANA));
    assert!(!m.in_call(BOB));
}

// ---------------------------------------------------------------------------------------------
// Invalid keys

#[test]
fn keys_invalid_now_do_nothing() {
    let mut m = model();
    for c in ['m', 'c', 'h', 's', 'e', 'o', 'y', 'n', 'x', 't'] {
        let u = ch(&mut m, c);
        assert!(u.commands.is_empty() && !u.redraw, "key {c}");
    }
    assert!(!key(&mut m, KeyInput::Esc).redraw);
    // No second call while one is active.
    let mut m = talking();
    let u = ch(&mut m, 'v');
    assert!(u.commands.is_empty() && !u.redraw);
    // y after answering does nothing.
    let mut m = ringing();
    ch(&mut m, 'y');
    let u = ch(&mut m, 'y');
    assert!(u.commands.is_empty() && !u.redraw);
    // Toggles are not possible before the call is accepted.
    let mut m = placed();
    let u = ch(&mut m, 'm');
    assert!(u.commands.is_empty() && !u.redraw);
}

// ---------------------------------------------------------------------------------------------
// Resync

fn active(id: CallId, state: CallState, sender: UserId, receiver: UserId) -> ActiveCall {
    ActiveCall {
        call_id: id,
        call_type: CallType::Audio,
        state,
        sender_id: sender,
        sender_name: if sender == ANA { "Ana" } else { "Me" }.to_owned(),
        receiver_id: receiver,
        receiver_name: if receiver == ANA { "Ana" } else { "Me" }.to_owned(),
        jitsi_url: ROOM.to_owned(),
        created_at: ts(0),
        is_outgoing: sender == ME,
    }
}

#[test]
fn resynced_with_an_accepted_call_shows_the_call() {
    let mut m = model();
    let u = update(
        &mut m,
        Msg::Stream(StreamItem::Resynced(vec![active(
            cid(3),
            CallState::Accepted,
            ANA,
            ME,
        )])),
    );
    assert!(u.commands.is_empty());
    let c = in_call(&m);
    assert_eq!(
        (c.call_id, c.other_name.as_str(), c.outgoing),
        (cid(3), "Ana", false)
    );
    assert_eq!(c.url, ROOM);
    assert!(c.mine.video_off);
}

#[test]
fn resynced_with_an_unanswered_incoming_call_rings() {
    let mut m = model();
    let u = update(
        &mut m,
        Msg::Stream(StreamItem::Resynced(vec![active(
            cid(3),
            CallState::Calling,
            ANA,
            ME,
        )])),
    );
    assert_eq!(
        u.commands,
        vec![Command::Acknowledge(cid(3)), Command::StartRinging]
    );
    assert_eq!(incoming(&m).call_id, cid(3));
}

#[test]
fn resynced_keeps_an_outgoing_call_and_learns_ringing() {
    let mut m = placed();
    update(
        &mut m,
        Msg::Stream(StreamItem::Resynced(vec![active(
            cid(1),
            CallState::Ringing,
            ME,
            ANA,
        )])),
    );
    assert!(outgoing(&m).ringing);
    assert_eq!(outgoing(&m).join_url.as_deref(), Some(JOIN));
}

#[test]
fn resynced_without_my_call_ends_the_panel() {
    let mut m = ringing();
    let u = update(&mut m, Msg::Stream(StreamItem::Resynced(Vec::new())));
    assert_eq!(u.commands, vec![Command::StopRinging]);
    assert_eq!(
        summary(&m).text,
        "The call ended while the connection was down"
    );
}

// ---------------------------------------------------------------------------------------------
// History and active calls

fn entry(n: u8) -> HistoryEntry {
    HistoryEntry {
        call_id: cid(n),
        user_id: ANA,
        user_name: "Ana".to_owned(),
        call_type: CallType::Video,
        state: CallState::Ended,
        is_outgoing: true,
        created_at: ts(0),
        answered_at: Some(ts(1)),
        ended_at: Some(ts(61)),
        duration: Some(60.0),
    }
}

#[test]
fn history_loads_pages_and_filters() {
    let mut m = model();
    let u = key(&mut m, KeyInput::Tab);
    assert_eq!(m.view, View::History);
    assert_eq!(
        u.commands,
        vec![
            Command::LoadHistory {
                offset: 0,
                limit: 20,
                call_type: None,
                state: None
            },
            Command::SaveSeen(ts(0))
        ]
    );
    update(
        &mut m,
        Msg::History {
            offset: 0,
            result: Ok(HistoryResponse {
                calls: vec![entry(1), entry(2)],
                has_more: Some(true),
                total: Some(25),
            }),
        },
    );
    assert!(m.history.has_more && m.history.loaded && !m.history.loading);
    assert_eq!(m.history.entries.len(), 2);
    let u = key(&mut m, KeyInput::PageDown);
    assert_eq!(
        u.commands,
        vec![Command::LoadHistory {
            offset: 20,
            limit: 20,
            call_type: None,
            state: None
        }]
    );
    // A late answer for page one is ignored.
    assert!(
        !update(
            &mut m,
            Msg::History {
                offset: 0,
                result: Ok(HistoryResponse {
                    calls: vec![],
                    has_more: Some(false),
                    total: None
                }),
            },
        )
        .redraw
    );
    let u = ch(&mut m, 't');
    assert_eq!(
        u.commands,
        vec![Command::LoadHistory {
            offset: 0,
            limit: 20,
            call_type: Some(CallType::Video),
            state: None
        }]
    );
    let u = ch(&mut m, 'f');
    assert_eq!(
        u.commands,
        vec![Command::LoadHistory {
            offset: 0,
            limit: 20,
            call_type: Some(CallType::Video),
            state: Some(CallState::ALL[0])
        }]
    );
}

#[test]
fn end_all_asks_for_confirmation() {
    let mut m = model();
    key(&mut m, KeyInput::Tab);
    let u = key(&mut m, KeyInput::Tab);
    assert_eq!(m.view, View::Active);
    assert_eq!(u.commands, vec![Command::LoadActive]);
    update(
        &mut m,
        Msg::ActiveLoaded(Ok(vec![active(cid(3), CallState::Calling, ME, ANA)])),
    );
    assert!(m.in_call(ANA));
    assert!(ch(&mut m, 'x').commands.is_empty());
    assert_eq!(m.overlay, Overlay::ConfirmEndAll);
    key(&mut m, KeyInput::Esc);
    assert_eq!(m.overlay, Overlay::None);
    ch(&mut m, 'x');
    assert_eq!(ch(&mut m, 'y').commands, vec![Command::EndAll]);
    assert_eq!(
        update(&mut m, Msg::EndedAll(Ok(1))).commands,
        vec![Command::LoadActive]
    );
    assert_eq!(m.current_notice().unwrap().text, "Ended 1 active calls");
}

#[test]
fn init_loads_users() {
    let m = Model::new(ME, ts(0));
    assert_eq!(init(&m)[0], Command::LoadUsers);
}

#[test]
fn resynced_finds_my_outgoing_call_answered_and_opens_the_meeting() {
    let mut m = placed();
    let u = update(
        &mut m,
        Msg::Stream(StreamItem::Resynced(vec![active(
            cid(1),
            CallState::Accepted,
            ME,
            ANA,
        )])),
    );
    assert_eq!(u.commands, vec![Command::OpenUrl(JOIN.to_owned())]);
    assert!(in_call(&m).outgoing);
}

#[test]
fn resynced_while_my_accept_is_in_flight_waits_for_the_response() {
    let mut m = ringing();
    ch(&mut m, 'y');
    let u = update(
        &mut m,
        Msg::Stream(StreamItem::Resynced(vec![active(
            cid(2),
            CallState::Accepted,
            ANA,
            ME,
        )])),
    );
    assert!(u.commands.is_empty());
    assert_eq!(incoming(&m).answered, Some(RespondAction::Accept));
}

#[test]
fn hidden_log_lines_do_not_redraw_but_visible_ones_do() {
    let mut m = model();
    let unknown = || {
        Msg::Stream(StreamItem::Event(QueueEvent {
            id: EventId(9),
            kind: EventKind::Unknown {
                event_type: "presence".to_owned(),
                fields: Default::default(),
            },
        }))
    };
    assert!(!update(&mut m, unknown()).redraw);
    ch(&mut m, 'l');
    assert!(update(&mut m, unknown()).redraw);
    assert!(
        m.log
            .lines
            .back()
            .unwrap()
            .ends_with("ignored event of type presence")
    );
}

#[test]
fn without_a_browser_the_join_url_is_an_information_notice() {
    let mut model = Model::new(
        zulip_calls_protocol::UserId(10),
        zulip_calls_protocol::Timestamp::from_unix_seconds(1_704_110_400).unwrap(),
    );
    let result = update(&mut model, Msg::JoinAt("https://meet.jit.si/room".into()));
    assert!(result.commands.is_empty());
    assert!(result.redraw);
    let notice = model.current_notice().unwrap();
    assert_eq!(notice.level, crate::app::Level::Info);
    assert_eq!(notice.text, "Join the meeting at https://meet.jit.si/room");
}

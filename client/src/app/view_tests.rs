//! Transitions of the views themselves: the Active list following events, the teammate
//! filter, History's call-back and missed-call count, and calls placed at the same time.

use pretty_assertions::assert_eq;
use zulip_calls_protocol::calls::{HistoryResponse, OkStatus, RespondResponse};
use zulip_calls_protocol::event::EventCall;
use zulip_calls_protocol::{
    CallEvent, CallEventDetail, CallId, CallState, CallType, EndReason, EventId, EventKind,
    HistoryEntry, QueueEvent, RespondAction, Timestamp, UserId,
};

use super::*;
use crate::backend::events::StreamItem;

const ME: UserId = UserId(1);
const ANA: UserId = UserId(2);
const BOB: UserId = UserId(3);
const ROOM: &str = "https://meet.example.com/zulip-call-1";

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_700_000_000 + secs).unwrap()
}

fn cid(n: u8) -> CallId {
    format!("00000000-0000-4000-8000-0000000000{n:02}")
        .parse()
        .unwrap()
}

fn mate(id: UserId, name: &str) -> Teammate {
    Teammate {
        user_id: id,
        name: name.to_owned(),
        email: format!("{}@example.com", name.to_lowercase()),
        is_bot: false,
    }
}

fn model() -> Model {
    let mut m = Model::new(ME, ts(0));
    update(
        &mut m,
        Msg::Users(Ok(vec![mate(ANA, "Ana"), mate(BOB, "Bob")])),
    );
    m
}

fn key(m: &mut Model, k: KeyInput) -> Update {
    update(m, Msg::Key(k))
}

fn ch(m: &mut Model, c: char) -> Update {
    key(m, KeyInput::Char(c))
}

/// An event about Ana's call `n` to me.
fn from_ana(n: u8, state: CallState, detail: CallEventDetail) -> Msg {
    Msg::Stream(StreamItem::Event(QueueEvent {
        id: EventId(7),
        kind: EventKind::Call(std::sync::Arc::new(CallEvent {
            call: EventCall {
                call_id: cid(n),
                call_type: CallType::Video,
                state,
                sender_id: ANA,
                sender_name: "Ana".to_owned(),
                receiver_id: ME,
                receiver_name: "Me".to_owned(),
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

// ---------------------------------------------------------------------------------------------
// The Active view follows events

#[test]
fn the_active_view_shows_a_call_ringing_while_it_is_open_and_drops_it_when_it_ends() {
    let mut m = model();
    key(&mut m, KeyInput::Tab);
    key(&mut m, KeyInput::Tab);
    assert_eq!(m.view, View::Active);
    update(&mut m, Msg::ActiveLoaded(Ok(Vec::new())));
    assert!(m.active.calls.is_empty());

    let u = update(
        &mut m,
        from_ana(
            2,
            CallState::Calling,
            CallEventDetail::CallStarted {
                timeout_seconds: 30,
            },
        ),
    );
    assert!(u.redraw);
    assert_eq!(m.active.calls.len(), 1);
    let c = &m.active.calls[0];
    assert_eq!((c.call_id, c.sender_id, c.receiver_id), (cid(2), ANA, ME));
    assert!(!c.is_outgoing);

    update(
        &mut m,
        from_ana(2, CallState::Accepted, CallEventDetail::CallAccepted),
    );
    assert_eq!(m.active.calls[0].state, CallState::Accepted);

    update(
        &mut m,
        from_ana(
            2,
            CallState::Ended,
            CallEventDetail::CallEnded {
                reason: EndReason::Hangup,
                ended_by_id: Some(ANA),
                duration: Some(3.0),
            },
        ),
    );
    assert!(m.active.calls.is_empty());
}

// ---------------------------------------------------------------------------------------------
// The teammate filter

#[test]
fn slash_starts_a_fresh_filter_and_esc_clears_a_kept_one() {
    let mut m = model();
    ch(&mut m, '/');
    ch(&mut m, 'a');
    ch(&mut m, 'n');
    key(&mut m, KeyInput::Enter);
    assert_eq!(m.filter, "an");
    // A second `/` starts over instead of appending.
    ch(&mut m, '/');
    assert_eq!(m.filter, "");
    ch(&mut m, 'b');
    assert_eq!(m.filter, "b");
    key(&mut m, KeyInput::Enter);
    assert_eq!(
        m.visible_teammates()
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["Bob"]
    );
    assert!(m.key_hints().iter().any(|h| h.label == "clear filter"));
    // Esc, after Enter kept the filter, clears it.
    key(&mut m, KeyInput::Esc);
    assert_eq!(m.filter, "");
    assert_eq!(m.visible_teammates().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Missed calls and calling back

fn row(n: u8, who: (UserId, &str), at: i64, state: CallState, outgoing: bool) -> HistoryEntry {
    HistoryEntry {
        call_id: cid(n),
        user_id: who.0,
        user_name: who.1.to_owned(),
        call_type: CallType::Audio,
        state,
        is_outgoing: outgoing,
        created_at: ts(at),
        answered_at: None,
        ended_at: None,
        duration: None,
    }
}

#[test]
fn start_up_asks_for_the_calls_since_the_mark_or_the_charts_first_day() {
    let mut m = Model::new(ME, ts(0));
    assert_eq!(
        init(&m),
        vec![
            Command::LoadUsers,
            Command::LoadRecent {
                since: stats::period_start(ts(0), stats::CHART_DAYS)
            }
        ]
    );
    m.recent.seen = Some(ts(-30 * 86_400));
    assert_eq!(
        init(&m)[1],
        Command::LoadRecent {
            since: ts(-30 * 86_400)
        }
    );
}

#[test]
fn calls_missed_while_closed_are_counted_and_named_in_a_notification() {
    let mut m = model();
    m.recent.seen = Some(ts(-100));
    let u = update(
        &mut m,
        Msg::Recent(Ok(vec![
            row(4, (BOB, "Bob"), -10, CallState::Timeout, false),
            row(3, (ANA, "Ana"), -20, CallState::Missed, false),
            // Mine to Ana, answered, and a missed one before the mark: none counts.
            row(2, (ANA, "Ana"), -30, CallState::Missed, true),
            row(1, (ANA, "Ana"), -200, CallState::Missed, false),
        ])),
    );
    assert_eq!(m.recent.missed().len(), 2);
    assert_eq!(
        u.commands,
        vec![Command::Notify {
            title: "2 missed calls".to_owned(),
            body: "Bob, Ana called you".to_owned()
        }]
    );
    // Looking at History clears the count and keeps the mark.
    update(&mut m, Msg::Tick(ts(5)));
    let u = key(&mut m, KeyInput::Tab);
    assert_eq!(m.view, View::History);
    assert!(u.commands.contains(&Command::SaveSeen(ts(5))));
    assert!(m.recent.missed().is_empty());
}

#[test]
fn a_call_missed_while_running_is_counted_at_once() {
    let mut m = model();
    update(&mut m, Msg::Recent(Ok(Vec::new())));
    update(
        &mut m,
        from_ana(
            2,
            CallState::Calling,
            CallEventDetail::CallStarted {
                timeout_seconds: 30,
            },
        ),
    );
    assert!(m.recent.missed().is_empty());
    update(
        &mut m,
        from_ana(
            2,
            CallState::Missed,
            CallEventDetail::CallEnded {
                reason: EndReason::Missed,
                ended_by_id: None,
                duration: None,
            },
        ),
    );
    let missed = m.recent.missed();
    assert_eq!(missed.len(), 1);
    assert_eq!((missed[0].user_id, missed[0].is_outgoing), (ANA, false));
}

#[test]
fn enter_on_a_history_row_calls_the_other_party_back() {
    let mut m = model();
    key(&mut m, KeyInput::Tab);
    update(
        &mut m,
        Msg::History {
            offset: 0,
            result: Ok(HistoryResponse {
                calls: vec![
                    row(2, (ANA, "Ana"), -10, CallState::Missed, false),
                    row(1, (BOB, "Bob"), -20, CallState::Ended, true),
                ],
                has_more: Some(false),
                total: Some(2),
            }),
        },
    );
    key(&mut m, KeyInput::Down);
    assert!(m.key_hints().iter().any(|h| h.label == "call back"));
    // Enter keeps the row's type (audio); `v` would make it video.
    let u = key(&mut m, KeyInput::Enter);
    assert_eq!(
        u.commands,
        vec![Command::Start {
            user_id: BOB,
            call_type: CallType::Audio
        }]
    );
    let CallPanel::Outgoing(o) = &m.call else {
        panic!("{:?}", m.call)
    };
    assert_eq!((o.to_id, o.to_name.as_str()), (BOB, "Bob"));
    // Busy with that call: another call-back does nothing.
    key(&mut m, KeyInput::Up);
    assert!(ch(&mut m, 'v').commands.is_empty());
}

#[test]
fn v_and_a_call_back_with_video_or_audio() {
    let mut m = model();
    key(&mut m, KeyInput::Tab);
    update(
        &mut m,
        Msg::History {
            offset: 0,
            result: Ok(HistoryResponse {
                calls: vec![row(2, (ANA, "Ana"), -10, CallState::Missed, false)],
                has_more: Some(false),
                total: Some(1),
            }),
        },
    );
    assert_eq!(
        ch(&mut m, 'v').commands,
        vec![Command::Start {
            user_id: ANA,
            call_type: CallType::Video
        }]
    );
}

// ---------------------------------------------------------------------------------------------
// Calling each other at once

#[test]
fn calling_each_other_accepts_their_call_instead_of_showing_busy() {
    let mut m = model();
    let u = ch(&mut m, 'v');
    assert_eq!(
        u.commands,
        vec![Command::Start {
            user_id: ANA,
            call_type: CallType::Video
        }]
    );
    // Ana's call to me rang while mine was on its way: ignored, I am placing one.
    update(
        &mut m,
        from_ana(
            2,
            CallState::Calling,
            CallEventDetail::CallStarted {
                timeout_seconds: 30,
            },
        ),
    );
    let u = update(
        &mut m,
        Msg::CallingEachOther {
            user_id: ANA,
            call_id: cid(2),
        },
    );
    assert_eq!(
        u.commands,
        vec![Command::Respond {
            call_id: cid(2),
            action: RespondAction::Accept
        }]
    );
    update(
        &mut m,
        Msg::Responded {
            call_id: cid(2),
            action: RespondAction::Accept,
            result: Ok(RespondResponse {
                status: OkStatus::Ok,
                call_status: CallState::Accepted,
                jitsi_url: Some(ROOM.to_owned()),
                join_url: Some(format!("{ROOM}#jwt=mine")),
            }),
        },
    );
    let CallPanel::InCall(c) = &m.call else {
        panic!("{:?}", m.call)
    };
    assert_eq!((c.call_id, c.other_id), (cid(2), ANA));
}

#[test]
fn calling_each_other_after_cancelling_mine_declines_theirs() {
    let mut m = model();
    ch(&mut m, 'v');
    key(&mut m, KeyInput::Esc);
    let u = update(
        &mut m,
        Msg::CallingEachOther {
            user_id: ANA,
            call_id: cid(2),
        },
    );
    assert_eq!(
        u.commands,
        vec![Command::Respond {
            call_id: cid(2),
            action: RespondAction::Reject
        }]
    );
    assert_eq!(m.call, CallPanel::None);
}

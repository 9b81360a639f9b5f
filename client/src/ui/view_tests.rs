//! Snapshots of views driven through `update`, so they show what the user would see after the
//! same steps: the Active view following events, History with its chart and missed calls.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use zulip_calls_protocol::calls::HistoryResponse;
use zulip_calls_protocol::event::EventCall;
use zulip_calls_protocol::{
    CallEvent, CallEventDetail, CallId, CallState, CallType, EventId, EventKind, HistoryEntry,
    QueueEvent, Timestamp, UserId,
};

use super::draw;
use crate::app::{KeyInput, Model, Msg, Teammate, update};
use crate::backend::events::{ConnectionState, StreamItem, Transport};

const ME: UserId = UserId(1);
const ANA: UserId = UserId(2);
const BOB: UserId = UserId(3);

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

/// Connected at t=100 with Ana and Bob.
fn model() -> Model {
    let mut m = Model::new(ME, ts(100));
    update(
        &mut m,
        Msg::Stream(StreamItem::State(ConnectionState::Connected {
            transport: Transport::WebSocket,
        })),
    );
    update(
        &mut m,
        Msg::Users(Ok(vec![mate(ANA, "Ana"), mate(BOB, "Bob")])),
    );
    m
}

fn render(m: &Model, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, m)).unwrap();
    terminal
}

#[test]
fn active_view_shows_a_call_that_rings_while_it_is_open() {
    let mut m = model();
    update(&mut m, Msg::Key(KeyInput::BackTab));
    update(&mut m, Msg::ActiveLoaded(Ok(Vec::new())));
    update(
        &mut m,
        Msg::Stream(StreamItem::Event(QueueEvent {
            id: EventId(3),
            kind: EventKind::Call(std::sync::Arc::new(CallEvent {
                call: EventCall {
                    call_id: cid(2),
                    call_type: CallType::Audio,
                    state: CallState::Ringing,
                    sender_id: BOB,
                    sender_name: "Bob".to_owned(),
                    receiver_id: ME,
                    receiver_name: "Me".to_owned(),
                    jitsi_url: "https://meet.example.com/zulip-call-2".to_owned(),
                    created_at: ts(95),
                    answered_at: None,
                    ended_at: None,
                },
                timestamp: ts(95),
                detail: CallEventDetail::CallStarted {
                    timeout_seconds: 30,
                },
            })),
        })),
    );
    insta::assert_snapshot!(render(&m, 90, 24).backend());
}

fn row(
    n: u8,
    who: (UserId, &str),
    days_ago: i64,
    state: CallState,
    outgoing: bool,
) -> HistoryEntry {
    let at = ts(-days_ago * 86_400);
    let answered = matches!(state, CallState::Ended);
    HistoryEntry {
        call_id: cid(n),
        user_id: who.0,
        user_name: who.1.to_owned(),
        call_type: if n.is_multiple_of(2) {
            CallType::Audio
        } else {
            CallType::Video
        },
        state,
        is_outgoing: outgoing,
        created_at: at,
        answered_at: answered.then_some(at),
        ended_at: None,
        duration: answered.then_some(60.0 * f64::from(n)),
    }
}

#[test]
fn history_with_its_chart_and_the_missed_count() {
    let mut m = model();
    m.recent.seen = Some(ts(-3 * 86_400));
    let rows = vec![
        row(1, (ANA, "Ana"), 0, CallState::Missed, false),
        row(2, (BOB, "Bob"), 0, CallState::Ended, true),
        row(3, (ANA, "Ana"), 1, CallState::Ended, false),
        row(4, (ANA, "Ana"), 1, CallState::Ended, false),
        row(5, (BOB, "Bob"), 1, CallState::Rejected, false),
        row(6, (BOB, "Bob"), 2, CallState::Timeout, false),
        row(7, (ANA, "Ana"), 5, CallState::Ended, true),
        row(8, (BOB, "Bob"), 13, CallState::Cancelled, true),
    ];
    update(&mut m, Msg::Recent(Ok(rows.clone())));
    // Before looking: two missed calls since the mark on the status bar.
    insta::assert_snapshot!(
        "missed_count_on_the_status_bar",
        render(&m, 100, 8).backend()
    );
    update(&mut m, Msg::Key(KeyInput::Tab));
    update(
        &mut m,
        Msg::History {
            offset: 0,
            result: Ok(HistoryResponse {
                total: Some(rows.len() as u64),
                calls: rows,
                has_more: Some(false),
            }),
        },
    );
    insta::assert_snapshot!(render(&m, 100, 30).backend());
}

/// More teammates for the presence snapshot: one of each mark.
fn with_presence() -> Model {
    use std::collections::BTreeMap;

    use zulip_calls_protocol::zulip::{ModernPresence, PresenceState, Presences, UserStatus};

    let mut m = model();
    let carla = UserId(4);
    let dan = UserId(5);
    let eve = UserId(6);
    let mut mates = vec![
        mate(ANA, "Ana"),
        mate(BOB, "Bob"),
        mate(carla, "Carla"),
        mate(dan, "Dan"),
        mate(eve, "Eve"),
    ];
    mates.push(Teammate {
        user_id: UserId(7),
        name: "Echo Bot".to_owned(),
        email: "echo-bot@example.com".to_owned(),
        is_bot: true,
    });
    update(&mut m, Msg::Users(Ok(mates)));
    let now = ts(100).unix_seconds();
    let at = |active: i64, idle: i64| ModernPresence {
        active_timestamp: now - active,
        idle_timestamp: now - idle,
    };
    let presences = Presences::Modern(BTreeMap::from([
        (ANA.to_string(), at(500, 500)),
        (BOB.to_string(), at(10, 10)),
        (carla.to_string(), at(400, 20)),
        (dan.to_string(), at(5, 5)),
        (eve.to_string(), at(3, 3)),
    ]));
    let status = |text: &str| UserStatus {
        status_text: Some(text.to_owned()),
        ..UserStatus::default()
    };
    update(
        &mut m,
        Msg::Stream(StreamItem::Registered {
            presence: Some(PresenceState {
                presences,
                server_timestamp: Some(now as f64),
                last_update_id: Some(1),
            }),
            statuses: Some(BTreeMap::from([
                (dan, status("In a call")),
                (eve, status("Do not disturb")),
            ])),
        }),
    );
    m
}

#[test]
fn teammates_with_presence_marks_reachable_first() {
    let m = with_presence();
    insta::assert_debug_snapshot!(render(&m, 80, 14).backend());
}

#[test]
fn do_not_disturb_on_the_status_bar() {
    let mut m = with_presence();
    update(&mut m, Msg::Key(KeyInput::Char('d')));
    insta::assert_debug_snapshot!(render(&m, 100, 14).backend());
}

//! Presence marks and order, this client's own presence reports, the status it wants shown,
//! and do-not-disturb.

use std::collections::BTreeMap;

use serde_json::json;
use zulip_calls_protocol::zulip::{
    ModernPresence, PresenceStatus, Presences, UpdatePresenceResponse, UserStatus,
};

use pretty_assertions::assert_eq;

use super::*;
use crate::app::own_status::OwnStatus;
use crate::app::presence::{Availability, ReportError};
use crate::preferences::DndAction;

/// Unix seconds of `ts(secs)`.
fn unix(secs: i64) -> i64 {
    ts(secs).unix_seconds()
}

/// A report's answer: `(user, active_timestamp, idle_timestamp)` rows, with the server's clock
/// at `server` (Unix seconds).
fn reported(
    m: &mut Model,
    rows: &[(UserId, i64, i64)],
    server: i64,
    last_update_id: i64,
) -> Update {
    let map = rows
        .iter()
        .map(|&(user, active_timestamp, idle_timestamp)| {
            (
                user.to_string(),
                ModernPresence {
                    active_timestamp,
                    idle_timestamp,
                },
            )
        })
        .collect::<BTreeMap<_, _>>();
    update(
        m,
        Msg::PresenceReported(Ok(UpdatePresenceResponse {
            presences: Some(Presences::Modern(map)),
            server_timestamp: Some(server as f64),
            presence_last_update_id: Some(last_update_id),
        })),
    )
}

fn zulip_event(event_type: &str, fields: serde_json::Value) -> Msg {
    let serde_json::Value::Object(fields) = fields else {
        panic!("not an object")
    };
    Msg::Stream(StreamItem::Event(QueueEvent {
        id: EventId(9),
        kind: EventKind::Unknown {
            event_type: event_type.to_owned(),
            fields,
        },
    }))
}

fn status_event(user: UserId, text: &str) -> Msg {
    zulip_event(
        "user_status",
        json!({"user_id": user.0, "status_text": text}),
    )
}

fn report_of(commands: &[Command]) -> Option<(PresenceStatus, bool, i64)> {
    commands.iter().find_map(|c| match c {
        Command::ReportPresence {
            status,
            new_user_input,
            last_update_id,
        } => Some((*status, *new_user_input, *last_update_id)),
        _ => None,
    })
}

fn order(m: &Model) -> Vec<(&str, Option<Availability>)> {
    m.visible_teammates()
        .into_iter()
        .map(|t| (t.name.as_str(), m.availability(t)))
        .collect()
}

fn selected_name(m: &Model) -> &str {
    &m.selected_teammate().unwrap().name
}

#[test]
fn presence_is_reported_at_once_then_every_interval_and_idle_after_five_quiet_minutes() {
    let mut m = model();
    let first = tick(&mut m, 0);
    assert_eq!(
        report_of(&first.commands),
        Some((PresenceStatus::Active, false, -1)),
        "everything is fetched the first time"
    );
    assert_eq!(report_of(&tick(&mut m, 1).commands), None, "one at a time");
    reported(&mut m, &[], unix(1), 5);
    assert_eq!(report_of(&tick(&mut m, 59).commands), None);
    assert_eq!(
        report_of(&tick(&mut m, 60).commands),
        Some((PresenceStatus::Active, false, 5)),
        "only what changed since"
    );
    for at in [120, 180, 240] {
        reported(&mut m, &[], unix(at), 5);
        assert_eq!(
            report_of(&tick(&mut m, at).commands).unwrap().0,
            PresenceStatus::Active
        );
    }
    reported(&mut m, &[], unix(240), 5);
    assert_eq!(
        report_of(&tick(&mut m, 300).commands).unwrap().0,
        PresenceStatus::Idle,
        "five minutes without a key"
    );
    reported(&mut m, &[], unix(300), 6);
    // Coming back is told at once, not at the next interval.
    let back = ch(&mut m, 'j');
    assert_eq!(
        report_of(&back.commands),
        Some((PresenceStatus::Active, true, 6))
    );
}

#[test]
fn a_server_without_presence_is_not_asked_again() {
    let mut m = model();
    tick(&mut m, 0);
    update(&mut m, Msg::PresenceReported(Err(ReportError::Unsupported)));
    assert_eq!(report_of(&tick(&mut m, 600).commands), None);
    assert_eq!(order(&m)[0], ("Ana", None), "no marks, alphabetical order");
    // Other failures are tried again at the next interval.
    let mut m = model();
    tick(&mut m, 0);
    update(
        &mut m,
        Msg::PresenceReported(Err(ReportError::Failed("502".into()))),
    );
    assert!(report_of(&tick(&mut m, 60).commands).is_some());
}

#[test]
fn teammates_sort_reachable_first_and_the_selection_stays_on_its_person() {
    let mut m = model();
    key(&mut m, KeyInput::Down);
    assert_eq!(selected_name(&m), "Bob");
    tick(&mut m, 0);
    // Bob is active; Ana's client is connected but she has been away from it.
    reported(
        &mut m,
        &[(BOB, unix(0), unix(0)), (ANA, unix(-1000), unix(0))],
        unix(0),
        3,
    );
    assert_eq!(
        order(&m),
        [
            ("Bob", Some(Availability::Active)),
            ("Ana", Some(Availability::Idle)),
            ("Welcome Bot", Some(Availability::Bot)),
        ]
    );
    assert_eq!(selected_name(&m), "Bob", "the selection moved with Bob");
    // Bob's status says he is in a call.
    update(&mut m, status_event(BOB, "In a call"));
    assert_eq!(order(&m)[2], ("Bob", Some(Availability::InCall)));
    assert_eq!(selected_name(&m), "Bob");
    // Time passes: Ana's last report ages out, and the list changes without any message.
    let aged = tick(&mut m, 200);
    assert!(aged.redraw);
    assert_eq!(
        order(&m),
        [
            ("Welcome Bot", Some(Availability::Bot)),
            ("Bob", Some(Availability::InCall)),
            ("Ana", Some(Availability::Offline)),
        ]
    );
    // Ana comes back online: a `presence` event, before any report of ours.
    let event = json!({
        "user_id": ANA.0, "email": "ana@example.com", "server_timestamp": unix(200) as f64,
        "presence": {"website": {"client": "website", "status": "active",
                                 "timestamp": unix(200), "pushable": false}}
    });
    update(&mut m, zulip_event("presence", event));
    assert_eq!(order(&m)[0], ("Ana", Some(Availability::Active)));
    // Bob's status is cleared: back to what his presence says (offline by now).
    update(&mut m, status_event(BOB, ""));
    assert_eq!(order(&m)[2], ("Bob", Some(Availability::Offline)));
    assert_eq!(selected_name(&m), "Bob");
}

#[test]
fn presence_is_judged_by_the_servers_clock() {
    let mut m = model();
    tick(&mut m, 0);
    // The server's clock is 1000 s behind ours: Bob's report 10 s ago (its time) is fresh.
    reported(&mut m, &[(BOB, unix(-1010), unix(-1010))], unix(-1000), 1);
    assert_eq!(order(&m)[0], ("Bob", Some(Availability::Active)));
}

#[test]
fn the_initial_state_of_a_queue_sets_presence_and_statuses() {
    use zulip_calls_protocol::zulip::PresenceState;
    let mut m = model();
    let presences = Presences::Modern(BTreeMap::from([(
        ANA.to_string(),
        ModernPresence {
            active_timestamp: unix(0),
            idle_timestamp: unix(0),
        },
    )]));
    let statuses = BTreeMap::from([(
        BOB,
        UserStatus {
            status_text: Some("Do not disturb".into()),
            ..UserStatus::default()
        },
    )]);
    update(
        &mut m,
        Msg::Stream(StreamItem::Registered {
            presence: Some(PresenceState {
                presences,
                server_timestamp: Some(unix(0) as f64),
                last_update_id: Some(4),
            }),
            statuses: Some(statuses),
        }),
    );
    assert_eq!(
        order(&m),
        [
            ("Ana", Some(Availability::Active)),
            ("Welcome Bot", Some(Availability::Bot)),
            ("Bob", Some(Availability::DoNotDisturb)),
        ]
    );
    assert_eq!(report_of(&tick(&mut m, 0).commands).unwrap().2, 4);
}

#[test]
fn the_status_wanted_follows_the_call_and_dnd_unless_sharing_is_off() {
    let mut m = model();
    assert_eq!(m.wanted_status(), None);
    ch(&mut m, 'd');
    assert_eq!(m.wanted_status(), Some(OwnStatus::DoNotDisturb));
    let mut m = talking();
    assert_eq!(m.wanted_status(), Some(OwnStatus::InCall));
    ch(&mut m, 'd');
    assert_eq!(
        m.wanted_status(),
        Some(OwnStatus::InCall),
        "the call comes first"
    );
    m.settings.share_status = false;
    assert_eq!(m.wanted_status(), None);
}

/// A model with DND on, its action `action`.
fn quiet(action: DndAction) -> Model {
    let settings = crate::app::dnd::Settings {
        share_status: true,
        dnd_action: action,
    };
    let mut m = model();
    m.settings = settings;
    let toggled = ch(&mut m, 'd');
    assert!(m.dnd.on && toggled.redraw);
    m
}

fn call_started() -> Msg {
    in_event(
        CallState::Calling,
        CallEventDetail::CallStarted {
            timeout_seconds: 30,
        },
    )
}

fn rings_or_shows(commands: &[Command]) -> bool {
    commands
        .iter()
        .any(|c| matches!(c, Command::StartRinging | Command::Notify { .. }))
}

#[test]
fn with_dnd_a_call_neither_rings_nor_pops_up_and_ends_as_missed() {
    let mut m = quiet(DndAction::Ignore);
    let u = update(&mut m, call_started());
    assert_eq!(u.commands, [Command::Acknowledge(cid(2))]);
    assert_eq!(m.call, CallPanel::None);
    let u = update(
        &mut m,
        in_event(CallState::Missed, ended(EndReason::Missed, None, None)),
    );
    assert!(!rings_or_shows(&u.commands), "{:?}", u.commands);
    assert_eq!(m.call, CallPanel::None, "no summary either");
    assert_eq!(m.recent.missed().len(), 1);
    // Off again: the next call rings.
    ch(&mut m, 'd');
    let u = update(
        &mut m,
        event(
            cid(3),
            (BOB, "Bob"),
            (ME, "Me"),
            CallState::Calling,
            CallEventDetail::CallStarted {
                timeout_seconds: 30,
            },
        ),
    );
    assert!(rings_or_shows(&u.commands));
    assert!(matches!(m.call, CallPanel::Incoming(_)));
}

#[test]
fn dnd_that_declines_declines_at_once_and_still_counts_the_call_as_missed() {
    let mut m = quiet(DndAction::Decline);
    let u = update(&mut m, call_started());
    assert_eq!(
        u.commands,
        [Command::Respond {
            call_id: cid(2),
            action: RespondAction::Reject
        }]
    );
    assert_eq!(m.call, CallPanel::None);
    update(
        &mut m,
        in_event(CallState::Rejected, CallEventDetail::CallRejected),
    );
    assert_eq!(m.recent.missed().len(), 1);
    assert_eq!(m.call, CallPanel::None);
}

#[test]
fn turning_dnd_off_brings_back_a_call_that_still_rings_and_on_quiets_one() {
    let mut m = quiet(DndAction::Ignore);
    update(&mut m, call_started());
    let u = ch(&mut m, 'd');
    assert_eq!(u.commands, [Command::StartRinging]);
    assert_eq!(incoming(&m).call_id, cid(2));
    // On again while it rings: quiet at once.
    let u = ch(&mut m, 'd');
    assert_eq!(
        u.commands,
        [Command::StopRinging, Command::Acknowledge(cid(2))]
    );
    assert_eq!(m.call, CallPanel::None);
    // It ends unseen; turning DND off brings nothing back.
    update(
        &mut m,
        in_event(CallState::Missed, ended(EndReason::Missed, None, None)),
    );
    let u = ch(&mut m, 'd');
    assert!(u.commands.is_empty());
    assert_eq!(m.call, CallPanel::None);
}

#[test]
fn dnd_quiets_a_call_found_ringing_after_a_reconnection() {
    let mut m = quiet(DndAction::Ignore);
    let ringing = active(cid(2), CallState::Ringing, ANA, ME);
    let u = update(&mut m, Msg::Stream(StreamItem::Resynced(vec![ringing])));
    assert!(!rings_or_shows(&u.commands));
    assert_eq!(m.call, CallPanel::None);
    assert_eq!(m.dnd.silenced.len(), 1);
    let u = update(&mut m, Msg::Stream(StreamItem::Resynced(Vec::new())));
    assert!(u.commands.is_empty());
    assert!(
        m.dnd.silenced.is_empty(),
        "it ended while the stream was away"
    );
}

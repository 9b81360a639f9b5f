//! Group calls in a whole server's core (no routes serve them yet): a restart over the same
//! database keeps a group call and schedules its deadlines again, and the control API's
//! reset deletes group calls with their deadlines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Options, spawn_with, t0};
use zulip_calls_mock::core::GroupDesk;
use zulip_calls_mock::core::group::{GroupDeadline, NewGroupCall};
use zulip_calls_mock::core::model::UserRecord;
use zulip_calls_mock::core::virtual_time;
use zulip_calls_protocol::CallType;
use zulip_calls_protocol::plugin::group::ParticipantState;
use zulip_calls_protocol::settings::Settings;

fn settings() -> Settings {
    // No heartbeat watch, so the invitations' rings are the first deadlines.
    Settings {
        call_heartbeat_timeout: 0,
        ..Settings::default()
    }
}

fn user(core: &zulip_calls_mock::core::Core, email: &str) -> UserRecord {
    core.directory().user_by_email(email).unwrap().clone()
}

#[tokio::test]
async fn a_restarted_server_keeps_a_group_call_and_its_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("group.sqlite3");
    let app = spawn_with(Options {
        settings: settings(),
        manual_clock: Some(t0()),
        db: Some(db.clone()),
        virtual_clock: true,
        ..Options::default()
    })
    .await;
    let core = &app.server.state.core;
    let (hamlet, othello, iago) = (
        user(core, "hamlet@zulip.com"),
        user(core, "othello@zulip.com"),
        user(core, "iago@zulip.com"),
    );
    let desk = GroupDesk::new(core);
    let call = desk
        .create(
            &hamlet,
            NewGroupCall {
                call_type: CallType::Video,
                title: Some("Rehearsal".into()),
                stream_id: None,
                topic: None,
                user_ids: vec![othello.id, iago.id],
            },
        )
        .unwrap()
        .call
        .call_id;
    desk.join(call, &othello).unwrap();
    core.commit_pending().unwrap();
    assert!(app.server.shutdown().await);

    let app = spawn_with(Options {
        settings: settings(),
        manual_clock: Some(t0().plus_seconds(10)),
        db: Some(db),
        virtual_clock: true,
        ..Options::default()
    })
    .await;
    let core = &app.server.state.core;
    let ring = i64::try_from(Settings::default().call_notification_timeout).unwrap();
    assert_eq!(
        core.deadlines.group_deadline(call),
        Some((t0().plus_seconds(ring), GroupDeadline::Miss(iago.id)))
    );
    let fired = virtual_time::advance_by(core, (ring - 10) * 1000).unwrap();
    let fired: Vec<_> = fired.iter().map(|f| (f.action, f.user_id)).collect();
    assert_eq!(fired, [("group_participant_missed", Some(iago.id))]);
    let record = GroupDesk::new(core).status(call, &othello).unwrap();
    let states: Vec<_> = record
        .participants
        .iter()
        .map(|p| (p.user_id(), p.state()))
        .collect();
    assert_eq!(
        states,
        [
            (hamlet.id, ParticipantState::Joined),
            (othello.id, ParticipantState::Joined),
            (iago.id, ParticipantState::Missed),
        ]
    );

    // The reset deletes group calls too, and forgets their deadlines.
    zulip_calls_mock::qa::control::reset::reset_all(&app.server.state).unwrap();
    assert_eq!(core.deadlines.group_deadline(call), None);
    assert!(core.store().group_call(call).unwrap().is_none());
    assert!(
        core.store()
            .active_group_calls_of(hamlet.id)
            .unwrap()
            .is_empty()
    );
}

//! Server deadlines on a manual clock: ring timeout, missed, max duration, queue expiry, and
//! deadlines that come due while the server was down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Options, TestApp, spawn_with, t0};
use zulip_calls_protocol::settings::Settings;

async fn manual() -> TestApp {
    spawn_with(Options {
        manual_clock: Some(t0()),
        ..Options::default()
    })
    .await
}

async fn call_state(app: &TestApp, who: &common::Account, call_id: &str) -> String {
    let (status, body) = app.get(who, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(status, 200, "{body}");
    body["call"]["state"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn unacknowledged_calls_time_out_at_the_ring_timeout() {
    let app = manual().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&hamlet).await;
    let mut last = -1;
    let call_id = app.call(&hamlet, &othello).await;
    assert_eq!(
        app.next_call_event(&hamlet, &queue, &mut last).await["event_type"],
        "call_started"
    );

    app.advance(29);
    app.fire_deadlines();
    assert_eq!(
        call_state(&app, &hamlet, &call_id).await,
        "calling",
        "not before 30 s"
    );

    app.advance(1);
    let ended = app.next_call_event(&hamlet, &queue, &mut last).await;
    assert_eq!(ended["reason"], "timeout");
    assert_eq!(ended["state"], "timeout");
    assert_eq!(ended["ended_at"], "2024-01-01T12:00:30Z");
    assert!(ended["ended_by_id"].is_null());
    assert!(ended["duration"].is_null());
}

#[tokio::test]
async fn ringing_calls_are_missed_at_the_notification_timeout() {
    let app = manual().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&othello).await;
    let mut last = -1;
    let call_id = app.call(&hamlet, &othello).await;
    let (status, _) = app
        .post(&othello, "calls/acknowledge", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200);
    app.advance(119);
    app.fire_deadlines();
    assert_eq!(
        call_state(&app, &hamlet, &call_id).await,
        "ringing",
        "ring timeout does not apply once ringing"
    );
    app.advance(1);
    let mut ended = app.next_call_event(&othello, &queue, &mut last).await;
    while ended["event_type"] != "call_ended" {
        ended = app.next_call_event(&othello, &queue, &mut last).await;
    }
    assert_eq!(
        (ended["reason"].as_str(), ended["state"].as_str()),
        (Some("missed"), Some("missed"))
    );
    let (_, history) = app
        .get(&othello, "calls/history", &[("state", "missed")])
        .await;
    assert_eq!(history["total"], 1);
}

#[tokio::test]
async fn accepted_calls_end_at_the_max_duration() {
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        settings: Settings {
            call_max_duration: 300,
            ..Settings::default()
        },
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let call_id = app.call(&hamlet, &othello).await;
    app.advance(5);
    let (status, _) = app
        .post(
            &othello,
            "calls/respond",
            &[("call_id", &call_id), ("response", "accept")],
        )
        .await;
    assert_eq!(status, 200);
    let queue = app.register(&hamlet).await;
    let mut last = -1;
    // (Below EVENT_QUEUE_LIFESPAN, so the idle queue is still there.)
    app.advance(299);
    app.fire_deadlines();
    assert_eq!(call_state(&app, &hamlet, &call_id).await, "accepted");
    app.advance(1);
    let ended = app.next_call_event(&hamlet, &queue, &mut last).await;
    assert_eq!(
        (ended["reason"].as_str(), ended["duration"].as_f64()),
        (Some("max_duration"), Some(300.0))
    );
    assert_eq!(call_state(&app, &othello, &call_id).await, "ended");
}

#[tokio::test]
async fn deadlines_that_passed_while_the_server_was_down_fire_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("restart.sqlite3");
    let (hamlet, call_id) = {
        let app = spawn_with(Options {
            manual_clock: Some(t0()),
            db: Some(db.clone()),
            ..Options::default()
        })
        .await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        (hamlet.clone(), app.call(&hamlet, &othello).await)
    };
    let app = spawn_with(Options {
        manual_clock: Some(t0().plus_seconds(45)),
        db: Some(db),
        ..Options::default()
    })
    .await;
    app.fire_deadlines();
    let (status, body) = app.get(&hamlet, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["call"]["state"], "timeout");
    assert_eq!(body["call"]["end_reason"], "timeout");
    // The end time is the moment the server noticed, never before the deadline.
    assert_eq!(body["call"]["ended_at"], "2024-01-01T12:00:45Z");
}

#[tokio::test]
async fn idle_event_queues_expire_after_their_lifespan() {
    let app = manual().await;
    let hamlet = app.account("hamlet@zulip.com");
    let queue = app.register(&hamlet).await;
    app.advance(599);
    app.fire_deadlines();
    let (status, _) = app
        .get(
            &hamlet,
            "events",
            &[("queue_id", &queue), ("dont_block", "true")],
        )
        .await;
    assert_eq!(status, 200, "a poll keeps the queue alive");
    app.advance(600);
    app.fire_deadlines();
    let (status, body) = app
        .get(
            &hamlet,
            "events",
            &[("queue_id", &queue), ("dont_block", "true")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("BAD_EVENT_QUEUE_ID"))
    );
    assert_eq!(body["queue_id"], queue.as_str());
}

#[tokio::test]
async fn old_finished_calls_are_pruned() {
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        prune_calls_after_days: Some(1),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let call_id = app.call(&hamlet, &othello).await;
    let (status, _) = app
        .post(&hamlet, "calls/end", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200);
    app.advance(86_399);
    zulip_calls_mock::core::deadlines::prune(&app.server.state.core, app.clock.now(), 1);
    assert_eq!(call_state(&app, &hamlet, &call_id).await, "cancelled");
    app.advance(2);
    zulip_calls_mock::core::deadlines::prune(&app.server.state.core, app.clock.now(), 1);
    let (status, body) = app.get(&hamlet, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("CALL_NOT_FOUND"))
    );
}

#[tokio::test]
async fn an_idle_long_poll_answers_with_a_heartbeat() {
    let app = manual().await;
    let hamlet = app.account("hamlet@zulip.com");
    let queue = app.register(&hamlet).await;
    let (status, body) = app
        .get(
            &hamlet,
            "events",
            &[("queue_id", &queue), ("last_event_id", "-1")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["events"][0]["type"], "heartbeat");
    assert_eq!(body["events"][0]["id"], 0);
}

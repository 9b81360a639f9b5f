//! `POST /mock/v1/wait-for` over HTTP: each kind of condition (group calls' included) when it
//! already holds, when it comes true while the wait is open, and when it never does (408 with
//! what was last seen); refusals of bad conditions; and a wait ended by the server shutting
//! down.
//!
//! "While the wait is open" is made certain without sleeping: the test triggers the change
//! only once the server has one more subscriber to its change signal. The server runs on the
//! test's single-threaded runtime and a wait subscribes and takes its first look without
//! yielding in between, so by then the first look has found nothing and the wait is waiting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Account, TestApp, spawn, spawn_virtual};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// Posts a wait; returns the status and body.
async fn wait_for(app: &TestApp, condition: Value, timeout: f64) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/mock/v1/wait-for", app.server.url()))
        .json(&json!({"condition": condition, "timeout_seconds": timeout}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Runs `trigger` once a wait posted after this call is open, and returns the wait's answer.
async fn wait_while<F: std::future::Future<Output = ()>>(
    app: &TestApp,
    condition: Value,
    trigger: F,
) -> (u16, Value) {
    let waiters = app.server.state.core.changes.receiver_count();
    let waiting = wait_for(app, condition, 10.0);
    let triggered = async {
        // Not a sleep: yields until the server's wait subscribes, then acts.
        while app.server.state.core.changes.receiver_count() <= waiters {
            tokio::task::yield_now().await;
        }
        trigger.await;
    };
    tokio::join!(waiting, triggered).0
}

fn hamlet(app: &TestApp) -> Account {
    app.account("hamlet@zulip.com")
}

fn othello(app: &TestApp) -> Account {
    app.account("othello@zulip.com")
}

#[tokio::test]
async fn call_state_already_true_answers_at_once() {
    let app = spawn().await;
    let call_id = app.call(&hamlet(&app), &othello(&app)).await;
    let (status, body) = wait_for(
        &app,
        json!({"kind": "call_state", "call_id": call_id, "state": "calling"}),
        10.0,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "success");
    assert_eq!(body["matched"]["call_id"], call_id);
    assert_eq!(body["matched"]["state"], "calling");
}

#[tokio::test]
async fn call_state_answers_when_the_call_gets_there() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let call_id = app.call(&hamlet, &othello).await;
    let (status, body) = wait_while(
        &app,
        json!({"kind": "call_state", "call_id": call_id, "state": "accepted"}),
        async {
            let (status, body) = app
                .post(
                    &othello,
                    "calls/respond",
                    &[("call_id", &call_id), ("response", "accept")],
                )
                .await;
            assert_eq!(status, 200, "{body}");
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"]["state"], "accepted");
}

#[tokio::test]
async fn call_state_of_a_users_latest_call() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let (status, body) = wait_while(
        &app,
        json!({"kind": "call_state", "user": "othello@zulip.com", "state": "calling"}),
        async {
            app.call(&hamlet, &othello).await;
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"]["receiver_id"], othello.id);
}

#[tokio::test]
async fn event_already_queued_and_queued_while_waiting() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    app.register(&othello).await;
    let call_id = app.call(&hamlet, &othello).await;
    // By the event's `type` or by a call event's `event_type`.
    for event_type in ["call_event", "call_started"] {
        let (status, body) = wait_for(
            &app,
            json!({"kind": "event", "user": othello.id, "event_type": event_type, "call_id": call_id}),
            10.0,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["matched"]["user_id"], othello.id);
        assert_eq!(body["matched"]["call_id"], call_id);
        assert_eq!(body["matched"]["event"]["event_type"], "call_started");
        assert_eq!(body["matched"]["queues"], 1);
    }
    let (status, body) = wait_while(
        &app,
        json!({"kind": "event", "user": "othello@zulip.com", "event_type": "call_ended"}),
        async {
            app.post(&hamlet, "calls/end", &[("call_id", &call_id)])
                .await;
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"]["event"]["type"], "call_event");
}

#[tokio::test]
async fn event_for_a_user_without_queues_never_holds() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    app.call(&hamlet, &othello).await;
    let (status, body) = wait_for(
        &app,
        json!({"kind": "event", "user": othello.id, "event_type": "call_started"}),
        0.1,
    )
    .await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["last_seen"]["events_for_user"], 0);
}

#[tokio::test]
async fn push_recorded_while_waiting() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let (status, _) = app
        .post(&othello, "users/me/android_gcm_reg_id", &[("token", "t1")])
        .await;
    assert_eq!(status, 200);
    let (status, body) = wait_while(
        &app,
        json!({"kind": "push", "user": othello.email, "event": "call"}),
        async {
            app.call(&hamlet, &othello).await;
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"]["user_id"], othello.id);
    assert_eq!(body["matched"]["event"], "call");
    // Already there: at once.
    let (status, _) = wait_for(&app, json!({"kind": "push", "event": "call"}), 0.0).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn request_journaled_after_since_id() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let call_id = app.call(&hamlet, &othello).await;
    // Already journaled.
    let (status, body) = wait_for(
        &app,
        json!({"kind": "request", "method": "POST", "path": "/api/v1/calls/start"}),
        10.0,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let since = body["matched"]["id"].as_u64().unwrap();
    assert_eq!(body["matched"]["user_id"], hamlet.id);
    // Only requests after `since_id` count.
    let (status, body) = wait_while(
        &app,
        json!({"kind": "request", "path": "/api/v1/calls/*", "since_id": since}),
        async {
            app.post(&othello, "calls/end", &[("call_id", &call_id)])
                .await;
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"]["path"], "/api/v1/calls/end");
    assert_eq!(body["matched"]["user_id"], othello.id);
    assert!(body["matched"]["id"].as_u64().unwrap() > since);
}

#[tokio::test]
async fn timeouts_say_what_was_awaited_and_what_was_seen() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let call_id = app.call(&hamlet, &othello).await;
    let started = Instant::now();
    let (status, body) = wait_for(
        &app,
        json!({"kind": "call_state", "call_id": call_id, "state": "accepted"}),
        0.2,
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["result"], "error");
    assert_eq!(body["code"], "WAIT_TIMEOUT");
    assert_eq!(
        body["msg"],
        format!(
            "Timed out after 0.2 s waiting for call {call_id} to be accepted; call {call_id} is calling"
        )
    );
    assert_eq!(
        body["last_seen"],
        json!({"call_id": call_id, "state": "calling"})
    );

    let (status, body) = wait_for(
        &app,
        json!({"kind": "request", "path": "/api/v1/calls/create"}),
        0.05,
    )
    .await;
    assert_eq!(status, 408);
    assert_eq!(body["last_seen"]["journaled"], 1);
    assert_eq!(
        body["last_seen"]["closest"]["differences"],
        json!(["path: expected /api/v1/calls/create, got /api/v1/calls/start"])
    );

    let (status, body) = wait_for(
        &app,
        json!({"kind": "push", "user": hamlet.id, "event": "missed_call"}),
        0.05,
    )
    .await;
    assert_eq!(status, 408);
    assert!(
        body["msg"].as_str().unwrap().starts_with(
            "Timed out after 0.05 s waiting for a push 'missed_call' to hamlet@zulip.com"
        ),
        "{body}"
    );
}

#[tokio::test]
async fn bad_conditions_are_refused() {
    let app = spawn().await;
    for (condition, timeout, status) in [
        (json!({"kind": "weather"}), 1.0, 400),
        (json!({"state": "accepted"}), 1.0, 400),
        (json!({"kind": "call_state", "state": "accepted"}), 1.0, 400),
        (
            json!({"kind": "call_state", "call_id": "x", "state": "accepted"}),
            1.0,
            400,
        ),
        (
            json!({"kind": "call_state", "call_id": "7d0b2a3e-4c1f-4b8e-9a57-2f6e1c9d3b40", "state": "nowhere"}),
            1.0,
            400,
        ),
        (
            json!({"kind": "call_state", "call_id": "7d0b2a3e-4c1f-4b8e-9a57-2f6e1c9d3b40", "state": "accepted"}),
            1.0,
            404,
        ),
        (
            json!({"kind": "event", "user": "nobody@example.com", "event_type": "x"}),
            1.0,
            404,
        ),
        (json!({"kind": "push"}), 301.0, 400),
        (json!({"kind": "push"}), -1.0, 400),
    ] {
        let (got, body) = wait_for(&app, condition.clone(), timeout).await;
        assert_eq!(got, status, "{condition}: {body}");
        assert_eq!(body["result"], "error");
    }
    // The condition as JSON text in a form works like a JSON body.
    let response = app
        .http
        .post(format!("{}/mock/v1/wait-for", app.server.url()))
        .form(&[
            ("condition", r#"{"kind": "push"}"#),
            ("timeout_seconds", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 408);
}

/// `host` opens a group call inviting `invitees`; its id.
async fn group_call(app: &TestApp, host: &Account, invitees: &[&Account]) -> String {
    let ids: Vec<String> = invitees.iter().map(|a| a.id.to_string()).collect();
    let (status, body) = app
        .post(host, "calls/group/create", &[("user_ids", &ids.join(","))])
        .await;
    assert_eq!(status, 200, "{body}");
    body["call_id"].as_str().unwrap().to_owned()
}

/// `who` does `action` on group call `call`.
async fn group_act(app: &TestApp, who: &Account, call: &str, action: &str) {
    let (status, body) = app
        .post(who, &format!("calls/group/{call}/{action}"), &[])
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn group_call_state_of_a_participant_and_of_the_call() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let call = group_call(&app, &hamlet, &[&othello]).await;

    // Already true: at once, with the call and its participants.
    let (status, body) = wait_for(
        &app,
        json!({"kind": "group_call_state", "call_id": call, "participant": othello.email, "participant_state": "invited"}),
        0.0,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"]["call_id"], call.as_str());
    assert_eq!(body["matched"]["participants"][1]["user_id"], othello.id);
    assert_eq!(body["matched"]["participants"][1]["state"], "invited");

    let (status, body) = wait_while(
        &app,
        json!({"kind": "group_call_state", "call_id": call, "participant": othello.id, "participant_state": "joined"}),
        group_act(&app, &othello, &call, "join"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"]["participant_count"], 2);

    // `user` alone: their latest group call, and their own state in it.
    let (status, body) = wait_while(
        &app,
        json!({"kind": "group_call_state", "user": "othello@zulip.com", "participant_state": "left"}),
        group_act(&app, &othello, &call, "leave"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"]["call_id"], call.as_str());
    assert_eq!(body["matched"]["state"], "active");

    let (status, body) = wait_while(
        &app,
        json!({"kind": "group_call_state", "call_id": call, "state": "ended"}),
        group_act(&app, &hamlet, &call, "end"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"]["end_reason"], "host_ended");
}

#[tokio::test]
async fn group_call_state_reached_by_a_deadline_of_a_call_not_yet_made() {
    let app = spawn_virtual(zulip_calls_protocol::settings::Settings::default()).await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    // Othello has no group call yet; he will miss one when its silent host is dropped and
    // the empty call ends.
    let (status, body) = wait_while(
        &app,
        json!({"kind": "group_call_state", "user": othello.id, "participant_state": "missed", "state": "ended"}),
        async {
            group_call(&app, &hamlet, &[&othello]).await;
            app.advance_virtual(90).await;
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"]["end_reason"], "empty");
    assert_eq!(body["matched"]["ended_at"], "2024-01-01T12:01:30Z");
}

#[tokio::test]
async fn a_group_call_wait_that_times_out_says_what_it_saw() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let call = group_call(&app, &hamlet, &[&othello]).await;
    let (status, body) = wait_for(
        &app,
        json!({"kind": "group_call_state", "call_id": call, "state": "active", "participant": othello.email, "participant_state": "joined"}),
        0.05,
    )
    .await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["code"], "WAIT_TIMEOUT");
    assert_eq!(
        body["msg"],
        format!(
            "Timed out after 0.05 s waiting for group call {call} to be active and \
             othello@zulip.com to be joined in group call {call}; group call {call} is active, \
             othello@zulip.com is invited"
        )
    );
    assert_eq!(
        body["last_seen"],
        json!({"call_id": call, "state": "active", "participants": [
            {"user_id": hamlet.id, "state": "joined"},
            {"user_id": othello.id, "state": "invited"},
        ]})
    );

    let (status, body) = wait_for(
        &app,
        json!({"kind": "group_call_state", "call_id": call, "participant": "iago@zulip.com", "participant_state": "joined"}),
        0.0,
    )
    .await;
    assert_eq!(status, 408, "{body}");
    assert!(
        body["msg"]
            .as_str()
            .unwrap()
            .ends_with("iago@zulip.com has no place in it"),
        "{body}"
    );

    let (status, body) = wait_for(
        &app,
        json!({"kind": "group_call_state", "user": "iago@zulip.com", "state": "ended"}),
        0.0,
    )
    .await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["last_seen"], Value::Null);
}

#[tokio::test]
async fn bad_group_conditions_are_refused() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let one_to_one = app.call(&hamlet, &othello).await;
    let unknown = "7d0b2a3e-4c1f-4b8e-9a57-2f6e1c9d3b40";
    for (condition, status) in [
        (json!({"kind": "group_call_state", "state": "ended"}), 400),
        (
            json!({"kind": "group_call_state", "call_id": unknown, "user": othello.id, "state": "ended"}),
            400,
        ),
        (json!({"kind": "group_call_state", "call_id": unknown}), 400),
        (
            json!({"kind": "group_call_state", "call_id": unknown, "participant_state": "joined"}),
            400,
        ),
        (
            json!({"kind": "group_call_state", "call_id": unknown, "participant": othello.id}),
            400,
        ),
        (
            json!({"kind": "group_call_state", "call_id": unknown, "state": "ringing"}),
            400,
        ),
        (
            json!({"kind": "group_call_state", "call_id": unknown, "participant": othello.id, "participant_state": "accepted"}),
            400,
        ),
        (
            json!({"kind": "group_call_state", "call_id": "x", "state": "ended"}),
            400,
        ),
        (
            json!({"kind": "group_call_state", "call_id": unknown, "state": "ended"}),
            404,
        ),
        (
            json!({"kind": "group_call_state", "call_id": one_to_one, "state": "ended"}),
            404,
        ),
        (
            json!({"kind": "group_call_state", "user": "nobody@zulip.com", "state": "ended"}),
            404,
        ),
        (
            json!({"kind": "group_call_state", "call_id": unknown, "participant": "nobody@zulip.com", "participant_state": "joined"}),
            404,
        ),
    ] {
        let (got, body) = wait_for(&app, condition.clone(), 1.0).await;
        assert_eq!(got, status, "{condition}: {body}");
        assert_eq!(body["result"], "error");
        assert!(!body["msg"].as_str().unwrap().is_empty(), "{body}");
    }
}

#[tokio::test]
async fn a_shutdown_ends_open_waits() {
    let app = spawn().await;
    let url = format!("{}/mock/v1/wait-for", app.server.url());
    let state = std::sync::Arc::clone(&app.server.state);
    let waiters = state.core.changes.receiver_count();
    let http = app.http.clone();
    let started = Instant::now();
    let waiting = tokio::spawn(async move {
        let response = http
            .post(url)
            .json(&json!({"condition": {"kind": "push"}, "timeout_seconds": 60}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    });
    while state.core.changes.receiver_count() <= waiters {
        tokio::task::yield_now().await;
    }
    assert!(app.server.shutdown().await, "the wait held the shutdown up");
    let (status, body) = waiting.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "SERVER_SHUTTING_DOWN");
    assert!(started.elapsed() < Duration::from_secs(5));
}

//! Racing requests, fired concurrently many times: exactly one winner, one set of events on
//! every queue of both parties (each device of the receiver included) that agrees with the
//! stored outcome, and no call left active at the end.
//!
//! Races accept against cancel, accept against accept from two devices, end against the ring
//! timeout (on a manual clock, fired by hand) and end-all against accept; in the 1.1 dialect,
//! `{id}/respond` against `{id}/cancel`, and a heartbeat against the watch's deadline. Each
//! runs `RACE_ROUNDS` rounds (default 1000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Account, Options, TestApp, race_rounds, spawn, spawn_with, t0};
use futures_util::future::join_all;
use serde_json::Value;

const TERMINAL: [&str; 6] = [
    "rejected",
    "timeout",
    "ended",
    "missed",
    "cancelled",
    "network_failure",
];
const ACTIVE: [&str; 3] = ["calling", "ringing", "accepted"];

fn event_types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let kind = e["event_type"].as_str().unwrap();
            match e["reason"].as_str() {
                Some(reason) => format!("{kind}:{reason}"),
                None => kind.to_owned(),
            }
        })
        .collect()
}

/// One event queue of one user (a device), and the newest event id read from it.
struct Queue<'a> {
    account: &'a Account,
    id: String,
    last: i64,
}

impl<'a> Queue<'a> {
    async fn register(app: &TestApp, account: &'a Account) -> Queue<'a> {
        Queue {
            account,
            id: app.register(account).await,
            last: -1,
        }
    }
}

/// Every queue saw exactly `expected` since the last look, in order, each event about
/// `call_id`, and the last one carrying the call's final `state`.
async fn assert_events(
    app: &TestApp,
    queues: &mut [Queue<'_>],
    call_id: &str,
    state: &str,
    expected: &[&str],
) {
    let drained = join_all(queues.iter_mut().map(|q| async move {
        let events = app.drain_call_events(q.account, &q.id, &mut q.last).await;
        (q.account.email.clone(), q.id.clone(), events)
    }))
    .await;
    for (email, queue, events) in drained {
        assert_eq!(
            event_types(&events),
            expected,
            "events of {email} on queue {queue}: {events:#?}"
        );
        for event in &events {
            assert_eq!(event["call_id"], call_id, "{event}");
        }
        if let Some(last) = events.last() {
            assert_eq!(last["state"], state, "{last}");
        }
    }
}

/// The stored call is in `state`, ended for `reason` (`None`: not ended).
async fn assert_stored(
    app: &TestApp,
    who: &Account,
    call_id: &str,
    state: &str,
    reason: Option<&str>,
) {
    let (status, body) = app.get(who, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["call"]["state"], state, "{body}");
    assert_eq!(body["call"]["end_reason"].as_str(), reason, "{body}");
}

/// Nobody involved has an active call, and the server holds `rounds` calls, none of them
/// active.
async fn assert_nothing_active(app: &TestApp, accounts: &[&Account], rounds: usize) {
    for account in accounts {
        let (status, active) = app.get(account, "calls/active", &[]).await;
        assert_eq!(status, 200, "{active}");
        assert_eq!(
            active["count"], 0,
            "{} has a call stuck: {active}",
            account.email
        );
    }
    for state in ACTIVE {
        let response = app
            .http
            .get(app.control_url("calls"))
            .query(&[("state", state)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["calls"], serde_json::json!([]), "calls still {state}");
    }
    // One more than expected, so an extra call would show (up to the control API's maximum).
    let limit = (rounds + 1).min(10_000);
    let response = app
        .http
        .get(app.control_url("calls"))
        .query(&[("limit", limit.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let calls = body["calls"].as_array().unwrap();
    assert_eq!(calls.len(), rounds.min(10_000), "one call per round");
    for call in calls {
        let state = call["state"].as_str().unwrap();
        assert!(TERMINAL.contains(&state), "not terminal: {call}");
    }
}

#[tokio::test]
async fn accept_races_cancel() {
    let rounds = race_rounds();
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let mut queues = [
        Queue::register(&app, &hamlet).await,
        Queue::register(&app, &othello).await,
        Queue::register(&app, &othello).await,
    ];
    let (mut accepted_first, mut cancelled_first) = (0, 0);
    for _ in 0..rounds {
        let call_id = app.call(&hamlet, &othello).await;
        let accept_form = [("call_id", call_id.as_str()), ("response", "accept")];
        let end_form = [("call_id", call_id.as_str())];
        let accept = app.post(&othello, "calls/respond", &accept_form);
        let cancel = app.post(&hamlet, "calls/end", &end_form);
        let ((accept_status, accept_body), (cancel_status, cancel_body)) =
            tokio::join!(accept, cancel);
        assert_eq!(cancel_status, 200, "{cancel_body}");
        if accept_status == 200 {
            // Accept won; the sender's end then hung up the accepted call.
            accepted_first += 1;
            assert_eq!(accept_body["call_status"], "accepted", "{accept_body}");
            assert_eq!(cancel_body["call_status"], "ended", "{cancel_body}");
            assert_stored(&app, &hamlet, &call_id, "ended", Some("hangup")).await;
            assert_events(
                &app,
                &mut queues,
                &call_id,
                "ended",
                &["call_started", "call_accepted", "call_ended:hangup"],
            )
            .await;
        } else {
            cancelled_first += 1;
            assert_eq!(
                (accept_status, accept_body["code"].as_str()),
                (409, Some("INVALID_CALL_STATE")),
                "{accept_body}"
            );
            assert_eq!(accept_body["call_status"], "cancelled");
            assert_eq!(cancel_body["call_status"], "cancelled");
            assert_stored(&app, &othello, &call_id, "cancelled", Some("cancelled")).await;
            assert_events(
                &app,
                &mut queues,
                &call_id,
                "cancelled",
                &["call_started", "call_ended:cancelled"],
            )
            .await;
        }
    }
    assert_eq!(accepted_first + cancelled_first, rounds);
    assert_nothing_active(&app, &[&hamlet, &othello], rounds).await;
}

#[tokio::test]
async fn double_accept_from_two_devices() {
    let rounds = race_rounds();
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    // The sender, and two devices of the receiver: two queues.
    let mut queues = [
        Queue::register(&app, &hamlet).await,
        Queue::register(&app, &othello).await,
        Queue::register(&app, &othello).await,
    ];
    for _ in 0..rounds {
        let call_id = app.call(&hamlet, &othello).await;
        let form = [("call_id", call_id.as_str()), ("response", "accept")];
        let (a, b) = tokio::join!(
            app.post(&othello, "calls/respond", &form),
            app.post(&othello, "calls/respond", &form)
        );
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
        let (winner, loser) = if a.0 == 409 {
            (&b.1, &a.1)
        } else {
            (&a.1, &b.1)
        };
        assert_eq!(winner["call_status"], "accepted", "{winner}");
        assert_eq!(loser["code"], "INVALID_CALL_STATE", "{loser}");
        assert_eq!(loser["call_status"], "accepted", "{loser}");
        assert_stored(&app, &othello, &call_id, "accepted", None).await;
        assert_events(
            &app,
            &mut queues,
            &call_id,
            "accepted",
            &["call_started", "call_accepted"],
        )
        .await;
        let (status, body) = app
            .post(&hamlet, "calls/end", &[("call_id", &call_id)])
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["call_status"], "ended", "{body}");
        assert_stored(&app, &hamlet, &call_id, "ended", Some("hangup")).await;
        assert_events(&app, &mut queues, &call_id, "ended", &["call_ended:hangup"]).await;
    }
    assert_nothing_active(&app, &[&hamlet, &othello], rounds).await;
}

#[tokio::test]
async fn end_races_the_ring_timeout() {
    let rounds = race_rounds();
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let mut queues = [
        Queue::register(&app, &hamlet).await,
        Queue::register(&app, &othello).await,
        Queue::register(&app, &othello).await,
    ];
    let (mut by_timeout, mut by_end) = (0, 0);
    for _ in 0..rounds {
        let call_id = app.call(&hamlet, &othello).await;
        // The ring timeout is due now; the scheduler is not told, so it fires only when run
        // here, concurrently with the end.
        app.clock.advance_millis(30_000);
        let state = std::sync::Arc::clone(&app.server.state);
        let timer = tokio::task::spawn_blocking(move || {
            zulip_calls_mock::core::deadlines::fire_due(&state.core);
        });
        let end_form = [("call_id", call_id.as_str())];
        let (ended, fired) = tokio::join!(app.post(&hamlet, "calls/end", &end_form), timer);
        fired.unwrap();
        assert_eq!(ended.0, 200, "{}", ended.1);
        match ended.1["call_status"].as_str().unwrap() {
            "timeout" => {
                by_timeout += 1;
                assert_stored(&app, &hamlet, &call_id, "timeout", Some("timeout")).await;
                assert_events(
                    &app,
                    &mut queues,
                    &call_id,
                    "timeout",
                    &["call_started", "call_ended:timeout"],
                )
                .await;
            }
            "cancelled" => {
                by_end += 1;
                assert_stored(&app, &hamlet, &call_id, "cancelled", Some("cancelled")).await;
                assert_events(
                    &app,
                    &mut queues,
                    &call_id,
                    "cancelled",
                    &["call_started", "call_ended:cancelled"],
                )
                .await;
            }
            other => panic!("unexpected final state {other}: {}", ended.1),
        }
    }
    assert_eq!(by_timeout + by_end, rounds);
    assert_nothing_active(&app, &[&hamlet, &othello], rounds).await;
}

#[tokio::test]
async fn end_all_races_accept() {
    let rounds = race_rounds();
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let mut queues = [
        Queue::register(&app, &hamlet).await,
        Queue::register(&app, &othello).await,
        Queue::register(&app, &othello).await,
    ];
    let (mut accepted_first, mut ended_first) = (0, 0);
    for _ in 0..rounds {
        let call_id = app.call(&hamlet, &othello).await;
        let accept_form = [("call_id", call_id.as_str()), ("response", "accept")];
        let (accept, end_all) = tokio::join!(
            app.post(&othello, "calls/respond", &accept_form),
            app.post(&hamlet, "calls/end-all", &[])
        );
        assert_eq!(end_all.0, 200, "{}", end_all.1);
        assert_eq!(
            end_all.1["calls_ended"], 1,
            "end-all ended the call, answered or not: {}",
            end_all.1
        );
        if accept.0 == 200 {
            accepted_first += 1;
            assert_eq!(accept.1["call_status"], "accepted", "{}", accept.1);
            assert_stored(&app, &hamlet, &call_id, "ended", Some("hangup")).await;
            assert_events(
                &app,
                &mut queues,
                &call_id,
                "ended",
                &["call_started", "call_accepted", "call_ended:hangup"],
            )
            .await;
        } else {
            ended_first += 1;
            assert_eq!(
                (accept.0, accept.1["code"].as_str()),
                (409, Some("INVALID_CALL_STATE")),
                "{}",
                accept.1
            );
            assert_eq!(accept.1["call_status"], "cancelled");
            assert_stored(&app, &othello, &call_id, "cancelled", Some("cancelled")).await;
            assert_events(
                &app,
                &mut queues,
                &call_id,
                "cancelled",
                &["call_started", "call_ended:cancelled"],
            )
            .await;
        }
    }
    assert_eq!(accepted_first + ended_first, rounds);
    assert_nothing_active(&app, &[&hamlet, &othello], rounds).await;
}

/// The 1.1 dialect's answer by id against its cancel: whichever wins, the other learns it
/// (cancel on an accepted call is 409; an answer on a cancelled call is a no-op).
#[tokio::test]
async fn respond_by_id_races_cancel() {
    let rounds = race_rounds();
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let mut queues = [
        Queue::register(&app, &hamlet).await,
        Queue::register(&app, &othello).await,
    ];
    let (mut accepted_first, mut cancelled_first) = (0, 0);
    for _ in 0..rounds {
        let (status, created) = app
            .post(
                &hamlet,
                "calls/create",
                &[("user_id", &othello.id.to_string())],
            )
            .await;
        assert_eq!(status, 200, "{created}");
        let call_id = created["call_id"].as_str().unwrap().to_owned();
        let respond_path = format!("calls/{call_id}/respond");
        let cancel_path = format!("calls/{call_id}/cancel");
        let accept = app.post(&othello, &respond_path, &[("response", "accept")]);
        let cancel = app.post(&hamlet, &cancel_path, &[]);
        let ((accept_status, accept_body), (cancel_status, cancel_body)) =
            tokio::join!(accept, cancel);
        assert_eq!(accept_status, 200, "{accept_body}");
        if accept_body["action"] == "accept" {
            accepted_first += 1;
            assert_eq!(
                (cancel_status, cancel_body["code"].as_str()),
                (409, Some("INVALID_CALL_STATE")),
                "{cancel_body}"
            );
            assert_eq!(cancel_body["call_status"], "accepted");
            let (status, _) = app
                .post(&hamlet, &format!("calls/{call_id}/end"), &[])
                .await;
            assert_eq!(status, 200);
            assert_stored(&app, &hamlet, &call_id, "ended", Some("hangup")).await;
            assert_events(
                &app,
                &mut queues,
                &call_id,
                "ended",
                &["call_started", "call_accepted", "call_ended:hangup"],
            )
            .await;
        } else {
            cancelled_first += 1;
            assert_eq!(accept_body["action"], "noop", "{accept_body}");
            assert_eq!(cancel_status, 200, "{cancel_body}");
            assert_eq!(cancel_body["message"], "Call cancelled successfully");
            assert_stored(&app, &othello, &call_id, "cancelled", Some("cancelled")).await;
            assert_events(
                &app,
                &mut queues,
                &call_id,
                "cancelled",
                &["call_started", "call_ended:cancelled"],
            )
            .await;
        }
    }
    assert_eq!(accepted_first + cancelled_first, rounds);
    assert_nothing_active(&app, &[&hamlet, &othello], rounds).await;
}

/// A heartbeat that arrives just as the watch's deadline fires: either the heartbeat is in
/// first (the call stays up, its deadline moved) or the deadline is (the call ends as
/// `network_failure` once, and the heartbeat is told so).
#[tokio::test]
async fn a_heartbeat_races_the_watch() {
    let rounds = race_rounds();
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let mut queues = [
        Queue::register(&app, &hamlet).await,
        Queue::register(&app, &othello).await,
    ];
    let (mut kept, mut dropped) = (0, 0);
    for _ in 0..rounds {
        let call_id = app.call(&hamlet, &othello).await;
        let form = [("call_id", call_id.as_str()), ("response", "accept")];
        assert_eq!(app.post(&othello, "calls/respond", &form).await.0, 200);
        let beat = [("call_id", call_id.as_str())];
        assert_eq!(app.post(&hamlet, "calls/heartbeat", &beat).await.0, 200);
        // Hamlet's silence deadline is due now; the scheduler is not told, so it fires only
        // when run here, concurrently with his next heartbeat.
        app.clock.advance_millis(60_000);
        let state = std::sync::Arc::clone(&app.server.state);
        let timer = tokio::task::spawn_blocking(move || {
            zulip_calls_mock::core::deadlines::fire_due(&state.core);
        });
        let (beaten, fired) = tokio::join!(app.post(&hamlet, "calls/heartbeat", &beat), timer);
        fired.unwrap();
        assert_eq!(beaten.0, 200, "{}", beaten.1);
        match beaten.1["call_state"].as_str().unwrap() {
            "accepted" => {
                kept += 1;
                // The deadline moved: firing again now changes nothing.
                app.fire_deadlines();
                assert_stored(&app, &hamlet, &call_id, "accepted", None).await;
                assert_eq!(app.post(&othello, "calls/end", &beat).await.0, 200);
                assert_events(
                    &app,
                    &mut queues,
                    &call_id,
                    "ended",
                    &["call_started", "call_accepted", "call_ended:hangup"],
                )
                .await;
            }
            "network_failure" => {
                dropped += 1;
                assert_stored(
                    &app,
                    &hamlet,
                    &call_id,
                    "network_failure",
                    Some("network_failure"),
                )
                .await;
                assert_events(
                    &app,
                    &mut queues,
                    &call_id,
                    "network_failure",
                    &[
                        "call_started",
                        "call_accepted",
                        "call_ended:network_failure",
                    ],
                )
                .await;
            }
            other => panic!("unexpected state {other}: {}", beaten.1),
        }
    }
    assert_eq!(kept + dropped, rounds);
    assert_nothing_active(&app, &[&hamlet, &othello], rounds).await;
}

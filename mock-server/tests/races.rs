//! Racing requests, fired concurrently many times: exactly one winner, one set of events, no
//! call left active. (Issue-sized volumes run in the benchmark's race mode; these keep CI fast.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Account, Options, TestApp, spawn, spawn_with, t0};
use serde_json::Value;

const ROUNDS: usize = 40;

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

/// Both parties' queues saw exactly `expected`, in order.
async fn assert_events(
    app: &TestApp,
    who: &[(&Account, &str)],
    lasts: &mut [i64],
    expected: &[&str],
) {
    for ((account, queue), last) in who.iter().zip(lasts.iter_mut()) {
        let events = app.drain_call_events(account, queue, last).await;
        assert_eq!(
            event_types(&events),
            expected,
            "events of {}",
            account.email
        );
    }
}

#[tokio::test]
async fn accept_races_cancel() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let hq = app.register(&hamlet).await;
    let oq = app.register(&othello).await;
    let mut lasts = [-1, -1];
    let (mut accepted_first, mut cancelled_first) = (0, 0);
    for _ in 0..ROUNDS {
        let call_id = app.call(&hamlet, &othello).await;
        let accept_form = [("call_id", call_id.as_str()), ("response", "accept")];
        let end_form = [("call_id", call_id.as_str())];
        let accept = app.post(&othello, "calls/respond", &accept_form);
        let cancel = app.post(&hamlet, "calls/end", &end_form);
        let ((accept_status, accept_body), (cancel_status, cancel_body)) =
            tokio::join!(accept, cancel);
        assert_eq!(cancel_status, 200, "{cancel_body}");
        let parties = [(&hamlet, hq.as_str()), (&othello, oq.as_str())];
        if accept_status == 200 {
            // Accept won; the sender's end then hung up the accepted call.
            accepted_first += 1;
            assert_eq!(cancel_body["call_status"], "ended");
            assert_events(
                &app,
                &parties,
                &mut lasts,
                &["call_started", "call_accepted", "call_ended:hangup"],
            )
            .await;
        } else {
            cancelled_first += 1;
            assert_eq!(
                (accept_status, accept_body["code"].as_str()),
                (409, Some("INVALID_CALL_STATE"))
            );
            assert_eq!(accept_body["call_status"], "cancelled");
            assert_eq!(cancel_body["call_status"], "cancelled");
            assert_events(
                &app,
                &parties,
                &mut lasts,
                &["call_started", "call_ended:cancelled"],
            )
            .await;
        }
    }
    assert_eq!(accepted_first + cancelled_first, ROUNDS);
    let (_, active) = app.get(&hamlet, "calls/active", &[]).await;
    assert_eq!(active["count"], 0, "no call stuck active");
}

#[tokio::test]
async fn double_accept_from_two_devices() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    // Two devices of the receiver: two queues.
    let phone = app.register(&othello).await;
    let laptop = app.register(&othello).await;
    let mut lasts = [-1, -1];
    for _ in 0..ROUNDS {
        let call_id = app.call(&hamlet, &othello).await;
        let form = [("call_id", call_id.as_str()), ("response", "accept")];
        let (a, b) = tokio::join!(
            app.post(&othello, "calls/respond", &form),
            app.post(&othello, "calls/respond", &form)
        );
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
        let loser = if a.0 == 409 { &a.1 } else { &b.1 };
        assert_eq!(loser["call_status"], "accepted");
        let devices = [(&othello, phone.as_str()), (&othello, laptop.as_str())];
        assert_events(
            &app,
            &devices,
            &mut lasts,
            &["call_started", "call_accepted"],
        )
        .await;
        let (status, _) = app
            .post(&hamlet, "calls/end", &[("call_id", &call_id)])
            .await;
        assert_eq!(status, 200);
        assert_events(&app, &devices, &mut lasts, &["call_ended:hangup"]).await;
    }
}

#[tokio::test]
async fn end_races_the_ring_timeout() {
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let hq = app.register(&hamlet).await;
    let mut last = -1;
    let (mut by_timeout, mut by_end) = (0, 0);
    for _ in 0..ROUNDS {
        let call_id = app.call(&hamlet, &othello).await;
        app.clock.advance_millis(30_000);
        let state = std::sync::Arc::clone(&app.server.state);
        let timer = tokio::task::spawn_blocking(move || {
            zulip_calls_mock::domain::deadlines::fire_due(&state);
        });
        let end_form = [("call_id", call_id.as_str())];
        let (ended, fired) = tokio::join!(app.post(&hamlet, "calls/end", &end_form), timer);
        fired.unwrap();
        assert_eq!(ended.0, 200, "{}", ended.1);
        let events = event_types(&app.drain_call_events(&hamlet, &hq, &mut last).await);
        match ended.1["call_status"].as_str().unwrap() {
            "timeout" => {
                by_timeout += 1;
                assert_eq!(events, ["call_started", "call_ended:timeout"]);
            }
            "cancelled" => {
                by_end += 1;
                assert_eq!(events, ["call_started", "call_ended:cancelled"]);
            }
            other => panic!("unexpected final state {other}"),
        }
    }
    assert_eq!(by_timeout + by_end, ROUNDS);
}

#[tokio::test]
async fn end_all_races_accept() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let hq = app.register(&hamlet).await;
    let mut last = -1;
    for _ in 0..ROUNDS {
        let call_id = app.call(&hamlet, &othello).await;
        let accept_form = [("call_id", call_id.as_str()), ("response", "accept")];
        let (accept, end_all) = tokio::join!(
            app.post(&othello, "calls/respond", &accept_form),
            app.post(&hamlet, "calls/end-all", &[])
        );
        assert_eq!(end_all.0, 200);
        assert_eq!(
            end_all.1["calls_ended"], 1,
            "end-all ended the call, answered or not"
        );
        let events = event_types(&app.drain_call_events(&hamlet, &hq, &mut last).await);
        if accept.0 == 200 {
            assert_eq!(
                events,
                ["call_started", "call_accepted", "call_ended:hangup"]
            );
        } else {
            assert_eq!(accept.1["call_status"], "cancelled");
            assert_eq!(events, ["call_started", "call_ended:cancelled"]);
        }
        let (_, active) = app.get(&othello, "calls/active", &[]).await;
        assert_eq!(active["count"], 0);
    }
}

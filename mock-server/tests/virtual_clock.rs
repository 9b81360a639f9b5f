//! The virtual clock (`serve --virtual-clock`) over HTTP: time moves only through
//! `/mock/v1/clock`, and every deadline fires on the way, in order, at its own instant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Account, Options, TestApp, spawn, spawn_with, t0};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use zulip_calls_protocol::settings::Settings;

/// How long a test waits for an answer before failing (never a synchronisation sleep).
const WAIT: Duration = Duration::from_secs(5);

/// A server on a virtual clock starting at [`t0`], with `settings`.
async fn virtual_app(settings: Settings) -> TestApp {
    spawn_with(Options {
        settings,
        manual_clock: Some(t0()),
        virtual_clock: true,
        heartbeat_seconds: 60,
        ..Options::default()
    })
    .await
}

/// Settings whose idle queues outlive every test that is not about them.
fn long_lived_queues() -> Settings {
    Settings {
        event_queue_lifespan: 86_400,
        ..Settings::default()
    }
}

async fn control(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let response = app
        .http
        .request(method, app.control_url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// `POST clock/advance` by `seconds`; the `fired` list.
async fn advance(app: &TestApp, seconds: &str) -> Vec<Value> {
    let (status, body) = control(
        app,
        reqwest::Method::POST,
        "clock/advance",
        &[("seconds", seconds)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["fired"].as_array().unwrap().clone()
}

async fn call_state(app: &TestApp, call_id: &str) -> Value {
    let (status, body) = control(app, reqwest::Method::GET, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(status, 200, "{body}");
    body["call"].clone()
}

async fn pushes(app: &TestApp) -> Vec<(String, String)> {
    let (status, body) = control(app, reqwest::Method::GET, "pushes", &[]).await;
    assert_eq!(status, 200, "{body}");
    body["pushes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["event"].as_str().unwrap().to_owned(),
                p["at"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn register_fcm(app: &TestApp, who: &Account) {
    let (status, body) = app
        .post(who, "users/me/android_gcm_reg_id", &[("token", "fcm")])
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The call events queued for `who` now: `(event_type, state, ended_at)`.
async fn call_events(app: &TestApp, who: &Account, queue: &str) -> Vec<(Value, Value, Value)> {
    app.pending_call_events(who, queue)
        .await
        .into_iter()
        .map(|e| {
            (
                e["event_type"].clone(),
                e["state"].clone(),
                e["ended_at"].clone(),
            )
        })
        .collect()
}

fn call_fired(call_id: &str, action: &str, at: &str) -> Value {
    json!({"call_id": call_id, "action": action, "at": at})
}

#[tokio::test]
async fn an_unacknowledged_call_times_out_at_the_ring_timeout() {
    let app = virtual_app(long_lived_queues()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    register_fcm(&app, &othello).await;
    let queue = app.register(&hamlet).await;
    let call_id = app.call(&hamlet, &othello).await;

    assert_eq!(advance(&app, "29").await, Vec::<Value>::new());
    assert_eq!(call_state(&app, &call_id).await["state"], "calling");
    assert_eq!(
        advance(&app, "1").await,
        [call_fired(&call_id, "ring_timeout", "2024-01-01T12:00:30Z")]
    );
    let call = call_state(&app, &call_id).await;
    assert_eq!(call["state"], "timeout");
    assert_eq!(call["end_reason"], "timeout");
    assert_eq!(
        call_events(&app, &hamlet, &queue).await,
        [
            (json!("call_started"), json!("calling"), Value::Null),
            (
                json!("call_ended"),
                json!("timeout"),
                json!("2024-01-01T12:00:30Z")
            ),
        ]
    );
    assert_eq!(
        pushes(&app).await,
        [
            ("call".to_owned(), "2024-01-01T12:00:00Z".to_owned()),
            (
                "call_cancelled".to_owned(),
                "2024-01-01T12:00:30Z".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn a_ringing_call_is_missed_at_the_notification_timeout() {
    let app = virtual_app(long_lived_queues()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    register_fcm(&app, &othello).await;
    let queue = app.register(&othello).await;
    let call_id = app.call(&hamlet, &othello).await;
    advance(&app, "10").await;
    let (status, body) = app
        .post(&othello, "calls/acknowledge", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200, "{body}");

    // The ring timeout no longer applies once ringing.
    assert_eq!(advance(&app, "109.999").await, Vec::<Value>::new());
    assert_eq!(
        advance(&app, "0.001").await,
        [call_fired(
            &call_id,
            "notification_timeout",
            "2024-01-01T12:02:00Z"
        )]
    );
    let events = call_events(&app, &othello, &queue).await;
    assert_eq!(
        events.last().unwrap(),
        &(
            json!("call_ended"),
            json!("missed"),
            json!("2024-01-01T12:02:00Z")
        )
    );
    assert_eq!(
        pushes(&app).await.last().unwrap(),
        &("missed_call".to_owned(), "2024-01-01T12:02:00Z".to_owned())
    );
}

#[tokio::test]
async fn an_accepted_call_ends_at_the_maximum_duration() {
    let app = virtual_app(Settings {
        call_max_duration: 600,
        ..long_lived_queues()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&hamlet).await;
    let call_id = app.call(&hamlet, &othello).await;
    advance(&app, "5").await;
    let (status, body) = app
        .post(
            &othello,
            "calls/respond",
            &[("call_id", &call_id), ("response", "accept")],
        )
        .await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(advance(&app, "599").await, Vec::<Value>::new());
    assert_eq!(
        advance(&app, "1").await,
        [call_fired(&call_id, "max_duration", "2024-01-01T12:10:05Z")]
    );
    let call = call_state(&app, &call_id).await;
    assert_eq!(call["state"], "ended");
    assert_eq!(call["end_reason"], "max_duration");
    assert_eq!(call["duration"], 600.0);
    let ended = app.pending_call_events(&hamlet, &queue).await;
    let ended = ended.last().unwrap();
    assert_eq!(ended["reason"], "max_duration");
    assert!(ended["ended_by_id"].is_null());
}

#[tokio::test]
async fn an_idle_queue_expires_a_lifespan_after_its_last_poll() {
    let app = virtual_app(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let queue = app.register(&hamlet).await;
    advance(&app, "300").await;
    // A poll restarts the lifespan (600 s by default).
    app.pending_call_events(&hamlet, &queue).await;

    assert_eq!(advance(&app, "599").await, Vec::<Value>::new());
    assert_eq!(
        advance(&app, "1").await,
        [json!({
            "call_id": null,
            "action": "queue_expired",
            "at": "2024-01-01T12:15:00Z",
            "queue_id": queue,
            "user_id": hamlet.id,
        })]
    );
    let (status, body) = app
        .get(
            &hamlet,
            "events",
            &[("queue_id", queue.as_str()), ("dont_block", "true")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("BAD_EVENT_QUEUE_ID"))
    );
}

/// Waits until a long-poll is waiting on `queue`, as the control API lists it.
async fn until_long_polling(app: &TestApp, queue: &str) {
    tokio::time::timeout(WAIT, async {
        loop {
            let (_, body) = control(app, reqwest::Method::GET, "queues", &[]).await;
            let waiting = body["queues"]
                .as_array()
                .unwrap()
                .iter()
                .any(|q| q["queue_id"] == queue && q["long_polling"] == true);
            if waiting {
                return;
            }
        }
    })
    .await
    .expect("the long-poll never started waiting");
}

#[tokio::test]
async fn an_idle_long_poll_answers_with_a_heartbeat_when_it_is_due() {
    let app = virtual_app(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let queue = app.register(&hamlet).await;
    let poll = {
        let http = app.http.clone();
        let url = app.url("events");
        let (hamlet, queue) = (hamlet.clone(), queue.clone());
        tokio::spawn(async move {
            http.get(url)
                .basic_auth(&hamlet.email, Some(&hamlet.key))
                .query(&[("queue_id", queue.as_str())])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    until_long_polling(&app, &queue).await;

    assert_eq!(advance(&app, "59").await, Vec::<Value>::new());
    assert!(!poll.is_finished());
    assert_eq!(
        advance(&app, "1").await,
        [json!({
            "call_id": null,
            "action": "heartbeat",
            "at": "2024-01-01T12:01:00Z",
            "queue_id": queue,
            "user_id": hamlet.id,
        })]
    );
    let answer = tokio::time::timeout(WAIT, poll).await.unwrap().unwrap();
    assert_eq!(answer["events"], json!([{"type": "heartbeat", "id": 0}]));
    // An attached queue did not expire meanwhile, and the next heartbeat is not due yet.
    assert_eq!(advance(&app, "30").await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_far_advance_fires_every_deadline_in_order_at_its_own_time() {
    let app = virtual_app(Settings {
        call_max_duration: 60,
        event_queue_lifespan: 45,
        ..Settings::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let cordelia = app.account("cordelia@zulip.com");
    let prospero = app.account("prospero@zulip.com");
    let unanswered = app.call(&hamlet, &othello).await;
    let accepted = app.call(&cordelia, &prospero).await;
    let (status, body) = app
        .post(
            &prospero,
            "calls/respond",
            &[("call_id", &accepted), ("response", "accept")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let queue = app.register(&hamlet).await;

    let fired = advance(&app, "100").await;
    assert_eq!(
        fired,
        [
            call_fired(&unanswered, "ring_timeout", "2024-01-01T12:00:30Z"),
            json!({
                "call_id": null,
                "action": "queue_expired",
                "at": "2024-01-01T12:00:45Z",
                "queue_id": queue,
                "user_id": hamlet.id,
            }),
            call_fired(&accepted, "max_duration", "2024-01-01T12:01:00Z"),
        ]
    );
    assert_eq!(
        call_state(&app, &unanswered).await["ended_at"],
        "2024-01-01T12:00:30Z"
    );
    let ended = call_state(&app, &accepted).await;
    assert_eq!(ended["ended_at"], "2024-01-01T12:01:00Z");
    assert_eq!(ended["duration"], 60.0);
    let (_, clock) = control(&app, reqwest::Method::GET, "clock", &[]).await;
    assert_eq!(
        clock,
        json!({"result": "success", "msg": "", "now": "2024-01-01T12:01:40Z", "virtual": true})
    );
}

#[tokio::test]
async fn set_moves_to_a_time_and_refuses_to_go_back() {
    let app = virtual_app(long_lived_queues()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let call_id = app.call(&hamlet, &othello).await;

    let (status, body) = control(
        &app,
        reqwest::Method::POST,
        "clock/set",
        &[("now", "2024-01-01T13:00:00+01:00")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["now"], "2024-01-01T12:00:00Z");
    assert_eq!(body["fired"], json!([]));

    let (status, body) = control(
        &app,
        reqwest::Method::POST,
        "clock/set",
        &[("now", "2024-01-01T12:05:00Z")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["now"], "2024-01-01T12:05:00Z");
    assert_eq!(
        body["fired"],
        json!([call_fired(&call_id, "ring_timeout", "2024-01-01T12:00:30Z")])
    );

    let (status, body) = control(
        &app,
        reqwest::Method::POST,
        "clock/set",
        &[("now", "2024-01-01T12:04:59Z")],
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("BAD_REQUEST")));
    for bad in ["-1", "soon", "NaN", "inf"] {
        let (status, body) = control(
            &app,
            reqwest::Method::POST,
            "clock/advance",
            &[("seconds", bad)],
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = control(&app, reqwest::Method::POST, "clock/advance", &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("REQUEST_VARIABLE_MISSING"))
    );
    // Fractions of a second are kept.
    advance(&app, "0.25").await;
    let (_, clock) = control(&app, reqwest::Method::GET, "clock", &[]).await;
    assert_eq!(clock["now"], "2024-01-01T12:05:00.250Z");
}

#[tokio::test]
async fn a_deadline_due_now_waits_for_the_clock_to_move() {
    // Acknowledging after the notification timeout makes a deadline that is already due; a
    // virtual clock fires it only when told, even by an advance of zero.
    let app = virtual_app(Settings {
        call_notification_timeout: 30,
        call_ring_timeout: 60,
        ..long_lived_queues()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let call_id = app.call(&hamlet, &othello).await;
    assert_eq!(advance(&app, "40").await, Vec::<Value>::new());
    let (status, body) = app
        .post(&othello, "calls/acknowledge", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(call_state(&app, &call_id).await["state"], "ringing");
    assert_eq!(
        advance(&app, "0").await,
        [call_fired(
            &call_id,
            "notification_timeout",
            "2024-01-01T12:00:40Z"
        )]
    );
}

#[tokio::test]
async fn pruning_runs_on_the_virtual_clock_when_configured() {
    let app = spawn_with(Options {
        settings: Settings {
            call_cleanup_interval: 300,
            ..long_lived_queues()
        },
        manual_clock: Some(t0()),
        virtual_clock: true,
        prune_calls_after_days: Some(1),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let call_id = app.call(&hamlet, &othello).await;
    let (status, body) = app
        .post(&hamlet, "calls/end", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200, "{body}");

    // A day after the call ended it is old enough; the next prune (every 300 s) deletes it.
    let fired = advance(&app, "86700").await;
    assert_eq!(
        fired,
        [json!({"call_id": null, "action": "prune", "at": "2024-01-02T12:05:00Z", "deleted": 1})]
    );
    let (status, _) = control(&app, reqwest::Method::GET, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_system_clock_cannot_be_moved() {
    let app = spawn().await;
    let (status, body) = control(&app, reqwest::Method::GET, "clock", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["virtual"], false);
    for (path, form) in [
        ("clock/advance", [("seconds", "10")]),
        ("clock/set", [("now", "2099-01-01T00:00:00Z")]),
    ] {
        let (status, body) = control(&app, reqwest::Method::POST, path, &form).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("CLOCK_NOT_VIRTUAL")),
            "{path}: {body}"
        );
    }
}

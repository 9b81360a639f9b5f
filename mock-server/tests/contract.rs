//! The contract end to end over HTTP: every transition of spec §3 with its event, the
//! feature switches of §8, Jitsi JWTs of §7, and the push webhook.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Json;
use axum::extract::State;
use common::{Account, Options, TestApp, spawn, spawn_with, t0};
use serde_json::Value;
use tokio::sync::mpsc;
use zulip_calls_protocol::settings::Settings;

/// What a step does.
#[derive(Debug, Clone, Copy)]
enum Step {
    Ack,
    Accept,
    Reject,
    Decline,
    SenderEnd,
    ReceiverEnd,
    Status,
    AdvanceRing,
    AdvanceMissed,
    AdvanceMax,
    Cleanup,
}

struct Row {
    name: &'static str,
    steps: &'static [Step],
    /// State after the last step.
    state: &'static str,
    /// The last step's event (type and, for `call_ended`, reason) on the sender's queue.
    event: Option<(&'static str, Option<&'static str>)>,
}

const TABLE: &[Row] = &[
    Row {
        name: "calling → ringing (acknowledge)",
        steps: &[Step::Ack],
        state: "ringing",
        event: Some(("participant_ringing", None)),
    },
    Row {
        name: "calling → accepted",
        steps: &[Step::Accept],
        state: "accepted",
        event: Some(("call_accepted", None)),
    },
    Row {
        name: "ringing → accepted",
        steps: &[Step::Ack, Step::Accept],
        state: "accepted",
        event: Some(("call_accepted", None)),
    },
    Row {
        name: "calling → rejected",
        steps: &[Step::Reject],
        state: "rejected",
        event: Some(("call_rejected", None)),
    },
    Row {
        name: "ringing → rejected (decline)",
        steps: &[Step::Ack, Step::Decline],
        state: "rejected",
        event: Some(("call_rejected", None)),
    },
    Row {
        name: "calling → cancelled (sender end)",
        steps: &[Step::SenderEnd],
        state: "cancelled",
        event: Some(("call_ended", Some("cancelled"))),
    },
    Row {
        name: "ringing → cancelled (sender end)",
        steps: &[Step::Ack, Step::SenderEnd],
        state: "cancelled",
        event: Some(("call_ended", Some("cancelled"))),
    },
    Row {
        name: "calling → rejected (receiver end)",
        steps: &[Step::ReceiverEnd],
        state: "rejected",
        event: Some(("call_ended", Some("rejected"))),
    },
    Row {
        name: "ringing → rejected (receiver end)",
        steps: &[Step::Ack, Step::ReceiverEnd],
        state: "rejected",
        event: Some(("call_ended", Some("rejected"))),
    },
    Row {
        name: "accepted → ended (sender)",
        steps: &[Step::Accept, Step::SenderEnd],
        state: "ended",
        event: Some(("call_ended", Some("hangup"))),
    },
    Row {
        name: "accepted → ended (receiver)",
        steps: &[Step::Accept, Step::ReceiverEnd],
        state: "ended",
        event: Some(("call_ended", Some("hangup"))),
    },
    Row {
        name: "accepted: status update",
        steps: &[Step::Accept, Step::Status],
        state: "accepted",
        event: Some(("call_status_update", None)),
    },
    Row {
        name: "calling → timeout",
        steps: &[Step::AdvanceRing],
        state: "timeout",
        event: Some(("call_ended", Some("timeout"))),
    },
    Row {
        name: "ringing → missed",
        steps: &[Step::Ack, Step::AdvanceMissed],
        state: "missed",
        event: Some(("call_ended", Some("missed"))),
    },
    Row {
        name: "accepted → ended (max duration)",
        steps: &[Step::Accept, Step::AdvanceMax],
        state: "ended",
        event: Some(("call_ended", Some("max_duration"))),
    },
    Row {
        name: "calling → timeout (cleanup)",
        steps: &[Step::Cleanup],
        state: "timeout",
        event: Some(("call_ended", Some("cleanup"))),
    },
    Row {
        name: "ringing → timeout (cleanup)",
        steps: &[Step::Ack, Step::Cleanup],
        state: "timeout",
        event: Some(("call_ended", Some("cleanup"))),
    },
    Row {
        name: "acknowledge again: idempotent",
        steps: &[Step::Ack, Step::Ack],
        state: "ringing",
        event: None,
    },
    Row {
        name: "end a finished call: idempotent",
        steps: &[Step::Reject, Step::SenderEnd],
        state: "rejected",
        event: None,
    },
];

async fn run_step(
    app: &TestApp,
    step: Step,
    call_id: &str,
    sender: &Account,
    receiver: &Account,
    admin: &Account,
) {
    let id = ("call_id", call_id);
    let (status, body) = match step {
        Step::Ack => app.post(receiver, "calls/acknowledge", &[id]).await,
        Step::Accept => {
            app.post(receiver, "calls/respond", &[id, ("response", "accept")])
                .await
        }
        Step::Reject => {
            app.post(receiver, "calls/respond", &[id, ("response", "reject")])
                .await
        }
        Step::Decline => {
            app.post(receiver, "calls/respond", &[id, ("response", "decline")])
                .await
        }
        Step::SenderEnd => app.post(sender, "calls/end", &[id]).await,
        Step::ReceiverEnd => app.post(receiver, "calls/end", &[id]).await,
        Step::Status => {
            app.post(sender, "calls/status", &[id, ("status", "video_disabled")])
                .await
        }
        Step::AdvanceRing | Step::AdvanceMissed | Step::AdvanceMax => {
            let seconds = match step {
                Step::AdvanceRing => 30,
                Step::AdvanceMissed => 120,
                _ => 3600,
            };
            app.clock.advance_millis(seconds * 1000);
            app.fire_deadlines();
            return;
        }
        Step::Cleanup => {
            // Cleanup takes calls *older* than the limit: let a second pass.
            app.clock.advance_millis(1000);
            app.post(admin, "calls/cleanup", &[("timeout_minutes", "0")])
                .await
        }
    };
    assert_eq!(status, 200, "{step:?}: {body}");
}

#[tokio::test]
async fn every_transition_of_the_contract_over_http() {
    for row in TABLE {
        // Queues live longer than the longest deadline here, so they see its event.
        let app = spawn_with(Options {
            manual_clock: Some(t0()),
            settings: Settings {
                event_queue_lifespan: 86_400,
                ..Settings::default()
            },
            ..Options::default()
        })
        .await;
        let (hamlet, othello, iago) = (
            app.account("hamlet@zulip.com"),
            app.account("othello@zulip.com"),
            app.account("iago@zulip.com"),
        );
        let queue = app.register(&hamlet).await;
        let mut last = -1;
        let call_id = app.call(&hamlet, &othello).await;
        let (last_step, before) = row.steps.split_last().unwrap();
        for step in before {
            run_step(&app, *step, &call_id, &hamlet, &othello, &iago).await;
        }
        app.drain_call_events(&hamlet, &queue, &mut last).await;
        run_step(&app, *last_step, &call_id, &hamlet, &othello, &iago).await;
        let events = app.drain_call_events(&hamlet, &queue, &mut last).await;
        match row.event {
            Some((event_type, reason)) => {
                assert_eq!(events.len(), 1, "{}: {events:?}", row.name);
                assert_eq!(events[0]["event_type"], event_type, "{}", row.name);
                assert_eq!(events[0]["reason"].as_str(), reason, "{}", row.name);
                assert_eq!(events[0]["state"], row.state, "{}", row.name);
            }
            None => assert!(events.is_empty(), "{}: {events:?}", row.name),
        }
        let (_, body) = app.get(&othello, &format!("calls/{call_id}"), &[]).await;
        assert_eq!(body["call"]["state"], row.state, "{}", row.name);
    }
}

#[tokio::test]
async fn disabled_call_types_and_history_are_refused() {
    let app = spawn_with(Options {
        settings: Settings {
            enable_audio_calls: false,
            enable_call_history: false,
            ..Settings::default()
        },
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let (status, body) = app
        .post(
            &hamlet,
            "calls/start",
            &[("user_id", &othello.id.to_string()), ("call_type", "audio")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("CALL_TYPE_DISABLED"))
    );
    let (status, _) = app
        .post(
            &hamlet,
            "calls/start",
            &[("user_id", &othello.id.to_string()), ("call_type", "video")],
        )
        .await;
    assert_eq!(status, 200, "video still works");
    let (status, body) = app.get(&hamlet, "calls/history", &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("FEATURE_DISABLED"))
    );
}

fn jwt_claims(url: &str, secret: &str) -> Value {
    let token = url
        .split("?jwt=")
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["jitsi"]);
    let data = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .unwrap();
    assert_eq!(data.header.typ.as_deref(), Some("JWT"));
    data.claims
}

#[tokio::test]
async fn join_urls_carry_a_per_participant_jwt_when_configured() {
    let secret = "correct horse battery staple";
    let app = spawn_with(Options {
        settings: Settings {
            jitsi_jwt_app_id: Some("zulip-calls".into()),
            jitsi_jwt_secret: Some(secret.into()),
            jitsi_server_url: "https://meet.example.org".into(),
            ..Settings::default()
        },
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let (_, started) = app
        .post(
            &hamlet,
            "calls/start",
            &[("user_id", &othello.id.to_string()), ("call_type", "audio")],
        )
        .await;
    let call_id = started["call_id"].as_str().unwrap();
    let sender = jwt_claims(started["join_url"].as_str().unwrap(), secret);
    assert_eq!(sender["iss"], "zulip-calls");
    assert_eq!(sender["sub"], "meet.example.org");
    assert_eq!(sender["room"], format!("zulip-call-{call_id}"));
    assert_eq!(sender["context"]["user"]["name"], "King Hamlet");
    assert_eq!(sender["context"]["user"]["moderator"], "true");
    assert_eq!(
        sender["nbf"].as_i64().unwrap(),
        sender["iat"].as_i64().unwrap() - 10
    );
    assert_eq!(
        sender["exp"].as_i64().unwrap(),
        sender["iat"].as_i64().unwrap() + 3600 + 300
    );
    assert!(
        started["join_url"]
            .as_str()
            .unwrap()
            .contains("#config.startWithVideoMuted=true")
    );

    let (_, accepted) = app
        .post(
            &othello,
            "calls/respond",
            &[("call_id", call_id), ("response", "accept")],
        )
        .await;
    let receiver = jwt_claims(accepted["join_url"].as_str().unwrap(), secret);
    assert_eq!(receiver["context"]["user"]["email"], "othello@zulip.com");
    assert_eq!(receiver["context"]["user"]["moderator"], "false");
    assert!(
        !accepted["jitsi_url"].as_str().unwrap().contains("jwt"),
        "the bare room carries no token"
    );
}

async fn receive_push(State(tx): State<mpsc::UnboundedSender<Value>>, Json(body): Json<Value>) {
    tx.send(body).unwrap();
}

#[tokio::test]
async fn recorded_pushes_are_posted_to_the_webhook() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let hook = axum::Router::new()
        .route("/pushes", axum::routing::post(receive_push))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/pushes", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });

    let app = spawn_with(Options {
        push_webhook_url: Some(hook_url),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let (status, _) = app
        .post(
            &othello,
            "users/me/android_gcm_reg_id",
            &[("token", "fcm-token-othello")],
        )
        .await;
    assert_eq!(status, 200);
    let call_id = app.call(&hamlet, &othello).await;
    let pushed = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pushed["event"], "call");
    assert_eq!(pushed["call_id"], call_id.as_str());
    assert_eq!(pushed["user_id"], othello.id);
    let message = &pushed["request"]["request"]["message"];
    assert_eq!(message["token"], "fcm-token-othello");
    assert_eq!(message["data"]["call_id"], call_id.as_str());
    assert_eq!(message["android"]["priority"], "HIGH");
}

#[tokio::test]
async fn history_pages_newest_first_with_filters() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = app.call(&hamlet, &othello).await;
        app.post(&hamlet, "calls/end", &[("call_id", &id)]).await;
        ids.push(id);
    }
    let (_, page) = app
        .get(
            &othello,
            "calls/history",
            &[("limit", "2"), ("offset", "1")],
        )
        .await;
    assert_eq!(page["total"], 5);
    assert_eq!(page["has_more"], true);
    let got: Vec<_> = page["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, [ids[3].clone(), ids[2].clone()], "newest first");
    assert_eq!(page["calls"][0]["is_outgoing"], false);
    assert_eq!(page["calls"][0]["user_name"], "King Hamlet");
    let (_, last) = app
        .get(
            &othello,
            "calls/history",
            &[("limit", "2"), ("offset", "4")],
        )
        .await;
    assert_eq!(last["has_more"], false);
    let (_, none) = app
        .get(&othello, "calls/history", &[("state", "ended")])
        .await;
    assert_eq!(none["total"], 0);
    let (_, audio) = app
        .get(
            &othello,
            "calls/history",
            &[("call_type", "video"), ("state", "cancelled")],
        )
        .await;
    assert_eq!(audio["total"], 5);
}

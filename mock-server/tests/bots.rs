//! Bot users over HTTP on a manual clock: each behaviour of the demo bots end to end, bots
//! placing calls (on request and periodically), their delays following the virtual clock, a
//! restart, and refused bot tables.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::{Account, Options, TestApp, spawn_with, t0};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use zulip_calls_mock::ServerConfig;
use zulip_calls_mock::{Clock, Server, StartError};

const ECHO_BOT: i64 = 20;
const BUSY_BOT: i64 = 21;
const SLEEPY_BOT: i64 = 22;
const GHOST_BOT: i64 = 23;

/// A realm with a person, an acknowledge-only bot and a bot that calls the person every two
/// minutes.
const BOTS_REALM: &str = r#"
[[realm]]
name = "Bots"
url = "http://localhost:9991"

[[realm.user]]
id = 1
email = "person@bots.test"
full_name = "Person"
api_key = "personKeyxxxxxxxxxxxxxxxxxxxxxxx"

[[realm.user]]
id = 2
email = "ringer@bots.test"
full_name = "Ringer"
api_key = "ringerKeyxxxxxxxxxxxxxxxxxxxxxxx"
bot = { behaviour = "acknowledge" }

[[realm.user]]
id = 3
email = "caller@bots.test"
full_name = "Caller"
api_key = "callerKeyxxxxxxxxxxxxxxxxxxxxxxx"
bot = { behaviour = "ignore", hang_up_after_seconds = 10, calls = { user = "person@bots.test", every_seconds = 120, call_type = "audio" } }
"#;

async fn manual() -> TestApp {
    spawn_with(Options {
        manual_clock: Some(t0()),
        ..Options::default()
    })
    .await
}

/// A server over [`BOTS_REALM`]; the directory holds the realm file.
async fn bots_realm() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let realm_file = dir.path().join("bots.toml");
    std::fs::write(&realm_file, BOTS_REALM).unwrap();
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        realm_file: Some(realm_file),
        ..Options::default()
    })
    .await;
    (app, dir)
}

/// A control request; the status and JSON body.
async fn control(builder: reqwest::RequestBuilder) -> (u16, Value) {
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn cget(app: &TestApp, path: &str) -> Value {
    let (status, body) = control(app.http.get(app.control_url(path))).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn cpost(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    control(app.http.post(app.control_url(path)).json(body)).await
}

/// Moves the clock and fires what came due now, as the scheduler would.
fn advance(app: &TestApp, seconds: i64) {
    app.advance(seconds);
    app.fire_deadlines();
}

async fn state_of(app: &TestApp, who: &Account, call_id: &str) -> String {
    let (status, body) = app.get(who, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(status, 200, "{body}");
    body["call"]["state"].as_str().unwrap().to_owned()
}

/// The next call event of `who`'s queue (waiting for it, heartbeats skipped).
async fn next_event(app: &TestApp, who: &Account, queue: &str, last: &mut i64) -> Value {
    app.next_call_event(who, queue, last).await
}

/// What `bot` will do next, as `GET /mock/v1/bots` lists it: `[(action, at)]`.
async fn pending(app: &TestApp, bot: i64) -> Vec<(String, String)> {
    let body = cget(app, "bots").await;
    let bot = body["bots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["user_id"] == bot)
        .unwrap_or_else(|| panic!("bot {bot} not listed: {body}"))
        .clone();
    bot["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["action"].as_str().unwrap().to_owned(),
                p["at"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The audit log of a call as `(action, actor_id)`.
async fn audit(app: &TestApp, call_id: &str) -> Vec<(String, Value)> {
    let body = cget(app, &format!("calls/{call_id}")).await;
    body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["action"].as_str().unwrap().to_owned(),
                line["actor_id"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn echo_bot_rings_at_once_accepts_after_two_seconds_and_hangs_up_after_thirty() {
    let app = manual().await;
    let hamlet = app.account("hamlet@zulip.com");
    let echo = app.account("echo-bot@zulip.com");
    assert_eq!(echo.id, ECHO_BOT);
    let (status, body) = app
        .post(
            &hamlet,
            "users/me/android_gcm_reg_id",
            &[("token", "hamlet-phone")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let queue = app.register(&hamlet).await;
    let mut last = -1;
    let call_id = app.call(&hamlet, &echo).await;

    let started = next_event(&app, &hamlet, &queue, &mut last).await;
    assert_eq!(started["event_type"], "call_started");
    // The bot's device rings as soon as the call reaches it, without the clock moving.
    let ringing = next_event(&app, &hamlet, &queue, &mut last).await;
    assert_eq!(ringing["event_type"], "participant_ringing");
    assert_eq!(ringing["timestamp"], "2024-01-01T12:00:00Z");
    assert_eq!(
        pending(&app, ECHO_BOT).await,
        [("accept".to_owned(), "2024-01-01T12:00:02Z".to_owned())]
    );

    advance(&app, 1);
    assert_eq!(state_of(&app, &hamlet, &call_id).await, "ringing");
    advance(&app, 1);
    let accepted = next_event(&app, &hamlet, &queue, &mut last).await;
    assert_eq!(accepted["event_type"], "call_accepted");
    assert_eq!(accepted["answered_at"], "2024-01-01T12:00:02Z");
    assert_eq!(state_of(&app, &hamlet, &call_id).await, "accepted");

    advance(&app, 29);
    assert_eq!(state_of(&app, &hamlet, &call_id).await, "accepted");
    advance(&app, 1);
    let ended = next_event(&app, &hamlet, &queue, &mut last).await;
    assert_eq!(ended["event_type"], "call_ended");
    assert_eq!(ended["reason"], "hangup");
    assert_eq!(ended["ended_by_id"], ECHO_BOT);
    assert_eq!(ended["duration"].as_f64(), Some(30.0));
    assert!(pending(&app, ECHO_BOT).await.is_empty());

    // The same audit log a person's client would leave, with the bot as the actor.
    assert_eq!(
        audit(&app, &call_id).await,
        [
            ("call_started".to_owned(), json!(hamlet.id)),
            ("participant_ringing".to_owned(), json!(ECHO_BOT)),
            ("call_accepted".to_owned(), json!(ECHO_BOT)),
            ("call_ended".to_owned(), json!(ECHO_BOT)),
        ]
    );
    // And the same pushes: the caller's phone learns of the answer.
    let pushes = cget(&app, &format!("pushes?call_id={call_id}")).await;
    let events: Vec<&str> = pushes["pushes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["call_response"]);
    assert_eq!(
        pushes["pushes"][0]["request"]["request"]["message"]["data"]["response"],
        "accept"
    );
}

#[tokio::test]
async fn busy_bot_rejects_after_a_second() {
    let app = manual().await;
    let hamlet = app.account("hamlet@zulip.com");
    let busy = app.account("busy-bot@zulip.com");
    assert_eq!(busy.id, BUSY_BOT);
    let queue = app.register(&hamlet).await;
    let mut last = -1;
    let call_id = app.call(&hamlet, &busy).await;
    assert_eq!(
        next_event(&app, &hamlet, &queue, &mut last).await["event_type"],
        "call_started"
    );
    assert_eq!(
        next_event(&app, &hamlet, &queue, &mut last).await["event_type"],
        "participant_ringing"
    );

    advance(&app, 1);
    let rejected = next_event(&app, &hamlet, &queue, &mut last).await;
    assert_eq!(rejected["event_type"], "call_rejected");
    assert_eq!(rejected["state"], "rejected");
    let (_, body) = app.get(&hamlet, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(body["call"]["end_reason"], "rejected");
    assert_eq!(body["call"]["ended_at"], "2024-01-01T12:00:01Z");
}

#[tokio::test]
async fn ghost_bot_never_rings_so_the_call_times_out_at_the_ring_timeout() {
    let app = manual().await;
    let hamlet = app.account("hamlet@zulip.com");
    let ghost = app.account("ghost-bot@zulip.com");
    assert_eq!(ghost.id, GHOST_BOT);
    let queue = app.register(&hamlet).await;
    let mut last = -1;
    let call_id = app.call(&hamlet, &ghost).await;
    assert_eq!(
        next_event(&app, &hamlet, &queue, &mut last).await["event_type"],
        "call_started"
    );
    // Nothing planned: the bot's device never rings.
    assert!(pending(&app, GHOST_BOT).await.is_empty());

    advance(&app, 29);
    assert_eq!(state_of(&app, &hamlet, &call_id).await, "calling");
    advance(&app, 1);
    let ended = next_event(&app, &hamlet, &queue, &mut last).await;
    assert_eq!(ended["event_type"], "call_ended");
    assert_eq!(ended["reason"], "timeout");
    assert_eq!(ended["ended_at"], "2024-01-01T12:00:30Z");
    assert!(ended["ended_by_id"].is_null());
}

#[tokio::test]
async fn an_acknowledge_only_bot_rings_until_the_call_is_missed() {
    let (app, _dir) = bots_realm().await;
    let person = app.account("person@bots.test");
    let ringer = app.account("ringer@bots.test");
    let queue = app.register(&person).await;
    let mut last = -1;
    let call_id = app.call(&person, &ringer).await;
    assert_eq!(
        next_event(&app, &person, &queue, &mut last).await["event_type"],
        "call_started"
    );
    assert_eq!(
        next_event(&app, &person, &queue, &mut last).await["event_type"],
        "participant_ringing"
    );
    assert!(pending(&app, ringer.id).await.is_empty());

    advance(&app, 119);
    assert_eq!(state_of(&app, &person, &call_id).await, "ringing");
    advance(&app, 1);
    let ended = next_event(&app, &person, &queue, &mut last).await;
    assert_eq!(
        (ended["event_type"].as_str(), ended["reason"].as_str()),
        (Some("call_ended"), Some("missed"))
    );
}

#[tokio::test]
async fn a_bot_calls_a_person_on_request_and_hangs_up_its_own_call() {
    let app = manual().await;
    let hamlet = app.account("hamlet@zulip.com");
    let queue = app.register(&hamlet).await;
    // Hamlet's long-poll is already waiting when the bot calls.
    let waiting = {
        let app_url = app.url("events");
        let http = app.http.clone();
        let hamlet = hamlet.clone();
        let queue = queue.clone();
        tokio::spawn(async move {
            let response = http
                .get(app_url)
                .basic_auth(&hamlet.email, Some(&hamlet.key))
                .query(&[("queue_id", queue.as_str()), ("last_event_id", "-1")])
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        })
    };
    let (status, body) = cpost(
        &app,
        &format!("bots/{ECHO_BOT}/call"),
        &json!({"user": "hamlet@zulip.com", "call_type": "audio"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let call_id = body["call_id"].as_str().unwrap().to_owned();
    assert_eq!(body["call"]["sender_id"], ECHO_BOT);
    assert_eq!(body["call"]["call_type"], "audio");

    // The long-poll answers with the call (or a heartbeat first, if it came before).
    let polled = waiting.await.unwrap();
    let mut last = -1;
    let started = match polled["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "call_event")
    {
        Some(event) => {
            last = event["id"].as_i64().unwrap();
            event.clone()
        }
        None => next_event(&app, &hamlet, &queue, &mut last).await,
    };
    assert_eq!(started["event_type"], "call_started");
    assert_eq!(started["call_id"], call_id.as_str());
    assert_eq!(started["sender_id"], ECHO_BOT);
    assert_eq!(started["sender_name"], "Echo Bot");

    // Hamlet answers; the bot, as caller, hangs up after its 30 seconds.
    let (status, body) = app
        .post(
            &hamlet,
            "calls/respond",
            &[("call_id", &call_id), ("response", "accept")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    advance(&app, 30);
    let mut ended = next_event(&app, &hamlet, &queue, &mut last).await;
    while ended["event_type"] != "call_ended" {
        ended = next_event(&app, &hamlet, &queue, &mut last).await;
    }
    assert_eq!(ended["ended_by_id"], ECHO_BOT);
    assert_eq!(ended["reason"], "hangup");

    // Only bots place calls this way, to users that exist.
    let (status, body) = cpost(&app, "bots/10/call", &json!({"user": "othello@zulip.com"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{body}"
    );
    let (status, body) = cpost(&app, "bots/20/call", &json!({"user": "nobody@zulip.com"})).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = cpost(&app, "bots/20/call", &json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("REQUEST_VARIABLE_MISSING")),
        "{body}"
    );
    let (status, body) = cpost(&app, "bots/20/call", &json!({"user": 20})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("CANNOT_CALL_SELF")),
        "{body}"
    );
}

#[tokio::test]
async fn a_periodic_caller_calls_each_period_as_the_clock_advances() {
    let (app, _dir) = bots_realm().await;
    let person = app.account("person@bots.test");
    let caller = app.account("caller@bots.test");
    let queue = app.register(&person).await;
    let mut last = -1;
    assert_eq!(
        pending(&app, caller.id).await,
        [("call".to_owned(), "2024-01-01T12:02:00Z".to_owned())]
    );

    advance(&app, 119);
    assert!(app.pending_call_events(&person, &queue).await.is_empty());
    advance(&app, 1);
    let first = next_event(&app, &person, &queue, &mut last).await;
    assert_eq!(first["event_type"], "call_started");
    assert_eq!(first["sender_id"], caller.id);
    assert_eq!(first["call_type"], "audio");
    assert_eq!(first["created_at"], "2024-01-01T12:02:00Z");
    let first_id = first["call_id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post(
            &person,
            "calls/respond",
            &[("call_id", &first_id), ("response", "reject")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        pending(&app, caller.id).await,
        [("call".to_owned(), "2024-01-01T12:04:00Z".to_owned())]
    );

    advance(&app, 120);
    let mut second = next_event(&app, &person, &queue, &mut last).await;
    while second["event_type"] != "call_started" {
        second = next_event(&app, &person, &queue, &mut last).await;
    }
    assert_eq!(second["created_at"], "2024-01-01T12:04:00Z");
    assert_ne!(second["call_id"], first_id.as_str());
}

#[tokio::test]
async fn on_a_virtual_clock_bots_act_only_when_time_moves_and_say_so() {
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        virtual_clock: true,
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let echo = app.account("echo-bot@zulip.com");
    let call_id = app.call(&hamlet, &echo).await;
    // No background scheduler: nothing happens until the clock is told to move.
    assert_eq!(state_of(&app, &hamlet, &call_id).await, "calling");

    let (status, body) = cpost(&app, "clock/advance", &json!({"seconds": 2})).await;
    assert_eq!(status, 200, "{body}");
    let fired: Vec<(String, String, Value)> = body["fired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["action"].as_str().unwrap().to_owned(),
                f["at"].as_str().unwrap().to_owned(),
                f["user_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        fired,
        [
            (
                "bot_acknowledge".to_owned(),
                "2024-01-01T12:00:00Z".to_owned(),
                json!(ECHO_BOT)
            ),
            (
                "bot_accept".to_owned(),
                "2024-01-01T12:00:02Z".to_owned(),
                json!(ECHO_BOT)
            ),
        ]
    );
    assert_eq!(state_of(&app, &hamlet, &call_id).await, "accepted");

    let (_, body) = cpost(&app, "clock/advance", &json!({"seconds": 30})).await;
    assert_eq!(body["fired"][0]["action"], "bot_hang_up", "{body}");
    assert_eq!(body["fired"][0]["at"], "2024-01-01T12:00:32Z", "{body}");
    assert_eq!(state_of(&app, &hamlet, &call_id).await, "ended");
}

#[tokio::test]
async fn the_bots_are_listed_with_their_behaviour() {
    let app = manual().await;
    let body = cget(&app, "bots").await;
    let bots: Vec<(i64, &str, &str)> = body["bots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["user_id"].as_i64().unwrap(),
                b["full_name"].as_str().unwrap(),
                b["behaviour"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        bots,
        [
            (ECHO_BOT, "Echo Bot", "accept"),
            (BUSY_BOT, "Busy Bot", "reject"),
            (SLEEPY_BOT, "Sleepy Bot", "acknowledge"),
            (GHOST_BOT, "Ghost Bot", "ignore"),
        ]
    );
    assert_eq!(body["bots"][0]["answer_after_seconds"], 2.0);
    assert_eq!(body["bots"][0]["hang_up_after_seconds"], 30.0);
    assert!(body["bots"][2].get("answer_after_seconds").is_none());
    // The control API's user list says which users are bots and how they behave.
    let users = cget(&app, "users").await;
    let bot_of = |id: i64| {
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["user_id"] == id)
            .map(|u| (u["is_bot"].clone(), u["bot"].clone()))
            .unwrap()
    };
    assert_eq!(bot_of(ECHO_BOT), (json!(true), json!("accept")));
    assert_eq!(bot_of(SLEEPY_BOT), (json!(true), json!("acknowledge")));
    assert_eq!(bot_of(GHOST_BOT), (json!(true), json!("ignore")));
    assert_eq!(bot_of(10), (json!(false), Value::Null));
    // Bots are ordinary users of the Zulip API, marked as bots.
    let hamlet = app.account("hamlet@zulip.com");
    let (_, users) = app.get(&hamlet, "users", &[]).await;
    let echo = users["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == ECHO_BOT)
        .unwrap()
        .clone();
    assert_eq!(echo["is_bot"], true);
}

#[tokio::test]
async fn a_call_to_a_bot_carries_on_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("restart.sqlite3");
    let (hamlet, call_id) = {
        let app = spawn_with(Options {
            manual_clock: Some(t0()),
            db: Some(db.clone()),
            virtual_clock: true,
            ..Options::default()
        })
        .await;
        let hamlet = app.account("hamlet@zulip.com");
        let echo = app.account("echo-bot@zulip.com");
        (hamlet.clone(), app.call(&hamlet, &echo).await)
    };
    // Back five seconds later: the answer that came due meanwhile is given at start.
    let app = spawn_with(Options {
        manual_clock: Some(t0().plus_seconds(5)),
        db: Some(db),
        virtual_clock: true,
        ..Options::default()
    })
    .await;
    assert_eq!(state_of(&app, &hamlet, &call_id).await, "accepted");
    assert_eq!(
        pending(&app, ECHO_BOT).await,
        [("hang_up".to_owned(), "2024-01-01T12:00:35Z".to_owned())]
    );
}

/// Starts a server over a realm file with `text`, expecting it to be refused.
async fn refused(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let realm_file: PathBuf = dir.path().join("realm.toml");
    std::fs::write(&realm_file, text).unwrap();
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: ":memory:".to_owned(),
        realm_file: Some(realm_file.clone()),
        ..ServerConfig::default()
    };
    match Server::start(config, Clock::manual(t0())).await {
        Ok(_) => panic!("a bad realm file was accepted: {text}"),
        Err(err) => {
            assert!(matches!(err, StartError::Realm(_)), "{err}");
            let message = err.to_string();
            assert!(
                message.contains(&realm_file.display().to_string()),
                "{message}"
            );
            message
        }
    }
}

#[tokio::test]
async fn bad_bot_tables_stop_the_server_with_the_user_and_key_named() {
    let bad_behaviour =
        BOTS_REALM.replace(r#"behaviour = "acknowledge""#, r#"behaviour = "answer""#);
    let message = refused(&bad_behaviour).await;
    assert!(
        message.ends_with(
            "realm \"Bots\": user 2 (ringer@bots.test): bot.behaviour: expected one of \
             \"accept\", \"reject\", \"ignore\", \"acknowledge\", got \"answer\""
        ),
        "{message}"
    );

    let bad_target = BOTS_REALM.replace(
        r#"user = "person@bots.test""#,
        r#"user = "ghost@bots.test""#,
    );
    let message = refused(&bad_target).await;
    assert!(
        message.ends_with(
            "user 3 (caller@bots.test): bot.calls.user: no user \"ghost@bots.test\" in the realm file"
        ),
        "{message}"
    );

    let bad_period = BOTS_REALM.replace("every_seconds = 120", "every_seconds = 0");
    let message = refused(&bad_period).await;
    assert!(
        message.contains("user 3 (caller@bots.test): bot.calls.every_seconds: expected a number of seconds from 1 to"),
        "{message}"
    );

    let unknown_key = BOTS_REALM.replace(
        r#"{ behaviour = "acknowledge" }"#,
        r#"{ behaviour = "acknowledge", answer_after = 3 }"#,
    );
    let message = refused(&unknown_key).await;
    assert!(
        message.contains("user 2 (ringer@bots.test): bot.answer_after: unknown key"),
        "{message}"
    );
}

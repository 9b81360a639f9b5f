//! Bots in group calls (spec 1.1 §6) over HTTP on the virtual clock: the demo bots invited to
//! a call (Echo Bot joins, heartbeats and leaves, Busy Bot declines, Sleepy and Ghost Bot let
//! it ring out), a bot starting a group call on request and staying in while anyone is there,
//! the control route's refusals, a call that ends before a bot's turn, and a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::{Account, Options, TestApp, ops, spawn_virtual, spawn_with, t0};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use zulip_calls_protocol::CallsApi;
use zulip_calls_protocol::settings::Settings;

const ECHO_BOT: i64 = 20;
const BUSY_BOT: i64 = 21;
const SLEEPY_BOT: i64 = 22;
const GHOST_BOT: i64 = 23;

/// A 1.1 server on a virtual clock with `settings` otherwise.
async fn server(settings: Settings) -> TestApp {
    spawn_virtual(Settings {
        calls_api: CallsApi::V1_1,
        ..settings
    })
    .await
}

/// A control request; the status and JSON body.
async fn control(builder: reqwest::RequestBuilder) -> (u16, Value) {
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn cpost(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    control(app.http.post(app.control_url(path)).json(body)).await
}

/// Moves the virtual clock; what fired, as `(action, at, user_id)`.
async fn advance(app: &TestApp, seconds: u64) -> Vec<(String, String, Value)> {
    let (status, body) = cpost(app, "clock/advance", &json!({ "seconds": seconds })).await;
    assert_eq!(status, 200, "{body}");
    body["fired"]
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
        .collect()
}

/// `2024-01-01T12:00:SSZ`, `seconds` after [`t0`].
fn at(seconds: i64) -> String {
    t0().plus_seconds(seconds).to_string()
}

/// What `bot` will do next, as `GET /mock/v1/bots` lists it: `[(action, at)]`.
async fn pending(app: &TestApp, bot: i64) -> Vec<(String, String)> {
    let (status, body) = control(app.http.get(app.control_url("bots"))).await;
    assert_eq!(status, 200, "{body}");
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

/// One participant's queue of group call events and where they have read to.
struct Inbox {
    who: Account,
    queue: String,
    last: i64,
}

impl Inbox {
    async fn open(app: &TestApp, who: &Account) -> Inbox {
        let (status, body) = app
            .post(who, "register", &[("event_types", r#"["group_call"]"#)])
            .await;
        assert_eq!(status, 200, "{body}");
        Inbox {
            who: who.clone(),
            queue: body["queue_id"].as_str().unwrap().to_owned(),
            last: -1,
        }
    }

    /// Every group event queued now.
    async fn take(&mut self, app: &TestApp) -> Vec<Value> {
        app.drain_events(&self.who, &self.queue, &mut self.last)
            .await
            .into_iter()
            .filter(|e| e["type"] == "group_call")
            .collect()
    }
}

fn path(call: &str, action: &str) -> String {
    format!("calls/group/{call}/{action}")
}

/// `host` opens a group call inviting `user_ids`; its id.
async fn create(app: &TestApp, host: &Account, user_ids: &[i64]) -> String {
    let ids: Vec<String> = user_ids.iter().map(i64::to_string).collect();
    let (status, body) = app
        .post(
            host,
            "calls/group/create",
            &[("user_ids", &ids.join(",")), ("title", "With the bots")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["call_id"].as_str().unwrap().to_owned()
}

/// Each participant's state, as `who` (a participant) sees them: `[(user_id, state)]`.
async fn states(app: &TestApp, who: &Account, call: &str) -> Vec<(i64, String)> {
    let (status, body) = app.get(who, &path(call, "participants"), &[]).await;
    assert_eq!(status, 200, "{body}");
    body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["user_id"].as_i64().unwrap(),
                p["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn state_of(app: &TestApp, who: &Account, call: &str, user: i64) -> String {
    states(app, who, call)
        .await
        .into_iter()
        .find(|(id, _)| *id == user)
        .map(|(_, state)| state)
        .unwrap_or_else(|| panic!("user {user} has no place in {call}"))
}

async fn heartbeat(app: &TestApp, who: &Account, call: &str) {
    let (status, body) = app.post(who, "calls/heartbeat", &[("call_id", call)]).await;
    assert_eq!(
        (status, body["call_state"].as_str()),
        (200, Some("accepted")),
        "{body}"
    );
}

fn names(fired: &[(String, String, Value)]) -> Vec<&str> {
    fired.iter().map(|(action, _, _)| action.as_str()).collect()
}

#[tokio::test]
async fn echo_bot_rings_joins_after_two_seconds_heartbeats_and_leaves_thirty_seconds_later() {
    // A short heartbeat watch: a bot that did not heartbeat would be dropped 10 s after
    // joining, long before it leaves.
    let app = server(Settings {
        call_heartbeat_timeout: 10,
        ..Settings::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let mut h = Inbox::open(&app, &hamlet).await;
    let call = create(&app, &hamlet, &[ECHO_BOT]).await;
    assert_eq!(ops(&h.take(&app).await), ["created"]);
    // No queue, no phone: nothing rings until the bot's turn.
    assert_eq!(state_of(&app, &hamlet, &call, ECHO_BOT).await, "invited");
    assert_eq!(
        pending(&app, ECHO_BOT).await,
        [
            ("group_ring".to_owned(), at(0)),
            ("group_join".to_owned(), at(2))
        ]
    );

    let fired = advance(&app, 1).await;
    assert!(
        fired.contains(&("bot_group_ring".to_owned(), at(0), json!(ECHO_BOT))),
        "{fired:?}"
    );
    assert_eq!(state_of(&app, &hamlet, &call, ECHO_BOT).await, "ringing");
    let fired = advance(&app, 1).await;
    assert_eq!(
        fired,
        [("bot_group_join".to_owned(), at(2), json!(ECHO_BOT))]
    );
    let joined = h.take(&app).await;
    assert_eq!(ops(&joined), ["participant_joined"]);
    assert_eq!(joined[0]["joined_user_id"], ECHO_BOT);

    // Hamlet heartbeats too; the bot keeps itself in past the 10 s watch, twice over.
    let mut bot_heartbeats = 0;
    for _ in 0..5 {
        let fired = advance(&app, 5).await;
        bot_heartbeats += names(&fired)
            .iter()
            .filter(|a| **a == "bot_group_heartbeat")
            .count();
        assert!(
            !names(&fired).contains(&"group_heartbeat_lost"),
            "{fired:?}"
        );
        heartbeat(&app, &hamlet, &call).await;
    }
    assert!(bot_heartbeats >= 5, "{bot_heartbeats}");
    assert_eq!(state_of(&app, &hamlet, &call, ECHO_BOT).await, "joined");
    assert!(h.take(&app).await.is_empty());

    // Thirty seconds after joining (at 0:32), it leaves by itself.
    let fired = advance(&app, 4).await;
    assert!(!names(&fired).contains(&"bot_group_leave"), "{fired:?}");
    heartbeat(&app, &hamlet, &call).await;
    let fired = advance(&app, 1).await;
    assert!(
        fired.contains(&("bot_group_leave".to_owned(), at(32), json!(ECHO_BOT))),
        "{fired:?}"
    );
    let left = h.take(&app).await;
    assert_eq!(ops(&left), ["participant_left"]);
    assert_eq!(left[0]["left_user_id"], ECHO_BOT);
    assert_eq!(left[0]["reason"], "left");
    assert_eq!(state_of(&app, &hamlet, &call, ECHO_BOT).await, "left");
    // Nothing more to do: no heartbeat of a bot that left.
    assert!(pending(&app, ECHO_BOT).await.is_empty());
}

#[tokio::test]
async fn busy_bot_declines_while_sleepy_and_ghost_bots_let_the_invitation_ring_out() {
    // No heartbeat watch, so Hamlet stays in without heartbeating until the rings run out.
    let app = server(Settings {
        call_heartbeat_timeout: 0,
        ..Settings::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let mut h = Inbox::open(&app, &hamlet).await;
    let call = create(&app, &hamlet, &[BUSY_BOT, SLEEPY_BOT, GHOST_BOT]).await;
    h.take(&app).await;

    let fired = advance(&app, 1).await;
    assert!(
        fired.contains(&("bot_group_decline".to_owned(), at(1), json!(BUSY_BOT))),
        "{fired:?}"
    );
    let declined = h.take(&app).await;
    assert_eq!(ops(&declined), ["participant_declined"]);
    assert_eq!(declined[0]["declined_user_id"], BUSY_BOT);
    // Sleepy Bot's device rings; Ghost Bot's never does.
    assert_eq!(
        states(&app, &hamlet, &call).await,
        [
            (hamlet.id, "joined".to_owned()),
            (BUSY_BOT, "declined".to_owned()),
            (SLEEPY_BOT, "ringing".to_owned()),
            (GHOST_BOT, "invited".to_owned()),
        ]
    );
    assert!(pending(&app, SLEEPY_BOT).await.is_empty());
    assert!(pending(&app, GHOST_BOT).await.is_empty());

    advance(&app, 118).await;
    assert_eq!(state_of(&app, &hamlet, &call, SLEEPY_BOT).await, "ringing");
    assert!(h.take(&app).await.is_empty());
    // CALL_NOTIFICATION_TIMEOUT after the invitation, both are missed.
    let fired = advance(&app, 1).await;
    assert_eq!(
        names(&fired),
        ["group_participant_missed", "group_participant_missed"]
    );
    let missed = h.take(&app).await;
    assert_eq!(ops(&missed), ["participant_missed", "participant_missed"]);
    assert_eq!(
        (
            missed[0]["missed_user_id"].clone(),
            missed[1]["missed_user_id"].clone()
        ),
        (json!(SLEEPY_BOT), json!(GHOST_BOT))
    );
}

#[tokio::test]
async fn a_bot_starts_a_group_call_on_request_and_stays_in_while_anyone_is_there() {
    let app = server(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let mut h = Inbox::open(&app, &hamlet).await;
    let mut o = Inbox::open(&app, &othello).await;
    // Busy Bot has no hang-up delay: it stays as long as someone else is there.
    let (status, body) = cpost(
        &app,
        &format!("bots/{BUSY_BOT}/group-call"),
        &json!({"users": ["hamlet@zulip.com", othello.id], "title": " Bot stand-up ", "call_type": "audio"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let call = body["call_id"].as_str().unwrap().to_owned();
    assert_eq!(body["call"]["host"]["user_id"], BUSY_BOT);
    assert_eq!(body["call"]["title"], "Bot stand-up");
    assert_eq!(body["call"]["call_type"], "audio");
    let listed: Vec<(Value, Value)> = body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["user_id"].clone(), p["state"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (json!(BUSY_BOT), json!("joined")),
            (json!(hamlet.id), json!("ringing")),
            (json!(othello.id), json!("ringing")),
        ]
    );
    let invitation = h.take(&app).await;
    assert_eq!(ops(&invitation), ["participant_invited"]);
    assert_eq!(invitation[0]["inviter_id"], BUSY_BOT);
    assert_eq!(invitation[0]["title"], "Bot stand-up");

    let (status, body) = app.post(&hamlet, &path(&call, "join"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post(&othello, &path(&call, "decline"), &[]).await;
    assert_eq!(status, 200, "{body}");
    o.take(&app).await;
    h.take(&app).await;

    // Well past CALL_HEARTBEAT_TIMEOUT (60 s) the bot host is still in.
    for _ in 0..5 {
        let fired = advance(&app, 20).await;
        assert!(
            !names(&fired).contains(&"group_heartbeat_lost"),
            "{fired:?}"
        );
        heartbeat(&app, &hamlet, &call).await;
    }
    assert_eq!(state_of(&app, &hamlet, &call, BUSY_BOT).await, "joined");
    assert!(h.take(&app).await.is_empty());

    // Hamlet leaves: alone, the bot leaves too, and the empty call ends by itself.
    let (status, body) = app.post(&hamlet, &path(&call, "leave"), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        pending(&app, BUSY_BOT).await.first(),
        Some(&("group_leave".to_owned(), at(100)))
    );
    let fired = advance(&app, 1).await;
    assert_eq!(
        fired,
        [("bot_group_leave".to_owned(), at(100), json!(BUSY_BOT))]
    );
    let settings = Settings::default();
    let fired = advance(&app, settings.call_ring_timeout - 1).await;
    assert_eq!(names(&fired), ["group_empty"]);
    let (_, body) = app.get(&hamlet, &path(&call, "status"), &[]).await;
    assert_eq!(body["call"]["state"], "ended");
    assert_eq!(
        states(&app, &hamlet, &call).await,
        [
            (BUSY_BOT, "left".to_owned()),
            (hamlet.id, "left".to_owned()),
            (othello.id, "declined".to_owned()),
        ]
    );
    assert!(pending(&app, BUSY_BOT).await.is_empty());
}

#[tokio::test]
async fn bad_group_call_requests_get_a_clear_error() {
    let app = server(Settings::default()).await;
    let group_call = |bot: &str, body: Value| {
        let app = &app;
        let bot = bot.to_owned();
        async move { cpost(app, &format!("bots/{bot}/group-call"), &body).await }
    };
    let cases: [(&str, Value, u16, &str); 11] = [
        ("10", json!({"users": "6"}), 404, "NOT_FOUND"),
        ("nobody", json!({"users": "6"}), 404, "NOT_FOUND"),
        ("20", json!({}), 400, "REQUEST_VARIABLE_MISSING"),
        ("20", json!({"users": ""}), 400, "BAD_REQUEST"),
        ("20", json!({"users": "6,,9"}), 400, "BAD_REQUEST"),
        ("20", json!({"users": [6, true]}), 400, "BAD_REQUEST"),
        ("20", json!({"users": "nobody@zulip.com"}), 404, "NOT_FOUND"),
        ("20", json!({"users": "20"}), 400, "BAD_REQUEST"),
        ("20", json!({"users": "king@lear.org"}), 400, "BAD_REQUEST"),
        (
            "20",
            json!({"users": "desdemona@zulip.com"}),
            400,
            "BAD_REQUEST",
        ),
        (
            "20",
            json!({"users": "6", "call_type": "fax"}),
            400,
            "BAD_REQUEST",
        ),
    ];
    for (bot, body, status, code) in cases {
        let (got, answer) = group_call(bot, body.clone()).await;
        assert_eq!(
            (got, answer["code"].as_str(), answer["result"].as_str()),
            (status, Some(code), Some("error")),
            "{bot} {body}: {answer}"
        );
        assert!(!answer["msg"].as_str().unwrap().is_empty());
    }
    let (_, answer) = group_call("20", json!({"users": "king@lear.org"})).await;
    assert!(
        answer["msg"]
            .as_str()
            .unwrap()
            .contains("king@lear.org): the user is in another realm"),
        "{answer}"
    );

    // A bot already in a call cannot start another.
    let hamlet = app.account("hamlet@zulip.com");
    let (status, body) = app
        .post(
            &hamlet,
            "calls/create",
            &[("user_id", &ECHO_BOT.to_string())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = group_call("20", json!({"users": "6"})).await;
    assert_eq!(status, 409, "{body}");

    // A deactivated bot does nothing.
    let (status, body) = cpost(&app, &format!("users/{SLEEPY_BOT}/deactivate"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = group_call("22", json!({"users": "6"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("USER_DEACTIVATED")),
        "{body}"
    );

    // A form works as well as JSON, with users separated by commas (or one alone).
    for (bot, users, participants) in [(GHOST_BOT, "hamlet@zulip.com, 6", 3), (BUSY_BOT, "9", 2)] {
        let (status, body) = control(
            app.http
                .post(app.control_url(&format!("bots/{bot}/group-call")))
                .form(&[("users", users), ("title", "By form")]),
        )
        .await;
        assert_eq!(status, 200, "{users}: {body}");
        assert_eq!(body["call"]["title"], "By form");
        assert_eq!(body["participants"].as_array().unwrap().len(), participants);
    }

    // Group calls are the 1.1 dialect's: a design-only server has none.
    let design = spawn_virtual(Settings {
        calls_api: CallsApi::Design,
        ..Settings::default()
    })
    .await;
    let (status, body) = cpost(&design, "bots/20/group-call", &json!({"users": "6"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("GROUP_CALLS_NOT_SERVED")),
        "{body}"
    );
}

#[tokio::test]
async fn a_bot_does_nothing_in_a_call_that_ended_before_its_turn() {
    let app = server(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let call = create(&app, &hamlet, &[ECHO_BOT, BUSY_BOT]).await;
    assert_eq!(pending(&app, ECHO_BOT).await.len(), 2);
    let (status, body) = app.post(&hamlet, &path(&call, "end"), &[]).await;
    assert_eq!(status, 200, "{body}");
    // The end takes the bots' plans along.
    assert!(pending(&app, ECHO_BOT).await.is_empty());
    assert!(pending(&app, BUSY_BOT).await.is_empty());
    let fired = advance(&app, 5).await;
    assert!(fired.is_empty(), "{fired:?}");
    assert_eq!(
        states(&app, &hamlet, &call).await,
        [
            (hamlet.id, "left".to_owned()),
            (ECHO_BOT, "missed".to_owned()),
            (BUSY_BOT, "missed".to_owned()),
        ]
    );
    // Hamlet, out of the ended call, cannot invite the bot again; nothing is planned.
    let (status, _) = app
        .post(
            &hamlet,
            &path(&call, "invite"),
            &[("user_ids", &ECHO_BOT.to_string())],
        )
        .await;
    assert_eq!(status, 403);
    assert!(pending(&app, ECHO_BOT).await.is_empty());
}

/// A realm with a person and three bots: one that stays in any call it joins, one that joins
/// two seconds after an invitation, and one that does nothing by itself.
const RESTART_REALM: &str = r#"
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
email = "keeper@bots.test"
full_name = "Keeper"
api_key = "keeperKeyxxxxxxxxxxxxxxxxxxxxxxx"
bot = { behaviour = "reject" }

[[realm.user]]
id = 3
email = "joiner@bots.test"
full_name = "Joiner"
api_key = "joinerKeyxxxxxxxxxxxxxxxxxxxxxxx"
bot = { behaviour = "accept", answer_after_seconds = 2 }
"#;

async fn restart_server(db: &std::path::Path, realm: &std::path::Path, at: i64) -> TestApp {
    spawn_with(Options {
        settings: Settings {
            calls_api: CallsApi::V1_1,
            ..Settings::default()
        },
        manual_clock: Some(t0().plus_seconds(at)),
        db: Some(db.to_owned()),
        virtual_clock: true,
        realm_file: Some(realm.to_owned()),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn bots_carry_on_in_a_group_call_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("restart.sqlite3");
    let realm: PathBuf = dir.path().join("bots.toml");
    std::fs::write(&realm, RESTART_REALM).unwrap();
    let call = {
        let app = restart_server(&db, &realm, 0).await;
        let (status, body) = cpost(
            &app,
            "bots/2/group-call",
            &json!({"users": "joiner@bots.test,person@bots.test"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body["call_id"].as_str().unwrap().to_owned()
    };
    // Back 100 s later: the joiner's answer, due at 0:02, is given at start; the keeper, silent
    // for longer than CALL_HEARTBEAT_TIMEOUT, heartbeats before any deadline can drop it.
    let app = restart_server(&db, &realm, 100).await;
    let person = app.account("person@bots.test");
    assert_eq!(
        states(&app, &person, &call).await,
        [
            (2, "joined".to_owned()),
            (3, "joined".to_owned()),
            (1, "invited".to_owned()),
        ]
    );
    assert_eq!(
        pending(&app, 2).await,
        [("group_heartbeat".to_owned(), at(115))]
    );
    assert_eq!(
        pending(&app, 3).await,
        [("group_heartbeat".to_owned(), at(115))]
    );
    // And they keep each other company: the person's invitation runs out, the call goes on.
    let fired = advance(&app, 60).await;
    assert_eq!(
        names(&fired)
            .into_iter()
            .filter(|a| !a.starts_with("bot_"))
            .collect::<Vec<_>>(),
        ["group_participant_missed"]
    );
    assert_eq!(
        states(&app, &person, &call).await,
        [
            (2, "joined".to_owned()),
            (3, "joined".to_owned()),
            (1, "missed".to_owned()),
        ]
    );
}

//! `CALLS_COMPAT=plugin-1.1.0` for group calls: the mock as the released plugin's group views,
//! actions and cleanup worker behave (`plugin-1.1-dialect.md` §9 rows 4 to 9 and what its
//! code does beyond them), one test per quirk of `core::compat`, on a virtual clock; and the
//! same requests against the contract, where they differ, so that each test fails with the
//! quirk absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::Value;
use zulip_calls_protocol::settings::Settings;
use zulip_calls_protocol::{CallsApi, Compat};

use common::{Account, TestApp, spawn_virtual};

/// A 1.1 server as deployed (`plugin`) or as the contract has it, on a virtual clock.
async fn server(plugin: bool) -> TestApp {
    spawn_virtual(Settings {
        calls_api: CallsApi::V1_1,
        calls_compat: if plugin {
            Compat::Plugin1_1_0
        } else {
            Compat::Contract
        },
        ..Settings::default()
    })
    .await
}

fn ids(users: &[&Account]) -> String {
    users
        .iter()
        .map(|u| u.id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

async fn create(app: &TestApp, host: &Account, user_ids: &str) -> (u16, Value) {
    app.post(host, "calls/group/create", &[("user_ids", user_ids)])
        .await
}

async fn create_ok(app: &TestApp, host: &Account, invitees: &[&Account]) -> String {
    let (status, body) = create(app, host, &ids(invitees)).await;
    assert_eq!(status, 200, "{body}");
    body["call_id"].as_str().unwrap().to_owned()
}

async fn act(app: &TestApp, who: &Account, call: &str, action: &str) -> (u16, Value) {
    app.post(who, &format!("calls/group/{call}/{action}"), &[])
        .await
}

/// Each participant's state, by user id.
async fn states(app: &TestApp, who: &Account, call: &str) -> Vec<(i64, String)> {
    let (status, body) = app
        .get(who, &format!("calls/group/{call}/participants"), &[])
        .await;
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

async fn state_of(app: &TestApp, who: &Account, call: &str, user: &Account) -> String {
    states(app, who, call)
        .await
        .into_iter()
        .find(|(id, _)| *id == user.id)
        .map(|(_, state)| state)
        .unwrap()
}

async fn call_state(app: &TestApp, who: &Account, call: &str) -> String {
    let (status, body) = app
        .get(who, &format!("calls/group/{call}/status"), &[])
        .await;
    assert_eq!(status, 200, "{body}");
    body["call"]["state"].as_str().unwrap().to_owned()
}

/// One run of the plugin's cleanup worker (the control API); what fired.
async fn run_cleanup(app: &TestApp) -> Vec<Value> {
    let response = app
        .http
        .post(app.control_url("cleanup"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["fired"].as_array().unwrap().clone()
}

/// A participant's queue of `group_call` events.
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

    async fn take(&mut self, app: &TestApp) -> Vec<Value> {
        app.drain_events(&self.who, &self.queue, &mut self.last)
            .await
            .into_iter()
            .filter(|e| e["type"] == "group_call")
            .collect()
    }
}

fn ops(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["op"].as_str().unwrap()).collect()
}

async fn android(app: &TestApp, who: &Account) {
    let token = format!("fcm-{}", who.id);
    let (status, body) = app
        .post(who, "users/me/android_gcm_reg_id", &[("token", &token)])
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn pushes(app: &TestApp, email: &str) -> Vec<Value> {
    let body: Value = app
        .http
        .get(app.control_url("pushes"))
        .query(&[("user", email)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["pushes"].as_array().unwrap().clone()
}

/// §9 row 5: `user_ids` as comma-separated integers only; what does not read, or names
/// nobody who can be invited, opens a call with no invitees; `invite` refuses a JSON list.
#[tokio::test]
async fn user_ids_are_read_as_comma_separated_integers_only() {
    for plugin in [true, false] {
        let app = server(plugin).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let iago = app.account("iago@zulip.com");
        let king = app.account("king@lear.org");
        let json_list = format!("[{},{}]", othello.id, iago.id);
        for (user_ids, plugin_invited, contract) in [
            (json_list.as_str(), 0, Some(2)),
            ("abc", 0, None),
            (&*king.id.to_string(), 0, None),
            (&*ids(&[&othello, &iago]), 2, Some(2)),
        ] {
            let (status, body) = create(&app, &hamlet, user_ids).await;
            match (plugin, contract) {
                (true, _) => {
                    assert_eq!(status, 200, "{user_ids}: {body}");
                    assert_eq!(body["invited_count"], plugin_invited, "{user_ids}");
                }
                (false, Some(invited)) => {
                    assert_eq!(status, 200, "{user_ids}: {body}");
                    assert_eq!(body["invited_count"], invited, "{user_ids}");
                }
                (false, None) => {
                    assert_eq!(status, 400, "{user_ids}: {body}");
                    continue;
                }
            }
            let call = body["call_id"].as_str().unwrap().to_owned();
            if user_ids.contains(',') && !user_ids.starts_with('[') {
                act(&app, &othello, &call, "join").await;
                let cordelia = app.account("cordelia@zulip.com");
                let list = format!("[{}]", cordelia.id);
                let (status, body) = app
                    .post(
                        &othello,
                        &format!("calls/group/{call}/invite"),
                        &[("user_ids", &list)],
                    )
                    .await;
                if plugin {
                    assert_eq!(status, 400, "{body}");
                    assert_eq!(body["message"], "Invalid user_ids format");
                } else {
                    assert_eq!(status, 200, "{body}");
                    assert_eq!(body["invited_count"], 1);
                }
            }
            let (status, body) = act(&app, &hamlet, &call, "end").await;
            assert_eq!(status, 200, "{body}");
        }
    }
}

/// §9 row 6: a group call makes nobody busy: a user joined in one is rung for a 1:1 call, and
/// a host busy in a 1:1 call opens a group call.
#[tokio::test]
async fn a_user_in_a_group_call_can_be_rung() {
    for plugin in [true, false] {
        let app = server(plugin).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let iago = app.account("iago@zulip.com");
        let cordelia = app.account("cordelia@zulip.com");
        let call = create_ok(&app, &hamlet, &[&othello]).await;
        let (status, body) = act(&app, &othello, &call, "join").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = app
            .post(
                &iago,
                "calls/create",
                &[("user_id", &othello.id.to_string())],
            )
            .await;
        assert_eq!(status, if plugin { 200 } else { 409 }, "{body}");
        // Cordelia, ringing for a 1:1 call, opens a group call.
        let (status, body) = app
            .post(
                &prospero(&app),
                "calls/create",
                &[("user_id", &cordelia.id.to_string())],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = create(&app, &cordelia, &hamlet.id.to_string()).await;
        assert_eq!(status, if plugin { 200 } else { 409 }, "{body}");
    }
}

fn prospero(app: &TestApp) -> Account {
    app.account("prospero@zulip.com")
}

/// §9 row 4, for group calls: no view runs the group cleanup (not even `create`), so group
/// deadlines wait for a run of the cleanup worker.
#[tokio::test]
async fn group_deadlines_wait_for_the_cleanup_worker() {
    for plugin in [true, false] {
        let app = server(plugin).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let iago = app.account("iago@zulip.com");
        let cordelia = app.account("cordelia@zulip.com");
        let call = create_ok(&app, &hamlet, &[&othello]).await;
        app.advance_virtual(200).await;
        // A 1:1 call runs the plugin's 1:1 cleanup, not the group one.
        let (status, _) = app
            .post(
                &iago,
                "calls/create",
                &[("user_id", &cordelia.id.to_string())],
            )
            .await;
        assert_eq!(status, 200);
        let group_call = app.post(&iago, "calls/group/create", &[]).await;
        assert_eq!(group_call.0, if plugin { 200 } else { 400 });
        if plugin {
            assert_eq!(state_of(&app, &hamlet, &call, &othello).await, "invited");
            assert_eq!(call_state(&app, &hamlet, &call).await, "active");
            let fired = run_cleanup(&app).await;
            let names: Vec<&str> = fired
                .iter()
                .filter(|f| f["call_id"] == call.as_str())
                .map(|f| f["action"].as_str().unwrap())
                .collect();
            assert_eq!(
                names,
                ["group_heartbeat_lost", "group_participant_missed"],
                "{fired:?}"
            );
            assert_eq!(state_of(&app, &hamlet, &call, &othello).await, "missed");
            assert_eq!(state_of(&app, &hamlet, &call, &hamlet).await, "left");
            assert!(run_cleanup(&app).await.is_empty(), "nothing twice");
        } else {
            assert_eq!(state_of(&app, &hamlet, &call, &othello).await, "missed");
            assert_eq!(call_state(&app, &hamlet, &call).await, "ended");
            assert!(run_cleanup(&app).await.is_empty(), "all fired on time");
        }
    }
}

/// §9 row 7: nothing can heartbeat a group call, so the joined (the host too) become `left`
/// 60 s after joining; the call ends 10 min after its creation; `left` and `ended` carry no
/// reason.
#[tokio::test]
async fn the_joined_are_dropped_after_a_minute_and_the_call_ends_after_ten() {
    for plugin in [true, false] {
        let app = server(plugin).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let cordelia = app.account("cordelia@zulip.com");
        let call = create_ok(&app, &hamlet, &[&othello, &cordelia]).await;
        let mut inbox = Inbox::open(&app, &cordelia).await;
        app.advance_virtual(30).await;
        act(&app, &othello, &call, "join").await;
        // Both heartbeat every 15 s: the contract keeps them; the plugin's `heartbeat` view
        // knows 1:1 calls only.
        for _ in 0..3 {
            app.advance_virtual(15).await;
            for who in [&hamlet, &othello] {
                let (status, body) = app
                    .post(who, "calls/heartbeat", &[("call_id", &call)])
                    .await;
                if plugin {
                    assert_eq!(status, 400, "{body}");
                    assert_eq!(body["msg"], "Call not found");
                } else {
                    assert_eq!(status, 200, "{body}");
                }
            }
        }
        app.advance_virtual(1).await; // 76 s
        if !plugin {
            assert_eq!(state_of(&app, &hamlet, &call, &hamlet).await, "joined");
            assert_eq!(state_of(&app, &hamlet, &call, &othello).await, "joined");
            act(&app, &othello, &call, "leave").await;
            act(&app, &hamlet, &call, "end").await;
            let events = inbox.take(&app).await;
            let left = events.iter().find(|e| e["op"] == "participant_left");
            assert_eq!(left.unwrap()["reason"], "left");
            let ended = events.iter().find(|e| e["op"] == "ended").unwrap();
            assert_eq!(ended["reason"], "host_ended");
            continue;
        }
        run_cleanup(&app).await;
        assert_eq!(state_of(&app, &othello, &call, &hamlet).await, "left");
        assert_eq!(state_of(&app, &othello, &call, &othello).await, "joined");
        app.advance_virtual(15).await; // 91 s
        run_cleanup(&app).await;
        assert_eq!(state_of(&app, &othello, &call, &othello).await, "left");
        assert_eq!(state_of(&app, &othello, &call, &cordelia).await, "missed");
        assert_eq!(call_state(&app, &hamlet, &call).await, "active");
        // Read before the queue's idle lifespan runs out.
        let mut events = inbox.take(&app).await;
        app.advance_virtual(508).await; // 599 s
        run_cleanup(&app).await;
        assert_eq!(call_state(&app, &hamlet, &call).await, "active");
        let mut inbox = Inbox::open(&app, &cordelia).await;
        app.advance_virtual(1).await;
        run_cleanup(&app).await;
        assert_eq!(call_state(&app, &hamlet, &call).await, "ended");
        events.extend(inbox.take(&app).await);
        assert_eq!(
            ops(&events),
            // Othello's drop (at 91 s) comes before Cordelia's miss, in the cleanup's order.
            [
                "participant_joined",
                "participant_left",
                "participant_left",
                "ended"
            ],
            "{events:#?}"
        );
        for event in &events {
            assert!(event.get("reason").is_none(), "{event}");
        }
    }
}

/// §9 row 8: an invitee whose ring ran out is `missed` with no event and no push, and no
/// `group_call_cancelled` push is ever sent.
#[tokio::test]
async fn unanswered_invitees_are_missed_silently() {
    for plugin in [true, false] {
        let app = server(plugin).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        android(&app, &othello).await;
        let mut host = Inbox::open(&app, &hamlet).await;
        let mut invitee = Inbox::open(&app, &othello).await;
        let call = create_ok(&app, &hamlet, &[&othello]).await;
        // The host heartbeats (in vain on the plugin) until the ring runs out.
        for _ in 0..9 {
            app.advance_virtual(15).await;
            app.post(&hamlet, "calls/heartbeat", &[("call_id", &call)])
                .await;
        }
        app.advance_virtual(1).await; // 136 s
        run_cleanup(&app).await;
        assert_eq!(state_of(&app, &hamlet, &call, &othello).await, "missed");
        let told: Vec<Value> = [host.take(&app).await, invitee.take(&app).await].concat();
        let missed = told
            .iter()
            .filter(|e| e["op"] == "participant_missed")
            .count();
        let sent = pushes(&app, "othello@zulip.com").await;
        if plugin {
            assert_eq!(missed, 0, "{told:#?}");
            assert_eq!(sent.len(), 1, "the invitation only: {sent:#?}");
        } else {
            assert_eq!(missed, 2, "to the host and the invitee: {told:#?}");
            assert_eq!(sent.len(), 2, "{sent:#?}");
            assert_eq!(sent[1]["event"], "group_call_cancelled");
        }
    }
}

/// §9 row 9: `end` of an ended call, and `leave` by a participant already out, are refused.
#[tokio::test]
async fn an_ended_call_refuses_end_and_leave() {
    for plugin in [true, false] {
        let app = server(plugin).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let call = create_ok(&app, &hamlet, &[&othello]).await;
        act(&app, &othello, &call, "join").await;
        let (status, _) = act(&app, &hamlet, &call, "end").await;
        assert_eq!(status, 200);
        let (status, body) = act(&app, &hamlet, &call, "end").await;
        let (left, left_body) = act(&app, &othello, &call, "leave").await;
        if plugin {
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["message"], "Call already ended");
            assert_eq!(left, 400, "{left_body}");
            assert_eq!(left_body["message"], "Already left call");
        } else {
            assert_eq!((status, left), (200, 200), "{body} {left_body}");
        }
    }
}

/// Anyone of the realm who knows a call's id can join it (the plugin's `join` view).
#[tokio::test]
async fn anyone_of_the_realm_who_knows_the_id_can_join() {
    for plugin in [true, false] {
        let app = server(plugin).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let iago = app.account("iago@zulip.com");
        let king = app.account("king@lear.org");
        let call = create_ok(&app, &hamlet, &[&othello]).await;
        let (status, body) = act(&app, &iago, &call, "join").await;
        if plugin {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["participant_count"], 2);
            assert_eq!(state_of(&app, &iago, &call, &iago).await, "joined");
        } else {
            assert_eq!(status, 404, "{body}");
        }
        let (status, body) = act(&app, &king, &call, "join").await;
        assert_eq!(status, 404, "another realm's call: {body}");
    }
}

/// The plugin's group invitation push: its legacy `call` push alone, about the group call
/// (bare room URL, the inviter as the caller), which its app takes for a 1:1 call.
#[tokio::test]
async fn invitations_are_pushed_as_the_plugins_call_push() {
    for plugin in [true, false] {
        let app = server(plugin).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let iago = app.account("iago@zulip.com");
        android(&app, &othello).await;
        android(&app, &iago).await;
        let (status, body) = app
            .post(
                &hamlet,
                "calls/group/create",
                &[("user_ids", &othello.id.to_string()), ("title", "Standup")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let call = body["call_id"].as_str().unwrap().to_owned();
        let sent = pushes(&app, "othello@zulip.com").await;
        assert_eq!(sent.len(), 1, "{sent:#?}");
        let message = &sent[0]["request"]["request"]["message"];
        if !plugin {
            assert_eq!(sent[0]["event"], "group_call");
            assert_eq!(message["data"]["event"], "group_call");
            continue;
        }
        assert_eq!(sent[0]["event"], "call");
        assert_eq!(message["data"]["title"], "Incoming video call");
        assert_eq!(message["data"]["content"], "King Hamlet is calling you");
        let custom = message["data"]["custom"].as_str().unwrap();
        assert!(
            custom.starts_with(&format!(
                "{{'event': 'call', 'type': 'call', 'call_id': '{call}', 'sender_id': '{}', \
                 'sender_full_name': 'King Hamlet'",
                hamlet.id
            )),
            "{custom}"
        );
        let room = body["call_url"].as_str().unwrap();
        assert!(!room.contains('?') && !room.contains('#'), "{room}");
        assert!(
            custom.contains(&format!("'jitsi_url': '{room}'")),
            "{custom}"
        );
        // Invited by a participant: they are the caller.
        act(&app, &othello, &call, "join").await;
        app.post(
            &othello,
            &format!("calls/group/{call}/invite"),
            &[("user_ids", &iago.id.to_string())],
        )
        .await;
        let sent = pushes(&app, "iago@zulip.com").await;
        assert_eq!(sent.len(), 1, "{sent:#?}");
        let custom = sent[0]["request"]["request"]["message"]["data"]["custom"]
            .as_str()
            .unwrap();
        assert!(
            custom.contains(&format!("'sender_id': '{}'", othello.id)),
            "{custom}"
        );
    }
}

/// The plugin's group views: its order of checks, statuses and words, `message` only.
#[tokio::test]
async fn group_views_answer_in_the_plugins_words() {
    for plugin in [true, false] {
        let app = server(plugin).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let iago = app.account("iago@zulip.com");
        let (status, created) = create(&app, &hamlet, &othello.id.to_string()).await;
        assert_eq!(status, 200);
        assert_eq!(created.get("msg").is_none(), plugin, "{created}");
        let call = created["call_id"].as_str().unwrap();
        let (status, body) = app
            .get(&iago, &format!("calls/group/{call}/status"), &[])
            .await;
        if plugin {
            assert_eq!(status, 403, "{body}");
            assert_eq!(
                body,
                serde_json::json!({"result": "error", "message": "Not authorized to view this call"})
            );
        } else {
            assert_eq!(status, 404, "{body}");
            assert!(body["code"].is_string(), "{body}");
        }
        let (status, body) = act(&app, &hamlet, "not-a-uuid", "join").await;
        if plugin {
            assert_eq!(status, 500, "{body}");
            assert_eq!(
                body["message"],
                "Failed to join call: ['“not-a-uuid” is not a valid UUID.']"
            );
        } else {
            assert_eq!(status, 400, "{body}");
        }
        let (status, body) = act(&app, &othello, call, "decline").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = act(&app, &othello, call, "decline").await;
        if plugin {
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["message"], "Cannot decline call in state: declined");
        } else {
            assert_eq!(status, 200, "a no-op: {body}");
        }
    }
}

/// The plugin's `group_call` events: `created` lists the host alone, each invitation lists
/// the participants created so far, the host is told of the invitations.
#[tokio::test]
async fn group_events_are_the_plugins() {
    for plugin in [true, false] {
        let app = server(plugin).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let cordelia = app.account("cordelia@zulip.com");
        let mut host = Inbox::open(&app, &hamlet).await;
        let mut first = Inbox::open(&app, &othello).await;
        let mut second = Inbox::open(&app, &cordelia).await;
        let mut invitees = [othello.id, cordelia.id];
        invitees.sort_unstable();
        create_ok(&app, &hamlet, &[&othello, &cordelia]).await;
        let to_host = host.take(&app).await;
        let listed = |event: &Value| event["participants"].as_array().unwrap().len();
        let (lower, higher) = if othello.id < cordelia.id {
            (first.take(&app).await, second.take(&app).await)
        } else {
            (second.take(&app).await, first.take(&app).await)
        };
        if plugin {
            assert_eq!(ops(&to_host), ["created", "participants_invited"]);
            assert_eq!(listed(&to_host[0]), 1, "the host alone");
            assert_eq!(listed(&lower[0]), 2, "{:#?}", lower[0]);
            assert_eq!(listed(&higher[0]), 3);
            assert_eq!(lower[0]["was_offline"], true);
        } else {
            assert_eq!(ops(&to_host), ["created"]);
            assert_eq!(listed(&to_host[0]), 3);
            assert_eq!(listed(&lower[0]), 3);
            assert_eq!(listed(&higher[0]), 3);
        }
    }
}

/// The plugin's participant rules: invitees never ring; an invitee may leave; the host's
/// `end` leaves invitees `invited`; an invitation again keeps the first `invited_at`.
#[tokio::test]
async fn participants_follow_the_plugins_rules() {
    for plugin in [true, false] {
        let app = server(plugin).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let cordelia = app.account("cordelia@zulip.com");
        let iago = app.account("iago@zulip.com");
        android(&app, &othello).await;
        let call = create_ok(&app, &hamlet, &[&othello, &cordelia, &iago]).await;
        let reached = state_of(&app, &hamlet, &call, &othello).await;
        assert_eq!(reached, if plugin { "invited" } else { "ringing" });

        let (status, body) = act(&app, &cordelia, &call, "leave").await;
        assert_eq!(status, if plugin { 200 } else { 400 }, "{body}");

        let invited_at = |body: &Value| {
            body["participants"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["user_id"] == iago.id)
                .unwrap()["invited_at"]
                .clone()
        };
        let (_, before) = app
            .get(&hamlet, &format!("calls/group/{call}/participants"), &[])
            .await;
        act(&app, &iago, &call, "decline").await;
        app.advance_virtual(10).await;
        let (status, body) = app
            .post(
                &hamlet,
                &format!("calls/group/{call}/invite"),
                &[("user_ids", &iago.id.to_string())],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, after) = app
            .get(&hamlet, &format!("calls/group/{call}/participants"), &[])
            .await;
        assert_eq!(invited_at(&before) == invited_at(&after), plugin);

        act(&app, &hamlet, &call, "end").await;
        let after_end = state_of(&app, &hamlet, &call, &othello).await;
        assert_eq!(after_end, if plugin { "invited" } else { "missed" });
    }
}

//! The 1.1 dialect against the mock, written from its spec: every endpoint's answers and
//! events in each `CALLS_API` mode that serves it (404 where it does not), the mobile app's
//! quoted values, idempotent answers on finished calls, busy, the heartbeat watch on the
//! virtual clock and across a restart, and one call whose parties speak different dialects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::{Value, json};
use zulip_calls_protocol::CallsApi;
use zulip_calls_protocol::settings::Settings;

use common::{Account, Options, TestApp, ops, spawn_virtual, spawn_with, t0};

/// A server speaking `calls_api`, on a virtual clock starting at [`t0`].
async fn server(calls_api: CallsApi) -> TestApp {
    spawn_virtual(Settings {
        calls_api,
        ..Settings::default()
    })
    .await
}

/// Creates a call as the mobile app sends it (every value JSON-quoted) and returns its id.
async fn create_quoted(app: &TestApp, from: &Account, to: &Account) -> (String, Value) {
    let user_id = format!("\"{}\"", to.id);
    let (status, body) = app
        .post(
            from,
            "calls/create",
            &[("user_id", &user_id), ("is_video_call", "\"true\"")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (body["call_id"].as_str().unwrap().to_owned(), body)
}

#[tokio::test]
async fn a_full_call_in_each_mode_that_serves_the_dialect() {
    for calls_api in [CallsApi::V1_1, CallsApi::Both] {
        let app = server(calls_api).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let (hq, oq) = (
            app.register_1_1(&hamlet).await,
            app.register_1_1(&othello).await,
        );
        let (mut hl, mut ol) = (-1, -1);

        let (call, created) = create_quoted(&app, &hamlet, &othello).await;
        assert_eq!(created["call_type"], "video", "{calls_api}");
        assert_eq!(created["receiver_online"], true);
        assert_eq!(created["recipient"]["user_id"], othello.id);
        // A 1.1 server answers exactly its fields; one serving both adds the design's.
        assert_eq!(created.get("call").is_some(), calls_api == CallsApi::Both);
        let caller = app.drain_events(&hamlet, &hq, &mut hl).await;
        let receiver = app.drain_events(&othello, &oq, &mut ol).await;
        assert_eq!(ops(&caller), ["initiated"], "{calls_api}");
        assert_eq!(ops(&receiver), ["incoming_call"]);
        assert_eq!(receiver[0]["type"], "call");
        assert_eq!(receiver[0]["receiver_was_offline"], false);
        assert_eq!(receiver[0]["timeout_seconds"], 120);
        assert_eq!(receiver[0]["sender"]["user_id"], hamlet.id);
        assert_eq!(receiver[0]["user_id"], hamlet.id);

        // The app acknowledges with a quoted id and no `status`.
        let quoted = format!("\"{call}\"");
        let (status, body) = app
            .post(&othello, "calls/acknowledge", &[("call_id", &quoted)])
            .await;
        assert_eq!(
            (status, &body["call_status"]),
            (200, &json!("ringing")),
            "{body}"
        );
        assert_eq!(
            ops(&app.drain_events(&hamlet, &hq, &mut hl).await),
            ["ringing"]
        );
        assert_eq!(
            ops(&app.drain_events(&othello, &oq, &mut ol).await),
            ["ringing"]
        );

        let (status, body) = app
            .post(
                &othello,
                &format!("calls/{call}/respond"),
                &[("response", "accept")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["action"], "accept");
        assert!(body["call_url"].as_str().unwrap().contains("zulip-call-"));
        let accepted = app.drain_events(&hamlet, &hq, &mut hl).await;
        assert_eq!(ops(&accepted), ["accepted"]);
        assert_eq!(accepted[0]["user_id"], othello.id);
        assert_eq!(accepted[0]["state"], "accepted");
        assert_eq!(
            ops(&app.drain_events(&othello, &oq, &mut ol).await),
            ["accepted"]
        );

        for who in [&hamlet, &othello] {
            let (status, body) = app
                .post(who, "calls/heartbeat", &[("call_id", &call)])
                .await;
            assert_eq!((status, &body["call_state"]), (200, &json!("accepted")));
        }
        let (status, body) = app.get(&hamlet, &format!("calls/{call}/status"), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["call"]["status"], "accepted");
        assert_eq!(body["call"]["caller_id"], hamlet.id);
        assert!(body["call"]["call_url"].is_string());

        app.advance_virtual(42).await;
        let (status, body) = app.post(&hamlet, &format!("calls/{call}/end"), &[]).await;
        assert_eq!(
            (status, &body["message"]),
            (200, &json!("Call ended successfully"))
        );
        let ended = app.drain_events(&othello, &oq, &mut ol).await;
        assert_eq!(ops(&ended), ["ended"]);
        assert_eq!(ended[0]["reason"], "hangup");
        assert_eq!(ended[0]["duration"], 42);
        assert_eq!(
            ops(&app.drain_events(&hamlet, &hq, &mut hl).await),
            ["ended"]
        );

        // A finished call: every answer is idempotent and emits nothing.
        let (status, body) = app.post(&othello, &format!("calls/{call}/end"), &[]).await;
        assert_eq!(
            (status, &body["message"]),
            (200, &json!("Call already ended"))
        );
        let (status, body) = app
            .post(
                &othello,
                &format!("calls/{call}/respond"),
                &[("response", "accept")],
            )
            .await;
        assert_eq!((status, &body["action"]), (200, &json!("noop")), "{body}");
        assert_eq!(body["message"], "Call already ended");
        let (status, body) = app
            .post(&hamlet, &format!("calls/{call}/cancel"), &[])
            .await;
        assert_eq!(
            (status, &body["message"]),
            (200, &json!("Call already ended"))
        );
        let (status, body) = app
            .post(&hamlet, "calls/heartbeat", &[("call_id", &call)])
            .await;
        assert_eq!((status, &body["call_state"]), (200, &json!("ended")));
        let (status, body) = app
            .post(&othello, "calls/acknowledge", &[("call_id", &call)])
            .await;
        if calls_api == CallsApi::V1_1 {
            assert_eq!(
                (status, &body["call_status"]),
                (200, &json!("ended")),
                "{body}"
            );
            assert_eq!(body["message"], "Call already ended");
        } else {
            // A server of both keeps the design dialect's answer on the shared path.
            assert_eq!((status, &body["code"]), (409, &json!("INVALID_CALL_STATE")));
            assert_eq!(body["call_status"], "ended");
        }
        assert!(app.drain_events(&hamlet, &hq, &mut hl).await.is_empty());
        assert!(app.drain_events(&othello, &oq, &mut ol).await.is_empty());
        let (_, body) = app
            .get(&othello, &format!("calls/{call}/status"), &[])
            .await;
        assert_eq!(body["call"]["status"], "ended");
        assert_eq!(body["call"]["duration"], 42);
        assert!(body["call"]["call_url"].is_null());
    }
}

#[tokio::test]
async fn each_mode_answers_404_on_the_other_dialects_own_paths() {
    let design = server(CallsApi::Design).await;
    let only_1_1 = server(CallsApi::V1_1).await;
    for app in [&design, &only_1_1] {
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let (call, _) = create_quoted(app, &hamlet, &othello).await;
        let own_1_1 = [
            ("POST", format!("calls/{call}/respond")),
            ("POST", format!("calls/{call}/cancel")),
            ("POST", format!("calls/{call}/end")),
            ("GET", format!("calls/{call}/status")),
            ("POST", "calls/heartbeat".to_owned()),
        ];
        let own_design = [
            ("POST", "calls/start".to_owned()),
            ("POST", "calls/initiate".to_owned()),
            ("POST", "calls/respond".to_owned()),
            ("POST", "calls/status".to_owned()),
            ("POST", "calls/end".to_owned()),
            ("POST", "calls/end-all".to_owned()),
            ("GET", "calls/active".to_owned()),
            ("POST", "calls/cleanup".to_owned()),
            ("GET", format!("calls/{call}")),
        ];
        let absent = if std::ptr::eq(app, &design) {
            own_1_1.to_vec()
        } else {
            own_design.to_vec()
        };
        for (method, path) in absent {
            let request = match method {
                "GET" => app.http.get(app.url(&path)),
                _ => app.http.post(app.url(&path)),
            };
            let response = request
                .basic_auth(&hamlet.email, Some(&hamlet.key))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                (status, &body["code"]),
                (404, &json!("NOT_FOUND")),
                "{method} {path}"
            );
        }
        // The shared paths are there in every mode.
        let (status, _) = app.get(&hamlet, "calls/history", &[("limit", "1")]).await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn decline_cancel_and_busy_in_the_1_1_dialect() {
    let app = server(CallsApi::V1_1).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let iago = app.account("iago@zulip.com");
    let hq = app.register_1_1(&hamlet).await;
    let mut hl = -1;

    let (call, _) = create_quoted(&app, &hamlet, &othello).await;
    let (status, body) = app
        .post(
            &othello,
            &format!("calls/{call}/respond"),
            &[("response", "decline")],
        )
        .await;
    assert_eq!(
        (status, &body["action"]),
        (200, &json!("decline")),
        "{body}"
    );
    assert!(body["call_url"].is_null());
    assert_eq!(
        ops(&app.drain_events(&hamlet, &hq, &mut hl).await),
        ["initiated", "declined"]
    );

    let (call, _) = create_quoted(&app, &hamlet, &othello).await;
    let (status, body) = app
        .post(&othello, &format!("calls/{call}/cancel"), &[])
        .await;
    assert_eq!((status, &body["code"]), (403, &json!("NOT_A_PARTICIPANT")));
    assert_eq!(
        body["message"], body["msg"],
        "1.1 errors carry `message` too"
    );

    // Busy either way: the caller's own call is named, the receiver's is not.
    let (status, body) = app
        .post(
            &hamlet,
            "calls/create",
            &[("user_id", &iago.id.to_string())],
        )
        .await;
    assert_eq!(
        (status, &body["code"]),
        (409, &json!("CALLER_BUSY")),
        "{body}"
    );
    assert_eq!(body["msg"], "You are already in a call");
    assert_eq!(body["existing_call_id"], call.as_str());
    let (status, body) = app
        .post(
            &iago,
            "calls/create",
            &[("user_id", &othello.id.to_string())],
        )
        .await;
    assert_eq!(
        (status, &body["code"]),
        (409, &json!("USER_BUSY")),
        "{body}"
    );
    assert!(body.get("existing_call_id").is_none());

    let (status, body) = app
        .post(&hamlet, &format!("calls/{call}/cancel"), &[])
        .await;
    assert_eq!(
        (status, &body["message"]),
        (200, &json!("Call cancelled successfully"))
    );
    let cancelled = app.drain_events(&hamlet, &hq, &mut hl).await;
    assert_eq!(ops(&cancelled), ["initiated", "cancelled"]);
    assert_eq!(cancelled[1]["state"], "cancelled");
}

/// Hamlet answers Othello, then only Othello heartbeats: 60 s after the answer, Hamlet's
/// silence ends the call as `network_failure`, on the virtual clock.
#[tokio::test]
async fn a_silent_party_ends_an_accepted_call_as_network_failure() {
    let app = server(CallsApi::V1_1).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let oq = app.register_1_1(&othello).await;
    let mut ol = -1;
    let (call, _) = create_quoted(&app, &othello, &hamlet).await;
    let (status, _) = app
        .post(
            &hamlet,
            &format!("calls/{call}/respond"),
            &[("response", "accept")],
        )
        .await;
    assert_eq!(status, 200);
    for _ in 0..5 {
        app.advance_virtual(11).await;
        let (_, body) = app
            .post(&othello, "calls/heartbeat", &[("call_id", &call)])
            .await;
        assert_eq!(body["call_state"], "accepted");
    }
    // 55 s after the answer: still up. Then Hamlet's 60 s pass.
    app.advance_virtual(4).await;
    let (_, body) = app
        .get(&othello, &format!("calls/{call}/status"), &[])
        .await;
    assert_eq!(body["call"]["state"], "accepted");
    app.advance_virtual(1).await;
    let (_, body) = app
        .get(&othello, &format!("calls/{call}/status"), &[])
        .await;
    assert_eq!(body["call"]["state"], "network_failure", "{body}");
    assert_eq!(body["call"]["status"], "ended");
    let ended = app.drain_events(&othello, &oq, &mut ol).await;
    let last = ended.last().unwrap();
    assert_eq!(
        (last["op"].as_str(), last["reason"].as_str()),
        (Some("ended"), Some("network_failure"))
    );
    assert!(last["user_id"].is_null(), "the server acted");
}

/// On a server of both dialects, a party is watched only once it heartbeats: a design client,
/// which never does, is not cut off.
#[tokio::test]
async fn a_server_of_both_watches_a_party_from_its_first_heartbeat() {
    let app = server(CallsApi::Both).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let call = app.call(&hamlet, &othello).await;
    let (status, _) = app
        .post(
            &othello,
            "calls/respond",
            &[("call_id", &call), ("response", "accept")],
        )
        .await;
    assert_eq!(status, 200);
    app.advance_virtual(600).await;
    let (_, body) = app.get(&hamlet, &format!("calls/{call}"), &[]).await;
    assert_eq!(body["call"]["state"], "accepted");
    let (_, body) = app
        .post(&othello, "calls/heartbeat", &[("call_id", &call)])
        .await;
    assert_eq!(body["call_state"], "accepted");
    app.advance_virtual(59).await;
    let (_, body) = app.get(&hamlet, &format!("calls/{call}"), &[]).await;
    assert_eq!(body["call"]["state"], "accepted");
    app.advance_virtual(1).await;
    let (_, body) = app.get(&hamlet, &format!("calls/{call}"), &[]).await;
    assert_eq!(body["call"]["state"], "network_failure");
    assert_eq!(body["call"]["end_reason"], "network_failure");
}

/// The watch's deadline is stored: a server restarted on the same database ends the call
/// when the last heartbeat is 60 s old, not 60 s after the restart.
#[tokio::test]
async fn a_heartbeat_deadline_survives_a_restart() {
    let settings = Settings {
        calls_api: CallsApi::V1_1,
        ..Settings::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("restart.sqlite3");
    let (hamlet, call) = {
        let first = spawn_with(Options {
            settings: settings.clone(),
            manual_clock: Some(t0()),
            virtual_clock: true,
            db: Some(db.clone()),
            ..Options::default()
        })
        .await;
        let hamlet = first.account("hamlet@zulip.com");
        let othello = first.account("othello@zulip.com");
        let (call, _) = create_quoted(&first, &hamlet, &othello).await;
        first
            .post(
                &othello,
                &format!("calls/{call}/respond"),
                &[("response", "accept")],
            )
            .await;
        first.advance_virtual(30).await;
        for who in [&hamlet, &othello] {
            first
                .post(who, "calls/heartbeat", &[("call_id", &call)])
                .await;
        }
        (hamlet, call)
    };
    // Back 85 s after the answer: the heartbeats were 55 s ago.
    let second = spawn_with(Options {
        settings,
        manual_clock: Some(t0().plus_seconds(85)),
        virtual_clock: true,
        db: Some(db),
        ..Options::default()
    })
    .await;
    let (_, body) = second
        .get(&hamlet, &format!("calls/{call}/status"), &[])
        .await;
    assert_eq!(body["call"]["state"], "accepted", "{body}");
    second.advance_virtual(5).await;
    let (_, body) = second
        .get(&hamlet, &format!("calls/{call}/status"), &[])
        .await;
    assert_eq!(body["call"]["state"], "network_failure", "{body}");
}

/// One call, two dialects: Hamlet's client speaks the design dialect, Othello's the 1.1
/// dialect; each queue gets the call's events in its own dialect, and only those.
#[tokio::test]
async fn a_call_placed_in_one_dialect_is_answered_in_the_other() {
    let app = server(CallsApi::Both).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let hq = app.register(&hamlet).await;
    let oq = app.register_1_1(&othello).await;
    // A queue that names neither dialect gets the server's default, the design dialect.
    let (status, body) = app.post(&othello, "register", &[]).await;
    assert_eq!(status, 200);
    let default_q = body["queue_id"].as_str().unwrap().to_owned();
    let (mut hl, mut ol, mut dl) = (-1, -1, -1);

    let call = app.call(&hamlet, &othello).await;
    let (status, body) = app
        .post(
            &othello,
            &format!("calls/{call}/respond"),
            &[("response", "accept")],
        )
        .await;
    assert_eq!((status, &body["action"]), (200, &json!("accept")));
    let (status, _) = app.post(&hamlet, "calls/end", &[("call_id", &call)]).await;
    assert_eq!(status, 200);

    let design: Vec<Value> = app.drain_events(&hamlet, &hq, &mut hl).await;
    let names: Vec<&str> = design
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["call_started", "call_accepted", "call_ended"]);
    assert!(design.iter().all(|e| e["type"] == "call_event"));
    let plugin = app.drain_events(&othello, &oq, &mut ol).await;
    assert_eq!(ops(&plugin), ["incoming_call", "accepted", "ended"]);
    assert!(plugin.iter().all(|e| e["type"] == "call"));
    let default = app.drain_events(&othello, &default_q, &mut dl).await;
    assert!(
        default.iter().all(|e| e["type"] == "call_event"),
        "{default:?}"
    );
    assert_eq!(default.len(), 3);

    // `wait-for` finds a 1.1 event by its op, alone or as `type.op`.
    for event_type in ["accepted", "call.accepted"] {
        let waited: Value = app
            .http
            .post(app.control_url("wait-for"))
            .json(&json!({
                "condition": {
                    "kind": "event",
                    "user": othello.email,
                    "event_type": event_type,
                    "call_id": call,
                },
                "timeout_seconds": 1,
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(waited["result"], "success", "{event_type}: {waited}");
        assert_eq!(waited["matched"]["call_event_type"], "accepted", "{waited}");
    }

    // The control API tells the queues' dialects apart.
    let listed: Value = app
        .http
        .get(app.control_url("queues"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dialects: Vec<&str> = listed["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["dialect"].as_str().unwrap())
        .collect();
    assert_eq!(dialects, ["design", "1.1", "design"]);
    // So does `/metrics`.
    let metrics = app
        .http
        .get(format!("{}/metrics", app.server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "zulip_calls_mock_event_queues_by_dialect{dialect=\"design\"} 2",
        "zulip_calls_mock_event_queues_by_dialect{dialect=\"1.1\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }
}

/// The 1.1 history pages by cursor, newest first, and filters by type and status.
#[tokio::test]
async fn history_pages_by_cursor_and_filters() {
    let app = server(CallsApi::V1_1).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let mut placed = Vec::new();
    for n in 0..5 {
        let (call, _) = create_quoted(&app, &hamlet, &othello).await;
        let path = format!("calls/{call}/respond");
        let response = if n % 2 == 0 { "accept" } else { "decline" };
        app.post(&othello, &path, &[("response", response)]).await;
        app.post(&hamlet, &format!("calls/{call}/end"), &[]).await;
        placed.push(call);
        app.advance_virtual(1).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = app.get(&othello, "calls/history", &query).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.get("total").is_none(),
            "a 1.1 server answers only its fields"
        );
        for call in body["calls"].as_array().unwrap() {
            assert_eq!(call["was_initiator"], false);
            assert_eq!(call["other_user"]["user_id"], hamlet.id);
            seen.push(call["call_id"].as_str().unwrap().to_owned());
        }
        match body["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(body["has_more"], true);
                cursor = Some(next.to_owned());
            }
            None => {
                assert_eq!(body["has_more"], false);
                break;
            }
        }
    }
    placed.reverse();
    assert_eq!(seen, placed, "newest first, each once");
    let (_, body) = app
        .get(&hamlet, "calls/history", &[("status", "\"answered\"")])
        .await;
    let states: Vec<&str> = body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["ended", "ended", "ended"]);
    let (_, body) = app
        .get(&hamlet, "calls/history", &[("call_type", "audio")])
        .await;
    assert!(body["calls"].as_array().unwrap().is_empty());
}

/// A push carries the keys the plugin's mobile app reads (`type`, `sender_name`, ...) where
/// the server speaks the 1.1 dialect, and only the design dialect's keys where it does not.
#[tokio::test]
async fn pushes_carry_the_mobile_apps_keys_where_the_server_speaks_1_1() {
    for (calls_api, with_app_keys) in [
        (CallsApi::V1_1, true),
        (CallsApi::Both, true),
        (CallsApi::Design, false),
    ] {
        let app = server(calls_api).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let (status, _) = app
            .post(
                &othello,
                "users/me/android_gcm_reg_id",
                &[("token", "phone")],
            )
            .await;
        assert_eq!(status, 200);
        create_quoted(&app, &hamlet, &othello).await;
        let listed: Value = app
            .http
            .get(app.control_url("pushes"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let pushes = listed["pushes"].as_array().unwrap();
        assert_eq!(
            pushes.len(),
            1,
            "{calls_api}: one push per device and event"
        );
        let data = &pushes[0]["request"]["request"]["message"]["data"];
        assert_eq!(data["event"], "call");
        assert_eq!(
            data.get("type").is_some(),
            with_app_keys,
            "{calls_api}: {data}"
        );
        if with_app_keys {
            assert_eq!(data["type"], "call");
            assert_eq!(data["sender_name"], "King Hamlet");
            assert_eq!(data["sender_avatar_url"], "/avatar/10");
            assert_eq!(data["realm_id"], "1");
        }
    }
}

/// Both called each other at once, on a 1.1-only server: the second caller's busy answer, in
/// the 1.1 dialect's words, says the call it names is the callee's call to them.
#[tokio::test]
async fn calling_each_other_at_once_says_calling_you() {
    let app = server(CallsApi::V1_1).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let (call, _) = create_quoted(&app, &hamlet, &othello).await;
    let (status, body) = app
        .post(
            &othello,
            "calls/create",
            &[("user_id", &hamlet.id.to_string())],
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "CALLER_BUSY");
    assert_eq!(body["msg"], "You are already in a call");
    assert_eq!(body["existing_call_id"], json!(call));
    assert_eq!(body["calling_you"], true, "{body}");

    // The caller trying again is busy with their own call: no flag.
    let (status, body) = app
        .post(
            &hamlet,
            "calls/create",
            &[("user_id", &othello.id.to_string())],
        )
        .await;
    assert_eq!((status, &body["code"]), (409, &json!("CALLER_BUSY")));
    assert!(body.get("calling_you").is_none(), "{body}");
}

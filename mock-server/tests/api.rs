//! The server over real HTTP on port 0: the call lifecycle, events, errors, persistence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Account, Options, spawn, spawn_with};
use serde_json::Value;
use zulip_calls_protocol::settings::Settings;

#[tokio::test]
async fn full_lifecycle_with_events_on_both_sides() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let hq = app.register(&hamlet).await;
    let oq = app.register(&othello).await;
    let (mut hl, mut ol) = (-1, -1);

    let othello_id = app
        .server
        .state
        .core
        .directory()
        .user_by_email("othello@zulip.com")
        .unwrap()
        .id
        .0
        .to_string();
    let (status, started) = app
        .post(
            &hamlet,
            "calls/start",
            &[("user_id", &othello_id), ("call_type", "audio")],
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let call_id = started["call_id"].as_str().unwrap().to_owned();
    assert!(
        started["join_url"]
            .as_str()
            .unwrap()
            .contains("startWithVideoMuted=true")
    );

    let ring = app.next_call_event(&othello, &oq, &mut ol).await;
    assert_eq!(ring["event_type"], "call_started");
    assert_eq!(ring["timeout_seconds"], 120);
    assert!(ring.get("join_url").is_none());

    let (status, ack) = app
        .post(&othello, "calls/acknowledge", &[("call_id", &call_id)])
        .await;
    assert_eq!(
        (status, ack["call_status"].as_str()),
        (200, Some("ringing"))
    );
    assert_eq!(
        app.next_call_event(&hamlet, &hq, &mut hl).await["event_type"],
        "call_started"
    );
    assert_eq!(
        app.next_call_event(&hamlet, &hq, &mut hl).await["event_type"],
        "participant_ringing"
    );

    let (status, accepted) = app
        .post(
            &othello,
            "calls/respond",
            &[("call_id", &call_id), ("response", "accept")],
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert!(accepted["join_url"].as_str().unwrap().contains("Othello"));
    assert_eq!(
        app.next_call_event(&hamlet, &hq, &mut hl).await["event_type"],
        "call_accepted"
    );

    let (status, _) = app
        .post(
            &hamlet,
            "calls/status",
            &[("call_id", &call_id), ("status", "muted")],
        )
        .await;
    assert_eq!(status, 200);
    let update = app.next_call_event(&hamlet, &hq, &mut hl).await;
    assert_eq!(
        (update["event_type"].as_str(), update["status"].as_str()),
        (Some("call_status_update"), Some("muted"))
    );

    let (status, ended) = app
        .post(&othello, "calls/end", &[("call_id", &call_id)])
        .await;
    assert_eq!(
        (status, ended["call_status"].as_str()),
        (200, Some("ended"))
    );
    let end = app.next_call_event(&hamlet, &hq, &mut hl).await;
    assert_eq!(
        (end["event_type"].as_str(), end["reason"].as_str()),
        (Some("call_ended"), Some("hangup"))
    );

    // Ending again is idempotent and says how it ended.
    let (status, again) = app
        .post(&hamlet, "calls/end", &[("call_id", &call_id)])
        .await;
    assert_eq!(
        (status, again["call_status"].as_str()),
        (200, Some("ended"))
    );

    let (_, history) = app.get(&hamlet, "calls/history", &[]).await;
    assert_eq!(history["total"], 1);
    assert_eq!(history["calls"][0]["is_outgoing"], true);
}

#[tokio::test]
async fn errors_have_the_contract_codes() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let (status, body) = app.post(&hamlet, "calls/end", &[]).await;
    assert_eq!(
        (status, body["code"].as_str(), body["var_name"].as_str()),
        (400, Some("REQUEST_VARIABLE_MISSING"), Some("call_id"))
    );
    let (status, body) = app.post(&hamlet, "calls/end", &[("call_id", "nope")]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("BAD_REQUEST")));
    let (status, body) = app
        .post(
            &hamlet,
            "calls/end",
            &[("call_id", "7f1e5a52-3c9b-4d2e-8f6a-9b0c1d2e3f40")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("CALL_NOT_FOUND"))
    );
    let (status, body) = app
        .post(
            &hamlet,
            "calls/initiate",
            &[("recipient_email", "hamlet@zulip.com")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("CANNOT_CALL_SELF"))
    );
    let (status, body) = app
        .post(
            &hamlet,
            "calls/initiate",
            &[("recipient_email", "nobody@zulip.com")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("USER_NOT_FOUND"))
    );

    let (status, started) = app
        .post(
            &hamlet,
            "calls/initiate",
            &[("recipient_email", "othello@zulip.com")],
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let call_id = started["call_id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post(
            &hamlet,
            "calls/respond",
            &[("call_id", &call_id), ("response", "accept")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("NOT_A_PARTICIPANT"))
    );
    let (status, body) = app
        .post(
            &hamlet,
            "calls/initiate",
            &[("recipient_email", "othello@zulip.com")],
        )
        .await;
    assert_eq!(
        (
            status,
            body["code"].as_str(),
            body["existing_call_id"].as_str()
        ),
        (409, Some("CALLER_BUSY"), Some(call_id.as_str()))
    );
    let iago = app.account("iago@zulip.com");
    let (status, body) = app
        .post(
            &iago,
            "calls/initiate",
            &[("recipient_email", "othello@zulip.com")],
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("USER_BUSY")));
    assert!(body.get("existing_call_id").is_none());
    let (status, body) = app
        .post(
            &othello,
            "calls/status",
            &[("call_id", &call_id), ("status", "muted")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str(), body["call_status"].as_str()),
        (409, Some("INVALID_CALL_STATE"), Some("calling"))
    );

    let bad = Account {
        key: "wrong".into(),
        ..hamlet.clone()
    };
    let response = app
        .http
        .get(app.url("users/me"))
        .basic_auth(&bad.email, Some(&bad.key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"zulip\""
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_API_KEY");
    let response = app.http.get(app.url("users/me")).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn json_bodies_work_as_in_the_design_document() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello_id = app
        .server
        .state
        .core
        .directory()
        .user_by_email("othello@zulip.com")
        .unwrap()
        .id
        .0;
    let response = app
        .http
        .post(app.url("calls/start"))
        .basic_auth(&hamlet.email, Some(&hamlet.key))
        .json(&serde_json::json!({"user_id": othello_id, "call_type": "video"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"], "success");
    assert_eq!(body["timeout_seconds"], 120);
}

#[tokio::test]
async fn ring_timeout_fires_from_the_scheduler() {
    let app = spawn_with(Options {
        settings: Settings {
            call_ring_timeout: 1,
            ..Settings::default()
        },
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let hq = app.register(&hamlet).await;
    let mut last = -1;
    let (status, _) = app
        .post(
            &hamlet,
            "calls/initiate",
            &[("recipient_email", "othello@zulip.com")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.next_call_event(&hamlet, &hq, &mut last).await["event_type"],
        "call_started"
    );
    let ended = app.next_call_event(&hamlet, &hq, &mut last).await;
    assert_eq!(
        (ended["event_type"].as_str(), ended["reason"].as_str()),
        (Some("call_ended"), Some("timeout"))
    );
    assert!(ended["ended_by_id"].is_null());
}

#[tokio::test]
async fn calls_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("persist.sqlite3");
    let call_id = {
        let app = spawn_with(Options {
            db: Some(db.clone()),
            ..Options::default()
        })
        .await;
        let hamlet = app.account("hamlet@zulip.com");
        let (_, started) = app
            .post(
                &hamlet,
                "calls/initiate",
                &[("recipient_email", "othello@zulip.com")],
            )
            .await;
        started["call_id"].as_str().unwrap().to_owned()
    };
    let app = spawn_with(Options {
        db: Some(db),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let (status, body) = app.get(&hamlet, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["call"]["state"], "calling");
    let (_, active) = app.get(&hamlet, "calls/active", &[]).await;
    assert_eq!(active["count"], 1);
}

#[tokio::test]
async fn rate_limits_count_per_user_with_zulips_headers() {
    let app = spawn_with(Options {
        rate_limit_per_minute: 3,
        manual_clock: Some(common::t0()),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let get = || {
        app.http
            .get(app.url("users/me"))
            .basic_auth(&hamlet.email, Some(&hamlet.key))
            .send()
    };
    for remaining in ["2", "1", "0"] {
        let response = get().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["x-ratelimit-limit"], "3");
        assert_eq!(response.headers()["x-ratelimit-remaining"], remaining);
        assert_eq!(response.headers()["x-ratelimit-reset"], "1704110460");
    }
    let response = get().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "60");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMIT_HIT");
    assert_eq!(body["retry-after"], 60.0);

    let othello = app.account("othello@zulip.com");
    let (status, _) = app.get(&othello, "users/me", &[]).await;
    assert_eq!(status, 200, "limits are per user");

    app.advance(60);
    assert_eq!(get().await.unwrap().status().as_u16(), 200, "a new window");
}

#[tokio::test]
async fn every_device_of_the_receiver_rings_and_stops() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let phone = app.register(&othello).await;
    let laptop = app.register(&othello).await;
    let (mut phone_last, mut laptop_last) = (-1, -1);
    let (status, created) = app
        .post(
            &hamlet,
            "calls/create",
            &[("user_id", &othello.id.to_string())],
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["receiver_online"], true);
    let call_id = created["call_id"].as_str().unwrap().to_owned();
    for (queue, last) in [(&phone, &mut phone_last), (&laptop, &mut laptop_last)] {
        assert_eq!(
            app.next_call_event(&othello, queue, last).await["event_type"],
            "call_started"
        );
    }
    // Answered on the phone: the laptop learns it and stops ringing.
    let (status, _) = app
        .post(
            &othello,
            "calls/respond",
            &[("call_id", &call_id), ("response", "accept")],
        )
        .await;
    assert_eq!(status, 200);
    let accepted = app
        .next_call_event(&othello, &laptop, &mut laptop_last)
        .await;
    assert_eq!(accepted["event_type"], "call_accepted");
    assert!(
        accepted.get("join_url").is_none(),
        "join URLs never travel in events"
    );

    // Nobody is listening for Iago: not online.
    let iago = app.account("iago@zulip.com");
    let (_, created) = app
        .post(
            &iago,
            "calls/create",
            &[("recipient_email", "cordelia@zulip.com")],
        )
        .await;
    assert_eq!(created["receiver_online"], false);
}

#[tokio::test]
async fn realms_are_isolated() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let lear = app.account("king@lear.org");
    let (status, body) = app
        .post(
            &hamlet,
            "calls/initiate",
            &[("recipient_email", "king@lear.org")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("USER_NOT_FOUND"))
    );
    let (_, users) = app.get(&lear, "users", &[]).await;
    let emails: Vec<_> = users["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        emails.iter().all(|e| e.ends_with("@lear.org")),
        "{emails:?}"
    );
    let othello = app.account("othello@zulip.com");
    let call_id = app.call(&hamlet, &othello).await;
    let (status, body) = app.get(&lear, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("CALL_NOT_FOUND"))
    );
    let cordelia = app.account("cordelia@zulip.com");
    let (status, body) = app.get(&cordelia, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("NOT_A_PARTICIPANT"))
    );
}

/// The call's state as a separate connection to the database file sees it: what is committed.
fn committed_state(db: &std::path::Path, call_id: &str) -> Option<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT state FROM calls WHERE call_id = ?1",
        [call_id],
        |row| row.get(0),
    )
    .ok()
}

/// Concurrent changes share commits (group commit), but no answer and no event reports a
/// change before it is on disk: what a client hears of survives a crash.
#[tokio::test]
async fn answers_and_events_come_only_after_their_change_is_committed() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let hq = app.register(&hamlet).await;
    let oq = app.register(&othello).await;
    let (mut hl, mut ol) = (-1, -1);
    let othello_id = othello.id.to_string();
    for _ in 0..20 {
        // Othello is already waiting when the call is placed, so the event races the answer.
        let start = [("user_id", othello_id.as_str())];
        let (ring, (status, started)) = tokio::join!(
            app.next_call_event(&othello, &oq, &mut ol),
            app.post(&hamlet, "calls/start", &start),
        );
        assert_eq!(status, 200, "{started}");
        let call_id = started["call_id"].as_str().unwrap();
        assert_eq!(ring["call_id"], call_id);
        assert_eq!(
            committed_state(&app.db, call_id).as_deref(),
            Some("calling")
        );
        app.drain_call_events(&hamlet, &hq, &mut hl).await;

        let respond = [("call_id", call_id), ("response", "accept")];
        let (accepted, (status, body)) = tokio::join!(
            app.next_call_event(&hamlet, &hq, &mut hl),
            app.post(&othello, "calls/respond", &respond),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(accepted["event_type"], "call_accepted");
        assert_eq!(
            committed_state(&app.db, call_id).as_deref(),
            Some("accepted")
        );

        let (status, body) = app
            .post(&hamlet, "calls/end", &[("call_id", call_id)])
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(committed_state(&app.db, call_id).as_deref(), Some("ended"));
        // Both hear of the end; drained so the next round starts clean.
        app.drain_call_events(&othello, &oq, &mut ol).await;
        app.drain_call_events(&hamlet, &hq, &mut hl).await;
    }
}

/// A long-poll's answer holds only queued events, which are queued after their commit: it
/// does not wait for (or commit) a batch other requests have open. Any other answer does.
#[tokio::test]
async fn event_answers_leave_without_waiting_for_the_open_batch() {
    // On a virtual clock no deadline scheduler runs, and so nothing else commits meanwhile.
    let app = spawn_with(Options {
        virtual_clock: true,
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let queue = app.register(&hamlet).await;
    let state = &app.server.state;
    // A change no answer has waited for yet: the batch it opened stays open.
    state.core.store().clear_activity().unwrap();
    assert!(state.core.has_pending_writes());

    let events = app.pending_call_events(&hamlet, &queue).await;
    assert!(events.is_empty(), "{events:?}");
    assert!(
        state.core.has_pending_writes(),
        "the events answer committed the batch"
    );

    let (status, body) = app.get(&hamlet, "calls/active", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !state.core.has_pending_writes(),
        "an answer left before the commit"
    );
}

/// A long-poll is answered even when its client has shut its side of the connection after
/// sending it: the server does not read the socket while a request waits for its answer
/// (what keeps ten thousand held long-polls small), so it does not take the client's end of
/// sending for the client leaving.
#[tokio::test]
async fn a_long_poll_is_answered_after_its_client_stops_sending() {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let app = spawn_with(Options {
        heartbeat_seconds: 60,
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&othello).await;
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", othello.email, othello.key));
    let mut stream = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    let head = format!(
        "GET /api/v1/events?queue_id={queue}&last_event_id=-1 HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Basic {auth}\r\n\r\n",
        app.server.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let call_id = app.call(&hamlet, &othello).await;

    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("no answer")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(&call_id), "{answer}");
}

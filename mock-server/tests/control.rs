//! The control API (`/mock/v1`, CONTROL-API.md) over HTTP: its token, reset, users, calls,
//! queues, events and WebSockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine;
use common::{Account, Options, TestApp, spawn, spawn_with, t0};
use futures_util::StreamExt;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zulip_calls_protocol::event::DEFAULT_EVENTS_WEBSOCKET_PATH;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for something to arrive before failing (never a synchronisation
/// sleep).
const WAIT: Duration = Duration::from_secs(5);

const TOKEN: &str = "control-test-token";

/// A control request with an optional bearer token; the status and JSON body.
async fn send(builder: reqwest::RequestBuilder, token: Option<&str>) -> (u16, Value) {
    let builder = match token {
        Some(token) => builder.bearer_auth(token),
        None => builder,
    };
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn cget(app: &TestApp, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    send(app.http.get(app.control_url(path)).query(query), None).await
}

async fn cpost(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    send(app.http.post(app.control_url(path)).form(form), None).await
}

async fn cpost_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    send(app.http.post(app.control_url(path)).json(body), None).await
}

/// A successful control request's body.
fn ok(response: (u16, Value)) -> Value {
    let (status, body) = response;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "success", "{body}");
    body
}

/// The status and error code of a failed request.
fn failed(response: &(u16, Value)) -> (u16, &str) {
    (response.0, response.1["code"].as_str().unwrap_or_default())
}

async fn register_fcm(app: &TestApp, who: &Account, token: &str) {
    let (status, body) = app
        .post(who, "users/me/android_gcm_reg_id", &[("token", token)])
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Opens the event WebSocket of `queue` and waits until the server has it registered: an
/// injected marker event comes through it.
async fn connect(app: &TestApp, who: &Account, queue: &str) -> Ws {
    let url = format!(
        "ws://{}{DEFAULT_EVENTS_WEBSOCKET_PATH}?queue_id={queue}&last_event_id=-1",
        app.server.addr
    );
    let mut request = url.into_client_request().unwrap();
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", who.email, who.key));
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Basic {basic}")).unwrap(),
    );
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake timed out")
        .unwrap();
    ok(cpost_json(
        app,
        &format!("users/{}/events", who.id),
        &json!({"event": {"type": "marker"}}),
    )
    .await);
    let marker = next_text(&mut ws).await;
    assert_eq!(marker["type"], "marker", "{marker}");
    ws
}

/// The next frame that is not a ping or pong.
async fn next_frame(ws: &mut Ws) -> Message {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no frame arrived")
            .expect("the socket ended")
            .expect("socket error");
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

async fn next_text(ws: &mut Ws) -> Value {
    match next_frame(ws).await {
        Message::Text(text) => serde_json::from_str(text.as_str()).unwrap(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// The close code and reason the server ends the connection with (events still queued
/// before it are skipped).
async fn close_code(ws: &mut Ws) -> (u16, String) {
    loop {
        match next_frame(ws).await {
            Message::Close(Some(frame)) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Message::Text(_) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Registers a queue for every event type.
async fn register_all(app: &TestApp, who: &Account) -> String {
    let body = ok(app.post(who, "register", &[]).await);
    body["queue_id"].as_str().unwrap().to_owned()
}

// ---- token -------------------------------------------------------------------------------

#[tokio::test]
async fn with_a_token_every_control_route_needs_it() {
    let app = spawn_with(Options {
        admin_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let routes = [
        ("POST", "reset"),
        ("GET", "users"),
        ("POST", "users/10/deactivate"),
        ("GET", "calls"),
        ("GET", "group-calls"),
        ("GET", "group-calls/00000000-0000-4000-8000-000000000000"),
        ("GET", "queues"),
        ("POST", "users/10/events"),
        ("POST", "users/10/queues/expire"),
        ("POST", "users/10/websockets/close"),
        ("GET", "clock"),
        ("POST", "clock/advance"),
        ("GET", "pushes"),
    ];
    for (method, path) in routes {
        let request = || match method {
            "GET" => app.http.get(app.control_url(path)),
            _ => app.http.post(app.control_url(path)),
        };
        let missing = send(request(), None).await;
        assert_eq!(failed(&missing), (401, "UNAUTHORIZED"), "{method} {path}");
        let wrong = send(request(), Some("not-the-token")).await;
        assert_eq!(failed(&wrong), (401, "UNAUTHORIZED"), "{method} {path}");
    }
    // A user's credentials are not the token.
    let basic = send(
        app.http
            .get(app.control_url("users"))
            .basic_auth(&hamlet.email, Some(&hamlet.key)),
        None,
    )
    .await;
    assert_eq!(basic.0, 401);

    // The token is accepted; the Zulip API is unaffected by it.
    let users = ok(send(app.http.get(app.control_url("users")), Some(TOKEN)).await);
    assert!(!users["users"].as_array().unwrap().is_empty());
    let clock = ok(send(app.http.get(app.control_url("clock")), Some(TOKEN)).await);
    assert_eq!(clock["virtual"], false);
    ok(app.get(&hamlet, "calls/active", &[]).await);
}

#[tokio::test]
async fn without_a_token_the_control_api_is_open() {
    let app = spawn().await;
    ok(cget(&app, "users", &[]).await);
    // A token sent anyway does no harm.
    ok(send(app.http.get(app.control_url("calls")), Some("anything")).await);
}

// ---- reset -------------------------------------------------------------------------------

#[tokio::test]
async fn reset_clears_calls_queues_pushes_and_user_changes() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let created = ok(cpost(
        &app,
        "users",
        &[("email", "tester@zulip.com"), ("full_name", "Tester")],
    )
    .await);
    let tester = Account {
        id: created["user_id"].as_i64().unwrap(),
        email: "tester@zulip.com".into(),
        key: created["api_key"].as_str().unwrap().to_owned(),
    };
    ok(cpost(&app, &format!("users/{}/deactivate", othello.id), &[]).await);
    ok(cpost(&app, "users/10/reactivate", &[]).await);
    let cordelia = app.account("cordelia@zulip.com");
    register_fcm(&app, &cordelia, "fcm-cordelia").await;
    let queue = app.register(&hamlet).await;
    app.call(&hamlet, &cordelia).await;
    assert_eq!(
        ok(cget(&app, "pushes", &[]).await)["pushes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let summary = ok(cpost(&app, "reset", &[]).await);
    assert_eq!(summary["calls"], 1);
    assert_eq!(summary["pushes"], 1);
    assert_eq!(summary["devices"], 1);
    assert_eq!(summary["queues"], 1);

    assert_eq!(ok(cget(&app, "calls", &[]).await)["calls"], json!([]));
    assert_eq!(ok(cget(&app, "queues", &[]).await)["queues"], json!([]));
    assert_eq!(ok(cget(&app, "pushes", &[]).await)["pushes"], json!([]));
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
    // Nobody is busy any more: the deleted call's parties can call again.
    app.call(&hamlet, &cordelia).await;

    // The created user is gone, the deactivated one is back.
    let users = ok(cget(&app, "users", &[]).await);
    let emails: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(!emails.contains(&"tester@zulip.com"), "{emails:?}");
    let (status, body) = app.get(&tester, "calls/active", &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("INVALID_API_KEY"))
    );
    ok(app.get(&othello, "calls/active", &[]).await);
    // Cordelia's device is forgotten: the new call recorded no push.
    assert_eq!(ok(cget(&app, "pushes", &[]).await)["pushes"], json!([]));
}

// ---- users -------------------------------------------------------------------------------

#[tokio::test]
async fn users_are_listed_with_credentials_and_by_realm() {
    let app = spawn().await;
    let all = ok(cget(&app, "users", &[]).await);
    let iago = all["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "iago@zulip.com")
        .unwrap()
        .clone();
    assert_eq!(
        iago,
        json!({
            "user_id": 5,
            "email": "iago@zulip.com",
            "full_name": "Iago",
            "realm": "Zulip Dev",
            "realm_url": "http://localhost:9991",
            "is_admin": true,
            "is_bot": false,
            "is_active": true,
            "api_key": "iagoDemoApiKeyxxxxxxxxxxxxxxx005",
            "password": "opensesame",
            "bot": null,
        })
    );
    for realm in ["lear", "Lear & Co.", "2", "http://lear.localhost:9991"] {
        let lear = ok(cget(&app, "users", &[("realm", realm)]).await);
        let users = lear["users"].as_array().unwrap();
        assert!(!users.is_empty(), "{realm}");
        assert!(users.iter().all(|u| u["realm"] == "Lear & Co."), "{realm}");
    }
    let unknown = cget(&app, "users", &[("realm", "nowhere")]).await;
    assert_eq!(failed(&unknown), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn a_created_user_can_call_and_be_called() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let created = ok(cpost_json(
        &app,
        "users",
        &json!({"email": "Tester@zulip.com", "full_name": "Test Er", "is_admin": true}),
    )
    .await);
    let id = created["user_id"].as_i64().unwrap();
    let key = created["api_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32);
    assert!(id > 12, "above every demo id: {id}");
    let tester = Account {
        id,
        email: "tester@zulip.com".into(),
        key,
    };

    let call_id = app.call(&tester, &hamlet).await;
    let call = ok(cget(&app, &format!("calls/{call_id}"), &[]).await);
    assert_eq!(call["call"]["sender_name"], "Test Er");
    ok(app
        .post(&hamlet, "calls/end", &[("call_id", &call_id)])
        .await);
    app.call(&hamlet, &tester).await;

    // Given credentials are kept; the realm is chosen by subdomain.
    let given = ok(cpost(
        &app,
        "users",
        &[
            ("email", "edgar@lear.org"),
            ("realm", "lear"),
            ("api_key", "edgarsOwnKeyOf20chars"),
            ("password", "pw"),
        ],
    )
    .await);
    assert_eq!(given["api_key"], "edgarsOwnKeyOf20chars");
    let lear = ok(cget(&app, "users", &[("realm", "lear")]).await);
    let edgar = lear["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "edgar@lear.org")
        .unwrap();
    assert_eq!(edgar["full_name"], "edgar");
    assert_eq!(edgar["password"], "pw");

    let taken = cpost(&app, "users", &[("email", "HAMLET@zulip.com")]).await;
    assert_eq!(failed(&taken), (409, "EMAIL_TAKEN"));
    let bad = cpost(&app, "users", &[("email", "not an email")]).await;
    assert_eq!(failed(&bad), (400, "BAD_REQUEST"));
    let short = cpost(&app, "users", &[("email", "a@b.c"), ("api_key", "short")]).await;
    assert_eq!(failed(&short), (400, "BAD_REQUEST"));
    let missing = cpost(&app, "users", &[]).await;
    assert_eq!(failed(&missing), (400, "REQUEST_VARIABLE_MISSING"));
}

#[tokio::test]
async fn a_deactivated_user_is_refused_and_disconnected_until_reactivated() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let queue = register_all(&app, &othello).await;
    let mut ws = connect(&app, &othello, &queue).await;
    let other_queue = app.register(&othello).await;

    let done = ok(cpost(&app, &format!("users/{}/deactivate", othello.id), &[]).await);
    assert_eq!(done["user_id"], othello.id);
    assert_eq!(done["queues_deleted"], 2);
    assert_eq!(done["websockets_closed"], 1);
    let (code, reason) = close_code(&mut ws).await;
    assert_eq!(code, 1008);
    assert!(reason.starts_with("USER_DEACTIVATED"), "{reason}");

    let (status, body) = app.get(&othello, "calls/active", &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("USER_DEACTIVATED"))
    );
    // Nobody can call a deactivated user.
    let (status, body) = app
        .post(
            &hamlet,
            "calls/start",
            &[("user_id", &othello.id.to_string())],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("USER_NOT_FOUND")),
        "{body}"
    );
    let users = ok(cget(&app, "users", &[]).await);
    let row = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == othello.id)
        .unwrap()
        .clone();
    assert_eq!(row["is_active"], false);

    ok(cpost(&app, &format!("users/{}/reactivate", othello.id), &[]).await);
    ok(app.get(&othello, "calls/active", &[]).await);
    // The queues stay gone: the client registers again.
    let (status, body) = app
        .get(
            &othello,
            "events",
            &[("queue_id", other_queue.as_str()), ("dont_block", "true")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("BAD_EVENT_QUEUE_ID"))
    );
    app.call(&hamlet, &othello).await;

    let unknown = cpost(&app, "users/999/deactivate", &[]).await;
    assert_eq!(failed(&unknown), (404, "NOT_FOUND"));
    let garbage = cpost(&app, "users/abc/reactivate", &[]).await;
    assert_eq!(failed(&garbage), (404, "NOT_FOUND"));
}

// ---- calls -------------------------------------------------------------------------------

#[tokio::test]
async fn calls_are_listed_newest_first_with_filters() {
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let cordelia = app.account("cordelia@zulip.com");
    let king = app.account("king@lear.org");
    let regan = app.account("regan@lear.org");

    let first = app.call(&hamlet, &othello).await;
    ok(app.post(&hamlet, "calls/end", &[("call_id", &first)]).await);
    app.advance(1);
    let (status, body) = app
        .post(
            &cordelia,
            "calls/start",
            &[("user_id", &othello.id.to_string()), ("call_type", "audio")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let second = body["call_id"].as_str().unwrap().to_owned();
    app.advance(1);
    let third = app.call(&king, &regan).await;

    let ids = |body: Value| -> Vec<String> {
        body["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["call_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (first, second, third) = (first.as_str(), second.as_str(), third.as_str());
    let all = ok(cget(&app, "calls", &[]).await);
    assert_eq!(ids(all.clone()), [third, second, first]);
    let newest = &all["calls"][0];
    assert_eq!(newest["state"], "calling");
    assert_eq!(newest["sender_email"], "king@lear.org");
    assert!(newest["join_url"].is_null());
    assert!(newest["sender_media_status"].is_null());

    assert_eq!(
        ids(ok(cget(
            &app,
            "calls",
            &[("user", &othello.id.to_string())]
        )
        .await)),
        [second, first]
    );
    assert_eq!(
        ids(ok(
            cget(&app, "calls", &[("user", "Cordelia@zulip.com")]).await
        )),
        [second]
    );
    assert_eq!(
        ids(ok(cget(&app, "calls", &[("state", "cancelled")]).await)),
        [first]
    );
    assert_eq!(
        ids(ok(cget(&app, "calls", &[("call_type", "audio")]).await)),
        [second]
    );
    assert_eq!(
        ids(ok(cget(&app, "calls", &[("realm", "lear")]).await)),
        [third]
    );
    assert_eq!(
        ids(ok(cget(
            &app,
            "calls",
            &[("state", "calling"), ("realm", "Zulip Dev")]
        )
        .await)),
        [second]
    );
    assert_eq!(
        ids(ok(cget(&app, "calls", &[("limit", "2")]).await)),
        [third, second]
    );

    let bad_state = cget(&app, "calls", &[("state", "ringin")]).await;
    assert_eq!(failed(&bad_state), (400, "BAD_REQUEST"));
    let bad_limit = cget(&app, "calls", &[("limit", "0")]).await;
    assert_eq!(failed(&bad_limit), (400, "BAD_REQUEST"));
    let nobody = cget(&app, "calls", &[("user", "nobody@zulip.com")]).await;
    assert_eq!(failed(&nobody), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn one_call_comes_with_its_audit_log_oldest_first() {
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let call_id = app.call(&hamlet, &othello).await;
    app.advance(2);
    ok(app
        .post(&othello, "calls/acknowledge", &[("call_id", &call_id)])
        .await);
    app.advance(3);
    ok(app
        .post(
            &othello,
            "calls/respond",
            &[("call_id", &call_id), ("response", "accept")],
        )
        .await);
    app.advance(10);
    ok(app
        .post(&hamlet, "calls/end", &[("call_id", &call_id)])
        .await);

    let body = ok(cget(&app, &format!("calls/{call_id}"), &[]).await);
    assert_eq!(body["call"]["call_id"], call_id.as_str());
    assert_eq!(body["call"]["state"], "ended");
    assert_eq!(body["call"]["duration"], 10.0);
    let audit: Vec<(String, Value, Value, String, Value)> = body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["at"].as_str().unwrap().to_owned(),
                line["actor_id"].clone(),
                line["from_state"].clone(),
                line["action"].as_str().unwrap().to_owned(),
                line["to_state"].clone(),
            )
        })
        .collect();
    assert_eq!(
        audit,
        [
            (
                "2024-01-01T12:00:00Z".to_owned(),
                json!(hamlet.id),
                Value::Null,
                "call_started".to_owned(),
                json!("calling")
            ),
            (
                "2024-01-01T12:00:02Z".to_owned(),
                json!(othello.id),
                json!("calling"),
                "participant_ringing".to_owned(),
                json!("ringing")
            ),
            (
                "2024-01-01T12:00:05Z".to_owned(),
                json!(othello.id),
                json!("ringing"),
                "call_accepted".to_owned(),
                json!("accepted")
            ),
            (
                "2024-01-01T12:00:15Z".to_owned(),
                json!(hamlet.id),
                json!("accepted"),
                "call_ended".to_owned(),
                json!("ended")
            ),
        ]
    );

    let unknown = cget(&app, "calls/00000000-0000-4000-8000-000000000000", &[]).await;
    assert_eq!(failed(&unknown), (404, "NOT_FOUND"));
    let garbage = cget(&app, "calls/not-a-uuid", &[]).await;
    assert_eq!(failed(&garbage), (404, "NOT_FOUND"));
}

// ---- queues, events, websockets ----------------------------------------------------------

#[tokio::test]
async fn queues_are_listed_with_their_state() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let polled = app.register(&hamlet).await;
    let socket = register_all(&app, &hamlet).await;
    app.register(&othello).await;
    let _ws = connect(&app, &hamlet, &socket).await;
    app.call(&othello, &hamlet).await;

    let listed = ok(cget(&app, "queues", &[("user", "hamlet@zulip.com")]).await);
    let queues = listed["queues"].as_array().unwrap();
    assert_eq!(queues.len(), 2, "{listed}");
    assert_eq!(queues[0]["queue_id"], polled.as_str());
    assert_eq!(queues[0]["user_id"], hamlet.id);
    assert_eq!(queues[0]["event_types"], json!(["call_event"]));
    assert_eq!(queues[0]["pending"], 1);
    assert_eq!(queues[0]["websocket_connected"], false);
    assert_eq!(queues[0]["long_polling"], false);
    assert_eq!(queues[1]["queue_id"], socket.as_str());
    assert!(queues[1]["event_types"].is_null());
    assert_eq!(queues[1]["websocket_connected"], true);
    assert_eq!(
        ok(cget(&app, "queues", &[]).await)["queues"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn an_injected_event_reaches_long_polls_and_websockets() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let polled = register_all(&app, &hamlet).await;
    let socket = register_all(&app, &hamlet).await;
    let calls_only = app.register(&hamlet).await;
    let mut ws = connect(&app, &hamlet, &socket).await;

    let poll = {
        let http = app.http.clone();
        let url = app.url("events");
        let hamlet = hamlet.clone();
        let polled = polled.clone();
        tokio::spawn(async move {
            http.get(url)
                .basic_auth(&hamlet.email, Some(&hamlet.key))
                // The marker `connect` injected is event 0 on every queue: acknowledge it.
                .query(&[("queue_id", polled.as_str()), ("last_event_id", "0")])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    let event = json!({"type": "presence", "id": 99, "status": {"active": true}});
    let sent = ok(cpost_json(
        &app,
        &format!("users/{}/events", hamlet.id),
        &json!({"event": event}),
    )
    .await);
    // The call-events-only queue does not want it.
    assert_eq!(sent["queues"], 2);

    let expected = json!({"type": "presence", "id": 1, "status": {"active": true}});
    let polled_events = tokio::time::timeout(WAIT, poll).await.unwrap().unwrap();
    let events = polled_events["events"].as_array().unwrap();
    let presence = events.iter().find(|e| e["type"] == "presence").unwrap();
    assert_eq!(presence, &expected);
    assert_eq!(next_text(&mut ws).await, expected);

    // A form carries the event as JSON text; a call event goes to every queue.
    let form_event = json!({
        "type": "call_event", "event_type": "call_ended", "call_id": "x"
    })
    .to_string();
    let sent = ok(cpost(
        &app,
        &format!("users/{}/events", hamlet.id),
        &[("event", form_event.as_str())],
    )
    .await);
    assert_eq!(sent["queues"], 3);
    let pending = ok(app
        .get(
            &hamlet,
            "events",
            &[("queue_id", calls_only.as_str()), ("dont_block", "true")],
        )
        .await);
    assert_eq!(pending["events"][0]["call_id"], "x");

    for bad in [
        json!("not json {"),
        json!([1]),
        json!({"no": "type"}),
        json!({"type": 5}),
    ] {
        let refused = cpost_json(
            &app,
            &format!("users/{}/events", hamlet.id),
            &json!({ "event": bad }),
        )
        .await;
        assert_eq!(failed(&refused), (400, "BAD_REQUEST"), "{bad}");
    }
    let missing = cpost_json(&app, &format!("users/{}/events", hamlet.id), &json!({})).await;
    assert_eq!(failed(&missing), (400, "REQUEST_VARIABLE_MISSING"));
    let nobody = cpost_json(&app, "users/999/events", &json!({"event": {"type": "x"}})).await;
    assert_eq!(failed(&nobody), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn an_expired_queue_answers_bad_event_queue_id() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let one = app.register(&hamlet).await;
    let kept = app.register(&hamlet).await;

    // A long-poll waiting on the queue gets the error at once.
    let poll = {
        let http = app.http.clone();
        let url = app.url("events");
        let hamlet = hamlet.clone();
        let one = one.clone();
        tokio::spawn(async move {
            let response = http
                .get(url)
                .basic_auth(&hamlet.email, Some(&hamlet.key))
                .query(&[("queue_id", one.as_str())])
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        })
    };
    let expired = ok(cpost(&app, &format!("queues/{one}/expire"), &[]).await);
    assert_eq!(expired["queue_id"], one.as_str());
    assert_eq!(expired["user_id"], hamlet.id);
    let (status, body) = tokio::time::timeout(WAIT, poll).await.unwrap().unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("BAD_EVENT_QUEUE_ID")),
        "{body}"
    );
    let again = cpost(&app, &format!("queues/{one}/expire"), &[]).await;
    assert_eq!(failed(&again), (404, "NOT_FOUND"));
    ok(app
        .get(
            &hamlet,
            "events",
            &[("queue_id", kept.as_str()), ("dont_block", "true")],
        )
        .await);

    // All of a user's queues at once, and only theirs.
    let othellos = app.register(&othello).await;
    app.register(&hamlet).await;
    let all = ok(cpost(&app, &format!("users/{}/queues/expire", hamlet.id), &[]).await);
    assert_eq!(all["expired"], 2);
    let (status, body) = app
        .get(
            &hamlet,
            "events",
            &[("queue_id", kept.as_str()), ("dont_block", "true")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("BAD_EVENT_QUEUE_ID"))
    );
    ok(app
        .get(
            &othello,
            "events",
            &[("queue_id", othellos.as_str()), ("dont_block", "true")],
        )
        .await);
}

#[tokio::test]
async fn websockets_close_with_the_code_asked_for() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let first = register_all(&app, &hamlet).await;
    let second = register_all(&app, &hamlet).await;
    let theirs = register_all(&app, &othello).await;
    let mut a = connect(&app, &hamlet, &first).await;
    let mut b = connect(&app, &hamlet, &second).await;
    let mut other = connect(&app, &othello, &theirs).await;

    let closed = ok(cpost(&app, &format!("users/{}/websockets/close", hamlet.id), &[]).await);
    assert_eq!(closed["closed"], 2);
    for ws in [&mut a, &mut b] {
        assert_eq!(close_code(ws).await.0, 1012);
    }
    // The queue survives: a reconnect resumes it.
    let mut again = connect(&app, &hamlet, &first).await;
    let closed = ok(cpost(
        &app,
        &format!("users/{}/websockets/close", hamlet.id),
        &[("code", "4000"), ("reason", "testing")],
    )
    .await);
    assert_eq!(closed["closed"], 1);
    assert_eq!(close_code(&mut again).await, (4000, "testing".to_owned()));

    // Othello's connection was never touched.
    ok(cpost_json(
        &app,
        &format!("users/{}/events", othello.id),
        &json!({"event": {"type": "still_here"}}),
    )
    .await);
    assert_eq!(next_text(&mut other).await["type"], "still_here");

    for code in ["1006", "999", "5000"] {
        let refused = cpost(
            &app,
            &format!("users/{}/websockets/close", hamlet.id),
            &[("code", code)],
        )
        .await;
        assert_eq!(failed(&refused), (400, "BAD_REQUEST"), "{code}");
    }
    let none = ok(cpost(&app, &format!("users/{}/websockets/close", hamlet.id), &[]).await);
    assert_eq!(none["closed"], 0);
}

#[tokio::test]
async fn user_changes_survive_a_restart_until_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.sqlite3");
    let on_db = || Options {
        db: Some(db.clone()),
        ..Options::default()
    };
    let (tester, call_id) = {
        let app = spawn_with(on_db()).await;
        let created = ok(cpost(
            &app,
            "users",
            &[
                ("email", "tester@zulip.com"),
                ("api_key", "testerOwnKeyOf20chars"),
            ],
        )
        .await);
        let tester = Account {
            id: created["user_id"].as_i64().unwrap(),
            email: "tester@zulip.com".into(),
            key: "testerOwnKeyOf20chars".into(),
        };
        let othello = app.account("othello@zulip.com");
        let call_id = app.call(&tester, &othello).await;
        ok(cpost(&app, "users/7/deactivate", &[]).await);
        (tester, call_id)
    };

    // Restarted on the same database (and the same realm file): both changes hold.
    let app = spawn_with(on_db()).await;
    let (status, call) = app.get(&tester, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(status, 200, "the created user still signs in: {call}");
    assert_eq!(call["call"]["sender_id"], tester.id);
    let users = ok(cget(&app, "users", &[]).await);
    let active_of = |users: &Value, id: i64| {
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["user_id"] == id)
            .map(|u| u["is_active"].clone())
    };
    assert_eq!(active_of(&users, tester.id), Some(json!(true)));
    assert_eq!(
        active_of(&users, 7),
        Some(json!(false)),
        "aaron stays deactivated"
    );

    // A reset goes back to the realm file, and a restart after it too.
    ok(cpost(&app, "reset", &[]).await);
    drop(app);
    let app = spawn_with(on_db()).await;
    let users = ok(cget(&app, "users", &[]).await);
    assert_eq!(active_of(&users, 7), Some(json!(true)));
    assert_ne!(active_of(&users, tester.id), Some(json!(true)));
    let (status, _) = app.get(&tester, "calls/active", &[]).await;
    assert_eq!(status, 401, "the created user is gone after the reset");
}

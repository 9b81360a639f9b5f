//! Fault injection over HTTP (`/mock/v1/faults`), each fault seen by a real client: a delay
//! measured against the rule, an injected answer that leaves the state alone, a dropped
//! connection, a WebSocket closed with the rule's code; rules retiring after `times`; and the
//! rule listing and deletion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{Account, TestApp, spawn};
use futures_util::StreamExt;
use pretty_assertions::assert_eq;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// How long a test waits for a WebSocket frame before failing (never a synchronisation sleep).
const WAIT: Duration = Duration::from_secs(5);

async fn control(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}/mock/v1/{path}", app.server.url());
    let mut request = app.http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Adds a rule and returns its id.
async fn add_fault(app: &TestApp, rule: Value) -> u64 {
    let (status, body) = control(app, Method::POST, "faults", Some(rule)).await;
    assert_eq!(status, 200, "{body}");
    body["fault_id"].as_u64().unwrap()
}

async fn faults(app: &TestApp) -> Vec<Value> {
    let (status, body) = control(app, Method::GET, "faults", None).await;
    assert_eq!(status, 200, "{body}");
    body["faults"].as_array().unwrap().clone()
}

/// The latest journaled request.
async fn last_journaled(app: &TestApp) -> Value {
    let (status, body) = control(app, Method::GET, "journal?limit=1", None).await;
    assert_eq!(status, 200, "{body}");
    body["requests"][0].clone()
}

fn hamlet(app: &TestApp) -> Account {
    app.account("hamlet@zulip.com")
}

fn othello(app: &TestApp) -> Account {
    app.account("othello@zulip.com")
}

#[tokio::test]
async fn delay_holds_the_request_then_handles_it() {
    let app = spawn().await;
    let hamlet = hamlet(&app);
    add_fault(
        &app,
        json!({"method": "GET", "path": "/api/v1/users/me", "action": {"kind": "delay", "ms": 300}}),
    )
    .await;
    let started = Instant::now();
    let (status, body) = app.get(&hamlet, "users/me", &[]).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], hamlet.email);
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    let journaled = last_journaled(&app).await;
    assert_eq!(journaled["status"], 200);
    assert!(
        journaled["latency_ms"].as_f64().unwrap() >= 300.0,
        "{journaled}"
    );
}

#[tokio::test]
async fn respond_answers_for_the_server_and_leaves_its_state_alone() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    add_fault(
        &app,
        json!({"path": "/api/v1/calls/start", "action": {"kind": "respond", "status": 503}}),
    )
    .await;
    let (status, body) = app
        .post(
            &hamlet,
            "calls/start",
            &[("user_id", &othello.id.to_string())],
        )
        .await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"result": "error", "msg": "Injected fault: 503 Service Unavailable", "code": "SERVICE_UNAVAILABLE"})
    );
    let (status, body) = app.get(&hamlet, "calls/active", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["active_calls"], json!([]), "no call was created");
    let journaled = control(&app, Method::GET, "journal?path=/api/v1/calls/start", None)
        .await
        .1["requests"][0]
        .clone();
    assert_eq!(journaled["status"], 503);
    assert_eq!(journaled["error_code"], "SERVICE_UNAVAILABLE");

    // A body of the rule's own, with a success status.
    add_fault(
        &app,
        json!({
            "path": "/api/v1/users/me",
            "action": {"kind": "respond", "status": 200, "body": {"result": "success", "msg": "", "custom": true}},
        }),
    )
    .await;
    let (status, body) = app.get(&hamlet, "users/me", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"result": "success", "msg": "", "custom": true})
    );
}

#[tokio::test]
async fn drop_closes_the_connection_without_an_answer() {
    let app = spawn().await;
    let hamlet = hamlet(&app);
    add_fault(
        &app,
        json!({"path": "/api/v1/users/me", "action": {"kind": "drop"}, "times": 1}),
    )
    .await;
    let err = app
        .http
        .get(app.url("users/me"))
        .basic_auth(&hamlet.email, Some(&hamlet.key))
        .send()
        .await
        .expect_err("the connection must drop without an answer");
    assert!(err.status().is_none(), "{err:?}");
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    let journaled = last_journaled(&app).await;
    assert_eq!(journaled["path"], "/api/v1/users/me");
    assert_eq!(journaled["status"], 0);
    // Retired after one match: the next request is answered.
    let (status, _) = app.get(&hamlet, "users/me", &[]).await;
    assert_eq!(status, 200);

    // On the wire: not one byte of an answer, then the connection ends.
    add_fault(
        &app,
        json!({"path": "/api/v1/server_settings", "action": {"kind": "drop"}, "times": 1}),
    )
    .await;
    let mut stream = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    stream
        .write_all(b"GET /api/v1/server_settings HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("the connection stayed open");
    // A clean end of stream, or a reset: either way, no bytes.
    assert!(
        read.is_err() || answer.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(answer.is_empty());
}

#[tokio::test]
async fn close_websocket_accepts_the_upgrade_then_closes_with_the_code() {
    let app = spawn().await;
    let othello = othello(&app);
    let queue = app.register(&othello).await;
    add_fault(
        &app,
        json!({
            "path": "/api/v1/events/websocket",
            "user": othello.email,
            "action": {"kind": "close_websocket", "code": 4001},
            "times": 1,
        }),
    )
    .await;
    let connect = || async {
        let url = format!(
            "ws://{}/api/v1/events/websocket?queue_id={queue}&last_event_id=-1",
            app.server.addr
        );
        let mut request = url.into_client_request().unwrap();
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", othello.email, othello.key));
        request
            .headers_mut()
            .insert("authorization", format!("Basic {token}").parse().unwrap());
        tokio_tungstenite::connect_async(request).await.unwrap().0
    };
    let mut ws = connect().await;
    let frame = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("no close frame")
        .unwrap()
        .unwrap();
    match frame {
        Message::Close(Some(close)) => {
            assert_eq!(close.code, CloseCode::from(4001));
            assert_eq!(close.reason.as_str(), "injected fault");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    let journaled = last_journaled(&app).await;
    assert_eq!(journaled["status"], 101);

    // Retired: the next connection stays open and gets events.
    let mut ws = connect().await;
    app.call(&hamlet(&app), &othello).await;
    let frame = tokio::time::timeout(WAIT, async {
        loop {
            let message = ws.next().await.unwrap().unwrap();
            if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
                return message;
            }
        }
    })
    .await
    .unwrap();
    assert!(frame.is_text(), "{frame:?}");
}

#[tokio::test]
async fn close_websocket_defaults_to_1011_and_ignores_plain_requests() {
    let app = spawn().await;
    let othello = othello(&app);
    let queue = app.register(&othello).await;
    let fault_id = add_fault(
        &app,
        json!({"path": "/api/v1/events/**", "action": {"kind": "close_websocket"}}),
    )
    .await;
    // A long-poll is no upgrade: the rule leaves it alone.
    let (status, _) = app
        .get(
            &othello,
            "events",
            &[("queue_id", &queue), ("dont_block", "true")],
        )
        .await;
    assert_eq!(status, 200);
    let url = format!(
        "ws://{}/api/v1/events/websocket?queue_id={queue}&last_event_id=-1",
        app.server.addr
    );
    let mut request = url.into_client_request().unwrap();
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", othello.email, othello.key));
    request
        .headers_mut()
        .insert("authorization", format!("Basic {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let frame = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        matches!(&frame, Message::Close(Some(close)) if close.code == CloseCode::Error),
        "{frame:?}"
    );
    let listed = faults(&app).await;
    assert_eq!(listed[0]["fault_id"], fault_id);
    assert_eq!(listed[0]["matched"], 1);
    assert_eq!(
        listed[0]["action"],
        json!({"kind": "close_websocket", "code": 1011})
    );
}

#[tokio::test]
async fn rules_retire_after_their_times_and_filter_by_user_and_method() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let fault_id = add_fault(
        &app,
        json!({
            "method": "GET",
            "path": "/api/v1/users/*",
            "user": hamlet.id,
            "action": {"kind": "respond", "status": 500},
            "times": 2,
        }),
    )
    .await;
    // Another user, another method: untouched, and not counted.
    assert_eq!(app.get(&othello, "users/me", &[]).await.0, 200);
    assert_eq!(app.post(&hamlet, "users/me", &[]).await.0, 405);
    assert_eq!(app.get(&hamlet, "users/me", &[]).await.0, 500);
    let listed = faults(&app).await;
    assert_eq!(listed[0]["remaining"], 1);
    assert_eq!(listed[0]["matched"], 1);
    assert_eq!(app.get(&hamlet, "users/me", &[]).await.0, 500);
    assert_eq!(app.get(&hamlet, "users/me", &[]).await.0, 200);
    let listed = faults(&app).await;
    assert_eq!(
        listed[0],
        json!({
            "fault_id": fault_id,
            "method": "GET",
            "path": "/api/v1/users/*",
            "user": hamlet.id,
            "action": {"kind": "respond", "status": 500},
            "times": 2,
            "remaining": 0,
            "matched": 2,
        })
    );
}

#[tokio::test]
async fn rules_are_listed_and_deleted() {
    let app = spawn().await;
    let first = add_fault(
        &app,
        json!({"path": "/api/v1/users/me", "action": {"kind": "drop"}}),
    )
    .await;
    // A form, with the action as JSON text.
    let response = app
        .http
        .post(format!("{}/mock/v1/faults", app.server.url()))
        .form(&[
            ("path", "/api/**"),
            ("action", r#"{"kind": "delay", "ms": 5}"#),
            ("times", "3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let second = response.json::<Value>().await.unwrap()["fault_id"]
        .as_u64()
        .unwrap();
    assert!(second > first);
    let listed = faults(&app).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["action"], json!({"kind": "delay", "ms": 5}));
    assert_eq!(listed[1]["times"], 3);
    assert_eq!(listed[1]["remaining"], 3);
    assert_eq!(listed[0]["remaining"], Value::Null);

    let (status, _) = control(&app, Method::DELETE, &format!("faults/{first}"), None).await;
    assert_eq!(status, 200);
    let (status, body) = control(&app, Method::DELETE, &format!("faults/{first}"), None).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "NOT_FOUND");
    assert_eq!(faults(&app).await.len(), 1);
    let (status, body) = control(&app, Method::DELETE, "faults", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["deleted"], 1);
    assert!(faults(&app).await.is_empty());
}

#[tokio::test]
async fn impossible_rules_are_refused() {
    let app = spawn().await;
    for rule in [
        json!({"path": "/x"}),
        json!({"action": {"kind": "explode"}}),
        json!({"action": {"kind": "delay"}}),
        json!({"action": {"kind": "delay", "ms": 300_001}}),
        json!({"action": {"kind": "respond", "status": 99}}),
        json!({"action": {"kind": "close_websocket", "code": 1005}}),
        json!({"action": {"kind": "drop"}, "times": 0}),
    ] {
        let (status, body) = control(&app, Method::POST, "faults", Some(rule.clone())).await;
        assert_eq!(status, 400, "{rule}: {body}");
        assert_eq!(body["result"], "error");
    }
    assert!(faults(&app).await.is_empty());
}

#[tokio::test]
async fn control_requests_are_never_faulted() {
    let app = spawn().await;
    add_fault(&app, json!({"path": "/**", "action": {"kind": "drop"}})).await;
    assert_eq!(faults(&app).await[0]["matched"], 0);
    let (status, _) = control(&app, Method::GET, "journal", None).await;
    assert_eq!(status, 200);
}

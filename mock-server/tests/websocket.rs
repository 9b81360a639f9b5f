//! The event WebSocket (spec §5) over a real connection: live delivery, replay, acknowledgement,
//! multi-device, refusals before the upgrade, pings, and queue lifetime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine;
use common::{Account, Options, TestApp, spawn, spawn_with, t0};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zulip_calls_protocol::event::{DEFAULT_EVENTS_WEBSOCKET_PATH, parse_event_frame};
use zulip_calls_protocol::settings::Settings;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for a frame before failing (never a synchronisation sleep).
const WAIT: Duration = Duration::from_secs(5);

fn basic(email: &str, key: &str) -> HeaderValue {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{key}"));
    HeaderValue::from_str(&format!("Basic {token}")).unwrap()
}

/// The upgrade request for `queue`, as `email` with `key`.
fn request(app: &TestApp, email: &str, key: &str, queue: &str, last: i64) -> Request {
    let url = format!(
        "ws://{}{DEFAULT_EVENTS_WEBSOCKET_PATH}?queue_id={queue}&last_event_id={last}",
        app.server.addr
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", basic(email, key));
    request
}

async fn try_connect(app: &TestApp, who: &Account, queue: &str, last: i64) -> Result<Ws, WsError> {
    let request = request(app, &who.email, &who.key, queue, last);
    tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake timed out")
        .map(|(ws, _)| ws)
}

async fn connect(app: &TestApp, who: &Account, queue: &str, last: i64) -> Ws {
    try_connect(app, who, queue, last).await.unwrap()
}

/// The status of a refused handshake.
fn refused_status(result: Result<Ws, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
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

/// The next event frame, checked against the protocol's parser.
async fn next_event(ws: &mut Ws) -> Value {
    match next_frame(ws).await {
        Message::Text(text) => {
            parse_event_frame(text.as_str()).expect("not a queue event");
            serde_json::from_str(text.as_str()).unwrap()
        }
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// The `(id, event_type)` of the next `n` events.
async fn next_events(ws: &mut Ws, n: usize) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let event = next_event(ws).await;
        assert_eq!(event["type"], "call_event", "{event}");
        out.push((
            event["id"].as_i64().unwrap(),
            event["event_type"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

async fn ack(ws: &mut Ws, id: i64) {
    let frame = json!({ "last_event_id": id }).to_string();
    ws.send(Message::text(frame)).await.unwrap();
}

/// Closes from the client side and waits for the server's answer, so the server has read
/// everything sent before.
async fn close(mut ws: Ws) {
    ws.close(None).await.unwrap();
    until_closed(ws).await;
}

/// Reads until the connection ends, which must be a clean close.
async fn until_closed(mut ws: Ws) {
    tokio::time::timeout(WAIT, async {
        while let Some(frame) = ws.next().await {
            // Pings may still be in flight; anything else, or an error, is an unclean close.
            match frame {
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_)) => {}
                other => panic!("unclean close: {other:?}"),
            }
        }
    })
    .await
    .expect("the server did not finish the close");
}

/// The close frame the server ends the connection with.
async fn close_frame(ws: &mut Ws) -> (CloseCode, String) {
    match next_frame(ws).await {
        Message::Close(Some(frame)) => (frame.code, frame.reason.to_string()),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

/// hamlet calls othello, othello acknowledges, hamlet cancels: three events each.
async fn call_ack_end(app: &TestApp, hamlet: &Account, othello: &Account) {
    let call_id = app.call(hamlet, othello).await;
    let (status, body) = app
        .post(othello, "calls/acknowledge", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(hamlet, "calls/end", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200, "{body}");
}

fn three_events() -> Vec<(i64, String)> {
    vec![
        (0, "call_started".to_owned()),
        (1, "participant_ringing".to_owned()),
        (2, "call_ended".to_owned()),
    ]
}

#[tokio::test]
async fn register_advertises_the_websocket_path() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let (status, body) = app
        .post(&hamlet, "register", &[("event_types", r#"["call_event"]"#)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events_websocket_path"], DEFAULT_EVENTS_WEBSOCKET_PATH);
}

#[tokio::test]
async fn events_arrive_live_as_text_frames_in_order() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&othello).await;
    let mut ws = connect(&app, &othello, &queue, -1).await;

    let call_id = app.call(&hamlet, &othello).await;
    let ring = next_event(&mut ws).await;
    assert_eq!(ring["id"], 0);
    assert_eq!(ring["type"], "call_event");
    assert_eq!(ring["event_type"], "call_started");
    assert_eq!(ring["call_id"], call_id.as_str());
    assert_eq!(ring["receiver_id"], othello.id);

    let (status, body) = app
        .post(&othello, "calls/acknowledge", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(&hamlet, "calls/end", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(next_events(&mut ws, 2).await, three_events()[1..]);
}

#[tokio::test]
async fn events_queued_before_connecting_are_replayed_first() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&othello).await;
    let call_id = app.call(&hamlet, &othello).await;
    let (status, body) = app
        .post(&othello, "calls/acknowledge", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200, "{body}");

    let mut ws = connect(&app, &othello, &queue, -1).await;
    assert_eq!(next_events(&mut ws, 2).await, three_events()[..2]);
    // ... and what happens next follows them.
    let (status, body) = app
        .post(&hamlet, "calls/end", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(next_events(&mut ws, 1).await, three_events()[2..]);
}

#[tokio::test]
async fn acknowledged_events_are_not_replayed_but_the_others_are() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&othello).await;
    call_ack_end(&app, &hamlet, &othello).await;

    let mut ws = connect(&app, &othello, &queue, -1).await;
    assert_eq!(next_events(&mut ws, 3).await, three_events());
    ack(&mut ws, 0).await;
    close(ws).await;

    // Acknowledged by frame: event 0 is gone even though this connection asks from -1.
    let mut ws = connect(&app, &othello, &queue, -1).await;
    assert_eq!(next_events(&mut ws, 2).await, three_events()[1..]);
    close(ws).await;

    // Acknowledged by the query: the same as `GET events` with that id.
    let mut ws = connect(&app, &othello, &queue, 1).await;
    assert_eq!(next_events(&mut ws, 1).await, three_events()[2..]);
    ack(&mut ws, 2).await;
    close(ws).await;

    // Everything acknowledged: a long-poll finds the queue empty.
    assert!(app.pending_call_events(&othello, &queue).await.is_empty());
}

#[tokio::test]
async fn every_device_of_the_user_gets_the_events() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let phone = app.register(&othello).await;
    let laptop = app.register(&othello).await;
    let caller = app.register(&hamlet).await;
    let mut phone_ws = connect(&app, &othello, &phone, -1).await;
    let mut laptop_ws = connect(&app, &othello, &laptop, -1).await;
    let mut caller_ws = connect(&app, &hamlet, &caller, -1).await;

    call_ack_end(&app, &hamlet, &othello).await;
    assert_eq!(next_events(&mut phone_ws, 3).await, three_events());
    assert_eq!(next_events(&mut laptop_ws, 3).await, three_events());
    assert_eq!(next_events(&mut caller_ws, 3).await, three_events());
}

#[tokio::test]
async fn a_bad_queue_is_refused_before_the_upgrade() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let hamlets_queue = app.register(&hamlet).await;

    // Unknown, and another user's: the handshake itself fails with 400.
    assert_eq!(
        refused_status(try_connect(&app, &othello, "9999:deadbeef", -1).await),
        400
    );
    assert_eq!(
        refused_status(try_connect(&app, &othello, &hamlets_queue, -1).await),
        400
    );

    // The body is Zulip's error, as a long-poll would get (read with an HTTP client, which
    // keeps the whole body).
    let url = format!(
        "{}{DEFAULT_EVENTS_WEBSOCKET_PATH}?queue_id=9999:deadbeef",
        app.server.url()
    );
    let response = app
        .http
        .get(&url)
        .basic_auth(&othello.email, Some(&othello.key))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"], "error");
    assert_eq!(body["code"], "BAD_EVENT_QUEUE_ID");
    assert_eq!(body["queue_id"], "9999:deadbeef");

    // A missing queue_id is the usual missing-parameter error.
    let url = format!("{}{DEFAULT_EVENTS_WEBSOCKET_PATH}", app.server.url());
    let (status, body) = get_json(&app, &othello, &url).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "REQUEST_VARIABLE_MISSING");
}

async fn get_json(app: &TestApp, who: &Account, url: &str) -> (u16, Value) {
    let response = app
        .http
        .get(url)
        .basic_auth(&who.email, Some(&who.key))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_request_that_is_no_upgrade_gets_a_json_error() {
    let app = spawn().await;
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&othello).await;
    let url = format!(
        "{}{DEFAULT_EVENTS_WEBSOCKET_PATH}?queue_id={queue}",
        app.server.url()
    );
    let (status, body) = get_json(&app, &othello, &url).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["result"], "error");
    assert_eq!(body["code"], "BAD_REQUEST");
    assert!(
        body["msg"].as_str().unwrap().contains("WebSocket"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_credentials_are_refused_with_401() {
    let app = spawn().await;
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&othello).await;
    let wrong_key = Account {
        key: "not-the-key".into(),
        ..othello.clone()
    };
    assert_eq!(
        refused_status(try_connect(&app, &wrong_key, &queue, -1).await),
        401
    );
    // No credentials at all.
    let url = format!(
        "ws://{}{DEFAULT_EVENTS_WEBSOCKET_PATH}?queue_id={queue}",
        app.server.addr
    );
    let result = tokio_tungstenite::connect_async(url)
        .await
        .map(|(ws, _)| ws);
    assert_eq!(refused_status(result), 401);
}

#[tokio::test]
async fn the_server_pings() {
    // The harness's heartbeat is 1 s, so the ping interval is too.
    let app = spawn().await;
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&othello).await;
    let mut ws = connect(&app, &othello, &queue, -1).await;
    let message = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("no ping arrived")
        .unwrap()
        .unwrap();
    assert!(matches!(message, Message::Ping(_)), "{message:?}");
}

#[tokio::test]
async fn an_unparseable_frame_closes_with_1003() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&othello).await;
    app.call(&hamlet, &othello).await;

    let mut ws = connect(&app, &othello, &queue, -1).await;
    assert_eq!(next_events(&mut ws, 1).await, three_events()[..1]);
    ws.send(Message::text("hello")).await.unwrap();
    let (code, reason) = close_frame(&mut ws).await;
    assert_eq!(code, CloseCode::Unsupported);
    assert!(reason.contains("last_event_id"), "{reason}");
    until_closed(ws).await;

    // Nothing was acknowledged, so the event is replayed.
    let mut ws = connect(&app, &othello, &queue, -1).await;
    assert_eq!(next_events(&mut ws, 1).await, three_events()[..1]);
}

#[tokio::test]
async fn deleting_the_queue_closes_the_socket() {
    let app = spawn().await;
    let othello = app.account("othello@zulip.com");
    let queue = app.register(&othello).await;
    let mut ws = connect(&app, &othello, &queue, -1).await;
    let (status, body) = app
        .delete(&othello, "events", &[("queue_id", &queue)])
        .await;
    assert_eq!(status, 200, "{body}");
    let (code, reason) = close_frame(&mut ws).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.starts_with("BAD_EVENT_QUEUE_ID"), "{reason}");
    until_closed(ws).await;
}

#[tokio::test]
async fn a_queue_does_not_expire_while_its_socket_is_open() {
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        ..Options::default()
    })
    .await;
    let lifespan = Settings::default().event_queue_lifespan;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let idle = app.register(&othello).await;
    let streamed = app.register(&othello).await;
    let mut ws = connect(&app, &othello, &streamed, -1).await;

    app.advance(i64::try_from(lifespan).unwrap() + 60);
    app.fire_deadlines();
    let (status, body) = app
        .get(
            &othello,
            "events",
            &[("queue_id", &idle), ("dont_block", "true")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("BAD_EVENT_QUEUE_ID"))
    );
    // The streamed queue is alive and still delivers.
    app.call(&hamlet, &othello).await;
    assert_eq!(next_events(&mut ws, 1).await, three_events()[..1]);

    // Once the socket is gone, the queue ages like any other.
    close(ws).await;
    let state = &app.server.state;
    tokio::time::timeout(WAIT, async {
        // Wait for the server to notice the close (the queue then has an expiry again).
        while state.core.queues.next_expiry(lifespan).is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the socket never detached");
    app.advance(i64::try_from(lifespan).unwrap() + 60);
    app.fire_deadlines();
    assert!(state.core.queues.is_empty());
    assert_eq!(
        refused_status(try_connect(&app, &othello, &streamed, -1).await),
        400
    );
}

#[tokio::test]
async fn a_post_to_the_websocket_path_is_a_json_405() {
    let app = common::spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let response = app
        .http
        .post(app.url("events/websocket"))
        .basic_auth(&hamlet.email, Some(&hamlet.key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn a_shutdown_closes_sockets_with_service_restart_and_answers_long_polls() {
    let app = spawn_with(Options {
        heartbeat_seconds: 60,
        ..Options::default()
    })
    .await;
    let othello = app.account("othello@zulip.com");
    let streamed = app.register(&othello).await;
    let polled = app.register(&othello).await;
    let mut ws = connect(&app, &othello, &streamed, -1).await;
    let query = [("queue_id", polled.as_str()), ("last_event_id", "-1")];
    let long_poll = app.get(&othello, "events", &query);
    // Whether the long-poll arrives before or after the signal, it must answer at once.
    let shutdown = async {
        app.server.state.api.closing.send_replace(true);
    };
    let ((status, body), ()) = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::join!(long_poll, shutdown)
    })
    .await
    .expect("the long-poll answered at shutdown, long before its 60 s heartbeat");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["type"], "heartbeat");
    let (code, reason) = close_frame(&mut ws).await;
    assert_eq!(code, CloseCode::Restart);
    assert!(reason.contains("reconnect"), "{reason}");
}

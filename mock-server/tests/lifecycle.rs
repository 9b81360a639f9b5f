//! Request ids on every response, and graceful shutdown: open requests finish, the database
//! stays readable, nothing is accepted afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use zulip_calls_mock::ServerConfig;
use zulip_calls_mock::core::store::{DbLocation, Store};
use zulip_calls_mock::{Clock, Server};

const HAMLET: (&str, &str) = ("hamlet@zulip.com", "hamletDemoApiKeyxxxxxxxxxxxxx010");

async fn start(db: &Path, heartbeat_seconds: u64) -> Server {
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: db.display().to_string(),
        heartbeat_seconds,
        rate_limit_per_minute: 0,
        ..ServerConfig::default()
    };
    Server::start(config, Clock::System).await.unwrap()
}

/// Yields until `ready` holds (a condition of the server's state, not a guess at timing).
async fn until(ready: impl Fn() -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !ready() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("condition never held");
}

/// Registers a queue for Hamlet and starts a long-poll on it; returns once the poll is attached.
async fn open_long_poll(
    server: &Server,
) -> impl Future<Output = Result<(u16, serde_json::Value), reqwest::Error>> + use<> {
    let http = reqwest::Client::new();
    let registered: serde_json::Value = http
        .post(format!("{}/api/v1/register", server.url()))
        .basic_auth(HAMLET.0, Some(HAMLET.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let queue_id = registered["queue_id"].as_str().unwrap().to_owned();
    let url = format!("{}/api/v1/events", server.url());
    let poll = tokio::spawn(async move {
        let response = http
            .get(url)
            .basic_auth(HAMLET.0, Some(HAMLET.1))
            .query(&[("queue_id", queue_id.as_str()), ("last_event_id", "-1")])
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await?))
    });
    // An attached queue has no expiry: the poll is in the handler now.
    let lifespan = server.state.core.settings().event_queue_lifespan;
    until(|| server.state.core.queues.next_expiry(lifespan).is_none()).await;
    async move { poll.await.unwrap() }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("mock.sqlite3"), 1).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/server_settings", server.url());

    let response = http.get(&url).send().await.unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    // A client's own id is kept, so its logs and ours line up.
    let response = http
        .get(&url)
        .header("x-request-id", "client-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-42");

    // Errors and unknown paths too.
    let response = http
        .get(format!("{}/nowhere", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn shutdown_lets_open_requests_finish() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mock.sqlite3");
    let server = start(&db, 1).await;
    let url = server.url();
    let http = reqwest::Client::new();
    let started: serde_json::Value = http
        .post(format!("{url}/api/v1/calls/start"))
        .basic_auth(HAMLET.0, Some(HAMLET.1))
        .form(&[("user_id", "6")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let call_id = started["call_id"].as_str().unwrap().parse().unwrap();

    let poll = open_long_poll(&server).await;
    // The poll answers (a heartbeat) as soon as the shutdown begins.
    assert!(server.shutdown().await, "the long-poll was cut off");
    let (status, body) = poll.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["type"], "heartbeat", "{body}");

    // Nothing is accepted any more.
    assert!(http.get(&url).send().await.is_err());
    // The database is closed cleanly and holds the call.
    let store = Store::open(&DbLocation::File(db)).unwrap();
    let record = store.call(call_id).unwrap().unwrap();
    assert_eq!(record.call.state.as_str(), "calling");
}

#[tokio::test]
async fn shutdown_answers_a_long_poll_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // A heartbeat far beyond the grace period.
    let server = start(&dir.path().join("mock.sqlite3"), 600).await;
    let poll = open_long_poll(&server).await;
    let began = Instant::now();
    assert!(
        server.shutdown_within(Duration::from_secs(5)).await,
        "the long-poll answered when the shutdown began, so nothing was cut off"
    );
    assert!(began.elapsed() < Duration::from_secs(5));
    // The poll got an ordinary answer; the client's next poll finds the server gone.
    let (status, body) = poll.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["type"], "heartbeat", "{body}");
}

//! The health probes over real HTTP: ready once started, 503 from the moment a shutdown
//! begins while open requests drain, and neither journaled nor guarded by the admin token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use zulip_calls_mock::{Clock, Server, ServerConfig};

const HAMLET: (&str, &str) = ("hamlet@zulip.com", "hamletDemoApiKeyxxxxxxxxxxxxx010");

async fn start(admin_token: Option<&str>) -> Server {
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: ":memory:".to_owned(),
        admin_token: admin_token.map(str::to_owned),
        rate_limit_per_minute: 1,
        ..ServerConfig::default()
    };
    Server::start(config, Clock::System).await.unwrap()
}

/// A client that opens a new connection for every request: during a drain the server closes
/// kept-alive ones.
fn fresh_connections() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let response = http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn ready_and_live_once_started_without_a_token_or_a_journal_entry() {
    let server = start(Some("s3cret")).await;
    let http = fresh_connections();
    let url = server.url();
    // Past a rate limit of one request a minute, and without the admin token.
    for _ in 0..3 {
        let (status, body) = get(&http, &format!("{url}/health/ready")).await;
        assert_eq!(
            (status, body),
            (200, serde_json::json!({"status": "ready"}))
        );
        let (status, body) = get(&http, &format!("{url}/health/live")).await;
        assert_eq!((status, body), (200, serde_json::json!({"status": "live"})));
    }
    // Other methods and paths under /health are the usual answers, never a 5xx.
    let response = http
        .post(format!("{url}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let response = http.get(format!("{url}/health/")).send().await.unwrap();
    assert_eq!(response.status(), 404);

    let journal: serde_json::Value = http
        .get(format!("{url}/mock/v1/journal"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Only the unknown path is journaled, as any other would be.
    let paths: Vec<&str> = journal["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/health/"], "{journal}");
    assert!(server.shutdown().await);
}

/// Sends a `POST calls/start` whose body never comes, and returns once its handler waits
/// for the body (the server's `100 Continue` says so): an open request holding the drain.
async fn stalled_request(server: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", HAMLET.0, HAMLET.1));
    let head = format!(
        "POST /api/v1/calls/start HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\
         Expect: 100-continue\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !String::from_utf8_lossy(&seen).contains("100 Continue\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("no 100 Continue");
    stream
}

#[tokio::test]
async fn ready_says_503_while_a_shutdown_drains() {
    let server = start(None).await;
    let url = server.url();
    let http = fresh_connections();
    let (status, _) = get(&http, &format!("{url}/health/ready")).await;
    assert_eq!(status, 200);

    let mut stalled = stalled_request(&server).await;
    let shutdown = tokio::spawn(server.shutdown_within(Duration::from_secs(60)));

    // Polled until the shutdown has begun: a state, not a guessed delay.
    let body = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (status, body) = get(&http, &format!("{url}/health/ready")).await;
            if status == 503 {
                break body;
            }
            assert_eq!(status, 200, "{body}");
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("ready never said 503");
    assert_eq!(body, serde_json::json!({"status": "shutting_down"}));
    assert!(
        !shutdown.is_finished(),
        "the stalled request holds the drain"
    );
    // Still alive, and no new work is taken meanwhile.
    let (status, _) = get(&http, &format!("{url}/health/live")).await;
    assert_eq!(status, 200);
    let (status, body) = get(&http, &format!("{url}/api/v1/server_settings")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "SERVER_SHUTTING_DOWN", "{body}");

    // The open request finishes normally, and with it the drain.
    stalled.write_all(b"user_id=6").await.unwrap();
    let mut answer = String::new();
    stalled.read_to_string(&mut answer).await.unwrap();
    assert!(answer.contains("HTTP/1.1 200"), "{answer}");
    assert!(shutdown.await.unwrap(), "the drain was cut off");
    // Then nothing answers any more.
    assert!(http.get(format!("{url}/health/live")).send().await.is_err());
}

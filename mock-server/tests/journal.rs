//! The request journal over HTTP (`/mock/v1/journal`): what is recorded (user, merged
//! parameters, status, error code), what is never recorded (secrets, control requests),
//! filtering and paging, emptying, and verification with its near misses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Account, Options, TestApp, spawn, spawn_with};
use pretty_assertions::assert_eq;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends a control request with a JSON body (or none) and returns the status and body.
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

/// The journaled requests matching `query` (a pattern, `since_id`, `limit`).
async fn journal(app: &TestApp, query: &[(&str, &str)]) -> Vec<Value> {
    let url = format!("{}/mock/v1/journal", app.server.url());
    let response = app.http.get(url).query(query).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"], "success");
    body["requests"].as_array().unwrap().clone()
}

fn hamlet(app: &TestApp) -> Account {
    app.account("hamlet@zulip.com")
}

fn othello(app: &TestApp) -> Account {
    app.account("othello@zulip.com")
}

#[tokio::test]
async fn requests_are_journaled_with_user_params_status_and_error_code() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let call_id = app.call(&hamlet, &othello).await;
    // A JSON body, merged with the query string (the body wins).
    let response = app
        .http
        .post(app.url("calls/end?call_id=ignored&extra=1"))
        .basic_auth(&othello.email, Some(&othello.key))
        .json(&json!({"call_id": call_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A wrong key: the email is still recorded, the id is not.
    let response = app
        .http
        .get(app.url("users/me"))
        .basic_auth(&hamlet.email, Some("not-the-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // Control requests are not journaled.
    control(&app, Method::GET, "journal", None).await;

    let requests = journal(&app, &[]).await;
    assert_eq!(requests.len(), 3, "{requests:#?}");
    let start = &requests[0];
    assert_eq!(start["method"], "POST");
    assert_eq!(start["path"], "/api/v1/calls/start");
    assert_eq!(start["user_id"], hamlet.id);
    assert_eq!(start["user_email"], hamlet.email);
    assert_eq!(start["params"], json!({"user_id": othello.id.to_string()}));
    assert_eq!(start["status"], 200);
    assert_eq!(start["error_code"], Value::Null);
    assert!(start["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(start["at"].as_str().unwrap().ends_with('Z'));

    let end = &requests[1];
    assert_eq!(end["user_id"], othello.id);
    assert_eq!(end["params"], json!({"call_id": call_id, "extra": "1"}));

    let refused = &requests[2];
    assert_eq!(refused["path"], "/api/v1/users/me");
    assert_eq!(refused["user_id"], Value::Null);
    assert_eq!(refused["user_email"], hamlet.email);
    assert_eq!(refused["status"], 401);
    assert_eq!(refused["error_code"], "INVALID_API_KEY");

    let ids: Vec<u64> = requests.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn secrets_never_reach_the_journal() {
    let app = spawn().await;
    let hamlet = hamlet(&app);
    let password = "password-that-must-not-leak";
    let token = "device-token-that-must-not-leak";
    let response = app
        .http
        .post(app.url("fetch_api_key"))
        .form(&[("username", hamlet.email.as_str()), ("password", password)])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error() || response.status().is_success());
    app.post(&hamlet, "users/me/android_gcm_reg_id", &[("token", token)])
        .await;
    let response = app
        .http
        .get(app.url("users/me"))
        .query(&[("api_key", hamlet.key.as_str()), ("key", "k1-secret")])
        .basic_auth(&hamlet.email, Some(&hamlet.key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let text = app
        .http
        .get(format!("{}/mock/v1/journal", app.server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for secret in [password, token, hamlet.key.as_str(), "k1-secret"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let requests = journal(&app, &[]).await;
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0]["params"]["password"], "[redacted]");
    assert_eq!(requests[0]["params"]["username"], hamlet.email);
    assert_eq!(requests[1]["params"]["token"], "[redacted]");
    assert_eq!(requests[2]["params"]["api_key"], "[redacted]");
    assert_eq!(requests[2]["params"]["key"], "[redacted]");
}

#[tokio::test]
async fn listing_filters_by_pattern_and_pages_with_since_id_and_limit() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let call_id = app.call(&hamlet, &othello).await;
    app.post(&othello, "calls/acknowledge", &[("call_id", &call_id)])
        .await;
    app.post(&othello, "calls/end", &[("call_id", &call_id)])
        .await;
    app.get(&hamlet, "users/me", &[]).await;
    app.get(&hamlet, "calls/nonsense-id", &[]).await;

    let paths = |requests: Vec<Value>| -> Vec<String> {
        requests
            .iter()
            .map(|r| r["path"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        paths(journal(&app, &[("path", "/api/v1/calls/*")]).await),
        [
            "/api/v1/calls/start",
            "/api/v1/calls/acknowledge",
            "/api/v1/calls/end",
            "/api/v1/calls/nonsense-id"
        ]
    );
    assert_eq!(journal(&app, &[("path", "/api/**")]).await.len(), 5);
    assert_eq!(
        paths(journal(&app, &[("user", "othello@zulip.com")]).await),
        ["/api/v1/calls/acknowledge", "/api/v1/calls/end"]
    );
    assert_eq!(
        journal(&app, &[("user", &othello.id.to_string())])
            .await
            .len(),
        2
    );
    assert_eq!(
        paths(journal(&app, &[("method", "get"), ("status", "200")]).await),
        ["/api/v1/users/me"]
    );
    let with_params = journal(
        &app,
        &[("params", &json!({"call_id": call_id}).to_string())],
    )
    .await;
    assert_eq!(with_params.len(), 2);

    // The latest `limit` without `since_id`; the first after it with one.
    let all = journal(&app, &[]).await;
    assert_eq!(
        paths(journal(&app, &[("limit", "2")]).await),
        ["/api/v1/users/me", "/api/v1/calls/nonsense-id"]
    );
    let first = all[0]["id"].as_u64().unwrap().to_string();
    assert_eq!(
        paths(journal(&app, &[("since_id", &first), ("limit", "2")]).await),
        ["/api/v1/calls/acknowledge", "/api/v1/calls/end"]
    );
    let (status, body) = control(&app, Method::GET, "journal?limit=0", None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn delete_empties_the_journal_and_ids_keep_increasing() {
    let app = spawn().await;
    let hamlet = hamlet(&app);
    app.get(&hamlet, "users/me", &[]).await;
    app.get(&hamlet, "users/me", &[]).await;
    let last = journal(&app, &[]).await[1]["id"].as_u64().unwrap();
    let (status, body) = control(&app, Method::DELETE, "journal", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deleted"], 2);
    assert!(journal(&app, &[]).await.is_empty());
    app.get(&hamlet, "users/me", &[]).await;
    let after = journal(&app, &[]).await;
    assert_eq!(after.len(), 1);
    assert!(after[0]["id"].as_u64().unwrap() > last);
}

#[tokio::test]
async fn verify_counts_matches_and_explains_near_misses() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let call_id = app.call(&hamlet, &othello).await;
    app.post(&hamlet, "calls/end", &[("call_id", &call_id)])
        .await;

    let verify = |body: Value| control(&app, Method::POST, "journal/verify", Some(body));
    let (status, body) = verify(json!({"method": "POST", "path": "/api/v1/calls/start"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"], 1);
    let (status, _) = verify(json!({"path": "/api/v1/calls/*", "count": 2})).await;
    assert_eq!(status, 200);
    let (status, _) = verify(json!({"path": "/api/v1/calls/*", "at_most": 1})).await;
    assert_eq!(status, 409);
    let (status, _) = verify(json!({"path": "/api/v1/calls/*", "at_least": 1, "at_most": 2})).await;
    assert_eq!(status, 200);
    let (status, _) = verify(json!({
        "path": "/api/v1/calls/end",
        "user": hamlet.id,
        "params": {"call_id": call_id},
        "status": 200,
    }))
    .await;
    assert_eq!(status, 200);

    // The request that never came: the near misses say how the others differ.
    let (status, body) = verify(json!({
        "method": "POST",
        "path": "/api/v1/calls/create",
        "user": "hamlet@zulip.com",
    }))
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["result"], "error");
    assert_eq!(body["code"], "VERIFICATION_FAILED");
    assert_eq!(body["matched"], 0);
    let msg = body["msg"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "Expected at least 1 request matching POST /api/v1/calls/create by hamlet@zulip.com; found 0"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("path: expected /api/v1/calls/create, got /api/v1/calls/end"),
        "{msg}"
    );
    let near = body["near_misses"].as_array().unwrap();
    assert_eq!(near.len(), 2);
    // Equally close: the newer first.
    assert_eq!(near[0]["request"]["path"], "/api/v1/calls/end");
    assert_eq!(
        near[0]["differences"],
        json!(["path: expected /api/v1/calls/create, got /api/v1/calls/end"])
    );
    assert_eq!(
        near[1]["differences"],
        json!(["path: expected /api/v1/calls/create, got /api/v1/calls/start"])
    );

    // Several differences, one line each.
    let (status, body) = verify(json!({
        "method": "GET",
        "path": "/api/v1/calls/start",
        "user": "othello@zulip.com",
        "params": {"user_id": 999},
        "count": 1,
    }))
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        body["near_misses"][0]["differences"],
        json!([
            "method: expected GET, got POST",
            format!(
                "user: expected othello@zulip.com, got hamlet@zulip.com ({})",
                hamlet.id
            ),
            format!("params.user_id: expected 999, got {}", othello.id),
        ])
    );
    assert!(
        body["msg"]
            .as_str()
            .unwrap()
            .starts_with("Expected exactly 1 request matching GET /api/v1/calls/start by othello@zulip.com and params {\"user_id\":999}; found 0"),
        "{body}"
    );

    let (status, body) = verify(json!({"path": "/x", "count": 1, "at_least": 1})).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn verify_accepts_form_parameters() {
    let app = spawn().await;
    let hamlet = hamlet(&app);
    app.get(&hamlet, "users/me", &[]).await;
    let response = app
        .http
        .post(format!("{}/mock/v1/journal/verify", app.server.url()))
        .form(&[
            ("path", "/api/v1/users/me"),
            ("user", &hamlet.id.to_string()),
            ("status", "200"),
            ("count", "1"),
            ("params", "{}"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// A body over the limit, announced or streamed in chunks, still gets the handler's 413 and
/// is journaled with it.
#[tokio::test]
async fn oversized_bodies_keep_their_413() {
    let app = spawn_with(Options {
        max_body_bytes: 1024,
        ..Options::default()
    })
    .await;
    let hamlet = hamlet(&app);
    let padding = "x".repeat(2048);
    let (status, body) = app
        .post(
            &hamlet,
            "calls/start",
            &[("user_id", "6"), ("pad", &padding)],
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "PAYLOAD_TOO_LARGE");

    // Chunked, so the size is only known once read: the journal must replay what it read.
    let mut stream = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    let chunk = format!("user_id=6&pad={}", "y".repeat(700));
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", hamlet.email, hamlet.key),
    );
    let mut request = format!(
        "POST /api/v1/calls/start HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    for part in [&chunk[..], "&more=", &"z".repeat(700)] {
        request.push_str(&format!("{:x}\r\n{part}\r\n", part.len()));
    }
    request.push_str("0\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("PAYLOAD_TOO_LARGE"), "{answer}");

    let requests = journal(&app, &[]).await;
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request["status"], 413);
        assert_eq!(request["error_code"], "PAYLOAD_TOO_LARGE");
    }

    // Just under the limit, chunked: read by the journal, then by the handler.
    let mut stream = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    let mut request = format!(
        "POST /api/v1/calls/start HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    for part in ["user_id=", "6"] {
        request.push_str(&format!("{:x}\r\n{part}\r\n", part.len()));
    }
    request.push_str("0\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let last = journal(&app, &[("limit", "1")]).await;
    assert_eq!(last[0]["params"], json!({"user_id": "6"}));
}

#[tokio::test]
async fn websocket_upgrades_are_journaled_and_still_work() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    let queue = app.register(&othello).await;
    let url = format!(
        "ws://{}/api/v1/events/websocket?queue_id={queue}&last_event_id=-1",
        app.server.addr
    );
    let mut request = url.into_client_request().unwrap();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", othello.email, othello.key),
    );
    request
        .headers_mut()
        .insert("authorization", format!("Basic {auth}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    app.call(&hamlet, &othello).await;
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            let message = ws.next().await.unwrap().unwrap();
            if message.is_text() {
                return message;
            }
        }
    })
    .await
    .unwrap();
    assert!(frame.to_text().unwrap().contains("call_event"));
    let upgrades = journal(&app, &[("path", "/api/v1/events/websocket")]).await;
    assert_eq!(upgrades.len(), 1);
    assert_eq!(upgrades[0]["status"], 101);
    assert_eq!(upgrades[0]["params"]["queue_id"], queue);
}

#[tokio::test]
async fn reset_clears_the_journal_fault_rules_and_queued_event_record() {
    let app = spawn().await;
    let (hamlet, othello) = (hamlet(&app), othello(&app));
    app.register(&othello).await;
    app.call(&hamlet, &othello).await;
    let (status, _) = control(
        &app,
        Method::POST,
        "faults",
        Some(json!({"path": "/nowhere", "action": {"kind": "drop"}})),
    )
    .await;
    assert_eq!(status, 200);
    let event = json!({
        "condition": {"kind": "event", "user": othello.id, "event_type": "call_started"},
        "timeout_seconds": 0,
    });
    assert_eq!(
        control(&app, Method::POST, "wait-for", Some(event.clone()))
            .await
            .0,
        200
    );

    let (status, body) = control(&app, Method::POST, "reset", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(journal(&app, &[]).await.is_empty());
    let (_, faults) = control(&app, Method::GET, "faults", None).await;
    assert_eq!(faults["faults"], json!([]));
    let (status, body) = control(&app, Method::POST, "wait-for", Some(event)).await;
    assert_eq!(status, 408, "{body}");
}

//! Calling each other at once, from outside: two `call` processes, Hamlet's to Othello and
//! Othello's to Hamlet, started together. The server places one call and tells the other
//! caller `CALLER_BUSY` with `calling_you`; that caller's client accepts the call instead of
//! reporting "busy", so both end up in one accepted call, round after round.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::process::{Run, command, finish};
use serde_json::Value;
use zulip_calls_mock::{Clock, Server, ServerConfig};

const HAMLET: &str = "hamlet@zulip.com";
const OTHELLO: &str = "othello@zulip.com";
const ROUNDS: usize = 100;

async fn server() -> (Server, tempfile::TempDir) {
    let db = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: db.path().join("mock.sqlite3").display().to_string(),
        rate_limit_per_minute: 0,
        ..ServerConfig::default()
    };
    (Server::start(config, Clock::System).await.unwrap(), db)
}

fn key(server: &Server, email: &str) -> String {
    let directory = server.state.core.directory();
    directory.user_by_email(email).unwrap().api_key.clone()
}

/// `call TO --json` as `from`.
fn call(server: &Server, home: &Path, from: &str, to: &str) -> std::process::Command {
    let mut command = command(home);
    command
        .args(["call", to, "--json"])
        .args(["--site", &server.url(), "--email", from])
        .args(["--api-key", &key(server, from)]);
    command
}

/// A design-dialect request as `email`.
async fn request(server: &Server, email: &str, path: &str, form: &[(&str, &str)]) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/{path}", server.url()))
        .basic_auth(email, Some(key(server, email)))
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}: {response:?}");
    response.json().await.unwrap()
}

async fn state_of(server: &Server, call_id: &str) -> String {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/calls/{call_id}", server.url()))
        .basic_auth(HAMLET, Some(key(server, HAMLET)))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    body["call"]["state"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn two_clients_calling_each_other_at_once_end_up_in_one_accepted_call() {
    let (server, _db) = server().await;
    let home = tempfile::tempdir().unwrap();
    let (mut hamlet_placed, mut othello_placed) = (0, 0);
    for round in 0..ROUNDS {
        let (a, b): (Run, Run) = tokio::join!(
            finish(call(&server, home.path(), HAMLET, OTHELLO)),
            finish(call(&server, home.path(), OTHELLO, HAMLET))
        );
        assert_eq!((a.code, b.code), (0, 0), "round {round}: {a:?} {b:?}");
        let (a, b) = (a.json(), b.json());
        // Exactly one of them accepted the other's call, and it is the same call.
        let accepted = |v: &Value| v["accepted_their_call"] == true;
        assert_ne!(accepted(&a), accepted(&b), "round {round}: {a} {b}");
        assert_eq!(a["call_id"], b["call_id"], "round {round}: {a} {b}");
        if accepted(&b) {
            hamlet_placed += 1;
        } else {
            othello_placed += 1;
        }
        let call_id = a["call_id"].as_str().unwrap();
        assert_eq!(
            state_of(&server, call_id).await,
            "accepted",
            "round {round}"
        );
        request(&server, HAMLET, "calls/end", &[("call_id", call_id)]).await;
    }
    assert_eq!(hamlet_placed + othello_placed, ROUNDS);
}

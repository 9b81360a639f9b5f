//! Missed calls, call-back and the figures at a glance, from outside: `missed`, `stats`,
//! `completions` and `man` as processes, and the TUI in a pseudo-terminal counting a call
//! missed while it was closed, clearing the count in History and calling back from there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::process::{Run, command, finish};
use serde_json::Value;
use zulip_calls_mock::{Clock, Server, ServerConfig};

const HAMLET: &str = "hamlet@zulip.com";
const OTHELLO: &str = "othello@zulip.com";

/// A mock server on a virtual clock (so a call rings out at once).
async fn server() -> (Server, tempfile::TempDir) {
    let db = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: db.path().join("mock.sqlite3").display().to_string(),
        rate_limit_per_minute: 0,
        virtual_clock: true,
        ..ServerConfig::default()
    };
    (Server::start(config, Clock::System).await.unwrap(), db)
}

fn key(server: &Server, email: &str) -> String {
    let directory = server.state.core.directory();
    directory.user_by_email(email).unwrap().api_key.clone()
}

fn id(server: &Server, email: &str) -> String {
    let directory = server.state.core.directory();
    directory.user_by_email(email).unwrap().id.0.to_string()
}

/// A design-dialect request as `email`.
async fn post(server: &Server, email: &str, path: &str, form: &[(&str, &str)]) -> Value {
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

/// Places a call from `from` to `to`; its id.
async fn place(server: &Server, from: &str, to: &str) -> String {
    let body = post(server, from, "calls/start", &[("user_id", &id(server, to))]).await;
    body["call_id"].as_str().unwrap().to_owned()
}

/// Lets a ringing call ring out (the ring timeout is 30 s).
async fn ring_out(server: &Server) {
    let response = reqwest::Client::new()
        .post(format!("{}/mock/v1/clock/advance", server.url()))
        .json(&serde_json::json!({ "seconds": 31 }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
}

/// The binary as `email`, its state directory under `home`.
fn client(server: &Server, home: &Path, email: &str, args: &[&str]) -> std::process::Command {
    let mut command = command(home);
    command
        .env("XDG_STATE_HOME", home.join("state"))
        .args(args)
        .args(["--site", &server.url(), "--email", email])
        .args(["--api-key", &key(server, email)]);
    command
}

async fn run(server: &Server, home: &Path, email: &str, args: &[&str]) -> Run {
    let run = finish(client(server, home, email, args)).await;
    assert_eq!(run.code, 0, "{run:?}");
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_counts_a_known_history() {
    let (server, _db) = server().await;
    let home = tempfile::tempdir().unwrap();
    // Answered (then ended), declined, rung out, and one of mine cancelled.
    let answered = place(&server, OTHELLO, HAMLET).await;
    post(
        &server,
        HAMLET,
        "calls/respond",
        &[("call_id", &answered), ("response", "accept")],
    )
    .await;
    post(&server, OTHELLO, "calls/end", &[("call_id", &answered)]).await;
    let declined = place(&server, OTHELLO, HAMLET).await;
    post(
        &server,
        HAMLET,
        "calls/respond",
        &[("call_id", &declined), ("response", "reject")],
    )
    .await;
    place(&server, OTHELLO, HAMLET).await;
    ring_out(&server).await;
    let mine = place(&server, HAMLET, OTHELLO).await;
    post(&server, HAMLET, "calls/end", &[("call_id", &mine)]).await;

    let stats = run(
        &server,
        home.path(),
        HAMLET,
        &["--json", "stats", "--days", "3"],
    )
    .await
    .json();
    assert_eq!(stats["days"], 3, "{stats}");
    assert_eq!(stats["per_day"].as_array().unwrap().len(), 3, "{stats}");
    assert_eq!(
        [
            &stats["total"],
            &stats["answered"],
            &stats["declined"],
            &stats["missed"]
        ],
        [4, 1, 1, 1],
        "{stats}"
    );
    // Three calls to me rang to an outcome, and I answered one.
    let rate = stats["answer_rate"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{stats}");
    assert!(stats["average_seconds"].as_f64().is_some(), "{stats}");
    let today = stats["per_day"][2].clone();
    assert_eq!(today["total"], 4, "{stats}");

    let text = run(&server, home.path(), HAMLET, &["stats"]).await.stdout;
    assert!(
        text.contains("4 calls, 1 answered, 1 missed, 1 declined"),
        "{text}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_lists_calls_that_rang_out_while_nothing_ran() {
    let (server, _db) = server().await;
    let home = tempfile::tempdir().unwrap();
    let empty = run(&server, home.path(), HAMLET, &["--json", "missed"])
        .await
        .json();
    assert_eq!(empty["count"], 0, "{empty}");

    let call = place(&server, OTHELLO, HAMLET).await;
    ring_out(&server).await;
    // Missed calls of others, and mine to others, do not count.
    let other = place(&server, HAMLET, OTHELLO).await;
    ring_out(&server).await;

    let missed = run(&server, home.path(), HAMLET, &["--json", "missed"])
        .await
        .json();
    assert_eq!(missed["count"], 1, "{missed}");
    assert_eq!(missed["calls"][0]["call_id"], call.as_str(), "{missed}");
    assert_eq!(
        missed["calls"][0]["user_id"].to_string(),
        id(&server, OTHELLO)
    );
    assert_eq!(missed["since"], Value::Null, "never looked at History");
    let theirs = run(&server, home.path(), OTHELLO, &["--json", "missed"])
        .await
        .json();
    assert_eq!(theirs["count"], 1, "{theirs}");
    assert_eq!(theirs["calls"][0]["call_id"], other.as_str(), "{theirs}");

    let text = run(&server, home.path(), HAMLET, &["missed"]).await.stdout;
    assert!(
        text.contains("Othello") && text.ends_with("1 missed call\n"),
        "{text}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_the_man_page_name_the_subcommands() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = finish({
            let mut c = command(home.path());
            c.args(["completions", shell]);
            c
        })
        .await;
        assert_eq!(run.code, 0, "{run:?}");
        for sub in ["call", "answer", "history", "missed", "stats", "group"] {
            assert!(run.stdout.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let man = finish({
        let mut c = command(home.path());
        c.arg("man");
        c
    })
    .await;
    assert_eq!(man.code, 0, "{man:?}");
    assert!(man.stdout.starts_with(".ie"), "roff: {}", &man.stdout[..40]);
    for sub in ["call", "missed", "stats", "completions", "group start"] {
        assert!(
            man.stdout.contains(&format!(".SS \"zulip-calls {sub}\"")),
            "the man page lacks {sub}"
        );
    }
    let bad = finish({
        let mut c = command(home.path());
        c.args(["completions", "tcsh"]);
        c
    })
    .await;
    assert_eq!(bad.code, 2, "{bad:?}");
}

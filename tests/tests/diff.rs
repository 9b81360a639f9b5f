//! `zulip-calls-diff` as a process. Without the plugin's code (as in CI) it says so in one
//! sentence and exits 0; against two mocks in the same mode every request compares identical;
//! against two mocks that behave differently it exits 1 and names the differing paths.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use zulip_calls_e2e::plugin_users::{self, PluginUser};
use zulip_calls_mock::{Clock, Server, ServerConfig};
use zulip_calls_protocol::settings::Settings;

fn diff() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zulip-calls-diff"))
}

/// A mock on port 0 with `users` as its realm, rate limit off, `settings` applied.
async fn mock(dir: &Path, name: &str, users: &[PluginUser], settings: &[(&str, &str)]) -> Server {
    let realm = dir.join(format!("{name}.toml"));
    let names = |url: &str| format!("Realm at {url}");
    std::fs::write(&realm, plugin_users::realm_toml(users, &names)).unwrap();
    let settings = Settings::default()
        .with_overrides(|key| {
            settings
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: ":memory:".to_owned(),
        realm_file: Some(realm),
        settings,
        rate_limit_per_minute: 0,
        ..ServerConfig::default()
    };
    Server::start(config, Clock::System).await.unwrap()
}

/// The harness's people, at URLs a mock accepts.
fn people() -> Vec<PluginUser> {
    plugin_users::harness_like("http://127.0.0.1:9", "http://lear.localhost:9")
}

/// Runs the tool (off the runtime's threads, so the servers keep answering).
async fn run(args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(diff()).args(&args).envs(env).output().unwrap()
    })
    .await
    .unwrap()
}

fn json_report(output: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr:\n{stderr}"))
}

#[test]
fn without_the_plugins_code_it_says_so_in_one_sentence_and_skips() {
    let empty = tempfile::tempdir().unwrap();
    let output = Command::new(diff())
        .env("REALPLUGIN_UPSTREAM", empty.path())
        .env("REALPLUGIN_DIR", empty.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("Skipped: the released plugin's code is not there ("),
        "{stdout}"
    );
    assert!(stdout.contains("zulip_calls_plugin/views/calls.py does not exist"));
    assert!(stdout.contains("fetch.md"), "{stdout}");
    assert_eq!(
        stdout.trim_end().matches(". ").count(),
        0,
        "one sentence: {stdout}"
    );

    // Nothing named at all: the same, naming the variable.
    let output = Command::new(diff())
        .env_remove("REALPLUGIN_UPSTREAM")
        .env_remove("REALPLUGIN_DIR")
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report = json_report(&output);
    assert_eq!(report["skipped"], true);
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("REALPLUGIN_UPSTREAM is not set")
    );
}

#[test]
fn a_server_without_a_partner_is_a_usage_error() {
    let output = Command::new(diff())
        .args(["--a-users", "users.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mocks_in_the_plugin_mode_answer_every_request_alike() {
    let dir = tempfile::tempdir().unwrap();
    let people = people();
    let compat = [("CALLS_COMPAT", "plugin-1.1.0")];
    let a = mock(dir.path(), "a", &people, &compat).await;
    let b = mock(dir.path(), "b", &people, &compat).await;
    // Users from the mocks' control API (no users files).
    let output = run(
        vec![
            "--a".into(),
            a.url(),
            "--b".into(),
            b.url(),
            "--json".into(),
        ],
        vec![],
    )
    .await;
    let report = json_report(&output);
    let different: Vec<&Value> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] != "identical" && r["verdict"] != "skipped")
        .collect();
    assert!(different.is_empty(), "{different:#?}");
    assert_eq!(output.status.code(), Some(0));
    let compared = report["compared"].as_u64().unwrap();
    assert!(compared > 30, "{compared}");
    assert_eq!(report["identical"], compared);
    assert_eq!(report["one_sided"], 0);
    // Two mocks are reset before every block.
    assert_eq!(report["notes"], serde_json::json!([]));

    // The table says the same.
    let output = run(vec!["--a".into(), a.url(), "--b".into(), b.url()], vec![]).await;
    let table = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{table}");
    let summary = format!("{compared} requests compared, {compared} identical");
    assert!(table.contains(&summary), "{table}");
    assert!(!table.contains("Differences"), "{table}");
    let _ = a.shutdown().await;
    let _ = b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mocks_that_behave_differently_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let people = people();
    // The contract against the plugin mode: already the first call differs (the plugin's
    // `incoming_call` has no `timeout_seconds`, among much else).
    let a = mock(dir.path(), "a", &people, &[("CALLS_API", "1.1")]).await;
    let b = mock(
        dir.path(),
        "b",
        &people,
        &[("CALLS_COMPAT", "plugin-1.1.0")],
    )
    .await;
    // Users files this time, in the plugin harness's shape.
    let users = dir.path().join("users.json");
    std::fs::write(&users, serde_json::to_string(&people).unwrap()).unwrap();
    let users = users.display().to_string();
    let output = run(
        vec![
            "--a".into(),
            a.url(),
            "--a-users".into(),
            users.clone(),
            "--b".into(),
            b.url(),
            "--b-users".into(),
            users,
            "--json".into(),
        ],
        vec![],
    )
    .await;
    let report = json_report(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(report["different"].as_u64().unwrap() > 0);
    let paths: Vec<&str> = report["by_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.iter().any(|p| p.contains("timeout_seconds")),
        "{paths:?}"
    );
    // The first call's row names the path, with both values.
    let first = &report["rows"][0];
    assert_eq!(first["request"], "POST calls/create user_id=<aaron>");
    let named: Vec<&str> = first["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(
        named.iter().any(|p| p.ends_with("timeout_seconds")),
        "{named:?}"
    );
    let _ = a.shutdown().await;
    let _ = b.shutdown().await;
}

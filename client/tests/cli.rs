//! The binary as a process, against a real mock server started in-process on port 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use zulip_calls_mock::ServerConfig;
use zulip_calls_mock::{Clock, Server};

const BIN: &str = env!("CARGO_BIN_EXE_zulip-calls");

/// The binary with a clean environment: no credentials from the caller's shell or home.
fn command(home: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.env("HOME", home);
    for var in [
        "ZULIPRC",
        "ZULIP_EMAIL",
        "ZULIP_API_KEY",
        "ZULIP_SITE",
        "XDG_STATE_HOME",
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
    ] {
        command.env_remove(var);
    }
    command
}

/// What a finished run left behind.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The last stdout line as JSON.
    fn json(&self) -> Value {
        let line = self
            .stdout
            .lines()
            .last()
            .unwrap_or_else(|| panic!("{self:?}"));
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// A mock server on port 0 and a home directory for the client.
struct Mock {
    server: Server,
    home: tempfile::TempDir,
    _db: tempfile::TempDir,
}

impl Mock {
    async fn start() -> Mock {
        let db = tempfile::tempdir().unwrap();
        let config = ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            db: db.path().join("mock.sqlite3").display().to_string(),
            rate_limit_per_minute: 0,
            heartbeat_seconds: 1,
            ..ServerConfig::default()
        };
        let server = Server::start(config, Clock::System).await.unwrap();
        Mock {
            server,
            home: tempfile::tempdir().unwrap(),
            _db: db,
        }
    }

    fn key(&self, email: &str) -> String {
        let directory = self.server.state.core.directory();
        directory.user_by_email(email).unwrap().api_key.clone()
    }

    fn id(&self, email: &str) -> i64 {
        let directory = self.server.state.core.directory();
        directory.user_by_email(email).unwrap().id.0
    }

    /// The binary signed in as `email` with `args`, not started yet.
    fn command(&self, email: &str, args: &[&str]) -> Command {
        let mut command = command(self.home.path());
        command
            .args(args)
            .args(["--site", &self.server.url(), "--email", email])
            .args(["--api-key", &self.key(email)]);
        command
    }

    /// Runs the binary as `email` to completion (off the runtime, so the server keeps serving).
    async fn run(&self, email: &str, args: &[&str]) -> Run {
        let command = self.command(email, args);
        finish(command).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.server.url())
    }

    /// A plain HTTP request as `email`, for playing the other party.
    async fn post(&self, email: &str, path: &str, form: &[(&str, &str)]) -> Value {
        let response = reqwest::Client::new()
            .post(self.url(path))
            .basic_auth(email, Some(self.key(email)))
            .form(form)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}: {response:?}");
        response.json().await.unwrap()
    }

    /// Registers a call-event queue for `email`.
    async fn register(&self, email: &str) -> String {
        let body = self
            .post(email, "register", &[("event_types", r#"["call_event"]"#)])
            .await;
        body["queue_id"].as_str().unwrap().to_owned()
    }

    /// Long-polls `email`'s queue until a `call_started` arrives (bounded: heartbeats come
    /// every second) and returns its call id.
    async fn next_incoming_call(&self, email: &str, queue: &str) -> String {
        let http = reqwest::Client::new();
        let mut last = -1i64;
        for _ in 0..30 {
            let body: Value = http
                .get(self.url("events"))
                .basic_auth(email, Some(self.key(email)))
                .query(&[("queue_id", queue), ("last_event_id", &last.to_string())])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for event in body["events"].as_array().unwrap() {
                last = event["id"].as_i64().unwrap();
                if event["event_type"] == "call_started" {
                    return event["call_id"].as_str().unwrap().to_owned();
                }
            }
        }
        panic!("no call arrived for {email}");
    }
}

async fn finish(mut command: Command) -> Run {
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

const HAMLET: &str = "hamlet@zulip.com";
const OTHELLO: &str = "othello@zulip.com";
const IAGO: &str = "iago@zulip.com";
const CORDELIA: &str = "cordelia@zulip.com";

#[test]
fn help_lists_the_global_options_and_exit_codes() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--site",
        "--email",
        "--api-key",
        "--config",
        "--no-browser",
        "--json",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
    for line in [
        "Exit codes:",
        "4  authentication failed",
        "10  call --wait: rejected",
    ] {
        assert!(help.contains(line), "--help lacks {line:?}:\n{help}");
    }
}

#[test]
fn running_without_a_subcommand_credentials_or_terminal_points_at_the_demo() {
    let home = tempfile::tempdir().unwrap();
    let output = command(home.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: no credentials"), "{stderr}");
    assert!(stderr.contains("zulip-calls demo"), "{stderr}");
    assert!(stderr.contains("zuliprc"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn demo_help_works() {
    let home = tempfile::tempdir().unwrap();
    let output = command(home.path())
        .args(["demo", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("--as <EMAIL>"), "{help}");
    assert!(help.contains("hamlet@zulip.com"), "{help}");
}

#[test]
fn demo_with_an_unknown_user_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let output = command(home.path())
        .args(["demo", "--as", "nobody@example.com"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a demo user"), "{stderr}");
}

#[test]
fn missing_credentials_are_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let output = command(home.path()).arg("users").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("error: no credentials"));

    let output = command(home.path())
        .args(["users", "--site", "localhost:9", "--email", "a@b.c"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no API key"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn users_lists_the_demo_users() {
    let mock = Mock::start().await;
    let run = mock.run(HAMLET, &["users", "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let users = run.json()["users"].as_array().unwrap().clone();
    let emails: Vec<&str> = users.iter().map(|u| u["email"].as_str().unwrap()).collect();
    for email in [IAGO, HAMLET, OTHELLO, CORDELIA, "desdemona@zulip.com"] {
        assert!(emails.contains(&email), "{emails:?}");
    }
    let othello = users.iter().find(|u| u["email"] == OTHELLO).unwrap();
    assert_eq!(othello["full_name"], "Othello, the Moor of Venice");
    assert_eq!(othello["user_id"], mock.id(OTHELLO));
    assert_eq!(othello["is_active"], true);

    let text = mock.run(HAMLET, &["users"]).await;
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout.contains("Othello, the Moor of Venice"),
        "{text:?}"
    );
    assert!(text.stdout.contains("deactivated"), "{text:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_placed_call_shows_up_as_active_for_both_parties() {
    let mock = Mock::start().await;
    let run = mock.run(HAMLET, &["call", OTHELLO, "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let placed = run.json();
    let call_id = placed["call_id"].as_str().unwrap().to_owned();
    assert_eq!(placed["user_id"], mock.id(OTHELLO));
    assert_eq!(placed["call_type"], "video");
    assert!(placed["join_url"].as_str().unwrap().contains(&call_id));

    for who in [HAMLET, OTHELLO] {
        let run = mock.run(who, &["active", "--json"]).await;
        assert_eq!(run.code, 0, "{run:?}");
        let active = run.json();
        assert_eq!(active["count"], 1, "{active}");
        assert_eq!(active["active_calls"][0]["call_id"], call_id.as_str());
        assert_eq!(active["active_calls"][0]["is_outgoing"], who == HAMLET);
    }

    let text = mock.run(OTHELLO, &["active"]).await;
    assert!(text.stdout.contains(&call_id), "{text:?}");
    assert!(text.stdout.contains("from King Hamlet"), "{text:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn answer_status_and_end() {
    let mock = Mock::start().await;
    // By name part and as an audio call.
    let placed = mock
        .run(HAMLET, &["call", "othello", "--audio", "--json"])
        .await;
    assert_eq!(placed.code, 0, "{placed:?}");
    assert_eq!(placed.json()["call_type"], "audio");
    let call_id = placed.json()["call_id"].as_str().unwrap().to_owned();

    let answered = mock.run(OTHELLO, &["answer", &call_id, "--json"]).await;
    assert_eq!(answered.code, 0, "{answered:?}");
    assert_eq!(answered.json()["call_status"], "accepted");
    assert!(
        answered.json()["join_url"]
            .as_str()
            .unwrap()
            .contains(&call_id)
    );

    let status = mock
        .run(HAMLET, &["status", &call_id, "muted", "--json"])
        .await;
    assert_eq!(status.code, 0, "{status:?}");
    assert_eq!(status.json()["status"], "muted");
    assert_eq!(status.json()["call_status"], "accepted");

    // Without an id: the only active call.
    let ended = mock.run(OTHELLO, &["end", "--json"]).await;
    assert_eq!(ended.code, 0, "{ended:?}");
    assert_eq!(ended.json()["call_id"], call_id.as_str());
    assert_eq!(ended.json()["call_status"], "ended");
    assert!(ended.json()["duration"].is_number());

    let none = mock.run(OTHELLO, &["end"]).await;
    assert_eq!(none.code, 5, "{none:?}");
    assert_eq!(none.stderr, "error: you have no active call\n");

    // Too late: the call is over.
    let late = mock.run(OTHELLO, &["answer", &call_id]).await;
    assert_eq!(late.code, 1, "{late:?}");
    assert!(late.stderr.starts_with("error: "), "{late:?}");

    let unknown = mock
        .run(OTHELLO, &["answer", "6f1c1d52-32a4-4c5e-9d7a-3a0e2f6b8c11"])
        .await;
    assert_eq!(unknown.code, 5, "{unknown:?}");

    let malformed = mock.run(OTHELLO, &["answer", "not-a-call"]).await;
    assert_eq!(malformed.code, 2, "{malformed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reject_then_history() {
    let mock = Mock::start().await;
    let placed = mock.run(HAMLET, &["call", "6", "--json"]).await;
    assert_eq!(placed.code, 0, "{placed:?}");
    let call_id = placed.json()["call_id"].as_str().unwrap().to_owned();

    let rejected = mock.run(OTHELLO, &["reject", &call_id, "--json"]).await;
    assert_eq!(rejected.code, 0, "{rejected:?}");
    assert_eq!(rejected.json()["call_status"], "rejected");

    let history = mock
        .run(HAMLET, &["history", "--limit", "1", "--json"])
        .await;
    assert_eq!(history.code, 0, "{history:?}");
    let page = history.json();
    assert_eq!(page["calls"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["calls"][0]["call_id"], call_id.as_str());
    assert_eq!(page["calls"][0]["state"], "rejected");
    assert_eq!(page["calls"][0]["user_name"], "Othello, the Moor of Venice");

    let filtered = mock
        .run(HAMLET, &["history", "--state", "ended", "--json"])
        .await;
    assert_eq!(filtered.json()["calls"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn end_all_and_busy() {
    let mock = Mock::start().await;
    let placed = mock.run(HAMLET, &["call", OTHELLO, "--json"]).await;
    assert_eq!(placed.code, 0, "{placed:?}");

    let callee_busy = mock.run(IAGO, &["call", OTHELLO]).await;
    assert_eq!(callee_busy.code, 6, "{callee_busy:?}");
    assert!(
        callee_busy.stderr.contains("in another call"),
        "{callee_busy:?}"
    );

    let caller_busy = mock.run(HAMLET, &["call", CORDELIA]).await;
    assert_eq!(caller_busy.code, 6, "{caller_busy:?}");

    let ended = mock.run(HAMLET, &["end-all", "--json"]).await;
    assert_eq!(ended.code, 0, "{ended:?}");
    assert_eq!(ended.json()["calls_ended"], 1);

    let again = mock.run(HAMLET, &["end-all"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("No active calls"), "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_ambiguous_users() {
    let mock = Mock::start().await;
    for user in ["nobody@zulip.com", "xyzzy", "999", "desdemona@zulip.com"] {
        let run = mock.run(HAMLET, &["call", user]).await;
        assert_eq!(run.code, 5, "{user}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    }
    // "o" is in many names: the error lists them.
    let run = mock.run(HAMLET, &["call", "o"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("Othello"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_is_exit_4_and_no_server_is_exit_3() {
    let mock = Mock::start().await;
    let mut command = command(mock.home.path());
    command.args([
        "users",
        "--site",
        &mock.server.url(),
        "--email",
        HAMLET,
        "--api-key",
        "wrongwrongwrongwrongwrongwrong00",
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.starts_with("error: "), "{run:?}");

    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = command_for_site(mock.home.path(), &format!("http://127.0.0.1:{port}"));
    command.arg("users");
    let run = finish(command).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("cannot reach"), "{run:?}");
}

fn command_for_site(home: &Path, site: &str) -> Command {
    let mut command = command(home);
    command.args(["--site", site, "--email", HAMLET, "--api-key", "k"]);
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_can_come_from_a_zuliprc_in_home() {
    let mock = Mock::start().await;
    let rc = mock.home.path().join(".zuliprc");
    std::fs::write(
        &rc,
        format!(
            "[api]\nemail={HAMLET}\nkey={}\nsite={}\n",
            mock.key(HAMLET),
            mock.server.url()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut command = command(mock.home.path());
    command.args(["active", "--json"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["count"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn call_wait_exits_0_when_accepted() {
    let mock = Mock::start().await;
    let queue = mock.register(OTHELLO).await;
    let caller = tokio::spawn(finish(
        mock.command(HAMLET, &["call", OTHELLO, "--wait", "--json"]),
    ));
    let call_id = mock.next_incoming_call(OTHELLO, &queue).await;
    mock.post(
        OTHELLO,
        "calls/respond",
        &[("call_id", &call_id), ("response", "accept")],
    )
    .await;
    let run = tokio::time::timeout(Duration::from_secs(30), caller)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{run:?}");
    assert_eq!(lines[0]["call_id"], call_id.as_str());
    assert_eq!(lines[1]["outcome"], "accepted");
    assert!(
        lines[1]["join_url"].as_str().unwrap().contains(&call_id),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn call_wait_exits_10_when_rejected() {
    let mock = Mock::start().await;
    let queue = mock.register(OTHELLO).await;
    let caller = tokio::spawn(finish(mock.command(HAMLET, &["call", OTHELLO, "--wait"])));
    let call_id = mock.next_incoming_call(OTHELLO, &queue).await;
    mock.post(
        OTHELLO,
        "calls/respond",
        &[("call_id", &call_id), ("response", "reject")],
    )
    .await;
    let run = tokio::time::timeout(Duration::from_secs(30), caller)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.code, 10, "{run:?}");
    assert!(run.stdout.contains(&call_id), "{run:?}");
    assert!(run.stdout.contains("rejected"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_prints_a_json_line_per_event() {
    let mock = Mock::start().await;
    let mut child = mock
        .command(OTHELLO, &["watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    // First the state it starts from, so we know it is listening.
    let first = next_json(&mut lines).await;
    assert_eq!(first["type"], "resync", "{first}");
    assert_eq!(first["active_calls"], serde_json::json!([]));

    let placed = mock.run(HAMLET, &["call", OTHELLO, "--json"]).await;
    let call_id = placed.json()["call_id"].as_str().unwrap().to_owned();
    let event = next_json(&mut lines).await;
    assert_eq!(event["type"], "call_event", "{event}");
    assert_eq!(event["event_type"], "call_started", "{event}");
    assert_eq!(event["call_id"], call_id.as_str());

    mock.run(HAMLET, &["end", &call_id]).await;
    let event = next_json(&mut lines).await;
    assert_eq!(event["event_type"], "call_ended", "{event}");
    assert_eq!(event["reason"], "cancelled", "{event}");

    child.kill().unwrap();
    child.wait().unwrap();
}

/// The next line `watch` printed, as JSON.
async fn next_json(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(20), lines.recv())
        .await
        .expect("watch printed nothing")
        .expect("watch ended");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

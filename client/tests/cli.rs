//! The binary as a process, against a real mock server started in-process on port 0. Every
//! test with a server runs against one of each `CALLS_API` mode (design only, 1.1 only, both)
//! and one of 1.1 as the released plugin behaves (`CALLS_COMPAT=plugin-1.1.0`), the binary
//! detecting which it speaks; the other party, played over plain HTTP, speaks the design
//! dialect to a design server and 1.1 otherwise (so on a server of both, one call spans the
//! two dialects).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::Mode;
use common::process::{BIN, Run, command, exit_code, finish, next_json, spawn_lines};
use serde_json::{Value, json};
use zulip_calls_mock::ServerConfig;
use zulip_calls_mock::{Clock, Server};
use zulip_calls_protocol::settings::Settings;
use zulip_calls_protocol::{CallsApi, Compat, Dialect};

/// A mock server on port 0 and a home directory for the client.
struct Mock {
    server: Server,
    calls_api: CallsApi,
    compat: Compat,
    home: tempfile::TempDir,
    _db: tempfile::TempDir,
}

impl Mock {
    async fn start(mode: Mode) -> Mock {
        Mock::start_with(mode.settings(), false).await
    }

    /// A server with these settings, on a virtual clock when `virtual_clock`.
    async fn start_with(settings: Settings, virtual_clock: bool) -> Mock {
        let db = tempfile::tempdir().unwrap();
        let calls_api = settings.calls_api;
        let compat = settings.calls_compat;
        let config = ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            db: db.path().join("mock.sqlite3").display().to_string(),
            rate_limit_per_minute: 0,
            heartbeat_seconds: 1,
            settings,
            virtual_clock,
            ..ServerConfig::default()
        };
        let server = Server::start(config, Clock::System).await.unwrap();
        Mock {
            server,
            calls_api,
            compat,
            home: tempfile::tempdir().unwrap(),
            _db: db,
        }
    }

    /// The dialect the other party speaks over plain HTTP.
    fn party_dialect(&self) -> Dialect {
        match self.calls_api {
            CallsApi::Design => Dialect::Design,
            CallsApi::V1_1 | CallsApi::Both => Dialect::V1_1,
        }
    }

    /// The dialect the binary should speak: what it detects.
    fn client_dialect(&self) -> Dialect {
        self.calls_api.only().unwrap_or(Dialect::Design)
    }

    /// The server behaves as deployed plugins do (`plugin-1.1-dialect.md` §9).
    fn is_deployed_plugin(&self) -> bool {
        self.compat == Compat::Plugin1_1_0
    }

    /// Who the client can say ended a call `who` hung up: the deployed plugin's events do not
    /// name anyone.
    fn ended_by(&self, who: &str) -> Value {
        if self.is_deployed_plugin() {
            Value::Null
        } else {
            self.id(who).into()
        }
    }

    /// The path a 1.1 or design client places calls at.
    fn create_path(&self) -> &'static str {
        match self.client_dialect() {
            Dialect::Design => "/api/v1/calls/start",
            Dialect::V1_1 => "/api/v1/calls/create",
        }
    }

    fn addr(&self) -> std::net::SocketAddr {
        self.server.addr
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

    /// Registers a queue for `email` for the call events of the party's dialect.
    async fn register(&self, email: &str) -> String {
        let types = match self.party_dialect() {
            Dialect::Design => r#"["call_event"]"#,
            Dialect::V1_1 => r#"["call"]"#,
        };
        let body = self
            .post(email, "register", &[("event_types", types)])
            .await;
        body["queue_id"].as_str().unwrap().to_owned()
    }

    /// Places a call from `from` to `to`, as the party; its id.
    async fn place(&self, from: &str, to: &str) -> String {
        let to = self.id(to).to_string();
        let body = match self.party_dialect() {
            Dialect::Design => self.post(from, "calls/start", &[("user_id", &to)]).await,
            Dialect::V1_1 => {
                self.post(
                    from,
                    "calls/create",
                    &[("user_id", &to), ("is_video_call", "true")],
                )
                .await
            }
        };
        body["call_id"].as_str().unwrap().to_owned()
    }

    /// Accepts or declines `call_id` as the party.
    async fn respond(&self, email: &str, call_id: &str, accept: bool) {
        match self.party_dialect() {
            Dialect::Design => {
                let response = if accept { "accept" } else { "reject" };
                self.post(
                    email,
                    "calls/respond",
                    &[("call_id", call_id), ("response", response)],
                )
                .await;
            }
            Dialect::V1_1 => {
                let response = if accept { "accept" } else { "decline" };
                self.post(
                    email,
                    &format!("calls/{call_id}/respond"),
                    &[("response", response)],
                )
                .await;
            }
        }
    }

    /// Hangs up `call_id` as the party.
    async fn hang_up(&self, email: &str, call_id: &str) {
        match self.party_dialect() {
            Dialect::Design => {
                self.post(email, "calls/end", &[("call_id", call_id)]).await;
            }
            Dialect::V1_1 => {
                self.post(email, &format!("calls/{call_id}/end"), &[]).await;
            }
        }
    }

    /// A 1.1 heartbeat of `call_id` as the party.
    async fn heartbeat(&self, email: &str, call_id: &str) {
        let body = self
            .post(email, "calls/heartbeat", &[("call_id", call_id)])
            .await;
        assert_eq!(body["call_state"], "accepted", "{body}");
    }

    /// What makes a deployed plugin's deadlines fire: its `create` runs the cleanup before
    /// anything else (a server of the contract fires them on time, so this changes nothing
    /// there). Sent as a call to oneself, which is then refused.
    async fn run_the_plugins_cleanup(&self) {
        let status = reqwest::Client::new()
            .post(self.url("calls/create"))
            .basic_auth(IAGO, Some(self.key(IAGO)))
            .form(&[("user_id", self.id(IAGO).to_string())])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 400, "a call to oneself");
    }

    /// Every event queued for `email` now (heartbeats left out), without waiting.
    async fn events_now(&self, email: &str, queue: &str) -> Vec<Value> {
        let body: Value = reqwest::Client::new()
            .get(self.url("events"))
            .basic_auth(email, Some(self.key(email)))
            .query(&[
                ("queue_id", queue),
                ("last_event_id", "-1"),
                ("dont_block", "true"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] != "heartbeat")
            .cloned()
            .collect()
    }

    /// Long-polls `email`'s queue until a call for them arrives (bounded: heartbeats come
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
                if event["event_type"] == "call_started" || event["op"] == "incoming_call" {
                    return event["call_id"].as_str().unwrap().to_owned();
                }
            }
        }
        panic!("no call arrived for {email}");
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

async fn users_lists_the_demo_users(mode: Mode) {
    let mock = Mock::start(mode).await;
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

async fn a_placed_call_shows_up_as_active_for_both_parties(mode: Mode) {
    let mock = Mock::start(mode).await;
    let run = mock.run(HAMLET, &["call", OTHELLO, "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let placed = run.json();
    let call_id = placed["call_id"].as_str().unwrap().to_owned();
    assert_eq!(placed["user_id"], mock.id(OTHELLO));
    assert_eq!(placed["call_type"], "video");
    // The room: the call id's, or on a deployed plugin a random one.
    let room = placed["jitsi_url"].as_str().unwrap();
    assert!(placed["join_url"].as_str().unwrap().starts_with(room));

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

async fn answer_status_and_end(mode: Mode) {
    let mock = Mock::start(mode).await;
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
    let room = placed.json()["jitsi_url"].as_str().unwrap().to_owned();
    assert!(
        answered.json()["join_url"]
            .as_str()
            .unwrap()
            .starts_with(&room)
    );

    let status = mock
        .run(HAMLET, &["status", &call_id, "muted", "--json"])
        .await;
    if mock.client_dialect() == Dialect::Design {
        assert_eq!(status.code, 0, "{status:?}");
        assert_eq!(status.json()["status"], "muted");
        assert_eq!(status.json()["call_status"], "accepted");
    } else {
        // 1.1 has no media status: one sentence saying so.
        assert_eq!(status.code, 1, "{status:?}");
        assert_eq!(
            status.stderr,
            "error: Media status (mute, camera, hold, sharing) is not supported by this server \
             (calls API 1.1)\n"
        );
    }

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

async fn reject_then_history(mode: Mode) {
    let mock = Mock::start(mode).await;
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

async fn end_all_and_busy(mode: Mode) {
    let mock = Mock::start(mode).await;
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

async fn unknown_and_ambiguous_users(mode: Mode) {
    let mock = Mock::start(mode).await;
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

async fn a_wrong_key_is_exit_4_and_no_server_is_exit_3(mode: Mode) {
    let mock = Mock::start(mode).await;
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
    // The same when the dialect's probe is the first request.
    let mut command = command_for_site(mock.home.path(), &mock.server.url());
    command.arg("active");
    let probe = finish(command).await;
    assert_eq!(probe.code, 4, "{probe:?}");
    assert_eq!(probe.stderr.lines().count(), 1, "{probe:?}");

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

async fn credentials_can_come_from_a_zuliprc_in_home(mode: Mode) {
    let mock = Mock::start(mode).await;
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

/// Hamlet's `call --wait --json` to Othello, who accepts: its two JSON lines, once it
/// exited 0 (the call as placed, then its outcome, `accepted`).
async fn call_wait_accepted_by_othello(mock: &Mock, queue: &str) -> Vec<Value> {
    let caller = tokio::spawn(finish(
        mock.command(HAMLET, &["call", OTHELLO, "--wait", "--json"]),
    ));
    let call_id = mock.next_incoming_call(OTHELLO, queue).await;
    mock.respond(OTHELLO, &call_id, true).await;
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
    lines
}

async fn call_wait_exits_0_when_accepted(mode: Mode) {
    let mock = Mock::start(mode).await;
    let queue = mock.register(OTHELLO).await;
    let lines = call_wait_accepted_by_othello(&mock, &queue).await;
    let room = lines[0]["jitsi_url"].as_str().unwrap();
    assert!(
        lines[1]["join_url"].as_str().unwrap().starts_with(room),
        "{lines:?}"
    );
}

async fn call_wait_exits_10_when_rejected(mode: Mode) {
    let mock = Mock::start(mode).await;
    let queue = mock.register(OTHELLO).await;
    let caller = tokio::spawn(finish(mock.command(HAMLET, &["call", OTHELLO, "--wait"])));
    let call_id = mock.next_incoming_call(OTHELLO, &queue).await;
    mock.respond(OTHELLO, &call_id, false).await;
    let run = tokio::time::timeout(Duration::from_secs(30), caller)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.code, 10, "{run:?}");
    assert!(run.stdout.contains(&call_id), "{run:?}");
    assert!(run.stdout.contains("rejected"), "{run:?}");
}

async fn watch_prints_a_json_line_per_event(mode: Mode) {
    let mock = Mock::start(mode).await;
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

/// Runs a test against a server of each mode ([`Mode`]: each `CALLS_API` mode, and 1.1 as the
/// released plugin behaves): a module per test, a test per mode.
macro_rules! in_every_mode {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            use super::*;

            in_every_mode!(@contract $test);

            #[tokio::test(flavor = "multi_thread")]
            async fn plugin_1_1_0() {
                super::$test(Mode::Plugin1_1_0).await;
            }
        }
    )*};
    (@contract $test:ident) => {
        #[tokio::test(flavor = "multi_thread")]
        async fn design() {
            super::$test(Mode::Design).await;
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn v1_1() {
            super::$test(Mode::V1_1).await;
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn both() {
            super::$test(Mode::Both).await;
        }
    };
}

in_every_mode!(
    answer_hold_stays_in_the_call_until_the_other_side_hangs_up,
    call_wait_hold_stays_in_the_call_until_the_other_side_hangs_up,
    the_callee_ending_an_unanswered_call,
);

in_every_mode!(
    users_lists_the_demo_users,
    a_placed_call_shows_up_as_active_for_both_parties,
    answer_status_and_end,
    reject_then_history,
    end_all_and_busy,
    unknown_and_ambiguous_users,
    a_wrong_key_is_exit_4_and_no_server_is_exit_3,
    credentials_can_come_from_a_zuliprc_in_home,
    call_wait_exits_0_when_accepted,
    call_wait_exits_10_when_rejected,
    watch_prints_a_json_line_per_event,
    history_pages_by_offset_with_filters,
    placing_a_call_claims_nothing_about_presence,
    a_redial_cooldown_reads_as_wait_a_moment,
    call_wait_tries_once_more_after_a_cooldown,
);

async fn answer_hold_stays_in_the_call_until_the_other_side_hangs_up(mode: Mode) {
    let mock = Mock::start(mode).await;
    let call_id = mock.place(HAMLET, OTHELLO).await;
    let (child, mut lines) =
        spawn_lines(mock.command(OTHELLO, &["answer", &call_id, "--hold", "--json"]));
    let answered = next_json(&mut lines).await;
    assert_eq!(answered["call_id"], call_id.as_str(), "{answered}");
    assert_eq!(answered["call_status"], "accepted", "{answered}");
    assert!(answered.get("unkept").is_none(), "{answered}");

    mock.hang_up(HAMLET, &call_id).await;
    let over = next_json(&mut lines).await;
    assert_eq!(over["call_id"], call_id.as_str(), "{over}");
    assert_eq!(over["state"], "ended", "{over}");
    assert_eq!(over["end_reason"], "hangup", "{over}");
    assert_eq!(over["ended_by_id"], mock.ended_by(HAMLET), "{over}");
    assert!(over["duration"].is_number(), "{over}");
    assert_eq!(exit_code(child).await, 0);
}

async fn call_wait_hold_stays_in_the_call_until_the_other_side_hangs_up(mode: Mode) {
    let mock = Mock::start(mode).await;
    let queue = mock.register(OTHELLO).await;
    let (child, mut lines) =
        spawn_lines(mock.command(HAMLET, &["call", OTHELLO, "--wait", "--hold", "--json"]));
    let call_id = mock.next_incoming_call(OTHELLO, &queue).await;
    assert_eq!(next_json(&mut lines).await["call_id"], call_id.as_str());
    mock.respond(OTHELLO, &call_id, true).await;
    assert_eq!(next_json(&mut lines).await["outcome"], "accepted");
    mock.hang_up(OTHELLO, &call_id).await;
    let over = next_json(&mut lines).await;
    assert_eq!(over["state"], "ended", "{over}");
    assert_eq!(over["ended_by_id"], mock.ended_by(OTHELLO), "{over}");
    assert!(over["duration"].is_number(), "{over}");
    assert_eq!(exit_code(child).await, 0);
}

/// The callee's client hangs up a call still ringing (`end`, as the plugin's mobile app does
/// on its decline button's fallback): by the contract that is a rejection (exit 10); the
/// deployed plugin leaves the call `ended` and names nobody, which `call --wait` tells as a
/// call that ended before an answer (exit 14).
async fn the_callee_ending_an_unanswered_call(mode: Mode) {
    let mock = Mock::start(mode).await;
    let queue = mock.register(OTHELLO).await;
    let caller = tokio::spawn(finish(
        mock.command(HAMLET, &["call", OTHELLO, "--wait", "--json"]),
    ));
    let call_id = mock.next_incoming_call(OTHELLO, &queue).await;
    mock.hang_up(OTHELLO, &call_id).await;
    let run = tokio::time::timeout(Duration::from_secs(30), caller)
        .await
        .unwrap()
        .unwrap();
    let outcome = run.json();
    if mock.is_deployed_plugin() {
        assert_eq!(run.code, 14, "{run:?}");
        assert_eq!(outcome["outcome"], "ended", "{outcome}");
        assert_eq!(outcome["state"], "ended", "{outcome}");
    } else {
        assert_eq!(run.code, 10, "{run:?}");
        assert_eq!(outcome["outcome"], "rejected", "{outcome}");
    }
    // The history says the same.
    let history = mock.run(HAMLET, &["history", "--json"]).await.json();
    let expected = if mock.is_deployed_plugin() {
        "ended"
    } else {
        "rejected"
    };
    assert_eq!(history["calls"][0]["state"], expected, "{history}");
    assert!(history["calls"][0]["duration"].is_null(), "{history}");
}

/// The callee has no event queue, so the server says they are offline (a deployed plugin says
/// so of everyone, §9): the caller is told nothing about it either way.
async fn placing_a_call_claims_nothing_about_presence(mode: Mode) {
    let mock = Mock::start(mode).await;
    for args in [&["call", OTHELLO][..], &["call", OTHELLO, "--json"]] {
        let run = mock.run(HAMLET, args).await;
        assert_eq!(run.code, 0, "{run:?}");
        let said = format!("{}{}", run.stdout, run.stderr).to_lowercase();
        assert!(
            !said.contains("offline") && !said.contains("online"),
            "{run:?}"
        );
        assert_eq!(mock.run(HAMLET, &["end-all"]).await.code, 0);
    }
}

/// The released plugin's answer to a call placed within 5 s after one of the caller's calls
/// ended (`plugin-1.1-dialect.md` §9), word for word.
fn plugin_cooldown_body() -> Value {
    json!({
        "result": "error",
        "message": "Please wait a moment before making another call",
        "existing_call_id": "6f1c1d52-32a4-4c5e-9d7a-3a0e2f6b8c11"
    })
}

/// A 429 on placing a call, as the released plugin answers it (only `message`, no code) and
/// as the contract does (`RATE_LIMIT_HIT`, seconds to wait): one sentence asking to wait a
/// moment, exit 6, never "rate limited"; `call --wait` tries once more and then gives up the
/// same way.
async fn a_redial_cooldown_reads_as_wait_a_moment(mode: Mode) {
    let mock = Mock::start(mode).await;
    fault(
        &mock,
        json!({
            "method": "POST",
            "path": mock.create_path(),
            "action": {"kind": "respond", "status": 429, "body": plugin_cooldown_body()},
        }),
    )
    .await;
    let run = mock.run(HAMLET, &["call", OTHELLO]).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: the server asks to wait a moment before placing another call (try again in a \
         few seconds)\n"
    );
    assert!(run.stdout.is_empty(), "{run:?}");

    let contract = json!({
        "result": "error",
        "msg": "Please wait a moment before making another call",
        "code": "RATE_LIMIT_HIT",
        "retry-after": 0.1
    });
    delete_faults(&mock).await;
    fault(
        &mock,
        json!({
            "method": "POST",
            "path": mock.create_path(),
            "action": {"kind": "respond", "status": 429, "body": contract},
        }),
    )
    .await;
    let since = common::control::latest_request(mock.addr()).await;
    let run = mock.run(HAMLET, &["call", OTHELLO, "--wait"]).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: the server asks to wait a moment before placing another call (try again in 1 \
         s)\n"
    );
    assert_eq!(
        run.stdout,
        "The server asks to wait a moment before placing another call: trying again in 1 s\n"
    );
    assert!(!run.stderr.to_lowercase().contains("rate"), "{run:?}");
    let creates = journal(&mock, "POST", mock.create_path()).await;
    let tries: Vec<&Value> = creates
        .iter()
        .filter(|r| r["id"].as_u64() > Some(since))
        .collect();
    assert_eq!(tries.len(), 2, "one try and one retry: {creates:?}");
}

/// `call --wait` told to wait a moment waits as long as the server says, places the call once
/// more, and goes on as usual. With `--json` the output is still the placed call and the
/// outcome.
async fn call_wait_tries_once_more_after_a_cooldown(mode: Mode) {
    let mock = Mock::start(mode).await;
    let queue = mock.register(OTHELLO).await;
    let mut body = plugin_cooldown_body();
    body["retry-after"] = json!(0.2);
    fault(
        &mock,
        json!({
            "method": "POST",
            "path": mock.create_path(),
            "times": 1,
            "action": {"kind": "respond", "status": 429, "body": body},
        }),
    )
    .await;
    call_wait_accepted_by_othello(&mock, &queue).await;
    let statuses: Vec<Value> = journal(&mock, "POST", mock.create_path())
        .await
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(429), json!(200)]);
}

/// Three calls Hamlet rejected, then pages of one: the offset and the state filter work the
/// same whichever dialect pages underneath.
async fn history_pages_by_offset_with_filters(mode: Mode) {
    let mock = Mock::start(mode).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = mock.place(OTHELLO, HAMLET).await;
        mock.respond(HAMLET, &id, false).await;
        ids.push(id);
    }
    let accepted = mock.place(OTHELLO, HAMLET).await;
    mock.respond(HAMLET, &accepted, true).await;
    mock.hang_up(HAMLET, &accepted).await;

    let page = |offset: &'static str| {
        let mock = &mock;
        async move {
            let run = mock
                .run(
                    HAMLET,
                    &[
                        "history", "--limit", "1", "--offset", offset, "--state", "rejected",
                        "--json",
                    ],
                )
                .await;
            assert_eq!(run.code, 0, "{run:?}");
            run.json()
        }
    };
    // The pages, in the order of the whole filtered list (newest first).
    let whole = mock
        .run(HAMLET, &["history", "--state", "rejected", "--json"])
        .await
        .json();
    let order: Vec<&str> = whole["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "{whole}");
    for (offset, id) in [("0", order[0]), ("1", order[1]), ("2", order[2])] {
        let body = page(offset).await;
        assert_eq!(body["calls"].as_array().unwrap().len(), 1, "{body}");
        assert_eq!(body["calls"][0]["call_id"], id, "{body}");
        assert_eq!(body["calls"][0]["is_outgoing"], false, "{body}");
        assert_eq!(body["has_more"], offset != "2", "{body}");
    }
    let past = page("3").await;
    assert_eq!(past["calls"], json!([]), "{past}");
    assert_eq!(past["total"], 3, "{past}");

    let answered = mock
        .run(HAMLET, &["history", "--state", "ended", "--json"])
        .await;
    let body = answered.json();
    assert_eq!(body["calls"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["calls"][0]["call_id"], accepted.as_str());
    assert!(body["calls"][0]["duration"].is_number(), "{body}");
}

/// The journaled `GET calls/history?limit=1` probes so far.
async fn probes(mock: &Mock) -> usize {
    let body: Value = reqwest::Client::new()
        .get(format!("{}/mock/v1/journal", mock.server.url()))
        .query(&[
            ("method", "GET"),
            ("path", "/api/v1/calls/history"),
            ("params", r#"{"limit": "1"}"#),
            ("limit", "1000"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .len()
}

/// Where the binary remembers dialects, under its home.
fn memory_file(mock: &Mock) -> std::path::PathBuf {
    mock.home
        .path()
        .join(".local/state/zulip-calls/calls-api.json")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dialect_is_probed_once_per_site_then_remembered() {
    let mock = Mock::start(Mode::V1_1).await;
    assert_eq!(probes(&mock).await, 0);
    let first = mock.run(HAMLET, &["active", "--json"]).await;
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(first.json()["count"], 0);
    assert_eq!(probes(&mock).await, 1);
    let remembered: Value =
        serde_json::from_slice(&std::fs::read(memory_file(&mock)).unwrap()).unwrap();
    assert_eq!(remembered[mock.server.url()], "1.1", "{remembered}");

    for args in [&["active"][..], &["history", "--json"], &["end-all"]] {
        let run = mock.run(HAMLET, args).await;
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
    }
    assert_eq!(probes(&mock).await, 1, "later runs do not probe");
    // `users` needs no calls API at all.
    assert_eq!(mock.run(HAMLET, &["users"]).await.code, 0);
    assert_eq!(probes(&mock).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chosen_dialect_skips_the_probe_and_a_wrong_one_is_one_sentence() {
    let mock = Mock::start(Mode::V1_1).await;
    let chosen = mock
        .run(HAMLET, &["active", "--calls-api", "1.1", "--json"])
        .await;
    assert_eq!(chosen.code, 0, "{chosen:?}");
    let wrong = mock.run(HAMLET, &["active", "--calls-api", "design"]).await;
    assert_eq!(wrong.code, 3, "{wrong:?}");
    assert_eq!(wrong.stderr.lines().count(), 1, "{wrong:?}");
    assert!(
        wrong.stderr.contains("does not speak the design calls API"),
        "{wrong:?}"
    );
    assert_eq!(probes(&mock).await, 0);
    assert!(!memory_file(&mock).exists());

    // The zuliprc's own section; the flag still wins.
    let rc = mock.home.path().join("zuliprc");
    let write_rc = |calls_api: &str| {
        std::fs::write(
            &rc,
            format!(
                "[api]\nemail={HAMLET}\nkey={}\nsite={}\n[zulip-calls]\ncalls_api={calls_api}\n",
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
    };
    let from_rc = |extra: &'static [&'static str]| {
        let mut command = command(mock.home.path());
        command.args(["active", "--config"]).arg(&rc).args(extra);
        finish(command)
    };
    write_rc("1.1");
    assert_eq!(from_rc(&[]).await.code, 0);
    write_rc("design");
    assert_eq!(from_rc(&[]).await.code, 3);
    assert_eq!(from_rc(&["--calls-api", "auto"]).await.code, 0);
    assert_eq!(probes(&mock).await, 1);
    write_rc("1.0");
    let bad = from_rc(&[]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert_eq!(
        bad.stderr,
        format!(
            "error: {}: calls_api in [zulip-calls] must be one of auto, design, 1.1, not \"1.0\"\n",
            rc.display()
        )
    );
}

/// The `[zulip-calls]` preferences as the binary reads them: an unknown key is a warning
/// naming it (and the command still runs), a bad value an error naming key and file.
#[tokio::test(flavor = "multi_thread")]
async fn preferences_warn_about_unknown_keys_and_refuse_bad_values() {
    let mock = Mock::start(Mode::Design).await;
    let rc = mock.home.path().join("zuliprc");
    let write_rc = |section: &str| {
        std::fs::write(
            &rc,
            format!(
                "[api]\nemail={HAMLET}\nkey={}\nsite={}\n[zulip-calls]\n{section}",
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
    };
    let run = || {
        let mut command = command(mock.home.path());
        command.args(["active", "--config"]).arg(&rc);
        finish(command)
    };
    write_rc("ring = bell\nshare_status = false\nrign = off\n");
    let warned = run().await;
    assert_eq!(warned.code, 0, "{warned:?}");
    assert_eq!(
        warned.stderr,
        format!(
            "warning: {}: unknown key \"rign\" in [zulip-calls] is ignored (known keys: ring, \
             notifications, open_browser, share_status, dnd_action, calls_api)\n",
            rc.display()
        )
    );
    write_rc("dnd_action = hang up\n");
    let bad = run().await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert_eq!(
        bad.stderr,
        format!(
            "error: {}: dnd_action in [zulip-calls] must be one of ignore, decline, not \"hang up\"\n",
            rc.display()
        )
    );
}

/// A remembered dialect the server no longer speaks is forgotten, so the next run detects
/// the new one.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_memory_is_forgotten_after_one_failure() {
    let mock = Mock::start(Mode::V1_1).await;
    let memory = memory_file(&mock);
    std::fs::create_dir_all(memory.parent().unwrap()).unwrap();
    std::fs::write(&memory, json!({ mock.server.url(): "design" }).to_string()).unwrap();
    let stale = mock.run(HAMLET, &["active"]).await;
    assert_eq!(stale.code, 3, "{stale:?}");
    assert!(stale.stderr.contains("--calls-api auto"), "{stale:?}");
    let again = mock.run(HAMLET, &["active", "--json"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(probes(&mock).await, 1);
}

/// Adds a fault rule through the control API.
async fn fault(mock: &Mock, rule: Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/mock/v1/faults", mock.server.url()))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{rule}: {response:?}");
}

/// Deletes every fault rule.
async fn delete_faults(mock: &Mock) {
    let response = reqwest::Client::new()
        .delete(format!("{}/mock/v1/faults", mock.server.url()))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_the_calls_plugin_gets_one_sentence() {
    let mock = Mock::start(Mode::Both).await;
    fault(
        &mock,
        json!({"path": "/api/v1/calls/**", "action": {"kind": "respond", "status": 404}}),
    )
    .await;
    for args in [&["active"][..], &["call", OTHELLO], &["history", "--json"]] {
        let run = mock.run(HAMLET, args).await;
        assert_eq!(run.code, 3, "{args:?}: {run:?}");
        assert_eq!(
            run.stderr,
            format!(
                "error: {} has no calls plugin: it answers 404 to calls/history and \
                 calls/active, so it cannot place or take calls\n",
                mock.server.url()
            ),
            "{args:?}"
        );
    }
    assert!(!memory_file(&mock).exists());
}

/// The released plugin's errors carry `message` and no `code`: the text is shown, and the
/// HTTP status picks the exit code.
#[tokio::test(flavor = "multi_thread")]
async fn plugin_errors_without_a_code_are_read_by_their_status() {
    let mock = Mock::start(Mode::V1_1).await;
    fault(
        &mock,
        json!({
            "path": "/api/v1/calls/*/respond",
            "action": {
                "kind": "respond",
                "status": 404,
                "body": {"result": "error", "message": "Call not found"}
            }
        }),
    )
    .await;
    let run = mock
        .run(OTHELLO, &["answer", "6f1c1d52-32a4-4c5e-9d7a-3a0e2f6b8c11"])
        .await;
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(run.stderr, "error: Call not found\n");

    fault(
        &mock,
        json!({
            "path": "/api/v1/calls/create",
            "action": {
                "kind": "respond",
                "status": 409,
                "body": {"result": "error", "message": "Othello is currently in another call"}
            }
        }),
    )
    .await;
    let busy = mock.run(HAMLET, &["call", OTHELLO]).await;
    assert_eq!(busy.code, 6, "{busy:?}");
    assert_eq!(busy.stderr, "error: Othello is currently in another call\n");
}

/// On a server that speaks only 1.1, `answer --hold` heartbeats the call past the heartbeat
/// timeout (the virtual clock moves 100 s while both sides beat; the deployed plugin starts
/// checking 90 s after the answer); once the process is killed, its silence ends the call as a
/// network failure, which the caller hears.
async fn a_held_call_outlives_the_heartbeat_timeout_and_drops_when_the_client_is_killed(
    mode: Mode,
) {
    use common::control;

    let settings = mode.settings();
    let timeout = settings.call_heartbeat_timeout;
    assert_eq!(timeout, 60, "the deployed plugin's, hard-coded there");
    let mock = Mock::start_with(settings, true).await;
    let queue = mock.register(HAMLET).await;
    let call_id = mock.place(HAMLET, OTHELLO).await;
    let (mut child, mut lines) = spawn_lines(mock.command(
        OTHELLO,
        &[
            "answer",
            &call_id,
            "--hold",
            "--json",
            "--heartbeat-interval",
            "0.05",
        ],
    ));
    assert_eq!(next_json(&mut lines).await["call_status"], "accepted");

    for _ in 0..2 {
        control::advance(mock.addr(), timeout - 10).await;
        let since = control::latest_request(mock.addr()).await;
        control::heartbeat_after(mock.addr(), OTHELLO, &call_id, since).await;
        mock.heartbeat(HAMLET, &call_id).await;
    }
    mock.run_the_plugins_cleanup().await;
    assert_eq!(
        control::call_state(mock.addr(), &call_id).await,
        "accepted",
        "100 s after the answer"
    );

    child.kill().unwrap();
    child.wait().unwrap();
    control::advance(mock.addr(), timeout / 2).await;
    mock.heartbeat(HAMLET, &call_id).await;
    control::advance(mock.addr(), timeout / 2 + 1).await;
    mock.run_the_plugins_cleanup().await;
    assert_eq!(
        control::call_state(mock.addr(), &call_id).await,
        "network_failure"
    );
    let events = mock.events_now(HAMLET, &queue).await;
    let last = events.last().unwrap();
    assert_eq!(
        (last["op"].as_str(), last["reason"].as_str()),
        (Some("ended"), Some("network_failure")),
        "{events:?}"
    );
}

mod a_held_call_outlives_the_heartbeat_timeout_and_drops_when_the_client_is_killed {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn v1_1() {
        super::a_held_call_outlives_the_heartbeat_timeout_and_drops_when_the_client_is_killed(
            Mode::V1_1,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn plugin_1_1_0() {
        super::a_held_call_outlives_the_heartbeat_timeout_and_drops_when_the_client_is_killed(
            Mode::Plugin1_1_0,
        )
        .await;
    }
}

/// A server as deployed, with the plugin's redial cooldown (5 s), on a virtual clock.
async fn deployed_with_cooldown() -> Mock {
    let settings = Settings {
        call_redial_cooldown: 5,
        ..Mode::Plugin1_1_0.settings()
    };
    Mock::start_with(settings, true).await
}

/// A call from Hamlet to Othello, answered and hung up: both are now in the cooldown.
async fn a_call_just_ended(mock: &Mock) {
    let call_id = mock.place(HAMLET, OTHELLO).await;
    mock.respond(OTHELLO, &call_id, true).await;
    mock.hang_up(HAMLET, &call_id).await;
}

/// Waits (20 s of wall time at most) for `email`'s call to be refused with a 429.
async fn a_refused_create(mock: &Mock, email: &str) {
    let condition = json!({
        "kind": "request", "method": "POST", "path": "/api/v1/calls/create",
        "user": email, "status": 429,
    });
    let response = reqwest::Client::new()
        .post(format!("{}/mock/v1/wait-for", mock.server.url()))
        .json(&json!({"condition": condition, "timeout_seconds": 20}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
}

/// Right after a call ended, the deployed plugin refuses a new one from either party for 5 s
/// (§9); the client says to wait a moment, and a cancelled call does not count.
#[tokio::test(flavor = "multi_thread")]
async fn placing_a_call_right_after_one_ended_is_asked_to_wait() {
    let mock = deployed_with_cooldown().await;
    a_call_just_ended(&mock).await;
    for (who, whom) in [(HAMLET, CORDELIA), (OTHELLO, IAGO)] {
        let run = mock.run(who, &["call", whom]).await;
        assert_eq!(run.code, 6, "{who}: {run:?}");
        assert!(
            run.stderr
                .starts_with("error: the server asks to wait a moment before placing another call"),
            "{run:?}"
        );
        assert!(!run.stderr.to_lowercase().contains("rate"), "{run:?}");
    }
    common::control::advance(mock.addr(), 5).await;
    let placed = mock.run(HAMLET, &["call", OTHELLO, "--json"]).await;
    assert_eq!(placed.code, 0, "{placed:?}");
    let call_id = placed.json()["call_id"].as_str().unwrap().to_owned();
    let cancelled = mock.run(HAMLET, &["end", &call_id, "--json"]).await;
    assert_eq!(
        cancelled.json()["call_status"],
        "cancelled",
        "{cancelled:?}"
    );
    let again = mock.run(HAMLET, &["call", OTHELLO]).await;
    assert_eq!(again.code, 0, "a cancelled call does not count: {again:?}");
}

/// `call --wait` right after a call ended is refused, waits (the server's `Retry-After`, else
/// 5 s), and places the call once the cooldown is over.
#[tokio::test(flavor = "multi_thread")]
async fn call_wait_right_after_a_call_ended_waits_it_out() {
    let mock = deployed_with_cooldown().await;
    a_call_just_ended(&mock).await;
    let queue = mock.register(OTHELLO).await;
    let caller = tokio::spawn(finish(mock.command(HAMLET, &["call", OTHELLO, "--wait"])));
    a_refused_create(&mock, HAMLET).await;
    common::control::advance(mock.addr(), 5).await;
    let call_id = mock.next_incoming_call(OTHELLO, &queue).await;
    mock.respond(OTHELLO, &call_id, true).await;
    let run = tokio::time::timeout(Duration::from_secs(30), caller)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with(
            "The server asks to wait a moment before placing another call: trying again in "
        ),
        "{run:?}"
    );
    assert!(run.stdout.contains("accepted"), "{run:?}");
}

/// Events shaped as the deployed plugin sends them (no `timeout_seconds`, no `user_id`, no
/// `duration`, an `ended` without `reason`, Python's timestamps), with an unreadable one in
/// between: `watch` prints each readable one and goes on past the other.
async fn watch_reads_the_deployed_plugin_s_events(mode: Mode) {
    let mock = Mock::start(mode).await;
    let (child, mut lines) = spawn_lines(mock.command(OTHELLO, &["watch"]));
    let _watch = KillOnDrop(child);
    assert_eq!(next_json(&mut lines).await["type"], "resync");
    let call_id = "6f1c1d52-32a4-4c5e-9d7a-3a0e2f6b8c11";
    let call = |op: &str, state: &str| {
        json!({
            "type": "call", "op": op, "call_id": call_id, "call_type": "video",
            "sender": {"user_id": mock.id(HAMLET), "full_name": "King Hamlet",
                       "avatar_url": format!("/avatar/{}", mock.id(HAMLET))},
            "receiver": {"user_id": mock.id(OTHELLO), "full_name": "Othello, the Moor of Venice",
                         "avatar_url": format!("/avatar/{}", mock.id(OTHELLO))},
            "state": state, "jitsi_url": "https://meet.example.com/zulip-call-1",
            "timestamp": "2026-12-07T10:39:03.308221+00:00",
        })
    };
    let mut incoming = call("incoming_call", "calling");
    incoming["receiver_was_offline"] = json!(true);
    let broken = json!({"type": "call", "op": "accepted", "call_id": call_id});
    for event in [incoming, broken, call("ended", "ended")] {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/mock/v1/users/{}/events",
                mock.server.url(),
                mock.id(OTHELLO)
            ))
            .json(&json!({ "event": event }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }
    let started = next_json(&mut lines).await;
    assert_eq!(started["event_type"], "call_started", "{started}");
    assert_eq!(started["timeout_seconds"], 90, "{started}");
    assert_eq!(started["sender_name"], "King Hamlet", "{started}");
    let ended = next_json(&mut lines).await;
    assert_eq!(ended["event_type"], "call_ended", "{ended}");
    assert_eq!(ended["state"], "ended", "{ended}");
    assert_eq!(ended["reason"], "hangup", "{ended}");
    assert_eq!(ended["ended_by_id"], Value::Null, "{ended}");
}

/// A child process that is killed when the test ends, passed or failed.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

mod watch_reads_the_deployed_plugin_s_events {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn v1_1() {
        super::watch_reads_the_deployed_plugin_s_events(Mode::V1_1).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn plugin_1_1_0() {
        super::watch_reads_the_deployed_plugin_s_events(Mode::Plugin1_1_0).await;
    }
}

/// The journaled requests to `path` (a glob) with `method`, oldest first.
async fn journal(mock: &Mock, method: &str, path: &str) -> Vec<Value> {
    let body: Value = reqwest::Client::new()
        .get(format!("{}/mock/v1/journal", mock.server.url()))
        .query(&[("method", method), ("path", path), ("limit", "1000")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["requests"].as_array().unwrap().clone()
}

/// What a 1.1 server is sent is what the deployed plugin reads right too: plain values (no
/// JSON quoting), `decline` rather than `reject`, `{id}/cancel` before an answer.
#[tokio::test(flavor = "multi_thread")]
async fn a_1_1_server_is_sent_plain_values() {
    let mock = Mock::start(Mode::V1_1).await;
    let placed = mock
        .run(HAMLET, &["call", OTHELLO, "--audio", "--json"])
        .await;
    let first = placed.json()["call_id"].as_str().unwrap().to_owned();
    let rejected = mock.run(OTHELLO, &["reject", &first]).await;
    assert_eq!(rejected.code, 0, "{rejected:?}");
    let placed = mock.run(HAMLET, &["call", OTHELLO, "--json"]).await;
    let second = placed.json()["call_id"].as_str().unwrap().to_owned();
    let cancelled = mock.run(HAMLET, &["end", &second, "--json"]).await;
    assert_eq!(
        cancelled.json()["call_status"],
        "cancelled",
        "{cancelled:?}"
    );

    let creates = journal(&mock, "POST", "/api/v1/calls/create").await;
    let params: Vec<&Value> = creates.iter().map(|r| &r["params"]).collect();
    let othello = mock.id(OTHELLO).to_string();
    assert_eq!(
        params,
        [
            &json!({"user_id": othello, "is_video_call": "false"}),
            &json!({"user_id": othello, "is_video_call": "true"}),
        ]
    );
    let responds = journal(&mock, "POST", "/api/v1/calls/*/respond").await;
    assert_eq!(responds.len(), 1);
    assert_eq!(
        responds[0]["path"],
        format!("/api/v1/calls/{first}/respond")
    );
    assert_eq!(responds[0]["params"], json!({"response": "decline"}));
    let cancels = journal(&mock, "POST", "/api/v1/calls/*/cancel").await;
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0]["path"], format!("/api/v1/calls/{second}/cancel"));
    assert!(
        journal(&mock, "POST", "/api/v1/calls/*/end")
            .await
            .is_empty()
    );
}

/// `--log-format json` makes the log file one JSON object a line; text stays the default.
#[test]
fn the_log_file_can_be_json() {
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state");
    let log = state.join("zulip-calls").join("zulip-calls.log");
    let run = |args: &[&str]| {
        let output = command(home.path())
            .env("XDG_STATE_HOME", &state)
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    };
    run(&["--log-format", "json", "completions", "bash"]);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(!lines.is_empty(), "{text}");
    for line in &lines {
        assert!(line["level"].is_string(), "{line}");
        assert!(line["target"].is_string(), "{line}");
        assert!(line["fields"]["message"].is_string(), "{line}");
    }
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "start"),
        "{text}"
    );

    std::fs::remove_file(&log).unwrap();
    run(&["completions", "bash"]);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(" start "), "{text}");
    assert!(serde_json::from_str::<Value>(text.lines().next().unwrap()).is_err());
}

//! The TUI as a person meets it: `zulip-calls demo` in a pseudo-terminal — it starts, shows
//! the teammates, places a call, cancels it, quits on `q`, and gives the terminal back.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use rexpect::session::spawn_command;

#[test]
fn demo_starts_places_a_call_and_restores_the_terminal_on_quit() {
    let home = tempfile::tempdir().unwrap();
    let command = in_terminal(100, "demo --no-browser", home.path());
    let mut session = spawn_command(command, Some(15_000)).unwrap();

    // Before the UI: how a second terminal joins the demo.
    session.exp_string("To call between two terminals").unwrap();
    // The UI: teammates from the demo realm. (The screen is drawn in runs between cursor
    // moves, and only cells that changed are written — "connecting…" becoming "connected"
    // writes just "ed" — so look for whole words that appear at once.)
    session.exp_string("othello@zulip.com").unwrap();

    for key in ["/", "O", "t", "h", "\r", "v"] {
        session.send(key).unwrap();
    }
    session.flush().unwrap();
    session.exp_string("Elapsed").unwrap();
    // Cancel the call (Esc); once it is over, quit: no call, so no question.
    session.send("\x1b").unwrap();
    session.flush().unwrap();
    session.exp_string("cancelled").unwrap();
    session.send("q").unwrap();
    session.flush().unwrap();

    let rest = session.exp_eof().unwrap();
    assert!(rest.contains("\u{1b}[?1049l"), "left the alternate screen");
    assert!(
        rest.contains("To call between two terminals"),
        "the join hint is printed again"
    );
    let status = session.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
}

/// The TUI signed in to a server that speaks only the 1.1 calls API: the status bar names the
/// dialect, a call placed from it rings the callee (a 1.1 `create`) and Esc withdraws it (a 1.1
/// `{id}/cancel`, since the deployed plugin's `end` would not say "cancelled").
#[test]
fn the_tui_places_and_cancels_a_call_on_a_1_1_server() {
    use zulip_calls_mock::{Clock, Server, ServerConfig};
    use zulip_calls_protocol::CallsApi;
    use zulip_calls_protocol::settings::Settings;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: db.path().join("mock.sqlite3").display().to_string(),
        rate_limit_per_minute: 0,
        settings: Settings {
            calls_api: CallsApi::V1_1,
            ..Settings::default()
        },
        ..ServerConfig::default()
    };
    let server = runtime
        .block_on(Server::start(config, Clock::System))
        .unwrap();
    let key = {
        let directory = server.state.core.directory();
        directory
            .user_by_email("hamlet@zulip.com")
            .unwrap()
            .api_key
            .clone()
    };
    let home = tempfile::tempdir().unwrap();
    let args = format!(
        "--no-browser --site {} --email hamlet@zulip.com --api-key {key}",
        server.url()
    );
    let command = in_terminal(100, &args, home.path());
    let mut session = spawn_command(command, Some(15_000)).unwrap();
    // The first frame's status bar, then the teammates once loaded.
    session.exp_string(" 1.1 ").unwrap();
    session.exp_string("othello@zulip.com").unwrap();

    for key in ["/", "O", "t", "h", "\r", "v"] {
        session.send(key).unwrap();
    }
    session.flush().unwrap();
    session.exp_string("Elapsed").unwrap();
    session.send("\x1b").unwrap();
    session.flush().unwrap();
    session.exp_string("cancelled").unwrap();
    session.send("q").unwrap();
    session.flush().unwrap();
    session.exp_eof().unwrap();

    let calls: serde_json::Value = runtime.block_on(async {
        reqwest::get(format!("{}/mock/v1/calls", server.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let call = &calls["calls"][0];
    assert_eq!(call["state"], "cancelled", "{calls}");
    assert_eq!(call["end_reason"], "cancelled", "{calls}");
    let cancels: serde_json::Value = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/mock/v1/journal", server.url()))
            .query(&[("method", "POST"), ("path", "/api/v1/calls/*/cancel")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(
        cancels["requests"].as_array().unwrap().len(),
        1,
        "{cancels}"
    );
    runtime.block_on(server.shutdown());
}

/// A call missed while the TUI was closed: the next start counts it on the status bar; looking
/// at History clears the count for good (a later `missed` lists nothing), and Enter on the row
/// calls the caller back.
#[test]
fn a_call_missed_while_closed_is_counted_and_called_back_from_history() {
    use zulip_calls_mock::{Clock, Server, ServerConfig};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: db.path().join("mock.sqlite3").display().to_string(),
        rate_limit_per_minute: 0,
        virtual_clock: true,
        ..ServerConfig::default()
    };
    let server = runtime
        .block_on(Server::start(config, Clock::System))
        .unwrap();
    let (key, othello_key, othello_id) = {
        let directory = server.state.core.directory();
        let othello = directory.user_by_email("othello@zulip.com").unwrap();
        (
            directory
                .user_by_email("hamlet@zulip.com")
                .unwrap()
                .api_key
                .clone(),
            othello.api_key.clone(),
            othello.id.0,
        )
    };
    let hamlet_id = server
        .state
        .core
        .directory()
        .user_by_email("hamlet@zulip.com")
        .unwrap()
        .id
        .0;
    // Othello calls while Hamlet's client is closed, and it rings out.
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let placed = client
            .post(format!("{}/api/v1/calls/start", server.url()))
            .basic_auth("othello@zulip.com", Some(&othello_key))
            .form(&[("user_id", hamlet_id.to_string())])
            .send()
            .await
            .unwrap();
        assert!(placed.status().is_success(), "{placed:?}");
        let advanced = client
            .post(format!("{}/mock/v1/clock/advance", server.url()))
            .json(&serde_json::json!({ "seconds": 31 }))
            .send()
            .await
            .unwrap();
        assert!(advanced.status().is_success(), "{advanced:?}");
    });

    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state");
    let args = format!(
        "--no-browser --site {} --email hamlet@zulip.com --api-key {key}",
        server.url()
    );
    let tui = || in_terminal(110, &args, home.path());
    let mut session = spawn_command(tui(), Some(15_000)).unwrap();
    // The count may be drawn before or after the teammates, over cells that held other text:
    // only the cells that changed are written, with cursor moves between them.
    session.exp_regex(&drawn("1 missed")).unwrap();
    // History: the chart, then the missed row; Enter calls Othello back.
    session.send("\t").unwrap();
    session.flush().unwrap();
    session.exp_regex(&drawn("Last 14 days")).unwrap();
    session.exp_regex(&drawn("timeout")).unwrap();
    session.send("\r").unwrap();
    session.flush().unwrap();
    session.exp_string("Elapsed").unwrap();
    session.send("\x1b").unwrap();
    session.flush().unwrap();
    session.exp_string("cancelled").unwrap();
    session.send("q").unwrap();
    session.flush().unwrap();
    session.exp_eof().unwrap();

    let calls: serde_json::Value = runtime.block_on(async {
        reqwest::get(format!("{}/mock/v1/calls", server.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let back = calls["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["sender_id"] == hamlet_id)
        .unwrap_or_else(|| panic!("no call back: {calls}"));
    assert_eq!(back["receiver_id"], othello_id, "{calls}");

    // History was looked at: the missed call no longer counts.
    let output = Command::new(env!("CARGO_BIN_EXE_zulip-calls"))
        .args(["--json", "missed", "--site", &server.url()])
        .args(["--email", "hamlet@zulip.com", "--api-key", &key])
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", &state)
        .env_remove("ZULIPRC")
        .output()
        .unwrap();
    let missed: serde_json::Value =
        serde_json::from_slice(output.stdout.rsplit(|b| *b == b'\n').nth(1).unwrap()).unwrap();
    assert_eq!(missed["count"], 0, "{missed}");
    assert!(missed["since"].is_string(), "{missed}");
    runtime.block_on(server.shutdown());
}

/// "In a call" as the Zulip status while talking, and after a `kill -9` mid-call the old
/// status back on the client's next start. A teammate's event queue sees each change.
#[test]
fn a_client_killed_mid_call_puts_the_old_status_back_on_its_next_start() {
    use zulip_calls_mock::{Clock, Server, ServerConfig};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: db.path().join("mock.sqlite3").display().to_string(),
        rate_limit_per_minute: 0,
        ..ServerConfig::default()
    };
    let server = runtime
        .block_on(Server::start(config, Clock::System))
        .unwrap();
    let user = |email: &str| {
        let directory = server.state.core.directory();
        let user = directory.user_by_email(email).unwrap();
        (user.id.0, user.api_key.clone())
    };
    let (hamlet_id, hamlet_key) = user("hamlet@zulip.com");
    let (_, othello_key) = user("othello@zulip.com");
    let (_, iago_key) = user("iago@zulip.com");
    let http = reqwest::Client::new();
    let post = |email: &'static str,
                key: String,
                path: &'static str,
                form: Vec<(&'static str, String)>| {
        let request = http
            .post(format!("{}/api/v1/{path}", server.url()))
            .basic_auth(email, Some(key))
            .form(&form);
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "{path}: {response:?}");
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    // Hamlet's own status, and Iago's queue to watch it.
    runtime.block_on(post(
        "hamlet@zulip.com",
        hamlet_key.clone(),
        "users/me/status",
        vec![
            ("status_text", "Reading".into()),
            ("emoji_name", "coffee".into()),
            ("emoji_code", "2615".into()),
            ("reaction_type", "unicode_emoji".into()),
        ],
    ));
    let queue = runtime.block_on(post(
        "iago@zulip.com",
        iago_key.clone(),
        "register",
        vec![("event_types", r#"["user_status"]"#.into())],
    ));
    let queue_id = queue["queue_id"].as_str().unwrap().to_owned();
    let mut last_event_id = queue["last_event_id"].as_i64().unwrap();
    // Long-polls Iago's queue until Hamlet's status text is `text`.
    let mut status_becomes = |text: &str| {
        runtime.block_on(async {
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
            loop {
                assert!(tokio::time::Instant::now() < deadline, "no status {text:?}");
                let events: serde_json::Value = http
                    .get(format!("{}/api/v1/events", server.url()))
                    .basic_auth("iago@zulip.com", Some(&iago_key))
                    .query(&[
                        ("queue_id", queue_id.clone()),
                        ("last_event_id", last_event_id.to_string()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                for event in events["events"].as_array().unwrap() {
                    last_event_id = event["id"].as_i64().unwrap();
                    if event["type"] == "user_status"
                        && event["user_id"] == hamlet_id
                        && event["status_text"] == text
                    {
                        return event.clone();
                    }
                }
            }
        })
    };

    let home = tempfile::tempdir().unwrap();
    let args = format!(
        "--no-browser --site {} --email hamlet@zulip.com --api-key {hamlet_key}",
        server.url()
    );
    let tui = || in_terminal(110, &args, home.path());
    let mut session = spawn_command(tui(), Some(15_000)).unwrap();
    session.exp_string("othello@zulip.com").unwrap();
    // Othello calls; Hamlet answers in the TUI.
    let placed = runtime.block_on(post(
        "othello@zulip.com",
        othello_key.clone(),
        "calls/start",
        vec![("user_id", hamlet_id.to_string())],
    ));
    let call_id = placed["call_id"].as_str().unwrap().to_owned();
    session.exp_regex(&drawn("is calling")).unwrap();
    session.send("y").unwrap();
    session.flush().unwrap();
    let during = status_becomes("In a call");
    assert_eq!(during["emoji_name"], "phone", "{during}");

    // Killed: the terminal is not given back and nothing more is sent.
    session
        .process_mut()
        .kill(rexpect::process::Signal::SIGKILL)
        .unwrap();
    // The call ends while no client runs.
    runtime.block_on(post(
        "othello@zulip.com",
        othello_key,
        "calls/end",
        vec![("call_id", call_id)],
    ));

    let mut again = spawn_command(tui(), Some(15_000)).unwrap();
    again.exp_string("othello@zulip.com").unwrap();
    let back = status_becomes("Reading");
    assert_eq!(back["emoji_name"], "coffee", "{back}");
    again.send("q").unwrap();
    again.flush().unwrap();
    again.exp_eof().unwrap();
    runtime.block_on(server.shutdown());
}

/// The client with `args` in a shell that first gives the pseudo-terminal a size (a fresh one
/// has none, and nothing would be drawn), as a terminal emulator would; `home` is its home and
/// holds its state directory, and no credentials come from the environment.
fn in_terminal(cols: u16, args: &str, home: &Path) -> Command {
    let mut command = Command::new("sh");
    command.arg("-c").arg(format!(
        "stty cols {cols} rows 30 && exec {} {args}",
        env!("CARGO_BIN_EXE_zulip-calls")
    ));
    command
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("TERM", "xterm-256color")
        .env_remove("ZULIPRC")
        .env_remove("ZULIP_EMAIL")
        .env_remove("ZULIP_API_KEY")
        .env_remove("ZULIP_SITE");
    command
}

/// A pattern matching `text` as a terminal draws it when only changed cells are written: any
/// escape sequences (cursor moves, styles) between its characters, spaces possibly skipped.
fn drawn(text: &str) -> String {
    let gap = r"(?:\x1b\[[0-9;?]*[A-Za-z]|\s)*";
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(regex_escape)
        .collect::<Vec<_>>()
        .join(gap)
}

fn regex_escape(c: char) -> String {
    if c.is_ascii_alphanumeric() {
        c.to_string()
    } else {
        format!("\\x{{{:x}}}", u32::from(c))
    }
}

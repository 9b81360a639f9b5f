//! The client under server faults injected through the mock's control API (`/mock/v1/faults`):
//! slow, dropped, 5xx-answered and closed requests on `register`, `events`, the event
//! WebSocket and the calls endpoints. The event stream goes to "reconnecting" and back to
//! "connected" on its own, calls placed afterwards still ring, failed commands show an error,
//! the TUI keeps drawing and gives the terminal back, and subcommands fail with one clear line
//! and their documented exit code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use zulip_calls::app::{CallPanel, Command, KeyInput, Level, Model, Msg, init, update};
use zulip_calls::backend::calls::Calls;
use zulip_calls::backend::events::{
    ConnectionState, EventStream, StreamItem, StreamOptions, TransportPreference,
};
use zulip_calls::effects;
use zulip_calls_protocol::Timestamp;

const HAMLET: &str = "hamlet@zulip.com";
const OTHELLO: &str = "othello@zulip.com";

/// How long a test waits for one stream item before failing.
const WAIT: Duration = Duration::from_secs(10);

const EVENTS: &str = "/api/v1/events";
const WEBSOCKET: &str = "/api/v1/events/websocket";
const REGISTER: &str = "/api/v1/register";

// ---------------------------------------------------------------------------------------------
// Fault rules over the control API

/// Adds a fault rule; returns its id.
async fn add_fault(addr: std::net::SocketAddr, rule: Value) -> String {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/mock/v1/faults"))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{rule}: {response:?}");
    let body: Value = response.json().await.unwrap();
    id_text(&body["fault_id"])
}

/// A fault id as text, whether the server sends it as a string or a number.
fn id_text(id: &Value) -> String {
    match id {
        Value::String(id) => id.clone(),
        other => other.to_string(),
    }
}

/// The rule `id` as `GET /mock/v1/faults` lists it.
async fn fault(addr: std::net::SocketAddr, id: &str) -> Value {
    let body: Value = reqwest::get(format!("http://{addr}/mock/v1/faults"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| id_text(&f["fault_id"]) == id)
        .cloned()
        .unwrap_or_else(|| panic!("no fault {id} in {body}"))
}

/// How many requests the rule `id` has acted on.
async fn matched(addr: std::net::SocketAddr, id: &str) -> u64 {
    fault(addr, id).await["matched"].as_u64().unwrap()
}

/// A rule on `method path` doing `action`, `times` times (`None`: until deleted).
fn rule(method: &str, path: &str, action: Value, times: Option<u32>) -> Value {
    let mut rule = json!({ "method": method, "path": path, "action": action });
    if let Some(times) = times {
        rule["times"] = json!(times);
    }
    rule
}

/// Closes `user_id`'s event WebSockets (their queues stay), so the client reconnects.
async fn close_websockets(addr: std::net::SocketAddr, user_id: i64) {
    let response = reqwest::Client::new()
        .post(format!(
            "http://{addr}/mock/v1/users/{user_id}/websockets/close"
        ))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["closed"], 1, "{body}");
}

/// The path a transport's event requests go to.
fn events_path(transport: TransportPreference) -> &'static str {
    match transport {
        TransportPreference::LongPollOnly => EVENTS,
        TransportPreference::WebSocketOnly | TransportPreference::Auto => WEBSOCKET,
    }
}

// ---------------------------------------------------------------------------------------------
// One person's client without a terminal

/// The core, its backend, what it asked for and every stream item it was fed.
struct Core {
    model: Model,
    calls: Calls,
    stream: mpsc::Receiver<StreamItem>,
    _handle: EventStream,
    local: Vec<Command>,
    seen: Vec<StreamItem>,
}

impl Core {
    /// Starts the core and feeds it the stream until the first snapshot (faults on the way
    /// in are retried before that).
    async fn start(
        server: &common::TestServer,
        email: &str,
        transport: TransportPreference,
    ) -> Core {
        let api = server.api(email);
        let options = StreamOptions {
            transport,
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(200),
            ..StreamOptions::default()
        };
        let calls = Calls::from(api);
        let (handle, stream) = EventStream::spawn(calls.clone(), options);
        let now = Timestamp::from_unix_seconds(1_704_110_400).unwrap();
        let mut core = Core {
            model: Model::new(server.user_id(email), now),
            calls,
            stream,
            _handle: handle,
            local: Vec::new(),
            seen: Vec::new(),
        };
        let commands = init(&core.model);
        core.run(commands).await;
        core.pump_until(|item| matches!(item, StreamItem::Resynced(_)))
            .await;
        core
    }

    /// [`Core::start`], then until the stream says it is connected.
    async fn connected(
        server: &common::TestServer,
        email: &str,
        transport: TransportPreference,
    ) -> Core {
        let mut core = Core::start(server, email, transport).await;
        core.pump_until(is_connected).await;
        assert_eq!(core.model.connection_text(), "connected");
        core
    }

    async fn send(&mut self, msg: Msg) {
        let update = update(&mut self.model, msg);
        self.run(update.commands).await;
    }

    async fn run(&mut self, commands: Vec<Command>) {
        let mut queue: std::collections::VecDeque<Command> = commands.into();
        while let Some(command) = queue.pop_front() {
            if effects::is_request(&command) {
                if let Some(reply) = effects::request(&self.calls, command).await {
                    queue.extend(update(&mut self.model, reply).commands);
                }
            } else {
                self.local.push(command);
            }
        }
    }

    async fn key(&mut self, key: KeyInput) {
        self.send(Msg::Key(key)).await;
    }

    /// Feeds stream items to the core until one matches, for at most [`WAIT`] in all (a
    /// stream that keeps flapping fails the test too).
    async fn pump_until(&mut self, done: impl Fn(&StreamItem) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let item = match tokio::time::timeout_at(deadline, self.stream.recv()).await {
                Ok(Some(item)) => item,
                Ok(None) => panic!("the stream ended; saw {:#?}", self.tail()),
                Err(_) => panic!("waited in vain; the last items: {:#?}", self.tail()),
            };
            let matched = done(&item);
            self.seen.push(item.clone());
            self.send(Msg::Stream(item)).await;
            if matched {
                return;
            }
        }
    }

    /// The last few stream items, for failure messages.
    fn tail(&self) -> &[StreamItem] {
        &self.seen[self.seen.len().saturating_sub(12)..]
    }

    async fn pump_event(&mut self, event_type: &str) {
        let wanted = event_type.to_owned();
        self.pump_until(move |item| match item {
            StreamItem::Event(e) => e
                .as_call()
                .is_some_and(|c| c.event_type().as_str() == wanted),
            _ => false,
        })
        .await;
    }

    /// Selects the teammate whose name contains `name` and presses `key`.
    async fn call(&mut self, name: &str, key: char) {
        self.key(KeyInput::Char('/')).await;
        for c in name.chars() {
            self.key(KeyInput::Char(c)).await;
        }
        self.key(KeyInput::Enter).await;
        self.key(KeyInput::Char(key)).await;
    }

    /// The reconnection attempts reported so far.
    fn reconnects(&self) -> Vec<u32> {
        self.seen
            .iter()
            .filter_map(|item| match item {
                StreamItem::State(ConnectionState::Reconnecting { attempt, .. }) => Some(*attempt),
                _ => None,
            })
            .collect()
    }
}

fn is_connected(item: &StreamItem) -> bool {
    matches!(item, StreamItem::State(ConnectionState::Connected { .. }))
}

fn is_reconnecting(item: &StreamItem) -> bool {
    matches!(
        item,
        StreamItem::State(ConnectionState::Reconnecting { .. })
    )
}

/// Hamlet calls Othello; Othello's core must ring and show the incoming panel.
async fn a_call_still_rings(server: &common::TestServer, othello: &mut Core) {
    let mut hamlet = Core::start(server, HAMLET, TransportPreference::LongPollOnly).await;
    othello.local.clear();
    hamlet.call("Othello", 'v').await;
    assert!(
        matches!(hamlet.model.call, CallPanel::Outgoing(_)),
        "{:?}",
        hamlet.model.call
    );
    othello.pump_event("call_started").await;
    assert!(
        matches!(othello.model.call, CallPanel::Incoming(_)),
        "{:?}",
        othello.model.call
    );
    assert!(othello.local.contains(&Command::StartRinging));
}

// ---------------------------------------------------------------------------------------------
// The event stream and the core

/// A slow `register` and slow event requests (below every timeout) are waited for, not
/// mistaken for failures: no reconnection, and a call still rings.
async fn slow_register_and_events_are_waited_for(transport: TransportPreference) {
    let server = common::start_server().await;
    let slow = json!({ "kind": "delay", "ms": 700 });
    let register = add_fault(server.addr, rule("POST", REGISTER, slow.clone(), Some(1))).await;
    let events = add_fault(
        server.addr,
        rule("GET", events_path(transport), slow, Some(2)),
    )
    .await;
    let mut othello = Core::connected(&server, OTHELLO, transport).await;
    assert_eq!(matched(server.addr, &register).await, 1);
    assert!(matched(server.addr, &events).await >= 1);
    assert_eq!(
        othello.reconnects(),
        Vec::<u32>::new(),
        "{:#?}",
        othello.seen
    );
    a_call_still_rings(&server, &mut othello).await;
    assert_eq!(
        othello.reconnects(),
        Vec::<u32>::new(),
        "{:#?}",
        othello.seen
    );
}

/// `register` fails (dropped connections, then a 503 burst, then a 503 on the snapshot): the
/// stream reports each retry, then connects on its own.
async fn failed_registrations_are_retried_until_connected(transport: TransportPreference) {
    let server = common::start_server().await;
    let dropped = add_fault(
        server.addr,
        rule("POST", REGISTER, json!({ "kind": "drop" }), Some(2)),
    )
    .await;
    let unavailable = add_fault(
        server.addr,
        rule(
            "POST",
            REGISTER,
            json!({ "kind": "respond", "status": 503 }),
            Some(2),
        ),
    )
    .await;
    let snapshot = add_fault(
        server.addr,
        rule(
            "GET",
            "/api/v1/calls/active",
            json!({ "kind": "respond", "status": 500 }),
            Some(1),
        ),
    )
    .await;
    let mut othello = Core::connected(&server, OTHELLO, transport).await;
    for id in [&dropped, &unavailable] {
        assert_eq!(fault(server.addr, id).await["remaining"], 0);
    }
    assert_eq!(matched(server.addr, &snapshot).await, 1);
    // Five failed tries in a row, each reported with its attempt number, before connecting.
    assert_eq!(
        othello.reconnects(),
        vec![1, 2, 3, 4, 5],
        "{:#?}",
        othello.seen
    );
    let reasons: Vec<&str> = othello
        .seen
        .iter()
        .filter_map(|item| match item {
            StreamItem::State(ConnectionState::Reconnecting { reason, .. }) => {
                Some(reason.as_str())
            }
            _ => None,
        })
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("503")),
        "the reason names the failure: {reasons:?}"
    );
    a_call_still_rings(&server, &mut othello).await;
}

/// The connected stream's event requests fail (dropped, then a 5xx burst): "reconnecting",
/// then "connected" again without anything done, and the next call rings.
async fn failing_event_requests_reconnect_on_their_own(transport: TransportPreference) {
    let server = common::start_server().await;
    let mut othello = Core::connected(&server, OTHELLO, transport).await;
    let path = events_path(transport);
    let dropped = add_fault(
        server.addr,
        rule("GET", path, json!({ "kind": "drop" }), Some(2)),
    )
    .await;
    let failing = add_fault(
        server.addr,
        rule(
            "GET",
            path,
            json!({ "kind": "respond", "status": 503 }),
            Some(2),
        ),
    )
    .await;
    let internal = add_fault(
        server.addr,
        rule(
            "GET",
            path,
            json!({ "kind": "respond", "status": 500 }),
            Some(1),
        ),
    )
    .await;
    if transport == TransportPreference::WebSocketOnly {
        close_websockets(server.addr, server.user_id(OTHELLO).0).await;
    }
    // A long-poll in flight ends with the next heartbeat (1 s); the next one meets the rules.
    othello.pump_until(is_reconnecting).await;
    assert!(
        othello
            .model
            .connection_text()
            .starts_with("reconnecting in"),
        "{}",
        othello.model.connection_text()
    );
    othello.pump_until(is_connected).await;
    assert_eq!(othello.model.connection_text(), "connected");
    for id in [&dropped, &failing, &internal] {
        assert_eq!(fault(server.addr, id).await["remaining"], 0, "rule {id}");
    }
    assert!(othello.reconnects().len() >= 5, "{:#?}", othello.seen);
    a_call_still_rings(&server, &mut othello).await;
}

/// Runs a flow once per transport: a module of two tests named after it.
macro_rules! on_both_transports {
    ($($flow:ident),* $(,)?) => {
        $(mod $flow {
            use super::*;

            #[tokio::test]
            async fn over_websocket() {
                super::$flow(TransportPreference::WebSocketOnly).await;
            }

            #[tokio::test]
            async fn over_long_poll() {
                super::$flow(TransportPreference::LongPollOnly).await;
            }
        })*
    };
}

on_both_transports!(
    slow_register_and_events_are_waited_for,
    failed_registrations_are_retried_until_connected,
    failing_event_requests_reconnect_on_their_own,
);

/// Upgrades accepted and closed at once by the server: each is a reconnection, and once they
/// stop the stream stays connected and delivers the next call.
#[tokio::test]
async fn websockets_closed_on_upgrade_are_reopened() {
    let server = common::start_server().await;
    let mut othello = Core::connected(&server, OTHELLO, TransportPreference::WebSocketOnly).await;
    let closing = add_fault(
        server.addr,
        rule(
            "GET",
            WEBSOCKET,
            json!({ "kind": "close_websocket", "code": 1011 }),
            Some(2),
        ),
    )
    .await;
    close_websockets(server.addr, server.user_id(OTHELLO).0).await;
    // The close by the control API, then one per faulted upgrade.
    for _ in 0..3 {
        othello.pump_until(is_reconnecting).await;
    }
    othello.pump_until(is_connected).await;
    assert_eq!(othello.model.connection_text(), "connected");
    assert_eq!(matched(server.addr, &closing).await, 2);
    let reasons: Vec<String> = othello
        .seen
        .iter()
        .filter_map(|item| match item {
            StreamItem::State(ConnectionState::Reconnecting { reason, .. }) => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("1011")),
        "the close code is reported: {reasons:?}"
    );
    a_call_still_rings(&server, &mut othello).await;
}

// ---------------------------------------------------------------------------------------------
// Commands the core sends

/// A 503 on `calls/start`: the caller sees why the call failed instead of a panel stuck on
/// "calling"; the next try goes through.
#[tokio::test]
async fn a_failed_call_says_why() {
    let server = common::start_server().await;
    let mut hamlet = Core::connected(&server, HAMLET, TransportPreference::LongPollOnly).await;
    let mut othello = Core::connected(&server, OTHELLO, TransportPreference::LongPollOnly).await;
    add_fault(
        server.addr,
        rule(
            "POST",
            "/api/v1/calls/start",
            json!({ "kind": "respond", "status": 503 }),
            Some(1),
        ),
    )
    .await;
    hamlet.call("Othello", 'v').await;
    let CallPanel::Ended { summary } = &hamlet.model.call else {
        panic!(
            "expected a summary of the failed call, got {:?}",
            hamlet.model.call
        );
    };
    assert!(
        summary.text.contains("Could not call Othello"),
        "{}",
        summary.text
    );
    assert!(summary.text.contains("503"), "{}", summary.text);

    // The fault is spent: calling again works.
    hamlet.key(KeyInput::Char('v')).await;
    assert!(
        matches!(hamlet.model.call, CallPanel::Outgoing(_)),
        "{:?}",
        hamlet.model.call
    );
    othello.pump_event("call_started").await;
    assert!(matches!(othello.model.call, CallPanel::Incoming(_)));
}

/// A 503 on `calls/respond` when answering: the callee is told the answer did not go through,
/// the modal stays, and answering again joins the call.
#[tokio::test]
async fn a_failed_answer_says_why_and_can_be_given_again() {
    let server = common::start_server().await;
    let mut othello = Core::connected(&server, OTHELLO, TransportPreference::WebSocketOnly).await;
    a_call_still_rings(&server, &mut othello).await;
    add_fault(
        server.addr,
        rule(
            "POST",
            "/api/v1/calls/respond",
            json!({ "kind": "respond", "status": 503 }),
            Some(1),
        ),
    )
    .await;
    othello.key(KeyInput::Char('y')).await;
    assert!(
        matches!(othello.model.call, CallPanel::Incoming(_)),
        "the modal stays: {:?}",
        othello.model.call
    );
    let notice = othello.model.current_notice().expect("an error notice");
    assert_eq!(notice.level, Level::Error);
    assert!(notice.text.contains("Could not answer"), "{}", notice.text);
    assert!(notice.text.contains("503"), "{}", notice.text);
    assert!(
        othello.local.contains(&Command::StopRinging),
        "{:?}",
        othello.local
    );
    assert!(
        !othello
            .local
            .iter()
            .any(|c| matches!(c, Command::OpenUrl(_))),
        "no meeting opened for an answer that failed"
    );
    // The fault was used up: the second answer goes through.
    othello.key(KeyInput::Char('y')).await;
    assert!(
        matches!(othello.model.call, CallPanel::InCall(_)),
        "{:?}",
        othello.model.call
    );
    assert!(
        othello
            .local
            .iter()
            .any(|c| matches!(c, Command::OpenUrl(_)))
    );
}

/// A 500 on `calls/end`: an error notice, and the call stays up so hanging up can be tried
/// again (which then works).
#[tokio::test]
async fn a_failed_hang_up_says_why_and_can_be_retried() {
    let server = common::start_server().await;
    let mut hamlet = Core::connected(&server, HAMLET, TransportPreference::LongPollOnly).await;
    let mut othello = Core::connected(&server, OTHELLO, TransportPreference::LongPollOnly).await;
    hamlet.call("Othello", 'v').await;
    othello.pump_event("call_started").await;
    othello.key(KeyInput::Char('y')).await;
    assert!(
        matches!(othello.model.call, CallPanel::InCall(_)),
        "{:?}",
        othello.model.call
    );
    add_fault(
        server.addr,
        rule(
            "POST",
            "/api/v1/calls/end",
            json!({ "kind": "respond", "status": 500 }),
            Some(1),
        ),
    )
    .await;
    othello.key(KeyInput::Char('e')).await;
    let notice = othello.model.current_notice().expect("an error notice");
    assert_eq!(notice.level, Level::Error);
    assert!(
        notice.text.contains("Could not end the call"),
        "{}",
        notice.text
    );
    assert!(
        matches!(othello.model.call, CallPanel::InCall(_)),
        "{:?}",
        othello.model.call
    );

    othello.key(KeyInput::Char('e')).await;
    assert!(
        matches!(othello.model.call, CallPanel::Ended { .. }),
        "{:?}",
        othello.model.call
    );
    hamlet.pump_event("call_ended").await;
}

/// A 503 on `calls/acknowledge`: the callee's core still rings and shows the call, and the
/// acknowledgement is sent again, so the caller sees the call ringing.
#[tokio::test]
async fn a_failed_acknowledgement_is_retried() {
    let server = common::start_server().await;
    let mut othello = Core::connected(&server, OTHELLO, TransportPreference::WebSocketOnly).await;
    let mut hamlet = Core::connected(&server, HAMLET, TransportPreference::LongPollOnly).await;
    let ack = add_fault(
        server.addr,
        rule(
            "POST",
            "/api/v1/calls/acknowledge",
            json!({ "kind": "respond", "status": 503 }),
            Some(1),
        ),
    )
    .await;
    hamlet.call("Othello", 'v').await;
    othello.pump_event("call_started").await;
    assert!(
        matches!(othello.model.call, CallPanel::Incoming(_)),
        "{:?}",
        othello.model.call
    );
    assert!(othello.local.contains(&Command::StartRinging));
    assert_eq!(matched(server.addr, &ack).await, 1);
    hamlet.pump_event("participant_ringing").await;
}

/// With the automatic transport, a server (or proxy) that accepts every event WebSocket and
/// closes it at once does not leave the client without events: after a few short-lived
/// sockets (with a growing backoff) it falls back to long-polling, and the call rings.
#[tokio::test]
async fn websockets_always_closed_on_upgrade_fall_back_to_long_polling() {
    let server = common::start_server().await;
    add_fault(
        server.addr,
        rule("GET", WEBSOCKET, json!({ "kind": "close_websocket" }), None),
    )
    .await;
    let mut othello = Core::start(&server, OTHELLO, TransportPreference::Auto).await;
    othello
        .pump_until(|item| {
            matches!(
                item,
                StreamItem::State(ConnectionState::Connected {
                    transport: zulip_calls::backend::events::Transport::LongPoll
                })
            )
        })
        .await;
    a_call_still_rings(&server, &mut othello).await;
}

// ---------------------------------------------------------------------------------------------
// Subcommands

/// `zulip-calls --json active` as Othello against `server`: exit code, stdout, stderr.
async fn active(server: &common::TestServer) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let credentials = server.credentials(OTHELLO);
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_zulip-calls"));
    command
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env_remove("ZULIPRC")
        .env_remove("ZULIP_EMAIL")
        .env_remove("ZULIP_API_KEY")
        .env_remove("ZULIP_SITE")
        .args(["--site", &format!("http://{}", server.addr)])
        .args(["--email", &credentials.email])
        .args(["--api-key", &credentials.api_key])
        .args(["--json", "active"]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Stderr is one `error:` line naming what failed, without a panic or a backtrace.
fn assert_one_clear_line(stderr: &str, wanted: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(wanted), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
}

/// A 503 on `calls/active`: one line, exit 1 ("any other error" in `--help`); a dropped
/// connection: one line, exit 3 ("cannot reach the server").
#[tokio::test]
async fn a_subcommand_fails_with_one_line_and_its_exit_code() {
    let server = common::start_server().await;
    let unavailable = add_fault(
        server.addr,
        rule(
            "GET",
            "/api/v1/calls/active",
            json!({ "kind": "respond", "status": 503 }),
            None,
        ),
    )
    .await;
    let (code, stdout, stderr) = active(&server).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_one_clear_line(&stderr, "503");
    assert!(matched(server.addr, &unavailable).await >= 1);

    add_fault(
        server.addr,
        rule(
            "GET",
            "/api/v1/calls/active",
            json!({ "kind": "drop" }),
            None,
        ),
    )
    .await;
    let response = reqwest::Client::new()
        .delete(format!(
            "http://{}/mock/v1/faults/{unavailable}",
            server.addr
        ))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    let (code, stdout, stderr) = active(&server).await;
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert_one_clear_line(&stderr, "cannot reach");
}

/// A slow server (every request delayed) is waited for: the command succeeds.
#[tokio::test]
async fn a_subcommand_waits_for_a_slow_server() {
    let server = common::start_server().await;
    let slow = add_fault(
        server.addr,
        rule(
            "GET",
            "/api/v1/**",
            json!({ "kind": "delay", "ms": 600 }),
            None,
        ),
    )
    .await;
    let (code, stdout, stderr) = active(&server).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    let body: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert!(body.is_object() || body.is_array(), "{body}");
    assert!(matched(server.addr, &slow).await >= 1);
}

// ---------------------------------------------------------------------------------------------
// The TUI in a pseudo-terminal

#[cfg(unix)]
mod tui {
    use super::*;

    use rexpect::process::{Signal, WaitStatus};
    use rexpect::session::{PtySession, spawn_command};

    /// The TUI signed in as Othello at `site`, in a 100×30 pseudo-terminal, and its home
    /// directory (to keep until it exits).
    fn spawn_tui(
        server: &common::TestServer,
        site: std::net::SocketAddr,
    ) -> (PtySession, tempfile::TempDir) {
        let home = tempfile::tempdir().unwrap();
        let credentials = server.credentials(OTHELLO);
        let mut command = std::process::Command::new("sh");
        // A fresh pseudo-terminal has no size; give it one, as a terminal emulator would.
        command.arg("-c").arg(format!(
            "stty cols 100 rows 30 && exec {} --no-browser --site http://{site} --email {} --api-key {}",
            env!("CARGO_BIN_EXE_zulip-calls"),
            credentials.email,
            credentials.api_key,
        ));
        command
            .env("HOME", home.path())
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("TERM", "xterm-256color")
            .env_remove("ZULIPRC")
            .env_remove("ZULIP_EMAIL")
            .env_remove("ZULIP_API_KEY")
            .env_remove("ZULIP_SITE");
        (spawn_command(command, Some(15_000)).unwrap(), home)
    }

    /// Waits for the TUI to end; returns what it wrote last, having checked it left the
    /// alternate screen and exited with 0.
    fn expect_clean_exit(session: &mut PtySession) -> String {
        let rest = session.exp_eof().unwrap();
        assert!(rest.contains("\u{1b}[?1049l"), "left the alternate screen");
        let status = session.process().wait().unwrap();
        assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
        rest
    }

    fn press(session: &mut PtySession, key: &str) {
        session.send(key).unwrap();
        session.flush().unwrap();
    }

    /// Faults on the way in and then on the connected event stream: the status bar goes to
    /// "reconnecting" and back to "connected" each time with no key pressed, and `q` quits.
    #[test]
    fn the_tui_recovers_from_event_faults_and_quits_cleanly() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(common::start_server());
        let addr = server.addr;
        runtime.block_on(async {
            add_fault(
                addr,
                rule(
                    "POST",
                    REGISTER,
                    json!({ "kind": "respond", "status": 503 }),
                    Some(1),
                ),
            )
            .await;
            add_fault(
                addr,
                rule("POST", REGISTER, json!({ "kind": "drop" }), Some(1)),
            )
            .await;
        });
        let (mut session, _home) = spawn_tui(&server, addr);
        // "connecting…" and "reconnecting in 1 s" differ in every cell, as do the latter and
        // "connected", so each is written whole.
        session.exp_string("reconnecting").unwrap();
        session.exp_string("connected").unwrap();

        let rules = runtime.block_on(async {
            let mut rules = Vec::new();
            for path in [WEBSOCKET, EVENTS] {
                for action in [
                    json!({ "kind": "respond", "status": 503 }),
                    json!({ "kind": "drop" }),
                ] {
                    rules.push(add_fault(addr, rule("GET", path, action, Some(1))).await);
                }
            }
            close_websockets(addr, server.user_id(OTHELLO).0).await;
            rules
        });
        session.exp_string("reconnecting").unwrap();
        session.exp_string("connected").unwrap();
        runtime.block_on(async {
            // The WebSocket's rules were met (the long-poll's only if it fell back).
            assert_eq!(matched(addr, &rules[0]).await, 1);
            assert_eq!(matched(addr, &rules[1]).await, 1);
        });

        // Still drawing and taking keys: the help overlay opens and closes.
        press(&mut session, "?");
        session.exp_string("close help").unwrap();
        press(&mut session, "?");
        press(&mut session, "q");
        expect_clean_exit(&mut session);
    }

    /// The server goes away while the TUI runs: it says it is reconnecting, and `q` still
    /// exits with 0 and gives the terminal back.
    #[test]
    fn the_tui_quits_cleanly_after_the_server_goes_away() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut server = runtime.block_on(common::start_server());
        let proxy = runtime.block_on(common::Proxy::start(server.addr));
        let (mut session, _home) = spawn_tui(&server, proxy.addr);
        session.exp_string("hamlet@zulip.com").unwrap();
        runtime.block_on(server.stop());
        proxy.go_down();
        session.exp_string("reconnecting").unwrap();
        press(&mut session, "q");
        expect_clean_exit(&mut session);
    }

    /// SIGTERM ends the TUI as `q` does: exit 0, the terminal restored.
    #[test]
    fn sigterm_restores_the_terminal() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(common::start_server());
        let (mut session, _home) = spawn_tui(&server, server.addr);
        session.exp_string("hamlet@zulip.com").unwrap();
        session.process_mut().signal(Signal::SIGTERM).unwrap();
        expect_clean_exit(&mut session);
    }
}

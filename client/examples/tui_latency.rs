//! How fast the terminal UI is where a person notices: time from start to the first frame, and
//! time from a teammate placing a call to the incoming-call modal on screen.
//!
//! Runs the real `zulip-calls` binary in a pseudo-terminal against a mock server started in
//! this process. Build both first, in the profile to measure:
//!
//! ```text
//! cargo build --release -p zulip-calls --bins --examples
//! target/release/examples/tui_latency [ROUNDS]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::session::{PtySession, spawn_command};
use zulip_calls::backend::api::{ApiClient, Credentials, ServerAddress};
use zulip_calls_mock::config::ServerConfig;
use zulip_calls_mock::{Clock, Server};
use zulip_calls_protocol::calls::{self, EndRequest, StartRequest};
use zulip_calls_protocol::{CallType, UserId};

const CALLER: &str = "hamlet@zulip.com";
const CALLEE: &str = "othello@zulip.com";

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(20, |n| n.parse().expect("ROUNDS is a number"));
    let binary = sibling_binary();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(Server::start(
        ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            db: ":memory:".into(),
            rate_limit_per_minute: 0,
            ..ServerConfig::default()
        },
        Clock::System,
    ));
    let server = server.unwrap();
    let (callee_id, callee_key, caller_key) = {
        let directory = server.state.directory();
        let callee = directory.user_by_email(CALLEE).unwrap();
        let caller = directory.user_by_email(CALLER).unwrap();
        (callee.id, callee.api_key.clone(), caller.api_key.clone())
    };

    let mut first_frames = Vec::new();
    for _ in 0..5 {
        let (elapsed, session) = start_ui(&binary, &server.url(), &callee_key);
        first_frames.push(elapsed);
        quit(session);
    }

    let (_, mut session) = start_ui(&binary, &server.url(), &callee_key);
    wait_until_listening(&server, callee_id);
    let caller = ApiClient::new(&Credentials {
        server: ServerAddress::parse(&server.url()).unwrap(),
        email: CALLER.to_owned(),
        api_key: caller_key,
    })
    .unwrap();
    let mut latencies = Vec::new();
    for _ in 0..rounds {
        let placed = Instant::now();
        let started = runtime
            .block_on(caller.request::<calls::Start>(
                &(),
                &StartRequest {
                    user_id: callee_id,
                    call_type: CallType::Video,
                },
            ))
            .unwrap();
        session.exp_string("calling").unwrap();
        latencies.push(placed.elapsed());
        runtime
            .block_on(caller.request::<calls::End>(
                &(),
                &EndRequest {
                    call_id: started.call_id,
                },
            ))
            .unwrap();
        settle(&mut session);
        // Dismiss the summary of the cancelled call.
        session.send("\x1b").unwrap();
        session.flush().unwrap();
        settle(&mut session);
    }
    quit(session);

    report("start to first frame", &mut first_frames);
    report("call placed to incoming modal drawn", &mut latencies);
}

/// The `zulip-calls` binary next to this example's directory (`target/<profile>/`).
fn sibling_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let binary = dir.join("zulip-calls");
    assert!(
        binary.exists(),
        "build the binary first: cargo build --release -p zulip-calls --bins --examples"
    );
    binary
}

/// Starts the UI as the callee; returns the time until its first frame and the session.
fn start_ui(binary: &std::path::Path, site: &str, key: &str) -> (Duration, PtySession) {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(binary);
    command
        .args([
            "--site",
            site,
            "--email",
            CALLEE,
            "--api-key",
            key,
            "--no-browser",
        ])
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("TERM", "xterm-256color")
        .env("COLUMNS", "100")
        .env("LINES", "30");
    let started = Instant::now();
    let mut session = spawn_command(command, Some(10_000)).unwrap();
    session.exp_string("Zulip Calls").unwrap();
    let elapsed = started.elapsed();
    // Keep the home directory (and its log file) for the session's life.
    std::mem::forget(home);
    (elapsed, session)
}

/// Waits until the UI's event queue exists on the server, so the first call is not missed.
fn wait_until_listening(server: &Server, user: UserId) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.state.queues.is_online(user) {
        assert!(Instant::now() < deadline, "the UI never registered a queue");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reads whatever the UI drew for a moment, so the next expectation sees only new output.
fn settle(session: &mut PtySession) {
    std::thread::sleep(Duration::from_millis(150));
    while session.try_read().is_some() {}
}

fn quit(mut session: PtySession) {
    session.send("q").unwrap();
    session.flush().unwrap();
    session.exp_eof().unwrap();
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        ms(samples[index])
    };
    println!(
        "{what}: n={} min {:.1} ms, p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        samples.len(),
        ms(samples[0]),
        pick(0.5),
        pick(0.9),
        ms(samples[samples.len() - 1]),
    );
}

//! The terminal UI's figures where a person notices them: time from start to the first frame,
//! time from a teammate placing a call to the incoming-call modal on screen, and the CPU time
//! and resident memory of an idle, signed-in UI.
//!
//! Runs the real `zulip-calls` binary in a pseudo-terminal against a mock server started in
//! this process, reading the terminal's output as it arrives (no polling interval skews the
//! figures). Build both first, in the profile to measure:
//!
//! ```text
//! cargo build --release -p zulip-calls --bins --examples
//! target/release/examples/tui_figures [ROUNDS] [IDLE_SECONDS]     # defaults: 20 rounds, 60 s
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rexpect::process::PtyProcess;
use zulip_calls::backend::api::{ApiClient, Credentials, ServerAddress};
use zulip_calls_mock::ServerConfig;
use zulip_calls_mock::{Clock, Server};
use zulip_calls_protocol::calls::{self, EndRequest, StartRequest};
use zulip_calls_protocol::{CallType, UserId};

const CALLER: &str = "hamlet@zulip.com";
const CALLEE: &str = "othello@zulip.com";
/// Linux's clock ticks per second in `/proc/PID/stat` (USER_HZ, 100 on every mainstream build).
const TICKS_PER_SECOND: f64 = 100.0;

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .map_or(20, |n| n.parse().expect("ROUNDS is a number"));
    let idle_seconds: u64 = args
        .next()
        .map_or(60, |n| n.parse().expect("IDLE_SECONDS is a number"));
    let binary = sibling_binary();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(Server::start(
            ServerConfig {
                bind: "127.0.0.1:0".parse().unwrap(),
                db: ":memory:".into(),
                rate_limit_per_minute: 0,
                ..ServerConfig::default()
            },
            Clock::System,
        ))
        .unwrap();
    let (callee_id, callee_key, caller_key) = {
        let directory = server.state.core.directory();
        let callee = directory.user_by_email(CALLEE).unwrap();
        let caller = directory.user_by_email(CALLER).unwrap();
        (callee.id, callee.api_key.clone(), caller.api_key.clone())
    };

    let mut first_frames = Vec::new();
    for _ in 0..5 {
        let (elapsed, terminal) = Terminal::start_ui(&binary, &server.url(), &callee_key);
        first_frames.push(elapsed);
        terminal.quit();
    }

    let (_, mut terminal) = Terminal::start_ui(&binary, &server.url(), &callee_key);
    wait_until_listening(&server, callee_id);
    let caller = ApiClient::new(&Credentials {
        server: ServerAddress::parse(&server.url()).unwrap(),
        email: CALLER.to_owned(),
        api_key: caller_key,
    })
    .unwrap();
    let mut latencies = Vec::new();
    for _ in 0..rounds {
        terminal.discard_output();
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
        terminal.expect("Incoming call");
        latencies.push(placed.elapsed());
        runtime
            .block_on(caller.request::<calls::End>(
                &(),
                &EndRequest {
                    call_id: started.call_id,
                },
            ))
            .unwrap();
        terminal.expect("cancelled");
        // Dismiss the summary of the cancelled call (the redraw is a diff with no word of its
        // own to wait for; the next round waits for the next modal, which comes after it).
        terminal.send("\x1b");
    }

    let idle = (idle_seconds > 0).then(|| {
        terminal.discard_output();
        let before = terminal.usage();
        let (tx, rx) = mpsc::channel::<()>();
        // Nothing happens for the whole interval: waiting on a channel nobody sends to is the
        // measurement itself, not a synchronisation.
        let _ = rx.recv_timeout(Duration::from_secs(idle_seconds));
        drop(tx);
        let after = terminal.usage();
        let bytes = terminal.discard_output();
        (before, after, bytes)
    });
    terminal.quit();

    report("start to first frame", &mut first_frames);
    report("call placed to incoming modal drawn", &mut latencies);
    if let Some((before, after, bytes)) = idle {
        let cpu = after.cpu_seconds - before.cpu_seconds;
        println!(
            "idle over {idle_seconds} s: CPU {cpu:.2} s ({:.3} %), {bytes} bytes drawn, \
             resident memory {:.1} MB (peak {:.1} MB)",
            cpu / idle_seconds as f64 * 100.0,
            after.rss_kb as f64 / 1024.0,
            after.peak_rss_kb as f64 / 1024.0,
        );
    }
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

/// Waits until the UI's event queue exists on the server, so the first call is not missed.
fn wait_until_listening(server: &Server, user: UserId) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.state.core.queues.is_online(user) {
        assert!(Instant::now() < deadline, "the UI never registered a queue");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What the kernel says the UI process has used so far.
struct Usage {
    cpu_seconds: f64,
    rss_kb: u64,
    peak_rss_kb: u64,
}

/// The UI in a pseudo-terminal, its output read by a thread as soon as it is written.
struct Terminal {
    process: PtyProcess,
    input: File,
    output: mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
    pid: u32,
    /// Holds the UI's home directory (and log file) for its life.
    _home: tempfile::TempDir,
}

impl Terminal {
    /// Starts the UI as the callee; returns the time until its first frame.
    fn start_ui(binary: &Path, site: &str, key: &str) -> (Duration, Terminal) {
        let home = tempfile::tempdir().unwrap();
        // A new pseudo-terminal has no size; `stty` gives it one before the UI starts, and
        // `echo $$` tells the UI's pid (exec keeps it). The shell adds about a millisecond.
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!(
                "echo \"pid=$$;\" && stty cols 100 rows 30 && exec {} --site {site} \
                 --email {CALLEE} --api-key {key} --no-browser",
                binary.display()
            ))
            .env("HOME", home.path())
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("TERM", "xterm-256color");
        let started = Instant::now();
        let process = PtyProcess::new(command).unwrap();
        let mut reader = process.get_file_handle().unwrap();
        let input = process.get_file_handle().unwrap();
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 16 * 1024];
            while let Ok(n @ 1..) = reader.read(&mut buffer) {
                // The ringer's bells land between the cells of a frame; they are not text.
                let text: Vec<u8> = buffer[..n].iter().copied().filter(|&b| b != 0x07).collect();
                if tx.send(text).is_err() {
                    break;
                }
            }
        });
        let mut terminal = Terminal {
            process,
            input,
            output,
            seen: Vec::new(),
            pid: 0,
            _home: home,
        };
        let pid_line = terminal.expect(";");
        terminal.pid = pid_line
            .rsplit("pid=")
            .next()
            .and_then(|rest| rest.trim_end_matches(';').trim().parse().ok())
            .expect("the shell printed its pid");
        terminal.expect("Zulip Calls");
        (started.elapsed(), terminal)
    }

    /// Waits for `needle` in the output; returns the output up to and including it.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(at) = find(&self.seen, needle.as_bytes()) {
                let end = at + needle.len();
                let upto: Vec<u8> = self.seen.drain(..end).collect();
                return String::from_utf8_lossy(&upto).into_owned();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(chunk) => self.seen.extend_from_slice(&chunk),
                Err(_) => panic!(
                    "{needle:?} not on screen within 10 s; last output: {:?}",
                    String::from_utf8_lossy(&self.seen)
                ),
            }
        }
    }

    /// Forgets what was drawn so far; returns how many bytes that was.
    fn discard_output(&mut self) -> usize {
        let mut bytes = self.seen.len();
        self.seen.clear();
        while let Ok(chunk) = self.output.try_recv() {
            bytes += chunk.len();
        }
        bytes
    }

    fn send(&mut self, text: &str) {
        self.input.write_all(text.as_bytes()).unwrap();
        self.input.flush().unwrap();
    }

    fn usage(&self) -> Usage {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap();
        // Fields after the command name (which is in parentheses and may hold spaces).
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let kb = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        Usage {
            cpu_seconds: ticks / TICKS_PER_SECOND,
            rss_kb: kb("VmRSS:"),
            peak_rss_kb: kb("VmHWM:"),
        }
    }

    fn quit(mut self) {
        self.send("q");
        let status = self.process.wait().unwrap();
        assert!(
            matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
            "{status:?}"
        );
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
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

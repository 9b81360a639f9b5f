//! The binary as a process: started with a clean environment, run to its end or read line by
//! line, for the suites that test it from outside (`cli`, `group_cli`).

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_zulip-calls");

/// The binary with a clean environment: no credentials from the caller's shell or home.
pub fn command(home: &Path) -> Command {
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
        "RUST_LOG",
    ] {
        command.env_remove(var);
    }
    command
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The last stdout line as JSON.
    pub fn json(&self) -> Value {
        let line = self
            .stdout
            .lines()
            .last()
            .unwrap_or_else(|| panic!("{self:?}"));
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// Runs `command` to its end (off the runtime, so an in-process server keeps serving).
pub async fn finish(mut command: Command) -> Run {
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The next line a process printed (see [`spawn_lines`]), as JSON.
pub async fn next_json(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(20), lines.recv())
        .await
        .expect("the process printed nothing")
        .expect("the process ended");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// Starts `command` with its stdout read line by line.
pub fn spawn_lines(
    mut command: Command,
) -> (
    std::process::Child,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, lines)
}

/// Waits for `child` to exit (off the runtime); its exit code.
pub async fn exit_code(mut child: std::process::Child) -> i32 {
    let status = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || child.wait().unwrap()),
    )
    .await
    .expect("the process did not exit")
    .unwrap();
    status.code().unwrap_or(-1)
}

//! The servers under measurement, each a child process: `zulip-calls-mock serve` with a
//! generated realm, and the bench's own floor server. What the kernel says about a child's
//! memory and CPU, and what the mock's `/metrics` says about the connections it holds.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use zulip_calls_protocol::Dialect;

use anyhow::{Context, bail};
use serde::Serialize;

/// Linux's clock ticks per second in `/proc/PID/stat` (USER_HZ: 100 on mainstream builds).
const TICKS_PER_SECOND: f64 = 100.0;

/// One generated user: `user{i}@bench.test`, id `i`.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: u64,
    pub email: String,
    pub key: String,
}

impl Account {
    pub fn numbered(i: u64) -> Account {
        Account {
            id: i,
            email: format!("user{i}@bench.test"),
            key: format!("benchApiKey{i:021}"),
        }
    }
}

/// A child server process, killed when dropped.
#[derive(Debug)]
pub struct ChildServer {
    child: Child,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl ChildServer {
    /// Starts the mock with `users` generated users, no rate limit, logging only warnings, on a
    /// free port with a throwaway SQLite file (WAL, as in production use).
    pub fn start_mock(binary: &Path, users: u64, dialect: Dialect) -> anyhow::Result<ChildServer> {
        let dir = tempfile::tempdir()?;
        let realm = dir.path().join("realm.toml");
        std::fs::write(&realm, realm_file(users))?;
        let config = dir.path().join("mock.toml");
        // A server of the clients' dialect alone, as in the field.
        let calls_api = match dialect {
            Dialect::Design => "design",
            Dialect::V1_1 => "1.1",
        };
        std::fs::write(
            &config,
            format!(
                "[server]\nrate_limit_per_minute = 0\nheartbeat_seconds = 60\n\n\
                 [settings]\nCALLS_API = \"{calls_api}\"\n"
            ),
        )?;
        let db = dir.path().join("bench.sqlite3");
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--realm")
            .arg(&realm)
            .arg("--db")
            .arg(&db)
            .args(["--bind", "127.0.0.1:0"])
            .env("RUST_LOG", "warn");
        let mut server = ChildServer::spawn(command, "zulip-calls-mock serve")?;
        server._dir = Some(dir);
        Ok(server)
    }

    /// Starts this bench binary's floor server.
    pub fn start_floor() -> anyhow::Result<ChildServer> {
        let me = std::env::current_exe()?;
        let mut command = Command::new(me);
        command.arg("--serve-floor");
        ChildServer::spawn(command, "the floor server")
    }

    /// Spawns `command` and reads its URL from the first `http://` word it prints.
    fn spawn(mut command: Command, what: &str) -> anyhow::Result<ChildServer> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {what}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let url = lines.by_ref().map_while(Result::ok).find_map(|line| {
                line.split_whitespace()
                    .find(|w| w.starts_with("http://"))
                    .map(str::to_owned)
            });
            let _ = tx.send(url);
            // Keep reading, so a chatty server never blocks on a full pipe.
            for _ in lines {}
        });
        // Warnings and errors go to this process's stderr, where a person running it sees them.
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut reader = BufReader::new(stderr);
            while reader.read_line(&mut text).is_ok_and(|n| n > 0) {
                eprint!("[server] {text}");
                text.clear();
            }
        });
        let mut server = ChildServer {
            child,
            url: String::new(),
            _dir: None,
        };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(url)) => server.url = url,
            _ => {
                let status = server.child.try_wait()?;
                bail!("{what} did not print its URL (exit status {status:?})");
            }
        }
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Memory and CPU time the process has used so far.
    pub fn usage(&self) -> anyhow::Result<Usage> {
        Usage::of(self.pid())
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A realm file with users 1..=n in one realm.
fn realm_file(n: u64) -> String {
    let mut realm = String::from("[[realm]]\nname = \"Bench\"\nurl = \"http://localhost:9991\"\n");
    for i in 1..=n {
        let a = Account::numbered(i);
        realm.push_str(&format!(
            "[[realm.user]]\nid = {}\nemail = \"{}\"\nfull_name = \"User {i}\"\napi_key = \"{}\"\n",
            a.id, a.email, a.key
        ));
    }
    realm
}

/// A process's resident memory and CPU time, from `/proc`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Usage {
    pub rss_mb: f64,
    pub peak_rss_mb: f64,
    pub cpu_seconds: f64,
}

impl Usage {
    pub fn of(pid: u32) -> anyhow::Result<Usage> {
        let stat = read(&format!("/proc/{pid}/stat"))?;
        // The fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .context("odd /proc stat")?
            .1
            .split_whitespace()
            .collect();
        let tick = |i: usize| -> anyhow::Result<f64> {
            Ok(fields.get(i).context("short /proc stat")?.parse::<f64>()?)
        };
        // utime and stime: fields 14 and 15 of the whole line.
        let cpu_seconds = (tick(11)? + tick(12)?) / TICKS_PER_SECOND;
        let status = read(&format!("/proc/{pid}/status"))?;
        let kb = |key: &str| -> f64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Ok(Usage {
            rss_mb: kb("VmRSS:") / 1024.0,
            peak_rss_mb: kb("VmHWM:") / 1024.0,
            cpu_seconds,
        })
    }

    /// This process.
    pub fn own() -> anyhow::Result<Usage> {
        Usage::of(std::process::id())
    }
}

fn read(path: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .with_context(|| format!("cannot read {path} (the bench measures on Linux)"))?
        .read_to_string(&mut text)?;
    Ok(text)
}

/// What the mock's `/metrics` says it holds right now.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Held {
    pub event_queues: u64,
    pub websocket_connections: u64,
    pub long_polls: u64,
}

impl Held {
    /// Reads `/metrics` until the server holds at least `wanted` (a connection the client
    /// sees as open may not be counted by the server yet), or `patience` has passed; returns
    /// the last reading.
    pub async fn settle(
        http: &reqwest::Client,
        url: &str,
        wanted: Held,
        patience: Duration,
    ) -> anyhow::Result<Held> {
        let give_up = std::time::Instant::now() + patience;
        loop {
            let held = Held::scrape(http, url).await?;
            let there = held.event_queues >= wanted.event_queues
                && held.websocket_connections >= wanted.websocket_connections
                && held.long_polls >= wanted.long_polls;
            if there || std::time::Instant::now() >= give_up {
                return Ok(held);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn scrape(http: &reqwest::Client, url: &str) -> anyhow::Result<Held> {
        let text = http
            .get(format!("{url}/metrics"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let value = |name: &str| -> u64 {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .find_map(|l| {
                    let (metric, v) = l.split_once(' ')?;
                    (metric == name).then(|| v.trim().parse::<f64>().ok())?
                })
                .map_or(0, |v| v as u64)
        };
        Ok(Held {
            event_queues: value("zulip_calls_mock_event_queues"),
            websocket_connections: value("zulip_calls_mock_websocket_connections"),
            long_polls: value("zulip_calls_mock_long_polls"),
        })
    }
}

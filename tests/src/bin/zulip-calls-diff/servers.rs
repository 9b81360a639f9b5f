//! The two servers: each one's URL, users and HTTP client, and the child processes the tool
//! starts itself (the plugin's code through the realplugin harness's `run.sh`, the mock as
//! `zulip-calls-mock serve`).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use zulip_calls_e2e::plugin_users::{self, PluginUser};

/// One server under comparison.
#[derive(Debug)]
pub struct Server {
    /// `A` or `B`.
    pub name: &'static str,
    /// What it is, for the report (`the plugin's code (started here)`, ...).
    pub what: String,
    pub url: String,
    pub users: Vec<PluginUser>,
    /// It has the mock's `POST /mock/v1/reset`.
    pub resettable: bool,
    /// The tool started it for this run.
    pub fresh: bool,
    http: reqwest::Client,
}

/// An answer: the status and the body (JSON, or a string standing for a body that is not).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Server {
    pub fn new(name: &'static str, what: String, url: &str, users: Vec<PluginUser>) -> Self {
        Server {
            name,
            what,
            url: url.trim_end_matches('/').to_owned(),
            users,
            resettable: false,
            fresh: false,
            http: http_client(),
        }
    }

    /// The user with this email.
    pub fn user(&self, email: &str) -> Option<&PluginUser> {
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    /// Sends a calls or Zulip API request (`path` under `/api/v1/`) as `user`.
    pub async fn api(
        &self,
        user: &PluginUser,
        api_key: &str,
        method: &str,
        path: &str,
        params: &[(String, String)],
    ) -> anyhow::Result<Answer> {
        let url = format!("{}/api/v1/{path}", self.url);
        let request = match method {
            "GET" => self.http.get(&url).query(params),
            "DELETE" => self.http.delete(&url).query(params),
            _ => self.http.post(&url).form(params),
        };
        let response = request
            .basic_auth(&user.email, Some(api_key))
            .send()
            .await
            .with_context(|| format!("{} {method} {path}", self.name))?;
        answer(response).await
    }

    /// A control request (`/mock/v1/...`, `/harness/...`): no credentials.
    pub async fn control(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.url);
        let request = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self.http.post(&url),
        };
        let response = request
            .query(query)
            .send()
            .await
            .with_context(|| format!("{} {method} {path}", self.name))?;
        answer(response).await
    }

    /// Back to a fresh state, where the server can do that (a mock); false where it cannot.
    pub async fn reset(&self) -> anyhow::Result<bool> {
        let answer = self.control("POST", "/mock/v1/reset", &[]).await?;
        Ok(answer.status == 200 && answer.body["result"] == "success")
    }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

async fn answer(response: reqwest::Response) -> anyhow::Result<Answer> {
    let status = response.status().as_u16();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or_else(|_| {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('<'))
            .or_else(|| text.lines().find(|l| l.contains("<title>")))
            .unwrap_or("");
        let first: String = first.chars().take(80).collect();
        Value::String(format!("(not JSON) {first}"))
    });
    Ok(Answer { status, body })
}

/// The users of a server: from `file`, else from its control API (a mock).
pub async fn users_of(url: &str, file: Option<&Path>) -> anyhow::Result<Vec<PluginUser>> {
    if let Some(file) = file {
        return plugin_users::read_users(file);
    }
    let listing: Value = http_client()
        .get(format!("{}/mock/v1/users", url.trim_end_matches('/')))
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?
        .json()
        .await
        .with_context(|| {
            format!("{url} has no mock control API to list its users: name a users file")
        })?;
    plugin_users::from_mock_listing(&listing)
}

/// The realm names of a plugin server, from its `server_settings` for each realm's host.
pub async fn realm_names(url: &str, users: &[PluginUser]) -> Vec<(String, String)> {
    let http = http_client();
    let mut names = Vec::new();
    for (i, (realm, _)) in plugin_users::realms(users).into_iter().enumerate() {
        let host = realm.split_once("://").map_or(realm.as_str(), |(_, h)| h);
        let name = async {
            let settings: Value = http
                .get(format!(
                    "{}/api/v1/server_settings",
                    url.trim_end_matches('/')
                ))
                .header(reqwest::header::HOST, host.trim_end_matches('/'))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            settings["realm_name"].as_str().map(str::to_owned)
        }
        .await;
        names.push((realm, name.unwrap_or_else(|| format!("Realm {}", i + 1))));
    }
    names
}

/// A child process, stopped when dropped. A plugin server is a process group (`run.sh` and
/// its Python), stopped with SIGTERM so that `run.sh` removes its database.
#[derive(Debug)]
pub struct ChildServer {
    child: Child,
    group: bool,
    pub url: String,
    /// The log of a plugin server (its stderr), shown when it fails to start.
    log: Option<PathBuf>,
}

impl ChildServer {
    /// Starts the plugin's code on a free port with `run.sh` of `harness_dir`, writing its
    /// users to `users_json`.
    pub fn start_plugin(
        harness_dir: &Path,
        upstream: &Path,
        work: &Path,
        users_json: &Path,
    ) -> anyhow::Result<ChildServer> {
        let port = free_port()?;
        let log = work.join("plugin.log");
        let stderr = std::fs::File::create(&log)?;
        let mut command = Command::new(harness_dir.join("run.sh"));
        command
            .arg(port.to_string())
            .env("REALPLUGIN_UPSTREAM", upstream)
            .env("REALPLUGIN_USERS_JSON", users_json)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .process_group(0);
        let mut server =
            ChildServer::spawn(command, true, "the plugin's code (run.sh)", Some(log))?;
        // It prints its URL just before it binds: wait for the port, and for its users.
        let address = format!("127.0.0.1:{port}");
        let give_up = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&address).is_err() || !users_json.exists() {
            if Instant::now() > give_up || server.child.try_wait()?.is_some() {
                bail!("the plugin's code did not start{}", server.log_tail());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        server.url = format!("http://{address}");
        Ok(server)
    }

    /// Starts `zulip-calls-mock serve` with the realm file `realm`, no rate limit, an in-memory
    /// database, in `compat` mode, with `env` added to its environment.
    pub fn start_mock(
        binary: &Path,
        work: &Path,
        realm: &str,
        compat: &str,
        env: &[(String, String)],
    ) -> anyhow::Result<ChildServer> {
        let realm_file = work.join("realm.toml");
        std::fs::write(&realm_file, realm)?;
        let config = work.join("mock.toml");
        std::fs::write(&config, "[server]\nrate_limit_per_minute = 0\n")?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--realm")
            .arg(&realm_file)
            .args([
                "--db",
                ":memory:",
                "--bind",
                "127.0.0.1:0",
                "--compat",
                compat,
            ])
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        ChildServer::spawn(command, false, "zulip-calls-mock serve", None)
    }

    /// Spawns `command` and reads its URL from the first `http://` word it prints.
    fn spawn(
        mut command: Command,
        group: bool,
        what: &str,
        log: Option<PathBuf>,
    ) -> anyhow::Result<ChildServer> {
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {what}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        if let Some(stderr) = child.stderr.take() {
            // The mock's warnings and errors, where the person running the tool sees them.
            std::thread::spawn(move || {
                let mut text = String::new();
                let mut reader = BufReader::new(stderr);
                while reader.read_line(&mut text).is_ok_and(|n| n > 0) {
                    eprint!("[mock] {text}");
                    text.clear();
                }
            });
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let url = lines.by_ref().map_while(Result::ok).find_map(|line| {
                line.split_whitespace()
                    .find(|w| w.starts_with("http://"))
                    .map(str::to_owned)
            });
            let _ = tx.send(url);
            for _ in lines {}
        });
        let mut server = ChildServer {
            child,
            group,
            url: String::new(),
            log,
        };
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Some(url)) => server.url = url,
            _ => bail!("{what} did not print its URL{}", server.log_tail()),
        }
        Ok(server)
    }

    fn log_tail(&self) -> String {
        let Some(log) = &self.log else {
            return String::new();
        };
        let mut text = String::new();
        if std::fs::File::open(log)
            .and_then(|mut f| f.read_to_string(&mut text))
            .is_err()
        {
            return String::new();
        }
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        if tail.is_empty() {
            String::new()
        } else {
            format!(":\n{tail}")
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if self.group {
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let give_up = Instant::now() + Duration::from_secs(5);
            while Instant::now() < give_up {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

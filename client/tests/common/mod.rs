//! The integration-test harness: a real mock server on port 0 over a temporary SQLite file,
//! and API clients signed in as its demo users.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod process;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

use zulip_calls::backend::api::{ApiClient, Credentials, ServerAddress};
use zulip_calls_mock::ServerConfig;
use zulip_calls_mock::{Clock, Server};
use zulip_calls_protocol::UserId;

/// The kinds of server the parameterised suites run against: the mock in each `CALLS_API`
/// mode, and in the 1.1 mode as the released plugin's own 1.1.0 code behaves
/// (`CALLS_COMPAT=plugin-1.1.0`, `plugin-1.1-dialect.md` §9), which is what deployments run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The design dialect only.
    Design,
    /// The 1.1 dialect only, as the contract has it.
    V1_1,
    /// Both dialects.
    Both,
    /// The 1.1 dialect as deployed: the plugin 1.1.0's behaviour, bugs included.
    Plugin1_1_0,
}

impl Mode {
    /// Every mode, in the order the suites name them.
    pub const ALL: [Mode; 4] = [Mode::Design, Mode::V1_1, Mode::Both, Mode::Plugin1_1_0];

    /// The server's settings in this mode (everything else at its default).
    pub fn settings(self) -> zulip_calls_protocol::settings::Settings {
        use zulip_calls_protocol::{CallsApi, Compat};
        let (calls_api, calls_compat) = match self {
            Mode::Design => (CallsApi::Design, Compat::Contract),
            Mode::V1_1 => (CallsApi::V1_1, Compat::Contract),
            Mode::Both => (CallsApi::Both, Compat::Contract),
            Mode::Plugin1_1_0 => (CallsApi::V1_1, Compat::Plugin1_1_0),
        };
        zulip_calls_protocol::settings::Settings {
            calls_api,
            calls_compat,
            ..zulip_calls_protocol::settings::Settings::default()
        }
    }

    /// The dialect a client detects on such a server (the design one where both are spoken).
    pub fn dialect(self) -> zulip_calls_protocol::Dialect {
        self.settings()
            .calls_api
            .only()
            .unwrap_or(zulip_calls_protocol::Dialect::Design)
    }

    /// The server behaves as deployed plugins do (§9) rather than as the contract says.
    pub fn is_deployed_plugin(self) -> bool {
        self == Mode::Plugin1_1_0
    }
}

/// A running mock server. Its database outlives restarts (see [`TestServer::restart`]).
pub struct TestServer {
    /// `None` only while restarting.
    pub server: Option<Server>,
    pub addr: SocketAddr,
    pub db: PathBuf,
    /// What it was started with, and is started again with.
    pub settings: zulip_calls_protocol::settings::Settings,
    pub virtual_clock: bool,
    _dir: tempfile::TempDir,
}

/// Starts a server on a free port, with a 1 s heartbeat and no rate limit.
pub async fn start_server() -> TestServer {
    start_server_with(zulip_calls_protocol::settings::Settings::default()).await
}

/// [`start_server`] with these plugin settings (short timeouts, say).
pub async fn start_server_with(settings: zulip_calls_protocol::settings::Settings) -> TestServer {
    start_server_on(settings, false).await
}

/// A server speaking `calls_api` (and otherwise like [`start_server`]).
pub async fn start_server_speaking(calls_api: zulip_calls_protocol::CallsApi) -> TestServer {
    start_server_with(zulip_calls_protocol::settings::Settings {
        calls_api,
        ..zulip_calls_protocol::settings::Settings::default()
    })
    .await
}

/// A server in `mode` (and otherwise like [`start_server`]).
pub async fn start_server_in(mode: Mode) -> TestServer {
    start_server_with(mode.settings()).await
}

/// [`start_server_with`], on a virtual clock (moved with [`TestServer::advance`]) when
/// `virtual_clock`.
pub async fn start_server_on(
    settings: zulip_calls_protocol::settings::Settings,
    virtual_clock: bool,
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mock.sqlite3");
    let server = start_configured(
        "127.0.0.1:0".parse().unwrap(),
        &db,
        settings.clone(),
        virtual_clock,
    )
    .await;
    TestServer {
        addr: server.addr,
        server: Some(server),
        db,
        settings,
        virtual_clock,
        _dir: dir,
    }
}

async fn start_configured(
    bind: SocketAddr,
    db: &std::path::Path,
    settings: zulip_calls_protocol::settings::Settings,
    virtual_clock: bool,
) -> Server {
    let config = ServerConfig {
        bind,
        db: db.display().to_string(),
        settings,
        heartbeat_seconds: 1,
        rate_limit_per_minute: 0,
        virtual_clock,
        ..ServerConfig::default()
    };
    Server::start(config, Clock::System).await.unwrap()
}

impl TestServer {
    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("the server is not running")
    }

    pub fn address(&self) -> ServerAddress {
        ServerAddress::parse(&format!("http://{}", self.addr)).unwrap()
    }

    /// A demo user's credentials, from the directory the server loaded.
    pub fn credentials(&self, email: &str) -> Credentials {
        self.credentials_at(email, self.addr)
    }

    /// A demo user's credentials for reaching the server at `addr` (a [`Proxy`]).
    pub fn credentials_at(&self, email: &str, addr: SocketAddr) -> Credentials {
        let directory = self.server().state.core.directory();
        let user = directory.user_by_email(email).unwrap();
        Credentials {
            server: ServerAddress::parse(&format!("http://{addr}")).unwrap(),
            email: user.email.clone(),
            api_key: user.api_key.clone(),
        }
    }

    /// An API client signed in as the demo user `email`.
    pub fn api(&self, email: &str) -> ApiClient {
        ApiClient::new(&self.credentials(email)).unwrap()
    }

    /// An API client signed in as `email` that goes through `proxy`.
    pub fn api_via(&self, email: &str, proxy: &Proxy) -> ApiClient {
        ApiClient::new(&self.credentials_at(email, proxy.addr)).unwrap()
    }

    pub fn user_id(&self, email: &str) -> UserId {
        self.server()
            .state
            .core
            .directory()
            .user_by_email(email)
            .unwrap()
            .id
    }

    /// What makes a deployed plugin's deadlines fire: its `create` runs the cleanup before
    /// anything else (a server of the contract fires them on time, so this changes nothing
    /// there). Sent by Iago as a call to himself, which is then refused.
    pub async fn run_the_plugins_cleanup(&self) {
        let iago = self.credentials("iago@zulip.com");
        let id = self.user_id("iago@zulip.com");
        let status = reqwest::Client::new()
            .post(format!("http://{}/api/v1/calls/create", self.addr))
            .basic_auth(&iago.email, Some(&iago.api_key))
            .form(&[("user_id", id.0.to_string())])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 400, "a call to oneself");
    }

    /// Stops the server (its in-memory event queues die with it).
    pub async fn stop(&mut self) {
        let server = self.server.take().expect("the server is not running");
        server.shutdown().await;
    }

    /// Starts the server again on the same address, database and settings.
    pub async fn start_again(&mut self) {
        assert!(self.server.is_none(), "the server is running");
        let server = start_configured(
            self.addr,
            &self.db,
            self.settings.clone(),
            self.virtual_clock,
        )
        .await;
        self.server = Some(server);
    }

    /// Moves the virtual clock (every deadline passed fires before this returns).
    pub async fn advance(&self, seconds: u64) {
        control::advance(self.addr, seconds).await;
    }
}

/// The mock's control API (`/mock/v1/...`), for tests that wait for what they mean.
pub mod control {
    use std::net::SocketAddr;

    use serde_json::{Value, json};

    fn url(addr: SocketAddr, path: &str) -> String {
        format!("http://{addr}/mock/v1/{path}")
    }

    /// Moves a virtual clock by `seconds`.
    pub async fn advance(addr: SocketAddr, seconds: u64) {
        let response = reqwest::Client::new()
            .post(url(addr, "clock/advance"))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }

    /// The id of the newest journaled request (0 when there is none).
    pub async fn latest_request(addr: SocketAddr) -> u64 {
        let body: Value = reqwest::Client::new()
            .get(url(addr, "journal"))
            .query(&[("limit", "1")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["requests"]
            .as_array()
            .and_then(|requests| requests.last())
            .and_then(|request| request["id"].as_u64())
            .unwrap_or(0)
    }

    /// Waits (up to 20 s of wall time) for a heartbeat of `call_id` from `email` journaled
    /// after request `since_id`; its journal entry.
    pub async fn heartbeat_after(
        addr: SocketAddr,
        email: &str,
        call_id: &str,
        since_id: u64,
    ) -> Value {
        let condition = json!({
            "kind": "request",
            "method": "POST",
            "path": "/api/v1/calls/heartbeat",
            "user": email,
            "params": {"call_id": call_id},
            "since_id": since_id,
        });
        let response = reqwest::Client::new()
            .post(url(addr, "wait-for"))
            .json(&json!({ "condition": condition, "timeout_seconds": 20 }))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "no heartbeat from {email}: {body}");
        body["matched"].clone()
    }

    /// The call's state as the server has it.
    pub async fn call_state(addr: SocketAddr, call_id: &str) -> String {
        let body: Value = reqwest::Client::new()
            .get(url(addr, &format!("calls/{call_id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["call"]["state"]
            .as_str()
            .unwrap_or_else(|| panic!("no call {call_id}: {body}"))
            .to_owned()
    }
}

/// A TCP proxy in front of a server, whose connections can be cut as a dying server process
/// would cut them. (The mock server's `shutdown` lets upgraded WebSocket connections run on,
/// so a restart alone is invisible to a WebSocket client.)
pub struct Proxy {
    pub addr: SocketAddr,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    /// While set, new connections are closed at once (the network is down).
    down: Arc<AtomicBool>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Forwards every connection to `upstream`; while nothing listens there, connections are
    /// accepted and closed at once.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        Proxy::spawn(upstream, false).await
    }

    /// [`Proxy::start`], but answers WebSocket upgrade requests with Zulip's JSON 404, as a
    /// server without the event WebSocket (or a proxy that drops upgrades) would.
    pub async fn without_websocket(upstream: SocketAddr) -> Proxy {
        Proxy::spawn(upstream, true).await
    }

    async fn spawn(upstream: SocketAddr, refuse_websocket: bool) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let down = Arc::new(AtomicBool::new(false));
        let live = Arc::clone(&connections);
        let is_down = Arc::clone(&down);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if is_down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let task = tokio::spawn(forward(client, upstream, refuse_websocket));
                let mut live = live.lock().unwrap();
                live.retain(|handle| !handle.is_finished());
                live.push(task.abort_handle());
            }
        });
        Proxy {
            addr,
            connections,
            down,
            accept,
        }
    }

    /// Closes every open connection and refuses new ones until [`Proxy::restore`].
    pub fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cut();
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    /// Closes every open connection.
    pub fn cut(&self) {
        for handle in self.connections.lock().unwrap().drain(..) {
            handle.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn forward(mut client: TcpStream, upstream: SocketAddr, refuse_websocket: bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The request head, as far as it has arrived: enough to spot an upgrade.
    let mut head = vec![0u8; 16 * 1024];
    let Ok(read) = client.read(&mut head).await else {
        return;
    };
    head.truncate(read);
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    if refuse_websocket && text.contains("upgrade: websocket") {
        let body = r#"{"result":"error","msg":"Not Found","code":"NOT_FOUND"}"#;
        let response = format!(
            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = client.write_all(response.as_bytes()).await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    if server.write_all(&head).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}

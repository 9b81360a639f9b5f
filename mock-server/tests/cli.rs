//! The binary as a process: its commands, what they print, and how they exit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_zulip-calls-mock");

/// Runs the binary to completion.
fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A `serve` process, its URL read from the first line it prints.
struct ServeProcess {
    child: Child,
    url: String,
    /// With TLS, the banner's fingerprint and the CA file it names.
    tls: Option<(String, String)>,
    /// The rest of stdout and all of stderr, read on threads so a full pipe never blocks it.
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

impl ServeProcess {
    fn start(args: &[&str]) -> ServeProcess {
        ServeProcess::start_reading(args, None).0
    }

    /// Starts `serve` and reads its stdout up to the line starting with `until` (when given),
    /// which it returns.
    fn start_reading(args: &[&str], until: Option<&str>) -> (ServeProcess, Option<String>) {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(args)
            .env("RUST_LOG", "zulip_calls_mock=info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = drain(child.stderr.take().unwrap());
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let Some(url) = first
            .strip_prefix("zulip-calls-mock serving ")
            .and_then(|rest| rest.split_whitespace().next())
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve did not start: {first:?}\n{}", stderr.join().unwrap());
        };
        let tls = url.starts_with("https://").then(|| {
            let mut line = || {
                let mut text = String::new();
                out.read_line(&mut text).unwrap();
                text.trim_end().to_owned()
            };
            let fingerprint = line();
            let trust = line();
            let fingerprint = fingerprint
                .strip_prefix("TLS certificate SHA-256 fingerprint: ")
                .unwrap_or_else(|| panic!("{fingerprint}"))
                .to_owned();
            let ca = trust
                .strip_prefix("Clients trust it with cert_bundle=")
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_else(|| panic!("{trust}"))
                .to_owned();
            (fingerprint, ca)
        });
        let url = url.to_owned();
        let mut found = None;
        if let Some(prefix) = until {
            let mut line = String::new();
            while out.read_line(&mut line).unwrap() > 0 {
                if line.starts_with(prefix) {
                    found = Some(line.trim_end().to_owned());
                    break;
                }
                line.clear();
            }
        }
        let process = ServeProcess {
            url,
            tls,
            stdout: Some(drain(out)),
            stderr: Some(stderr),
            child,
        };
        (process, found)
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit (at most `limit`), then returns the status and the remaining output.
    fn wait(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "serve did not exit within {limit:?}\n{}",
                    self.stderr.take().unwrap().join().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = self.stdout.take().unwrap().join().unwrap();
        let err = self.stderr.take().unwrap().join().unwrap();
        (status, out, err)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        // A failed test must not leave the server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn endpoints_json_lists_every_route_of_the_contract() {
    let output = run(&["endpoints", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let expected: Vec<_> = zulip_calls_protocol::endpoint::all_endpoints().collect();
    assert_eq!(rows.len(), expected.len());
    let start = rows.iter().find(|r| r["name"] == "calls.start").unwrap();
    assert_eq!(start["method"], "POST");
    assert_eq!(start["path"], "/api/v1/calls/start");
    assert_eq!(start["auth"], true);
    let settings = rows
        .iter()
        .find(|r| r["name"] == "zulip.server_settings")
        .unwrap();
    assert_eq!(settings["auth"], false);
}

/// `openapi` prints the document `GET /openapi.json` serves: every contract route and the
/// control API.
#[test]
fn openapi_prints_the_document_of_every_route() {
    let output = run(&["openapi"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for endpoint in zulip_calls_protocol::endpoint::all_endpoints() {
        let path = format!("/api/v1/{}", endpoint.path);
        let method = endpoint.method.as_str().to_ascii_lowercase();
        assert!(doc["paths"][&path][&method].is_object(), "{method} {path}");
    }
    assert!(doc["paths"]["/mock/v1/reset"]["post"].is_object());
}

#[test]
fn unknown_subcommands_fail_with_usage() {
    let output = run(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Usage"));
}

#[test]
fn users_json_lists_the_demo_users_with_credentials() {
    let output = run(&["users", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let users: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(users.len(), 16);
    let iago = users
        .iter()
        .find(|u| u["email"] == "iago@zulip.com")
        .unwrap();
    assert_eq!(iago["id"], 5);
    assert_eq!(iago["admin"], true);
    assert_eq!(iago["api_key"], "iagoDemoApiKeyxxxxxxxxxxxxxxx005");
    assert_eq!(iago["password"], "opensesame");
    assert_eq!(iago["realm"], "Zulip Dev");
    let desdemona = users
        .iter()
        .find(|u| u["email"] == "desdemona@zulip.com")
        .unwrap();
    assert_eq!(desdemona["active"], false);

    // The table has the same users.
    let output = run(&["users"]);
    assert!(output.status.success());
    let table = stdout(&output);
    assert_eq!(table.lines().count(), 17, "{table}");
    assert!(
        table.contains("hamletDemoApiKeyxxxxxxxxxxxxx010"),
        "{table}"
    );
}

#[test]
fn zuliprc_prints_a_ready_file() {
    let output = run(&["zuliprc", "hamlet@zulip.com"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "[api]\nemail=hamlet@zulip.com\nkey=hamletDemoApiKeyxxxxxxxxxxxxx010\nsite=http://127.0.0.1:9991\n"
    );

    let output = run(&[
        "zuliprc",
        "Othello@Zulip.com",
        "--site",
        "http://127.0.0.1:4000/",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("email=othello@zulip.com\n"), "{text}");
    assert!(text.ends_with("site=http://127.0.0.1:4000\n"), "{text}");
}

#[test]
fn zuliprc_for_an_unknown_email_fails_clearly() {
    let output = run(&["zuliprc", "nobody@zulip.com"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        stderr(&output),
        "error: no user with email \"nobody@zulip.com\" in the demo realm \
         (`zulip-calls-mock users` lists them)\n"
    );
}

#[test]
fn an_invalid_config_file_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mock.toml");
    std::fs::write(&path, "[settings]\nCALL_RING_TIMEOUT = 0\n").unwrap();
    let output = run(&[
        "serve",
        "--config",
        path.to_str().unwrap(),
        "--db",
        ":memory:",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("settings.CALL_RING_TIMEOUT"), "{err}");
    assert!(output.stdout.is_empty());

    // A bad realm file is a configuration error too.
    let realm = dir.path().join("realms.toml");
    std::fs::write(&realm, "[[realm]]\nname = \"R\"\n").unwrap();
    let output = run(&[
        "serve",
        "--realm",
        realm.to_str().unwrap(),
        "--db",
        ":memory:",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("realms.toml"));
}

#[test]
fn cleanup_calls_without_a_server_is_one_line_and_exit_1() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let output = run(&["cleanup-calls", "--site", &site]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("error: cannot reach the server at {site}: ")),
        "{err}"
    );
}

fn temp_db(dir: &Path) -> String {
    dir.join("mock.sqlite3").display().to_string()
}

#[tokio::test]
async fn serve_then_cleanup_calls_then_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start(&["--bind", "127.0.0.1:0", "--db", &temp_db(dir.path())]);
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );

    // A fresh unanswered call, under a request id of our choosing.
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/api/v1/calls/start", server.url))
        .basic_auth("hamlet@zulip.com", Some("hamletDemoApiKeyxxxxxxxxxxxxx010"))
        .header("x-request-id", "cli-test-start-call")
        .form(&[("user_id", "6")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "cli-test-start-call");
    let started: serde_json::Value = response.json().await.unwrap();
    let call_id = started["call_id"].as_str().unwrap().to_owned();

    // Not old enough for the default five minutes...
    let output = run(&["cleanup-calls", "--site", &server.url]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "Timed out 0 calls, deleted 0 old calls (0 cleaned)\n"
    );
    // ... but it is for zero minutes.
    let output = run(&[
        "cleanup-calls",
        "--site",
        &server.url,
        "--timeout-minutes",
        "0",
        "--cleanup-old-calls",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "Timed out 1 call, deleted 0 old calls (1 cleaned)\n"
    );
    let call: serde_json::Value = http
        .get(format!("{}/api/v1/calls/{call_id}", server.url))
        .basic_auth("hamlet@zulip.com", Some("hamletDemoApiKeyxxxxxxxxxxxxx010"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(call["call"]["state"], "timeout", "{call}");
    assert_eq!(call["call"]["end_reason"], "cleanup", "{call}");

    // A member is refused with the server's message.
    let output = run(&[
        "cleanup-calls",
        "--site",
        &server.url,
        "--email",
        "hamlet@zulip.com",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("Must be an organization administrator"),
        "{err}"
    );

    server.signal("TERM");
    let (status, out, err) = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(out.contains("SIGTERM"), "{out}");
    assert!(out.ends_with("stopped\n"), "{out}");
    // Every log line of a request carries its id.
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("request_id=cli-test-start-call"))
        .collect();
    assert!(lines.iter().any(|l| l.contains("call created")), "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("request finished") && l.contains("status=200")),
        "{err}"
    );
}

#[test]
fn serve_prints_how_to_log_in_and_stops_on_sigint() {
    let server = ServeProcess::start(&["--bind", "127.0.0.1:0", "--db", ":memory:"]);
    let url = server.url.clone();
    server.signal("INT");
    let (status, out, err) = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        out.contains("as one of these users (password \"opensesame\"):"),
        "{out}"
    );
    assert!(out.contains("iago@zulip.com (admin)"), "{out}");
    assert!(
        out.contains(&format!(
            "zulip-calls-mock zuliprc zoe@zulip.com --site {url} > zuliprc"
        )),
        "{out}"
    );
    assert!(out.contains("SIGINT"), "{out}");
    // Loopback: no warning.
    assert!(!err.contains("warning"), "{err}");
}

/// A client that trusts only the certificates in the PEM file `bundle`.
fn trusting(bundle: &str) -> reqwest::Client {
    let pem = std::fs::read(bundle).unwrap();
    let mut builder = reqwest::Client::builder();
    for cert in reqwest::Certificate::from_pem_bundle(&pem).unwrap() {
        builder = builder.add_root_certificate(cert);
    }
    builder.build().unwrap()
}

/// Whether `client` gets the server settings over HTTPS.
async fn reachable(client: &reqwest::Client, url: &str) -> bool {
    match client
        .get(format!("{url}/api/v1/server_settings"))
        .send()
        .await
    {
        Ok(response) => response.status() == 200,
        Err(_) => false,
    }
}

#[tokio::test]
async fn tls_generates_its_certificate_on_first_start_and_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = temp_db(dir.path());
    let args = ["--bind", "127.0.0.1:0", "--db", &db, "--tls"];
    let server = ServeProcess::start(&args);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let (fingerprint, ca) = server.tls.clone().unwrap();
    assert_eq!(Path::new(&ca), dir.path().join("tls").join("ca.pem"));
    assert!(reachable(&trusting(&ca), &server.url).await);
    // Nobody else trusts it.
    assert!(!reachable(&reqwest::Client::new(), &server.url).await);
    server.signal("TERM");
    let (status, out, err) = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        out.contains(&format!("--cert-bundle {ca} > zuliprc")),
        "{out}"
    );

    let ca_before = std::fs::read(&ca).unwrap();
    let again = ServeProcess::start(&args);
    assert_eq!(again.tls, Some((fingerprint, ca.clone())));
    assert_eq!(std::fs::read(&ca).unwrap(), ca_before);
    assert!(reachable(&trusting(&ca), &again.url).await);
}

#[tokio::test]
async fn tls_serves_the_given_certificate_and_key() {
    use zulip_calls_mock::server::tls;
    let dir = tempfile::tempdir().unwrap();
    tls::generate(dir.path(), "127.0.0.1".parse().unwrap()).unwrap();
    // A full chain, its root included, so the file itself is what clients trust.
    let chain = dir.path().join("chain.pem");
    let mut pem = std::fs::read(dir.path().join(tls::CERT_FILE)).unwrap();
    pem.extend(std::fs::read(dir.path().join(tls::CA_FILE)).unwrap());
    std::fs::write(&chain, pem).unwrap();
    let leaf = std::fs::read(dir.path().join(tls::CERT_FILE)).unwrap();
    let leaf = first_der(&leaf);

    let chain = chain.display().to_string();
    let key = dir.path().join(tls::KEY_FILE).display().to_string();
    let server = ServeProcess::start(&[
        "--bind",
        "127.0.0.1:0",
        "--db",
        ":memory:",
        "--tls-cert",
        &chain,
        "--tls-key",
        &key,
    ]);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    assert_eq!(server.tls, Some((tls::fingerprint(&leaf), chain.clone())));
    assert!(reachable(&trusting(&chain), &server.url).await);

    // One without the other is refused before anything starts.
    let output = run(&["serve", "--db", ":memory:", "--tls-cert", &chain]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--tls-key"), "{}", stderr(&output));
}

/// The DER of the first certificate in a PEM file.
fn first_der(pem: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem).unwrap();
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[tokio::test]
async fn serve_with_a_virtual_clock_behind_an_admin_token() {
    let server = ServeProcess::start(&[
        "--bind",
        "127.0.0.1:0",
        "--db",
        ":memory:",
        "--virtual-clock",
        "--clock-start",
        "2026-01-01T09:00:00Z",
        "--admin-token",
        "cli-secret",
    ]);
    let http = reqwest::Client::new();
    let clock = format!("{}/mock/v1/clock", server.url);
    assert_eq!(http.get(&clock).send().await.unwrap().status(), 401);
    let wrong = http.get(&clock).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let now: serde_json::Value = http
        .get(&clock)
        .bearer_auth("cli-secret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now["now"], "2026-01-01T09:00:00Z", "{now}");
    assert_eq!(now["virtual"], true);

    // A call rings out when the clock is moved past its ring timeout, and only then.
    let started: serde_json::Value = http
        .post(format!("{}/api/v1/calls/start", server.url))
        .basic_auth("hamlet@zulip.com", Some("hamletDemoApiKeyxxxxxxxxxxxxx010"))
        .form(&[("user_id", "6")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let call_id = started["call_id"].as_str().unwrap();
    let moved: serde_json::Value = http
        .post(format!("{clock}/advance"))
        .bearer_auth("cli-secret")
        .form(&[("seconds", "30")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        moved["fired"],
        serde_json::json!([{
            "call_id": call_id,
            "action": "ring_timeout",
            "at": "2026-01-01T09:00:30Z",
        }]),
        "{moved}"
    );

    server.signal("TERM");
    let (status, out, err) = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        out.contains("Virtual clock at 2026-01-01T09:00:00Z"),
        "{out}"
    );
    assert!(!err.contains("warning"), "{err}");
}

/// The control API's status without a token and, when given, with one.
async fn control_status(url: &str, token: Option<&str>) -> u16 {
    let request = reqwest::Client::new().get(format!("{url}/mock/v1/server"));
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn off_loopback_the_control_api_needs_a_generated_token() {
    let (server, notice) = ServeProcess::start_reading(
        &["--bind", "0.0.0.0:0", "--db", ":memory:"],
        Some("Control API token"),
    );
    let notice = notice.expect("no token notice");
    let token = notice.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(token.len(), 32, "{notice}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{notice}");
    assert_eq!(control_status(&server.url, None).await, 401);
    assert_eq!(control_status(&server.url, Some("wrong")).await, 401);
    assert_eq!(control_status(&server.url, Some(&token)).await, 200);
    // The Zulip API and the probes need no token.
    let ready = reqwest::get(format!("{}/health/ready", server.url))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    server.signal("INT");
    let (status, out, err) = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{err}");
    // Printed once, never logged.
    assert!(
        out.contains(&format!("Authorization: Bearer {token}")),
        "{out}"
    );
    assert!(!err.contains(&token), "{err}");
    assert!(
        !err.contains("control API (/mock/v1, /metrics) is open"),
        "{err}"
    );
    // The credentials warning stays.
    assert!(err.contains("not a loopback address"), "{err}");
}

#[tokio::test]
async fn admin_token_none_leaves_the_control_api_open_with_a_warning() {
    let server = ServeProcess::start(&[
        "--bind",
        "0.0.0.0:0",
        "--db",
        ":memory:",
        "--admin-token",
        "none",
    ]);
    assert_eq!(control_status(&server.url, None).await, 200);
    server.signal("INT");
    let (status, out, err) = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!out.contains("Control API token"), "{out}");
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("warning: the control API (/mock/v1, /metrics) is open"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    // Logged too, for whoever reads the logs rather than the terminal.
    assert!(
        err.lines()
            .any(|l| l.contains("WARN")
                && l.contains("the control API (/mock/v1, /metrics) is open")),
        "{err}"
    );
}

#[tokio::test]
async fn on_loopback_the_control_api_stays_open_and_a_given_token_is_not_printed() {
    let server = ServeProcess::start(&["--bind", "127.0.0.1:0", "--db", ":memory:"]);
    assert_eq!(control_status(&server.url, None).await, 200);
    server.signal("INT");
    let (status, out, err) = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!out.contains("Control API token"), "{out}");

    // With a token of one's own, off loopback: required, not printed, no open warning.
    let server = ServeProcess::start(&[
        "--bind",
        "0.0.0.0:0",
        "--db",
        ":memory:",
        "--admin-token",
        "t0ken",
    ]);
    assert_eq!(control_status(&server.url, None).await, 401);
    assert_eq!(control_status(&server.url, Some("t0ken")).await, 200);
    server.signal("INT");
    let (status, out, err) = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!out.contains("t0ken"), "{out}");
    assert!(!err.contains("is open"), "{err}");
}

#[tokio::test]
async fn log_format_json_writes_one_json_object_a_line() {
    let server = ServeProcess::start(&[
        "--bind",
        "127.0.0.1:0",
        "--db",
        ":memory:",
        "--log-format",
        "json",
    ]);
    let response = reqwest::get(format!("{}/api/v1/server_settings", server.url))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.signal("TERM");
    let (status, _, err) = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{err}");
    let lines: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}\n{err}")))
        .collect();
    assert!(!lines.is_empty(), "{err}");
    for line in &lines {
        assert!(line["level"].is_string(), "{line}");
        assert!(line["target"].is_string(), "{line}");
        assert!(line["fields"]["message"].is_string(), "{line}");
    }
    // A request's closing line carries its status and its span's fields.
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "request finished"
                && l["fields"]["status"] == 200
                && l["span"]["path"] == "/api/v1/server_settings"),
        "{err}"
    );
}

/// `completions <shell>` prints a script for that shell naming every subcommand, from the
/// parser's own definitions.
#[test]
fn completions_name_the_subcommands_for_each_shell() {
    let subcommands = [
        "serve",
        "cleanup-calls",
        "users",
        "zuliprc",
        "endpoints",
        "scenario",
        "completions",
        "man",
    ];
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef zulip-calls-mock"),
        ("fish", "complete -c zulip-calls-mock"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = run(&["completions", shell]);
        assert!(output.status.success(), "{shell}: {}", stderr(&output));
        let script = stdout(&output);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for sub in subcommands {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
    }
    let output = run(&["completions", "tcsh"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

/// `man` prints a roff page with the command's name, synopsis and subcommands.
#[test]
fn man_prints_a_roff_page_naming_the_subcommands() {
    let output = run(&["man"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let page = stdout(&output);
    for needle in [
        ".TH zulip-calls-mock",
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH SUBCOMMANDS",
        "serve",
        "cleanup\\-calls",
        "zuliprc",
        "scenario",
        "completions",
    ] {
        assert!(page.contains(needle), "no {needle:?} in:\n{page}");
    }
}

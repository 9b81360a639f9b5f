//! An HTTP and WebSocket fuzzer against a real server on port 0.
//!
//! Every endpoint of the plugin and of the Zulip subset (taken from the protocol's endpoint
//! descriptors, so new endpoints are covered without listing them here), plus the event
//! WebSocket's path and unknown paths, gets random requests: known, near-miss and random
//! parameter names; valid, wrong-typed, huge, negative and unicode values; parameters in the
//! query string, a form body or a JSON body, malformed JSON, wrong or missing content types;
//! bodies under and over the size limit; random path ids and methods; valid, wrong and garbled
//! credentials. The server must never answer with a 5xx, every non-2xx answer must be a Zulip
//! error body (`413` included: the body limit answers `PAYLOAD_TOO_LARGE` in the same shape),
//! and afterwards it must still serve: `server_settings`, and a full call lifecycle with its
//! events.
//!
//! The event WebSocket gets random text and binary frames and malformed acknowledgements: a
//! frame the protocol reads as an acknowledgement keeps the connection open (a ping still gets
//! its pong), anything else closes it with 1003, and another connection stays unaffected.
//!
//! The budget is `FUZZ_CASES` (default 5000 HTTP cases and a tenth as many WebSocket cases);
//! the number of requests and frames sent is printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zulip_calls_protocol::endpoint::{EndpointInfo, all_endpoints};
use zulip_calls_protocol::event::{DEFAULT_EVENTS_WEBSOCKET_PATH, WsAck};

use common::{Account, TestApp, spawn};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The server's body limit (the harness default).
const LIMIT: usize = 1024 * 1024;

/// How long to wait for an answer before calling it a hang (a bound, not a synchronisation).
const WAIT: Duration = Duration::from_secs(20);

/// A call id no server has.
const NO_CALL: &str = "7d0b2a3e-4c1f-4b8e-9a57-2f6e1c9d3b40";

/// HTTP cases: `FUZZ_CASES`, or a default that keeps this file well under a minute.
fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The fixture: a server with a call, two queues and a push token, and the values requests use
// ---------------------------------------------------------------------------------------------

/// Demo users requests are sent as: ordinary, administrator, deactivated, another realm.
const EMAILS: &[&str] = &[
    "hamlet@zulip.com",
    "othello@zulip.com",
    "iago@zulip.com",
    "cordelia@zulip.com",
    "prospero@zulip.com",
    "polonius@zulip.com",
    "desdemona@zulip.com",
    "king@lear.org",
];

struct Fixture {
    app: TestApp,
    /// A client that opens a connection per request: a server that answers before reading a
    /// body closes the connection, and a pooled client could race it by reusing that
    /// connection for the next request.
    http: reqwest::Client,
    accounts: Vec<Account>,
    call: String,
    /// A live group call hosted by the third account, the first two invited.
    group: String,
    queues: Vec<String>,
    /// Requests sent by the fuzzer.
    requests: AtomicU64,
    /// Requests over the body limit whose connection closed before the answer was read.
    cut_off: AtomicU64,
}

async fn fixture() -> Fixture {
    let app = spawn().await;
    let accounts: Vec<Account> = EMAILS.iter().map(|e| app.account(e)).collect();
    let hamlet_q = app.register(&accounts[0]).await;
    let othello_q = app.register(&accounts[1]).await;
    let call = app.call(&accounts[4], &accounts[5]).await;
    let (status, body) = app
        .post(
            &accounts[2],
            "calls/group/create",
            &[(
                "user_ids",
                &format!("{},{}", accounts[0].id, accounts[1].id),
            )],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let group = body["call_id"].as_str().unwrap().to_owned();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    Fixture {
        app,
        http,
        accounts,
        call,
        group,
        queues: vec![hamlet_q, othello_q],
        requests: AtomicU64::new(0),
        cut_off: AtomicU64::new(0),
    }
}

/// A value that the fixture fills in when the request is built.
#[derive(Debug, Clone)]
enum Val {
    /// This exact text.
    Text(String),
    /// The fixture's live call.
    Call,
    /// The fixture's live group call.
    Group,
    /// A list of demo users' ids, comma-separated or as a JSON list.
    UserIds(Vec<usize>, bool),
    /// A registered queue (index modulo the number of queues).
    Queue(usize),
    /// The id of a demo user (index modulo [`EMAILS`]).
    UserId(usize),
    /// The email of a demo user.
    Email(usize),
    /// `len` bytes of `unit` repeated (huge values).
    Huge(usize, char),
}

impl Fixture {
    fn fill(&self, value: &Val) -> String {
        match value {
            Val::Text(text) => text.clone(),
            Val::Call => self.call.clone(),
            Val::Group => self.group.clone(),
            Val::UserIds(indexes, json) => {
                let ids: Vec<String> = indexes
                    .iter()
                    .map(|i| self.accounts[i % self.accounts.len()].id.to_string())
                    .collect();
                if *json {
                    format!("[{}]", ids.join(","))
                } else {
                    ids.join(",")
                }
            }
            Val::Queue(i) => self.queues[i % self.queues.len()].clone(),
            Val::UserId(i) => self.accounts[i % self.accounts.len()].id.to_string(),
            Val::Email(i) => self.accounts[i % self.accounts.len()].email.clone(),
            Val::Huge(len, unit) => unit.to_string().repeat(len / unit.len_utf8().max(1)),
        }
    }

    /// A JSON value for `value`: numbers and booleans as themselves when they read as such.
    fn fill_json(&self, value: &Val, typed: bool) -> Value {
        let text = self.fill(value);
        if typed && let Ok(parsed) = serde_json::from_str::<Value>(&text) {
            return parsed;
        }
        Value::String(text)
    }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            " ",
            "0",
            "-1",
            "6",
            " 6 ",
            "+6",
            "6.5",
            "1e3",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "4294967295",
            "4294967296",
            "99999999999999999999999999",
            "true",
            "FALSE",
            "\"true\"",
            "\"6\"",
            "\"\"",
            "null",
            "[]",
            "{}",
            "[\"call_event\"]",
            "[\"call_event\",1]",
            "{\"a\":1}",
            "video",
            "audio",
            "AUDIO",
            "accept",
            "reject",
            "decline",
            "ringing",
            "muted",
            "unmuted",
            "video_on",
            "screen_sharing",
            "on_hold",
            NO_CALL,
            "00000000-0000-0000-0000-000000000000",
            "7D0B2A3E-4C1F-4B8E-9A57-2F6E1C9D3B40",
            "opensesame",
            "\u{0}",
            "é",
            "👩‍🚀",
            "\u{202e}",
            "%00",
            "%ff",
            "&=&",
            "1375801870:2942",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
        "[ -~]{0,16}",
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (1..300usize).prop_map(|n| "9".repeat(n)),
    ]
}

fn value() -> impl Strategy<Value = Val> {
    prop_oneof![
        6 => nasty_text().prop_map(Val::Text),
        2 => Just(Val::Call),
        1 => Just(Val::Group),
        1 => (prop::collection::vec(any::<usize>(), 0..6), any::<bool>())
            .prop_map(|(ids, json)| Val::UserIds(ids, json)),
        1 => any::<usize>().prop_map(Val::Queue),
        2 => any::<usize>().prop_map(Val::UserId),
        1 => any::<usize>().prop_map(Val::Email),
        1 => (1..20_000usize, prop::sample::select(vec!['x', 'é', '9', '"', '%'])).prop_map(|(n, c)| Val::Huge(n, c)),
    ]
}

/// Every parameter name of the contract, and near misses.
const PARAM_NAMES: &[&str] = &[
    "user_id",
    "recipient_email",
    "is_video_call",
    "call_type",
    "call_id",
    "status",
    "response",
    "limit",
    "offset",
    "state",
    "timeout_minutes",
    "cleanup_old_calls",
    "old_calls_days",
    "queue_id",
    "last_event_id",
    "dont_block",
    "event_types",
    "fetch_event_types",
    "apply_markdown",
    "client_gravatar",
    "slim_presence",
    "include_custom_profile_fields",
    "token",
    "appid",
    "username",
    "password",
    "user_ids",
    "title",
    "stream_id",
    "topic",
    "status_text",
    "away",
    "emoji_name",
    "emoji_code",
    "reaction_type",
    "presence_enabled",
];

fn param_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(PARAM_NAMES).prop_map(str::to_owned),
        1 => prop::sample::select(PARAM_NAMES).prop_map(|n| n.to_uppercase()),
        1 => prop::sample::select(PARAM_NAMES).prop_map(|n| format!("{n}[]")),
        1 => any::<String>(),
    ]
}

/// Where the parameters travel, and how the body is dressed.
#[derive(Debug, Clone)]
enum Placement {
    Query,
    Form,
    /// A JSON object; `typed` sends numbers and booleans as JSON rather than strings.
    Json {
        typed: bool,
    },
    /// Form text under a wrong or odd content type (`None`: no header).
    Typed(Option<&'static str>),
    /// JSON text that is broken: cut at this byte, or not an object.
    BrokenJson(usize),
    /// These bytes as the body, under this content type.
    Raw(Option<&'static str>, Vec<u8>),
    /// A form body padded to `LIMIT + over` bytes (`over` may be negative: just under).
    Sized(i64),
}

const CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "application/json; charset=utf-8",
    "Application/X-WWW-Form-Urlencoded",
    "application/x-www-form-urlencoded; charset=latin1",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/json, application/x-www-form-urlencoded",
    ";",
    "",
];

fn placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        4 => Just(Placement::Query),
        4 => Just(Placement::Form),
        3 => any::<bool>().prop_map(|typed| Placement::Json { typed }),
        1 => prop::option::of(prop::sample::select(CONTENT_TYPES)).prop_map(Placement::Typed),
        1 => any::<usize>().prop_map(Placement::BrokenJson),
        1 => (
            prop::option::of(prop::sample::select(vec![
                "application/json",
                "application/x-www-form-urlencoded",
                "text/plain",
            ])),
            prop::collection::vec(any::<u8>(), 0..200),
        )
            .prop_map(|(t, b)| Placement::Raw(t, b)),
        1 => prop_oneof![
            (-2000i64..=0),
            (1i64..=2),
            Just(LIMIT as i64),
        ]
        .prop_map(Placement::Sized),
    ]
}

/// Who a request authenticates as.
#[derive(Debug, Clone)]
enum Who {
    Anonymous,
    /// A demo user (index modulo [`EMAILS`]) with their key.
    User(usize),
    /// A demo user with a wrong key.
    WrongKey(usize),
    /// A user's key under another user's email.
    Swapped(usize, usize),
    /// This header value, if the HTTP client accepts it.
    Header(Vec<u8>),
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        10 => any::<usize>().prop_map(Who::User),
        1 => Just(Who::Anonymous),
        1 => any::<usize>().prop_map(Who::WrongKey),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Who::Swapped(a, b)),
        1 => prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            nasty_text().prop_map(|t| format!("Basic {t}").into_bytes()),
            nasty_text().prop_map(|t| {
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(t))
                    .into_bytes()
            }),
            Just(b"Bearer abc".to_vec()),
            Just(b"Basic".to_vec()),
            Just(b"basic aGFtbGV0QHp1bGlwLmNvbQ==".to_vec()),
        ]
        .prop_map(Who::Header),
    ]
}

/// A path segment for a `{placeholder}`.
fn path_id() -> impl Strategy<Value = Val> {
    prop_oneof![
        3 => Just(Val::Call),
        3 => Just(Val::Group),
        2 => any::<usize>().prop_map(Val::UserId),
        1 => Just(Val::Text(NO_CALL.to_owned())),
        2 => nasty_text().prop_map(Val::Text),
        1 => (1..5000usize).prop_map(|n| Val::Huge(n, '9')),
    ]
}

/// Where a request goes.
#[derive(Debug, Clone)]
enum Target {
    /// An endpoint of the contract (index modulo their number), with its method or another.
    Endpoint(usize, Option<&'static str>),
    /// The event WebSocket's path, without an upgrade.
    WebSocketPath,
    /// Another path below `/api/v1/`.
    Other(String),
}

const METHODS: &[&str] = &["GET", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"];

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        12 => (any::<usize>(), Just(None)).prop_map(|(i, m)| Target::Endpoint(i, m)),
        2 => (any::<usize>(), prop::sample::select(METHODS).prop_map(Some))
            .prop_map(|(i, m)| Target::Endpoint(i, m)),
        1 => Just(Target::WebSocketPath),
        1 => prop_oneof![
            "[a-z/]{0,20}",
            Just("calls/".to_owned()),
            Just("calls/active/".to_owned()),
            Just("users/me/extra".to_owned()),
            Just("Calls/Active".to_owned()),
            Just("..%2f..%2fetc/passwd".to_owned()),
        ]
        .prop_map(Target::Other),
    ]
}

#[derive(Debug, Clone)]
struct FuzzRequest {
    target: Target,
    path_id: Val,
    who: Who,
    params: Vec<(String, Val)>,
    /// Parameters that also go into the query string whatever the placement.
    query_too: Vec<(String, Val)>,
    placement: Placement,
}

fn request() -> impl Strategy<Value = FuzzRequest> {
    (
        target(),
        path_id(),
        who(),
        prop::collection::vec((param_name(), value()), 0..6),
        prop::collection::vec((param_name(), value()), 0..2),
        placement(),
    )
        .prop_map(
            |(target, path_id, who, params, query_too, placement)| FuzzRequest {
                target,
                path_id,
                who,
                params,
                query_too,
                placement,
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Sending and checking
// ---------------------------------------------------------------------------------------------

/// Every path byte but unreserved ones, percent-encoded (so `/` in an id stays in one segment).
fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The first 300 characters of `text`, for failure messages.
fn clip(text: &str) -> String {
    clip_to(text, 300)
}

/// The first `n` characters of `text`.
fn clip_to(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

fn basic(email: &str, key: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{key}"));
    format!("Basic {token}")
}

fn endpoints() -> Vec<EndpointInfo> {
    all_endpoints().collect()
}

fn urlencode(pairs: &[(String, String)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        form.append_pair(k, v);
    }
    form.finish()
}

/// Builds and sends `req`; returns the status and body, or what was wrong with the answer.
async fn send(fx: &Fixture, req: &FuzzRequest) -> Result<(), TestCaseError> {
    let endpoints = endpoints();
    let (method, path) = match &req.target {
        Target::Endpoint(i, method) => {
            let e = endpoints[i % endpoints.len()];
            let id = encode_segment(&clip_to(&fx.fill(&req.path_id), 1000));
            let path = e
                .path
                .replace("{call_id}", &id)
                .replace("{user_id_or_email}", &id)
                .replace("{user_id}", &id);
            (method.unwrap_or(e.method.as_str()), path)
        }
        Target::WebSocketPath => (
            "GET",
            DEFAULT_EVENTS_WEBSOCKET_PATH
                .trim_start_matches("/api/v1/")
                .to_owned(),
        ),
        Target::Other(path) => ("GET", path.clone()),
    };
    let params: Vec<(String, String)> = req
        .params
        .iter()
        .map(|(k, v)| (k.clone(), fx.fill(v)))
        .collect();
    let mut query: Vec<(String, String)> = req
        .query_too
        .iter()
        .map(|(k, v)| (k.clone(), fx.fill(v)))
        .collect();
    // URIs are limited to 64 KiB by the HTTP stack on both sides: long values go in bodies.
    let short = |pairs: &[(String, String)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), clip_to(v, 1000)))
            .collect()
    };
    query = short(&query);
    let mut headers = HeaderMap::new();
    let mut body: Option<Vec<u8>> = None;
    let mut content_type: Option<&str> = None;
    match &req.placement {
        Placement::Query => query.extend(short(&params)),
        Placement::Form => {
            content_type = Some("application/x-www-form-urlencoded");
            body = Some(urlencode(&params).into_bytes());
        }
        Placement::Json { typed } => {
            content_type = Some("application/json");
            let object: serde_json::Map<String, Value> = req
                .params
                .iter()
                .map(|(k, v)| (k.clone(), fx.fill_json(v, *typed)))
                .collect();
            body = Some(serde_json::to_vec(&object).unwrap());
        }
        Placement::Typed(t) => {
            content_type = *t;
            body = Some(urlencode(&params).into_bytes());
        }
        Placement::BrokenJson(cut) => {
            content_type = Some("application/json");
            let object: serde_json::Map<String, Value> = params
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            let text = serde_json::to_vec(&object).unwrap();
            body = Some(if text.len() > 2 {
                text[..1 + cut % (text.len() - 1)].to_vec()
            } else {
                b"[1, 2".to_vec()
            });
        }
        Placement::Raw(t, bytes) => {
            content_type = *t;
            body = Some(bytes.clone());
        }
        Placement::Sized(over) => {
            content_type = Some("application/x-www-form-urlencoded");
            let mut text = urlencode(&params);
            text.push_str("&pad=");
            let len = usize::try_from(LIMIT as i64 + over).unwrap();
            if text.len() < len {
                text.push_str(&"x".repeat(len - text.len()));
            }
            body = Some(text.into_bytes());
        }
    }
    if let Some(t) = content_type {
        headers.insert("content-type", HeaderValue::from_str(t).unwrap());
    }
    match &req.who {
        Who::Anonymous => {}
        Who::User(i) => {
            let a = &fx.accounts[i % fx.accounts.len()];
            headers.insert(
                "authorization",
                HeaderValue::from_str(&basic(&a.email, &a.key)).unwrap(),
            );
        }
        Who::WrongKey(i) => {
            let a = &fx.accounts[i % fx.accounts.len()];
            headers.insert(
                "authorization",
                HeaderValue::from_str(&basic(&a.email, "wrongDemoApiKeyxxxxxxxxxxxxxxxxx"))
                    .unwrap(),
            );
        }
        Who::Swapped(i, j) => {
            let a = &fx.accounts[i % fx.accounts.len()];
            let b = &fx.accounts[j % fx.accounts.len()];
            headers.insert(
                "authorization",
                HeaderValue::from_str(&basic(&a.email, &b.key)).unwrap(),
            );
        }
        Who::Header(bytes) => {
            if let Ok(value) = HeaderValue::from_bytes(bytes) {
                headers.insert("authorization", value);
            }
        }
    }
    let mut url = format!("{}/api/v1/{path}", fx.app.server.url());
    if !query.is_empty() {
        url.push('?');
        url.push_str(&urlencode(&query));
    }
    let described = format!(
        "{method} {} ({} body bytes, {:?})",
        url.chars().take(200).collect::<String>(),
        body.as_ref().map_or(0, Vec::len),
        content_type
    );
    let mut builder = fx
        .http
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            &url,
        )
        .headers(headers);
    let over_limit = body.as_ref().is_some_and(|b| b.len() > LIMIT);
    if let Some(body) = body {
        builder = builder.body(body);
    }
    fx.requests.fetch_add(1, Ordering::Relaxed);
    let response = tokio::time::timeout(WAIT, builder.send())
        .await
        .map_err(|_| TestCaseError::fail(format!("{described}: no answer within {WAIT:?}")))?;
    let response = match response {
        Ok(response) => response,
        // Over the limit, the server answers 413 without reading the rest and closes; the
        // client may still be writing and see the connection go first.
        Err(err) if over_limit && err.is_request() => {
            fx.cut_off.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Err(err) => {
            return Err(TestCaseError::fail(format!(
                "{described}: {}",
                clip(&format!("{err:?}"))
            )));
        }
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = tokio::time::timeout(WAIT, response.bytes())
        .await
        .map_err(|_| TestCaseError::fail(format!("{described}: body not finished in {WAIT:?}")))?
        .map_err(|e| TestCaseError::fail(format!("{described}: {}", clip(&format!("{e:?}")))))?;
    let text = String::from_utf8_lossy(&bytes);
    let text: String = text.chars().take(300).collect();
    prop_assert!(status < 500, "{described}: {status} {text}");
    prop_assert!(
        content_type.starts_with("application/json"),
        "{described}: {status} with content type {content_type:?}: {text}"
    );
    let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
        TestCaseError::fail(format!("{described}: {status}, not JSON ({e}): {text}"))
    })?;
    if (200..300).contains(&status) {
        prop_assert_eq!(&body["result"], "success", "{}: {}", described, text);
    } else {
        prop_assert_eq!(&body["result"], "error", "{}: {}", described, text);
        prop_assert!(
            body["msg"].as_str().is_some_and(|m| !m.trim().is_empty()),
            "{described}: {status} without msg: {text}"
        );
        prop_assert!(
            body["code"].as_str().is_some_and(|c| !c.is_empty()),
            "{described}: {status} without code: {text}"
        );
        if body["code"] == "REQUEST_VARIABLE_MISSING" {
            prop_assert!(body["var_name"].is_string(), "{described}: {text}");
        }
        if status == 413 {
            prop_assert_eq!(&body["code"], "PAYLOAD_TOO_LARGE");
        }
    }
    Ok(())
}

/// The server still answers `server_settings` and carries a call from start to end with its
/// events.
async fn still_serves(app: &TestApp) {
    let response = app
        .http
        .get(app.url("server_settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"], "success", "{body}");

    // Two users the fuzzer never signs in as, so nothing it did can have joined them to a
    // group call (which `end-all` leaves alone); whatever 1:1 call it left them in ends first.
    let hamlet = app.account("zoe@zulip.com");
    let othello = app.account("aaron@zulip.com");
    for who in [&hamlet, &othello] {
        let (status, body) = app.post(who, "calls/end-all", &[]).await;
        assert_eq!(status, 200, "{body}");
    }
    let queue = app.register(&othello).await;
    let mut last = -1;
    let call = app.call(&hamlet, &othello).await;
    let event = app.next_call_event(&othello, &queue, &mut last).await;
    assert_eq!(
        (&event["event_type"], &event["call_id"]),
        (&json!("call_started"), &json!(call))
    );
    for (path, form) in [
        ("calls/acknowledge", vec![("call_id", call.as_str())]),
        (
            "calls/respond",
            vec![("call_id", call.as_str()), ("response", "accept")],
        ),
        (
            "calls/status",
            vec![("call_id", call.as_str()), ("status", "muted")],
        ),
    ] {
        let (status, body) = app.post(&othello, path, &form).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, body) = app.post(&hamlet, "calls/end", &[("call_id", &call)]).await;
    assert_eq!(status, 200, "{body}");
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("call_ended") {
        let event = app.next_call_event(&othello, &queue, &mut last).await;
        assert_eq!(event["call_id"], json!(call), "{event}");
        seen.push(event["event_type"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        seen,
        [
            "participant_ringing",
            "call_accepted",
            "call_status_update",
            "call_ended"
        ]
    );
    let (status, body) = app.get(&hamlet, &format!("calls/{call}"), &[]).await;
    assert_eq!(
        (status, &body["call"]["state"]),
        (200, &json!("ended")),
        "{body}"
    );
}

#[test]
fn random_requests_never_get_a_5xx_or_a_non_zulip_error() {
    let rt = runtime();
    let fx = rt.block_on(fixture());
    let cases = cases();
    let mut runner = TestRunner::new(config(cases));
    let result = runner.run(&request(), |req| rt.block_on(send(&fx, &req)));
    let sent = fx.requests.load(Ordering::Relaxed);
    let cut_off = fx.cut_off.load(Ordering::Relaxed);
    eprintln!(
        "fuzz_http: {cases} cases, {sent} HTTP requests sent \
         ({cut_off} over the body limit cut off before the 413 was read)"
    );
    if let Err(err) = result {
        panic!("{err}");
    }
    assert!(sent >= u64::from(cases));
    rt.block_on(still_serves(&fx.app));
}

/// Every endpoint of the contract is reached by the fuzzer's targets.
#[test]
fn the_fuzzer_targets_every_endpoint() {
    let endpoints = endpoints();
    assert!(endpoints.len() >= 24, "{} endpoints", endpoints.len());
    let rt = runtime();
    let fx = rt.block_on(fixture());
    // One well-formed, authenticated request to each: never a 5xx, and a Zulip body.
    for (i, endpoint) in endpoints.iter().enumerate() {
        let group = endpoint.name.starts_with("calls.group.");
        let req = FuzzRequest {
            target: Target::Endpoint(i, None),
            path_id: if group { Val::Group } else { Val::Call },
            who: Who::User(0),
            params: Vec::new(),
            query_too: Vec::new(),
            placement: Placement::Query,
        };
        rt.block_on(send(&fx, &req)).unwrap();
    }
    assert_eq!(fx.requests.load(Ordering::Relaxed), endpoints.len() as u64);
}

// ---------------------------------------------------------------------------------------------
// The event WebSocket
// ---------------------------------------------------------------------------------------------

/// A frame a client could send.
#[derive(Debug, Clone)]
enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

fn ack_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| json!({ "last_event_id": n }).to_string()),
        (-3i64..10).prop_map(|n| format!("{{\"last_event_id\":{n}}}")),
        nasty_text().prop_map(|t| json!({ "last_event_id": t }).to_string()),
        nasty_text().prop_map(|t| format!("{{\"last_event_id\":{t}}}")),
        Just("{\"last_event_id\":1.5}".to_owned()),
        Just("{\"last_event_id\":1e400}".to_owned()),
        Just("{\"last_event_id\":null}".to_owned()),
        Just("{\"last_event_id\":1,\"last_event_id\":2}".to_owned()),
        Just("{\"last_event_id\":1,\"extra\":[]}".to_owned()),
        Just("[1]".to_owned()),
        Just("{}".to_owned()),
        Just("".to_owned()),
        (1..300usize).prop_map(|d| format!(
            "{{\"last_event_id\":{}1{}}}",
            "[".repeat(d),
            "]".repeat(d)
        )),
        (1..20_000usize).prop_map(|n| format!("{{\"last_event_id\":{}}}", "9".repeat(n))),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        6 => ack_like().prop_map(Frame::Text),
        2 => any::<String>().prop_map(Frame::Text),
        1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Frame::Binary),
        1 => ack_like().prop_map(|t| Frame::Binary(t.into_bytes())),
    ]
}

fn ws_request(
    app: &TestApp,
    auth: &str,
    query: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = format!(
        "ws://{}{DEFAULT_EVENTS_WEBSOCKET_PATH}?{query}",
        app.server.addr
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", HeaderValue::from_str(auth).unwrap());
    request
}

async fn ws_connect(app: &TestApp, who: &Account, queue: &str) -> Ws {
    let request = ws_request(
        app,
        &basic(&who.email, &who.key),
        &format!("queue_id={queue}&last_event_id=-1"),
    );
    tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake timed out")
        .unwrap()
        .0
}

/// The next frame that is not a server ping or a queued event.
async fn next_control(ws: &mut Ws) -> Result<Option<Message>, TestCaseError> {
    loop {
        let next = tokio::time::timeout(WAIT, ws.next())
            .await
            .map_err(|_| TestCaseError::fail(format!("no frame within {WAIT:?}")))?;
        match next {
            None => return Ok(None),
            Some(Err(err)) => return Err(TestCaseError::fail(format!("socket error: {err}"))),
            Some(Ok(Message::Ping(_) | Message::Text(_))) => {}
            Some(Ok(message)) => return Ok(Some(message)),
        }
    }
}

/// Sends `frames` on a fresh connection: each acknowledgement must keep it open (a ping then
/// gets its pong), the first frame that is not one must close it with 1003.
async fn ws_case(
    app: &TestApp,
    who: &Account,
    queue: &str,
    frames: &[Frame],
    sent: &AtomicU64,
) -> Result<(), TestCaseError> {
    let mut ws = ws_connect(app, who, queue).await;
    for (n, frame) in frames.iter().enumerate() {
        let is_ack = match frame {
            Frame::Text(text) => WsAck::parse(text).is_ok(),
            Frame::Binary(_) => false,
        };
        let message = match frame {
            Frame::Text(text) => Message::text(text.clone()),
            Frame::Binary(bytes) => Message::binary(bytes.clone()),
        };
        sent.fetch_add(1, Ordering::Relaxed);
        ws.send(message)
            .await
            .map_err(|e| TestCaseError::fail(format!("send: {e}")))?;
        if is_ack {
            let payload = format!("probe {n}").into_bytes();
            sent.fetch_add(1, Ordering::Relaxed);
            ws.send(Message::Ping(payload.clone().into()))
                .await
                .map_err(|e| TestCaseError::fail(format!("ping: {e}")))?;
            match next_control(&mut ws).await? {
                Some(Message::Pong(got)) => prop_assert_eq!(got.as_ref(), payload.as_slice()),
                other => {
                    return Err(TestCaseError::fail(format!(
                        "after acknowledgement {frame:?}: {other:?}"
                    )));
                }
            }
        } else {
            match next_control(&mut ws).await? {
                Some(Message::Close(Some(close))) => {
                    prop_assert_eq!(close.code, CloseCode::Unsupported, "{:?}", frame);
                    prop_assert!(!close.reason.is_empty());
                }
                other => {
                    return Err(TestCaseError::fail(format!(
                        "after non-acknowledgement {frame:?}: {other:?}"
                    )));
                }
            }
            // The client answers the close; the connection then ends.
            let _ = ws.close(None).await;
            return Ok(());
        }
    }
    ws.close(None)
        .await
        .map_err(|e| TestCaseError::fail(format!("close: {e}")))?;
    Ok(())
}

/// Fuzzed upgrade requests: the answer is an upgrade or a Zulip refusal, never a 5xx.
async fn ws_handshake(
    fx: &Fixture,
    who: &Who,
    queue: &Val,
    last: &Val,
    sent: &AtomicU64,
) -> Result<(), TestCaseError> {
    let auth = match who {
        Who::User(i) | Who::WrongKey(i) | Who::Swapped(i, _) => {
            let a = &fx.accounts[i % fx.accounts.len()];
            let key = match who {
                Who::WrongKey(_) => "wrong".to_owned(),
                Who::Swapped(_, j) => fx.accounts[j % fx.accounts.len()].key.clone(),
                _ => a.key.clone(),
            };
            basic(&a.email, &key)
        }
        Who::Anonymous | Who::Header(_) => "Basic Og==".to_owned(),
    };
    // Short enough for the client's 64 KiB URI limit once percent-encoded.
    let query = urlencode(&[
        ("queue_id".to_owned(), clip_to(&fx.fill(queue), 1000)),
        ("last_event_id".to_owned(), clip_to(&fx.fill(last), 1000)),
    ]);
    let request = ws_request(&fx.app, &auth, &query);
    sent.fetch_add(1, Ordering::Relaxed);
    let result = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .map_err(|_| TestCaseError::fail("handshake timed out"))?;
    match result {
        Ok((mut ws, _)) => {
            let _ = ws.close(None).await;
        }
        Err(WsError::Http(response)) => {
            let status = response.status().as_u16();
            prop_assert!((400..500).contains(&status), "handshake answered {status}");
            // The WebSocket client keeps only the part of a refusal's body that came with its
            // head; check the body when it is whole.
            let body = response.body().as_deref().unwrap_or(b"");
            let length = response
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if length == Some(body.len()) {
                let body: Value = serde_json::from_slice(body)
                    .map_err(|e| TestCaseError::fail(format!("{status} body not JSON: {e}")))?;
                prop_assert_eq!(&body["result"], "error");
                prop_assert!(body["code"].is_string(), "{}", body);
            }
        }
        Err(other) => return Err(TestCaseError::fail(format!("handshake failed: {other}"))),
    }
    Ok(())
}

#[test]
fn random_websocket_frames_never_crash_the_server() {
    let rt = runtime();
    let fx = rt.block_on(fixture());
    let app = &fx.app;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let fuzzed_queue = rt.block_on(app.register(&hamlet));
    let witness_queue = rt.block_on(app.register(&othello));
    // A connection that lives through the whole run and must keep working.
    let mut witness = rt.block_on(ws_connect(app, &othello, &witness_queue));

    let cases = (cases() / 10).max(10);
    let sent = AtomicU64::new(0);
    let mut runner = TestRunner::new(config(cases));
    let result = runner.run(
        &(
            prop::collection::vec(frame(), 1..5),
            who(),
            prop_oneof![
                3 => Just(Val::Queue(0)),
                1 => value(),
            ],
            value(),
        ),
        |(frames, who, queue, last)| {
            rt.block_on(async {
                ws_case(app, &hamlet, &fuzzed_queue, &frames, &sent).await?;
                ws_handshake(&fx, &who, &queue, &last, &sent).await
            })
        },
    );
    let total = sent.load(Ordering::Relaxed);
    eprintln!("fuzz_http: {cases} WebSocket cases, {total} frames and handshakes sent");
    if let Err(err) = result {
        panic!("{err}");
    }

    rt.block_on(async {
        // The witness still gets events: a call to Othello rings on it.
        let (status, body) = app.post(&othello, "calls/end-all", &[]).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = app.post(&hamlet, "calls/end-all", &[]).await;
        assert_eq!(status, 200, "{body}");
        let call = app.call(&hamlet, &othello).await;
        loop {
            let message = tokio::time::timeout(WAIT, witness.next())
                .await
                .expect("the witness got nothing")
                .expect("the witness ended")
                .expect("witness socket error");
            if let Message::Text(text) = message {
                let event: Value = serde_json::from_str(text.as_str()).unwrap();
                if event["event_type"] == "call_started" && event["call_id"] == json!(call) {
                    break;
                }
            }
        }
        witness.close(None).await.unwrap();
        // The fuzzed queue still takes connections, and the server still serves.
        let mut ws = ws_connect(app, &hamlet, &fuzzed_queue).await;
        ws.send(Message::text(r#"{"last_event_id": -1}"#))
            .await
            .unwrap();
        ws.send(Message::Ping(b"alive".to_vec().into()))
            .await
            .unwrap();
        let pong = next_control(&mut ws).await.unwrap();
        assert!(matches!(pong, Some(Message::Pong(p)) if p.as_ref() == b"alive"));
        ws.close(None).await.unwrap();
        still_serves(app).await;
    });
}

/// A body just under the limit made of about 120 000 distinct parameter names is answered
/// within [`WAIT`], and the server answers others meanwhile. Reading such a body was once
/// quadratic in the number of names: about 100 s of CPU per request in a debug build.
#[test]
fn a_body_of_many_distinct_names_is_answered_promptly() {
    let rt = runtime();
    let fx = rt.block_on(fixture());
    let mut body = String::from("user_id=6");
    let mut count = 0;
    while body.len() < LIMIT - 16 {
        body.push_str(&format!("&a{count}="));
        count += 1;
    }
    assert!(count > 100_000, "{count} names");
    let hamlet = &fx.accounts[0];
    rt.block_on(async {
        let request = fx
            .http
            .post(fx.app.url("calls/start"))
            .basic_auth(&hamlet.email, Some(&hamlet.key))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send();
        let response = tokio::time::timeout(WAIT, request)
            .await
            .expect("no answer in time")
            .unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["result"], "success", "{answer}");
        still_serves(&fx.app).await;
    });
}

//! The integration-test harness: a real server on port 0 over a temporary SQLite file, and a
//! small HTTP client speaking as the demo users.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::Value;
use zulip_calls_mock::ServerConfig;
use zulip_calls_mock::{Clock, Server};
use zulip_calls_protocol::Timestamp;
use zulip_calls_protocol::settings::Settings;

/// A demo user's credentials, read from the directory the server loaded.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub key: String,
}

/// How to start a test server.
#[derive(Debug)]
pub struct Options {
    pub settings: Settings,
    /// A manual clock starting at this time instead of the system clock.
    pub manual_clock: Option<Timestamp>,
    /// Reuse this database file (for restart tests).
    pub db: Option<PathBuf>,
    pub heartbeat_seconds: u64,
    pub rate_limit_per_minute: u32,
    pub max_body_bytes: usize,
    pub prune_calls_after_days: Option<u32>,
    pub push_webhook_url: Option<String>,
    /// The control API's bearer token (`MOCK_ADMIN_TOKEN`).
    pub admin_token: Option<String>,
    /// `serve --virtual-clock`: time moves only through `POST /mock/v1/clock/advance`, which
    /// fires every deadline (with `manual_clock` as its start; now otherwise).
    pub virtual_clock: bool,
    /// A realm file instead of the built-in demo realms.
    pub realm_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            settings: Settings::default(),
            manual_clock: None,
            db: None,
            heartbeat_seconds: 1,
            rate_limit_per_minute: 0,
            max_body_bytes: 1024 * 1024,
            prune_calls_after_days: None,
            push_webhook_url: None,
            admin_token: None,
            virtual_clock: false,
            realm_file: None,
        }
    }
}

/// A running server and a client for it.
pub struct TestApp {
    pub server: Server,
    pub http: reqwest::Client,
    pub db: PathBuf,
    pub clock: Clock,
    _dir: Option<tempfile::TempDir>,
}

/// Starts a server with default options.
pub async fn spawn() -> TestApp {
    spawn_with(Options::default()).await
}

/// Starts a server with `options`.
pub async fn spawn_with(options: Options) -> TestApp {
    let (dir, db) = match options.db {
        Some(db) => (None, db),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("mock.sqlite3");
            (Some(dir), db)
        }
    };
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: db.display().to_string(),
        realm_file: options.realm_file,
        settings: options.settings,
        heartbeat_seconds: options.heartbeat_seconds,
        max_body_bytes: options.max_body_bytes,
        rate_limit_per_minute: options.rate_limit_per_minute,
        prune_calls_after_days: options.prune_calls_after_days,
        push_webhook_url: options.push_webhook_url,
        admin_token: options.admin_token,
        virtual_clock: options.virtual_clock,
        ..ServerConfig::default()
    };
    let clock = match options.manual_clock {
        Some(start) => Clock::manual(start),
        None => Clock::System,
    };
    let server = Server::start(config, clock.clone()).await.unwrap();
    TestApp {
        server,
        http: reqwest::Client::new(),
        db,
        clock,
        _dir: dir,
    }
}

/// 2024-01-01T12:00:00Z, where manual clocks start.
/// A server with `settings` on a virtual clock starting at [`t0`].
pub async fn spawn_virtual(settings: Settings) -> TestApp {
    spawn_with(Options {
        settings,
        manual_clock: Some(t0()),
        virtual_clock: true,
        ..Options::default()
    })
    .await
}

pub fn t0() -> Timestamp {
    Timestamp::from_unix_seconds(1_704_110_400).unwrap()
}

impl TestApp {
    /// The demo user with this email.
    pub fn account(&self, email: &str) -> Account {
        let directory = self.server.state.core.directory();
        let user = directory.user_by_email(email).unwrap();
        Account {
            id: user.id.0,
            email: user.email.clone(),
            key: user.api_key.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.server.url())
    }

    /// The URL of a control API path (`reset`, `users`, ...).
    pub fn control_url(&self, path: &str) -> String {
        format!("{}/mock/v1/{path}", self.server.url())
    }

    /// Moves the manual clock and lets the scheduler look at the new time.
    pub fn advance(&self, seconds: i64) {
        assert!(
            self.clock.advance_millis(seconds * 1000),
            "not a manual clock"
        );
        self.server.state.core.deadlines_changed.notify_one();
    }

    /// Sends `builder` as `who` and returns the status and the JSON body.
    async fn send(&self, who: &Account, builder: reqwest::RequestBuilder) -> (u16, Value) {
        let response = builder
            .basic_auth(&who.email, Some(&who.key))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn post(&self, who: &Account, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        self.send(who, self.http.post(self.url(path)).form(form))
            .await
    }

    pub async fn get(&self, who: &Account, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        self.send(who, self.http.get(self.url(path)).query(query))
            .await
    }

    /// A `PATCH` with a form body, as Zulip's settings take it.
    pub async fn patch(&self, who: &Account, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        self.send(who, self.http.patch(self.url(path)).form(form))
            .await
    }

    pub async fn delete(&self, who: &Account, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        self.send(who, self.http.delete(self.url(path)).query(query))
            .await
    }

    /// Registers an event queue for call events and returns its id.
    pub async fn register(&self, who: &Account) -> String {
        let (status, body) = self
            .post(who, "register", &[("event_types", r#"["call_event"]"#)])
            .await;
        assert_eq!(status, 200, "{body}");
        body["queue_id"].as_str().unwrap().to_owned()
    }

    /// Places a call from `from` to `to` and returns its id.
    pub async fn call(&self, from: &Account, to: &Account) -> String {
        let (status, body) = self
            .post(from, "calls/start", &[("user_id", &to.id.to_string())])
            .await;
        assert_eq!(status, 200, "{body}");
        body["call_id"].as_str().unwrap().to_owned()
    }

    /// Long-polls until a call event arrives (heartbeats are skipped; fails after ten).
    pub async fn next_call_event(&self, who: &Account, queue: &str, last: &mut i64) -> Value {
        for _ in 0..10 {
            let (status, body) = self
                .get(
                    who,
                    "events",
                    &[("queue_id", queue), ("last_event_id", &last.to_string())],
                )
                .await;
            assert_eq!(status, 200, "{body}");
            for event in body["events"].as_array().unwrap() {
                *last = event["id"].as_i64().unwrap();
                if event["type"] == "call_event" {
                    return event.clone();
                }
            }
        }
        panic!("no call event arrived");
    }

    /// Runs the deadline scheduler's check now, synchronously (deterministic with a manual
    /// clock; the background scheduler may also fire, and firing twice is a no-op).
    pub fn fire_deadlines(&self) {
        zulip_calls_mock::core::deadlines::fire_due(&self.server.state.core);
    }

    /// Registers a queue for the 1.1 dialect's call events.
    pub async fn register_1_1(&self, who: &Account) -> String {
        let (status, body) = self
            .post(who, "register", &[("event_types", r#"["call"]"#)])
            .await;
        assert_eq!(status, 200, "{body}");
        body["queue_id"].as_str().unwrap().to_owned()
    }

    /// Every event queued for `queue` now (heartbeats left out), without waiting,
    /// acknowledging up to `last` first; `last` moves to the newest event returned.
    pub async fn drain_events(&self, who: &Account, queue: &str, last: &mut i64) -> Vec<Value> {
        let (status, body) = self
            .get(
                who,
                "events",
                &[
                    ("queue_id", queue),
                    ("dont_block", "true"),
                    ("last_event_id", &last.to_string()),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let events = body["events"].as_array().unwrap().clone();
        if let Some(newest) = events.last() {
            *last = newest["id"].as_i64().unwrap();
        }
        events
            .into_iter()
            .filter(|e| e["type"] != "heartbeat")
            .collect()
    }

    /// Moves a virtual clock through the control API (everything due fires first).
    pub async fn advance_virtual(&self, seconds: u64) {
        let response = self
            .http
            .post(self.control_url("clock/advance"))
            .json(&serde_json::json!({ "seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    /// Every call event queued now, without waiting (`dont_block`), acknowledging up to
    /// `last` first; `last` moves to the newest event returned.
    pub async fn drain_call_events(
        &self,
        who: &Account,
        queue: &str,
        last: &mut i64,
    ) -> Vec<Value> {
        let (status, body) = self
            .get(
                who,
                "events",
                &[
                    ("queue_id", queue),
                    ("dont_block", "true"),
                    ("last_event_id", &last.to_string()),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let events = body["events"].as_array().unwrap();
        if let Some(newest) = events.last() {
            *last = newest["id"].as_i64().unwrap();
        }
        events
            .iter()
            .filter(|e| e["type"] == "call_event")
            .cloned()
            .collect()
    }

    /// Every call event queued now, without waiting (`dont_block`).
    pub async fn pending_call_events(&self, who: &Account, queue: &str) -> Vec<Value> {
        let (status, body) = self
            .get(
                who,
                "events",
                &[("queue_id", queue), ("dont_block", "true")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "call_event")
            .cloned()
            .collect()
    }
}

/// The `op`s of 1.1 events.
pub fn ops(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["op"].as_str().unwrap_or("?"))
        .collect()
}

/// Rounds per race: `RACE_ROUNDS`, or 1000. The races of a file together take well under a
/// minute in a debug build on two cores.
pub fn race_rounds() -> usize {
    match std::env::var("RACE_ROUNDS") {
        Ok(value) => {
            let rounds: usize = value
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("RACE_ROUNDS must be a number, not {value:?}"));
            assert!(rounds > 0, "RACE_ROUNDS must be at least 1");
            rounds
        }
        Err(_) => 1000,
    }
}

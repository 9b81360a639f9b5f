//! Runs scenarios against a server over HTTP, as any client would.
//!
//! The runner registers a real event queue (`POST register`) for every device of every actor
//! before the first step and long-polls `GET events` itself, so event steps work against any
//! server. Steps that need the mock's control API (`/mock/v1/*`) are skipped when the server
//! has none: the probe is `GET /mock/v1/clock`, and a control route that turns out to be
//! missing skips its step the same way. Skipping a step that changes the server (a clock
//! advance, a fault, a reset, a queue expiry) skips the rest of the scenario too, since every
//! later step assumes it happened; the scenario then counts as skipped, not passed.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use zulip_calls_protocol::endpoint::API_PREFIX;
use zulip_calls_protocol::settings::Settings;

use super::model::{
    Action, AdvanceClock, Credential, DeviceRef, EventPattern, Expect, ExpectCall, ExpectPushes,
    ExpireQueues, Fault, Need, PollEvents, Request, Scenario, Step, Verify, WaitEvent, WaitFor,
    seconds_text,
};
use super::vars::{Vars, form_value, lookup, match_value, short};
use crate::server::config::{MEMORY_DB, ServerConfig};
use crate::{Clock, Server};

/// The control API's prefix.
const CONTROL: &str = "/mock/v1";
/// How long an ordinary request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// `wait_for`'s default, as the control API documents it.
const DEFAULT_WAIT_FOR_SECONDS: f64 = 10.0;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A running server; `None` starts a fresh in-process mock per scenario.
    pub server: Option<String>,
    /// The control API's bearer token.
    pub token: Option<String>,
    /// Behave as against a real Zulip server: never touch the control API.
    pub no_control: bool,
    /// Password for actors named by email alone when no control API can tell their keys.
    pub password: Option<String>,
}

/// What the server offers beyond the Zulip and plugin API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `/mock/v1/*` answers.
    pub control: bool,
    /// `POST /mock/v1/clock/advance` moves time.
    pub virtual_clock: bool,
}

impl Capabilities {
    /// Why `action` cannot run on this server, if it cannot.
    pub fn skip_reason(&self, action: &Action) -> Option<String> {
        match action.need() {
            Need::Api => None,
            Need::Control | Need::VirtualClock if !self.control => {
                Some("the server has no control API".to_owned())
            }
            Need::VirtualClock if !self.virtual_clock => Some(
                "the server's clock is not virtual (start it with `serve --virtual-clock`)"
                    .to_owned(),
            ),
            Need::Control | Need::VirtualClock => None,
        }
    }
}

/// How a step (or a whole scenario) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Passed,
    /// One or two lines: expected versus actual.
    Failed(String),
    /// Why it did not run.
    Skipped(String),
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// `None` for the final check of `[expect_events]`.
    pub number: Option<usize>,
    pub title: String,
    pub status: Status,
    pub duration: Duration,
}

/// A scenario's overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// Everything about one scenario's run.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    pub path: PathBuf,
    pub name: String,
    pub steps: Vec<StepReport>,
    /// Steps not attempted after a failure.
    pub not_run: usize,
    /// Why the scenario (or its rest, from some step on) was skipped.
    pub skipped: Option<String>,
    /// A failure outside any step: the server would not start, an actor could not sign in.
    pub error: Option<String>,
    pub duration: Duration,
}

impl ScenarioReport {
    fn new(scenario: &Scenario) -> Self {
        ScenarioReport {
            path: scenario.path.clone(),
            name: scenario.name.clone(),
            steps: Vec::new(),
            not_run: 0,
            skipped: None,
            error: None,
            duration: Duration::ZERO,
        }
    }

    pub fn outcome(&self) -> Outcome {
        if self.error.is_some()
            || self
                .steps
                .iter()
                .any(|s| matches!(s.status, Status::Failed(_)))
        {
            Outcome::Failed
        } else if self.skipped.is_some() {
            Outcome::Skipped
        } else {
            Outcome::Passed
        }
    }

    /// The first failing step and its message, or the setup error.
    pub fn failure(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(error.clone());
        }
        self.steps.iter().find_map(|s| match &s.status {
            Status::Failed(why) => Some(match s.number {
                Some(n) => format!("step {n} ({}): {why}", s.title),
                None => format!("{}: {why}", s.title),
            }),
            _ => None,
        })
    }
}

/// Runs every scenario in turn, handing each report to `done` as soon as it is ready.
pub async fn run_all(
    scenarios: &[Scenario],
    options: &Options,
    mut done: impl FnMut(&ScenarioReport),
) -> Vec<ScenarioReport> {
    let mut reports = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let report = run_scenario(scenario, options).await;
        done(&report);
        reports.push(report);
    }
    reports
}

/// Runs one scenario: against `options.server`, or a fresh in-process mock with a virtual
/// clock and the scenario's settings.
pub async fn run_scenario(scenario: &Scenario, options: &Options) -> ScenarioReport {
    let started = Instant::now();
    let mut report = ScenarioReport::new(scenario);
    let settings = match scenario.server_settings() {
        Ok(settings) => settings,
        Err(err) => {
            report.error = Some(format!("settings: {err}"));
            return report;
        }
    };
    let mut server = None;
    let base = match &options.server {
        Some(url) => {
            if let Some(reason) = settings_mismatch(scenario) {
                report.skipped = Some(reason);
                report.duration = started.elapsed();
                return report;
            }
            url.clone()
        }
        None => match start_server(settings.clone()).await {
            Ok(started) => {
                let url = started.url();
                server = Some(started);
                url
            }
            Err(err) => {
                report.error = Some(format!("cannot start the mock server: {err}"));
                return report;
            }
        },
    };
    match Http::new(&base, options.token.clone()) {
        Ok(http) => {
            let mut session = Session {
                http,
                scenario,
                caps: Capabilities::default(),
                vars: Vars::new(),
                identities: BTreeMap::new(),
                devices: Vec::new(),
                lifespan_seconds: settings.event_queue_lifespan as f64,
                remote: options.server.is_some(),
            };
            session.run(options, &mut report).await;
            session.teardown().await;
        }
        Err(err) => report.error = Some(err),
    }
    if let Some(server) = server {
        server.shutdown_within(Duration::from_secs(1)).await;
    }
    report.duration = started.elapsed();
    report
}

async fn start_server(settings: Settings) -> Result<Server, crate::StartError> {
    let config = ServerConfig {
        bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        db: MEMORY_DB.to_owned(),
        settings,
        virtual_clock: true,
        ..ServerConfig::default()
    };
    Server::start(config, Clock::manual(Clock::System.now())).await
}

/// Why a running server cannot be used for `scenario`: it needs settings other than the spec's
/// defaults, and a running server's settings cannot be changed or read over the API, so it is
/// assumed to run with the defaults.
pub fn settings_mismatch(scenario: &Scenario) -> Option<String> {
    let defaults = Settings::default();
    let differing: Vec<String> = scenario
        .settings
        .iter()
        .filter(|(name, value)| {
            defaults
                .clone()
                .with_overrides(|n| (n == name.as_str()).then(|| (*value).clone()))
                .map_or(true, |s| s != defaults)
        })
        .map(|(name, value)| format!("{name} = {value}"))
        .collect();
    (!differing.is_empty()).then(|| {
        format!(
            "needs {} (a running server is taken to have the spec's defaults; run without \
             --server to get an in-process mock with these settings)",
            differing.join(", ")
        )
    })
}

// ---- HTTP --------------------------------------------------------------------------------

/// What a server answered.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    /// `Null` when the body was not JSON.
    body: Value,
    text: String,
}

impl Answer {
    fn field(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    fn is_success(&self) -> bool {
        self.status == 200 && self.field("result") == Some("success")
    }

    /// `409 USER_BUSY: "King Hamlet is currently in another call"`, `200`, or the start of a
    /// body that is not JSON.
    fn describe(&self) -> String {
        if self.body.is_null() {
            let text: String = self.text.chars().take(120).collect();
            return format!("{} with a body that is not JSON: {text:?}", self.status);
        }
        match (self.field("result"), self.field("code")) {
            (Some("error"), code) => {
                let msg = self.field("msg").or(self.field("message")).unwrap_or("");
                format!("{} {}: {msg:?}", self.status, code.unwrap_or("(no code)"))
            }
            _ => self.status.to_string(),
        }
    }

    /// A route the server does not have: the JSON 404 of an unknown path, or 405.
    fn route_missing(&self) -> bool {
        self.status == 405 || (self.status == 404 && self.field("msg") == Some("Not Found"))
    }
}

/// An actor's credentials and id.
#[derive(Debug, Clone)]
struct Identity {
    email: String,
    api_key: String,
    user_id: i64,
}

#[derive(Debug)]
struct Http {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// Whom a request is sent as.
enum As<'a> {
    User(&'a Identity),
    Nobody,
    Control,
}

impl Http {
    fn new(base: &str, token: Option<String>) -> Result<Http, String> {
        let mut builder = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT);
        // A proxy from the environment must not swallow requests to this machine.
        let local = url::Url::parse(base).ok().is_some_and(|u| match u.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        });
        if local {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Http {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Sends a request; parameters go in the query for GET and DELETE, in a form (or JSON)
    /// body otherwise.
    async fn send(
        &self,
        who: As<'_>,
        method: reqwest::Method,
        path: &str,
        params: &Map<String, Value>,
        json_body: bool,
        timeout: Duration,
    ) -> Result<Option<Answer>, String> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.request(method.clone(), &url).timeout(timeout);
        request = match who {
            As::User(id) => request.basic_auth(&id.email, Some(&id.api_key)),
            As::Nobody => request,
            As::Control => match &self.token {
                Some(token) => request.bearer_auth(token),
                None => request,
            },
        };
        let pairs: Vec<(String, String)> = params
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), form_value(v)))
            .collect();
        request = if json_body {
            request.json(params)
        } else if matches!(method, reqwest::Method::GET | reqwest::Method::DELETE) {
            request.query(&pairs)
        } else {
            request.form(&pairs)
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) if err.is_timeout() => return Ok(None),
            Err(err) => return Err(transport_error(&self.base, &err)),
        };
        let status = response.status().as_u16();
        let text = match response.text().await {
            Ok(text) => text,
            Err(err) if err.is_timeout() => return Ok(None),
            Err(err) => return Err(transport_error(&self.base, &err)),
        };
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Some(Answer { status, body, text }))
    }

    /// [`Http::send`] where running out of time is a failure.
    async fn call(
        &self,
        who: As<'_>,
        method: reqwest::Method,
        path: &str,
        params: &Map<String, Value>,
        json_body: bool,
    ) -> Result<Answer, String> {
        let what = format!("{method} {path}");
        self.send(who, method, path, params, json_body, REQUEST_TIMEOUT)
            .await?
            .ok_or_else(|| format!("{what}: no answer within {} s", REQUEST_TIMEOUT.as_secs()))
    }

    async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        params: &Map<String, Value>,
    ) -> Result<Answer, String> {
        let json_body = method == reqwest::Method::POST;
        self.call(
            As::Control,
            method,
            &format!("{CONTROL}{path}"),
            params,
            json_body,
        )
        .await
    }
}

/// One line for a failed request: the innermost cause says most.
fn transport_error(base: &str, err: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    format!("cannot reach the server at {base}: {cause}")
}

fn api_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{API_PREFIX}{path}")
    }
}

fn params(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The answer to a control request, or why its step is skipped or failed.
fn control_answer(answer: Answer, what: &str) -> Result<Answer, Status> {
    if answer.route_missing() {
        return Err(Status::Skipped(format!("the server has no {what}")));
    }
    if answer.status == 409 && answer.field("code") == Some("CLOCK_NOT_VIRTUAL") {
        return Err(Status::Skipped(
            "the server's clock is not virtual (start it with `serve --virtual-clock`)".into(),
        ));
    }
    if !answer.is_success() {
        return Err(Status::Failed(format!(
            "{what} answered {}",
            answer.describe()
        )));
    }
    Ok(answer)
}

// ---- the session -------------------------------------------------------------------------

/// An event queue of one actor's device, and every event it delivered.
#[derive(Debug)]
struct Device {
    actor: String,
    name: String,
    queue_id: Option<String>,
    last_event_id: i64,
    log: Vec<Value>,
    /// `wait_event` looks from here on; each match moves it past the matched event.
    cursor: usize,
}

struct Session<'a> {
    http: Http,
    scenario: &'a Scenario,
    caps: Capabilities,
    vars: Vars,
    identities: BTreeMap<String, Identity>,
    devices: Vec<Device>,
    lifespan_seconds: f64,
    remote: bool,
}

type StepResult = Result<(), Status>;

fn fail(message: impl Into<String>) -> Status {
    Status::Failed(message.into())
}

impl<'a> Session<'a> {
    async fn run(&mut self, options: &Options, report: &mut ScenarioReport) {
        if !options.no_control {
            match self.probe().await {
                Ok(caps) => self.caps = caps,
                Err(err) => {
                    report.error = Some(err);
                    return;
                }
            }
        }
        tracing::debug!(scenario = %self.scenario.name, caps = ?self.caps, "running");
        if self.remote && self.caps.control {
            let reset = self
                .http
                .control(reqwest::Method::POST, "/reset", &Map::new())
                .await
                .and_then(|a| {
                    if a.is_success() || a.route_missing() {
                        Ok(())
                    } else {
                        Err(format!("POST /mock/v1/reset answered {}", a.describe()))
                    }
                });
            if let Err(err) = reset {
                report.error = Some(err);
                return;
            }
        }
        if let Err(err) = self.setup(options).await {
            report.error = Some(err);
            return;
        }
        let mut failed = false;
        let mut cut: Option<String> = None;
        let scenario: &'a Scenario = self.scenario;
        for step in &scenario.steps {
            let title = step.title();
            if failed {
                report.not_run += 1;
                continue;
            }
            if let Some(reason) = &cut {
                report.steps.push(StepReport {
                    number: Some(step.number),
                    title,
                    status: Status::Skipped(reason.clone()),
                    duration: Duration::ZERO,
                });
                continue;
            }
            let started = Instant::now();
            let status = match self.caps.skip_reason(&step.action) {
                Some(reason) => Status::Skipped(reason),
                None => match self.step(step).await {
                    Ok(()) => Status::Passed,
                    Err(status) => status,
                },
            };
            match &status {
                Status::Failed(_) => failed = true,
                Status::Skipped(reason) if step.action.changes_server() => {
                    report.skipped = Some(format!("from step {}: {reason}", step.number));
                    cut = Some(format!(
                        "step {} was skipped and this one depends on it",
                        step.number
                    ));
                }
                _ => {}
            }
            report.steps.push(StepReport {
                number: Some(step.number),
                title,
                status,
                duration: started.elapsed(),
            });
        }
        if !failed && cut.is_none() && !self.scenario.expect_events.is_empty() {
            let started = Instant::now();
            let status = match self.check_expected_events().await {
                Ok(()) => Status::Passed,
                Err(status) => status,
            };
            let actors: Vec<&str> = self
                .scenario
                .expect_events
                .iter()
                .map(|e| e.actor.as_str())
                .collect();
            let mut actors = actors;
            actors.dedup();
            report.steps.push(StepReport {
                number: None,
                title: format!("events in order ({})", actors.join(", ")),
                status,
                duration: started.elapsed(),
            });
        }
    }

    /// What the server offers: `GET /mock/v1/clock` answers on a mock with the control API.
    async fn probe(&self) -> Result<Capabilities, String> {
        let answer = self
            .http
            .control(reqwest::Method::GET, "/clock", &Map::new())
            .await?;
        if answer.status == 401 || answer.status == 403 {
            return Err(format!(
                "the control API refused the runner: {} (give its token with --token or \
                 MOCK_ADMIN_TOKEN)",
                answer.describe()
            ));
        }
        if !answer.is_success() {
            return Ok(Capabilities::default());
        }
        Ok(Capabilities {
            control: true,
            virtual_clock: answer.body.get("virtual").and_then(Value::as_bool) == Some(true),
        })
    }

    /// Signs every actor in and registers a queue for each device.
    async fn setup(&mut self, options: &Options) -> Result<(), String> {
        let mut known_keys: BTreeMap<String, String> = BTreeMap::new();
        if self.caps.control
            && self
                .scenario
                .actors
                .iter()
                .any(|a| a.credential == Credential::Lookup)
        {
            let answer = self
                .http
                .control(reqwest::Method::GET, "/users", &Map::new())
                .await?;
            if answer.is_success() {
                for user in answer
                    .body
                    .get("users")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let (Some(email), Some(key)) = (
                        user.get("email").and_then(Value::as_str),
                        user.get("api_key").and_then(Value::as_str),
                    ) {
                        known_keys.insert(email.to_lowercase(), key.to_owned());
                    }
                }
            }
        }
        for actor in &self.scenario.actors {
            let api_key = match &actor.credential {
                Credential::ApiKey(key) => key.clone(),
                Credential::Password(password) => {
                    self.fetch_api_key(&actor.email, password).await?
                }
                Credential::Lookup => match known_keys.get(&actor.email.to_lowercase()) {
                    Some(key) => key.clone(),
                    None => match &options.password {
                        Some(password) => self.fetch_api_key(&actor.email, password).await?,
                        None if self.caps.control => {
                            return Err(format!(
                                "actor {}: the server has no user {}",
                                actor.name, actor.email
                            ));
                        }
                        None => {
                            return Err(format!(
                                "actor {}: no API key for {}: the server has no control API to \
                                 look it up; write `{} = {{ email = \"{}\", api_key = \"...\" }}` \
                                 or run with --password",
                                actor.name, actor.email, actor.name, actor.email
                            ));
                        }
                    },
                },
            };
            let mut identity = Identity {
                email: actor.email.clone(),
                api_key,
                user_id: 0,
            };
            let me = self
                .http
                .call(
                    As::User(&identity),
                    reqwest::Method::GET,
                    &api_path("users/me"),
                    &Map::new(),
                    false,
                )
                .await?;
            if !me.is_success() {
                return Err(format!(
                    "actor {}: GET users/me as {} answered {}",
                    actor.name,
                    actor.email,
                    me.describe()
                ));
            }
            identity.user_id = me.body.get("user_id").and_then(Value::as_i64).unwrap_or(0);
            if let Some(email) = me.field("email") {
                identity.email = email.to_owned();
            }
            let name = &actor.name;
            self.vars
                .set(format!("{name}.email"), json!(identity.email));
            self.vars
                .set(format!("{name}.user_id"), json!(identity.user_id));
            self.vars.set(
                format!("{name}.full_name"),
                me.body.get("full_name").cloned().unwrap_or(Value::Null),
            );
            self.vars
                .set(format!("{name}.api_key"), json!(identity.api_key));
            self.identities.insert(name.clone(), identity);
            for device in &actor.devices {
                self.devices.push(Device {
                    actor: name.clone(),
                    name: device.clone(),
                    queue_id: None,
                    last_event_id: -1,
                    log: Vec::new(),
                    cursor: 0,
                });
            }
        }
        for index in 0..self.devices.len() {
            self.register(index).await.map_err(|s| match s {
                Status::Failed(why) | Status::Skipped(why) => why,
                Status::Passed => String::new(),
            })?;
        }
        Ok(())
    }

    async fn fetch_api_key(&self, email: &str, password: &str) -> Result<String, String> {
        let answer = self
            .http
            .call(
                As::Nobody,
                reqwest::Method::POST,
                &api_path("fetch_api_key"),
                &params(&[("username", json!(email)), ("password", json!(password))]),
                false,
            )
            .await?;
        match answer.field("api_key") {
            Some(key) if answer.is_success() => Ok(key.to_owned()),
            _ => Err(format!(
                "POST fetch_api_key for {email} answered {}",
                answer.describe()
            )),
        }
    }

    /// Deletes the queues; on a server that cannot be reset, also ends every call the actors
    /// still have, so the next scenario does not find them busy.
    async fn teardown(&mut self) {
        for device in &self.devices {
            let (Some(queue), Some(id)) = (&device.queue_id, self.identities.get(&device.actor))
            else {
                continue;
            };
            let _ = self
                .http
                .send(
                    As::User(id),
                    reqwest::Method::DELETE,
                    &api_path("events"),
                    &params(&[("queue_id", json!(queue))]),
                    false,
                    Duration::from_secs(5),
                )
                .await;
        }
        if self.remote && !self.caps.control {
            for id in self.identities.values() {
                let _ = self
                    .http
                    .send(
                        As::User(id),
                        reqwest::Method::POST,
                        &api_path("calls/end-all"),
                        &Map::new(),
                        false,
                        Duration::from_secs(5),
                    )
                    .await;
            }
        }
    }

    fn identity(&self, actor: &str) -> Result<&Identity, Status> {
        self.identities
            .get(actor)
            .ok_or_else(|| fail(format!("actor {actor} is not signed in")))
    }

    fn device_index(&self, device: &DeviceRef) -> Result<usize, Status> {
        self.devices
            .iter()
            .position(|d| d.actor == device.actor && d.name == device.device)
            .ok_or_else(|| fail(format!("{} has no queue", device.describe())))
    }

    fn expand_text(&self, text: &str) -> Result<String, Status> {
        self.vars.expand_text(text).map_err(|e| fail(e.to_string()))
    }

    fn expand_map(&self, map: &Map<String, Value>) -> Result<Map<String, Value>, Status> {
        self.vars.expand_map(map).map_err(|e| fail(e.to_string()))
    }

    fn save(&mut self, save: &BTreeMap<String, String>, body: &Value, what: &str) -> StepResult {
        for (name, path) in save {
            let value = lookup(body, path)
                .ok_or_else(|| fail(format!("cannot save ${{{name}}}: {what} has no {path}")))?;
            self.vars.set(name.clone(), value.clone());
        }
        Ok(())
    }

    async fn step(&mut self, step: &Step) -> StepResult {
        tracing::debug!(step = step.number, action = step.action.keyword(), "step");
        match &step.action {
            Action::Request(r) => self.request(r).await,
            Action::WaitEvent(w) => self.wait_event(w).await,
            Action::ExpectCall(c) => self.expect_call(c).await,
            Action::PollEvents(p) => self.poll_events(p).await,
            Action::Register(d) => {
                let index = self.device_index(d)?;
                self.register(index).await
            }
            Action::AdvanceClock(a) => self.advance_clock(a).await,
            Action::Fault(f) => self.fault(f).await,
            Action::ExpectPushes(p) => self.expect_pushes(p).await,
            Action::WaitFor(w) => self.wait_for(w).await,
            Action::Verify(v) => self.verify(v).await,
            Action::Reset => self.reset().await,
            Action::ExpireQueues(e) => self.expire_queues(e).await,
        }
    }

    async fn request(&mut self, r: &Request) -> StepResult {
        let mut params = self.expand_map(&r.params)?;
        let mut path = self.expand_text(&r.path)?;
        for name in &r.path_params {
            let value = params.remove(name).unwrap_or(Value::Null);
            path = path.replace(&format!("{{{name}}}"), &form_value(&value));
        }
        let answer = {
            let id = self.identity(&r.actor)?;
            self.http
                .call(
                    As::User(id),
                    r.method.clone(),
                    &api_path(&path),
                    &params,
                    r.json,
                )
                .await
                .map_err(fail)?
        };
        check_expect(&r.expect, &answer, &self.vars)?;
        self.save(&r.save, &answer.body, "the answer")
    }

    async fn register(&mut self, index: usize) -> StepResult {
        let device = &self.devices[index];
        let answer = {
            let id = self.identity(&device.actor)?;
            self.http
                .call(
                    As::User(id),
                    reqwest::Method::POST,
                    &api_path("register"),
                    &Map::new(),
                    false,
                )
                .await
                .map_err(fail)?
        };
        let device = &mut self.devices[index];
        match answer.field("queue_id") {
            Some(queue) if answer.is_success() => {
                device.queue_id = Some(queue.to_owned());
                device.last_event_id = answer
                    .body
                    .get("last_event_id")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1);
                Ok(())
            }
            _ => Err(fail(format!(
                "POST register as {} answered {}",
                device.actor,
                answer.describe()
            ))),
        }
    }

    /// Polls a device's queue once: at once (`wait` = `None`) or long-polling up to `wait`.
    /// Events are added to the device's log. `Ok(None)` when the long-poll ran out of time.
    async fn poll(
        &mut self,
        index: usize,
        wait: Option<Duration>,
    ) -> Result<Option<Answer>, Status> {
        let device = &self.devices[index];
        let Some(queue) = device.queue_id.clone() else {
            return Err(fail(format!("{} has no queue", device.actor)));
        };
        let query = params(&[
            ("queue_id", json!(queue)),
            ("last_event_id", json!(device.last_event_id)),
            ("dont_block", json!(wait.is_none())),
        ]);
        let answer = {
            let id = self.identity(&device.actor)?;
            self.http
                .send(
                    As::User(id),
                    reqwest::Method::GET,
                    &api_path("events"),
                    &query,
                    false,
                    wait.unwrap_or(REQUEST_TIMEOUT),
                )
                .await
                .map_err(fail)?
        };
        let Some(answer) = answer else {
            return Ok(None);
        };
        if answer.is_success() {
            let device = &mut self.devices[index];
            for event in answer
                .body
                .get("events")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(id) = event.get("id").and_then(Value::as_i64) {
                    device.last_event_id = device.last_event_id.max(id);
                }
                device.log.push(event.clone());
            }
        }
        Ok(Some(answer))
    }

    fn expand_pattern(&self, pattern: &EventPattern) -> Result<ExpandedPattern, Status> {
        Ok(ExpandedPattern {
            kind: pattern.kind.clone(),
            call: pattern
                .call
                .as_deref()
                .map(|c| self.expand_text(c))
                .transpose()?,
            fields: Value::Object(self.expand_map(&pattern.fields)?),
            text: pattern.describe(),
        })
    }

    async fn wait_event(&mut self, w: &WaitEvent) -> StepResult {
        let index = self.device_index(&w.device)?;
        let pattern = self.expand_pattern(&w.pattern)?;
        let deadline = Instant::now() + Duration::from_secs_f64(w.within_seconds);
        loop {
            let device = &mut self.devices[index];
            if let Some(offset) = device.log[device.cursor..]
                .iter()
                .position(|e| pattern.matches(e).is_ok())
            {
                let at = device.cursor + offset;
                device.cursor = at + 1;
                let event = device.log[at].clone();
                return self.save(&w.save, &event, "the event");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let device = &self.devices[index];
                return Err(fail(missed_event(
                    &w.device,
                    &pattern,
                    &device.log[device.cursor..],
                    w.within_seconds,
                )));
            }
            match self.poll(index, Some(left)).await? {
                Some(answer) if !answer.is_success() => {
                    return Err(fail(format!(
                        "polling {}'s queue answered {}",
                        w.device.describe(),
                        answer.describe()
                    )));
                }
                _ => {}
            }
        }
    }

    async fn expect_call(&mut self, c: &ExpectCall) -> StepResult {
        let call = self.expand_text(&c.call)?;
        let path = api_path(&format!("calls/{call}"));
        let answer = {
            let id = self.identity(&c.actor)?;
            self.http
                .call(
                    As::User(id),
                    reqwest::Method::GET,
                    &path,
                    &Map::new(),
                    false,
                )
                .await
                .map_err(fail)?
        };
        if !answer.is_success() {
            return Err(fail(format!("GET {path} answered {}", answer.describe())));
        }
        let object = answer.body.get("call").cloned().unwrap_or(Value::Null);
        if let Some(state) = &c.state {
            let actual = object
                .get("state")
                .and_then(Value::as_str)
                .unwrap_or("(none)");
            if actual != state {
                let reason = object
                    .get("end_reason")
                    .and_then(Value::as_str)
                    .map(|r| format!(" (end_reason {r})"))
                    .unwrap_or_default();
                return Err(fail(format!(
                    "expected the call to be {state}, got {actual}{reason}"
                )));
            }
        }
        let fields = Value::Object(self.expand_map(&c.fields)?);
        match_value(&fields, &object).map_err(|m| fail(format!("{m} (in the call)")))
    }

    async fn poll_events(&mut self, p: &PollEvents) -> StepResult {
        let index = self.device_index(&p.device)?;
        let answer = self
            .poll(index, None)
            .await?
            .ok_or_else(|| fail("the poll got no answer in time"))?;
        check_expect(&p.expect, &answer, &self.vars)
    }

    async fn advance_clock(&mut self, a: &AdvanceClock) -> StepResult {
        let chunk = if a.keep_queues {
            (self.lifespan_seconds / 2.0).max(1.0)
        } else {
            a.seconds.max(f64::MIN_POSITIVE)
        };
        let mut left = a.seconds;
        loop {
            let now = left.min(chunk);
            let answer = self
                .http
                .control(
                    reqwest::Method::POST,
                    "/clock/advance",
                    &params(&[("seconds", json!(now))]),
                )
                .await
                .map_err(fail)?;
            control_answer(answer, "POST /mock/v1/clock/advance")?;
            left -= now;
            if a.keep_queues {
                // A connected client keeps its queues alive; errors show in later steps.
                for index in 0..self.devices.len() {
                    if self.devices[index].queue_id.is_some() {
                        let _ = self.poll(index, None).await;
                    }
                }
            }
            if left <= 1e-9 {
                return Ok(());
            }
        }
    }

    async fn fault(&mut self, f: &Fault) -> StepResult {
        let mut body = Map::new();
        body.insert("action".into(), Value::Object(self.expand_map(&f.action)?));
        if let Some(method) = &f.method {
            body.insert("method".into(), json!(method));
        }
        if let Some(path) = &f.path {
            body.insert("path".into(), json!(self.expand_text(path)?));
        }
        if let Some(actor) = &f.actor {
            body.insert("user".into(), json!(self.identity(actor)?.user_id));
        }
        if let Some(times) = f.times {
            body.insert("times".into(), json!(times));
        }
        let answer = self
            .http
            .control(reqwest::Method::POST, "/faults", &body)
            .await
            .map_err(fail)?;
        let answer = control_answer(answer, "POST /mock/v1/faults")?;
        self.save(&f.save, &answer.body, "the answer")
    }

    async fn expect_pushes(&mut self, p: &ExpectPushes) -> StepResult {
        let user_id = self.identity(&p.actor)?.user_id;
        let call = p.call.as_deref().map(|c| self.expand_text(c)).transpose()?;
        let mut query = params(&[("user", json!(user_id))]);
        if let Some(call) = &call {
            query.insert("call_id".into(), json!(call));
        }
        if let Some(event) = &p.event {
            query.insert("event".into(), json!(event));
        }
        let answer = self
            .http
            .control(reqwest::Method::GET, "/pushes", &query)
            .await
            .map_err(fail)?;
        let answer = control_answer(answer, "GET /mock/v1/pushes")?;
        // Filtered here as well, so an older outbox that ignores a filter is still read right.
        let events: Vec<String> = answer
            .body
            .get("pushes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|push| push.get("user_id").and_then(Value::as_i64) == Some(user_id))
            .filter(|push| {
                call.as_deref()
                    .is_none_or(|c| push.get("call_id").and_then(Value::as_str) == Some(c))
            })
            .filter(|push| {
                p.event
                    .as_deref()
                    .is_none_or(|e| push.get("event").and_then(Value::as_str) == Some(e))
            })
            .map(|push| {
                push.get("event")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned()
            })
            .collect();
        let whose = format!("pushes to {}", p.actor);
        if let Some(expected) = &p.events {
            if &events != expected {
                return Err(fail(format!(
                    "expected {whose} [{}], got [{}]",
                    expected.join(", "),
                    events.join(", ")
                )));
            }
        } else if let Some(count) = p.count {
            if events.len() as u64 != count {
                return Err(fail(format!(
                    "expected {count} {whose}, got {}: [{}]",
                    events.len(),
                    events.join(", ")
                )));
            }
        } else if events.is_empty() {
            return Err(fail(format!("expected {whose}, got none")));
        }
        Ok(())
    }

    async fn wait_for(&mut self, w: &WaitFor) -> StepResult {
        let seconds = w.timeout_seconds.unwrap_or(DEFAULT_WAIT_FOR_SECONDS);
        let body = params(&[
            ("condition", Value::Object(self.expand_map(&w.condition)?)),
            ("timeout_seconds", json!(seconds)),
        ]);
        let answer = self
            .http
            .send(
                As::Control,
                reqwest::Method::POST,
                &format!("{CONTROL}/wait-for"),
                &body,
                true,
                Duration::from_secs_f64(seconds) + Duration::from_secs(10),
            )
            .await
            .map_err(fail)?
            .ok_or_else(|| {
                fail(format!(
                    "POST /mock/v1/wait-for: no answer after {} s",
                    seconds_text(seconds)
                ))
            })?;
        if answer.status == 408 {
            let last = answer
                .body
                .get("last_seen")
                .map(|v| format!("; last seen: {}", short(v)))
                .unwrap_or_default();
            return Err(fail(format!(
                "{}{last}",
                answer.field("msg").unwrap_or("the wait timed out")
            )));
        }
        let answer = control_answer(answer, "POST /mock/v1/wait-for")?;
        self.save(&w.save, &answer.body, "the answer")
    }

    async fn verify(&mut self, v: &Verify) -> StepResult {
        let mut body = self.expand_map(&v.pattern)?;
        for (key, value) in [
            ("count", v.count),
            ("at_least", v.at_least),
            ("at_most", v.at_most),
        ] {
            if let Some(value) = value {
                body.insert(key.into(), json!(value));
            }
        }
        let answer = self
            .http
            .control(reqwest::Method::POST, "/journal/verify", &body)
            .await
            .map_err(fail)?;
        if answer.status == 409 && answer.field("code") == Some("VERIFICATION_FAILED") {
            let matched = answer
                .body
                .get("matched")
                .map_or("?".to_owned(), Value::to_string);
            let wanted = match (v.count, v.at_least, v.at_most) {
                (Some(n), _, _) => format!("exactly {n}"),
                (_, Some(n), Some(m)) => format!("{n} to {m}"),
                (_, Some(n), None) => format!("at least {n}"),
                (_, None, Some(m)) => format!("at most {m}"),
                _ => "at least 1".to_owned(),
            };
            let nearest = answer
                .body
                .get("near_misses")
                .and_then(Value::as_array)
                .and_then(|misses| misses.first())
                .and_then(|miss| miss.get("differences"))
                .and_then(Value::as_array)
                .map(|diffs| {
                    let texts: Vec<&str> = diffs.iter().filter_map(Value::as_str).collect();
                    format!("\nnearest request: {}", texts.join("; "))
                })
                .unwrap_or_default();
            return Err(fail(format!(
                "expected {wanted} matching requests in the journal, got {matched}{nearest}"
            )));
        }
        control_answer(answer, "POST /mock/v1/journal/verify").map(|_| ())
    }

    async fn reset(&mut self) -> StepResult {
        let answer = self
            .http
            .control(reqwest::Method::POST, "/reset", &Map::new())
            .await
            .map_err(fail)?;
        control_answer(answer, "POST /mock/v1/reset")?;
        // The reset dropped every queue: register new ones, as a client would.
        for index in 0..self.devices.len() {
            self.devices[index].last_event_id = -1;
            self.register(index).await?;
        }
        Ok(())
    }

    async fn expire_queues(&mut self, e: &ExpireQueues) -> StepResult {
        let path = match &e.device {
            Some(device) => {
                let index = self.device_index(&DeviceRef {
                    actor: e.actor.clone(),
                    device: device.clone(),
                })?;
                let queue = self.devices[index]
                    .queue_id
                    .clone()
                    .ok_or_else(|| fail(format!("{}'s {device} has no queue", e.actor)))?;
                format!("/queues/{queue}/expire")
            }
            None => format!("/users/{}/queues/expire", self.identity(&e.actor)?.user_id),
        };
        let answer = self
            .http
            .control(reqwest::Method::POST, &path, &Map::new())
            .await
            .map_err(fail)?;
        control_answer(answer, &format!("POST /mock/v1{path}")).map(|_| ())
    }

    /// Checks `[expect_events]` against everything each device received (after one last poll).
    async fn check_expected_events(&mut self) -> StepResult {
        for index in 0..self.devices.len() {
            if self.devices[index].queue_id.is_some() {
                let _ = self.poll(index, None).await;
            }
        }
        let mut problems = Vec::new();
        for expectation in &self.scenario.expect_events {
            let patterns: Vec<ExpandedPattern> = expectation
                .patterns
                .iter()
                .map(|p| self.expand_pattern(p))
                .collect::<Result<_, _>>()?;
            for device in self.devices.iter().filter(|d| {
                d.actor == expectation.actor
                    && expectation
                        .device
                        .as_ref()
                        .is_none_or(|name| &d.name == name)
            }) {
                if let Some(problem) = subsequence_problem(&patterns, &device.log) {
                    let who = DeviceRef {
                        actor: device.actor.clone(),
                        device: device.name.clone(),
                    };
                    problems.push(format!("{}: {problem}", who.describe()));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(fail(problems.join("\n")))
        }
    }
}

/// Checks an answer against `expect`.
fn check_expect(expect: &Expect, answer: &Answer, vars: &Vars) -> StepResult {
    let status = expect.status.or(if expect.code.is_none() {
        Some(200)
    } else {
        None
    });
    if let Some(status) = status
        && answer.status != status
    {
        let code = expect
            .code
            .as_deref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        return Err(fail(format!(
            "expected status {status}{code}, got {}",
            answer.describe()
        )));
    }
    if let Some(code) = &expect.code
        && answer.field("code") != Some(code.as_str())
    {
        return Err(fail(format!(
            "expected code {code}, got {}",
            answer.describe()
        )));
    }
    if let Some(msg) = &expect.msg {
        let msg = vars.expand_text(msg).map_err(|e| fail(e.to_string()))?;
        let actual = answer.field("msg").unwrap_or("");
        if actual != msg {
            return Err(fail(format!("expected msg {msg:?}, got {actual:?}")));
        }
    }
    let fields = vars
        .expand(&Value::Object(expect.fields.clone()))
        .map_err(|e| fail(e.to_string()))?;
    if answer.body.is_null() && !expect.fields.is_empty() {
        return Err(fail(format!(
            "expected a JSON body, got {}",
            answer.describe()
        )));
    }
    match_value(&fields, &answer.body).map_err(|m| fail(m.to_string()))?;
    for key in &expect.absent {
        if let Some(value) = lookup(&answer.body, key) {
            return Err(fail(format!(
                "expected no {key} in the answer, got {key} = {}",
                short(value)
            )));
        }
    }
    Ok(())
}

/// An event pattern with its variables filled in.
#[derive(Debug)]
struct ExpandedPattern {
    kind: String,
    call: Option<String>,
    fields: Value,
    /// The pattern as written, for messages.
    text: String,
}

/// An event's name: its `event_type`, or its `type` when it has none.
fn event_name(event: &Value) -> &str {
    event
        .get("event_type")
        .and_then(Value::as_str)
        .or_else(|| event.get("type").and_then(Value::as_str))
        .unwrap_or("?")
}

impl ExpandedPattern {
    /// `Ok` when `event` matches; otherwise how it differs (`None` when it is another kind).
    fn matches(&self, event: &Value) -> Result<(), Option<String>> {
        if event_name(event) != self.kind {
            return Err(None);
        }
        if let Some(call) = &self.call
            && event.get("call_id").and_then(Value::as_str) != Some(call.as_str())
        {
            return Err(Some(format!(
                "call_id {} is another call",
                event.get("call_id").map_or("(none)".to_owned(), short)
            )));
        }
        match_value(&self.fields, event).map_err(|m| Some(m.to_string()))
    }
}

/// The events a device got, by name (heartbeats left out).
fn names(events: &[Value]) -> String {
    let names: Vec<&str> = events
        .iter()
        .map(event_name)
        .filter(|n| *n != "heartbeat")
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn missed_event(
    device: &DeviceRef,
    pattern: &ExpandedPattern,
    seen: &[Value],
    within: f64,
) -> String {
    let near = seen
        .iter()
        .filter_map(|e| pattern.matches(e).err().flatten())
        .next()
        .map(|why| format!("\na {} came, but {why}", pattern.kind))
        .unwrap_or_default();
    format!(
        "expected {} to receive {} within {} s; it received: {}{near}",
        device.describe(),
        pattern.text,
        seconds_text(within),
        names(seen)
    )
}

/// Why `patterns` are not a subsequence of `events`, if they are not.
fn subsequence_problem(patterns: &[ExpandedPattern], events: &[Value]) -> Option<String> {
    let mut from = 0;
    for (i, pattern) in patterns.iter().enumerate() {
        match events[from..]
            .iter()
            .position(|e| pattern.matches(e).is_ok())
        {
            Some(offset) => from += offset + 1,
            None => {
                let after = match i.checked_sub(1) {
                    Some(previous) => format!(" after {}", patterns[previous].text),
                    None => String::new(),
                };
                return Some(format!(
                    "expected {}{after} (event {} of {} in order); received: {}",
                    pattern.text,
                    i + 1,
                    patterns.len(),
                    names(events)
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::model::parse;

    fn action(text: &str) -> Action {
        let file =
            format!("name = \"t\"\n[actors]\nhamlet = \"hamlet@zulip.com\"\n[[step]]\n{text}\n");
        parse(Path::new("t.toml"), &file)
            .unwrap()
            .steps
            .remove(0)
            .action
    }

    #[test]
    fn without_a_control_api_only_api_steps_run() {
        let none = Capabilities::default();
        let control = Capabilities {
            control: true,
            virtual_clock: false,
        };
        let full = Capabilities {
            control: true,
            virtual_clock: true,
        };
        let request = action("request = \"calls/active\"\nactor = \"hamlet\"");
        let clock = action("advance_clock = 30");
        let pushes = action("expect_pushes = \"hamlet\"");
        let reset = action("reset = true");
        for caps in [none, control, full] {
            assert_eq!(caps.skip_reason(&request), None);
        }
        assert_eq!(
            none.skip_reason(&pushes).as_deref(),
            Some("the server has no control API")
        );
        assert_eq!(
            none.skip_reason(&clock).as_deref(),
            Some("the server has no control API")
        );
        assert_eq!(control.skip_reason(&pushes), None);
        assert!(control.skip_reason(&clock).unwrap().contains("not virtual"));
        assert_eq!(full.skip_reason(&clock), None);
        // Skipping what changes the server skips the rest; skipping a look does not.
        assert!(clock.changes_server() && reset.changes_server());
        assert!(!pushes.changes_server() && !request.changes_server());
    }

    #[test]
    fn outcomes_follow_the_steps() {
        let scenario = parse(
            Path::new("t.toml"),
            "name = \"t\"\n[actors]\nh = \"h@z\"\n[[step]]\nreset = true\n",
        )
        .unwrap();
        let step = |status| StepReport {
            number: Some(1),
            title: "x".into(),
            status,
            duration: Duration::ZERO,
        };
        let mut report = ScenarioReport::new(&scenario);
        report.steps.push(step(Status::Passed));
        report
            .steps
            .push(step(Status::Skipped("no control API".into())));
        assert_eq!(report.outcome(), Outcome::Passed);
        report.skipped = Some("from step 2: no control API".into());
        assert_eq!(report.outcome(), Outcome::Skipped);
        report
            .steps
            .push(step(Status::Failed("expected a, got b".into())));
        assert_eq!(report.outcome(), Outcome::Failed);
        assert_eq!(report.failure().unwrap(), "step 1 (x): expected a, got b");
    }

    #[test]
    fn settings_other_than_the_defaults_skip_a_remote_run() {
        let load = |settings: &str| {
            parse(
                Path::new("t.toml"),
                &format!("name = \"t\"\n[settings]\n{settings}\n[actors]\nh = \"h@z\"\n[[step]]\nreset = true\n"),
            )
            .unwrap()
        };
        assert_eq!(settings_mismatch(&load("CALL_RING_TIMEOUT = 30")), None);
        let why =
            settings_mismatch(&load("CALL_RING_TIMEOUT = 10\nENABLE_AUDIO_CALLS = true")).unwrap();
        assert!(
            why.starts_with("needs CALL_RING_TIMEOUT = 10 (a running server"),
            "{why}"
        );
    }

    fn answer(status: u16, body: Value) -> Answer {
        Answer {
            status,
            text: body.to_string(),
            body,
        }
    }

    #[test]
    fn expectations_say_expected_and_actual() {
        let vars = Vars::new();
        let busy = answer(
            409,
            json!({"result": "error", "msg": "King Hamlet is currently in another call", "code": "USER_BUSY"}),
        );
        let err = check_expect(&Expect::default(), &busy, &vars).unwrap_err();
        assert_eq!(
            err,
            Status::Failed(
                "expected status 200, got 409 USER_BUSY: \"King Hamlet is currently in another call\""
                    .into()
            )
        );
        let want_caller_busy = Expect {
            code: Some("CALLER_BUSY".into()),
            ..Expect::default()
        };
        let err = check_expect(&want_caller_busy, &busy, &vars).unwrap_err();
        assert!(
            matches!(&err, Status::Failed(m) if m.starts_with("expected code CALLER_BUSY, got 409 USER_BUSY")),
            "{err:?}"
        );
        let hidden = Expect {
            status: Some(409),
            absent: vec!["existing_call_id".into()],
            ..Expect::default()
        };
        check_expect(&hidden, &busy, &vars).unwrap();
        let html = Answer {
            status: 502,
            body: Value::Null,
            text: "<html>bad gateway</html>".into(),
        };
        let err = check_expect(&Expect::default(), &html, &vars).unwrap_err();
        assert!(
            matches!(&err, Status::Failed(m) if m.contains("502 with a body that is not JSON")),
            "{err:?}"
        );
    }

    fn pattern(kind: &str, call: Option<&str>, fields: Value) -> ExpandedPattern {
        ExpandedPattern {
            kind: kind.into(),
            call: call.map(str::to_owned),
            fields,
            text: kind.into(),
        }
    }

    #[test]
    fn events_match_by_name_call_and_fields() {
        let ended = json!({"type": "call_event", "event_type": "call_ended", "call_id": "c1", "reason": "hangup", "id": 3});
        assert!(
            pattern("call_ended", Some("c1"), json!({"reason": "hangup"}))
                .matches(&ended)
                .is_ok()
        );
        assert_eq!(
            pattern("call_started", None, json!({})).matches(&ended),
            Err(None)
        );
        let why = pattern("call_ended", None, json!({"reason": "missed"}))
            .matches(&ended)
            .unwrap_err()
            .unwrap();
        assert_eq!(why, "expected reason = \"missed\", got \"hangup\"");
        assert!(
            pattern("heartbeat", None, json!({}))
                .matches(&json!({"type": "heartbeat", "id": 1}))
                .is_ok()
        );
    }

    #[test]
    fn order_is_a_subsequence() {
        let events: Vec<Value> = [
            "call_started",
            "participant_ringing",
            "call_accepted",
            "call_ended",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"type": "call_event", "event_type": t, "id": i}))
        .collect();
        let p = |names: &[&str]| -> Vec<ExpandedPattern> {
            names.iter().map(|n| pattern(n, None, json!({}))).collect()
        };
        assert_eq!(
            subsequence_problem(&p(&["call_started", "call_ended"]), &events),
            None
        );
        let problem =
            subsequence_problem(&p(&["call_accepted", "participant_ringing"]), &events).unwrap();
        assert!(
            problem.starts_with(
                "expected participant_ringing after call_accepted (event 2 of 2 in order); "
            ),
            "{problem}"
        );
        assert!(
            problem.ends_with(
                "received: call_started, participant_ringing, call_accepted, call_ended"
            ),
            "{problem}"
        );
    }

    #[test]
    fn a_missed_event_names_what_came_instead() {
        let seen = vec![
            json!({"type": "call_event", "event_type": "call_started", "call_id": "c1"}),
            json!({"type": "heartbeat"}),
            json!({"type": "call_event", "event_type": "call_ended", "call_id": "c1", "reason": "cancelled"}),
        ];
        let text = missed_event(
            &DeviceRef {
                actor: "othello".into(),
                device: "phone".into(),
            },
            &pattern("call_ended", None, json!({"reason": "hangup"})),
            &seen,
            5.0,
        );
        assert_eq!(
            text,
            "expected othello (phone) to receive call_ended within 5 s; it received: call_started, call_ended\n\
             a call_ended came, but expected reason = \"hangup\", got \"cancelled\""
        );
    }
}

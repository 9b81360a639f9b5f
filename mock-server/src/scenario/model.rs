//! Scenario files: TOML with `name`, `description`, `[actors]`, optional `[settings]` and
//! `[expect_events]`, and ordered `[[step]]`s. Each step names its action by one key that also
//! carries the action's main argument (`request = "POST calls/initiate"`,
//! `wait_event = "call_accepted"`, `advance_clock = 120`, ...).
//!
//! Everything is checked when the file is loaded — unknown keys, wrong types, unknown actors
//! and devices, unknown endpoints, variables used before a step saves them, settings the mock
//! would refuse — so a typo is a usage error naming the file, the step and the key, not a
//! failure halfway through a run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use toml::Spanned;
use zulip_calls_protocol::endpoint::{API_PREFIX, EndpointInfo, all_endpoints};
use zulip_calls_protocol::settings::Settings;

use super::vars::{self, NULL_VARIABLE};

/// The device name of an actor who declares none.
pub const DEFAULT_DEVICE: &str = "default";
/// How long `wait_event` waits when the step does not say.
pub const DEFAULT_WITHIN_SECONDS: f64 = 5.0;
/// The variables every actor provides, as `${<actor>.<field>}`.
pub const ACTOR_FIELDS: [&str; 4] = ["email", "user_id", "full_name", "api_key"];

/// Why a scenario file was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad TOML or a bad top-level key: toml's message, which shows the line.
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    /// A value that parsed but makes no sense.
    #[error("{}: {}{problem}", path.display(), Place { step: *step, line: *line, key: key.as_deref() })]
    Invalid {
        path: PathBuf,
        /// 1-based step number, when a step is to blame.
        step: Option<usize>,
        line: Option<usize>,
        /// The offending key (`expect.status`, `actors.hamlet`, ...).
        key: Option<String>,
        problem: String,
    },
}

/// `step 3 (line 20): key expect.status: ` or `key actors.hamlet: `.
struct Place<'a> {
    step: Option<usize>,
    line: Option<usize>,
    key: Option<&'a str>,
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(step) = self.step {
            write!(f, "step {step}")?;
            if let Some(line) = self.line {
                write!(f, " (line {line})")?;
            }
            f.write_str(": ")?;
        }
        if let Some(key) = self.key {
            write!(f, "key {key}: ")?;
        }
        Ok(())
    }
}

/// A loaded, checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    /// In the file's order of names (sorted).
    pub actors: Vec<Actor>,
    /// Spec §8 settings the scenario needs, by name, as text.
    pub settings: BTreeMap<String, String>,
    pub steps: Vec<Step>,
    pub expect_events: Vec<EventsExpectation>,
}

impl Scenario {
    pub fn actor(&self, name: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.name == name)
    }

    /// The settings of a server started for this scenario: the spec defaults with the
    /// scenario's `[settings]` applied.
    pub fn server_settings(
        &self,
    ) -> Result<Settings, zulip_calls_protocol::settings::SettingsError> {
        Settings::default().with_overrides(|name| self.settings.get(name).cloned())
    }
}

/// Someone acting in a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The scenario's name for them (`hamlet`).
    pub name: String,
    pub email: String,
    pub credential: Credential,
    /// One event queue is registered per device, in this order.
    pub devices: Vec<String>,
}

/// Where an actor's API key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// From the control API (`GET /mock/v1/users`), or `fetch_api_key` with `--password`.
    Lookup,
    ApiKey(String),
    /// `POST fetch_api_key` with this password.
    Password(String),
}

impl fmt::Debug for Credential {
    /// Secrets stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Credential::Lookup => "Lookup",
            Credential::ApiKey(_) => "ApiKey(..)",
            Credential::Password(_) => "Password(..)",
        })
    }
}

/// One step: where it is and what it does.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based.
    pub number: usize,
    pub line: Option<usize>,
    /// The step's `name`, when it has one.
    pub name: Option<String>,
    pub action: Action,
}

impl Step {
    /// What the report calls this step.
    pub fn title(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.action.describe())
    }
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    Request(Request),
    WaitEvent(WaitEvent),
    ExpectCall(ExpectCall),
    PollEvents(PollEvents),
    Register(DeviceRef),
    AdvanceClock(AdvanceClock),
    Fault(Fault),
    ExpectPushes(ExpectPushes),
    WaitFor(WaitFor),
    Verify(Verify),
    Reset,
    ExpireQueues(ExpireQueues),
}

/// What a step needs of the server beyond the Zulip and plugin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Works against any server.
    Api,
    /// The mock's control API.
    Control,
    /// The control API with a virtual clock.
    VirtualClock,
}

impl Action {
    /// The key that names the action in a file.
    pub fn keyword(&self) -> &'static str {
        match self {
            Action::Request(_) => "request",
            Action::WaitEvent(_) => "wait_event",
            Action::ExpectCall(_) => "expect_call",
            Action::PollEvents(_) => "poll_events",
            Action::Register(_) => "register",
            Action::AdvanceClock(_) => "advance_clock",
            Action::Fault(_) => "fault",
            Action::ExpectPushes(_) => "expect_pushes",
            Action::WaitFor(_) => "wait_for",
            Action::Verify(_) => "verify",
            Action::Reset => "reset",
            Action::ExpireQueues(_) => "expire_queues",
        }
    }

    pub fn need(&self) -> Need {
        match self {
            Action::Request(_)
            | Action::WaitEvent(_)
            | Action::ExpectCall(_)
            | Action::PollEvents(_)
            | Action::Register(_) => Need::Api,
            Action::AdvanceClock(_) => Need::VirtualClock,
            Action::Fault(_)
            | Action::ExpectPushes(_)
            | Action::WaitFor(_)
            | Action::Verify(_)
            | Action::Reset
            | Action::ExpireQueues(_) => Need::Control,
        }
    }

    /// Whether skipping this step leaves the server in a different state than the rest of the
    /// scenario assumes (time not moved, fault not armed, queues not expired): the remaining
    /// steps are then skipped too. Steps that only look (pushes, journal, waits) skip alone.
    pub fn changes_server(&self) -> bool {
        matches!(
            self,
            Action::AdvanceClock(_) | Action::Fault(_) | Action::Reset | Action::ExpireQueues(_)
        )
    }

    /// A one-line description for reports.
    pub fn describe(&self) -> String {
        match self {
            Action::Request(r) => format!("{}: {} {}", r.actor, r.method, r.path),
            Action::WaitEvent(w) => {
                let mut text = format!("{} receives {}", w.device.describe(), w.pattern.kind);
                if let Some(call) = &w.pattern.call {
                    text.push_str(&format!(" for {call}"));
                }
                text
            }
            Action::ExpectCall(c) => match &c.state {
                Some(state) => format!("{}: call {} is {state}", c.actor, c.call),
                None => format!("{}: call {}", c.actor, c.call),
            },
            Action::PollEvents(p) => format!("{} polls its queue", p.device.describe()),
            Action::Register(d) => format!("{} registers a new queue", d.describe()),
            Action::AdvanceClock(a) => format!("advance the clock {} s", seconds_text(a.seconds)),
            Action::Fault(f) => format!(
                "inject a fault ({}) on {} {}",
                f.action.get("kind").and_then(Value::as_str).unwrap_or("?"),
                f.method.as_deref().unwrap_or("*"),
                f.path.as_deref().unwrap_or("**")
            ),
            Action::ExpectPushes(p) => format!("pushes to {}", p.actor),
            Action::WaitFor(w) => format!(
                "wait for {}",
                w.condition
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("a condition")
            ),
            Action::Verify(v) => format!(
                "journal has {} {}",
                v.pattern
                    .get("method")
                    .and_then(Value::as_str)
                    .unwrap_or("*"),
                v.pattern
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or("**")
            ),
            Action::Reset => "reset the server".to_owned(),
            Action::ExpireQueues(e) => match &e.device {
                Some(device) => format!("expire {}'s {device} queue", e.actor),
                None => format!("expire {}'s queues", e.actor),
            },
        }
    }
}

/// `120`, `0.5`.
pub fn seconds_text(seconds: f64) -> String {
    if seconds.fract() == 0.0 && seconds.abs() < 1e15 {
        format!("{}", seconds as i64)
    } else {
        format!("{seconds}")
    }
}

/// An actor's device (event queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRef {
    pub actor: String,
    pub device: String,
}

impl DeviceRef {
    /// `hamlet` for an actor's only device, `othello (phone)` otherwise.
    pub fn describe(&self) -> String {
        if self.device == DEFAULT_DEVICE {
            self.actor.clone()
        } else {
            format!("{} ({})", self.actor, self.device)
        }
    }
}

/// A request to the Zulip or plugin API as an actor.
#[derive(Debug, Clone)]
pub struct Request {
    pub actor: String,
    pub method: reqwest::Method,
    /// Relative to `/api/v1/` unless it starts with `/`; may hold `${...}`.
    pub path: String,
    /// Parameters that fill `{name}` placeholders of a named endpoint's path.
    pub path_params: Vec<String>,
    pub params: Map<String, Value>,
    /// Send the parameters as a JSON body instead of a form.
    pub json: bool,
    pub expect: Expect,
    /// Variable name → path into the response.
    pub save: BTreeMap<String, String>,
}

/// What an answer must be.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// HTTP status; 200 when neither this nor `code` is given.
    pub status: Option<u16>,
    /// The error `code`.
    pub code: Option<String>,
    /// The exact `msg`.
    pub msg: Option<String>,
    /// Values in the body, matched partially (see `vars::match_value`).
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// Keys that must not be in the body.
    #[serde(default)]
    pub absent: Vec<String>,
}

/// Which events match: `kind` is the `event_type` (or the `type` of events without one, such
/// as `heartbeat`).
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern {
    pub kind: String,
    /// The event's `call_id`.
    pub call: Option<String>,
    pub fields: Map<String, Value>,
}

impl EventPattern {
    /// `call_ended` or `call_ended {reason: "hangup"}`.
    pub fn describe(&self) -> String {
        let mut extra: Vec<String> = Vec::new();
        if let Some(call) = &self.call {
            extra.push(format!("call_id: {call}"));
        }
        extra.extend(
            self.fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", vars::short(v))),
        );
        if extra.is_empty() {
            self.kind.clone()
        } else {
            format!("{} {{{}}}", self.kind, extra.join(", "))
        }
    }
}

#[derive(Debug, Clone)]
pub struct WaitEvent {
    pub device: DeviceRef,
    pub pattern: EventPattern,
    pub within_seconds: f64,
    pub save: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct ExpectCall {
    pub actor: String,
    pub call: String,
    pub state: Option<String>,
    /// Matched against the `call` object.
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct PollEvents {
    pub device: DeviceRef,
    pub expect: Expect,
}

#[derive(Debug, Clone)]
pub struct AdvanceClock {
    pub seconds: f64,
    /// Poll every queue at least every half `EVENT_QUEUE_LIFESPAN` of the advance, as a
    /// connected client would, so a long advance does not expire them.
    pub keep_queues: bool,
}

#[derive(Debug, Clone)]
pub struct Fault {
    /// The control API's `action` object.
    pub action: Map<String, Value>,
    pub method: Option<String>,
    pub path: Option<String>,
    /// An actor's name.
    pub actor: Option<String>,
    pub times: Option<u32>,
    pub save: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct ExpectPushes {
    /// The recipient.
    pub actor: String,
    pub call: Option<String>,
    pub event: Option<String>,
    /// Exactly these push events, in order.
    pub events: Option<Vec<String>>,
    /// Exactly this many pushes.
    pub count: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct WaitFor {
    pub condition: Map<String, Value>,
    pub timeout_seconds: Option<f64>,
    pub save: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Verify {
    /// The request pattern.
    pub pattern: Map<String, Value>,
    pub count: Option<u64>,
    pub at_least: Option<u64>,
    pub at_most: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ExpireQueues {
    pub actor: String,
    /// Only this device's queue; all the actor's queues when absent.
    pub device: Option<String>,
}

/// The events some devices must have received, in order (extra events in between are fine).
#[derive(Debug, Clone)]
pub struct EventsExpectation {
    pub actor: String,
    /// Every device of the actor must match when `None`.
    pub device: Option<String>,
    pub patterns: Vec<EventPattern>,
}

// ---- loading -----------------------------------------------------------------------------

/// The step keywords, in the order the documentation lists them.
pub const ACTIONS: [&str; 12] = [
    "request",
    "wait_event",
    "expect_call",
    "poll_events",
    "register",
    "advance_clock",
    "fault",
    "expect_pushes",
    "wait_for",
    "verify",
    "reset",
    "expire_queues",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    #[serde(default)]
    description: String,
    actors: toml::Table,
    #[serde(default)]
    settings: toml::Table,
    #[serde(default)]
    expect_events: toml::Table,
    #[serde(default)]
    step: Vec<Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActor {
    email: String,
    api_key: Option<String>,
    password: Option<String>,
    devices: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    request: String,
    actor: String,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    json: bool,
    #[serde(default)]
    expect: Expect,
    #[serde(default)]
    save: BTreeMap<String, String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaitEvent {
    wait_event: String,
    actor: String,
    device: Option<String>,
    call: Option<String>,
    #[serde(default)]
    fields: Map<String, Value>,
    within_seconds: Option<f64>,
    #[serde(default)]
    save: BTreeMap<String, String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpectCall {
    expect_call: String,
    actor: String,
    state: Option<String>,
    #[serde(default)]
    fields: Map<String, Value>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPollEvents {
    poll_events: String,
    device: Option<String>,
    #[serde(default)]
    expect: Expect,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegister {
    register: String,
    device: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdvanceClock {
    advance_clock: f64,
    #[serde(default = "yes")]
    keep_queues: bool,
    name: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    fault: Map<String, Value>,
    method: Option<String>,
    path: Option<String>,
    actor: Option<String>,
    times: Option<u32>,
    #[serde(default)]
    save: BTreeMap<String, String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpectPushes {
    expect_pushes: String,
    call: Option<String>,
    event: Option<String>,
    events: Option<Vec<String>>,
    count: Option<u64>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaitFor {
    wait_for: Map<String, Value>,
    timeout_seconds: Option<f64>,
    #[serde(default)]
    save: BTreeMap<String, String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerify {
    verify: Map<String, Value>,
    count: Option<u64>,
    at_least: Option<u64>,
    at_most: Option<u64>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReset {
    reset: bool,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpireQueues {
    expire_queues: String,
    device: Option<String>,
    name: Option<String>,
}

/// Reads and checks a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parses and checks scenario `text`; `path` is for messages.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, LoadError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| LoadError::Syntax {
        path: path.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let loader = Loader { path };
    let actors = loader.actors(&raw.actors)?;
    let settings = loader.settings(&raw.settings)?;
    if raw.step.is_empty() {
        return Err(loader.invalid(None, None, None, "the scenario has no [[step]]"));
    }
    let mut steps = Vec::with_capacity(raw.step.len());
    for (index, table) in raw.step.iter().enumerate() {
        let number = index + 1;
        let line = Some(line_of(text, table.span().start));
        let step = loader
            .step(table.get_ref(), &actors)
            .map_err(|(key, problem)| loader.invalid(Some(number), line, key, problem))?;
        steps.push(Step {
            number,
            line,
            name: step.0,
            action: step.1,
        });
    }
    let expect_events = loader.expect_events(&raw.expect_events, &actors)?;
    let scenario = Scenario {
        path: path.to_owned(),
        name: raw.name,
        description: raw.description,
        actors,
        settings,
        steps,
        expect_events,
    };
    check_variables(&scenario, &raw.step).map_err(|(step, problem)| {
        let line = step
            .and_then(|n| scenario.steps.get(n - 1))
            .and_then(|s| s.line);
        let key = step.is_none().then(|| "expect_events".to_owned());
        loader.invalid(step, line, key, problem)
    })?;
    scenario.server_settings().map_err(|e| {
        loader.invalid(
            None,
            None,
            Some(format!("settings.{}", e.name())),
            e.to_string(),
        )
    })?;
    Ok(scenario)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count())
        + 1
}

/// A problem inside a step: the key to blame (if any) and what is wrong.
type StepProblem = (Option<String>, String);

struct Loader<'a> {
    path: &'a Path,
}

impl Loader<'_> {
    fn invalid(
        &self,
        step: Option<usize>,
        line: Option<usize>,
        key: Option<String>,
        problem: impl Into<String>,
    ) -> LoadError {
        LoadError::Invalid {
            path: self.path.to_owned(),
            step,
            line,
            key,
            problem: problem.into(),
        }
    }

    fn actors(&self, table: &toml::Table) -> Result<Vec<Actor>, LoadError> {
        if table.is_empty() {
            return Err(self.invalid(None, None, Some("actors".into()), "no actors"));
        }
        let mut actors = Vec::new();
        for (name, value) in table {
            let key = Some(format!("actors.{name}"));
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(self.invalid(
                    None,
                    None,
                    key,
                    "an actor's name may hold only letters, digits, `_` and `-`",
                ));
            }
            let actor = match value {
                toml::Value::String(email) => Actor {
                    name: name.clone(),
                    email: email.clone(),
                    credential: Credential::Lookup,
                    devices: vec![DEFAULT_DEVICE.to_owned()],
                },
                toml::Value::Table(_) => {
                    let raw: RawActor = decode(value).map_err(|(k, p)| {
                        self.invalid(
                            None,
                            None,
                            Some(joined_key(&format!("actors.{name}"), k)),
                            p,
                        )
                    })?;
                    let credential = match (raw.api_key, raw.password) {
                        (Some(_), Some(_)) => {
                            return Err(self.invalid(
                                None,
                                None,
                                key,
                                "give api_key or password, not both",
                            ));
                        }
                        (Some(key), None) => Credential::ApiKey(key),
                        (None, Some(password)) => Credential::Password(password),
                        (None, None) => Credential::Lookup,
                    };
                    let devices = raw
                        .devices
                        .unwrap_or_else(|| vec![DEFAULT_DEVICE.to_owned()]);
                    let unique: BTreeSet<&String> = devices.iter().collect();
                    if devices.is_empty() || unique.len() != devices.len() {
                        return Err(self.invalid(
                            None,
                            None,
                            Some(format!("actors.{name}.devices")),
                            "give one or more distinct device names",
                        ));
                    }
                    Actor {
                        name: name.clone(),
                        email: raw.email,
                        credential,
                        devices,
                    }
                }
                _ => {
                    return Err(self.invalid(
                        None,
                        None,
                        key,
                        "expected an email or a table { email, api_key | password, devices }",
                    ));
                }
            };
            if !actor.email.contains('@') {
                return Err(self.invalid(
                    None,
                    None,
                    Some(format!("actors.{name}")),
                    format!("{:?} is not an email", actor.email),
                ));
            }
            actors.push(actor);
        }
        Ok(actors)
    }

    fn settings(&self, table: &toml::Table) -> Result<BTreeMap<String, String>, LoadError> {
        let mut settings = BTreeMap::new();
        for (name, value) in table {
            let key = Some(format!("settings.{name}"));
            if !Settings::NAMES.contains(&name.as_str()) {
                return Err(self.invalid(
                    None,
                    None,
                    key,
                    format!(
                        "unknown setting (the spec's are {})",
                        Settings::NAMES.join(", ")
                    ),
                ));
            }
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    return Err(self.invalid(
                        None,
                        None,
                        key,
                        "expected a string, a whole number or a boolean",
                    ));
                }
            };
            settings.insert(name.clone(), text);
        }
        Ok(settings)
    }

    /// One step: its `name` and action, or the key to blame and the problem.
    fn step(
        &self,
        table: &toml::Table,
        actors: &[Actor],
    ) -> Result<(Option<String>, Action), StepProblem> {
        let present: Vec<&str> = ACTIONS
            .iter()
            .copied()
            .filter(|k| table.contains_key(*k))
            .collect();
        let keyword = match present.as_slice() {
            [one] => *one,
            [] => {
                let keys: Vec<&str> = table.keys().map(String::as_str).collect();
                return Err((
                    None,
                    format!(
                        "no action: give one of {} (the step has {})",
                        ACTIONS.join(", "),
                        if keys.is_empty() {
                            "no keys".to_owned()
                        } else {
                            keys.join(", ")
                        }
                    ),
                ));
            }
            many => {
                return Err((
                    None,
                    format!(
                        "more than one action ({}); make them separate steps",
                        many.join(", ")
                    ),
                ));
            }
        };
        let value = toml::Value::Table(table.clone());
        let actor = |name: &str, key: &str| -> Result<&Actor, StepProblem> {
            actors.iter().find(|a| a.name == name).ok_or_else(|| {
                (
                    Some(key.to_owned()),
                    format!(
                        "unknown actor {name:?} (the [actors] are {})",
                        actors
                            .iter()
                            .map(|a| a.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
        };
        let device =
            |who: &str, device: Option<String>, key: &str| -> Result<DeviceRef, StepProblem> {
                let found = actor(who, key)?;
                let device = device.unwrap_or_else(|| found.devices[0].clone());
                if !found.devices.contains(&device) {
                    return Err((
                        Some("device".to_owned()),
                        format!(
                            "{who} has no device {device:?} (its devices are {})",
                            found.devices.join(", ")
                        ),
                    ));
                }
                Ok(DeviceRef {
                    actor: who.to_owned(),
                    device,
                })
            };
        let positive = |seconds: f64, key: &str| -> Result<f64, StepProblem> {
            if seconds.is_finite() && seconds >= 0.0 {
                Ok(seconds)
            } else {
                Err((
                    Some(key.to_owned()),
                    "expected a number of seconds ≥ 0".into(),
                ))
            }
        };
        Ok(match keyword {
            "request" => {
                let raw: RawRequest = decode(&value)?;
                actor(&raw.actor, "actor")?;
                let target =
                    resolve_endpoint(&raw.request).map_err(|p| (Some("request".into()), p))?;
                for name in &target.path_params {
                    if !raw.params.contains_key(name) {
                        return Err((
                            Some("params".into()),
                            format!("{} needs params.{name} for its path", raw.request),
                        ));
                    }
                }
                (
                    raw.name,
                    Action::Request(Request {
                        actor: raw.actor,
                        method: target.method,
                        path: target.path,
                        path_params: target.path_params,
                        params: raw.params,
                        json: raw.json,
                        expect: raw.expect,
                        save: raw.save,
                    }),
                )
            }
            "wait_event" => {
                let raw: RawWaitEvent = decode(&value)?;
                let device = device(&raw.actor, raw.device, "actor")?;
                let within = positive(
                    raw.within_seconds.unwrap_or(DEFAULT_WITHIN_SECONDS),
                    "within_seconds",
                )?;
                (
                    raw.name,
                    Action::WaitEvent(WaitEvent {
                        device,
                        pattern: EventPattern {
                            kind: raw.wait_event,
                            call: raw.call,
                            fields: raw.fields,
                        },
                        within_seconds: within,
                        save: raw.save,
                    }),
                )
            }
            "expect_call" => {
                let raw: RawExpectCall = decode(&value)?;
                actor(&raw.actor, "actor")?;
                (
                    raw.name,
                    Action::ExpectCall(ExpectCall {
                        actor: raw.actor,
                        call: raw.expect_call,
                        state: raw.state,
                        fields: raw.fields,
                    }),
                )
            }
            "poll_events" => {
                let raw: RawPollEvents = decode(&value)?;
                let device = device(&raw.poll_events, raw.device, "poll_events")?;
                (
                    raw.name,
                    Action::PollEvents(PollEvents {
                        device,
                        expect: raw.expect,
                    }),
                )
            }
            "register" => {
                let raw: RawRegister = decode(&value)?;
                let device = device(&raw.register, raw.device, "register")?;
                (raw.name, Action::Register(device))
            }
            "advance_clock" => {
                let raw: RawAdvanceClock = decode(&value)?;
                let seconds = positive(raw.advance_clock, "advance_clock")?;
                (
                    raw.name,
                    Action::AdvanceClock(AdvanceClock {
                        seconds,
                        keep_queues: raw.keep_queues,
                    }),
                )
            }
            "fault" => {
                let raw: RawFault = decode(&value)?;
                if !raw.fault.contains_key("kind") {
                    return Err((
                        Some("fault".into()),
                        "the action needs a kind (delay, respond, drop, close_websocket)".into(),
                    ));
                }
                if let Some(who) = &raw.actor {
                    actor(who, "actor")?;
                }
                (
                    raw.name,
                    Action::Fault(Fault {
                        action: raw.fault,
                        method: raw.method,
                        path: raw.path,
                        actor: raw.actor,
                        times: raw.times,
                        save: raw.save,
                    }),
                )
            }
            "expect_pushes" => {
                let raw: RawExpectPushes = decode(&value)?;
                actor(&raw.expect_pushes, "expect_pushes")?;
                if raw.events.is_some() && raw.count.is_some() {
                    return Err((None, "give events or count, not both".into()));
                }
                (
                    raw.name,
                    Action::ExpectPushes(ExpectPushes {
                        actor: raw.expect_pushes,
                        call: raw.call,
                        event: raw.event,
                        events: raw.events,
                        count: raw.count,
                    }),
                )
            }
            "wait_for" => {
                let raw: RawWaitFor = decode(&value)?;
                if !raw.wait_for.contains_key("kind") {
                    return Err((
                        Some("wait_for".into()),
                        "the condition needs a kind (call_state, event, push, request)".into(),
                    ));
                }
                if let Some(t) = raw.timeout_seconds {
                    positive(t, "timeout_seconds")?;
                }
                (
                    raw.name,
                    Action::WaitFor(WaitFor {
                        condition: raw.wait_for,
                        timeout_seconds: raw.timeout_seconds,
                        save: raw.save,
                    }),
                )
            }
            "verify" => {
                let raw: RawVerify = decode(&value)?;
                (
                    raw.name,
                    Action::Verify(Verify {
                        pattern: raw.verify,
                        count: raw.count,
                        at_least: raw.at_least,
                        at_most: raw.at_most,
                    }),
                )
            }
            "reset" => {
                let raw: RawReset = decode(&value)?;
                if !raw.reset {
                    return Err((Some("reset".into()), "write `reset = true`".into()));
                }
                (raw.name, Action::Reset)
            }
            _ => {
                let raw: RawExpireQueues = decode(&value)?;
                actor(&raw.expire_queues, "expire_queues")?;
                if let Some(d) = &raw.device {
                    device(&raw.expire_queues, Some(d.clone()), "device")?;
                }
                (
                    raw.name,
                    Action::ExpireQueues(ExpireQueues {
                        actor: raw.expire_queues,
                        device: raw.device,
                    }),
                )
            }
        })
    }

    fn expect_events(
        &self,
        table: &toml::Table,
        actors: &[Actor],
    ) -> Result<Vec<EventsExpectation>, LoadError> {
        let mut out = Vec::new();
        for (name, value) in table {
            let base = format!("expect_events.{name}");
            let Some(actor) = actors.iter().find(|a| &a.name == name) else {
                return Err(self.invalid(None, None, Some(base), "not one of the [actors]"));
            };
            match value {
                toml::Value::Array(items) => out.push(EventsExpectation {
                    actor: name.clone(),
                    device: None,
                    patterns: self.patterns(&base, items)?,
                }),
                toml::Value::Table(devices) => {
                    for (device, items) in devices {
                        let key = format!("{base}.{device}");
                        if !actor.devices.contains(device) {
                            return Err(self.invalid(
                                None,
                                None,
                                Some(key),
                                format!("{name} has no such device"),
                            ));
                        }
                        let toml::Value::Array(items) = items else {
                            return Err(self.invalid(None, None, Some(key), "expected a list"));
                        };
                        out.push(EventsExpectation {
                            actor: name.clone(),
                            device: Some(device.clone()),
                            patterns: self.patterns(&key, items)?,
                        });
                    }
                }
                _ => {
                    return Err(self.invalid(
                        None,
                        None,
                        Some(base),
                        "expected a list of events, or a table of lists by device",
                    ));
                }
            }
        }
        Ok(out)
    }

    fn patterns(&self, key: &str, items: &[toml::Value]) -> Result<Vec<EventPattern>, LoadError> {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let here = || Some(format!("{key}[{i}]"));
                match item {
                    toml::Value::String(kind) => Ok(EventPattern {
                        kind: kind.clone(),
                        call: None,
                        fields: Map::new(),
                    }),
                    toml::Value::Table(table) => {
                        let mut fields = match toml_to_json(&toml::Value::Table(table.clone())) {
                            Value::Object(map) => map,
                            _ => Map::new(),
                        };
                        let Some(Value::String(kind)) = fields.remove("type") else {
                            return Err(self.invalid(
                                None,
                                None,
                                here(),
                                "an event table needs type = \"<event_type>\"",
                            ));
                        };
                        let call = match fields.remove("call") {
                            None => None,
                            Some(Value::String(c)) => Some(c),
                            Some(_) => {
                                return Err(self.invalid(
                                    None,
                                    None,
                                    here(),
                                    "call must be a string",
                                ));
                            }
                        };
                        Ok(EventPattern { kind, call, fields })
                    }
                    _ => Err(self.invalid(
                        None,
                        None,
                        here(),
                        "expected an event type or a table { type = ..., <field> = ... }",
                    )),
                }
            })
            .collect()
    }
}

fn joined_key(base: &str, key: Option<String>) -> String {
    match key {
        Some(k) => format!("{base}.{k}"),
        None => base.to_owned(),
    }
}

/// Deserialises `value` into `T`, naming the key path on failure.
fn decode<T: DeserializeOwned>(value: &toml::Value) -> Result<T, StepProblem> {
    serde_path_to_error::deserialize(value.clone()).map_err(|err| {
        let path = err.path().to_string();
        let key = (path != ".").then_some(path);
        (key, err.into_inner().to_string().trim_end().to_owned())
    })
}

/// A TOML value as JSON (dates become their RFC 3339 text).
pub fn toml_to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Where a request goes: method, path and the parameters that fill its placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub method: reqwest::Method,
    pub path: String,
    pub path_params: Vec<String>,
}

/// Resolves `POST calls/create`, `calls/create`, `calls.create`, `GET calls/${call}` or
/// `/api/v1/calls/active`: the method may be left out when the contract has the endpoint.
pub fn resolve_endpoint(text: &str) -> Result<Target, String> {
    let text = text.trim();
    let (method, target) = match text.split_once(char::is_whitespace) {
        Some((m, rest)) => {
            let method = match m.to_ascii_uppercase().as_str() {
                "GET" => reqwest::Method::GET,
                "POST" => reqwest::Method::POST,
                "DELETE" => reqwest::Method::DELETE,
                "PUT" => reqwest::Method::PUT,
                "PATCH" => reqwest::Method::PATCH,
                _ => {
                    return Err(format!(
                        "{m:?} is not an HTTP method (GET, POST, DELETE, ...)"
                    ));
                }
            };
            (Some(method), rest.trim())
        }
        None => (None, text),
    };
    if target.is_empty() {
        return Err("no endpoint given".into());
    }
    let endpoints: Vec<EndpointInfo> = all_endpoints().collect();
    let verb_matches = |info: &EndpointInfo| {
        method
            .as_ref()
            .is_none_or(|m| m.as_str() == info.method.as_str())
    };
    if !target.contains('/') && target.contains('.') {
        let info = endpoints.iter().find(|e| e.name == target).ok_or_else(|| {
            format!("no endpoint is named {target:?} (see `zulip-calls-mock endpoints`)")
        })?;
        if !verb_matches(info) {
            return Err(format!("{target} is {} {}", info.method, info.path));
        }
        return Ok(Target {
            method: reqwest::Method::from_bytes(info.method.as_str().as_bytes())
                .unwrap_or(reqwest::Method::GET),
            path: info.path.to_owned(),
            path_params: placeholders(info.path),
        });
    }
    let relative = target
        .strip_prefix(API_PREFIX)
        .or_else(|| target.strip_prefix(API_PREFIX.trim_end_matches('/')))
        .unwrap_or(target);
    if let Some(method) = method {
        return Ok(Target {
            method,
            path: relative.to_owned(),
            path_params: Vec::new(),
        });
    }
    // No method: the contract's endpoint with this path, literal segments before placeholders.
    let best = endpoints
        .iter()
        .filter(|e| path_matches(e.path, relative))
        .min_by_key(|e| placeholders(e.path).len());
    match best {
        Some(info) => Ok(Target {
            method: reqwest::Method::from_bytes(info.method.as_str().as_bytes())
                .unwrap_or(reqwest::Method::GET),
            path: relative.to_owned(),
            path_params: Vec::new(),
        }),
        None => Err(format!(
            "no endpoint of the contract has the path {relative:?}; write the method, e.g. \
             \"POST {relative}\""
        )),
    }
}

/// The `{name}` placeholders of a path template.
fn placeholders(template: &str) -> Vec<String> {
    template
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

/// Whether `path` (which may hold `${...}`) fits `template` segment by segment.
fn path_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// Checks that every `${name}` is defined before use: actors' fields from the start, saved
/// values from the step after the one that saves them. `[expect_events]` may use any saved
/// value (it is checked at the end).
fn check_variables(
    scenario: &Scenario,
    raw_steps: &[Spanned<toml::Table>],
) -> Result<(), (Option<usize>, String)> {
    let mut known: BTreeSet<String> = scenario
        .actors
        .iter()
        .flat_map(|a| ACTOR_FIELDS.iter().map(move |f| format!("{}.{f}", a.name)))
        .collect();
    known.insert(NULL_VARIABLE.to_owned());
    let unknown = |name: &str, known: &BTreeSet<String>| {
        let saved: Vec<&str> = known
            .iter()
            .map(String::as_str)
            .filter(|k| !k.contains('.') && *k != NULL_VARIABLE)
            .collect();
        let hint = if saved.is_empty() {
            "no step before saves one".to_owned()
        } else {
            format!("saved so far: {}", saved.join(", "))
        };
        format!(
            "unknown variable ${{{name}}} ({hint}; every actor has ${{<actor>.email}}, \
             .user_id, .full_name, .api_key; ${{null}} is JSON null)"
        )
    };
    for (step, raw) in scenario.steps.iter().zip(raw_steps) {
        let mut table = raw.get_ref().clone();
        table.remove("save");
        table.remove("name");
        let refs = vars::value_references(&toml_to_json(&toml::Value::Table(table)))
            .map_err(|e| (Some(step.number), e.to_string()))?;
        for name in refs {
            if !known.contains(&name) {
                return Err((Some(step.number), unknown(&name, &known)));
            }
        }
        let saves = match &step.action {
            Action::Request(r) => Some(&r.save),
            Action::WaitEvent(w) => Some(&w.save),
            Action::Fault(f) => Some(&f.save),
            Action::WaitFor(w) => Some(&w.save),
            _ => None,
        };
        if let Some(saves) = saves {
            known.extend(saves.keys().cloned());
        }
    }
    for expectation in &scenario.expect_events {
        for pattern in &expectation.patterns {
            let mut all = Map::new();
            all.insert(
                "call".into(),
                pattern.call.clone().map_or(Value::Null, Value::String),
            );
            all.insert("fields".into(), Value::Object(pattern.fields.clone()));
            for name in
                vars::value_references(&Value::Object(all)).map_err(|e| (None, e.to_string()))?
            {
                if !known.contains(&name) {
                    return Err((None, unknown(&name, &known)));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "minimal"
[actors]
hamlet = "hamlet@zulip.com"
othello = { email = "othello@zulip.com", devices = ["desktop", "phone"] }

[[step]]
request = "calls/initiate"
actor = "hamlet"
params = { recipient_email = "${othello.email}" }
save = { call = "call_id" }

[[step]]
wait_event = "call_started"
actor = "othello"
device = "phone"
call = "${call}"
"#;

    fn load(text: &str) -> Result<Scenario, LoadError> {
        parse(Path::new("s.toml"), text)
    }

    fn error(text: &str) -> String {
        load(text).unwrap_err().to_string()
    }

    #[test]
    fn a_minimal_file_loads() {
        let s = load(MINIMAL).unwrap();
        assert_eq!(s.name, "minimal");
        assert_eq!(s.actors.len(), 2);
        assert_eq!(s.actors[1].devices, ["desktop", "phone"]);
        assert_eq!(s.actors[0].credential, Credential::Lookup);
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.steps[0].line, Some(7));
        match &s.steps[0].action {
            Action::Request(r) => {
                assert_eq!(r.method, reqwest::Method::POST);
                assert_eq!(r.path, "calls/initiate");
                assert_eq!(r.expect, Expect::default());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.steps[0].title(), "hamlet: POST calls/initiate");
        assert_eq!(
            s.steps[1].title(),
            "othello (phone) receives call_started for ${call}"
        );
    }

    #[test]
    fn endpoints_resolve_by_path_name_or_explicit_method() {
        let t = resolve_endpoint("calls/active").unwrap();
        assert_eq!(
            (t.method, t.path.as_str()),
            (reqwest::Method::GET, "calls/active")
        );
        let t = resolve_endpoint("calls/${call}").unwrap();
        assert_eq!(t.method, reqwest::Method::GET);
        let t = resolve_endpoint("/api/v1/calls/end").unwrap();
        assert_eq!(
            (t.method, t.path.as_str()),
            (reqwest::Method::POST, "calls/end")
        );
        let t = resolve_endpoint("calls.get").unwrap();
        assert_eq!(t.path, "calls/{call_id}");
        assert_eq!(t.path_params, ["call_id"]);
        let t = resolve_endpoint("DELETE events").unwrap();
        assert_eq!(t.method, reqwest::Method::DELETE);
        let t = resolve_endpoint("post calls/nonexistent").unwrap();
        assert_eq!(t.method, reqwest::Method::POST);
        assert!(
            resolve_endpoint("nothing/here")
                .unwrap_err()
                .contains("write the method")
        );
        assert!(
            resolve_endpoint("calls.nope")
                .unwrap_err()
                .contains("no endpoint is named")
        );
        assert!(
            resolve_endpoint("FETCH calls/end")
                .unwrap_err()
                .contains("not an HTTP method")
        );
    }

    #[test]
    fn an_unknown_step_key_names_the_step_line_and_key() {
        let text = MINIMAL.replace("save = {", "expekt = { status = 200 }\nsave = {");
        let err = error(&text);
        assert!(err.starts_with("s.toml: step 1 (line 7): "), "{err}");
        assert!(err.contains("unknown field `expekt`"), "{err}");
    }

    #[test]
    fn a_wrong_type_names_the_key_path() {
        let text = MINIMAL.replace("save = {", "expect = { status = \"200\" }\nsave = {");
        let err = error(&text);
        assert!(
            err.contains("step 1 (line 7): key expect.status: "),
            "{err}"
        );
        assert!(err.contains("invalid type: string \"200\""), "{err}");
    }

    #[test]
    fn top_level_mistakes_come_with_toml_position() {
        let err = error(&MINIMAL.replace("name = ", "nmae = "));
        assert!(err.contains("unknown field `nmae`"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        let err = error("name = \"x\"\n[actors\n");
        assert!(err.starts_with("s.toml: "), "{err}");
    }

    #[test]
    fn steps_need_exactly_one_action() {
        let err = error(&MINIMAL.replace("request = \"calls/initiate\"", "requst = \"x\""));
        assert!(
            err.contains("step 1 (line 7): no action: give one of request,"),
            "{err}"
        );
        assert!(
            err.contains("the step has actor, params, requst, save"),
            "{err}"
        );
        let err = error(&MINIMAL.replace(
            "wait_event = \"call_started\"",
            "wait_event = \"a\"\nreset = true",
        ));
        assert!(
            err.contains("step 2 (line 13): more than one action (wait_event, reset)"),
            "{err}"
        );
    }

    #[test]
    fn actors_and_devices_must_exist() {
        let err = error(&MINIMAL.replace("actor = \"hamlet\"", "actor = \"horatio\""));
        assert!(
            err.contains("key actor: unknown actor \"horatio\" (the [actors] are hamlet, othello)"),
            "{err}"
        );
        let err = error(&MINIMAL.replace("device = \"phone\"", "device = \"tablet\""));
        assert!(err.contains("othello has no device \"tablet\""), "{err}");
    }

    #[test]
    fn variables_must_be_saved_before_use() {
        let err = error(&MINIMAL.replace("call = \"${call}\"", "call = \"${cal}\""));
        assert!(
            err.contains("step 2 (line 13): unknown variable ${cal} (saved so far: call;"),
            "{err}"
        );
        let err = error(&MINIMAL.replace("${othello.email}", "${call}"));
        assert!(
            err.contains("step 1 (line 7): unknown variable ${call} (no step before saves one"),
            "{err}"
        );
    }

    #[test]
    fn settings_are_the_specs_and_valid() {
        let ok = MINIMAL.replace(
            "[actors]",
            "[settings]\nCALL_RING_TIMEOUT = 10\nENABLE_AUDIO_CALLS = false\n[actors]",
        );
        let s = load(&ok).unwrap();
        let settings = s.server_settings().unwrap();
        assert_eq!(settings.call_ring_timeout, 10);
        assert!(!settings.enable_audio_calls);
        let err = error(&MINIMAL.replace("[actors]", "[settings]\nRING = 10\n[actors]"));
        assert!(err.contains("key settings.RING: unknown setting"), "{err}");
        let err = error(&MINIMAL.replace(
            "[actors]",
            "[settings]\nCALL_RING_TIMEOUT = \"soon\"\n[actors]",
        ));
        assert!(err.contains("key settings.CALL_RING_TIMEOUT: "), "{err}");
    }

    #[test]
    fn expected_events_take_names_or_tables() {
        let text = format!(
            "{MINIMAL}\n[expect_events]\nhamlet = [\"call_started\", {{ type = \"call_ended\", call = \"${{call}}\", reason = \"hangup\" }}]\n\
             othello = {{ phone = [\"call_started\"] }}\n"
        );
        let s = load(&text).unwrap();
        assert_eq!(s.expect_events.len(), 2);
        let hamlet = &s.expect_events[0];
        assert_eq!(hamlet.device, None);
        assert_eq!(hamlet.patterns[1].kind, "call_ended");
        assert_eq!(hamlet.patterns[1].call.as_deref(), Some("${call}"));
        assert_eq!(
            hamlet.patterns[1].describe(),
            "call_ended {call_id: ${call}, reason: \"hangup\"}"
        );
        assert_eq!(s.expect_events[1].device.as_deref(), Some("phone"));
        let err = error(&format!(
            "{MINIMAL}\n[expect_events]\nhamlet = [{{ reason = \"x\" }}]\n"
        ));
        assert!(
            err.contains("key expect_events.hamlet[0]: an event table needs type"),
            "{err}"
        );
    }

    #[test]
    fn named_endpoints_need_their_path_parameters() {
        let text = MINIMAL.replace("request = \"calls/initiate\"", "request = \"calls.get\"");
        let err = error(&text);
        assert!(err.contains("calls.get needs params.call_id"), "{err}");
    }

    #[test]
    fn actor_tables_are_checked() {
        let err = error(&MINIMAL.replace(
            "hamlet = \"hamlet@zulip.com\"",
            "hamlet = { email = \"hamlet@zulip.com\", key = \"x\" }",
        ));
        assert!(
            err.contains("key actors.hamlet.key: unknown field `key`"),
            "{err}"
        );
        let s = load(&MINIMAL.replace(
            "hamlet = \"hamlet@zulip.com\"",
            "hamlet = { email = \"hamlet@zulip.com\", api_key = \"k\" }",
        ))
        .unwrap();
        assert_eq!(s.actors[0].credential, Credential::ApiKey("k".into()));
        assert_eq!(format!("{:?}", s.actors[0].credential), "ApiKey(..)");
    }
}

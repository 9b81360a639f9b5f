//! The step kinds: what each action carries, what it needs of the server, whether skipping it
//! changes what later steps find, and how reports name it. Kept apart from loading, since the
//! runner and the reports use these types as well.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::DeviceRef;
use crate::scenario::vars;

/// The step keywords, in the order the documentation lists them.
pub const ACTIONS: [&str; 13] = [
    "request",
    "race",
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

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    Request(Request),
    Race(Race),
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
            Action::Race(_) => "race",
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
            | Action::Race(_)
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
            Action::Race(r) => {
                let actors: Vec<&str> = r.requests.iter().map(|q| q.actor.as_str()).collect();
                let first = &r.requests[0];
                format!(
                    "{} at once: {} {}{}",
                    actors.join(", "),
                    first.method,
                    first.path,
                    if r.requests.iter().all(|q| q.path == first.path) {
                        ""
                    } else {
                        ", ..."
                    }
                )
            }
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

/// Requests sent at the same moment (as several clients would), of which exactly `winners`
/// must succeed: a race the server must settle one way, whichever request it sees first.
#[derive(Debug, Clone)]
pub struct Race {
    /// Two or more; their `expect` and `save` are unused.
    pub requests: Vec<Request>,
    pub winners: usize,
    /// What each other answer must be; any error when it names neither status nor code.
    pub losers: Expect,
    /// Saves the user id of the (first) winning request's actor under this name.
    pub save_winner: Option<String>,
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

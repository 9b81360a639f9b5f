//! Fault injection (CONTROL-API.md, "Fault injection"): rules that make matching API
//! requests slow, fail, lose their connection, or have their WebSocket closed, so a client's
//! error handling can be tested against a server that misbehaves on cue.
//!
//! [`apply`] runs just inside the request journal, so a faulted request is journaled with
//! the answer the client got (status 0 for a dropped connection).

use std::sync::Mutex;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::zulip::ws::CloseWebSocket;
use crate::qa::QaState;
use crate::qa::journal::{Caller, is_api_path};
use crate::qa::request_match::{PathGlob, UserRef};

/// The longest delay a rule may ask for.
pub const MAX_DELAY_MS: u64 = 300_000;

/// The close code of `close_websocket` when the rule names none (1011: internal error).
pub const DEFAULT_CLOSE_CODE: u16 = 1011;

/// What a rule does to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// Waits `ms` milliseconds (wall-clock), then handles the request normally.
    Delay { ms: u64 },
    /// Answers `status` with `body` (Zulip's error envelope by default) without running the
    /// handler, so the server's state is untouched.
    Respond {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
    },
    /// Closes the connection without an answer.
    Drop,
    /// Accepts a WebSocket upgrade, then closes the socket at once with `code`.
    CloseWebsocket {
        #[serde(default = "default_close_code")]
        code: u16,
    },
}

fn default_close_code() -> u16 {
    DEFAULT_CLOSE_CODE
}

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("delay of {0} ms is longer than the maximum of {MAX_DELAY_MS} ms")]
    DelayTooLong(u64),
    #[error("status {0} is not an HTTP status a server can answer with (200..=599)")]
    BadStatus(u16),
    #[error("close code {0} cannot be sent (allowed: 1000-1003, 1007-1014, 3000-4999)")]
    BadCloseCode(u16),
    #[error("times must be at least 1 (leave it out for a rule that never retires)")]
    ZeroTimes,
}

impl FaultAction {
    /// Refuses what the server could not do.
    pub fn validate(&self) -> Result<(), FaultError> {
        match *self {
            FaultAction::Delay { ms } if ms > MAX_DELAY_MS => Err(FaultError::DelayTooLong(ms)),
            FaultAction::Respond { status, .. } if !(200..=599).contains(&status) => {
                Err(FaultError::BadStatus(status))
            }
            FaultAction::CloseWebsocket { code } if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) => {
                Err(FaultError::BadCloseCode(code))
            }
            _ => Ok(()),
        }
    }
}

/// A rule as it is listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FaultRule {
    pub fault_id: u64,
    pub method: Option<String>,
    pub path: Option<PathGlob>,
    pub user: Option<UserRef>,
    pub action: FaultAction,
    /// Matches before the rule retires; `None`: until deleted.
    pub times: Option<u64>,
    /// Matches left; 0 once retired (a retired rule stays listed until deleted).
    pub remaining: Option<u64>,
    /// Requests it has acted on.
    pub matched: u64,
}

/// A new rule.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFault {
    pub method: Option<String>,
    pub path: Option<PathGlob>,
    pub user: Option<UserRef>,
    pub action: FaultAction,
    pub times: Option<u64>,
}

impl FaultRule {
    fn applies_to(&self, method: &str, path: &str, caller: &Caller, upgrade: bool) -> bool {
        self.remaining != Some(0)
            && self
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path.as_ref().is_none_or(|p| p.matches(path))
            && self
                .user
                .as_ref()
                .is_none_or(|u| u.matches(caller.user_id, caller.email.as_deref()))
            // Closing a WebSocket only makes sense for an upgrade.
            && (upgrade || !matches!(self.action, FaultAction::CloseWebsocket { .. }))
    }
}

/// The fault rules, in the order they were added: the first that matches acts.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<Rules>,
}

#[derive(Debug, Default)]
struct Rules {
    rules: Vec<FaultRule>,
    last_id: u64,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Rules> {
        // Every mutation is a single push, removal or counter update: a poisoned lock is
        // still consistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a rule after checking it; returns its id.
    pub fn add(&self, fault: NewFault) -> Result<u64, FaultError> {
        fault.action.validate()?;
        if fault.times == Some(0) {
            return Err(FaultError::ZeroTimes);
        }
        let mut rules = self.lock();
        rules.last_id += 1;
        let fault_id = rules.last_id;
        rules.rules.push(FaultRule {
            fault_id,
            method: fault.method,
            path: fault.path,
            user: fault.user,
            action: fault.action,
            times: fault.times,
            remaining: fault.times,
            matched: 0,
        });
        Ok(fault_id)
    }

    /// Whether there is no rule at all (as in every run that injects no fault): then a
    /// request is not looked at further.
    pub fn is_empty(&self) -> bool {
        self.lock().rules.is_empty()
    }

    /// Every rule, retired ones included, oldest first.
    pub fn list(&self) -> Vec<FaultRule> {
        self.lock().rules.clone()
    }

    /// Deletes one rule; whether it existed.
    pub fn remove(&self, fault_id: u64) -> bool {
        let mut rules = self.lock();
        let before = rules.rules.len();
        rules.rules.retain(|r| r.fault_id != fault_id);
        rules.rules.len() != before
    }

    /// Deletes every rule (ids keep increasing); returns how many there were.
    pub fn clear(&self) -> usize {
        let mut rules = self.lock();
        let deleted = rules.rules.len();
        rules.rules.clear();
        deleted
    }

    /// The first live rule matching the request, counted as matched: its id and action.
    pub fn take(
        &self,
        method: &str,
        path: &str,
        caller: &Caller,
        upgrade: bool,
    ) -> Option<(u64, FaultAction)> {
        let mut rules = self.lock();
        let rule = rules
            .rules
            .iter_mut()
            .find(|r| r.applies_to(method, path, caller, upgrade))?;
        rule.matched += 1;
        if let Some(remaining) = &mut rule.remaining {
            *remaining -= 1;
        }
        Some((rule.fault_id, rule.action.clone()))
    }
}

/// Left in a response's extensions when a `drop` rule answered it: the journal records
/// status 0 and leaves the (failing) body alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped;

/// The body of a dropped answer: it fails before its first byte, which makes hyper abandon
/// the connection with the response head still unsent.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct ConnectionDropped;

/// Applies the first matching rule (part of [`crate::qa::front_desk`], inside the journal, so a
/// faulted request is journaled as the client saw it): the request to go on with (after a
/// delay, or marked to have its WebSocket closed), or the answer a rule gives in its place.
/// `caller` is who the journal found the request is from (every request a rule can match is
/// journaled).
pub async fn intercept(
    state: &QaState,
    mut request: Request,
    caller: Option<&Caller>,
) -> Result<Request, Response> {
    if state.faults.is_empty() || !is_api_path(request.uri().path()) {
        return Ok(request);
    }
    let path = request.uri().path().to_owned();
    let caller = caller.cloned().unwrap_or_default();
    let upgrade = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let method = request.method().to_string();
    let Some((fault_id, action)) = state.faults.take(&method, &path, &caller, upgrade) else {
        return Ok(request);
    };
    tracing::info!(fault_id, %method, %path, ?action, "injecting a fault");
    match action {
        FaultAction::Delay { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(request)
        }
        FaultAction::Respond { status, body } => Err(respond(status, body)),
        FaultAction::Drop => Err(dropped()),
        FaultAction::CloseWebsocket { code } => {
            request.extensions_mut().insert(CloseWebSocket {
                code,
                reason: "injected fault",
            });
            Ok(request)
        }
    }
}

/// The answer of a `respond` rule.
fn respond(status: u16, body: Option<Value>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = body.unwrap_or_else(|| default_body(status));
    (status, Json(body)).into_response()
}

/// Zulip's envelope for `status`: success for 2xx, otherwise an error whose `code` is the
/// status's name (`SERVICE_UNAVAILABLE`), or Zulip's own where it has one.
pub fn default_body(status: StatusCode) -> Value {
    if status.is_success() {
        return json!({"result": "success", "msg": ""});
    }
    let code = match status {
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED".to_owned(),
        StatusCode::TOO_MANY_REQUESTS => "RATE_LIMIT_HIT".to_owned(),
        StatusCode::BAD_REQUEST => "BAD_REQUEST".to_owned(),
        other => other
            .canonical_reason()
            .unwrap_or("ERROR")
            .to_uppercase()
            .replace([' ', '-'], "_"),
    };
    json!({
        "result": "error",
        "msg": format!("Injected fault: {status}"),
        "code": code,
    })
}

/// An answer whose body fails at once: hyper then closes the connection without sending the
/// head, so the client sees the connection close (or reset) with no HTTP answer at all.
fn dropped() -> Response {
    let failing =
        futures_util::stream::once(async { Err::<Bytes, ConnectionDropped>(ConnectionDropped) });
    let mut response = Response::new(Body::from_stream(failing));
    response.extensions_mut().insert(Dropped);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use zulip_calls_protocol::UserId;

    fn rule(path: &str, action: FaultAction, times: Option<u64>) -> NewFault {
        NewFault {
            method: None,
            path: Some(PathGlob(path.to_owned())),
            user: None,
            action,
            times,
        }
    }

    #[test]
    fn first_live_rule_acts_and_retires_after_its_times() {
        let faults = Faults::default();
        let caller = Caller::default();
        let once = faults
            .add(rule("/api/**", FaultAction::Drop, Some(1)))
            .unwrap();
        let always = faults
            .add(rule("/api/v1/*", FaultAction::Delay { ms: 1 }, None))
            .unwrap();
        assert_eq!(
            faults.take("GET", "/api/v1/x", &caller, false),
            Some((once, FaultAction::Drop))
        );
        assert_eq!(
            faults.take("GET", "/api/v1/x", &caller, false),
            Some((always, FaultAction::Delay { ms: 1 }))
        );
        assert_eq!(faults.take("GET", "/other", &caller, false), None);
        let listed = faults.list();
        assert_eq!(listed[0].remaining, Some(0));
        assert_eq!(listed[0].matched, 1);
        assert_eq!(listed[1].remaining, None);
        assert!(faults.remove(once));
        assert!(!faults.remove(once));
        assert_eq!(faults.clear(), 1);
    }

    #[test]
    fn close_websocket_rules_only_match_upgrades_and_users_filter() {
        let faults = Faults::default();
        let mut new = rule(
            "/api/v1/events/websocket",
            FaultAction::CloseWebsocket { code: 4000 },
            None,
        );
        new.user = Some(UserRef::Id(UserId(10)));
        faults.add(new).unwrap();
        let hamlet = Caller {
            user_id: Some(UserId(10)),
            email: Some("hamlet@zulip.com".into()),
        };
        let path = "/api/v1/events/websocket";
        assert!(faults.take("GET", path, &hamlet, false).is_none());
        assert!(faults.take("GET", path, &Caller::default(), true).is_none());
        assert!(faults.take("GET", path, &hamlet, true).is_some());
    }

    #[test]
    fn impossible_rules_are_refused() {
        let faults = Faults::default();
        for (action, times) in [
            (
                FaultAction::Delay {
                    ms: MAX_DELAY_MS + 1,
                },
                None,
            ),
            (
                FaultAction::Respond {
                    status: 101,
                    body: None,
                },
                None,
            ),
            (FaultAction::CloseWebsocket { code: 1006 }, None),
            (FaultAction::Drop, Some(0)),
        ] {
            assert!(faults.add(rule("/", action, times)).is_err());
        }
    }

    #[test]
    fn default_bodies_are_zulip_envelopes() {
        assert_eq!(
            default_body(StatusCode::SERVICE_UNAVAILABLE)["code"],
            "SERVICE_UNAVAILABLE"
        );
        assert_eq!(
            default_body(StatusCode::TOO_MANY_REQUESTS)["code"],
            "RATE_LIMIT_HIT"
        );
        assert_eq!(default_body(StatusCode::OK)["result"], "success");
    }
}

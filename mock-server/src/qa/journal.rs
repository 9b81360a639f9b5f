//! The request journal (CONTROL-API.md, "Request journal"): every request to the Zulip and
//! plugin API, recorded so a test can ask what a client actually sent instead of inferring it
//! from the server's state.
//!
//! [`begin`] and [`Pending::end`] are the outermost layer of the API: they see the request as
//! the client sent it and the answer as the client got it, fault injection included. Control requests and
//! `/metrics` are not recorded (they are the test talking to the mock, not the client).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::response::Response;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zulip_calls_protocol::params::{Params, RawParam};
use zulip_calls_protocol::{Timestamp, UserId};

use crate::api::auth::AuthUser;
use crate::api::params::{BodyKind, ReadParams};
use crate::qa::QaState;

/// How many requests the journal keeps; older ones are forgotten first.
pub const CAPACITY: usize = 10_000;

/// What a secret parameter's value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Parameters whose values never reach the journal (compared case-insensitively).
const SECRET_PARAMS: [&str; 4] = ["api_key", "password", "key", "token"];

/// Error bodies up to this size are read for their `code`; larger ones pass untouched.
const MAX_INSPECTED_BODY: u64 = 64 * 1024;

/// One journaled request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JournalEntry {
    /// Increasing from 1; never reused, not even after the journal is emptied.
    pub id: u64,
    /// Server time (the virtual clock, when there is one) when the request arrived.
    pub at: Timestamp,
    pub method: String,
    pub path: String,
    /// Set only when the request's Basic credentials were valid.
    pub user_id: Option<UserId>,
    /// The email the Basic credentials claimed, valid or not.
    pub user_email: Option<String>,
    /// The query string and the body merged (the body wins), secrets redacted.
    pub params: JournalParams,
    /// The status the client got; 0 when an injected fault dropped the connection.
    pub status: u16,
    /// The `code` of a JSON error answer.
    pub error_code: Option<String>,
    /// Until the answer's head was ready (a streamed body is not waited for).
    pub latency_ms: f64,
}

/// A journaled request's parameters: those its handler read, shared with it, and shown (as a
/// JSON object, secrets replaced by [`REDACTED`]) only when the journal is read. Every request
/// is journaled and the journal is seldom read: building the object for each request, and
/// dropping the one it pushed out of the journal, was ~3 % of the server's instructions per
/// call lifecycle.
#[derive(Debug, Clone, Default)]
pub struct JournalParams(Arc<Params>);

impl JournalParams {
    /// The value of `name`, as shown.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.0.get(name).map(|raw| shown(name, raw))
    }

    /// Every parameter, as shown.
    pub fn to_map(&self) -> Map<String, Value> {
        redacted(&self.0)
    }
}

impl From<Map<String, Value>> for JournalParams {
    fn from(map: Map<String, Value>) -> Self {
        let mut params = Params::new();
        for (name, value) in map {
            params.insert(name, RawParam::Json(value));
        }
        JournalParams(Arc::new(params))
    }
}

impl PartialEq for JournalParams {
    fn eq(&self, other: &Self) -> bool {
        self.to_map() == other.to_map()
    }
}

impl Serialize for JournalParams {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(None)?;
        for name in self.0.names() {
            if let Some(raw) = self.0.get(name) {
                map.serialize_entry(name, &shown(name, raw))?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for JournalParams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::<String, Value>::deserialize(d).map(JournalParams::from)
    }
}

impl schemars::JsonSchema for JournalParams {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        <Map<String, Value> as schemars::JsonSchema>::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Map<String, Value> as schemars::JsonSchema>::json_schema(generator)
    }
}

/// The latest [`CAPACITY`] requests.
#[derive(Debug, Default)]
pub struct Journal {
    inner: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<JournalEntry>,
    last_id: u64,
}

impl Journal {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // Every mutation is a single push or clear, so a poisoned lock is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends `entry` with the next id (its own `id` is ignored) and returns that id.
    pub fn append(&self, mut entry: JournalEntry) -> u64 {
        let mut ring = self.lock();
        ring.last_id += 1;
        entry.id = ring.last_id;
        if ring.entries.len() >= CAPACITY {
            ring.entries.pop_front();
        }
        ring.entries.push_back(entry);
        ring.last_id
    }

    /// Runs `f` over the entries, oldest first, without copying them.
    pub fn read<R>(&self, f: impl FnOnce(&VecDeque<JournalEntry>) -> R) -> R {
        f(&self.lock().entries)
    }

    /// The id of the latest request ever journaled (0 before the first).
    pub fn last_id(&self) -> u64 {
        self.lock().last_id
    }

    /// Forgets every entry (ids keep increasing); returns how many there were.
    pub fn clear(&self) -> usize {
        let mut ring = self.lock();
        let deleted = ring.entries.len();
        ring.entries.clear();
        deleted
    }
}

/// Who a request claims to be, worked out once by [`begin`] and kept in its [`Pending`] entry,
/// where the fault rules read it too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Set only when the credentials are valid (and the user active).
    pub user_id: Option<UserId>,
    /// The email of the Basic credentials, valid or not.
    pub email: Option<String>,
}

impl Caller {
    /// Who a request's Basic credentials name, with the user when they are valid:
    /// authenticating is done once per request, here, and the layers inside reuse it (see
    /// [`AuthUser`]).
    pub fn signed_in(state: &QaState, parts: &Parts) -> (Caller, Option<AuthUser>) {
        let Some(sign_in) = crate::api::auth::sign_in(&state.api, parts) else {
            return (Caller::default(), None);
        };
        let user = sign_in.user.ok();
        let caller = Caller {
            user_id: user.as_ref().map(|u| u.id),
            email: Some(sign_in.email),
        };
        (caller, user.map(AuthUser))
    }
}

/// Whether requests to `path` are journaled (and subject to injected faults): everything
/// but the control API and the metrics.
pub fn is_api_path(path: &str) -> bool {
    let control = super::CONTROL_PREFIX;
    let under_control = path
        .strip_prefix(control)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    !under_control && path != "/metrics"
}

/// A journaled request waiting for its answer: what its entry needs from the request.
#[derive(Debug)]
pub struct Pending {
    started: Instant,
    at: Timestamp,
    method: String,
    path: String,
    caller: Caller,
    params: Arc<Params>,
}

/// Reads who an API request is from and its parameters, and leaves the signed-in user and the
/// parameters in its extensions for the layers and the handler inside (part of
/// [`crate::qa::front_desk`]); `None` for requests that are not journaled.
pub async fn begin(state: &QaState, request: Request) -> (Request, Option<Pending>) {
    if !is_api_path(request.uri().path()) {
        return (request, None);
    }
    let started = Instant::now();
    let at = state.core.clock.now();
    let (mut parts, body) = request.into_parts();
    let (caller, user) = Caller::signed_in(state, &parts);
    if let Some(user) = user {
        parts.extensions.insert(user);
    }
    let mut params = Params::from_urlencoded(parts.uri.query().unwrap_or("").as_bytes());
    let kind = BodyKind::of(parts.headers.get(CONTENT_TYPE));
    // Whether `params` are all the request's, read as the handler would (see `ApiParams`).
    let mut complete = false;
    let body = if kind == BodyKind::Other {
        // A body of another type carries no parameters, so the query holds them all; unless
        // there is a body, which the handler reads only to hold it to the size limit.
        complete = HttpBody::size_hint(&body).exact() == Some(0);
        body
    } else {
        let (body, bytes) = buffer(body, &parts, state.api.limits.max_body_bytes).await;
        match (kind, bytes) {
            (_, Some(bytes)) if bytes.is_empty() => complete = true,
            (BodyKind::Form, Some(bytes)) => {
                params.extend(Params::from_urlencoded(&bytes));
                complete = true;
            }
            // A malformed body gets its error from the handler; the query is still shown.
            (BodyKind::Json, Some(bytes)) => {
                if let Ok(body_params) = Params::from_json(&bytes) {
                    params.extend(body_params);
                    complete = true;
                }
            }
            _ => {}
        }
        body
    };
    let params = Arc::new(params);
    if complete {
        parts.extensions.insert(ReadParams(Arc::clone(&params)));
    }
    let pending = Pending {
        started,
        at,
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        caller,
        params,
    };
    (Request::from_parts(parts, body), Some(pending))
}

impl Pending {
    /// Who the request is from.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Journals the request with its answer, then wakes `wait-for`.
    pub async fn end(self, state: &QaState, response: Response) -> Response {
        let (status, error_code, response) = if response
            .extensions()
            .get::<crate::qa::faults::Dropped>()
            .is_some()
        {
            (0, None, response)
        } else {
            let status = response.status().as_u16();
            let (error_code, response) = error_code(response).await;
            (status, error_code, response)
        };
        let latency_ms = (self.started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
        let id = state.journal.append(JournalEntry {
            id: 0,
            at: self.at,
            method: self.method,
            path: self.path,
            user_id: self.caller.user_id,
            user_email: self.caller.email,
            params: JournalParams(self.params),
            status,
            error_code,
            latency_ms,
        });
        tracing::trace!(journal_id = id, "request journaled");
        state.core.note_change();
        response
    }
}

/// Reads a body of at most `limit` bytes and hands back an identical body for the handler
/// with the bytes read. A larger body (announced or not) is handed back unread or replayed
/// whole, so the handler answers it with its usual 413.
async fn buffer(body: Body, parts: &Parts, limit: usize) -> (Body, Option<Bytes>) {
    let announced = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit_u64 = u64::try_from(limit).unwrap_or(u64::MAX);
    if announced.is_some_and(|length| length > limit_u64) {
        return (body, None);
    }
    let mut stream = body.into_data_stream();
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut length = 0usize;
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => {
                length = length.saturating_add(chunk.len());
                chunks.push(chunk);
                if length > limit {
                    let read = futures_util::stream::iter(chunks.into_iter().map(Ok));
                    return (Body::from_stream(read.chain(stream)), None);
                }
            }
            Err(err) => {
                let read = chunks.into_iter().map(Ok).chain(std::iter::once(Err(err)));
                return (Body::from_stream(futures_util::stream::iter(read)), None);
            }
        }
    }
    let bytes: Bytes = match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.swap_remove(0),
        _ => chunks.concat().into(),
    };
    (Body::from(bytes.clone()), Some(bytes))
}

/// The `code` of a small JSON error answer, and the answer itself, intact. Successes,
/// upgrades and streamed or large bodies are not read.
async fn error_code(response: Response) -> (Option<String>, Response) {
    let status = response.status();
    let small = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| n <= MAX_INSPECTED_BODY);
    if !(status.is_client_error() || status.is_server_error()) || !small {
        return (None, response);
    }
    let (parts, body) = response.into_parts();
    // The size is known and small, so this reads a buffer that is already there.
    let limit = usize::try_from(MAX_INSPECTED_BODY).unwrap_or(usize::MAX);
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            let code = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned));
            (code, Response::from_parts(parts, Body::from(bytes)))
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not read an error answer for the journal");
            (None, Response::from_parts(parts, Body::empty()))
        }
    }
}

/// The parameters as JSON, secrets replaced by [`REDACTED`].
pub fn redacted(params: &Params) -> Map<String, Value> {
    params
        .names()
        .filter_map(|name| Some((name.to_owned(), shown(name, params.get(name)?))))
        .collect()
}

/// Parameter `name`'s value as the journal shows it: JSON, or [`REDACTED`] for a secret.
fn shown(name: &str, raw: &RawParam) -> Value {
    if SECRET_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        return Value::String(REDACTED.to_owned());
    }
    match raw {
        RawParam::Text(text) => Value::String(text.clone()),
        RawParam::Json(value) => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> JournalEntry {
        JournalEntry {
            id: 0,
            at: Timestamp::from_unix_seconds(0).unwrap(),
            method: "GET".into(),
            path: "/api/v1/users/me".into(),
            user_id: None,
            user_email: None,
            params: JournalParams::default(),
            status: 200,
            error_code: None,
            latency_ms: 0.0,
        }
    }

    fn test_state() -> QaState {
        use std::sync::Arc;

        use crate::api::{Api, ApiLimits};
        use crate::core::{Core, CoreOptions, Listeners};
        use crate::qa::{Qa, Realms};

        let core = Core::new(
            zulip_calls_protocol::settings::Settings::default(),
            CoreOptions::default(),
            crate::core::clock::Clock::manual(Timestamp::from_unix_seconds(0).unwrap()),
            crate::core::directory::Directory::default(),
            crate::core::store::Store::open_in_memory().unwrap(),
            Listeners::default(),
        );
        let limits = ApiLimits {
            heartbeat_seconds: 60,
            max_body_bytes: 1024 * 1024,
            rate_limit_per_minute: 600,
        };
        let api = Arc::new(Api::new(Arc::new(core), limits));
        let realms = Arc::new(|| Ok(Realms::default()));
        Arc::new(Qa::new(api, None, realms, Arc::default(), Arc::default()))
    }

    /// The parameters `begin` hands on for `request`, if it read them all.
    async fn handed_on(request: Request) -> Option<Vec<String>> {
        let state = test_state();
        let (request, _) = begin(&state, request).await;
        request
            .extensions()
            .get::<ReadParams>()
            .map(|ReadParams(params)| params.names().map(str::to_owned).collect())
    }

    #[tokio::test]
    async fn a_get_without_a_body_has_its_query_read_once() {
        let request = Request::get("/api/v1/events?queue_id=q1&last_event_id=4")
            .body(Body::empty())
            .unwrap();
        let names = handed_on(request).await.expect("handed on");
        assert_eq!(names, ["queue_id", "last_event_id"]);
    }

    #[tokio::test]
    async fn a_body_of_another_type_is_left_to_the_handler() {
        // The handler reads it to hold it to the size limit.
        let request = Request::post("/api/v1/calls/create?user_id=2")
            .header(CONTENT_TYPE, "text/plain")
            .body(Body::from("hello"))
            .unwrap();
        assert_eq!(handed_on(request).await, None);
    }

    #[test]
    fn keeps_the_latest_entries_with_increasing_ids() {
        let journal = Journal::default();
        for _ in 0..CAPACITY + 5 {
            journal.append(entry());
        }
        journal.read(|entries| {
            assert_eq!(entries.len(), CAPACITY);
            assert_eq!(entries.front().unwrap().id, 6);
            assert_eq!(entries.back().unwrap().id, 10_005);
        });
        assert_eq!(journal.clear(), CAPACITY);
        assert_eq!(journal.append(entry()), 10_006);
    }

    #[test]
    fn secrets_are_redacted() {
        let params =
            Params::from_urlencoded(b"username=a&password=p&api_key=k&Token=t&key=x&user_id=6");
        let map = redacted(&params);
        for secret in ["password", "api_key", "Token", "key"] {
            assert_eq!(map[secret], REDACTED, "{secret}");
        }
        assert_eq!(map["username"], "a");
        assert_eq!(map["user_id"], "6");
    }

    #[test]
    fn control_and_metrics_paths_are_not_journaled() {
        assert!(!is_api_path("/mock/v1/journal"));
        assert!(!is_api_path("/mock/v1"));
        assert!(!is_api_path("/metrics"));
        assert!(is_api_path("/mock/v10"));
        assert!(is_api_path("/api/v1/calls/create"));
    }
}

//! Event queues, events and WebSockets from the outside (CONTROL-API.md, "Queues, events and
//! WebSockets"): list the queues, inject any event, expire queues, close WebSockets, so a test
//! can drive a client through what a real server does only now and then.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zulip_calls_protocol::{EventKind, QueueEvent, QueueId, Timestamp, UserId};

use super::users::{find_user, path_user};
use super::{ControlError, ControlResult, PREFIX};
use crate::api::params::ApiParams;
use crate::api::success;
use crate::qa::QaState;
use crate::qa::request_match::UserRef;

/// The close code when none is given: 1012 (service restart), which tells a client to
/// reconnect.
pub const DEFAULT_CLOSE_CODE: u16 = 1012;

/// The queue routes.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router
        .route(&format!("{PREFIX}/queues"), get(list))
        .route(
            &format!("{PREFIX}/queues/{{queue_id}}/expire"),
            post(expire),
        )
        .route(&format!("{PREFIX}/users/{{user_id}}/events"), post(inject))
        .route(
            &format!("{PREFIX}/users/{{user_id}}/queues/expire"),
            post(expire_user),
        )
        .route(
            &format!("{PREFIX}/users/{{user_id}}/websockets/close"),
            post(close_websockets),
        )
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct ListRequest {
    #[serde(default)]
    user: Option<UserRef>,
}

/// One queue as listed.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct QueueLine {
    queue_id: QueueId,
    user_id: UserId,
    /// `null` = every type.
    event_types: Option<Vec<String>>,
    /// The dialect of the call events it gets (`design` or `1.1`), chosen when it was
    /// registered.
    dialect: Option<&'static str>,
    /// Events not yet acknowledged.
    pending: usize,
    websocket_connected: bool,
    /// A long-poll (`GET events`) is waiting on the queue now.
    long_polling: bool,
    last_polled: Timestamp,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResponse {
    /// Oldest first.
    queues: Vec<QueueLine>,
}

async fn list(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let request: ListRequest = params.decode()?;
    let user = match &request.user {
        Some(user) => Some(find_user(&state, user)?.id),
        None => None,
    };
    let connected = state.api.sockets.connected_queues();
    let queues = state
        .core
        .queues
        .list(user)
        .into_iter()
        .map(|q| QueueLine {
            websocket_connected: connected.contains(&q.queue_id),
            queue_id: q.queue_id,
            user_id: q.user_id,
            event_types: q.event_types,
            dialect: q.format.map(|format| format.0),
            pending: q.pending,
            long_polling: q.long_polling,
            last_polled: q.last_polled,
        })
        .collect();
    Ok(success(ListResponse { queues }))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct InjectRequest {
    /// A JSON object with a string `type` (JSON text in a form or query).
    #[schemars(with = "serde_json::Map<String, Value>")]
    event: Value,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct InjectResponse {
    /// How many of the user's queues took the event (a queue's `event_types` may refuse it).
    queues: usize,
}

/// Queues `event` (an object with a string `type`) on every queue of the user that wants its
/// type; each queue gives it its own `id`.
async fn inject(
    State(state): State<QaState>,
    user_id: Result<Path<String>, PathRejection>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let user = path_user(&state, user_id)?;
    let request: InjectRequest = params.decode()?;
    let event = match request.event {
        // A form or query carries the object as JSON text.
        Value::String(text) => serde_json::from_str(&text).map_err(|err| {
            ControlError::bad_request(format!("Invalid 'event': expected a JSON object: {err}"))
        })?,
        other => other,
    };
    let Value::Object(mut fields) = event else {
        return Err(ControlError::bad_request(
            "Invalid 'event': expected a JSON object",
        ));
    };
    if !fields.get("type").is_some_and(Value::is_string) {
        return Err(ControlError::bad_request(
            "Invalid 'event': it needs a string 'type'",
        ));
    }
    // Read as a client reads events, so a well-formed call_event is one to every observer;
    // a malformed one is sent as given (testing how clients cope is a use of this).
    fields.insert("id".into(), Value::from(0));
    let object = Value::Object(fields);
    let kind = match serde_json::from_value::<QueueEvent>(object.clone()) {
        Ok(event) => event.kind,
        Err(_) => {
            let Value::Object(mut fields) = object else {
                return Err(ControlError::bad_request("Invalid 'event'"));
            };
            fields.remove("id");
            let event_type = match fields.remove("type") {
                Some(Value::String(t)) => t,
                _ => return Err(ControlError::bad_request("Invalid 'event'")),
            };
            EventKind::Unknown { event_type, fields }
        }
    };
    let queues = state.core.queues.send(user.id, &kind);
    state.core.note_change();
    tracing::info!(user = %user.id, queues, "event injected");
    Ok(success(InjectResponse { queues }))
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ExpireResponse {
    queue_id: QueueId,
    user_id: UserId,
}

async fn expire(
    State(state): State<QaState>,
    queue_id: Result<Path<String>, PathRejection>,
) -> ControlResult<Response> {
    let queue_id = QueueId(
        queue_id
            .map(|Path(id)| id)
            .map_err(|_| ControlError::not_found("No such event queue"))?,
    );
    let user_id = state
        .core
        .queues
        .remove(&queue_id)
        .ok_or_else(|| ControlError::not_found(format!("No such event queue: {queue_id}")))?;
    state.core.note_change();
    tracing::info!(%queue_id, user = %user_id, "event queue expired through the control API");
    Ok(success(ExpireResponse { queue_id, user_id }))
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ExpireUserResponse {
    expired: usize,
}

async fn expire_user(
    State(state): State<QaState>,
    user_id: Result<Path<String>, PathRejection>,
) -> ControlResult<Response> {
    let user = path_user(&state, user_id)?;
    let expired = state.core.queues.remove_user(user.id).len();
    state.core.note_change();
    tracing::info!(user = %user.id, expired, "event queues expired through the control API");
    Ok(success(ExpireUserResponse { expired }))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct CloseRequest {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct CloseResponse {
    closed: usize,
}

/// The longest close reason a close frame carries (125 bytes of payload less the code).
const MAX_REASON_BYTES: usize = 123;

async fn close_websockets(
    State(state): State<QaState>,
    user_id: Result<Path<String>, PathRejection>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let user = path_user(&state, user_id)?;
    let request: CloseRequest = params.decode()?;
    let code = request.code.unwrap_or(DEFAULT_CLOSE_CODE);
    if !sendable_close_code(code) {
        return Err(ControlError::bad_request(format!(
            "Invalid 'code': {code} cannot be sent in a close frame (use 1000-1003, 1007-1014 \
             or 3000-4999)"
        )));
    }
    let reason = request
        .reason
        .unwrap_or_else(|| "closed through the control API".to_owned());
    if reason.len() > MAX_REASON_BYTES {
        return Err(ControlError::bad_request(format!(
            "Invalid 'reason': at most {MAX_REASON_BYTES} bytes"
        )));
    }
    let closed = state.api.sockets.close_user(user.id, code, &reason);
    tracing::info!(user = %user.id, code, closed, "websockets closed through the control API");
    Ok(success(CloseResponse { closed }))
}

/// Codes a server may put in a close frame (RFC 6455 §7.4; 1004-1006 and 1015 are reserved
/// for local use, 1015 for TLS failures).
fn sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_close_codes_are_refused() {
        for code in [1000, 1008, 1011, 1012, 1014, 3000, 4999] {
            assert!(sendable_close_code(code), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 2000, 5000] {
            assert!(!sendable_close_code(code), "{code}");
        }
    }
}

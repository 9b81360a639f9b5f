//! `create`, `acknowledge`, `{id}/respond`, `{id}/cancel`, `{id}/end`, `{id}/status` and
//! `heartbeat` as the plugin 1.1.0's views answer them. Each follows its view's order of
//! checks; the state changes themselves go through the core, as the contract's do.

use axum::Router;
use axum::extract::{Path, State};
use serde_json::{Map, json};
use zulip_calls_protocol::call::Party;
use zulip_calls_protocol::calls::{self as api, CallTarget};
use zulip_calls_protocol::plugin::{
    CallStatusById, CallStatusByIdResponse, Cancel, EndById, Heartbeat, PluginCall,
    PluginCreateResponse, RespondById,
};
use zulip_calls_protocol::{Action, CallId, CallState, CallType, UserId};

use super::body::{self, Answer, Refusal, error, jsonable, ok, text, uncaught};
use crate::api::auth::AuthUser;
use crate::api::design::calls::join_url;
use crate::api::params::ApiParams;
use crate::api::shared::answer_to_create;
use crate::api::{ApiState, mount};
use crate::core::CallError;
use crate::core::calls::{CallDesk, Who};
use crate::core::model::{CallRecord, UserRecord};

pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    let router = mount::<api::Create, _, _>(router, create);
    let router = mount::<api::Acknowledge, _, _>(router, acknowledge);
    let router = mount::<RespondById, _, _>(router, respond);
    let router = mount::<Cancel, _, _>(router, cancel);
    let router = mount::<EndById, _, _>(router, end);
    let router = mount::<CallStatusById, _, _>(router, status);
    mount::<Heartbeat, _, _>(router, heartbeat)
}

/// The views' terminal states.
fn terminal(state: CallState) -> bool {
    state.is_terminal()
}

/// `Call.objects.get(call_id=..., realm=...)` in a view that catches everything: a
/// malformed id is the view's 500 (§9 row 12), an unknown one (or another realm's) 404.
fn find_in_realm(
    state: &ApiState,
    user: &UserRecord,
    id: &str,
    failing: &str,
) -> Result<CallRecord, Refusal> {
    match lookup(state, id) {
        Lookup::Found(record) if record.realm_id == user.realm_id => Ok(*record),
        Lookup::Found(_) | Lookup::Missing => Err(error(404, "Call not found")),
        Lookup::Malformed(reason) => Err(error(500, format!("{failing}: {reason}"))),
        Lookup::Failed(err) => Err(body::failed(failing, err)),
    }
}

enum Lookup {
    Found(Box<CallRecord>),
    Missing,
    Malformed(String),
    Failed(CallError),
}

fn lookup(state: &ApiState, id: &str) -> Lookup {
    let call_id = match body::call_id(id) {
        Ok(call_id) => call_id,
        Err(reason) => return Lookup::Malformed(reason),
    };
    let store = state.core.store();
    match CallDesk::new(&state.core).visible_call(&store, call_id, Who::Operator) {
        Ok(record) => Lookup::Found(Box::new(record)),
        Err(CallError::CallNotFound) => Lookup::Missing,
        Err(err) => Lookup::Failed(err),
    }
}

/// Applies `action` by `user` through the core.
fn act(
    state: &ApiState,
    user: &UserRecord,
    call_id: CallId,
    action: Action,
    failing: &str,
) -> Result<CallRecord, Refusal> {
    CallDesk::new(&state.core)
        .act(call_id, Who::User(user), action, None)
        .map(|acted| acted.record)
        .map_err(|err| match err {
            // Lost a race to another request: answered as the view would have, had it come second.
            CallError::InvalidState { state, .. } => error(
                400,
                format!("Cannot {} call in state: {state}", action.verb()),
            ),
            err => body::failed(failing, err),
        })
}

/// `POST calls/create` (`_create_call_impl`).
async fn create(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> Answer {
    // The view runs the plugin's cleanup before anything else (§9 row 4).
    CallDesk::new(&state.core).sweep_if_lazy();
    let Some(recipient) = text(&params, "user_id").filter(|id| !id.is_empty()) else {
        return Err(error(400, "user_id is required"));
    };
    // `"true"` quoted is not `true` (§1): the view compares the lower-cased text.
    let is_video = text(&params, "is_video_call").is_none_or(|v| v.to_lowercase() == "true");
    let not_found = || error(404, format!("User not found with user_id: {recipient}"));
    let Ok(recipient_id) = recipient.trim().parse::<i64>() else {
        return Err(not_found());
    };
    let call_type = if is_video {
        CallType::Video
    } else {
        CallType::Audio
    };
    let created =
        CallDesk::new(&state.core).create(&user, &CallTarget::Id(UserId(recipient_id)), call_type);
    let record = created.map_err(|err| match err {
        CallError::UserNotFound => not_found(),
        CallError::CannotCallSelf => error(400, "Cannot call yourself"),
        CallError::RedialCooldown { existing, .. } => error_with_call(
            429,
            "Please wait a moment before making another call",
            existing,
        ),
        CallError::CallerBusy { existing, .. } => {
            error_with_call(409, "You are already in a call", existing)
        }
        CallError::UserBusy { name } => error(409, format!("{name} is currently in another call")),
        err => body::failed("Failed to create call", err),
    })?;
    if let Err(err) = state.core.durable().await {
        tracing::error!(error = %err, "storage failure");
        return Err(uncaught());
    }
    Ok(ok(PluginCreateResponse::from(answer_to_create(
        &state, &record,
    ))))
}

fn error_with_call(status: u16, message: &str, existing: CallId) -> Refusal {
    let mut extra = Map::new();
    extra.insert("existing_call_id".to_owned(), json!(existing.to_string()));
    body::error_with(status, message, extra)
}

/// `POST calls/acknowledge`: `status` required (§3), only the receiver's call found (§9 row 11).
async fn acknowledge(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> Answer {
    let call_id = text(&params, "call_id")
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    let status = text(&params, "status")
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    let missing: Vec<String> = [("call_id", &call_id), ("status", &status)]
        .into_iter()
        .filter(|(_, value)| value.is_empty())
        .map(|(name, _)| format!("Missing required parameter: {name}"))
        .collect();
    if !missing.is_empty() {
        return Err(error(400, missing.join("; ")));
    }
    if status != "ringing" {
        return Err(error(
            400,
            format!("Invalid status parameter. Must be 'ringing'. Received: '{status}'"),
        ));
    }
    let record = match lookup(&state, &call_id) {
        Lookup::Found(record) if record.call.receiver_id == user.id => *record,
        Lookup::Found(_) | Lookup::Missing => {
            return Err(error(404, "Call not found or you're not the receiver"));
        }
        Lookup::Malformed(_) | Lookup::Failed(_) => {
            return Err(error(500, "Internal server error"));
        }
    };
    if terminal(record.call.state) {
        return Ok(ok(
            json!({ "call_status": record.call.state, "message": "Call already ended" }),
        ));
    }
    if !matches!(record.call.state, CallState::Calling | CallState::Ringing) {
        return Err(error(
            400,
            format!(
                "Call cannot be acknowledged in state: {}",
                record.call.state
            ),
        ));
    }
    let record = act(
        &state,
        &user,
        record.call.call_id,
        Action::Acknowledge,
        "Internal server error",
    )?;
    Ok(ok(json!({
        "call_status": record.call.state,
        "message": "Call acknowledged successfully",
    })))
}

/// `POST calls/{id}/respond`.
async fn respond(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiParams(params): ApiParams,
) -> Answer {
    const FAILING: &str = "Failed to respond to call";
    let record = find_in_realm(&state, &user, &id, FAILING)?;
    if record.call.receiver_id != user.id {
        return Err(error(403, "Not authorized to respond to this call"));
    }
    if terminal(record.call.state) {
        return Ok(ok(json!({
            "action": "noop",
            "call_url": null,
            "message": "Call already ended",
        })));
    }
    if !matches!(record.call.state, CallState::Calling | CallState::Ringing) {
        return Err(error(
            400,
            format!("Cannot respond to call in state: {}", record.call.state),
        ));
    }
    let response = text(&params, "response");
    let action = match response.as_deref() {
        Some("accept") => Action::Accept,
        Some("decline") => Action::Reject,
        _ => return Err(error(400, "Response must be 'accept' or 'decline'")),
    };
    let response = response.unwrap_or_default();
    let record = act(&state, &user, record.call.call_id, action, FAILING)?;
    let call_url = (action == Action::Accept).then(|| join_url(&state, &record, Party::Receiver));
    Ok(ok(json!({
        "action": response,
        "call_url": call_url,
        // The view's f-string: "Call accepted", and "Call declineed", successfully.
        "message": format!("Call {response}ed successfully"),
    })))
}

/// `POST calls/{id}/cancel`.
async fn cancel(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiParams(_): ApiParams,
) -> Answer {
    const FAILING: &str = "Failed to cancel call";
    let record = find_in_realm(&state, &user, &id, FAILING)?;
    if record.call.sender_id != user.id {
        return Err(error(403, "Not authorized to cancel this call"));
    }
    if terminal(record.call.state) {
        return Ok(ok(json!({ "message": "Call already ended" })));
    }
    if !matches!(record.call.state, CallState::Calling | CallState::Ringing) {
        return Err(error(
            400,
            format!("Cannot cancel call in state: {}", record.call.state),
        ));
    }
    act(&state, &user, record.call.call_id, Action::Cancel, FAILING)?;
    Ok(ok(json!({ "message": "Call cancelled successfully" })))
}

/// `POST calls/{id}/end`: before an answer too, the call becomes `ended` (§9 row 10, a
/// core quirk).
async fn end(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiParams(_): ApiParams,
) -> Answer {
    const FAILING: &str = "Failed to end call";
    let record = find_in_realm(&state, &user, &id, FAILING)?;
    if record.call.party_of(user.id).is_none() {
        return Err(error(403, "Not authorized to end this call"));
    }
    if terminal(record.call.state) {
        return Ok(ok(json!({ "message": "Call already ended" })));
    }
    act(&state, &user, record.call.call_id, Action::End, FAILING)?;
    Ok(ok(json!({ "message": "Call ended successfully" })))
}

/// `GET calls/{id}/status`: `call_url` is the bare room URL.
async fn status(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Answer {
    let record = find_in_realm(&state, &user, &id, "Failed to get call status")?;
    if record.call.party_of(user.id).is_none() {
        return Err(error(403, "Not authorized to view this call"));
    }
    let bare = record.call.jitsi_url.clone();
    Ok(ok(CallStatusByIdResponse {
        call: PluginCall::new(&record.call, Some(bare)),
    }))
}

/// `POST calls/heartbeat`: Zulip's `JsonableError`s, any realm's call (§9), a terminal
/// call's state before the party check, and a malformed id let through as a 500 (§9 row 12).
async fn heartbeat(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> Answer {
    let Some(id) = text(&params, "call_id").filter(|id| !id.is_empty()) else {
        return Err(jsonable("call_id is required"));
    };
    let record = match lookup(&state, &id) {
        Lookup::Found(record) => *record,
        Lookup::Missing => return Err(jsonable("Call not found")),
        Lookup::Malformed(_) | Lookup::Failed(_) => return Err(uncaught()),
    };
    if terminal(record.call.state) {
        return Ok(ok(json!({ "call_state": record.call.state })));
    }
    if record.call.party_of(user.id).is_none() {
        return Err(jsonable("Not a participant in this call"));
    }
    let call_state = CallDesk::new(&state.core)
        .heartbeat(record.call.call_id, &user)
        .map_err(|_| uncaught())?;
    Ok(ok(json!({ "call_state": call_state })))
}

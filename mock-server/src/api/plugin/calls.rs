//! The 1.1 dialect's own routes (spec 1.1 §3): answering, withdrawing and ending a call by
//! its id in the path, its status, and the heartbeat that keeps an accepted call alive.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use zulip_calls_protocol::call::Party;
use zulip_calls_protocol::plugin::{
    ALREADY_ENDED, CallStatusById, CallStatusByIdResponse, Cancel, EndById, Heartbeat,
    HeartbeatRequest, HeartbeatResponse, MessageResponse, PluginCall, RespondById,
    RespondByIdRequest, RespondByIdResponse,
};
use zulip_calls_protocol::{Action, CallId, Dialect, Outcome, ParamError, RespondAction};

use super::error::in_dialect;
use crate::api::auth::AuthUser;
use crate::api::design::calls::join_url;
use crate::api::error::{ApiResult, ServerError};
use crate::api::params::ApiParams;
use crate::api::{ApiState, mount, success};
use crate::core::CallError;
use crate::core::calls::{CallDesk, Who};
use crate::core::group::GroupDesk;

/// The 1.1 dialect's own routes (not served by a design-only server).
pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    let router = mount::<RespondById, _, _>(router, respond);
    let router = mount::<Cancel, _, _>(router, cancel);
    let router = mount::<EndById, _, _>(router, end);
    let router = mount::<CallStatusById, _, _>(router, status);
    mount::<Heartbeat, _, _>(router, heartbeat)
}

/// The call id of the path; one that is not a UUID is a 400 naming `call_id` (the plugin
/// answered 500).
pub(super) fn path_call_id(
    path: Result<Path<String>, PathRejection>,
) -> Result<CallId, ServerError> {
    let invalid = |reason: &str| ParamError::Invalid {
        name: "call_id".into(),
        reason: reason.to_owned(),
    };
    let Path(text) = path.map_err(|_| invalid("is not valid UTF-8"))?;
    text.trim_matches('"')
        .parse()
        .map_err(|_| invalid("is not a call id").into())
}

/// A call operation's failure in this dialect's words.
fn refused(err: CallError) -> ServerError {
    in_dialect(Some(Dialect::V1_1), err)
}

async fn respond(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let call_id = path_call_id(call_id)?;
    let request: RespondByIdRequest = params.decode()?;
    let action = match request.response {
        RespondAction::Accept => Action::Accept,
        RespondAction::Reject => Action::Reject,
    };
    let acted = CallDesk::new(&state.core).act(call_id, Who::User(&user), action, None);
    let response = match acted {
        Ok(acted) if acted.record.call.state == zulip_calls_protocol::CallState::Accepted => {
            RespondByIdResponse::accepted(join_url(&state, &acted.record, Party::Receiver))
        }
        Ok(_) => RespondByIdResponse::declined(),
        // A finished call's answer changes nothing (idempotent, as the plugin 1.1.0 made it).
        Err(CallError::InvalidState { state, .. }) if state.is_terminal() => {
            RespondByIdResponse::noop()
        }
        Err(err) => return Err(refused(err)),
    };
    Ok(success(response))
}

async fn cancel(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
    ApiParams(_): ApiParams,
) -> ApiResult<Response> {
    let call_id = path_call_id(call_id)?;
    let acted = CallDesk::new(&state.core)
        .act(call_id, Who::User(&user), Action::Cancel, None)
        .map_err(refused)?;
    let message = match acted.outcome {
        Outcome::Unchanged => ALREADY_ENDED,
        _ => MessageResponse::CANCELLED,
    };
    Ok(success(MessageResponse::new(message)))
}

async fn end(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
    // `duration` is read (and so checked for size and form) but not used: the server times
    // the call itself.
    ApiParams(_): ApiParams,
) -> ApiResult<Response> {
    let call_id = path_call_id(call_id)?;
    let acted = CallDesk::new(&state.core)
        .act(call_id, Who::User(&user), Action::End, None)
        .map_err(refused)?;
    let message = match acted.outcome {
        Outcome::Unchanged => ALREADY_ENDED,
        _ => MessageResponse::ENDED,
    };
    Ok(success(MessageResponse::new(message)))
}

async fn status(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let call_id = path_call_id(call_id)?;
    let record = {
        let store = state.core.store();
        CallDesk::new(&state.core)
            .visible_call(&store, call_id, Who::User(&user))
            .map_err(refused)?
    };
    let party = record.call.party_of(user.id).unwrap_or(Party::Sender);
    let call_url = record
        .call
        .state
        .is_active()
        .then(|| join_url(&state, &record, party));
    Ok(success(CallStatusByIdResponse {
        call: PluginCall::new(&record.call, call_url),
    }))
}

async fn heartbeat(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: HeartbeatRequest = params.decode()?;
    let call_state = match CallDesk::new(&state.core).heartbeat(request.call_id, &user) {
        Ok(call_state) => call_state,
        // Not a 1:1 call: a joined participant's heartbeat of a group call (spec 1.1 §6).
        Err(CallError::CallNotFound) => GroupDesk::new(&state.core)
            .heartbeat(request.call_id, &user)?
            .heartbeat_state(),
        Err(err) => return Err(refused(err)),
    };
    Ok(success(HeartbeatResponse { call_state }))
}

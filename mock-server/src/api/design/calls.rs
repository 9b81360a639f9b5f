//! `/api/v1/calls/*` (spec §4).

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use zulip_calls_protocol::call::Party;
use zulip_calls_protocol::calls::{self as api, CallDetail, OkStatus};
use zulip_calls_protocol::{Action, ApiError, CallId, CallState, ErrorCode, RespondAction};

use crate::api::ApiState;
use crate::api::auth::AuthUser;
use crate::api::error::{ApiResult, ServerError};
use crate::api::params::ApiParams;
use crate::api::{mount, success};
use crate::core::calls::{CallDesk, Who};
use crate::core::model::CallRecord;

/// The routes of the design dialect alone: not served by a 1.1-only server.
pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    let router = mount::<api::Initiate, _, _>(router, initiate);
    let router = mount::<api::Start, _, _>(router, start);
    let router = mount::<api::Respond, _, _>(router, respond);
    let router = mount::<api::Status, _, _>(router, status);
    let router = mount::<api::End, _, _>(router, end);
    let router = mount::<api::EndAll, _, _>(router, end_all);
    let router = mount::<api::Active, _, _>(router, active);
    let router = mount::<api::Cleanup, _, _>(router, cleanup);
    mount::<api::GetCall, _, _>(router, get_call)
}

pub(crate) fn join_url(state: &ApiState, record: &CallRecord, party: Party) -> String {
    state
        .core
        .join_urls
        .for_party(&record.call, party, state.core.clock.now())
}

async fn initiate(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::InitiateRequest = params.decode()?;
    let record =
        CallDesk::new(&state.core).create(&user, &request.target()?, request.call_type())?;
    Ok(success(api::InitiateResponse {
        call_id: record.call.call_id,
        call_url: join_url(&state, &record, Party::Sender),
        room_id: record.call.jitsi_room_id.clone(),
        jitsi_url: record.call.jitsi_url.clone(),
        timeout_seconds: state.core.settings().timeout_seconds(),
        message: api::InitiateResponse::MESSAGE.to_owned(),
    }))
}

/// Commits the new call, which rings its receiver, before the caller's answer is built (its
/// join URL and JSON), rather than after: the answer would wait for the commit all the same.
pub(crate) async fn ring_first(state: &ApiState) -> Result<(), ServerError> {
    state.core.durable().await.map_err(ServerError::from)
}

async fn start(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::StartRequest = params.decode()?;
    let target = api::CallTarget::Id(request.user_id);
    let record = CallDesk::new(&state.core).create(&user, &target, request.call_type)?;
    ring_first(&state).await?;
    Ok(success(api::StartResponse {
        call_id: record.call.call_id,
        jitsi_url: record.call.jitsi_url.clone(),
        join_url: Some(join_url(&state, &record, Party::Sender)),
        timeout_seconds: state.core.settings().timeout_seconds(),
    }))
}

async fn respond(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::RespondRequest = params.decode()?;
    let action = match request.response {
        RespondAction::Accept => Action::Accept,
        RespondAction::Reject => Action::Reject,
    };
    let acted = CallDesk::new(&state.core).act(request.call_id, Who::User(&user), action, None)?;
    let accepted = acted.record.call.state == CallState::Accepted;
    Ok(success(api::RespondResponse {
        status: OkStatus::Ok,
        call_status: acted.record.call.state,
        jitsi_url: accepted.then(|| acted.record.call.jitsi_url.clone()),
        join_url: accepted.then(|| join_url(&state, &acted.record, Party::Receiver)),
    }))
}

async fn status(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::StatusRequest = params.decode()?;
    let acted = CallDesk::new(&state.core).act(
        request.call_id,
        Who::User(&user),
        Action::Status,
        Some(request.status),
    )?;
    Ok(success(api::StatusResponse {
        status: OkStatus::Ok,
        call_status: acted.record.call.state,
    }))
}

async fn end(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::EndRequest = params.decode()?;
    let acted =
        CallDesk::new(&state.core).act(request.call_id, Who::User(&user), Action::End, None)?;
    Ok(success(api::EndResponse {
        status: OkStatus::Ok,
        call_status: Some(acted.record.call.state),
        duration: acted.record.call.duration,
    }))
}

async fn end_all(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    // No parameters, but reading them applies the body checks (size limit, JSON) of spec §1.
    ApiParams(_): ApiParams,
) -> ApiResult<Response> {
    let active = state.core.store().active_calls_of(user.id)?;
    let desk = CallDesk::new(&state.core);
    let mut ended = 0u32;
    for record in active {
        // A call that ended meanwhile (the other side hung up) is not counted.
        match desk.act(record.call.call_id, Who::User(&user), Action::End, None) {
            Ok(acted) if !matches!(acted.outcome, zulip_calls_protocol::Outcome::Unchanged) => {
                ended += 1;
            }
            Ok(_) => {}
            Err(err) => tracing::debug!(error = %err, "end-all skipped a call"),
        }
    }
    Ok(success(api::EndAllResponse::new(ended)))
}

async fn active(State(state): State<ApiState>, AuthUser(user): AuthUser) -> ApiResult<Response> {
    let calls = state.core.store().active_calls_of(user.id)?;
    Ok(success(api::ActiveResponse::new(
        calls.iter().map(|r| r.call.to_active(user.id)).collect(),
    )))
}

async fn get_call(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    // An id that is not a UUID (or not even UTF-8) names no call.
    let call_id: CallId = call_id
        .ok()
        .and_then(|Path(id)| id.parse().ok())
        .ok_or_else(|| ApiError::new(ErrorCode::CallNotFound, "Call not found"))?;
    let record = {
        let store = state.core.store();
        CallDesk::new(&state.core).visible_call(&store, call_id, Who::User(&user))?
    };
    let party = record.call.party_of(user.id).unwrap_or(Party::Sender);
    let join_url = record
        .call
        .state
        .is_active()
        .then(|| join_url(&state, &record, party));
    Ok(success(api::GetCallResponse {
        call: CallDetail {
            call: record.call.clone(),
            join_url,
            sender_media_status: record.sender_media_status,
            receiver_media_status: record.receiver_media_status,
        },
    }))
}

async fn cleanup(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    if !user.is_admin {
        return Err(ApiError::new(
            ErrorCode::UnauthorizedPrincipal,
            "Must be an organization administrator",
        )
        .into());
    }
    let request: api::CleanupRequest = params.decode()?;
    let now = state.core.clock.now();
    let cutoff = now.plus_seconds(-i64::from(request.timeout_minutes) * 60);
    let stale = state.core.store().unanswered_created_before(cutoff)?;
    let desk = CallDesk::new(&state.core);
    let mut timed_out = 0u64;
    for record in stale.iter().filter(|r| r.realm_id == user.realm_id) {
        if desk
            .act(record.call.call_id, Who::Operator, Action::Cleanup, None)
            .is_ok()
        {
            timed_out += 1;
        }
    }
    let deleted = if request.cleanup_old_calls {
        let cutoff = now.plus_seconds(-i64::from(request.old_calls_days) * 86_400);
        state
            .core
            .store()
            .delete_terminal_ended_before(cutoff, Some(user.realm_id))?
    } else {
        0
    };
    Ok(success(api::CleanupResponse {
        calls_timed_out: timed_out,
        calls_deleted: deleted,
        calls_cleaned: timed_out + deleted,
    }))
}

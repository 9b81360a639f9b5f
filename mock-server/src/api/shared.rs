//! The three paths both dialects share (`create`, `acknowledge`, `history`; spec 1.1 §8).
//! A server that speaks one dialect answers exactly that dialect's fields; one that speaks
//! both takes either dialect's parameters and answers what both dialects' clients read.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use zulip_calls_protocol::call::Party;
use zulip_calls_protocol::calls::{self as api};
use zulip_calls_protocol::plugin::{
    ALREADY_ENDED, HistoryStart, HistoryStatus, PluginCreateResponse, PluginHistoryCall,
    PluginHistoryRequest, PluginHistoryResponse, SharedHistoryEntry, SharedHistoryRequest,
    SharedHistoryResponse,
};
use zulip_calls_protocol::{
    Action, ApiError, CallId, CallState, CallsApi, Dialect, ErrorCode, Timestamp, UserId,
};

use super::auth::AuthUser;
use super::design::calls::{join_url, ring_first};
use super::error::{ApiResult, ServerError};
use super::params::ApiParams;
use super::plugin::error::in_dialect;
use super::{ApiState, mount, success};
use crate::core::CallError;
use crate::core::calls::{CallDesk, Who};
use crate::core::model::CallRecord;

/// The shared routes: served whatever `CALLS_API` says.
pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    let router = mount::<api::Create, _, _>(router, create);
    let router = mount::<api::Acknowledge, _, _>(router, acknowledge);
    mount::<api::History, _, _>(router, history)
}

/// The dialect whose own answers a shared route gives: the one served, or `None` for both.
fn only(state: &ApiState) -> Option<Dialect> {
    state.core.settings().calls_api.only()
}

async fn create(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::CreateRequest = params.decode()?;
    let created =
        CallDesk::new(&state.core).create(&user, &request.target()?, request.call_type()?);
    let record = created.map_err(|err| in_dialect(only(&state), err))?;
    ring_first(&state).await?;
    let response = answer_to_create(&state, &record);
    Ok(match only(&state) {
        Some(Dialect::V1_1) => success(PluginCreateResponse::from(response)),
        _ => success(response),
    })
}

/// What `create` answers about a call just placed (both dialects' fields).
pub(crate) fn answer_to_create(state: &ApiState, record: &CallRecord) -> api::CreateResponse {
    let call = &record.call;
    api::CreateResponse {
        call_id: call.call_id,
        call_url: join_url(state, record, Party::Sender),
        call_type: call.call_type,
        room_name: call.jitsi_room_id.clone(),
        receiver_online: state.core.reports_online(call.receiver_id),
        recipient: api::Recipient {
            user_id: call.receiver_id,
            full_name: call.receiver_name.clone(),
            email: call.receiver_email.clone(),
        },
        call: call.clone(),
    }
}

async fn acknowledge(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::AcknowledgeRequest = params.decode()?;
    let acted = CallDesk::new(&state.core).act(
        request.call_id,
        Who::User(&user),
        Action::Acknowledge,
        None,
    );
    if only(&state) != Some(Dialect::V1_1) {
        let acted = acted?;
        return Ok(success(api::AcknowledgeResponse {
            call_status: acted.record.call.state,
            message: None,
        }));
    }
    // The 1.1 dialect: a finished call's acknowledgement is answered, not refused.
    let (call_status, message) = match acted {
        Ok(acted) => (
            acted.record.call.state,
            api::AcknowledgeResponse::ACKNOWLEDGED,
        ),
        Err(CallError::InvalidState { state, .. }) if state.is_terminal() => (state, ALREADY_ENDED),
        Err(err) => return Err(in_dialect(Some(Dialect::V1_1), err)),
    };
    Ok(success(api::AcknowledgeResponse {
        call_status,
        message: Some(message.to_owned()),
    }))
}

async fn history(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    if !state.core.settings().enable_call_history {
        return Err(ApiError::new(ErrorCode::FeatureDisabled, "Call history is disabled").into());
    }
    match state.core.settings().calls_api {
        CallsApi::Design => design_history(&state, user.id, params.decode()?),
        CallsApi::V1_1 => plugin_history(&state, user.id, params.decode()?),
        CallsApi::Both => shared_history(&state, user.id, params.decode()?),
    }
}

/// The design dialect's page: by offset, with the total.
fn design_history(
    state: &ApiState,
    user: UserId,
    request: api::HistoryRequest,
) -> ApiResult<Response> {
    request.validate()?;
    let (calls, total) = state.core.store().history(
        user,
        request.call_type,
        request.state,
        request.limit,
        request.offset,
    )?;
    let has_more = u64::from(request.offset) + (calls.len() as u64) < total;
    Ok(success(api::HistoryResponse {
        calls: calls.iter().map(|r| r.call.to_history(user)).collect(),
        has_more: Some(has_more),
        total: Some(total),
    }))
}

/// The 1.1 dialect's page: after a cursor, with the next one.
fn plugin_history(
    state: &ApiState,
    user: UserId,
    request: PluginHistoryRequest,
) -> ApiResult<Response> {
    request.validate()?;
    let (calls, has_more) = page_after(
        state,
        user,
        &request_filter(request.call_type, None, request.status),
        request.after()?,
        0,
        request.limit,
    )?;
    Ok(success(PluginHistoryResponse::new(
        calls
            .iter()
            .map(|r| PluginHistoryCall::new(&r.call, user))
            .collect(),
        has_more,
    )))
}

/// Both dialects' page: either dialect's position and filters, both dialects' fields.
fn shared_history(
    state: &ApiState,
    user: UserId,
    request: SharedHistoryRequest,
) -> ApiResult<Response> {
    request.validate()?;
    let filter = request_filter(request.call_type, request.state, request.status);
    let (after, skip) = match request.start()? {
        HistoryStart::Offset(offset) => (None, offset),
        HistoryStart::After {
            created_at,
            call_id,
        } => (Some((created_at, call_id)), 0),
    };
    let (calls, has_more) = page_after(state, user, &filter, after, skip, request.limit)?;
    let total = match &filter.states {
        Some(states) if states.is_empty() => 0,
        states => state.core.store().history_count(
            user,
            filter.call_type,
            states.as_deref().unwrap_or_default(),
        )?,
    };
    Ok(success(SharedHistoryResponse::new(
        calls
            .iter()
            .map(|r| SharedHistoryEntry::new(&r.call, user))
            .collect(),
        has_more,
        total,
    )))
}

/// What a history page may hold.
struct Filter {
    call_type: Option<zulip_calls_protocol::CallType>,
    /// `None`: every state. `Some` of an empty list: no call passes (`state` and `status`
    /// disagree).
    states: Option<Vec<CallState>>,
}

/// The filter of both dialects' parameters: a call passes every one given.
fn request_filter(
    call_type: Option<zulip_calls_protocol::CallType>,
    state: Option<CallState>,
    status: Option<HistoryStatus>,
) -> Filter {
    let states = (state.is_some() || status.is_some()).then(|| {
        CallState::ALL
            .iter()
            .copied()
            .filter(|s| state.is_none_or(|wanted| wanted == *s))
            .filter(|s| status.is_none_or(|status| status.matches(*s)))
            .collect()
    });
    Filter { call_type, states }
}

/// Up to `limit` calls after `after` (and `skip` more), and whether more follow.
fn page_after(
    state: &ApiState,
    user: UserId,
    filter: &Filter,
    after: Option<(Timestamp, CallId)>,
    skip: u32,
    limit: u32,
) -> Result<(Vec<CallRecord>, bool), ServerError> {
    let states = match &filter.states {
        Some(states) if states.is_empty() => return Ok((Vec::new(), false)),
        Some(states) => states.as_slice(),
        None => &[],
    };
    let wanted = skip.saturating_add(limit).saturating_add(1);
    let calls = state
        .core
        .store()
        .history_after(user, filter.call_type, states, after, wanted)?;
    let calls: Vec<CallRecord> = calls.into_iter().skip(skip as usize).collect();
    let has_more = calls.len() > limit as usize;
    Ok((calls.into_iter().take(limit as usize).collect(), has_more))
}

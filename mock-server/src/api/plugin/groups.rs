//! The group call routes of the 1.1 dialect (spec 1.1 §6): thin handlers over
//! [`GroupDesk`], which holds every rule; here only decoding and the answers' shapes.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use zulip_calls_protocol::plugin::MessageResponse;
use zulip_calls_protocol::plugin::group::{
    GroupCallStatus, GroupCreate, GroupCreateRequest, GroupCreateResponse, GroupDecline, GroupEnd,
    GroupInvite, GroupInviteRequest, GroupInviteResponse, GroupJoin, GroupJoinResponse, GroupLeave,
    GroupParticipants, GroupParticipantsResponse, GroupStatus, GroupStatusResponse,
};

use super::calls::path_call_id;
use crate::api::auth::AuthUser;
use crate::api::error::ApiResult;
use crate::api::params::ApiParams;
use crate::api::{ApiState, mount, success};
use crate::core::group::{GroupDesk, GroupRecord, NewGroupCall};
use crate::core::model::UserRecord;

/// The eight group call routes.
pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    let router = mount::<GroupCreate, _, _>(router, create);
    let router = mount::<GroupInvite, _, _>(router, invite);
    let router = mount::<GroupJoin, _, _>(router, join);
    let router = mount::<GroupLeave, _, _>(router, leave);
    let router = mount::<GroupDecline, _, _>(router, decline);
    let router = mount::<GroupEnd, _, _>(router, end);
    let router = mount::<GroupStatus, _, _>(router, status);
    mount::<GroupParticipants, _, _>(router, participants)
}

/// `user`'s own join URL for the call (a token of their own where tokens are issued).
fn call_url(state: &ApiState, record: &GroupRecord, user: &UserRecord) -> String {
    record
        .participant(user.id)
        .map(|place| {
            state.core.join_urls.for_group_participant(
                &record.call,
                &place.participant,
                state.core.clock.now(),
            )
        })
        .unwrap_or_else(|| record.call.jitsi_url.clone())
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

async fn create(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: GroupCreateRequest = params.decode()?;
    let new = NewGroupCall {
        call_type: request.call_type(),
        title: request.title().map(str::to_owned),
        stream_id: request.stream_id,
        topic: request.topic().map(str::to_owned),
        user_ids: request.user_ids.0,
    };
    let record = GroupDesk::new(&state.core).create(&user, new)?;
    Ok(success(GroupCreateResponse {
        call_id: record.call.call_id,
        call_url: call_url(&state, &record, &user),
        call_type: record.call.call_type,
        title: record.call.title.clone(),
        room_name: record.call.jitsi_room_name.clone(),
        host: record.call.host.clone(),
        invited_count: count(record.participants.len().saturating_sub(1)),
    }))
}

async fn invite(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let call_id = path_call_id(call_id)?;
    let request: GroupInviteRequest = params.decode()?;
    let invited = GroupDesk::new(&state.core).invite(call_id, &user, request.user_ids.ids())?;
    let online = invited
        .invited
        .iter()
        .filter(|id| state.core.reports_online(**id))
        .count();
    Ok(success(GroupInviteResponse {
        invited_count: count(invited.invited.len()),
        online_count: count(online),
        offline_count: count(invited.invited.len() - online),
    }))
}

async fn join(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
    ApiParams(_): ApiParams,
) -> ApiResult<Response> {
    let call_id = path_call_id(call_id)?;
    let record = GroupDesk::new(&state.core).join(call_id, &user)?;
    Ok(success(GroupJoinResponse {
        call_url: call_url(&state, &record, &user),
        call_type: record.call.call_type,
        title: record.call.title.clone(),
        participant_count: record.joined_count(),
    }))
}

async fn leave(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
    ApiParams(_): ApiParams,
) -> ApiResult<Response> {
    let call_id = path_call_id(call_id)?;
    GroupDesk::new(&state.core).leave(call_id, &user)?;
    Ok(success(MessageResponse::new(MessageResponse::LEFT)))
}

async fn decline(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
    ApiParams(_): ApiParams,
) -> ApiResult<Response> {
    let call_id = path_call_id(call_id)?;
    GroupDesk::new(&state.core).decline(call_id, &user)?;
    Ok(success(MessageResponse::new(MessageResponse::DECLINED)))
}

async fn end(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
    ApiParams(_): ApiParams,
) -> ApiResult<Response> {
    let call_id = path_call_id(call_id)?;
    GroupDesk::new(&state.core).end(call_id, &user)?;
    Ok(success(MessageResponse::new(MessageResponse::ENDED)))
}

async fn status(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let call_id = path_call_id(call_id)?;
    let record = GroupDesk::new(&state.core).status(call_id, &user)?;
    Ok(success(GroupStatusResponse {
        call: GroupCallStatus::new(&record.call, &record.wire_participants()),
    }))
}

async fn participants(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    call_id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let call_id = path_call_id(call_id)?;
    let participants = GroupDesk::new(&state.core).participants(call_id, &user)?;
    Ok(success(GroupParticipantsResponse::new(participants)))
}

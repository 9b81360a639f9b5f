//! The eight group call endpoints as the plugin 1.1.0's views answer them: their order of
//! checks, their statuses and their words (`message` only, §1), over the same core as the
//! contract's routes. The rules they apply are the core's, under the quirks that make it
//! behave as the plugin (`group_user_ids_comma_only`, `group_join_by_anyone`,
//! `group_ended_calls_refuse`, `plugin_group_rules`, ...: see `core::compat`).
//!
//! Every view looks the call up by id and realm first: a malformed id is its 500 (Django
//! cannot read it as a UUID, and the view's catch-all words it), an unknown one (or another
//! realm's) 404 "Group call not found".

use axum::Router;
use axum::extract::{Path, State};
use serde_json::json;
use zulip_calls_protocol::plugin::group::{
    GroupCallStatus, GroupCreate, GroupCreateResponse, GroupDecline, GroupEnd, GroupInvite,
    GroupInviteResponse, GroupJoin, GroupJoinResponse, GroupLeave, GroupParticipants,
    GroupParticipantsResponse, GroupRefusal, GroupStatus, GroupStatusResponse, ParticipantState,
};
use zulip_calls_protocol::{CallType, StreamId, UserId};

use super::body::{self, Answer, Refusal, error, ok, python_int, text};
use crate::api::auth::AuthUser;
use crate::api::params::ApiParams;
use crate::api::{ApiState, mount};
use crate::core::group::{GroupDesk, GroupError, GroupRecord, NewGroupCall};
use crate::core::model::UserRecord;

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

/// `GroupCall.objects.get(call_id=..., realm=...)` inside the view's catch-all: `failing`
/// is the view's prefix for an exception ("Failed to join call").
fn find(
    state: &ApiState,
    user: &UserRecord,
    id: &str,
    failing: &str,
) -> Result<GroupRecord, Refusal> {
    let call_id = body::call_id(id).map_err(|reason| error(500, format!("{failing}: {reason}")))?;
    match GroupDesk::new(&state.core).find(call_id, user.realm_id) {
        Ok(Some(record)) => Ok(record),
        Ok(None) => Err(error(404, "Group call not found")),
        Err(err) => Err(store_failure(failing, &err)),
    }
}

fn store_failure(failing: &str, err: &GroupError) -> Refusal {
    tracing::error!(error = %err, "{failing}");
    error(500, format!("{failing}: {err}"))
}

/// A refusal of the core after the view's own checks passed (another request changed the
/// call in between): as the view would have answered, had it come second.
fn refused(failing: &str, err: GroupError) -> Refusal {
    match err {
        GroupError::Refused(GroupRefusal::NotParticipant) => error(404, "Group call not found"),
        GroupError::Refused(GroupRefusal::CallEnded) => error(400, "Call has ended"),
        GroupError::Refused(GroupRefusal::AlreadyJoined) => error(400, "Already in call"),
        GroupError::Refused(GroupRefusal::NoValidInvitees) => {
            error(400, "No valid users to invite")
        }
        GroupError::Refused(GroupRefusal::InvalidState {
            action: zulip_calls_protocol::plugin::group::ParticipantAction::Leave,
            ..
        }) => error(400, "Already left call"),
        GroupError::Refused(refusal) => error(400, refusal.to_string()),
        err => store_failure(failing, &err),
    }
}

/// `[int(uid.strip()) for uid in user_ids.split(",")]`: `None` when any part does not read.
fn comma_ids(raw: &str) -> Option<Vec<UserId>> {
    raw.split(',')
        .map(|part| python_int(part).map(UserId))
        .collect()
}

/// The ids as the plugin's `UserProfile.objects.filter(id__in=...)` returns its users: each
/// once, in id order.
fn in_id_order(mut ids: Vec<UserId>) -> Vec<UserId> {
    ids.sort();
    ids.dedup();
    ids
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `POST calls/group/create`: `user_ids` read as comma-separated integers only; ids that do
/// not read, or name nobody who can be invited, open a call with no invitees (§9 row 5).
async fn create(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> Answer {
    const FAILING: &str = "Failed to create group call";
    let call_type = text(&params, "call_type")
        .unwrap_or_else(|| "video".to_owned())
        .to_lowercase();
    let call_type = match call_type.as_str() {
        "video" => CallType::Video,
        "audio" => CallType::Audio,
        _ => return Err(error(400, "call_type must be 'video' or 'audio'")),
    };
    let stripped = |name: &str| {
        text(&params, name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let title = stripped("title");
    let stream = stripped("stream_id");
    let topic = stripped("topic");
    // The mock keeps no streams: any id that reads as an integer is taken as one.
    let stream_id = if stream.is_empty() {
        None
    } else {
        match python_int(&stream) {
            Some(id) => Some(StreamId(id)),
            None => return Err(error(404, format!("Stream not found: {stream}"))),
        }
    };
    let user_ids = stripped("user_ids");
    let user_ids = if user_ids.is_empty() {
        Vec::new()
    } else {
        // The view logs "Invalid user_ids format" and goes on without invitees.
        comma_ids(&user_ids).map(in_id_order).unwrap_or_default()
    };
    let new = NewGroupCall {
        call_type,
        title: (!title.is_empty()).then_some(title),
        stream_id,
        topic: stream_id.and((!topic.is_empty()).then_some(topic)),
        user_ids,
    };
    let record = GroupDesk::new(&state.core)
        .create(&user, new)
        .map_err(|err| refused(FAILING, err))?;
    Ok(ok(GroupCreateResponse {
        call_id: record.call.call_id,
        call_url: record.call.jitsi_url.clone(),
        call_type: record.call.call_type,
        title: record.call.title.clone(),
        room_name: record.call.jitsi_room_name.clone(),
        host: record.call.host.clone(),
        invited_count: count(record.participants.len().saturating_sub(1)),
    }))
}

/// `POST calls/group/{id}/invite`: every valid user named is invited (and told) again.
async fn invite(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiParams(params): ApiParams,
) -> Answer {
    const FAILING: &str = "Failed to invite users";
    let record = find(&state, &user, &id, FAILING)?;
    if !record.call.is_active() {
        return Err(error(400, "Cannot invite to ended call"));
    }
    if record.participant(user.id).map(|p| p.state()) != Some(ParticipantState::Joined) {
        return Err(error(403, "Only active participants can invite others"));
    }
    let raw = text(&params, "user_ids")
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    if raw.is_empty() {
        return Err(error(400, "user_ids parameter is required"));
    }
    let Some(ids) = comma_ids(&raw) else {
        return Err(error(400, "Invalid user_ids format"));
    };
    let invited = GroupDesk::new(&state.core)
        .invite(record.call.call_id, &user, &in_id_order(ids))
        .map_err(|err| refused(FAILING, err))?;
    let online = invited
        .invited
        .iter()
        .filter(|id| state.core.reports_online(**id))
        .count();
    Ok(ok(GroupInviteResponse {
        invited_count: count(invited.invited.len()),
        online_count: count(online),
        offline_count: count(invited.invited.len() - online),
    }))
}

/// `POST calls/group/{id}/join`: anyone of the realm who knows the id.
async fn join(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiParams(_): ApiParams,
) -> Answer {
    const FAILING: &str = "Failed to join call";
    let record = find(&state, &user, &id, FAILING)?;
    if !record.call.is_active() {
        return Err(error(400, "Call has ended"));
    }
    let max = record.call.max_participants;
    if record.joined_count() >= max {
        return Err(error(400, format!("Call is full ({max} participants)")));
    }
    if record.participant(user.id).map(|p| p.state()) == Some(ParticipantState::Joined) {
        return Err(error(400, "Already in call"));
    }
    let record = GroupDesk::new(&state.core)
        .join(record.call.call_id, &user)
        .map_err(|err| refused(FAILING, err))?;
    Ok(ok(GroupJoinResponse {
        call_url: record.call.jitsi_url.clone(),
        call_type: record.call.call_type,
        title: record.call.title.clone(),
        participant_count: record.joined_count(),
    }))
}

/// `POST calls/group/{id}/leave`: whatever the call's state; refused once out (§9 row 9).
async fn leave(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiParams(_): ApiParams,
) -> Answer {
    const FAILING: &str = "Failed to leave call";
    let record = find(&state, &user, &id, FAILING)?;
    let Some(place) = record.participant(user.id) else {
        return Err(error(404, "Not in this call"));
    };
    if matches!(
        place.state(),
        ParticipantState::Left | ParticipantState::Declined | ParticipantState::Missed
    ) {
        return Err(error(400, "Already left call"));
    }
    GroupDesk::new(&state.core)
        .leave(record.call.call_id, &user)
        .map_err(|err| refused(FAILING, err))?;
    Ok(ok(json!({ "message": "Left call successfully" })))
}

/// `POST calls/group/{id}/decline`: an open invitation only, whatever the call's state.
async fn decline(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiParams(_): ApiParams,
) -> Answer {
    const FAILING: &str = "Failed to decline call";
    let record = find(&state, &user, &id, FAILING)?;
    let Some(place) = record.participant(user.id) else {
        return Err(error(404, "Not invited to this call"));
    };
    if !place.state().is_pending() {
        return Err(error(
            400,
            format!("Cannot decline call in state: {}", place.state().as_str()),
        ));
    }
    GroupDesk::new(&state.core)
        .decline(record.call.call_id, &user)
        .map_err(|err| refused(FAILING, err))?;
    Ok(ok(json!({ "message": "Call declined" })))
}

/// `POST calls/group/{id}/end`: the host only; refused once ended (§9 row 9).
async fn end(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiParams(_): ApiParams,
) -> Answer {
    const FAILING: &str = "Failed to end call";
    let record = find(&state, &user, &id, FAILING)?;
    if record.call.host.user_id != user.id {
        return Err(error(403, "Only the host can end the call"));
    }
    if !record.call.is_active() {
        return Err(error(400, "Call already ended"));
    }
    GroupDesk::new(&state.core)
        .end(record.call.call_id, &user)
        .map_err(|err| match err {
            GroupError::Refused(GroupRefusal::CallEnded) => error(400, "Call already ended"),
            err => refused(FAILING, err),
        })?;
    Ok(ok(json!({ "message": "Call ended successfully" })))
}

/// `GET calls/group/{id}/status`: a participant's, in any state; 403 for anyone else.
async fn status(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Answer {
    let record = find(&state, &user, &id, "Failed to get call status")?;
    if record.participant(user.id).is_none() {
        return Err(error(403, "Not authorized to view this call"));
    }
    Ok(ok(GroupStatusResponse {
        call: GroupCallStatus::new(&record.call, &record.wire_participants()),
    }))
}

/// `GET calls/group/{id}/participants`: a participant's, in any state; 403 for anyone else.
async fn participants(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Answer {
    let record = find(&state, &user, &id, "Failed to get participants")?;
    if record.participant(user.id).is_none() {
        return Err(error(403, "Not authorized to view participants"));
    }
    Ok(ok(GroupParticipantsResponse::new(
        record.wire_participants(),
    )))
}

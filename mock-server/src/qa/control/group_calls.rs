//! `/mock/v1/group-calls`: every group call of the server, whatever realm, with its
//! participants, with filters, and one group call with its audit log (CONTROL-API.md, "Group
//! calls"). The 1:1 calls are `/mock/v1/calls` ([`super::calls`]).

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use schemars::JsonSchema;
use serde::Serialize;
use zulip_calls_protocol::plugin::group::{
    GroupCall, GroupCallState, GroupEndReason, GroupParticipant,
};
use zulip_calls_protocol::{CallId, Timestamp, UserId};

use super::calls::{ListRequest, ListScope};
use super::{ControlError, ControlResult, PREFIX};
use crate::api::params::ApiParams;
use crate::api::success;
use crate::core::group::{GroupAuditEntry, GroupRecord, ParticipantRecord};
use crate::core::store::GroupCallFilter;
use crate::qa::QaState;

/// The group calls routes.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router
        .route(&format!("{PREFIX}/group-calls"), get(list))
        .route(&format!("{PREFIX}/group-calls/{{call_id}}"), get(get_one))
}

/// A group call as the control API shows it: the §6 object, why it ended, how many are in
/// it, and every participant.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GroupCallView {
    #[serde(flatten)]
    pub call: GroupCall,
    /// `null` while the call is active.
    pub end_reason: Option<GroupEndReason>,
    /// The `joined` participants.
    pub participant_count: u32,
    /// The host first, then in the order they were first invited.
    pub participants: Vec<ParticipantView>,
}

/// A participant with what the server watches beside the wire object.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ParticipantView {
    #[serde(flatten)]
    pub participant: GroupParticipant,
    /// The last heartbeat (or the join) of a `joined` participant; `null` otherwise: only
    /// joined participants are watched.
    pub heartbeat_at: Option<Timestamp>,
}

impl From<GroupRecord> for GroupCallView {
    fn from(record: GroupRecord) -> Self {
        let participant_count = record.joined_count();
        GroupCallView {
            call: record.call,
            end_reason: record.end_reason,
            participant_count,
            participants: record
                .participants
                .into_iter()
                .map(
                    |ParticipantRecord {
                         participant,
                         heartbeat_at,
                     }| ParticipantView {
                        participant,
                        heartbeat_at,
                    },
                )
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResponse {
    /// Newest first.
    calls: Vec<GroupCallView>,
}

async fn list(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let request: ListRequest<GroupCallState> = params.decode()?;
    let ListScope { user, realm, limit } = ListScope::resolve(&state, &request)?;
    let filter = GroupCallFilter {
        state: request.state,
        call_type: request.call_type,
        user,
        realm,
        limit,
    };
    let calls = state.core.store().group_calls_matching(&filter)?;
    Ok(success(ListResponse {
        calls: calls.into_iter().map(GroupCallView::from).collect(),
    }))
}

/// One line of a group call's audit log as the control API shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "GroupCallAuditLine")]
pub(super) struct AuditLine {
    at: Timestamp,
    /// A `group_call` event op (`created`, `participant_joined`, `ended`, ...), or
    /// `participant_ringing`.
    action: String,
    /// `null` when the server acted (a deadline).
    actor_id: Option<UserId>,
    /// The participant it is about; `null` for what concerns the call (`created`, `ended`,
    /// `participants_invited`).
    subject_id: Option<UserId>,
    /// Extra facts: who was invited, why someone left or the call ended, ...
    detail: serde_json::Value,
}

impl From<GroupAuditEntry> for AuditLine {
    fn from(entry: GroupAuditEntry) -> Self {
        AuditLine {
            at: entry.at,
            action: entry.action,
            actor_id: entry.actor_id,
            subject_id: entry.subject_id,
            detail: entry.detail,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct GetResponse {
    call: GroupCallView,
    /// Oldest first.
    audit: Vec<AuditLine>,
}

async fn get_one(
    State(state): State<QaState>,
    call_id: Result<Path<String>, PathRejection>,
) -> ControlResult<Response> {
    let not_found = || ControlError::not_found("No such group call");
    let call_id: CallId = call_id
        .ok()
        .and_then(|Path(id)| id.parse().ok())
        .ok_or_else(not_found)?;
    let (record, audit) = {
        let store = state.core.store();
        let record = store.group_call(call_id)?.ok_or_else(not_found)?;
        (record, store.group_audit_of(call_id)?)
    };
    Ok(success(GetResponse {
        call: record.into(),
        audit: audit.into_iter().map(AuditLine::from).collect(),
    }))
}

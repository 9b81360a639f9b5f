//! `/mock/v1/calls`: every call of the server, whoever its parties, with filters, and one call
//! with its audit log (CONTROL-API.md, "Calls").

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zulip_calls_protocol::calls::CallDetail;
use zulip_calls_protocol::{CallId, CallState, CallType, Timestamp, UserId};

use super::users::{find_realm, find_user};
use super::{ControlError, ControlResult, PREFIX};
use crate::api::params::ApiParams;
use crate::api::success;
use crate::core::model::{AuditEntry, CallRecord, RealmId};
use crate::core::store::CallFilter;
use crate::qa::QaState;
use crate::qa::request_match::UserRef;

/// Calls listed when no `limit` is given.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most calls one listing returns.
pub const MAX_LIMIT: u32 = 10_000;

/// The calls routes.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router
        .route(&format!("{PREFIX}/calls"), get(list))
        .route(&format!("{PREFIX}/calls/{{call_id}}"), get(get_one))
}

/// The filters of a calls listing; `S` is the kind of call's state (1:1 or group).
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct ListRequest<S> {
    /// Typed, so a misspelt state is a `BAD_REQUEST` rather than an empty list.
    #[serde(default = "none")]
    #[schemars(default = "none::<S>")]
    pub state: Option<S>,
    #[serde(default)]
    pub call_type: Option<CallType>,
    /// Any party or participant, whatever their state.
    #[serde(default)]
    pub user: Option<UserRef>,
    #[serde(default)]
    pub realm: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

fn none<S>() -> Option<S> {
    None
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResponse {
    /// Newest first.
    calls: Vec<CallDetail>,
}

/// A call as `GET calls/{id}` shows it, without a join URL (that is one party's).
fn detail(record: CallRecord) -> CallDetail {
    CallDetail {
        call: record.call,
        join_url: None,
        sender_media_status: record.sender_media_status,
        receiver_media_status: record.receiver_media_status,
    }
}

/// Whose calls a listing asks for, and how many: the filters 1:1 and group call listings
/// share, resolved against the directory.
pub(super) struct ListScope {
    pub user: Option<UserId>,
    pub realm: Option<RealmId>,
    pub limit: u32,
}

impl ListScope {
    /// An out-of-range `limit` is a `BAD_REQUEST`; an unknown email or realm a `NOT_FOUND`.
    pub(super) fn resolve<S>(
        state: &QaState,
        request: &ListRequest<S>,
    ) -> ControlResult<ListScope> {
        let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ControlError::bad_request(format!(
                "Invalid 'limit': expected 1 to {MAX_LIMIT}, got {limit}"
            )));
        }
        // An id is taken as is (a user the realm file dropped still has calls); an email
        // must name a user.
        let user = match &request.user {
            Some(UserRef::Id(id)) => Some(*id),
            Some(email) => Some(find_user(state, email)?.id),
            None => None,
        };
        let realm = match request.realm.as_deref() {
            Some(realm) => Some(find_realm(&state.core.directory(), realm)?.id),
            None => None,
        };
        Ok(ListScope { user, realm, limit })
    }
}

async fn list(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let request: ListRequest<CallState> = params.decode()?;
    let ListScope { user, realm, limit } = ListScope::resolve(&state, &request)?;
    let filter = CallFilter {
        state: request.state,
        call_type: request.call_type,
        user,
        realm,
        limit,
    };
    let calls = state.core.store().calls_matching(&filter)?;
    Ok(success(ListResponse {
        calls: calls.into_iter().map(detail).collect(),
    }))
}

/// One line of a call's audit log as the control API shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "CallAuditLine")]
pub(super) struct AuditLine {
    at: Timestamp,
    /// An event type (`call_started`, `call_ended`, ...) or an idempotent repeat
    /// (`acknowledge_repeat`, ...).
    action: String,
    /// `null` when the server or an operator acted.
    actor_id: Option<UserId>,
    /// `null` for the first line (the call did not exist before).
    from_state: Option<CallState>,
    to_state: CallState,
    /// Extra facts: end reason, media status, ...
    detail: serde_json::Value,
}

/// The audit log with each line's state before it (the previous line's state after).
fn audit_lines(entries: Vec<AuditEntry>) -> Vec<AuditLine> {
    let mut before = None;
    entries
        .into_iter()
        .map(|entry| {
            let line = AuditLine {
                at: entry.at,
                action: entry.action,
                actor_id: entry.actor_id,
                from_state: before,
                to_state: entry.state,
                detail: entry.detail,
            };
            before = Some(entry.state);
            line
        })
        .collect()
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct GetResponse {
    call: CallDetail,
    /// Oldest first.
    audit: Vec<AuditLine>,
}

async fn get_one(
    State(state): State<QaState>,
    call_id: Result<Path<String>, PathRejection>,
) -> ControlResult<Response> {
    let not_found = || ControlError::not_found("No such call");
    let call_id: CallId = call_id
        .ok()
        .and_then(|Path(id)| id.parse().ok())
        .ok_or_else(not_found)?;
    let (record, audit) = {
        let store = state.core.store();
        let record = store.call(call_id)?.ok_or_else(not_found)?;
        (record, store.audit_of(call_id)?)
    };
    Ok(success(GetResponse {
        call: detail(record),
        audit: audit_lines(audit),
    }))
}

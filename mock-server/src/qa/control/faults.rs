//! `/mock/v1/faults`: adding, listing and deleting fault rules (CONTROL-API.md, "Fault
//! injection"). The rules act in [`crate::qa::faults::intercept`].

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{delete, get};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ControlError, ControlResult, PREFIX};
use crate::api::params::ApiParams;
use crate::api::success;
use crate::qa::QaState;
use crate::qa::faults::{FaultAction, FaultRule, NewFault};
use crate::qa::request_match::{PathGlob, UserRef};

/// The fault routes.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router
        .route(
            &format!("{PREFIX}/faults"),
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route(
            &format!("{PREFIX}/faults/{{fault_id}}"),
            delete(remove_fault),
        )
}

/// Parameters of `POST /mock/v1/faults`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub(super) struct AddFault {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<PathGlob>,
    #[serde(default)]
    user: Option<UserRef>,
    /// A JSON object (JSON text in a form or query).
    #[schemars(with = "FaultAction")]
    action: Map<String, Value>,
    #[serde(default)]
    times: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct AddResponse {
    fault_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResponse {
    /// Oldest first, retired rules included.
    faults: Vec<FaultRule>,
}

/// Nothing beside the envelope.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct RemoveResponse {}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ClearResponse {
    /// How many rules there were.
    deleted: usize,
}

async fn add_fault(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let request: AddFault = params.decode()?;
    let action: FaultAction = serde_json::from_value(Value::Object(request.action))
        .map_err(|err| ControlError::bad_request(format!("Invalid 'action': {err}")))?;
    let fault_id = state
        .faults
        .add(NewFault {
            method: request.method,
            path: request.path,
            user: request.user,
            action,
            times: request.times,
        })
        .map_err(|err| ControlError::bad_request(err.to_string()))?;
    tracing::info!(fault_id, "fault rule added");
    Ok(success(AddResponse { fault_id }))
}

async fn list_faults(State(state): State<QaState>) -> ControlResult<Response> {
    Ok(success(ListResponse {
        faults: state.faults.list(),
    }))
}

async fn remove_fault(
    State(state): State<QaState>,
    Path(fault_id): Path<String>,
) -> ControlResult<Response> {
    let unknown = || ControlError::not_found(format!("No fault rule {fault_id}"));
    let id: u64 = fault_id.parse().map_err(|_| unknown())?;
    if !state.faults.remove(id) {
        return Err(unknown());
    }
    tracing::info!(fault_id = id, "fault rule deleted");
    Ok(success(RemoveResponse {}))
}

async fn clear_faults(State(state): State<QaState>) -> ControlResult<Response> {
    let deleted = state.faults.clear();
    tracing::info!(deleted, "fault rules cleared");
    Ok(success(ClearResponse { deleted }))
}

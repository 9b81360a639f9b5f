//! `GET /mock/v1/pushes` shows the push outbox (spec §6: the mock records each provider request
//! instead of sending it); `DELETE /mock/v1/pushes` empties it. Server-wide, behind the control
//! API's token like every `/mock/v1` route: the outbox holds device tokens.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zulip_calls_protocol::CallId;
use zulip_calls_protocol::push::PushEvent;

use super::ControlResult;
use super::users::find_user;
use crate::api::params::ApiParams;
use crate::api::success;
use crate::core::model::OutboxEntry;
use crate::core::store::PushFilter;
use crate::qa::QaState;
use crate::qa::request_match::UserRef;

/// Where the push outbox is served.
pub const PUSHES_PATH: &str = "/mock/v1/pushes";

/// The push outbox routes.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router.route(PUSHES_PATH, get(list_pushes).delete(clear_pushes))
}

/// Filters of `GET /mock/v1/pushes`; absent ones match everything.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct PushesRequest {
    /// The push's recipient, by id or email.
    #[serde(default)]
    pub user: Option<UserRef>,
    #[serde(default)]
    pub call_id: Option<CallId>,
    /// Typed, so a misspelt event is a `BAD_REQUEST` rather than a silently empty list.
    #[serde(default)]
    pub event: Option<PushEvent>,
}

/// Response of `GET /mock/v1/pushes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PushesResponse {
    /// Oldest first.
    pub pushes: Vec<OutboxEntry>,
}

/// Response of `DELETE /mock/v1/pushes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClearPushesResponse {
    /// How many entries the outbox held.
    pub deleted: u64,
}

async fn list_pushes(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let request: PushesRequest = params.decode()?;
    // An id is taken as is (pushes outlive users the realm file dropped); an email must name
    // a user.
    let user_id = match &request.user {
        Some(UserRef::Id(id)) => Some(*id),
        Some(email) => Some(find_user(&state, email)?.id),
        None => None,
    };
    let filter = PushFilter {
        user_id,
        call_id: request.call_id,
        event: request.event.map(|e| e.as_str().to_owned()),
    };
    let pushes = state.core.store().pushes(&filter)?;
    Ok(success(PushesResponse { pushes }))
}

/// Empties the whole outbox.
async fn clear_pushes(State(state): State<QaState>) -> ControlResult<Response> {
    let deleted = state.core.store().clear_pushes()?;
    tracing::info!(deleted, "push outbox cleared");
    Ok(success(ClearPushesResponse { deleted }))
}

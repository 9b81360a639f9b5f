//! `GET /mock/v1/pushes` shows the push outbox (spec §6: the mock records each provider request
//! instead of sending it); `DELETE /mock/v1/pushes` empties it. Both need a realm
//! administrator's Basic auth: the outbox holds device tokens.

use std::collections::HashSet;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use zulip_calls_protocol::push::PushEvent;
use zulip_calls_protocol::{ApiError, CallId, ErrorCode, UserId};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::extract::ApiParams;
use crate::model::{OutboxEntry, UserRecord};
use crate::routes::success;
use crate::state::SharedState;
use crate::store::PushFilter;

/// Where the push outbox is served.
pub const PUSHES_PATH: &str = "/mock/v1/pushes";

/// The push outbox routes.
pub fn router(router: Router<SharedState>) -> Router<SharedState> {
    router.route(PUSHES_PATH, get(list_pushes).delete(clear_pushes))
}

/// Filters of `GET /mock/v1/pushes`; absent ones match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushesRequest {
    /// The push's recipient.
    #[serde(default)]
    pub user_id: Option<UserId>,
    #[serde(default)]
    pub call_id: Option<CallId>,
    /// Typed, so a misspelt event is a `BAD_REQUEST` rather than a silently empty list.
    #[serde(default)]
    pub event: Option<PushEvent>,
}

/// Response of `GET /mock/v1/pushes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushesResponse {
    /// Oldest first.
    pub pushes: Vec<OutboxEntry>,
}

/// Response of `DELETE /mock/v1/pushes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearPushesResponse {
    /// How many entries the outbox held.
    pub deleted: u64,
}

fn require_admin(user: &UserRecord) -> ApiResult<()> {
    if user.is_admin {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnauthorizedPrincipal,
            "Must be an organization administrator",
        )
        .into())
    }
}

async fn list_pushes(
    State(state): State<SharedState>,
    AuthUser(admin): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    require_admin(&admin)?;
    let request: PushesRequest = params.decode()?;
    let filter = PushFilter {
        user_id: request.user_id,
        call_id: request.call_id,
        event: request.event.map(|e| e.as_str().to_owned()),
    };
    let pushes = {
        let store = state.store();
        // The store's users, not the directory's: a user since dropped from the realm file
        // keeps the realm their recorded pushes were sent in.
        let realm_users: HashSet<UserId> = store
            .users()?
            .into_iter()
            .filter(|u| u.realm_id == admin.realm_id)
            .map(|u| u.id)
            .collect();
        store
            .pushes(&filter)?
            .into_iter()
            .filter(|p| realm_users.contains(&p.user_id))
            .collect()
    };
    Ok(success(PushesResponse { pushes }))
}

/// Empties the whole outbox, every realm's: it is a reset between test runs, and the store
/// offers no per-realm delete.
async fn clear_pushes(
    State(state): State<SharedState>,
    AuthUser(admin): AuthUser,
) -> ApiResult<Response> {
    require_admin(&admin)?;
    let deleted = state.store().clear_pushes()?;
    tracing::info!(deleted, admin = %admin.email, "push outbox cleared");
    Ok(success(ClearPushesResponse { deleted }))
}

//! `PATCH settings` (Zulip's 2025 OpenAPI description), for the one setting calls depend on:
//! `presence_enabled`. Zulip's other settings are unknown parameters here, ignored like every
//! unknown parameter of the mock.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use zulip_calls_protocol::zulip as api;

use crate::api::ApiState;
use crate::api::auth::AuthUser;
use crate::api::error::ApiResult;
use crate::api::params::ApiParams;
use crate::api::zulip::presence;
use crate::api::{mount, success};

/// The settings route.
pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    mount::<api::UpdateSettings, _, _>(router, update_settings)
}

async fn update_settings(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::UpdateSettingsRequest = params.decode()?;
    if let Some(enabled) = request.presence_enabled {
        presence::set_presence_enabled(&state, &user, enabled)?;
    }
    Ok(success(api::UpdateSettingsResponse::default()))
}

//! `/mock/v1/server`: what this server is — the dialects it serves, the default event
//! dialect, and whether it behaves as our contract or as the deployed plugin (`--compat`).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use schemars::JsonSchema;
use serde::Serialize;
use zulip_calls_protocol::{CallsApi, Compat, Dialect};

use super::PREFIX;
use crate::api::success;
use crate::qa::QaState;

pub fn router(router: Router<QaState>) -> Router<QaState> {
    router.route(&format!("{PREFIX}/server"), get(server))
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ServerResponse {
    calls_api: CallsApi,
    event_dialect: Dialect,
    compat: Compat,
    /// Seconds a caller waits after an ended call (null: no cooldown).
    redial_cooldown: Option<u64>,
    virtual_clock: bool,
}

async fn server(State(state): State<QaState>) -> Response {
    let settings = state.core.settings();
    success(ServerResponse {
        calls_api: settings.calls_api,
        event_dialect: settings.event_dialect(),
        compat: settings.calls_compat,
        redial_cooldown: state.core.quirks().redial_cooldown,
        virtual_clock: state.core.options.virtual_clock,
    })
}

//! `/mock/v1/cleanup`: one run of the deployed plugin's cleanup worker (CONTROL-API.md,
//! "Calls"). A server in the `plugin-1.1.0` mode fires 1:1 deadlines only when a call is next
//! created and group deadlines never, as a deployment does (see `core::compat`); this is what
//! `manage.py cleanup_calls` would do where the plugin's worker is wired.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use schemars::JsonSchema;
use serde::Serialize;
use zulip_calls_protocol::Timestamp;

use super::PREFIX;
use crate::api::success;
use crate::core::deadlines::{Swept, run_cleanup_worker};
use crate::qa::QaState;

/// The cleanup route.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router.route(&format!("{PREFIX}/cleanup"), post(cleanup))
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct CleanupResponse {
    now: Timestamp,
    /// What fired, in order.
    fired: Vec<Swept>,
}

async fn cleanup(State(state): State<QaState>) -> Response {
    let fired = run_cleanup_worker(&state.core);
    success(CleanupResponse {
        now: state.core.clock.now(),
        fired,
    })
}

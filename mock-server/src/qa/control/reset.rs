//! `POST /mock/v1/reset`: back to the state the server started in, between tests, without a
//! restart (CONTROL-API.md, "Reset").

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use schemars::JsonSchema;
use serde::Serialize;

use super::{ControlError, ControlResult, PREFIX};
use crate::api::success;
use crate::core::directory::Directory;
use crate::qa::{Qa, QaState};

/// The reset route.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router.route(&format!("{PREFIX}/reset"), post(reset))
}

/// What a reset cleared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ResetSummary {
    /// 1:1 calls deleted, with their history and audit log.
    pub calls: u64,
    /// Group calls deleted, with their participants and audit log.
    pub group_calls: u64,
    /// Push outbox entries deleted.
    pub pushes: u64,
    /// Push devices forgotten.
    pub devices: u64,
    /// Event queues deleted (their WebSockets close, their long-polls end).
    pub queues: usize,
}

/// Brings the server back to the realm file with no activity: no calls (and so no pending
/// deadlines), audit log, pushes, devices or event queues; users created, deactivated or
/// reactivated through the control API are as the realm file says again. The clock keeps
/// its time.
///
/// Every part of the server that keeps test-visible state clears it here, so one call is a
/// clean slate.
pub fn reset_all(state: &Qa) -> ControlResult<ResetSummary> {
    let realms = (state.realms)().map_err(|err| {
        tracing::error!(error = %err, "reset cannot reload the realm file");
        ControlError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "REALM_FILE",
            format!("Cannot reload the realm file: {err}"),
        )
    })?;
    let cleared = {
        let mut store = state.core.store();
        let cleared = store.with_tx(|tx| {
            let cleared = tx.clear_activity()?;
            tx.forget_control_user_changes()?;
            tx.replace_realms(&realms.realms, &realms.users)?;
            Ok::<_, crate::core::store::StoreError>(cleared)
        })?;
        state
            .core
            .replace_directory(Directory::new(realms.realms, realms.users));
        // Under the store lock, so no call change slips in between and leaves a deadline for
        // a deleted call.
        state.core.deadlines.clear();
        // The realm file's bots again, with no pending answers; periodic callers restart
        // their period from now.
        if state.bots.load(realms.bots, state.core.clock.now()) {
            state.core.deadlines_changed.notify_one();
        }
        cleared
    };
    let queues = state.core.queues.clear();
    // The request journal, fault rules and record of queued events start over too.
    state.journal.clear();
    state.faults.clear();
    state.core.queues.sent().clear();
    state.core.note_change();
    let summary = ResetSummary {
        calls: cleared.calls,
        group_calls: cleared.group_calls,
        pushes: cleared.pushes,
        devices: cleared.devices,
        queues,
    };
    tracing::info!(?summary, "server reset");
    Ok(summary)
}

async fn reset(State(state): State<QaState>) -> ControlResult<Response> {
    Ok(success(reset_all(&state)?))
}

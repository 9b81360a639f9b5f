//! `/mock/v1/clock`: read the server's time and, on a virtual clock (`serve --virtual-clock`),
//! move it; every deadline passed on the way fires before the answer (CONTROL-API.md,
//! "Virtual clock"; the stepping is `core::virtual_time`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zulip_calls_protocol::Timestamp;

use super::{ControlError, ControlResult, PREFIX};
use crate::api::params::ApiParams;
use crate::api::success;
use crate::core::virtual_time::{self, ClockError, Fired};
use crate::qa::QaState;

/// The longest single advance: a thousand years, far beyond any test, and small enough that
/// the milliseconds fit an `i64` exactly.
pub const MAX_ADVANCE_SECONDS: f64 = 1000.0 * 365.25 * 86_400.0;

/// The clock routes.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router
        .route(&format!("{PREFIX}/clock"), get(now))
        .route(&format!("{PREFIX}/clock/advance"), post(advance))
        .route(&format!("{PREFIX}/clock/set"), post(set))
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct NowResponse {
    now: Timestamp,
    /// Whether the clock moves only when told to.
    #[serde(rename = "virtual")]
    is_virtual: bool,
}

async fn now(State(state): State<QaState>) -> Response {
    success(NowResponse {
        now: state.core.clock.now(),
        is_virtual: state.core.clock.is_manual(),
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct MovedResponse {
    now: Timestamp,
    /// What fired on the way, in order.
    fired: Vec<Fired>,
}

impl From<ClockError> for ControlError {
    fn from(err: ClockError) -> Self {
        match err {
            ClockError::NotVirtual => {
                ControlError::new(StatusCode::CONFLICT, "CLOCK_NOT_VIRTUAL", err.to_string())
            }
            ClockError::Backwards { .. } => ControlError::bad_request(err.to_string()),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct AdvanceRequest {
    seconds: f64,
}

async fn advance(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let request: AdvanceRequest = params.decode()?;
    let seconds = request.seconds;
    if !(seconds.is_finite() && (0.0..=MAX_ADVANCE_SECONDS).contains(&seconds)) {
        return Err(ControlError::bad_request(format!(
            "Invalid 'seconds': expected a number from 0 to {MAX_ADVANCE_SECONDS}, got {seconds}"
        )));
    }
    // In range by the check above, so the cast is exact to the millisecond.
    let millis = (seconds * 1000.0).round() as i64;
    let fired = virtual_time::advance_by(&state.core, millis)?;
    Ok(success(MovedResponse {
        now: state.core.clock.now(),
        fired,
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct SetRequest {
    now: Timestamp,
}

async fn set(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let request: SetRequest = params.decode()?;
    let fired = virtual_time::advance_to(&state.core, request.now)?;
    Ok(success(MovedResponse {
        now: state.core.clock.now(),
        fired,
    }))
}

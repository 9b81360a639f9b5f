//! `GET /health/live` and `GET /health/ready`: what an orchestrator or load balancer probes.
//!
//! Both are unauthenticated and sit outside the QA middleware: probes every few seconds would
//! otherwise fill the request journal, count against nobody's rate limit, be hit by injected
//! faults and swell the request metrics.
//!
//! Live answers 200 as long as the process serves. Ready answers 200 once [`Server::start`]
//! has opened the store and loaded the deadlines (nothing is served before), and 503 from the
//! moment a shutdown begins, so traffic moves elsewhere while open requests drain. During the
//! drain the listener stays open for new connections, which get only these answers (see
//! [`draining_router`]).
//!
//! [`Server::start`]: crate::Server::start

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::api::ApiState;

/// The liveness probe's path.
pub const LIVE_PATH: &str = "/health/live";
/// The readiness probe's path.
pub const READY_PATH: &str = "/health/ready";

/// The probes' state: the API, whose `closing` flag a shutdown sets.
type Closing = ApiState;

/// The two probes, over the flag a shutdown sets.
pub fn router(closing: Closing) -> Router {
    Router::new()
        .route(LIVE_PATH, get(live))
        .route(READY_PATH, get(ready))
        .with_state(closing)
}

/// What new connections get while a shutdown drains: the probes (ready says 503) and a 503
/// for everything else, so no new work starts on a server that is going away.
pub fn draining_router(closing: Closing) -> Router {
    router(closing).fallback(|| async { crate::api::shutdown::shutting_down() })
}

async fn live() -> Response {
    (StatusCode::OK, Json(json!({ "status": "live" }))).into_response()
}

async fn ready(State(closing): State<Closing>) -> Response {
    if *closing.closing.borrow() {
        let body = json!({ "status": "shutting_down" });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    } else {
        (StatusCode::OK, Json(json!({ "status": "ready" }))).into_response()
    }
}

//! The one middleware every request passes: metrics, journal, injected faults and rate
//! limit, outermost first.
//!
//! Each concern lives in its own module as a plain async function that wraps the rest of the
//! chain; composed here, they form one state machine. As four `from_fn` layers they cost a
//! clone of the boxed inner service, a boxed future and a drop of each per layer and request
//! (~8 % of the server's instructions per call lifecycle).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::{QaState, faults, journal, metrics};
use crate::api::ratelimit;

/// Middleware: see the module's documentation for the order and why it is one.
pub async fn front_desk(State(state): State<QaState>, request: Request, next: Next) -> Response {
    // Outermost, so a request's latency is what its client waited.
    metrics::track_requests(&state, request, async |request| {
        journal::record(&state, request, async |request| {
            // Inside the journal, so a faulted request is journaled as the client saw it.
            faults::apply(&state, request, async |request| {
                ratelimit::limit(&state.api, request, async |request| next.run(request).await).await
            })
            .await
        })
        .await
    })
    .await
}

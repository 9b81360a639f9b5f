//! The one middleware every request passes: metrics, journal, injected faults and rate
//! limit, outermost first.
//!
//! Each concern lives in its own module and acts in two steps, one as the request comes in
//! and one as its answer goes out; here they are called in order around the handler, so the
//! whole desk is one small state machine awaiting the handler once. A held long-poll keeps
//! this future for up to a minute: as four nested wrappers (each an async function taking the
//! rest of the chain), it held a copy of the request per level and was 4.3 KB; as four
//! `from_fn` layers it also cost a clone of the boxed inner service, a boxed future and a drop
//! of each per layer and request (~8 % of the server's instructions per call lifecycle).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::{QaState, faults, journal, metrics};
use crate::api::ratelimit::{self, Admission};

/// Middleware: see the module's documentation for the order and why it is one.
pub async fn front_desk(State(state): State<QaState>, request: Request, next: Next) -> Response {
    // Outermost, so a request's latency is what its client waited.
    let visit = metrics::Visit::begin(&request);
    let (request, journaled) = journal::begin(&state, request).await;
    // Inside the journal, so a faulted request is journaled as the client saw it.
    let caller = journaled.as_ref().map(journal::Pending::caller);
    let response = match faults::intercept(&state, request, caller).await {
        Err(answer) => answer,
        Ok(request) => match ratelimit::check(&state.api, request) {
            Admission::Refused(refused) => refused,
            Admission::Admitted(request, verdict) => {
                ratelimit::stamp(next.run(request).await, verdict)
            }
        },
    };
    let response = match journaled {
        Some(pending) => pending.end(&state, response).await,
        None => response,
    };
    visit.end(&state, response).await
}

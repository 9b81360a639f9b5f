//! No answer leaves before the changes it may reflect are committed (see `store::batch`):
//! the edge holds it until the open batch is on disk, unless it says it carries only what
//! already is.

use axum::response::{IntoResponse, Response};

use super::error::ServerError;
use crate::core::Core;

/// Marks a response that carries only what is already committed, such as queued events (an
/// event is queued only after the commit of its change): it leaves without waiting for the
/// open batch, which a long-poll would otherwise wait on at every answer under load.
#[derive(Debug, Clone, Copy)]
pub struct AlreadyCommitted;

/// `response`, once it may leave. Every open long-poll holds this future, so the wait is
/// boxed and `response` is moved, never borrowed (a borrow gave it a slot of its own: +260
/// bytes per long-poll).
pub async fn release(core: &Core, response: Response) -> Response {
    match when_sent(core, response) {
        Answer::Now(response) => response,
        Answer::AfterCommit(response) => Box::pin(when_durable(core, response)).await,
    }
}

/// When an answer may leave.
enum Answer {
    Now(Response),
    /// Once the open batch is committed: it may reflect what is in it.
    AfterCommit(Response),
}

/// An answer waits for the open batch unless it says it carries only what is committed.
fn when_sent(core: &Core, response: Response) -> Answer {
    let committed = response.extensions().get::<AlreadyCommitted>().is_some();
    if committed || !core.has_pending_writes() {
        Answer::Now(response)
    } else {
        Answer::AfterCommit(response)
    }
}

/// `response` once the changes written before it are committed, or the error if they could
/// not be.
async fn when_durable(core: &Core, response: Response) -> Response {
    match core.durable().await {
        Ok(()) => response,
        Err(err) => ServerError::from(err).into_response(),
    }
}

//! Ending the requests that outlive a shutdown's grace period.
//!
//! Graceful shutdown waits for open requests, but a long-poll only ends at its heartbeat
//! (a minute by default). Aborting the server task would not stop it either: each connection
//! runs in a task of its own. So every request races a cut-off signal, and when
//! [`Server::shutdown`](crate::Server::shutdown) gives up waiting it fires the signal: the
//! requests still open get a 503 at once, their handlers are dropped at an `await` (never
//! inside a database transaction, which spans none), and their connections close.

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;
use zulip_calls_protocol::{ApiError, ErrorCode};

/// The error code of a request cut off by a shutdown.
pub const SHUTTING_DOWN_CODE: &str = "SERVER_SHUTTING_DOWN";

/// The signal: `true` once open requests must end. Dropping the sender fires it too.
pub fn cut_off_signal() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    watch::channel(false)
}

/// Makes every request of `app` end when `cut_off` fires.
pub fn cut_off_layer(app: Router, cut_off: watch::Receiver<bool>) -> Router {
    app.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let mut cut_off = cut_off.clone();
            async move {
                tokio::select! {
                    biased;
                    response = next.run(request) => response,
                    // An error means the server is gone: cut off as well.
                    _ = cut_off.wait_for(|cut| *cut) => shutting_down(),
                }
            }
        },
    ))
}

/// Zulip's error envelope with 503: clients retry a 5xx later, as across a real restart.
pub fn shutting_down() -> Response {
    let err = ApiError::new(
        ErrorCode::Other(SHUTTING_DOWN_CODE.into()),
        "The server is shutting down",
    );
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(err)).into_response()
}

//! Ending the requests that outlive a shutdown's grace period.
//!
//! Graceful shutdown waits for open requests, but a long-poll only ends at its heartbeat
//! (a minute by default). Aborting the server task would not stop it either: each connection
//! runs in a task of its own. So every request races a cut-off signal, and when
//! [`Server::shutdown`](crate::Server::shutdown) gives up waiting it fires the signal: the
//! requests still open get a 503 at once, their handlers are dropped at an `await` (never
//! inside a database transaction, which spans none), and their connections close.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;
use tower::Service;
use zulip_calls_protocol::{ApiError, ErrorCode};

/// The error code of a request cut off by a shutdown.
pub const SHUTTING_DOWN_CODE: &str = "SERVER_SHUTTING_DOWN";

/// The signal: `true` once open requests must end. Dropping the sender fires it too.
pub fn cut_off_signal() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    watch::channel(false)
}

/// Makes every request of `app` end when `cut_off` fires.
///
/// Around the whole router rather than a layer of it: `Router::layer` wraps every route on its
/// own and boxes each request's future once more for it.
#[derive(Debug, Clone)]
pub struct CutOff<S> {
    inner: S,
    cut_off: watch::Receiver<bool>,
}

impl<S> CutOff<S> {
    pub fn new(inner: S, cut_off: watch::Receiver<bool>) -> Self {
        CutOff { inner, cut_off }
    }
}

impl<S, B> Service<Request<B>> for CutOff<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let answer = self.inner.call(request);
        let mut cut_off = self.cut_off.clone();
        Box::pin(async move {
            tokio::select! {
                biased;
                response = answer => response,
                // An error means the server is gone: cut off as well.
                _ = cut_off.wait_for(|cut| *cut) => Ok(shutting_down()),
            }
        })
    }
}

/// Zulip's error envelope with 503: clients retry a 5xx later, as across a real restart.
pub fn shutting_down() -> Response {
    let err = ApiError::new(
        ErrorCode::Other(SHUTTING_DOWN_CODE.into()),
        "The server is shutting down",
    );
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(err)).into_response()
}

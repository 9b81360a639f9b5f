//! The accept loop: every connection is served as HTTP/1.1 by hyper directly, with the settings
//! that keep a held long-poll small.
//!
//! `axum::serve` exposes none of hyper's connection settings. With its defaults a connection
//! whose request is waiting for its answer (a long-poll, held up to a minute) reads the socket
//! once more to notice a client that goes away, and that read reserves a second 8 KiB buffer
//! beside the one the request was read into (whose bytes the request's headers still share).
//! Ten thousand held long-polls paid for those buffers rather than for anything they hold.
//! Here the socket is not read again until the answer is written (`half_close`): a client that
//! goes away mid-poll is noticed when its answer (at the latest the heartbeat) is written, as
//! on a WebSocket, whose reader is not polled between frames either.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;

use axum::body::Bytes;
use axum::http::{Request, Response};
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;

/// Serves `app` on every connection `listener` accepts until `shutdown` resolves, then stops
/// accepting, lets each connection finish the request it is on (closing it after), and
/// returns when the last has closed.
pub(crate) async fn serve<L, S, B>(mut listener: L, app: S, shutdown: impl Future<Output = ()>)
where
    L: Listener,
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // Each connection holds a receiver: it hears of the shutdown through it, and the sender
    // learns that every connection has closed when the last receiver is dropped.
    let (closing, closed) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let (io, _addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let mut closing = closed.clone();
        tokio::spawn(async move {
            let mut connection = pin!(
                http1::Builder::new()
                    .half_close(true)
                    .serve_connection(TokioIo::new(io), service)
                    .with_upgrades()
            );
            let served = tokio::select! {
                served = connection.as_mut() => served,
                // The `Ref` it resolves to is dropped at once: it holds the channel's lock.
                () = async { drop(closing.wait_for(|closing| *closing).await) } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = served {
                tracing::trace!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    drop(closed);
    closing.closed().await;
}

//! What the HTTP edge holds beside the core: its limits, the rate limiter, the sign-ins it
//! recalls, the open WebSockets and the shutdown flag.

use std::sync::Arc;

use crate::core::Core;

use super::ratelimit::RateLimiter;
use super::sign_ins::SignIns;
use super::zulip::sockets::Sockets;

/// Handlers of the API routes share one of these.
pub type ApiState = Arc<Api>;

/// The HTTP edge's limits, from the server's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiLimits {
    /// How long a long-poll waits before answering with a heartbeat.
    pub heartbeat_seconds: u64,
    /// The largest request body read.
    pub max_body_bytes: usize,
    /// Requests per user and minute; 0 = unlimited.
    pub rate_limit_per_minute: u32,
}

/// The API routes' state.
#[derive(Debug)]
pub struct Api {
    pub core: Arc<Core>,
    pub limits: ApiLimits,
    pub rate_limiter: RateLimiter,
    /// The credentials that signed in already.
    pub sign_ins: SignIns,
    /// Open event WebSockets, so they can be closed from outside their connection.
    pub sockets: Sockets,
    /// Set when the server starts shutting down: long-polls answer at once and WebSockets
    /// close with 1012 (service restart), so clients reconnect instead of hanging on.
    pub closing: tokio::sync::watch::Sender<bool>,
}

impl Api {
    /// The edge over `core`.
    pub fn new(core: Arc<Core>, limits: ApiLimits) -> Self {
        Api {
            core,
            limits,
            rate_limiter: RateLimiter::default(),
            sign_ins: SignIns::default(),
            sockets: Sockets::default(),
            closing: tokio::sync::watch::Sender::new(false),
        }
    }
}

/// Resolves once the server starts shutting down (see [`Api::closing`]).
pub async fn closed(closing: &mut tokio::sync::watch::Receiver<bool>) {
    // An error means the state is gone, which is a shutdown too.
    let _ = closing.wait_for(|closing| *closing).await;
}

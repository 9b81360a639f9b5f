//! HTTP routes: thin handlers that decode parameters, call the domain, and wrap the result in
//! Zulip's success envelope. Paths come from the protocol crate's endpoint descriptors.

pub mod calls;
pub mod events;
pub mod zulip;

use axum::Json;
use axum::Router;
use axum::response::{IntoResponse, Response};
use zulip_calls_protocol::Success;
use zulip_calls_protocol::endpoint::{Endpoint, route};

use crate::state::SharedState;

/// A success response with `body`'s fields beside `result` and `msg`.
pub fn success<T: serde::Serialize>(body: T) -> Response {
    Json(Success::new(body)).into_response()
}

/// Adds `E`'s route to `router`, served by `handler`.
pub fn mount<E: Endpoint, H, T>(router: Router<SharedState>, handler: H) -> Router<SharedState>
where
    H: axum::handler::Handler<T, SharedState>,
    T: 'static,
{
    let method = match E::METHOD {
        zulip_calls_protocol::Verb::Get => axum::routing::get(handler),
        zulip_calls_protocol::Verb::Post => axum::routing::post(handler),
        zulip_calls_protocol::Verb::Delete => axum::routing::delete(handler),
    };
    router.route(&route::<E>(), method)
}

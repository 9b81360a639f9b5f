//! HTTP routes: thin handlers that decode parameters, call the domain, and wrap the result in
//! Zulip's success envelope. Paths come from the protocol crate's endpoint descriptors.

pub mod calls;
pub mod events;
pub mod ws;
pub mod zulip;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use zulip_calls_protocol::endpoint::{Endpoint, route};
use zulip_calls_protocol::{ApiError, ErrorCode, Success};

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
    // Every route mounted so far (this one included) answers a method it does not serve with
    // a JSON error; routes that already have that fallback keep it.
    router
        .route(&route::<E>(), method)
        .method_not_allowed_fallback(method_not_allowed)
}

/// A method the route does not serve: 405 with a JSON error, as Zulip answers (its body is
/// `{"result": "error", "msg": "Method Not Allowed", ...}`); axum adds the `Allow` header.
pub async fn method_not_allowed() -> Response {
    let err = ApiError::new(
        ErrorCode::Other("METHOD_NOT_ALLOWED".into()),
        "Method Not Allowed",
    );
    (StatusCode::METHOD_NOT_ALLOWED, Json(err)).into_response()
}

//! The HTTP edge: thin handlers that decode a request with the protocol, call the core, and
//! encode the answer in Zulip's envelope. Paths come from the protocol crate's endpoint
//! descriptors. One room per wire: `design/` (the design document's calls API), `plugin/`
//! (the released plugin's 1.1 API), `shared` (the paths both share, answered per `CALLS_API`)
//! and `zulip/` (the Zulip subset: sign-in, users, devices, event queues over long-poll and
//! WebSocket); `dialect` holds the rules that pick between them.
//! Beside them the edge's own concerns: authentication, parameters, errors, the rate limit,
//! durability of answers and the shutdown cut-off.
//!
//! Depends on the core only.

pub mod auth;
pub mod deployed;
pub mod design;
pub mod dialect;
pub mod durable;
pub mod error;
pub mod params;
pub mod plugin;
pub mod ratelimit;
pub mod shared;
pub mod shutdown;
pub mod sign_ins;
pub mod state;
pub mod zulip;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use zulip_calls_protocol::endpoint::{Endpoint, route};
use zulip_calls_protocol::{ApiError, Dialect, ErrorCode, Success};

pub use self::state::{Api, ApiLimits, ApiState};

/// Every API route (the dialects `CALLS_API` names, and Zulip's), over `api`.
pub fn router(api: ApiState) -> Router {
    let calls_api = api.core.settings().calls_api;
    let router = Router::new();
    // The deployed plugin's views stand in for the contract's 1:1 routes (see `core::compat`).
    let deployed = api.core.quirks().plugin_views;
    let router = if deployed {
        deployed::router(router)
    } else {
        shared::router(router)
    };
    let router = if calls_api.serves(Dialect::Design) {
        design::calls::router(router)
    } else {
        router
    };
    // Group calls exist wherever the 1.1 dialect is served (the deployed plugin's views
    // among `deployed`'s).
    let router = if calls_api.serves(Dialect::V1_1) && !deployed {
        plugin::groups::router(router)
    } else {
        router
    };
    let router = if deployed {
        router
    } else if calls_api.serves(Dialect::V1_1) {
        plugin::calls::router(router)
    } else {
        // `calls/heartbeat` would match the design dialect's `GET calls/{call_id}` and answer
        // 405; a server without the 1.1 dialect has no such path at all.
        router.route(
            &zulip_calls_protocol::endpoint::route::<zulip_calls_protocol::plugin::Heartbeat>(),
            axum::routing::any(not_found),
        )
    };
    let router = zulip::users::router(router);
    let router = zulip::events::router(router);
    let router = zulip::presence::router(router);
    let router = zulip::settings::router(router);
    let router = zulip::ws::router(router);
    router.with_state(api)
}

/// A success response with `body`'s fields beside `result` and `msg`.
///
/// Written into a buffer of [`ANSWER_CAPACITY`]: axum's `Json` starts at 128 bytes and grows
/// (copying) two or three times for an answer with a call in it.
pub fn success<T: serde::Serialize>(body: T) -> Response {
    let mut bytes = Vec::with_capacity(ANSWER_CAPACITY);
    match serde_json::to_writer(&mut bytes, &Success::new(body)) {
        Ok(()) => (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        // As axum's `Json` answers a value it cannot write.
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

/// Room for most answers at once: a call's is ~400 bytes, a long-poll's with an event ~1 KB.
const ANSWER_CAPACITY: usize = 1024;

/// Adds `E`'s route to `router`, served by `handler`.
pub fn mount<E: Endpoint, H, T>(router: Router<ApiState>, handler: H) -> Router<ApiState>
where
    H: axum::handler::Handler<T, ApiState>,
    T: 'static,
{
    let method = match E::METHOD {
        zulip_calls_protocol::Verb::Get => axum::routing::get(handler),
        zulip_calls_protocol::Verb::Post => axum::routing::post(handler),
        zulip_calls_protocol::Verb::Delete => axum::routing::delete(handler),
        zulip_calls_protocol::Verb::Patch => axum::routing::patch(handler),
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

/// Unknown paths get Zulip's JSON 404, not an empty body.
pub async fn not_found() -> Response {
    let err = ApiError::new(ErrorCode::Other("NOT_FOUND".into()), "Not Found");
    (StatusCode::NOT_FOUND, Json(err)).into_response()
}

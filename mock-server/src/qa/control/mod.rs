//! The control API: `/mock/v1/*`, the mock server's own endpoints for tests and QA, outside
//! the Zulip API (see `mock-server/CONTROL-API.md` for the reference).
//!
//! One sub-module per concern, each adding its routes to [`router`]. Every control route (and
//! `/metrics`) sits behind [`require_token`]: `Authorization: Bearer <token>` when the server
//! has a token (configured, or generated when bound off loopback without one), open otherwise.
//! Control requests are neither rate-limited by user nor recorded in the request journal.

pub mod bots;
pub mod calls;
pub mod cleanup;
pub mod clock;
pub mod faults;
pub mod group_calls;
pub mod journal;
pub mod openapi;
pub mod pushes;
pub mod queues;
pub mod reset;
pub mod server;
pub mod users;
pub mod wait_for;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::api::error::ServerError;
use crate::qa::QaState;

pub use super::CONTROL_PREFIX as PREFIX;

/// Every control route, each behind [`require_token`], over `state`.
pub fn router(state: QaState) -> Router {
    let control = Router::new();
    let control = pushes::router(control);
    let control = journal::router(control);
    let control = faults::router(control);
    let control = wait_for::router(control);
    let control = reset::router(control);
    let control = users::router(control);
    let control = calls::router(control);
    let control = group_calls::router(control);
    let control = queues::router(control);
    let control = clock::router(control);
    let control = cleanup::router(control);
    let control = server::router(control);
    let control = bots::router(control);
    let control = crate::qa::metrics::router(control);
    let control = control.route_layer(axum::middleware::from_fn_with_state(
        std::sync::Arc::clone(&state),
        require_token,
    ));
    control.with_state(state)
}

/// Lets a request through when no admin token is configured or it carries
/// `Authorization: Bearer <token>`; answers 401 otherwise.
pub async fn require_token(State(state): State<QaState>, request: Request, next: Next) -> Response {
    let Some(expected) = state.admin_token.as_deref() else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => {
            next.run(request).await
        }
        Some(_) => ControlError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Invalid control token",
        )
        .into_response(),
        None => ControlError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "The control API needs `Authorization: Bearer <MOCK_ADMIN_TOKEN>`",
        )
        .into_response(),
    }
}

/// Compares secrets without an early exit, so timing does not leak how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A control API failure in Zulip's error envelope (`result`, `msg`, `code`), with the HTTP
/// status chosen by the control endpoint and optional extra fields beside them (a failed
/// verification's `near_misses`, a timed-out wait's `last_seen`, ...).
#[derive(Debug)]
pub struct ControlError {
    pub status: StatusCode,
    pub code: String,
    pub msg: String,
    pub extra: Map<String, Value>,
}

impl ControlError {
    /// An error with `status`, `code` and `msg`.
    pub fn new(status: StatusCode, code: &str, msg: impl Into<String>) -> Self {
        ControlError {
            status,
            code: code.to_owned(),
            msg: msg.into(),
            extra: Map::new(),
        }
    }

    /// `400 BAD_REQUEST` with `msg`.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ControlError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", msg)
    }

    /// `404 NOT_FOUND` with `msg`.
    pub fn not_found(msg: impl Into<String>) -> Self {
        ControlError::new(StatusCode::NOT_FOUND, "NOT_FOUND", msg)
    }

    /// Adds a field beside `result`, `msg` and `code`.
    #[must_use]
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }
}

impl From<ServerError> for ControlError {
    fn from(err: ServerError) -> Self {
        match err {
            ServerError::Api(err) => {
                let status = StatusCode::from_u16(err.http_status().as_u16())
                    .unwrap_or(StatusCode::BAD_REQUEST);
                let mut control = ControlError::new(status, err.code.as_str(), err.msg.clone());
                if let Some(var_name) = &err.var_name {
                    control = control.with("var_name", Value::String(var_name.clone()));
                }
                control
            }
            ServerError::Store(err) => {
                tracing::error!(error = %err, "storage failure");
                ControlError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_SERVER_ERROR",
                    "Internal server error",
                )
            }
        }
    }
}

impl From<crate::core::CallError> for ControlError {
    fn from(err: crate::core::CallError) -> Self {
        ServerError::from(err).into()
    }
}

impl From<crate::core::GroupError> for ControlError {
    fn from(err: crate::core::GroupError) -> Self {
        ServerError::from(err).into()
    }
}

impl From<zulip_calls_protocol::ParamError> for ControlError {
    fn from(err: zulip_calls_protocol::ParamError) -> Self {
        ServerError::from(err).into()
    }
}

impl From<crate::core::store::StoreError> for ControlError {
    fn from(err: crate::core::store::StoreError) -> Self {
        ServerError::from(err).into()
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("result".into(), Value::String("error".into()));
        body.insert("msg".into(), Value::String(self.msg));
        body.insert("code".into(), Value::String(self.code));
        for (key, value) in self.extra {
            body.entry(key).or_insert(value);
        }
        let mut response = (self.status, Json(Value::Object(body))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"zulip-calls-mock\""),
            );
        }
        response
    }
}

/// Control handler result.
pub type ControlResult<T> = Result<T, ControlError>;

//! The bodies the plugin's views write: successes without `msg`, its own errors with
//! `message` only and no `code` (§1), Zulip's `JsonableError` envelope where the view raises
//! one, and Zulip's bare 500 for an exception nothing catches.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use zulip_calls_protocol::CallId;
use zulip_calls_protocol::params::{Params, RawParam};

use crate::core::CallError;

/// A view's answer: both arms are complete responses.
pub type Answer = Result<Response, Refusal>;

/// A view's refusal: a complete response (boxed, since responses are large).
#[derive(Debug)]
pub struct Refusal(Box<Response>);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for Refusal {
    fn from(response: Response) -> Self {
        Refusal(Box::new(response))
    }
}

/// `{"result": "success", ...body}`, without `msg`.
pub fn ok(body: impl serde::Serialize) -> Response {
    let mut object = match serde_json::to_value(body) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    };
    object.remove("msg");
    let mut answer = Map::new();
    answer.insert("result".to_owned(), json!("success"));
    answer.extend(object);
    Json(Value::Object(answer)).into_response()
}

/// The view's own error: `{"result": "error", "message": ...}`.
pub fn error(status: u16, message: impl Into<String>) -> Refusal {
    error_with(status, message, Map::new())
}

/// [`error`] with more fields (`existing_call_id`).
pub fn error_with(status: u16, message: impl Into<String>, extra: Map<String, Value>) -> Refusal {
    let mut body = Map::new();
    body.insert("result".to_owned(), json!("error"));
    body.insert("message".to_owned(), json!(message.into()));
    body.extend(extra);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(Value::Object(body))).into_response().into()
}

/// A `JsonableError` the view raises: Zulip's envelope, 400 `BAD_REQUEST`.
pub fn jsonable(msg: &str) -> Refusal {
    let body = json!({ "result": "error", "msg": msg, "code": "BAD_REQUEST" });
    (StatusCode::BAD_REQUEST, Json(body)).into_response().into()
}

/// An exception the view lets through: Zulip's generic 500.
pub fn uncaught() -> Refusal {
    let body = json!({ "result": "error", "msg": "Internal server error" });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body))
        .into_response()
        .into()
}

/// Django's words for a value its `UUIDField` cannot read, as the views' `str(e)` shows them.
pub fn not_a_uuid(value: &str) -> String {
    format!("['“{value}” is not a valid UUID.']")
}

/// A call id as Django reads it: the text as is (a JSON-quoted id is no id, §1).
pub fn call_id(text: &str) -> Result<CallId, String> {
    text.parse().map_err(|_| not_a_uuid(text))
}

/// A parameter's text as Django's `request.POST`/`GET` holds it (`None`: absent).
pub fn text(params: &Params, name: &str) -> Option<String> {
    params.get(name).map(|raw| match raw {
        RawParam::Text(text) => text.clone(),
        RawParam::Json(Value::String(text)) => text.clone(),
        RawParam::Json(other) => other.to_string(),
    })
}

/// A failure of the server itself (storage), whatever the view: a 500.
pub fn failed(context: &str, err: CallError) -> Refusal {
    tracing::error!(error = %err, "{context}");
    error(500, format!("{context}: {err}"))
}

/// Python's `int()` of a string: optional sign, digits, surrounding whitespace, `_`
/// between digits.
pub fn python_int(raw: &str) -> Option<i64> {
    let text = raw.trim();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    digits
        .replace('_', "")
        .parse::<i64>()
        .ok()
        .map(|n| sign * n)
}

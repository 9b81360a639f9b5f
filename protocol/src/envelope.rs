//! Zulip's response envelope: `{"result": "success", "msg": "", ...}` or
//! `{"result": "error", "msg": ..., "code": ..., ...}` (spec §1).

use std::fmt;

use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::call::CallState;
use crate::ids::{CallId, QueueId};

/// Header names and values of spec §1 that travel beside the body.
pub mod headers {
    /// The `WWW-Authenticate` value of every 401.
    pub const WWW_AUTHENTICATE_VALUE: &str = "Basic realm=\"zulip\"";
    /// Requests allowed per window, on every authenticated response.
    pub const RATE_LIMIT_LIMIT: &str = "x-ratelimit-limit";
    /// Requests left in the current window.
    pub const RATE_LIMIT_REMAINING: &str = "x-ratelimit-remaining";
    /// Unix time (seconds) when the window resets.
    pub const RATE_LIMIT_RESET: &str = "x-ratelimit-reset";
    /// Seconds to wait, on a 429.
    pub const RETRY_AFTER: &str = "retry-after";
}

/// Error codes of spec §1, plus any other code a Zulip server may send (kept verbatim).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    BadRequest,
    RequestVariableMissing,
    Unauthorized,
    InvalidApiKey,
    UserDeactivated,
    /// `fetch_api_key` with a wrong password (Zulip's own code; the contract is silent).
    AuthenticationFailed,
    NotAParticipant,
    UnauthorizedPrincipal,
    CallNotFound,
    UserNotFound,
    CannotCallSelf,
    UserBusy,
    CallerBusy,
    InvalidCallState,
    CallTypeDisabled,
    FeatureDisabled,
    BadEventQueueId,
    RateLimitHit,
    PayloadTooLarge,
    /// A code this crate does not know (Zulip has many more); clients treat it as a
    /// generic error and show `msg`.
    Other(String),
}

impl ErrorCode {
    /// Every code of the contract's table.
    pub const KNOWN: &'static [ErrorCode] = &[
        ErrorCode::BadRequest,
        ErrorCode::RequestVariableMissing,
        ErrorCode::Unauthorized,
        ErrorCode::InvalidApiKey,
        ErrorCode::UserDeactivated,
        ErrorCode::AuthenticationFailed,
        ErrorCode::NotAParticipant,
        ErrorCode::UnauthorizedPrincipal,
        ErrorCode::CallNotFound,
        ErrorCode::UserNotFound,
        ErrorCode::CannotCallSelf,
        ErrorCode::UserBusy,
        ErrorCode::CallerBusy,
        ErrorCode::InvalidCallState,
        ErrorCode::CallTypeDisabled,
        ErrorCode::FeatureDisabled,
        ErrorCode::BadEventQueueId,
        ErrorCode::RateLimitHit,
        ErrorCode::PayloadTooLarge,
    ];

    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::RequestVariableMissing => "REQUEST_VARIABLE_MISSING",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::InvalidApiKey => "INVALID_API_KEY",
            ErrorCode::UserDeactivated => "USER_DEACTIVATED",
            ErrorCode::AuthenticationFailed => "AUTHENTICATION_FAILED",
            ErrorCode::NotAParticipant => "NOT_A_PARTICIPANT",
            ErrorCode::UnauthorizedPrincipal => "UNAUTHORIZED_PRINCIPAL",
            ErrorCode::CallNotFound => "CALL_NOT_FOUND",
            ErrorCode::UserNotFound => "USER_NOT_FOUND",
            ErrorCode::CannotCallSelf => "CANNOT_CALL_SELF",
            ErrorCode::UserBusy => "USER_BUSY",
            ErrorCode::CallerBusy => "CALLER_BUSY",
            ErrorCode::InvalidCallState => "INVALID_CALL_STATE",
            ErrorCode::CallTypeDisabled => "CALL_TYPE_DISABLED",
            ErrorCode::FeatureDisabled => "FEATURE_DISABLED",
            ErrorCode::BadEventQueueId => "BAD_EVENT_QUEUE_ID",
            ErrorCode::RateLimitHit => "RATE_LIMIT_HIT",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::Other(code) => code,
        }
    }

    /// Reads a wire code; unknown codes become [`ErrorCode::Other`].
    pub fn parse(code: &str) -> ErrorCode {
        ErrorCode::KNOWN
            .iter()
            .find(|known| known.as_str() == code)
            .cloned()
            .unwrap_or_else(|| ErrorCode::Other(code.to_owned()))
    }

    /// The HTTP status the contract pairs with this code (400 for unknown codes).
    pub fn http_status(&self) -> StatusCode {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::RequestVariableMissing
            | ErrorCode::CannotCallSelf
            | ErrorCode::CallTypeDisabled
            | ErrorCode::FeatureDisabled
            | ErrorCode::BadEventQueueId
            | ErrorCode::Other(_) => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized
            | ErrorCode::InvalidApiKey
            | ErrorCode::UserDeactivated
            | ErrorCode::AuthenticationFailed => StatusCode::UNAUTHORIZED,
            ErrorCode::NotAParticipant | ErrorCode::UnauthorizedPrincipal => StatusCode::FORBIDDEN,
            ErrorCode::CallNotFound | ErrorCode::UserNotFound => StatusCode::NOT_FOUND,
            ErrorCode::UserBusy | ErrorCode::CallerBusy | ErrorCode::InvalidCallState => {
                StatusCode::CONFLICT
            }
            ErrorCode::RateLimitHit => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Open: the known codes are listed, others may come from newer servers.
impl schemars::JsonSchema for ErrorCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let known: Vec<&str> = ErrorCode::KNOWN.iter().map(ErrorCode::as_str).collect();
        schemars::json_schema!({
            "type": "string",
            "description": format!("One of {}, or a code from a newer server", known.join(", ")),
            "examples": known
        })
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ErrorCode::parse(&s))
    }
}

/// The `result` tag of every response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResultTag {
    Success,
    Error,
}

/// A success response: the tag, an empty `msg`, and the endpoint's fields beside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Success<T> {
    pub result: ResultTag,
    /// Empty on success; older plugin versions omitted it.
    #[serde(default)]
    pub msg: String,
    #[serde(flatten)]
    pub body: T,
}

impl<T> Success<T> {
    /// Wraps an endpoint's fields in the success envelope.
    pub fn new(body: T) -> Self {
        Success {
            result: ResultTag::Success,
            msg: String::new(),
            body,
        }
    }
}

/// An error response (spec §1): `msg`, `code`, the legacy `message`, and the per-code extras.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error, schemars::JsonSchema,
)]
#[error("{code}: {}", self.text())]
pub struct ApiError {
    pub result: ResultTag,
    #[serde(default)]
    pub msg: String,
    /// Absent only in bodies from servers that predate error codes.
    #[serde(default = "bad_request")]
    pub code: ErrorCode,
    /// Duplicates `msg` for older plugin versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `REQUEST_VARIABLE_MISSING`: the missing parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub var_name: Option<String>,
    /// `CALLER_BUSY`: the caller's own active call (never sent with `USER_BUSY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_call_id: Option<CallId>,
    /// `CALLER_BUSY`: `true` when `existing_call_id` is the callee's unanswered call to the
    /// caller (both called each other at once), so the client answers it instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_you: Option<bool>,
    /// `INVALID_CALL_STATE`: the state the call is in, so a late client learns the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_status: Option<CallState>,
    /// `BAD_EVENT_QUEUE_ID`: the queue that is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// `RATE_LIMIT_HIT`: seconds to wait.
    #[serde(
        rename = "retry-after",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub retry_after: Option<f64>,
}

fn bad_request() -> ErrorCode {
    ErrorCode::BadRequest
}

impl ApiError {
    /// An error with `code` and `msg` (also copied to `message`) and no extras.
    pub fn new(code: ErrorCode, msg: impl Into<String>) -> Self {
        let msg = msg.into();
        ApiError {
            result: ResultTag::Error,
            message: Some(msg.clone()),
            msg,
            code,
            var_name: None,
            existing_call_id: None,
            calling_you: None,
            call_status: None,
            queue_id: None,
            retry_after: None,
        }
    }

    /// This error with `message` set to `msg`: the 1.1 dialect's body carries both (the
    /// plugin's own clients read `message`, its mobile app `msg`), including for an error whose
    /// `msg` was reworded after construction or that was read from a body without `message`.
    pub fn with_message(mut self) -> Self {
        self.message = Some(self.msg.clone());
        self
    }

    /// The human-readable text: `msg`, or `message` from older servers.
    pub fn text(&self) -> &str {
        match (&self.msg, &self.message) {
            (msg, Some(message)) if msg.is_empty() => message,
            (msg, _) => msg,
        }
    }

    /// The HTTP status for this error's code.
    pub fn http_status(&self) -> StatusCode {
        self.code.http_status()
    }

    /// `BAD_REQUEST` with a message.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::BadRequest, msg)
    }

    /// `REQUEST_VARIABLE_MISSING` for `var_name`, worded as Zulip words it.
    pub fn missing_argument(var_name: &str) -> Self {
        let mut err = ApiError::new(
            ErrorCode::RequestVariableMissing,
            format!("Missing '{var_name}' argument"),
        );
        err.var_name = Some(var_name.to_owned());
        err
    }

    /// `INVALID_CALL_STATE` for an action (`"respond to"`, `"acknowledge"`, ...) on a call in
    /// `state`, e.g. `Cannot respond to call in state: accepted`.
    pub fn invalid_call_state(action: &str, state: CallState) -> Self {
        let mut err = ApiError::new(
            ErrorCode::InvalidCallState,
            format!("Cannot {action} call in state: {state}"),
        );
        err.call_status = Some(state);
        err
    }

    /// `USER_BUSY`: the callee, by name, is in another call. Reveals no call id.
    pub fn user_busy(full_name: &str) -> Self {
        ApiError::new(
            ErrorCode::UserBusy,
            format!("{full_name} is currently in another call"),
        )
    }

    /// `CALLER_BUSY`: the caller's own active call is `existing`.
    pub fn caller_busy(existing: CallId) -> Self {
        let mut err = ApiError::new(ErrorCode::CallerBusy, "You are already in an active call");
        err.existing_call_id = Some(existing);
        err
    }

    /// `BAD_EVENT_QUEUE_ID` for `queue_id`.
    pub fn bad_event_queue_id(queue_id: &QueueId) -> Self {
        let mut err = ApiError::new(
            ErrorCode::BadEventQueueId,
            format!("Bad event queue ID: {queue_id}"),
        );
        err.queue_id = Some(queue_id.clone());
        err
    }

    /// `RATE_LIMIT_HIT`, retry after `seconds`.
    pub fn rate_limited(seconds: f64) -> Self {
        let mut err = ApiError::new(ErrorCode::RateLimitHit, "API usage exceeded rate limit");
        err.retry_after = Some(seconds);
        err
    }
}

/// Why a response body could not be turned into an endpoint's result.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The server answered with a Zulip error.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The body is not the JSON the contract describes.
    #[error("unexpected response (HTTP {status}): {reason}")]
    Malformed { status: u16, reason: String },
}

impl From<ApiError> for DecodeError {
    fn from(err: ApiError) -> Self {
        DecodeError::Api(Box::new(err))
    }
}

/// Reads a response body: the endpoint's fields on success, the [`ApiError`] otherwise.
///
/// The `result` tag decides, not the HTTP status, as in Zulip's own clients; a body that is
/// not a Zulip envelope (a proxy's HTML error page, say) is [`DecodeError::Malformed`].
pub fn decode_response<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, DecodeError> {
    let malformed = |reason: String| DecodeError::Malformed { status, reason };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        let preview: String = String::from_utf8_lossy(body).chars().take(120).collect();
        malformed(format!("not JSON ({e}): {preview:?}"))
    })?;
    let tag = value
        .get("result")
        .cloned()
        .map(serde_json::from_value::<ResultTag>);
    match tag {
        Some(Ok(ResultTag::Success)) => {
            serde_json::from_value(value).map_err(|e| malformed(e.to_string()))
        }
        Some(Ok(ResultTag::Error)) => Err(DecodeError::Api(Box::new(
            serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?,
        ))),
        Some(Err(_)) | None => Err(malformed("no \"result\" field".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_reads_back_as_itself() {
        for code in ErrorCode::KNOWN {
            assert_eq!(&ErrorCode::parse(code.as_str()), code);
        }
        assert_eq!(
            ErrorCode::parse("STREAM_DOES_NOT_EXIST"),
            ErrorCode::Other("STREAM_DOES_NOT_EXIST".into())
        );
    }

    #[test]
    fn text_falls_back_to_message() {
        let err: ApiError = serde_json::from_str(
            r#"{"result":"error","message":"Call not found","code":"CALL_NOT_FOUND"}"#,
        )
        .unwrap();
        assert_eq!(err.text(), "Call not found");
        assert_eq!(err.code, ErrorCode::CallNotFound);
    }

    #[test]
    fn decode_picks_the_branch_from_the_result_tag() {
        #[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
        struct Body {
            count: u32,
        }
        let ok: Body = decode_response(200, br#"{"result":"success","msg":"","count":2}"#)
            .map(|s: Success<Body>| s.body)
            .unwrap();
        assert_eq!(ok, Body { count: 2 });

        let err = decode_response::<Success<Body>>(
            404,
            br#"{"result":"error","msg":"Call not found","code":"CALL_NOT_FOUND"}"#,
        )
        .unwrap_err();
        assert!(matches!(err, DecodeError::Api(e) if e.code == ErrorCode::CallNotFound));

        let html = decode_response::<Success<Body>>(502, b"<html>Bad gateway</html>").unwrap_err();
        assert!(matches!(html, DecodeError::Malformed { status: 502, .. }));
    }
}

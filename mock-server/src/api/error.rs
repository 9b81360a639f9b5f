//! One error type for every handler, rendered as Zulip's error envelope: the core's failures
//! get their wire code and message here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zulip_calls_protocol::envelope::headers::WWW_AUTHENTICATE_VALUE;
use zulip_calls_protocol::{ApiError, CallType, ErrorCode, ParamError};

use crate::core::error::needed_party;
use crate::core::{CallError, QueueError, StoreError};

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A contract error, sent to the client as is.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// A failure of the server itself (storage). Logged in full, answered with a generic body.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl From<ApiError> for ServerError {
    fn from(err: ApiError) -> Self {
        ServerError::Api(Box::new(err))
    }
}

impl From<ParamError> for ServerError {
    fn from(err: ParamError) -> Self {
        ServerError::Api(Box::new(err.into()))
    }
}

/// The design dialect's words for a failed call operation (spec §1's error codes).
impl From<CallError> for ServerError {
    fn from(err: CallError) -> Self {
        let api = match err {
            CallError::Store(err) => return ServerError::Store(err),
            CallError::CallTypeDisabled(call_type) => ApiError::new(
                ErrorCode::CallTypeDisabled,
                format!("{} calls are disabled", capitalized(call_type)),
            ),
            CallError::UserNotFound => ApiError::new(ErrorCode::UserNotFound, "No such user"),
            CallError::CannotCallSelf => {
                ApiError::new(ErrorCode::CannotCallSelf, "You cannot call yourself")
            }
            CallError::CallerBusy {
                existing,
                calling_you,
            } => {
                let mut err = ApiError::caller_busy(existing);
                err.calling_you = calling_you.then_some(true);
                err
            }
            CallError::RedialCooldown {
                existing,
                retry_after,
            } => {
                let mut err = ApiError::new(
                    ErrorCode::RateLimitHit,
                    "Please wait a moment before making another call",
                );
                err.existing_call_id = Some(existing);
                err.retry_after = Some(retry_after.max(1.0));
                err
            }
            CallError::UserBusy { name } => ApiError::user_busy(&name),
            CallError::CallNotFound => ApiError::new(ErrorCode::CallNotFound, "Call not found"),
            CallError::NotAParticipant => ApiError::new(
                ErrorCode::NotAParticipant,
                "You are not a participant of this call",
            ),
            CallError::NotAllowed { action } => ApiError::new(
                ErrorCode::NotAParticipant,
                format!(
                    "Only the {} can {} this call",
                    needed_party(action),
                    action.verb()
                ),
            ),
            CallError::InvalidState { action, state } => {
                ApiError::invalid_call_state(action.verb(), state)
            }
            CallError::MissingStatus => ApiError::missing_argument("status"),
        };
        api.into()
    }
}

impl From<QueueError> for ServerError {
    fn from(err: QueueError) -> Self {
        match err {
            QueueError::BadQueue(id) => ApiError::bad_event_queue_id(&id).into(),
        }
    }
}

fn capitalized(call_type: CallType) -> &'static str {
    match call_type {
        CallType::Video => "Video",
        CallType::Audio => "Audio",
    }
}

impl ServerError {
    /// A contract error with `code` and `msg`.
    pub fn api(code: ErrorCode, msg: impl Into<String>) -> Self {
        ApiError::new(code, msg).into()
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let err = match self {
            ServerError::Api(err) => *err,
            ServerError::Store(err) => {
                tracing::error!(error = %err, "storage failure");
                let err = ApiError::new(
                    ErrorCode::Other("INTERNAL_SERVER_ERROR".into()),
                    "Internal server error",
                );
                return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(err)).into_response();
            }
        };
        let status =
            StatusCode::from_u16(err.http_status().as_u16()).unwrap_or(StatusCode::BAD_REQUEST);
        let retry_after = err.retry_after;
        let mut response = (status, axum::Json(err)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(WWW_AUTHENTICATE_VALUE),
            );
        }
        if let Some(seconds) = retry_after
            && let Ok(value) = HeaderValue::from_str(&format!("{}", seconds.ceil() as u64))
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ServerError>;

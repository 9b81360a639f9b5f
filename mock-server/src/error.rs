//! One error type for every handler, rendered as Zulip's error envelope.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zulip_calls_protocol::envelope::headers::WWW_AUTHENTICATE_VALUE;
use zulip_calls_protocol::{ApiError, ErrorCode, ParamError};

use crate::store::StoreError;

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

//! Request parameters from the query string and a form or JSON body (spec §1).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use zulip_calls_protocol::params::Params;
use zulip_calls_protocol::{ApiError, ErrorCode};

use crate::api::ApiState;
use crate::api::error::ServerError;

/// A request's parameters as a layer outside read them already (the request journal), left
/// for the handler's [`ApiParams`] so it does not read them a second time. Present only when
/// reading them succeeded in full (a body over the size limit, or malformed JSON, is left for
/// the handler to refuse).
/// Shared with the journal, which keeps them for its entry while the handler runs.
#[derive(Debug, Clone)]
pub struct ReadParams(pub Arc<Params>);

/// All parameters of a request: the query string, then the body (which wins on conflicts).
#[derive(Debug)]
pub struct ApiParams(pub Arc<Params>);

/// A router state that knows how large a request body may be: the API's, and the control
/// API's (which reads its parameters the same way).
pub trait BodyLimit {
    fn max_body_bytes(&self) -> usize;
}

impl BodyLimit for ApiState {
    fn max_body_bytes(&self) -> usize {
        self.limits.max_body_bytes
    }
}

impl<S: BodyLimit + Send + Sync> FromRequest<S> for ApiParams {
    type Rejection = ServerError;

    async fn from_request(mut req: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ReadParams(params)) = req.extensions_mut().remove::<ReadParams>() {
            return Ok(ApiParams(params));
        }
        let mut params = Params::from_urlencoded(req.uri().query().unwrap_or("").as_bytes());
        let kind = BodyKind::of(req.headers().get(CONTENT_TYPE));
        let limit = state.max_body_bytes();
        let body = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("Request body is larger than {limit} bytes"),
                )
            })?;
        if !body.is_empty() {
            match kind {
                BodyKind::Form => params.extend(Params::from_urlencoded(&body)),
                BodyKind::Json => params.extend(Params::from_json(&body)?),
                // Like Zulip (Django), a body of another type carries no parameters.
                BodyKind::Other => {}
            }
        }
        Ok(ApiParams(Arc::new(params)))
    }
}

/// How a body is read, by its media type (case-insensitive, parameters such as `charset`
/// ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Form,
    Json,
    Other,
}

impl BodyKind {
    pub fn of(content_type: Option<&HeaderValue>) -> Self {
        let essence = content_type
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or("")
            .trim();
        if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            BodyKind::Form
        } else if essence.eq_ignore_ascii_case("application/json") {
            BodyKind::Json
        } else {
            BodyKind::Other
        }
    }
}

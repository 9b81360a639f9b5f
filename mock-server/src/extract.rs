//! Request parameters from the query string and a form or JSON body (spec §1).

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use zulip_calls_protocol::params::Params;
use zulip_calls_protocol::{ApiError, ErrorCode};

use crate::error::ServerError;
use crate::state::SharedState;

/// All parameters of a request: the query string, then the body (which wins on conflicts).
#[derive(Debug)]
pub struct ApiParams(pub Params);

impl FromRequest<SharedState> for ApiParams {
    type Rejection = ServerError;

    async fn from_request(
        req: Request<Body>,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let mut params = Params::from_urlencoded(req.uri().query().unwrap_or("").as_bytes());
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        let limit = state.config.max_body_bytes;
        let body = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("Request body is larger than {limit} bytes"),
                )
            })?;
        if !body.is_empty() {
            let from_body = if is_json {
                Params::from_json(&body)?
            } else {
                Params::from_urlencoded(&body)
            };
            params.extend(from_body);
        }
        Ok(ApiParams(params))
    }
}

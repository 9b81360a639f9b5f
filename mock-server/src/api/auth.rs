//! HTTP Basic authentication exactly as spec §1 describes it.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use zulip_calls_protocol::{ApiError, ErrorCode};

use crate::api::ApiState;
use crate::api::error::ServerError;
use crate::core::Core;
use crate::core::model::UserRecord;

/// The authenticated user of a request.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Arc<UserRecord>);

/// Reads `Authorization: Basic base64(email:api_key)`.
pub fn credentials(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (email, key) = text.split_once(':')?;
    Some((email.to_owned(), key.to_owned()))
}

/// Checks credentials against the directory: which user, or which 401.
pub fn authenticate(core: &Core, parts: &Parts) -> Result<Arc<UserRecord>, ServerError> {
    let Some((email, key)) = credentials(parts) else {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "Not logged in: API authentication or user session required",
        )
        .into());
    };
    authenticate_as(core, &email, &key)
}

/// Checks an email and API key (read by [`credentials`]) against the directory.
pub fn authenticate_as(
    core: &Core,
    email: &str,
    key: &str,
) -> Result<Arc<UserRecord>, ServerError> {
    let directory = core.directory();
    let user = directory
        .shared_user_by_email(email)
        .filter(|u| constant_time_eq(u.api_key.as_bytes(), key.as_bytes()))
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidApiKey, "Invalid API key"))?;
    if !user.is_active {
        return Err(ApiError::new(ErrorCode::UserDeactivated, "Account is deactivated").into());
    }
    Ok(Arc::clone(user))
}

/// Compares secrets without an early exit, so timing does not leak how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<ApiState> for AuthUser {
    type Rejection = ServerError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        // Taken, not copied: a handler has one `AuthUser` (a second would sign in again).
        if let Some(user) = parts.extensions.remove::<AuthUser>() {
            return Ok(user);
        }
        Ok(AuthUser(authenticate(&state.core, parts)?))
    }
}

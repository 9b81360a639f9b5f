//! HTTP Basic authentication exactly as spec §1 describes it, with the sign-ins that
//! succeeded recalled ([`SignIns`](crate::api::sign_ins::SignIns)).

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
fn credentials(parts: &Parts) -> Option<(String, String)> {
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

/// Checks a request's credentials: which user, or which 401.
pub fn authenticate(api: &ApiState, parts: &Parts) -> Result<Arc<UserRecord>, ServerError> {
    match sign_in(api, parts) {
        Some(SignIn { user, .. }) => user,
        None => Err(ApiError::new(
            ErrorCode::Unauthorized,
            "Not logged in: API authentication or user session required",
        )
        .into()),
    }
}

/// A request's Basic credentials, checked: the email they name (valid or not) and the user or
/// why not.
#[derive(Debug)]
pub struct SignIn {
    pub email: String,
    pub user: Result<Arc<UserRecord>, ServerError>,
}

/// Checks a request's Basic credentials, if it has any: from the sign-ins recalled when the same header
/// signed in before, else against the directory.
pub fn sign_in(api: &ApiState, parts: &Parts) -> Option<SignIn> {
    let header = parts.headers.get(AUTHORIZATION)?.as_bytes();
    if let Some((email, user)) = api.sign_ins.recall(&api.core, header) {
        return Some(SignIn {
            email,
            user: Ok(user),
        });
    }
    let (email, key) = credentials(parts)?;
    let user = authenticate_as(&api.core, &email, &key);
    if let Ok(user) = &user {
        api.sign_ins.remember(header, &email, user);
    }
    Some(SignIn { email, user })
}

/// Checks an email and API key (read by [`credentials`]) against the directory.
fn authenticate_as(core: &Core, email: &str, key: &str) -> Result<Arc<UserRecord>, ServerError> {
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
        Ok(AuthUser(authenticate(state, parts)?))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Request;
    use zulip_calls_protocol::settings::Settings;
    use zulip_calls_protocol::{Timestamp, UserId};

    use super::*;
    use crate::api::state::{Api, ApiLimits};
    use crate::core::directory::Directory;
    use crate::core::directory::tests::user;
    use crate::core::model::{RealmId, RealmRecord};
    use crate::core::store::Store;
    use crate::core::{Clock, CoreOptions, Listeners};

    fn realm() -> RealmRecord {
        RealmRecord {
            id: RealmId(1),
            name: "Test".into(),
            url: "http://localhost:9991".into(),
        }
    }

    fn api() -> ApiState {
        let core = Core::new(
            Settings::default(),
            CoreOptions::default(),
            Clock::manual(Timestamp::from_unix_seconds(1_700_000_000).unwrap()),
            Directory::new(vec![realm()], vec![user(1, "a@example.com")]),
            Store::open_in_memory().unwrap(),
            Listeners::default(),
        );
        Arc::new(Api::new(
            Arc::new(core),
            ApiLimits {
                heartbeat_seconds: 90,
                max_body_bytes: 1 << 20,
                rate_limit_per_minute: 0,
            },
        ))
    }

    fn request(email: &str, key: &str) -> Parts {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{key}"));
        let request = Request::builder()
            .header(AUTHORIZATION, format!("Basic {token}"))
            .body(())
            .unwrap();
        request.into_parts().0
    }

    fn remembered(api: &ApiState) -> usize {
        api.sign_ins.remembered()
    }

    #[test]
    fn a_sign_in_is_recalled_only_while_the_user_record_is_unchanged() {
        let api = api();
        let key = user(1, "a@example.com").api_key;
        let parts = request("A@example.com", &key);
        let first = sign_in(&api, &parts).unwrap();
        assert_eq!(first.email, "A@example.com");
        assert_eq!(first.user.unwrap().id, UserId(1));
        assert_eq!(remembered(&api), 1);
        // Recalled: the same answer, the email as the credentials spelled it.
        let again = sign_in(&api, &parts).unwrap();
        assert_eq!(
            (again.email.as_str(), again.user.unwrap().id),
            ("A@example.com", UserId(1))
        );

        // The same credentials after the directory is replaced with `changed` in it.
        let refused_after = |changed: UserRecord| {
            api.core
                .replace_directory(Directory::new(vec![realm()], vec![changed]));
            format!("{:?}", sign_in(&api, &parts).unwrap().user.unwrap_err())
        };
        // A deactivation: the recalled sign-in no longer holds.
        let mut deactivated = user(1, "a@example.com");
        deactivated.is_active = false;
        let refused = refused_after(deactivated);
        assert!(refused.contains("UserDeactivated"), "{refused}");
        // A new key: the old one is refused.
        let mut rekeyed = user(1, "a@example.com");
        rekeyed.api_key = "a-brand-new-api-key-of-32-chars!".into();
        let refused = refused_after(rekeyed);
        assert!(refused.contains("InvalidApiKey"), "{refused}");
    }

    #[test]
    fn failed_sign_ins_are_not_remembered() {
        let api = api();
        for attempt in 0..3 {
            let parts = request("a@example.com", &format!("wrong-{attempt}"));
            assert!(sign_in(&api, &parts).unwrap().user.is_err());
        }
        assert_eq!(remembered(&api), 0);
        assert!(sign_in(&api, &Request::new(()).into_parts().0).is_none());
    }
}

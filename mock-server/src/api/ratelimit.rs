//! Per-user rate limiting with Zulip's headers (spec §1): every authenticated response carries
//! `X-RateLimit-Limit`, `-Remaining` and `-Reset`; past the limit the answer is 429
//! `RATE_LIMIT_HIT` with `Retry-After`.
//!
//! A fixed window of 60 seconds per user, timed by the server's clock (so a virtual clock
//! drives it too).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use zulip_calls_protocol::envelope::headers::{
    RATE_LIMIT_LIMIT, RATE_LIMIT_REMAINING, RATE_LIMIT_RESET,
};
use zulip_calls_protocol::{ApiError, Timestamp, UserId};

use crate::api::ApiState;
use crate::api::auth::{AuthUser, authenticate};
use crate::api::error::ServerError;

/// Length of a rate-limit window.
const WINDOW_MILLIS: i64 = 60_000;

/// Request counts per user in the current window.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<UserId, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_millis: i64,
    count: u32,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds when the window resets.
    pub reset: i64,
    /// Seconds until then.
    pub retry_after: f64,
}

impl RateLimiter {
    /// Counts a request of `user` at `now` against `limit` per minute.
    pub fn check(&self, user: UserId, now: Timestamp, limit: u32) -> Verdict {
        let now_millis = now.unix_millis();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = windows.entry(user).or_insert(Window {
            start_millis: now_millis,
            count: 0,
        });
        if now_millis - window.start_millis >= WINDOW_MILLIS || now_millis < window.start_millis {
            *window = Window {
                start_millis: now_millis,
                count: 0,
            };
        }
        let allowed = window.count < limit;
        if allowed {
            window.count += 1;
        }
        let reset_millis = window.start_millis + WINDOW_MILLIS;
        Verdict {
            allowed,
            limit,
            remaining: limit.saturating_sub(window.count),
            reset: reset_millis.div_euclid(1000) + i64::from(reset_millis % 1000 != 0),
            retry_after: (reset_millis - now_millis).max(0) as f64 / 1000.0,
        }
    }

    /// Forgets every window (a reset of the server's state).
    pub fn clear(&self) {
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }
}

/// Middleware: counts, and adds the headers. Authenticates unless a layer outside did (the
/// journal, for the API), once either way: handlers reuse the result. Requests without valid
/// credentials pass through untouched; their handler answers 401.
/// The innermost part of the QA layer's front desk (`qa::front_desk`), which hands it the user
/// the journal signed in.
pub async fn limit<Inner>(state: &ApiState, request: Request, inner: Inner) -> Response
where
    Inner: AsyncFnOnce(Request) -> Response,
{
    let limit = state.limits.rate_limit_per_minute;
    let (mut parts, body) = request.into_parts();
    let user_id = match parts.extensions.get::<AuthUser>() {
        Some(AuthUser(user)) => user.id,
        None => match authenticate(&state.core, &parts) {
            Ok(user) => {
                let id = user.id;
                parts.extensions.insert(AuthUser(user));
                id
            }
            Err(_) => return inner(Request::from_parts(parts, body)).await,
        },
    };
    let request = Request::from_parts(parts, body);
    if limit == 0 {
        return inner(request).await;
    }
    let verdict = state
        .rate_limiter
        .check(user_id, state.core.clock.now(), limit);
    let mut response = if verdict.allowed {
        inner(request).await
    } else {
        tracing::warn!(user = %user_id, "rate limit hit");
        ServerError::from(ApiError::rate_limited(verdict.retry_after)).into_response()
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (RATE_LIMIT_LIMIT, verdict.limit.to_string()),
        (RATE_LIMIT_REMAINING, verdict.remaining.to_string()),
        (RATE_LIMIT_RESET, verdict.reset.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis).unwrap()
    }

    #[test]
    fn allows_the_limit_then_refuses_until_the_window_resets() {
        let limiter = RateLimiter::default();
        let user = UserId(1);
        for i in 0..3 {
            let v = limiter.check(user, at(1_000 + i), 3);
            assert!(v.allowed);
            assert_eq!(v.remaining, 2 - u32::try_from(i).unwrap());
        }
        let refused = limiter.check(user, at(31_000), 3);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, 30.0);
        assert_eq!(refused.reset, 61);
        assert!(limiter.check(UserId(2), at(31_000), 3).allowed, "per user");
        assert!(limiter.check(user, at(61_000), 3).allowed, "a new window");
    }
}

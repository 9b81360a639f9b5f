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

/// Counts a request against its user's limit (the innermost part of the QA layer's front desk,
/// `qa::front_desk`, which hands it the user the journal signed in; authenticates otherwise,
/// once either way: handlers reuse the result). Requests without valid credentials pass
/// untouched; their handler answers 401.
pub fn check(state: &ApiState, request: Request) -> Admission {
    let limit = state.limits.rate_limit_per_minute;
    let (mut parts, body) = request.into_parts();
    let user_id = match parts.extensions.get::<AuthUser>() {
        Some(AuthUser(user)) => user.id,
        None => match authenticate(state, &parts) {
            Ok(user) => {
                let id = user.id;
                parts.extensions.insert(AuthUser(user));
                id
            }
            Err(_) => return Admission::Admitted(Request::from_parts(parts, body), None),
        },
    };
    let request = Request::from_parts(parts, body);
    if limit == 0 {
        return Admission::Admitted(request, None);
    }
    let verdict = state
        .rate_limiter
        .check(user_id, state.core.clock.now(), limit);
    if verdict.allowed {
        return Admission::Admitted(request, Some(verdict));
    }
    tracing::warn!(user = %user_id, "rate limit hit");
    let refused = ServerError::from(ApiError::rate_limited(verdict.retry_after)).into_response();
    Admission::Refused(stamp(refused, Some(verdict)))
}

/// What [`check`] decided for a request.
#[derive(Debug)]
pub enum Admission {
    /// To be served; its answer gets the verdict's headers ([`stamp`]), if there is one.
    Admitted(Request, Option<Verdict>),
    /// Over the limit: the refusal, with its headers.
    Refused(Response),
}

/// Adds the rate limit's headers for `verdict` to `response`.
pub fn stamp(mut response: Response, verdict: Option<Verdict>) -> Response {
    let Some(verdict) = verdict else {
        return response;
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

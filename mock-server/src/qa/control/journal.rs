//! `/mock/v1/journal`: reading, emptying and verifying the request journal
//! (CONTROL-API.md, "Request journal").

use std::collections::VecDeque;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ControlError, ControlResult, PREFIX};
use crate::api::params::ApiParams;
use crate::api::success;
use crate::qa::QaState;
use crate::qa::journal::{CAPACITY, JournalEntry};
use crate::qa::request_match::{RequestPattern, describe_user};

/// How many requests `GET /mock/v1/journal` returns when not told.
pub const DEFAULT_LIMIT: usize = 100;

/// How many near misses a failed verification shows.
pub const NEAR_MISSES: usize = 3;

/// The journal routes.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router
        .route(
            &format!("{PREFIX}/journal"),
            get(list_requests).delete(clear_journal),
        )
        .route(&format!("{PREFIX}/journal/verify"), post(verify))
}

/// Parameters of `GET /mock/v1/journal` beside the pattern (decoded on its own: the lenient
/// parameter decoder cannot see through `#[serde(flatten)]`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub(super) struct ListRequest {
    #[serde(default)]
    since_id: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

/// Parameters of `POST /mock/v1/journal/verify` beside the pattern.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub(super) struct VerifyRequest {
    #[serde(default)]
    since_id: Option<u64>,
    #[serde(default)]
    count: Option<usize>,
    #[serde(default)]
    at_least: Option<usize>,
    #[serde(default)]
    at_most: Option<usize>,
}

/// A journaled request near a pattern, and how it differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearMiss {
    pub request: JournalEntry,
    pub differences: Vec<String>,
}

/// Decodes a request pattern and the other parameters, `T`.
fn decode<T: serde::de::DeserializeOwned>(
    params: &zulip_calls_protocol::params::Params,
) -> ControlResult<(RequestPattern, T)> {
    Ok((params.decode()?, params.decode()?))
}

/// Matching requests after `since_id`, oldest first: the first `limit` after `since_id`
/// when given (to page forward), otherwise the latest `limit`.
async fn list_requests(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let (pattern, request): (_, ListRequest) = decode(&params)?;
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=CAPACITY).contains(&limit) {
        return Err(ControlError::bad_request(format!(
            "Invalid 'limit': must be between 1 and {CAPACITY}"
        )));
    }
    let requests = state.journal.read(|entries| {
        let matching = matching(entries, &pattern, request.since_id);
        if request.since_id.is_some() {
            matching
                .into_iter()
                .take(limit)
                .cloned()
                .collect::<Vec<_>>()
        } else {
            let skip = matching.len().saturating_sub(limit);
            matching.into_iter().skip(skip).cloned().collect()
        }
    });
    Ok(success(ListResponse { requests }))
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResponse {
    /// Oldest first.
    requests: Vec<JournalEntry>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ClearResponse {
    /// How many requests the journal held.
    deleted: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct VerifyResponse {
    /// How many requests matched.
    matched: usize,
}

async fn clear_journal(State(state): State<QaState>) -> ControlResult<Response> {
    let deleted = state.journal.clear();
    tracing::info!(deleted, "request journal cleared");
    Ok(success(ClearResponse { deleted }))
}

/// The expected number of matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    at_least: usize,
    at_most: Option<usize>,
}

impl Expected {
    fn holds(self, found: usize) -> bool {
        found >= self.at_least && self.at_most.is_none_or(|most| found <= most)
    }
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: usize| if n == 1 { "request" } else { "requests" };
        match (self.at_least, self.at_most) {
            (least, Some(most)) if least == most => {
                write!(f, "exactly {least} {}", plural(least))
            }
            (0, Some(most)) => write!(f, "at most {most} {}", plural(most)),
            (least, Some(most)) => write!(f, "between {least} and {most} requests"),
            (least, None) => write!(f, "at least {least} {}", plural(least)),
        }
    }
}

async fn verify(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let (pattern, request): (_, VerifyRequest) = decode(&params)?;
    let expected = match (request.count, request.at_least, request.at_most) {
        (Some(count), None, None) => Expected {
            at_least: count,
            at_most: Some(count),
        },
        (Some(_), _, _) => {
            return Err(ControlError::bad_request(
                "Give either 'count' or 'at_least'/'at_most', not both",
            ));
        }
        (None, None, None) => Expected {
            at_least: 1,
            at_most: None,
        },
        (None, least, most) => Expected {
            at_least: least.unwrap_or(0),
            at_most: most,
        },
    };
    if expected
        .at_most
        .is_some_and(|most| most < expected.at_least)
    {
        return Err(ControlError::bad_request(
            "'at_most' is smaller than 'at_least'",
        ));
    }
    let (found, near) = state.journal.read(|entries| {
        let found = matching(entries, &pattern, request.since_id).len();
        let near = if found < expected.at_least {
            near_misses(entries, &pattern, request.since_id, NEAR_MISSES)
        } else {
            Vec::new()
        };
        (found, near)
    });
    if expected.holds(found) {
        return Ok(success(VerifyResponse { matched: found }));
    }
    let mut msg = format!("Expected {expected} matching {pattern}; found {found}");
    if let Some(closest) = near.first() {
        msg.push_str(&format!(
            ". Closest: {} {} by {} -> {} ({})",
            closest.request.method,
            closest.request.path,
            describe_user(&closest.request),
            closest.request.status,
            closest.differences.join("; ")
        ));
    } else if found < expected.at_least {
        msg.push_str(". The journal holds no request to compare");
    }
    tracing::info!(%msg, "journal verification failed");
    Err(
        ControlError::new(StatusCode::CONFLICT, "VERIFICATION_FAILED", msg)
            .with("matched", Value::from(found))
            .with(
                "near_misses",
                serde_json::to_value(&near).unwrap_or_default(),
            ),
    )
}

/// The entries after `since_id` that match `pattern`, oldest first.
pub fn matching<'a>(
    entries: &'a VecDeque<JournalEntry>,
    pattern: &RequestPattern,
    since_id: Option<u64>,
) -> Vec<&'a JournalEntry> {
    entries
        .iter()
        .filter(|e| since_id.is_none_or(|since| e.id > since))
        .filter(|e| pattern.matches(e))
        .collect()
}

/// Up to `n` entries after `since_id` that do not match `pattern`, closest first (the newer
/// of two equally close ones first).
pub fn near_misses(
    entries: &VecDeque<JournalEntry>,
    pattern: &RequestPattern,
    since_id: Option<u64>,
    n: usize,
) -> Vec<NearMiss> {
    let mut scored: Vec<(usize, &JournalEntry)> = entries
        .iter()
        .filter(|e| since_id.is_none_or(|since| e.id > since))
        .map(|e| (pattern.distance(e), e))
        .filter(|(distance, _)| *distance > 0)
        .collect();
    scored.sort_by(|(da, a), (db, b)| da.cmp(db).then(b.id.cmp(&a.id)));
    scored
        .into_iter()
        .take(n)
        .map(|(_, entry)| NearMiss {
            request: entry.clone(),
            differences: pattern.differences(entry),
        })
        .collect()
}

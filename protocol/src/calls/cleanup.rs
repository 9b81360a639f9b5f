//! `POST calls/cleanup`: the operator's cleanup command as an endpoint (administrators only).

use serde::{Deserialize, Serialize};

use crate::endpoint::endpoint;

endpoint! {
    /// Times out stale unanswered calls and optionally deletes old finished ones.
    Cleanup: Post "calls/cleanup", auth Basic,
    name "calls.cleanup", path (), CleanupRequest => CleanupResponse
}

/// Parameters of `cleanup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CleanupRequest {
    /// Unanswered calls older than this are timed out (default 5).
    #[serde(default = "CleanupRequest::default_timeout_minutes")]
    pub timeout_minutes: u32,
    /// Also delete finished calls older than `old_calls_days` (default false).
    #[serde(default)]
    pub cleanup_old_calls: bool,
    /// Default 30.
    #[serde(default = "CleanupRequest::default_old_calls_days")]
    pub old_calls_days: u32,
}

impl CleanupRequest {
    pub const DEFAULT_TIMEOUT_MINUTES: u32 = 5;
    pub const DEFAULT_OLD_CALLS_DAYS: u32 = 30;

    fn default_timeout_minutes() -> u32 {
        CleanupRequest::DEFAULT_TIMEOUT_MINUTES
    }

    fn default_old_calls_days() -> u32 {
        CleanupRequest::DEFAULT_OLD_CALLS_DAYS
    }
}

impl Default for CleanupRequest {
    fn default() -> Self {
        CleanupRequest {
            timeout_minutes: CleanupRequest::DEFAULT_TIMEOUT_MINUTES,
            cleanup_old_calls: false,
            old_calls_days: CleanupRequest::DEFAULT_OLD_CALLS_DAYS,
        }
    }
}

/// Response of `cleanup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CleanupResponse {
    pub calls_timed_out: u64,
    pub calls_deleted: u64,
    /// `calls_timed_out + calls_deleted`.
    pub calls_cleaned: u64,
}

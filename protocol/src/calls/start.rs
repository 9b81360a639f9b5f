//! `POST calls/start`.

use serde::{Deserialize, Serialize};

use crate::call::CallType;
use crate::endpoint::endpoint;
use crate::ids::{CallId, UserId};

endpoint! {
    /// Starts a call to `user_id`.
    Start: Post "calls/start", auth Basic,
    name "calls.start", path (), StartRequest => StartResponse
}

/// Parameters of `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartRequest {
    pub user_id: UserId,
    /// Defaults to video.
    #[serde(default)]
    pub call_type: CallType,
}

/// Response of `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartResponse {
    pub call_id: CallId,
    /// The bare room URL.
    pub jitsi_url: String,
    /// The caller's own join URL.
    pub join_url: String,
    /// `CALL_NOTIFICATION_TIMEOUT`.
    pub timeout_seconds: u64,
}

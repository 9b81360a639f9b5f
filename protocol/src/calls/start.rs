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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StartRequest {
    pub user_id: UserId,
    /// Defaults to video.
    #[serde(default)]
    pub call_type: CallType,
}

impl StartResponse {
    /// The URL to open: the personal join URL, or the bare room from older servers.
    pub fn join_or_room_url(&self) -> &str {
        self.join_url.as_deref().unwrap_or(&self.jitsi_url)
    }
}

/// Response of `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StartResponse {
    pub call_id: CallId,
    /// The bare room URL.
    pub jitsi_url: String,
    /// The caller's own join URL. Always sent by this contract; the design document's plugin
    /// version sent only `jitsi_url`, so readers fall back to that (see [`Self::join_or_room_url`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_url: Option<String>,
    /// `CALL_NOTIFICATION_TIMEOUT`.
    pub timeout_seconds: u64,
}

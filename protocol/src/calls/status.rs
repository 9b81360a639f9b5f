//! `POST calls/status`: a media status report during an accepted call.

use serde::{Deserialize, Serialize};

use super::OkStatus;
use crate::call::{CallState, MediaStatus};
use crate::endpoint::endpoint;
use crate::ids::CallId;

endpoint! {
    /// Reports mute, video, hold or screen sharing changes to the other party.
    Status: Post "calls/status", auth Basic,
    name "calls.status", path (), StatusRequest => StatusResponse
}

/// Parameters of `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusRequest {
    pub call_id: CallId,
    pub status: MediaStatus,
}

/// Response of `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusResponse {
    pub status: OkStatus,
    pub call_status: CallState,
}

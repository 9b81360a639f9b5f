//! `POST calls/respond`: the receiver accepts or rejects.

use serde::{Deserialize, Serialize};

use super::OkStatus;
use crate::call::{CallState, RespondAction};
use crate::endpoint::endpoint;
use crate::ids::CallId;

endpoint! {
    /// Accept or reject (`decline`) an incoming call.
    Respond: Post "calls/respond", auth Basic,
    name "calls.respond", path (), RespondRequest => RespondResponse
}

/// Parameters of `respond`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RespondRequest {
    pub call_id: CallId,
    pub response: RespondAction,
}

/// Response of `respond`; the URLs only on accept, and the join URL is the receiver's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RespondResponse {
    pub status: OkStatus,
    pub call_status: CallState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitsi_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_url: Option<String>,
}

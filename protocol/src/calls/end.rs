//! `POST calls/end`: hang up, cancel, or (receiver, before answering) reject.

use serde::{Deserialize, Serialize};

use super::OkStatus;
use crate::call::CallState;
use crate::endpoint::endpoint;
use crate::ids::CallId;

endpoint! {
    /// Ends a call; on a call that is already over it answers with the state it had.
    End: Post "calls/end", auth Basic,
    name "calls.end", path (), EndRequest => EndResponse
}

/// Parameters of `end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EndRequest {
    pub call_id: CallId,
}

/// Response of `end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EndResponse {
    pub status: OkStatus,
    /// `ended`, `cancelled`, `rejected`, or the terminal state the call already had. Always
    /// sent by this contract; absent in the design document's plugin version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_status: Option<CallState>,
    /// Seconds in the call; `null` when it was never answered (or, from older servers, absent).
    #[serde(default)]
    pub duration: Option<f64>,
}

//! `POST calls/heartbeat`: a party of an accepted call says it is still there (1.1 dialect).

use serde::{Deserialize, Serialize};

use crate::call::CallState;
use crate::endpoint::endpoint;
use crate::ids::CallId;

endpoint! {
    /// Keeps the sender's side of the call alive; silence past `CALL_HEARTBEAT_TIMEOUT` ends
    /// the call as `network_failure`.
    Heartbeat: Post "calls/heartbeat", auth Basic,
    name "calls.heartbeat", path (), HeartbeatRequest => HeartbeatResponse
}

/// Parameters of `heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HeartbeatRequest {
    pub call_id: CallId,
    /// The app is in the background (default false); informational only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_backgrounded: Option<bool>,
}

/// Response of `heartbeat`: the raw state, so a client learns that the call ended without
/// waiting for the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HeartbeatResponse {
    pub call_state: CallState,
}

//! `POST calls/acknowledge`: a device of the receiver is ringing.

use serde::{Deserialize, Serialize};

use crate::call::CallState;
use crate::endpoint::endpoint;
use crate::ids::CallId;
use crate::macros::string_enum;

endpoint! {
    /// The receiver's device reports that it rings; the caller then sees "Ringing".
    Acknowledge: Post "calls/acknowledge", auth Basic,
    name "calls.acknowledge", path (), AcknowledgeRequest => AcknowledgeResponse
}

string_enum! {
    /// The only status `acknowledge` takes.
    pub enum AckStatus {
        Ringing = "ringing",
    }
}

/// Parameters of `acknowledge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcknowledgeRequest {
    pub call_id: CallId,
    /// Optional; only `ringing` is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AckStatus>,
}

/// Response of `acknowledge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcknowledgeResponse {
    /// `ringing`.
    pub call_status: CallState,
}

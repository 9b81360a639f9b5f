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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AcknowledgeRequest {
    pub call_id: CallId,
    /// Optional; only `ringing` is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AckStatus>,
}

/// Response of `acknowledge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AcknowledgeResponse {
    /// `ringing`, or in the 1.1 dialect the state of a call that is already over.
    pub call_status: CallState,
    /// A sentence the 1.1 dialect adds; absent in the design dialect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl AcknowledgeResponse {
    /// The 1.1 `message` of a successful acknowledgement.
    pub const ACKNOWLEDGED: &'static str = "Call acknowledged";
}

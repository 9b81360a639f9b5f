//! `GET calls/{call_id}`: one call the user is party to.

use serde::{Deserialize, Serialize};

use crate::call::{Call, MediaStatus};
use crate::endpoint::{Empty, endpoint};
use crate::ids::CallId;

endpoint! {
    /// Fetches one call with the requester's join URL and both parties' media status.
    GetCall: Get "calls/{call_id}", auth Basic,
    name "calls.get", path CallId, Empty => GetCallResponse
}

/// Response of `GET calls/{call_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GetCallResponse {
    pub call: CallDetail,
}

/// The §2 call object plus what only its requester may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CallDetail {
    #[serde(flatten)]
    pub call: Call,
    /// The requesting user's own join URL; `null` once the call is over.
    pub join_url: Option<String>,
    /// The sender's latest `status` report, `null` before any.
    pub sender_media_status: Option<MediaStatus>,
    /// The receiver's latest `status` report, `null` before any.
    pub receiver_media_status: Option<MediaStatus>,
}

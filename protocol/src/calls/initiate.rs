//! `POST calls/initiate`: the quick call of the design document's sequence.

use serde::{Deserialize, Serialize};

use super::CallTarget;
use crate::call::CallType;
use crate::endpoint::endpoint;
use crate::ids::{CallId, UserId};
use crate::params::ParamError;

endpoint! {
    /// Starts a call to `recipient_email` or `user_id`.
    Initiate: Post "calls/initiate", auth Basic,
    name "calls.initiate", path (), InitiateRequest => InitiateResponse
}

/// Parameters of `initiate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InitiateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Defaults to `true` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_video_call: Option<bool>,
}

impl InitiateRequest {
    /// The callee; `REQUEST_VARIABLE_MISSING` (`user_id`) when neither is given.
    pub fn target(&self) -> Result<CallTarget, ParamError> {
        CallTarget::from_params(self.user_id, self.recipient_email.as_deref())
    }

    /// Video unless `is_video_call` is false.
    pub fn call_type(&self) -> CallType {
        CallType::from_is_video(self.is_video_call.unwrap_or(true))
    }
}

/// Response of `initiate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InitiateResponse {
    pub call_id: CallId,
    /// The caller's own join URL (spec §7).
    pub call_url: String,
    /// The Jitsi room name (= `jitsi_room_id`).
    pub room_id: String,
    pub jitsi_url: String,
    pub timeout_seconds: u64,
    /// Always `Call initiated successfully`.
    pub message: String,
}

impl InitiateResponse {
    /// The fixed `message` of a successful `initiate`.
    pub const MESSAGE: &'static str = "Call initiated successfully";
}

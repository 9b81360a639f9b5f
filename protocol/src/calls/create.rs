//! `POST calls/create`: full creation, returning the call object.

use serde::{Deserialize, Serialize};

use super::CallTarget;
use crate::call::{Call, CallType};
use crate::endpoint::endpoint;
use crate::ids::{CallId, UserId};
use crate::params::ParamError;

endpoint! {
    /// Creates a call and returns it whole.
    Create: Post "calls/create", auth Basic,
    name "calls.create", path (), CreateRequest => CreateResponse
}

/// Parameters of `create`: the callee by id or email, the type by name or boolean.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_type: Option<CallType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_video_call: Option<bool>,
}

impl CreateRequest {
    /// The callee; `REQUEST_VARIABLE_MISSING` (`user_id`) when neither is given.
    pub fn target(&self) -> Result<CallTarget, ParamError> {
        CallTarget::from_params(self.user_id, self.recipient_email.as_deref())
    }

    /// `call_type`, else `is_video_call`, else video; both given and disagreeing is an error.
    pub fn call_type(&self) -> Result<CallType, ParamError> {
        match (
            self.call_type,
            self.is_video_call.map(CallType::from_is_video),
        ) {
            (Some(named), Some(flag)) if named != flag => Err(ParamError::Invalid {
                name: "is_video_call".into(),
                reason: format!("contradicts call_type {named}"),
            }),
            (Some(t), _) | (None, Some(t)) => Ok(t),
            (None, None) => Ok(CallType::default()),
        }
    }
}

/// The callee as `create` describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Recipient {
    pub user_id: UserId,
    pub full_name: String,
    pub email: String,
}

/// Response of `create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateResponse {
    pub call_id: CallId,
    /// The caller's own join URL.
    pub call_url: String,
    pub call_type: CallType,
    /// The Jitsi room name.
    pub room_name: String,
    /// The receiver has at least one live event queue.
    pub receiver_online: bool,
    pub recipient: Recipient,
    pub call: Call,
}

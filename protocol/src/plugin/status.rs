//! `GET calls/{call_id}/status`: one call as the plugin's mobile app reads it (1.1 dialect).

use serde::{Deserialize, Serialize};

use super::{PluginUser, whole_seconds};
use crate::call::{Call, CallState, CallStatus, CallType};
use crate::endpoint::{Empty, endpoint};
use crate::ids::{CallId, UserId};
use crate::time::Timestamp;

endpoint! {
    /// Fetches the call in the path, for either party.
    CallStatusById: Get "calls/{call_id}/status", auth Basic,
    name "calls.status_by_id", path CallId, Empty => CallStatusByIdResponse
}

/// Response of `{call_id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CallStatusByIdResponse {
    pub call: PluginCall,
}

/// The call as `{call_id}/status` shows it: the plugin's names (`caller_id`, `started_at`)
/// and both the app's `status` and the raw `state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PluginCall {
    pub call_id: CallId,
    pub caller_id: UserId,
    pub recipient_id: UserId,
    pub call_type: CallType,
    /// The state folded into the values the app knows ([`CallState::status`]).
    pub status: CallStatus,
    pub state: CallState,
    /// The bare room URL.
    pub jitsi_url: String,
    /// The requester's own join URL; `null` when the server gives none.
    pub call_url: Option<String>,
    /// `created_at` in Unix seconds.
    pub timestamp: i64,
    /// Whole seconds from answer to end; `null` when never answered or still going.
    #[serde(with = "whole_seconds")]
    #[schemars(with = "Option<u64>")]
    pub duration: Option<u64>,
    pub created_at: Timestamp,
    /// The design dialect's `answered_at`.
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub sender: PluginUser,
    pub receiver: PluginUser,
}

impl PluginCall {
    /// `call` as its party sees it, with that party's own join URL.
    pub fn new(call: &Call, call_url: Option<String>) -> Self {
        PluginCall {
            call_id: call.call_id,
            caller_id: call.sender_id,
            recipient_id: call.receiver_id,
            call_type: call.call_type,
            status: call.state.status(),
            state: call.state,
            jitsi_url: call.jitsi_url.clone(),
            call_url,
            timestamp: call.created_at.unix_seconds(),
            duration: call.duration.map(whole_seconds::from_f64),
            created_at: call.created_at,
            started_at: call.answered_at,
            ended_at: call.ended_at,
            sender: PluginUser::sender(call),
            receiver: PluginUser::receiver(call),
        }
    }
}

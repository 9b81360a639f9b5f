//! The 1.1 dialect's own endpoints (the released plugin's API, `spec/plugin-1.1-dialect.md`
//! §3), its views of the paths it shares with the design dialect, and its `call` events.
//!
//! Path-style routes (`calls/{call_id}/respond`, `/cancel`, `/end`, `/status`), `heartbeat`
//! and the group calls' routes ([`group`]) exist only in this dialect and are listed in
//! [`ENDPOINTS`]. `create`, `acknowledge` and
//! `history` share their paths with the design dialect: a router mounts them once (from
//! [`crate::calls::ENDPOINTS`]), and [`SHARED_ENDPOINTS`] describes how a 1.1 client sees them.

mod cancel;
mod create;
pub mod deployed_push;
mod end;
pub mod event;
pub mod group;
mod heartbeat;
mod history;
mod respond;
mod status;

pub use cancel::Cancel;
pub use create::{PluginCreate, PluginCreateResponse};
pub use end::{EndById, EndByIdRequest};
pub use event::{CallOp, CallOpDetail, CallOpEvent, CallOpExtras, CallOpReason, CallOpUser};
pub use heartbeat::{Heartbeat, HeartbeatRequest, HeartbeatResponse};
pub use history::{
    HistoryCursor, HistoryStart, HistoryStatus, PluginHistory, PluginHistoryCall,
    PluginHistoryRequest, PluginHistoryResponse, SharedHistory, SharedHistoryEntry,
    SharedHistoryRequest, SharedHistoryResponse,
};
pub use respond::{RespondById, RespondByIdRequest, RespondByIdResponse, RespondOutcome};
pub use status::{CallStatusById, CallStatusByIdResponse, PluginCall};

use serde::{Deserialize, Serialize};

use crate::call::Call;
use crate::endpoint::{EndpointInfo, info};
use crate::ids::UserId;

/// Every route only the 1.1 dialect has, in the order of its spec's tables (§3, then the
/// group calls of §6).
pub const ENDPOINTS: &[EndpointInfo] = &[
    info::<RespondById>(),
    info::<Cancel>(),
    info::<EndById>(),
    info::<CallStatusById>(),
    info::<Heartbeat>(),
    info::<group::GroupCreate>(),
    info::<group::GroupInvite>(),
    info::<group::GroupJoin>(),
    info::<group::GroupLeave>(),
    info::<group::GroupDecline>(),
    info::<group::GroupEnd>(),
    info::<group::GroupStatus>(),
    info::<group::GroupParticipants>(),
];

/// The 1.1 dialect's descriptors of the shared paths. Their routes are already in
/// [`crate::calls::ENDPOINTS`], so a router must not mount these a second time.
pub const SHARED_ENDPOINTS: &[EndpointInfo] = &[
    info::<PluginCreate>(),
    info::<crate::calls::Acknowledge>(),
    info::<PluginHistory>(),
];

/// What a server serving both dialects reads and answers on the shared paths where that
/// differs from both dialects' own descriptors (the OpenAPI document lists it as one more
/// alternative). Not to be mounted either.
pub const BOTH_DIALECTS_ENDPOINTS: &[EndpointInfo] = &[info::<SharedHistory>()];

/// The `message` of `respond`, `cancel`, `end` and `acknowledge` on a call that is already
/// over (they answer 200 and change nothing).
pub const ALREADY_ENDED: &str = "Call already ended";

/// A user's avatar as the plugin's mobile app asks for it: `/avatar/<id>`, relative to the
/// realm, so it works whatever host the app reached the server by.
pub fn avatar_path(user_id: UserId) -> String {
    format!("/avatar/{user_id}")
}

/// A party of a call as the 1.1 dialect's responses name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PluginUser {
    pub user_id: UserId,
    pub full_name: String,
    pub email: String,
}

impl PluginUser {
    /// The caller of `call`.
    pub fn sender(call: &Call) -> Self {
        PluginUser {
            user_id: call.sender_id,
            full_name: call.sender_name.clone(),
            email: call.sender_email.clone(),
        }
    }

    /// The callee of `call`.
    pub fn receiver(call: &Call) -> Self {
        PluginUser {
            user_id: call.receiver_id,
            full_name: call.receiver_name.clone(),
            email: call.receiver_email.clone(),
        }
    }
}

/// The body of `cancel`, `end` and the group calls' `leave`, `decline` and `end`: a sentence
/// and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MessageResponse {
    pub message: String,
}

impl MessageResponse {
    /// `cancel` withdrew the call.
    pub const CANCELLED: &'static str = "Call cancelled successfully";
    /// `end` ended the call (a group call's too).
    pub const ENDED: &'static str = "Call ended successfully";
    /// `group/{id}/leave` took the requester out of the group call.
    pub const LEFT: &'static str = "Left call successfully";
    /// `group/{id}/decline` refused the invitation.
    pub const DECLINED: &'static str = "Call declined";

    /// A response saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        MessageResponse {
            message: message.into(),
        }
    }
}

/// Serde for durations the 1.1 dialect gives in whole seconds, `null` when unknown.
///
/// Reading also takes a fractional number (rounded down), so a server that sends the design
/// dialect's float still parses.
pub(crate) mod whole_seconds {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

    /// The largest number of seconds an `f64` holds exactly (2^53).
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

    /// `seconds` rounded down; negative or non-finite values count as zero.
    pub fn from_f64(seconds: f64) -> u64 {
        // `as` saturates, so values beyond `u64::MAX` become `u64::MAX`.
        if seconds.is_finite() {
            seconds.max(0.0).floor() as u64
        } else {
            0
        }
    }

    pub fn serialize<S: Serializer>(value: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        value.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Option::<f64>::deserialize(d)? {
            None => Ok(None),
            Some(seconds) if seconds.is_finite() && (0.0..=MAX_EXACT).contains(&seconds) => {
                Ok(Some(from_f64(seconds)))
            }
            Some(seconds) => Err(de::Error::custom(format!(
                "expected a non-negative number of seconds, got {seconds}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_round_down_and_clamp() {
        assert_eq!(whole_seconds::from_f64(1795.9), 1795);
        assert_eq!(whole_seconds::from_f64(-3.0), 0);
        assert_eq!(whole_seconds::from_f64(f64::NAN), 0);
    }

    #[test]
    fn avatar_paths_are_relative() {
        assert_eq!(avatar_path(UserId(10)), "/avatar/10");
    }
}

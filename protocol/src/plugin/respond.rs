//! `POST calls/{call_id}/respond`: the receiver accepts or declines (1.1 dialect).

use serde::{Deserialize, Serialize, Serializer};

use crate::call::RespondAction;
use crate::endpoint::endpoint;
use crate::ids::CallId;
use crate::macros::string_enum;

endpoint! {
    /// Accept or decline the call in the path.
    RespondById: Post "calls/{call_id}/respond", auth Basic,
    name "calls.respond_by_id", path CallId, RespondByIdRequest => RespondByIdResponse
}

/// Parameters of `{call_id}/respond`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RespondByIdRequest {
    /// Read as `accept`, `decline` or `reject`; a refusal is sent as `decline`, the only word
    /// the released plugin knows for it.
    #[serde(serialize_with = "as_plugin_word")]
    pub response: RespondAction,
}

fn as_plugin_word<S: Serializer>(action: &RespondAction, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(RespondOutcome::from(*action).as_str())
}

string_enum! {
    /// What `{call_id}/respond` did.
    pub enum RespondOutcome {
        Accept = "accept",
        Decline = "decline",
        /// The call was already over; nothing changed.
        Noop = "noop",
    }
}

impl From<RespondAction> for RespondOutcome {
    fn from(action: RespondAction) -> Self {
        match action {
            RespondAction::Accept => RespondOutcome::Accept,
            RespondAction::Reject => RespondOutcome::Decline,
        }
    }
}

/// Response of `{call_id}/respond`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RespondByIdResponse {
    pub action: RespondOutcome,
    /// The receiver's own join URL on accept, else `null`.
    pub call_url: Option<String>,
    pub message: String,
}

impl RespondByIdResponse {
    /// The `message` of an accepted call.
    pub const ACCEPTED: &'static str = "Call accepted";
    /// The `message` of a declined call.
    pub const DECLINED: &'static str = "Call declined";

    /// The answer to an accept, with the receiver's join URL.
    pub fn accepted(call_url: impl Into<String>) -> Self {
        RespondByIdResponse {
            action: RespondOutcome::Accept,
            call_url: Some(call_url.into()),
            message: RespondByIdResponse::ACCEPTED.to_owned(),
        }
    }

    /// The answer to a decline.
    pub fn declined() -> Self {
        RespondByIdResponse {
            action: RespondOutcome::Decline,
            call_url: None,
            message: RespondByIdResponse::DECLINED.to_owned(),
        }
    }

    /// The answer on a call that is already over.
    pub fn noop() -> Self {
        RespondByIdResponse {
            action: RespondOutcome::Noop,
            call_url: None,
            message: super::ALREADY_ENDED.to_owned(),
        }
    }
}

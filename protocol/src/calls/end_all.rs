//! `POST calls/end-all`: ends every active call of the user.

use serde::{Deserialize, Serialize};

use crate::endpoint::{Empty, endpoint};

endpoint! {
    /// Ends all of the user's active calls (a panic button for stuck state).
    EndAll: Post "calls/end-all", auth Basic,
    name "calls.end_all", path (), Empty => EndAllResponse
}

/// Response of `end-all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EndAllResponse {
    /// `Ended N active calls`.
    pub message: String,
    pub calls_ended: u32,
}

impl EndAllResponse {
    /// The response for `calls_ended` calls.
    pub fn new(calls_ended: u32) -> Self {
        EndAllResponse {
            message: format!("Ended {calls_ended} active calls"),
            calls_ended,
        }
    }
}

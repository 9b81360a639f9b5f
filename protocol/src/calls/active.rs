//! `GET calls/active`: the user's calls that are still going.

use serde::{Deserialize, Serialize};

use crate::call::ActiveCall;
use crate::endpoint::{Empty, endpoint};

endpoint! {
    /// Lists the user's active calls (what a client resynchronises from).
    Active: Get "calls/active", auth Basic,
    name "calls.active", path (), Empty => ActiveResponse
}

/// Response of `active`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActiveResponse {
    pub active_calls: Vec<ActiveCall>,
    pub count: usize,
}

impl ActiveResponse {
    /// The response listing `active_calls`, with `count` derived from them.
    pub fn new(active_calls: Vec<ActiveCall>) -> Self {
        ActiveResponse {
            count: active_calls.len(),
            active_calls,
        }
    }
}

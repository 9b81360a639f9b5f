//! `GET calls/history`: the user's calls, newest first, paged.

use serde::{Deserialize, Serialize};

use crate::call::{CallState, CallType, HistoryEntry};
use crate::endpoint::endpoint;
use crate::params::ParamError;

endpoint! {
    /// Pages through the user's past and present calls.
    History: Get "calls/history", auth Basic,
    name "calls.history", path (), HistoryRequest => HistoryResponse
}

/// Parameters of `history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryRequest {
    /// 1..=200, default 50.
    #[serde(default = "HistoryRequest::default_limit")]
    pub limit: u32,
    #[serde(default)]
    pub offset: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_type: Option<CallType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<CallState>,
}

impl Default for HistoryRequest {
    fn default() -> Self {
        HistoryRequest {
            limit: HistoryRequest::DEFAULT_LIMIT,
            offset: 0,
            call_type: None,
            state: None,
        }
    }
}

impl HistoryRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    fn default_limit() -> u32 {
        HistoryRequest::DEFAULT_LIMIT
    }

    /// Checks the ranges the contract sets.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(1..=HistoryRequest::MAX_LIMIT).contains(&self.limit) {
            return Err(ParamError::Invalid {
                name: "limit".into(),
                reason: format!("must be between 1 and {}", HistoryRequest::MAX_LIMIT),
            });
        }
        Ok(())
    }
}

/// Response of `history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryResponse {
    pub calls: Vec<HistoryEntry>,
    /// More calls exist past this page. Always sent by this contract; absent in the design
    /// document's plugin version (see [`Self::more_after`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
    /// Calls matching the filters, over all pages (absent from older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

impl HistoryResponse {
    /// Whether another page may follow a page asked for with `limit`: `has_more` when the
    /// server says, else a full page suggests more.
    pub fn more_after(&self, limit: u32) -> bool {
        self.has_more
            .unwrap_or(self.calls.len() >= usize::try_from(limit).unwrap_or(usize::MAX))
    }
}

//! `GET calls/history` in the 1.1 dialect (cursor-paged, `status` filter), and the combined
//! parameters and answer of a server that serves both dialects on that one path.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};

use super::{PluginUser, whole_seconds};
use crate::call::{Call, CallState, CallType};
use crate::calls::HistoryRequest;
use crate::dialect::Dialect;
use crate::endpoint::endpoint;
use crate::ids::{CallId, UserId};
use crate::macros::string_enum;
use crate::params::ParamError;
use crate::time::Timestamp;

endpoint! {
    /// Pages through the user's calls, newest first, by cursor. Same route, hence same name,
    /// as [`crate::calls::History`].
    PluginHistory: Get "calls/history", auth Basic,
    name "calls.history", path (), PluginHistoryRequest => PluginHistoryResponse
}

/// Where a page of history ends, as `next_cursor` gives it and `cursor` takes it back.
///
/// Opaque to clients. Servers write base64 (standard alphabet, padded) of
/// `"<created_at>_<call_id>"`, as the plugin does, with `created_at` in RFC 3339 UTC with
/// exactly three fractional digits (`2024-01-01T12:00:05.250Z`): servers keep times to the
/// millisecond, so the position survives the round trip exactly. Reading is lenient: any
/// RFC 3339 offset or precision, and the URL-safe alphabet or missing padding, are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct HistoryCursor(pub String);

/// Base64 decoding that does not care about padding (a cursor may lose it on the way).
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

impl HistoryCursor {
    /// The cursor of the position of a call created at `created_at` with id `call_id`.
    pub fn encode(created_at: Timestamp, call_id: CallId) -> Self {
        let time = created_at.0.to_rfc3339_opts(SecondsFormat::Millis, true);
        HistoryCursor(STANDARD.encode(format!("{time}_{call_id}")))
    }

    /// The position this cursor names; a `BAD_REQUEST` naming `cursor` when it names none.
    pub fn decode(&self) -> Result<(Timestamp, CallId), ParamError> {
        let invalid = || ParamError::Invalid {
            name: "cursor".to_owned(),
            reason: "not a cursor this server gave (pass next_cursor back unchanged)".to_owned(),
        };
        let raw = self.0.trim();
        let bytes = LENIENT_STANDARD
            .decode(raw)
            .or_else(|_| LENIENT_URL_SAFE.decode(raw))
            .map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (created_at, call_id) = text.rsplit_once('_').ok_or_else(invalid)?;
        let created_at = created_at.parse().map_err(|_| invalid())?;
        let call_id = call_id.parse().map_err(|_| invalid())?;
        Ok((created_at, call_id))
    }

    /// Whether a call at (`created_at`, `call_id`) comes after `position` in history's order:
    /// newest first, and among calls created at the same time, the greater id first.
    pub fn comes_after(
        position: (Timestamp, CallId),
        created_at: Timestamp,
        call_id: CallId,
    ) -> bool {
        (created_at, call_id) < position
    }

    /// The cursor as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HistoryCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

string_enum! {
    /// The 1.1 dialect's history filter.
    pub enum HistoryStatus {
        /// Rang out unanswered (`missed`).
        Missed = "missed",
        /// Answered: `accepted` or `ended`.
        Answered = "answered",
    }
}

impl HistoryStatus {
    /// Whether a call in `state` passes this filter.
    pub const fn matches(self, state: CallState) -> bool {
        match self {
            HistoryStatus::Missed => matches!(state, CallState::Missed),
            HistoryStatus::Answered => matches!(state, CallState::Accepted | CallState::Ended),
        }
    }
}

/// Checks `limit` against `1..=max`.
fn check_limit(limit: u32, max: u32) -> Result<(), ParamError> {
    if (1..=max).contains(&limit) {
        Ok(())
    } else {
        Err(ParamError::Invalid {
            name: "limit".into(),
            reason: format!("must be between 1 and {max}"),
        })
    }
}

/// Parameters of `history` in the 1.1 dialect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PluginHistoryRequest {
    /// 1..=100, default 50.
    #[serde(default = "PluginHistoryRequest::default_limit")]
    pub limit: u32,
    /// The previous page's `next_cursor`; absent for the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<HistoryCursor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_type: Option<CallType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<HistoryStatus>,
}

impl Default for PluginHistoryRequest {
    fn default() -> Self {
        PluginHistoryRequest {
            limit: PluginHistoryRequest::DEFAULT_LIMIT,
            cursor: None,
            call_type: None,
            status: None,
        }
    }
}

impl PluginHistoryRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 100;

    fn default_limit() -> u32 {
        PluginHistoryRequest::DEFAULT_LIMIT
    }

    /// Checks the limit's range and that the cursor decodes.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_limit(self.limit, PluginHistoryRequest::MAX_LIMIT)?;
        self.after().map(|_| ())
    }

    /// The position the page starts after, if a cursor was given.
    pub fn after(&self) -> Result<Option<(Timestamp, CallId)>, ParamError> {
        self.cursor.as_ref().map(HistoryCursor::decode).transpose()
    }
}

/// One call in the 1.1 dialect's history, as the requesting user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PluginHistoryCall {
    pub call_id: CallId,
    pub call_type: CallType,
    pub state: CallState,
    /// The requesting user placed this call.
    pub was_initiator: bool,
    pub other_user: PluginUser,
    pub created_at: Timestamp,
    /// The design dialect's `answered_at`.
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    /// Whole seconds from answer to end; `null` when never answered.
    #[serde(with = "whole_seconds")]
    #[schemars(with = "Option<u64>")]
    pub duration_seconds: Option<u64>,
}

impl PluginHistoryCall {
    /// `call` as `viewer` (one of its parties) sees it.
    pub fn new(call: &Call, viewer: UserId) -> Self {
        let was_initiator = viewer == call.sender_id;
        PluginHistoryCall {
            call_id: call.call_id,
            call_type: call.call_type,
            state: call.state,
            was_initiator,
            other_user: if was_initiator {
                PluginUser::receiver(call)
            } else {
                PluginUser::sender(call)
            },
            created_at: call.created_at,
            started_at: call.answered_at,
            ended_at: call.ended_at,
            duration_seconds: call.duration.map(whole_seconds::from_f64),
        }
    }

    /// The cursor of this call's position.
    pub fn cursor(&self) -> HistoryCursor {
        HistoryCursor::encode(self.created_at, self.call_id)
    }
}

/// Response of `history` in the 1.1 dialect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PluginHistoryResponse {
    pub calls: Vec<PluginHistoryCall>,
    pub has_more: bool,
    /// The cursor of the next page; `null` on the last one.
    pub next_cursor: Option<HistoryCursor>,
}

impl PluginHistoryResponse {
    /// A page of `calls`, with the cursor after its last call when `has_more`.
    pub fn new(calls: Vec<PluginHistoryCall>, has_more: bool) -> Self {
        let next_cursor = if has_more {
            calls.last().map(PluginHistoryCall::cursor)
        } else {
            None
        };
        PluginHistoryResponse {
            calls,
            has_more,
            next_cursor,
        }
    }
}

endpoint! {
    /// `history` on a server that serves both dialects: either dialect's parameters, and
    /// entries with both dialects' fields. Same route, hence same name, as
    /// [`crate::calls::History`].
    SharedHistory: Get "calls/history", auth Basic,
    name "calls.history", path (), SharedHistoryRequest => SharedHistoryResponse
}

/// Parameters of `history` on a server that serves both dialects: either dialect's names
/// (`offset` or `cursor`, `state` or `status`), `limit` up to the design dialect's 200.
///
/// [`HistoryRequest`] and [`PluginHistoryRequest`] stay the exact parameters of one dialect
/// each (a client sends one of them); a server decodes this instead and asks [`Self::start`]
/// where the page begins. Both filters may be given; a call must then pass both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SharedHistoryRequest {
    /// 1..=200, default 50.
    #[serde(default = "SharedHistoryRequest::default_limit")]
    pub limit: u32,
    /// The design dialect's position: calls to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    /// The 1.1 dialect's position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<HistoryCursor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_type: Option<CallType>,
    /// The design dialect's filter: one raw state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<CallState>,
    /// The 1.1 dialect's filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<HistoryStatus>,
}

/// Where a page of history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryStart {
    /// Skip this many calls (the design dialect; `0` is the first page).
    Offset(u32),
    /// Only calls after this position ([`HistoryCursor::comes_after`]).
    After {
        created_at: Timestamp,
        call_id: CallId,
    },
}

impl Default for SharedHistoryRequest {
    fn default() -> Self {
        SharedHistoryRequest {
            limit: HistoryRequest::DEFAULT_LIMIT,
            offset: None,
            cursor: None,
            call_type: None,
            state: None,
            status: None,
        }
    }
}

impl SharedHistoryRequest {
    /// The larger of the two dialects' maximums.
    pub const MAX_LIMIT: u32 = HistoryRequest::MAX_LIMIT;

    fn default_limit() -> u32 {
        HistoryRequest::DEFAULT_LIMIT
    }

    /// Checks the limit's range and the position ([`Self::start`]).
    pub fn validate(&self) -> Result<(), ParamError> {
        check_limit(self.limit, SharedHistoryRequest::MAX_LIMIT)?;
        self.start().map(|_| ())
    }

    /// Where the page starts. A cursor that does not decode, or a cursor together with an
    /// offset (no client of either dialect sends both, so the request is ambiguous), is a
    /// `BAD_REQUEST` naming `cursor`.
    pub fn start(&self) -> Result<HistoryStart, ParamError> {
        match (&self.cursor, self.offset) {
            (Some(_), Some(_)) => Err(ParamError::Invalid {
                name: "cursor".into(),
                reason: "cannot be combined with offset".into(),
            }),
            (Some(cursor), None) => {
                let (created_at, call_id) = cursor.decode()?;
                Ok(HistoryStart::After {
                    created_at,
                    call_id,
                })
            }
            (None, offset) => Ok(HistoryStart::Offset(offset.unwrap_or(0))),
        }
    }

    /// Whether a call of `call_type` in `state` passes every filter given.
    pub fn admits(&self, call_type: CallType, state: CallState) -> bool {
        self.call_type.is_none_or(|t| t == call_type)
            && self.state.is_none_or(|s| s == state)
            && self.status.is_none_or(|s| s.matches(state))
    }

    /// The dialect whose own parameters the request used, if it used any: `cursor` or
    /// `status` say 1.1, `offset` or `state` say design (1.1 wins when both appear).
    pub fn dialect(&self) -> Option<Dialect> {
        if self.cursor.is_some() || self.status.is_some() {
            Some(Dialect::V1_1)
        } else if self.offset.is_some() || self.state.is_some() {
            Some(Dialect::Design)
        } else {
            None
        }
    }
}

impl From<HistoryRequest> for SharedHistoryRequest {
    fn from(request: HistoryRequest) -> Self {
        SharedHistoryRequest {
            limit: request.limit,
            offset: Some(request.offset),
            cursor: None,
            call_type: request.call_type,
            state: request.state,
            status: None,
        }
    }
}

impl From<PluginHistoryRequest> for SharedHistoryRequest {
    fn from(request: PluginHistoryRequest) -> Self {
        SharedHistoryRequest {
            limit: request.limit,
            offset: None,
            cursor: request.cursor,
            call_type: request.call_type,
            state: None,
            status: request.status,
        }
    }
}

/// One call in the answer of a server that serves both dialects: the fields of both
/// dialects' entries, so either dialect's client reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SharedHistoryEntry {
    pub call_id: CallId,
    pub call_type: CallType,
    pub state: CallState,
    pub created_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// Design: the other party's id.
    pub user_id: UserId,
    /// Design: the other party's name.
    pub user_name: String,
    /// Design: the requesting user placed this call.
    pub is_outgoing: bool,
    pub answered_at: Option<Timestamp>,
    /// Design: seconds (with fractions) from answer to end.
    pub duration: Option<f64>,
    /// 1.1: the requesting user placed this call.
    pub was_initiator: bool,
    /// 1.1: the other party.
    pub other_user: PluginUser,
    /// 1.1: the answer time (`answered_at`).
    pub started_at: Option<Timestamp>,
    /// 1.1: whole seconds from answer to end.
    #[serde(with = "whole_seconds")]
    #[schemars(with = "Option<u64>")]
    pub duration_seconds: Option<u64>,
}

impl SharedHistoryEntry {
    /// `call` as `viewer` (one of its parties) sees it.
    pub fn new(call: &Call, viewer: UserId) -> Self {
        let design = call.to_history(viewer);
        let plugin = PluginHistoryCall::new(call, viewer);
        SharedHistoryEntry {
            call_id: call.call_id,
            call_type: call.call_type,
            state: call.state,
            created_at: call.created_at,
            ended_at: call.ended_at,
            user_id: design.user_id,
            user_name: design.user_name,
            is_outgoing: design.is_outgoing,
            answered_at: design.answered_at,
            duration: design.duration,
            was_initiator: plugin.was_initiator,
            other_user: plugin.other_user,
            started_at: plugin.started_at,
            duration_seconds: plugin.duration_seconds,
        }
    }
}

/// The answer of `history` on a server that serves both dialects: both dialects' fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SharedHistoryResponse {
    pub calls: Vec<SharedHistoryEntry>,
    pub has_more: bool,
    /// Design: calls matching the filters, over all pages.
    pub total: u64,
    /// 1.1: the cursor of the next page; `null` on the last one.
    pub next_cursor: Option<HistoryCursor>,
}

impl SharedHistoryResponse {
    /// A page of `calls` out of `total`, with the cursor after its last call when `has_more`.
    pub fn new(calls: Vec<SharedHistoryEntry>, has_more: bool, total: u64) -> Self {
        let next_cursor = if has_more {
            calls
                .last()
                .map(|last| HistoryCursor::encode(last.created_at, last.call_id))
        } else {
            None
        };
        SharedHistoryResponse {
            calls,
            has_more,
            total,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis).unwrap()
    }

    #[test]
    fn cursors_keep_their_position_to_the_millisecond() {
        let id: CallId = "7f1e5a52-3c9b-4d2e-8f6a-9b0c1d2e3f40".parse().unwrap();
        let cursor = HistoryCursor::encode(at(1_704_110_405_250), id);
        assert_eq!(cursor.decode().unwrap(), (at(1_704_110_405_250), id));
        let whole = HistoryCursor::encode(at(1_704_110_405_000), id);
        assert_eq!(whole.decode().unwrap().0, at(1_704_110_405_000));
    }

    #[test]
    fn cursors_are_read_without_padding_and_in_the_url_safe_alphabet() {
        let id: CallId = "7f1e5a52-3c9b-4d2e-8f6a-9b0c1d2e3f40".parse().unwrap();
        let cursor = HistoryCursor::encode(at(1_704_110_405_250), id);
        let bare = HistoryCursor(cursor.0.trim_end_matches('=').to_owned());
        assert_eq!(bare.decode().unwrap(), cursor.decode().unwrap());
        let url_safe = HistoryCursor(cursor.0.replace('+', "-").replace('/', "_"));
        assert_eq!(url_safe.decode().unwrap(), cursor.decode().unwrap());
    }

    #[test]
    fn order_is_newest_first_then_greater_id() {
        let low: CallId = "00000000-0000-4000-8000-000000000001".parse().unwrap();
        let high: CallId = "ffffffff-ffff-4fff-bfff-ffffffffffff".parse().unwrap();
        let position = (at(2_000), high);
        assert!(HistoryCursor::comes_after(position, at(1_000), high));
        assert!(HistoryCursor::comes_after(position, at(2_000), low));
        assert!(!HistoryCursor::comes_after(position, at(2_000), high));
        assert!(!HistoryCursor::comes_after(position, at(3_000), low));
    }

    #[test]
    fn answered_means_accepted_or_ended() {
        let answered: Vec<_> = CallState::ALL
            .iter()
            .filter(|s| HistoryStatus::Answered.matches(**s))
            .collect();
        assert_eq!(answered, [&CallState::Accepted, &CallState::Ended]);
        assert!(HistoryStatus::Missed.matches(CallState::Missed));
        assert!(!HistoryStatus::Missed.matches(CallState::Timeout));
    }
}

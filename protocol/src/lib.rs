//! The wire contract of the Zulip Calls Plugin, as Rust types.
//!
//! A call is placed with one of `calls/initiate`, `calls/start` or `calls/create`, rings the
//! receiver's devices (`call_started` event, push notification), is acknowledged
//! (`calls/acknowledge` → `participant_ringing`), answered (`calls/respond` → `call_accepted` or
//! `call_rejected`), reported on while it runs (`calls/status` → `call_status_update`) and ended
//! (`calls/end`, `calls/end-all`, or a server deadline → `call_ended`). Both parties then meet
//! in a Jitsi room whose join URLs are built per participant.
//!
//! Map of the crate:
//! - [`ids`], [`time`]: typed identifiers and timestamps;
//! - [`call`]: the call object and its enumerations; [`machine`]: the state machine;
//! - [`endpoint`]: the descriptor every route implements; [`calls`] and [`zulip`]: the routes;
//!   [`plugin`]: the 1.1 dialect's own routes, its views of the shared ones, its `call`
//!   events, and its group calls ([`plugin::group`]); [`dialect`]: the two dialects and which
//!   a server serves;
//! - [`envelope`]: success and error bodies, error codes; [`params`]: lenient parameter
//!   decoding for servers;
//! - [`event`]: queue events and WebSocket frames; [`push`]: FCM and APNs payloads;
//!   [`jitsi`]: room names, join URLs, JWT claims; [`settings`]: server settings and defaults;
//! - [`openapi`]: the OpenAPI document, built from the descriptors.
//!
//! The contract itself is `spec/calls-api.md` in the project's shared documents; the released
//! plugin's 1.1 dialect, which this crate speaks too, is `spec/plugin-1.1-dialect.md`.

mod macros;

pub mod call;
pub mod calls;
pub mod dialect;
pub mod endpoint;
pub mod envelope;
pub mod event;
pub mod ids;
pub mod jitsi;
pub mod machine;
pub mod openapi;
pub mod params;
pub mod plugin;
pub mod push;
pub mod settings;
pub mod time;
pub mod zulip;

pub use call::{
    ActiveCall, Call, CallState, CallStatus, CallType, EndReason, HistoryEntry, MediaState,
    MediaStatus, Party, RespondAction,
};
pub use dialect::{CallsApi, Compat, Dialect};
pub use endpoint::{Auth, Endpoint, EndpointInfo, Verb};
pub use envelope::{ApiError, DecodeError, ErrorCode, Success};
pub use event::{
    CallEvent, CallEventDetail, CallEventType, CallOp, CallOpDetail, CallOpEvent, EventKind,
    QueueEvent,
};
pub use ids::{CallId, EventId, QueueId, StreamId, UserId};
pub use machine::{Action, Actor, Outcome, TransitionError, transition};
pub use params::{ParamError, Params};
pub use time::Timestamp;

/// A string that is not one of an enumeration's wire values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?} (expected one of: {})", expected.join(", "))]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

//! Why a call operation failed, in the core's own terms. Each API dialect renders these as
//! its wire errors (the design dialect: `api::error`), so one failure can read differently on
//! two wires without the core knowing either.

use zulip_calls_protocol::{Action, CallId, CallState, CallType};

use super::store::StoreError;

/// What a call operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The server does not allow calls of this type.
    #[error("{0} calls are disabled")]
    CallTypeDisabled(CallType),
    /// The callee does not exist, is in another realm or is deactivated.
    #[error("no such user")]
    UserNotFound,
    #[error("a user cannot call themselves")]
    CannotCallSelf,
    /// The caller is already in `existing`; `calling_you` when that is the callee's
    /// unanswered call to the caller (both called each other at once).
    #[error("the caller is already in call {existing}")]
    CallerBusy { existing: CallId, calling_you: bool },
    /// The caller's call `existing` ended less than the redial cooldown ago; a new one may be
    /// placed in `retry_after` seconds.
    #[error("the caller's call {existing} ended too recently")]
    RedialCooldown { existing: CallId, retry_after: f64 },
    /// The callee, named, is in another call (whose id is not theirs to learn).
    #[error("{name} is in another call")]
    UserBusy { name: String },
    /// No such call, or one in another realm.
    #[error("call not found")]
    CallNotFound,
    /// The user is not a party of the call.
    #[error("not a participant of this call")]
    NotAParticipant,
    /// The state machine allows `action` only to another party.
    #[error("only the {} can {} this call", needed_party(*.action), .action.verb())]
    NotAllowed { action: Action },
    /// The call's state does not allow `action`.
    #[error("cannot {} call in state: {state}", .action.verb())]
    InvalidState { action: Action, state: CallState },
    /// A media status update came without a status.
    #[error("missing media status")]
    MissingStatus,
    /// The store failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Who may take `action`, in words.
pub fn needed_party(action: Action) -> &'static str {
    match action {
        Action::Acknowledge | Action::Accept | Action::Reject => "receiver",
        Action::Cancel => "caller",
        Action::End | Action::Status => "sender or receiver",
        Action::RingTimeout
        | Action::NotificationTimeout
        | Action::MaxDuration
        | Action::HeartbeatLost => "server",
        Action::Cleanup => "operator",
    }
}

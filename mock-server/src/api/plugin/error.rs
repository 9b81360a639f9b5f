//! The 1.1 dialect's words for a failed call operation, where they differ from the design
//! dialect's (spec 1.1 §3).

use zulip_calls_protocol::{ApiError, Dialect};

use crate::api::error::ServerError;
use crate::core::CallError;
use crate::core::group::GroupError;

/// `err` as a server speaking `dialect` words it (`None`: one speaking both, which uses the
/// design dialect's words; both dialects' clients read the code).
pub fn in_dialect(dialect: Option<Dialect>, err: CallError) -> ServerError {
    match (dialect, err) {
        (
            Some(Dialect::V1_1),
            CallError::CallerBusy {
                existing,
                calling_you,
            },
        ) => {
            let mut api = ApiError::caller_busy(existing);
            api.calling_you = calling_you.then_some(true);
            api.msg = "You are already in a call".to_owned();
            api.with_message().into()
        }
        (_, err) => err.into(),
    }
}

/// A group call operation's failure (spec 1.1 §6): the protocol's refusals as they are, a
/// busy user in the 1.1 dialect's words.
impl From<GroupError> for ServerError {
    fn from(err: GroupError) -> Self {
        match err {
            GroupError::Refused(refusal) => match refusal.param_error() {
                Some(param) => param.into(),
                None => refusal.api_error().into(),
            },
            GroupError::CallTypeDisabled(call_type) => {
                CallError::CallTypeDisabled(call_type).into()
            }
            GroupError::Busy { existing } => in_dialect(
                Some(Dialect::V1_1),
                CallError::CallerBusy {
                    existing,
                    calling_you: false,
                },
            ),
            GroupError::Store(err) => ServerError::Store(err),
        }
    }
}

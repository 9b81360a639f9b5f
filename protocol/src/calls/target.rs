//! Who to call: `user_id` or `recipient_email` (`initiate`, `create`).

use crate::ids::UserId;
use crate::params::ParamError;

/// The callee as the request named them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallTarget {
    Id(UserId),
    /// Compared case-insensitively, as Zulip compares emails.
    Email(String),
}

impl CallTarget {
    /// `user_id` wins when both are given (it is unambiguous); one of them is required.
    pub(crate) fn from_params(
        user_id: Option<UserId>,
        recipient_email: Option<&str>,
    ) -> Result<Self, ParamError> {
        match (user_id, recipient_email) {
            (Some(id), _) => Ok(CallTarget::Id(id)),
            (None, Some(email)) if !email.trim().is_empty() => {
                Ok(CallTarget::Email(email.trim().to_owned()))
            }
            (None, Some(_)) => Err(ParamError::Invalid {
                name: "recipient_email".into(),
                reason: "must not be empty".into(),
            }),
            (None, None) => Err(ParamError::Missing("user_id".into())),
        }
    }
}

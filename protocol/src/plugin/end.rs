//! `POST calls/{call_id}/end`: either party ends the call, whatever its state (1.1 dialect).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::MessageResponse;
use crate::endpoint::endpoint;
use crate::ids::CallId;

endpoint! {
    /// Ends the call in the path; on a call already over it answers [`super::ALREADY_ENDED`].
    EndById: Post "calls/{call_id}/end", auth Basic,
    name "calls.end_by_id", path CallId, EndByIdRequest => MessageResponse
}

/// Parameters of `{call_id}/end`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EndByIdRequest {
    /// The client's own count of seconds in the call. Servers ignore it: the duration is
    /// derived from the stored answer and end times, which a client cannot forge. So a value
    /// that is not a finite number reads as absent rather than failing the hang-up.
    #[serde(
        default,
        deserialize_with = "finite_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<f64>,
}

fn finite_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let seconds = match Value::deserialize(d)? {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    Ok(seconds.filter(|s: &f64| s.is_finite()))
}

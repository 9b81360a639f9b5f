//! `POST calls/{call_id}/cancel`: the caller withdraws a call not yet answered (1.1 dialect).

use super::MessageResponse;
use crate::endpoint::{Empty, endpoint};
use crate::ids::CallId;

endpoint! {
    /// Withdraws the call in the path; on a call already over it answers [`super::ALREADY_ENDED`].
    Cancel: Post "calls/{call_id}/cancel", auth Basic,
    name "calls.cancel", path CallId, Empty => MessageResponse
}

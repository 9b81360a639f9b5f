//! `POST calls/create` as the 1.1 dialect answers it: the design response without `call`.

use serde::{Deserialize, Serialize};

use crate::call::CallType;
use crate::calls::{CreateRequest, CreateResponse, Recipient};
use crate::endpoint::endpoint;
use crate::ids::CallId;

endpoint! {
    /// Creates a call; a 1.1 server sends no `call` object, so a 1.1 client reads this. Same
    /// route, hence same name, as [`crate::calls::Create`].
    PluginCreate: Post "calls/create", auth Basic,
    name "calls.create", path (), CreateRequest => PluginCreateResponse
}

/// Response of `create` on a server that speaks only the 1.1 dialect. It also reads the
/// design (and union) response, whose extra `call` it ignores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PluginCreateResponse {
    pub call_id: CallId,
    /// The caller's own join URL.
    pub call_url: String,
    pub call_type: CallType,
    /// The Jitsi room name.
    pub room_name: String,
    /// The receiver has at least one live event queue.
    pub receiver_online: bool,
    pub recipient: Recipient,
}

impl From<CreateResponse> for PluginCreateResponse {
    fn from(response: CreateResponse) -> Self {
        PluginCreateResponse {
            call_id: response.call_id,
            call_url: response.call_url,
            call_type: response.call_type,
            room_name: response.room_name,
            receiver_online: response.receiver_online,
            recipient: response.recipient,
        }
    }
}

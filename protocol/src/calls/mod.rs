//! The plugin's endpoints under `/api/v1/calls/` (spec §4), one module each.

mod acknowledge;
mod active;
mod cleanup;
mod create;
mod end;
mod end_all;
mod get_call;
mod history;
mod initiate;
mod respond;
mod start;
mod status;
mod target;

pub use acknowledge::{AckStatus, Acknowledge, AcknowledgeRequest, AcknowledgeResponse};
pub use active::{Active, ActiveResponse};
pub use cleanup::{Cleanup, CleanupRequest, CleanupResponse};
pub use create::{Create, CreateRequest, CreateResponse, Recipient};
pub use end::{End, EndRequest, EndResponse};
pub use end_all::{EndAll, EndAllResponse};
pub use get_call::{CallDetail, GetCall, GetCallResponse};
pub use history::{History, HistoryRequest, HistoryResponse};
pub use initiate::{Initiate, InitiateRequest, InitiateResponse};
pub use respond::{Respond, RespondRequest, RespondResponse};
pub use start::{Start, StartRequest, StartResponse};
pub use status::{Status, StatusRequest, StatusResponse};
pub use target::CallTarget;

use crate::macros::string_enum;

string_enum! {
    /// The constant `status: "ok"` of several call responses.
    pub enum OkStatus {
        Ok = "ok",
    }
}

/// Every endpoint of this module, in the order of spec §4.
pub const ENDPOINTS: &[crate::endpoint::EndpointInfo] = {
    use crate::endpoint::info;
    &[
        info::<Initiate>(),
        info::<Start>(),
        info::<Create>(),
        info::<Acknowledge>(),
        info::<Respond>(),
        info::<Status>(),
        info::<End>(),
        info::<EndAll>(),
        info::<Active>(),
        info::<History>(),
        info::<GetCall>(),
        info::<Cleanup>(),
    ]
};

//! Group calls, which only the 1.1 dialect has (`spec/plugin-1.1-dialect.md` §6): a host opens
//! a call in a Jitsi room of its own, invites users who each ring, join, decline, leave or
//! miss it on their own, and ends it for all.
//!
//! - [`model`]: the call, its participants and their states;
//! - [`machine`]: the rules, as pure functions (the participant table, what an ended call
//!   answers, each refusal's error);
//! - [`endpoints`]: the eight routes below `calls/group/` (listed in
//!   [`crate::plugin::ENDPOINTS`]), with [`user_ids`] read in every form clients send;
//! - [`event`]: `group_call` queue events; [`push`]: the invitation and its cancellation.
//!
//! Joined participants heartbeat through the 1:1 route, [`crate::plugin::Heartbeat`], with the
//! group call's id.

pub mod endpoints;
pub mod event;
pub mod machine;
pub mod model;
pub mod push;
pub mod user_ids;

pub use endpoints::{
    GroupCallStatus, GroupCreate, GroupCreateRequest, GroupCreateResponse, GroupDecline, GroupEnd,
    GroupInvite, GroupInviteRequest, GroupInviteResponse, GroupJoin, GroupJoinResponse, GroupLeave,
    GroupParticipants, GroupParticipantsResponse, GroupStatus, GroupStatusResponse,
};
pub use event::{
    GroupCallDetail, GroupCallEvent, GroupCallOp, GroupEndReason, GroupEventParticipant,
    GroupLeftReason,
};
pub use machine::{
    CallGate, GroupRefusal, GroupRequest, ParticipantAction, ParticipantOutcome, call_gate,
    participant_transition,
};
pub use model::{
    GROUP_MAX_PARTICIPANTS, GROUP_ROOM_PREFIX, GroupCall, GroupCallState, GroupParticipant,
    GroupUser, ParticipantState, is_group_room_name, joined_count, new_group_room_name,
};
pub use push::{DEFAULT_GROUP_TITLE, GroupPushContext, GroupPushData, GroupPushKind, group_alert};
pub use user_ids::{BadUserIds, UserIds};

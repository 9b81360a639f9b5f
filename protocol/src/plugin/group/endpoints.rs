//! The eight routes of group calls (the 1.1 spec's §6 table), below `calls/group/`.
//!
//! The call id is in the path of all but `create`; the only body parameters are `create`'s
//! and `invite`'s. Who may call each, and what an ended call answers, is in
//! [`super::machine`].

use serde::{Deserialize, Serialize};

use super::model::{GroupCall, GroupCallState, GroupParticipant, GroupUser, joined_count};
use super::user_ids::UserIds;
use crate::call::CallType;
use crate::endpoint::{Empty, endpoint};
use crate::ids::{CallId, StreamId};
use crate::plugin::MessageResponse;
use crate::time::Timestamp;

endpoint! {
    /// Opens a group call with the requester as its (joined) host, inviting `user_ids`.
    GroupCreate: Post "calls/group/create", auth Basic,
    name "calls.group.create", path (), GroupCreateRequest => GroupCreateResponse
}

endpoint! {
    /// Invites more users; only a joined participant may.
    GroupInvite: Post "calls/group/{call_id}/invite", auth Basic,
    name "calls.group.invite", path CallId, GroupInviteRequest => GroupInviteResponse
}

endpoint! {
    /// Joins the call: any participant not already in it, while it is open and not full.
    GroupJoin: Post "calls/group/{call_id}/join", auth Basic,
    name "calls.group.join", path CallId, Empty => GroupJoinResponse
}

endpoint! {
    /// Leaves the call; the call goes on without the leaver (the host included).
    GroupLeave: Post "calls/group/{call_id}/leave", auth Basic,
    name "calls.group.leave", path CallId, Empty => MessageResponse
}

endpoint! {
    /// Declines an open invitation.
    GroupDecline: Post "calls/group/{call_id}/decline", auth Basic,
    name "calls.group.decline", path CallId, Empty => MessageResponse
}

endpoint! {
    /// Ends the call for everyone; the host only.
    GroupEnd: Post "calls/group/{call_id}/end", auth Basic,
    name "calls.group.end", path CallId, Empty => MessageResponse
}

endpoint! {
    /// The call as a participant sees it, open or ended.
    GroupStatus: Get "calls/group/{call_id}/status", auth Basic,
    name "calls.group.status", path CallId, Empty => GroupStatusResponse
}

endpoint! {
    /// Every participant and their state.
    GroupParticipants: Get "calls/group/{call_id}/participants", auth Basic,
    name "calls.group.participants", path CallId, Empty => GroupParticipantsResponse
}

/// Parameters of `group/create`. Each has a default, but a call needs at least one valid
/// invitee: nobody valid to invite is a `BAD_REQUEST` naming `user_ids` (spec 1.1 §6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupCreateRequest {
    /// Video when absent; anything but `video`/`audio` is a `BAD_REQUEST` naming `call_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_type: Option<CallType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "UserIds::is_empty")]
    pub user_ids: UserIds,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<StreamId>,
    /// Kept only together with `stream_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl GroupCreateRequest {
    /// The call type, video by default.
    pub fn call_type(&self) -> CallType {
        self.call_type.unwrap_or_default()
    }

    /// The title trimmed; `None` when absent or blank (the call then has none, as in the
    /// plugin).
    pub fn title(&self) -> Option<&str> {
        non_blank(self.title.as_deref())
    }

    /// The topic trimmed; `None` without a `stream_id` (a topic belongs to a stream) or when
    /// blank.
    pub fn topic(&self) -> Option<&str> {
        self.stream_id.and(non_blank(self.topic.as_deref()))
    }
}

fn non_blank(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// Response of `group/create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupCreateResponse {
    pub call_id: CallId,
    /// The host's own join URL.
    pub call_url: String,
    pub call_type: CallType,
    #[serde(default)]
    pub title: Option<String>,
    /// The Jitsi room name.
    pub room_name: String,
    pub host: GroupUser,
    /// How many users were invited.
    pub invited_count: u32,
}

/// Parameters of `group/{call_id}/invite`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupInviteRequest {
    pub user_ids: UserIds,
}

/// Response of `group/{call_id}/invite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupInviteResponse {
    pub invited_count: u32,
    /// Invitees with a live event queue.
    pub online_count: u32,
    /// Invitees without one (they get the push only).
    pub offline_count: u32,
}

/// Response of `group/{call_id}/join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupJoinResponse {
    /// The joiner's own join URL.
    pub call_url: String,
    pub call_type: CallType,
    #[serde(default)]
    pub title: Option<String>,
    /// Joined participants, the joiner included.
    pub participant_count: u32,
}

/// Response of `group/{call_id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupStatusResponse {
    pub call: GroupCallStatus,
}

/// A group call as `group/{call_id}/status` shows it: the call without its room name, with
/// how many are in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupCallStatus {
    pub call_id: CallId,
    pub call_type: CallType,
    pub state: GroupCallState,
    #[serde(default)]
    pub title: Option<String>,
    /// The bare room URL.
    pub jitsi_url: String,
    pub host: GroupUser,
    #[serde(default)]
    pub stream_id: Option<StreamId>,
    #[serde(default)]
    pub topic: Option<String>,
    pub created_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// Participants `joined` now.
    pub participant_count: u32,
    pub max_participants: u32,
}

impl GroupCallStatus {
    /// `call`, with `participant_count` counted from `participants`.
    pub fn new(call: &GroupCall, participants: &[GroupParticipant]) -> Self {
        GroupCallStatus {
            call_id: call.call_id,
            call_type: call.call_type,
            state: call.state,
            title: call.title.clone(),
            jitsi_url: call.jitsi_url.clone(),
            host: call.host.clone(),
            stream_id: call.stream_id,
            topic: call.topic.clone(),
            created_at: call.created_at,
            ended_at: call.ended_at,
            participant_count: joined_count(participants),
            max_participants: call.max_participants,
        }
    }
}

/// Response of `group/{call_id}/participants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupParticipantsResponse {
    pub participants: Vec<GroupParticipant>,
    /// `participants.len()`.
    pub total_count: u32,
    /// Participants `joined` now.
    pub joined_count: u32,
}

impl GroupParticipantsResponse {
    /// The list and its counts.
    pub fn new(participants: Vec<GroupParticipant>) -> Self {
        GroupParticipantsResponse {
            total_count: u32::try_from(participants.len()).unwrap_or(u32::MAX),
            joined_count: joined_count(&participants),
            participants,
        }
    }
}

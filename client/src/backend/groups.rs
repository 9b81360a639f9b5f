//! Group calls (`plugin-1.1-dialect.md` §6): the routes below `calls/group/`, served by servers
//! of the 1.1 dialect and of both dialects, whichever dialect the client speaks for 1:1 calls.
//!
//! A 404 for a route itself means the server has no group calls, said in one sentence
//! ([`ClientError::NoGroupCalls`]) rather than as a wrong dialect: a design-only server lacks
//! them without the client having chosen wrongly, so nothing remembered is forgotten. What is
//! sent is what the deployed plugin reads too (§10): plain values, `user_ids` comma-separated
//! ([`UserIds`] writes them so), the call id in the path.

use zulip_calls_protocol::endpoint::{Empty, Endpoint};
use zulip_calls_protocol::plugin::group::{
    GroupCallStatus, GroupCreate, GroupCreateRequest, GroupCreateResponse, GroupDecline, GroupEnd,
    GroupInvite, GroupInviteRequest, GroupInviteResponse, GroupJoin, GroupJoinResponse, GroupLeave,
    GroupParticipants, GroupParticipantsResponse, GroupStatus, UserIds,
};
use zulip_calls_protocol::plugin::{self, HeartbeatRequest, MessageResponse};
use zulip_calls_protocol::{CallId, CallState, CallType, ErrorCode, UserId};

use super::api::ClientError;
use super::calls::Calls;

/// What opens a group call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroupCall {
    pub user_ids: Vec<UserId>,
    pub call_type: CallType,
    /// Blank or absent: the call has none.
    pub title: Option<String>,
}

impl Calls {
    /// Whether the server has group calls, if already known: from the dialect (1.1 has them),
    /// from the probe that found the dialect, or from [`Calls::has_group_calls`].
    pub fn knows_group_calls(&self) -> Option<bool> {
        self.group_calls.get().copied()
    }

    /// Whether the server has group calls. Unless already known, one request tells, once per
    /// [`Calls`] and its clones: the status of a call that cannot exist is a 404 naming the
    /// call where the routes exist, and a 404 for the route where they do not. A failure to
    /// ask (network, server error) counts as "no" for now and is asked again next time.
    pub async fn has_group_calls(&self) -> bool {
        let known = self
            .group_calls
            .get_or_try_init(|| async {
                let nobody = CallId(Default::default());
                match self.api().request::<GroupStatus>(&nobody, &Empty {}).await {
                    Ok(_) => Ok(true),
                    Err(ClientError::NoEndpoint { .. }) => Ok(false),
                    Err(err) if err.code() == Some(&ErrorCode::CallNotFound) => Ok(true),
                    Err(err) => Err(err),
                }
            })
            .await;
        match known {
            Ok(known) => *known,
            Err(err) => {
                tracing::warn!(error = %err, "cannot tell whether the server has group calls");
                false
            }
        }
    }

    /// Marks the server as having group calls: a group request just succeeded, or is about to
    /// be made and fails on its own if they are missing. Queues registered from now on ask
    /// for `group_call` events.
    pub fn expect_group_calls(&self) {
        // Only fails when already known.
        let _ = self.group_calls.set(true);
    }

    /// Sends a group request; a missing route means the server has no group calls.
    async fn group_send<E: Endpoint>(
        &self,
        path: &E::Path,
        request: &E::Request,
    ) -> Result<E::Response, ClientError> {
        self.api()
            .request::<E>(path, request)
            .await
            .map_err(|err| match err {
                ClientError::NoEndpoint { site, .. } => ClientError::NoGroupCalls { site },
                other => other,
            })
    }

    /// Opens a group call with me as its (joined) host, inviting `new.user_ids`.
    pub async fn create_group(
        &self,
        new: &NewGroupCall,
    ) -> Result<GroupCreateResponse, ClientError> {
        let request = GroupCreateRequest {
            call_type: Some(new.call_type),
            title: new
                .title
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            user_ids: UserIds(new.user_ids.clone()),
            stream_id: None,
            topic: None,
        };
        self.group_send::<GroupCreate>(&(), &request).await
    }

    /// Invites more users (I must be joined).
    pub async fn invite_to_group(
        &self,
        call_id: CallId,
        user_ids: &[UserId],
    ) -> Result<GroupInviteResponse, ClientError> {
        let request = GroupInviteRequest {
            user_ids: UserIds(user_ids.to_vec()),
        };
        self.group_send::<GroupInvite>(&call_id, &request).await
    }

    /// Joins (or rejoins) the call: my own join URL comes back.
    pub async fn join_group(&self, call_id: CallId) -> Result<GroupJoinResponse, ClientError> {
        self.group_send::<GroupJoin>(&call_id, &Empty {}).await
    }

    /// Leaves the call; it goes on without me.
    pub async fn leave_group(&self, call_id: CallId) -> Result<MessageResponse, ClientError> {
        self.group_send::<GroupLeave>(&call_id, &Empty {}).await
    }

    /// Declines an invitation.
    pub async fn decline_group(&self, call_id: CallId) -> Result<MessageResponse, ClientError> {
        self.group_send::<GroupDecline>(&call_id, &Empty {}).await
    }

    /// Ends the call for everyone (the host only: anyone else is refused, 403).
    pub async fn end_group(&self, call_id: CallId) -> Result<MessageResponse, ClientError> {
        self.group_send::<GroupEnd>(&call_id, &Empty {}).await
    }

    /// The call as a participant sees it.
    pub async fn group_status(&self, call_id: CallId) -> Result<GroupCallStatus, ClientError> {
        Ok(self
            .group_send::<GroupStatus>(&call_id, &Empty {})
            .await?
            .call)
    }

    /// Every participant and their state.
    pub async fn group_participants(
        &self,
        call_id: CallId,
    ) -> Result<GroupParticipantsResponse, ClientError> {
        self.group_send::<GroupParticipants>(&call_id, &Empty {})
            .await
    }

    /// Tells the server I am still in the group call I joined: `POST calls/heartbeat` with its
    /// id, whatever dialect 1:1 calls are spoken in (every server with group calls has that
    /// route). `accepted` while the call is open and I am in it, `ended` after it ended; a
    /// participant no longer joined is refused (400).
    pub async fn group_heartbeat(&self, call_id: CallId) -> Result<CallState, ClientError> {
        let request = HeartbeatRequest {
            call_id,
            is_backgrounded: None,
        };
        Ok(self
            .group_send::<plugin::Heartbeat>(&(), &request)
            .await?
            .call_state)
    }
}

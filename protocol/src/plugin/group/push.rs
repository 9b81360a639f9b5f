//! Group call pushes (the 1.1 spec's §6): `group_call` rings an invitee's phone,
//! `group_call_cancelled` stops it when the invitation ends unanswered or the call ends first.
//!
//! The data is flat with every value a string, like the 1:1 pushes of the 1.1 dialect (its
//! §7), and rides in the same provider envelopes ([`crate::push::build_push`]). It has its own
//! type rather than more [`crate::push::PushKind`]s because a group push is about an
//! invitation, not a 1:1 call's state: no callee, a title, the inviter as sender.

use serde::{Deserialize, Serialize};

use super::model::{GroupCall, GroupParticipant, GroupUser};
use crate::call::CallType;
use crate::ids::{CallId, UserId};
use crate::push::{
    ApnsAlert, PluginPushFields, PushContext, PushEvent, PushNotification, PushPayload, PushRealm,
    as_string,
};
use crate::time::Timestamp;

/// What a push says of a call without a title (the plugin's words).
pub const DEFAULT_GROUP_TITLE: &str = "Group Call";

/// Which group push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupPushKind {
    /// `group_call`: the invitee was invited (again).
    Invitation,
    /// `group_call_cancelled`: the invitation is over unanswered (missed, or the call ended).
    Cancelled,
}

impl GroupPushKind {
    /// The wire `event`.
    pub const fn event(self) -> PushEvent {
        match self {
            GroupPushKind::Invitation => PushEvent::GroupCall,
            GroupPushKind::Cancelled => PushEvent::GroupCallCancelled,
        }
    }
}

/// The data of a group push (FCM `data`, and the APNs body beside `aps`). Every value
/// serialises as a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupPushData {
    pub event: PushEvent,
    /// The server's host.
    pub server: String,
    pub realm_url: String,
    /// The push's recipient (the invitee).
    #[serde(with = "as_string")]
    #[schemars(with = "String")]
    pub user_id: UserId,
    pub call_id: CallId,
    /// The call's title, or [`DEFAULT_GROUP_TITLE`].
    pub title: String,
    /// The inviter (not necessarily the host).
    #[serde(with = "as_string")]
    #[schemars(with = "String")]
    pub sender_id: UserId,
    pub sender_full_name: String,
    pub call_type: CallType,
    /// The bare room URL, never a join URL (a push passes through Google or Apple).
    pub jitsi_url: String,
    /// How long the invitation rings (`CALL_NOTIFICATION_TIMEOUT`).
    #[serde(with = "as_string")]
    #[schemars(with = "String")]
    pub timeout_seconds: u64,
    /// When the push was built, in Unix seconds.
    #[serde(with = "as_string")]
    #[schemars(with = "String")]
    pub time: i64,
    /// `type`, `sender_name`, `sender_avatar_url` and the realm's keys, as on every 1.1 push.
    #[serde(flatten)]
    pub plugin: PluginPushFields,
}

impl PushPayload for GroupPushData {
    fn event(&self) -> PushEvent {
        self.event
    }

    fn call_id(&self) -> CallId {
        self.call_id
    }

    fn timeout_seconds(&self) -> u64 {
        self.timeout_seconds
    }
}

/// Everything a group push needs beside the call: server, realm, and when it is built.
#[derive(Debug, Clone, Copy)]
pub struct GroupPushContext<'a> {
    pub context: &'a PushContext,
    pub realm: &'a PushRealm,
    pub now: Timestamp,
}

impl GroupPushData {
    /// The data of a `kind` push about `call` to `invitee`, invited by `inviter`.
    pub fn new(
        call: &GroupCall,
        invitee: &GroupParticipant,
        inviter: &GroupUser,
        kind: GroupPushKind,
        ctx: &GroupPushContext<'_>,
    ) -> Self {
        let event = kind.event();
        let realm_url = ctx.context.realm_url.clone();
        GroupPushData {
            event,
            server: ctx.context.server.clone(),
            realm_url: realm_url.clone(),
            user_id: invitee.user_id,
            call_id: call.call_id,
            title: call
                .title
                .clone()
                .unwrap_or_else(|| DEFAULT_GROUP_TITLE.to_owned()),
            sender_id: inviter.user_id,
            sender_full_name: inviter.full_name.clone(),
            call_type: call.call_type,
            jitsi_url: call.jitsi_url.clone(),
            timeout_seconds: ctx.context.timeout_seconds,
            time: ctx.now.unix_seconds(),
            plugin: PluginPushFields {
                push_type: event,
                sender_name: inviter.full_name.clone(),
                sender_avatar_url: crate::plugin::avatar_path(inviter.user_id),
                realm_uri: realm_url,
                realm_name: ctx.realm.name.clone(),
                realm_id: ctx.realm.id,
            },
        }
    }
}

impl PushNotification<GroupPushData> {
    /// The `kind` push about `call` to `invitee`, invited by `inviter`. The ring, and the
    /// cancellation that replaces it, last until the invitation rings out (`invited_at` +
    /// `CALL_NOTIFICATION_TIMEOUT`).
    pub fn group(
        call: &GroupCall,
        invitee: &GroupParticipant,
        inviter: &GroupUser,
        kind: GroupPushKind,
        ctx: &GroupPushContext<'_>,
    ) -> Self {
        let data = GroupPushData::new(call, invitee, inviter, kind, ctx);
        let timeout = i64::try_from(data.timeout_seconds).unwrap_or(i64::MAX);
        PushNotification {
            alert: group_alert(kind, data.call_type, &data.sender_full_name, &data.title),
            ring_expires_at: invitee.invited_at.unix_seconds().saturating_add(timeout),
            data,
        }
    }
}

/// The visible APNs alert of a group push. The contract fixes no text; these live here, in one
/// place, beside the 1:1 ones ([`crate::push::alert_for`]).
pub fn group_alert(
    kind: GroupPushKind,
    call_type: CallType,
    inviter_name: &str,
    title: &str,
) -> ApnsAlert {
    let (heading, body) = match kind {
        GroupPushKind::Invitation => (
            match call_type {
                CallType::Video => "Incoming group video call",
                CallType::Audio => "Incoming group audio call",
            },
            format!("{inviter_name} invites you to {title}"),
        ),
        GroupPushKind::Cancelled => (
            match call_type {
                CallType::Video => "Missed group video call",
                CallType::Audio => "Missed group audio call",
            },
            format!("You missed {title}, from {inviter_name}"),
        ),
    };
    ApnsAlert {
        title: heading.to_owned(),
        body,
    }
}

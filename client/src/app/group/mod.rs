//! Group calls in the UI, as data: teammates marked for a call, the title prompt, an
//! invitation ringing here, and the participants panel of a group call I am in; the commands
//! the core asks for and the results that come back. [`update`] holds the transitions.
//!
//! The panel is drawn from the participants list every `group_call` event carries whole, so
//! it shows every change as soon as its event arrives, without asking the server.

pub(super) mod update;

#[cfg(test)]
mod tests;

use zulip_calls_protocol::plugin::group::{
    GroupCallStatus, GroupCreateResponse, GroupEventParticipant, GroupInviteResponse,
    GroupJoinResponse, GroupParticipant, ParticipantState,
};
use zulip_calls_protocol::{CallId, CallType, Timestamp, UserId};

use super::answer::AnswerError;

/// One person of a group call and where they stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub user_id: UserId,
    pub name: String,
    pub state: ParticipantState,
    pub is_host: bool,
}

impl From<&GroupEventParticipant> for GroupMember {
    fn from(p: &GroupEventParticipant) -> Self {
        GroupMember {
            user_id: p.user_id,
            name: p.full_name.clone(),
            state: p.state,
            is_host: p.is_host,
        }
    }
}

impl From<&GroupParticipant> for GroupMember {
    fn from(p: &GroupParticipant) -> Self {
        GroupMember {
            user_id: p.user_id,
            name: p.full_name.clone(),
            state: p.state,
            is_host: p.is_host,
        }
    }
}

/// The small prompt between choosing whom to call and the call: its title, which may stay
/// empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitlePrompt {
    pub call_type: CallType,
    /// The marked teammates, in the order they were marked.
    pub invitees: Vec<UserId>,
    pub title: String,
}

/// How I answered an invitation on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupAnswer {
    Join,
    Decline,
}

/// A group call I am invited to, ringing here.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInvitation {
    pub call_id: CallId,
    pub call_type: CallType,
    pub title: Option<String>,
    pub host_id: UserId,
    /// Who invited me (the host, or a participant who invited more).
    pub inviter_name: String,
    pub members: Vec<GroupMember>,
    pub received_at: Timestamp,
    /// What I answered here, while the answer is on its way.
    pub answered: Option<GroupAnswer>,
}

impl GroupInvitation {
    /// Who is in the call now.
    pub fn joined(&self) -> impl Iterator<Item = &GroupMember> {
        self.members
            .iter()
            .filter(|m| m.state == ParticipantState::Joined)
    }
}

/// A request about the group call that has not been answered yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupPending {
    Joining,
    Leaving,
    Ending,
    Inviting,
}

/// A group call I host or joined. It stays on screen after I left it while it goes on, so I
/// can join again.
#[derive(Debug, Clone, PartialEq)]
pub struct InGroup {
    /// `None` until `create` answers (or the call's `created` event names it).
    pub call_id: Option<CallId>,
    pub call_type: CallType,
    pub title: Option<String>,
    pub host_id: UserId,
    /// Everyone with a place in the call, as the last event (or answer) listed them.
    pub members: Vec<GroupMember>,
    /// My own place in it.
    pub my_state: ParticipantState,
    /// My join URL, from `create` or `join`.
    pub url: Option<String>,
    /// The bare room, from the call's events.
    pub room_url: Option<String>,
    /// Local time I joined (or started) it; the timer counts from here.
    pub since: Timestamp,
    pub pending: Option<GroupPending>,
    /// Picking teammates to invite (Space marks, Enter invites, Esc cancels).
    pub inviting: bool,
}

impl InGroup {
    /// I am in the call (or starting it): it occupies me and must be kept alive.
    pub fn occupies(&self) -> bool {
        self.my_state == ParticipantState::Joined
    }

    /// How many are in the call now.
    pub fn joined_count(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.state == ParticipantState::Joined)
            .count()
    }

    /// `user` has a place in the call that inviting again would not change (invited, ringing
    /// or joined); declined, left or missed people may be invited again.
    pub fn is_engaged(&self, user: UserId) -> bool {
        self.members
            .iter()
            .any(|m| m.user_id == user && m.state.is_engaged())
    }

    /// The URL `o` opens: my join URL, else the bare room.
    pub fn open_url(&self) -> Option<&str> {
        self.url.as_deref().or(self.room_url.as_deref())
    }

    /// Takes `members` as the call's participants now, and my place from them.
    pub(crate) fn set_members(&mut self, members: Vec<GroupMember>, me: UserId) {
        if let Some(mine) = members.iter().find(|m| m.user_id == me) {
            self.my_state = mine.state;
        }
        if let Some(host) = members.iter().find(|m| m.is_host) {
            self.host_id = host.user_id;
        }
        self.members = members;
    }

    /// Sets my own state, in my line of the list too.
    pub(crate) fn set_my_state(&mut self, me: UserId, state: ParticipantState) {
        self.my_state = state;
        if let Some(mine) = self.members.iter_mut().find(|m| m.user_id == me) {
            mine.state = state;
        }
    }
}

/// The group call as `status` and `participants` show it, after a gap in the events.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSnapshot {
    pub call: GroupCallStatus,
    pub participants: Vec<GroupParticipant>,
}

/// Group requests for the runner.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupCommand {
    Start {
        user_ids: Vec<UserId>,
        call_type: CallType,
        title: Option<String>,
    },
    Invite {
        call_id: CallId,
        user_ids: Vec<UserId>,
    },
    Join(CallId),
    Decline(CallId),
    Leave(CallId),
    /// End for everyone (the host).
    End(CallId),
    /// Read the call and its participants again.
    Load(CallId),
}

/// The results of [`GroupCommand`]s, as the core reads them.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupMsg {
    Started(Result<GroupCreateResponse, String>),
    Invited {
        call_id: CallId,
        result: Result<GroupInviteResponse, String>,
    },
    Joined {
        call_id: CallId,
        result: Result<GroupJoinResponse, AnswerError>,
    },
    Declined {
        call_id: CallId,
        result: Result<(), AnswerError>,
    },
    Left {
        call_id: CallId,
        result: Result<(), String>,
    },
    Ended {
        call_id: CallId,
        result: Result<(), String>,
    },
    Loaded {
        call_id: CallId,
        result: Result<GroupSnapshot, String>,
    },
}

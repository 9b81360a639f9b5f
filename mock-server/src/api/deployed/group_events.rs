//! The `group_call` events as the plugin 1.1.0's `actions.py` builds and addresses them
//! (`Quirks::plugin_events`): the same fields as the contract's, but
//! - `created` goes to the host before anyone is invited, so it lists the host alone;
//! - each `participant_invited` lists the participants the plugin had created by then (the
//!   invitees named after it are not there yet), and every user an `invite` names is told,
//!   whether or not their place changed; `participants_invited` goes to the joined who were
//!   not named;
//! - `participant_joined` to everyone invited or joined (the joiner too), `participant_left`
//!   to everyone invited or joined but the leaver, `participant_declined` to the host (even
//!   once gone) and the joined, `ended` to every participant whatever their state;
//! - no `reason` on `participant_left` or `ended` (§9 row 7), and no `participant_missed`
//!   (§9 row 8).

use zulip_calls_protocol::plugin::group::{
    GroupCallDetail, GroupCallEvent, GroupParticipant, ParticipantState,
};
use zulip_calls_protocol::{EventKind, UserId};

use crate::core::news::{GroupChange, GroupHappening};

/// The events of `change` and who gets each; `offline` tells whether an invitee has no live
/// queue (for `was_offline`).
pub fn render(
    change: &GroupChange,
    offline: impl Fn(UserId) -> bool,
) -> Vec<(Vec<UserId>, EventKind)> {
    let record = &change.record;
    let call = &record.call;
    let now = record.wire_participants();
    let event = |participants: &[GroupParticipant], detail: GroupCallDetail| {
        EventKind::GroupCall(std::sync::Arc::new(GroupCallEvent::new(
            call,
            participants,
            detail,
            change.at,
        )))
    };
    // The participants as the plugin had them while it had not yet reached `later`: those
    // it had not created yet are missing, those it had not updated yet in their old state.
    let so_far = |later: &[UserId]| -> Vec<GroupParticipant> {
        now.iter()
            .filter_map(|p| {
                if !later.contains(&p.user_id) {
                    return Some(p.clone());
                }
                change
                    .state_before(p.user_id)
                    .map(|state| GroupParticipant { state, ..p.clone() })
            })
            .collect()
    };
    let with = |pick: &dyn Fn(&GroupParticipant) -> bool| -> Vec<UserId> {
        now.iter().filter(|p| pick(p)).map(|p| p.user_id).collect()
    };
    let inviter = change.by.unwrap_or(call.host.user_id);
    let mut events = Vec::new();
    let invitations = |users: &[UserId], events: &mut Vec<(Vec<UserId>, EventKind)>| {
        for (k, user) in users.iter().enumerate() {
            let detail = GroupCallDetail::ParticipantInvited {
                inviter_id: inviter,
                was_offline: offline(*user),
            };
            events.push((vec![*user], event(&so_far(&users[k + 1..]), detail)));
        }
        let joined = with(&|p| p.state == ParticipantState::Joined && !users.contains(&p.user_id));
        if !users.is_empty() && !joined.is_empty() {
            let detail = GroupCallDetail::ParticipantsInvited {
                new_participants: users.to_vec(),
                inviter_id: inviter,
            };
            events.push((joined, event(&now, detail)));
        }
    };
    match &change.what {
        GroupHappening::Created { invited } => {
            events.push((
                vec![call.host.user_id],
                event(&so_far(invited), GroupCallDetail::Created),
            ));
            invitations(invited, &mut events);
        }
        GroupHappening::Invited { users } => invitations(users, &mut events),
        GroupHappening::Joined { user } => {
            let to = with(&|p| p.state.is_engaged());
            let detail = GroupCallDetail::ParticipantJoined {
                joined_user_id: *user,
            };
            events.push((to, event(&now, detail)));
        }
        GroupHappening::Left { user, .. } => {
            let to = with(&|p| p.state.is_engaged() && p.user_id != *user);
            let detail = GroupCallDetail::ParticipantLeft {
                left_user_id: *user,
                reason: None,
            };
            events.push((to, event(&now, detail)));
        }
        GroupHappening::Declined { user } => {
            let host = call.host.user_id;
            let mut to = vec![host];
            to.extend(with(&|p| {
                p.state == ParticipantState::Joined && p.user_id != *user && p.user_id != host
            }));
            let detail = GroupCallDetail::ParticipantDeclined {
                declined_user_id: *user,
            };
            events.push((to, event(&now, detail)));
        }
        GroupHappening::Ended { .. } => {
            let to = with(&|_| true);
            events.push((to, event(&now, GroupCallDetail::Ended { reason: None })));
        }
        // The plugin never rings an invitee, and misses them silently.
        GroupHappening::Ringing { .. } | GroupHappening::Missed { .. } => {}
    }
    events.retain(|(to, _)| !to.is_empty());
    events
}

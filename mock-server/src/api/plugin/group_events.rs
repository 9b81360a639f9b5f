//! Group call events (spec 1.1 §6): each group change the core announces becomes one
//! `group_call` event per recipient group of the spec's table, queued once the change is
//! committed. Every queue that asks for `group_call` gets them, whatever its call dialect
//! (a design-dialect client on a server that serves both has group calls too).

use zulip_calls_protocol::plugin::group::{GroupCallDetail, GroupCallEvent, ParticipantState};
use zulip_calls_protocol::{EventKind, UserId};

use crate::core::news::{GroupChange, GroupHappening, Listener, Tx};

/// Renders group changes as `group_call` events in the participants' queues.
#[derive(Debug, Default)]
pub struct GroupCallEvents;

impl Listener for GroupCallEvents {
    fn group_changed(&self, change: &GroupChange, tx: &mut Tx<'_>) {
        let offline = |user| !tx.core.reports_online(user);
        // As deployed plugins word them, when this server is one (see `core::compat`).
        let events = if tx.core.quirks().plugin_events {
            crate::api::deployed::group_events::render(change, offline)
        } else {
            let mut events = render(change, offline);
            if tx.core.quirks().group_misses_untold {
                events.retain(|(_, event)| {
                    !matches!(event, EventKind::GroupCall(e)
                        if e.op() == zulip_calls_protocol::plugin::group::GroupCallOp::ParticipantMissed)
                });
            }
            events
        };
        if events.is_empty() {
            return;
        }
        tx.after_commit(move |core| {
            for (users, event) in &events {
                for user in users {
                    core.queues.send(*user, event);
                }
            }
            core.note_change();
        });
    }
}

/// The events of `change` and who gets each; `offline` tells whether an invitee has no live
/// queue (for `was_offline`).
pub fn render(
    change: &GroupChange,
    offline: impl Fn(UserId) -> bool,
) -> Vec<(Vec<UserId>, EventKind)> {
    let record = &change.record;
    let participants = record.wire_participants();
    let event = |detail: GroupCallDetail| {
        EventKind::GroupCall(std::sync::Arc::new(GroupCallEvent::new(
            &record.call,
            &participants,
            detail,
            change.at,
        )))
    };
    // Everyone the table names for `detail`, given who the event is about; an end reaches
    // whoever was still engaged before it (all are out of the call now).
    let ended = matches!(change.what, GroupHappening::Ended { .. });
    let recipients = |detail: &GroupCallDetail, subjects: &[UserId]| -> Vec<UserId> {
        let op = detail.op();
        participants
            .iter()
            .filter(|p| {
                if ended {
                    change
                        .state_before(p.user_id)
                        .is_some_and(ParticipantState::is_engaged)
                } else {
                    GroupCallEvent::is_recipient(
                        op,
                        p.state,
                        p.is_host,
                        subjects.contains(&p.user_id),
                    )
                }
            })
            .map(|p| p.user_id)
            .collect()
    };
    let inviter = change.by.unwrap_or(record.call.host.user_id);
    let mut events = Vec::new();
    let mut one = |detail: GroupCallDetail, subjects: &[UserId]| {
        let users = recipients(&detail, subjects);
        if !users.is_empty() {
            events.push((users, event(detail)));
        }
    };
    match &change.what {
        GroupHappening::Created { invited } => {
            one(GroupCallDetail::Created, &[]);
            invitations(invited, inviter, &offline, &mut one);
        }
        GroupHappening::Invited { users } => {
            invitations(users, inviter, &offline, &mut one);
            one(
                GroupCallDetail::ParticipantsInvited {
                    new_participants: users.clone(),
                    inviter_id: inviter,
                },
                users,
            );
        }
        // Reaching an invitee changes nothing anyone is told.
        GroupHappening::Ringing { .. } => {}
        GroupHappening::Joined { user } => one(
            GroupCallDetail::ParticipantJoined {
                joined_user_id: *user,
            },
            &[*user],
        ),
        GroupHappening::Left { user, reason } => one(
            GroupCallDetail::ParticipantLeft {
                left_user_id: *user,
                reason: Some(*reason),
            },
            &[*user],
        ),
        GroupHappening::Declined { user } => one(
            GroupCallDetail::ParticipantDeclined {
                declined_user_id: *user,
            },
            &[*user],
        ),
        GroupHappening::Missed { user } => one(
            GroupCallDetail::ParticipantMissed {
                missed_user_id: *user,
            },
            &[*user],
        ),
        GroupHappening::Ended { reason } => one(
            GroupCallDetail::Ended {
                reason: Some(*reason),
            },
            &[],
        ),
    }
    events
}

/// One `participant_invited` per invitee (each has its own `was_offline`).
fn invitations(
    invitees: &[UserId],
    inviter: UserId,
    offline: &impl Fn(UserId) -> bool,
    one: &mut impl FnMut(GroupCallDetail, &[UserId]),
) {
    for invitee in invitees {
        one(
            GroupCallDetail::ParticipantInvited {
                inviter_id: inviter,
                was_offline: offline(*invitee),
            },
            &[*invitee],
        );
    }
}

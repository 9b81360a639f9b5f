//! Group call operations: every endpoint of the 1.1 dialect's §6 and every group deadline
//! goes through [`GroupDesk`], which checks in the protocol's order (participant, right to
//! act, the call's gate, the participant's own state: see
//! [`zulip_calls_protocol::plugin::group::machine`]), applies the participant rules under the
//! store lock, persists the call with an audit entry, moves its deadline and announces a
//! [`GroupChange`] to the listeners, still under the lock. Of two racing requests, exactly
//! one sees the old state and wins.

use std::collections::BTreeSet;
use std::sync::MutexGuard;

use serde_json::json;
use zulip_calls_protocol::plugin::group::{
    CallGate, GROUP_MAX_PARTICIPANTS, GroupCall, GroupCallOp, GroupCallState, GroupEndReason,
    GroupLeftReason, GroupParticipant, GroupRefusal, GroupRequest, GroupUser, ParticipantAction,
    ParticipantOutcome, ParticipantState, call_gate, new_group_room_name, participant_transition,
};
use zulip_calls_protocol::{CallId, CallType, StreamId, Timestamp, UserId};

use super::model::{GroupAuditEntry, GroupDeadline, GroupRecord, ParticipantRecord};
use crate::core::model::{RealmId, UserRecord};
use crate::core::news::{GroupChange, GroupHappening};
use crate::core::store::{Store, StoreError};
use crate::core::{Core, Storage};

/// Why a group call operation failed, in the core's terms (each dialect renders it).
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// One of the protocol's refusals (not found, not the host, ended, full, ...): the
    /// rules of §6 as [`GroupRefusal`] names them.
    #[error(transparent)]
    Refused(#[from] GroupRefusal),
    /// The server does not allow calls of this type.
    #[error("{0} calls are disabled")]
    CallTypeDisabled(CallType),
    /// The acting user is already in call `existing` (a 1:1 call, or another group call they
    /// are joined in): one active call per user, whatever its kind.
    #[error("already in call {existing}")]
    Busy { existing: CallId },
    /// The store failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// A group call operation's result.
pub type GroupResult<T> = Result<T, GroupError>;

/// What `create` is asked for (the request's parameters, already decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroupCall {
    pub call_type: CallType,
    pub title: Option<String>,
    pub stream_id: Option<StreamId>,
    pub topic: Option<String>,
    /// Who to invite; unknown users, users of other realms, deactivated users and the host
    /// are left out (and repeats count once).
    pub user_ids: Vec<UserId>,
}

/// The result of `invite`: the call after it, and who is newly `invited` (new participants
/// and ones invited again); empty when everyone named already had an open place.
#[derive(Debug, Clone)]
pub struct Invited {
    pub record: GroupRecord,
    pub invited: Vec<UserId>,
}

/// The group call operations over the core.
#[derive(Debug, Clone, Copy)]
pub struct GroupDesk<'a> {
    core: &'a Core,
}

impl<'a> GroupDesk<'a> {
    pub fn new(core: &'a Core) -> Self {
        GroupDesk { core }
    }

    /// Opens a group call hosted by `host` (joined from the start), inviting the valid users
    /// of `new.user_ids`; [`GroupRefusal::NoValidInvitees`] when none is.
    pub fn create(&self, host: &UserRecord, new: NewGroupCall) -> GroupResult<GroupRecord> {
        let settings = self.core.settings();
        let quirks = self.core.quirks();
        if !settings.call_type_enabled(new.call_type) {
            return Err(GroupError::CallTypeDisabled(new.call_type));
        }
        let invitees = self.invitable(host.realm_id, Some(host.id), &new.user_ids);
        // The plugin opens a call with nobody to invite (§9 row 5).
        if invitees.is_empty() && !quirks.group_user_ids_comma_only {
            return Err(GroupRefusal::NoValidInvitees.into());
        }
        let now = self.core.clock.now();
        let room = new_group_room_name();
        let host_user = GroupUser {
            user_id: host.id,
            full_name: host.full_name.clone(),
        };
        let mut participants = vec![ParticipantRecord {
            participant: GroupParticipant::host(host_user.clone(), host.email.clone(), now),
            heartbeat_at: Some(now),
        }];
        participants.extend(invitees.iter().map(|user| ParticipantRecord {
            participant: GroupParticipant::invitee(group_user(user), user.email.clone(), now),
            heartbeat_at: None,
        }));
        let call_id = CallId::new_random();
        let record = GroupRecord {
            call: GroupCall {
                call_id,
                call_type: new.call_type,
                state: GroupCallState::Active,
                title: new.title,
                host: host_user,
                topic: new.stream_id.and(new.topic),
                stream_id: new.stream_id,
                jitsi_url: zulip_calls_protocol::jitsi::room_url(&settings.jitsi_server_url, &room),
                jitsi_room_name: room,
                max_participants: GROUP_MAX_PARTICIPANTS,
                created_at: now,
                ended_at: None,
            },
            realm_id: host.realm_id,
            end_reason: None,
            participants,
        };
        let invited: Vec<UserId> = invitees.iter().map(|u| u.id).collect();

        let mut store = self.core.store();
        if !quirks.group_calls_never_busy
            && let Some(existing) = busy_call_of(&store, host.id, true)?
        {
            return Err(GroupError::Busy { existing });
        }
        let mut record = record;
        self.ring_reached(&store, &mut record, &invited)?;
        let audit = GroupAuditEntry {
            call_id,
            at: now,
            actor_id: Some(host.id),
            action: GroupCallOp::Created.as_str().to_owned(),
            subject_id: None,
            detail: json!({ "call_type": new.call_type, "invited": invited }),
        };
        store.create_group_call(&record, &audit)?;
        let change = GroupChange {
            record,
            before: Vec::new(),
            what: GroupHappening::Created { invited },
            by: Some(host.id),
            at: now,
        };
        let record = self.announce(store, change);
        tracing::info!(%call_id, host = %host.id, invited = record.participants.len() - 1, "group call created");
        Ok(record)
    }

    /// `user` (a joined participant) invites `user_ids`: new users become `invited`, as do
    /// participants who declined, missed or left; those with an open place stay as they are.
    pub fn invite(
        &self,
        call_id: CallId,
        user: &UserRecord,
        user_ids: &[UserId],
    ) -> GroupResult<Invited> {
        // The plugin's `invite` names anyone of the realm, the inviter and the host included
        // (see `Quirks::plugin_group_rules`).
        let plugin_rules = self.core.quirks().plugin_group_rules;
        let candidates = if plugin_rules {
            self.invitable(user.realm_id, None, user_ids)
        } else {
            self.invitable(user.realm_id, Some(user.id), user_ids)
        };
        let now = self.core.clock.now();
        let store = self.core.store();
        let mut record = visible(&store, call_id, user)?;
        if record.participant(user.id).map(ParticipantRecord::state)
            != Some(ParticipantState::Joined)
        {
            return Err(GroupRefusal::NotJoined.into());
        }
        call_gate(record.call.state, GroupRequest::Invite)?;
        let host = record.call.host.user_id;
        let candidates: Vec<_> = candidates
            .into_iter()
            .filter(|u| plugin_rules || u.id != host)
            .collect();
        if candidates.is_empty() {
            return Err(GroupRefusal::NoValidInvitees.into());
        }
        let before = record.states();
        let mut invited = Vec::new();
        for candidate in candidates {
            match record.participant_mut(candidate.id) {
                Some(place) => {
                    let outcome =
                        participant_transition(place.state(), ParticipantAction::Reinvite)?;
                    if let ParticipantOutcome::Moved { to } = outcome {
                        place.participant.state = to;
                        if !plugin_rules {
                            place.participant.invited_at = now;
                        }
                        place.heartbeat_at = None;
                        invited.push(candidate.id);
                    } else if plugin_rules {
                        // Invited (and told so) again, though nothing changes.
                        invited.push(candidate.id);
                    }
                }
                None => {
                    record.participants.push(ParticipantRecord {
                        participant: GroupParticipant::invitee(
                            group_user(&candidate),
                            candidate.email.clone(),
                            now,
                        ),
                        heartbeat_at: None,
                    });
                    invited.push(candidate.id);
                }
            }
        }
        if invited.is_empty() {
            return Ok(Invited { record, invited });
        }
        self.ring_reached(&store, &mut record, &invited)?;
        let what = GroupHappening::Invited {
            users: invited.clone(),
        };
        let record = self.save(store, record, before, what, Some(user.id), now)?;
        Ok(Invited { record, invited })
    }

    /// `user` joins (or joins again): refused when already joined, when the call is full, or
    /// when `user` is busy in another call.
    /// Where anyone may join (`Quirks::group_join_by_anyone`), a user of the call's realm
    /// without a place in it joins as a new participant.
    pub fn join(&self, call_id: CallId, user: &UserRecord) -> GroupResult<GroupRecord> {
        let now = self.core.clock.now();
        let quirks = self.core.quirks();
        let store = self.core.store();
        let mut record = if quirks.group_join_by_anyone {
            in_realm(&store, call_id, user)?
        } else {
            visible(&store, call_id, user)?
        };
        call_gate(record.call.state, GroupRequest::Join)?;
        let outcome = match record.participant(user.id) {
            Some(place) => participant_transition(place.state(), ParticipantAction::Join)?,
            None => ParticipantOutcome::Moved {
                to: ParticipantState::Joined,
            },
        };
        if record.call.is_full(record.joined_count()) {
            return Err(GroupRefusal::CallFull {
                max: record.call.max_participants,
            }
            .into());
        }
        if !quirks.group_calls_never_busy
            && let Some(existing) = busy_call_of(&store, user.id, true)?
        {
            return Err(GroupError::Busy { existing });
        }
        let before = record.states();
        if record.participant(user.id).is_none() {
            record.participants.push(ParticipantRecord {
                participant: GroupParticipant::invitee(group_user(user), user.email.clone(), now),
                heartbeat_at: None,
            });
        }
        if let (ParticipantOutcome::Moved { to }, Some(place)) =
            (outcome, record.participant_mut(user.id))
        {
            place.participant.state = to;
            place.participant.joined_at = Some(now);
            place.heartbeat_at = Some(now);
        }
        let what = GroupHappening::Joined { user: user.id };
        self.save(store, record, before, what, Some(user.id), now)
    }

    /// `user` leaves; a no-op once out of the call or once the call ended (refused, where
    /// `Quirks::group_ended_calls_refuse`; an invitee leaves too, whatever the call's state,
    /// under `Quirks::plugin_group_rules`).
    pub fn leave(&self, call_id: CallId, user: &UserRecord) -> GroupResult<GroupRecord> {
        let now = self.core.clock.now();
        let quirks = self.core.quirks();
        let store = self.core.store();
        let mut record = visible(&store, call_id, user)?;
        let state = place_state(&record, user.id)?;
        let out = matches!(
            state,
            ParticipantState::Left | ParticipantState::Declined | ParticipantState::Missed
        );
        if quirks.group_ended_calls_refuse && out {
            return Err(GroupRefusal::InvalidState {
                action: ParticipantAction::Leave,
                state,
            }
            .into());
        }
        if !quirks.plugin_group_rules
            && call_gate(record.call.state, GroupRequest::Leave)? == CallGate::NoOp
        {
            return Ok(record);
        }
        let outcome = if quirks.plugin_group_rules && state.is_pending() {
            ParticipantOutcome::Moved {
                to: ParticipantState::Left,
            }
        } else {
            participant_transition(state, ParticipantAction::Leave)?
        };
        let ParticipantOutcome::Moved { to } = outcome else {
            return Ok(record);
        };
        let before = record.states();
        if let Some(place) = record.participant_mut(user.id) {
            place.participant.state = to;
            place.participant.left_at = Some(now);
            place.heartbeat_at = None;
        }
        let what = GroupHappening::Left {
            user: user.id,
            reason: GroupLeftReason::Left,
        };
        self.save(store, record, before, what, Some(user.id), now)
    }

    /// `user` declines the invitation; a no-op once declined or missed.
    pub fn decline(&self, call_id: CallId, user: &UserRecord) -> GroupResult<GroupRecord> {
        let now = self.core.clock.now();
        let store = self.core.store();
        let mut record = visible(&store, call_id, user)?;
        // The plugin's `decline` does not look at the call's state.
        if !self.core.quirks().plugin_group_rules {
            call_gate(record.call.state, GroupRequest::Decline)?;
        }
        let state = place_state(&record, user.id)?;
        let ParticipantOutcome::Moved { to } =
            participant_transition(state, ParticipantAction::Decline)?
        else {
            return Ok(record);
        };
        let before = record.states();
        if let Some(place) = record.participant_mut(user.id) {
            place.participant.state = to;
        }
        let what = GroupHappening::Declined { user: user.id };
        self.save(store, record, before, what, Some(user.id), now)
    }

    /// The host ends the call for everyone; a no-op once it ended (refused, where
    /// `Quirks::group_ended_calls_refuse`).
    pub fn end(&self, call_id: CallId, user: &UserRecord) -> GroupResult<GroupRecord> {
        let now = self.core.clock.now();
        let store = self.core.store();
        let record = visible(&store, call_id, user)?;
        if record.call.host.user_id != user.id {
            return Err(GroupRefusal::NotHost.into());
        }
        if call_gate(record.call.state, GroupRequest::End)? == CallGate::NoOp {
            if self.core.quirks().group_ended_calls_refuse {
                return Err(GroupRefusal::CallEnded.into());
            }
            return Ok(record);
        }
        self.end_call(store, record, GroupEndReason::HostEnded, Some(user.id), now)
    }

    /// The group call `call_id` if it is one of `realm`'s, whoever asks (the plugin's views
    /// look a call up by id and realm, then decide).
    pub fn find(&self, call_id: CallId, realm: RealmId) -> GroupResult<Option<GroupRecord>> {
        let store = self.core.store();
        Ok(store.group_call(call_id)?.filter(|r| r.realm_id == realm))
    }

    /// A heartbeat of `user` (through the 1:1 route, with the group call's id): a joined
    /// participant's silence deadline moves. Answers the call's state; an ended call's
    /// heartbeat changes nothing.
    pub fn heartbeat(&self, call_id: CallId, user: &UserRecord) -> GroupResult<GroupCallState> {
        let now = self.core.clock.now();
        let mut store = self.core.store();
        let mut record = visible(&store, call_id, user)?;
        if call_gate(record.call.state, GroupRequest::Heartbeat)? == CallGate::NoOp {
            return Ok(record.call.state);
        }
        let state = place_state(&record, user.id)?;
        participant_transition(state, ParticipantAction::Heartbeat)?;
        if let Some(place) = record.participant_mut(user.id) {
            place.heartbeat_at = Some(now);
        }
        store.save_group_call(&record, &[])?;
        let earliest = self
            .core
            .deadlines
            .set_group(call_id, self.next_deadline(&record));
        drop(store);
        if earliest {
            self.core.deadlines_changed.notify_one();
        }
        Ok(record.call.state)
    }

    /// The call as `user` may see it (`status`, `participants`): a participant's, of their
    /// realm; anyone else is told it does not exist.
    pub fn status(&self, call_id: CallId, user: &UserRecord) -> GroupResult<GroupRecord> {
        let store = self.core.store();
        let record = visible(&store, call_id, user)?;
        call_gate(record.call.state, GroupRequest::Status)?;
        Ok(record)
    }

    /// The participants as `user` may see them (`participants`): as [`GroupDesk::status`]
    /// does, a participant's call of their realm only. The host first, then in the order
    /// they were first invited.
    pub fn participants(
        &self,
        call_id: CallId,
        user: &UserRecord,
    ) -> GroupResult<Vec<GroupParticipant>> {
        let store = self.core.store();
        let record = visible(&store, call_id, user)?;
        call_gate(record.call.state, GroupRequest::Participants)?;
        Ok(record.wire_participants())
    }

    /// The server reached an invitee (a live queue or device): `invited` → `ringing`. A
    /// no-op in any other case (already ringing, answered, the call over).
    pub fn ring(&self, call_id: CallId, user: UserId) -> GroupResult<GroupRecord> {
        let now = self.core.clock.now();
        let store = self.core.store();
        let mut record = store
            .group_call(call_id)?
            .ok_or(GroupRefusal::NotParticipant)?;
        // The plugin's invitees never ring (`Quirks::plugin_group_rules`).
        if self.core.quirks().plugin_group_rules {
            return Ok(record);
        }
        let state = place_state(&record, user)?;
        let moved = match participant_transition(state, ParticipantAction::Ring) {
            Ok(ParticipantOutcome::Moved { to }) if record.call.is_active() => to,
            _ => return Ok(record),
        };
        let before = record.states();
        if let Some(place) = record.participant_mut(user) {
            place.participant.state = moved;
        }
        self.save(
            store,
            record,
            before,
            GroupHappening::Ringing { user },
            None,
            now,
        )
    }

    /// Fires what is due on group call `call_id` now, in time order (each ring that ran out,
    /// each silent participant dropped, the end when empty or at the maximum duration), and
    /// schedules the call's next deadline. Returns what fired.
    pub fn fire(&self, call_id: CallId) -> Vec<GroupDeadline> {
        let mut fired = Vec::new();
        // Each step changes a participant or ends the call, so this many steps are enough.
        for _ in 0..=GROUP_MAX_PARTICIPANTS * 4 {
            match self.fire_one(call_id) {
                Ok(Some(deadline)) => fired.push(deadline),
                Ok(None) => break,
                Err(err) => {
                    tracing::error!(%call_id, error = %err, "a group deadline could not fire");
                    break;
                }
            }
        }
        fired
    }

    /// Applies the call's earliest deadline if it is due; else (re)schedules it.
    fn fire_one(&self, call_id: CallId) -> GroupResult<Option<GroupDeadline>> {
        let now = self.core.clock.now();
        let store = self.core.store();
        let Some(mut record) = store.group_call(call_id)? else {
            self.core.deadlines.set_group(call_id, None);
            return Ok(None);
        };
        let next = self.next_deadline(&record);
        let due = match self.core.quirks().group_timers {
            Some(timers) => timers.first_due(&record, now),
            None => next.filter(|(at, _)| *at <= now),
        };
        let Some((at, deadline)) = due else {
            let earliest = self.core.deadlines.set_group(call_id, next);
            drop(store);
            if earliest {
                self.core.deadlines_changed.notify_one();
            }
            return Ok(None);
        };
        let before = record.states();
        match deadline {
            GroupDeadline::Miss(user) | GroupDeadline::Drop(user) => {
                let (action, what) = match deadline {
                    GroupDeadline::Miss(_) => {
                        (ParticipantAction::Miss, GroupHappening::Missed { user })
                    }
                    _ => (
                        ParticipantAction::Drop,
                        GroupHappening::Left {
                            user,
                            reason: GroupLeftReason::NetworkFailure,
                        },
                    ),
                };
                let Some(place) = record.participant_mut(user) else {
                    return Ok(None);
                };
                let ParticipantOutcome::Moved { to } =
                    participant_transition(place.state(), action)?
                else {
                    return Ok(None);
                };
                place.participant.state = to;
                if to == ParticipantState::Left {
                    place.participant.left_at = Some(at.max(now));
                    place.heartbeat_at = None;
                }
                self.save(store, record, before, what, None, now)?;
            }
            GroupDeadline::Empty => {
                self.end_call(store, record, GroupEndReason::Empty, None, now)?;
            }
            GroupDeadline::MaxDuration => {
                self.end_call(store, record, GroupEndReason::MaxDuration, None, now)?;
            }
        }
        Ok(Some(deadline))
    }

    /// Schedules the deadlines of every active group call (at start, from the store).
    pub fn schedule_all(&self) -> Result<usize, StoreError> {
        let store = self.core.store();
        let calls = store.all_active_group_calls()?;
        for record in &calls {
            self.core
                .deadlines
                .set_group(record.call.call_id, self.next_deadline(record));
        }
        Ok(calls.len())
    }

    /// Invitees the server reaches at once (a live event queue, or a device to push to) ring
    /// from the start: `invited` → `ringing` in the same change.
    fn ring_reached(
        &self,
        store: &Store,
        record: &mut GroupRecord,
        invitees: &[UserId],
    ) -> Result<(), StoreError> {
        // The plugin's invitees never ring.
        if self.core.quirks().plugin_group_rules {
            return Ok(());
        }
        for user in invitees {
            let reached = self.core.reports_online(*user) || !store.devices_of(*user)?.is_empty();
            if let Some(place) = record.participant_mut(*user)
                && reached
                && let Ok(ParticipantOutcome::Moved { to }) =
                    participant_transition(place.state(), ParticipantAction::Ring)
            {
                place.participant.state = to;
            }
        }
        Ok(())
    }

    /// The next deadline of a group call under this core's settings.
    pub fn next_deadline(&self, record: &GroupRecord) -> Option<(Timestamp, GroupDeadline)> {
        match self.core.quirks().group_timers {
            Some(timers) => timers.next_deadline(record),
            None => next_group_deadline(record, self.core.settings()),
        }
    }

    /// The users of `ids` that `realm` may invite: known, of that realm, active, not `host`
    /// (each once, in the order named).
    fn invitable(&self, realm: RealmId, host: Option<UserId>, ids: &[UserId]) -> Vec<UserRecord> {
        let directory = self.core.directory();
        let mut seen = BTreeSet::new();
        ids.iter()
            .filter(|id| Some(**id) != host && seen.insert(**id))
            .filter_map(|id| directory.user(*id))
            .filter(|u| u.realm_id == realm && u.is_active)
            .cloned()
            .collect()
    }

    /// Ends the call: pending invitees `missed`, joined participants `left`.
    fn end_call(
        &self,
        store: MutexGuard<'_, Storage>,
        mut record: GroupRecord,
        reason: GroupEndReason,
        by: Option<UserId>,
        now: Timestamp,
    ) -> GroupResult<GroupRecord> {
        let before = record.states();
        // The plugin's host `end` moves the joined alone; its cleanup misses the invitees.
        let keep_invitees =
            reason == GroupEndReason::HostEnded && self.core.quirks().plugin_group_rules;
        for place in &mut record.participants {
            if keep_invitees && place.state().is_pending() {
                continue;
            }
            if let ParticipantOutcome::Moved { to } =
                participant_transition(place.state(), ParticipantAction::CallEnded)?
            {
                place.participant.state = to;
                if to == ParticipantState::Left {
                    place.participant.left_at = Some(now);
                }
            }
            place.heartbeat_at = None;
        }
        record.call.state = GroupCallState::Ended;
        record.call.ended_at = Some(now);
        record.end_reason = Some(reason);
        self.save(
            store,
            record,
            before,
            GroupHappening::Ended { reason },
            by,
            now,
        )
    }

    /// Persists a changed call with its audit entry, then announces it.
    fn save(
        &self,
        mut store: MutexGuard<'_, Storage>,
        record: GroupRecord,
        before: Vec<(UserId, ParticipantState)>,
        what: GroupHappening,
        by: Option<UserId>,
        at: Timestamp,
    ) -> GroupResult<GroupRecord> {
        let audit = audit_entry(&record, &what, by, at);
        store.save_group_call(&record, std::slice::from_ref(&audit))?;
        tracing::info!(call_id = %record.call.call_id, action = %audit.action, by = ?by, "group call changed");
        let change = GroupChange {
            record,
            before,
            what,
            by,
            at,
        };
        Ok(self.announce(store, change))
    }

    /// Moves the call's deadline and tells the listeners, still under the store lock; then
    /// lets go of the lock and wakes the scheduler if needed (as `CallDesk` does).
    fn announce(&self, mut store: MutexGuard<'_, Storage>, change: GroupChange) -> GroupRecord {
        let earliest = self.core.deadlines.set_group(
            change.record.call.call_id,
            self.next_deadline(&change.record),
        );
        let wake = self
            .core
            .listeners
            .group_changed(self.core, &mut store, &change);
        drop(store);
        if earliest || wake {
            self.core.deadlines_changed.notify_one();
        }
        self.core.note_change();
        change.record
    }
}

/// The call `user` may see: stored, of their realm, and one they have a place in; else
/// [`GroupRefusal::NotParticipant`] (a call id alone reveals nothing).
fn visible(store: &Store, call_id: CallId, user: &UserRecord) -> GroupResult<GroupRecord> {
    store
        .group_call(call_id)?
        .filter(|r| r.realm_id == user.realm_id && r.participant(user.id).is_some())
        .ok_or_else(|| GroupRefusal::NotParticipant.into())
}

/// The call of `user`'s realm, whether or not they have a place in it.
fn in_realm(store: &Store, call_id: CallId, user: &UserRecord) -> GroupResult<GroupRecord> {
    store
        .group_call(call_id)?
        .filter(|r| r.realm_id == user.realm_id)
        .ok_or_else(|| GroupRefusal::NotParticipant.into())
}

/// The state of `user`'s place in the call.
fn place_state(record: &GroupRecord, user: UserId) -> GroupResult<ParticipantState> {
    record
        .participant(user)
        .map(ParticipantRecord::state)
        .ok_or_else(|| GroupRefusal::NotParticipant.into())
}

/// The call that makes `user` busy: an active 1:1 call they are party to, or (with
/// `groups`) an active group call they are `joined` in. A server where group calls make
/// nobody busy (`Quirks::group_calls_never_busy`) asks without `groups`.
pub fn busy_call_of(
    store: &Store,
    user: UserId,
    groups: bool,
) -> Result<Option<CallId>, StoreError> {
    if let Some(call_id) = store.active_call_id_of(user)? {
        return Ok(Some(call_id));
    }
    if !groups {
        return Ok(None);
    }
    store.joined_group_call_id_of(user)
}

fn group_user(user: &UserRecord) -> GroupUser {
    GroupUser {
        user_id: user.id,
        full_name: user.full_name.clone(),
    }
}

/// The audit log's line for a change.
fn audit_entry(
    record: &GroupRecord,
    what: &GroupHappening,
    by: Option<UserId>,
    at: Timestamp,
) -> GroupAuditEntry {
    let (op, subject, detail) = match what {
        GroupHappening::Created { invited } => (
            GroupCallOp::Created.as_str(),
            None,
            json!({ "invited": invited }),
        ),
        GroupHappening::Invited { users } => (
            GroupCallOp::ParticipantsInvited.as_str(),
            None,
            json!({ "invited": users }),
        ),
        GroupHappening::Ringing { user } => ("participant_ringing", Some(*user), json!({})),
        GroupHappening::Joined { user } => (
            GroupCallOp::ParticipantJoined.as_str(),
            Some(*user),
            json!({}),
        ),
        GroupHappening::Left { user, reason } => (
            GroupCallOp::ParticipantLeft.as_str(),
            Some(*user),
            json!({ "reason": reason }),
        ),
        GroupHappening::Declined { user } => (
            GroupCallOp::ParticipantDeclined.as_str(),
            Some(*user),
            json!({}),
        ),
        GroupHappening::Missed { user } => (
            GroupCallOp::ParticipantMissed.as_str(),
            Some(*user),
            json!({}),
        ),
        GroupHappening::Ended { reason } => (
            GroupCallOp::Ended.as_str(),
            None,
            json!({ "reason": reason }),
        ),
    };
    GroupAuditEntry {
        call_id: record.call.call_id,
        at,
        actor_id: by,
        action: op.to_owned(),
        subject_id: subject,
        detail,
    }
}

/// The next deadline of a group call and what it does (§6, §4): each pending invitee's
/// ring (`CALL_NOTIFICATION_TIMEOUT` from their invitation), each joined participant's
/// heartbeat watch (`CALL_HEARTBEAT_TIMEOUT` from their last heartbeat or their join, unless
/// the timeout is 0), the end when nobody has been joined for `CALL_RING_TIMEOUT` since the
/// last one left, and `CALL_MAX_DURATION` from the creation. The earliest wins; at the same
/// instant, in that order.
pub fn next_group_deadline(
    record: &GroupRecord,
    settings: &zulip_calls_protocol::settings::Settings,
) -> Option<(Timestamp, GroupDeadline)> {
    if !record.call.is_active() {
        return None;
    }
    let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
    let mut candidates = Vec::new();
    for place in &record.participants {
        let p = &place.participant;
        if p.state.is_pending() {
            candidates.push((
                p.invited_at
                    .plus_seconds(secs(settings.call_notification_timeout)),
                GroupDeadline::Miss(p.user_id),
            ));
        }
    }
    if settings.call_heartbeat_timeout > 0 {
        for place in &record.participants {
            if let (ParticipantState::Joined, Some(last)) = (place.state(), place.heartbeat_at) {
                candidates.push((
                    last.plus_seconds(secs(settings.call_heartbeat_timeout)),
                    GroupDeadline::Drop(place.user_id()),
                ));
            }
        }
    }
    if record.joined_count() == 0 {
        let last_left = record
            .participants
            .iter()
            .filter_map(|p| p.participant.left_at)
            .max()
            .unwrap_or(record.call.created_at);
        candidates.push((
            last_left.plus_seconds(secs(settings.call_ring_timeout)),
            GroupDeadline::Empty,
        ));
    }
    candidates.push((
        record
            .call
            .created_at
            .plus_seconds(secs(settings.call_max_duration)),
        GroupDeadline::MaxDuration,
    ));
    // `min_by_key` keeps the first of equal keys: the order above.
    candidates.into_iter().min_by_key(|(at, _)| *at)
}

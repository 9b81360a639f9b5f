//! Call operations: every endpoint of spec §4 and every server deadline goes through
//! [`CallDesk::act`] or [`CallDesk::create`], which apply the protocol's state machine under the
//! store lock, persist the call with its audit entry, move its deadline, and then announce
//! the change to the core's listeners (see `news`), still under the lock.

use serde_json::json;
use zulip_calls_protocol::call::{Party, call_duration};
use zulip_calls_protocol::calls::CallTarget;
use zulip_calls_protocol::{
    Action, Actor, Call, CallEventType, CallId, CallState, CallType, Dialect, MediaStatus, Outcome,
    Timestamp, TransitionError,
};

use super::error::CallError;
use super::model::{AuditEntry, CallRecord, UserRecord};
use super::news::CallChange;
use super::store::Store;
use super::{Core, Storage};

/// A call operation's result.
pub type CallResult<T> = Result<T, CallError>;

/// Who acts on a call.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// A signed-in user (must be a party of the call).
    User(&'a UserRecord),
    /// The server's deadlines.
    Server,
    /// An administrator's cleanup.
    Operator,
}

/// The result of an action: the call after it, and what happened.
#[derive(Debug, Clone)]
pub struct Acted {
    pub record: CallRecord,
    pub outcome: Outcome,
    /// The acting user's party, when a user acted.
    pub party: Option<Party>,
}

/// The call operations over the core.
#[derive(Debug, Clone, Copy)]
pub struct CallDesk<'a> {
    core: &'a Core,
}

impl<'a> CallDesk<'a> {
    pub fn new(core: &'a Core) -> Self {
        CallDesk { core }
    }

    /// Places a call from `caller` (spec §3 `— → calling`).
    pub fn create(
        &self,
        caller: &UserRecord,
        target: &CallTarget,
        call_type: CallType,
    ) -> CallResult<CallRecord> {
        self.sweep_if_lazy();
        let settings = self.core.settings();
        if !settings.call_type_enabled(call_type) {
            return Err(CallError::CallTypeDisabled(call_type));
        }
        let callee = {
            let directory = self.core.directory();
            let found = match target {
                CallTarget::Id(id) => directory.user(*id),
                CallTarget::Email(email) => directory.user_by_email(email),
            };
            let deactivated_ok = self.core.quirks().deactivated_users_callable;
            found
                .filter(|u| u.realm_id == caller.realm_id && (u.is_active || deactivated_ok))
                .cloned()
        }
        .ok_or(CallError::UserNotFound)?;
        if callee.id == caller.id {
            return Err(CallError::CannotCallSelf);
        }

        let now = self.core.clock.now();
        let call_id = CallId::new_random();
        let room = if self.core.quirks().plugin_join_urls {
            zulip_calls_protocol::jitsi::deployed_room_name()
        } else {
            settings.room_name(call_id)
        };
        let record = CallRecord {
            call: Call {
                call_id,
                call_type,
                state: CallState::Calling,
                sender_id: caller.id,
                sender_name: caller.full_name.clone(),
                sender_email: caller.email.clone(),
                receiver_id: callee.id,
                receiver_name: callee.full_name.clone(),
                receiver_email: callee.email.clone(),
                jitsi_url: zulip_calls_protocol::jitsi::room_url(&settings.jitsi_server_url, &room),
                jitsi_room_id: room,
                created_at: now,
                answered_at: None,
                ended_at: None,
                duration: None,
                end_reason: None,
            },
            realm_id: caller.realm_id,
            sender_media_status: None,
            receiver_media_status: None,
            // The plugin counts the caller's heartbeats from the creation.
            sender_heartbeat_at: self.core.quirks().timers.map(|_| now),
            receiver_heartbeat_at: None,
        };

        let mut store = self.core.store();
        // Busy in a call of either kind: a 1:1 call, or a group call joined (1:1 calls only
        // where group calls make nobody busy, §9 row 6).
        let groups = !self.core.quirks().group_calls_never_busy;
        if let Some(existing) = super::group::busy_call_of(&store, caller.id, groups)? {
            // Both called each other at once: the existing call is the callee's, still ringing.
            let calling_you = store.active_call_of(caller.id)?.is_some_and(|c| {
                c.call.call_id == existing
                    && c.call.sender_id == callee.id
                    && c.call.state.is_unanswered()
            });
            return Err(CallError::CallerBusy {
                existing,
                calling_you,
            });
        }
        if let Some(cooldown) = self.core.quirks().redial_cooldown {
            let window = i64::try_from(cooldown).unwrap_or(i64::MAX);
            if let Some(ended) = store.ended_call_of_since(caller.id, now.plus_seconds(-window))? {
                let ended_at = ended.call.ended_at.unwrap_or(now);
                return Err(CallError::RedialCooldown {
                    existing: ended.call.call_id,
                    retry_after: (cooldown as f64 - now.seconds_since(ended_at)).max(0.0),
                });
            }
        }
        if super::group::busy_call_of(&store, callee.id, groups)?.is_some() {
            return Err(CallError::UserBusy {
                name: callee.full_name.clone(),
            });
        }
        let audit = AuditEntry {
            call_id,
            at: now,
            actor_id: Some(caller.id),
            action: CallEventType::CallStarted.as_str().to_owned(),
            state: CallState::Calling,
            detail: json!({ "call_type": call_type, "receiver_id": callee.id }),
        };
        store.create_call(&record, &audit)?;
        let change = CallChange {
            record,
            before: None,
            event: CallEventType::CallStarted,
            by: Some(caller.id),
            at: now,
        };
        let record = self.announce(store, change);
        tracing::info!(%call_id, sender = %caller.id, receiver = %callee.id, %call_type, "call created");
        Ok(record)
    }

    /// Where deadlines wait for the next call's creation (§9 row 4, see `compat`), fires
    /// every one due now, as the plugin's `create` runs its cleanup first; else nothing.
    pub fn sweep_if_lazy(&self) {
        if !self.core.quirks().deadlines_on_create_only {
            return;
        }
        for (call_id, action) in self.core.deadlines.take_due(self.core.clock.now()) {
            if let Err(err) = self.act(call_id, Who::Server, action, None) {
                tracing::debug!(%call_id, ?action, error = %err, "deadline no longer applies");
            }
        }
    }

    /// Applies `action` to call `call_id` by `who` (spec §3), atomically.
    pub fn act(
        &self,
        call_id: CallId,
        who: Who<'_>,
        action: Action,
        media: Option<MediaStatus>,
    ) -> CallResult<Acted> {
        let now = self.core.clock.now();
        let mut store = self.core.store();
        let mut record = self.visible_call(&store, call_id, who)?;
        let (actor, party, actor_id) = match who {
            Who::User(user) => {
                let party = record
                    .call
                    .party_of(user.id)
                    .ok_or(CallError::NotAParticipant)?;
                let actor = match party {
                    Party::Sender => Actor::Sender,
                    Party::Receiver => Actor::Receiver,
                };
                (actor, Some(party), Some(user.id))
            }
            Who::Server => (Actor::Server, None, None),
            Who::Operator => (Actor::Operator, None, None),
        };
        let before = record.call.state;
        // A deadline taken from the index just before a request moved it (a heartbeat that
        // came in while it fired) no longer applies: the call's own deadline decides.
        if matches!(who, Who::Server) && !deadline_due(&record, action, now, self.core) {
            return Ok(Acted {
                record,
                outcome: Outcome::Unchanged,
                party,
            });
        }
        let quirks = self.core.quirks();
        let outcome = quirks
            .transition(before, action, actor)
            .map_err(|err| match err {
                TransitionError::NotAllowed { action, .. } => CallError::NotAllowed { action },
                TransitionError::InvalidState { action, state } => {
                    CallError::InvalidState { action, state }
                }
            })?;

        let event = match outcome {
            Outcome::Unchanged => {
                return Ok(Acted {
                    record,
                    outcome,
                    party,
                });
            }
            Outcome::Moved {
                to,
                end_reason,
                event,
            } => {
                record.call.state = to;
                record.call.end_reason = end_reason;
                if to == CallState::Ringing && quirks.timers.is_some() {
                    // The plugin counts the receiver's heartbeats from the acknowledgement.
                    record.receiver_heartbeat_at = Some(now);
                }
                if to == CallState::Accepted {
                    record.call.answered_at = Some(now);
                    if watches_from_answer(self.core) {
                        record.sender_heartbeat_at = Some(now);
                        record.receiver_heartbeat_at = Some(now);
                    }
                }
                if to.is_terminal() {
                    record.call.ended_at = Some(now);
                    record.call.duration = call_duration(record.call.answered_at, Some(now));
                }
                event
            }
            Outcome::Updated { .. } => {
                let (Some(party), Some(status)) = (party, media) else {
                    return Err(CallError::MissingStatus);
                };
                *record.media_status_mut(party) = Some(status);
                CallEventType::CallStatusUpdate
            }
        };

        let audit = AuditEntry {
            call_id,
            at: now,
            actor_id,
            action: event.as_str().to_owned(),
            state: record.call.state,
            detail: audit_detail(event, &record, party),
        };
        store.apply_transition(&record, before, std::slice::from_ref(&audit))?;
        let change = CallChange {
            record,
            before: Some(before),
            event,
            by: actor_id,
            at: now,
        };
        let record = self.announce(store, change);
        tracing::info!(%call_id, ?action, ?actor, from = %before, to = %record.call.state, "call changed");
        Ok(Acted {
            record,
            outcome,
            party,
        })
    }

    /// A heartbeat of `user` on call `call_id` (the 1.1 dialect): while the call is accepted,
    /// `user` is watched from now on and its silence deadline moves. Any other state is
    /// answered as it is, changing nothing (a finished call's heartbeat is idempotent).
    /// Returns the call's state.
    pub fn heartbeat(&self, call_id: CallId, user: &UserRecord) -> CallResult<CallState> {
        let now = self.core.clock.now();
        let settings = self.core.settings();
        let mut store = self.core.store();
        let mut record = self.visible_call(&store, call_id, Who::User(user))?;
        let state = record.call.state;
        let Some(party) = record.call.party_of(user.id) else {
            return Err(CallError::NotAParticipant);
        };
        // With the plugin's timers, any call still going records it (and the timeout
        // setting is never read); else only an accepted call's watch does.
        let records = match self.core.quirks().timers {
            Some(_) => !state.is_terminal(),
            None => state == CallState::Accepted && settings.call_heartbeat_timeout > 0,
        };
        if !records {
            return Ok(state);
        }
        *record.heartbeat_at_mut(party) = Some(now);
        store.apply_transition(&record, state, &[])?;
        let earliest = self
            .core
            .deadlines
            .set(call_id, next_deadline(&record, self.core));
        drop(store);
        if earliest {
            self.core.deadlines_changed.notify_one();
        }
        Ok(state)
    }

    /// A call `who` may see: in their realm and, for users, one they are party to.
    pub fn visible_call(
        &self,
        store: &Store,
        call_id: CallId,
        who: Who<'_>,
    ) -> CallResult<CallRecord> {
        let record = store.call(call_id)?.ok_or(CallError::CallNotFound)?;
        if let Who::User(user) = who {
            if record.realm_id != user.realm_id {
                return Err(CallError::CallNotFound);
            }
            if record.call.party_of(user.id).is_none() {
                return Err(CallError::NotAParticipant);
            }
        }
        Ok(record)
    }

    /// Moves the call's deadline and tells the listeners, still under the store lock (so no
    /// one sees the new state before every listener heard of it); then lets go of the lock
    /// and wakes the scheduler if a deadline or a listener's timer is now the earliest.
    fn announce(
        &self,
        mut store: std::sync::MutexGuard<'_, Storage>,
        change: CallChange,
    ) -> CallRecord {
        let earliest = self.core.deadlines.set(
            change.record.call.call_id,
            next_deadline(&change.record, self.core),
        );
        let wake = self
            .core
            .listeners
            .call_changed(self.core, &mut store, &change);
        drop(store);
        if earliest || wake {
            self.core.deadlines_changed.notify_one();
        }
        change.record
    }
}

/// The audit log's facts about a change.
fn audit_detail(
    event: CallEventType,
    record: &CallRecord,
    party: Option<Party>,
) -> serde_json::Value {
    match event {
        CallEventType::CallEnded => {
            json!({ "reason": record.call.end_reason, "duration": record.call.duration })
        }
        CallEventType::CallStatusUpdate => {
            let status = party.and_then(|party| *record.media_status(party));
            json!({ "status": status })
        }
        _ => json!({}),
    }
}

/// Whether `action` is the call's own deadline, due at `now`.
fn deadline_due(record: &CallRecord, action: Action, now: Timestamp, core: &Core) -> bool {
    next_deadline(record, core).is_some_and(|(at, due)| due == action && at <= now)
}

/// Whether both parties of a call are watched for heartbeats from its answer on: on a server
/// that speaks only the 1.1 dialect, as the plugin does (every client of such a server
/// heartbeats). Where design-dialect clients may be in a call, a party is watched from its
/// first heartbeat, since those clients never send one.
fn watches_from_answer(core: &Core) -> bool {
    let settings = core.settings();
    core.quirks().timers.is_none()
        && settings.call_heartbeat_timeout > 0
        && settings.calls_api.only() == Some(Dialect::V1_1)
}

/// The next deadline of a call and the action it triggers (spec §3, §8; for an accepted
/// call, also the 1.1 dialect's heartbeat watch: a watched party silent for
/// `CALL_HEARTBEAT_TIMEOUT`).
pub fn next_deadline(record: &CallRecord, core: &Core) -> Option<(Timestamp, Action)> {
    let call = &record.call;
    if let Some(timers) = core.quirks().timers {
        return timers.next_deadline(
            call.state,
            call.created_at,
            call.answered_at,
            [record.sender_heartbeat_at, record.receiver_heartbeat_at],
        );
    }
    let settings = core.settings();
    let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
    match call.state {
        CallState::Calling => Some((
            call.created_at
                .plus_seconds(secs(settings.call_ring_timeout)),
            Action::RingTimeout,
        )),
        CallState::Ringing => Some((
            call.created_at
                .plus_seconds(secs(settings.call_notification_timeout)),
            Action::NotificationTimeout,
        )),
        CallState::Accepted => {
            let max = call.answered_at.map(|answered| {
                (
                    answered.plus_seconds(secs(settings.call_max_duration)),
                    Action::MaxDuration,
                )
            });
            let silent = (settings.call_heartbeat_timeout > 0)
                .then(|| {
                    [record.sender_heartbeat_at, record.receiver_heartbeat_at]
                        .into_iter()
                        .flatten()
                        .min()
                })
                .flatten()
                .map(|last| {
                    (
                        last.plus_seconds(secs(settings.call_heartbeat_timeout)),
                        Action::HeartbeatLost,
                    )
                });
            match (max, silent) {
                (Some(max), Some(silent)) if silent.0 < max.0 => Some(silent),
                (max, silent) => max.or(silent),
            }
        }
        _ => None,
    }
}

//! Call operations: every endpoint of spec §4 and every server deadline goes through
//! [`CallDesk::act`] or [`CallDesk::create`], which apply the protocol's state machine under the
//! store lock, persist the call with its audit entry, and then announce the change (events to
//! both parties' queues, pushes to their devices).

use serde_json::json;
use zulip_calls_protocol::call::{Party, call_duration};
use zulip_calls_protocol::calls::CallTarget;
use zulip_calls_protocol::push::{PushContext, PushKind, PushNotification, PushTarget, build_push};
use zulip_calls_protocol::{
    Action, Actor, ApiError, Call, CallEvent, CallEventDetail, CallEventType, CallId, CallState,
    CallType, ErrorCode, EventKind, MediaStatus, Outcome, Timestamp, TransitionError, transition,
};

use crate::error::{ApiResult, ServerError};
use crate::model::{AuditEntry, CallRecord, Device, UserRecord};
use crate::state::{AppState, Storage};
use crate::store::Store;

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

/// The call operations over the shared state.
#[derive(Debug, Clone, Copy)]
pub struct CallDesk<'a> {
    state: &'a AppState,
}

impl<'a> CallDesk<'a> {
    pub fn new(state: &'a AppState) -> Self {
        CallDesk { state }
    }

    /// Places a call from `caller` (spec §3 `— → calling`).
    pub fn create(
        &self,
        caller: &UserRecord,
        target: &CallTarget,
        call_type: CallType,
    ) -> ApiResult<CallRecord> {
        let settings = self.state.settings();
        if !settings.call_type_enabled(call_type) {
            return Err(ServerError::api(
                ErrorCode::CallTypeDisabled,
                format!("{} calls are disabled", capitalized(call_type)),
            ));
        }
        let callee = {
            let directory = self.state.directory();
            match target {
                CallTarget::Id(id) => directory.visible_user(caller, *id).cloned(),
                CallTarget::Email(email) => directory.visible_user_by_email(caller, email).cloned(),
            }
        }
        .ok_or_else(|| ApiError::new(ErrorCode::UserNotFound, "No such user"))?;
        if callee.id == caller.id {
            return Err(ServerError::api(
                ErrorCode::CannotCallSelf,
                "You cannot call yourself",
            ));
        }

        let now = self.state.clock.now();
        let call_id = CallId::new_random();
        let room = settings.room_name(call_id);
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
                jitsi_url: settings.room_url(call_id),
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
        };

        let mut store = self.state.store();
        if let Some(existing) = store.active_call_of(caller.id)? {
            return Err(ApiError::caller_busy(existing.call.call_id).into());
        }
        if store.active_call_of(callee.id)?.is_some() {
            return Err(ApiError::user_busy(&callee.full_name).into());
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
        let earliest = self
            .state
            .deadlines
            .set(call_id, next_deadline(&record.call, settings));
        self.state.metrics.record_call_created(&record.call);
        // A bot receiver plans its answer now, under the lock (see `bots`).
        let bots_due = self.state.bots.call_changed(None, &record.call);
        let detail = CallEventDetail::CallStarted {
            timeout_seconds: settings.timeout_seconds(),
        };
        self.announce(&mut store, &record, detail, now);
        self.push(&mut store, &record, PushKind::Call, now);
        drop(store);
        if earliest || bots_due {
            self.state.deadlines_changed.notify_one();
        }
        tracing::info!(%call_id, sender = %caller.id, receiver = %callee.id, %call_type, "call created");
        Ok(record)
    }

    /// Applies `action` to call `call_id` by `who` (spec §3), atomically.
    pub fn act(
        &self,
        call_id: CallId,
        who: Who<'_>,
        action: Action,
        media: Option<MediaStatus>,
    ) -> ApiResult<Acted> {
        let now = self.state.clock.now();
        let mut store = self.state.store();
        let mut record = self.visible_call(&store, call_id, who)?;
        let (actor, party, actor_id) = match who {
            Who::User(user) => {
                let party = record
                    .call
                    .party_of(user.id)
                    .ok_or_else(not_a_participant)?;
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
        let outcome = transition(before, action, actor).map_err(|err| match err {
            TransitionError::NotAllowed { action, .. } => ApiError::new(
                ErrorCode::NotAParticipant,
                format!(
                    "Only the {} can {} this call",
                    needed_party(action),
                    action.verb()
                ),
            ),
            TransitionError::InvalidState { action, state } => {
                ApiError::invalid_call_state(action.verb(), state)
            }
        })?;

        let detail = match outcome {
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
                if to == CallState::Accepted {
                    record.call.answered_at = Some(now);
                }
                if to.is_terminal() {
                    record.call.ended_at = Some(now);
                    record.call.duration = call_duration(record.call.answered_at, Some(now));
                }
                match (event, end_reason) {
                    (CallEventType::CallEnded, Some(reason)) => CallEventDetail::CallEnded {
                        reason,
                        ended_by_id: actor_id,
                        duration: record.call.duration,
                    },
                    (CallEventType::ParticipantRinging, _) => CallEventDetail::ParticipantRinging,
                    (CallEventType::CallAccepted, _) => CallEventDetail::CallAccepted,
                    _ => CallEventDetail::CallRejected,
                }
            }
            Outcome::Updated { .. } => {
                let (Some(party), Some(status), Who::User(user)) = (party, media, who) else {
                    return Err(ApiError::missing_argument("status").into());
                };
                *record.media_status_mut(party) = Some(status);
                CallEventDetail::CallStatusUpdate {
                    status,
                    updated_by_id: user.id,
                    updated_by_name: user.full_name.clone(),
                }
            }
        };

        let audit = AuditEntry {
            call_id,
            at: now,
            actor_id,
            action: detail.event_type().as_str().to_owned(),
            state: record.call.state,
            detail: audit_detail(&detail),
        };
        store.apply_transition(&record, std::slice::from_ref(&audit))?;
        let earliest = self
            .state
            .deadlines
            .set(call_id, next_deadline(&record.call, self.state.settings()));
        if record.call.state != before {
            self.state
                .metrics
                .record_transition(Some(before), &record.call);
        }
        // Bot parties plan what the new state calls for (see `bots`).
        let bots_due = self.state.bots.call_changed(Some(before), &record.call);
        if record.call.state != before
            && let Some(kind) = PushKind::for_state(record.call.state)
        {
            self.push(&mut store, &record, kind, now);
        }
        self.announce(&mut store, &record, detail, now);
        drop(store);
        if earliest || bots_due {
            self.state.deadlines_changed.notify_one();
        }
        tracing::info!(%call_id, ?action, ?actor, from = %before, to = %record.call.state, "call changed");
        Ok(Acted {
            record,
            outcome,
            party,
        })
    }

    /// A call `who` may see: in their realm and, for users, one they are party to.
    pub fn visible_call(
        &self,
        store: &Store,
        call_id: CallId,
        who: Who<'_>,
    ) -> ApiResult<CallRecord> {
        let not_found = || ApiError::new(ErrorCode::CallNotFound, "Call not found");
        let record = store.call(call_id)?.ok_or_else(not_found)?;
        if let Who::User(user) = who {
            if record.realm_id != user.realm_id {
                return Err(not_found().into());
            }
            if record.call.party_of(user.id).is_none() {
                return Err(not_a_participant().into());
            }
        }
        Ok(record)
    }

    /// Sends a call event to both parties' queues once the change is on disk, then wakes
    /// whatever waits on changes (the call changed, its events were queued and its pushes
    /// recorded).
    fn announce(
        &self,
        storage: &mut Storage,
        record: &CallRecord,
        detail: CallEventDetail,
        now: Timestamp,
    ) {
        let event = EventKind::Call(Box::new(CallEvent::new(&record.call, now, detail)));
        let parties = [record.call.sender_id, record.call.receiver_id];
        storage.after_commit(self.state, move |state| {
            for user in parties {
                state.queues.send(user, &event);
            }
            state.note_change();
        });
    }

    /// Records the push for `kind` to each device of its recipient.
    fn push(&self, store: &mut Storage, record: &CallRecord, kind: PushKind, now: Timestamp) {
        let settings = self.state.settings();
        if !settings.call_push_notification_enabled {
            return;
        }
        let recipient = match kind {
            PushKind::CallResponse(_) => record.call.sender_id,
            _ => record.call.receiver_id,
        };
        let devices = match store.devices_of(recipient) {
            Ok(devices) if devices.is_empty() => return,
            Ok(devices) => devices,
            Err(err) => {
                tracing::error!(error = %err, "could not read devices");
                return;
            }
        };
        let realm_url = self
            .state
            .directory()
            .realm(record.realm_id)
            .map(|r| r.url.clone())
            .unwrap_or_default();
        let Some(context) = PushContext::from_realm_url(&realm_url, settings.timeout_seconds())
        else {
            tracing::warn!(realm_url, "realm URL has no host; push not built");
            return;
        };
        let notification = PushNotification::new(&record.call, recipient, kind, &context, now);
        for device in devices {
            let provider = crate::store::DeviceKind::of(&device).as_str();
            let target = match device {
                Device::Fcm { token } => PushTarget::Fcm { token },
                Device::Apns { token, appid } => PushTarget::Apns { token, appid },
            };
            let request = build_push(
                &target,
                &notification,
                &settings.call_push_notification_sound,
            );
            let body = serde_json::to_value(&request).unwrap_or_default();
            tracing::info!(user = %recipient, call_id = %record.call.call_id, event = %kind.event(), "push recorded");
            match store.record_push(
                now,
                recipient,
                record.call.call_id,
                kind.event().as_str(),
                &body,
            ) {
                Ok(entry) => {
                    self.state
                        .metrics
                        .record_push(provider, kind.event().as_str());
                    store.after_commit(self.state, move |state| state.forward_push(&entry));
                }
                Err(err) => tracing::error!(error = %err, "could not record a push"),
            }
        }
    }
}

fn not_a_participant() -> ApiError {
    ApiError::new(
        ErrorCode::NotAParticipant,
        "You are not a participant of this call",
    )
}

fn needed_party(action: Action) -> &'static str {
    match action {
        Action::Acknowledge | Action::Accept | Action::Reject => "receiver",
        Action::End | Action::Status => "sender or receiver",
        Action::RingTimeout | Action::NotificationTimeout | Action::MaxDuration => "server",
        Action::Cleanup => "operator",
    }
}

fn capitalized(call_type: CallType) -> &'static str {
    match call_type {
        CallType::Video => "Video",
        CallType::Audio => "Audio",
    }
}

fn audit_detail(detail: &CallEventDetail) -> serde_json::Value {
    match detail {
        CallEventDetail::CallEnded {
            reason, duration, ..
        } => {
            json!({ "reason": reason, "duration": duration })
        }
        CallEventDetail::CallStatusUpdate { status, .. } => json!({ "status": status }),
        CallEventDetail::CallStarted { timeout_seconds } => {
            json!({ "timeout_seconds": timeout_seconds })
        }
        _ => json!({}),
    }
}

/// The next deadline of a call and the action it triggers (spec §3, §8).
pub fn next_deadline(
    call: &Call,
    settings: &zulip_calls_protocol::settings::Settings,
) -> Option<(Timestamp, Action)> {
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
        CallState::Accepted => call.answered_at.map(|answered| {
            (
                answered.plus_seconds(secs(settings.call_max_duration)),
                Action::MaxDuration,
            )
        }),
        _ => None,
    }
}

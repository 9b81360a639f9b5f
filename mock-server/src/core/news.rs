//! What the core announces, and to whom.
//!
//! The core says what happened once, in its own neutral terms: a call changed ([`CallChange`]:
//! which call, from what state, what the state machine made of it, by whom), a group call
//! changed ([`GroupChange`]), a push was recorded ([`RecordedPush`]). What that means on a
//! wire or a dashboard is each [`Listener`]'s business: a dialect's event renderer queues it
//! in its format, the push outbox builds provider requests, metrics count, bots plan their
//! answer. Listeners that keep their own timers (bots) are [`Timed`]: the deadline scheduler
//! and the virtual clock fire them beside the call deadlines, without knowing what they are.
//!
//! Adding a listener or a wire format means writing one of these and handing it to
//! [`Listeners`] where the server is assembled; no core file changes.

use std::fmt::Debug;
use std::sync::Arc;

use serde::Serialize;
use zulip_calls_protocol::plugin::group::{GroupEndReason, GroupLeftReason, ParticipantState};
use zulip_calls_protocol::{CallEventType, CallId, CallState, QueueId, Timestamp, UserId};

use super::group::GroupRecord;
use super::model::{CallRecord, OutboxEntry};
use super::{Core, Storage};

/// A call was created or changed, as the state machine saw it.
#[derive(Debug, Clone)]
pub struct CallChange {
    /// The call after the change.
    pub record: CallRecord,
    /// Its state before; `None` for a call just created.
    pub before: Option<CallState>,
    /// What the state machine says happened (`call_started` for a creation).
    pub event: CallEventType,
    /// The user who acted; `None` for the server's deadlines and an operator's cleanup. For a
    /// media status update, the party whose status is now in the record.
    pub by: Option<UserId>,
    pub at: Timestamp,
}

impl CallChange {
    /// The users the change concerns: both parties.
    pub fn parties(&self) -> [UserId; 2] {
        [self.record.call.sender_id, self.record.call.receiver_id]
    }

    /// Whether the call's state moved (a media status update does not move it).
    pub fn moved(&self) -> bool {
        self.before != Some(self.record.call.state)
    }
}

/// A group call was created or changed (the 1.1 dialect's §6), in the core's terms: one
/// change per thing that happened to the call or to one participant.
#[derive(Debug, Clone)]
pub struct GroupChange {
    /// The call after the change, with every participant.
    pub record: GroupRecord,
    /// Each participant's state before the change, in the record's order; empty for a call
    /// just created. (Who was still engaged before an end is who hears of it.)
    pub before: Vec<(UserId, ParticipantState)>,
    pub what: GroupHappening,
    /// The user who acted; `None` for the server's deadlines.
    pub by: Option<UserId>,
    pub at: Timestamp,
}

impl GroupChange {
    /// The state `user` was in before the change, if they had a place in the call.
    pub fn state_before(&self, user: UserId) -> Option<ParticipantState> {
        self.before
            .iter()
            .find_map(|(id, state)| (*id == user).then_some(*state))
    }
}

/// What happened to a group call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupHappening {
    /// The host created it, inviting `invited`.
    Created {
        invited: Vec<UserId>,
    },
    /// A joined participant (`by`) invited `users`: new participants, or ones who had
    /// declined, missed or left and are `invited` again.
    Invited {
        users: Vec<UserId>,
    },
    /// An invitee's device or queue was reached: `invited` → `ringing`.
    Ringing {
        user: UserId,
    },
    Joined {
        user: UserId,
    },
    /// A joined participant left, by choice or dropped for silence.
    Left {
        user: UserId,
        reason: GroupLeftReason,
    },
    Declined {
        user: UserId,
    },
    /// An invitee's ring ran out.
    Missed {
        user: UserId,
    },
    /// The call ended; pending invitees are now `missed`, joined participants `left`.
    Ended {
        reason: GroupEndReason,
    },
}

/// A push the outbox recorded for one device.
#[derive(Debug, Clone)]
pub struct RecordedPush {
    pub entry: OutboxEntry,
    /// `fcm` or `apns`.
    pub provider: &'static str,
}

/// What a listener may do while it hears the news: the change is written but not committed,
/// and the store lock is held, so nobody can see the change before every listener heard it.
pub struct Tx<'a> {
    pub core: &'a Core,
    storage: &'a mut Storage,
    wake: bool,
}

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("wake", &self.wake)
            .finish_non_exhaustive()
    }
}

impl<'a> Tx<'a> {
    pub(super) fn new(core: &'a Core, storage: &'a mut Storage) -> Self {
        Tx {
            core,
            storage,
            wake: false,
        }
    }

    /// The store, inside the change's transaction (the push outbox writes its rows here).
    pub fn store(&mut self) -> &mut super::store::Store {
        self.storage
    }

    /// Runs `effect` once the change is on disk: what others can observe (a queued event, a
    /// forwarded push) must wait for that.
    pub fn after_commit(&mut self, effect: impl FnOnce(&Core) + Send + 'static) {
        self.storage.after_commit(self.core, effect);
    }

    /// Asks the deadline scheduler to look again (a [`Timed`] listener has a new earliest
    /// task).
    pub fn wake_scheduler(&mut self) {
        self.wake = true;
    }

    /// Tells every listener that a push was recorded.
    pub fn announce_push(&mut self, push: &RecordedPush) {
        let core = self.core;
        for listener in &core.listeners.heard {
            listener.push_recorded(push, self);
        }
    }

    pub(super) fn wakes(&self) -> bool {
        self.wake
    }
}

/// Something that hears the core's news. Called under the store lock, in the order changes
/// are made, so keep it short; defer what others can observe with [`Tx::after_commit`].
pub trait Listener: Debug + Send + Sync {
    /// A call was created or changed.
    fn call_changed(&self, _change: &CallChange, _tx: &mut Tx<'_>) {}

    /// A group call was created or changed.
    fn group_changed(&self, _change: &GroupChange, _tx: &mut Tx<'_>) {}

    /// A push was recorded.
    fn push_recorded(&self, _push: &RecordedPush, _tx: &mut Tx<'_>) {}
}

/// A listener with timers of its own, fired on the server's clock beside the call deadlines
/// (and so, on a virtual clock, only when time is moved, always in the same order).
pub trait Timed: Debug + Send + Sync {
    /// When its earliest task is due.
    fn next_due(&self) -> Option<Timestamp>;

    /// Runs every task due at `now`; returns what it did.
    fn fire_due(&self, core: &Core, now: Timestamp) -> Vec<Fired>;
}

/// Something that fired on the server's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Fired {
    /// The call a deadline or a timed listener acted on; `null` for queue expiry,
    /// heartbeats and pruning.
    pub call_id: Option<CallId>,
    /// `ring_timeout`, `notification_timeout`, `max_duration`, `queue_expired`, `heartbeat`
    /// or `prune`; for group calls `group_participant_missed`, `group_heartbeat_lost` (with
    /// the participant in `user_id`), `group_empty` or `group_max_duration`; a timed
    /// listener's own name for what it did (a bot's `bot_accept`, ...).
    pub action: &'static str,
    /// When it came due (the clock stops at each deadline on the way).
    pub at: Timestamp,
    /// The queue that expired or got a heartbeat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// The owner of that queue, or the user a timed listener acted as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// How many old calls a prune deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<u64>,
}

/// Everyone who hears the core's news, in the order they hear it.
#[derive(Debug, Default, Clone)]
pub struct Listeners {
    heard: Vec<Arc<dyn Listener>>,
    timed: Vec<Arc<dyn Timed>>,
}

impl Listeners {
    /// Adds a listener; it hears after those added before it.
    #[must_use]
    pub fn listen(mut self, listener: Arc<dyn Listener>) -> Self {
        self.heard.push(listener);
        self
    }

    /// Adds timers fired on the server's clock.
    #[must_use]
    pub fn timed(mut self, timed: Arc<dyn Timed>) -> Self {
        self.timed.push(timed);
        self
    }

    /// Tells every listener that `change` happened; returns whether the scheduler should
    /// look again.
    pub(super) fn call_changed(
        &self,
        core: &Core,
        storage: &mut Storage,
        change: &CallChange,
    ) -> bool {
        let mut tx = Tx::new(core, storage);
        for listener in &self.heard {
            listener.call_changed(change, &mut tx);
        }
        tx.wakes()
    }

    /// Tells every listener that a group call changed; returns whether the scheduler should
    /// look again.
    pub(super) fn group_changed(
        &self,
        core: &Core,
        storage: &mut Storage,
        change: &GroupChange,
    ) -> bool {
        let mut tx = Tx::new(core, storage);
        for listener in &self.heard {
            listener.group_changed(change, &mut tx);
        }
        tx.wakes()
    }

    /// The earliest task of any timed listener.
    pub(super) fn next_due(&self) -> Option<Timestamp> {
        self.timed.iter().filter_map(|t| t.next_due()).min()
    }

    /// Fires what every timed listener has due at `now`, in the order they were added.
    pub(super) fn fire_due(&self, core: &Core, now: Timestamp) -> Vec<Fired> {
        self.timed
            .iter()
            .flat_map(|t| t.fire_due(core, now))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use zulip_calls_protocol::calls::CallTarget;
    use zulip_calls_protocol::settings::Settings;
    use zulip_calls_protocol::{Action, CallType};

    use super::*;
    use crate::core::calls::{CallDesk, Who};
    use crate::core::directory::Directory;
    use crate::core::model::{RealmId, RealmRecord};
    use crate::core::store::Store;
    use crate::core::{Clock, CoreOptions};

    /// What a listener heard of one change: state before, state after, event, actor.
    type Heard = (Option<CallState>, CallState, CallEventType, Option<UserId>);

    /// A listener written outside the core: it keeps what it heard, and what it saw once the
    /// change was committed.
    #[derive(Debug, Default)]
    struct Recorder {
        heard: Mutex<Vec<Heard>>,
        committed: Arc<Mutex<Vec<CallState>>>,
    }

    impl Listener for Recorder {
        fn call_changed(&self, change: &CallChange, tx: &mut Tx<'_>) {
            self.heard.lock().unwrap().push((
                change.before,
                change.record.call.state,
                change.event,
                change.by,
            ));
            let committed = Arc::clone(&self.committed);
            let state = change.record.call.state;
            tx.after_commit(move |_| committed.lock().unwrap().push(state));
        }
    }

    fn core_with(listener: Arc<Recorder>, batched: bool) -> Core {
        let users = vec![
            crate::core::directory::tests::user(1, "a@example.com"),
            crate::core::directory::tests::user(2, "b@example.com"),
        ];
        let realms = vec![RealmRecord {
            id: RealmId(1),
            name: "Test".into(),
            url: "http://localhost:9991".into(),
        }];
        let mut store = Store::open_in_memory().unwrap();
        store.replace_realms(&realms, &users).unwrap();
        if batched {
            store.batch_writes();
        }
        Core::new(
            Settings::default(),
            CoreOptions::default(),
            Clock::manual(Timestamp::from_unix_seconds(1_700_000_000).unwrap()),
            Directory::new(realms, users),
            store,
            Listeners::default().listen(listener),
        )
    }

    #[test]
    fn a_listener_hears_each_change_once_with_its_states_and_actor() {
        let recorder = Arc::new(Recorder::default());
        let core = core_with(Arc::clone(&recorder), false);
        let (caller, callee) = {
            let directory = core.directory();
            (
                directory.user(UserId(1)).unwrap().clone(),
                directory.user(UserId(2)).unwrap().clone(),
            )
        };
        let desk = CallDesk::new(&core);
        let call = desk
            .create(&caller, &CallTarget::Id(callee.id), CallType::Video)
            .unwrap();
        let call_id = call.call.call_id;
        desk.act(call_id, Who::User(&callee), Action::Acknowledge, None)
            .unwrap();
        // A second device's acknowledgement changes nothing, so nothing is announced.
        desk.act(call_id, Who::User(&callee), Action::Acknowledge, None)
            .unwrap();
        desk.act(call_id, Who::User(&callee), Action::Accept, None)
            .unwrap();
        // The maximum duration comes due (and a deadline acts only when it is due).
        assert!(matches!(
            desk.act(call_id, Who::Server, Action::MaxDuration, None)
                .unwrap()
                .outcome,
            zulip_calls_protocol::Outcome::Unchanged
        ));
        assert!(core.clock.advance_millis(3_600_000));
        desk.act(call_id, Who::Server, Action::MaxDuration, None)
            .unwrap();
        assert_eq!(
            *recorder.heard.lock().unwrap(),
            [
                (
                    None,
                    CallState::Calling,
                    CallEventType::CallStarted,
                    Some(UserId(1))
                ),
                (
                    Some(CallState::Calling),
                    CallState::Ringing,
                    CallEventType::ParticipantRinging,
                    Some(UserId(2))
                ),
                (
                    Some(CallState::Ringing),
                    CallState::Accepted,
                    CallEventType::CallAccepted,
                    Some(UserId(2))
                ),
                (
                    Some(CallState::Accepted),
                    CallState::Ended,
                    CallEventType::CallEnded,
                    None
                ),
            ]
        );
        // Unbatched, every change is on disk at once, and so is what waited for it.
        assert_eq!(recorder.committed.lock().unwrap().len(), 4);
    }

    #[test]
    fn what_a_listener_defers_waits_for_the_commit() {
        let recorder = Arc::new(Recorder::default());
        let core = core_with(Arc::clone(&recorder), true);
        let caller = core.directory().user(UserId(1)).unwrap().clone();
        CallDesk::new(&core)
            .create(&caller, &CallTarget::Id(UserId(2)), CallType::Audio)
            .unwrap();
        assert_eq!(recorder.heard.lock().unwrap().len(), 1);
        assert!(recorder.committed.lock().unwrap().is_empty());
        core.commit_pending().unwrap();
        assert_eq!(*recorder.committed.lock().unwrap(), [CallState::Calling]);
    }
}

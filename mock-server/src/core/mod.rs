//! The call core: calls under the protocol's state machine, group calls under its
//! participant rules ([`group`]), event queues, deadlines, the clock, realms and users, join
//! URLs and pushes, persisted in SQLite. It knows nothing of HTTP, of the QA features or of
//! how the server is started: it imports the protocol and itself only, reports failures with
//! its own errors ([`CallError`], [`GroupError`], [`QueueError`], [`StoreError`]) and
//! announces what happened to its [`Listeners`] (see [`news`]).
//!
//! Every call mutation happens under one lock (the store's): of two racing requests, exactly
//! one sees the old state and wins.

pub mod calls;
pub mod clock;
pub mod compat;
pub mod deadlines;
pub mod directory;
pub mod error;
pub mod event_log;
pub mod group;
pub mod jitsi;
pub mod model;
pub mod news;
pub mod presence;
pub mod pushes;
pub mod queues;
pub mod virtual_time;

pub mod store;

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use tokio::sync::Notify;
use zulip_calls_protocol::settings::Settings;

pub use self::clock::Clock;
pub use self::compat::Quirks;
pub use self::error::CallError;
pub use self::group::{GroupDesk, GroupError};
pub use self::news::{
    CallChange, Fired, GroupChange, GroupHappening, Listener, Listeners, RecordedPush, Timed, Tx,
};
pub use self::queues::QueueError;
pub use self::store::StoreError;

use self::directory::Directory;
use self::jitsi::JoinUrls;
use self::queues::Queues;
use self::store::Store;
use self::store::batch::BatchCounters;

/// How the core runs, beside the plugin settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoreOptions {
    /// Time moves only when told to (`serve --virtual-clock`): deadlines fire on a move,
    /// never by wall time.
    pub virtual_clock: bool,
    /// Delete finished calls and ended group calls older than this many days, every
    /// `CALL_CLEANUP_INTERVAL`.
    pub prune_calls_after_days: Option<u32>,
}

/// The core: shared by every layer above it.
#[derive(Debug)]
pub struct Core {
    settings: Settings,
    /// Where this server behaves as the deployed plugin rather than the contract.
    quirks: Quirks,
    pub options: CoreOptions,
    pub clock: Clock,
    pub queues: Queues,
    pub join_urls: JoinUrls,
    /// Pending call deadlines, for the scheduler.
    pub deadlines: deadlines::DeadlineIndex,
    /// Woken whenever a deadline may have moved (a call changed, a queue was polled).
    pub deadlines_changed: Notify,
    /// Bumped whenever something observable happened (a call changed state, an event was
    /// queued, a push was recorded; the layers above bump it for their own news too), so
    /// whoever waits for a condition looks again; see [`Core::note_change`].
    pub changes: tokio::sync::watch::Sender<u64>,
    /// Bookkeeping of the virtual clock (`serve --virtual-clock`).
    pub virtual_time: virtual_time::VirtualTime,
    listeners: Listeners,
    directory: RwLock<Directory>,
    /// Every call mutation happens under this lock.
    store: Mutex<Storage>,
    /// The store's batch counters when its writes are batched (see `store::batch`).
    batch: Option<Arc<BatchCounters>>,
}

/// What runs once the batch it was queued in is committed: the announcements of a change.
type AfterCommit = Box<dyn FnOnce(&Core) + Send>;

/// The store and, when its writes are batched, what waits for the open batch's commit, in
/// the order it was queued (so events reach queues in the order their changes were made).
pub struct Storage {
    store: Store,
    after_commit: Vec<AfterCommit>,
}

impl Storage {
    /// Runs `effect` once what was written so far is on disk: at once when it already is,
    /// else right after the batch's commit (and never, if that fails).
    pub fn after_commit(&mut self, core: &Core, effect: impl FnOnce(&Core) + Send + 'static) {
        if self.store.in_batch() {
            self.after_commit.push(Box::new(effect));
        } else {
            effect(core);
        }
    }
}

impl std::ops::Deref for Storage {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

impl std::ops::DerefMut for Storage {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.store
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("store", &self.store)
            .field("after_commit", &self.after_commit.len())
            .finish()
    }
}

impl Core {
    /// A core over an opened store and a loaded directory, announcing to `listeners`.
    pub fn new(
        settings: Settings,
        options: CoreOptions,
        clock: Clock,
        directory: Directory,
        store: Store,
        listeners: Listeners,
    ) -> Self {
        let changes = tokio::sync::watch::Sender::new(0);
        Core {
            batch: store.batch_counters(),
            join_urls: JoinUrls::new(&settings, Quirks::of(&settings).plugin_join_urls),
            quirks: Quirks::of(&settings),
            settings,
            options,
            clock,
            queues: Queues::notifying(changes.clone()),
            deadlines: deadlines::DeadlineIndex::default(),
            deadlines_changed: Notify::new(),
            changes,
            virtual_time: virtual_time::VirtualTime::default(),
            listeners,
            directory: RwLock::new(directory),
            store: Mutex::new(Storage {
                store,
                after_commit: Vec::new(),
            }),
        }
    }

    /// The plugin settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Where this server behaves as the deployed plugin (see [`compat`]).
    pub fn quirks(&self) -> &Quirks {
        &self.quirks
    }

    /// The call deadlines due at `now` that fire on time: none where they wait for the next
    /// call's creation instead, as on a deployed plugin (see [`compat`] and
    /// `CallDesk::sweep_if_lazy`).
    pub fn deadlines_due_on_time(
        &self,
        now: zulip_calls_protocol::Timestamp,
    ) -> Vec<(zulip_calls_protocol::CallId, zulip_calls_protocol::Action)> {
        if self.quirks.deadlines_on_create_only {
            Vec::new()
        } else {
            self.deadlines.take_due(now)
        }
    }

    /// The group call deadlines due at `now` that fire on time: none where only the plugin's
    /// cleanup worker fires them (see [`compat`] and [`deadlines::run_cleanup_worker`]).
    pub fn group_deadlines_due_on_time(
        &self,
        now: zulip_calls_protocol::Timestamp,
    ) -> Vec<(zulip_calls_protocol::CallId, group::GroupDeadline)> {
        if self.quirks.group_deadlines_by_worker_only {
            Vec::new()
        } else {
            self.deadlines.take_due_groups(now)
        }
    }

    /// The earliest call deadline that fires on time (see [`Core::deadlines_due_on_time`]
    /// and [`Core::group_deadlines_due_on_time`]), of either kind.
    pub fn next_deadline_on_time(&self) -> Option<zulip_calls_protocol::Timestamp> {
        let calls = if self.quirks.deadlines_on_create_only {
            None
        } else {
            self.deadlines.next()
        };
        let groups = if self.quirks.group_deadlines_by_worker_only {
            None
        } else {
            self.deadlines.next_group()
        };
        match (calls, groups) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether a callee is told "online" (`receiver_online`, `receiver_was_offline`): they
    /// have a live event queue, unless this server always says "offline" as deployed plugins do.
    pub fn reports_online(&self, user: zulip_calls_protocol::UserId) -> bool {
        !self.quirks.receiver_always_offline && self.queues.is_online(user)
    }

    /// Wakes everything waiting in `changes` (cheap; waiters re-check their condition).
    pub fn note_change(&self) {
        self.changes
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    /// Realms and users.
    pub fn directory(&self) -> RwLockReadGuard<'_, Directory> {
        // Readers cannot observe a half-written directory (it is replaced whole), so a
        // poisoned lock is still consistent.
        self.directory
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the realms and users (the control API's user management). Callers hold the
    /// store lock while they write the same users to storage, so the two never disagree.
    pub fn replace_directory(&self, directory: Directory) {
        *self
            .directory
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = directory;
    }

    /// Exclusive access to storage (and so to every call's state).
    pub fn store(&self) -> MutexGuard<'_, Storage> {
        // SQLite rolls back a transaction that a panic interrupted, so the data behind a
        // poisoned lock is consistent.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The listeners' timers: the earliest one due.
    pub fn next_timed(&self) -> Option<Timestamp> {
        self.listeners.next_due()
    }

    /// Fires the listeners' timers due at `now`.
    pub fn fire_timed(&self, now: Timestamp) -> Vec<Fired> {
        self.listeners.fire_due(self, now)
    }
}

use zulip_calls_protocol::Timestamp;

impl Core {
    /// Commits the open batch, if any, and runs what waited for it.
    pub fn commit_pending(&self) -> Result<(), StoreError> {
        let mut storage = self.store();
        self.commit_locked(&mut storage)
    }

    /// [`Core::commit_pending`], then a checkpoint on the writer's connection (which
    /// cannot checkpoint inside an open transaction); see `store::checkpoint`.
    pub fn commit_and_checkpoint(&self) -> Result<(i64, i64), StoreError> {
        let mut storage = self.store();
        self.commit_locked(&mut storage)?;
        storage.checkpoint()
    }

    fn commit_locked(&self, storage: &mut Storage) -> Result<(), StoreError> {
        let committed = storage.store.commit_batch();
        let effects = std::mem::take(&mut storage.after_commit);
        match committed {
            Ok(_) => {
                for effect in effects {
                    effect(self);
                }
                Ok(())
            }
            Err(err) => {
                tracing::error!(error = %err, dropped = effects.len(), "a batch of changes could not be committed");
                Err(err)
            }
        }
    }

    /// Whether changes wait in an open batch (lock-free).
    pub fn has_pending_writes(&self) -> bool {
        self.batch
            .as_ref()
            .is_some_and(|batch| batch.pending().is_some())
    }

    /// Resolves once everything written before the call is on disk (and announced): what a
    /// response waits for. The first waiter of a batch lets the other ready requests join it,
    /// then commits it for all, and lets the listeners of what it announced go first.
    pub async fn durable(&self) -> Result<(), StoreError> {
        let Some(batch) = &self.batch else {
            return Ok(());
        };
        let Some(target) = batch.pending() else {
            return Ok(());
        };
        tokio::task::yield_now().await;
        if !batch.has_ended(target) {
            let committed = {
                let mut storage = self.store();
                (!batch.has_ended(target)).then(|| self.commit_locked(&mut storage))
            };
            if let Some(committed) = committed {
                // The commit has just queued its events and woken their listeners; letting
                // them run first sends a ring to its receiver before this answer goes back to
                // the caller, instead of after it (one pair: ring p50 0.35 -> 0.30 ms).
                tokio::task::yield_now().await;
                return committed;
            }
        }
        if batch.has_failed(target) {
            return Err(StoreError::NotCommitted);
        }
        Ok(())
    }
}

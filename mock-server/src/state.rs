//! The server's shared state: settings, clock, directory, storage, queues.

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use tokio::sync::Notify;
use zulip_calls_protocol::settings::Settings;

use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::directory::Directory;
use crate::domain::jitsi::JoinUrls;
use crate::domain::queues::Queues;
use crate::store::batch::BatchCounters;
use crate::store::{Store, StoreError};

/// Handlers share one of these.
pub type SharedState = Arc<AppState>;

/// Everything a request may touch.
#[derive(Debug)]
pub struct AppState {
    pub config: ServerConfig,
    pub clock: Clock,
    pub queues: Queues,
    pub join_urls: JoinUrls,
    pub rate_limiter: crate::ratelimit::RateLimiter,
    /// Pending call deadlines, for the scheduler.
    pub deadlines: crate::domain::deadlines::DeadlineIndex,
    /// Recorded pushes on their way to `PUSH_WEBHOOK_URL` (see `domain::webhook`), if set.
    webhook: Option<tokio::sync::mpsc::UnboundedSender<crate::model::OutboxEntry>>,
    /// Set when the server starts shutting down: long-polls answer at once and WebSockets
    /// close with 1012 (service restart), so clients reconnect instead of hanging on.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// Woken whenever a deadline may have moved (a call changed, a queue was polled).
    pub deadlines_changed: Notify,
    /// Bumped whenever something a QA `wait-for` can wait on happened (a call changed state,
    /// an event was queued, a push was recorded, a request was journaled); see
    /// [`AppState::note_change`].
    pub changes: tokio::sync::watch::Sender<u64>,
    /// Open event WebSockets, so they can be closed from outside their connection.
    pub sockets: crate::domain::sockets::Sockets,
    /// Bookkeeping of the virtual clock (`serve --virtual-clock`).
    pub virtual_time: crate::domain::virtual_time::VirtualTime,
    /// The `/metrics` series counted as things happen.
    pub metrics: crate::metrics::Metrics,
    /// The automated bots and their pending actions (see `bots`).
    pub bots: crate::bots::Bots,
    /// The latest requests to the Zulip and plugin API (see `journal`).
    pub journal: crate::journal::Journal,
    /// Fault injection rules (see `faults`).
    pub faults: crate::faults::Faults,
    directory: RwLock<Directory>,
    /// Every call mutation happens under this lock: of two racing requests, exactly one sees
    /// the old state and wins.
    store: Mutex<Storage>,
    /// The store's batch counters when its writes are batched (see `store::batch`).
    batch: Option<Arc<BatchCounters>>,
}

/// What runs once the batch it was queued in is committed: the announcements of a change.
type AfterCommit = Box<dyn FnOnce(&AppState) + Send>;

/// The store and, when its writes are batched, what waits for the open batch's commit, in
/// the order it was queued (so events reach queues in the order their changes were made).
pub struct Storage {
    store: Store,
    after_commit: Vec<AfterCommit>,
}

impl Storage {
    /// Runs `effect` once what was written so far is on disk: at once when it already is,
    /// else right after the batch's commit (and never, if that fails).
    pub fn after_commit(
        &mut self,
        state: &AppState,
        effect: impl FnOnce(&AppState) + Send + 'static,
    ) {
        if self.store.in_batch() {
            self.after_commit.push(Box::new(effect));
        } else {
            effect(state);
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

impl AppState {
    /// State over an opened store and a loaded directory.
    pub fn new(
        config: ServerConfig,
        clock: Clock,
        directory: Directory,
        store: Store,
        webhook: Option<tokio::sync::mpsc::UnboundedSender<crate::model::OutboxEntry>>,
    ) -> Self {
        let changes = tokio::sync::watch::Sender::new(0);
        AppState {
            batch: store.batch_counters(),
            join_urls: JoinUrls::new(&config.settings),
            config,
            clock,
            queues: Queues::notifying(changes.clone()),
            deadlines_changed: Notify::new(),
            changes,
            closing: tokio::sync::watch::Sender::new(false),
            rate_limiter: crate::ratelimit::RateLimiter::default(),
            deadlines: crate::domain::deadlines::DeadlineIndex::default(),
            webhook,
            sockets: crate::domain::sockets::Sockets::default(),
            virtual_time: crate::domain::virtual_time::VirtualTime::default(),
            metrics: crate::metrics::Metrics::new(),
            bots: crate::bots::Bots::default(),
            journal: crate::journal::Journal::default(),
            faults: crate::faults::Faults::default(),
            directory: RwLock::new(directory),
            store: Mutex::new(Storage {
                store,
                after_commit: Vec::new(),
            }),
        }
    }

    /// The plugin settings.
    pub fn settings(&self) -> &Settings {
        &self.config.settings
    }

    /// Hands a recorded push to the webhook sender, when one is configured. Never blocks:
    /// delivery happens outside the store lock.
    pub fn forward_push(&self, entry: &crate::model::OutboxEntry) {
        if let Some(webhook) = &self.webhook
            && webhook.send(entry.clone()).is_err()
        {
            tracing::warn!("push webhook sender has stopped");
        }
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
}

impl AppState {
    /// Commits the open batch, if any, and runs what waited for it.
    pub fn commit_pending(&self) -> Result<(), StoreError> {
        let mut storage = self.store();
        self.commit_locked(&mut storage)
    }

    /// [`AppState::commit_pending`], then a checkpoint on the writer's connection (which
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

/// Marks a response that carries only what is already committed, such as queued events (an
/// event is queued only after the commit of its change): it leaves without waiting for the
/// open batch, which a long-poll would otherwise wait on at every answer under load.
#[derive(Debug, Clone, Copy)]
pub struct AlreadyCommitted;

/// Resolves once the server starts shutting down (see [`AppState::closing`]).
pub async fn closed(closing: &mut tokio::sync::watch::Receiver<bool>) {
    // An error means the state is gone, which is a shutdown too.
    let _ = closing.wait_for(|closing| *closing).await;
}

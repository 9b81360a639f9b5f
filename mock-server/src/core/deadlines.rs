//! Fires call deadlines (ring timeout, missed, max duration; a group call's rings, heartbeat
//! watch, emptiness and max duration) and expires idle event queues,
//! sleeping until the earliest one rather than polling. Deadlines come from stored timestamps,
//! so they fire after a restart too.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use zulip_calls_protocol::{Action, CallId, Timestamp};

use super::Core;
use super::calls::{CallDesk, Who};
use super::group::{GroupDeadline, GroupDesk};

/// The longest the loop sleeps without looking again. Normally it sleeps until the earliest
/// deadline and is woken when an earlier one appears; this bound keeps the contract's promise
/// (a deadline fires within a second) even across a clock jump or a lost wake-up — one was
/// seen once in CI and not reproduced. A look costs a lock and a B-tree peek.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// Runs until the task is dropped.
pub async fn run(core: std::sync::Arc<Core>) {
    // A virtual clock fires deadlines only when it is moved (`virtual_time`): firing
    // here by wall time would make what fired depend on timing.
    if core.options.virtual_clock {
        return std::future::pending().await;
    }
    let mut next_prune = core.clock.now();
    loop {
        let mut next = fire_due(&core);
        let now = core.clock.now();
        if let Some(days) = core.options.prune_calls_after_days {
            if now >= next_prune {
                prune(&core, now, days);
                let interval =
                    i64::try_from(core.settings().call_cleanup_interval).unwrap_or(i64::MAX);
                next_prune = now.plus_seconds(interval);
            }
            next = Some(next.map_or(next_prune, |n| n.min(next_prune)));
        }
        let wait = match next {
            Some(at) => Duration::from_millis(
                u64::try_from(at.unix_millis().saturating_sub(now.unix_millis())).unwrap_or(0),
            )
            .min(MAX_SLEEP),
            None => MAX_SLEEP,
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = core.deadlines_changed.notified() => {}
        }
    }
}

/// Fires every deadline that has passed and returns the next one.
pub fn fire_due(core: &Core) -> Option<Timestamp> {
    let now = core.clock.now();
    let (expired, next_expiry) = core
        .queues
        .expire_if_due(now, core.settings().event_queue_lifespan);
    if expired > 0 {
        tracing::info!(expired, "event queues expired");
    }
    let desk = CallDesk::new(core);
    let due = core.deadlines_due_on_time(now);
    let calls_fired = !due.is_empty();
    for (call_id, action) in due {
        fire(&desk, call_id, action);
    }
    let groups = GroupDesk::new(core);
    let group_due = core.group_deadlines_due_on_time(now);
    let calls_fired = calls_fired || !group_due.is_empty();
    for (call_id, _) in group_due {
        for fired in groups.fire(call_id) {
            tracing::info!(%call_id, deadline = fired.name(), "group deadline fired");
        }
    }
    // Listeners' own timers (bots' delayed answers, ...) follow the same clock.
    let timed_fired = !core.fire_timed(now).is_empty();
    // No request waits on what fired: commit it now (a failure is logged). A wake that fired
    // nothing leaves the requests' batch to them.
    if calls_fired || timed_fired {
        let _ = core.commit_pending();
    }
    let next = match (core.next_deadline_on_time(), next_expiry) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match (next, core.next_timed()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Pending call deadlines, earliest first: what the scheduler sleeps on.
///
/// Kept in memory beside the store and updated under the store lock by every call change
/// (see `CallDesk` and `GroupDesk`); rebuilt from the stored calls at start. 1:1 calls and
/// group calls have a side each (their ids never collide, but their deadlines are fired by
/// different desks): [`DeadlineIndex::set`] and [`DeadlineIndex::take_due`] for the first,
/// [`DeadlineIndex::set_group`] and [`DeadlineIndex::take_due_groups`] for the second. A
/// group call has one entry, its earliest deadline; firing it re-reads the call and applies
/// whatever is due, so the entry needs no more than the call id to be right after a restart.
#[derive(Debug, Default)]
pub struct DeadlineIndex {
    calls: Mutex<IndexInner<Action>>,
    groups: Mutex<IndexInner<GroupDeadline>>,
}

#[derive(Debug)]
struct IndexInner<A> {
    by_time: BTreeSet<(Timestamp, CallId)>,
    by_call: HashMap<CallId, (Timestamp, A)>,
}

impl<A> Default for IndexInner<A> {
    fn default() -> Self {
        IndexInner {
            by_time: BTreeSet::new(),
            by_call: HashMap::new(),
        }
    }
}

impl<A: Copy> IndexInner<A> {
    fn set(&mut self, call_id: CallId, deadline: Option<(Timestamp, A)>) -> bool {
        if let Some((at, _)) = self.by_call.remove(&call_id) {
            self.by_time.remove(&(at, call_id));
        }
        let Some((at, action)) = deadline else {
            return false;
        };
        self.by_call.insert(call_id, (at, action));
        self.by_time.insert((at, call_id));
        self.by_time.first() == Some(&(at, call_id))
    }

    fn take_due(&mut self, now: Timestamp) -> Vec<(CallId, A)> {
        let mut due = Vec::new();
        while let Some(&(at, call_id)) = self.by_time.first() {
            if at > now {
                break;
            }
            self.by_time.pop_first();
            if let Some((_, action)) = self.by_call.remove(&call_id) {
                due.push((call_id, action));
            }
        }
        due
    }

    fn clear(&mut self) {
        self.by_time.clear();
        self.by_call.clear();
    }
}

/// Each update leaves both maps consistent before it can panic, so a poisoned lock still
/// holds a usable index.
fn lock<A>(inner: &Mutex<IndexInner<A>>) -> std::sync::MutexGuard<'_, IndexInner<A>> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl DeadlineIndex {
    /// Sets (or, with `None`, clears) the deadline of a 1:1 call; returns whether it is now
    /// the earliest, so the caller knows to wake the scheduler.
    pub fn set(&self, call_id: CallId, deadline: Option<(Timestamp, Action)>) -> bool {
        let earliest = lock(&self.calls).set(call_id, deadline);
        earliest && deadline.is_some_and(|(at, _)| self.next_group().is_none_or(|g| at <= g))
    }

    /// Removes and returns every 1:1 call deadline at or before `now`.
    pub fn take_due(&self, now: Timestamp) -> Vec<(CallId, Action)> {
        lock(&self.calls).take_due(now)
    }

    /// The earliest pending 1:1 call deadline.
    pub fn next(&self) -> Option<Timestamp> {
        lock(&self.calls).by_time.first().map(|(at, _)| *at)
    }

    /// Sets (or clears) a group call's earliest deadline; returns whether it is now the
    /// earliest of all.
    pub fn set_group(&self, call_id: CallId, deadline: Option<(Timestamp, GroupDeadline)>) -> bool {
        let earliest = lock(&self.groups).set(call_id, deadline);
        earliest && deadline.is_some_and(|(at, _)| self.next().is_none_or(|c| at <= c))
    }

    /// Removes and returns every group call deadline at or before `now`.
    pub fn take_due_groups(&self, now: Timestamp) -> Vec<(CallId, GroupDeadline)> {
        lock(&self.groups).take_due(now)
    }

    /// The earliest pending group call deadline.
    pub fn next_group(&self) -> Option<Timestamp> {
        lock(&self.groups).by_time.first().map(|(at, _)| *at)
    }

    /// The pending deadline of group call `call_id`.
    pub fn group_deadline(&self, call_id: CallId) -> Option<(Timestamp, GroupDeadline)> {
        lock(&self.groups).by_call.get(&call_id).copied()
    }

    /// Forgets every pending deadline (the control API's reset, which deletes the calls).
    pub fn clear(&self) {
        lock(&self.calls).clear();
        lock(&self.groups).clear();
    }

    /// Number of pending deadlines, of both kinds.
    pub fn len(&self) -> usize {
        lock(&self.calls).by_call.len() + lock(&self.groups).by_call.len()
    }

    /// No pending deadline.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One deadline a run of the cleanup worker fired.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Swept {
    pub call_id: CallId,
    /// What fired (`notification_timeout`, `group_heartbeat_lost`, ...).
    pub action: &'static str,
    /// The participant it concerned, for a group call's.
    pub user_id: Option<zulip_calls_protocol::UserId>,
}

/// One run of the plugin's cleanup worker, as `manage.py cleanup_calls` would start it where
/// the worker is wired: every deadline due now, of 1:1 calls (its `cleanup_stale_calls`)
/// and then of group calls (its `_cleanup_stale_group_calls`), whether or not they were
/// waiting for a trigger (see `compat`). On a server whose deadlines fire on time, the
/// ones due but not yet fired (none, normally).
pub fn run_cleanup_worker(core: &Core) -> Vec<Swept> {
    let now = core.clock.now();
    let mut swept = Vec::new();
    let desk = CallDesk::new(core);
    for (call_id, action) in core.deadlines.take_due(now) {
        match desk.act(call_id, Who::Server, action, None) {
            Ok(acted) if !matches!(acted.outcome, zulip_calls_protocol::Outcome::Unchanged) => {
                swept.push(Swept {
                    call_id,
                    action: super::virtual_time::action_name(action),
                    user_id: None,
                });
            }
            Ok(_) => {}
            Err(err) => {
                tracing::debug!(%call_id, ?action, error = %err, "deadline no longer applies")
            }
        }
    }
    let groups = GroupDesk::new(core);
    for (call_id, _) in core.deadlines.take_due_groups(now) {
        for fired in groups.fire(call_id) {
            swept.push(Swept {
                call_id,
                action: fired.name(),
                user_id: fired.user(),
            });
        }
    }
    if !swept.is_empty() {
        tracing::info!(fired = swept.len(), "cleanup worker ran");
        let _ = core.commit_pending();
    }
    swept
}

/// Deletes finished calls that ended more than `days` ago (every realm).
pub fn prune(core: &Core, now: Timestamp, days: u32) {
    let cutoff = now.plus_seconds(-i64::from(days) * 86_400);
    match core.store().delete_terminal_ended_before(cutoff, None) {
        Ok(0) => {}
        Ok(deleted) => tracing::info!(deleted, "old calls pruned"),
        Err(err) => tracing::error!(error = %err, "could not prune old calls"),
    }
    let _ = core.commit_pending();
}

fn fire(desk: &CallDesk<'_>, call_id: CallId, action: Action) {
    match desk.act(call_id, Who::Server, action, None) {
        Ok(acted) => {
            tracing::info!(%call_id, ?action, state = %acted.record.call.state, "deadline fired")
        }
        // A request won the race (the call was answered or ended first): nothing to do.
        Err(err) => tracing::debug!(%call_id, ?action, error = %err, "deadline no longer applies"),
    }
}

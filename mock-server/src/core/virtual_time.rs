//! Moving a virtual clock (`serve --virtual-clock`): time passes only when the control API says
//! so, and every deadline that comes due on the way fires before the move is answered, in time
//! order, each at its own instant.
//!
//! The background scheduler stays idle on a virtual clock (see `deadlines::run`), so what fires,
//! and when, depends only on the requests a test sends: call deadlines (ring timeout,
//! notification timeout, maximum duration), bots' delayed actions, idle event queues
//! expiring, waiting long-polls' heartbeats and, when configured, the periodic pruning of old
//! calls.

use std::sync::{Mutex, MutexGuard};

use zulip_calls_protocol::{Action, Outcome, QueueId, Timestamp, UserId};

use super::Core;
use super::calls::{CallDesk, Who};
use super::group::GroupDesk;
pub use super::news::Fired;

/// More steps than any real advance needs; a bound so that a deadline that keeps coming due
/// at the same instant cannot spin forever.
const MAX_STEPS: usize = 100_000;

/// Why the clock did not move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("The server runs on the system clock; start it with --virtual-clock to move time")]
    NotVirtual,
    #[error("The clock cannot go back: it is {now}, {target} is earlier")]
    Backwards { now: Timestamp, target: Timestamp },
}

/// The virtual clock's own bookkeeping.
#[derive(Debug, Default)]
pub struct VirtualTime {
    /// Held for a whole move, so two moves never interleave their steps.
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// When old calls are next pruned (only with `prune_calls_after_days`).
    next_prune: Option<Timestamp>,
}

impl VirtualTime {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A move that panicked half-way left a consistent clock: every step is whole.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Starts a virtual clock: fires what is already due (deadlines of stored calls that passed
/// while the server was down) and prunes once, as the system-clock scheduler does at start.
pub fn start(core: &Core) -> Vec<Fired> {
    let now = core.clock.now();
    let mut inner = core.virtual_time.lock();
    if core.options.prune_calls_after_days.is_some() {
        inner.next_prune = Some(now);
    }
    let fired = step_to(core, &mut inner, now);
    drop(inner);
    for f in &fired {
        tracing::info!(action = f.action, at = %f.at, call_id = ?f.call_id, "due at start");
    }
    fired
}

/// Moves the clock forward by `millis`; see [`advance_to`].
pub fn advance_by(core: &Core, millis: i64) -> Result<Vec<Fired>, ClockError> {
    let now = core.clock.now();
    let target = Timestamp::from_unix_millis(now.unix_millis().saturating_add(millis))
        .unwrap_or(Timestamp(chrono::DateTime::<chrono::Utc>::MAX_UTC));
    advance_to(core, target)
}

/// Moves the clock to `target`, stopping at every deadline on the way to fire it at its own
/// time; returns what fired, in order.
pub fn advance_to(core: &Core, target: Timestamp) -> Result<Vec<Fired>, ClockError> {
    if !core.clock.is_manual() {
        return Err(ClockError::NotVirtual);
    }
    let mut inner = core.virtual_time.lock();
    let now = core.clock.now();
    if target < now {
        return Err(ClockError::Backwards { now, target });
    }
    let fired = step_to(core, &mut inner, target);
    drop(inner);
    tracing::info!(from = %now, to = %target, fired = fired.len(), "virtual clock moved");
    if !fired.is_empty() {
        core.note_change();
    }
    Ok(fired)
}

/// The stepping itself, under the move lock.
fn step_to(core: &Core, inner: &mut Inner, target: Timestamp) -> Vec<Fired> {
    let mut fired = Vec::new();
    let mut now = core.clock.now();
    for _ in 0..MAX_STEPS {
        fire_due(core, inner, now, &mut fired);
        match next_due(core, inner) {
            Some(next) if next <= target => {
                now = now.max(next);
                core.clock.set(now);
            }
            _ => break,
        }
    }
    core.clock.set(target);
    fire_due(core, inner, target, &mut fired);
    // What fired is on disk and announced before the move is reported (a failure is logged).
    let _ = core.commit_pending();
    fired
}

/// The earliest thing that can come due.
fn next_due(core: &Core, inner: &Inner) -> Option<Timestamp> {
    let lifespan = core.settings().event_queue_lifespan;
    [
        core.next_deadline_on_time(),
        core.queues.next_expiry(lifespan),
        core.queues.next_heartbeat(),
        core.next_timed(),
        inner.next_prune,
    ]
    .into_iter()
    .flatten()
    .min()
}

/// Fires everything due at `now`, in a fixed order: call deadlines (by time, then call id),
/// group call deadlines (likewise), bots' actions, queue expiries, heartbeats, pruning.
fn fire_due(core: &Core, inner: &mut Inner, now: Timestamp, fired: &mut Vec<Fired>) {
    let desk = CallDesk::new(core);
    for (call_id, action) in core.deadlines_due_on_time(now) {
        match desk.act(call_id, Who::Server, action, None) {
            Ok(acted) if !matches!(acted.outcome, Outcome::Unchanged) => {
                tracing::info!(%call_id, ?action, state = %acted.record.call.state, at = %now, "deadline fired");
                fired.push(Fired {
                    call_id: Some(call_id),
                    action: action_name(action),
                    at: now,
                    queue_id: None,
                    user_id: None,
                    deleted: None,
                });
            }
            Ok(_) => {}
            Err(err) => {
                tracing::debug!(%call_id, ?action, error = %err, "deadline no longer applies")
            }
        }
    }
    let groups = GroupDesk::new(core);
    for (call_id, _) in core.group_deadlines_due_on_time(now) {
        for deadline in groups.fire(call_id) {
            tracing::info!(%call_id, deadline = deadline.name(), at = %now, "group deadline fired");
            fired.push(Fired {
                call_id: Some(call_id),
                action: deadline.name(),
                at: now,
                queue_id: None,
                user_id: deadline.user(),
                deleted: None,
            });
        }
    }
    // Listeners' own timers (bots' delayed answers and periodic calls, ...).
    fired.extend(core.fire_timed(now));
    let lifespan = core.settings().event_queue_lifespan;
    for (queue_id, user) in core.queues.expire_listed(now, lifespan) {
        tracing::info!(%queue_id, %user, at = %now, "event queue expired");
        fired.push(queue_fired("queue_expired", now, queue_id, user));
    }
    for (queue_id, user) in core.queues.fire_heartbeats(now) {
        fired.push(queue_fired("heartbeat", now, queue_id, user));
    }
    if let (Some(days), Some(due)) = (core.options.prune_calls_after_days, inner.next_prune)
        && due <= now
    {
        let cutoff = now.plus_seconds(-i64::from(days) * 86_400);
        match core.store().delete_terminal_ended_before(cutoff, None) {
            Ok(0) => {}
            Ok(deleted) => {
                tracing::info!(deleted, "old calls pruned");
                fired.push(Fired {
                    call_id: None,
                    action: "prune",
                    at: now,
                    queue_id: None,
                    user_id: None,
                    deleted: Some(deleted),
                });
            }
            Err(err) => tracing::error!(error = %err, "could not prune old calls"),
        }
        let interval = i64::try_from(core.settings().call_cleanup_interval).unwrap_or(i64::MAX);
        inner.next_prune = Some(now.plus_seconds(interval));
    }
}

fn queue_fired(action: &'static str, at: Timestamp, queue_id: QueueId, user: UserId) -> Fired {
    Fired {
        call_id: None,
        action,
        at,
        queue_id: Some(queue_id),
        user_id: Some(user),
        deleted: None,
    }
}

/// The name of a server action in `fired`.
pub(crate) fn action_name(action: Action) -> &'static str {
    match action {
        Action::RingTimeout => "ring_timeout",
        Action::NotificationTimeout => "notification_timeout",
        Action::MaxDuration => "max_duration",
        Action::Acknowledge => "acknowledge",
        Action::Accept => "accept",
        Action::Reject => "reject",
        Action::End => "end",
        Action::Status => "status",
        Action::Cleanup => "cleanup",
        Action::Cancel => "cancel",
        Action::HeartbeatLost => "heartbeat_lost",
    }
}

//! Event queues with Zulip's semantics (spec §5): one queue per registered client, every event
//! of a user copied to all of that user's queues, acknowledgement by `last_event_id`, expiry
//! after `EVENT_QUEUE_LIFESPAN` without a poll.
//!
//! Queues live in memory, as Zulip's do: a restart drops them and clients register again
//! (they get `BAD_EVENT_QUEUE_ID` and resynchronise from `GET calls/active`).

use std::collections::VecDeque;

use foldhash::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use zulip_calls_protocol::event::HEARTBEAT_TYPE;
use zulip_calls_protocol::{EventId, EventKind, QueueEvent, QueueId, Timestamp, UserId};

/// The wire format a queue takes the call events of: each API dialect renders the core's news
/// in its own format and queues it for the queues registered in that format, so a queue never
/// gets the same change twice. The core knows formats only by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventFormat(pub &'static str);

/// Why a queue operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// Unknown, expired, deleted, or another user's queue.
    #[error("Bad event queue ID: {0}")]
    BadQueue(QueueId),
}

/// All event queues of the server.
#[derive(Debug, Default)]
pub struct Queues {
    inner: Mutex<Inner>,
    /// Events added to any queue so far, for the metrics; shared with every queue.
    delivered: Arc<Delivered>,
    /// Every event queued for a user since start or reset, for `wait-for`.
    sent: crate::core::event_log::EventLog,
    /// Bumped by every [`Queues::send`]: the server's `changes` (see [`Queues::notifying`]).
    changes: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Inner {
    queues: QueueTable,
    next_queue: u64,
    /// No queue can expire before this; `None` after a registration (look again).
    next_check: Option<Timestamp>,
}

/// The queues by id, with each user's queue ids beside them: events are addressed to a user,
/// and looking through every queue for each event was most of the server's time once ten
/// thousand clients were connected.
#[derive(Debug, Default)]
struct QueueTable {
    by_id: HashMap<QueueId, Queue>,
    by_user: HashMap<UserId, Vec<QueueId>>,
}

impl QueueTable {
    fn insert(&mut self, id: QueueId, queue: Queue) {
        self.by_user.entry(queue.user).or_default().push(id.clone());
        if let Some(replaced) = self.by_id.insert(id.clone(), queue) {
            forget(&mut self.by_user, replaced.user, &id);
        }
    }

    fn remove(&mut self, id: &QueueId) -> Option<Queue> {
        let queue = self.by_id.remove(id)?;
        forget(&mut self.by_user, queue.user, id);
        Some(queue)
    }

    /// Keeps the queues `keep` says yes to.
    fn retain(&mut self, mut keep: impl FnMut(&QueueId, &mut Queue) -> bool) {
        let by_user = &mut self.by_user;
        self.by_id.retain(|id, queue| {
            let kept = keep(id, queue);
            if !kept {
                forget(by_user, queue.user, id);
            }
            kept
        });
    }

    /// Empties the table, handing its queues over.
    fn take_all(&mut self) -> HashMap<QueueId, Queue> {
        self.by_user.clear();
        std::mem::take(&mut self.by_id)
    }

    fn get(&self, id: &QueueId) -> Option<&Queue> {
        self.by_id.get(id)
    }

    fn get_mut(&mut self, id: &QueueId) -> Option<&mut Queue> {
        self.by_id.get_mut(id)
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }

    fn values(&self) -> impl Iterator<Item = &Queue> {
        self.by_id.values()
    }

    fn iter(&self) -> impl Iterator<Item = (&QueueId, &Queue)> {
        self.by_id.iter()
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = (&QueueId, &mut Queue)> {
        self.by_id.iter_mut()
    }

    fn has_user(&self, user: UserId) -> bool {
        self.by_user.contains_key(&user)
    }

    fn ids_of(&self, user: UserId) -> Vec<QueueId> {
        self.by_user.get(&user).cloned().unwrap_or_default()
    }

    /// Runs `f` on each queue of `user`.
    fn for_each_of_user(&mut self, user: UserId, mut f: impl FnMut(&mut Queue)) {
        let Some(ids) = self.by_user.get(&user) else {
            return;
        };
        for id in ids {
            if let Some(queue) = self.by_id.get_mut(id) {
                f(queue);
            }
        }
    }
}

/// Drops `id` from `user`'s list, and the list once it is empty.
fn forget(by_user: &mut HashMap<UserId, Vec<QueueId>>, user: UserId, id: &QueueId) {
    if let Some(ids) = by_user.get_mut(&user) {
        ids.retain(|listed| listed != id);
        if ids.is_empty() {
            by_user.remove(&user);
        }
    }
}

#[derive(Debug)]
struct Queue {
    user: UserId,
    /// `None` = every type.
    event_types: Option<Vec<String>>,
    /// `None` = whatever format an event is rendered in (see [`Queues::send_formatted`]).
    format: Option<EventFormat>,
    events: VecDeque<QueueEvent>,
    next_event_id: EventId,
    last_polled: Timestamp,
    /// Long-polls and WebSockets currently attached; a queue in use never expires.
    attached: usize,
    wake: Arc<Notify>,
    /// The counts of [`Queues::delivered`], bumped by every push whatever its path.
    delivered: Arc<Delivered>,
    /// Long-polls waiting on the queue now (a subset of `attached`).
    long_polls: usize,
    /// On a virtual clock, when the waiting long-polls answer with a heartbeat (the earliest
    /// of theirs); on the system clock each long-poll times itself and this stays `None`.
    heartbeat_due: Option<Timestamp>,
}

impl Queue {
    fn wants(&self, event_type: &str) -> bool {
        event_type == HEARTBEAT_TYPE
            || self
                .event_types
                .as_ref()
                .is_none_or(|types| types.iter().any(|t| t == event_type))
    }

    fn push(&mut self, kind: EventKind) -> EventId {
        self.delivered.count(&kind);
        let id = self.next_event_id;
        self.next_event_id = id.next();
        self.events.push_back(QueueEvent { id, kind });
        self.wake.notify_waiters();
        id
    }
}

/// One queue as the control API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    pub queue_id: QueueId,
    pub user_id: UserId,
    /// `None` = every type.
    pub event_types: Option<Vec<String>>,
    /// The format of the call events it takes; `None` = any.
    pub format: Option<EventFormat>,
    /// Events not yet acknowledged.
    pub pending: usize,
    pub last_polled: Timestamp,
    /// A long-poll is waiting on it now.
    pub long_polling: bool,
}

/// What a poll sees: the pending events and how to wait for more.
#[derive(Debug)]
pub struct Poll {
    pub events: Vec<QueueEvent>,
    /// Notified whenever an event is added to the queue.
    pub wake: Arc<Notify>,
}

impl Queues {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a queue half-updated (every mutation is
        // a single push/pop), so a poisoned lock is still safe to use.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a queue for `user` that takes events of any format; `event_types` = `None`
    /// means every type.
    pub fn register(
        &self,
        user: UserId,
        event_types: Option<Vec<String>>,
        now: Timestamp,
    ) -> QueueId {
        self.register_in(user, event_types, None, now)
    }

    /// Registers a queue for `user` that takes the call events of `format` only (and every
    /// event no format renders); `event_types` = `None` means every type.
    pub fn register_in(
        &self,
        user: UserId,
        event_types: Option<Vec<String>>,
        format: Option<EventFormat>,
        now: Timestamp,
    ) -> QueueId {
        let mut inner = self.lock();
        inner.next_queue += 1;
        inner.next_check = None;
        let suffix: u32 = rand::random();
        let id = QueueId(format!("{}:{:08x}", inner.next_queue, suffix));
        inner.queues.insert(
            id.clone(),
            Queue {
                user,
                event_types,
                format,
                events: VecDeque::new(),
                next_event_id: EventId(0),
                last_polled: now,
                attached: 0,
                wake: Arc::new(Notify::new()),
                delivered: Arc::clone(&self.delivered),
                long_polls: 0,
                heartbeat_due: None,
            },
        );
        id
    }

    /// Adds an event to every queue of `user` that wants its type.
    pub fn send(&self, user: UserId, kind: &EventKind) -> usize {
        self.send_to(user, None, kind)
    }

    /// Adds an event rendered in `format` to every queue of `user` in that format (or in
    /// none) that wants its type.
    pub fn send_formatted(&self, user: UserId, format: EventFormat, kind: &EventKind) -> usize {
        self.send_to(user, Some(format), kind)
    }

    fn send_to(&self, user: UserId, format: Option<EventFormat>, kind: &EventKind) -> usize {
        let mut inner = self.lock();
        let type_name = kind.type_name();
        let mut delivered = 0;
        inner.queues.for_each_of_user(user, |queue| {
            let in_format = format.is_none() || queue.format.is_none() || queue.format == format;
            if in_format && queue.wants(type_name) {
                queue.push(kind.clone());
                delivered += 1;
            }
        });
        drop(inner);
        if delivered > 0 {
            self.sent.record(user, kind, delivered);
        }
        // Every call change sends its parties an event, so this wakes `wait-for` for all.
        self.changes
            .send_modify(|generation| *generation = generation.wrapping_add(1));
        delivered
    }

    /// Queues whose [`Queues::send`] bumps `changes` (the server's `Core::changes`).
    pub fn notifying(changes: tokio::sync::watch::Sender<u64>) -> Self {
        Queues {
            changes,
            ..Queues::default()
        }
    }

    /// The events queued so far (since start or the last reset).
    pub fn sent(&self) -> &crate::core::event_log::EventLog {
        &self.sent
    }

    /// Discards events up to `last_event_id` and returns the rest (the Zulip `GET events`).
    pub fn poll(
        &self,
        user: UserId,
        queue_id: &QueueId,
        last_event_id: Option<EventId>,
        now: Timestamp,
    ) -> Result<Poll, QueueError> {
        let mut inner = self.lock();
        let queue = owned_queue(&mut inner, user, queue_id)?;
        if let Some(acked) = last_event_id {
            while queue.events.front().is_some_and(|e| e.id <= acked) {
                queue.events.pop_front();
            }
        }
        queue.last_polled = now;
        Ok(Poll {
            events: queue.events.iter().cloned().collect(),
            wake: Arc::clone(&queue.wake),
        })
    }

    /// Adds a heartbeat to the queue (when a long-poll had nothing to deliver) and returns
    /// every event not yet acknowledged, the heartbeat last: an event queued since the poll
    /// last looked goes out with it, or the heartbeat's id, acknowledged next, would discard
    /// it unseen.
    pub fn heartbeat(
        &self,
        user: UserId,
        queue_id: &QueueId,
    ) -> Result<Vec<QueueEvent>, QueueError> {
        let mut inner = self.lock();
        let queue = owned_queue(&mut inner, user, queue_id)?;
        queue.push(EventKind::Heartbeat);
        Ok(queue.events.iter().cloned().collect())
    }

    /// Marks a long-poll or WebSocket as attached (`true`) or gone (`false`).
    pub fn attach(&self, queue_id: &QueueId, attached: bool, now: Timestamp) {
        let mut inner = self.lock();
        if let Some(queue) = inner.queues.get_mut(queue_id) {
            queue.attached = if attached {
                queue.attached + 1
            } else {
                queue.attached.saturating_sub(1)
            };
            queue.last_polled = now;
        }
    }

    /// Deletes a queue (`DELETE events`).
    pub fn delete(&self, user: UserId, queue_id: &QueueId) -> Result<(), QueueError> {
        let mut inner = self.lock();
        owned_queue(&mut inner, user, queue_id)?;
        if let Some(queue) = inner.queues.remove(queue_id) {
            queue.wake.notify_waiters();
        }
        Ok(())
    }

    /// Deletes queues nobody polled for `lifespan_secs`; returns how many.
    pub fn expire(&self, now: Timestamp, lifespan_secs: u64) -> usize {
        let lifespan = i64::try_from(lifespan_secs).unwrap_or(i64::MAX);
        let mut inner = self.lock();
        let before = inner.queues.len();
        inner.queues.retain(|_, queue| {
            let keep = queue.attached > 0 || queue.last_polled.plus_seconds(lifespan) > now;
            if !keep {
                queue.wake.notify_waiters();
            }
            keep
        });
        before - inner.queues.len()
    }

    /// [`Queues::expire`] and [`Queues::next_expiry`] in one pass, skipped (cheaply) while no
    /// queue can have expired yet. Returns the next time worth looking.
    pub fn expire_if_due(&self, now: Timestamp, lifespan_secs: u64) -> (usize, Option<Timestamp>) {
        let lifespan = i64::try_from(lifespan_secs).unwrap_or(i64::MAX);
        let mut inner = self.lock();
        if let Some(next) = inner.next_check
            && now < next
        {
            return (0, Some(next));
        }
        let before = inner.queues.len();
        let mut next: Option<Timestamp> = None;
        inner.queues.retain(|_, queue| {
            if queue.attached > 0 {
                return true;
            }
            let expiry = queue.last_polled.plus_seconds(lifespan);
            if expiry > now {
                next = Some(next.map_or(expiry, |n| n.min(expiry)));
                true
            } else {
                queue.wake.notify_waiters();
                false
            }
        });
        // Attached queues expire no earlier than a lifespan after they detach.
        let check = next.unwrap_or_else(|| now.plus_seconds(lifespan));
        inner.next_check = Some(check);
        (before - inner.queues.len(), Some(check))
    }

    /// The earliest time a queue may expire, for scheduling [`Queues::expire`].
    pub fn next_expiry(&self, lifespan_secs: u64) -> Option<Timestamp> {
        let lifespan = i64::try_from(lifespan_secs).unwrap_or(i64::MAX);
        let inner = self.lock();
        inner
            .queues
            .values()
            .filter(|q| q.attached == 0)
            .map(|q| q.last_polled.plus_seconds(lifespan))
            .min()
    }

    /// `user` has at least one live queue (`create`'s `receiver_online`).
    pub fn is_online(&self, user: UserId) -> bool {
        self.lock().queues.has_user(user)
    }

    /// Number of queues, for metrics and tests.
    pub fn len(&self) -> usize {
        self.lock().queues.len()
    }

    /// No queue is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the control API and the virtual clock need: listing, removing queues whatever their
/// owner, and heartbeats timed by the server's clock.
impl Queues {
    /// Every queue, oldest first (optionally only `user`'s).
    pub fn list(&self, user: Option<UserId>) -> Vec<QueueInfo> {
        let inner = self.lock();
        let mut queues: Vec<QueueInfo> = inner
            .queues
            .iter()
            .filter(|(_, q)| user.is_none_or(|u| q.user == u))
            .map(|(id, q)| QueueInfo {
                queue_id: id.clone(),
                user_id: q.user,
                event_types: q.event_types.clone(),
                format: q.format,
                pending: q.events.len(),
                last_polled: q.last_polled,
                long_polling: q.long_polls > 0,
            })
            .collect();
        // Ids start with a sequence number: numeric order is registration order.
        queues.sort_by_key(|q| {
            let seq = q.queue_id.0.split(':').next().and_then(|n| n.parse().ok());
            (seq.unwrap_or(u64::MAX), q.queue_id.0.clone())
        });
        queues
    }

    /// The owner of `queue_id`, if it exists.
    pub fn owner(&self, queue_id: &QueueId) -> Option<UserId> {
        self.lock().queues.get(queue_id).map(|q| q.user)
    }

    /// Deletes a queue whoever owns it; its waiters wake and find it gone. Returns its owner.
    pub fn remove(&self, queue_id: &QueueId) -> Option<UserId> {
        let queue = self.lock().queues.remove(queue_id)?;
        queue.wake.notify_waiters();
        Some(queue.user)
    }

    /// Deletes every queue of `user`; returns their ids.
    pub fn remove_user(&self, user: UserId) -> Vec<QueueId> {
        let mut inner = self.lock();
        let ids = inner.queues.ids_of(user);
        for id in &ids {
            if let Some(queue) = inner.queues.remove(id) {
                queue.wake.notify_waiters();
            }
        }
        ids
    }

    /// Deletes every queue; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut inner = self.lock();
        inner.next_check = None;
        let queues = inner.queues.take_all();
        for queue in queues.values() {
            queue.wake.notify_waiters();
        }
        queues.len()
    }

    /// [`Queues::expire`], naming the queues it deleted (and their owners).
    pub fn expire_listed(&self, now: Timestamp, lifespan_secs: u64) -> Vec<(QueueId, UserId)> {
        let lifespan = i64::try_from(lifespan_secs).unwrap_or(i64::MAX);
        let mut inner = self.lock();
        let due: Vec<(QueueId, UserId)> = inner
            .queues
            .iter()
            .filter(|(_, q)| q.attached == 0 && q.last_polled.plus_seconds(lifespan) <= now)
            .map(|(id, q)| (id.clone(), q.user))
            .collect();
        for (id, _) in &due {
            if let Some(queue) = inner.queues.remove(id) {
                queue.wake.notify_waiters();
            }
        }
        due
    }

    /// A long-poll starts waiting on `queue_id`. `heartbeat_due` (virtual clock only) is when
    /// [`Queues::fire_heartbeats`] answers it with a heartbeat if nothing else comes.
    pub fn long_poll_started(&self, queue_id: &QueueId, heartbeat_due: Option<Timestamp>) {
        if let Some(queue) = self.lock().queues.get_mut(queue_id) {
            queue.long_polls += 1;
            if let Some(due) = heartbeat_due {
                queue.heartbeat_due = Some(queue.heartbeat_due.map_or(due, |d| d.min(due)));
            }
        }
    }

    /// A long-poll on `queue_id` has answered (or its client left).
    pub fn long_poll_ended(&self, queue_id: &QueueId) {
        if let Some(queue) = self.lock().queues.get_mut(queue_id) {
            queue.long_polls = queue.long_polls.saturating_sub(1);
            if queue.long_polls == 0 {
                queue.heartbeat_due = None;
            }
        }
    }

    /// The earliest heartbeat due on a virtual clock.
    pub fn next_heartbeat(&self) -> Option<Timestamp> {
        self.lock()
            .queues
            .values()
            .filter_map(|q| q.heartbeat_due)
            .min()
    }

    /// Queues a heartbeat on every queue whose waiting long-polls are due one by `now` (which
    /// wakes them to answer it); returns those queues and their owners.
    pub fn fire_heartbeats(&self, now: Timestamp) -> Vec<(QueueId, UserId)> {
        let mut inner = self.lock();
        let mut fired = Vec::new();
        for (id, queue) in inner.queues.iter_mut() {
            if queue.heartbeat_due.is_some_and(|due| due <= now) {
                queue.heartbeat_due = None;
                queue.push(EventKind::Heartbeat);
                fired.push((id.clone(), queue.user));
            }
        }
        fired.sort_by(|a, b| a.0.0.cmp(&b.0.0));
        fired
    }
}

/// How many events were added to queues, by `type` and (for call events) `event_type` or
/// (for the 1.1 dialect's) `op`.
#[derive(Debug, Default)]
struct Delivered(Mutex<std::collections::BTreeMap<(String, String), u64>>);

impl Delivered {
    fn count(&self, kind: &EventKind) {
        let (type_name, event_type) = match kind {
            EventKind::Call(event) => (
                zulip_calls_protocol::event::CALL_EVENT_TYPE,
                event.event_type().as_str(),
            ),
            EventKind::CallOp(event) => (
                zulip_calls_protocol::dialect::CALL_OP_EVENT_TYPE,
                event.detail.op().as_str(),
            ),
            EventKind::GroupCall(event) => (
                zulip_calls_protocol::dialect::GROUP_CALL_EVENT_TYPE,
                event.op().as_str(),
            ),
            EventKind::Heartbeat => (HEARTBEAT_TYPE, ""),
            EventKind::Unknown { event_type, .. } => (event_type.as_str(), ""),
        };
        // Counting cannot leave the map inconsistent, so a poisoned lock is still usable.
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *counts
            .entry((type_name.to_owned(), event_type.to_owned()))
            .or_default() += 1;
    }
}

impl Queues {
    /// Long-polls waiting on any queue now, for the metrics.
    pub fn long_polls_waiting(&self) -> usize {
        self.lock().queues.values().map(|q| q.long_polls).sum()
    }

    /// Events added to queues since the server started (one per queue that got it), as
    /// `(type, event_type, count)`; `event_type` is empty for anything but a call event.
    pub fn delivered(&self) -> Vec<(String, String, u64)> {
        let counts = self
            .delivered
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counts
            .iter()
            .map(|((type_name, event_type), n)| (type_name.clone(), event_type.clone(), *n))
            .collect()
    }
}

fn owned_queue<'a>(
    inner: &'a mut Inner,
    user: UserId,
    queue_id: &QueueId,
) -> Result<&'a mut Queue, QueueError> {
    match inner.queues.get_mut(queue_id) {
        Some(queue) if queue.user == user => Ok(queue),
        _ => Err(QueueError::BadQueue(queue_id.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix_seconds(secs).unwrap()
    }

    fn event_ids(events: &[QueueEvent]) -> Vec<i64> {
        events.iter().map(|e| e.id.0).collect()
    }

    fn custom(name: &str) -> EventKind {
        EventKind::Unknown {
            event_type: name.into(),
            fields: Map::new(),
        }
    }

    #[test]
    fn events_reach_every_queue_of_the_user_only() {
        let queues = Queues::default();
        let a1 = queues.register(UserId(1), None, t(0));
        let a2 = queues.register(UserId(1), None, t(0));
        let b = queues.register(UserId(2), None, t(0));
        assert_eq!(queues.send(UserId(1), &custom("x")), 2);
        for q in [&a1, &a2] {
            let poll = queues.poll(UserId(1), q, None, t(1)).unwrap();
            assert_eq!(poll.events.len(), 1);
            assert_eq!(poll.events[0].id, EventId(0));
        }
        assert!(
            queues
                .poll(UserId(2), &b, None, t(1))
                .unwrap()
                .events
                .is_empty()
        );
    }

    #[test]
    fn a_formatted_event_reaches_the_queues_of_its_format_only() {
        let queues = Queues::default();
        let design = EventFormat("design");
        let other = EventFormat("other");
        let a = queues.register_in(UserId(1), None, Some(design), t(0));
        let b = queues.register_in(UserId(1), None, Some(other), t(0));
        let any = queues.register(UserId(1), None, t(0));
        assert_eq!(queues.send_formatted(UserId(1), design, &custom("x")), 2);
        assert_eq!(queues.send(UserId(1), &custom("y")), 3);
        let types = |q: &QueueId| {
            let poll = queues.poll(UserId(1), q, None, t(1)).unwrap();
            poll.events
                .iter()
                .map(|e| e.kind.type_name().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(types(&a), ["x", "y"]);
        assert_eq!(types(&b), ["y"]);
        assert_eq!(types(&any), ["x", "y"]);
        assert_eq!(queues.list(None)[1].format, Some(other));
    }

    #[test]
    fn acknowledged_events_are_discarded() {
        let queues = Queues::default();
        let q = queues.register(UserId(1), None, t(0));
        for _ in 0..3 {
            queues.send(UserId(1), &custom("x"));
        }
        let ids = |poll: Poll| poll.events.iter().map(|e| e.id.0).collect::<Vec<_>>();
        assert_eq!(
            ids(queues.poll(UserId(1), &q, Some(EventId(-1)), t(1)).unwrap()),
            [0, 1, 2]
        );
        assert_eq!(
            ids(queues.poll(UserId(1), &q, Some(EventId(1)), t(1)).unwrap()),
            [2]
        );
        // An old last_event_id cannot bring discarded events back.
        assert_eq!(
            ids(queues.poll(UserId(1), &q, Some(EventId(0)), t(1)).unwrap()),
            [2]
        );
    }

    #[test]
    fn event_type_filters_apply_but_heartbeats_always_pass() {
        let queues = Queues::default();
        let q = queues.register(UserId(1), Some(vec!["call_event".into()]), t(0));
        assert_eq!(queues.send(UserId(1), &custom("presence")), 0);
        let beat = queues.heartbeat(UserId(1), &q).unwrap();
        assert_eq!(event_ids(&beat), [0]);
        assert_eq!(
            queues.poll(UserId(1), &q, None, t(0)).unwrap().events.len(),
            1
        );
    }

    #[test]
    fn a_heartbeat_carries_the_events_queued_before_it() {
        let queues = Queues::default();
        let q = queues.register(UserId(1), None, t(0));
        queues.send(UserId(1), &custom("x"));
        // A long-poll that last looked before the event: its heartbeat answer must not skip
        // it, since acknowledging the heartbeat acknowledges everything before.
        let answer = queues.heartbeat(UserId(1), &q).unwrap();
        assert_eq!(event_ids(&answer), [0, 1]);
        assert!(matches!(answer[1].kind, EventKind::Heartbeat));
    }

    #[test]
    fn another_users_queue_is_a_bad_queue() {
        let queues = Queues::default();
        let q = queues.register(UserId(1), None, t(0));
        assert_eq!(
            queues.poll(UserId(2), &q, None, t(0)).unwrap_err(),
            QueueError::BadQueue(q.clone())
        );
        assert!(queues.delete(UserId(2), &q).is_err());
        queues.delete(UserId(1), &q).unwrap();
        assert!(queues.poll(UserId(1), &q, None, t(0)).is_err());
    }

    #[test]
    fn a_users_queues_stay_indexed_through_removal_expiry_and_reset() {
        let queues = Queues::default();
        let a1 = queues.register(UserId(1), None, t(0));
        let a2 = queues.register(UserId(1), None, t(50));
        let b = queues.register(UserId(2), None, t(0));
        assert_eq!(queues.remove(&a1), Some(UserId(1)));
        assert_eq!(queues.send(UserId(1), &custom("x")), 1);
        assert_eq!(queues.expire(t(600), 600), 1, "b expired");
        assert!(!queues.is_online(UserId(2)));
        assert_eq!(queues.send(UserId(2), &custom("x")), 0);
        assert_eq!(queues.remove_user(UserId(1)), vec![a2.clone()]);
        assert!(!queues.is_online(UserId(1)));
        let c = queues.register(UserId(2), None, t(700));
        assert_eq!(queues.send(UserId(2), &custom("x")), 1);
        assert_eq!(queues.clear(), 1);
        assert!(!queues.is_online(UserId(2)));
        assert_eq!(queues.send(UserId(2), &custom("x")), 0);
        assert!(queues.poll(UserId(2), &c, None, t(700)).is_err());
        assert!(queues.poll(UserId(2), &b, None, t(700)).is_err());
    }

    #[test]
    fn idle_queues_expire_but_attached_ones_do_not() {
        let queues = Queues::default();
        let idle = queues.register(UserId(1), None, t(0));
        let busy = queues.register(UserId(1), None, t(0));
        queues.attach(&busy, true, t(0));
        assert_eq!(queues.next_expiry(600), Some(t(600)));
        assert_eq!(queues.expire(t(599), 600), 0);
        assert_eq!(queues.expire(t(600), 600), 1);
        assert!(queues.poll(UserId(1), &idle, None, t(600)).is_err());
        assert!(queues.poll(UserId(1), &busy, None, t(600)).is_ok());
        assert!(queues.is_online(UserId(1)));
    }

    #[test]
    fn expiry_checks_are_skipped_until_something_can_expire() {
        let queues = Queues::default();
        let first = queues.register(UserId(1), None, t(0));
        assert_eq!(queues.expire_if_due(t(10), 600), (0, Some(t(600))));
        queues.register(UserId(1), None, t(100));
        assert_eq!(queues.expire_if_due(t(599), 600), (0, Some(t(600))));
        assert_eq!(queues.expire_if_due(t(600), 600), (1, Some(t(700))));
        assert!(queues.poll(UserId(1), &first, None, t(600)).is_err());
        assert_eq!(queues.expire_if_due(t(650), 600), (0, Some(t(700))));
    }
}

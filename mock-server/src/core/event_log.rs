//! A record of the events queued for each user since the server started or was reset, so a
//! test can `wait-for` an event without holding a queue of its own (and without racing the
//! client under test for it). Bounded: the oldest entries go first.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;
use serde_json::Value;
use zulip_calls_protocol::{CallId, EventId, EventKind, QueueEvent, UserId};

/// How many events the log keeps, over all users.
pub const CAPACITY: usize = 10_000;

/// One event as it was queued for one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedEvent {
    /// Increasing from 1, over all users.
    pub seq: u64,
    pub user_id: UserId,
    /// The event's `type` (`call_event`, ...).
    #[serde(rename = "type")]
    pub event_type: String,
    /// A call event's `event_type` (`call_started`, ...), or a 1.1 call event's `op`
    /// (`initiated`, `accepted`, ...).
    pub call_event_type: Option<String>,
    pub call_id: Option<CallId>,
    /// How many of the user's queues got it.
    pub queues: usize,
    /// The event as the queues hold it, without its per-queue `id`. Kept as it was sent and
    /// turned into JSON only when read: recording sits on the path of every event.
    #[serde(serialize_with = "serialize_without_id")]
    pub event: EventKind,
}

/// Writes `kind` as its queue event would be written, without the per-queue `id`.
fn serialize_without_id<S: serde::Serializer>(kind: &EventKind, s: S) -> Result<S::Ok, S::Error> {
    let event = QueueEvent {
        id: EventId(0),
        kind: kind.clone(),
    };
    let mut value = event.to_value().map_err(serde::ser::Error::custom)?;
    if let Value::Object(map) = &mut value {
        map.remove("id");
    }
    value.serialize(s)
}

impl LoggedEvent {
    /// Whether this is an event of `event_type`: its `type`, a call event's `event_type`, or a
    /// 1.1 call event's `op`, alone or as `call.accepted`.
    pub fn is_of_type(&self, event_type: &str) -> bool {
        self.event_type == event_type
            || self.call_event_type.as_deref() == Some(event_type)
            || event_type
                .strip_prefix(self.event_type.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|op| self.call_event_type.as_deref() == Some(op))
    }
}

/// The log itself.
#[derive(Debug, Default)]
pub struct EventLog {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    events: VecDeque<LoggedEvent>,
    last_seq: u64,
}

impl EventLog {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        // Every mutation is a single push or clear: a poisoned lock is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records `kind`, queued for `user` on `queues` of their queues.
    pub fn record(&self, user: UserId, kind: &EventKind, queues: usize) {
        let (call_event_type, call_id) = match kind {
            EventKind::Call(call) => (
                Some(call.event_type().as_str().to_owned()),
                Some(call.call.call_id),
            ),
            EventKind::CallOp(call) => (
                Some(call.detail.op().as_str().to_owned()),
                Some(call.call_id),
            ),
            _ => (None, None),
        };
        let mut entries = self.lock();
        entries.last_seq += 1;
        let seq = entries.last_seq;
        if entries.events.len() >= CAPACITY {
            entries.events.pop_front();
        }
        entries.events.push_back(LoggedEvent {
            seq,
            user_id: user,
            event_type: kind.type_name().to_owned(),
            call_event_type,
            call_id,
            queues,
            event: kind.clone(),
        });
    }

    /// The oldest event for `user` that `accept`s, and how many events `user` has in the log.
    pub fn find(
        &self,
        user: UserId,
        accept: impl Fn(&LoggedEvent) -> bool,
    ) -> (Option<LoggedEvent>, usize) {
        let entries = self.lock();
        let mut found = None;
        let mut count = 0;
        for event in entries.events.iter().filter(|e| e.user_id == user) {
            count += 1;
            if found.is_none() && accept(event) {
                found = Some(event.clone());
            }
        }
        (found, count)
    }

    /// The latest event for `user`.
    pub fn latest(&self, user: UserId) -> Option<LoggedEvent> {
        self.lock()
            .events
            .iter()
            .rev()
            .find(|e| e.user_id == user)
            .cloned()
    }

    /// Forgets everything (a reset); returns how many events there were.
    pub fn clear(&self) -> usize {
        let mut entries = self.lock();
        let cleared = entries.events.len();
        entries.events.clear();
        cleared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn custom(name: &str) -> EventKind {
        EventKind::Unknown {
            event_type: name.into(),
            fields: Map::new(),
        }
    }

    #[test]
    fn finds_events_per_user_and_stays_bounded() {
        let log = EventLog::default();
        log.record(UserId(1), &custom("a"), 1);
        log.record(UserId(2), &custom("b"), 2);
        let (found, count) = log.find(UserId(2), |e| e.is_of_type("b"));
        assert_eq!(found.unwrap().queues, 2);
        assert_eq!(count, 1);
        assert!(log.find(UserId(1), |e| e.is_of_type("b")).0.is_none());
        for _ in 0..CAPACITY {
            log.record(UserId(3), &custom("c"), 1);
        }
        assert_eq!(log.find(UserId(1), |_| true).1, 0);
        assert_eq!(log.latest(UserId(3)).unwrap().seq, 2 + CAPACITY as u64);
        assert_eq!(log.clear(), CAPACITY);
    }

    #[test]
    fn reads_as_the_queued_event_without_its_id() {
        let log = EventLog::default();
        let mut fields = Map::new();
        fields.insert("flag".into(), Value::Bool(true));
        let kind = EventKind::Unknown {
            event_type: "custom".into(),
            fields,
        };
        log.record(UserId(7), &kind, 1);
        let read = serde_json::to_value(log.latest(UserId(7)).unwrap()).unwrap();
        assert_eq!(
            read["event"],
            serde_json::json!({"type": "custom", "flag": true})
        );
        assert_eq!(read["type"], "custom");
        assert_eq!(read["user_id"], 7);
    }
}

//! What the bots will do, and when: the bots' counterpart of the call deadline index. The
//! deadline scheduler (and the virtual clock) fire its due entries beside the call deadlines
//! and count its earliest entry in their next wake-up, so a bot's delays follow the server's
//! clock, virtual or not.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use zulip_calls_protocol::{Action, CallId, Timestamp, UserId};

use super::group::GroupBotAction;

/// One thing a bot will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotTask {
    /// Acts on a call the bot is party to, as that user.
    Act {
        bot: UserId,
        call_id: CallId,
        action: BotAction,
    },
    /// Places the bot's next periodic call (and schedules the one after).
    PeriodicCall { bot: UserId },
    /// Acts in a group call the bot has a place in, as that user.
    Group {
        bot: UserId,
        call_id: CallId,
        action: GroupBotAction,
    },
}

impl BotTask {
    /// The call it acts on, if any.
    pub fn call_id(&self) -> Option<CallId> {
        match self {
            BotTask::Act { call_id, .. } | BotTask::Group { call_id, .. } => Some(*call_id),
            BotTask::PeriodicCall { .. } => None,
        }
    }

    /// The bot that does it.
    pub fn bot(&self) -> UserId {
        match self {
            BotTask::Act { bot, .. }
            | BotTask::PeriodicCall { bot }
            | BotTask::Group { bot, .. } => *bot,
        }
    }

    /// Its name in logs, the virtual clock's `fired` list and the control API's `pending`
    /// (without the `bot_` prefix there).
    pub const fn name(&self) -> &'static str {
        match self {
            BotTask::Act { action, .. } => action.as_str(),
            BotTask::PeriodicCall { .. } => "bot_call",
            BotTask::Group { action, .. } => action.as_str(),
        }
    }
}

/// What a bot does to a call: the same actions a person's client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BotAction {
    Acknowledge,
    Accept,
    Reject,
    HangUp,
}

impl BotAction {
    /// The state machine's action.
    pub const fn action(self) -> Action {
        match self {
            BotAction::Acknowledge => Action::Acknowledge,
            BotAction::Accept => Action::Accept,
            BotAction::Reject => Action::Reject,
            BotAction::HangUp => Action::End,
        }
    }

    /// Its name in logs and in the virtual clock's `fired` list.
    pub const fn as_str(self) -> &'static str {
        match self {
            BotAction::Acknowledge => "bot_acknowledge",
            BotAction::Accept => "bot_accept",
            BotAction::Reject => "bot_reject",
            BotAction::HangUp => "bot_hang_up",
        }
    }
}

/// Pending bot tasks, earliest first; tasks due at the same instant run in the order they
/// were scheduled (an acknowledgement before the answer scheduled with it).
#[derive(Debug, Default)]
pub struct BotSchedule {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tasks: BTreeMap<(Timestamp, u64), BotTask>,
    next_seq: u64,
}

impl BotSchedule {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update is a single map operation, so a poisoned lock still holds a usable
        // schedule.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds `task` at `at`; returns whether it is now the earliest, so the caller knows to
    /// wake the scheduler.
    pub fn add(&self, at: Timestamp, task: BotTask) -> bool {
        let mut inner = self.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.tasks.insert((at, seq), task);
        inner.tasks.first_key_value().map(|(key, _)| *key) == Some((at, seq))
    }

    /// Removes and returns every task due at or before `now`, in order, with its due time.
    pub fn take_due(&self, now: Timestamp) -> Vec<(Timestamp, BotTask)> {
        let mut inner = self.lock();
        let mut due = Vec::new();
        while let Some(entry) = inner.tasks.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((at, _), task) = entry.remove_entry();
            due.push((at, task));
        }
        due
    }

    /// Drops the tasks about `call_id` (it ended: there is nothing left to answer).
    pub fn forget_call(&self, call_id: CallId) {
        self.lock()
            .tasks
            .retain(|_, task| task.call_id() != Some(call_id));
    }

    /// Drops the tasks `drop` picks (a bot's tasks in a call it has no more business in).
    pub fn forget_where(&self, drop: impl Fn(&BotTask) -> bool) {
        self.lock().tasks.retain(|_, task| !drop(task));
    }

    /// Whether a pending task is what `wanted` looks for.
    pub fn any(&self, wanted: impl Fn(&BotTask) -> bool) -> bool {
        self.lock().tasks.values().any(wanted)
    }

    /// Drops every task.
    pub fn clear(&self) {
        self.lock().tasks.clear();
    }

    /// When the earliest task is due.
    pub fn next(&self) -> Option<Timestamp> {
        self.lock().tasks.first_key_value().map(|((at, _), _)| *at)
    }

    /// Every pending task, in order.
    pub fn pending(&self) -> Vec<(Timestamp, BotTask)> {
        self.lock()
            .tasks
            .iter()
            .map(|((at, _), task)| (*at, *task))
            .collect()
    }

    /// Number of pending tasks.
    pub fn len(&self) -> usize {
        self.lock().tasks.len()
    }

    /// No pending task.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix_seconds(secs).unwrap()
    }

    fn act(call: CallId, action: BotAction) -> BotTask {
        BotTask::Act {
            bot: UserId(1),
            call_id: call,
            action,
        }
    }

    #[test]
    fn due_tasks_come_out_in_time_then_insertion_order() {
        let schedule = BotSchedule::default();
        let call = CallId::new_random();
        assert!(schedule.add(t(5), act(call, BotAction::Accept)));
        assert!(!schedule.add(t(7), act(call, BotAction::HangUp)));
        assert!(!schedule.add(t(5), act(call, BotAction::Reject)));
        assert!(schedule.add(t(1), act(call, BotAction::Acknowledge)));
        assert_eq!(schedule.next(), Some(t(1)));
        assert_eq!(schedule.take_due(t(0)), []);
        let due: Vec<_> = schedule.take_due(t(5)).into_iter().collect();
        assert_eq!(
            due,
            [
                (t(1), act(call, BotAction::Acknowledge)),
                (t(5), act(call, BotAction::Accept)),
                (t(5), act(call, BotAction::Reject)),
            ]
        );
        assert_eq!(schedule.len(), 1);
    }

    #[test]
    fn a_finished_call_takes_its_tasks_along() {
        let schedule = BotSchedule::default();
        let (a, b) = (CallId::new_random(), CallId::new_random());
        schedule.add(t(1), act(a, BotAction::Accept));
        schedule.add(t(2), act(b, BotAction::Accept));
        schedule.add(t(3), BotTask::PeriodicCall { bot: UserId(1) });
        schedule.forget_call(a);
        assert_eq!(schedule.next(), Some(t(2)));
        assert_eq!(schedule.len(), 2);
        schedule.clear();
        assert!(schedule.is_empty());
    }
}

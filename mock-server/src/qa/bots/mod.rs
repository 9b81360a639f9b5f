//! Bot users: realm users whose `bot` table (see [`config`]) makes them answer calls, or place
//! them, by themselves. A QA engineer alone at a terminal can then try every outcome of a call
//! (accepted, rejected, missed, timed out) without a second person or a second client.
//!
//! Bots act through the same [`CallDesk`] as a person's requests, as the bot user, so the state
//! machine, events, pushes and audit log (the bot is the actor) are exactly those of a person
//! doing the same. [`Bots`] is a listener of the core: it hears every change of a call and
//! plans what the bot parties will do. Their delays go on a [`BotSchedule`], which the core
//! fires as a [`Timed`] listener beside the call deadlines, so they follow the server's clock:
//! on a virtual clock they happen only when time is moved, and always in the same order.
//! Bots take part in group calls too ([`group`]).

pub mod config;
pub mod group;
pub mod schedule;

use std::collections::BTreeMap;
use std::sync::RwLock;

use zulip_calls_protocol::calls::CallTarget;
use zulip_calls_protocol::{Call, CallId, CallState, Outcome, Timestamp, UserId};

pub use self::config::{Behaviour, BotConfig, BotField};
pub use self::group::GroupBotAction;
pub use self::schedule::{BotAction, BotSchedule, BotTask};
use crate::core::Core;
use crate::core::calls::{CallDesk, Who};
use crate::core::model::UserRecord;
use crate::core::news::{CallChange, Fired, GroupChange, Listener, Timed, Tx};

/// How many times one [`fire_due`] looks again for tasks that acting scheduled for the same
/// instant (an answer with no delay after the acknowledgement, a hang-up with none after it):
/// more than any chain of bot actions on one call needs, and a bound on a misconfigured loop.
const MAX_ROUNDS: usize = 16;

/// The automated bots of the loaded realm file and what they will do next.
#[derive(Debug, Default)]
pub struct Bots {
    configs: RwLock<BTreeMap<UserId, BotConfig>>,
    schedule: BotSchedule,
}

impl Bots {
    fn configs(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<UserId, BotConfig>> {
        // The map is replaced whole, so a poisoned lock still holds a consistent one.
        self.configs
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the realm file's bots (at start, or on a reset), dropping any earlier ones and
    /// their pending tasks, and schedules each calling bot's first call one period after
    /// `now`. Returns whether the scheduler should wake.
    pub fn load(&self, bots: BTreeMap<UserId, BotConfig>, now: Timestamp) -> bool {
        self.schedule.clear();
        let mut wake = false;
        for (bot, config) in &bots {
            if let Some(calls) = &config.calls {
                wake |= self.schedule.add(
                    after(now, calls.every_ms),
                    BotTask::PeriodicCall { bot: *bot },
                );
            }
        }
        *self
            .configs
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = bots;
        wake
    }

    /// The configuration of `user`, if it is an automated bot.
    pub fn config(&self, user: UserId) -> Option<BotConfig> {
        self.configs().get(&user).cloned()
    }

    /// How `user` answers calls, if it is an automated bot.
    pub fn behaviour_of(&self, user: UserId) -> Option<Behaviour> {
        self.configs().get(&user).map(|c| c.behaviour)
    }

    /// Every automated bot, by user id.
    pub fn all(&self) -> Vec<(UserId, BotConfig)> {
        self.configs()
            .iter()
            .map(|(id, config)| (*id, config.clone()))
            .collect()
    }

    /// When the earliest bot task is due: the scheduler's next wake-up counts it.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.schedule.next()
    }

    /// Every pending bot task, in the order they will run.
    pub fn pending(&self) -> Vec<(Timestamp, BotTask)> {
        self.schedule.pending()
    }

    /// `call` was just created (`before` is `None`) or moved from `before`: plans what its
    /// bot parties do about it. Heard under the store lock, so the plan is in place before
    /// anyone can see the new state. Returns whether the scheduler should wake (a task is now
    /// the earliest).
    pub fn plan_for(&self, before: Option<CallState>, call: &Call) -> bool {
        if before == Some(call.state) {
            return false;
        }
        self.plan(call, false)
    }

    /// Plans again for a call that was active when the server started, from its stored
    /// state; what came due while the server was down is due at once.
    pub fn resume(&self, call: &Call) -> bool {
        self.plan(call, true)
    }

    fn plan(&self, call: &Call, resumed: bool) -> bool {
        if call.state.is_terminal() {
            self.schedule.forget_call(call.call_id);
            return false;
        }
        let configs = self.configs();
        let mut wake = false;
        let mut add = |at: Timestamp, bot: UserId, action: BotAction| {
            let task = BotTask::Act {
                bot,
                call_id: call.call_id,
                action,
            };
            wake |= self.schedule.add(at, task);
        };
        match call.state {
            CallState::Calling | CallState::Ringing => {
                let Some(config) = configs.get(&call.receiver_id) else {
                    return false;
                };
                let receiver = call.receiver_id;
                // The bot's "device" rings as soon as the call reaches it.
                if call.state == CallState::Calling && config.behaviour != Behaviour::Ignore {
                    add(call.created_at, receiver, BotAction::Acknowledge);
                }
                // A call that only moved to ringing already has its answer planned.
                if call.state == CallState::Calling || resumed {
                    let answer_at = after(call.created_at, config.answer_after_ms);
                    match config.behaviour {
                        Behaviour::Accept => add(answer_at, receiver, BotAction::Accept),
                        Behaviour::Reject => add(answer_at, receiver, BotAction::Reject),
                        Behaviour::Ignore | Behaviour::Acknowledge => {}
                    }
                }
            }
            CallState::Accepted => {
                let answered = call.answered_at.unwrap_or(call.created_at);
                for bot in [call.sender_id, call.receiver_id] {
                    if let Some(ms) = configs.get(&bot).and_then(|c| c.hang_up_after_ms) {
                        add(after(answered, ms), bot, BotAction::HangUp);
                    }
                }
            }
            _ => {}
        }
        wake
    }
}

/// Bots hear every change of a call, 1:1 or group.
impl Listener for Bots {
    fn call_changed(&self, change: &CallChange, tx: &mut Tx<'_>) {
        if self.plan_for(change.before, &change.record.call) {
            tx.wake_scheduler();
        }
    }

    fn group_changed(&self, change: &GroupChange, tx: &mut Tx<'_>) {
        if self.plan_group_change(change, tx.core.settings()) {
            tx.wake_scheduler();
        }
    }
}

/// Bots' delayed actions and periodic calls run on the server's clock.
impl Timed for Bots {
    fn next_due(&self) -> Option<Timestamp> {
        self.schedule.next()
    }

    /// Runs every bot task due at `now`, in order, including tasks that acting schedules for
    /// `now` itself; returns what the bots did.
    fn fire_due(&self, core: &Core, now: Timestamp) -> Vec<Fired> {
        let mut fired = Vec::new();
        for _ in 0..MAX_ROUNDS {
            let due = self.schedule.take_due(now);
            if due.is_empty() {
                break;
            }
            for (at, task) in due {
                fired.extend(self.run(core, at, task, now));
            }
        }
        fired
    }
}

impl Bots {
    /// One task, as the bot user.
    fn run(&self, core: &Core, at: Timestamp, task: BotTask, now: Timestamp) -> Option<Fired> {
        if let BotTask::PeriodicCall { bot } = task {
            self.reschedule(bot, at, now);
        }
        let bot = core.directory().user(task.bot()).cloned();
        let Some(bot) = bot.filter(|b| b.is_active) else {
            tracing::debug!(bot = %task.bot(), ?task, "bot is gone or deactivated; task dropped");
            return None;
        };
        let desk = CallDesk::new(core);
        match task {
            BotTask::Act {
                call_id, action, ..
            } => match desk.act(call_id, Who::User(&bot), action.action(), None) {
                Ok(acted) if !matches!(acted.outcome, Outcome::Unchanged) => {
                    tracing::info!(%call_id, bot = %bot.email, action = action.as_str(), state = %acted.record.call.state, "bot acted");
                    Some(fired(now, bot.id, call_id, action.as_str()))
                }
                Ok(_) => None,
                // The call moved on first (the caller hung up, a deadline fired): nothing to do.
                Err(err) => {
                    tracing::debug!(%call_id, bot = %bot.email, action = action.as_str(), error = %err, "bot action no longer applies");
                    None
                }
            },
            BotTask::PeriodicCall { .. } => {
                let calls = self.config(bot.id)?.calls?;
                place_call(core, &bot, calls.user, calls.call_type)
                    .map(|call_id| fired(now, bot.id, call_id, task.name()))
            }
            BotTask::Group {
                call_id, action, ..
            } => self
                .run_group(core, &bot, call_id, action, now)
                .then(|| fired(now, bot.id, call_id, action.as_str())),
        }
    }

    /// Schedules a calling bot's next call one period after the one due at `at`, skipping the
    /// periods a clock jump passed over (one call, not a burst of busy ones).
    fn reschedule(&self, bot: UserId, at: Timestamp, now: Timestamp) {
        let Some(every) = self
            .config(bot)
            .and_then(|c| c.calls)
            .map(|c| c.every_ms)
            .filter(|ms| *ms > 0)
        else {
            return;
        };
        let behind = now.unix_millis().saturating_sub(at.unix_millis()).max(0);
        let periods = behind / every + 1;
        let next = after(at, periods.saturating_mul(every));
        self.schedule.add(next, BotTask::PeriodicCall { bot });
    }
}

/// What a bot did, as the clock reports it: due `at` (the clock's instant), as `bot`.
fn fired(at: Timestamp, bot: UserId, call_id: CallId, action: &'static str) -> Fired {
    Fired {
        call_id: Some(call_id),
        action,
        at,
        queue_id: None,
        user_id: Some(bot),
        deleted: None,
    }
}

/// Places a call from `bot` to `user`; `None` when it could not (someone is busy, the user
/// is gone), which is logged: a periodic call simply tries again next period.
fn place_call(
    core: &Core,
    bot: &UserRecord,
    user: UserId,
    call_type: zulip_calls_protocol::CallType,
) -> Option<CallId> {
    match CallDesk::new(core).create(bot, &CallTarget::Id(user), call_type) {
        Ok(record) => {
            tracing::info!(call_id = %record.call.call_id, bot = %bot.email, %user, "bot placed a call");
            Some(record.call.call_id)
        }
        Err(err) => {
            tracing::info!(bot = %bot.email, %user, error = %err, "bot could not place its call");
            None
        }
    }
}

/// `at` plus `ms` milliseconds (saturating far in the future).
fn after(at: Timestamp, ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(at.unix_millis().saturating_add(ms)).unwrap_or(at)
}

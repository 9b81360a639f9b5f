//! Bots in group calls (the 1.1 dialect's §6). An invited bot answers as it answers a 1:1
//! call: `accept` joins after `answer_after_seconds`, `reject` declines after it,
//! `acknowledge` rings until the invitation is missed, `ignore` does not even ring (and is
//! missed all the same). A joined bot (an invitee that joined, or the host of a call it placed)
//! heartbeats as a 1.1 client does, so the server's heartbeat watch never drops it; it leaves
//! `hang_up_after_seconds` after joining, and as soon as nobody else is joined or still
//! invited: a heartbeating bot left alone would otherwise keep the call up until
//! `CALL_MAX_DURATION` instead of letting it end as `empty`.
//!
//! As for 1:1 calls, the plan is made from the call's state: when the core announces a change
//! ([`GroupChange`]) and, at start, from the stored calls ([`Bots::resume_group`]). Nothing of
//! the plan is stored, so it cannot disagree with the call; and each task looks at the call
//! again before acting, so one whose call moved on (ended, the bot dropped) does nothing.

use zulip_calls_protocol::plugin::group::ParticipantState;
use zulip_calls_protocol::settings::Settings;
use zulip_calls_protocol::{CallId, Timestamp, UserId};

use super::{Behaviour, BotTask, Bots, after};
use crate::core::Core;
use crate::core::group::{GroupDesk, GroupRecord};
use crate::core::model::UserRecord;
use crate::core::news::GroupChange;

/// What a bot does in a group call: what a person's 1.1 client would send, or (`Ring`) what
/// the server does when it reaches a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBotAction {
    /// The bot's "device" is reached: `invited` → `ringing`.
    Ring,
    Join,
    Decline,
    /// Keeps a joined bot in; each one plans the next.
    Heartbeat,
    /// `hang_up_after_seconds` after joining.
    Leave,
    /// Nobody else is joined or invited any more (checked again when it is due).
    LeaveAlone,
}

impl GroupBotAction {
    /// Its name in logs and in the virtual clock's `fired` list.
    pub const fn as_str(self) -> &'static str {
        match self {
            GroupBotAction::Ring => "bot_group_ring",
            GroupBotAction::Join => "bot_group_join",
            GroupBotAction::Decline => "bot_group_decline",
            GroupBotAction::Heartbeat => "bot_group_heartbeat",
            GroupBotAction::Leave | GroupBotAction::LeaveAlone => "bot_group_leave",
        }
    }

    /// Whether it still applies to a bot in `state` of `record`.
    fn applies(self, record: &GroupRecord, bot: UserId, state: ParticipantState) -> bool {
        match self {
            GroupBotAction::Ring => state == ParticipantState::Invited,
            GroupBotAction::Join | GroupBotAction::Decline => state.is_pending(),
            GroupBotAction::Heartbeat | GroupBotAction::Leave => state == ParticipantState::Joined,
            GroupBotAction::LeaveAlone => state == ParticipantState::Joined && alone(record, bot),
        }
    }
}

impl Bots {
    /// A group call was created or changed: plans what its bot participants do about it.
    /// Heard under the store lock, like [`Bots::plan_for`]. Returns whether the scheduler
    /// should wake.
    pub fn plan_group_change(&self, change: &GroupChange, settings: &Settings) -> bool {
        self.plan_group(
            &change.record,
            |user| change.state_before(user),
            change.at,
            settings,
        )
    }

    /// Plans again for a group call that was active when the server started, from its stored
    /// state (what came due while the server was down is due at once), and heartbeats its
    /// joined bots now: the server's deadlines fire before the bots' tasks, so a bot silent
    /// for the whole downtime would otherwise be dropped at start.
    pub fn resume_group(&self, core: &Core, record: &GroupRecord) -> bool {
        let now = core.clock.now();
        let wake = self.plan_group(record, |_| None, now, core.settings());
        if heartbeat_every_ms(core.settings()).is_none() || !record.call.is_active() {
            return wake;
        }
        let call_id = record.call.call_id;
        let joined: Vec<UserRecord> = {
            let directory = core.directory();
            record
                .participants
                .iter()
                .filter(|p| p.state() == ParticipantState::Joined)
                .filter(|p| self.config(p.user_id()).is_some())
                .filter_map(|p| directory.user(p.user_id()).cloned())
                .filter(|user| user.is_active)
                .collect()
        };
        for bot in joined {
            if let Err(err) = GroupDesk::new(core).heartbeat(call_id, &bot) {
                tracing::info!(%call_id, bot = %bot.email, error = %err, "bot could not heartbeat its group call at start");
            }
        }
        wake
    }

    /// Plans for every bot with a place in `record`: `before` tells each one's state before
    /// the change (`None`: no place yet, or a start from the stored state), `at` is when it
    /// changed.
    fn plan_group(
        &self,
        record: &GroupRecord,
        before: impl Fn(UserId) -> Option<ParticipantState>,
        at: Timestamp,
        settings: &Settings,
    ) -> bool {
        let call_id = record.call.call_id;
        if !record.call.is_active() {
            self.schedule.forget_call(call_id);
            return false;
        }
        let configs = self.configs();
        let mut wake = false;
        for place in &record.participants {
            let bot = place.user_id();
            let Some(config) = configs.get(&bot) else {
                continue;
            };
            let mut add = |at: Timestamp, action: GroupBotAction| {
                wake |= self.schedule.add(
                    at,
                    BotTask::Group {
                        bot,
                        call_id,
                        action,
                    },
                );
            };
            let state = place.state();
            let was = before(bot);
            // An invitation that only started ringing already has its answer planned.
            let rang = state.is_pending() && was.is_some_and(ParticipantState::is_pending);
            if was != Some(state) && !rang {
                // What was planned for the bot's old state no longer applies.
                self.forget_group_tasks(bot, call_id);
                match state {
                    ParticipantState::Invited | ParticipantState::Ringing => {
                        if state == ParticipantState::Invited
                            && config.behaviour != Behaviour::Ignore
                        {
                            add(at, GroupBotAction::Ring);
                        }
                        let answer_at = after(place.participant.invited_at, config.answer_after_ms);
                        match config.behaviour {
                            Behaviour::Accept => add(answer_at, GroupBotAction::Join),
                            Behaviour::Reject => add(answer_at, GroupBotAction::Decline),
                            Behaviour::Acknowledge | Behaviour::Ignore => {}
                        }
                    }
                    ParticipantState::Joined => {
                        if let Some(every) = heartbeat_every_ms(settings) {
                            add(after(at, every), GroupBotAction::Heartbeat);
                        }
                        if let Some(ms) = config.hang_up_after_ms {
                            let joined = place.participant.joined_at.unwrap_or(at);
                            add(after(joined, ms), GroupBotAction::Leave);
                        }
                    }
                    // Out of the call (declined, missed, left): nothing left to do.
                    _ => {}
                }
            }
            if state == ParticipantState::Joined
                && alone(record, bot)
                && !self.schedule.any(|task| {
                    *task
                        == BotTask::Group {
                            bot,
                            call_id,
                            action: GroupBotAction::LeaveAlone,
                        }
                })
            {
                add(at, GroupBotAction::LeaveAlone);
            }
        }
        wake
    }

    fn forget_group_tasks(&self, bot: UserId, call_id: CallId) {
        self.schedule.forget_where(|task| {
            matches!(task, BotTask::Group { bot: b, call_id: c, .. } if *b == bot && *c == call_id)
        });
    }

    /// Runs one group task as `bot`; returns whether it did something. The call is looked at
    /// first: a task planned for a state the call has left (it ended, the bot was dropped or
    /// already answered) does nothing, so tasks are idempotent.
    pub(super) fn run_group(
        &self,
        core: &Core,
        bot: &UserRecord,
        call_id: CallId,
        action: GroupBotAction,
        now: Timestamp,
    ) -> bool {
        let desk = GroupDesk::new(core);
        let record = match desk.status(call_id, bot) {
            Ok(record) => record,
            Err(err) => {
                tracing::debug!(%call_id, bot = %bot.email, action = action.as_str(), error = %err, "group call gone; bot task dropped");
                return false;
            }
        };
        let state = record.participant(bot.id).map(|p| p.state());
        let Some(state) =
            state.filter(|s| record.call.is_active() && action.applies(&record, bot.id, *s))
        else {
            tracing::debug!(%call_id, bot = %bot.email, action = action.as_str(), ?state, call = %record.call.state, "bot action no longer applies");
            return false;
        };
        let done = match action {
            GroupBotAction::Ring => desk.ring(call_id, bot.id).map(drop),
            GroupBotAction::Join => desk.join(call_id, bot).map(drop),
            GroupBotAction::Decline => desk.decline(call_id, bot).map(drop),
            GroupBotAction::Heartbeat => desk.heartbeat(call_id, bot).map(drop),
            GroupBotAction::Leave | GroupBotAction::LeaveAlone => {
                desk.leave(call_id, bot).map(drop)
            }
        };
        match done {
            Ok(()) => {
                if action == GroupBotAction::Heartbeat {
                    if let Some(every) = heartbeat_every_ms(core.settings()) {
                        self.schedule.add(
                            after(now, every),
                            BotTask::Group {
                                bot: bot.id,
                                call_id,
                                action,
                            },
                        );
                    }
                    tracing::debug!(%call_id, bot = %bot.email, "bot heartbeat");
                } else {
                    tracing::info!(%call_id, bot = %bot.email, action = action.as_str(), was = %state, "bot acted in a group call");
                }
                true
            }
            // The call moved on between the look and the act (a racing request won), or the
            // bot is busy in another call: nothing to do.
            Err(err) => {
                tracing::info!(%call_id, bot = %bot.email, action = action.as_str(), error = %err, "bot could not act in a group call");
                false
            }
        }
    }
}

/// Whether nobody but `bot` is joined or still invited.
fn alone(record: &GroupRecord, bot: UserId) -> bool {
    !record
        .participants
        .iter()
        .any(|p| p.user_id() != bot && p.state().is_engaged())
}

/// How often a joined bot heartbeats, in milliseconds: every `CALL_HEARTBEAT_INTERVAL`, as a
/// 1.1 client does, but at least twice per `CALL_HEARTBEAT_TIMEOUT`, so that no setting of the
/// two gets a bot dropped; `None` when the watch is off (a timeout of 0).
pub fn heartbeat_every_ms(settings: &Settings) -> Option<i64> {
    let millis = |seconds: u64| {
        i64::try_from(seconds)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000)
    };
    let timeout = millis(settings.call_heartbeat_timeout);
    if timeout == 0 {
        return None;
    }
    let interval = millis(settings.call_heartbeat_interval);
    let every = if interval > 0 {
        interval.min(timeout / 2)
    } else {
        timeout / 2
    };
    Some(every.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(interval: u64, timeout: u64) -> Settings {
        Settings {
            call_heartbeat_interval: interval,
            call_heartbeat_timeout: timeout,
            ..Settings::default()
        }
    }

    #[test]
    fn bots_heartbeat_every_interval_but_at_least_twice_per_timeout() {
        assert_eq!(heartbeat_every_ms(&Settings::default()), Some(15_000));
        assert_eq!(heartbeat_every_ms(&settings(15, 10)), Some(5_000));
        assert_eq!(heartbeat_every_ms(&settings(0, 60)), Some(30_000));
        assert_eq!(heartbeat_every_ms(&settings(5, 1)), Some(500));
        assert_eq!(heartbeat_every_ms(&settings(15, 0)), None);
    }
}

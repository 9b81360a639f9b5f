//! Where the released plugin's code, as deployed, differs from our 1.1 contract
//! (`plugin-1.1-dialect.md` §9 and the fixes of §§1, 3, 5, 7). Each difference is one field of
//! [`Quirks`], documented with the row it reproduces; [`Quirks::of`] is the one place that
//! decides, from `CALLS_COMPAT` (and `CALL_REDIAL_COOLDOWN`), which of them a server has.
//! The layers read the field that concerns them and never the mode itself, so a behaviour is
//! found by its name and a new mode is one more constructor here.

use zulip_calls_protocol::call::EndReason;
use zulip_calls_protocol::plugin::group::ParticipantState;
use zulip_calls_protocol::settings::Settings;
use zulip_calls_protocol::{
    Action, Actor, CallEventType, CallState, Compat, Outcome, Timestamp, TransitionError,
    transition,
};

use super::group::{GroupDeadline, GroupRecord};

/// The plugin 1.1.0's hard-coded timers (its `cleanup_stale_calls`), in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginTimers {
    /// An unanswered call (`calling` or `ringing`) becomes `missed` this long after creation,
    /// whatever `CALL_NOTIFICATION_TIMEOUT` and `CALL_RING_TIMEOUT` say.
    pub missed_after: u64,
    /// Heartbeats are first checked this long after the answer.
    pub heartbeat_grace: u64,
    /// Once checked, a party whose last heartbeat is older than this ends the call as
    /// `network_failure` (`CALL_HEARTBEAT_TIMEOUT` is never read). The caller's "last
    /// heartbeat" starts at the call's creation, the receiver's at none.
    pub heartbeat_silence: u64,
    /// Any call still `calling`, `ringing` or `accepted` this long after creation becomes
    /// `timeout` (reason `timeout_stale`), healthy or not.
    pub stale_after: u64,
}

/// The 1.1.0 plugin's timers.
pub const PLUGIN_1_1_0_TIMERS: PluginTimers = PluginTimers {
    missed_after: 90,
    heartbeat_grace: 90,
    heartbeat_silence: 60,
    stale_after: 600,
};

/// The plugin 1.1.0's hard-coded group call timers (its cleanup worker's
/// `_cleanup_stale_group_calls`), in seconds. None of the settings is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginGroupTimers {
    /// A joined participant (the host included) whose last heartbeat is this old becomes
    /// `left`. Their "last heartbeat" is when they joined (or created the call): nothing can
    /// heartbeat a group call, since the deployed `heartbeat` view only knows 1:1 calls.
    pub drop_after: u64,
    /// An invitee still `invited` (or `ringing`) this long after their first invitation
    /// becomes `missed` (the plugin never moves `invited_at`, not even on a new invitation).
    pub missed_after: u64,
    /// A call with nobody joined this long after its creation ends; its invitees still
    /// pending become `missed`.
    pub ended_after: u64,
}

/// The 1.1.0 plugin's group call timers.
pub const PLUGIN_1_1_0_GROUP_TIMERS: PluginGroupTimers = PluginGroupTimers {
    drop_after: 60,
    missed_after: 90,
    ended_after: 600,
};

/// What a server does where the deployed plugin and the contract part ways. `false`/`None`
/// everywhere is the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quirks {
    /// §9 row 1 (an option in any mode): placing a call within this many seconds after one
    /// of the caller's calls became `ended` answers 429 "Please wait a moment before making
    /// another call" with `existing_call_id`. Cancelled, rejected and missed calls do not
    /// count.
    pub redial_cooldown: Option<u64>,
    /// §9 row 2: `receiver_online`, `receiver_was_offline` and `was_offline` always say
    /// "offline" (the plugin's Django process never sees Tornado's queues).
    pub receiver_always_offline: bool,
    /// §9 row 3 and §4: the plugin's hard-coded timers instead of the settings.
    pub timers: Option<PluginTimers>,
    /// §9 row 4: deadlines fire only when the next call is created (the plugin's cleanup
    /// worker and management command do not run on a deployment), not on time.
    pub deadlines_on_create_only: bool,
    /// A second `acknowledge` of a ringing call acknowledges it again, and the caller hears
    /// `ringing` again (not in §9; found by playing the same requests against its code).
    pub reacknowledgement_rings_again: bool,
    /// The plugin looks the callee up by id and realm only: a deactivated user can be called
    /// (not in §9; found by playing the same requests against its code).
    pub deactivated_users_callable: bool,
    /// §9 row 10: `end` before an answer leaves the call `ended` (not `cancelled` or
    /// `rejected`).
    pub end_before_answer_is_ended: bool,
    /// §9 row 13: rooms named `zulip-call-` and 12 random hex digits, join URLs with the
    /// settings and an un-encoded display name in the query string.
    pub plugin_join_urls: bool,
    /// §7: the plugin's pushes: an invitation twice to an Android device (the legacy one with
    /// its Python-repr `custom` blob, then the flat FCM call push), a decline to the caller, a
    /// missed call to the receiver; a group invitation as the legacy `call` push alone
    /// (`send_call_push_notification` with the group call's id and bare room URL and the
    /// inviter as the caller: an app takes it for a 1:1 call); nothing else.
    pub plugin_pushes: bool,
    /// The 1:1 endpoints answer as the plugin's views do (`api::deployed`), in their order
    /// of checks, with their statuses and bodies:
    /// - §1: errors carry `message` only (no `msg`, no `code`), successes no `msg`;
    ///   JSON-quoted values are read as the plugin reads them (`is_video_call="true"` is
    ///   false, a quoted id is no id);
    /// - §3: a wrong state is 400; `acknowledge` without `status=ringing` is refused; a
    ///   `cursor` that does not decode is ignored; `heartbeat` is not realm-scoped and tells
    ///   anyone a finished call's state;
    /// - §9 row 11: `acknowledge` by anyone but the receiver is 404;
    /// - §9 row 12: a non-integer `limit` and a malformed id are 500s.
    ///
    /// The group endpoints too (`api::deployed::groups`): each view's order of checks and
    /// words, 403 to a non-participant's `status` and `participants`, 400 to a repeated
    /// `decline`, a 500 naming the view for a malformed id, the bare room URL as `call_url`.
    pub plugin_views: bool,
    /// §5: `call` events carry no top-level `user_id`, and `ringing` goes to the caller only.
    /// `group_call` events as the plugin's `actions.py` builds and addresses them: no
    /// `reason` on `participant_left` or `ended` (§9 row 7), `created` listing the host alone,
    /// each `participant_invited` listing the participants created so far, every named user
    /// invited again (and told so), `participant_declined` to the host even once gone,
    /// `ended` to every participant whatever their state.
    pub plugin_events: bool,
    /// §9 row 5: `group/create` reads `user_ids` only as comma-separated integers; a list
    /// that does not read (a JSON list, `"abc"`) or names nobody who can be invited (other
    /// realms only, the host) still opens the call, with no invitees (`invited_count: 0`).
    /// `group/{id}/invite` answers 400 to a list that does not read.
    pub group_user_ids_comma_only: bool,
    /// §9 row 6: group calls make nobody busy: the 1:1 `create` looks at 1:1 calls only (a
    /// user joined in a group call can call and be rung), and neither `group/create` nor
    /// `group/{id}/join` asks whether the user is in another call.
    pub group_calls_never_busy: bool,
    /// §9 rows 7 and 8: the plugin's hard-coded group timers instead of the settings (joined
    /// participants dropped 60 s after joining, invitees missed 90 s after their first
    /// invitation, the call ended 10 min after its creation once nobody is joined; no
    /// `CALL_MAX_DURATION`). Where several are due at once they fire as the plugin's cleanup
    /// runs them: every drop, then every miss, then the end.
    pub group_timers: Option<PluginGroupTimers>,
    /// §9 row 4, for group calls: the group cleanup is in the plugin's queue worker only (no
    /// view runs it: `create` runs the 1:1 cleanup alone), and that worker does not run on a
    /// deployment, so group deadlines never fire on their own; only a run of the worker
    /// (the control API's `POST /mock/v1/cleanup`, as `manage.py cleanup_calls` with the
    /// worker wired would) fires those due.
    pub group_deadlines_by_worker_only: bool,
    /// §9 row 8: an invitee whose ring ran out becomes `missed` silently (no
    /// `participant_missed` event, no push), and no `group_call_cancelled` push is ever sent.
    pub group_misses_untold: bool,
    /// §9 row 9: `end` of an ended group call is refused (400 "Call already ended"), and so is
    /// `leave` by a participant already out (left, declined or missed: on an ended call, every
    /// former participant).
    pub group_ended_calls_refuse: bool,
    /// Anyone of the call's realm who knows its id can join it, invited or not (the contract
    /// answers 404 to a non-participant); they become a participant (not in §9; read from
    /// the plugin's `join` view).
    pub group_join_by_anyone: bool,
    /// The participant rules of the plugin's group views (not in §9; read from its code and
    /// checked by playing the same requests against it): invitees never ring (they stay
    /// `invited` until they answer); `invite` invites everyone it names again (the host
    /// included) and only moves those who had left, declined or missed back to `invited`,
    /// keeping their first `invited_at`; an invitee may `leave` (→ `left`); `leave` and
    /// `decline` do not look at the call's state; the host's `end` moves joined participants
    /// to `left` and leaves invitees `invited`.
    pub plugin_group_rules: bool,
}

impl Quirks {
    /// The quirks of a server with these settings.
    pub fn of(settings: &Settings) -> Quirks {
        let cooldown = (settings.call_redial_cooldown > 0).then_some(settings.call_redial_cooldown);
        match settings.calls_compat {
            Compat::Contract => Quirks {
                redial_cooldown: cooldown,
                ..Quirks::default()
            },
            Compat::Plugin1_1_0 => Quirks {
                // The plugin's 5 s, unless a cooldown of another length is asked for.
                redial_cooldown: cooldown.or(Some(5)),
                receiver_always_offline: true,
                timers: Some(PLUGIN_1_1_0_TIMERS),
                deadlines_on_create_only: true,
                end_before_answer_is_ended: true,
                deactivated_users_callable: true,
                reacknowledgement_rings_again: true,
                plugin_join_urls: true,
                plugin_pushes: true,
                plugin_views: true,
                plugin_events: true,
                group_user_ids_comma_only: true,
                group_calls_never_busy: true,
                group_timers: Some(PLUGIN_1_1_0_GROUP_TIMERS),
                group_deadlines_by_worker_only: true,
                group_misses_untold: true,
                group_ended_calls_refuse: true,
                group_join_by_anyone: true,
                plugin_group_rules: true,
            },
        }
    }
}

impl Quirks {
    /// The protocol's state machine, as this server runs it: with the plugin's timers, its
    /// cleanup moves an unanswered call to `missed` (from `calling` too) and any call still
    /// going after `stale_after` to `timeout` (an accepted one included); see also
    /// [`Quirks::outcome`].
    pub fn transition(
        &self,
        before: CallState,
        action: Action,
        actor: Actor,
    ) -> Result<Outcome, TransitionError> {
        let moved = |to, end_reason| Outcome::Moved {
            to,
            end_reason: Some(end_reason),
            event: CallEventType::CallEnded,
        };
        if self.timers.is_some() && actor == Actor::Server {
            match (action, before) {
                (Action::NotificationTimeout, CallState::Calling | CallState::Ringing) => {
                    return Ok(moved(CallState::Missed, EndReason::Missed));
                }
                (
                    Action::Cleanup,
                    CallState::Calling | CallState::Ringing | CallState::Accepted,
                ) => {
                    return Ok(moved(CallState::Timeout, EndReason::Cleanup));
                }
                _ => {}
            }
        }
        let outcome = transition(before, action, actor)?;
        Ok(self.outcome(action, before, outcome))
    }

    /// The state machine's `outcome` of `action` on a call in `before`, as this server has
    /// it (§9 row 10: `end` before an answer leaves the call `ended`, a hang-up; a second
    /// acknowledgement rings again).
    pub fn outcome(&self, action: Action, before: CallState, outcome: Outcome) -> Outcome {
        match outcome {
            Outcome::Unchanged
                if self.reacknowledgement_rings_again
                    && action == Action::Acknowledge
                    && before == CallState::Ringing =>
            {
                Outcome::Moved {
                    to: CallState::Ringing,
                    end_reason: None,
                    event: CallEventType::ParticipantRinging,
                }
            }
            Outcome::Moved { event, .. }
                if self.end_before_answer_is_ended
                    && action == Action::End
                    && matches!(before, CallState::Calling | CallState::Ringing) =>
            {
                Outcome::Moved {
                    to: CallState::Ended,
                    end_reason: Some(EndReason::Hangup),
                    event,
                }
            }
            outcome => outcome,
        }
    }
}

impl PluginTimers {
    /// The next deadline of a call, as the plugin's cleanup would find it due. `heartbeats`
    /// are the parties' last ones (the caller's counts from the creation, the receiver's
    /// from the acknowledgement, as the plugin stores them; `None`: never).
    pub fn next_deadline(
        &self,
        state: CallState,
        created_at: Timestamp,
        answered_at: Option<Timestamp>,
        heartbeats: [Option<Timestamp>; 2],
    ) -> Option<(Timestamp, Action)> {
        let after = |t: Timestamp, s: u64| t.plus_seconds(i64::try_from(s).unwrap_or(i64::MAX));
        let stale = (after(created_at, self.stale_after), Action::Cleanup);
        let soonest =
            |a: (Timestamp, Action), b: (Timestamp, Action)| if b.0 < a.0 { b } else { a };
        match state {
            CallState::Calling | CallState::Ringing => Some(soonest(
                (
                    after(created_at, self.missed_after),
                    Action::NotificationTimeout,
                ),
                stale,
            )),
            CallState::Accepted => {
                let answered = answered_at.unwrap_or(created_at);
                let checked_from = after(answered, self.heartbeat_grace);
                // Checked from the grace on: lost once the older party's last heartbeat is
                // `heartbeat_silence` old (at once, for a party that never sent one).
                let lost = match heartbeats {
                    [Some(a), Some(b)] => after(a.min(b), self.heartbeat_silence).max(checked_from),
                    _ => checked_from,
                };
                Some(soonest((lost, Action::HeartbeatLost), stale))
            }
            _ => None,
        }
    }
}

impl PluginGroupTimers {
    /// Every deadline of a group call under these timers, in the order the plugin's cleanup
    /// runs them (drops, misses, the end), each with when it comes due.
    fn deadlines(&self, record: &GroupRecord) -> Vec<(Timestamp, GroupDeadline)> {
        if !record.call.is_active() {
            return Vec::new();
        }
        let after = |t: Timestamp, s: u64| t.plus_seconds(i64::try_from(s).unwrap_or(i64::MAX));
        let mut deadlines: Vec<(Timestamp, GroupDeadline)> = record
            .participants
            .iter()
            .filter_map(|p| match (p.state(), p.heartbeat_at) {
                (ParticipantState::Joined, Some(last)) => Some((
                    after(last, self.drop_after),
                    GroupDeadline::Drop(p.user_id()),
                )),
                _ => None,
            })
            .collect();
        deadlines.extend(
            record
                .participants
                .iter()
                .filter(|p| p.state().is_pending())
                .map(|p| {
                    (
                        after(p.participant.invited_at, self.missed_after),
                        GroupDeadline::Miss(p.user_id()),
                    )
                }),
        );
        if record.joined_count() == 0 {
            deadlines.push((
                after(record.call.created_at, self.ended_after),
                GroupDeadline::Empty,
            ));
        }
        deadlines
    }

    /// The earliest deadline of a group call (what the scheduler keeps).
    pub fn next_deadline(&self, record: &GroupRecord) -> Option<(Timestamp, GroupDeadline)> {
        self.deadlines(record).into_iter().min_by_key(|(at, _)| *at)
    }

    /// The deadline a cleanup run at `now` applies first: the first due in the plugin's
    /// order (every drop, then every miss, then the end). A joined participant still there
    /// keeps the call from ending, so the end is due only once nobody is joined.
    pub fn first_due(
        &self,
        record: &GroupRecord,
        now: Timestamp,
    ) -> Option<(Timestamp, GroupDeadline)> {
        self.deadlines(record)
            .into_iter()
            .find(|(at, _)| *at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_has_no_quirks_but_the_cooldown_option() {
        assert_eq!(Quirks::of(&Settings::default()), Quirks::default());
        let settings = Settings {
            call_redial_cooldown: 3,
            ..Settings::default()
        };
        assert_eq!(Quirks::of(&settings).redial_cooldown, Some(3));
    }

    #[test]
    fn the_plugin_mode_has_every_quirk() {
        let settings = Settings {
            calls_compat: Compat::Plugin1_1_0,
            ..Settings::default()
        };
        let quirks = Quirks::of(&settings);
        assert_eq!(quirks.redial_cooldown, Some(5));
        assert_eq!(quirks.timers, Some(PLUGIN_1_1_0_TIMERS));
        assert!(quirks.receiver_always_offline && quirks.plugin_views && quirks.plugin_events);
        assert_eq!(quirks.group_timers, Some(PLUGIN_1_1_0_GROUP_TIMERS));
        assert!(
            quirks.group_user_ids_comma_only
                && quirks.group_calls_never_busy
                && quirks.group_deadlines_by_worker_only
                && quirks.group_misses_untold
                && quirks.group_ended_calls_refuse
                && quirks.group_join_by_anyone
                && quirks.plugin_group_rules
        );
        let cancelled = zulip_calls_protocol::transition(
            CallState::Ringing,
            Action::End,
            zulip_calls_protocol::Actor::Sender,
        )
        .unwrap();
        let Outcome::Moved { to, end_reason, .. } =
            quirks.outcome(Action::End, CallState::Ringing, cancelled)
        else {
            panic!("moved");
        };
        assert_eq!(
            (to, end_reason),
            (CallState::Ended, Some(EndReason::Hangup))
        );
        assert_eq!(
            Quirks::default().outcome(Action::End, CallState::Ringing, cancelled),
            cancelled
        );
    }
}

//! The `group` subcommands: start (and wait for someone to join), invite, join (and stay in),
//! leave, decline, end, status, participants. Users are named as for `call`
//! ([`super::resolve_user`]); output follows the other subcommands (text, or one JSON object
//! per line with `--json`), and so do the exit codes, `group start --wait` ending like
//! `call --wait` does.

use std::io::Write;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use zulip_calls_protocol::plugin::group::{
    GroupCallDetail, GroupCallState, GroupCallStatus, GroupEndReason, GroupLeftReason,
    GroupParticipant, GroupParticipantsResponse, GroupUser, ParticipantState,
};
use zulip_calls_protocol::zulip::User;
use zulip_calls_protocol::{CallId, CallType, UserId};

use super::{
    CommandError, HOLD_RECHECK, WAIT_RECHECK_MARGIN, fetch_users, format_duration, interrupted,
    resolve_user, wait_until_synced,
};
use crate::backend::api::ClientError;
use crate::backend::calls::{Calls, DEFAULT_RING_SECONDS, room_url};
use crate::backend::events::{ConnectionState, EventStream, StreamItem, StreamOptions};
use crate::backend::groups::NewGroupCall;
use crate::backend::keepalive::{Held, Keepalive};
use crate::cli::{ExitStatus, GroupCommand};
use crate::output::{Output, Render};

/// Said after joining a group call by a command that then exits: every server with group
/// calls drops a joined participant whose client goes quiet.
const UNKEPT_NOTE: &str = "note: group calls drop participants whose client goes quiet; --hold, \
                           or the terminal UI, keeps you in\n";

/// Runs a `group` subcommand; the status is how the process should exit when nothing failed.
pub(super) async fn run<W: Write + Send>(
    command: GroupCommand,
    calls: &Calls,
    interval: Duration,
    out: &mut Output<W>,
) -> Result<ExitStatus, CommandError> {
    match command {
        GroupCommand::Start {
            users,
            title,
            audio,
            wait,
            hold,
        } => {
            let call_type = if audio {
                CallType::Audio
            } else {
                CallType::Video
            };
            let invitees = resolve_users(calls, &users).await?;
            let new = NewGroupCall {
                user_ids: invitees.iter().map(|u| u.user_id).collect(),
                call_type,
                title,
            };
            if wait {
                let hold = hold.then_some(());
                return start_and_wait(calls, &new, &invitees, hold, interval, out).await;
            }
            let mut started = start(calls, &new, &invitees).await?;
            started.unkept = true;
            out.print(&started)?;
        }
        GroupCommand::Invite { call_id, users } => {
            let invitees = resolve_users(calls, &users).await?;
            let ids: Vec<UserId> = invitees.iter().map(|u| u.user_id).collect();
            let response = calls.invite_to_group(call_id, &ids).await?;
            out.print(&GroupInvited {
                call_id,
                invited: invitees.iter().map(Person::from).collect(),
                invited_count: response.invited_count,
                online_count: response.online_count,
                offline_count: response.offline_count,
            })?;
        }
        GroupCommand::Join { call_id, hold } => {
            if hold {
                return join_and_hold(calls, call_id, interval, out).await;
            }
            let joined = GroupJoined {
                unkept: true,
                ..join(calls, call_id).await?
            };
            out.print(&joined)?;
        }
        GroupCommand::Leave { call_id } => {
            let response = calls.leave_group(call_id).await?;
            out.print(&GroupDone::new(
                call_id,
                GroupAction::Left,
                response.message,
            ))?;
        }
        GroupCommand::Decline { call_id } => {
            let response = calls.decline_group(call_id).await?;
            out.print(&GroupDone::new(
                call_id,
                GroupAction::Declined,
                response.message,
            ))?;
        }
        GroupCommand::End { call_id } => {
            let response = calls.end_group(call_id).await?;
            out.print(&GroupDone::new(
                call_id,
                GroupAction::Ended,
                response.message,
            ))?;
        }
        GroupCommand::Status { call_id } => out.print(&calls.group_status(call_id).await?)?,
        GroupCommand::Participants { call_id } => {
            out.print(&calls.group_participants(call_id).await?)?;
        }
    }
    Ok(ExitStatus::Ok)
}

/// Each USER as `call` resolves one, each person once.
async fn resolve_users(calls: &Calls, queries: &[String]) -> Result<Vec<User>, CommandError> {
    let users = fetch_users(calls.api()).await?;
    let mut found: Vec<User> = Vec::new();
    for query in queries {
        let user = resolve_user(query, &users)?;
        if !found.iter().any(|u| u.user_id == user.user_id) {
            found.push(user.clone());
        }
    }
    Ok(found)
}

// ---------------------------------------------------------------------------------------------
// Outcomes

/// A person as the group outcomes name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub user_id: UserId,
    pub full_name: String,
    pub email: String,
}

impl From<&User> for Person {
    fn from(user: &User) -> Self {
        Person {
            user_id: user.user_id,
            full_name: user.full_name.clone(),
            email: user.email.clone(),
        }
    }
}

/// "Ana <ana@example.com>, Bob <bob@example.com>" (names may hold commas themselves).
fn people(list: &[Person]) -> String {
    list.iter()
        .map(|p| format!("{} <{}>", p.full_name, p.email))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The outcome of `group start`: the call just opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStarted {
    pub call_id: CallId,
    pub call_type: CallType,
    pub title: Option<String>,
    pub host: GroupUser,
    pub invited: Vec<Person>,
    /// How many the server invited (it leaves out who cannot be).
    pub invited_count: u32,
    /// The bare room, safe to share.
    pub jitsi_url: String,
    /// Your own join URL.
    pub join_url: String,
    /// Nothing here keeps you in the call (no `--wait --hold`).
    #[serde(skip)]
    pub unkept: bool,
}

impl Render for GroupStarted {
    fn human(&self) -> String {
        let title = self
            .title
            .as_ref()
            .map(|t| format!(" “{t}”"))
            .unwrap_or_default();
        let mut text = format!(
            "Group {} call{title} started\ncall id: {}\ninvited: {}\njoin: {}\n",
            self.call_type,
            self.call_id,
            people(&self.invited),
            self.join_url
        );
        if self.unkept {
            text.push_str(UNKEPT_NOTE);
        }
        text
    }
}

async fn start(
    calls: &Calls,
    new: &NewGroupCall,
    invitees: &[User],
) -> Result<GroupStarted, CommandError> {
    let response = calls.create_group(new).await?;
    Ok(GroupStarted {
        call_id: response.call_id,
        call_type: response.call_type,
        title: response.title,
        host: response.host,
        invited: invitees.iter().map(Person::from).collect(),
        invited_count: response.invited_count,
        jitsi_url: room_url(&response.call_url),
        join_url: response.call_url,
        unkept: false,
    })
}

/// The outcome of `group invite`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupInvited {
    pub call_id: CallId,
    pub invited: Vec<Person>,
    pub invited_count: u32,
    /// Invitees whose devices could be told at once.
    pub online_count: u32,
    pub offline_count: u32,
}

impl Render for GroupInvited {
    fn human(&self) -> String {
        format!(
            "Invited {} to group call {}: {}\n",
            self.invited_count,
            self.call_id,
            people(&self.invited)
        )
    }
}

/// The outcome of `group join`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupJoined {
    pub call_id: CallId,
    pub call_type: CallType,
    pub title: Option<String>,
    /// Your own join URL.
    pub join_url: String,
    /// Participants in the call now, you included.
    pub participant_count: u32,
    /// Nothing here keeps you in the call (no `--hold`).
    #[serde(skip)]
    pub unkept: bool,
}

impl Render for GroupJoined {
    fn human(&self) -> String {
        let title = self
            .title
            .as_ref()
            .map(|t| format!(" “{t}”"))
            .unwrap_or_default();
        let mut text = format!(
            "Joined group call {}{title} ({} in)\njoin: {}\n",
            self.call_id, self.participant_count, self.join_url
        );
        if self.unkept {
            text.push_str(UNKEPT_NOTE);
        }
        text
    }
}

async fn join(calls: &Calls, call_id: CallId) -> Result<GroupJoined, CommandError> {
    let response = calls.join_group(call_id).await?;
    Ok(GroupJoined {
        call_id,
        call_type: response.call_type,
        title: response.title,
        join_url: response.call_url,
        participant_count: response.participant_count,
        unkept: false,
    })
}

/// What `leave`, `decline` and `end` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupAction {
    Left,
    Declined,
    Ended,
}

/// The outcome of `group leave`, `group decline` and `group end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupDone {
    pub call_id: CallId,
    pub action: GroupAction,
    /// The server's sentence.
    pub message: String,
}

impl GroupDone {
    fn new(call_id: CallId, action: GroupAction, message: String) -> Self {
        GroupDone {
            call_id,
            action,
            message,
        }
    }
}

impl Render for GroupDone {
    fn human(&self) -> String {
        match self.action {
            GroupAction::Left => format!("Left group call {}\n", self.call_id),
            GroupAction::Declined => format!("Declined group call {}\n", self.call_id),
            GroupAction::Ended => format!("Ended group call {} for everyone\n", self.call_id),
        }
    }
}

impl Render for GroupCallStatus {
    fn human(&self) -> String {
        let title = self
            .title
            .as_ref()
            .map(|t| format!(" “{t}”"))
            .unwrap_or_default();
        format!(
            "{}  {}  {}{title}  host {}  {} of {} in  since {}\n",
            self.call_id,
            self.state,
            self.call_type,
            self.host.full_name,
            self.participant_count,
            self.max_participants,
            self.created_at
        )
    }
}

impl Render for GroupParticipantsResponse {
    fn human(&self) -> String {
        let width = self
            .participants
            .iter()
            .map(|p| p.full_name.chars().count())
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        for p in &self.participants {
            let host = if p.is_host { "  (host)" } else { "" };
            text.push_str(&format!(
                "{:>6}  {:<width$}  {:<8}  {}{host}\n",
                p.user_id, p.full_name, p.state, p.email
            ));
        }
        text.push_str(&format!(
            "({} of {} in the call)\n",
            self.joined_count, self.total_count
        ));
        text
    }
}

// ---------------------------------------------------------------------------------------------
// start --wait, join --hold: both follow the event stream

/// How `group start --wait` came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupOutcome {
    /// At least one invitee joined.
    Joined,
    /// Every invitee declined.
    Declined,
    /// Nobody joined: the invitations ran out (some may have declined).
    Missed,
    /// The call ended before anyone joined (ended elsewhere, or its maximum duration).
    Ended,
    /// Interrupted: the call was ended.
    Cancelled,
}

impl GroupOutcome {
    /// The outcome the invitees' states make, `None` while someone may still join. Someone
    /// who left had joined (a gap in the events may hide the join).
    pub fn from_invitees(states: &[ParticipantState]) -> Option<GroupOutcome> {
        use ParticipantState as S;
        if states.iter().any(|s| matches!(s, S::Joined | S::Left)) {
            return Some(GroupOutcome::Joined);
        }
        if states.is_empty() || states.iter().any(|s| s.is_pending()) {
            return None;
        }
        if states.iter().all(|s| *s == S::Declined) {
            Some(GroupOutcome::Declined)
        } else {
            Some(GroupOutcome::Missed)
        }
    }

    /// The exit code `group start --wait` ends with: `call --wait`'s for the same outcome.
    pub const fn exit_status(self) -> ExitStatus {
        match self {
            GroupOutcome::Joined => ExitStatus::Ok,
            GroupOutcome::Declined => ExitStatus::Rejected,
            GroupOutcome::Missed => ExitStatus::Missed,
            GroupOutcome::Ended => ExitStatus::EndedOther,
            GroupOutcome::Cancelled => ExitStatus::Cancelled,
        }
    }
}

/// The final result of `group start --wait`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupWaited {
    pub call_id: CallId,
    pub outcome: GroupOutcome,
    /// The invitees who joined, declined, or let the invitation run out, by name.
    pub joined: Vec<String>,
    pub declined: Vec<String>,
    pub missed: Vec<String>,
    /// Your join URL, when someone joined.
    pub join_url: Option<String>,
    /// Nothing here keeps you in the call (no `--hold`).
    #[serde(skip)]
    pub unkept: bool,
}

impl Render for GroupWaited {
    fn human(&self) -> String {
        match self.outcome {
            GroupOutcome::Joined => {
                let mut text = format!("{} joined\n", self.joined.join("; "));
                if let Some(url) = &self.join_url {
                    text.push_str(&format!("join: {url}\n"));
                }
                if self.unkept {
                    text.push_str(UNKEPT_NOTE);
                }
                text
            }
            GroupOutcome::Declined => "Everyone declined; the group call was ended\n".to_owned(),
            GroupOutcome::Missed => "Nobody joined in time; the group call was ended\n".to_owned(),
            GroupOutcome::Ended => "The group call ended before anyone joined\n".to_owned(),
            GroupOutcome::Cancelled => "The group call was ended\n".to_owned(),
        }
    }
}

/// How a held group call ended for me.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupOver {
    pub call_id: CallId,
    /// `ended`: the call is over; `left`: I am out of it (interrupted, or dropped by the
    /// server) and it may go on.
    pub state: HeldOver,
    /// Why: `host_ended`, `empty` or `max_duration` for an end; `left` or `network_failure`
    /// when I am out. `null` when the server did not say.
    pub reason: Option<String>,
    /// Seconds I was in it here.
    pub duration: f64,
}

/// How a held group call ended for me.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldOver {
    Ended,
    Left,
}

impl Render for GroupOver {
    fn human(&self) -> String {
        let after = format_duration(self.duration);
        match (self.state, self.reason.as_deref()) {
            (HeldOver::Ended, Some(reason)) => {
                format!(
                    "Group call {} ended ({reason}) after {after}\n",
                    self.call_id
                )
            }
            (HeldOver::Ended, None) => format!("Group call {} ended after {after}\n", self.call_id),
            (HeldOver::Left, Some("network_failure")) => format!(
                "Dropped from group call {} (the connection was lost) after {after}\n",
                self.call_id
            ),
            (HeldOver::Left, _) => format!("Left group call {} after {after}\n", self.call_id),
        }
    }
}

/// The group call's state and participants as the server has them now.
async fn snapshot(
    calls: &Calls,
    call_id: CallId,
) -> Result<(GroupCallState, Vec<GroupParticipant>), CommandError> {
    let call = calls.group_status(call_id).await?;
    let participants = calls.group_participants(call_id).await?.participants;
    Ok((call.state, participants))
}

/// A stream for a group command: asks for group events, which the server is about to be
/// asked to show (a server known to lack group calls is said so at once).
fn group_stream(calls: &Calls) -> Result<(EventStream, mpsc::Receiver<StreamItem>), CommandError> {
    if calls.knows_group_calls() == Some(false) {
        return Err(ClientError::NoGroupCalls {
            site: calls.api().server().site_str(),
        }
        .into());
    }
    calls.expect_group_calls();
    Ok(EventStream::spawn(calls.clone(), StreamOptions::default()))
}

/// `group start --wait`: opens the event stream first (so no answer can slip by between
/// creating the call and listening), creates the call, prints it, heartbeats it, and waits
/// for the invitees' answers; with `hold`, stays in the call once someone joined.
async fn start_and_wait<W: Write + Send>(
    calls: &Calls,
    new: &NewGroupCall,
    invitees: &[User],
    hold: Option<()>,
    interval: Duration,
    out: &mut Output<W>,
) -> Result<ExitStatus, CommandError> {
    let (stream, mut items) = group_stream(calls)?;
    let result = async {
        wait_until_synced(&mut items).await?;
        let started = start(calls, new, invitees).await?;
        out.print(&started)?;
        let (reports_tx, mut reports) = mpsc::unbounded_channel();
        let mut keepalive = Keepalive::new(calls.clone(), interval).reporting_to(reports_tx);
        keepalive.keep(Some(Held::Group(started.call_id)));
        let since = tokio::time::Instant::now();
        let mut waited = await_joiners(calls, &started, &mut items).await?;
        if matches!(
            waited.outcome,
            GroupOutcome::Declined | GroupOutcome::Missed
        ) {
            // Nobody is coming: the host would wait alone in the room.
            keepalive.stop();
            calls.end_group(started.call_id).await?;
        }
        waited.unkept = hold.is_none() && waited.outcome == GroupOutcome::Joined;
        out.print(&waited)?;
        if hold.is_some() && waited.outcome == GroupOutcome::Joined {
            let over = hold_group(
                calls,
                started.call_id,
                since,
                &mut keepalive,
                &mut reports,
                &mut items,
            )
            .await?;
            out.print(&over)?;
        }
        keepalive.stop();
        Ok(waited.outcome.exit_status())
    }
    .await;
    stream.shutdown().await;
    result
}

/// Follows the stream until an invitee joined or none is left to; Ctrl-C ends the call.
async fn await_joiners(
    calls: &Calls,
    started: &GroupStarted,
    items: &mut mpsc::Receiver<StreamItem>,
) -> Result<GroupWaited, CommandError> {
    let call_id = started.call_id;
    let me = started.host.user_id;
    let verdict = |outcome: GroupOutcome, people: &[(String, ParticipantState)]| {
        let named = |wanted: &[ParticipantState]| {
            people
                .iter()
                .filter(|(_, state)| wanted.contains(state))
                .map(|(name, _)| name.clone())
                .collect()
        };
        GroupWaited {
            call_id,
            outcome,
            joined: named(&[ParticipantState::Joined, ParticipantState::Left]),
            declined: named(&[ParticipantState::Declined]),
            missed: named(&[ParticipantState::Missed]),
            join_url: (outcome == GroupOutcome::Joined).then(|| started.join_url.clone()),
            unkept: false,
        }
    };
    // Everyone but me, as (name, state).
    let invitees_of =
        |list: Vec<(UserId, String, ParticipantState)>| -> Vec<(String, ParticipantState)> {
            list.into_iter()
                .filter(|(id, _, _)| *id != me)
                .map(|(_, name, state)| (name, state))
                .collect()
        };
    let check = |state: GroupCallState, participants: Vec<GroupParticipant>| {
        let people = invitees_of(
            participants
                .into_iter()
                .map(|p| (p.user_id, p.full_name, p.state))
                .collect(),
        );
        let states: Vec<_> = people.iter().map(|(_, s)| *s).collect();
        match GroupOutcome::from_invitees(&states) {
            Some(outcome) => Some(verdict(outcome, &people)),
            None if state == GroupCallState::Ended => Some(verdict(GroupOutcome::Ended, &people)),
            None => None,
        }
    };
    // A safety net should an event go astray: the server's ring deadline and a margin.
    let recheck_every = Duration::from_secs(DEFAULT_RING_SECONDS) + WAIT_RECHECK_MARGIN;
    let mut recheck_at = tokio::time::Instant::now() + recheck_every;
    let interrupted = interrupted();
    tokio::pin!(interrupted);
    let mut offline = None;
    loop {
        tokio::select! {
            item = items.recv() => match item {
                Some(StreamItem::Event(event)) => {
                    let Some(group) = event.as_group_call() else { continue };
                    if group.call_id != call_id {
                        continue;
                    }
                    let state = if matches!(group.detail, GroupCallDetail::Ended { .. }) {
                        GroupCallState::Ended
                    } else {
                        GroupCallState::Active
                    };
                    let people = invitees_of(
                        group
                            .participants
                            .iter()
                            .map(|p| (p.user_id, p.full_name.clone(), p.state))
                            .collect(),
                    );
                    let states: Vec<_> = people.iter().map(|(_, s)| *s).collect();
                    match GroupOutcome::from_invitees(&states) {
                        Some(outcome) => return Ok(verdict(outcome, &people)),
                        None if state == GroupCallState::Ended => {
                            return Ok(verdict(GroupOutcome::Ended, &people));
                        }
                        None => {}
                    }
                }
                // After a gap: only the server knows what happened meanwhile.
                Some(StreamItem::Registered { .. }) => {}
                Some(StreamItem::Resynced(_)) => {
                    let (state, participants) = snapshot(calls, call_id).await?;
                    if let Some(waited) = check(state, participants) {
                        return Ok(waited);
                    }
                }
                Some(StreamItem::State(ConnectionState::Offline { reason })) => {
                    offline = Some(reason);
                }
                Some(StreamItem::State(state)) => tracing::info!(?state, "event stream"),
                None => {
                    return Err(CommandError::Stream(
                        offline.take().unwrap_or_else(|| "it ended".to_owned()),
                    ));
                }
            },
            () = tokio::time::sleep_until(recheck_at) => {
                let (state, participants) = snapshot(calls, call_id).await?;
                if let Some(waited) = check(state, participants) {
                    return Ok(waited);
                }
                recheck_at = tokio::time::Instant::now() + recheck_every;
            }
            () = &mut interrupted => {
                calls.end_group(call_id).await?;
                let (_, participants) = snapshot(calls, call_id).await?;
                let people = invitees_of(
                    participants
                        .into_iter()
                        .map(|p| (p.user_id, p.full_name, p.state))
                        .collect(),
                );
                return Ok(verdict(GroupOutcome::Cancelled, &people));
            }
        }
    }
}

/// `group join --hold`: opens the event stream first (so the end cannot slip by), joins,
/// prints the join URL, then stays in the call until it ends.
async fn join_and_hold<W: Write + Send>(
    calls: &Calls,
    call_id: CallId,
    interval: Duration,
    out: &mut Output<W>,
) -> Result<ExitStatus, CommandError> {
    let (stream, mut items) = group_stream(calls)?;
    let result = async {
        wait_until_synced(&mut items).await?;
        let joined = join(calls, call_id).await?;
        out.print(&joined)?;
        let (reports_tx, mut reports) = mpsc::unbounded_channel();
        let mut keepalive = Keepalive::new(calls.clone(), interval).reporting_to(reports_tx);
        keepalive.keep(Some(Held::Group(call_id)));
        let since = tokio::time::Instant::now();
        let over = hold_group(
            calls,
            call_id,
            since,
            &mut keepalive,
            &mut reports,
            &mut items,
        )
        .await?;
        keepalive.stop();
        out.print(&over)?;
        Ok(ExitStatus::Ok)
    }
    .await;
    stream.shutdown().await;
    result
}

/// Stays in the group call `call_id` (heartbeaten by `keepalive`) until it ends or I am out
/// of it; Ctrl-C leaves. A heartbeat that stops by itself, a gap in the stream and a slow
/// recheck each look at the call on the server, since a participant the server dropped hears
/// no event about it.
async fn hold_group(
    calls: &Calls,
    call_id: CallId,
    since: tokio::time::Instant,
    keepalive: &mut Keepalive,
    reports: &mut mpsc::UnboundedReceiver<Held>,
    items: &mut mpsc::Receiver<StreamItem>,
) -> Result<GroupOver, CommandError> {
    let me = calls.me().await?;
    let over = |state: HeldOver, reason: Option<&str>| GroupOver {
        call_id,
        state,
        reason: reason.map(str::to_owned),
        duration: since.elapsed().as_secs_f64(),
    };
    // What the server says now, when it says I am done.
    let look = || async {
        let (state, participants) = snapshot(calls, call_id).await?;
        let mine = participants
            .iter()
            .find(|p| p.user_id == me)
            .map(|p| p.state);
        Ok::<_, CommandError>(if state == GroupCallState::Ended {
            Some(over(HeldOver::Ended, None))
        } else if mine != Some(ParticipantState::Joined) {
            Some(over(
                HeldOver::Left,
                Some(GroupLeftReason::NetworkFailure.as_str()),
            ))
        } else {
            None
        })
    };
    let interrupted = interrupted();
    tokio::pin!(interrupted);
    let mut recheck_at = tokio::time::Instant::now() + HOLD_RECHECK;
    let mut offline = None;
    let result = loop {
        tokio::select! {
            item = items.recv() => match item {
                Some(StreamItem::Event(event)) => {
                    let Some(group) = event.as_group_call() else { continue };
                    if group.call_id != call_id {
                        continue;
                    }
                    if let GroupCallDetail::Ended { reason } = group.detail {
                        break over(HeldOver::Ended, reason.map(GroupEndReason::as_str));
                    }
                }
                Some(StreamItem::Registered { .. }) => {}
                Some(StreamItem::Resynced(_)) => {
                    if let Some(done) = look().await? {
                        break done;
                    }
                }
                Some(StreamItem::State(ConnectionState::Offline { reason })) => {
                    offline = Some(reason);
                }
                Some(StreamItem::State(state)) => tracing::info!(?state, "event stream"),
                None => {
                    return Err(CommandError::Stream(
                        offline.take().unwrap_or_else(|| "it ended".to_owned()),
                    ));
                }
            },
            Some(_) = reports.recv() => {
                if let Some(done) = look().await? {
                    break done;
                }
                // Still in, by the server's account, yet it refuses the heartbeats: the
                // released plugin has no way to heartbeat a group call (its §9). Sending more
                // would only be refused again; the recheck tells when the call is over.
                tracing::info!(%call_id, "the server takes no heartbeats for this group call");
            }
            () = tokio::time::sleep_until(recheck_at) => {
                if let Some(done) = look().await? {
                    break done;
                }
                recheck_at = tokio::time::Instant::now() + HOLD_RECHECK;
            }
            () = &mut interrupted => {
                keepalive.stop();
                calls.leave_group(call_id).await?;
                break over(HeldOver::Left, Some(GroupLeftReason::Left.as_str()));
            }
        }
    };
    keepalive.stop();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParticipantState as S;

    #[test]
    fn the_wait_ends_with_the_first_join_or_the_last_answer() {
        use GroupOutcome as O;
        let cases: &[(&[S], Option<O>)] = &[
            (&[S::Invited, S::Ringing], None),
            (&[S::Declined, S::Ringing], None),
            (&[S::Declined, S::Joined], Some(O::Joined)),
            (&[S::Invited, S::Left], Some(O::Joined)),
            (&[S::Declined, S::Declined], Some(O::Declined)),
            (&[S::Missed, S::Missed], Some(O::Missed)),
            (&[S::Declined, S::Missed], Some(O::Missed)),
            (&[], None),
        ];
        for (states, expected) in cases {
            assert_eq!(GroupOutcome::from_invitees(states), *expected, "{states:?}");
        }
        assert_eq!(O::Joined.exit_status().code(), 0);
        assert_eq!(O::Declined.exit_status().code(), 10);
        assert_eq!(O::Missed.exit_status().code(), 11);
        assert_eq!(O::Cancelled.exit_status().code(), 13);
        assert_eq!(O::Ended.exit_status().code(), 14);
    }

    #[test]
    fn outcomes_read_as_sentences() {
        let waited = GroupWaited {
            call_id: CallId(Default::default()),
            outcome: GroupOutcome::Joined,
            joined: vec!["Othello, the Moor of Venice".to_owned()],
            declined: vec![],
            missed: vec![],
            join_url: Some("https://meet.example.com/r#jwt".to_owned()),
            unkept: true,
        };
        assert_eq!(
            waited.human(),
            format!(
                "Othello, the Moor of Venice joined\njoin: https://meet.example.com/r#jwt\n\
                 {UNKEPT_NOTE}"
            )
        );
        let json = serde_json::to_value(&waited).unwrap();
        assert_eq!(json["outcome"], "joined");
        assert!(json.get("unkept").is_none());
        let over = GroupOver {
            call_id: CallId(Default::default()),
            state: HeldOver::Left,
            reason: Some("network_failure".to_owned()),
            duration: 75.0,
        };
        assert_eq!(
            over.human(),
            "Dropped from group call 00000000-0000-0000-0000-000000000000 (the connection was \
             lost) after 1m 15s\n"
        );
    }
}

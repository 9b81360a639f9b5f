//! The scriptable subcommands: one async function each, taking the calls API (or, for
//! `users`, the API client) and the arguments and returning a printable outcome. [`run`]
//! dispatches, works out the server's calls API dialect for the commands that need it, prints,
//! and says how the process should exit.

mod group;
mod missed;

pub use missed::{Missed, missed, stats};

use std::io::Write;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use zulip_calls_protocol::calls::{ActiveResponse, HistoryRequest, HistoryResponse};
use zulip_calls_protocol::zulip::{GetUsers, GetUsersRequest, User};
use zulip_calls_protocol::{
    ActiveCall, CallEventDetail, CallId, CallState, CallType, EndReason, ErrorCode, MediaStatus,
    UserId,
};

use crate::backend::api::{ApiClient, ClientError};
use crate::backend::calls::Calls;
use crate::backend::dialect::{CallsApiChoice, DialectMemory};
use crate::backend::events::{ConnectionState, EventStream, StreamItem, StreamOptions};
use crate::backend::keepalive::{CALL_HEARTBEAT_INTERVAL, Keepalive};
use crate::backend::recent::SeenMarks;
use crate::cli::{Command, ExitStatus};
use crate::output::{Output, Render};

/// How the subcommands reach the server's calls API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallsOptions {
    /// How the dialect is chosen.
    pub calls_api: CallsApiChoice,
    /// Where detected dialects are remembered per site.
    pub memory: Option<DialectMemory>,
    /// How often a held call is heartbeaten where the server needs it.
    pub heartbeat_interval: Duration,
    /// When History was last looked at in the terminal UI (`missed` counts from there).
    pub seen: Option<SeenMarks>,
}

impl Default for CallsOptions {
    fn default() -> Self {
        CallsOptions {
            calls_api: CallsApiChoice::Auto,
            memory: None,
            heartbeat_interval: CALL_HEARTBEAT_INTERVAL,
            seen: None,
        }
    }
}

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("no user matches {query:?}")]
    NoSuchUser { query: String },
    #[error("{name} <{email}> is deactivated")]
    Deactivated { name: String, email: String },
    #[error("{query:?} matches several people: {}; use an email or a user id", candidates.join(", "))]
    AmbiguousUser {
        query: String,
        candidates: Vec<String>,
    },
    #[error("you have no active call")]
    NoActiveCall,
    #[error("you have {} active calls ({}); name one", ids.len(), join_ids(ids))]
    SeveralActiveCalls { ids: Vec<CallId> },
    #[error("the event stream stopped: {0}")]
    Stream(String),
    #[error("cannot open the event stream: {0}")]
    StreamUnavailable(String),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

fn join_ids(ids: &[CallId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl CommandError {
    /// The exit code this failure ends the process with.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            CommandError::Client(err) => client_exit_status(err),
            CommandError::NoSuchUser { .. }
            | CommandError::Deactivated { .. }
            | CommandError::NoActiveCall => ExitStatus::NotFound,
            CommandError::AmbiguousUser { .. } | CommandError::SeveralActiveCalls { .. } => {
                ExitStatus::Usage
            }
            CommandError::StreamUnavailable(_) => ExitStatus::Unreachable,
            CommandError::Stream(_) | CommandError::Output(_) => ExitStatus::Error,
        }
    }
}

/// The exit code for an API failure.
pub fn client_exit_status(err: &ClientError) -> ExitStatus {
    match err {
        ClientError::Api(api) => match api.code {
            ErrorCode::Unauthorized
            | ErrorCode::InvalidApiKey
            | ErrorCode::UserDeactivated
            | ErrorCode::AuthenticationFailed => ExitStatus::AuthFailed,
            ErrorCode::CallNotFound | ErrorCode::UserNotFound => ExitStatus::NotFound,
            ErrorCode::UserBusy | ErrorCode::CallerBusy => ExitStatus::Busy,
            ErrorCode::NotAParticipant => ExitStatus::NotAllowed,
            _ => ExitStatus::Error,
        },
        // Like busy: nothing wrong, try again later.
        ClientError::Cooldown { .. } => ExitStatus::Busy,
        ClientError::Unreachable { .. } | ClientError::Tls { .. } | ClientError::Timeout { .. } => {
            ExitStatus::Unreachable
        }
        // A server without them: like a call that is not there.
        ClientError::NoGroupCalls { .. } => ExitStatus::NotFound,
        ClientError::NoEndpoint { .. }
        | ClientError::WrongDialect { .. }
        | ClientError::NoCallsPlugin { .. } => ExitStatus::Unreachable,
        ClientError::InvalidSite { .. } | ClientError::CertBundle { .. } => ExitStatus::Usage,
        ClientError::Malformed { .. } | ClientError::Unsupported { .. } => ExitStatus::Error,
    }
}

/// Runs `command`, printing its outcome to `out`; the status is how the process should exit
/// when nothing failed (`call --wait` ends non-zero for outcomes other than accepted).
pub async fn run<W: Write + Send>(
    command: Command,
    api: &ApiClient,
    options: &CallsOptions,
    out: &mut Output<W>,
) -> Result<ExitStatus, CommandError> {
    if command == Command::Users {
        out.print(&users(api).await?)?;
        return Ok(ExitStatus::Ok);
    }
    let calls = Calls::connect(api.clone(), options.calls_api, options.memory.as_ref()).await?;
    let interval = options.heartbeat_interval;
    match command {
        Command::Call {
            user,
            audio,
            wait,
            hold,
        } => {
            let call_type = if audio {
                CallType::Audio
            } else {
                CallType::Video
            };
            if wait {
                let hold = hold.then_some(interval);
                return call_and_wait(&calls, &user, call_type, hold, out).await;
            }
            out.print(&call(&calls, &user, call_type).await?)?;
        }
        Command::Answer { call_id, hold } => {
            if hold {
                return answer_and_hold(&calls, call_id, interval, out).await;
            }
            out.print(&answer(&calls, call_id).await?)?;
        }
        Command::Reject { call_id } => out.print(&reject(&calls, call_id).await?)?,
        Command::End { call_id } => out.print(&end(&calls, call_id).await?)?,
        Command::EndAll => out.print(&end_all(&calls).await?)?,
        Command::Status {
            call_id,
            status: media,
        } => out.print(&status(&calls, call_id, media).await?)?,
        Command::Active => out.print(&active(&calls).await?)?,
        Command::History {
            limit,
            offset,
            call_type,
            state,
        } => {
            let request = HistoryRequest {
                limit,
                offset,
                call_type,
                state,
            };
            out.print(&history(&calls, &request).await?)?;
        }
        Command::Users => out.print(&users(api).await?)?,
        Command::Missed { all } => out.print(&missed(&calls, options.seen.as_ref(), all).await?)?,
        Command::Stats { days } => out.print(&stats(&calls, days).await?)?,
        Command::Watch => return watch(&calls, out).await,
        Command::Group { command } => return group::run(command, &calls, interval, out).await,
    }
    Ok(ExitStatus::Ok)
}

// ---------------------------------------------------------------------------------------------
// users and USER resolution

/// A person as `users` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSummary {
    pub user_id: UserId,
    pub email: String,
    pub full_name: String,
    pub is_active: bool,
    pub is_bot: bool,
    pub is_admin: bool,
}

impl From<&User> for UserSummary {
    fn from(user: &User) -> Self {
        UserSummary {
            user_id: user.user_id,
            email: user.email.clone(),
            full_name: user.full_name.clone(),
            is_active: user.is_active,
            is_bot: user.is_bot,
            is_admin: user.is_administrator(),
        }
    }
}

/// The outcome of `users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsersOutcome {
    pub users: Vec<UserSummary>,
}

impl Render for UsersOutcome {
    fn human(&self) -> String {
        let width = self
            .users
            .iter()
            .map(|u| u.full_name.chars().count())
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        for user in &self.users {
            let mut tags = Vec::new();
            if user.is_admin {
                tags.push("admin");
            }
            if user.is_bot {
                tags.push("bot");
            }
            if !user.is_active {
                tags.push("deactivated");
            }
            let tags = if tags.is_empty() {
                String::new()
            } else {
                format!("  ({})", tags.join(", "))
            };
            text.push_str(&format!(
                "{:>6}  {:<width$}  {}{}\n",
                user.user_id, user.full_name, user.email, tags
            ));
        }
        text
    }
}

/// `users`: everyone in the organization, sorted by name.
pub async fn users(api: &ApiClient) -> Result<UsersOutcome, CommandError> {
    let mut members = fetch_users(api).await?;
    members.sort_by_key(|u| (u.full_name.to_lowercase(), u.user_id));
    Ok(UsersOutcome {
        users: members.iter().map(UserSummary::from).collect(),
    })
}

async fn fetch_users(api: &ApiClient) -> Result<Vec<User>, CommandError> {
    Ok(api
        .request::<GetUsers>(&(), &GetUsersRequest::default())
        .await?
        .members)
}

/// Finds the person `query` names: all digits is a user id, anything with `@` an email
/// (case-insensitive), anything else a case-insensitive part of exactly one active user's full
/// name (a full name matched whole wins over names that merely contain it).
pub fn resolve_user<'a>(query: &str, users: &'a [User]) -> Result<&'a User, CommandError> {
    let query = query.trim();
    let not_found = || CommandError::NoSuchUser {
        query: query.to_owned(),
    };
    let usable = |user: &'a User| {
        if user.is_active {
            Ok(user)
        } else {
            Err(CommandError::Deactivated {
                name: user.full_name.clone(),
                email: user.email.clone(),
            })
        }
    };
    if query.is_empty() {
        return Err(not_found());
    }
    if query.chars().all(|c| c.is_ascii_digit()) {
        let id: i64 = query.parse().map_err(|_| not_found())?;
        let user = users
            .iter()
            .find(|u| u.user_id == UserId(id))
            .ok_or_else(not_found)?;
        return usable(user);
    }
    if query.contains('@') {
        let user = users
            .iter()
            .find(|u| {
                u.email.eq_ignore_ascii_case(query)
                    || u.real_email()
                        .is_some_and(|e| e.eq_ignore_ascii_case(query))
            })
            .ok_or_else(not_found)?;
        return usable(user);
    }
    let needle = query.to_lowercase();
    let active = users.iter().filter(|u| u.is_active);
    let exact: Vec<&User> = active
        .clone()
        .filter(|u| u.full_name.to_lowercase() == needle)
        .collect();
    let matches = if exact.is_empty() {
        active
            .filter(|u| u.full_name.to_lowercase().contains(&needle))
            .collect()
    } else {
        exact
    };
    match matches.as_slice() {
        [] => Err(not_found()),
        [user] => Ok(user),
        several => Err(CommandError::AmbiguousUser {
            query: query.to_owned(),
            candidates: several
                .iter()
                .map(|u| format!("{} <{}>", u.full_name, u.email))
                .collect(),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// call

/// The outcome of `call`: the call just placed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placed {
    pub call_id: CallId,
    pub call_type: CallType,
    pub user_id: UserId,
    pub user_name: String,
    pub user_email: String,
    /// The bare room, safe to share.
    pub jitsi_url: String,
    /// Your own join URL.
    pub join_url: String,
    /// How long it rings before it is missed.
    pub timeout_seconds: u64,
    /// They were calling me at the same moment: instead of placing a second call, their call
    /// (`call_id`) was accepted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub accepted_their_call: bool,
}

impl Render for Placed {
    fn human(&self) -> String {
        if self.accepted_their_call {
            return format!(
                "{} <{}> was calling you at the same time: accepted their call\ncall id: {}\n\
                 join: {}\n",
                self.user_name, self.user_email, self.call_id, self.join_url
            );
        }
        format!(
            "Calling {} <{}> ({} call)\ncall id: {}\njoin: {}\n",
            self.user_name, self.user_email, self.call_type, self.call_id, self.join_url
        )
    }
}

/// `call USER`: places the call and returns at once.
pub async fn call(calls: &Calls, user: &str, call_type: CallType) -> Result<Placed, CommandError> {
    let users = fetch_users(calls.api()).await?;
    let callee = resolve_user(user, &users)?;
    place(calls, callee, call_type).await
}

async fn place(calls: &Calls, callee: &User, call_type: CallType) -> Result<Placed, CommandError> {
    let response = match calls.place(callee.user_id, call_type).await {
        Err(err) => match err.calling_you() {
            Some(theirs) => return accept_their_call(calls, callee, call_type, theirs).await,
            None => return Err(err.into()),
        },
        Ok(response) => response,
    };
    Ok(Placed {
        call_id: response.call_id,
        call_type,
        user_id: callee.user_id,
        user_name: callee.full_name.clone(),
        user_email: callee.email.clone(),
        join_url: response.join_or_room_url().to_owned(),
        jitsi_url: response.jitsi_url,
        timeout_seconds: response.timeout_seconds,
        accepted_their_call: false,
    })
}

/// We called each other at once (`call_id` is their call to me): accepts their call.
async fn accept_their_call(
    calls: &Calls,
    callee: &User,
    call_type: CallType,
    call_id: CallId,
) -> Result<Placed, CommandError> {
    let answered = calls.answer(call_id).await?;
    let jitsi_url = answered.jitsi_url.clone().unwrap_or_default();
    Ok(Placed {
        call_id,
        call_type,
        user_id: callee.user_id,
        user_name: callee.full_name.clone(),
        user_email: callee.email.clone(),
        join_url: answered.join_url.unwrap_or_else(|| jitsi_url.clone()),
        jitsi_url,
        timeout_seconds: 0,
        accepted_their_call: true,
    })
}

// ---------------------------------------------------------------------------------------------
// answer, reject, end, end-all, status

/// The outcome of `answer`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answered {
    pub call_id: CallId,
    pub call_status: CallState,
    pub jitsi_url: Option<String>,
    /// Your own join URL.
    pub join_url: Option<String>,
    /// The server drops calls nobody keeps alive, and nothing here will (no `--hold`).
    #[serde(skip)]
    pub unkept: bool,
}

impl Render for Answered {
    fn human(&self) -> String {
        let mut text = format!("Accepted call {}\n", self.call_id);
        if let Some(url) = self.join_url.as_ref().or(self.jitsi_url.as_ref()) {
            text.push_str(&format!("join: {url}\n"));
        }
        if self.unkept {
            text.push_str(UNKEPT_NOTE);
        }
        text
    }
}

/// Said after a call is accepted on a 1.1 server by a command that then exits.
const UNKEPT_NOTE: &str = "note: this server ends calls that no client keeps alive; --hold, or \
                           the terminal UI, keeps it\n";

/// `answer CALL_ID`: accepts an incoming call.
pub async fn answer(calls: &Calls, call_id: CallId) -> Result<Answered, CommandError> {
    let response = calls.answer(call_id).await?;
    Ok(Answered {
        call_id,
        call_status: response.call_status,
        jitsi_url: response.jitsi_url,
        join_url: response.join_url,
        unkept: calls.features().heartbeat,
    })
}

/// `answer CALL_ID --hold`: accepts, then stays in the call until it ends. The event stream
/// opens first, so the end cannot slip by between the answer and listening.
async fn answer_and_hold<W: Write + Send>(
    calls: &Calls,
    call_id: CallId,
    interval: Duration,
    out: &mut Output<W>,
) -> Result<ExitStatus, CommandError> {
    let (stream, mut items) = EventStream::spawn(calls.clone(), StreamOptions::default());
    let result = async {
        wait_until_synced(&mut items).await?;
        let answered = Answered {
            unkept: false,
            ..answer(calls, call_id).await?
        };
        out.print(&answered)?;
        let over = hold(calls, call_id, interval, &mut items).await?;
        out.print(&over)?;
        Ok(ExitStatus::Ok)
    }
    .await;
    stream.shutdown().await;
    result
}

/// The outcome of `reject`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub call_id: CallId,
    pub call_status: CallState,
}

impl Render for Rejected {
    fn human(&self) -> String {
        format!("Rejected call {}\n", self.call_id)
    }
}

/// `reject CALL_ID`: declines an incoming call.
pub async fn reject(calls: &Calls, call_id: CallId) -> Result<Rejected, CommandError> {
    let response = calls.decline(call_id).await?;
    Ok(Rejected {
        call_id,
        call_status: response.call_status,
    })
}

/// The outcome of `end`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ended {
    pub call_id: CallId,
    /// `ended`, `cancelled`, `rejected`, or the state the call already had.
    pub call_status: Option<CallState>,
    /// Seconds in the call; `null` when it was never answered.
    pub duration: Option<f64>,
}

impl Render for Ended {
    fn human(&self) -> String {
        let state = self
            .call_status
            .map_or_else(|| "ended".to_owned(), |s| s.to_string());
        match self.duration {
            Some(seconds) => format!(
                "Call {} {state} after {}\n",
                self.call_id,
                format_duration(seconds)
            ),
            None => format!("Call {} {state}\n", self.call_id),
        }
    }
}

/// `end [CALL_ID]`: hangs up or cancels; without an id, the user's only active call.
pub async fn end(calls: &Calls, call_id: Option<CallId>) -> Result<Ended, CommandError> {
    let call_id = match call_id {
        Some(id) => id,
        None => {
            let active = calls.active().await?;
            match active.as_slice() {
                [] => return Err(CommandError::NoActiveCall),
                [only] => only.call_id,
                several => {
                    return Err(CommandError::SeveralActiveCalls {
                        ids: several.iter().map(|c| c.call_id).collect(),
                    });
                }
            }
        }
    };
    let response = calls.cancel_or_end(call_id).await?;
    Ok(Ended {
        call_id,
        call_status: response.call_status,
        duration: response.duration,
    })
}

/// The outcome of `end-all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndedAll {
    pub calls_ended: u32,
    pub message: String,
}

impl Render for EndedAll {
    fn human(&self) -> String {
        match self.calls_ended {
            0 => "No active calls to end\n".to_owned(),
            1 => "Ended 1 call\n".to_owned(),
            n => format!("Ended {n} calls\n"),
        }
    }
}

/// `end-all`: ends every active call of the user.
pub async fn end_all(calls: &Calls) -> Result<EndedAll, CommandError> {
    let response = calls.end_all().await?;
    Ok(EndedAll {
        calls_ended: response.calls_ended,
        message: response.message,
    })
}

/// The outcome of `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusSent {
    pub call_id: CallId,
    pub status: MediaStatus,
    pub call_status: CallState,
}

impl Render for StatusSent {
    fn human(&self) -> String {
        format!("Reported {} on call {}\n", self.status, self.call_id)
    }
}

/// `status CALL_ID STATUS`: reports a media status during an accepted call.
pub async fn status(
    calls: &Calls,
    call_id: CallId,
    status: MediaStatus,
) -> Result<StatusSent, CommandError> {
    let call_status = calls.media_status(call_id, status).await?;
    Ok(StatusSent {
        call_id,
        status,
        call_status,
    })
}

// ---------------------------------------------------------------------------------------------
// active, history

impl Render for ActiveResponse {
    fn human(&self) -> String {
        if self.active_calls.is_empty() {
            return "No active calls\n".to_owned();
        }
        let mut text = String::new();
        for call in &self.active_calls {
            let direction = if call.is_outgoing {
                format!("to {}", call.receiver_name)
            } else {
                format!("from {}", call.sender_name)
            };
            text.push_str(&format!(
                "{}  {:<8}  {}  {direction}  since {}\n",
                call.call_id, call.state, call.call_type, call.created_at
            ));
        }
        text
    }
}

/// `active`: the user's calls that are still going.
pub async fn active(calls: &Calls) -> Result<ActiveResponse, CommandError> {
    Ok(ActiveResponse::new(calls.active().await?))
}

impl Render for HistoryResponse {
    fn human(&self) -> String {
        if self.calls.is_empty() {
            return "No calls\n".to_owned();
        }
        let mut text = String::new();
        for call in &self.calls {
            let direction = if call.is_outgoing { "to" } else { "from" };
            let duration = call
                .duration
                .map(|d| format!(", {}", format_duration(d)))
                .unwrap_or_default();
            text.push_str(&format!(
                "{}  {}  {:<9}  {}  {direction} {}{duration}\n",
                call.created_at, call.call_id, call.state, call.call_type, call.user_name
            ));
        }
        if let Some(total) = self.total {
            text.push_str(&format!("({} of {total})\n", self.calls.len()));
        }
        text
    }
}

/// `history`: one page of past calls, newest first.
pub async fn history(
    calls: &Calls,
    request: &HistoryRequest,
) -> Result<HistoryResponse, CommandError> {
    Ok(calls.history(request).await?)
}

/// `75.2` → `1m 15s`.
fn format_duration(seconds: f64) -> String {
    // Float-to-int `as` saturates, and call durations are far below u64::MAX anyway.
    let total = seconds.max(0.0).round() as u64;
    match (total / 3600, (total % 3600) / 60, total % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, s) => format!("{h}h {m}m {s}s"),
    }
}

// ---------------------------------------------------------------------------------------------
// call --wait, watch: both follow the event stream

/// How long the event stream may take to register its first queue.
const STREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Beyond the server's ring deadline, how long `call --wait` trusts the stream before asking
/// the server for the call's state (a safety net, should an event go astray).
const WAIT_RECHECK_MARGIN: Duration = Duration::from_secs(15);

/// How a call placed with `call --wait` came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Accepted,
    Rejected,
    Missed,
    Timeout,
    Cancelled,
    /// Over before an answer for a reason none of the above names.
    Ended,
}

impl CallOutcome {
    /// The outcome a call in `state` has had, `None` while it still waits for an answer.
    /// `answered` tells an accepted-then-ended call from one that ended unanswered.
    pub const fn from_state(state: CallState, answered: bool) -> Option<CallOutcome> {
        match state {
            CallState::Calling | CallState::Ringing => None,
            CallState::Accepted => Some(CallOutcome::Accepted),
            CallState::Rejected => Some(CallOutcome::Rejected),
            CallState::Missed => Some(CallOutcome::Missed),
            CallState::Timeout => Some(CallOutcome::Timeout),
            CallState::Cancelled => Some(CallOutcome::Cancelled),
            CallState::Ended | CallState::NetworkFailure if answered => Some(CallOutcome::Accepted),
            CallState::Ended | CallState::NetworkFailure => Some(CallOutcome::Ended),
        }
    }

    /// The exit code `call --wait` ends with.
    pub const fn exit_status(self) -> ExitStatus {
        match self {
            CallOutcome::Accepted => ExitStatus::Ok,
            CallOutcome::Rejected => ExitStatus::Rejected,
            CallOutcome::Missed => ExitStatus::Missed,
            CallOutcome::Timeout => ExitStatus::TimedOut,
            CallOutcome::Cancelled => ExitStatus::Cancelled,
            CallOutcome::Ended => ExitStatus::EndedOther,
        }
    }
}

/// The final result of `call --wait`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waited {
    pub call_id: CallId,
    pub outcome: CallOutcome,
    /// The call's state when the outcome was known.
    pub state: CallState,
    pub end_reason: Option<EndReason>,
    pub user_name: String,
    /// Your join URL, when the call was accepted.
    pub join_url: Option<String>,
    /// Accepted on a server that drops calls nobody keeps alive, and nothing here will (no
    /// `--hold`).
    #[serde(skip)]
    pub unkept: bool,
}

impl Render for Waited {
    fn human(&self) -> String {
        let name = &self.user_name;
        match self.outcome {
            CallOutcome::Accepted => {
                let mut text = match &self.join_url {
                    Some(url) => format!("{name} accepted\njoin: {url}\n"),
                    None => format!("{name} accepted\n"),
                };
                if self.unkept {
                    text.push_str(UNKEPT_NOTE);
                }
                text
            }
            CallOutcome::Rejected => format!("{name} rejected the call\n"),
            CallOutcome::Missed => format!("{name} did not answer (missed)\n"),
            CallOutcome::Timeout => format!("No device of {name} answered (timed out)\n"),
            CallOutcome::Cancelled => "The call was cancelled\n".to_owned(),
            CallOutcome::Ended => format!("The call ended before {name} answered\n"),
        }
    }
}

/// `call USER --wait`: opens the event stream first (so no outcome can slip by between placing
/// the call and listening), places the call, prints it, then waits for its outcome.
async fn call_and_wait<W: Write + Send>(
    calls: &Calls,
    user: &str,
    call_type: CallType,
    hold_every: Option<Duration>,
    out: &mut Output<W>,
) -> Result<ExitStatus, CommandError> {
    // Resolving the callee also proves the server is reachable and the key good, with the
    // exit codes for those, before the stream (which retries such failures) starts.
    let users = fetch_users(calls.api()).await?;
    let callee = resolve_user(user, &users)?;
    let (stream, mut items) = EventStream::spawn(calls.clone(), StreamOptions::default());
    let result = async {
        wait_until_synced(&mut items).await?;
        let placed = match place(calls, callee, call_type).await {
            Err(CommandError::Client(ClientError::Cooldown { retry_after }))
                if retry_after.is_none_or(|wait| wait <= MAX_COOLDOWN_WAIT) =>
            {
                let wait = retry_after.unwrap_or(DEFAULT_COOLDOWN_WAIT);
                out.note(&format!(
                    "The server asks to wait a moment before placing another call: trying \
                     again in {} s\n",
                    wait.as_secs_f64().ceil()
                ))?;
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = interrupted() => return Ok(ExitStatus::Cancelled),
                }
                place(calls, callee, call_type).await?
            }
            other => other?,
        };
        out.print(&placed)?;
        let mut waited = if placed.accepted_their_call {
            Waited {
                call_id: placed.call_id,
                outcome: CallOutcome::Accepted,
                state: CallState::Accepted,
                end_reason: None,
                user_name: placed.user_name.clone(),
                join_url: Some(placed.join_url.clone()),
                unkept: false,
            }
        } else {
            follow_call(calls, &placed, &mut items).await?
        };
        waited.unkept = hold_every.is_none()
            && calls.features().heartbeat
            && waited.state == CallState::Accepted;
        out.print(&waited)?;
        if let (Some(interval), CallOutcome::Accepted) = (hold_every, waited.outcome)
            && waited.state == CallState::Accepted
        {
            let over = hold(calls, placed.call_id, interval, &mut items).await?;
            out.print(&over)?;
        }
        Ok(waited.outcome.exit_status())
    }
    .await;
    stream.shutdown().await;
    result
}

/// How long `call --wait` waits before its one retry when the server asks it to wait a moment
/// and does not say how long: the released plugin's redial cooldown.
const DEFAULT_COOLDOWN_WAIT: Duration = Duration::from_secs(5);
/// The longest wait `call --wait` sits through before its retry; a server asking for more
/// gets the error at once.
const MAX_COOLDOWN_WAIT: Duration = Duration::from_secs(60);

/// Waits for the stream's first snapshot: from then on its queue holds every new event.
async fn wait_until_synced(
    items: &mut mpsc::Receiver<StreamItem>,
) -> Result<Vec<ActiveCall>, CommandError> {
    let mut last_problem = None;
    let synced = async {
        loop {
            match items.recv().await {
                Some(StreamItem::Resynced(active)) => return Ok(active),
                Some(StreamItem::State(ConnectionState::Offline { reason })) => {
                    last_problem = Some(reason);
                }
                Some(StreamItem::State(ConnectionState::Reconnecting { reason, .. })) => {
                    tracing::info!(%reason, "event stream not connected yet");
                    last_problem = Some(reason);
                }
                Some(other) => tracing::debug!(?other, "before the first snapshot"),
                None => {
                    return Err(CommandError::Stream(
                        last_problem
                            .take()
                            .unwrap_or_else(|| "it ended before connecting".to_owned()),
                    ));
                }
            }
        }
    };
    match tokio::time::timeout(STREAM_CONNECT_TIMEOUT, synced).await {
        Ok(result) => result,
        Err(_) => Err(CommandError::StreamUnavailable(
            last_problem.unwrap_or_else(|| {
                format!(
                    "no event queue after {} seconds",
                    STREAM_CONNECT_TIMEOUT.as_secs()
                )
            }),
        )),
    }
}

/// Follows the stream until `placed` has an outcome; Ctrl-C cancels the call.
async fn follow_call(
    calls: &Calls,
    placed: &Placed,
    items: &mut mpsc::Receiver<StreamItem>,
) -> Result<Waited, CommandError> {
    let verdict = |outcome: CallOutcome, state: CallState, end_reason: Option<EndReason>| Waited {
        call_id: placed.call_id,
        outcome,
        state,
        end_reason,
        user_name: placed.user_name.clone(),
        join_url: (outcome == CallOutcome::Accepted).then(|| placed.join_url.clone()),
        unkept: false,
    };
    let recheck_every = Duration::from_secs(placed.timeout_seconds) + WAIT_RECHECK_MARGIN;
    let interrupted = interrupted();
    tokio::pin!(interrupted);
    let mut recheck_at = tokio::time::Instant::now() + recheck_every;
    let mut offline = None;
    loop {
        tokio::select! {
            item = items.recv() => match item {
                Some(StreamItem::Event(event)) => {
                    let Some(call) = event.as_call() else { continue };
                    if call.call.call_id != placed.call_id {
                        continue;
                    }
                    let end_reason = match &call.detail {
                        CallEventDetail::CallAccepted => None,
                        CallEventDetail::CallRejected => Some(EndReason::Rejected),
                        CallEventDetail::CallEnded { reason, .. } => Some(*reason),
                        _ => continue,
                    };
                    let answered = call.call.answered_at.is_some();
                    if let Some(outcome) = CallOutcome::from_state(call.call.state, answered) {
                        return Ok(verdict(outcome, call.call.state, end_reason));
                    }
                }
                Some(StreamItem::Registered { .. }) => {}
                // After a gap: the call is still there (maybe accepted), or over, and then
                // only the server knows how.
                Some(StreamItem::Resynced(active)) => {
                    match active.iter().find(|c| c.call_id == placed.call_id) {
                        Some(call) if call.state == CallState::Accepted => {
                            return Ok(verdict(CallOutcome::Accepted, call.state, None));
                        }
                        Some(_) => {}
                        None => {
                            if let Some(waited) = check_call(calls, placed.call_id, verdict).await? {
                                return Ok(waited);
                            }
                        }
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
                if let Some(waited) = check_call(calls, placed.call_id, verdict).await? {
                    return Ok(waited);
                }
                recheck_at = tokio::time::Instant::now() + recheck_every;
            }
            () = &mut interrupted => {
                let ended = calls.cancel_or_end(placed.call_id).await?;
                let state = ended.call_status.unwrap_or(CallState::Cancelled);
                return Ok(verdict(CallOutcome::Cancelled, state, Some(EndReason::Cancelled)));
            }
        }
    }
}

/// Resolves on Ctrl-C; never, if the signal cannot be listened for.
async fn interrupted() {
    if let Err(err) = tokio::signal::ctrl_c().await {
        tracing::warn!(error = %err, "cannot listen for Ctrl-C");
        std::future::pending::<()>().await;
    }
}

/// The call's outcome as the server has it now, `None` while it still waits for an answer.
async fn check_call(
    calls: &Calls,
    call_id: CallId,
    verdict: impl Fn(CallOutcome, CallState, Option<EndReason>) -> Waited,
) -> Result<Option<Waited>, CommandError> {
    let call = calls.call(call_id).await?;
    Ok(
        CallOutcome::from_state(call.state, call.answered_at.is_some())
            .map(|outcome| verdict(outcome, call.state, call.end_reason)),
    )
}

/// `watch`: one JSON line per call event until interrupted, after a first line
/// `{"type": "resync", "active_calls": [...]}` with the calls going on when it started (and
/// another such line after any gap in the stream, when events may have been lost).
async fn watch<W: Write + Send>(
    calls: &Calls,
    out: &mut Output<W>,
) -> Result<ExitStatus, CommandError> {
    // Bad credentials or no server end here with their own exit codes; the stream itself
    // would keep retrying.
    calls.active().await?;
    // Known before the queue is registered, so that it asks for group events too.
    calls.has_group_calls().await;
    let (stream, mut items) = EventStream::spawn(calls.clone(), StreamOptions::default());
    let result = async {
        let active = wait_until_synced(&mut items).await?;
        if !print_watch_line(out, &Resync::new(active))? {
            return Ok(ExitStatus::Ok);
        }
        let interrupted = interrupted();
        tokio::pin!(interrupted);
        let mut offline = None;
        loop {
            let item = tokio::select! {
                item = items.recv() => item,
                () = &mut interrupted => return Ok(ExitStatus::Ok),
            };
            let printed = match item {
                Some(StreamItem::Event(event)) => print_watch_line(out, &event)?,
                Some(StreamItem::Resynced(active)) => print_watch_line(out, &Resync::new(active))?,
                // Only the terminal UI follows presence.
                Some(StreamItem::Registered { .. }) => true,
                Some(StreamItem::State(ConnectionState::Offline { reason })) => {
                    offline = Some(reason);
                    true
                }
                Some(StreamItem::State(state)) => {
                    tracing::info!(?state, "event stream");
                    true
                }
                None => {
                    return Err(CommandError::Stream(
                        offline.take().unwrap_or_else(|| "it ended".to_owned()),
                    ));
                }
            };
            if !printed {
                return Ok(ExitStatus::Ok);
            }
        }
    }
    .await;
    stream.shutdown().await;
    result
}

/// How often a held call is looked up on the server, should its end not come as an event.
const HOLD_RECHECK: Duration = Duration::from_secs(30);

/// How a held call ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallOver {
    pub call_id: CallId,
    pub state: CallState,
    pub end_reason: Option<EndReason>,
    /// Who ended it; `null` when the server did or did not say.
    pub ended_by_id: Option<UserId>,
    /// Seconds in the call.
    pub duration: Option<f64>,
}

impl Render for CallOver {
    fn human(&self) -> String {
        let why = self
            .end_reason
            .map(|reason| format!(" ({reason})"))
            .unwrap_or_default();
        match self.duration {
            Some(seconds) => format!(
                "Call {} {}{why} after {}\n",
                self.call_id,
                self.state,
                format_duration(seconds)
            ),
            None => format!("Call {} {}{why}\n", self.call_id, self.state),
        }
    }
}

/// Stays in the accepted call `call_id` until it ends, heartbeating it every `interval` where
/// the server needs that; Ctrl-C hangs up.
async fn hold(
    calls: &Calls,
    call_id: CallId,
    interval: Duration,
    items: &mut mpsc::Receiver<StreamItem>,
) -> Result<CallOver, CommandError> {
    let mut keepalive = Keepalive::new(calls.clone(), interval);
    keepalive.follow(Some(call_id));
    let interrupted = interrupted();
    tokio::pin!(interrupted);
    let mut recheck_at = tokio::time::Instant::now() + HOLD_RECHECK;
    let mut offline = None;
    let over = loop {
        tokio::select! {
            item = items.recv() => match item {
                Some(StreamItem::Event(event)) => {
                    let Some(call) = event.as_call() else { continue };
                    if call.call.call_id != call_id {
                        continue;
                    }
                    if let CallEventDetail::CallEnded { reason, ended_by_id, duration } = &call.detail {
                        // The released plugin's events give no duration: the call has it.
                        let duration = match duration {
                            Some(duration) => Some(*duration),
                            None => calls.call(call_id).await.ok().and_then(|c| c.duration),
                        };
                        break CallOver {
                            call_id,
                            state: call.call.state,
                            end_reason: Some(*reason),
                            ended_by_id: *ended_by_id,
                            duration,
                        };
                    }
                }
                Some(StreamItem::Registered { .. }) => {}
                Some(StreamItem::Resynced(active)) => {
                    if !active.iter().any(|c| c.call_id == call_id)
                        && let Some(over) = ended_call(calls, call_id).await?
                    {
                        break over;
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
                if let Some(over) = ended_call(calls, call_id).await? {
                    break over;
                }
                recheck_at = tokio::time::Instant::now() + HOLD_RECHECK;
            }
            () = &mut interrupted => {
                keepalive.stop();
                let ended = calls.cancel_or_end(call_id).await?;
                break CallOver {
                    call_id,
                    state: ended.call_status.unwrap_or(CallState::Ended),
                    end_reason: Some(EndReason::Hangup),
                    ended_by_id: None,
                    duration: ended.duration,
                };
            }
        }
    };
    keepalive.stop();
    Ok(over)
}

/// The call as the server has it, when it is over.
async fn ended_call(calls: &Calls, call_id: CallId) -> Result<Option<CallOver>, CommandError> {
    let call = calls.call(call_id).await?;
    Ok(call.state.is_terminal().then_some(CallOver {
        call_id,
        state: call.state,
        end_reason: call.end_reason,
        ended_by_id: None,
        duration: call.duration,
    }))
}

/// The snapshot line of `watch`.
#[derive(Debug, Serialize)]
struct Resync {
    #[serde(rename = "type")]
    kind: &'static str,
    active_calls: Vec<ActiveCall>,
}

impl Resync {
    fn new(active_calls: Vec<ActiveCall>) -> Self {
        Resync {
            kind: "resync",
            active_calls,
        }
    }
}

/// Prints one line of `watch`; `false` when the reader went away (a closed pipe ends `watch`
/// quietly, as `watch | head -1` expects).
fn print_watch_line<W: Write, S: Serialize>(
    out: &mut Output<W>,
    value: &S,
) -> Result<bool, CommandError> {
    match out.json_line(value) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zulip_calls_protocol::ApiError;

    fn user(id: i64, email: &str, name: &str, active: bool) -> User {
        serde_json::from_value(serde_json::json!({
            "user_id": id,
            "email": email,
            "full_name": name,
            "is_active": active,
        }))
        .unwrap()
    }

    fn realm() -> Vec<User> {
        vec![
            user(5, "iago@zulip.com", "Iago", true),
            user(10, "hamlet@zulip.com", "King Hamlet", true),
            user(6, "othello@zulip.com", "Othello, the Moor of Venice", true),
            user(9, "cordelia@zulip.com", "Cordelia, Lear's daughter", true),
            user(7, "AARON@zulip.com", "aaron", true),
            user(12, "desdemona@zulip.com", "Desdemona", false),
            user(13, "ann@zulip.com", "Ann", true),
            user(14, "anna@zulip.com", "Anna", true),
        ]
    }

    fn resolved(query: &str) -> Result<i64, CommandError> {
        let users = realm();
        resolve_user(query, &users).map(|u| u.user_id.0)
    }

    #[test]
    fn digits_are_user_ids() {
        assert_eq!(resolved("6").unwrap(), 6);
        assert!(matches!(
            resolved("99"),
            Err(CommandError::NoSuchUser { .. })
        ));
    }

    #[test]
    fn emails_match_case_insensitively() {
        assert_eq!(resolved("Othello@Zulip.com").unwrap(), 6);
        assert_eq!(resolved("aaron@zulip.com").unwrap(), 7);
        assert!(matches!(
            resolved("nobody@zulip.com"),
            Err(CommandError::NoSuchUser { .. })
        ));
    }

    #[test]
    fn names_match_one_active_user_by_part() {
        assert_eq!(resolved("othello").unwrap(), 6);
        assert_eq!(resolved("MOOR").unwrap(), 6);
        assert_eq!(resolved("hamlet").unwrap(), 10);
        // A whole name beats names that only contain it.
        assert_eq!(resolved("ann").unwrap(), 13);
        assert!(matches!(
            resolved("xyz"),
            Err(CommandError::NoSuchUser { .. })
        ));
        assert!(matches!(resolved(""), Err(CommandError::NoSuchUser { .. })));
    }

    #[test]
    fn ambiguous_names_list_the_candidates() {
        let err = resolved("an").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("Anna <anna@zulip.com>") && text.contains("Ann <ann@zulip.com>"),
            "{text}"
        );
        assert!(!text.contains("Iago"), "{text}");
        assert_eq!(err.exit_status(), ExitStatus::Usage);
    }

    #[test]
    fn deactivated_users_are_not_callable() {
        assert!(matches!(
            resolved("12"),
            Err(CommandError::Deactivated { .. })
        ));
        assert!(matches!(
            resolved("desdemona@zulip.com"),
            Err(CommandError::Deactivated { .. })
        ));
        // By name they are not even candidates.
        assert!(matches!(
            resolved("desdemona"),
            Err(CommandError::NoSuchUser { .. })
        ));
        assert_eq!(
            resolved("desdemona").unwrap_err().exit_status(),
            ExitStatus::NotFound
        );
    }

    fn api(code: ErrorCode) -> ClientError {
        ClientError::Api(Box::new(ApiError::new(code, "x")))
    }

    #[test]
    fn errors_map_to_documented_exit_codes() {
        let cases = [
            (api(ErrorCode::InvalidApiKey), 4),
            (api(ErrorCode::Unauthorized), 4),
            (api(ErrorCode::UserDeactivated), 4),
            (api(ErrorCode::UserNotFound), 5),
            (api(ErrorCode::CallNotFound), 5),
            (api(ErrorCode::UserBusy), 6),
            (api(ErrorCode::CallerBusy), 6),
            // The redial cooldown: try again later, like busy.
            (ClientError::Cooldown { retry_after: None }, 6),
            (api(ErrorCode::InvalidCallState), 1),
            (api(ErrorCode::NotAParticipant), 7),
            (ClientError::NoGroupCalls { site: "s".into() }, 5),
            (api(ErrorCode::CannotCallSelf), 1),
            (
                ClientError::Unreachable {
                    site: "s".into(),
                    reason: "r".into(),
                },
                3,
            ),
            (
                ClientError::Tls {
                    site: "s".into(),
                    reason: "r".into(),
                },
                3,
            ),
            (ClientError::Timeout { site: "s".into() }, 3),
            (
                ClientError::Malformed {
                    site: "s".into(),
                    reason: "r".into(),
                },
                1,
            ),
            (
                ClientError::InvalidSite {
                    site: "s".into(),
                    reason: "r".into(),
                },
                2,
            ),
        ];
        for (err, code) in cases {
            assert_eq!(CommandError::from(err).exit_status().code(), code, "{code}");
        }
        assert_eq!(CommandError::NoActiveCall.exit_status().code(), 5);
        assert_eq!(
            CommandError::SeveralActiveCalls { ids: vec![] }
                .exit_status()
                .code(),
            2
        );
    }

    #[test]
    fn call_outcomes_follow_the_final_state() {
        use CallOutcome as O;
        let cases = [
            (CallState::Calling, false, None),
            (CallState::Ringing, false, None),
            (CallState::Accepted, true, Some((O::Accepted, 0))),
            (CallState::Ended, true, Some((O::Accepted, 0))),
            (CallState::Rejected, false, Some((O::Rejected, 10))),
            (CallState::Missed, false, Some((O::Missed, 11))),
            (CallState::Timeout, false, Some((O::Timeout, 12))),
            (CallState::Cancelled, false, Some((O::Cancelled, 13))),
            (CallState::Ended, false, Some((O::Ended, 14))),
        ];
        for (state, answered, expected) in cases {
            let got = CallOutcome::from_state(state, answered)
                .map(|outcome| (outcome, outcome.exit_status().code()));
            assert_eq!(got, expected, "{state} answered={answered}");
        }
        assert_eq!(
            serde_json::to_value(CallOutcome::Timeout).unwrap(),
            serde_json::json!("timeout")
        );
    }

    #[test]
    fn durations_read_like_a_phone() {
        assert_eq!(format_duration(0.4), "0s");
        assert_eq!(format_duration(75.2), "1m 15s");
        assert_eq!(format_duration(3725.0), "1h 2m 5s");
    }
}

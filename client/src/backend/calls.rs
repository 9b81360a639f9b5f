//! The calls API as the rest of the client sees it: one method per operation, the same
//! results whatever dialect the server speaks. This is the only place that knows the two
//! dialects apart (`calls-api.md` for the design dialect, `plugin-1.1-dialect.md` for 1.1).
//!
//! Results come in the design dialect's shapes ([`StartResponse`], [`RespondResponse`],
//! [`EndResponse`], [`HistoryResponse`], [`ActiveCall`], design call events), which are a
//! superset of what 1.1 answers; what 1.1 lacks is derived here: `active` from the newest
//! page of history, `end-all` as one hang-up per active call, offset paging by walking the
//! cursor, call events from the `call` events with an `op`. Media status has no 1.1
//! equivalent and fails with [`ClientError::Unsupported`].
//!
//! What is sent to a 1.1 server is what the deployed plugin accepts too (its §10): plain
//! values, `acknowledge` with `status=ringing`, `{id}/cancel` before an answer and `{id}/end`
//! after it.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::OnceCell;
use zulip_calls_protocol::calls::{
    self, AckStatus, AcknowledgeRequest, CreateRequest, EndAllResponse, EndRequest, EndResponse,
    HistoryRequest, HistoryResponse, OkStatus, RespondRequest, RespondResponse, StartRequest,
    StartResponse, StatusRequest,
};
use zulip_calls_protocol::dialect::GROUP_CALL_EVENT_TYPE;
use zulip_calls_protocol::endpoint::{Empty, Endpoint};
use zulip_calls_protocol::event::{CallEvent, CallEventDetail, EventCall};
use zulip_calls_protocol::plugin::{
    self, CallOp, CallOpDetail, CallOpEvent, CallOpReason, EndByIdRequest, HeartbeatRequest,
    HistoryCursor, HistoryStatus, PluginCall, PluginHistoryCall, PluginHistoryRequest,
    RespondByIdRequest, RespondOutcome,
};
use zulip_calls_protocol::zulip::GetOwnUser;
use zulip_calls_protocol::{
    ActiveCall, ApiError, CallId, CallState, CallType, Dialect, EndReason, ErrorCode, EventId,
    EventKind, HistoryEntry, MediaStatus, QueueEvent, RespondAction, Timestamp, UserId,
};

use super::api::{ApiClient, ClientError};
use super::dialect::{self, CallsApiChoice, DialectMemory, Source};

/// How long a call rings before it is missed, when a 1.1 server's `create` does not say: the
/// contract's default `CALL_NOTIFICATION_TIMEOUT`.
pub const DEFAULT_RING_SECONDS: u64 = 120;

/// How long the released plugin lets a call ring before it is missed (hard-coded there, and
/// not said in its events): the ring time of a 1.1 event that does not give one.
pub const PLUGIN_RING_SECONDS: u64 = 90;

/// Calls per history request on a 1.1 server (its maximum).
const PLUGIN_PAGE: u32 = PluginHistoryRequest::MAX_LIMIT;
/// History pages walked at most for one offset page, so a server that keeps answering
/// `has_more` cannot keep the client busy for ever.
const MAX_PAGES: usize = 100;
/// Newest calls looked at for the active ones on a 1.1 server (a user has at most one active
/// call, and it is among the newest).
const ACTIVE_SCAN: u32 = 10;

/// What the server's calls API offers, for the status bar and the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// The dialect's name (`design`, `1.1`).
    pub name: &'static str,
    /// Media status reports (mute, camera, hold, sharing) reach the other party.
    pub media_status: bool,
    /// An accepted call must be kept alive with heartbeats.
    pub heartbeat: bool,
    /// Group calls (the 1.1 dialect's, which a server of both dialects serves too).
    pub group_calls: bool,
}

impl Features {
    /// What `dialect` offers.
    pub const fn of(dialect: Dialect) -> Self {
        match dialect {
            Dialect::Design => Features {
                name: Dialect::Design.as_str(),
                media_status: true,
                heartbeat: false,
                // Unless the server turns out to speak 1.1 too (see `Calls::has_group_calls`).
                group_calls: false,
            },
            Dialect::V1_1 => Features {
                name: Dialect::V1_1.as_str(),
                media_status: false,
                heartbeat: true,
                group_calls: true,
            },
        }
    }
}

impl Default for Features {
    fn default() -> Self {
        Features::of(Dialect::Design)
    }
}

/// One call as the client needs to know it after the fact.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSnapshot {
    pub call_id: CallId,
    pub state: CallState,
    pub answered_at: Option<Timestamp>,
    /// Why it ended, when it did and the server says (a 1.1 server only gives the state, from
    /// which the reason follows except for `ended`).
    pub end_reason: Option<EndReason>,
    /// Seconds from answer to end.
    pub duration: Option<f64>,
}

/// The calls API of one server in one dialect, for one signed-in user.
#[derive(Debug, Clone)]
pub struct Calls {
    api: ApiClient,
    dialect: Dialect,
    /// The signed-in user, asked for once when a 1.1 hang-up needs to know which side it is.
    me: Arc<OnceCell<UserId>>,
    /// Where the dialect was remembered, to forget it when the server turns out to speak the
    /// other one.
    memory: Option<DialectMemory>,
    /// Whether the server has group calls, once known (from the dialect, the dialect's probe,
    /// or [`Calls::has_group_calls`]).
    pub(super) group_calls: Arc<OnceCell<bool>>,
}

impl From<ApiClient> for Calls {
    /// The design dialect: the contract's own.
    fn from(api: ApiClient) -> Self {
        Calls::new(api, Dialect::Design)
    }
}

impl Calls {
    /// `api`'s server spoken to in `dialect`.
    pub fn new(api: ApiClient, dialect: Dialect) -> Self {
        let group_calls = match dialect {
            // Group calls are the 1.1 dialect's own.
            Dialect::V1_1 => OnceCell::new_with(Some(true)),
            Dialect::Design => OnceCell::new(),
        };
        Calls {
            api,
            dialect,
            me: Arc::new(OnceCell::new()),
            memory: None,
            group_calls: Arc::new(group_calls),
        }
    }

    /// `api`'s server in the dialect `choice` names, else the one `memory` holds for the site,
    /// else the one the server tells ([`dialect::resolve`]). A dialect not chosen is forgotten
    /// again should the server turn out to lack its routes.
    pub async fn connect(
        api: ApiClient,
        choice: CallsApiChoice,
        memory: Option<&DialectMemory>,
    ) -> Result<Calls, ClientError> {
        let resolved = dialect::resolve(&api, choice, memory).await?;
        let calls = Calls::new(api, resolved.dialect);
        if let Some(known) = resolved.group_calls {
            // Only fails when already known from the dialect, which agrees.
            let _ = calls.group_calls.set(known);
        }
        Ok(match (memory, resolved.source) {
            (Some(memory), Source::Remembered | Source::Detected) => {
                calls.remembered_in(memory.clone())
            }
            _ => calls,
        })
    }

    /// The same, for a dialect recalled from `memory`: forgotten there if the server answers
    /// that it lacks the dialect's routes.
    pub fn remembered_in(mut self, memory: DialectMemory) -> Self {
        self.memory = Some(memory);
        self
    }

    /// The same, signed in as `me` (saves asking the server).
    pub fn knowing_me(self, me: UserId) -> Self {
        // Only fails when already set, to the same user.
        let _ = self.me.set(me);
        self
    }

    /// The HTTP client underneath (for the event stream's own requests).
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// What the server offers; group calls as far as known (see [`Calls::has_group_calls`]).
    pub fn features(&self) -> Features {
        Features {
            group_calls: self.knows_group_calls().unwrap_or(false),
            ..Features::of(self.dialect)
        }
    }

    /// The event `type`s to register a queue for: exactly this dialect's call events, plus
    /// `group_call` where the server is known to have group calls.
    pub fn event_types(&self) -> Vec<String> {
        let mut types = vec![self.dialect.call_event_type().to_owned()];
        if self.knows_group_calls() == Some(true) {
            types.push(GROUP_CALL_EVENT_TYPE.to_owned());
        }
        types
    }

    /// Turns this dialect's call events into the design events the client consumes.
    pub fn translator(&self) -> EventTranslator {
        EventTranslator::default()
    }

    /// Sends a request; a missing route means the server speaks the other dialect.
    async fn send<E: Endpoint>(
        &self,
        path: &E::Path,
        request: &E::Request,
    ) -> Result<E::Response, ClientError> {
        self.api
            .request::<E>(path, request)
            .await
            .map_err(|err| match err {
                ClientError::NoEndpoint { site, path } => {
                    if let Some(memory) = &self.memory {
                        memory.forget(&site);
                    }
                    ClientError::WrongDialect {
                        site,
                        path,
                        dialect: self.dialect,
                    }
                }
                other => other,
            })
    }

    /// The signed-in user (asked for once).
    pub async fn me(&self) -> Result<UserId, ClientError> {
        self.me
            .get_or_try_init(|| async {
                Ok(self
                    .api
                    .request::<GetOwnUser>(&(), &Empty {})
                    .await?
                    .user
                    .user_id)
            })
            .await
            .copied()
    }

    /// Places a call to `user_id` (design `start`, 1.1 `create`). A 429 (the released
    /// plugin's redial cooldown: 5 s after one of my calls ended) is
    /// [`ClientError::Cooldown`].
    pub async fn place(
        &self,
        user_id: UserId,
        call_type: CallType,
    ) -> Result<StartResponse, ClientError> {
        self.place_once(user_id, call_type)
            .await
            .map_err(ClientError::into_cooldown)
    }

    async fn place_once(
        &self,
        user_id: UserId,
        call_type: CallType,
    ) -> Result<StartResponse, ClientError> {
        match self.dialect {
            Dialect::Design => {
                self.send::<calls::Start>(&(), &StartRequest { user_id, call_type })
                    .await
            }
            Dialect::V1_1 => {
                let request = CreateRequest {
                    user_id: Some(user_id),
                    is_video_call: Some(call_type == CallType::Video),
                    ..CreateRequest::default()
                };
                let created = self.send::<plugin::PluginCreate>(&(), &request).await?;
                Ok(StartResponse {
                    call_id: created.call_id,
                    jitsi_url: room_url(&created.call_url),
                    join_url: Some(created.call_url),
                    timeout_seconds: DEFAULT_RING_SECONDS,
                })
            }
        }
    }

    /// Tells the caller that a device of mine rings; the call's state after it.
    pub async fn acknowledge(&self, call_id: CallId) -> Result<CallState, ClientError> {
        // Both dialects share the route; the released plugin refuses it without `status`.
        let request = AcknowledgeRequest {
            call_id,
            status: Some(AckStatus::Ringing),
        };
        Ok(self
            .send::<calls::Acknowledge>(&(), &request)
            .await?
            .call_status)
    }

    /// Accepts an incoming call: the receiver's own join URL comes back.
    pub async fn answer(&self, call_id: CallId) -> Result<RespondResponse, ClientError> {
        self.respond(call_id, RespondAction::Accept).await
    }

    /// Declines an incoming call.
    pub async fn decline(&self, call_id: CallId) -> Result<RespondResponse, ClientError> {
        self.respond(call_id, RespondAction::Reject).await
    }

    /// Accepts or declines. A call already over is refused with `INVALID_CALL_STATE` in both
    /// dialects (1.1 answers it with a no-op success instead).
    pub async fn respond(
        &self,
        call_id: CallId,
        action: RespondAction,
    ) -> Result<RespondResponse, ClientError> {
        match self.dialect {
            Dialect::Design => {
                self.send::<calls::Respond>(
                    &(),
                    &RespondRequest {
                        call_id,
                        response: action,
                    },
                )
                .await
            }
            Dialect::V1_1 => {
                let answer = self
                    .send::<plugin::RespondById>(&call_id, &RespondByIdRequest { response: action })
                    .await?;
                match answer.action {
                    RespondOutcome::Accept => Ok(RespondResponse {
                        status: OkStatus::Ok,
                        call_status: CallState::Accepted,
                        jitsi_url: answer.call_url.as_deref().map(room_url),
                        join_url: answer.call_url,
                    }),
                    RespondOutcome::Decline => Ok(RespondResponse {
                        status: OkStatus::Ok,
                        call_status: CallState::Rejected,
                        jitsi_url: None,
                        join_url: None,
                    }),
                    RespondOutcome::Noop => {
                        let state = self.status(call_id).await.ok().map(|call| call.state);
                        let err = match state {
                            Some(state) => ApiError::invalid_call_state("respond to", state),
                            None => ApiError::new(ErrorCode::InvalidCallState, answer.message),
                        };
                        Err(ClientError::Api(Box::new(err)))
                    }
                }
            }
        }
    }

    /// Hangs up an answered call (1.1 `{id}/end`; the design `end`).
    pub async fn end(&self, call_id: CallId) -> Result<EndResponse, ClientError> {
        match self.dialect {
            Dialect::Design => self.send::<calls::End>(&(), &EndRequest { call_id }).await,
            Dialect::V1_1 => {
                self.send::<plugin::EndById>(&call_id, &EndByIdRequest::default())
                    .await?;
                Ok(self.outcome(call_id, CallState::Ended).await)
            }
        }
    }

    /// Ends a call whatever its phase: the caller cancels an unanswered call, the receiver
    /// declines it, either party ends an answered one; a call already over is left alone.
    /// The design dialect's `end` does all of that on the server; on 1.1 the phase is looked
    /// up first, since the deployed plugin's `end` before an answer loses the difference.
    pub async fn cancel_or_end(&self, call_id: CallId) -> Result<EndResponse, ClientError> {
        if self.dialect == Dialect::Design {
            return self.end(call_id).await;
        }
        let call = self.status(call_id).await?;
        match call.state {
            CallState::Calling | CallState::Ringing if call.caller_id == self.me().await? => {
                match self.send::<plugin::Cancel>(&call_id, &Empty {}).await {
                    Ok(_) => Ok(self.outcome(call_id, CallState::Cancelled).await),
                    // Answered meanwhile.
                    Err(err) => self.end_after_refusal(call_id, err).await,
                }
            }
            CallState::Calling | CallState::Ringing => {
                match self.decline(call_id).await {
                    Ok(_) => Ok(self.outcome(call_id, CallState::Rejected).await),
                    // Answered on another device meanwhile.
                    Err(err) => self.end_after_refusal(call_id, err).await,
                }
            }
            CallState::Accepted => self.end(call_id).await,
            over => Ok(EndResponse {
                status: OkStatus::Ok,
                call_status: Some(over),
                duration: call.duration.map(seconds),
            }),
        }
    }

    /// After a cancel or decline was refused for the call's state (409 `INVALID_CALL_STATE`,
    /// or the released plugin's 400 with only a message): the call moved on meanwhile, so an
    /// answered call is ended and one already over left as it is. Other refusals stand.
    async fn end_after_refusal(
        &self,
        call_id: CallId,
        err: ClientError,
    ) -> Result<EndResponse, ClientError> {
        if !matches!(
            err.code(),
            Some(ErrorCode::InvalidCallState | ErrorCode::BadRequest)
        ) {
            return Err(err);
        }
        match self.status(call_id).await {
            Ok(call) if call.state == CallState::Accepted => self.end(call_id).await,
            Ok(call) if call.state.is_terminal() => Ok(EndResponse {
                status: OkStatus::Ok,
                call_status: Some(call.state),
                duration: call.duration.map(seconds),
            }),
            _ => Err(err),
        }
    }

    /// Ends every active call of mine; how many it ended.
    pub async fn end_all(&self) -> Result<EndAllResponse, ClientError> {
        match self.dialect {
            Dialect::Design => self.send::<calls::EndAll>(&(), &Empty {}).await,
            Dialect::V1_1 => {
                let mut ended = 0u32;
                for call in self.active().await? {
                    match self.cancel_or_end(call.call_id).await {
                        Ok(_) => ended += 1,
                        // Over already.
                        Err(err) if err.code() == Some(&ErrorCode::CallNotFound) => {}
                        Err(err) => return Err(err),
                    }
                }
                Ok(EndAllResponse::new(ended))
            }
        }
    }

    /// Reports my media status during an accepted call; the call's state after it.
    pub async fn media_status(
        &self,
        call_id: CallId,
        status: MediaStatus,
    ) -> Result<CallState, ClientError> {
        match self.dialect {
            Dialect::Design => Ok(self
                .send::<calls::Status>(&(), &StatusRequest { call_id, status })
                .await?
                .call_status),
            Dialect::V1_1 => Err(ClientError::Unsupported {
                what: "Media status (mute, camera, hold, sharing)",
                dialect: self.dialect,
            }),
        }
    }

    /// My calls that are still going.
    pub async fn active(&self) -> Result<Vec<ActiveCall>, ClientError> {
        match self.dialect {
            Dialect::Design => Ok(self
                .send::<calls::Active>(&(), &Empty {})
                .await?
                .active_calls),
            Dialect::V1_1 => {
                let request = PluginHistoryRequest {
                    limit: ACTIVE_SCAN,
                    ..PluginHistoryRequest::default()
                };
                let page = self.send::<plugin::PluginHistory>(&(), &request).await?;
                let mut active = Vec::new();
                for entry in page.calls.iter().filter(|c| c.state.is_active()) {
                    match self.status(entry.call_id).await {
                        Ok(call) if call.state.is_active() => {
                            active.push(active_call(&call, entry.was_initiator));
                        }
                        Ok(_) => {}
                        Err(err) if err.code() == Some(&ErrorCode::CallNotFound) => {}
                        Err(err) => return Err(err),
                    }
                }
                Ok(active)
            }
        }
    }

    /// One page of my calls, newest first, `offset` calls in. On 1.1 the cursor is walked
    /// from the start, and a `state` filter the server cannot apply is applied here; `total`
    /// is then known only when the walk reached the end.
    pub async fn history(&self, query: &HistoryRequest) -> Result<HistoryResponse, ClientError> {
        if self.dialect == Dialect::Design {
            return self.send::<calls::History>(&(), query).await;
        }
        let server_filter = match query.state {
            Some(CallState::Missed) => Some(HistoryStatus::Missed),
            Some(CallState::Accepted | CallState::Ended) => Some(HistoryStatus::Answered),
            _ => None,
        };
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let mut cursor: Option<HistoryCursor> = None;
        let mut calls = Vec::new();
        let mut matched: u64 = 0;
        let mut more_after = false;
        let mut reached_end = false;
        for _ in 0..MAX_PAGES {
            let request = PluginHistoryRequest {
                limit: PLUGIN_PAGE,
                cursor: cursor.clone(),
                call_type: query.call_type,
                status: server_filter,
            };
            let page = self.send::<plugin::PluginHistory>(&(), &request).await?;
            for entry in &page.calls {
                if query.state.is_some_and(|state| state != entry.state) {
                    continue;
                }
                matched += 1;
                if matched <= u64::from(query.offset) {
                    continue;
                }
                if calls.len() == limit {
                    more_after = true;
                    break;
                }
                calls.push(history_entry(entry));
            }
            if more_after {
                break;
            }
            match page.next_cursor {
                Some(next) if page.has_more && cursor.as_ref() != Some(&next) => {
                    cursor = Some(next);
                }
                _ => {
                    reached_end = true;
                    break;
                }
            }
        }
        Ok(HistoryResponse {
            calls,
            has_more: Some(more_after || !reached_end),
            total: reached_end.then_some(matched),
        })
    }

    /// One call of mine as it is now.
    pub async fn call(&self, call_id: CallId) -> Result<CallSnapshot, ClientError> {
        match self.dialect {
            Dialect::Design => {
                let call = self
                    .send::<calls::GetCall>(&call_id, &Empty {})
                    .await?
                    .call
                    .call;
                Ok(CallSnapshot {
                    call_id,
                    state: call.state,
                    answered_at: call.answered_at,
                    end_reason: call.end_reason,
                    duration: call.duration,
                })
            }
            Dialect::V1_1 => {
                let call = self.status(call_id).await?;
                Ok(CallSnapshot {
                    call_id,
                    state: call.state,
                    answered_at: call.started_at,
                    end_reason: end_reason_of(call.state),
                    duration: call.duration.map(seconds),
                })
            }
        }
    }

    /// Tells a 1.1 server that I am still in `call_id`; its state comes back. The design
    /// dialect has no heartbeat: nothing is sent and `None` comes back.
    pub async fn heartbeat(&self, call_id: CallId) -> Result<Option<CallState>, ClientError> {
        match self.dialect {
            Dialect::Design => Ok(None),
            Dialect::V1_1 => {
                let request = HeartbeatRequest {
                    call_id,
                    is_backgrounded: None,
                };
                Ok(Some(
                    self.send::<plugin::Heartbeat>(&(), &request)
                        .await?
                        .call_state,
                ))
            }
        }
    }

    /// `GET {id}/status` (1.1).
    async fn status(&self, call_id: CallId) -> Result<PluginCall, ClientError> {
        Ok(self
            .send::<plugin::CallStatusById>(&call_id, &Empty {})
            .await?
            .call)
    }

    /// What a 1.1 hang-up left: the call as the server has it now, or `fallback` when it
    /// cannot be read back.
    async fn outcome(&self, call_id: CallId, fallback: CallState) -> EndResponse {
        let (state, duration) = match self.status(call_id).await {
            Ok(call) => (call.state, call.duration.map(seconds)),
            Err(err) => {
                tracing::debug!(%call_id, error = %err, "cannot read the ended call back");
                (fallback, None)
            }
        };
        EndResponse {
            status: OkStatus::Ok,
            call_status: Some(state),
            duration,
        }
    }
}

/// Whole seconds as the design dialect's float seconds.
fn seconds(whole: u64) -> f64 {
    // Call durations are far below 2^53.
    whole as f64
}

/// The bare room of a join URL: without its query (the token) and fragment (settings).
pub(crate) fn room_url(join_url: &str) -> String {
    let end = join_url.find(['?', '#']).unwrap_or(join_url.len());
    join_url[..end].to_owned()
}

/// The reason a call in `state` ended, where the state alone tells.
const fn end_reason_of(state: CallState) -> Option<EndReason> {
    match state {
        CallState::Rejected => Some(EndReason::Rejected),
        CallState::Cancelled => Some(EndReason::Cancelled),
        CallState::Missed => Some(EndReason::Missed),
        CallState::Timeout => Some(EndReason::Timeout),
        CallState::NetworkFailure => Some(EndReason::NetworkFailure),
        CallState::Calling | CallState::Ringing | CallState::Accepted | CallState::Ended => None,
    }
}

fn active_call(call: &PluginCall, is_outgoing: bool) -> ActiveCall {
    ActiveCall {
        call_id: call.call_id,
        call_type: call.call_type,
        state: call.state,
        sender_id: call.sender.user_id,
        sender_name: call.sender.full_name.clone(),
        receiver_id: call.receiver.user_id,
        receiver_name: call.receiver.full_name.clone(),
        jitsi_url: call.jitsi_url.clone(),
        created_at: call.created_at,
        is_outgoing,
    }
}

fn history_entry(call: &PluginHistoryCall) -> HistoryEntry {
    HistoryEntry {
        call_id: call.call_id,
        user_id: call.other_user.user_id,
        user_name: call.other_user.full_name.clone(),
        call_type: call.call_type,
        state: call.state,
        is_outgoing: call.was_initiator,
        created_at: call.created_at,
        answered_at: call.started_at,
        ended_at: call.ended_at,
        duration: call.duration_seconds.map(seconds),
    }
}

/// Reads one queue event as a server sent it, leniently (`plugin-1.1-dialect.md` §10).
///
/// The released plugin's `call` events leave out what the contract adds: no `timeout_seconds`
/// in `initiated` and `incoming_call` (it rings for [`PLUGIN_RING_SECONDS`]), no
/// `receiver_was_offline` where its queue check failed, an `ended` without `reason` or with
/// one of its own, no top-level `user_id`, no `duration`. Those are filled in here. An event
/// that still cannot be read is an [`UnreadableEvent`], with its id when it has one, so that
/// the stream can move past it: one bad event must not stall the rest.
pub fn read_event(mut value: serde_json::Value) -> Result<QueueEvent, UnreadableEvent> {
    fill_in_plugin_event(&mut value);
    let id = value
        .get("id")
        .cloned()
        .and_then(|id| serde_json::from_value::<EventId>(id).ok());
    serde_json::from_value::<QueueEvent>(value).map_err(|error| UnreadableEvent { id, error })
}

/// A queue event [`read_event`] could not make sense of.
#[derive(Debug, thiserror::Error)]
#[error("unreadable event: {error}")]
pub struct UnreadableEvent {
    /// Its id, when it has a readable one: the queue still moves past it.
    pub id: Option<EventId>,
    pub error: serde_json::Error,
}

/// Gives a 1.1 `call` event the fields the deployed plugin leaves out.
fn fill_in_plugin_event(value: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(event) = value.as_object_mut() else {
        return;
    };
    if event.get("type").and_then(Value::as_str) != Some(Dialect::V1_1.call_event_type()) {
        return;
    }
    let Some(op) = event
        .get("op")
        .and_then(Value::as_str)
        .and_then(|op| op.parse::<CallOp>().ok())
    else {
        return;
    };
    let missing = |event: &serde_json::Map<String, Value>, key: &str| {
        event.get(key).is_none_or(Value::is_null)
    };
    if matches!(
        op,
        CallOp::Initiated | CallOp::IncomingCall | CallOp::Missed
    ) && missing(event, "timeout_seconds")
    {
        event.insert("timeout_seconds".into(), PLUGIN_RING_SECONDS.into());
    }
    if op == CallOp::IncomingCall && missing(event, "receiver_was_offline") {
        event.insert("receiver_was_offline".into(), false.into());
    }
    let default_reason = match op {
        CallOp::Ended => CallOpReason::Hangup,
        CallOp::Missed => CallOpReason::NoAnswer,
        _ => return,
    };
    let known = event
        .get("reason")
        .and_then(Value::as_str)
        .is_some_and(|reason| reason.parse::<CallOpReason>().is_ok());
    if !known {
        event.insert("reason".into(), default_reason.as_str().into());
    }
}

/// Calls an [`EventTranslator`] keeps times for; past this it starts over.
const TRANSLATOR_CAPACITY: usize = 256;

/// Turns 1.1 `call` events into the design `call_event`s the client consumes, leaving every
/// other event as it is.
///
/// 1.1 events carry the call's state but not its times, so the translator remembers, per
/// call, when it first saw it and when it was answered. It reads leniently: a missing actor
/// (`user_id`) is unknown, and a call that ends with `op: "ended"` before anyone answered
/// (the released plugin's hang-up before an answer) is told as the design dialect tells it:
/// cancelled by the caller, rejected by the receiver.
#[derive(Debug, Default)]
pub struct EventTranslator {
    calls: HashMap<CallId, Seen>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    created_at: Timestamp,
    answered_at: Option<Timestamp>,
}

impl EventTranslator {
    /// `event`, with a 1.1 call event turned into a design call event.
    pub fn translate(&mut self, event: QueueEvent) -> QueueEvent {
        match event.kind {
            EventKind::CallOp(op) => QueueEvent {
                id: event.id,
                kind: EventKind::Call(Arc::new(self.call_event(Arc::unwrap_or_clone(op)))),
            },
            kind => QueueEvent { id: event.id, kind },
        }
    }

    /// The design event telling what `event` tells.
    pub fn call_event(&mut self, event: CallOpEvent) -> CallEvent {
        if self.calls.len() >= TRANSLATOR_CAPACITY && !self.calls.contains_key(&event.call_id) {
            self.calls.clear();
        }
        let seen = self.calls.entry(event.call_id).or_insert(Seen {
            created_at: event.timestamp,
            answered_at: None,
        });
        match event.detail {
            CallOpDetail::Accepted => {
                seen.answered_at.get_or_insert(event.timestamp);
            }
            CallOpDetail::Ended {
                duration: Some(duration),
                ..
            } => {
                let back = i64::try_from(duration).unwrap_or(i64::MAX);
                seen.answered_at
                    .get_or_insert(event.timestamp.plus_seconds(back.saturating_neg()));
            }
            _ => {}
        }
        let seen = *seen;
        let answered = seen.answered_at.is_some() || event.state == CallState::Accepted;
        let by = event.user_id;
        let ended = |reason: EndReason, duration: Option<u64>| CallEventDetail::CallEnded {
            reason,
            ended_by_id: by,
            duration: duration.map(seconds),
        };
        let (state, detail) = match event.detail {
            CallOpDetail::Initiated { timeout_seconds }
            | CallOpDetail::IncomingCall {
                timeout_seconds, ..
            } => (
                event.state,
                CallEventDetail::CallStarted { timeout_seconds },
            ),
            CallOpDetail::Ringing => (event.state, CallEventDetail::ParticipantRinging),
            CallOpDetail::Accepted => (event.state, CallEventDetail::CallAccepted),
            CallOpDetail::Declined => (event.state, CallEventDetail::CallRejected),
            CallOpDetail::Cancelled => (event.state, ended(EndReason::Cancelled, None)),
            CallOpDetail::Ended { reason, duration } => {
                if !answered && duration.is_none() && reason == CallOpReason::Hangup {
                    match by {
                        Some(who) if who == event.sender.user_id => {
                            (CallState::Cancelled, ended(EndReason::Cancelled, None))
                        }
                        Some(who) if who == event.receiver.user_id => {
                            (CallState::Rejected, ended(EndReason::Rejected, None))
                        }
                        _ => (event.state, ended(EndReason::Hangup, None)),
                    }
                } else {
                    (event.state, ended(end_reason(reason), duration))
                }
            }
            CallOpDetail::Missed { reason, .. } => (
                event.state,
                CallEventDetail::CallEnded {
                    reason: end_reason(reason),
                    ended_by_id: None,
                    duration: None,
                },
            ),
        };
        let over = state.is_terminal();
        if over {
            self.calls.remove(&event.call_id);
        }
        CallEvent {
            call: EventCall {
                call_id: event.call_id,
                call_type: event.call_type,
                state,
                sender_id: event.sender.user_id,
                sender_name: event.sender.full_name,
                receiver_id: event.receiver.user_id,
                receiver_name: event.receiver.full_name,
                jitsi_url: event.jitsi_url,
                created_at: seen.created_at,
                answered_at: seen.answered_at,
                ended_at: over.then_some(event.timestamp),
            },
            timestamp: event.timestamp,
            detail,
        }
    }
}

/// The design reason for a 1.1 reason.
const fn end_reason(reason: CallOpReason) -> EndReason {
    match reason {
        CallOpReason::Hangup => EndReason::Hangup,
        CallOpReason::MaxDuration => EndReason::MaxDuration,
        CallOpReason::NetworkFailure => EndReason::NetworkFailure,
        CallOpReason::TimeoutStale => EndReason::Cleanup,
        CallOpReason::NoAnswer => EndReason::Missed,
        CallOpReason::NotDelivered => EndReason::Timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use zulip_calls_protocol::{CallEventType, EventId};

    const CALL: &str = "7f1e5a52-3c9b-4d2e-8f6a-9b0c1d2e3f40";

    /// A 1.1 event as a server sends it, read the way the stream reads it.
    fn wire(op: &str, state: &str, at: &str, extra: Value) -> QueueEvent {
        let mut event = json!({
            "type": "call", "id": 3, "op": op, "call_id": CALL, "call_type": "video",
            "state": state, "jitsi_url": "https://meet.example.com/zulip-call-1",
            "timestamp": at,
            "sender": {"user_id": 10, "full_name": "King Hamlet", "avatar_url": "/avatar/10"},
            "receiver": {"user_id": 6, "full_name": "Othello", "avatar_url": "/avatar/6"},
        });
        if let (Some(event), Value::Object(extra)) = (event.as_object_mut(), extra) {
            event.extend(extra);
        }
        serde_json::from_value(event).unwrap()
    }

    fn design(translator: &mut EventTranslator, event: QueueEvent) -> CallEvent {
        let translated = translator.translate(event);
        assert_eq!(translated.id, EventId(3));
        translated.as_call().cloned().expect("a design call event")
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_call_s_life_reads_as_design_events_with_its_times() {
        let mut t = EventTranslator::default();
        let started = design(
            &mut t,
            wire(
                "incoming_call",
                "calling",
                "2024-01-01T12:00:00Z",
                json!({"user_id": 10, "receiver_was_offline": true, "timeout_seconds": 120}),
            ),
        );
        assert_eq!(
            started.detail,
            CallEventDetail::CallStarted {
                timeout_seconds: 120
            }
        );
        assert_eq!(started.call.sender_name, "King Hamlet");
        assert_eq!(started.call.receiver_id, UserId(6));
        assert_eq!(started.call.created_at, at("2024-01-01T12:00:00Z"));
        let ringing = design(
            &mut t,
            wire("ringing", "ringing", "2024-01-01T12:00:01Z", json!({})),
        );
        assert_eq!(ringing.event_type(), CallEventType::ParticipantRinging);
        let accepted = design(
            &mut t,
            wire(
                "accepted",
                "accepted",
                "2024-01-01T12:00:05Z",
                json!({"user_id": 6}),
            ),
        );
        assert_eq!(accepted.event_type(), CallEventType::CallAccepted);
        assert_eq!(accepted.call.created_at, at("2024-01-01T12:00:00Z"));
        assert_eq!(accepted.call.answered_at, Some(at("2024-01-01T12:00:05Z")));
        let ended = design(
            &mut t,
            wire(
                "ended",
                "ended",
                "2024-01-01T12:01:05Z",
                json!({"user_id": 10, "reason": "hangup", "duration": 60}),
            ),
        );
        assert_eq!(
            ended.detail,
            CallEventDetail::CallEnded {
                reason: EndReason::Hangup,
                ended_by_id: Some(UserId(10)),
                duration: Some(60.0)
            }
        );
        assert_eq!(ended.call.answered_at, Some(at("2024-01-01T12:00:05Z")));
        assert_eq!(ended.call.ended_at, Some(at("2024-01-01T12:01:05Z")));
        assert!(t.calls.is_empty(), "a call over is forgotten");
    }

    #[test]
    fn ends_keep_their_reasons() {
        let cases = [
            ("declined", "rejected", json!({}), None),
            (
                "cancelled",
                "cancelled",
                json!({}),
                Some(EndReason::Cancelled),
            ),
            (
                "missed",
                "missed",
                json!({"reason": "no_answer", "timeout_seconds": 120}),
                Some(EndReason::Missed),
            ),
            (
                "missed",
                "timeout",
                json!({"reason": "not_delivered", "timeout_seconds": 120}),
                Some(EndReason::Timeout),
            ),
            (
                "ended",
                "network_failure",
                json!({"reason": "network_failure", "duration": 75}),
                Some(EndReason::NetworkFailure),
            ),
            (
                "ended",
                "ended",
                json!({"reason": "max_duration", "duration": 3600}),
                Some(EndReason::MaxDuration),
            ),
            (
                "ended",
                "timeout",
                json!({"reason": "timeout_stale", "duration": null}),
                Some(EndReason::Cleanup),
            ),
        ];
        for (op, state, extra, reason) in cases {
            let event = design(
                &mut EventTranslator::default(),
                wire(op, state, "2024-01-01T12:00:00Z", extra),
            );
            match (reason, &event.detail) {
                (None, CallEventDetail::CallRejected) => {}
                (Some(reason), CallEventDetail::CallEnded { reason: got, .. }) => {
                    assert_eq!(*got, reason, "{op} {state}");
                }
                (_, other) => panic!("{op} {state}: {other:?}"),
            }
            assert_eq!(event.call.state.as_str(), state, "{op}");
            assert!(event.call.ended_at.is_some(), "{op}");
        }
    }

    #[test]
    fn events_without_an_actor_are_read() {
        let ended = design(
            &mut EventTranslator::default(),
            wire(
                "ended",
                "network_failure",
                "2024-01-01T12:00:00Z",
                json!({"reason": "network_failure", "duration": 75}),
            ),
        );
        assert!(matches!(
            ended.detail,
            CallEventDetail::CallEnded {
                ended_by_id: None,
                duration: Some(75.0),
                ..
            }
        ));
        assert_eq!(ended.call.answered_at, Some(at("2024-01-01T11:58:45Z")));
    }

    #[test]
    fn an_end_before_any_answer_is_a_cancel_or_a_decline() {
        let by = |user: i64| {
            design(
                &mut EventTranslator::default(),
                wire(
                    "ended",
                    "ended",
                    "2024-01-01T12:00:00Z",
                    json!({"user_id": user, "reason": "hangup", "duration": null}),
                ),
            )
        };
        let cancelled = by(10);
        assert_eq!(cancelled.call.state, CallState::Cancelled);
        assert!(matches!(
            cancelled.detail,
            CallEventDetail::CallEnded {
                reason: EndReason::Cancelled,
                ended_by_id: Some(UserId(10)),
                ..
            }
        ));
        let rejected = by(6);
        assert_eq!(rejected.call.state, CallState::Rejected);
        assert!(matches!(
            rejected.detail,
            CallEventDetail::CallEnded {
                reason: EndReason::Rejected,
                ..
            }
        ));
        // After an answer the same event is a hang-up.
        let mut t = EventTranslator::default();
        design(
            &mut t,
            wire("accepted", "accepted", "2024-01-01T12:00:00Z", json!({})),
        );
        let hangup = design(
            &mut t,
            wire(
                "ended",
                "ended",
                "2024-01-01T12:00:09Z",
                json!({"user_id": 10, "reason": "hangup", "duration": null}),
            ),
        );
        assert_eq!(hangup.call.state, CallState::Ended);
        assert!(matches!(
            hangup.detail,
            CallEventDetail::CallEnded {
                reason: EndReason::Hangup,
                ..
            }
        ));
    }

    /// A `call` event exactly as the released plugin sends it: no `timeout_seconds`, no
    /// top-level `user_id`, no `duration`, Python's ISO timestamps.
    fn deployed(op: &str, state: &str, extra: Value) -> Value {
        let mut event = json!({
            "type": "call", "id": 4, "op": op, "call_id": CALL, "call_type": "audio",
            "sender": {"user_id": 2, "full_name": "King Hamlet", "avatar_url": "/avatar/2"},
            "receiver": {"user_id": 3, "full_name": "Othello", "avatar_url": "/avatar/3"},
            "state": state, "jitsi_url": "https://meet.example.com/zulip-call-1",
            "timestamp": "2026-12-07T10:39:03.308221+00:00",
        });
        if let (Some(event), Value::Object(extra)) = (event.as_object_mut(), extra) {
            event.extend(extra);
        }
        event
    }

    fn read_deployed(op: &str, state: &str, extra: Value) -> CallEvent {
        let event = read_event(deployed(op, state, extra)).unwrap();
        assert_eq!(event.id, EventId(4));
        let translated = EventTranslator::default().translate(event);
        translated.as_call().cloned().expect("a call event")
    }

    #[test]
    fn the_deployed_plugin_s_events_are_read() {
        for op in ["initiated", "incoming_call"] {
            let started = read_deployed(op, "calling", json!({"receiver_was_offline": true}));
            assert_eq!(
                started.detail,
                CallEventDetail::CallStarted {
                    timeout_seconds: PLUGIN_RING_SECONDS
                },
                "{op}"
            );
            assert_eq!(started.call.created_at, at("2026-12-07T10:39:03.308221Z"));
        }
        // Without `receiver_was_offline` too (and it says nothing the client shows).
        let incoming = read_event(deployed("incoming_call", "calling", json!({}))).unwrap();
        assert!(incoming.as_call_op().is_some());
        for (op, state) in [("ringing", "ringing"), ("accepted", "accepted")] {
            let event = read_deployed(op, state, json!({}));
            assert_eq!(event.call.state.as_str(), state);
        }
        // `ended` with the plugin's reasons, without one, or with one it made up.
        for (extra, reason) in [
            (json!({"reason": "hangup"}), EndReason::Hangup),
            (
                json!({"reason": "network_failure"}),
                EndReason::NetworkFailure,
            ),
            (json!({"reason": "timeout_stale"}), EndReason::Cleanup),
            (json!({}), EndReason::Hangup),
            (json!({"reason": "manual_end"}), EndReason::Hangup),
        ] {
            let ended = read_deployed("ended", "ended", extra.clone());
            assert!(
                matches!(
                    ended.detail,
                    CallEventDetail::CallEnded { reason: got, ended_by_id: None, duration: None }
                        if got == reason
                ),
                "{extra}: {:?}",
                ended.detail
            );
        }
        let missed = read_deployed(
            "missed",
            "missed",
            json!({"reason": "no_answer", "timeout_seconds": 90}),
        );
        assert!(matches!(
            missed.detail,
            CallEventDetail::CallEnded {
                reason: EndReason::Missed,
                ..
            }
        ));
    }

    /// The plugin's end before an answer says `ended`, with nobody named: a call that ended
    /// unanswered, neither cancelled nor rejected.
    #[test]
    fn a_deployed_end_before_an_answer_is_an_unanswered_end() {
        let ended = read_deployed("ended", "ended", json!({"reason": "hangup"}));
        assert_eq!(ended.call.state, CallState::Ended);
        assert_eq!(ended.call.answered_at, None);
    }

    #[test]
    fn an_event_that_cannot_be_read_keeps_its_id() {
        let broken = read_event(json!({"type": "call", "id": 7, "op": "accepted"})).unwrap_err();
        assert_eq!(broken.id, Some(EventId(7)));
        let broken =
            read_event(json!({"type": "call_event", "id": 8, "event_type": "call_started"}))
                .unwrap_err();
        assert_eq!(broken.id, Some(EventId(8)));
        let broken = read_event(json!({"type": "call", "op": "accepted"})).unwrap_err();
        assert_eq!(broken.id, None);
        assert_eq!(
            read_event(json!(["not", "an", "event"])).unwrap_err().id,
            None
        );
        // Events the client reads as they are stay as they are.
        let design = json!({"type": "presence", "id": 9, "user_id": 4});
        assert_eq!(
            read_event(design.clone()).unwrap(),
            serde_json::from_value::<QueueEvent>(design).unwrap()
        );
    }

    #[test]
    fn other_events_pass_through() {
        let mut t = EventTranslator::default();
        let unknown: QueueEvent =
            serde_json::from_value(json!({"type": "presence", "id": 3, "user_id": 4})).unwrap();
        assert_eq!(t.translate(unknown.clone()), unknown);
    }

    #[test]
    fn rooms_are_join_urls_without_token_or_settings() {
        assert_eq!(
            room_url("https://meet.example.com/zulip-call-1?jwt=abc#config.x=1"),
            "https://meet.example.com/zulip-call-1"
        );
        assert_eq!(
            room_url("https://meet.example.com/zulip-call-1#config.x=1"),
            "https://meet.example.com/zulip-call-1"
        );
        assert_eq!(room_url("https://m.example/r"), "https://m.example/r");
    }

    #[test]
    fn features_follow_the_dialect() {
        assert_eq!(Features::default(), Features::of(Dialect::Design));
        let plugin = Features::of(Dialect::V1_1);
        assert_eq!(plugin.name, "1.1");
        assert!(!plugin.media_status && plugin.heartbeat && plugin.group_calls);
    }

    fn calls(dialect: Dialect) -> Calls {
        let server = super::super::api::ServerAddress::parse("localhost:9").unwrap();
        Calls::new(ApiClient::anonymous(server).unwrap(), dialect)
    }

    #[test]
    fn queues_ask_for_group_calls_where_the_server_has_them() {
        let plugin = calls(Dialect::V1_1);
        assert_eq!(plugin.event_types(), ["call", "group_call"]);
        assert!(plugin.features().group_calls);
        // The design dialect: only once the server is known to speak 1.1 too.
        let design = calls(Dialect::Design);
        assert_eq!(design.event_types(), ["call_event"]);
        assert!(!design.features().group_calls);
        design.group_calls.set(true).unwrap();
        assert_eq!(design.event_types(), ["call_event", "group_call"]);
        assert!(design.features().group_calls);
        assert!(design.features().media_status);
    }
}

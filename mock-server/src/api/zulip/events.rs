//! `register` and `GET`/`DELETE events`: Zulip's event-queue protocol with long-polling.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use serde_json::Map;
use zulip_calls_protocol::endpoint::Empty;
use zulip_calls_protocol::event::{DEFAULT_EVENTS_WEBSOCKET_PATH, QueueEvent};
use zulip_calls_protocol::zulip::{self as api};
use zulip_calls_protocol::{EventId, QueueId};

use super::users::{ZULIP_FEATURE_LEVEL, ZULIP_VERSION};
use crate::api::ApiState;
use crate::api::auth::AuthUser;
use crate::api::dialect::{event_format, queue_dialect};
use crate::api::durable::AlreadyCommitted;
use crate::api::error::ApiResult;
use crate::api::params::ApiParams;
use crate::api::{mount, success};

/// The event routes.
pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    let router = mount::<api::Register, _, _>(router, register);
    let router = mount::<api::GetEvents, _, _>(router, get_events);
    mount::<api::DeleteEvents, _, _>(router, delete_events)
}

async fn register(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::RegisterRequest = params.decode()?;
    // The initial state asked for: `fetch_event_types`, else `event_types`, else all.
    let fetch_types = request
        .fetch_event_types
        .clone()
        .or_else(|| request.event_types.clone());
    let dialect = queue_dialect(request.event_types.as_deref(), state.core.settings());
    let queue_id = state.core.queues.register_in(
        user.id,
        request.event_types,
        Some(event_format(dialect)),
        state.core.clock.now(),
    );
    state.core.deadlines_changed.notify_one();
    // Initial state, fetched after the queue exists so no change falls between.
    let mut extra = Map::new();
    let wants = |t: &str| {
        fetch_types
            .as_ref()
            .is_none_or(|types| types.iter().any(|x| x == t))
    };
    super::presence::initial_state(
        &state,
        &user,
        wants,
        request.slim_presence == Some(true),
        &mut extra,
    )?;
    Ok(success(api::RegisterResponse {
        queue_id,
        last_event_id: EventId::BEFORE_FIRST,
        zulip_version: ZULIP_VERSION.to_owned(),
        zulip_feature_level: ZULIP_FEATURE_LEVEL,
        zulip_merge_base: Some(ZULIP_VERSION.to_owned()),
        event_queue_longpoll_timeout_seconds: Some(state.limits.heartbeat_seconds + 30),
        events_websocket_path: Some(DEFAULT_EVENTS_WEBSOCKET_PATH.to_owned()),
        extra,
    }))
}

async fn get_events(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::GetEventsRequest = params.decode()?;
    let queues = &state.core.queues;
    let heartbeat = Duration::from_secs(state.limits.heartbeat_seconds);
    let deadline = tokio::time::Instant::now() + heartbeat;
    let mut closing = state.closing.subscribe();
    let mut last = request.last_event_id;
    queues.attach(&request.queue_id, true, state.core.clock.now());
    let _detach = Detach {
        state: &state,
        queue_id: &request.queue_id,
    };
    let mut waiting: Option<LongPoll<'_>> = None;
    loop {
        // One reading for both looks, a moment apart.
        let now = state.core.clock.now();
        let poll = queues.poll(user.id, &request.queue_id, last, now)?;
        // Subscribe before looking, so an event added in between still wakes us.
        let woken = poll.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let poll = queues.poll(user.id, &request.queue_id, None, now)?;
        if !poll.events.is_empty() || request.dont_block == Some(true) {
            return Ok(events_answer(poll.events, &request.queue_id));
        }
        last = None;
        if waiting.is_none() {
            waiting = Some(LongPoll::start(&state, &request.queue_id));
        }
        tokio::select! {
            () = &mut woken => continue,
            // Shutting down: answer now (a heartbeat), so the drain does not wait on us.
            () = crate::api::state::closed(&mut closing) => {
                let events = queues.heartbeat(user.id, &request.queue_id)?;
                return Ok(events_answer(events, &request.queue_id));
            }
            () = wall_clock_heartbeat(deadline, state.core.options.virtual_clock) => {
                let events = queues.heartbeat(user.id, &request.queue_id)?;
                return Ok(events_answer(events, &request.queue_id));
            }
        }
    }
}

/// A `GET events` answer: queued events only, each queued after its change was committed.
fn events_answer(events: Vec<QueueEvent>, queue_id: &QueueId) -> Response {
    let mut response = success(api::GetEventsResponse {
        events,
        queue_id: Some(queue_id.clone()),
    });
    response.extensions_mut().insert(AlreadyCommitted);
    response
}

/// Resolves at the heartbeat `deadline`, or never on a virtual clock, where the clock's move
/// queues the heartbeat instead (see [`LongPoll`]).
async fn wall_clock_heartbeat(deadline: tokio::time::Instant, virtual_clock: bool) {
    if virtual_clock {
        std::future::pending::<()>().await;
    } else {
        tokio::time::sleep_until(deadline).await;
    }
}

/// Counts the long-poll as waiting on its queue until the request ends (the control API lists
/// it). On a virtual clock it also tells the queue when its heartbeat is due, in server time,
/// so moving the clock past that answers it.
struct LongPoll<'a> {
    state: &'a ApiState,
    queue_id: &'a QueueId,
}

impl<'a> LongPoll<'a> {
    fn start(state: &'a ApiState, queue_id: &'a QueueId) -> Self {
        let heartbeat_due = state.core.options.virtual_clock.then(|| {
            let secs = i64::try_from(state.limits.heartbeat_seconds).unwrap_or(i64::MAX);
            state.core.clock.now().plus_seconds(secs)
        });
        state.core.queues.long_poll_started(queue_id, heartbeat_due);
        LongPoll { state, queue_id }
    }
}

impl Drop for LongPoll<'_> {
    fn drop(&mut self) {
        self.state.core.queues.long_poll_ended(self.queue_id);
    }
}

/// Marks the long-poll as gone when the request ends, however it ends.
struct Detach<'a> {
    state: &'a ApiState,
    queue_id: &'a QueueId,
}

impl Drop for Detach<'_> {
    fn drop(&mut self) {
        self.state
            .core
            .queues
            .attach(self.queue_id, false, self.state.core.clock.now());
    }
}

async fn delete_events(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::DeleteEventsRequest = params.decode()?;
    state.core.queues.delete(user.id, &request.queue_id)?;
    Ok(success(Empty {}))
}

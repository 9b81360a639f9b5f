//! The event WebSocket (spec §5): the same queue as `GET events`, pushed instead of polled.
//!
//! `GET /api/v1/events/websocket?queue_id=Q&last_event_id=N` with Basic auth. Everything that
//! can be refused is refused before the upgrade, as an ordinary JSON error (401,
//! `BAD_EVENT_QUEUE_ID`, a missing parameter, a request that is no upgrade), because a client
//! cannot read an error body once the connection is a WebSocket.
//!
//! After the upgrade the server discards events `<= N` (as `GET events` with that id would),
//! sends the rest as one JSON text frame each, in order, then every later event as it is
//! queued. Text frames `{"last_event_id": N}` from the client discard events `<= N`; whatever
//! is not acknowledged stays queued and is replayed to the next connection on the queue.
//!
//! Close codes the server sends:
//! - 1008 (policy) with a reason starting `BAD_EVENT_QUEUE_ID` when the queue is deleted while
//!   connected: reconnecting cannot help, the client must register again.
//! - 1003 (unsupported data) for a frame that is not an acknowledgement. Closing rather than
//!   ignoring makes a client bug visible at once, and costs nothing: unacknowledged events are
//!   replayed on reconnect.
//! - 1011 (internal error) if an event cannot be serialised.
//! - the code the control API asks for (`websockets/close`, 1012 by default), and 1008 with a
//!   reason starting `USER_DEACTIVATED` when the user is deactivated (see `sockets`).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use axum::routing::get;
use futures_util::SinkExt;
use tokio::time::{Instant, MissedTickBehavior};
use zulip_calls_protocol::event::{DEFAULT_EVENTS_WEBSOCKET_PATH, WsAck, WsConnectParams};
use zulip_calls_protocol::{ApiError, EventId, QueueId, UserId};

use super::sockets::CloseRequest;
use crate::api::ApiState;
use crate::api::auth::AuthUser;
use crate::api::error::ApiResult;
use crate::api::params::ApiParams;
use crate::core::queues::QueueError;

/// The longest time between two pings (spec §5: "pings keep it alive"); short enough for the
/// idle timeouts of common proxies (often 30 s or more).
const MAX_PING_INTERVAL_SECS: u64 = 25;

/// How long to wait for the client's reply to our close frame before dropping the connection.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The WebSocket route.
pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    router.route(DEFAULT_EVENTS_WEBSOCKET_PATH, get(connect))
}

/// The read buffer of an event WebSocket (it grows for a larger frame, up to the limits).
const WS_READ_BUFFER_BYTES: usize = 4 * 1024;

/// How often to ping: every 25 s, or more often when the server's heartbeat is shorter, so a
/// test server with a 1 s heartbeat pings every second.
pub fn ping_interval(heartbeat_seconds: u64) -> Duration {
    Duration::from_secs(heartbeat_seconds.clamp(1, MAX_PING_INTERVAL_SECS))
}

async fn connect(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    close_at_once_asked: Option<axum::Extension<CloseWebSocket>>,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: WsConnectParams = params.decode()?;
    // Refuse a bad queue with the error a long-poll would get. No acknowledgement yet: if the
    // upgrade then fails, the client must still find every event on its next try.
    state
        .core
        .queues
        .poll(user.id, &request.queue_id, None, state.core.clock.now())?;
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::bad_request(format!(
            "{DEFAULT_EVENTS_WEBSOCKET_PATH} only serves WebSocket upgrades: {}",
            rejection.body_text()
        ))
    })?;
    // Small buffers: a client only ever sends acknowledgements, and each event is written
    // (and flushed) as it comes. The defaults (128 KiB each way) would make ten thousand
    // idle clients cost over a gigabyte.
    let upgrade = upgrade
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(0);
    // Asked from outside (an injected fault): accept the upgrade, then close at once.
    if let Some(axum::Extension(close)) = close_at_once_asked {
        return Ok(upgrade.on_upgrade(move |socket| close_at_once(socket, close)));
    }
    // Attached from now on, so the queue cannot expire between this check and the upgrade.
    // The callback owns the guard: a failed upgrade drops the callback, and so detaches.
    let attachment = Attachment::new(Arc::clone(&state), request.queue_id.clone());
    Ok(upgrade.on_upgrade(move |socket| {
        serve(
            socket,
            attachment,
            user.id,
            request.queue_id,
            request.last_event_id,
        )
    }))
}

/// Left in a WebSocket upgrade request's extensions by a layer outside (an injected fault): the
/// event WebSocket accepts the upgrade, then closes at once with `code` and `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseWebSocket {
    pub code: u16,
    pub reason: &'static str,
}

/// Serves an upgraded event WebSocket that is to close at once: sends the close frame, then
/// lets the client answer it so it sees a clean close with `code`.
async fn close_at_once(mut socket: WebSocket, close: CloseWebSocket) {
    let code = close.code;
    let frame = CloseFrame {
        code,
        reason: close.reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_ok() {
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(_)) = socket.recv().await {}
        })
        .await;
    }
    tracing::debug!(code, "event websocket closed at once");
}

/// Runs one connection until the client leaves or the server closes it.
async fn serve(
    mut socket: WebSocket,
    attachment: Attachment,
    user: UserId,
    queue_id: QueueId,
    last_event_id: EventId,
) {
    let state = &attachment.state;
    tracing::debug!(%queue_id, %user, %last_event_id, "event websocket opened");
    let mut registration = state.sockets.register(user, queue_id.clone());
    let pumped = pump(
        &mut socket,
        state,
        user,
        &queue_id,
        last_event_id,
        &mut registration.close,
    )
    .await;
    // Closing from here on: no longer a connection to list or to close.
    drop(registration);
    match pumped {
        // The client closed (or vanished): flush the answer to its close frame, which the
        // WebSocket layer queued, so it sees a clean close.
        Ok(()) => {
            let _ = tokio::time::timeout(CLOSE_GRACE, socket.close()).await;
        }
        Err(frame) => {
            tracing::debug!(
                %queue_id,
                code = frame.code,
                reason = %frame.reason,
                "closing event websocket"
            );
            if socket.send(Message::Close(Some(frame))).await.is_ok() {
                // Let the client answer the close frame, so it sees a clean close.
                let _ = tokio::time::timeout(CLOSE_GRACE, async {
                    while let Some(Ok(_)) = socket.recv().await {}
                })
                .await;
            }
        }
    }
    tracing::debug!(%queue_id, "event websocket closed");
    drop(attachment);
}

/// Streams the queue to the socket. `Ok` when the client went away, `Err` with the close frame
/// to send when the server ends the connection.
async fn pump(
    socket: &mut WebSocket,
    state: &ApiState,
    user: UserId,
    queue_id: &QueueId,
    acknowledged: EventId,
    close_requests: &mut tokio::sync::watch::Receiver<Option<CloseRequest>>,
) -> Result<(), CloseFrame> {
    let queues = &state.core.queues;
    // The client has everything up to `acknowledged`: discard it, as `GET events` would.
    let wake = queues
        .poll(user, queue_id, Some(acknowledged), state.core.clock.now())
        .map_err(queue_gone)?
        .wake;
    let mut last_sent = acknowledged;
    let period = ping_interval(state.limits.heartbeat_seconds);
    let mut ping = tokio::time::interval_at(Instant::now() + period, period);
    let mut closing = state.closing.subscribe();
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        // A close request wins over what woke us: the deactivation that asks to close also
        // deletes the queue, and the client should learn why.
        if let Some(request) = close_requests.borrow_and_update().clone() {
            return Err(CloseFrame {
                code: request.code,
                reason: request.reason.into(),
            });
        }
        // Subscribe before reading the queue, so an event added in between still wakes us.
        let woken = wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let poll = queues
            .poll(user, queue_id, None, state.core.clock.now())
            .map_err(queue_gone)?;
        // Events stay queued until acknowledged; `last_sent` keeps each from going out twice.
        let already_sent = last_sent;
        for event in poll.events.iter().filter(|e| e.id > already_sent) {
            let text = serde_json::to_string(event).map_err(|err| {
                tracing::error!(%queue_id, id = %event.id, error = %err, "cannot serialise event");
                close(
                    close_code::ERROR,
                    "internal error: an event could not be serialised",
                )
            })?;
            if socket.send(Message::text(text)).await.is_err() {
                return Ok(());
            }
            last_sent = event.id;
        }
        tokio::select! {
            () = &mut woken => {}
            () = crate::api::state::closed(&mut closing) => {
                return Err(close(close_code::RESTART, "server shutting down: reconnect"));
            }
            // Asked to close from outside (the control API, a deactivated user): the loop's
            // first check sends the close frame.
            Ok(()) = close_requests.changed() => {}
            _ = ping.tick() => {
                // A dead peer makes this fail once TCP gives up, which ends the attachment.
                if socket.send(Message::Ping(Bytes::new())).await.is_err() {
                    return Ok(());
                }
            }
            message = socket.recv() => match message {
                None | Some(Err(_) | Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(Message::Text(text))) => {
                    let ack = WsAck::parse(text.as_str()).map_err(|err| {
                        tracing::warn!(%queue_id, error = %err, "bad frame on event websocket");
                        close(
                            close_code::UNSUPPORTED,
                            r#"expected an acknowledgement {"last_event_id": N}"#,
                        )
                    })?;
                    queues
                        .poll(user, queue_id, Some(ack.last_event_id), state.core.clock.now())
                        .map_err(queue_gone)?;
                }
                Some(Ok(Message::Binary(_))) => {
                    tracing::warn!(%queue_id, "binary frame on event websocket");
                    return Err(close(
                        close_code::UNSUPPORTED,
                        r#"binary frames are not supported; send text {"last_event_id": N}"#,
                    ));
                }
                // Pings are answered by the WebSocket layer; pongs only prove the peer is there.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            }
        }
    }
}

/// The close frame for a queue that is gone (deleted while connected).
fn queue_gone(err: QueueError) -> CloseFrame {
    tracing::debug!(error = %err, "event queue gone while its websocket was open");
    close(
        close_code::POLICY,
        "BAD_EVENT_QUEUE_ID: the event queue no longer exists; register again",
    )
}

fn close(code: u16, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// Keeps the queue attached (so it never expires) while a connection is open or being set up;
/// detaches however the connection ends.
struct Attachment {
    state: ApiState,
    queue_id: QueueId,
}

impl Attachment {
    fn new(state: ApiState, queue_id: QueueId) -> Self {
        state
            .core
            .queues
            .attach(&queue_id, true, state.core.clock.now());
        Attachment { state, queue_id }
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.state
            .core
            .queues
            .attach(&self.queue_id, false, self.state.core.clock.now());
    }
}

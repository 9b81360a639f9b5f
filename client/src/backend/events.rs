//! The event stream: a background task that keeps one event queue registered and delivers its
//! events, over the event WebSocket when the server offers one, by long-polling otherwise
//! (spec §5).
//!
//! The task hides the protocol's failure modes from the app: a lost connection is retried with
//! capped exponential backoff (the server replays what was not acknowledged, and the task drops
//! what it already delivered), a lost queue (expiry, server restart) is registered again and
//! followed by [`StreamItem::Resynced`] so the app can rebuild its state, and only a refused
//! identity ends the stream ([`ConnectionState::Offline`]).
//!
//! The app sees one ordered channel of [`StreamItem`]s: connection states (only when they
//! change), queue events (each once, in queue order, heartbeats left out) and snapshots of the
//! user's active calls.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::Request as WsRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use zulip_calls_protocol::endpoint::Endpoint;
use zulip_calls_protocol::envelope::{DecodeError, decode_response};
use zulip_calls_protocol::event::WsAck;
use zulip_calls_protocol::zulip::PRESENCE_EVENT_TYPE;
use zulip_calls_protocol::zulip::PresenceState;
use zulip_calls_protocol::zulip::{
    DeleteEvents, DeleteEventsRequest, GetEvents, GetEventsRequest, Register, RegisterRequest,
    RegisterResponse,
};
use zulip_calls_protocol::zulip::{USER_STATUS_EVENT_TYPE, UserStatus};
use zulip_calls_protocol::{
    ActiveCall, ErrorCode, EventId, EventKind, QueueEvent, QueueId, UserId,
};

use super::api::{ApiClient, ClientError};
use super::calls::{Calls, EventTranslator, UnreadableEvent, read_event};
use super::tls::tls_failure;

/// `GET events`, with the events left as JSON for [`read_event`], so that one event a server
/// shapes its own way (the released plugin's) neither stops the stream nor hides the rest.
#[derive(Debug, Clone, Copy)]
struct LenientGetEvents;

/// The answer of [`LenientGetEvents`].
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct LenientEvents {
    events: Vec<serde_json::Value>,
}

impl Endpoint for LenientGetEvents {
    const NAME: &'static str = GetEvents::NAME;
    const METHOD: zulip_calls_protocol::endpoint::Verb = GetEvents::METHOD;
    const PATH: &'static str = GetEvents::PATH;
    const AUTH: zulip_calls_protocol::endpoint::Auth = GetEvents::AUTH;
    type Path = <GetEvents as Endpoint>::Path;
    type Request = <GetEvents as Endpoint>::Request;
    type Response = LenientEvents;
}

/// `value` as a queue event ([`read_event`]). One that cannot be read is logged and stands
/// in the queue as a heartbeat would: its id moves the stream on, and nothing is delivered.
/// Without even an id it is passed over.
fn readable(value: serde_json::Value) -> Option<QueueEvent> {
    match read_event(value) {
        Ok(event) => Some(event),
        Err(UnreadableEvent { id, error }) => {
            tracing::warn!(?id, %error, "skipping an event that cannot be read");
            id.map(|id| QueueEvent {
                id,
                kind: EventKind::Heartbeat,
            })
        }
    }
}

/// How events reach the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// The event WebSocket (`events_websocket_path`): events are pushed as they happen.
    WebSocket,
    /// `GET events` long-polls: works with every Zulip server.
    LongPoll,
}

/// Which transport the stream may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TransportPreference {
    /// The WebSocket when the server advertises `events_websocket_path` and it can be opened,
    /// long-polling otherwise.
    #[default]
    Auto,
    LongPollOnly,
    /// Fails ([`ConnectionState::Offline`]) on servers without a usable event WebSocket.
    WebSocketOnly,
}

/// Where the stream stands, for the app's status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// The first registration is under way.
    Connecting,
    Connected {
        transport: Transport,
    },
    /// The last try failed; the next comes after `retry_in`.
    Reconnecting {
        /// Consecutive failed tries, from 1.
        attempt: u32,
        retry_in: Duration,
        reason: String,
    },
    /// Given up for good (the credentials were refused, the user is deactivated): retrying
    /// cannot help, the user must act. The stream ends after this.
    Offline {
        reason: String,
    },
}

/// What the stream delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// The connection changed state (never sent twice in a row with the same value).
    State(ConnectionState),
    /// A queue event (never a heartbeat), in queue order, each delivered once. Call events
    /// come in the design dialect whatever the server's ([`Calls::translator`]).
    Event(QueueEvent),
    /// The user's active calls ([`Calls::active`]), sent after every fresh registration,
    /// the first included, before that queue's events. Events lost with an old queue are not
    /// replayed, so the app rebuilds its call state from this. Events queued between the
    /// registration and the snapshot may also be reflected in the snapshot: apply them
    /// idempotently.
    Resynced(Vec<ActiveCall>),
    /// With [`StreamOptions::presence`]: the presence and statuses a fresh queue started from
    /// (each `None` when the server has none), sent before that queue's events.
    Registered {
        presence: Option<PresenceState>,
        statuses: Option<BTreeMap<UserId, UserStatus>>,
    },
}

/// How to run the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOptions {
    /// The `event_types` to register for; `None` = the call events of the dialect spoken
    /// ([`Calls::event_types`]).
    pub event_types: Option<Vec<String>>,
    /// Also follow teammates' presence and statuses (`presence` and `user_status` events,
    /// with their initial state in [`StreamItem::Registered`]).
    pub presence: bool,
    pub transport: TransportPreference,
    /// The backoff ceiling of the first retry; it doubles with each failure.
    pub backoff_initial: Duration,
    /// The largest backoff ceiling.
    pub backoff_max: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            event_types: None,
            presence: false,
            transport: TransportPreference::Auto,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// Items the task may run ahead of the app; past this it waits (and stops reading).
const CHANNEL_CAPACITY: usize = 256;
/// Added to the server's long-poll timeout, so a heartbeat that is a little late is not
/// mistaken for a dead connection.
const LONGPOLL_MARGIN: Duration = Duration::from_secs(5);
/// How long the WebSocket handshake may take.
const WS_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The client pings this often, so a silently dead connection is noticed even if the server
/// does not ping.
const WS_PING_EVERY: Duration = Duration::from_secs(20);
/// With no frame at all (event, ping, pong) for this long the connection is taken as dead.
const WS_IDLE_LIMIT: Duration = Duration::from_secs(50);
/// Acknowledge at the latest after this many events...
const ACK_EVERY_EVENTS: u32 = 8;
/// ...or once the stream has been quiet this long, so the server's replay stays short.
const ACK_WHEN_IDLE: Duration = Duration::from_millis(200);
/// How long the goodbye (WebSocket close, `DELETE events`) may take.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(5);
/// A WebSocket that fails sooner than this after opening was not really a connection: the
/// backoff keeps growing rather than starting over.
const WS_SHORT_LIVED: Duration = Duration::from_secs(3);
/// After this many short-lived WebSockets in a row, the automatic transport long-polls.
const WS_SHORT_LIVED_LIMIT: u32 = 3;

/// The handle of a running stream. Dropping it stops the stream as [`EventStream::shutdown`]
/// does, without waiting.
#[derive(Debug)]
pub struct EventStream {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    queue: watch::Receiver<Option<QueueId>>,
}

impl EventStream {
    /// Starts the stream in the background (needs a Tokio runtime). It ends when
    /// [`EventStream::shutdown`] is called, the handle or the receiver is dropped, or it goes
    /// [`ConnectionState::Offline`]; the receiver then yields `None`.
    #[must_use = "dropping the handle stops the stream"]
    pub fn spawn(
        calls: impl Into<Calls>,
        options: StreamOptions,
    ) -> (EventStream, mpsc::Receiver<StreamItem>) {
        let calls = calls.into();
        let api = calls.api().clone();
        let translator = calls.translator();
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let (stop, stop_rx) = watch::channel(false);
        let (queue_tx, queue) = watch::channel(None);
        let worker = Worker {
            api,
            calls,
            translator,
            options,
            tx,
            stop: stop_rx,
            queue: queue_tx,
            tracker: StateTracker::default(),
            failures: 0,
            bad_queue_retried: false,
            websocket_broken: false,
            short_lived_websockets: 0,
        };
        let task = tokio::spawn(worker.run());
        (EventStream { stop, task, queue }, rx)
    }

    /// The queue in use now, if one is registered.
    pub fn queue_id(&self) -> Option<QueueId> {
        self.queue.borrow().clone()
    }

    /// Follows the queue id: it changes on every registration, and is `None` while no queue is
    /// registered and once the stream has ended (after its queue was deleted).
    pub fn watch_queue_id(&self) -> watch::Receiver<Option<QueueId>> {
        self.queue.clone()
    }

    /// Stops the stream and deletes its queue (best effort, bounded by a few seconds), so the
    /// server stops queueing events for a client that is gone.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        if let Err(err) = self.task.await {
            tracing::warn!(error = %err, "event stream task failed");
        }
    }
}

/// Why the stream stopped streaming: what to do next.
#[derive(Debug, Clone, PartialEq)]
enum Failure {
    /// Shut down, or nobody listens any more.
    Stop,
    /// The queue is gone: register again.
    BadQueue,
    /// Worth retrying after a backoff (at least `retry_after` when the server said so).
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help.
    Fatal(String),
    /// The event WebSocket cannot be used on this server; long-polling may work.
    NoWebSocket(String),
}

/// What an API error means for the stream.
fn classify(err: &ClientError) -> Failure {
    match err.code() {
        Some(ErrorCode::BadEventQueueId) => return Failure::BadQueue,
        Some(code) if is_identity_refused(code) => return Failure::Fatal(err.to_string()),
        _ => {}
    }
    match err {
        // Configuration problems: they do not go away by themselves.
        ClientError::Tls { .. }
        | ClientError::InvalidSite { .. }
        | ClientError::CertBundle { .. }
        | ClientError::NoEndpoint { .. }
        | ClientError::WrongDialect { .. }
        | ClientError::NoCallsPlugin { .. }
        | ClientError::NoGroupCalls { .. }
        | ClientError::Unsupported { .. } => Failure::Fatal(err.to_string()),
        _ => Failure::Retry {
            reason: err.to_string(),
            retry_after: err
                .api()
                .and_then(|api| api.retry_after)
                .and_then(|secs| Duration::try_from_secs_f64(secs).ok()),
        },
    }
}

/// The 401 codes: the server does not accept who we are.
fn is_identity_refused(code: &ErrorCode) -> bool {
    match code {
        ErrorCode::Unauthorized | ErrorCode::InvalidApiKey | ErrorCode::UserDeactivated => true,
        ErrorCode::Other(other) => other == "REALM_DEACTIVATED",
        _ => false,
    }
}

/// What a failed WebSocket handshake (or a broken connection) means for the stream.
fn classify_ws(err: &WsError) -> Failure {
    let retry = |reason: String| Failure::Retry {
        reason,
        retry_after: None,
    };
    match err {
        WsError::Http(response) => {
            let status = response.status().as_u16();
            let body = response.body().as_deref().unwrap_or_default();
            if let Err(DecodeError::Api(api)) = decode_response::<serde_json::Value>(status, body) {
                let code = api.code.clone();
                let text = api.text().to_owned();
                if code == ErrorCode::BadEventQueueId || is_identity_refused(&code) {
                    return classify(&ClientError::Api(api));
                }
                if code == ErrorCode::RateLimitHit || status >= 500 {
                    return classify(&ClientError::Api(api));
                }
                return Failure::NoWebSocket(format!(
                    "the event WebSocket was refused (HTTP {status}): {text}"
                ));
            }
            match status {
                401 => Failure::Fatal("the server refused the credentials (HTTP 401)".to_owned()),
                429 | 500.. => retry(format!("the event WebSocket was refused (HTTP {status})")),
                _ => Failure::NoWebSocket(format!(
                    "the event WebSocket is not available (HTTP {status})"
                )),
            }
        }
        WsError::Url(_) | WsError::HttpFormat(_) | WsError::Tls(_) => {
            Failure::NoWebSocket(format!("cannot open the event WebSocket: {err}"))
        }
        WsError::Protocol(protocol) => {
            use tokio_tungstenite::tungstenite::error::ProtocolError;
            match protocol {
                ProtocolError::HandshakeIncomplete
                | ProtocolError::ResetWithoutClosingHandshake => {
                    retry(format!("event WebSocket: {err}"))
                }
                // A proxy that does not speak WebSocket: retrying will not change it.
                _ => Failure::NoWebSocket(format!("cannot open the event WebSocket: {err}")),
            }
        }
        _ => retry(format!("event WebSocket: {err}")),
    }
}

/// The backoff before retry number `attempt` (from 1): a uniformly random time ("full
/// jitter", so many clients cut off together do not come back together) below a ceiling that
/// starts at `initial` and doubles up to `max`. `jitter` is the random draw, in `[0, 1]`.
pub fn backoff_delay(attempt: u32, initial: Duration, max: Duration, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    let ceiling = initial.saturating_mul(1u32 << doublings).min(max);
    ceiling.mul_f64(jitter.clamp(0.0, 1.0))
}

/// Remembers the last state sent, so each change is sent once.
#[derive(Debug, Default)]
struct StateTracker {
    current: Option<ConnectionState>,
}

impl StateTracker {
    /// `next` if it differs from the last state, which it then becomes.
    fn update(&mut self, next: ConnectionState) -> Option<ConnectionState> {
        if self.current.as_ref() == Some(&next) {
            return None;
        }
        self.current = Some(next.clone());
        Some(next)
    }
}

/// The position in one queue: what was delivered, what the server was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    /// The newest event id seen (heartbeats included): the `last_event_id` to resume from.
    last: EventId,
    /// The newest id acknowledged on the WebSocket.
    acked: EventId,
    /// Events seen since that acknowledgement.
    unacked: u32,
}

impl Cursor {
    fn new(start: EventId) -> Self {
        Cursor {
            last: start,
            acked: start,
            unacked: 0,
        }
    }

    /// The event to deliver: `None` for a replayed one (already delivered) or a heartbeat.
    fn accept(&mut self, event: QueueEvent) -> Option<QueueEvent> {
        if event.id <= self.last {
            tracing::trace!(id = %event.id, "dropping an event delivered before");
            return None;
        }
        self.last = event.id;
        self.unacked = self.unacked.saturating_add(1);
        match event.kind {
            EventKind::Heartbeat => None,
            _ => Some(event),
        }
    }

    /// The id to acknowledge, if anything is unacknowledged.
    fn pending_ack(&self) -> Option<EventId> {
        (self.last > self.acked).then_some(self.last)
    }

    /// Enough events went unacknowledged to acknowledge without waiting for a pause.
    fn ack_due(&self) -> bool {
        self.unacked >= ACK_EVERY_EVENTS
    }

    fn acknowledged(&mut self, id: EventId) {
        self.acked = self.acked.max(id);
        self.unacked = 0;
    }
}

/// One registered queue.
#[derive(Debug)]
struct Session {
    queue_id: QueueId,
    cursor: Cursor,
    /// The event WebSocket's path, when this queue should use it.
    websocket_path: Option<String>,
    longpoll_timeout: Duration,
    /// [`StreamItem::Resynced`] was sent for this queue.
    resynced: bool,
    /// The [`StreamItem::Registered`] still to send for this queue.
    registered: Option<StreamItem>,
}

/// The WebSocket URL for `path` on `site`: ws/wss scheme, the queue and resume point in the
/// query. `path` may also be an absolute URL.
fn websocket_url(
    site: &url::Url,
    path: &str,
    queue_id: &QueueId,
    last_event_id: EventId,
) -> Result<url::Url, String> {
    let mut url = match url::Url::parse(path) {
        Ok(absolute) => absolute,
        Err(_) => {
            let base = site.as_str().trim_end_matches('/');
            let slash = if path.starts_with('/') { "" } else { "/" };
            url::Url::parse(&format!("{base}{slash}{path}"))
                .map_err(|e| format!("bad events_websocket_path {path:?}: {e}"))?
        }
    };
    let scheme = match url.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => {
            return Err(format!(
                "unsupported scheme {other:?} for the event WebSocket"
            ));
        }
    };
    url.set_scheme(scheme)
        .map_err(|()| format!("cannot use {scheme}:// for {url}"))?;
    url.query_pairs_mut()
        .append_pair("queue_id", queue_id.as_str())
        .append_pair("last_event_id", &last_event_id.to_string());
    Ok(url)
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What woke the WebSocket loop.
enum Wake {
    Stop,
    AckTimer,
    PingTimer,
    Silent,
    Frame(Option<Result<Message, WsError>>),
}

/// The background task.
struct Worker {
    api: ApiClient,
    /// The calls API in the server's dialect: the snapshot and the event types come from it.
    calls: Calls,
    translator: EventTranslator,
    options: StreamOptions,
    tx: mpsc::Sender<StreamItem>,
    stop: watch::Receiver<bool>,
    queue: watch::Sender<Option<QueueId>>,
    tracker: StateTracker,
    /// Failed tries since the last successful connection (the backoff's attempt number).
    failures: u32,
    /// A lost queue was already re-registered at once since the last connection; another
    /// loss waits for a backoff, so a server that keeps losing queues is not hammered.
    bad_queue_retried: bool,
    /// The WebSocket failed in a way retrying cannot fix: later queues long-poll.
    websocket_broken: bool,
    /// WebSockets in a row that failed within [`WS_SHORT_LIVED`] of opening.
    short_lived_websockets: u32,
}

impl Worker {
    async fn run(mut self) {
        let mut session = None;
        self.drive(&mut session).await;
        if let Some(session) = session {
            self.delete_queue(session.queue_id).await;
        }
        self.queue.send_replace(None);
        tracing::debug!("event stream stopped");
    }

    /// Runs until stopped or offline; leaves the last queue in `session`.
    async fn drive(&mut self, session: &mut Option<Session>) {
        if self.set_state(ConnectionState::Connecting).await.is_err() {
            return;
        }
        loop {
            let failure = match self.attempt(session).await {
                Err(failure) => failure,
                Ok(never) => match never {},
            };
            let (reason, retry_after) = match failure {
                Failure::Stop => return,
                Failure::Fatal(reason) => {
                    tracing::warn!(%reason, "event stream offline");
                    let _ = self.set_state(ConnectionState::Offline { reason }).await;
                    return;
                }
                Failure::NoWebSocket(reason) => {
                    if self.options.transport == TransportPreference::WebSocketOnly {
                        tracing::warn!(%reason, "event stream offline");
                        let _ = self.set_state(ConnectionState::Offline { reason }).await;
                        return;
                    }
                    tracing::info!(%reason, "falling back to long-polling");
                    self.websocket_broken = true;
                    if let Some(session) = session.as_mut() {
                        session.websocket_path = None;
                    }
                    continue;
                }
                Failure::BadQueue => {
                    *session = None;
                    self.queue.send_replace(None);
                    if !self.bad_queue_retried {
                        tracing::info!("event queue gone; registering a new one");
                        self.bad_queue_retried = true;
                        continue;
                    }
                    ("the event queue was lost again".to_owned(), None)
                }
                Failure::Retry {
                    reason,
                    retry_after,
                } => (reason, retry_after),
            };
            self.failures = self.failures.saturating_add(1);
            let jittered = backoff_delay(
                self.failures,
                self.options.backoff_initial,
                self.options.backoff_max,
                rand::random::<f64>(),
            );
            let retry_in = retry_after.map_or(jittered, |after| after.max(jittered));
            tracing::info!(attempt = self.failures, ?retry_in, %reason, "event stream reconnecting");
            let state = ConnectionState::Reconnecting {
                attempt: self.failures,
                retry_in,
                reason,
            };
            if self.set_state(state).await.is_err()
                || self.guard(tokio::time::sleep(retry_in)).await.is_err()
            {
                return;
            }
        }
    }

    /// Registers if needed, resynchronises if needed, then streams until something fails.
    async fn attempt(&mut self, session: &mut Option<Session>) -> Result<Infallible, Failure> {
        let session = match session {
            Some(session) => session,
            None => session.insert(self.register().await?),
        };
        if let Some(item) = session.registered.take() {
            self.emit(item).await?;
        }
        if !session.resynced {
            let active = self
                .guard(self.calls.active())
                .await?
                .map_err(|err| classify(&err))?;
            self.emit(StreamItem::Resynced(active)).await?;
            session.resynced = true;
        }
        match session.websocket_path.clone() {
            Some(path) => self.websocket(session, &path).await,
            None => self.long_poll(session).await,
        }
    }

    async fn register(&mut self) -> Result<Session, Failure> {
        let mut event_types = self
            .options
            .event_types
            .clone()
            .unwrap_or_else(|| self.calls.event_types());
        if self.options.presence {
            event_types.extend([
                PRESENCE_EVENT_TYPE.to_owned(),
                USER_STATUS_EVENT_TYPE.to_owned(),
            ]);
        }
        let request = RegisterRequest {
            event_types: Some(event_types),
            // Presence keyed by user id, in the modern format.
            slim_presence: self.options.presence.then_some(true),
            ..RegisterRequest::default()
        };
        let response = self
            .guard(self.api.request::<Register>(&(), &request))
            .await?
            .map_err(|err| classify(&err))?;
        tracing::info!(queue_id = %response.queue_id, "registered an event queue");
        let websocket_path = match self.websocket_path(&response) {
            Ok(path) => path,
            Err(failure) => {
                // Unusable: do not leave it queueing events until it expires.
                self.delete_queue(response.queue_id).await;
                return Err(failure);
            }
        };
        self.queue.send_replace(Some(response.queue_id.clone()));
        Ok(Session {
            queue_id: response.queue_id.clone(),
            cursor: Cursor::new(response.last_event_id),
            websocket_path,
            longpoll_timeout: Duration::from_secs(response.longpoll_timeout_seconds())
                + LONGPOLL_MARGIN,
            resynced: false,
            registered: self.options.presence.then(|| StreamItem::Registered {
                presence: response.presence_state(),
                statuses: response.user_statuses(),
            }),
        })
    }

    /// The WebSocket path to use for a new queue, if any.
    fn websocket_path(&self, response: &RegisterResponse) -> Result<Option<String>, Failure> {
        let preference = self.options.transport;
        if preference == TransportPreference::LongPollOnly {
            return Ok(None);
        }
        let refuse = |reason: &str| match preference {
            TransportPreference::WebSocketOnly => Err(Failure::Fatal(reason.to_owned())),
            _ => Ok(None),
        };
        let Some(path) = response.events_websocket_path.clone() else {
            return refuse("the server offers no event WebSocket");
        };
        if self.websocket_broken {
            return refuse("the event WebSocket does not work on this server");
        }
        Ok(Some(path))
    }

    /// Streams over the event WebSocket until it fails.
    async fn websocket(
        &mut self,
        session: &mut Session,
        path: &str,
    ) -> Result<Infallible, Failure> {
        let request = self.websocket_request(session, path)?;
        tracing::debug!(queue_id = %session.queue_id, last_event_id = %session.cursor.last, "opening the event WebSocket");
        let connecting = tokio::time::timeout(
            WS_CONNECT_TIMEOUT,
            // No Nagle: acknowledgements are small writes that should not wait. The TLS
            // settings are the HTTP client's (`cert_bundle`, `insecure`).
            tokio_tungstenite::connect_async_tls_with_config(
                request,
                None,
                true,
                Some(Connector::Rustls(self.api.websocket_tls())),
            ),
        );
        let mut ws = match self.guard(connecting).await? {
            Err(_) => {
                return Err(Failure::Retry {
                    reason: "the event WebSocket handshake timed out".to_owned(),
                    retry_after: None,
                });
            }
            Ok(Err(err)) => {
                // An untrusted certificate is a configuration problem, as over HTTP: said the
                // same way, and not retried (nor quietly long-polled instead).
                if let Some(reason) = tls_failure(&err) {
                    let site = self.api.server().site_str();
                    return Err(Failure::Fatal(
                        ClientError::Tls { site, reason }.to_string(),
                    ));
                }
                return Err(classify_ws(&err));
            }
            Ok(Ok((ws, _response))) => ws,
        };
        // Everything unacknowledged is replayed on a new connection.
        session.cursor.acknowledged(session.cursor.last);
        let failures_before = self.failures;
        self.connected(Transport::WebSocket).await?;
        let opened = Instant::now();
        let mut result = self.pump(&mut ws, session).await;
        if matches!(result, Err(Failure::Retry { .. })) {
            if opened.elapsed() < WS_SHORT_LIVED {
                // Closed at once (a proxy or server that accepts and drops WebSockets): keep
                // backing off, and after a few give the WebSocket up for long-polling.
                self.failures = failures_before;
                self.short_lived_websockets += 1;
                if self.short_lived_websockets >= WS_SHORT_LIVED_LIMIT
                    && self.options.transport == TransportPreference::Auto
                {
                    result = Err(Failure::NoWebSocket(format!(
                        "the event WebSocket closed within {} s of opening {} times in a row",
                        WS_SHORT_LIVED.as_secs(),
                        self.short_lived_websockets
                    )));
                }
            } else {
                self.short_lived_websockets = 0;
            }
        }
        match &result {
            Err(Failure::Stop) => {
                let _ = tokio::time::timeout(GOODBYE_TIMEOUT, ws.close(None)).await;
            }
            // Flushes the answer to a close frame, so the server sees a clean close.
            _ => {
                let _ = tokio::time::timeout(GOODBYE_TIMEOUT, ws.flush()).await;
            }
        }
        result
    }

    /// The upgrade request: URL, Basic auth, user agent.
    fn websocket_request(&self, session: &Session, path: &str) -> Result<WsRequest, Failure> {
        let url = websocket_url(
            &self.api.server().site,
            path,
            &session.queue_id,
            session.cursor.last,
        )
        .map_err(Failure::NoWebSocket)?;
        let Some((email, key)) = self.api.auth() else {
            return Err(Failure::Fatal("not signed in".to_owned()));
        };
        let mut request = url.as_str().into_client_request().map_err(|err| {
            Failure::NoWebSocket(format!("cannot open the event WebSocket: {err}"))
        })?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{key}"));
        let auth = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| Failure::Fatal("the credentials cannot be sent in a header".to_owned()))?;
        let headers = request.headers_mut();
        headers.insert(header::AUTHORIZATION, auth);
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("zulip-calls/", env!("CARGO_PKG_VERSION"))),
        );
        Ok(request)
    }

    /// Reads events off an open WebSocket, acknowledging them, until it fails.
    async fn pump(&mut self, ws: &mut Ws, session: &mut Session) -> Result<Infallible, Failure> {
        let lost = |err: WsError| classify_ws(&err);
        let mut ack_at: Option<Instant> = None;
        let mut last_frame = Instant::now();
        let mut ping = tokio::time::interval_at(Instant::now() + WS_PING_EVERY, WS_PING_EVERY);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let stop = self.cancelled();
            let wake = tokio::select! {
                biased;
                () = stop => Wake::Stop,
                () = sleep_until_some(ack_at) => Wake::AckTimer,
                _ = ping.tick() => Wake::PingTimer,
                () = tokio::time::sleep_until(last_frame + WS_IDLE_LIMIT) => Wake::Silent,
                frame = ws.next() => Wake::Frame(frame),
            };
            match wake {
                Wake::Stop => return Err(Failure::Stop),
                Wake::AckTimer => {
                    ack_at = None;
                    send_ack(ws, &mut session.cursor).await.map_err(lost)?;
                }
                Wake::PingTimer => ws
                    .send(Message::Ping(Default::default()))
                    .await
                    .map_err(lost)?,
                Wake::Silent => {
                    return Err(Failure::Retry {
                        reason: format!(
                            "no word from the server for {} s",
                            WS_IDLE_LIMIT.as_secs()
                        ),
                        retry_after: None,
                    });
                }
                Wake::Frame(None) => {
                    return Err(Failure::Retry {
                        reason: "the event WebSocket closed".to_owned(),
                        retry_after: None,
                    });
                }
                Wake::Frame(Some(Err(err))) => return Err(lost(err)),
                Wake::Frame(Some(Ok(message))) => {
                    last_frame = Instant::now();
                    match message {
                        Message::Text(text) => match serde_json::from_str(text.as_str())
                            .map(readable)
                        {
                            Ok(None) => {}
                            Ok(Some(event)) => {
                                if let Some(event) = session.cursor.accept(event) {
                                    self.deliver(event).await?;
                                }
                                if session.cursor.ack_due() {
                                    ack_at = None;
                                    send_ack(ws, &mut session.cursor).await.map_err(lost)?;
                                } else if ack_at.is_none() && session.cursor.pending_ack().is_some()
                                {
                                    ack_at = Some(Instant::now() + ACK_WHEN_IDLE);
                                }
                            }
                            Err(err) => {
                                tracing::warn!(error = %err, "ignoring an unreadable event frame");
                            }
                        },
                        Message::Close(frame) => {
                            let (code, reason) = frame
                                .map(|f| (u16::from(f.code), f.reason.to_string()))
                                .unwrap_or((1005, String::new()));
                            tracing::debug!(code, %reason, "the server closed the event WebSocket");
                            if reason.starts_with(ErrorCode::BadEventQueueId.as_str()) {
                                return Err(Failure::BadQueue);
                            }
                            return Err(Failure::Retry {
                                reason: format!(
                                    "the server closed the event WebSocket ({code} {reason})"
                                ),
                                retry_after: None,
                            });
                        }
                        Message::Binary(_) => {
                            tracing::warn!("ignoring a binary frame on the event WebSocket");
                        }
                        // Pings are answered by tungstenite as it reads.
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
            }
        }
    }

    /// Streams by long-polling until a poll fails.
    async fn long_poll(&mut self, session: &mut Session) -> Result<Infallible, Failure> {
        // The first poll does not block, so a connection is known to work at once rather than
        // at the next event or heartbeat.
        let mut connected = false;
        loop {
            let request = GetEventsRequest {
                queue_id: session.queue_id.clone(),
                last_event_id: Some(session.cursor.last),
                dont_block: (!connected).then_some(true),
            };
            let response = self
                .guard(self.api.request_with_timeout::<LenientGetEvents>(
                    &(),
                    &request,
                    session.longpoll_timeout,
                ))
                .await?
                .map_err(|err| classify(&err))?;
            if !connected {
                self.connected(Transport::LongPoll).await?;
                connected = true;
            }
            for event in response.events {
                let Some(event) = readable(event) else {
                    continue;
                };
                if let Some(event) = session.cursor.accept(event) {
                    self.deliver(event).await?;
                }
            }
        }
    }

    /// A transport is up: report it and start the backoff over.
    async fn connected(&mut self, transport: Transport) -> Result<(), Failure> {
        self.failures = 0;
        self.bad_queue_retried = false;
        self.set_state(ConnectionState::Connected { transport })
            .await
    }

    async fn delete_queue(&self, queue_id: QueueId) {
        let request = DeleteEventsRequest {
            queue_id: queue_id.clone(),
        };
        match self
            .api
            .request_with_timeout::<DeleteEvents>(&(), &request, GOODBYE_TIMEOUT)
            .await
        {
            Ok(_) => tracing::debug!(%queue_id, "deleted the event queue"),
            Err(err) => {
                tracing::debug!(%queue_id, error = %err, "could not delete the event queue")
            }
        }
    }

    async fn set_state(&mut self, state: ConnectionState) -> Result<(), Failure> {
        match self.tracker.update(state) {
            Some(state) => self.emit(StreamItem::State(state)).await,
            None => Ok(()),
        }
    }

    /// Sends a queue event, in the design dialect.
    async fn deliver(&mut self, event: QueueEvent) -> Result<(), Failure> {
        let event = self.translator.translate(event);
        self.emit(StreamItem::Event(event)).await
    }

    /// Sends an item, unless the stream is stopped while waiting for room.
    async fn emit(&self, item: StreamItem) -> Result<(), Failure> {
        let stop = self.cancelled();
        tokio::select! {
            biased;
            () = stop => Err(Failure::Stop),
            sent = self.tx.send(item) => sent.map_err(|_| Failure::Stop),
        }
    }

    /// `work`, unless the stream is stopped first.
    async fn guard<F: Future>(&self, work: F) -> Result<F::Output, Failure> {
        let stop = self.cancelled();
        tokio::select! {
            biased;
            () = stop => Err(Failure::Stop),
            output = work => Ok(output),
        }
    }

    /// Resolves when the stream must stop: shutdown asked, handle dropped, receiver dropped.
    fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stop = self.stop.clone();
        let tx = self.tx.clone();
        async move {
            tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => {}
                () = tx.closed() => {}
            }
        }
    }
}

/// Acknowledges everything seen so far, if anything is unacknowledged.
async fn send_ack(ws: &mut Ws, cursor: &mut Cursor) -> Result<(), WsError> {
    let Some(last_event_id) = cursor.pending_ack() else {
        return Ok(());
    };
    let frame = serde_json::to_string(&WsAck { last_event_id })
        .map_err(|err| WsError::Utf8(err.to_string()))?;
    ws.send(Message::text(frame)).await?;
    cursor.acknowledged(last_event_id);
    tracing::trace!(%last_event_id, "acknowledged events");
    Ok(())
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zulip_calls_protocol::ApiError;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn backoff_grows_from_initial_and_stops_at_max() {
        let initial = 500 * MS;
        let max = Duration::from_secs(30);
        let ceilings: Vec<_> = (1..=9)
            .map(|attempt| backoff_delay(attempt, initial, max, 1.0))
            .collect();
        assert_eq!(
            ceilings,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000].map(|ms| ms * MS)
        );
        // Huge attempt numbers neither overflow nor exceed the cap.
        assert_eq!(backoff_delay(u32::MAX, initial, max, 1.0), max);
        assert_eq!(backoff_delay(0, initial, max, 1.0), initial);
    }

    #[test]
    fn backoff_jitter_spans_zero_to_the_ceiling() {
        let initial = 500 * MS;
        let max = Duration::from_secs(30);
        assert_eq!(backoff_delay(3, initial, max, 0.0), Duration::ZERO);
        assert_eq!(backoff_delay(3, initial, max, 0.5), 1000 * MS);
        // Out-of-range draws are clamped.
        assert_eq!(backoff_delay(3, initial, max, 7.0), 2000 * MS);
        assert_eq!(backoff_delay(3, initial, max, -1.0), Duration::ZERO);
        for _ in 0..1000 {
            let delay = backoff_delay(4, initial, max, rand::random::<f64>());
            assert!(delay <= 4000 * MS, "{delay:?}");
        }
    }

    #[test]
    fn states_are_reported_only_when_they_change() {
        let mut tracker = StateTracker::default();
        let connected = ConnectionState::Connected {
            transport: Transport::WebSocket,
        };
        assert_eq!(
            tracker.update(ConnectionState::Connecting),
            Some(ConnectionState::Connecting)
        );
        assert_eq!(tracker.update(connected.clone()), Some(connected.clone()));
        assert_eq!(tracker.update(connected.clone()), None);
        let retry = |attempt| ConnectionState::Reconnecting {
            attempt,
            retry_in: 10 * MS,
            reason: "down".into(),
        };
        assert_eq!(tracker.update(retry(1)), Some(retry(1)));
        assert_eq!(tracker.update(retry(2)), Some(retry(2)));
        assert_eq!(tracker.update(connected.clone()), Some(connected));
        let long_poll = ConnectionState::Connected {
            transport: Transport::LongPoll,
        };
        assert_eq!(tracker.update(long_poll.clone()), Some(long_poll));
    }

    fn event(id: i64, kind: EventKind) -> QueueEvent {
        QueueEvent {
            id: EventId(id),
            kind,
        }
    }

    fn custom(id: i64) -> QueueEvent {
        event(
            id,
            EventKind::Unknown {
                event_type: "x".into(),
                fields: serde_json::Map::new(),
            },
        )
    }

    #[test]
    fn the_cursor_drops_replays_and_heartbeats_and_counts_what_to_acknowledge() {
        let mut cursor = Cursor::new(EventId::BEFORE_FIRST);
        assert_eq!(cursor.pending_ack(), None);
        assert_eq!(cursor.accept(custom(0)), Some(custom(0)));
        assert_eq!(cursor.accept(event(1, EventKind::Heartbeat)), None);
        assert_eq!(cursor.last, EventId(1));
        assert_eq!(cursor.pending_ack(), Some(EventId(1)));
        // A replay after a reconnect.
        assert_eq!(cursor.accept(custom(0)), None);
        assert_eq!(cursor.accept(custom(1)), None);
        assert_eq!(cursor.accept(custom(3)), Some(custom(3)));
        cursor.acknowledged(EventId(3));
        assert_eq!(cursor.pending_ack(), None);
        for id in 4..4 + i64::from(ACK_EVERY_EVENTS) - 1 {
            cursor.accept(custom(id));
            assert!(!cursor.ack_due());
        }
        cursor.accept(custom(100));
        assert!(cursor.ack_due());
    }

    fn api_error(code: ErrorCode) -> ClientError {
        ClientError::Api(Box::new(ApiError::new(code, "x")))
    }

    #[test]
    fn errors_map_to_what_the_stream_does_next() {
        assert_eq!(
            classify(&api_error(ErrorCode::BadEventQueueId)),
            Failure::BadQueue
        );
        for code in [
            ErrorCode::Unauthorized,
            ErrorCode::InvalidApiKey,
            ErrorCode::UserDeactivated,
            ErrorCode::Other("REALM_DEACTIVATED".into()),
        ] {
            assert!(matches!(classify(&api_error(code)), Failure::Fatal(_)));
        }
        let limited = ClientError::Api(Box::new(ApiError::rate_limited(2.5)));
        assert_eq!(
            classify(&limited),
            Failure::Retry {
                reason: limited.to_string(),
                retry_after: Some(2500 * MS),
            }
        );
        let down = ClientError::Unreachable {
            site: "s".into(),
            reason: "refused".into(),
        };
        assert!(matches!(
            classify(&down),
            Failure::Retry {
                retry_after: None,
                ..
            }
        ));
        let tls = ClientError::Tls {
            site: "s".into(),
            reason: "bad cert".into(),
        };
        assert!(matches!(classify(&tls), Failure::Fatal(_)));
    }

    fn refused(status: u16, body: &str) -> WsError {
        let response = tokio_tungstenite::tungstenite::http::Response::builder()
            .status(status)
            .body(Some(body.as_bytes().to_vec()))
            .unwrap();
        WsError::Http(Box::new(response))
    }

    #[test]
    fn refused_websocket_handshakes_are_classified() {
        let bad_queue =
            serde_json::to_string(&ApiError::bad_event_queue_id(&QueueId("1:ab".into()))).unwrap();
        assert_eq!(classify_ws(&refused(400, &bad_queue)), Failure::BadQueue);
        let bad_key =
            serde_json::to_string(&ApiError::new(ErrorCode::InvalidApiKey, "Invalid API key"))
                .unwrap();
        assert!(matches!(
            classify_ws(&refused(401, &bad_key)),
            Failure::Fatal(_)
        ));
        let not_found = serde_json::to_string(&ApiError::new(
            ErrorCode::Other("NOT_FOUND".into()),
            "Not Found",
        ))
        .unwrap();
        assert!(matches!(
            classify_ws(&refused(404, &not_found)),
            Failure::NoWebSocket(_)
        ));
        assert!(matches!(
            classify_ws(&refused(404, "<html>nginx</html>")),
            Failure::NoWebSocket(_)
        ));
        assert!(matches!(
            classify_ws(&refused(200, "<html>hello</html>")),
            Failure::NoWebSocket(_)
        ));
        assert!(matches!(
            classify_ws(&refused(502, "<html>bad gateway</html>")),
            Failure::Retry { .. }
        ));
        let shutting_down = serde_json::to_string(&ApiError::new(
            ErrorCode::Other("SERVER_SHUTTING_DOWN".into()),
            "The server is shutting down",
        ))
        .unwrap();
        // The code says 400 but the status is what counts.
        assert!(matches!(
            classify_ws(&refused(503, &shutting_down)),
            Failure::Retry { .. }
        ));
        assert!(matches!(
            classify_ws(&WsError::ConnectionClosed),
            Failure::Retry { .. }
        ));
    }

    #[test]
    fn websocket_urls_swap_the_scheme_and_carry_the_queue() {
        let queue = QueueId("1:abc".into());
        let url = |site: &str, path: &str| {
            websocket_url(&url::Url::parse(site).unwrap(), path, &queue, EventId(4))
                .map(|u| u.to_string())
        };
        assert_eq!(
            url("http://127.0.0.1:9991", "/api/v1/events/websocket").unwrap(),
            "ws://127.0.0.1:9991/api/v1/events/websocket?queue_id=1%3Aabc&last_event_id=4"
        );
        assert_eq!(
            url("https://chat.example.com/", "/api/v1/events/websocket").unwrap(),
            "wss://chat.example.com/api/v1/events/websocket?queue_id=1%3Aabc&last_event_id=4"
        );
        // A site under a path prefix keeps it, as HTTP requests do.
        assert_eq!(
            url("https://example.com/zulip", "api/v1/ws").unwrap(),
            "wss://example.com/zulip/api/v1/ws?queue_id=1%3Aabc&last_event_id=4"
        );
        assert_eq!(
            url("https://example.com", "wss://push.example.com/ws").unwrap(),
            "wss://push.example.com/ws?queue_id=1%3Aabc&last_event_id=4"
        );
        assert!(url("https://example.com", "ftp://example.com/ws").is_err());
    }
}

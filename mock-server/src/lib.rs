//! `zulip-calls-mock`: a Zulip server with the calls plugin, for development and QA.
//!
//! [`router`] builds the HTTP API over an [`AppState`]; [`Server::start`] opens storage, loads
//! the realms, binds a socket and runs the API with the deadline scheduler.

pub mod auth;
pub mod bots;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod directory;
pub mod domain;
pub mod error;
pub mod extract;
pub mod faults;
pub mod front_desk;
pub mod journal;
pub mod metrics;
pub mod model;
pub mod ratelimit;
pub mod realm;
pub mod request_match;
pub mod routes;
pub mod scenario;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse;
use axum::serve::ListenerExt as _;
use zulip_calls_protocol::{ApiError, ErrorCode};

pub use crate::clock::Clock;
pub use crate::config::ServerConfig;
pub use crate::state::{AppState, SharedState};

use crate::directory::Directory;
use crate::store::{DbLocation, Store};

/// The whole HTTP API.
pub fn router(state: SharedState) -> Router {
    let api = Router::new();
    let api = routes::calls::router(api);
    let api = routes::zulip::router(api);
    let api = routes::events::router(api);
    let api = control::router(api, &state);
    let api = routes::ws::router(api);
    api.method_not_allowed_fallback(routes::method_not_allowed)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            front_desk::front_desk,
        ))
        .with_state(state)
}

/// Unknown paths get Zulip's JSON 404, not an empty body.
async fn not_found() -> impl IntoResponse {
    let err = ApiError::new(ErrorCode::Other("NOT_FOUND".into()), "Not Found");
    (axum::http::StatusCode::NOT_FOUND, axum::Json(err))
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Realm(#[from] realm::RealmError),
    #[error("database: {0}")]
    Store(#[from] store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// How long [`Server::shutdown`] lets open requests run: ample for any ordinary request, and
/// a bound on an idle long-poll, which would otherwise hold the shutdown until its heartbeat.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running server.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pub state: SharedState,
    /// `None` once [`Server::wait`] has seen it end (a finished task must not be awaited twice).
    task: Option<tokio::task::JoinHandle<()>>,
    scheduler: tokio::task::JoinHandle<()>,
    /// Sent (or dropped) to stop accepting connections and let open requests finish.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Set to end the requests still open when waiting is over; see [`shutdown`].
    cut_off: tokio::sync::watch::Sender<bool>,
}

impl Server {
    /// Opens storage, loads realms, binds and serves in the background.
    ///
    /// With `config.virtual_clock`, a system `clock` is replaced by a manual one starting at
    /// `config.clock_start` (default: now); a manual `clock` is kept, so tests can hold it.
    pub async fn start(config: ServerConfig, clock: Clock) -> Result<Server, StartError> {
        let clock = if config.virtual_clock && !clock.is_manual() {
            Clock::manual(config.clock_start.unwrap_or_else(|| Clock::System.now()))
        } else {
            clock
        };
        let realms = config.realms()?;
        let mut store = Store::open(&DbLocation::parse(&config.db))?;
        // On an existing database, what the control API changed since the last reset stays.
        let users = store.users_with_control_changes(realms.users)?;
        let checkpointer = match DbLocation::parse(&config.db) {
            DbLocation::File(path) => {
                let checkpointer = crate::store::checkpoint::Checkpointer::open(path)?;
                store.hand_checkpoints_over()?;
                Some(checkpointer)
            }
            DbLocation::Memory => None,
        };
        store.replace_realms(&realms.realms, &users)?;
        let directory = Directory::new(realms.realms, users);
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
        let pending = store.all_active_calls()?;
        // The sender lives in the state; the task ends when the state is dropped.
        let webhook = config.push_webhook_url.clone().map(|url| {
            let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(domain::webhook::run(url, receiver));
            sender
        });
        // From here on concurrent changes share commits; answers wait for theirs (see
        // `store::batch` and `metrics::track_requests`).
        store.batch_writes();
        let state = Arc::new(AppState::new(config, clock, directory, store, webhook));
        for record in &pending {
            state.deadlines.set(
                record.call.call_id,
                domain::calls::next_deadline(&record.call, state.settings()),
            );
        }
        state.bots.load(realms.bots, state.clock.now());
        for record in &pending {
            state.bots.resume(&record.call);
        }
        if state.config.virtual_clock {
            domain::virtual_time::start(&state);
        }
        // Deadlines and WAL checkpoints: background work that stops with the server.
        let deadlines = domain::deadlines::run(Arc::clone(&state));
        let writer = Arc::clone(&state);
        let scheduler = tokio::spawn(async move {
            match checkpointer {
                Some(checkpointer) => {
                    tokio::join!(
                        deadlines,
                        checkpointer.run(move || writer.commit_and_checkpoint())
                    );
                }
                None => deadlines.await,
            }
        });
        let (cut_off, cut_off_rx) = shutdown::cut_off_signal();
        let app = shutdown::cut_off_layer(router(Arc::clone(&state)), cut_off_rx);
        let app = telemetry::trace_requests(app);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stopped = async move {
                let _ = stopped.await;
            };
            // Events are small writes pushed without a request; Nagle's algorithm would hold
            // one back until the peer's delayed ACK of the one before.
            let listener = listener.tap_io(|tcp| {
                if let Err(err) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %err, "cannot set TCP_NODELAY");
                }
            });
            // One router shared by every connection: serving the `Router` itself would rebuild
            // its table of routes for each connection (axum's `with_state(())` per accept),
            // tens of kilobytes held by every open long-poll.
            let app = app.with_state::<()>(()).into_make_service();
            let serving = axum::serve(listener, app).with_graceful_shutdown(stopped);
            if let Err(err) = serving.await {
                tracing::error!(error = %err, "server stopped");
            }
        });
        Ok(Server {
            addr,
            state,
            task: Some(task),
            scheduler,
            stop: Some(stop),
            cut_off,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:9991`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving: open requests get a 503 at once and their handlers are dropped.
    pub fn abort(&self) {
        self.state.closing.send_replace(true);
        self.cut_off.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
        self.scheduler.abort();
    }

    /// Waits until the server stops.
    pub async fn wait(&mut self) {
        if let Some(task) = &mut self.task {
            let _ = task.await;
            self.task = None;
        }
        self.scheduler.abort();
    }

    /// Stops gracefully within [`SHUTDOWN_GRACE`]; see [`Server::shutdown_within`].
    pub async fn shutdown(self) -> bool {
        self.shutdown_within(SHUTDOWN_GRACE).await
    }

    /// Stops accepting connections, lets open requests finish for up to `grace` (then cuts
    /// the rest off with a 503), and only then stops the deadline scheduler, so a deadline a
    /// finishing request moved is not lost mid-way. Returns whether every request finished
    /// in time.
    ///
    /// Storage stays consistent either way: every change is one SQLite savepoint, none spans
    /// an `await`, and the batch they share is committed before this returns.
    pub async fn shutdown_within(mut self, grace: Duration) -> bool {
        self.state.closing.send_replace(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let mut drained = true;
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(grace, &mut task).await.is_err()
        {
            drained = false;
            tracing::warn!(
                grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
                "requests still open after the grace period are cut off"
            );
            self.cut_off.send_replace(true);
            // The cut-off answers at once; a connection that still lingers (a client not
            // reading its answer) is not worth waiting for.
            if tokio::time::timeout(Duration::from_secs(1), &mut task)
                .await
                .is_err()
            {
                task.abort();
                let _ = task.await;
            }
        }
        self.scheduler.abort();
        // Awaited so its handle on the state (and the database) is gone when this returns.
        let _ = (&mut self.scheduler).await;
        // Nothing answered waits in the open batch, but what the last requests and deadlines
        // changed is kept all the same (a failure is logged).
        let _ = self.state.commit_pending();
        drained
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.abort();
    }
}

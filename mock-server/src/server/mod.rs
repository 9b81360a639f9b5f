//! The shell's assembly: [`Server::start`] opens storage, loads the realms, builds the core
//! with its listeners, wraps it in the API and the QA features, binds a socket and serves,
//! with the deadline scheduler beside it. Everything above the core meets here, and only here.

pub mod config;
mod connections;
pub mod health;
pub mod realm;
pub mod telemetry;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt as _;
use zulip_calls_protocol::Dialect;

use crate::api::design::events::CallEvents;
use crate::api::plugin::events::CallOpEvents;
use crate::api::plugin::group_events::GroupCallEvents;
use crate::api::shutdown::CutOff;
use crate::api::{self, Api, ApiLimits};
use crate::core::directory::Directory;
use crate::core::pushes::PushOutbox;
use crate::core::store::{DbLocation, Store};
use crate::core::{Clock, Core, CoreOptions, Listeners, deadlines, virtual_time};
use crate::qa::bots::Bots;
use crate::qa::metrics::Metrics;
use crate::qa::webhook::PushWebhook;
use crate::qa::{Qa, QaState, RealmSource, control, front_desk};
use crate::server::config::ServerConfig;

/// The whole HTTP app: the API routes and the control API, behind the QA middleware, and the
/// health probes beside it (see [`health`] for why outside).
pub fn router(qa: QaState) -> Router {
    let probes = health::router(Arc::clone(&qa.api));
    api::router(Arc::clone(&qa.api))
        .merge(control::router(Arc::clone(&qa)))
        .route(OPENAPI_PATH, axum::routing::get(openapi_json))
        .method_not_allowed_fallback(api::method_not_allowed)
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            qa,
            front_desk::front_desk,
        ))
        .merge(probes)
}

/// Where the OpenAPI document is served, without credentials (it is the same for everyone).
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The OpenAPI document of everything the server serves, built once.
async fn openapi_json() -> axum::Json<serde_json::Value> {
    static DOCUMENT: std::sync::LazyLock<serde_json::Value> =
        std::sync::LazyLock::new(control::openapi::document);
    axum::Json(DOCUMENT.clone())
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Realm(#[from] realm::RealmError),
    #[error("database: {0}")]
    Store(#[from] crate::core::StoreError),
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
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
    /// The QA state, and through it the API's and the core's.
    pub state: QaState,
    /// The certificate served, when the server speaks HTTPS.
    pub tls: Option<tls::TlsInfo>,
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
                let checkpointer = crate::core::store::checkpoint::Checkpointer::open(path)?;
                store.hand_checkpoints_over()?;
                Some(checkpointer)
            }
            DbLocation::Memory => None,
        };
        store.replace_realms(&realms.realms, &users)?;
        let directory = Directory::new(realms.realms, users);
        let tls = match config.tls_source() {
            Some(source) => Some(tls::load(&source, config.bind)?),
            None => None,
        };
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
        let pending_groups = store.all_active_group_calls()?;
        // From here on concurrent changes share commits; answers wait for theirs (see
        // `store::batch` and `api::durable`).
        let batches = store.batch_writes();

        // Who hears the core's news, in this order: each served dialect's events, the push
        // outbox (and, after it, whoever hears of its pushes), metrics, bots, the webhook.
        let bots = Arc::new(Bots::default());
        let metrics = Arc::new(Metrics::new());
        let calls_api = config.settings.calls_api;
        let mut listeners = Listeners::default();
        if calls_api.serves(Dialect::Design) {
            listeners = listeners.listen(Arc::new(CallEvents));
        }
        if calls_api.serves(Dialect::V1_1) {
            listeners = listeners
                .listen(Arc::new(CallOpEvents))
                .listen(Arc::new(GroupCallEvents));
        }
        let mut listeners = listeners
            .listen(Arc::new(PushOutbox))
            .listen(Arc::clone(&metrics) as _)
            .listen(Arc::clone(&bots) as _)
            .timed(Arc::clone(&bots) as _);
        if let Some(url) = config.push_webhook_url.clone() {
            listeners = listeners.listen(Arc::new(PushWebhook::start(url)));
        }
        let options = CoreOptions {
            virtual_clock: config.virtual_clock,
            prune_calls_after_days: config.prune_calls_after_days,
        };
        let core = Arc::new(Core::new(
            config.settings.clone(),
            options,
            clock,
            directory,
            store,
            listeners,
        ));
        for record in &pending {
            core.deadlines.set(
                record.call.call_id,
                crate::core::calls::next_deadline(record, &core),
            );
        }
        crate::core::GroupDesk::new(&core).schedule_all()?;
        bots.load(realms.bots, core.clock.now());
        for record in &pending {
            bots.resume(&record.call);
        }
        for record in &pending_groups {
            bots.resume_group(&core, record);
        }
        let limits = ApiLimits {
            heartbeat_seconds: config.heartbeat_seconds,
            max_body_bytes: config.max_body_bytes,
            rate_limit_per_minute: config.rate_limit_per_minute,
        };
        let api = Arc::new(Api::new(Arc::clone(&core), limits));
        let reload = config.clone();
        let realms: RealmSource = Arc::new(move || reload.realms().map_err(|err| err.to_string()));
        let state = Arc::new(Qa::new(
            api,
            control_token(&config, addr),
            realms,
            bots,
            metrics,
        ));
        if core.options.virtual_clock {
            virtual_time::start(&core);
        }
        // Deadlines and WAL checkpoints: background work that stops with the server.
        let deadlines = deadlines::run(Arc::clone(&core));
        let writer = Arc::clone(&core);
        let scheduler = tokio::spawn(async move {
            match checkpointer {
                Some(checkpointer) => {
                    tokio::join!(
                        deadlines,
                        checkpointer.run(batches, move || writer.commit_and_checkpoint())
                    );
                }
                None => deadlines.await,
            }
        });
        let (cut_off, cut_off_rx) = api::shutdown::cut_off_signal();
        // Handlers bound to the router's state once, here, not on each request (axum turns a
        // router's method routers into routes in `with_state`).
        let app = router(Arc::clone(&state)).with_state::<()>(());
        let app = telemetry::trace_requests(CutOff::new(app, cut_off_rx.clone()));
        let draining = health::draining_router(Arc::clone(&state.api)).with_state::<()>(());
        let draining = telemetry::trace_requests(CutOff::new(draining, cut_off_rx));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let acceptor = tls.as_ref().map(|tls| tls.acceptor.clone());
        let task = tokio::spawn(serve(listener, app, draining, stopped, acceptor));
        Ok(Server {
            addr,
            state,
            tls: tls.map(|tls| tls.info),
            task: Some(task),
            scheduler,
            stop: Some(stop),
            cut_off,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:9991` (`https://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops serving: open requests get a 503 at once and their handlers are dropped.
    pub fn abort(&self) {
        self.state.api.closing.send_replace(true);
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

    /// Says not ready (`/health/ready` answers 503 from here on), stops taking new work (new
    /// connections get only the health probes, a 503 otherwise), lets open requests finish
    /// for up to `grace` (then cuts the rest off with a 503), closes the listener, and only
    /// then stops the deadline scheduler, so a deadline a finishing request moved is not lost
    /// mid-way. Returns whether every request finished in time.
    ///
    /// Storage stays consistent either way: every change is one SQLite savepoint, none spans
    /// an `await`, and the batch they share is committed before this returns.
    pub async fn shutdown_within(mut self, grace: Duration) -> bool {
        self.state.api.closing.send_replace(true);
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
        let _ = self.state.core.commit_pending();
        drained
    }
}

/// The control API's token: the configured one; none on loopback or when left open on purpose
/// (`admin_token = "none"`); otherwise a fresh random one, so a server reachable from other
/// machines never lets them reset it or read users' keys by default.
fn control_token(config: &ServerConfig, addr: SocketAddr) -> Option<String> {
    if config.admin_token.is_some() || config.control_open || addr.ip().is_loopback() {
        return config.admin_token.clone();
    }
    let bytes: [u8; 16] = rand::random();
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What serves each request: the router, cut off at a shutdown's end, with request ids.
type Service = telemetry::Traced<CutOff<Router>>;

/// Serves `app` until `stopped`, then lets its open requests finish while new connections
/// get `draining` (the health probes, a 503 for the rest) until they have.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Service,
    draining: Service,
    stopped: tokio::sync::oneshot::Receiver<()>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    let listener = Arc::new(listener);
    let (drain_begins, drain_began) = tokio::sync::oneshot::channel::<()>();
    let stopped = async move {
        let _ = stopped.await;
        let _ = drain_begins.send(());
    };
    let main = SharedListener(Arc::clone(&listener));
    let tls = acceptor.clone();
    let serving = async move {
        match tls {
            Some(acceptor) => {
                connections::serve(tls::TlsListener::new(main, acceptor), app, stopped).await;
            }
            None => {
                // Events are small writes pushed without a request; Nagle's algorithm would
                // hold one back until the peer's delayed ACK of the one before.
                let main = main.tap_io(|tcp| {
                    if let Err(err) = tcp.set_nodelay(true) {
                        tracing::debug!(error = %err, "cannot set TCP_NODELAY");
                    }
                });
                connections::serve(main, app, stopped).await;
            }
        }
    };
    let answering_probes = async move {
        if drain_began.await.is_ok() {
            let shared = SharedListener(listener);
            // Each ends only when dropped, with the drain.
            let never = std::future::pending();
            match acceptor {
                Some(acceptor) => {
                    connections::serve(tls::TlsListener::new(shared, acceptor), draining, never)
                        .await;
                }
                None => connections::serve(shared, draining, never).await,
            }
        }
    };
    tokio::select! {
        () = serving => {}
        () = answering_probes => {}
    }
}

/// The listening socket shared by the server and, during a drain, the probes' server: the
/// socket stays open until both have let go of it.
#[derive(Debug)]
struct SharedListener(Arc<tokio::net::TcpListener>);

impl axum::serve::Listener for SharedListener {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok(accepted) => return accepted,
                // A peer gone before being accepted is its own business; anything else (out of
                // file descriptors) may pass, so retry after a pause rather than spin.
                Err(err) => {
                    if !matches!(
                        err.kind(),
                        std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::ConnectionReset
                    ) {
                        tracing::error!(error = %err, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.abort();
    }
}

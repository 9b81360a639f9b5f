//! `zulip-calls-mock`: a Zulip server with the calls plugin, for development and QA.
//!
//! [`router`] builds the HTTP API over an [`AppState`]; [`Server::start`] opens storage, loads
//! the realms, binds a socket and runs the API with the deadline scheduler.

pub mod auth;
pub mod clock;
pub mod config;
pub mod directory;
pub mod domain;
pub mod error;
pub mod extract;
pub mod model;
pub mod realm;
pub mod routes;
pub mod state;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse;
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
    api.fallback(not_found).with_state(state)
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

/// A running server.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pub state: SharedState,
    task: tokio::task::JoinHandle<()>,
    scheduler: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Opens storage, loads realms, binds and serves in the background.
    pub async fn start(config: ServerConfig, clock: Clock) -> Result<Server, StartError> {
        let realms = config.realms()?;
        let mut store = Store::open(&DbLocation::parse(&config.db))?;
        store.replace_realms(&realms.realms, &realms.users)?;
        let directory = Directory::new(realms.realms, realms.users);
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
        let state = Arc::new(AppState::new(config, clock, directory, store));
        let scheduler = tokio::spawn(domain::deadlines::run(Arc::clone(&state)));
        let app = router(Arc::clone(&state));
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(error = %err, "server stopped");
            }
        });
        Ok(Server {
            addr,
            state,
            task,
            scheduler,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:9991`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving (in-flight requests are dropped).
    pub fn abort(&self) {
        self.task.abort();
        self.scheduler.abort();
    }

    /// Waits until the server stops.
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
        self.scheduler.abort();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.abort();
    }
}

//! `zulip-calls-mock`: a Zulip server with the calls plugin, for development and QA.
//!
//! The code is in layers around a core; each layer uses only the ones below it:
//!
//! ```text
//!  cli/        the commands: serve, users, zuliprc, cleanup-calls, endpoints, scenario
//!  scenario/   runs scenario files against a server, as an HTTP/WebSocket client
//!  server/     the assembly: config, realm files, logging; Server::start wires it all
//! ─────────────────────────────────────────────────────────────────────────────────
//!  qa/         control API, journal, faults, bots, metrics, webhook: middleware + listeners
//!  api/        the HTTP edge: each dialect's routes, the Zulip subset, event queues' wire
//!  core/       calls, queues, deadlines, clock, realms, pushes, store: no HTTP, no QA
//! ```
//!
//! - [`core`] imports the protocol and itself only. It announces what happened once,
//!   neutrally ([`core::news`]); its listeners render it: a dialect's events, the push
//!   outbox, metrics, bots, the webhook.
//! - [`api`] decodes requests with the protocol, calls the core, encodes the answers.
//! - Where the server behaves as the deployed plugin rather than the contract
//!   (`--compat plugin-1.1.0`) is decided once, in [`core::compat`]; each layer reads the
//!   quirk that concerns it.
//! - [`qa`] wraps the API in one middleware and hears the core's news.
//! - [`server`] builds the core with its listeners and serves the API and the QA features;
//!   [`scenario`] starts a [`Server`] (or takes a URL) and talks to it as any client would;
//!   [`cli`] runs the commands.

pub mod api;
pub mod cli;
pub mod core;
pub mod qa;
pub mod scenario;
pub mod server;

pub use crate::core::Clock;
pub use crate::server::config::ServerConfig;
pub use crate::server::{SHUTDOWN_GRACE, Server, StartError, router};

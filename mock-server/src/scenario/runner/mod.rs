//! Runs scenarios against a server over HTTP, as any client would.
//!
//! The runner registers a real event queue (`POST register`) for every device of every actor
//! before the first step and long-polls `GET events` itself, so event steps work against any
//! server. Steps that need the mock's control API (`/mock/v1/*`) are skipped when the server
//! has none: the probe is `GET /mock/v1/clock`, and a control route that turns out to be
//! missing skips its step the same way. Skipping a step that changes the server (a clock
//! advance, a fault, a reset, a queue expiry) skips the rest of the scenario too, since every
//! later step assumes it happened; the scenario then counts as skipped, not passed.

mod capabilities;
mod control;
mod events;
mod expect;
mod http;
mod outcome;
mod requests;
mod run;
mod session;

pub use self::capabilities::Capabilities;
pub use self::outcome::{Outcome, ScenarioReport, Status, StepReport};
pub use self::run::{Options, run_all, run_scenario, settings_mismatch};

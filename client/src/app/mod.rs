//! The terminal UI's pure core, in the Elm style.
//!
//! - [`Model`] is everything on screen, as data. Views only read it.
//! - [`Msg`] is everything that can happen: key presses ([`KeyInput`], no terminal crate),
//!   clock ticks (the time is passed in, the core never reads a clock), event-stream items and
//!   the results of commands.
//! - [`update()`] is the only writer: `update(&mut model, msg)` returns an [`Update`] with the
//!   [`Command`]s to run and whether the screen needs a redraw (only when the model changed).
//! - The runner (not here) owns all I/O: it turns terminal input, timers and the backend into
//!   `Msg`s, runs each `Command` (HTTP calls, opening the browser, notifications, the ringer)
//!   and feeds the result back as a `Msg`.
//!
//! Which call keys work is decided by the protocol's state machine
//! ([`zulip_calls_protocol::transition`]) applied to the state the panel believes the call is in,
//! so the UI and the server agree on what is possible.

mod active;
pub mod answer;
mod crossed;
pub mod dnd;
pub mod group;
pub mod login;
pub mod missed;
pub mod model;
pub mod msg;
pub mod notes;
pub mod own_status;
pub mod presence;
pub mod stats;
pub mod update;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod view_tests;

pub use answer::AnswerError;
pub use group::{
    GroupAnswer, GroupCommand, GroupInvitation, GroupMember, GroupMsg, GroupPending, GroupSnapshot,
    InGroup, TitlePrompt,
};
pub use model::{
    ActiveState, CallPanel, EndSummary, HistoryState, InCall, Incoming, KeyHint, Level, Model,
    Notice, Outgoing, Overlay, Teammate, View,
};
pub use msg::{Command, KeyInput, Msg};
pub use update::{Update, init, update};

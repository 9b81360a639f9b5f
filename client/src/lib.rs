//! `zulip-calls`: phone-style calls for Zulip teams, from the terminal.
//!
//! The library half never touches the terminal: [`backend`] talks HTTP and WebSocket to the
//! server.

pub mod alert;
pub mod app;
pub mod backend;
pub mod cli;
pub mod commands;
pub mod config;
pub mod effects;
pub mod manual;
pub mod output;
pub mod preferences;
pub mod runner;
pub mod sign_in;
pub mod tui;
pub mod ui;

//! The I/O half: HTTP requests and the event stream. Nothing here touches the terminal.

pub mod api;
pub mod events;

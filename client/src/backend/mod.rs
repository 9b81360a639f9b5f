//! The I/O half: HTTP requests, the event stream and the heartbeat. Nothing here touches the
//! terminal. [`calls`] is the one place that knows the server's calls API dialect.

pub mod api;
pub mod calls;
pub mod dialect;
pub mod events;
pub mod groups;
pub mod keepalive;
pub mod own_status;
pub mod recent;
pub mod state_file;
pub mod tls;

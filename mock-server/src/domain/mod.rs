//! What the server does, apart from HTTP: calls, queues, deadlines, join URLs.

pub mod calls;
pub mod deadlines;
pub mod event_log;
pub mod jitsi;
pub mod queues;
pub mod sockets;
pub mod virtual_time;
pub mod webhook;

//! The Zulip API subset the plugin relies on: server settings, sign-in, users, push devices
//! (`users`), presence and user status (`presence`), the user's own settings (`settings`),
//! and event queues (`events` for register and long-poll, `ws` for the WebSocket, `sockets`
//! for the open WebSockets).

pub mod events;
pub mod presence;
pub mod settings;
pub mod sockets;
pub mod users;
pub mod ws;

//! The 1.1 dialect (the released plugin's API): its own routes (path-style `respond`,
//! `cancel`, `end`, `status`, and `heartbeat`), the wording of its errors, and the listener
//! that renders the core's call changes as its `call` events.

pub mod calls;
pub mod error;
pub mod events;

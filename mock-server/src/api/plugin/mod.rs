//! The 1.1 dialect (the released plugin's API): its own routes (path-style `respond`,
//! `cancel`, `end`, `status`, and `heartbeat`), its group calls, the wording of its errors,
//! and the listeners that render the core's changes as its `call` and `group_call` events.

pub mod calls;
pub mod error;
pub mod events;
pub mod group_events;
pub mod groups;

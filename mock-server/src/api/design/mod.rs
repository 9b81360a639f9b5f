//! The design dialect (the calls API of the design document: `calls/*` endpoints and `call_event`
//! events): its routes, and the listener that renders the core's call changes as its events.

pub mod calls;
pub mod events;

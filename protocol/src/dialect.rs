//! The two wire dialects of the calls API, named once so that servers and clients branch on a
//! value rather than on strings.
//!
//! - **Design** (`design`): the design document's API (`calls/start`, body-style
//!   `calls/respond`/`calls/end`, media status, `active`, `end-all`; `call_event` events).
//! - **1.1** (`1.1`): the released plugin's API (path-style `calls/{id}/respond`, `/cancel`,
//!   `/end`, `/status`, `heartbeat`, cursor-paged history; `call` events with an `op`).
//!
//! `create`, `acknowledge` and `history` share their paths between the two.

use crate::macros::string_enum;

string_enum! {
    /// One wire dialect of the calls API.
    pub enum Dialect {
        /// The design document's API.
        Design = "design",
        /// The released plugin's 1.1 API.
        V1_1 = "1.1",
    }
}

impl Dialect {
    /// The queue event `type` of this dialect's 1:1 call events.
    pub const fn call_event_type(self) -> &'static str {
        match self {
            Dialect::Design => crate::event::CALL_EVENT_TYPE,
            Dialect::V1_1 => CALL_OP_EVENT_TYPE,
        }
    }
}

/// The `type` of the 1.1 dialect's 1:1 call events (`{"type": "call", "op": ...}`).
pub const CALL_OP_EVENT_TYPE: &str = "call";

/// The `type` of the 1.1 dialect's group call events.
pub const GROUP_CALL_EVENT_TYPE: &str = "group_call";

string_enum! {
    /// Which dialects a server serves (the `CALLS_API` setting).
    #[derive(Default)]
    pub enum CallsApi {
        /// Every endpoint of both dialects, on one set of calls.
        #[default]
        Both = "both",
        /// The design dialect only; the 1.1 paths answer 404.
        Design = "design",
        /// The 1.1 dialect only; the design-only paths answer 404.
        V1_1 = "1.1",
    }
}

impl CallsApi {
    /// Whether a server with this setting serves `dialect`.
    pub const fn serves(self, dialect: Dialect) -> bool {
        matches!(
            (self, dialect),
            (CallsApi::Both, _)
                | (CallsApi::Design, Dialect::Design)
                | (CallsApi::V1_1, Dialect::V1_1)
        )
    }

    /// The event dialect of a queue that names neither dialect's types, unless
    /// `CALLS_EVENT_DIALECT` says otherwise: the 1.1 dialect on a 1.1-only server, else design.
    pub const fn default_event_dialect(self) -> Dialect {
        match self {
            CallsApi::V1_1 => Dialect::V1_1,
            CallsApi::Both | CallsApi::Design => Dialect::Design,
        }
    }

    /// The one dialect served, if only one is.
    pub const fn only(self) -> Option<Dialect> {
        match self {
            CallsApi::Both => None,
            CallsApi::Design => Some(Dialect::Design),
            CallsApi::V1_1 => Some(Dialect::V1_1),
        }
    }
}

string_enum! {
    /// How faithfully a 1.1 server reproduces the released plugin (the `CALLS_COMPAT` setting).
    #[derive(Default)]
    pub enum Compat {
        /// The contract (`plugin-1.1-dialect.md`), the plugin's bugs fixed.
        #[default]
        Contract = "contract",
        /// The plugin's 1.1.0 code as deployed, bugs included (its §9).
        Plugin1_1_0 = "plugin-1.1.0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_read_and_write_their_names() {
        assert_eq!("1.1".parse::<Dialect>().unwrap(), Dialect::V1_1);
        assert_eq!(Dialect::Design.as_str(), "design");
        assert_eq!("both".parse::<CallsApi>().unwrap(), CallsApi::Both);
        assert!("2.0".parse::<CallsApi>().is_err());
        assert_eq!(
            "plugin-1.1.0".parse::<Compat>().unwrap(),
            Compat::Plugin1_1_0
        );
        assert_eq!(Compat::default().as_str(), "contract");
    }

    #[test]
    fn a_server_serves_what_its_setting_names() {
        assert!(CallsApi::Both.serves(Dialect::Design) && CallsApi::Both.serves(Dialect::V1_1));
        assert!(!CallsApi::Design.serves(Dialect::V1_1));
        assert!(!CallsApi::V1_1.serves(Dialect::Design));
        assert_eq!(CallsApi::V1_1.default_event_dialect(), Dialect::V1_1);
        assert_eq!(CallsApi::Both.default_event_dialect(), Dialect::Design);
        assert_eq!(CallsApi::Design.only(), Some(Dialect::Design));
        assert_eq!(Dialect::V1_1.call_event_type(), "call");
        assert_eq!(Dialect::Design.call_event_type(), "call_event");
    }
}

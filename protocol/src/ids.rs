//! Typed identifiers, so a user id can never be passed where an event id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares an integer id: a newtype over `i64`, written and parsed as the bare number.
macro_rules! integer_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            Serialize,
            Deserialize,
            schemars::JsonSchema,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

integer_id! {
    /// A Zulip user id (an integer, as in Zulip's own API).
    UserId
}

integer_id! {
    /// A Zulip stream (channel) id, which a group call may be attached to.
    StreamId
}

/// A call id: a random (v4) UUID, unguessable, shown in its hyphenated lowercase form.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct CallId(pub Uuid);

impl CallId {
    /// A fresh random call id.
    pub fn new_random() -> Self {
        CallId(Uuid::new_v4())
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for CallId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(CallId)
    }
}

/// An event queue id. Zulip's are opaque strings (e.g. `"1375801870:2942"`).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct QueueId(pub String);

impl QueueId {
    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for QueueId {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(QueueId(s.to_owned()))
    }
}

integer_id! {
    /// An event's position in its queue. Queues start at [`EventId::BEFORE_FIRST`] (`-1`).
    EventId
}

impl EventId {
    /// The `last_event_id` of a queue that has delivered nothing yet.
    pub const BEFORE_FIRST: EventId = EventId(-1);

    /// The id that follows this one.
    pub const fn next(self) -> EventId {
        EventId(self.0 + 1)
    }
}

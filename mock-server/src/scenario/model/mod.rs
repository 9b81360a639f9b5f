//! Scenario files: TOML with `name`, `description`, `[actors]`, optional `[settings]`,
//! `realm` and `[expect_events]`, and ordered `[[step]]`s. Each step names its action by one key that also
//! carries the action's main argument (`request = "POST calls/initiate"`,
//! `wait_event = "call_accepted"`, `advance_clock = 120`, ...).
//!
//! Everything is checked when the file is loaded — unknown keys, wrong types, unknown actors
//! and devices, unknown endpoints, variables used before a step saves them, settings the mock
//! would refuse — so a typo is a usage error naming the file, the step and the key, not a
//! failure halfway through a run.

mod action;
mod endpoint;
mod error;
#[cfg(test)]
mod fixtures;
mod load;
mod load_step;
mod scenario;
mod variable_check;

pub use self::action::{
    ACTIONS, Action, AdvanceClock, EventPattern, Expect, ExpectCall, ExpectPushes, ExpireQueues,
    Fault, Need, PollEvents, Race, Request, Verify, WaitEvent, WaitFor, seconds_text,
};
pub use self::endpoint::{Target, resolve_endpoint};
pub use self::error::LoadError;
pub use self::load::{load_file, parse, toml_to_json};
pub use self::load_step::DEFAULT_WITHIN_SECONDS;
pub use self::scenario::{
    Actor, Credential, DEFAULT_DEVICE, DeviceRef, EventsExpectation, Scenario, Step,
};
pub use self::variable_check::ACTOR_FIELDS;

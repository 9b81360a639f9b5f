//! A loaded, checked scenario: its actors with their credentials and devices, its steps and
//! the events it expects at the end. What the runner and the reports read, kept apart from how
//! a file becomes one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use zulip_calls_protocol::settings::Settings;

use super::{Action, EventPattern};

/// The device name of an actor who declares none.
pub const DEFAULT_DEVICE: &str = "default";

/// A loaded, checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    /// The realm file the scenario's server serves instead of the demo realms (`realm`).
    pub realm_file: Option<PathBuf>,
    /// In the file's order of names (sorted).
    pub actors: Vec<Actor>,
    /// Spec §8 settings the scenario needs, by name, as text.
    pub settings: BTreeMap<String, String>,
    pub steps: Vec<Step>,
    pub expect_events: Vec<EventsExpectation>,
}

impl Scenario {
    pub fn actor(&self, name: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.name == name)
    }

    /// The settings of a server started for this scenario: the spec defaults with the
    /// scenario's `[settings]` applied.
    pub fn server_settings(
        &self,
    ) -> Result<Settings, zulip_calls_protocol::settings::SettingsError> {
        Settings::default().with_overrides(|name| self.settings.get(name).cloned())
    }
}

/// Someone acting in a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The scenario's name for them (`hamlet`).
    pub name: String,
    pub email: String,
    pub credential: Credential,
    /// One event queue is registered per device, in this order.
    pub devices: Vec<String>,
    /// The `event_types` its queues register for (which also picks the dialect of the call
    /// events they get); `None`: every type.
    pub event_types: Option<Vec<String>>,
}

/// Where an actor's API key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// From the control API (`GET /mock/v1/users`), or `fetch_api_key` with `--password`.
    Lookup,
    ApiKey(String),
    /// `POST fetch_api_key` with this password.
    Password(String),
}

impl fmt::Debug for Credential {
    /// Secrets stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Credential::Lookup => "Lookup",
            Credential::ApiKey(_) => "ApiKey(..)",
            Credential::Password(_) => "Password(..)",
        })
    }
}

/// One step: where it is and what it does.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based.
    pub number: usize,
    pub line: Option<usize>,
    /// The step's `name`, when it has one.
    pub name: Option<String>,
    pub action: Action,
}

impl Step {
    /// What the report calls this step.
    pub fn title(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.action.describe())
    }
}

/// An actor's device (event queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRef {
    pub actor: String,
    pub device: String,
}

impl DeviceRef {
    /// `hamlet` for an actor's only device, `othello (phone)` otherwise.
    pub fn describe(&self) -> String {
        if self.device == DEFAULT_DEVICE {
            self.actor.clone()
        } else {
            format!("{} ({})", self.actor, self.device)
        }
    }
}

/// The events some devices must have received, in order (extra events in between are fine).
#[derive(Debug, Clone)]
pub struct EventsExpectation {
    pub actor: String,
    /// Every device of the actor must match when `None`.
    pub device: Option<String>,
    pub patterns: Vec<EventPattern>,
}

//! A small scenario file, and helpers to load it, shared by the loading tests.

use std::path::Path;

use super::{LoadError, Scenario, parse};

pub(super) const MINIMAL: &str = r#"
name = "minimal"
[actors]
hamlet = "hamlet@zulip.com"
othello = { email = "othello@zulip.com", devices = ["desktop", "phone"] }

[[step]]
request = "calls/initiate"
actor = "hamlet"
params = { recipient_email = "${othello.email}" }
save = { call = "call_id" }

[[step]]
wait_event = "call_started"
actor = "othello"
device = "phone"
call = "${call}"
"#;

pub(super) fn load(text: &str) -> Result<Scenario, LoadError> {
    parse(Path::new("s.toml"), text)
}

pub(super) fn error(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

//! What the server offers beyond the Zulip and plugin API, and which steps it cannot run.
//! Kept apart so the skip rules can be read and tested without a server.

use crate::scenario::model::{Action, Need};

/// What the server offers beyond the Zulip and plugin API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `/mock/v1/*` answers.
    pub control: bool,
    /// `POST /mock/v1/clock/advance` moves time.
    pub virtual_clock: bool,
}

impl Capabilities {
    /// Why `action` cannot run on this server, if it cannot.
    pub fn skip_reason(&self, action: &Action) -> Option<String> {
        match action.need() {
            Need::Api => None,
            Need::Control | Need::VirtualClock if !self.control => {
                Some("the server has no control API".to_owned())
            }
            Need::VirtualClock if !self.virtual_clock => Some(
                "the server's clock is not virtual (start it with `serve --virtual-clock`)"
                    .to_owned(),
            ),
            Need::Control | Need::VirtualClock => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::model::parse;

    fn action(text: &str) -> Action {
        let file =
            format!("name = \"t\"\n[actors]\nhamlet = \"hamlet@zulip.com\"\n[[step]]\n{text}\n");
        parse(Path::new("t.toml"), &file)
            .unwrap()
            .steps
            .remove(0)
            .action
    }

    #[test]
    fn without_a_control_api_only_api_steps_run() {
        let none = Capabilities::default();
        let control = Capabilities {
            control: true,
            virtual_clock: false,
        };
        let full = Capabilities {
            control: true,
            virtual_clock: true,
        };
        let request = action("request = \"calls/active\"\nactor = \"hamlet\"");
        let clock = action("advance_clock = 30");
        let pushes = action("expect_pushes = \"hamlet\"");
        let reset = action("reset = true");
        for caps in [none, control, full] {
            assert_eq!(caps.skip_reason(&request), None);
        }
        assert_eq!(
            none.skip_reason(&pushes).as_deref(),
            Some("the server has no control API")
        );
        assert_eq!(
            none.skip_reason(&clock).as_deref(),
            Some("the server has no control API")
        );
        assert_eq!(control.skip_reason(&pushes), None);
        assert!(control.skip_reason(&clock).unwrap().contains("not virtual"));
        assert_eq!(full.skip_reason(&clock), None);
        // Skipping what changes the server skips the rest; skipping a look does not.
        assert!(clock.changes_server() && reset.changes_server());
        assert!(!pushes.changes_server() && !request.changes_server());
    }
}

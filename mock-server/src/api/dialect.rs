//! The rules of the HTTP edge that depend on the dialect, in one place: which dialect a new
//! event queue gets, and in which wire format the core's call events reach it.

use zulip_calls_protocol::Dialect;
use zulip_calls_protocol::dialect::{CALL_OP_EVENT_TYPE, GROUP_CALL_EVENT_TYPE};
use zulip_calls_protocol::event::CALL_EVENT_TYPE;
use zulip_calls_protocol::settings::Settings;

use crate::core::queues::EventFormat;

/// The queue format of a dialect's call events (named as the dialect is).
pub const fn event_format(dialect: Dialect) -> EventFormat {
    EventFormat(dialect.as_str())
}

/// The dialect of a queue registered for `event_types` (spec 1.1 §5): one that names the 1.1
/// call types (`call`, `group_call`) and not the design's (`call_event`) gets 1.1 events, the
/// reverse design events; one that names both or neither gets the server's default
/// (`CALLS_EVENT_DIALECT`). A queue of a dialect the server does not speak simply gets no call
/// events, as on a server of that version.
pub fn queue_dialect(event_types: Option<&[String]>, settings: &Settings) -> Dialect {
    let names = |wanted: &[&str]| {
        event_types.is_some_and(|types| types.iter().any(|t| wanted.contains(&t.as_str())))
    };
    let plugin = names(&[CALL_OP_EVENT_TYPE, GROUP_CALL_EVENT_TYPE]);
    let design = names(&[CALL_EVENT_TYPE]);
    match (design, plugin) {
        (true, false) => Dialect::Design,
        (false, true) => Dialect::V1_1,
        _ => settings.event_dialect(),
    }
}

#[cfg(test)]
mod tests {
    use zulip_calls_protocol::CallsApi;

    use super::*;

    fn types(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_queue_gets_the_dialect_its_event_types_name_else_the_default() {
        let both = Settings::default();
        let only_1_1 = Settings {
            calls_api: CallsApi::V1_1,
            ..Settings::default()
        };
        let dialect = |names: Option<&[&str]>, settings: &Settings| {
            queue_dialect(names.map(types).as_deref(), settings)
        };
        assert_eq!(dialect(Some(&["call_event"]), &only_1_1), Dialect::Design);
        assert_eq!(dialect(Some(&["call", "presence"]), &both), Dialect::V1_1);
        assert_eq!(dialect(Some(&["group_call"]), &both), Dialect::V1_1);
        assert_eq!(
            dialect(Some(&["call", "call_event"]), &both),
            Dialect::Design
        );
        assert_eq!(
            dialect(Some(&["call", "call_event"]), &only_1_1),
            Dialect::V1_1
        );
        assert_eq!(dialect(None, &both), Dialect::Design);
        assert_eq!(dialect(Some(&["presence"]), &only_1_1), Dialect::V1_1);
        let design_default_1_1 = Settings {
            calls_event_dialect: Some(Dialect::V1_1),
            ..Settings::default()
        };
        assert_eq!(dialect(None, &design_default_1_1), Dialect::V1_1);
        assert_eq!(event_format(Dialect::V1_1), EventFormat("1.1"));
    }
}

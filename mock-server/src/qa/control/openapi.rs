//! The control API's entries in the OpenAPI document. Its routes are not calls-contract
//! descriptors, so they are listed here; a test reads the control modules' routers and checks
//! every route they mount is listed, so the list cannot fall behind.
//!
//! Their parameters and fields are described loosely (an open object beside the success
//! envelope): CONTROL-API.md is their reference.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use zulip_calls_protocol::Verb;
use zulip_calls_protocol::openapi::{DocumentBuilder, Operation, Security, contract_operations};

use super::PREFIX;

/// Every control route: method, path below [`PREFIX`], and what it does.
pub const ROUTES: &[(Verb, &str, &str)] = &[
    (Verb::Get, "/pushes", "Pushes the server sent"),
    (Verb::Delete, "/pushes", "Forget the pushes sent"),
    (Verb::Get, "/journal", "The request journal"),
    (Verb::Delete, "/journal", "Clear the request journal"),
    (
        Verb::Post,
        "/journal/verify",
        "Check the journal holds a request",
    ),
    (Verb::Get, "/faults", "Injected faults"),
    (Verb::Post, "/faults", "Inject a fault"),
    (Verb::Delete, "/faults", "Remove every fault"),
    (Verb::Delete, "/faults/{fault_id}", "Remove one fault"),
    (Verb::Post, "/wait-for", "Wait until a condition holds"),
    (Verb::Post, "/reset", "Back to the realm's initial state"),
    (Verb::Get, "/users", "The realm's users"),
    (Verb::Post, "/users", "Add a user"),
    (
        Verb::Post,
        "/users/{user_id}/deactivate",
        "Deactivate a user",
    ),
    (
        Verb::Post,
        "/users/{user_id}/reactivate",
        "Reactivate a user",
    ),
    (Verb::Get, "/calls", "Calls, filtered"),
    (
        Verb::Get,
        "/calls/{call_id}",
        "One call with its audit trail",
    ),
    (Verb::Get, "/group-calls", "Group calls, filtered"),
    (
        Verb::Get,
        "/group-calls/{call_id}",
        "One group call with its audit trail",
    ),
    (Verb::Get, "/queues", "Event queues"),
    (Verb::Post, "/queues/{queue_id}/expire", "Expire a queue"),
    (Verb::Post, "/users/{user_id}/events", "Inject an event"),
    (
        Verb::Post,
        "/users/{user_id}/queues/expire",
        "Expire a user's queues",
    ),
    (
        Verb::Post,
        "/users/{user_id}/websockets/close",
        "Close a user's WebSockets",
    ),
    (Verb::Get, "/clock", "The server's time"),
    (Verb::Post, "/clock/advance", "Move a virtual clock forward"),
    (Verb::Post, "/clock/set", "Set a virtual clock"),
    (Verb::Post, "/cleanup", "Time out stale calls now"),
    (Verb::Get, "/server", "The server's settings"),
    (Verb::Get, "/bots", "Bots and what they did"),
    (
        Verb::Post,
        "/bots/{user_id}/call",
        "Have a bot place a call",
    ),
    (
        Verb::Post,
        "/bots/{user_id}/group-call",
        "Have a bot start a group call",
    ),
];

/// Parameters or fields the document leaves open.
struct Open;

impl JsonSchema for Open {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ControlFields".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "additionalProperties": true })
    }
}

/// A path placeholder's value, left to the server to judge.
fn any_segment(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string" })
}

/// The control routes as operations.
pub fn operations() -> Vec<Operation> {
    ROUTES
        .iter()
        .map(|&(method, path, summary)| {
            let slug = path
                .trim_start_matches('/')
                .replace(['{', '}'], "")
                .replace(['/', '-'], "_");
            Operation {
                method,
                path: format!("{PREFIX}{path}"),
                operation_id: format!("mock.{}.{slug}", method.as_str().to_ascii_lowercase()),
                summary: summary.to_owned(),
                tag: "mock".to_owned(),
                security: Security::OptionalBearer,
                path_schema: path.contains('{').then_some(any_segment as fn(&mut _) -> _),
                requests: Vec::new(),
                responses: vec![zulip_calls_protocol::openapi::schema_fn::<Open>()],
                bare_response: false,
            }
        })
        .collect()
}

/// The document of everything the mock serves: the calls API in both dialects, the Zulip
/// subset, and the control API.
pub fn document() -> serde_json::Value {
    let mut builder = DocumentBuilder::new();
    for operation in contract_operations().iter().chain(&operations()) {
        builder.add(operation);
    }
    builder.finish(
        "Zulip Calls mock server",
        env!("CARGO_PKG_VERSION"),
        "The calls plugin's API in both dialects (design `calls/...` and the 1.1 path-style \
         and group-call routes), the part of Zulip's API a calls client uses, and the mock \
         server's control API under /mock/v1.",
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The routes the control modules mount, read from their `router` functions.
    fn mounted() -> BTreeSet<(String, String)> {
        let sources = [
            include_str!("bots.rs"),
            include_str!("calls.rs"),
            include_str!("cleanup.rs"),
            include_str!("clock.rs"),
            include_str!("faults.rs"),
            include_str!("group_calls.rs"),
            include_str!("journal.rs"),
            include_str!("pushes.rs"),
            include_str!("queues.rs"),
            include_str!("reset.rs"),
            include_str!("server.rs"),
            include_str!("users.rs"),
            include_str!("wait_for.rs"),
        ];
        let mut routes = BTreeSet::new();
        for source in sources {
            let start = source.find("pub fn router").unwrap();
            let body = &source[start..];
            let body = &body[..body.find("\n}").unwrap()];
            for call in body.split(".route(").skip(1) {
                let path = if call.contains("PUSHES_PATH") {
                    "/pushes".to_owned()
                } else {
                    let after = &call[call.find("{PREFIX}").unwrap() + "{PREFIX}".len()..];
                    after[..after.find('"').unwrap()]
                        .replace("{{", "{")
                        .replace("}}", "}")
                };
                for method in ["get", "post", "delete", "patch"] {
                    if call.contains(&format!("{method}(")) {
                        routes.insert((method.to_ascii_uppercase(), path.clone()));
                    }
                }
            }
        }
        routes
    }

    #[test]
    fn every_mounted_control_route_is_documented() {
        let listed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(m, p, _)| (m.as_str().to_owned(), (*p).to_owned()))
            .collect();
        let mounted = mounted();
        assert_eq!(mounted.len(), 32, "{mounted:#?}");
        assert_eq!(listed, mounted);
        let doc = document();
        for (method, path) in &listed {
            let item = &doc["paths"][format!("{PREFIX}{path}")][method.to_ascii_lowercase()];
            assert!(
                item.is_object(),
                "{method} {path} missing from the document"
            );
        }
    }
}

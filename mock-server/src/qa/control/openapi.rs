//! The control API's entries in the OpenAPI document. Its routes are not calls-contract
//! descriptors, so they are listed here; a test reads the control modules' routers and checks
//! every route they mount is listed, so the list cannot fall behind.
//!
//! Each route names the types its handler decodes and answers with, and the document takes
//! their JSON Schemas, so a field added to a control type shows in the document by itself
//! (`tests/control_openapi.rs` checks real answers against it). Parameters come from the query
//! string for `GET` and `DELETE`, and from a form or JSON body otherwise.
//!
//! Left open on purpose: `wait-for`'s `matched` (the call, group call, event, push or request
//! that satisfied the condition, each shown as elsewhere in the control API), a user's `bot`,
//! an audit line's `detail`, a push's provider `request` and a journaled request's `params`
//! (what was sent, as sent).

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use zulip_calls_protocol::endpoint::SchemaFn;
use zulip_calls_protocol::openapi::{DocumentBuilder, Operation, Security, contract_operations};
use zulip_calls_protocol::plugin::group::GroupCallState;
use zulip_calls_protocol::{CallState, Verb};

use super::{
    PREFIX, bots, calls, cleanup, clock, faults, group_calls, journal, pushes, queues, reset,
    server, users, wait_for,
};
use crate::qa::request_match::RequestPattern;

/// One control route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: Verb,
    /// Below [`PREFIX`].
    pub path: &'static str,
    pub summary: &'static str,
    /// The parameters its handler decodes; `None`: it reads none.
    pub request: Option<SchemaFn>,
    /// The fields of its success answer, beside `result` and `msg`.
    pub response: SchemaFn,
}

/// `T`'s schema.
fn of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

/// A request pattern's fields and `T`'s together (decoded from the same parameters).
fn pattern_and<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    let pattern = RequestPattern::json_schema(generator);
    let rest = T::json_schema(generator);
    json_schema!({ "type": "object", "allOf": [pattern, rest] })
}

const fn route(
    method: Verb,
    path: &'static str,
    summary: &'static str,
    request: Option<SchemaFn>,
    response: SchemaFn,
) -> Route {
    Route {
        method,
        path,
        summary,
        request,
        response,
    }
}

/// Every control route, with the types its handler reads and writes.
pub const ROUTES: &[Route] = &[
    route(
        Verb::Get,
        "/pushes",
        "Pushes the server sent",
        Some(of::<pushes::PushesRequest>),
        of::<pushes::PushesResponse>,
    ),
    route(
        Verb::Delete,
        "/pushes",
        "Forget the pushes sent",
        None,
        of::<pushes::ClearPushesResponse>,
    ),
    route(
        Verb::Get,
        "/journal",
        "The request journal",
        Some(pattern_and::<journal::ListRequest>),
        of::<journal::ListResponse>,
    ),
    route(
        Verb::Delete,
        "/journal",
        "Clear the request journal",
        None,
        of::<journal::ClearResponse>,
    ),
    route(
        Verb::Post,
        "/journal/verify",
        "Check the journal holds a request",
        Some(pattern_and::<journal::VerifyRequest>),
        of::<journal::VerifyResponse>,
    ),
    route(
        Verb::Get,
        "/faults",
        "Injected faults",
        None,
        of::<faults::ListResponse>,
    ),
    route(
        Verb::Post,
        "/faults",
        "Inject a fault",
        Some(of::<faults::AddFault>),
        of::<faults::AddResponse>,
    ),
    route(
        Verb::Delete,
        "/faults",
        "Remove every fault",
        None,
        of::<faults::ClearResponse>,
    ),
    route(
        Verb::Delete,
        "/faults/{fault_id}",
        "Remove one fault",
        None,
        of::<faults::RemoveResponse>,
    ),
    route(
        Verb::Post,
        "/wait-for",
        "Wait until a condition holds",
        Some(of::<wait_for::WaitRequest>),
        of::<wait_for::WaitResponse>,
    ),
    route(
        Verb::Post,
        "/reset",
        "Back to the realm's initial state",
        None,
        of::<reset::ResetSummary>,
    ),
    route(
        Verb::Get,
        "/users",
        "The realm's users",
        Some(of::<users::ListRequest>),
        of::<users::ListResponse>,
    ),
    route(
        Verb::Post,
        "/users",
        "Add a user",
        Some(of::<users::CreateRequest>),
        of::<users::CreateResponse>,
    ),
    route(
        Verb::Post,
        "/users/{user_id}/deactivate",
        "Deactivate a user",
        None,
        of::<users::DeactivateResponse>,
    ),
    route(
        Verb::Post,
        "/users/{user_id}/reactivate",
        "Reactivate a user",
        None,
        of::<users::ReactivateResponse>,
    ),
    route(
        Verb::Get,
        "/calls",
        "Calls, filtered",
        Some(of::<calls::ListRequest<CallState>>),
        of::<calls::ListResponse>,
    ),
    route(
        Verb::Get,
        "/calls/{call_id}",
        "One call with its audit trail",
        None,
        of::<calls::GetResponse>,
    ),
    route(
        Verb::Get,
        "/group-calls",
        "Group calls, filtered",
        Some(of::<calls::ListRequest<GroupCallState>>),
        of::<group_calls::ListResponse>,
    ),
    route(
        Verb::Get,
        "/group-calls/{call_id}",
        "One group call with its audit trail",
        None,
        of::<group_calls::GetResponse>,
    ),
    route(
        Verb::Get,
        "/queues",
        "Event queues",
        Some(of::<queues::ListRequest>),
        of::<queues::ListResponse>,
    ),
    route(
        Verb::Post,
        "/queues/{queue_id}/expire",
        "Expire a queue",
        None,
        of::<queues::ExpireResponse>,
    ),
    route(
        Verb::Post,
        "/users/{user_id}/events",
        "Inject an event",
        Some(of::<queues::InjectRequest>),
        of::<queues::InjectResponse>,
    ),
    route(
        Verb::Post,
        "/users/{user_id}/queues/expire",
        "Expire a user's queues",
        None,
        of::<queues::ExpireUserResponse>,
    ),
    route(
        Verb::Post,
        "/users/{user_id}/websockets/close",
        "Close a user's WebSockets",
        Some(of::<queues::CloseRequest>),
        of::<queues::CloseResponse>,
    ),
    route(
        Verb::Get,
        "/clock",
        "The server's time",
        None,
        of::<clock::NowResponse>,
    ),
    route(
        Verb::Post,
        "/clock/advance",
        "Move a virtual clock forward",
        Some(of::<clock::AdvanceRequest>),
        of::<clock::MovedResponse>,
    ),
    route(
        Verb::Post,
        "/clock/set",
        "Set a virtual clock",
        Some(of::<clock::SetRequest>),
        of::<clock::MovedResponse>,
    ),
    route(
        Verb::Post,
        "/cleanup",
        "Time out stale calls now",
        None,
        of::<cleanup::CleanupResponse>,
    ),
    route(
        Verb::Get,
        "/server",
        "The server's settings",
        None,
        of::<server::ServerResponse>,
    ),
    route(
        Verb::Get,
        "/bots",
        "Bots and what they did",
        None,
        of::<bots::ListResponse>,
    ),
    route(
        Verb::Post,
        "/bots/{user_id}/call",
        "Have a bot place a call",
        Some(of::<bots::CallRequest>),
        of::<bots::CallResponse>,
    ),
    route(
        Verb::Post,
        "/bots/{user_id}/group-call",
        "Have a bot start a group call",
        Some(of::<bots::GroupCallRequest>),
        of::<bots::GroupCallResponse>,
    ),
];

/// A path placeholder's value, left to the server to judge.
fn any_segment(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string" })
}

/// The control routes as operations.
pub fn operations() -> Vec<Operation> {
    ROUTES
        .iter()
        .map(|route| {
            let Route {
                method,
                path,
                summary,
                ..
            } = *route;
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
                requests: route.request.into_iter().collect(),
                responses: vec![route.response],
                bare_response: false,
                json_body: true,
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
            .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
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

//! The Zulip subset of the contract (spec §9: "Shapes and errors as in zulip.yaml") checked
//! against Zulip's own OpenAPI description: real answers of a spawned server are validated
//! against the response schemas of `tests/data/zulip-openapi.yaml` (see `tests/data/README.md`).
//!
//! The validator below implements the part of OpenAPI 3.0 that file uses (`type` with integer
//! distinct from number, `properties`, `required`, `items`, `nullable`, `enum`, `allOf`, `oneOf`,
//! `anyOf`, `additionalProperties`) and refuses any other keyword, so nothing passes unchecked.
//!
//! Where this project's contract adds to Zulip's shapes on purpose, the addition is checked on
//! its own and then removed before validation, citing the section of `calls-api.md` that
//! requires it. Nothing else is skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use common::{TestApp, spawn};

/// Keywords the validator checks.
const CHECKED: &[&str] = &[
    "$ref",
    "type",
    "properties",
    "required",
    "items",
    "nullable",
    "enum",
    "allOf",
    "oneOf",
    "anyOf",
    "additionalProperties",
];

/// Keywords that only annotate (they constrain nothing).
const ANNOTATIONS: &[&str] = &["description", "example", "deprecated", "default", "title"];

/// Zulip's OpenAPI document, parsed once: the 2024 file, or the 2025 one while a [`Newer`]
/// guard lives on this thread.
fn spec() -> &'static Value {
    if NEWER.get() {
        spec_2025()
    } else {
        spec_2024()
    }
}

fn spec_2024() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/zulip-openapi.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        serde_norway::from_str(&text).unwrap()
    })
}

/// The newer (2025, machine-rewritten) file: the only one with presence and user status
/// as the contract serves them (spec §9).
fn spec_2025() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/zulip-openapi-2025.yaml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        serde_norway::from_str(&text).unwrap()
    })
}

thread_local! {
    /// Whether [`spec`] is the 2025 file on this thread (tests run one per thread).
    static NEWER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While alive, schemas and their `$ref`s come from the 2025 file.
struct Newer;

impl Newer {
    fn enter() -> Newer {
        NEWER.set(true);
        Newer
    }
}

impl Drop for Newer {
    fn drop(&mut self) {
        NEWER.set(false);
    }
}

/// The value a local `$ref` (`#/components/schemas/User`) points at.
fn resolve(reference: &str) -> &'static Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("only local references are supported: {reference}"));
    spec()
        .pointer(pointer)
        .unwrap_or_else(|| panic!("dangling reference {reference}"))
}

/// Follows `$ref`s until a value that is not a reference.
fn deref(mut value: &'static Value) -> &'static Value {
    for _ in 0..32 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => value = resolve(reference),
            None => return value,
        }
    }
    panic!("reference cycle");
}

/// A named component schema.
fn component(name: &str) -> &'static Value {
    resolve(&format!("#/components/schemas/{name}"))
}

/// The JSON schema of the `status` response of `method path` (`path` as in the file, e.g.
/// `/users/{user_id}`).
fn response_schema(path: &str, method: &str, status: u16) -> &'static Value {
    let operation = spec()["paths"]
        .get(path)
        .and_then(|p| p.get(method))
        .unwrap_or_else(|| panic!("no operation {method} {path} in the spec"));
    let response = operation["responses"]
        .get(status.to_string())
        .unwrap_or_else(|| panic!("{method} {path} documents no {status} response"));
    let schema = &deref(response)["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {status}: no JSON schema"
    );
    schema
}

/// Why `value` does not match `schema` (empty when it does).
fn violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, value, "$", &mut errors);
    errors
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        // JSON has one number type; OpenAPI's integer is a number without a fraction part as
        // written (serde_json keeps `1.0` a float).
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        other => panic!("unknown type {other:?}"),
    }
}

fn check(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(keywords) = schema.as_object() else {
        errors.push(format!("{at}: schema is not an object: {schema}"));
        return;
    };
    for key in keywords.keys() {
        let known = CHECKED.contains(&key.as_str())
            || ANNOTATIONS.contains(&key.as_str())
            || key.starts_with("x-");
        assert!(known, "{at}: unsupported schema keyword {key:?}");
    }
    if let Some(reference) = keywords.get("$ref") {
        let constraining = keywords
            .keys()
            .filter(|k| *k != "$ref" && !ANNOTATIONS.contains(&k.as_str()))
            .count();
        assert_eq!(constraining, 0, "{at}: `$ref` with sibling keywords");
        let reference = reference.as_str().unwrap();
        check(resolve(reference), value, at, errors);
        return;
    }
    if value.is_null() && keywords.get("nullable") == Some(&Value::Bool(true)) {
        return;
    }
    if let Some(expected) = keywords.get("type").and_then(Value::as_str)
        && !type_matches(expected, value)
    {
        errors.push(format!("{at}: expected {expected}, got {value}"));
        return;
    }
    if let Some(allowed) = keywords.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(object) = value.as_object() {
        check_object(keywords, object, at, errors);
    }
    if let (Some(items), Some(array)) = (keywords.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(items, item, &format!("{at}/{i}"), errors);
        }
    }
    if let Some(all) = keywords.get("allOf").and_then(Value::as_array) {
        for sub in all {
            check(sub, value, at, errors);
        }
    }
    for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        let Some(branches) = keywords.get(keyword).and_then(Value::as_array) else {
            continue;
        };
        let outcomes: Vec<Vec<String>> = branches.iter().map(|b| violations(b, value)).collect();
        let passing = outcomes.iter().filter(|o| o.is_empty()).count();
        let ok = if exactly_one {
            passing == 1
        } else {
            passing >= 1
        };
        if !ok {
            let closest = outcomes
                .iter()
                .filter(|o| !o.is_empty())
                .min_by_key(|o| o.len())
                .map(|o| o.join("; "))
                .unwrap_or_default();
            errors.push(format!(
                "{at}: {passing} of {} `{keyword}` branches match (closest miss: {closest})",
                branches.len()
            ));
        }
    }
}

fn check_object(
    keywords: &Map<String, Value>,
    object: &Map<String, Value>,
    at: &str,
    errors: &mut Vec<String>,
) {
    let empty = Map::new();
    let properties = keywords
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (name, sub) in properties {
        if let Some(field) = object.get(name) {
            check(sub, field, &format!("{at}/{name}"), errors);
        }
    }
    if let Some(required) = keywords.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(format!("{at}: required field {name:?} is missing"));
            }
        }
    }
    match keywords.get("additionalProperties") {
        None | Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => {
            for name in object.keys().filter(|n| !properties.contains_key(*n)) {
                errors.push(format!("{at}: field {name:?} is not allowed"));
            }
        }
        Some(extra) => {
            for (name, field) in object.iter().filter(|(n, _)| !properties.contains_key(*n)) {
                check(extra, field, &format!("{at}/{name}"), errors);
            }
        }
    }
}

/// Asserts that `value` matches `schema`.
#[track_caller]
fn assert_valid(what: &str, schema: &Value, value: &Value) {
    let errors = violations(schema, value);
    assert!(
        errors.is_empty(),
        "{what} violates Zulip's schema:\n  {}\nbody: {value}",
        errors.join("\n  ")
    );
}

/// Asserts that `value` does not match `schema`, with a violation mentioning `needle`.
#[track_caller]
fn assert_invalid(what: &str, schema: &Value, value: &Value, needle: &str) {
    let errors = violations(schema, value);
    assert!(
        errors.iter().any(|e| e.contains(needle)),
        "{what}: expected a violation mentioning {needle:?}, got {errors:?}"
    );
}

/// Spec §1: every error body duplicates `msg` as `message` (for older plugin versions). Zulip's
/// error schemas forbid unknown fields, so the duplicate is checked here and then removed.
fn strip_legacy_message(mut body: Value) -> Value {
    assert_eq!(
        body["message"], body["msg"],
        "spec §1: message == msg: {body}"
    );
    body.as_object_mut().unwrap().remove("message");
    body
}

async fn no_auth_get(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.http.get(app.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn no_auth_post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[test]
fn the_spec_is_zulips_and_parses() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.0.1");
    assert_eq!(spec["info"]["title"], "Zulip REST API");
    for path in [
        "/server_settings",
        "/fetch_api_key",
        "/users/me",
        "/users",
        "/users/{user_id}",
        "/register",
        "/events",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} missing");
    }
}

/// The validator must reject what the schema forbids, or every other test here is hollow.
#[test]
fn the_validator_rejects_bodies_that_break_the_schema() {
    let api_key = response_schema("/fetch_api_key", "post", 200);
    let good =
        json!({"result": "success", "msg": "", "api_key": "k", "email": "a@b.c", "user_id": 5});
    assert_valid("a correct fetch_api_key answer", api_key, &good);

    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("api_key");
    assert_invalid(
        "missing api_key",
        api_key,
        &missing,
        "\"api_key\" is missing",
    );
    let mut missing_msg = good.clone();
    missing_msg.as_object_mut().unwrap().remove("msg");
    assert_invalid("missing msg", api_key, &missing_msg, "\"msg\" is missing");

    let mut wrong_type = good.clone();
    wrong_type["user_id"] = json!("5");
    assert_invalid(
        "user_id as a string",
        api_key,
        &wrong_type,
        "expected integer",
    );
    wrong_type["user_id"] = json!(5.5);
    assert_invalid(
        "user_id fractional",
        api_key,
        &wrong_type,
        "expected integer",
    );
    wrong_type["user_id"] = json!(5.0);
    assert_invalid(
        "user_id written as a float",
        api_key,
        &wrong_type,
        "expected integer",
    );
    wrong_type["user_id"] = json!(null);
    assert_invalid(
        "user_id null (not nullable)",
        api_key,
        &wrong_type,
        "expected integer",
    );

    let mut extra = good.clone();
    extra["surprise"] = json!(true);
    assert_invalid(
        "an unknown field",
        api_key,
        &extra,
        "\"surprise\" is not allowed",
    );

    let mut wrong_result = good.clone();
    wrong_result["result"] = json!("error");
    assert_invalid(
        "result error in a success",
        api_key,
        &wrong_result,
        "is not one of",
    );

    // nullable: `avatar_url` may be null in `User` but not in `users/me`.
    let user = component("User");
    let mut member = json!({"user_id": 1, "email": "a@b.c", "full_name": "A", "avatar_url": null,
        "role": 400, "is_bot": false});
    assert_valid("a user with a null avatar", user, &member);
    member["role"] = json!(500);
    assert_invalid("an unknown role", user, &member, "is not one of");
    member["role"] = json!(400);
    member["profile_data"] = json!({"1": {"value": "x", "oops": 1}});
    assert_invalid(
        "profile data with an unknown key",
        user,
        &member,
        "\"oops\" is not allowed",
    );
    let me = response_schema("/users/me", "get", 200);
    assert_invalid(
        "users/me with a null avatar",
        me,
        &json!({"result": "success", "msg": "", "avatar_url": null}),
        "expected string",
    );

    // oneOf: a heartbeat matches exactly one event schema; an event of no known shape none.
    let events = response_schema("/events", "get", 200);
    let beat = json!({"result": "success", "msg": "", "events": [{"type": "heartbeat", "id": 0}]});
    assert_valid("a heartbeat", events, &beat);
    let odd =
        json!({"result": "success", "msg": "", "events": [{"type": "heartbeat", "id": 0, "x": 1}]});
    assert_invalid(
        "a heartbeat with an extra field",
        events,
        &odd,
        "`oneOf` branches match",
    );
    let mut either = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
    assert_valid("anyOf, one branch", &either, &json!(3));
    assert_invalid("anyOf, no branch", &either, &json!(true), "0 of 2 `anyOf`");
    either = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
    assert_invalid("oneOf, two branches", &either, &json!(3), "2 of 2 `oneOf`");

    // additionalProperties as a schema.
    let map = json!({"type": "object", "additionalProperties": {"type": "boolean"}});
    assert_valid("a map of booleans", &map, &json!({"a": true}));
    assert_invalid(
        "a map with a string",
        &map,
        &json!({"a": "yes"}),
        "/a: expected boolean",
    );
}

/// Zulip's own examples for the responses used here must pass too, or the validator is
/// stricter than Zulip meant.
#[test]
fn zulips_own_examples_pass() {
    let examples = [
        (
            "ApiKeyResponse",
            &spec().pointer("/components/schemas/ApiKeyResponse/allOf/1/example"),
        ),
        (
            "BadEventQueueIdError",
            &spec().pointer("/components/schemas/BadEventQueueIdError/allOf/1/example"),
        ),
        (
            "MissingArgumentError",
            &spec().pointer("/components/schemas/MissingArgumentError/allOf/1/example"),
        ),
        (
            "InvalidApiKeyError",
            &spec().pointer("/components/schemas/InvalidApiKeyError/allOf/1/example"),
        ),
    ];
    for (name, example) in examples {
        let example = example.unwrap_or_else(|| panic!("{name}: no example"));
        assert_valid(&format!("Zulip's {name} example"), component(name), example);
    }
    for (path, method) in [
        ("/server_settings", "get"),
        ("/users/me", "get"),
        ("/users", "get"),
        ("/users/{user_id}", "get"),
    ] {
        let schema = response_schema(path, method, 200);
        let example = schema
            .pointer("/allOf/1/example")
            .unwrap_or_else(|| panic!("{method} {path}: no example"));
        assert_valid(&format!("Zulip's {method} {path} example"), schema, example);
    }
}

#[tokio::test]
async fn server_settings_matches_the_schema() {
    let app = spawn().await;
    let (status, mut body) = no_auth_get(&app, "server_settings").await;
    assert_eq!(status, 200, "{body}");
    // Spec §9 requires `realm_url`: Zulip 9.0 (feature level 257) added it beside the older
    // `realm_uri`, after the spec file's snapshot (feature level 247). Same value, both sent.
    assert_eq!(body["realm_url"], body["realm_uri"], "{body}");
    assert!(body["realm_url"].is_string(), "{body}");
    body.as_object_mut().unwrap().remove("realm_url");
    assert_valid(
        "GET server_settings",
        response_schema("/server_settings", "get", 200),
        &body,
    );
}

#[tokio::test]
async fn fetch_api_key_and_its_errors_match_the_schema() {
    let app = spawn().await;
    let (status, body) = no_auth_post(
        &app,
        "fetch_api_key",
        &[("username", "iago@zulip.com"), ("password", "opensesame")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_valid(
        "POST fetch_api_key",
        response_schema("/fetch_api_key", "post", 200),
        &body,
    );
    assert!(
        body.get("user_id").is_some(),
        "user_id since feature level 171"
    );

    let (status, body) =
        no_auth_post(&app, "fetch_api_key", &[("username", "iago@zulip.com")]).await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("REQUEST_VARIABLE_MISSING"))
    );
    assert_valid(
        "REQUEST_VARIABLE_MISSING",
        component("MissingArgumentError"),
        &strip_legacy_message(body),
    );

    let (status, body) = no_auth_post(
        &app,
        "fetch_api_key",
        &[("username", "iago@zulip.com"), ("password", "wrong")],
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (401, &json!("AUTHENTICATION_FAILED"))
    );
    assert_valid(
        "AUTHENTICATION_FAILED",
        component("CodedError"),
        &strip_legacy_message(body),
    );
}

#[tokio::test]
async fn users_match_the_schema() {
    let app = spawn().await;
    let iago = app.account("iago@zulip.com");
    let hamlet = app.account("hamlet@zulip.com");

    for who in [&iago, &hamlet] {
        let (status, body) = app.get(who, "users/me", &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_valid(
            &format!("GET users/me as {}", who.email),
            response_schema("/users/me", "get", 200),
            &body,
        );
    }

    let (status, body) = app.get(&hamlet, "users", &[]).await;
    assert_eq!(status, 200, "{body}");
    let members = body["members"].as_array().unwrap();
    assert!(members.iter().any(|m| m["role"] == 200), "an administrator");
    assert!(
        members.iter().any(|m| m["is_active"] == false),
        "a deactivated user"
    );
    assert_valid("GET users", response_schema("/users", "get", 200), &body);

    for email in ["iago@zulip.com", "othello@zulip.com", "desdemona@zulip.com"] {
        let id = app.account(email).id;
        let (status, body) = app.get(&hamlet, &format!("users/{id}"), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_valid(
            &format!("GET users/{id}"),
            response_schema("/users/{user_id}", "get", 200),
            &body,
        );
    }
}

#[tokio::test]
async fn the_event_queue_matches_the_schema() {
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");

    let (status, mut body) = app
        .post(&hamlet, "register", &[("event_types", r#"["call_event"]"#)])
        .await;
    assert_eq!(status, 200, "{body}");
    // Spec §5: servers that offer the event WebSocket advertise it in `register`.
    if let Some(path) = body
        .as_object_mut()
        .unwrap()
        .remove("events_websocket_path")
    {
        assert!(path.as_str().is_some_and(|p| p.starts_with('/')), "{path}");
    }
    assert_valid(
        "POST register",
        response_schema("/register", "post", 200),
        &body,
    );
    let queue = body["queue_id"].as_str().unwrap().to_owned();

    // Nothing queued: the long-poll ends with a heartbeat (the test server beats every second).
    let (status, body) = app.get(&hamlet, "events", &[("queue_id", &queue)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["type"], "heartbeat", "{body}");
    let events = response_schema("/events", "get", 200);
    assert_valid("GET events with a heartbeat", events, &body);

    app.call(&hamlet, &othello).await;
    let (status, mut body) = app
        .get(
            &hamlet,
            "events",
            &[("queue_id", &queue), ("dont_block", "true")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let types: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["heartbeat", "call_event"], "{body}");
    // Spec §5: `call_event` is the plugin's own event type, which Zulip's list of event shapes
    // does not know. Each one is checked against what every Zulip event has (an integer `id`
    // and a string `type`), then removed; the rest of the answer is validated as is.
    let envelope = json!({
        "type": "object",
        "required": ["id", "type"],
        "properties": {
            "id": {"$ref": "#/components/schemas/EventIdSchema"},
            "type": {"$ref": "#/components/schemas/EventTypeSchema"},
        },
    });
    let list = body["events"].as_array_mut().unwrap();
    for event in list.iter().filter(|e| e["type"] == "call_event") {
        assert_valid("a call event's id and type", &envelope, event);
    }
    list.retain(|e| e["type"] != "call_event");
    assert_valid("GET events with a call event", events, &body);

    let (status, body) = app.delete(&hamlet, "events", &[("queue_id", &queue)]).await;
    assert_eq!(status, 200, "{body}");
    assert_valid(
        "DELETE events",
        response_schema("/events", "delete", 200),
        &body,
    );

    let (status, body) = app
        .get(
            &hamlet,
            "events",
            &[("queue_id", &queue), ("dont_block", "true")],
        )
        .await;
    assert_eq!((status, &body["code"]), (400, &json!("BAD_EVENT_QUEUE_ID")));
    assert_valid(
        "GET events on a deleted queue",
        response_schema("/events", "get", 400),
        &strip_legacy_message(body),
    );
    let (status, body) = app.delete(&hamlet, "events", &[("queue_id", &queue)]).await;
    assert_eq!((status, &body["code"]), (400, &json!("BAD_EVENT_QUEUE_ID")));
    assert_valid(
        "DELETE events on a deleted queue",
        response_schema("/events", "delete", 400),
        &strip_legacy_message(body),
    );

    let (status, body) = app.get(&hamlet, "events", &[]).await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("REQUEST_VARIABLE_MISSING"))
    );
    assert_valid(
        "GET events without a queue",
        component("MissingArgumentError"),
        &strip_legacy_message(body),
    );
}

#[tokio::test]
async fn authentication_errors_match_the_schema() {
    let app = spawn().await;
    let (status, body) = no_auth_get(&app, "users/me").await;
    assert_eq!((status, &body["code"]), (401, &json!("UNAUTHORIZED")));
    assert_valid(
        "UNAUTHORIZED",
        component("CodedError"),
        &strip_legacy_message(body),
    );

    let mut hamlet = app.account("hamlet@zulip.com");
    hamlet.key = "wrongDemoApiKeyxxxxxxxxxxxxxxxxx".into();
    let (status, body) = app.get(&hamlet, "users/me", &[]).await;
    assert_eq!((status, &body["code"]), (401, &json!("INVALID_API_KEY")));
    assert_valid(
        "INVALID_API_KEY",
        component("InvalidApiKeyError"),
        &strip_legacy_message(body),
    );

    let desdemona = app.account("desdemona@zulip.com");
    let (status, body) = app.get(&desdemona, "users/me", &[]).await;
    assert_eq!((status, &body["code"]), (401, &json!("USER_DEACTIVATED")));
    assert_valid(
        "USER_DEACTIVATED",
        component("UserDeactivatedError"),
        &strip_legacy_message(body),
    );
}

/// Spec §9: presence and user status follow the 2025 file. Every answer and event of theirs is
/// validated against its schemas (modern and legacy presence, errors, `register`'s state).
#[tokio::test]
async fn presence_and_user_status_match_the_2025_schema() {
    let _newer = Newer::enter();
    let app = spawn().await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let (status, mut registered) = app
        .post(
            &othello,
            "register",
            &[
                ("event_types", r#"["presence", "user_status"]"#),
                ("slim_presence", "true"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{registered}");
    let queue = registered["queue_id"].as_str().unwrap().to_owned();
    registered
        .as_object_mut()
        .unwrap()
        .remove("events_websocket_path");
    assert_valid(
        "POST register with presence and user_status",
        response_schema("/register", "post", 200),
        &registered,
    );

    let presence = response_schema("/users/me/presence", "post", 200);
    for (what, form) in [
        (
            "modern",
            vec![("status", "active"), ("last_update_id", "-1")],
        ),
        ("slim", vec![("status", "idle"), ("slim_presence", "true")]),
        ("legacy", vec![("status", "active")]),
        (
            "ping only",
            vec![("status", "active"), ("ping_only", "true")],
        ),
    ] {
        let (status, body) = app.post(&hamlet, "users/me/presence", &form).await;
        assert_eq!(status, 200, "{body}");
        assert_valid(&format!("POST users/me/presence ({what})"), presence, &body);
    }
    let (_, body) = app
        .post(&othello, "users/me/presence", &[("status", "active")])
        .await;
    assert_eq!(body["presences"].as_object().unwrap().len(), 2, "{body}");
    assert_valid("POST users/me/presence (two users)", presence, &body);

    let (status, body) = app.get(&othello, "realm/presence", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_valid(
        "GET realm/presence",
        response_schema("/realm/presence", "get", 200),
        &body,
    );
    for who in ["10", "hamlet@zulip.com"] {
        let (status, body) = app
            .get(&othello, &format!("users/{who}/presence"), &[])
            .await;
        assert_eq!(status, 200, "{body}");
        assert_valid(
            "GET users/{user_id_or_email}/presence",
            response_schema("/users/{user_id_or_email}/presence", "get", 200),
            &body,
        );
    }

    let (status, body) = app
        .post(
            &hamlet,
            "users/me/status",
            &[
                ("status_text", "on a call"),
                ("emoji_name", "car"),
                ("away", "true"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_valid(
        "POST users/me/status",
        response_schema("/users/me/status", "post", 200),
        &body,
    );
    let (status, body) = app
        .post(
            &hamlet,
            "users/me/status",
            &[("status_text", &"x".repeat(61))],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // The documented 400 is a `oneOf` of six identical `CodedError` branches that differ only
    // in their examples, so no body can match exactly one: the body is checked against
    // `CodedError`, and its text against the documented example's.
    let documented = deref(response_schema("/users/me/status", "post", 400))["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|branch| branch["example"]["msg"].clone())
        .collect::<Vec<_>>();
    assert!(documented.contains(&body["msg"]), "{body}");
    assert_valid(
        "POST users/me/status with a long text",
        component("CodedError"),
        &strip_legacy_message(body),
    );
    for who in ["10", "6"] {
        let (status, body) = app.get(&othello, &format!("users/{who}/status"), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_valid(
            "GET users/{user_id}/status",
            response_schema("/users/{user_id}/status", "get", 200),
            &body,
        );
    }
    let (status, body) = app.get(&othello, "users/99999/status", &[]).await;
    assert_eq!(status, 400, "{body}");
    assert_valid(
        "GET users/{user_id}/status of nobody",
        response_schema("/users/{user_id}/status", "get", 400),
        &strip_legacy_message(body),
    );

    let (status, body) = app
        .get(
            &othello,
            "events",
            &[("queue_id", &queue), ("dont_block", "true")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let types: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    // Hamlet comes online, goes idle and comes back (two events); Othello comes online.
    assert_eq!(
        types,
        ["presence", "presence", "presence", "user_status"],
        "{body}"
    );
    assert_valid(
        "GET events with presence and user_status events",
        response_schema("/events", "get", 200),
        &body,
    );

    let (_, registered) = app
        .post(
            &othello,
            "register",
            &[("fetch_event_types", r#"["presence", "user_status"]"#)],
        )
        .await;
    let mut registered = registered;
    registered
        .as_object_mut()
        .unwrap()
        .remove("events_websocket_path");
    assert_eq!(registered["user_status"]["10"]["status_text"], "on a call");
    assert_valid(
        "POST register with legacy presence and a status",
        response_schema("/register", "post", 200),
        &registered,
    );
}

/// Spec §9 after the 2025 file: an administrator's `POST users/{user_id}/status` (Zulip 11.0),
/// its refusal, `PATCH settings` with `presence_enabled` and the `user_settings` event.
#[tokio::test]
async fn status_for_user_and_settings_match_the_2025_schema() {
    let _newer = Newer::enter();
    let app = spawn().await;
    let iago = app.account("iago@zulip.com");
    let hamlet = app.account("hamlet@zulip.com");
    let (status, registered) = app
        .post(
            &hamlet,
            "register",
            &[("event_types", r#"["user_settings", "user_status"]"#)],
        )
        .await;
    assert_eq!(status, 200, "{registered}");
    let queue = registered["queue_id"].as_str().unwrap().to_owned();

    let (status, body) = app
        .post(
            &iago,
            "users/10/status",
            &[("status_text", "on a call"), ("emoji_name", "phone")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_valid(
        "POST users/{user_id}/status",
        response_schema("/users/{user_id}/status", "post", 200),
        &body,
    );

    // The documented 400 is a `oneOf` of identical `CodedError` branches told apart only by
    // their examples (see `presence_and_user_status_match_the_2025_schema`).
    let documented = deref(response_schema("/users/{user_id}/status", "post", 400))["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|branch| branch["example"]["msg"].clone())
        .collect::<Vec<_>>();
    let long = "x".repeat(61);
    for (what, who, form) in [
        (
            "by a non-administrator",
            &hamlet,
            vec![("status_text", "hi")],
        ),
        ("with nothing to change", &iago, vec![]),
        (
            "with a long text",
            &iago,
            vec![("status_text", long.as_str())],
        ),
    ] {
        let (status, body) = app.post(who, "users/6/status", &form).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert!(documented.contains(&body["msg"]), "{what}: {body}");
        assert_valid(
            &format!("POST users/{{user_id}}/status {what}"),
            component("CodedError"),
            &strip_legacy_message(body),
        );
    }

    let settings = response_schema("/settings", "patch", 200);
    for value in ["false", "true"] {
        let (status, body) = app
            .patch(&hamlet, "settings", &[("presence_enabled", value)])
            .await;
        assert_eq!(status, 200, "{body}");
        assert_valid(
            &format!("PATCH settings presence_enabled={value}"),
            settings,
            &body,
        );
    }

    let (status, body) = app
        .get(
            &hamlet,
            "events",
            &[("queue_id", &queue), ("dont_block", "true")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let types: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["user_status", "user_settings", "user_settings"],
        "{body}"
    );
    assert_valid(
        "GET events with user_status and user_settings events",
        response_schema("/events", "get", 200),
        &body,
    );
}

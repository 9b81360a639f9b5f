//! The control API's part of the OpenAPI document follows what the server answers: a real
//! server is driven through a call, a group call, bots, faults, users, queues and its clock,
//! and every control route's success answer must have exactly the fields its response schema
//! documents (none undocumented, every required one present, each of a documented type).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{TestApp, spawn_virtual};
use serde_json::{Value, json};
use zulip_calls_mock::qa::control::PREFIX;
use zulip_calls_mock::qa::control::openapi::{ROUTES, document};
use zulip_calls_protocol::openapi::conformance::mismatches;
use zulip_calls_protocol::settings::Settings;

/// Sends control requests and checks each success answer against the document.
struct Checker<'a> {
    app: &'a TestApp,
    doc: Value,
    /// `(method, path template)` of every route checked.
    checked: BTreeSet<(String, String)>,
    problems: Vec<String>,
}

impl Checker<'_> {
    /// `method` on `path` (its placeholders filled as `template` names them), with `params` in
    /// the query string or as a JSON body; checks the answer and returns it.
    async fn send(&mut self, method: &str, template: &str, path: &str, params: Value) -> Value {
        let url = self.app.control_url(path.trim_start_matches('/'));
        let request = match method {
            "GET" => self.app.http.get(&url).query(&query(&params)),
            "DELETE" => self.app.http.delete(&url).query(&query(&params)),
            _ => self.app.http.post(&url).json(&params),
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let mut body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{method} {path}: {body}");
        let op = &self.doc["paths"][format!("{PREFIX}{template}")][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        let fields = schema["allOf"][1].clone();
        let answer = body.clone();
        let object = body.as_object_mut().unwrap();
        assert_eq!(object.remove("result"), Some(Value::from("success")));
        object.remove("msg");
        let mut out = Vec::new();
        mismatches(&self.doc, &fields, &body, "", &mut out);
        self.problems
            .extend(out.into_iter().map(|m| format!("{method} {template}: {m}")));
        self.checked
            .insert((method.to_owned(), template.to_owned()));
        answer
    }

    async fn get(&mut self, template: &str, path: &str) -> Value {
        self.send("GET", template, path, json!({})).await
    }

    async fn post(&mut self, template: &str, path: &str, body: Value) -> Value {
        self.send("POST", template, path, body).await
    }

    async fn delete(&mut self, template: &str, path: &str) -> Value {
        self.send("DELETE", template, path, json!({})).await
    }
}

/// A JSON object's fields as query parameters (structured ones as JSON text).
fn query(params: &Value) -> Vec<(String, String)> {
    params
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k.clone(), s.clone()),
            other => (k.clone(), other.to_string()),
        })
        .collect()
}

/// Every control route answers with exactly the fields the document gives it, in a state
/// where its lists are not empty: a 1:1 call ringing, a bot's group call, a push, a fault
/// rule, an injected event, a user created and deactivated, the clock moved.
#[tokio::test]
async fn control_answers_have_exactly_the_documented_fields() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let echo = app.account("echo-bot@zulip.com");
    let sleepy = app.account("sleepy-bot@zulip.com");
    let iago = app.account("iago@zulip.com");
    let (status, body) = app
        .post(
            &othello,
            "users/me/android_gcm_reg_id",
            &[("token", "fcm-othello")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.register(&othello).await;
    let spare_queue = app.register(&hamlet).await;
    let call_id = app.call(&hamlet, &othello).await;

    let mut c = Checker {
        app: &app,
        doc: document(),
        checked: BTreeSet::new(),
        problems: Vec::new(),
    };

    // Things to list.
    let fault = c
        .post(
            "/faults",
            "/faults",
            json!({
                "path": "/api/v1/nothing/**",
                "action": { "kind": "respond", "status": 503 },
                "times": 2,
            }),
        )
        .await;
    let fault_id = fault["fault_id"].as_u64().unwrap();
    c.post(
        "/faults",
        "/faults",
        json!({ "method": "GET", "action": { "kind": "delay", "ms": 1 }, "user": "nobody@x" }),
    )
    .await;
    let bot_call = c
        .post(
            "/bots/{user_id}/call",
            &format!("/bots/{}/call", echo.id),
            json!({ "user": "cordelia@zulip.com", "call_type": "video" }),
        )
        .await;
    assert!(bot_call["call_id"].is_string(), "{bot_call}");
    let group = c
        .post(
            "/bots/{user_id}/group-call",
            &format!("/bots/{}/group-call", sleepy.id),
            json!({ "users": [iago.id, "prospero@zulip.com"], "title": "Stand-up" }),
        )
        .await;
    let group_id = group["call_id"].as_str().unwrap().to_owned();
    c.post(
        "/users/{user_id}/events",
        &format!("/users/{}/events", othello.id),
        json!({ "event": { "type": "custom_thing", "n": 1 } }),
    )
    .await;
    let created = c
        .post(
            "/users",
            "/users",
            json!({ "email": "yorick@zulip.com", "full_name": "Yorick", "password": "alas" }),
        )
        .await;
    let yorick = created["user_id"].as_i64().unwrap();
    c.post(
        "/users/{user_id}/deactivate",
        &format!("/users/{yorick}/deactivate"),
        json!({}),
    )
    .await;
    c.post(
        "/users/{user_id}/reactivate",
        &format!("/users/{yorick}/reactivate"),
        json!({}),
    )
    .await;
    c.post(
        "/clock/advance",
        "/clock/advance",
        json!({ "seconds": 1.5 }),
    )
    .await;
    let moved = c
        .post("/clock/advance", "/clock/advance", json!({ "seconds": 90 }))
        .await;
    c.post("/clock/set", "/clock/set", json!({ "now": moved["now"] }))
        .await;
    c.post("/cleanup", "/cleanup", json!({})).await;
    let waited = c
        .post(
            "/wait-for",
            "/wait-for",
            json!({ "condition": { "kind": "push", "user": othello.id } }),
        )
        .await;
    assert!(waited["matched"].is_object(), "{waited}");
    c.post(
        "/wait-for",
        "/wait-for",
        json!({ "condition": { "kind": "request", "path": "/api/v1/calls/**", "since_id": 0 } }),
    )
    .await;
    c.post(
        "/journal/verify",
        "/journal/verify",
        json!({ "path": "/api/v1/calls/**", "at_least": 1 }),
    )
    .await;

    // Every listing, full.
    for (template, key) in [
        ("/pushes", "pushes"),
        ("/journal", "requests"),
        ("/faults", "faults"),
        ("/users", "users"),
        ("/calls", "calls"),
        ("/group-calls", "calls"),
        ("/queues", "queues"),
        ("/bots", "bots"),
    ] {
        let body = c.get(template, template).await;
        let items = body[key].as_array().unwrap();
        assert!(!items.is_empty(), "{template}: {body}");
    }
    c.get("/calls/{call_id}", &format!("/calls/{call_id}"))
        .await;
    let one = c
        .get(
            "/group-calls/{call_id}",
            &format!("/group-calls/{group_id}"),
        )
        .await;
    assert!(!one["audit"].as_array().unwrap().is_empty(), "{one}");
    c.get("/clock", "/clock").await;
    c.get("/server", "/server").await;

    // Taking things away.
    c.post(
        "/users/{user_id}/websockets/close",
        &format!("/users/{}/websockets/close", othello.id),
        json!({ "code": 4000, "reason": "test" }),
    )
    .await;
    c.post(
        "/queues/{queue_id}/expire",
        &format!("/queues/{spare_queue}/expire"),
        json!({}),
    )
    .await;
    c.post(
        "/users/{user_id}/queues/expire",
        &format!("/users/{}/queues/expire", othello.id),
        json!({}),
    )
    .await;
    c.delete("/faults/{fault_id}", &format!("/faults/{fault_id}"))
        .await;
    c.delete("/faults", "/faults").await;
    c.delete("/journal", "/journal").await;
    c.delete("/pushes", "/pushes").await;
    c.post("/reset", "/reset", json!({})).await;

    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let documented: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
        .collect();
    let unchecked: Vec<_> = documented.difference(&c.checked).collect();
    assert!(unchecked.is_empty(), "routes not exercised: {unchecked:?}");
}

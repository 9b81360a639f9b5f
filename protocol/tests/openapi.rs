//! The OpenAPI document: valid OpenAPI 3.1 in structure, every route in it, and its response
//! schemas following the types (checked against the fixtures' serialisations).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use zulip_calls_protocol::endpoint::{API_PREFIX, all_endpoints};
use zulip_calls_protocol::openapi::conformance::{self, mismatches};
use zulip_calls_protocol::openapi::{contract_document, placeholders};

const METHODS: [&str; 4] = ["get", "post", "delete", "patch"];

/// Follows `$ref`s (local ones only) to the schema they name.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    conformance::resolve(doc, schema).unwrap_or_else(|| panic!("{schema} does not resolve"))
}

fn each_ref(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                out.push(reference.clone());
            }
            map.values().for_each(|v| each_ref(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| each_ref(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_in_structure() {
    let doc = contract_document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with('/'), "{path}");
        let declared: BTreeSet<&str> = placeholders(path).collect();
        for (method, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            assert!(
                operation_ids.insert(op["operationId"].as_str().unwrap().to_owned()),
                "duplicate operationId at {method} {path}"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("200"), "{method} {path}");
            for response in responses.values() {
                let response = resolve(&doc, response);
                assert!(response["description"].is_string(), "{method} {path}");
            }
            let params = op.get("parameters").and_then(Value::as_array);
            let in_path: BTreeSet<&str> = params
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(p["required"], true);
                    p["name"].as_str().unwrap()
                })
                .collect();
            assert_eq!(in_path, declared, "path parameters of {method} {path}");
            for param in params.into_iter().flatten() {
                assert!(
                    param.get("schema").is_some() != param.get("content").is_some(),
                    "a parameter has a schema or a content: {method} {path} {param}"
                );
            }
            if method == "get" || method == "delete" {
                assert!(op.get("requestBody").is_none(), "{method} {path}");
            }
            for requirement in op["security"].as_array().unwrap() {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(doc["components"]["securitySchemes"][scheme].is_object());
                }
            }
        }
    }
    let mut refs = Vec::new();
    each_ref(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        assert!(
            doc.pointer(reference.strip_prefix('#').unwrap()).is_some(),
            "{reference} does not resolve"
        );
    }
}

#[test]
fn every_endpoint_is_in_the_document() {
    let doc = contract_document();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let routes: BTreeSet<(String, String)> = all_endpoints()
        .map(|e| {
            (
                e.method.as_str().to_owned(),
                format!("{API_PREFIX}{}", e.path),
            )
        })
        .collect();
    assert_eq!(documented, routes);
    for e in all_endpoints() {
        let op = &doc["paths"][format!("{API_PREFIX}{}", e.path)]
            [e.method.as_str().to_ascii_lowercase()];
        assert_eq!(op["operationId"], e.name);
        let secured = op["security"].as_array().unwrap().len() == 1;
        assert_eq!(
            secured,
            e.auth == zulip_calls_protocol::Auth::Basic,
            "{}",
            e.name
        );
    }
}

/// The success schema's field alternatives of the operation named `name`.
fn response_alternatives<'a>(doc: &'a Value, name: &str) -> Vec<&'a Value> {
    let op = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .find(|op| op["operationId"] == name)
        .unwrap_or_else(|| panic!("no operation {name}"));
    let body = &op["responses"]["200"]["content"]["application/json"]["schema"];
    let fields = resolve(doc, &body["allOf"][1]);
    match fields.get("anyOf").and_then(Value::as_array) {
        Some(branches) => branches.iter().map(|b| resolve(doc, b)).collect(),
        None => vec![fields],
    }
}

/// Every response fixture of an endpoint: `<dir>/<name>.response*.json` for endpoint names
/// `<dir>.<name>`, and the Zulip fixtures by their own names.
fn response_fixtures(name: &str) -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (dir, file) = name.split_once('.').unwrap();
    let zulip = |stems: &[&str]| -> Vec<_> {
        stems
            .iter()
            .map(|s| root.join("zulip").join(format!("{s}.json")))
            .collect()
    };
    match name {
        "zulip.register" => zulip(&["register_response", "register_response_openapi"]),
        "zulip.events" => zulip(&["events_response", "events_heartbeat_response"]),
        "zulip.users_me" => zulip(&["users_me_response"]),
        "zulip.users" => zulip(&["users_response"]),
        "zulip.user" => zulip(&["user_response"]),
        "zulip.server_settings" => zulip(&[
            "server_settings_response",
            "server_settings_response_openapi",
        ]),
        "zulip.fetch_api_key" => zulip(&["fetch_api_key_response"]),
        "zulip.realm_presence" => zulip(&["realm_presence_response_openapi"]),
        "zulip.user_presence" => zulip(&["user_presence_response_openapi"]),
        "zulip.presence_update" => zulip(&[
            "presence_update_response_openapi_legacy",
            "presence_update_response_openapi_modern",
        ]),
        "zulip.user_status" => zulip(&["user_status_response_openapi"]),
        "zulip.settings_update" => zulip(&["settings_update_response_openapi"]),
        _ => {
            let dirs = [dir.to_owned(), "plugin".to_owned()];
            let stem = file.replace('.', "/");
            let mut found = Vec::new();
            for d in dirs {
                let (sub, base) = match stem.rsplit_once('/') {
                    Some((sub, base)) => (format!("{d}/{sub}"), base.to_owned()),
                    None => (d.clone(), stem.clone()),
                };
                let Ok(entries) = std::fs::read_dir(root.join(&sub)) else {
                    continue;
                };
                for entry in entries {
                    let path = entry.unwrap().path();
                    let fname = path.file_name().unwrap().to_str().unwrap().to_owned();
                    if fname.starts_with(&format!("{base}.response")) && fname.ends_with(".json") {
                        found.push(path);
                    }
                }
            }
            found.sort();
            found
        }
    }
}

/// A field added to (or removed from) a response type shows in the document by itself: every
/// response fixture, as its type serialises it, has exactly the documented fields.
#[test]
fn response_schemas_have_exactly_the_fields_the_fixtures_send() {
    let doc = contract_document();
    let mut checked = 0;
    let mut problems = Vec::new();
    let mut without = Vec::new();
    for endpoint in all_endpoints() {
        let fixtures = response_fixtures(endpoint.name);
        if fixtures.is_empty() {
            without.push(endpoint.name);
        }
        let alternatives = response_alternatives(&doc, endpoint.name);
        for fixture in fixtures {
            let mut body: Value =
                serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
            let object = body.as_object_mut().unwrap();
            assert_eq!(object.remove("result"), Some(Value::from("success")));
            object.remove("msg");
            let fits = alternatives.iter().any(|schema| {
                let mut out = Vec::new();
                mismatches(&doc, schema, &body, "", &mut out);
                if alternatives.len() == 1 {
                    problems.extend(out.iter().map(|m| format!("{}: {m}", fixture.display())));
                }
                out.is_empty()
            });
            if !fits && alternatives.len() > 1 {
                problems.push(format!("{}: fits no alternative", fixture.display()));
            }
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(checked >= 30, "only {checked} fixtures checked");
    assert!(
        without.len() <= 12,
        "endpoints without a fixture: {without:?}"
    );
}

//! The OpenAPI 3.1 document of the API, built from the endpoint descriptors and the JSON
//! Schemas of their types, so it cannot drift from what servers and clients exchange: a field
//! added to a response type appears in the document with nothing else changed.
//!
//! Parameters travel as Zulip sends them: in the query string for `GET` and `DELETE`, as an
//! `application/x-www-form-urlencoded` body otherwise, lists and objects as JSON text.
//! Success bodies are the endpoint's fields beside `"result": "success"` and `"msg": ""`;
//! errors are the error envelope ([`ApiError`]) with its `code`.

pub mod conformance;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::endpoint::{API_PREFIX, Auth, EndpointInfo, SchemaFn, Verb, all_endpoints};
use crate::envelope::ApiError;

/// The OpenAPI version the document declares (its schemas are JSON Schema 2020-12).
pub const OPENAPI_VERSION: &str = "3.1.0";

/// Where the named schemas live, as `$ref`s point at them.
const SCHEMAS_PATH: &str = "/components/schemas";

/// How an operation authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// No credentials.
    None,
    /// HTTP Basic `email:api_key` (the Zulip API).
    Basic,
    /// `Authorization: Bearer <token>` when the server has an admin token, else nothing (a
    /// mock server's control API).
    OptionalBearer,
}

/// One operation to document: what a descriptor holds, for routes outside the calls contract
/// too (a mock server's control API).
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Verb,
    /// The absolute path with `{name}` placeholders.
    pub path: String,
    /// Unique across the document (the dotted endpoint name).
    pub operation_id: String,
    pub summary: String,
    pub tag: String,
    pub security: Security,
    /// The placeholder's value, when the path has one.
    pub path_schema: Option<SchemaFn>,
    /// The parameters; their alternatives (another dialect's view of the route) are merged.
    pub requests: Vec<SchemaFn>,
    /// The success fields; several are alternatives (`anyOf`).
    pub responses: Vec<SchemaFn>,
    /// The success body is the fields alone, without `result` and `msg`.
    pub bare_response: bool,
    /// The body may be a JSON object too (a mock server's control API reads both).
    pub json_body: bool,
}

impl Operation {
    /// The operation of a calls-contract descriptor, with other dialects' views of its route.
    pub fn from_endpoint(info: &EndpointInfo, views: &[EndpointInfo]) -> Self {
        let mut requests = vec![info.schemas.request];
        let mut responses = vec![info.schemas.response];
        for view in views {
            requests.push(view.schemas.request);
            responses.push(view.schemas.response);
        }
        let tag = info.name.split('.').next().unwrap_or(info.name).to_owned();
        Operation {
            method: info.method,
            path: format!("{API_PREFIX}{}", info.path),
            operation_id: info.name.to_owned(),
            summary: info.name.to_owned(),
            tag,
            security: match info.auth {
                Auth::None => Security::None,
                Auth::Basic => Security::Basic,
            },
            path_schema: info.path.contains('{').then_some(info.schemas.path),
            requests,
            responses,
            bare_response: false,
            json_body: false,
        }
    }
}

/// Every route of the calls contract (both dialects, each path once) and Zulip's, as
/// operations; the 1.1 dialect's and a both-dialects server's views of shared paths are
/// alternatives of the same operation.
pub fn contract_operations() -> Vec<Operation> {
    all_endpoints()
        .map(|info| {
            let views: Vec<EndpointInfo> = crate::plugin::SHARED_ENDPOINTS
                .iter()
                .chain(crate::plugin::BOTH_DIALECTS_ENDPOINTS)
                .filter(|v| v.method == info.method && v.path == info.path)
                .copied()
                .collect();
            Operation::from_endpoint(&info, &views)
        })
        .collect()
}

/// The JSON Schema of `T`, for [`Operation`]s built by hand.
pub fn schema_fn<T: JsonSchema>() -> SchemaFn {
    |generator| T::json_schema(generator)
}

/// Builds the document: named response schemas under `components`, request schemas inline.
#[derive(Debug)]
pub struct DocumentBuilder {
    /// Responses, as a server writes them.
    responses: SchemaGenerator,
    /// Parameters, as a server reads them (defaults make fields optional), inlined so they
    /// never clash with the response side's schema of the same type.
    requests: SchemaGenerator,
    paths: Map<String, Value>,
}

impl Default for DocumentBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl DocumentBuilder {
    /// An empty document.
    pub fn new() -> Self {
        let responses = SchemaSettings::draft2020_12()
            .for_serialize()
            .with(|s| {
                s.definitions_path = SCHEMAS_PATH.into();
                s.meta_schema = None;
            })
            .into_generator();
        let requests = SchemaSettings::draft2020_12()
            .for_deserialize()
            .with(|s| {
                s.definitions_path = SCHEMAS_PATH.into();
                s.meta_schema = None;
                s.inline_subschemas = true;
            })
            .into_generator();
        DocumentBuilder {
            responses,
            requests,
            paths: Map::new(),
        }
    }

    /// Adds `operation` (a path and method already present are replaced).
    pub fn add(&mut self, operation: &Operation) {
        let mut op = Map::new();
        op.insert("operationId".into(), json!(operation.operation_id));
        op.insert("summary".into(), json!(operation.summary));
        op.insert("tags".into(), json!([operation.tag]));
        op.insert(
            "security".into(),
            match operation.security {
                Security::None => json!([]),
                Security::Basic => json!([{ "basicAuth": [] }]),
                Security::OptionalBearer => json!([{}, { "adminToken": [] }]),
            },
        );

        let mut parameters = Vec::new();
        if let Some(path_schema) = operation.path_schema {
            let schema = path_schema(&mut self.requests).to_value();
            for name in placeholders(&operation.path) {
                parameters.push(json!({
                    "name": name, "in": "path", "required": true, "schema": schema,
                }));
            }
        }
        let (properties, required) = self.request_properties(&operation.requests);
        if operation.method.params_in_query() {
            for (name, schema) in &properties {
                let mut param = json!({
                    "name": name, "in": "query", "required": required.contains(name),
                });
                if is_structured(schema) {
                    param["content"] = json!({ "application/json": { "schema": schema } });
                } else {
                    param["schema"] = schema.clone();
                }
                parameters.push(param);
            }
        } else if !properties.is_empty() {
            let encoding: Map<String, Value> = properties
                .iter()
                .filter(|(_, schema)| is_structured(schema))
                .map(|(name, _)| (name.clone(), json!({ "contentType": "application/json" })))
                .collect();
            let schema =
                json!({ "type": "object", "properties": properties, "required": required });
            let mut media = json!({ "schema": schema });
            if !encoding.is_empty() {
                media["encoding"] = Value::Object(encoding);
            }
            let mut content = json!({ "application/x-www-form-urlencoded": media });
            if operation.json_body {
                content["application/json"] = json!({ "schema": schema });
            }
            op.insert(
                "requestBody".into(),
                json!({ "required": !required.is_empty(), "content": content }),
            );
        }
        if !parameters.is_empty() {
            op.insert("parameters".into(), Value::Array(parameters));
        }

        let mut fields: Vec<Value> = operation
            .responses
            .iter()
            .map(|schema| schema(&mut self.responses).to_value())
            .collect();
        fields.dedup();
        let fields = if fields.len() == 1 {
            fields.remove(0)
        } else {
            json!({ "anyOf": fields })
        };
        let body = if operation.bare_response {
            fields
        } else {
            json!({ "allOf": [{ "$ref": "#/components/schemas/SuccessEnvelope" }, fields] })
        };
        op.insert(
            "responses".into(),
            json!({
                "200": {
                    "description": "Success",
                    "content": { "application/json": { "schema": body } },
                },
                "4XX": { "$ref": "#/components/responses/Error" },
            }),
        );

        let item = self
            .paths
            .entry(operation.path.clone())
            .or_insert_with(|| json!({}));
        item[operation.method.as_str().to_ascii_lowercase()] = Value::Object(op);
    }

    /// The parameters' schemas, merged over alternatives: every field of any, required when
    /// every alternative requires it.
    fn request_properties(&mut self, requests: &[SchemaFn]) -> (Map<String, Value>, Vec<String>) {
        let mut properties = Map::new();
        let mut required: Option<Vec<String>> = None;
        for request in requests {
            let schema = request(&mut self.requests).to_value();
            let mut branch_props = Map::new();
            let mut branch_required = Vec::new();
            collect_object(&schema, &mut branch_props, &mut branch_required);
            for (name, mut prop) in branch_props {
                drop_null(&mut prop);
                properties.entry(name).or_insert(prop);
            }
            required = Some(match required {
                None => branch_required,
                Some(before) => before
                    .into_iter()
                    .filter(|name| branch_required.contains(name))
                    .collect(),
            });
        }
        (properties, required.unwrap_or_default())
    }

    /// The finished document.
    pub fn finish(mut self, title: &str, version: &str, description: &str) -> Value {
        let error = self.responses.subschema_for::<ApiError>().to_value();
        let mut schemas = self.responses.take_definitions(true);
        schemas.insert(
            "SuccessEnvelope".into(),
            json!({
                "type": "object",
                "description": "Beside every success response's own fields.",
                "required": ["result"],
                "properties": {
                    "result": { "const": "success" },
                    "msg": { "type": "string" },
                },
            }),
        );
        json!({
            "openapi": OPENAPI_VERSION,
            "info": { "title": title, "version": version, "description": description },
            "paths": self.paths,
            "components": {
                "schemas": schemas,
                "responses": {
                    "Error": {
                        "description": "The error envelope: `result: error`, `msg`, `code`, and the code's own fields",
                        "content": { "application/json": { "schema": error } },
                    },
                },
                "securitySchemes": {
                    "basicAuth": {
                        "type": "http",
                        "scheme": "basic",
                        "description": "The user's email and API key",
                    },
                    "adminToken": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "The server's admin token, when it has one",
                    },
                },
            },
        })
    }
}

/// The document of the calls contract and Zulip's routes alone.
pub fn contract_document() -> Value {
    let mut builder = DocumentBuilder::new();
    for operation in contract_operations() {
        builder.add(&operation);
    }
    builder.finish(
        "Zulip Calls API",
        env!("CARGO_PKG_VERSION"),
        "The calls plugin's API in both dialects and the part of Zulip's API a calls client uses.",
    )
}

/// The `{name}` placeholders of a path template.
pub fn placeholders(path: &str) -> impl Iterator<Item = &str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// A parameter is present or absent, never `null`: `Option`'s `null` leaves its schema.
fn drop_null(schema: &mut Value) {
    let is_null = |v: &Value| v.is_null() || v.as_str() == Some("null");
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| !is_null(t));
        if types.len() == 1 {
            let only = types.remove(0);
            schema["type"] = only;
        }
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if let Some(Value::Array(branches)) = schema.get_mut("anyOf") {
        branches.retain(|b| !b.get("type").is_some_and(is_null));
        if branches.len() == 1 {
            let only = branches.remove(0);
            if let (Some(object), Value::Object(inner)) = (schema.as_object_mut(), only) {
                object.remove("anyOf");
                object.extend(inner);
            }
        }
    }
}

/// Lists and objects travel as JSON text in forms and query strings.
fn is_structured(schema: &Value) -> bool {
    let is = |t: &Value| matches!(t.as_str(), Some("array" | "object"));
    match schema.get("type") {
        Some(Value::Array(types)) => types.iter().any(is),
        Some(t) => is(t),
        None => schema.get("properties").is_some(),
    }
}

/// The properties and required names of an object schema, through `allOf`, `anyOf` and
/// `oneOf` (whose branches' fields are all optional).
fn collect_object(schema: &Value, properties: &mut Map<String, Value>, required: &mut Vec<String>) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            properties
                .entry(name.clone())
                .or_insert_with(|| prop.clone());
        }
    }
    if let Some(names) = schema.get("required").and_then(Value::as_array) {
        required.extend(names.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            collect_object(part, properties, required);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let mut ignored = Vec::new();
            for branch in branches {
                collect_object(branch, properties, &mut ignored);
            }
        }
    }
}

//! Endpoint descriptors: method, path, auth, request and response of every route, so the
//! server's router and the client's API layer take them from one place.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ids::{CallId, UserId};

/// Every API path starts with this.
pub const API_PREFIX: &str = "/api/v1/";

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Get,
    Post,
    Delete,
    /// Zulip's settings changes (`PATCH settings`).
    Patch,
}

impl Verb {
    /// The `http` crate's method.
    pub fn to_http(self) -> http::Method {
        match self {
            Verb::Get => http::Method::GET,
            Verb::Post => http::Method::POST,
            Verb::Delete => http::Method::DELETE,
            Verb::Patch => http::Method::PATCH,
        }
    }

    /// Parameters travel in the query string (`GET`, `DELETE`) rather than a form body.
    pub const fn params_in_query(self) -> bool {
        matches!(self, Verb::Get | Verb::Delete)
    }

    /// The method's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Delete => "DELETE",
            Verb::Patch => "PATCH",
        }
    }
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an endpoint authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// No credentials (`server_settings`, `fetch_api_key`).
    None,
    /// HTTP Basic `email:api_key`.
    Basic,
}

/// One route of the API.
pub trait Endpoint {
    /// A stable dotted name for logs and journals, e.g. `calls.start`.
    const NAME: &'static str;
    const METHOD: Verb;
    /// The path below [`API_PREFIX`], with `{name}` placeholders (axum 0.8 syntax).
    const PATH: &'static str;
    const AUTH: Auth;
    /// What fills the path's placeholders: `()` when there are none. Its schema is that of
    /// the one placeholder.
    type Path: PathParams + JsonSchema;
    /// Query or form parameters.
    type Request: Serialize + DeserializeOwned + std::fmt::Debug + JsonSchema;
    /// The fields of a success response, beside `result` and `msg`.
    type Response: Serialize + DeserializeOwned + std::fmt::Debug + JsonSchema;
}

/// Values for a path template's placeholders.
pub trait PathParams {
    /// `template` with its placeholders filled.
    fn render(&self, template: &str) -> String;
}

impl PathParams for () {
    fn render(&self, template: &str) -> String {
        template.to_owned()
    }
}

impl PathParams for CallId {
    fn render(&self, template: &str) -> String {
        template.replace("{call_id}", &self.to_string())
    }
}

impl PathParams for UserId {
    fn render(&self, template: &str) -> String {
        template.replace("{user_id}", &self.to_string())
    }
}

/// The absolute path of a request to `E` (e.g. `/api/v1/calls/<uuid>`).
pub fn request_path<E: Endpoint>(path: &E::Path) -> String {
    format!("{API_PREFIX}{}", path.render(E::PATH))
}

/// The absolute route template of `E` for a router (e.g. `/api/v1/calls/{call_id}`).
pub fn route<E: Endpoint>() -> String {
    format!("{API_PREFIX}{}", E::PATH)
}

/// An endpoint's descriptor as plain data, for listings, journals, coverage tests and the
/// OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub struct EndpointInfo {
    pub name: &'static str,
    pub method: Verb,
    pub path: &'static str,
    pub auth: Auth,
    /// The JSON Schemas of its types, so a document built from descriptors follows the types.
    pub schemas: EndpointSchemas,
}

/// Builds one JSON Schema into a generator (which collects the named subschemas).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The JSON Schemas of an endpoint's path value, parameters and response fields.
#[derive(Clone, Copy)]
pub struct EndpointSchemas {
    /// The path placeholder's value (`null` when the path has none).
    pub path: SchemaFn,
    /// The query or form parameters.
    pub request: SchemaFn,
    /// The response's fields beside `result` and `msg`.
    pub response: SchemaFn,
}

impl std::fmt::Debug for EndpointSchemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EndpointSchemas")
    }
}

/// Descriptors are the same route when name, method, path and auth agree: the schemas
/// follow from the types, and function pointers do not compare reliably.
impl PartialEq for EndpointInfo {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for EndpointInfo {}

impl std::hash::Hash for EndpointInfo {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl EndpointInfo {
    fn key(&self) -> (&'static str, Verb, &'static str, Auth) {
        (self.name, self.method, self.path, self.auth)
    }
}

/// The schema of `T` as a field or parameter sees it (named parts become `$ref`s).
fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

/// The descriptor of `E`.
pub const fn info<E: Endpoint>() -> EndpointInfo {
    EndpointInfo {
        name: E::NAME,
        method: E::METHOD,
        path: E::PATH,
        auth: E::AUTH,
        schemas: EndpointSchemas {
            path: schema_of::<E::Path>,
            request: schema_of::<E::Request>,
            response: schema_of::<E::Response>,
        },
    }
}

/// Every route of the contract, each once: the plugin's (spec §4), the routes only the 1.1
/// dialect has, then Zulip's (spec §5, §6, §9).
pub fn all_endpoints() -> impl Iterator<Item = EndpointInfo> {
    crate::calls::ENDPOINTS
        .iter()
        .chain(crate::plugin::ENDPOINTS)
        .chain(crate::zulip::ENDPOINTS)
        .copied()
}

/// Declares an endpoint type and its [`Endpoint`] impl.
macro_rules! endpoint {
    (
        $(#[$meta:meta])*
        $name:ident: $method:ident $path:literal, auth $auth:ident,
        name $dotted:literal, path $path_ty:ty, $req:ty => $resp:ty
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl $crate::endpoint::Endpoint for $name {
            const NAME: &'static str = $dotted;
            const METHOD: $crate::endpoint::Verb = $crate::endpoint::Verb::$method;
            const PATH: &'static str = $path;
            const AUTH: $crate::endpoint::Auth = $crate::endpoint::Auth::$auth;
            type Path = $path_ty;
            type Request = $req;
            type Response = $resp;
        }
    };
}

pub(crate) use endpoint;

/// An empty parameter set or response body (`{}` beside the envelope).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
pub struct Empty {}

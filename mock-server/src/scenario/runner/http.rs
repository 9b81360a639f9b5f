//! The runner's HTTP client: requests as an actor, as nobody or to the control API, and what
//! the server answered. Kept apart so the steps deal in answers, not in transport.

use std::time::Duration;

use serde_json::{Map, Value};
use zulip_calls_protocol::endpoint::API_PREFIX;

use crate::scenario::vars::form_value;

/// The control API's prefix.
pub(super) const CONTROL: &str = "/mock/v1";
/// How long an ordinary request may take.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a server answered.
#[derive(Debug, Clone)]
pub(super) struct Answer {
    pub(super) status: u16,
    /// `Null` when the body was not JSON.
    pub(super) body: Value,
    pub(super) text: String,
}

impl Answer {
    pub(super) fn field(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    pub(super) fn is_success(&self) -> bool {
        self.status == 200 && self.field("result") == Some("success")
    }

    /// `409 USER_BUSY: "King Hamlet is currently in another call"`, `200`, or the start of a
    /// body that is not JSON.
    pub(super) fn describe(&self) -> String {
        if self.body.is_null() {
            let text: String = self.text.chars().take(120).collect();
            return format!("{} with a body that is not JSON: {text:?}", self.status);
        }
        match (self.field("result"), self.field("code")) {
            (Some("error"), code) => {
                let msg = self.field("msg").or(self.field("message")).unwrap_or("");
                format!("{} {}: {msg:?}", self.status, code.unwrap_or("(no code)"))
            }
            _ => self.status.to_string(),
        }
    }

    /// A route the server does not have: the JSON 404 of an unknown path, or 405.
    pub(super) fn route_missing(&self) -> bool {
        self.status == 405 || (self.status == 404 && self.field("msg") == Some("Not Found"))
    }
}

/// An actor's credentials and id.
#[derive(Debug, Clone)]
pub(super) struct Identity {
    pub(super) email: String,
    pub(super) api_key: String,
    pub(super) user_id: i64,
}

#[derive(Debug)]
pub(super) struct Http {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// Whom a request is sent as.
pub(super) enum As<'a> {
    User(&'a Identity),
    Nobody,
    Control,
}

impl Http {
    pub(super) fn new(base: &str, token: Option<String>) -> Result<Http, String> {
        let mut builder = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT);
        // A proxy from the environment must not swallow requests to this machine.
        let local = url::Url::parse(base).ok().is_some_and(|u| match u.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        });
        if local {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Http {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Sends a request; parameters go in the query for GET and DELETE, in a form (or JSON)
    /// body otherwise.
    pub(super) async fn send(
        &self,
        who: As<'_>,
        method: reqwest::Method,
        path: &str,
        params: &Map<String, Value>,
        json_body: bool,
        timeout: Duration,
    ) -> Result<Option<Answer>, String> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.request(method.clone(), &url).timeout(timeout);
        request = match who {
            As::User(id) => request.basic_auth(&id.email, Some(&id.api_key)),
            As::Nobody => request,
            As::Control => match &self.token {
                Some(token) => request.bearer_auth(token),
                None => request,
            },
        };
        let pairs: Vec<(String, String)> = params
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), form_value(v)))
            .collect();
        request = if json_body {
            request.json(params)
        } else if matches!(method, reqwest::Method::GET | reqwest::Method::DELETE) {
            request.query(&pairs)
        } else {
            request.form(&pairs)
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) if err.is_timeout() => return Ok(None),
            Err(err) => return Err(transport_error(&self.base, &err)),
        };
        let status = response.status().as_u16();
        let text = match response.text().await {
            Ok(text) => text,
            Err(err) if err.is_timeout() => return Ok(None),
            Err(err) => return Err(transport_error(&self.base, &err)),
        };
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Some(Answer { status, body, text }))
    }

    /// [`Http::send`] where running out of time is a failure.
    pub(super) async fn call(
        &self,
        who: As<'_>,
        method: reqwest::Method,
        path: &str,
        params: &Map<String, Value>,
        json_body: bool,
    ) -> Result<Answer, String> {
        let what = format!("{method} {path}");
        self.send(who, method, path, params, json_body, REQUEST_TIMEOUT)
            .await?
            .ok_or_else(|| format!("{what}: no answer within {} s", REQUEST_TIMEOUT.as_secs()))
    }

    pub(super) async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        params: &Map<String, Value>,
    ) -> Result<Answer, String> {
        let json_body = method == reqwest::Method::POST;
        self.call(
            As::Control,
            method,
            &format!("{CONTROL}{path}"),
            params,
            json_body,
        )
        .await
    }
}

/// One line for a failed request: the innermost cause says most.
fn transport_error(base: &str, err: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    format!("cannot reach the server at {base}: {cause}")
}

pub(super) fn api_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{API_PREFIX}{path}")
    }
}

pub(super) fn params(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

//! Resolving a step's `request = "..."` to a method and path: by the contract's endpoint
//! names, by its paths, or as written with an explicit method. Kept apart because it is the one
//! part of loading that reads the protocol's endpoint contract.

use zulip_calls_protocol::endpoint::{API_PREFIX, EndpointInfo, all_endpoints};

/// Where a request goes: method, path and the parameters that fill its placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub method: reqwest::Method,
    pub path: String,
    pub path_params: Vec<String>,
}

/// Resolves `POST calls/create`, `calls/create`, `calls.create`, `GET calls/${call}` or
/// `/api/v1/calls/active`: the method may be left out when the contract has the endpoint.
pub fn resolve_endpoint(text: &str) -> Result<Target, String> {
    let text = text.trim();
    let (method, target) = match text.split_once(char::is_whitespace) {
        Some((m, rest)) => {
            let method = match m.to_ascii_uppercase().as_str() {
                "GET" => reqwest::Method::GET,
                "POST" => reqwest::Method::POST,
                "DELETE" => reqwest::Method::DELETE,
                "PUT" => reqwest::Method::PUT,
                "PATCH" => reqwest::Method::PATCH,
                _ => {
                    return Err(format!(
                        "{m:?} is not an HTTP method (GET, POST, DELETE, ...)"
                    ));
                }
            };
            (Some(method), rest.trim())
        }
        None => (None, text),
    };
    if target.is_empty() {
        return Err("no endpoint given".into());
    }
    let endpoints: Vec<EndpointInfo> = all_endpoints().collect();
    let verb_matches = |info: &EndpointInfo| {
        method
            .as_ref()
            .is_none_or(|m| m.as_str() == info.method.as_str())
    };
    if !target.contains('/') && target.contains('.') {
        let info = endpoints.iter().find(|e| e.name == target).ok_or_else(|| {
            format!("no endpoint is named {target:?} (see `zulip-calls-mock endpoints`)")
        })?;
        if !verb_matches(info) {
            return Err(format!("{target} is {} {}", info.method, info.path));
        }
        return Ok(Target {
            method: reqwest::Method::from_bytes(info.method.as_str().as_bytes())
                .unwrap_or(reqwest::Method::GET),
            path: info.path.to_owned(),
            path_params: placeholders(info.path),
        });
    }
    let relative = target
        .strip_prefix(API_PREFIX)
        .or_else(|| target.strip_prefix(API_PREFIX.trim_end_matches('/')))
        .unwrap_or(target);
    if let Some(method) = method {
        return Ok(Target {
            method,
            path: relative.to_owned(),
            path_params: Vec::new(),
        });
    }
    // No method: the contract's endpoint with this path, literal segments before placeholders.
    let best = endpoints
        .iter()
        .filter(|e| path_matches(e.path, relative))
        .min_by_key(|e| placeholders(e.path).len());
    match best {
        Some(info) => Ok(Target {
            method: reqwest::Method::from_bytes(info.method.as_str().as_bytes())
                .unwrap_or(reqwest::Method::GET),
            path: relative.to_owned(),
            path_params: Vec::new(),
        }),
        None => Err(format!(
            "no endpoint of the contract has the path {relative:?}; write the method, e.g. \
             \"POST {relative}\""
        )),
    }
}

/// The `{name}` placeholders of a path template.
fn placeholders(template: &str) -> Vec<String> {
    template
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

/// Whether `path` (which may hold `${...}`) fits `template` segment by segment.
fn path_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_resolve_by_path_name_or_explicit_method() {
        let t = resolve_endpoint("calls/active").unwrap();
        assert_eq!(
            (t.method, t.path.as_str()),
            (reqwest::Method::GET, "calls/active")
        );
        let t = resolve_endpoint("calls/${call}").unwrap();
        assert_eq!(t.method, reqwest::Method::GET);
        let t = resolve_endpoint("/api/v1/calls/end").unwrap();
        assert_eq!(
            (t.method, t.path.as_str()),
            (reqwest::Method::POST, "calls/end")
        );
        let t = resolve_endpoint("calls.get").unwrap();
        assert_eq!(t.path, "calls/{call_id}");
        assert_eq!(t.path_params, ["call_id"]);
        let t = resolve_endpoint("DELETE events").unwrap();
        assert_eq!(t.method, reqwest::Method::DELETE);
        let t = resolve_endpoint("post calls/nonexistent").unwrap();
        assert_eq!(t.method, reqwest::Method::POST);
        assert!(
            resolve_endpoint("nothing/here")
                .unwrap_err()
                .contains("write the method")
        );
        assert!(
            resolve_endpoint("calls.nope")
                .unwrap_err()
                .contains("no endpoint is named")
        );
        assert!(
            resolve_endpoint("FETCH calls/end")
                .unwrap_err()
                .contains("not an HTTP method")
        );
    }
}

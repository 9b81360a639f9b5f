//! Describing requests to look for: path globs, users named by id or email, and the request
//! patterns the journal, its verification and `wait-for` share (CONTROL-API.md, "Request
//! journal"). Fault rules use the same globs and user references, so a path or a user means
//! the same thing everywhere in the control API.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use zulip_calls_protocol::UserId;

use crate::qa::journal::JournalEntry;

/// A path glob: `*` matches within one segment, `**` across segments, anything else itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct PathGlob(pub String);

impl PathGlob {
    /// Whether `path` matches the glob.
    pub fn matches(&self, path: &str) -> bool {
        glob_match(self.0.as_bytes(), path.as_bytes())
    }
}

impl fmt::Display for PathGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Backtracking glob matcher; patterns are short, so the worst case does not matter.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern {
        [] => text.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=text.len()).any(|i| glob_match(rest, &text[i..])),
        [b'*', rest @ ..] => {
            // One segment at most: stop at the first `/`.
            let end = text.iter().position(|&b| b == b'/').unwrap_or(text.len());
            (0..=end).any(|i| glob_match(rest, &text[i..]))
        }
        [first, rest @ ..] => text
            .split_first()
            .is_some_and(|(head, tail)| head == first && glob_match(rest, tail)),
    }
}

/// A user as the control API names them: a user id or an email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(UserId),
    Email(String),
}

impl UserRef {
    /// Whether a request made as `user_id` (set only for valid credentials) claiming `email`
    /// is this user. An id needs valid credentials; an email matches what the request claimed,
    /// so requests with a wrong key can be found too.
    pub fn matches(&self, user_id: Option<UserId>, email: Option<&str>) -> bool {
        match self {
            UserRef::Id(id) => user_id == Some(*id),
            UserRef::Email(expected) => email.is_some_and(|e| e.eq_ignore_ascii_case(expected)),
        }
    }

    /// Parses a parameter's text: digits are an id, anything else an email.
    pub fn parse(text: &str) -> UserRef {
        match text.trim().parse::<i64>() {
            Ok(id) => UserRef::Id(UserId(id)),
            Err(_) => UserRef::Email(text.trim().to_owned()),
        }
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserRef::Id(id) => write!(f, "user {id}"),
            UserRef::Email(email) => f.write_str(email),
        }
    }
}

/// A user id (an integer, or digits as text) or an email address.
impl schemars::JsonSchema for UserRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "UserRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A user id, or an email address",
            "type": ["integer", "string"],
        })
    }
}

impl Serialize for UserRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            UserRef::Id(id) => id.serialize(s),
            UserRef::Email(email) => email.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for UserRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct UserRefVisitor;

        impl Visitor<'_> for UserRefVisitor {
            type Value = UserRef;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user id or an email address")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<UserRef, E> {
                Ok(UserRef::Id(UserId(v)))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<UserRef, E> {
                i64::try_from(v)
                    .map(|v| UserRef::Id(UserId(v)))
                    .map_err(|_| E::custom("user id out of range"))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<UserRef, E> {
                if v.trim().is_empty() {
                    return Err(E::custom("empty user"));
                }
                Ok(UserRef::parse(v))
            }
        }

        d.deserialize_any(UserRefVisitor)
    }
}

/// A parameter value as text, for comparing values that arrived as form text or JSON alike.
pub fn param_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Which journaled requests to look for; absent fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequestPattern {
    /// Exact, case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathGlob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Every key must be present with this value, compared as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
}

impl RequestPattern {
    /// Whether `entry` matches every field given.
    pub fn matches(&self, entry: &JournalEntry) -> bool {
        self.differences(entry).is_empty()
    }

    /// How `entry` differs from the pattern, one line per field ("path: expected /a, got
    /// /b"); empty when it matches.
    pub fn differences(&self, entry: &JournalEntry) -> Vec<String> {
        self.compare(entry)
            .into_iter()
            .map(|(_, line)| line)
            .collect()
    }

    /// How far `entry` is from matching: each differing field counts one, except a path,
    /// which counts each differing segment, so `/calls/end` is nearer `/calls/create` than
    /// `/users/me` is.
    pub fn distance(&self, entry: &JournalEntry) -> usize {
        self.compare(entry)
            .into_iter()
            .map(|(weight, _)| weight)
            .sum()
    }

    fn compare(&self, entry: &JournalEntry) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        if let Some(method) = &self.method
            && !method.eq_ignore_ascii_case(&entry.method)
        {
            out.push((
                1,
                format!(
                    "method: expected {}, got {}",
                    method.to_uppercase(),
                    entry.method
                ),
            ));
        }
        if let Some(path) = &self.path
            && !path.matches(&entry.path)
        {
            out.push((
                segment_distance(&path.0, &entry.path),
                format!("path: expected {path}, got {}", entry.path),
            ));
        }
        if let Some(user) = &self.user
            && !user.matches(entry.user_id, entry.user_email.as_deref())
        {
            out.push((
                1,
                format!("user: expected {user}, got {}", describe_user(entry)),
            ));
        }
        if let Some(status) = self.status
            && status != entry.status
        {
            out.push((
                1,
                format!("status: expected {status}, got {}", entry.status),
            ));
        }
        for (name, expected) in self.params.iter().flatten() {
            let expected = param_text(expected);
            match entry.params.get(name) {
                Some(actual) if param_text(&actual) == expected => {}
                Some(actual) => out.push((
                    1,
                    format!(
                        "params.{name}: expected {expected}, got {}",
                        param_text(&actual)
                    ),
                )),
                None => out.push((1, format!("params.{name}: expected {expected}, absent"))),
            }
        }
        out
    }
}

impl fmt::Display for RequestPattern {
    /// E.g. `POST /api/v1/calls/* by hamlet@zulip.com with status 200 and params
    /// {"user_id":"6"}`; `any request` when nothing is constrained.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        match (&self.method, &self.path) {
            (Some(method), Some(path)) => parts.push(format!("{} {path}", method.to_uppercase())),
            (Some(method), None) => parts.push(format!("{} request", method.to_uppercase())),
            (None, Some(path)) => parts.push(format!("request to {path}")),
            (None, None) => parts.push("any request".to_owned()),
        }
        if let Some(user) = &self.user {
            parts.push(format!("by {user}"));
        }
        if let Some(status) = self.status {
            parts.push(format!("with status {status}"));
        }
        if let Some(params) = &self.params {
            parts.push(format!("and params {}", Value::Object(params.clone())));
        }
        f.write_str(&parts.join(" "))
    }
}

/// `hamlet@zulip.com (10)`, `hamlet@zulip.com (invalid credentials)` or `anonymous`.
pub fn describe_user(entry: &JournalEntry) -> String {
    match (&entry.user_email, entry.user_id) {
        (Some(email), Some(id)) => format!("{email} ({id})"),
        (Some(email), None) => format!("{email} (invalid credentials)"),
        (None, Some(id)) => format!("user {id}"),
        (None, None) => "anonymous".to_owned(),
    }
}

/// Segments that differ position by position (a glob segment matches like the glob), plus
/// the difference in length; at least one, since the caller knows the paths differ.
fn segment_distance(pattern: &str, path: &str) -> usize {
    let expected: Vec<&str> = pattern.split('/').collect();
    let actual: Vec<&str> = path.split('/').collect();
    let differing = expected
        .iter()
        .zip(&actual)
        .filter(|(e, a)| !glob_match(e.as_bytes(), a.as_bytes()))
        .count();
    (differing + expected.len().abs_diff(actual.len())).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn glob(p: &str) -> PathGlob {
        PathGlob(p.to_owned())
    }

    #[test]
    fn single_star_stays_within_a_segment() {
        assert!(glob("/api/v1/calls/*").matches("/api/v1/calls/create"));
        assert!(!glob("/api/v1/calls/*").matches("/api/v1/calls/a/b"));
        assert!(glob("/api/v1/*/create").matches("/api/v1/calls/create"));
        assert!(glob("/api/v1/calls/cr*").matches("/api/v1/calls/create"));
        assert!(!glob("/api/v1/calls/cr*").matches("/api/v1/calls/end"));
    }

    #[test]
    fn double_star_crosses_segments() {
        assert!(glob("/api/**").matches("/api/v1/calls/create"));
        assert!(glob("/**/create").matches("/api/v1/calls/create"));
        assert!(!glob("/**/create").matches("/api/v1/calls/end"));
        assert!(glob("/api/v1/calls/create").matches("/api/v1/calls/create"));
        assert!(!glob("/api/v1/calls/create").matches("/api/v1/calls/creates"));
    }

    #[test]
    fn users_parse_as_ids_or_emails() {
        assert_eq!(UserRef::parse("10"), UserRef::Id(UserId(10)));
        assert_eq!(
            UserRef::parse("hamlet@zulip.com"),
            UserRef::Email("hamlet@zulip.com".into())
        );
        let from_json: UserRef = serde_json::from_value(json!(6)).unwrap();
        assert_eq!(from_json, UserRef::Id(UserId(6)));
        assert!(UserRef::Email("HAMLET@zulip.com".into()).matches(None, Some("hamlet@zulip.com")));
        assert!(!UserRef::Id(UserId(10)).matches(None, Some("hamlet@zulip.com")));
    }

    fn entry() -> JournalEntry {
        JournalEntry {
            id: 1,
            at: zulip_calls_protocol::Timestamp::from_unix_seconds(0).unwrap(),
            method: "POST".into(),
            path: "/api/v1/calls/end".into(),
            user_id: Some(UserId(10)),
            user_email: Some("hamlet@zulip.com".into()),
            params: json!({"call_id": "c1", "n": 6})
                .as_object()
                .unwrap()
                .clone()
                .into(),
            status: 200,
            error_code: None,
            latency_ms: 1.0,
        }
    }

    #[test]
    fn differences_name_each_field() {
        let pattern: RequestPattern = serde_json::from_value(json!({
            "method": "post",
            "path": "/api/v1/calls/create",
            "user": "othello@zulip.com",
            "status": 400,
            "params": {"n": "6", "missing": 1},
        }))
        .unwrap();
        assert_eq!(
            pattern.differences(&entry()),
            [
                "path: expected /api/v1/calls/create, got /api/v1/calls/end",
                "user: expected othello@zulip.com, got hamlet@zulip.com (10)",
                "status: expected 400, got 200",
                "params.missing: expected 1, absent",
            ]
        );
        assert_eq!(pattern.distance(&entry()), 4);
        let matching: RequestPattern =
            serde_json::from_value(json!({"path": "/api/**", "params": {"n": 6}})).unwrap();
        assert!(matching.matches(&entry()));
    }
}

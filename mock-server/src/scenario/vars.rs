//! Variables (`${call}`), JSON paths (`call.state`, `active_calls.0.call_id`) and the partial
//! matching of expected values against what a server answered.
//!
//! Matching is deliberately partial for objects (only the keys a scenario names are compared)
//! and exact for everything else, so a scenario pins down what the contract promises without
//! breaking when a server adds fields (spec §1, forward compatibility).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// The name of the built-in variable that stands for JSON `null` (TOML has no null).
pub const NULL_VARIABLE: &str = "null";

/// Values captured so far, by name.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, Value>,
}

/// A `${name}` that has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("unknown variable ${{{name}}}{}", known_suffix(known))]
    Unknown { name: String, known: Vec<String> },
    #[error("unclosed `${{` in {text:?}")]
    Unclosed { text: String },
}

fn known_suffix(known: &[String]) -> String {
    if known.is_empty() {
        String::new()
    } else {
        format!(" (known: {})", known.join(", "))
    }
}

impl Vars {
    pub fn new() -> Self {
        Vars::default()
    }

    /// Sets `name` (replacing an earlier value).
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.values.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        if name == NULL_VARIABLE {
            return Some(&Value::Null);
        }
        self.values.get(name)
    }

    fn require(&self, name: &str) -> Result<&Value, VarError> {
        self.get(name).ok_or_else(|| VarError::Unknown {
            name: name.to_owned(),
            known: self.values.keys().cloned().collect(),
        })
    }

    /// `text` with every `${name}` replaced by its value (strings as they are, other values as
    /// JSON). `$${` writes a literal `${`.
    pub fn expand_text(&self, text: &str) -> Result<String, VarError> {
        let mut out = String::with_capacity(text.len());
        for piece in pieces(text)? {
            match piece {
                Piece::Text(t) => out.push_str(&t),
                Piece::Var(name) => match self.require(&name)? {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                },
            }
        }
        Ok(out)
    }

    /// `text` expanded, except that a string that is exactly one `${name}` becomes that
    /// variable's value with its JSON type (so `"${hamlet.user_id}"` compares as a number).
    pub fn expand_str(&self, text: &str) -> Result<Value, VarError> {
        if let [Piece::Var(name)] = pieces(text)?.as_slice() {
            return self.require(name).cloned();
        }
        self.expand_text(text).map(Value::String)
    }

    /// Every string inside `value` expanded with [`Vars::expand_str`].
    pub fn expand(&self, value: &Value) -> Result<Value, VarError> {
        Ok(match value {
            Value::String(s) => self.expand_str(s)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.expand(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(self.expand_map(map)?),
            other => other.clone(),
        })
    }

    /// Every value of `map` expanded.
    pub fn expand_map(&self, map: &Map<String, Value>) -> Result<Map<String, Value>, VarError> {
        map.iter()
            .map(|(k, v)| Ok((k.clone(), self.expand(v)?)))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(String),
}

fn pieces(text: &str) -> Result<Vec<Piece>, VarError> {
    let mut out = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        literal.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(tail) = after.strip_prefix("$${") {
            literal.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(end) = tail.find('}') else {
                return Err(VarError::Unclosed {
                    text: text.to_owned(),
                });
            };
            if !literal.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut literal)));
            }
            out.push(Piece::Var(tail[..end].trim().to_owned()));
            rest = &tail[end + 1..];
        } else {
            literal.push('$');
            rest = &after[1..];
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        out.push(Piece::Text(literal));
    }
    Ok(out)
}

/// The names of the variables `text` refers to (for checking a file before it runs).
pub fn references(text: &str) -> Result<Vec<String>, VarError> {
    Ok(pieces(text)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(name) => Some(name),
            Piece::Text(_) => None,
        })
        .collect())
}

/// Every variable referred to by a string anywhere in `value`.
pub fn value_references(value: &Value) -> Result<Vec<String>, VarError> {
    let mut names = Vec::new();
    collect_references(value, &mut names)?;
    Ok(names)
}

fn collect_references(value: &Value, names: &mut Vec<String>) -> Result<(), VarError> {
    match value {
        Value::String(s) => names.extend(references(s)?),
        Value::Array(items) => {
            for item in items {
                collect_references(item, names)?;
            }
        }
        Value::Object(map) => {
            for item in map.values() {
                collect_references(item, names)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The value at `path` in `value`: a key as written, else a dotted path whose numeric
/// segments index arrays (`active_calls.0.call_id`).
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(direct) = value.as_object().and_then(|m| m.get(path)) {
        return Some(direct);
    }
    let mut current = value;
    for segment in path.split('.') {
        current = match current {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Where and how an actual value differed from the expected one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Dotted path of the differing value, empty for the top level.
    pub path: String,
    pub expected: String,
    /// `None` when the value is missing.
    pub actual: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "the value"
        } else {
            &self.path
        };
        match &self.actual {
            Some(actual) => write!(f, "expected {path} = {}, got {actual}", self.expected),
            None => write!(f, "expected {path} = {}, but it is missing", self.expected),
        }
    }
}

/// Checks `actual` against `expected`: objects partially (every expected key, found as written
/// or as a dotted path), arrays element by element with equal length, numbers by value (`0`
/// matches `0.0`), everything else exactly.
pub fn match_value(expected: &Value, actual: &Value) -> Result<(), Mismatch> {
    match_at("", expected, actual)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn match_at(path: &str, expected: &Value, actual: &Value) -> Result<(), Mismatch> {
    let differs = || Mismatch {
        path: path.to_owned(),
        expected: short(expected),
        actual: Some(short(actual)),
    };
    match (expected, actual) {
        (Value::Object(want), Value::Object(_)) => {
            for (key, value) in want {
                let here = join(path, key);
                match lookup(actual, key) {
                    Some(found) => match_at(&here, value, found)?,
                    None => {
                        return Err(Mismatch {
                            path: here,
                            expected: short(value),
                            actual: None,
                        });
                    }
                }
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                return Err(Mismatch {
                    path: path.to_owned(),
                    expected: format!("{} items", want.len()),
                    actual: Some(format!("{} items: {}", got.len(), short(actual))),
                });
            }
            for (i, (w, g)) in want.iter().zip(got).enumerate() {
                match_at(&join(path, &i.to_string()), w, g)?;
            }
            Ok(())
        }
        (Value::Number(a), Value::Number(b)) => {
            if a.as_f64() == b.as_f64() {
                Ok(())
            } else {
                Err(differs())
            }
        }
        (want, got) if want == got => Ok(()),
        _ => Err(differs()),
    }
}

/// A value as JSON, cut to a readable length.
pub fn short(value: &Value) -> String {
    let text = value.to_string();
    const LIMIT: usize = 160;
    if text.chars().count() <= LIMIT {
        text
    } else {
        let cut: String = text.chars().take(LIMIT).collect();
        format!("{cut}…")
    }
}

/// A value for a form field or query parameter: strings as they are, numbers and booleans as
/// text, arrays and objects JSON-encoded (as Zulip encodes nested parameters).
pub fn form_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars() -> Vars {
        let mut vars = Vars::new();
        vars.set("call", json!("5f0e"));
        vars.set("othello.user_id", json!(6));
        vars
    }

    #[test]
    fn variables_expand_inside_text_and_keep_their_type_alone() {
        let vars = vars();
        assert_eq!(vars.expand_text("calls/${call}").unwrap(), "calls/5f0e");
        assert_eq!(vars.expand_text("id=${othello.user_id}!").unwrap(), "id=6!");
        assert_eq!(vars.expand_str("${othello.user_id}").unwrap(), json!(6));
        assert_eq!(vars.expand_str("${ call }").unwrap(), json!("5f0e"));
        assert_eq!(vars.expand_str("${null}").unwrap(), Value::Null);
        assert_eq!(
            vars.expand_text("cost: $5, $${x}").unwrap(),
            "cost: $5, ${x}"
        );
        assert_eq!(
            vars.expand(&json!({"a": ["${call}", 1], "b": "${othello.user_id}"}))
                .unwrap(),
            json!({"a": ["5f0e", 1], "b": 6})
        );
    }

    #[test]
    fn unknown_and_unclosed_variables_are_named() {
        let vars = vars();
        let err = vars.expand_text("calls/${cal}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown variable ${cal} (known: call, othello.user_id)"
        );
        let err = vars.expand_text("calls/${call").unwrap_err();
        assert!(matches!(err, VarError::Unclosed { .. }), "{err}");
        assert_eq!(
            references("${a} and ${b.c} but $${d}").unwrap(),
            ["a", "b.c"]
        );
        assert_eq!(
            value_references(&json!({"x": ["${a}"], "y": {"z": "${b}"}})).unwrap(),
            ["a", "b"]
        );
    }

    #[test]
    fn lookup_follows_keys_paths_and_indexes() {
        let body = json!({"call": {"state": "calling"}, "list": [{"id": 1}], "a.b": 2});
        assert_eq!(lookup(&body, "call.state"), Some(&json!("calling")));
        assert_eq!(lookup(&body, "list.0.id"), Some(&json!(1)));
        assert_eq!(lookup(&body, "a.b"), Some(&json!(2)));
        assert_eq!(lookup(&body, "list.1.id"), None);
        assert_eq!(lookup(&body, "call.state.x"), None);
    }

    #[test]
    fn objects_match_partially_and_numbers_by_value() {
        let actual = json!({"call": {"state": "ended", "duration": 0.0, "x": 1}, "count": 1});
        match_value(&json!({"call": {"duration": 0}}), &actual).unwrap();
        match_value(&json!({"call.state": "ended", "count": 1}), &actual).unwrap();
        let err = match_value(&json!({"call": {"state": "accepted"}}), &actual).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected call.state = \"accepted\", got \"ended\""
        );
        let err = match_value(&json!({"reason": "hangup"}), &actual).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected reason = \"hangup\", but it is missing"
        );
        // Types are not coerced: a number is not its text.
        assert!(match_value(&json!({"count": "1"}), &actual).is_err());
        match_value(&json!({"a": null}), &json!({"a": null})).unwrap();
    }

    #[test]
    fn arrays_match_element_by_element() {
        let actual = json!({"calls": [{"id": 1, "s": "a"}, {"id": 2, "s": "b"}]});
        match_value(&json!({"calls": [{"id": 1}, {"s": "b"}]}), &actual).unwrap();
        let err = match_value(&json!({"calls": [{"id": 1}]}), &actual).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("expected calls = 1 items, got 2 items")
        );
        let err = match_value(&json!({"calls": [{"id": 1}, {"id": 3}]}), &actual).unwrap_err();
        assert_eq!(err.to_string(), "expected calls.1.id = 3, got 2");
    }

    #[test]
    fn form_values_are_text() {
        assert_eq!(form_value(&json!("x")), "x");
        assert_eq!(form_value(&json!(true)), "true");
        assert_eq!(form_value(&json!(5)), "5");
        assert_eq!(form_value(&json!(["call_event"])), "[\"call_event\"]");
    }
}

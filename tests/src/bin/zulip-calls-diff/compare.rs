//! Field-by-field comparison of two normalised answers, each difference named by its JSON
//! path (`body.call.status`, `ev.hamlet[0].op`, `push[1].data.event`).

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

/// One difference: the path, and each side's value there (`None`: the side has nothing there).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub path: String,
    pub a: Option<Value>,
    pub b: Option<Value>,
}

/// The differences between `a` and `b`, in path order, leaving out those whose path matches
/// one of `ignore` (see [`matches`]).
pub fn differences(a: &Value, b: &Value, ignore: &[String]) -> Vec<Difference> {
    let mut out = Vec::new();
    walk(String::new(), Some(a), Some(b), &mut out);
    out.retain(|d| !ignore.iter().any(|pattern| matches(pattern, &d.path)));
    out
}

fn walk(path: String, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<Difference>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(child, x.get(key), y.get(key), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                walk(format!("{path}[{i}]"), x.get(i), y.get(i), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Difference {
            path,
            a: a.cloned(),
            b: b.cloned(),
        }),
    }
}

/// Whether `path` matches the glob `pattern`: `*` stands for any characters but `.` and `[`,
/// `**` for any characters at all (`body.msg`, `ev.*[*].user_id`, `push**`).
pub fn matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => (0..=s.len()).any(|i| go(&p[2..], &s[i..])),
            Some(b'*') => {
                let mut i = 0;
                loop {
                    if go(&p[1..], &s[i..]) {
                        return true;
                    }
                    if i == s.len() || matches!(s[i], b'.' | b'[') {
                        return false;
                    }
                    i += 1;
                }
            }
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_name_missing_extra_and_different_values() {
        let a = json!({"status": 404, "body": {"message": "Call not found", "result": "error"},
                       "ev": {"iago": [{"op": "ringing"}]}});
        let b = json!({"status": 403, "body": {"msg": "Not yours", "code": "NOT_A_PARTICIPANT",
                       "result": "error"}, "ev": {"iago": [{"op": "ringing", "user_id": 2},
                       {"op": "x"}]}});
        let found: Vec<(String, bool, bool)> = differences(&a, &b, &[])
            .into_iter()
            .map(|d| (d.path, d.a.is_some(), d.b.is_some()))
            .collect();
        let expected = [
            ("body.code", false, true),
            ("body.message", true, false),
            ("body.msg", false, true),
            ("ev.iago[0].user_id", false, true),
            ("ev.iago[1]", false, true),
            ("status", true, true),
        ];
        assert_eq!(
            found,
            expected
                .iter()
                .map(|(p, a, b)| (p.to_string(), *a, *b))
                .collect::<Vec<_>>()
        );
        let ignored = differences(&a, &b, &["body.*".to_owned(), "ev.*[*].user_id".to_owned()]);
        assert_eq!(ignored.len(), 2);
    }

    #[test]
    fn globs() {
        assert!(matches("body.msg", "body.msg"));
        assert!(!matches("body.msg", "body.msgs"));
        assert!(matches("ev.*[*].user_id", "ev.hamlet[3].user_id"));
        assert!(!matches("ev.*", "ev.hamlet[0]"));
        assert!(matches("push**", "push[0].data.event"));
    }
}

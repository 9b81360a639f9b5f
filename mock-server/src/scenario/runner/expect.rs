//! Checking an answer against a step's `expect` (status, code, message, fields, absent keys),
//! with a message saying what was expected and what came. Kept apart because requests and
//! polls check their answers the same way.

use serde_json::Value;

use super::http::Answer;
use super::outcome::{StepResult, fail};
use crate::scenario::model::Expect;
use crate::scenario::vars::{Vars, lookup, match_value, short};

/// Checks an answer against `expect`.
pub(super) fn check_expect(expect: &Expect, answer: &Answer, vars: &Vars) -> StepResult {
    let status = expect.status.or(if expect.code.is_none() {
        Some(200)
    } else {
        None
    });
    if let Some(status) = status
        && answer.status != status
    {
        let code = expect
            .code
            .as_deref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        return Err(fail(format!(
            "expected status {status}{code}, got {}",
            answer.describe()
        )));
    }
    if let Some(code) = &expect.code
        && answer.field("code") != Some(code.as_str())
    {
        return Err(fail(format!(
            "expected code {code}, got {}",
            answer.describe()
        )));
    }
    if let Some(msg) = &expect.msg {
        let msg = vars.expand_text(msg).map_err(|e| fail(e.to_string()))?;
        let actual = answer.field("msg").unwrap_or("");
        if actual != msg {
            return Err(fail(format!("expected msg {msg:?}, got {actual:?}")));
        }
    }
    let fields = vars
        .expand(&Value::Object(expect.fields.clone()))
        .map_err(|e| fail(e.to_string()))?;
    if answer.body.is_null() && !expect.fields.is_empty() {
        return Err(fail(format!(
            "expected a JSON body, got {}",
            answer.describe()
        )));
    }
    match_value(&fields, &answer.body).map_err(|m| fail(m.to_string()))?;
    for key in &expect.absent {
        if let Some(value) = lookup(&answer.body, key) {
            return Err(fail(format!(
                "expected no {key} in the answer, got {key} = {}",
                short(value)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scenario::runner::Status;

    fn answer(status: u16, body: Value) -> Answer {
        Answer {
            status,
            text: body.to_string(),
            body,
        }
    }

    #[test]
    fn expectations_say_expected_and_actual() {
        let vars = Vars::new();
        let busy = answer(
            409,
            json!({"result": "error", "msg": "King Hamlet is currently in another call", "code": "USER_BUSY"}),
        );
        let err = check_expect(&Expect::default(), &busy, &vars).unwrap_err();
        assert_eq!(
            err,
            Status::Failed(
                "expected status 200, got 409 USER_BUSY: \"King Hamlet is currently in another call\""
                    .into()
            )
        );
        let want_caller_busy = Expect {
            code: Some("CALLER_BUSY".into()),
            ..Expect::default()
        };
        let err = check_expect(&want_caller_busy, &busy, &vars).unwrap_err();
        assert!(
            matches!(&err, Status::Failed(m) if m.starts_with("expected code CALLER_BUSY, got 409 USER_BUSY")),
            "{err:?}"
        );
        let hidden = Expect {
            status: Some(409),
            absent: vec!["existing_call_id".into()],
            ..Expect::default()
        };
        check_expect(&hidden, &busy, &vars).unwrap();
        let html = Answer {
            status: 502,
            body: Value::Null,
            text: "<html>bad gateway</html>".into(),
        };
        let err = check_expect(&Expect::default(), &html, &vars).unwrap_err();
        assert!(
            matches!(&err, Status::Failed(m) if m.contains("502 with a body that is not JSON")),
            "{err:?}"
        );
    }
}

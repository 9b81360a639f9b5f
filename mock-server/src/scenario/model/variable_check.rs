//! Checking that every `${name}` a scenario uses is defined before the step that uses it.
//! Kept apart because it looks at the whole loaded scenario, not at one table at a time.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use toml::Spanned;

use super::{Action, Scenario, toml_to_json};
use crate::scenario::vars::{self, NULL_VARIABLE};

/// The variables every actor provides, as `${<actor>.<field>}`.
pub const ACTOR_FIELDS: [&str; 4] = ["email", "user_id", "full_name", "api_key"];

/// Checks that every `${name}` is defined before use: actors' fields from the start, saved
/// values from the step after the one that saves them. `[expect_events]` may use any saved
/// value (it is checked at the end).
pub(super) fn check_variables(
    scenario: &Scenario,
    raw_steps: &[Spanned<toml::Table>],
) -> Result<(), (Option<usize>, String)> {
    let mut known: BTreeSet<String> = scenario
        .actors
        .iter()
        .flat_map(|a| ACTOR_FIELDS.iter().map(move |f| format!("{}.{f}", a.name)))
        .collect();
    known.insert(NULL_VARIABLE.to_owned());
    let unknown = |name: &str, known: &BTreeSet<String>| {
        let saved: Vec<&str> = known
            .iter()
            .map(String::as_str)
            .filter(|k| !k.contains('.') && *k != NULL_VARIABLE)
            .collect();
        let hint = if saved.is_empty() {
            "no step before saves one".to_owned()
        } else {
            format!("saved so far: {}", saved.join(", "))
        };
        format!(
            "unknown variable ${{{name}}} ({hint}; every actor has ${{<actor>.email}}, \
             .user_id, .full_name, .api_key; ${{null}} is JSON null)"
        )
    };
    for (step, raw) in scenario.steps.iter().zip(raw_steps) {
        let mut table = raw.get_ref().clone();
        table.remove("save");
        table.remove("name");
        let refs = vars::value_references(&toml_to_json(&toml::Value::Table(table)))
            .map_err(|e| (Some(step.number), e.to_string()))?;
        for name in refs {
            if !known.contains(&name) {
                return Err((Some(step.number), unknown(&name, &known)));
            }
        }
        let saves = match &step.action {
            Action::Request(r) => Some(&r.save),
            Action::WaitEvent(w) => Some(&w.save),
            Action::Fault(f) => Some(&f.save),
            Action::WaitFor(w) => Some(&w.save),
            _ => None,
        };
        if let Some(saves) = saves {
            known.extend(saves.keys().cloned());
        }
        if let Action::Race(r) = &step.action {
            known.extend(r.save_winner.clone());
        }
    }
    for expectation in &scenario.expect_events {
        for pattern in &expectation.patterns {
            let mut all = Map::new();
            all.insert(
                "call".into(),
                pattern.call.clone().map_or(Value::Null, Value::String),
            );
            all.insert("fields".into(), Value::Object(pattern.fields.clone()));
            for name in
                vars::value_references(&Value::Object(all)).map_err(|e| (None, e.to_string()))?
            {
                if !known.contains(&name) {
                    return Err((None, unknown(&name, &known)));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::model::fixtures::{MINIMAL, error};

    #[test]
    fn variables_must_be_saved_before_use() {
        let err = error(&MINIMAL.replace("call = \"${call}\"", "call = \"${cal}\""));
        assert!(
            err.contains("step 2 (line 13): unknown variable ${cal} (saved so far: call;"),
            "{err}"
        );
        let err = error(&MINIMAL.replace("${othello.email}", "${call}"));
        assert!(
            err.contains("step 1 (line 7): unknown variable ${call} (no step before saves one"),
            "{err}"
        );
    }
}

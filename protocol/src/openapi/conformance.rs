//! Checks a JSON answer against the document: what a test (or a QA tool) asks to know that an
//! answer is exactly what its schema documents. A small checker of the subset of JSON Schema
//! the document uses (`$ref`, `anyOf`/`oneOf`/`allOf`, `type`, `properties`,
//! `additionalProperties`, `required`, `items`, `enum`, `const`), not a general validator.

use serde_json::Value;

/// Follows `$ref`s (local ones only) to the schema they name; `None` when one leads nowhere.
pub fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => resolve(doc, doc.pointer(reference.strip_prefix('#')?)?),
        None => Some(schema),
    }
}

/// What in `value` (found at `at`) does not follow `schema` of `doc`, one line each: a JSON type
/// that is not a documented one, an undocumented field (unless the schema is open), a required
/// field missing, a value off its `enum` or `const`; nested values too.
pub fn mismatches(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let Some(schema) = resolve(doc, schema) else {
        out.push(format!("{at}: a $ref that does not resolve"));
        return;
    };
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let fits = branches.iter().any(|b| {
                let mut inner = Vec::new();
                mismatches(doc, b, value, at, &mut inner);
                inner.is_empty()
            });
            if !fits {
                out.push(format!("{at}: fits no branch of {key}: {value}"));
            }
            return;
        }
    }
    if !type_fits(schema, value) {
        out.push(format!("{at}: {value} is not of the documented type"));
        return;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        all.iter()
            .for_each(|part| mismatches(doc, part, value, at, out));
    }
    match value {
        Value::Object(fields) => {
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(props) = props {
                let open = schema
                    .get("additionalProperties")
                    .is_some_and(|a| a != &Value::Bool(false));
                for (name, field) in fields {
                    match props.get(name) {
                        Some(sub) => mismatches(doc, sub, field, &format!("{at}.{name}"), out),
                        None if open => {}
                        None => out.push(format!("{at}.{name}: not in the document")),
                    }
                }
            } else if let Some(values) = schema.get("additionalProperties")
                && values.is_object()
            {
                for (name, field) in fields {
                    mismatches(doc, values, field, &format!("{at}.{name}"), out);
                }
            }
            let required = schema["required"].as_array().into_iter().flatten();
            for name in required.filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    out.push(format!("{at}.{name}: required but not sent"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    mismatches(doc, item, v, &format!("{at}[{i}]"), out);
                }
            }
        }
        _ => {
            if let Some(values) = schema.get("enum").and_then(Value::as_array)
                && !values.contains(value)
            {
                out.push(format!("{at}: {value} is not among {values:?}"));
            }
            if let Some(constant) = schema.get("const")
                && constant != value
            {
                out.push(format!("{at}: {value} is not {constant}"));
            }
        }
    }
}

/// Whether `value`'s JSON type is among `schema`'s `type`s (no `type`: anything).
fn type_fits(schema: &Value, value: &Value) -> bool {
    let name = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let fits = |t: &Value| t == name || (t == "number" && name == "integer");
    match schema.get("type") {
        Some(Value::Array(types)) => types.iter().any(fits),
        Some(t) => fits(t),
        None => true,
    }
}

//! Fixture helpers shared by the protocol's integration tests.
//!
//! A fixture is a JSON file under `tests/fixtures/` holding one exact wire body. Round trips
//! compare parsed JSON values, so key order and whitespace do not matter but every field,
//! value and type does.
#![allow(dead_code)]

use std::fmt::Debug;
use std::path::PathBuf;

use pretty_assertions::assert_eq;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use zulip_calls_protocol::Success;
use zulip_calls_protocol::params::{Params, to_urlencoded};

/// The path of fixture `name` (relative to `tests/fixtures/`).
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The raw text of fixture `name`.
pub fn fixture_text(name: &str) -> String {
    let path = fixture_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Fixture `name` parsed as JSON.
pub fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Parses fixture `name` as `T`, serialises it back and asserts the JSON is identical.
pub fn assert_round_trip<T: Serialize + DeserializeOwned + Debug>(name: &str) -> T {
    let original = fixture_json(name);
    let parsed: T = serde_json::from_value(original.clone()).unwrap_or_else(|e| {
        panic!(
            "{name} does not parse as {}: {e}",
            std::any::type_name::<T>()
        )
    });
    let written = serde_json::to_value(&parsed).unwrap();
    assert_eq!(written, original, "{name} changed in a round trip");
    parsed
}

/// A success response fixture: the envelope with `T`'s fields, round-tripped exactly.
pub fn assert_response<T: Serialize + DeserializeOwned + Debug>(name: &str) -> T {
    assert_round_trip::<Success<T>>(name).body
}

/// A request fixture (a JSON object body, as the design document shows requests).
///
/// Checks three paths: the server's lenient decoding of the JSON body; serialising the
/// request back gives the fixture; and the form encoding a client sends decodes to the same
/// request on the server.
pub fn assert_request<T: Serialize + DeserializeOwned + Debug + PartialEq>(name: &str) -> T {
    let original = fixture_json(name);
    let from_json: T = Params::from_json(fixture_text(name).as_bytes())
        .unwrap()
        .decode()
        .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
    assert_eq!(
        serde_json::to_value(&from_json).unwrap(),
        original,
        "{name} changed in a round trip"
    );
    let form = to_urlencoded(&from_json).unwrap();
    let from_form: T = Params::from_urlencoded(form.as_bytes())
        .decode()
        .unwrap_or_else(|e| panic!("{name} as form {form:?} does not decode: {e}"));
    assert_eq!(
        from_form, from_json,
        "{name} differs after form encoding ({form})"
    );
    from_json
}

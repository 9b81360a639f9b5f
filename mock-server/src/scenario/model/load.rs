//! Loading a scenario file: the TOML read into its top-level tables, actors, settings and
//! `[expect_events]` checked, each step handed to the step loader, and variables and settings
//! checked last, so every mistake is reported with the file, the step and the key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use toml::Spanned;
use zulip_calls_protocol::settings::Settings;

use super::load_step::decode;
use super::variable_check::check_variables;
use super::{
    Actor, Credential, DEFAULT_DEVICE, EventPattern, EventsExpectation, LoadError, Scenario, Step,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    #[serde(default)]
    description: String,
    /// A realm file of its own, relative to the scenario file.
    realm: Option<String>,
    actors: toml::Table,
    #[serde(default)]
    settings: toml::Table,
    #[serde(default)]
    expect_events: toml::Table,
    #[serde(default)]
    step: Vec<Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActor {
    email: String,
    api_key: Option<String>,
    password: Option<String>,
    devices: Option<Vec<String>>,
    event_types: Option<Vec<String>>,
}

/// Reads and checks a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parses and checks scenario `text`; `path` is for messages.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, LoadError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| LoadError::Syntax {
        path: path.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let loader = Loader { path };
    let realm_file = raw
        .realm
        .as_deref()
        .map(|realm| loader.realm_file(realm))
        .transpose()?;
    let actors = loader.actors(&raw.actors)?;
    let settings = loader.settings(&raw.settings)?;
    if raw.step.is_empty() {
        return Err(loader.invalid(None, None, None, "the scenario has no [[step]]"));
    }
    let mut steps = Vec::with_capacity(raw.step.len());
    for (index, table) in raw.step.iter().enumerate() {
        let number = index + 1;
        let line = Some(line_of(text, table.span().start));
        let step = loader
            .step(table.get_ref(), &actors)
            .map_err(|(key, problem)| loader.invalid(Some(number), line, key, problem))?;
        steps.push(Step {
            number,
            line,
            name: step.0,
            action: step.1,
        });
    }
    let expect_events = loader.expect_events(&raw.expect_events, &actors)?;
    let scenario = Scenario {
        path: path.to_owned(),
        name: raw.name,
        description: raw.description,
        realm_file,
        actors,
        settings,
        steps,
        expect_events,
    };
    check_variables(&scenario, &raw.step).map_err(|(step, problem)| {
        let line = step
            .and_then(|n| scenario.steps.get(n - 1))
            .and_then(|s| s.line);
        let key = step.is_none().then(|| "expect_events".to_owned());
        loader.invalid(step, line, key, problem)
    })?;
    scenario.server_settings().map_err(|e| {
        loader.invalid(
            None,
            None,
            Some(format!("settings.{}", e.name())),
            e.to_string(),
        )
    })?;
    Ok(scenario)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count())
        + 1
}

pub(super) struct Loader<'a> {
    path: &'a Path,
}

impl Loader<'_> {
    fn invalid(
        &self,
        step: Option<usize>,
        line: Option<usize>,
        key: Option<String>,
        problem: impl Into<String>,
    ) -> LoadError {
        LoadError::Invalid {
            path: self.path.to_owned(),
            step,
            line,
            key,
            problem: problem.into(),
        }
    }

    /// The scenario's own realm file: `realm` relative to the scenario file's directory,
    /// read now so that a mistake in it is reported with the scenario.
    fn realm_file(&self, realm: &str) -> Result<PathBuf, LoadError> {
        let file = self
            .path
            .parent()
            .map_or_else(|| PathBuf::from(realm), |dir| dir.join(realm));
        let config = crate::ServerConfig {
            realm_file: Some(file.clone()),
            ..crate::ServerConfig::default()
        };
        config
            .realms()
            .map_err(|err| self.invalid(None, None, Some("realm".into()), err.to_string()))?;
        Ok(file)
    }

    fn actors(&self, table: &toml::Table) -> Result<Vec<Actor>, LoadError> {
        if table.is_empty() {
            return Err(self.invalid(None, None, Some("actors".into()), "no actors"));
        }
        let mut actors = Vec::new();
        for (name, value) in table {
            let key = Some(format!("actors.{name}"));
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(self.invalid(
                    None,
                    None,
                    key,
                    "an actor's name may hold only letters, digits, `_` and `-`",
                ));
            }
            let actor = match value {
                toml::Value::String(email) => Actor {
                    name: name.clone(),
                    email: email.clone(),
                    credential: Credential::Lookup,
                    devices: vec![DEFAULT_DEVICE.to_owned()],
                    event_types: None,
                },
                toml::Value::Table(_) => {
                    let raw: RawActor = decode(value).map_err(|(k, p)| {
                        self.invalid(
                            None,
                            None,
                            Some(joined_key(&format!("actors.{name}"), k)),
                            p,
                        )
                    })?;
                    let credential = match (raw.api_key, raw.password) {
                        (Some(_), Some(_)) => {
                            return Err(self.invalid(
                                None,
                                None,
                                key,
                                "give api_key or password, not both",
                            ));
                        }
                        (Some(key), None) => Credential::ApiKey(key),
                        (None, Some(password)) => Credential::Password(password),
                        (None, None) => Credential::Lookup,
                    };
                    let devices = raw
                        .devices
                        .unwrap_or_else(|| vec![DEFAULT_DEVICE.to_owned()]);
                    let unique: BTreeSet<&String> = devices.iter().collect();
                    if devices.is_empty() || unique.len() != devices.len() {
                        return Err(self.invalid(
                            None,
                            None,
                            Some(format!("actors.{name}.devices")),
                            "give one or more distinct device names",
                        ));
                    }
                    Actor {
                        name: name.clone(),
                        email: raw.email,
                        credential,
                        devices,
                        event_types: raw.event_types,
                    }
                }
                _ => {
                    return Err(self.invalid(
                        None,
                        None,
                        key,
                        "expected an email or a table { email, api_key | password, devices, event_types }",
                    ));
                }
            };
            if !actor.email.contains('@') {
                return Err(self.invalid(
                    None,
                    None,
                    Some(format!("actors.{name}")),
                    format!("{:?} is not an email", actor.email),
                ));
            }
            actors.push(actor);
        }
        Ok(actors)
    }

    fn settings(&self, table: &toml::Table) -> Result<BTreeMap<String, String>, LoadError> {
        let mut settings = BTreeMap::new();
        for (name, value) in table {
            let key = Some(format!("settings.{name}"));
            if !Settings::NAMES.contains(&name.as_str()) {
                return Err(self.invalid(
                    None,
                    None,
                    key,
                    format!(
                        "unknown setting (the spec's are {})",
                        Settings::NAMES.join(", ")
                    ),
                ));
            }
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    return Err(self.invalid(
                        None,
                        None,
                        key,
                        "expected a string, a whole number or a boolean",
                    ));
                }
            };
            settings.insert(name.clone(), text);
        }
        Ok(settings)
    }

    fn expect_events(
        &self,
        table: &toml::Table,
        actors: &[Actor],
    ) -> Result<Vec<EventsExpectation>, LoadError> {
        let mut out = Vec::new();
        for (name, value) in table {
            let base = format!("expect_events.{name}");
            let Some(actor) = actors.iter().find(|a| &a.name == name) else {
                return Err(self.invalid(None, None, Some(base), "not one of the [actors]"));
            };
            match value {
                toml::Value::Array(items) => out.push(EventsExpectation {
                    actor: name.clone(),
                    device: None,
                    patterns: self.patterns(&base, items)?,
                }),
                toml::Value::Table(devices) => {
                    for (device, items) in devices {
                        let key = format!("{base}.{device}");
                        if !actor.devices.contains(device) {
                            return Err(self.invalid(
                                None,
                                None,
                                Some(key),
                                format!("{name} has no such device"),
                            ));
                        }
                        let toml::Value::Array(items) = items else {
                            return Err(self.invalid(None, None, Some(key), "expected a list"));
                        };
                        out.push(EventsExpectation {
                            actor: name.clone(),
                            device: Some(device.clone()),
                            patterns: self.patterns(&key, items)?,
                        });
                    }
                }
                _ => {
                    return Err(self.invalid(
                        None,
                        None,
                        Some(base),
                        "expected a list of events, or a table of lists by device",
                    ));
                }
            }
        }
        Ok(out)
    }

    fn patterns(&self, key: &str, items: &[toml::Value]) -> Result<Vec<EventPattern>, LoadError> {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let here = || Some(format!("{key}[{i}]"));
                match item {
                    toml::Value::String(kind) => Ok(EventPattern {
                        kind: kind.clone(),
                        call: None,
                        fields: Map::new(),
                    }),
                    toml::Value::Table(table) => {
                        let mut fields = match toml_to_json(&toml::Value::Table(table.clone())) {
                            Value::Object(map) => map,
                            _ => Map::new(),
                        };
                        let Some(Value::String(kind)) = fields.remove("type") else {
                            return Err(self.invalid(
                                None,
                                None,
                                here(),
                                "an event table needs type = \"<event_type>\"",
                            ));
                        };
                        let call = match fields.remove("call") {
                            None => None,
                            Some(Value::String(c)) => Some(c),
                            Some(_) => {
                                return Err(self.invalid(
                                    None,
                                    None,
                                    here(),
                                    "call must be a string",
                                ));
                            }
                        };
                        Ok(EventPattern { kind, call, fields })
                    }
                    _ => Err(self.invalid(
                        None,
                        None,
                        here(),
                        "expected an event type or a table { type = ..., <field> = ... }",
                    )),
                }
            })
            .collect()
    }
}

fn joined_key(base: &str, key: Option<String>) -> String {
    match key {
        Some(k) => format!("{base}.{k}"),
        None => base.to_owned(),
    }
}

/// A TOML value as JSON (dates become their RFC 3339 text).
pub fn toml_to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::fixtures::{MINIMAL, error, load};
    use crate::scenario::model::{Action, Expect};

    #[test]
    fn a_realm_file_is_found_beside_the_scenario_and_checked_at_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("realms")).unwrap();
        std::fs::write(
            dir.path().join("realms/small.toml"),
            "[[realm]]\nname = \"Small\"\nurl = \"http://localhost:9991\"\n\n\
             [[realm.user]]\nid = 1\nemail = \"a@small.test\"\nfull_name = \"A\"\n\
             api_key = \"aKeyxxxxxxxxxxxxxxxx\"\n",
        )
        .unwrap();
        let scenario = dir.path().join("s.toml");
        let with_realm =
            |realm: &str| MINIMAL.replace("[actors]", &format!("realm = \"{realm}\"\n[actors]"));
        let loaded = parse(&scenario, &with_realm("realms/small.toml")).unwrap();
        assert_eq!(
            loaded.realm_file,
            Some(dir.path().join("realms/small.toml"))
        );
        assert_eq!(load(MINIMAL).unwrap().realm_file, None);
        let err = parse(&scenario, &with_realm("realms/missing.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("key realm: cannot read realm file"), "{err}");
        std::fs::write(dir.path().join("realms/bad.toml"), "[[realm]]\nname = 1\n").unwrap();
        let err = parse(&scenario, &with_realm("realms/bad.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("key realm: realm file "), "{err}");
    }

    #[test]
    fn a_minimal_file_loads() {
        let s = load(MINIMAL).unwrap();
        assert_eq!(s.name, "minimal");
        assert_eq!(s.actors.len(), 2);
        assert_eq!(s.actors[1].devices, ["desktop", "phone"]);
        assert_eq!(s.actors[0].credential, Credential::Lookup);
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.steps[0].line, Some(7));
        match &s.steps[0].action {
            Action::Request(r) => {
                assert_eq!(r.method, reqwest::Method::POST);
                assert_eq!(r.path, "calls/initiate");
                assert_eq!(r.expect, Expect::default());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.steps[0].title(), "hamlet: POST calls/initiate");
        assert_eq!(
            s.steps[1].title(),
            "othello (phone) receives call_started for ${call}"
        );
    }

    #[test]
    fn top_level_mistakes_come_with_toml_position() {
        let err = error(&MINIMAL.replace("name = ", "nmae = "));
        assert!(err.contains("unknown field `nmae`"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        let err = error("name = \"x\"\n[actors\n");
        assert!(err.starts_with("s.toml: "), "{err}");
    }

    #[test]
    fn settings_are_the_specs_and_valid() {
        let ok = MINIMAL.replace(
            "[actors]",
            "[settings]\nCALL_RING_TIMEOUT = 10\nENABLE_AUDIO_CALLS = false\n[actors]",
        );
        let s = load(&ok).unwrap();
        let settings = s.server_settings().unwrap();
        assert_eq!(settings.call_ring_timeout, 10);
        assert!(!settings.enable_audio_calls);
        let err = error(&MINIMAL.replace("[actors]", "[settings]\nRING = 10\n[actors]"));
        assert!(err.contains("key settings.RING: unknown setting"), "{err}");
        let err = error(&MINIMAL.replace(
            "[actors]",
            "[settings]\nCALL_RING_TIMEOUT = \"soon\"\n[actors]",
        ));
        assert!(err.contains("key settings.CALL_RING_TIMEOUT: "), "{err}");
    }

    #[test]
    fn expected_events_take_names_or_tables() {
        let text = format!(
            "{MINIMAL}\n[expect_events]\nhamlet = [\"call_started\", {{ type = \"call_ended\", call = \"${{call}}\", reason = \"hangup\" }}]\n\
             othello = {{ phone = [\"call_started\"] }}\n"
        );
        let s = load(&text).unwrap();
        assert_eq!(s.expect_events.len(), 2);
        let hamlet = &s.expect_events[0];
        assert_eq!(hamlet.device, None);
        assert_eq!(hamlet.patterns[1].kind, "call_ended");
        assert_eq!(hamlet.patterns[1].call.as_deref(), Some("${call}"));
        assert_eq!(
            hamlet.patterns[1].describe(),
            "call_ended {call_id: ${call}, reason: \"hangup\"}"
        );
        assert_eq!(s.expect_events[1].device.as_deref(), Some("phone"));
        let err = error(&format!(
            "{MINIMAL}\n[expect_events]\nhamlet = [{{ reason = \"x\" }}]\n"
        ));
        assert!(
            err.contains("key expect_events.hamlet[0]: an event table needs type"),
            "{err}"
        );
    }

    #[test]
    fn actor_tables_are_checked() {
        let err = error(&MINIMAL.replace(
            "hamlet = \"hamlet@zulip.com\"",
            "hamlet = { email = \"hamlet@zulip.com\", key = \"x\" }",
        ));
        assert!(
            err.contains("key actors.hamlet.key: unknown field `key`"),
            "{err}"
        );
        let s = load(&MINIMAL.replace(
            "hamlet = \"hamlet@zulip.com\"",
            "hamlet = { email = \"hamlet@zulip.com\", api_key = \"k\" }",
        ))
        .unwrap();
        assert_eq!(s.actors[0].credential, Credential::ApiKey("k".into()));
        assert_eq!(format!("{:?}", s.actors[0].credential), "ApiKey(..)");
    }
}

//! Loading one `[[step]]` table: finding its single action key, reading the table as that
//! action's fields (unknown keys refused), and checking its actors, devices, endpoint and
//! numbers. Kept apart from the file-level loading because every step kind has a table shape
//! of its own.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::load::Loader;
use super::{
    ACTIONS, Action, Actor, AdvanceClock, DeviceRef, EventPattern, Expect, ExpectCall,
    ExpectPushes, ExpireQueues, Fault, PollEvents, Race, Request, Verify, WaitEvent, WaitFor,
    resolve_endpoint,
};

/// How long `wait_event` waits when the step does not say.
pub const DEFAULT_WITHIN_SECONDS: f64 = 5.0;

/// A problem inside a step: the key to blame (if any) and what is wrong.
pub(super) type StepProblem = (Option<String>, String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    request: String,
    actor: String,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    json: bool,
    #[serde(default)]
    expect: Expect,
    #[serde(default)]
    save: BTreeMap<String, String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRace {
    race: Vec<RawRaceRequest>,
    winners: Option<usize>,
    #[serde(default)]
    losers: Expect,
    save_winner: Option<String>,
    name: Option<String>,
}

/// One request of a race: what a `request` step sends, without its own `expect` or `save`
/// (the race's `winners` and `losers` judge the answers together).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRaceRequest {
    request: String,
    actor: String,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    json: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaitEvent {
    wait_event: String,
    actor: String,
    device: Option<String>,
    call: Option<String>,
    #[serde(default)]
    fields: Map<String, Value>,
    within_seconds: Option<f64>,
    #[serde(default)]
    save: BTreeMap<String, String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpectCall {
    expect_call: String,
    actor: String,
    state: Option<String>,
    #[serde(default)]
    fields: Map<String, Value>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPollEvents {
    poll_events: String,
    device: Option<String>,
    #[serde(default)]
    expect: Expect,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegister {
    register: String,
    device: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdvanceClock {
    advance_clock: f64,
    #[serde(default = "yes")]
    keep_queues: bool,
    name: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    fault: Map<String, Value>,
    method: Option<String>,
    path: Option<String>,
    actor: Option<String>,
    times: Option<u32>,
    #[serde(default)]
    save: BTreeMap<String, String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpectPushes {
    expect_pushes: String,
    call: Option<String>,
    event: Option<String>,
    events: Option<Vec<String>>,
    count: Option<u64>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaitFor {
    wait_for: Map<String, Value>,
    timeout_seconds: Option<f64>,
    #[serde(default)]
    save: BTreeMap<String, String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerify {
    verify: Map<String, Value>,
    count: Option<u64>,
    at_least: Option<u64>,
    at_most: Option<u64>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReset {
    reset: bool,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpireQueues {
    expire_queues: String,
    device: Option<String>,
    name: Option<String>,
}

impl Loader<'_> {
    /// One step: its `name` and action, or the key to blame and the problem.
    pub(super) fn step(
        &self,
        table: &toml::Table,
        actors: &[Actor],
    ) -> Result<(Option<String>, Action), StepProblem> {
        let present: Vec<&str> = ACTIONS
            .iter()
            .copied()
            .filter(|k| table.contains_key(*k))
            .collect();
        let keyword = match present.as_slice() {
            [one] => *one,
            [] => {
                let keys: Vec<&str> = table.keys().map(String::as_str).collect();
                return Err((
                    None,
                    format!(
                        "no action: give one of {} (the step has {})",
                        ACTIONS.join(", "),
                        if keys.is_empty() {
                            "no keys".to_owned()
                        } else {
                            keys.join(", ")
                        }
                    ),
                ));
            }
            many => {
                return Err((
                    None,
                    format!(
                        "more than one action ({}); make them separate steps",
                        many.join(", ")
                    ),
                ));
            }
        };
        let value = toml::Value::Table(table.clone());
        let actor = |name: &str, key: &str| -> Result<&Actor, StepProblem> {
            actors.iter().find(|a| a.name == name).ok_or_else(|| {
                (
                    Some(key.to_owned()),
                    format!(
                        "unknown actor {name:?} (the [actors] are {})",
                        actors
                            .iter()
                            .map(|a| a.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
        };
        let device =
            |who: &str, device: Option<String>, key: &str| -> Result<DeviceRef, StepProblem> {
                let found = actor(who, key)?;
                let device = device.unwrap_or_else(|| found.devices[0].clone());
                if !found.devices.contains(&device) {
                    return Err((
                        Some("device".to_owned()),
                        format!(
                            "{who} has no device {device:?} (its devices are {})",
                            found.devices.join(", ")
                        ),
                    ));
                }
                Ok(DeviceRef {
                    actor: who.to_owned(),
                    device,
                })
            };
        let positive = |seconds: f64, key: &str| -> Result<f64, StepProblem> {
            if seconds.is_finite() && seconds >= 0.0 {
                Ok(seconds)
            } else {
                Err((
                    Some(key.to_owned()),
                    "expected a number of seconds ≥ 0".into(),
                ))
            }
        };
        Ok(match keyword {
            "request" => {
                let raw: RawRequest = decode(&value)?;
                actor(&raw.actor, "actor")?;
                let request = request(raw.request, raw.actor, raw.params, raw.json, "")?;
                (
                    raw.name,
                    Action::Request(Request {
                        expect: raw.expect,
                        save: raw.save,
                        ..request
                    }),
                )
            }
            "race" => {
                let raw: RawRace = decode(&value)?;
                if raw.race.len() < 2 {
                    return Err((
                        Some("race".into()),
                        "a race needs two or more requests".into(),
                    ));
                }
                let mut requests = Vec::with_capacity(raw.race.len());
                for (i, entry) in raw.race.into_iter().enumerate() {
                    actor(&entry.actor, &format!("race[{i}].actor"))?;
                    let at = format!("race[{i}].");
                    requests.push(request(
                        entry.request,
                        entry.actor,
                        entry.params,
                        entry.json,
                        &at,
                    )?);
                }
                let winners = raw.winners.unwrap_or(1);
                if winners > requests.len() {
                    return Err((
                        Some("winners".into()),
                        format!("{winners} winners of {} requests cannot be", requests.len()),
                    ));
                }
                if raw.save_winner.is_some() && winners == 0 {
                    return Err((
                        Some("save_winner".into()),
                        "with winners = 0 there is no winner to save".into(),
                    ));
                }
                (
                    raw.name,
                    Action::Race(Race {
                        requests,
                        winners,
                        losers: raw.losers,
                        save_winner: raw.save_winner,
                    }),
                )
            }
            "wait_event" => {
                let raw: RawWaitEvent = decode(&value)?;
                let device = device(&raw.actor, raw.device, "actor")?;
                let within = positive(
                    raw.within_seconds.unwrap_or(DEFAULT_WITHIN_SECONDS),
                    "within_seconds",
                )?;
                (
                    raw.name,
                    Action::WaitEvent(WaitEvent {
                        device,
                        pattern: EventPattern {
                            kind: raw.wait_event,
                            call: raw.call,
                            fields: raw.fields,
                        },
                        within_seconds: within,
                        save: raw.save,
                    }),
                )
            }
            "expect_call" => {
                let raw: RawExpectCall = decode(&value)?;
                actor(&raw.actor, "actor")?;
                (
                    raw.name,
                    Action::ExpectCall(ExpectCall {
                        actor: raw.actor,
                        call: raw.expect_call,
                        state: raw.state,
                        fields: raw.fields,
                    }),
                )
            }
            "poll_events" => {
                let raw: RawPollEvents = decode(&value)?;
                let device = device(&raw.poll_events, raw.device, "poll_events")?;
                (
                    raw.name,
                    Action::PollEvents(PollEvents {
                        device,
                        expect: raw.expect,
                    }),
                )
            }
            "register" => {
                let raw: RawRegister = decode(&value)?;
                let device = device(&raw.register, raw.device, "register")?;
                (raw.name, Action::Register(device))
            }
            "advance_clock" => {
                let raw: RawAdvanceClock = decode(&value)?;
                let seconds = positive(raw.advance_clock, "advance_clock")?;
                (
                    raw.name,
                    Action::AdvanceClock(AdvanceClock {
                        seconds,
                        keep_queues: raw.keep_queues,
                    }),
                )
            }
            "fault" => {
                let raw: RawFault = decode(&value)?;
                if !raw.fault.contains_key("kind") {
                    return Err((
                        Some("fault".into()),
                        "the action needs a kind (delay, respond, drop, close_websocket)".into(),
                    ));
                }
                if let Some(who) = &raw.actor {
                    actor(who, "actor")?;
                }
                (
                    raw.name,
                    Action::Fault(Fault {
                        action: raw.fault,
                        method: raw.method,
                        path: raw.path,
                        actor: raw.actor,
                        times: raw.times,
                        save: raw.save,
                    }),
                )
            }
            "expect_pushes" => {
                let raw: RawExpectPushes = decode(&value)?;
                actor(&raw.expect_pushes, "expect_pushes")?;
                if raw.events.is_some() && raw.count.is_some() {
                    return Err((None, "give events or count, not both".into()));
                }
                (
                    raw.name,
                    Action::ExpectPushes(ExpectPushes {
                        actor: raw.expect_pushes,
                        call: raw.call,
                        event: raw.event,
                        events: raw.events,
                        count: raw.count,
                    }),
                )
            }
            "wait_for" => {
                let raw: RawWaitFor = decode(&value)?;
                if !raw.wait_for.contains_key("kind") {
                    return Err((
                        Some("wait_for".into()),
                        "the condition needs a kind (call_state, group_call_state, event, push, request)".into(),
                    ));
                }
                if let Some(t) = raw.timeout_seconds {
                    positive(t, "timeout_seconds")?;
                }
                (
                    raw.name,
                    Action::WaitFor(WaitFor {
                        condition: raw.wait_for,
                        timeout_seconds: raw.timeout_seconds,
                        save: raw.save,
                    }),
                )
            }
            "verify" => {
                let raw: RawVerify = decode(&value)?;
                (
                    raw.name,
                    Action::Verify(Verify {
                        pattern: raw.verify,
                        count: raw.count,
                        at_least: raw.at_least,
                        at_most: raw.at_most,
                    }),
                )
            }
            "reset" => {
                let raw: RawReset = decode(&value)?;
                if !raw.reset {
                    return Err((Some("reset".into()), "write `reset = true`".into()));
                }
                (raw.name, Action::Reset)
            }
            _ => {
                let raw: RawExpireQueues = decode(&value)?;
                actor(&raw.expire_queues, "expire_queues")?;
                if let Some(d) = &raw.device {
                    device(&raw.expire_queues, Some(d.clone()), "device")?;
                }
                (
                    raw.name,
                    Action::ExpireQueues(ExpireQueues {
                        actor: raw.expire_queues,
                        device: raw.device,
                    }),
                )
            }
        })
    }
}

/// A request to `text` as `actor`, its endpoint resolved and its path parameters checked;
/// `at` prefixes the keys a problem names (`race[1].`).
fn request(
    text: String,
    actor: String,
    params: Map<String, Value>,
    json: bool,
    at: &str,
) -> Result<Request, StepProblem> {
    let target = resolve_endpoint(&text).map_err(|p| (Some(format!("{at}request")), p))?;
    for name in &target.path_params {
        if !params.contains_key(name) {
            return Err((
                Some(format!("{at}params")),
                format!("{text} needs params.{name} for its path"),
            ));
        }
    }
    Ok(Request {
        actor,
        method: target.method,
        path: target.path,
        path_params: target.path_params,
        params,
        json,
        expect: Expect::default(),
        save: BTreeMap::new(),
    })
}

/// Deserialises `value` into `T`, naming the key path on failure.
pub(super) fn decode<T: DeserializeOwned>(value: &toml::Value) -> Result<T, StepProblem> {
    serde_path_to_error::deserialize(value.clone()).map_err(|err| {
        let path = err.path().to_string();
        let key = (path != ".").then_some(path);
        (key, err.into_inner().to_string().trim_end().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::model::fixtures::{MINIMAL, error, load};

    #[test]
    fn an_unknown_step_key_names_the_step_line_and_key() {
        let text = MINIMAL.replace("save = {", "expekt = { status = 200 }\nsave = {");
        let err = error(&text);
        assert!(err.starts_with("s.toml: step 1 (line 7): "), "{err}");
        assert!(err.contains("unknown field `expekt`"), "{err}");
    }

    #[test]
    fn a_wrong_type_names_the_key_path() {
        let text = MINIMAL.replace("save = {", "expect = { status = \"200\" }\nsave = {");
        let err = error(&text);
        assert!(
            err.contains("step 1 (line 7): key expect.status: "),
            "{err}"
        );
        assert!(err.contains("invalid type: string \"200\""), "{err}");
    }

    #[test]
    fn steps_need_exactly_one_action() {
        let err = error(&MINIMAL.replace("request = \"calls/initiate\"", "requst = \"x\""));
        assert!(
            err.contains("step 1 (line 7): no action: give one of request,"),
            "{err}"
        );
        assert!(
            err.contains("the step has actor, params, requst, save"),
            "{err}"
        );
        let err = error(&MINIMAL.replace(
            "wait_event = \"call_started\"",
            "wait_event = \"a\"\nreset = true",
        ));
        assert!(
            err.contains("step 2 (line 13): more than one action (wait_event, reset)"),
            "{err}"
        );
    }

    #[test]
    fn actors_and_devices_must_exist() {
        let err = error(&MINIMAL.replace("actor = \"hamlet\"", "actor = \"horatio\""));
        assert!(
            err.contains("key actor: unknown actor \"horatio\" (the [actors] are hamlet, othello)"),
            "{err}"
        );
        let err = error(&MINIMAL.replace("device = \"phone\"", "device = \"tablet\""));
        assert!(err.contains("othello has no device \"tablet\""), "{err}");
    }

    #[test]
    fn a_race_sends_two_or_more_checked_requests() {
        let race = |entries: &str, extra: &str| {
            format!(
                "name = \"race\"\n[actors]\nhamlet = \"hamlet@zulip.com\"\n\
                 othello = \"othello@zulip.com\"\n[[step]]\nrace = [{entries}]\n{extra}\n\
                 [[step]]\nrequest = \"calls/active\"\nactor = \"hamlet\"\n\
                 params = {{ winner = \"${{seat}}\" }}\n"
            )
        };
        let join =
            |who: &str| format!("{{ request = \"POST calls/group/7/join\", actor = \"{who}\" }}");
        let two = format!("{}, {}", join("hamlet"), join("othello"));
        let scenario = load(&race(
            &two,
            "losers = { status = 400 }\nsave_winner = \"seat\"",
        ))
        .unwrap();
        match &scenario.steps[0].action {
            crate::scenario::model::Action::Race(r) => {
                assert_eq!(r.requests.len(), 2);
                assert_eq!(r.winners, 1);
                assert_eq!(r.requests[1].actor, "othello");
                assert_eq!(r.losers.status, Some(400));
                assert_eq!(r.save_winner.as_deref(), Some("seat"));
            }
            other => panic!("{other:?}"),
        }
        let err = error(&race(&two, ""));
        assert!(err.contains("unknown variable ${seat}"), "{err}");
        let err = error(&race(&join("hamlet"), "save_winner = \"seat\""));
        assert!(
            err.contains("key race: a race needs two or more requests"),
            "{err}"
        );
        let err = error(&race(
            &format!("{}, {}", join("hamlet"), join("horatio")),
            "save_winner = \"seat\"",
        ));
        assert!(
            err.contains("key race[1].actor: unknown actor \"horatio\""),
            "{err}"
        );
        let err = error(&race(&two, "winners = 3\nsave_winner = \"seat\""));
        assert!(
            err.contains("key winners: 3 winners of 2 requests"),
            "{err}"
        );
        let err = error(&race(
            &format!(
                "{}, {{ request = \"calls.get\", actor = \"hamlet\" }}",
                join("hamlet")
            ),
            "save_winner = \"seat\"",
        ));
        assert!(
            err.contains("key race[1].params: calls.get needs params.call_id"),
            "{err}"
        );
    }

    #[test]
    fn named_endpoints_need_their_path_parameters() {
        let text = MINIMAL.replace("request = \"calls/initiate\"", "request = \"calls.get\"");
        let err = error(&text);
        assert!(err.contains("calls.get needs params.call_id"), "{err}");
    }
}

//! Event queues: registering a device's queue, polling it, waiting for an event, and checking
//! `[expect_events]` against everything each device received. Kept apart because matching
//! events and explaining a miss is a concern of its own.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::expect::check_expect;
use super::http::{Answer, As, REQUEST_TIMEOUT, api_path, params};
use super::outcome::{Status, StepResult, fail};
use super::session::Session;
use crate::scenario::model::{DeviceRef, EventPattern, PollEvents, WaitEvent, seconds_text};
use crate::scenario::vars::{match_value, short};

impl Session<'_> {
    pub(super) async fn register(&mut self, index: usize) -> StepResult {
        let device = &self.devices[index];
        let mut register = Map::new();
        if let Some(types) = self
            .scenario
            .actor(&device.actor)
            .and_then(|actor| actor.event_types.as_ref())
        {
            register.insert(
                "event_types".into(),
                Value::String(json!(types).to_string()),
            );
        }
        let answer = {
            let id = self.identity(&device.actor)?;
            self.http
                .call(
                    As::User(id),
                    reqwest::Method::POST,
                    &api_path("register"),
                    &register,
                    false,
                )
                .await
                .map_err(fail)?
        };
        let device = &mut self.devices[index];
        match answer.field("queue_id") {
            Some(queue) if answer.is_success() => {
                device.queue_id = Some(queue.to_owned());
                device.last_event_id = answer
                    .body
                    .get("last_event_id")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1);
                Ok(())
            }
            _ => Err(fail(format!(
                "POST register as {} answered {}",
                device.actor,
                answer.describe()
            ))),
        }
    }

    /// Polls a device's queue once: at once (`wait` = `None`) or long-polling up to `wait`.
    /// Events are added to the device's log. `Ok(None)` when the long-poll ran out of time.
    pub(super) async fn poll(
        &mut self,
        index: usize,
        wait: Option<Duration>,
    ) -> Result<Option<Answer>, Status> {
        let device = &self.devices[index];
        let Some(queue) = device.queue_id.clone() else {
            return Err(fail(format!("{} has no queue", device.actor)));
        };
        let query = params(&[
            ("queue_id", json!(queue)),
            ("last_event_id", json!(device.last_event_id)),
            ("dont_block", json!(wait.is_none())),
        ]);
        let answer = {
            let id = self.identity(&device.actor)?;
            self.http
                .send(
                    As::User(id),
                    reqwest::Method::GET,
                    &api_path("events"),
                    &query,
                    false,
                    wait.unwrap_or(REQUEST_TIMEOUT),
                )
                .await
                .map_err(fail)?
        };
        let Some(answer) = answer else {
            return Ok(None);
        };
        if answer.is_success() {
            let device = &mut self.devices[index];
            for event in answer
                .body
                .get("events")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(id) = event.get("id").and_then(Value::as_i64) {
                    device.last_event_id = device.last_event_id.max(id);
                }
                device.log.push(event.clone());
            }
        }
        Ok(Some(answer))
    }

    fn expand_pattern(&self, pattern: &EventPattern) -> Result<ExpandedPattern, Status> {
        Ok(ExpandedPattern {
            kind: pattern.kind.clone(),
            call: pattern
                .call
                .as_deref()
                .map(|c| self.expand_text(c))
                .transpose()?,
            fields: Value::Object(self.expand_map(&pattern.fields)?),
            text: pattern.describe(),
        })
    }

    pub(super) async fn wait_event(&mut self, w: &WaitEvent) -> StepResult {
        let index = self.device_index(&w.device)?;
        let pattern = self.expand_pattern(&w.pattern)?;
        let deadline = Instant::now() + Duration::from_secs_f64(w.within_seconds);
        loop {
            let device = &mut self.devices[index];
            if let Some(offset) = device.log[device.cursor..]
                .iter()
                .position(|e| pattern.matches(e).is_ok())
            {
                let at = device.cursor + offset;
                device.cursor = at + 1;
                let event = device.log[at].clone();
                return self.save(&w.save, &event, "the event");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let device = &self.devices[index];
                return Err(fail(missed_event(
                    &w.device,
                    &pattern,
                    &device.log[device.cursor..],
                    w.within_seconds,
                )));
            }
            match self.poll(index, Some(left)).await? {
                Some(answer) if !answer.is_success() => {
                    return Err(fail(format!(
                        "polling {}'s queue answered {}",
                        w.device.describe(),
                        answer.describe()
                    )));
                }
                _ => {}
            }
        }
    }

    pub(super) async fn poll_events(&mut self, p: &PollEvents) -> StepResult {
        let index = self.device_index(&p.device)?;
        let answer = self
            .poll(index, None)
            .await?
            .ok_or_else(|| fail("the poll got no answer in time"))?;
        check_expect(&p.expect, &answer, &self.vars)
    }

    /// Checks `[expect_events]` against everything each device received (after one last poll).
    pub(super) async fn check_expected_events(&mut self) -> StepResult {
        for index in 0..self.devices.len() {
            if self.devices[index].queue_id.is_some() {
                let _ = self.poll(index, None).await;
            }
        }
        let mut problems = Vec::new();
        for expectation in &self.scenario.expect_events {
            let patterns: Vec<ExpandedPattern> = expectation
                .patterns
                .iter()
                .map(|p| self.expand_pattern(p))
                .collect::<Result<_, _>>()?;
            for device in self.devices.iter().filter(|d| {
                d.actor == expectation.actor
                    && expectation
                        .device
                        .as_ref()
                        .is_none_or(|name| &d.name == name)
            }) {
                if let Some(problem) = subsequence_problem(&patterns, &device.log) {
                    let who = DeviceRef {
                        actor: device.actor.clone(),
                        device: device.name.clone(),
                    };
                    problems.push(format!("{}: {problem}", who.describe()));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(fail(problems.join("\n")))
        }
    }
}

/// An event pattern with its variables filled in.
#[derive(Debug)]
struct ExpandedPattern {
    kind: String,
    call: Option<String>,
    fields: Value,
    /// The pattern as written, for messages.
    text: String,
}

/// An event's name: its `event_type`; for an event with an `op` (the 1.1 dialect's `call`
/// and `group_call`), its `type` and `op` as `call.accepted`; else its `type`.
fn event_name(event: &Value) -> Cow<'_, str> {
    let field = |key: &str| event.get(key).and_then(Value::as_str);
    match (field("event_type"), field("type"), field("op")) {
        (Some(name), _, _) => Cow::Borrowed(name),
        (None, Some(type_name), Some(op)) => Cow::Owned(format!("{type_name}.{op}")),
        (None, Some(type_name), None) => Cow::Borrowed(type_name),
        (None, None, _) => Cow::Borrowed("?"),
    }
}

/// Whether `event` is of `kind`: its name, or its bare `type` (`call` for every op).
fn is_of_kind(event: &Value, kind: &str) -> bool {
    event_name(event) == kind || event.get("type").and_then(Value::as_str) == Some(kind)
}

impl ExpandedPattern {
    /// `Ok` when `event` matches; otherwise how it differs (`None` when it is another kind).
    fn matches(&self, event: &Value) -> Result<(), Option<String>> {
        if !is_of_kind(event, &self.kind) {
            return Err(None);
        }
        if let Some(call) = &self.call
            && event.get("call_id").and_then(Value::as_str) != Some(call.as_str())
        {
            return Err(Some(format!(
                "call_id {} is another call",
                event.get("call_id").map_or("(none)".to_owned(), short)
            )));
        }
        match_value(&self.fields, event).map_err(|m| Some(m.to_string()))
    }
}

/// The events a device got, by name (heartbeats left out).
fn names(events: &[Value]) -> String {
    let names: Vec<Cow<'_, str>> = events
        .iter()
        .map(event_name)
        .filter(|n| n != "heartbeat")
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn missed_event(
    device: &DeviceRef,
    pattern: &ExpandedPattern,
    seen: &[Value],
    within: f64,
) -> String {
    let near = seen
        .iter()
        .filter_map(|e| pattern.matches(e).err().flatten())
        .next()
        .map(|why| format!("\na {} came, but {why}", pattern.kind))
        .unwrap_or_default();
    format!(
        "expected {} to receive {} within {} s; it received: {}{near}",
        device.describe(),
        pattern.text,
        seconds_text(within),
        names(seen)
    )
}

/// Why `patterns` are not a subsequence of `events`, if they are not.
fn subsequence_problem(patterns: &[ExpandedPattern], events: &[Value]) -> Option<String> {
    let mut from = 0;
    for (i, pattern) in patterns.iter().enumerate() {
        match events[from..]
            .iter()
            .position(|e| pattern.matches(e).is_ok())
        {
            Some(offset) => from += offset + 1,
            None => {
                let after = match i.checked_sub(1) {
                    Some(previous) => format!(" after {}", patterns[previous].text),
                    None => String::new(),
                };
                return Some(format!(
                    "expected {}{after} (event {} of {} in order); received: {}",
                    pattern.text,
                    i + 1,
                    patterns.len(),
                    names(events)
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(kind: &str, call: Option<&str>, fields: Value) -> ExpandedPattern {
        ExpandedPattern {
            kind: kind.into(),
            call: call.map(str::to_owned),
            fields,
            text: kind.into(),
        }
    }

    #[test]
    fn events_match_by_name_call_and_fields() {
        let ended = json!({"type": "call_event", "event_type": "call_ended", "call_id": "c1", "reason": "hangup", "id": 3});
        assert!(
            pattern("call_ended", Some("c1"), json!({"reason": "hangup"}))
                .matches(&ended)
                .is_ok()
        );
        assert_eq!(
            pattern("call_started", None, json!({})).matches(&ended),
            Err(None)
        );
        let why = pattern("call_ended", None, json!({"reason": "missed"}))
            .matches(&ended)
            .unwrap_err()
            .unwrap();
        assert_eq!(why, "expected reason = \"missed\", got \"hangup\"");
        assert!(
            pattern("heartbeat", None, json!({}))
                .matches(&json!({"type": "heartbeat", "id": 1}))
                .is_ok()
        );
    }

    #[test]
    fn op_events_match_by_type_and_op_or_by_type() {
        let accepted = json!({"type": "call", "op": "accepted", "call_id": "c1", "id": 2});
        assert!(
            pattern("call.accepted", Some("c1"), json!({}))
                .matches(&accepted)
                .is_ok()
        );
        assert!(
            pattern("call", None, json!({"op": "accepted"}))
                .matches(&accepted)
                .is_ok()
        );
        assert_eq!(
            pattern("call.ended", None, json!({})).matches(&accepted),
            Err(None)
        );
        assert_eq!(
            names(&[accepted, json!({"type": "heartbeat"})]),
            "call.accepted"
        );
    }

    #[test]
    fn order_is_a_subsequence() {
        let events: Vec<Value> = [
            "call_started",
            "participant_ringing",
            "call_accepted",
            "call_ended",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"type": "call_event", "event_type": t, "id": i}))
        .collect();
        let p = |names: &[&str]| -> Vec<ExpandedPattern> {
            names.iter().map(|n| pattern(n, None, json!({}))).collect()
        };
        assert_eq!(
            subsequence_problem(&p(&["call_started", "call_ended"]), &events),
            None
        );
        let problem =
            subsequence_problem(&p(&["call_accepted", "participant_ringing"]), &events).unwrap();
        assert!(
            problem.starts_with(
                "expected participant_ringing after call_accepted (event 2 of 2 in order); "
            ),
            "{problem}"
        );
        assert!(
            problem.ends_with(
                "received: call_started, participant_ringing, call_accepted, call_ended"
            ),
            "{problem}"
        );
    }

    #[test]
    fn a_missed_event_names_what_came_instead() {
        let seen = vec![
            json!({"type": "call_event", "event_type": "call_started", "call_id": "c1"}),
            json!({"type": "heartbeat"}),
            json!({"type": "call_event", "event_type": "call_ended", "call_id": "c1", "reason": "cancelled"}),
        ];
        let text = missed_event(
            &DeviceRef {
                actor: "othello".into(),
                device: "phone".into(),
            },
            &pattern("call_ended", None, json!({"reason": "hangup"})),
            &seen,
            5.0,
        );
        assert_eq!(
            text,
            "expected othello (phone) to receive call_ended within 5 s; it received: call_started, call_ended\n\
             a call_ended came, but expected reason = \"hangup\", got \"cancelled\""
        );
    }
}

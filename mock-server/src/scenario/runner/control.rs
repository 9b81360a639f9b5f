//! Steps that need the mock's control API: clock advances, faults, pushes, waits, journal
//! checks, resets and queue expiry. Kept apart because any of them may be skipped on a server
//! without that API, and their answers are read the same way.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::http::{Answer, As, CONTROL, params};
use super::outcome::{Status, StepResult, fail};
use super::session::Session;
use crate::scenario::model::{
    AdvanceClock, DeviceRef, ExpectPushes, ExpireQueues, Fault, Verify, WaitFor, seconds_text,
};
use crate::scenario::vars::short;

/// `wait_for`'s default, as the control API documents it.
const DEFAULT_WAIT_FOR_SECONDS: f64 = 10.0;

/// The answer to a control request, or why its step is skipped or failed.
fn control_answer(answer: Answer, what: &str) -> Result<Answer, Status> {
    if answer.route_missing() {
        return Err(Status::Skipped(format!("the server has no {what}")));
    }
    if answer.status == 409 && answer.field("code") == Some("CLOCK_NOT_VIRTUAL") {
        return Err(Status::Skipped(
            "the server's clock is not virtual (start it with `serve --virtual-clock`)".into(),
        ));
    }
    if !answer.is_success() {
        return Err(Status::Failed(format!(
            "{what} answered {}",
            answer.describe()
        )));
    }
    Ok(answer)
}

impl Session<'_> {
    pub(super) async fn advance_clock(&mut self, a: &AdvanceClock) -> StepResult {
        let chunk = if a.keep_queues {
            (self.lifespan_seconds / 2.0).max(1.0)
        } else {
            a.seconds.max(f64::MIN_POSITIVE)
        };
        let mut left = a.seconds;
        loop {
            let now = left.min(chunk);
            let answer = self
                .http
                .control(
                    reqwest::Method::POST,
                    "/clock/advance",
                    &params(&[("seconds", json!(now))]),
                )
                .await
                .map_err(fail)?;
            control_answer(answer, "POST /mock/v1/clock/advance")?;
            left -= now;
            if a.keep_queues {
                // A connected client keeps its queues alive; errors show in later steps.
                for index in 0..self.devices.len() {
                    if self.devices[index].queue_id.is_some() {
                        let _ = self.poll(index, None).await;
                    }
                }
            }
            if left <= 1e-9 {
                return Ok(());
            }
        }
    }

    pub(super) async fn fault(&mut self, f: &Fault) -> StepResult {
        let mut body = Map::new();
        body.insert("action".into(), Value::Object(self.expand_map(&f.action)?));
        if let Some(method) = &f.method {
            body.insert("method".into(), json!(method));
        }
        if let Some(path) = &f.path {
            body.insert("path".into(), json!(self.expand_text(path)?));
        }
        if let Some(actor) = &f.actor {
            body.insert("user".into(), json!(self.identity(actor)?.user_id));
        }
        if let Some(times) = f.times {
            body.insert("times".into(), json!(times));
        }
        let answer = self
            .http
            .control(reqwest::Method::POST, "/faults", &body)
            .await
            .map_err(fail)?;
        let answer = control_answer(answer, "POST /mock/v1/faults")?;
        self.save(&f.save, &answer.body, "the answer")
    }

    pub(super) async fn expect_pushes(&mut self, p: &ExpectPushes) -> StepResult {
        let user_id = self.identity(&p.actor)?.user_id;
        let call = p.call.as_deref().map(|c| self.expand_text(c)).transpose()?;
        let mut query = params(&[("user", json!(user_id))]);
        if let Some(call) = &call {
            query.insert("call_id".into(), json!(call));
        }
        if let Some(event) = &p.event {
            query.insert("event".into(), json!(event));
        }
        let answer = self
            .http
            .control(reqwest::Method::GET, "/pushes", &query)
            .await
            .map_err(fail)?;
        let answer = control_answer(answer, "GET /mock/v1/pushes")?;
        // Filtered here as well, so an older outbox that ignores a filter is still read right.
        let events: Vec<String> = answer
            .body
            .get("pushes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|push| push.get("user_id").and_then(Value::as_i64) == Some(user_id))
            .filter(|push| {
                call.as_deref()
                    .is_none_or(|c| push.get("call_id").and_then(Value::as_str) == Some(c))
            })
            .filter(|push| {
                p.event
                    .as_deref()
                    .is_none_or(|e| push.get("event").and_then(Value::as_str) == Some(e))
            })
            .map(|push| {
                push.get("event")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned()
            })
            .collect();
        let whose = format!("pushes to {}", p.actor);
        if let Some(expected) = &p.events {
            if &events != expected {
                return Err(fail(format!(
                    "expected {whose} [{}], got [{}]",
                    expected.join(", "),
                    events.join(", ")
                )));
            }
        } else if let Some(count) = p.count {
            if events.len() as u64 != count {
                return Err(fail(format!(
                    "expected {count} {whose}, got {}: [{}]",
                    events.len(),
                    events.join(", ")
                )));
            }
        } else if events.is_empty() {
            return Err(fail(format!("expected {whose}, got none")));
        }
        Ok(())
    }

    pub(super) async fn wait_for(&mut self, w: &WaitFor) -> StepResult {
        let seconds = w.timeout_seconds.unwrap_or(DEFAULT_WAIT_FOR_SECONDS);
        let body = params(&[
            ("condition", Value::Object(self.expand_map(&w.condition)?)),
            ("timeout_seconds", json!(seconds)),
        ]);
        let answer = self
            .http
            .send(
                As::Control,
                reqwest::Method::POST,
                &format!("{CONTROL}/wait-for"),
                &body,
                true,
                Duration::from_secs_f64(seconds) + Duration::from_secs(10),
            )
            .await
            .map_err(fail)?
            .ok_or_else(|| {
                fail(format!(
                    "POST /mock/v1/wait-for: no answer after {} s",
                    seconds_text(seconds)
                ))
            })?;
        if answer.status == 408 {
            let last = answer
                .body
                .get("last_seen")
                .map(|v| format!("; last seen: {}", short(v)))
                .unwrap_or_default();
            return Err(fail(format!(
                "{}{last}",
                answer.field("msg").unwrap_or("the wait timed out")
            )));
        }
        let answer = control_answer(answer, "POST /mock/v1/wait-for")?;
        self.save(&w.save, &answer.body, "the answer")
    }

    pub(super) async fn verify(&mut self, v: &Verify) -> StepResult {
        let mut body = self.expand_map(&v.pattern)?;
        for (key, value) in [
            ("count", v.count),
            ("at_least", v.at_least),
            ("at_most", v.at_most),
        ] {
            if let Some(value) = value {
                body.insert(key.into(), json!(value));
            }
        }
        let answer = self
            .http
            .control(reqwest::Method::POST, "/journal/verify", &body)
            .await
            .map_err(fail)?;
        if answer.status == 409 && answer.field("code") == Some("VERIFICATION_FAILED") {
            let matched = answer
                .body
                .get("matched")
                .map_or("?".to_owned(), Value::to_string);
            let wanted = match (v.count, v.at_least, v.at_most) {
                (Some(n), _, _) => format!("exactly {n}"),
                (_, Some(n), Some(m)) => format!("{n} to {m}"),
                (_, Some(n), None) => format!("at least {n}"),
                (_, None, Some(m)) => format!("at most {m}"),
                _ => "at least 1".to_owned(),
            };
            let nearest = answer
                .body
                .get("near_misses")
                .and_then(Value::as_array)
                .and_then(|misses| misses.first())
                .and_then(|miss| miss.get("differences"))
                .and_then(Value::as_array)
                .map(|diffs| {
                    let texts: Vec<&str> = diffs.iter().filter_map(Value::as_str).collect();
                    format!("\nnearest request: {}", texts.join("; "))
                })
                .unwrap_or_default();
            return Err(fail(format!(
                "expected {wanted} matching requests in the journal, got {matched}{nearest}"
            )));
        }
        control_answer(answer, "POST /mock/v1/journal/verify").map(|_| ())
    }

    pub(super) async fn reset(&mut self) -> StepResult {
        let answer = self
            .http
            .control(reqwest::Method::POST, "/reset", &Map::new())
            .await
            .map_err(fail)?;
        control_answer(answer, "POST /mock/v1/reset")?;
        // The reset dropped every queue: register new ones, as a client would.
        for index in 0..self.devices.len() {
            self.devices[index].last_event_id = -1;
            self.register(index).await?;
        }
        Ok(())
    }

    pub(super) async fn expire_queues(&mut self, e: &ExpireQueues) -> StepResult {
        let path = match &e.device {
            Some(device) => {
                let index = self.device_index(&DeviceRef {
                    actor: e.actor.clone(),
                    device: device.clone(),
                })?;
                let queue = self.devices[index]
                    .queue_id
                    .clone()
                    .ok_or_else(|| fail(format!("{}'s {device} has no queue", e.actor)))?;
                format!("/queues/{queue}/expire")
            }
            None => format!("/users/{}/queues/expire", self.identity(&e.actor)?.user_id),
        };
        let answer = self
            .http
            .control(reqwest::Method::POST, &path, &Map::new())
            .await
            .map_err(fail)?;
        control_answer(answer, &format!("POST /mock/v1{path}")).map(|_| ())
    }
}

//! One scenario's session against a server: probing it, signing the actors in, walking the
//! steps in order (skipping or stopping as their outcomes demand) and cleaning up. The steps
//! themselves are carried out in the modules for their kind.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use zulip_calls_protocol::dialect::GROUP_CALL_EVENT_TYPE;
use zulip_calls_protocol::endpoint::Endpoint;
use zulip_calls_protocol::plugin::group::{GroupEnd, GroupLeave};

use super::capabilities::Capabilities;
use super::http::{As, Http, Identity, api_path, params};
use super::outcome::{ScenarioReport, Status, StepReport, StepResult, fail};
use super::run::Options;
use crate::scenario::model::{Action, Credential, DeviceRef, Scenario, Step};
use crate::scenario::vars::{Vars, lookup};

/// An event queue of one actor's device, and every event it delivered.
#[derive(Debug)]
pub(super) struct Device {
    pub(super) actor: String,
    pub(super) name: String,
    pub(super) queue_id: Option<String>,
    pub(super) last_event_id: i64,
    pub(super) log: Vec<Value>,
    /// `wait_event` looks from here on; each match moves it past the matched event.
    pub(super) cursor: usize,
}

pub(super) struct Session<'a> {
    pub(super) http: Http,
    pub(super) scenario: &'a Scenario,
    pub(super) caps: Capabilities,
    pub(super) vars: Vars,
    pub(super) identities: BTreeMap<String, Identity>,
    pub(super) devices: Vec<Device>,
    pub(super) lifespan_seconds: f64,
    pub(super) remote: bool,
}

impl<'a> Session<'a> {
    pub(super) async fn run(&mut self, options: &Options, report: &mut ScenarioReport) {
        if !options.no_control {
            match self.probe().await {
                Ok(caps) => self.caps = caps,
                Err(err) => {
                    report.error = Some(err);
                    return;
                }
            }
        }
        tracing::debug!(scenario = %self.scenario.name, caps = ?self.caps, "running");
        if self.remote && self.caps.control {
            let reset = self
                .http
                .control(reqwest::Method::POST, "/reset", &Map::new())
                .await
                .and_then(|a| {
                    if a.is_success() || a.route_missing() {
                        Ok(())
                    } else {
                        Err(format!("POST /mock/v1/reset answered {}", a.describe()))
                    }
                });
            if let Err(err) = reset {
                report.error = Some(err);
                return;
            }
        }
        if let Err(err) = self.setup(options).await {
            report.error = Some(err);
            return;
        }
        let mut failed = false;
        let mut cut: Option<String> = None;
        let scenario: &'a Scenario = self.scenario;
        for step in &scenario.steps {
            let title = step.title();
            if failed {
                report.not_run += 1;
                continue;
            }
            if let Some(reason) = &cut {
                report.steps.push(StepReport {
                    number: Some(step.number),
                    title,
                    status: Status::Skipped(reason.clone()),
                    duration: Duration::ZERO,
                });
                continue;
            }
            let started = Instant::now();
            let status = match self.caps.skip_reason(&step.action) {
                Some(reason) => Status::Skipped(reason),
                None => match self.step(step).await {
                    Ok(()) => Status::Passed,
                    Err(status) => status,
                },
            };
            match &status {
                Status::Failed(_) => failed = true,
                Status::Skipped(reason) if step.action.changes_server() => {
                    report.skipped = Some(format!("from step {}: {reason}", step.number));
                    cut = Some(format!(
                        "step {} was skipped and this one depends on it",
                        step.number
                    ));
                }
                _ => {}
            }
            report.steps.push(StepReport {
                number: Some(step.number),
                title,
                status,
                duration: started.elapsed(),
            });
        }
        if !failed && cut.is_none() && !self.scenario.expect_events.is_empty() {
            let started = Instant::now();
            let status = match self.check_expected_events().await {
                Ok(()) => Status::Passed,
                Err(status) => status,
            };
            let actors: Vec<&str> = self
                .scenario
                .expect_events
                .iter()
                .map(|e| e.actor.as_str())
                .collect();
            let mut actors = actors;
            actors.dedup();
            report.steps.push(StepReport {
                number: None,
                title: format!("events in order ({})", actors.join(", ")),
                status,
                duration: started.elapsed(),
            });
        }
    }

    /// What the server offers: `GET /mock/v1/clock` answers on a mock with the control API.
    async fn probe(&self) -> Result<Capabilities, String> {
        let answer = self
            .http
            .control(reqwest::Method::GET, "/clock", &Map::new())
            .await?;
        if answer.status == 401 || answer.status == 403 {
            return Err(format!(
                "the control API refused the runner: {} (give its token with --token or \
                 MOCK_ADMIN_TOKEN)",
                answer.describe()
            ));
        }
        if !answer.is_success() {
            return Ok(Capabilities::default());
        }
        Ok(Capabilities {
            control: true,
            virtual_clock: answer.body.get("virtual").and_then(Value::as_bool) == Some(true),
        })
    }

    /// Signs every actor in and registers a queue for each device.
    async fn setup(&mut self, options: &Options) -> Result<(), String> {
        let mut known_keys: BTreeMap<String, String> = BTreeMap::new();
        if self.caps.control
            && self
                .scenario
                .actors
                .iter()
                .any(|a| a.credential == Credential::Lookup)
        {
            let answer = self
                .http
                .control(reqwest::Method::GET, "/users", &Map::new())
                .await?;
            if answer.is_success() {
                for user in answer
                    .body
                    .get("users")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let (Some(email), Some(key)) = (
                        user.get("email").and_then(Value::as_str),
                        user.get("api_key").and_then(Value::as_str),
                    ) {
                        known_keys.insert(email.to_lowercase(), key.to_owned());
                    }
                }
            }
        }
        for actor in &self.scenario.actors {
            let api_key = match &actor.credential {
                Credential::ApiKey(key) => key.clone(),
                Credential::Password(password) => {
                    self.fetch_api_key(&actor.email, password).await?
                }
                Credential::Lookup => match known_keys.get(&actor.email.to_lowercase()) {
                    Some(key) => key.clone(),
                    None => match &options.password {
                        Some(password) => self.fetch_api_key(&actor.email, password).await?,
                        None if self.caps.control => {
                            return Err(format!(
                                "actor {}: the server has no user {}",
                                actor.name, actor.email
                            ));
                        }
                        None => {
                            return Err(format!(
                                "actor {}: no API key for {}: the server has no control API to \
                                 look it up; write `{} = {{ email = \"{}\", api_key = \"...\" }}` \
                                 or run with --password",
                                actor.name, actor.email, actor.name, actor.email
                            ));
                        }
                    },
                },
            };
            let mut identity = Identity {
                email: actor.email.clone(),
                api_key,
                user_id: 0,
            };
            let me = self
                .http
                .call(
                    As::User(&identity),
                    reqwest::Method::GET,
                    &api_path("users/me"),
                    &Map::new(),
                    false,
                )
                .await?;
            if !me.is_success() {
                return Err(format!(
                    "actor {}: GET users/me as {} answered {}",
                    actor.name,
                    actor.email,
                    me.describe()
                ));
            }
            identity.user_id = me.body.get("user_id").and_then(Value::as_i64).unwrap_or(0);
            if let Some(email) = me.field("email") {
                identity.email = email.to_owned();
            }
            let name = &actor.name;
            self.vars
                .set(format!("{name}.email"), json!(identity.email));
            self.vars
                .set(format!("{name}.user_id"), json!(identity.user_id));
            self.vars.set(
                format!("{name}.full_name"),
                me.body.get("full_name").cloned().unwrap_or(Value::Null),
            );
            self.vars
                .set(format!("{name}.api_key"), json!(identity.api_key));
            self.identities.insert(name.clone(), identity);
            for device in &actor.devices {
                self.devices.push(Device {
                    actor: name.clone(),
                    name: device.clone(),
                    queue_id: None,
                    last_event_id: -1,
                    log: Vec::new(),
                    cursor: 0,
                });
            }
        }
        for index in 0..self.devices.len() {
            self.register(index).await.map_err(|s| match s {
                Status::Failed(why) | Status::Skipped(why) => why,
                Status::Passed => String::new(),
            })?;
        }
        Ok(())
    }

    async fn fetch_api_key(&self, email: &str, password: &str) -> Result<String, String> {
        let answer = self
            .http
            .call(
                As::Nobody,
                reqwest::Method::POST,
                &api_path("fetch_api_key"),
                &params(&[("username", json!(email)), ("password", json!(password))]),
                false,
            )
            .await?;
        match answer.field("api_key") {
            Some(key) if answer.is_success() => Ok(key.to_owned()),
            _ => Err(format!(
                "POST fetch_api_key for {email} answered {}",
                answer.describe()
            )),
        }
    }

    /// Deletes the queues; on a server that cannot be reset, also ends every call the actors
    /// still have, so the next scenario does not find them busy.
    pub(super) async fn teardown(&mut self) {
        if self.remote && !self.caps.control {
            self.leave_group_calls().await;
        }
        for device in &self.devices {
            let (Some(queue), Some(id)) = (&device.queue_id, self.identities.get(&device.actor))
            else {
                continue;
            };
            let _ = self
                .http
                .send(
                    As::User(id),
                    reqwest::Method::DELETE,
                    &api_path("events"),
                    &params(&[("queue_id", json!(queue))]),
                    false,
                    Duration::from_secs(5),
                )
                .await;
        }
        if self.remote && !self.caps.control {
            for id in self.identities.values() {
                let _ = self
                    .http
                    .send(
                        As::User(id),
                        reqwest::Method::POST,
                        &api_path("calls/end-all"),
                        &Map::new(),
                        false,
                        Duration::from_secs(5),
                    )
                    .await;
            }
        }
    }

    /// Takes every actor out of the group calls their queues heard of: the host ends each,
    /// the others leave (what does not apply is refused, and ignored). `calls/end-all` knows
    /// only 1:1 calls, and a user joined in a group call is busy for every call.
    async fn leave_group_calls(&mut self) {
        for index in 0..self.devices.len() {
            if self.devices[index].queue_id.is_some() {
                let _ = self.poll(index, None).await;
            }
        }
        let calls: BTreeSet<String> = self
            .devices
            .iter()
            .flat_map(|device| &device.log)
            .filter(|event| {
                event.get("type").and_then(Value::as_str) == Some(GROUP_CALL_EVENT_TYPE)
            })
            .filter_map(|event| event.get("call_id").and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
        for call in &calls {
            for id in self.identities.values() {
                for path in [GroupEnd::PATH, GroupLeave::PATH] {
                    let _ = self
                        .http
                        .send(
                            As::User(id),
                            reqwest::Method::POST,
                            &api_path(&path.replace("{call_id}", call)),
                            &Map::new(),
                            false,
                            Duration::from_secs(5),
                        )
                        .await;
                }
            }
        }
    }

    pub(super) fn identity(&self, actor: &str) -> Result<&Identity, Status> {
        self.identities
            .get(actor)
            .ok_or_else(|| fail(format!("actor {actor} is not signed in")))
    }

    pub(super) fn device_index(&self, device: &DeviceRef) -> Result<usize, Status> {
        self.devices
            .iter()
            .position(|d| d.actor == device.actor && d.name == device.device)
            .ok_or_else(|| fail(format!("{} has no queue", device.describe())))
    }

    pub(super) fn expand_text(&self, text: &str) -> Result<String, Status> {
        self.vars.expand_text(text).map_err(|e| fail(e.to_string()))
    }

    pub(super) fn expand_map(
        &self,
        map: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Status> {
        self.vars.expand_map(map).map_err(|e| fail(e.to_string()))
    }

    pub(super) fn save(
        &mut self,
        save: &BTreeMap<String, String>,
        body: &Value,
        what: &str,
    ) -> StepResult {
        for (name, path) in save {
            let value = lookup(body, path)
                .ok_or_else(|| fail(format!("cannot save ${{{name}}}: {what} has no {path}")))?;
            self.vars.set(name.clone(), value.clone());
        }
        Ok(())
    }

    async fn step(&mut self, step: &Step) -> StepResult {
        tracing::debug!(step = step.number, action = step.action.keyword(), "step");
        match &step.action {
            Action::Request(r) => self.request(r).await,
            Action::Race(r) => self.race(r).await,
            Action::WaitEvent(w) => self.wait_event(w).await,
            Action::ExpectCall(c) => self.expect_call(c).await,
            Action::PollEvents(p) => self.poll_events(p).await,
            Action::Register(d) => {
                let index = self.device_index(d)?;
                self.register(index).await
            }
            Action::AdvanceClock(a) => self.advance_clock(a).await,
            Action::Fault(f) => self.fault(f).await,
            Action::ExpectPushes(p) => self.expect_pushes(p).await,
            Action::WaitFor(w) => self.wait_for(w).await,
            Action::Verify(v) => self.verify(v).await,
            Action::Reset => self.reset().await,
            Action::ExpireQueues(e) => self.expire_queues(e).await,
        }
    }
}

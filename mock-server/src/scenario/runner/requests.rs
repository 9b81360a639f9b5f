//! Steps that use the Zulip and plugin API as an actor: a request and its expected answer,
//! requests racing each other, and a look at a call's state. Kept apart from the event and
//! control steps: these need neither a queue nor the control API.

use futures_util::future::join_all;
use serde_json::{Map, Value, json};

use super::expect::check_expect;
use super::http::{Answer, As, api_path};
use super::outcome::{Status, StepResult, fail};
use super::session::Session;
use crate::scenario::model::{Expect, ExpectCall, Race, Request};
use crate::scenario::vars::{form_value, match_value};

impl Session<'_> {
    pub(super) async fn request(&mut self, r: &Request) -> StepResult {
        let (path, params) = self.target(r)?;
        let answer = self.send_request(r, &path, &params).await?;
        check_expect(&r.expect, &answer, &self.vars)?;
        self.save(&r.save, &answer.body, "the answer")
    }

    /// Sends every request of the race at once and checks that exactly `winners` succeeded
    /// and every other answer is what `losers` says.
    pub(super) async fn race(&mut self, r: &Race) -> StepResult {
        let targets = r
            .requests
            .iter()
            .map(|request| self.target(request))
            .collect::<Result<Vec<_>, _>>()?;
        let answers = join_all(
            r.requests
                .iter()
                .zip(&targets)
                .map(|(request, (path, params))| self.send_request(request, path, params)),
        )
        .await;
        let mut winners = Vec::new();
        let mut outcomes = Vec::new();
        let mut problems = Vec::new();
        for (request, answer) in r.requests.iter().zip(answers) {
            let answer = answer?;
            outcomes.push(format!("{} {}", request.actor, answer.describe()));
            if answer.is_success() {
                winners.push(request.actor.as_str());
                continue;
            }
            // Without a status or code, any error will do; the rest of `losers` still counts.
            let losers = match (r.losers.status, &r.losers.code) {
                (None, None) => Expect {
                    status: Some(answer.status),
                    ..r.losers.clone()
                },
                _ => r.losers.clone(),
            };
            if let Err(Status::Failed(why)) = check_expect(&losers, &answer, &self.vars) {
                problems.push(format!("{}: {why}", request.actor));
            }
        }
        if winners.len() != r.winners {
            return Err(fail(format!(
                "expected {} of the {} requests to succeed, {} did; answers: {}",
                r.winners,
                r.requests.len(),
                winners.len(),
                outcomes.join(", ")
            )));
        }
        if !problems.is_empty() {
            return Err(fail(format!(
                "a losing answer is not as expected: {}",
                problems.join("; ")
            )));
        }
        if let (Some(name), Some(winner)) = (&r.save_winner, winners.first()) {
            let user_id = self.identity(winner)?.user_id;
            self.vars.set(name.clone(), json!(user_id));
        }
        Ok(())
    }

    /// A request's path (placeholders filled) and parameters, with variables expanded.
    fn target(&self, r: &Request) -> Result<(String, Map<String, Value>), Status> {
        let mut params = self.expand_map(&r.params)?;
        let mut path = self.expand_text(&r.path)?;
        for name in &r.path_params {
            let value = params.remove(name).unwrap_or(Value::Null);
            path = path.replace(&format!("{{{name}}}"), &form_value(&value));
        }
        Ok((path, params))
    }

    async fn send_request(
        &self,
        r: &Request,
        path: &str,
        params: &Map<String, Value>,
    ) -> Result<Answer, Status> {
        let id = self.identity(&r.actor)?;
        self.http
            .call(
                As::User(id),
                r.method.clone(),
                &api_path(path),
                params,
                r.json,
            )
            .await
            .map_err(fail)
    }

    pub(super) async fn expect_call(&mut self, c: &ExpectCall) -> StepResult {
        let call = self.expand_text(&c.call)?;
        // The design dialect's `GET calls/{id}`; a server of the 1.1 dialect alone has only
        // `GET calls/{id}/status`, whose `call` has the same `state`.
        let mut path = api_path(&format!("calls/{call}"));
        let mut answer = self.get_as(&c.actor, &path).await?;
        if answer.status == 404 && answer.field("code") == Some("NOT_FOUND") {
            path = api_path(&format!("calls/{call}/status"));
            answer = self.get_as(&c.actor, &path).await?;
        }
        if !answer.is_success() {
            return Err(fail(format!("GET {path} answered {}", answer.describe())));
        }
        let object = answer.body.get("call").cloned().unwrap_or(Value::Null);
        if let Some(state) = &c.state {
            let actual = object
                .get("state")
                .and_then(Value::as_str)
                .unwrap_or("(none)");
            if actual != state {
                let reason = object
                    .get("end_reason")
                    .and_then(Value::as_str)
                    .map(|r| format!(" (end_reason {r})"))
                    .unwrap_or_default();
                return Err(fail(format!(
                    "expected the call to be {state}, got {actual}{reason}"
                )));
            }
        }
        let fields = Value::Object(self.expand_map(&c.fields)?);
        match_value(&fields, &object).map_err(|m| fail(format!("{m} (in the call)")))
    }

    /// `GET path` as `actor`.
    async fn get_as(&mut self, actor: &str, path: &str) -> Result<Answer, Status> {
        let id = self.identity(actor)?;
        self.http
            .call(As::User(id), reqwest::Method::GET, path, &Map::new(), false)
            .await
            .map_err(fail)
    }
}

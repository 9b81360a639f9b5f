//! Steps that use the Zulip and plugin API as an actor: a request and its expected answer,
//! and a look at a call's state. Kept apart from the event and control steps: these need
//! neither a queue nor the control API.

use serde_json::{Map, Value};

use super::expect::check_expect;
use super::http::{Answer, As, api_path};
use super::outcome::{Status, StepResult, fail};
use super::session::Session;
use crate::scenario::model::{ExpectCall, Request};
use crate::scenario::vars::{form_value, match_value};

impl Session<'_> {
    pub(super) async fn request(&mut self, r: &Request) -> StepResult {
        let mut params = self.expand_map(&r.params)?;
        let mut path = self.expand_text(&r.path)?;
        for name in &r.path_params {
            let value = params.remove(name).unwrap_or(Value::Null);
            path = path.replace(&format!("{{{name}}}"), &form_value(&value));
        }
        let answer = {
            let id = self.identity(&r.actor)?;
            self.http
                .call(
                    As::User(id),
                    r.method.clone(),
                    &api_path(&path),
                    &params,
                    r.json,
                )
                .await
                .map_err(fail)?
        };
        check_expect(&r.expect, &answer, &self.vars)?;
        self.save(&r.save, &answer.body, "the answer")
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

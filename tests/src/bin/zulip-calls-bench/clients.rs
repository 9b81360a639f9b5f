//! Lean clients of the mock: one shared HTTP connection pool speaking as many users, and one
//! event listener per user over the WebSocket or long-polling. Lean so that the bench process
//! can hold ten thousand of them and still measure the server, not itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use zulip_calls_protocol::Dialect;
use zulip_calls_protocol::dialect::GROUP_CALL_EVENT_TYPE;
use zulip_calls_protocol::plugin::group::GroupCallOp;

use anyhow::{Context, bail};
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::server::Account;

/// How a client receives its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    LongPoll,
}

/// The plugin and Zulip API over one connection pool, counting requests.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    site: String,
    /// The calls API dialect the clients speak: which events they register for and ring on.
    pub dialect: Dialect,
    pub requests: Arc<AtomicU64>,
}

/// A registered event queue.
#[derive(Debug, Clone)]
pub struct Queue {
    pub id: String,
    pub last_event_id: i64,
    pub websocket_path: Option<String>,
}

/// A ring seen by a receiver (`call_started`, the 1.1 dialect's `incoming_call`, or a group
/// call's `participant_invited`): the call and when it arrived.
pub type Rang = (String, Instant);

impl Api {
    /// Clients of `site` speaking the design dialect.
    pub fn new(site: &str) -> anyhow::Result<Api> {
        Api::speaking(site, Dialect::Design)
    }

    /// Clients of `site` speaking `dialect`.
    pub fn speaking(site: &str, dialect: Dialect) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            .tcp_nodelay(true)
            .build()?;
        Ok(Api {
            http,
            site: site.to_owned(),
            dialect,
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    /// `POST /api/v1/{path}` as `who`; the body of a successful answer.
    pub async fn post(
        &self,
        who: &Account,
        path: &str,
        form: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .post(format!("{}/api/v1/{path}", self.site))
            .basic_auth(&who.email, Some(&who.key))
            .form(form)
            .send()
            .await?;
        success(response, path).await
    }

    /// `GET /api/v1/{path}` as `who`.
    pub async fn get(
        &self,
        who: &Account,
        path: &str,
        query: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .get(format!("{}/api/v1/{path}", self.site))
            .basic_auth(&who.email, Some(&who.key))
            .query(query)
            .send()
            .await?;
        success(response, path).await
    }

    /// Registers a queue for the call events of the clients' dialect.
    pub async fn register(&self, who: &Account) -> anyhow::Result<Queue> {
        self.register_for(who, &[self.dialect.call_event_type()])
            .await
    }

    /// Registers a queue for the group call events (the 1.1 dialect's `group_call`).
    pub async fn register_for_group_calls(&self, who: &Account) -> anyhow::Result<Queue> {
        self.register_for(who, &[GROUP_CALL_EVENT_TYPE]).await
    }

    /// Registers a queue for `event_types`.
    async fn register_for(&self, who: &Account, event_types: &[&str]) -> anyhow::Result<Queue> {
        let types = serde_json::to_string(event_types)?;
        let body = self
            .post(who, "register", &[("event_types", &types)])
            .await?;
        Ok(Queue {
            id: body["queue_id"]
                .as_str()
                .context("register: no queue_id")?
                .to_owned(),
            last_event_id: body["last_event_id"].as_i64().unwrap_or(-1),
            websocket_path: body["events_websocket_path"].as_str().map(str::to_owned),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn site(&self) -> &str {
        &self.site
    }
}

async fn success(response: reqwest::Response, path: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("{path}: no JSON"))?;
    if !status.is_success() || body["result"] != "success" {
        bail!("{path}: {status} {body}");
    }
    Ok(body)
}

/// One user's event listener. `ready` is told once the listener is in place (the WebSocket
/// open, or the first long-poll sent); `rang` gets every ring it sees (see [`rings`]); it runs
/// until `stop` turns true or the connection fails.
pub struct Listener {
    pub api: Api,
    pub who: Account,
    pub queue: Queue,
    pub transport: Transport,
    pub rang: Option<mpsc::UnboundedSender<Rang>>,
    pub ready: Option<tokio::sync::oneshot::Sender<()>>,
    pub stop: watch::Receiver<bool>,
}

impl Listener {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.transport {
            Transport::WebSocket => self.websocket().await,
            Transport::LongPoll => self.long_poll().await,
        }
    }

    async fn websocket(mut self) -> anyhow::Result<()> {
        let path = self
            .queue
            .websocket_path
            .clone()
            .context("the server offers no event WebSocket")?;
        let url = format!(
            "{}{path}?queue_id={}&last_event_id={}",
            self.api.site().replacen("http://", "ws://", 1),
            self.queue.id,
            self.queue.last_event_id
        );
        let mut request = url.into_client_request()?;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.who.email, self.who.key));
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Basic {token}"))?,
        );
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(());
        }
        loop {
            let frame = tokio::select! {
                () = stopped(&mut self.stop) => {
                    let _ = ws.close(None).await;
                    return Ok(());
                }
                frame = ws.next() => frame,
            };
            let Some(frame) = frame else {
                bail!("the event WebSocket closed");
            };
            let Message::Text(text) = frame? else {
                continue;
            };
            let event: Value = serde_json::from_str(&text)?;
            self.saw(&event);
            if let Some(id) = event["id"].as_i64() {
                ws.send(Message::text(format!("{{\"last_event_id\":{id}}}")))
                    .await?;
            }
        }
    }

    async fn long_poll(mut self) -> anyhow::Result<()> {
        let mut last = self.queue.last_event_id;
        loop {
            let last_text = last.to_string();
            let query = [
                ("queue_id", self.queue.id.as_str()),
                ("last_event_id", last_text.as_str()),
            ];
            let poll = self.api.get(&self.who, "events", &query);
            if let Some(ready) = self.ready.take() {
                let _ = ready.send(());
            }
            let body = tokio::select! {
                () = stopped(&mut self.stop) => return Ok(()),
                body = poll => body?,
            };
            for event in body["events"].as_array().into_iter().flatten() {
                self.saw(event);
                last = last.max(event["id"].as_i64().unwrap_or(last));
            }
        }
    }

    fn saw(&self, event: &Value) {
        if rings(self.api.dialect, event)
            && let (Some(rang), Some(call_id)) = (&self.rang, event["call_id"].as_str())
        {
            let _ = rang.send((call_id.to_owned(), Instant::now()));
        }
    }
}

/// Whether `event` rings the user whose queue it came from: a 1:1 call placed to them in
/// `dialect` (`call_started`, or the 1.1 dialect's `incoming_call`), or an invitation to a
/// group call (`group_call`'s `participant_invited`), whichever the queue was registered for.
fn rings(dialect: Dialect, event: &Value) -> bool {
    if event["type"] == GROUP_CALL_EVENT_TYPE {
        return event["op"] == GroupCallOp::ParticipantInvited.as_str();
    }
    match dialect {
        Dialect::Design => event["event_type"] == "call_started",
        Dialect::V1_1 => event["type"] == "call" && event["op"] == "incoming_call",
    }
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rings_are_the_dialects_incoming_calls_and_group_invitations() {
        let design = json!({"type": "call_event", "event_type": "call_started", "call_id": "a"});
        let incoming = json!({"type": "call", "op": "incoming_call", "call_id": "a"});
        let invited = json!({"type": "group_call", "op": "participant_invited", "call_id": "a"});
        let created = json!({"type": "group_call", "op": "created", "call_id": "a"});
        let ended = json!({"type": "group_call", "op": "ended", "call_id": "a"});
        assert!(rings(Dialect::Design, &design));
        assert!(!rings(Dialect::Design, &incoming));
        assert!(rings(Dialect::V1_1, &incoming));
        assert!(!rings(Dialect::V1_1, &design));
        for dialect in [Dialect::Design, Dialect::V1_1] {
            assert!(rings(dialect, &invited));
            assert!(!rings(dialect, &created));
            assert!(!rings(dialect, &ended));
        }
    }
}

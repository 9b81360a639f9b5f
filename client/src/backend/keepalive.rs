//! Keeps an accepted call alive on a server that watches for silent parties (the 1.1 dialect
//! ends a call as `network_failure` when a party stops heartbeating): one heartbeat at once,
//! then one every interval, until the call ends or this process stops holding it.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use zulip_calls_protocol::CallId;

use zulip_calls_protocol::ErrorCode;

use super::api::ClientError;
use super::calls::Calls;

/// How often a held call is heartbeaten: within the dialect's 15 s, and six times inside the
/// server's 60 s timeout, so a few lost requests do not drop the call.
pub const CALL_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);

/// The heartbeat of at most one call at a time.
#[derive(Debug)]
pub struct Keepalive {
    calls: Calls,
    interval: Duration,
    current: Option<(CallId, JoinHandle<()>)>,
}

impl Keepalive {
    /// Heartbeats through `calls` every `interval` (needs a Tokio runtime once a call is held).
    pub fn new(calls: Calls, interval: Duration) -> Self {
        Keepalive {
            calls,
            interval,
            current: None,
        }
    }

    /// Heartbeats `held` (and nothing else), or nothing when `None`. Calling it again with the
    /// same call changes nothing, so it can follow the UI's state after every update. On a
    /// server whose dialect has no heartbeat it never sends anything.
    pub fn follow(&mut self, held: Option<CallId>) {
        let held = held.filter(|_| self.calls.features().heartbeat);
        if self.current.as_ref().map(|(id, _)| *id) == held {
            return;
        }
        self.stop();
        if let Some(call_id) = held {
            let task = tokio::spawn(beat(self.calls.clone(), call_id, self.interval));
            self.current = Some((call_id, task));
        }
    }

    /// The call being heartbeaten, if any (and its heartbeat still runs).
    pub fn holding(&self) -> Option<CallId> {
        self.current
            .as_ref()
            .filter(|(_, task)| !task.is_finished())
            .map(|(id, _)| *id)
    }

    /// Stops heartbeating.
    pub fn stop(&mut self) {
        if let Some((call_id, task)) = self.current.take() {
            task.abort();
            tracing::debug!(%call_id, "heartbeat stopped");
        }
    }
}

impl Drop for Keepalive {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Heartbeats `call_id` until the server says it is over. A failed heartbeat is logged and the
/// next one tried: the server allows several to go missing.
async fn beat(calls: Calls, call_id: CallId, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match calls.heartbeat(call_id).await {
            Ok(Some(state)) if state.is_terminal() => {
                tracing::info!(%call_id, %state, "the held call is over");
                return;
            }
            Ok(Some(_)) => tracing::trace!(%call_id, "heartbeat"),
            Ok(None) => return,
            Err(err) if gone(&err) => {
                tracing::info!(%call_id, error = %err, "the held call cannot be heartbeaten");
                return;
            }
            Err(err) => tracing::warn!(%call_id, error = %err, "heartbeat failed"),
        }
    }
}

/// A failure no later heartbeat can get past: the call or the route is not there for me.
fn gone(err: &ClientError) -> bool {
    matches!(
        err.code(),
        Some(ErrorCode::CallNotFound | ErrorCode::NotAParticipant)
    ) || matches!(
        err,
        ClientError::WrongDialect { .. } | ClientError::NoEndpoint { .. }
    )
}

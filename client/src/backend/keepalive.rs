//! Keeps an accepted call alive on a server that watches for silent parties (the 1.1 dialect
//! ends a call as `network_failure` when a party stops heartbeating, and drops a silent group
//! participant): one heartbeat at once, then one every interval, until the call ends or this
//! process stops holding it.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use zulip_calls_protocol::CallId;

use zulip_calls_protocol::ErrorCode;

use super::api::ClientError;
use super::calls::Calls;

/// How often a held call is heartbeaten: within the dialect's 15 s, and six times inside the
/// server's 60 s timeout, so a few lost requests do not drop the call.
pub const CALL_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);

/// A call this process is in and keeps alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Held {
    /// An accepted 1:1 call: heartbeaten only where the dialect has heartbeats.
    Call(CallId),
    /// A group call I joined: always heartbeaten (every server with group calls watches its
    /// participants through the heartbeat route).
    Group(CallId),
}

impl Held {
    /// The call's id.
    pub const fn call_id(self) -> CallId {
        match self {
            Held::Call(id) | Held::Group(id) => id,
        }
    }
}

/// The heartbeat of at most one call at a time.
#[derive(Debug)]
pub struct Keepalive {
    calls: Calls,
    interval: Duration,
    current: Option<(Held, JoinHandle<()>)>,
    /// Told when a heartbeat stops by itself (the server says the call is over or I am out).
    reports: Option<mpsc::UnboundedSender<Held>>,
}

impl Keepalive {
    /// Heartbeats through `calls` every `interval` (needs a Tokio runtime once a call is held).
    pub fn new(calls: Calls, interval: Duration) -> Self {
        Keepalive {
            calls,
            interval,
            current: None,
            reports: None,
        }
    }

    /// The same, telling `reports` about every heartbeat that stops by itself, so that whoever
    /// shows the call can look at what the server made of it (a group participant dropped by
    /// the server gets no event about it).
    #[must_use]
    pub fn reporting_to(mut self, reports: mpsc::UnboundedSender<Held>) -> Self {
        self.reports = Some(reports);
        self
    }

    /// Heartbeats the 1:1 call `held` (and nothing else), or nothing when `None`; see
    /// [`Keepalive::keep`].
    pub fn follow(&mut self, held: Option<CallId>) {
        self.keep(held.map(Held::Call));
    }

    /// Heartbeats `held` (and nothing else), or nothing when `None`. Calling it again with the
    /// same call changes nothing, so it can follow the UI's state after every update. A 1:1
    /// call on a server whose dialect has no heartbeat is never heartbeaten.
    pub fn keep(&mut self, held: Option<Held>) {
        let held = held.filter(|held| match held {
            Held::Call(_) => self.calls.features().heartbeat,
            Held::Group(_) => true,
        });
        if self.current.as_ref().map(|(current, _)| *current) == held {
            return;
        }
        self.stop();
        if let Some(held) = held {
            let task = tokio::spawn(beat(
                self.calls.clone(),
                held,
                self.interval,
                self.reports.clone(),
            ));
            self.current = Some((held, task));
        }
    }

    /// The call being heartbeaten, if any (and its heartbeat still runs).
    pub fn holding(&self) -> Option<CallId> {
        self.current
            .as_ref()
            .filter(|(_, task)| !task.is_finished())
            .map(|(held, _)| held.call_id())
    }

    /// Stops heartbeating.
    pub fn stop(&mut self) {
        if let Some((held, task)) = self.current.take() {
            task.abort();
            tracing::debug!(call_id = %held.call_id(), "heartbeat stopped");
        }
    }
}

impl Drop for Keepalive {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Heartbeats `held` until the server says it is over (or that I am out of it). A failed
/// heartbeat is logged and the next one tried: the server allows several to go missing.
async fn beat(
    calls: Calls,
    held: Held,
    interval: Duration,
    reports: Option<mpsc::UnboundedSender<Held>>,
) {
    let call_id = held.call_id();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let answer = match held {
            Held::Call(_) => calls.heartbeat(call_id).await,
            Held::Group(_) => calls.group_heartbeat(call_id).await.map(Some),
        };
        match answer {
            Ok(Some(state)) if state.is_terminal() => {
                tracing::info!(%call_id, %state, "the held call is over");
                break;
            }
            Ok(Some(_)) => tracing::trace!(%call_id, "heartbeat"),
            Ok(None) => return,
            Err(err) if gone(held, &err) => {
                tracing::info!(%call_id, error = %err, "the held call cannot be heartbeaten");
                break;
            }
            Err(err) => tracing::warn!(%call_id, error = %err, "heartbeat failed"),
        }
    }
    if let Some(reports) = reports {
        let _ = reports.send(held);
    }
}

/// A failure no later heartbeat can get past: the call or the route is not there for me, or
/// (in a group call) I am no longer joined, which the server refuses as a bad request.
fn gone(held: Held, err: &ClientError) -> bool {
    matches!(
        err.code(),
        Some(ErrorCode::CallNotFound | ErrorCode::NotAParticipant)
    ) || matches!(
        err,
        ClientError::WrongDialect { .. }
            | ClientError::NoEndpoint { .. }
            | ClientError::NoGroupCalls { .. }
    ) || (matches!(held, Held::Group(_)) && err.code() == Some(&ErrorCode::BadRequest))
}

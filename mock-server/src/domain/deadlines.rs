//! Fires call deadlines (ring timeout, missed, max duration) and expires idle event queues,
//! sleeping until the earliest one rather than polling. Deadlines come from stored timestamps,
//! so they fire after a restart too.

use std::time::Duration;

use zulip_calls_protocol::{Action, Timestamp};

use super::calls::{CallDesk, Who, next_deadline};
use crate::state::AppState;

/// The longest the loop sleeps without looking again (covers clock jumps).
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Runs until the task is dropped.
pub async fn run(state: std::sync::Arc<AppState>) {
    loop {
        let next = fire_due(&state);
        let now = state.clock.now();
        let wait = match next {
            Some(at) => Duration::from_millis(
                u64::try_from(at.unix_millis().saturating_sub(now.unix_millis())).unwrap_or(0),
            )
            .min(MAX_SLEEP),
            None => MAX_SLEEP,
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.deadlines_changed.notified() => {}
        }
    }
}

/// Fires every deadline that has passed and returns the next one.
pub fn fire_due(state: &AppState) -> Option<Timestamp> {
    let now = state.clock.now();
    let settings = state.settings();
    let lifespan = settings.event_queue_lifespan;
    let expired = state.queues.expire(now, lifespan);
    if expired > 0 {
        tracing::info!(expired, "event queues expired");
    }
    let active = match state.store().all_active_calls() {
        Ok(calls) => calls,
        Err(err) => {
            tracing::error!(error = %err, "could not read active calls");
            return Some(now.plus_seconds(1));
        }
    };
    let desk = CallDesk::new(state);
    let mut next = state.queues.next_expiry(lifespan);
    for record in active {
        let Some((at, action)) = next_deadline(&record.call, settings) else {
            continue;
        };
        if at <= now {
            fire(&desk, record.call.call_id, action);
        } else {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    next
}

fn fire(desk: &CallDesk<'_>, call_id: zulip_calls_protocol::CallId, action: Action) {
    match desk.act(call_id, Who::Server, action, None) {
        Ok(acted) => {
            tracing::info!(%call_id, ?action, state = %acted.record.call.state, "deadline fired")
        }
        // A request won the race (the call was answered or ended first): nothing to do.
        Err(err) => tracing::debug!(%call_id, ?action, error = %err, "deadline no longer applies"),
    }
}

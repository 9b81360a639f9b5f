//! The two loads: idle clients that only hold a connection, and caller/receiver pairs running
//! full call lifecycles (start → acknowledge → accept → status → end) while every one of them
//! listens on its own event queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use zulip_calls_protocol::Dialect;

use anyhow::Context;
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::clients::{Api, Listener, Queue, Rang, Transport};
use crate::server::Account;

/// How long a receiver may take to see a call before the lifecycle counts as failed.
pub const RING_PATIENCE: Duration = Duration::from_secs(10);
/// How many clients register and connect at once while the idle crowd gathers.
const CONNECT_CONCURRENCY: usize = 64;

/// Which transport the `i`-th client uses, spreading `websocket_share` evenly.
pub fn transport_of(i: u64, websocket_share: f64) -> Transport {
    // Client i is a WebSocket client when the running share crosses a whole number.
    let before = (i as f64 * websocket_share).floor();
    let after = ((i + 1) as f64 * websocket_share).floor();
    if after > before {
        Transport::WebSocket
    } else {
        Transport::LongPoll
    }
}

/// Connected listeners, stopped (and their connections closed) when `stop` is set.
pub struct Crowd {
    pub tasks: Vec<JoinHandle<anyhow::Result<()>>>,
    pub stop: watch::Sender<bool>,
}

impl Crowd {
    pub async fn disperse(self) -> usize {
        let _ = self.stop.send(true);
        let mut failed = 0;
        for task in self.tasks {
            if !matches!(task.await, Ok(Ok(()))) {
                failed += 1;
            }
        }
        failed
    }
}

/// Registers a queue for each account and opens its listener; returns once every listener is
/// in place.
pub async fn connect_idle(
    api: &Api,
    accounts: Vec<Account>,
    websocket_share: f64,
) -> anyhow::Result<Crowd> {
    let (stop, stop_rx) = watch::channel(false);
    let connecting = futures_util::stream::iter(accounts.into_iter().enumerate())
        .map(|(i, who)| {
            let stop_rx = stop_rx.clone();
            async move {
                let queue = api.register(&who).await?;
                let transport = transport_of(i as u64, websocket_share);
                listen(api, who, queue, transport, None, stop_rx)
                    .await
                    .context("an idle client failed before it was connected")
            }
        })
        .buffer_unordered(CONNECT_CONCURRENCY);
    let tasks: Vec<_> = connecting.collect().await;
    let tasks = tasks.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Crowd { tasks, stop })
}

/// Starts `who`'s listener on `queue`; returns its task once it is in place.
pub async fn listen(
    api: &Api,
    who: Account,
    queue: Queue,
    transport: Transport,
    rang: Option<mpsc::UnboundedSender<Rang>>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<anyhow::Result<()>>> {
    let (ready, is_ready) = oneshot::channel();
    let task = tokio::spawn(
        Listener {
            api: api.clone(),
            who,
            queue,
            transport,
            rang,
            ready: Some(ready),
            stop,
        }
        .run(),
    );
    is_ready.await.context("a listener failed to connect")?;
    Ok(task)
}

/// When one of `slots` clients taking turns acts: as fast as it goes, or paced so that all of
/// them together act `rate` times a second, their first turns spread over one period so the
/// load does not pulse. Turns are due from `started` until `deadline`.
pub struct Schedule {
    /// The next turn's due time and the time between turns, when paced.
    paced: Option<(Instant, Duration)>,
    deadline: Instant,
}

impl Schedule {
    pub fn new(
        started: Instant,
        deadline: Instant,
        rate: Option<f64>,
        slot: usize,
        slots: usize,
    ) -> Schedule {
        let paced = rate.map(|rate| {
            let period = Duration::from_secs_f64(slots as f64 / rate);
            (started + period.mul_f64(slot as f64 / slots as f64), period)
        });
        Schedule { paced, deadline }
    }

    /// Waits for the next turn; `false` once the window is over, at once rather than at the
    /// first turn past it (the run ends with its last turn). A paced turn belongs to the
    /// window if it was due in it, even when its timer fires a little after the window's end.
    /// A client held up by a slow turn catches up on the ones it owes: the load is offered at
    /// the rate, and a server that cannot keep up shows in the time the turns due in the
    /// window take to start.
    pub async fn next(&mut self) -> bool {
        match self.paced.as_mut() {
            Some((due, period)) => {
                if *due >= self.deadline {
                    return false;
                }
                tokio::time::sleep_until((*due).into()).await;
                *due += *period;
                true
            }
            None => Instant::now() < self.deadline,
        }
    }
}

/// Waits until `rang` brings the ring of `call_id` (skipping others' left from failed turns),
/// until `give_up` at the latest; the time from `sent` to its arrival.
pub async fn ring_of(
    rang: &mut mpsc::UnboundedReceiver<Rang>,
    call_id: &str,
    sent: Instant,
    give_up: Instant,
) -> anyhow::Result<Duration> {
    let rang_at = tokio::time::timeout_at(give_up.into(), async {
        loop {
            match rang.recv().await {
                Some((id, at)) if id == call_id => return Some(at),
                Some(_) => continue,
                None => return None,
            }
        }
    })
    .await
    .context("the receiver never saw the call ring")?
    .context("the receiver's listener stopped")?;
    Ok(rang_at.saturating_duration_since(sent))
}

/// What the lifecycle load measured.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    pub lifecycles: u64,
    pub failures: u64,
    /// Ring latencies of receivers on the WebSocket and on long-polls.
    pub ring_websocket: Vec<Duration>,
    pub ring_long_poll: Vec<Duration>,
    pub first_failure: Option<String>,
    pub elapsed: Duration,
    /// From the start to the last lifecycle's start: past the window when a paced load fell
    /// behind its schedule.
    pub last_start: Duration,
}

/// The lifecycle load's settings.
#[derive(Debug, Clone, Copy)]
pub struct LoadPlan {
    /// Callers and receivers: `pairs * 2` accounts.
    pub pairs: usize,
    pub duration: Duration,
    /// Lifecycles per second over all pairs; `None` = as fast as each pair can go.
    pub rate: Option<f64>,
    pub websocket_share: f64,
}

/// What a run's rate is over. A paced run starts the turns due in its window and finishes the
/// last ones just after it: its rate is over the window, or up to the last start when the
/// server fell behind and turns due in the window started after it. As fast as possible, it is
/// over the wall time (`elapsed`).
pub fn rate_seconds(
    rate: Option<f64>,
    window: Duration,
    last_start: Duration,
    elapsed: Duration,
) -> f64 {
    match rate {
        Some(_) => window.max(last_start).as_secs_f64(),
        None => elapsed.as_secs_f64(),
    }
}

/// Runs `plan.pairs` caller/receiver pairs (accounts `2p` and `2p + 1`) for `plan.duration`.
pub async fn run_lifecycles(
    api: &Api,
    accounts: &[Account],
    plan: LoadPlan,
) -> anyhow::Result<LoadOutcome> {
    let (stop, stop_rx) = watch::channel(false);
    let lifecycles = Arc::new(AtomicU64::new(0));
    let mut pairs = Vec::new();
    let mut listeners = Vec::new();
    for p in 0..plan.pairs {
        let caller = accounts[2 * p].clone();
        let receiver = accounts[2 * p + 1].clone();
        let transport = transport_of(p as u64, plan.websocket_share);
        let (rang_tx, rang_rx) = mpsc::unbounded_channel();
        for (who, rang) in [(caller.clone(), None), (receiver.clone(), Some(rang_tx))] {
            let queue = api.register(&who).await?;
            listeners.push(listen(api, who, queue, transport, rang, stop_rx.clone()).await?);
        }
        pairs.push((caller, receiver, transport, rang_rx));
    }

    let started = Instant::now();
    let deadline = started + plan.duration;
    let tasks: Vec<_> = pairs
        .into_iter()
        .enumerate()
        .map(|(p, (caller, receiver, transport, rang))| {
            let api = api.clone();
            let lifecycles = Arc::clone(&lifecycles);
            let mut schedule = Schedule::new(started, deadline, plan.rate, p, plan.pairs);
            tokio::spawn(async move {
                let mut pair = Pair {
                    api,
                    caller,
                    receiver,
                    rang,
                    last_call: None,
                };
                let mut outcome = LoadOutcome::default();
                while schedule.next().await {
                    outcome.last_start = outcome.last_start.max(started.elapsed());
                    match pair.lifecycle().await {
                        Ok(latency) => {
                            lifecycles.fetch_add(1, Ordering::Relaxed);
                            match transport {
                                Transport::WebSocket => outcome.ring_websocket.push(latency),
                                Transport::LongPoll => outcome.ring_long_poll.push(latency),
                            }
                        }
                        Err(err) => {
                            outcome.failures += 1;
                            outcome
                                .first_failure
                                .get_or_insert_with(|| format!("{err:#}"));
                            // Whatever was left ringing or active is ended before the next try.
                            pair.end_all().await;
                        }
                    }
                }
                outcome
            })
        })
        .collect();

    let mut total = LoadOutcome::default();
    for task in tasks {
        let outcome = task.await?;
        total.failures += outcome.failures;
        total.last_start = total.last_start.max(outcome.last_start);
        total.ring_websocket.extend(outcome.ring_websocket);
        total.ring_long_poll.extend(outcome.ring_long_poll);
        if total.first_failure.is_none() {
            total.first_failure = outcome.first_failure;
        }
    }
    total.elapsed = started.elapsed();
    total.lifecycles = lifecycles.load(Ordering::Relaxed);
    for failure in stop_listeners(&stop, listeners).await {
        total.failures += 1;
        total.first_failure.get_or_insert(failure);
    }
    Ok(total)
}

/// Stops `listeners` and waits for them; what made those that failed before fail.
pub async fn stop_listeners(
    stop: &watch::Sender<bool>,
    listeners: Vec<JoinHandle<anyhow::Result<()>>>,
) -> Vec<String> {
    let _ = stop.send(true);
    let mut failures = Vec::new();
    for listener in listeners {
        if let Ok(Err(err)) = listener.await {
            failures.push(format!("a listener failed: {err:#}"));
        }
    }
    failures
}

/// One caller and one receiver, and the receiver's rings.
struct Pair {
    api: Api,
    caller: Account,
    receiver: Account,
    rang: mpsc::UnboundedReceiver<Rang>,
    /// The call of the latest lifecycle, so a failed one can be ended (the 1.1 dialect has
    /// no `end-all`).
    last_call: Option<String>,
}

impl Pair {
    /// One full lifecycle in the clients' dialect; returns the ring latency (the call
    /// placed → the receiver's ring event received).
    async fn lifecycle(&mut self) -> anyhow::Result<Duration> {
        match self.api.dialect {
            Dialect::Design => self.design_lifecycle().await,
            Dialect::V1_1 => self.plugin_lifecycle().await,
        }
    }

    /// start → acknowledge → accept → media status → end.
    async fn design_lifecycle(&mut self) -> anyhow::Result<Duration> {
        let receiver_id = self.receiver.id.to_string();
        let sent = Instant::now();
        let started = self
            .api
            .post(
                &self.caller,
                "calls/start",
                &[("user_id", &receiver_id), ("call_type", "video")],
            )
            .await?;
        let call_id = self.placed(&started)?;
        let latency = self.ring(&call_id, sent).await?;
        let call = [("call_id", call_id.as_str())];
        self.api
            .post(&self.receiver, "calls/acknowledge", &call)
            .await?;
        self.api
            .post(
                &self.receiver,
                "calls/respond",
                &[("call_id", call_id.as_str()), ("response", "accept")],
            )
            .await?;
        self.api
            .post(
                &self.caller,
                "calls/status",
                &[("call_id", call_id.as_str()), ("status", "connected")],
            )
            .await?;
        self.api.post(&self.caller, "calls/end", &call).await?;
        Ok(latency)
    }

    /// The 1.1 dialect's: create → acknowledge → respond accept → one heartbeat → end.
    async fn plugin_lifecycle(&mut self) -> anyhow::Result<Duration> {
        let receiver_id = self.receiver.id.to_string();
        let sent = Instant::now();
        let created = self
            .api
            .post(
                &self.caller,
                "calls/create",
                &[("user_id", &receiver_id), ("is_video_call", "true")],
            )
            .await?;
        let call_id = self.placed(&created)?;
        let latency = self.ring(&call_id, sent).await?;
        self.api
            .post(
                &self.receiver,
                "calls/acknowledge",
                &[("call_id", call_id.as_str()), ("status", "ringing")],
            )
            .await?;
        self.api
            .post(
                &self.receiver,
                &format!("calls/{call_id}/respond"),
                &[("response", "accept")],
            )
            .await?;
        self.api
            .post(
                &self.caller,
                "calls/heartbeat",
                &[("call_id", call_id.as_str())],
            )
            .await?;
        self.api
            .post(&self.caller, &format!("calls/{call_id}/end"), &[])
            .await?;
        Ok(latency)
    }

    /// The id of the call an answer placed, remembered for [`Pair::end_all`].
    fn placed(&mut self, answer: &serde_json::Value) -> anyhow::Result<String> {
        let call_id = answer["call_id"]
            .as_str()
            .context("no call_id in the answer")?
            .to_owned();
        self.last_call = Some(call_id.clone());
        Ok(call_id)
    }

    /// Waits for the receiver's ring of `call_id`; the time since `sent`.
    async fn ring(&mut self, call_id: &str, sent: Instant) -> anyhow::Result<Duration> {
        ring_of(
            &mut self.rang,
            call_id,
            sent,
            Instant::now() + RING_PATIENCE,
        )
        .await
    }

    /// Ends whatever was left ringing or active (`end-all`, or in the 1.1 dialect an `end`
    /// of the latest call by both parties: ending an ended call changes nothing).
    async fn end_all(&self) {
        for who in [&self.caller, &self.receiver] {
            let _ = match (self.api.dialect, &self.last_call) {
                (Dialect::Design, _) => self.api.post(who, "calls/end-all", &[]).await,
                (Dialect::V1_1, Some(call_id)) => {
                    self.api
                        .post(who, &format!("calls/{call_id}/end"), &[])
                        .await
                }
                (Dialect::V1_1, None) => continue,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_websocket_share_is_spread_evenly() {
        let count = |share: f64, n: u64| {
            (0..n)
                .filter(|&i| transport_of(i, share) == Transport::WebSocket)
                .count()
        };
        assert_eq!(count(0.0, 100), 0);
        assert_eq!(count(1.0, 100), 100);
        assert_eq!(count(0.5, 100), 50);
        assert_eq!(count(0.25, 8), 2);
        // Half and half alternates rather than splitting the crowd in two blocks.
        assert_ne!(transport_of(0, 0.5), transport_of(1, 0.5));
    }
}

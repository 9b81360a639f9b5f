//! The group call fan-out (1.1 dialect): hosts each open a group call inviting their own team,
//! every teammate listening on a queue registered for `group_call` events, and the bench
//! measures the time from sending `group/create` to each invitee's `participant_invited` —
//! above all to the last invitee's, when the whole group has been told. Once every invitation
//! has arrived the host ends the call: a host is joined in its call from the start, and can
//! host another only after it has left or ended this one.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use tokio::sync::{mpsc, watch};

use crate::clients::{Api, Rang, Transport};
use crate::load::{self, RING_PATIENCE, Schedule};
use crate::report::{FanoutFigures, Traffic};
use crate::server::Account;
use crate::stats::Summary;

/// The most a group call holds: its host and 49 invitees (spec 1.1 §6).
pub const MAX_GROUP_SIZE: u64 = 50;

/// The fan-out's settings.
#[derive(Debug, Clone, Copy)]
pub struct FanoutPlan {
    /// Hosts, each with a team of its own: `hosts * group_size` accounts.
    pub hosts: usize,
    /// Participants of each call: the host and `group_size - 1` invitees.
    pub group_size: usize,
    pub duration: Duration,
    /// Group calls per second over all hosts; `None` = as fast as each host can go.
    pub rate: Option<f64>,
    pub websocket_share: f64,
}

impl FanoutPlan {
    /// Accounts the fan-out uses (the first of each team hosts).
    pub fn clients(&self) -> u64 {
        (self.hosts * self.group_size) as u64
    }
}

/// What the fan-out measured.
#[derive(Debug, Default)]
pub struct FanoutOutcome {
    /// Group calls whose every invitation arrived and which were ended.
    pub calls: u64,
    pub failures: u64,
    pub first_failure: Option<String>,
    /// `group/create` sent → its answer received.
    pub create_answered: Vec<Duration>,
    /// `group/create` sent → the first and the last invitee's `participant_invited`, one of
    /// each per call (the last minus the first is the fan-out's own spread).
    pub first_invitee: Vec<Duration>,
    pub last_invitee: Vec<Duration>,
    /// `group/create` sent → each invitee's `participant_invited`, by the invitee's transport.
    pub invitee_websocket: Vec<Duration>,
    pub invitee_long_poll: Vec<Duration>,
    pub elapsed: Duration,
    /// From the start to the last call's start: past the window when a paced run fell behind.
    pub last_start: Duration,
}

impl FanoutOutcome {
    /// The figures of the report; `traffic` is what the run cost around it.
    pub fn figures(mut self, plan: &FanoutPlan, traffic: Traffic) -> FanoutFigures {
        let seconds = self.elapsed.as_secs_f64();
        let rate_seconds =
            load::rate_seconds(plan.rate, plan.duration, self.last_start, self.elapsed);
        let mut any = self.invitee_websocket.clone();
        any.extend_from_slice(&self.invitee_long_poll);
        FanoutFigures {
            hosts: plan.hosts as u64,
            group_size: plan.group_size as u64,
            seconds,
            rate_seconds,
            calls: self.calls,
            calls_per_second: self.calls as f64 / rate_seconds,
            invitations: any.len() as u64,
            failures: self.failures,
            first_failure: self.first_failure.take(),
            create_answered: Summary::of(&mut self.create_answered),
            first_invitee: Summary::of(&mut self.first_invitee),
            last_invitee: Summary::of(&mut self.last_invitee),
            any_invitee: Summary::of(&mut any),
            invitee_websocket: Summary::of(&mut self.invitee_websocket),
            invitee_long_poll: Summary::of(&mut self.invitee_long_poll),
            traffic,
        }
    }

    fn failed(&mut self, err: &anyhow::Error) {
        self.failures += 1;
        self.first_failure.get_or_insert_with(|| format!("{err:#}"));
    }
}

/// Runs `plan.hosts` teams (team `t` is `accounts[t * group_size..][..group_size]`, its first
/// account the host) for `plan.duration`, every member listening for group call events on the
/// transport [`load::transport_of`] gives its place among `accounts`.
pub async fn run(
    api: &Api,
    accounts: &[Account],
    plan: FanoutPlan,
) -> anyhow::Result<FanoutOutcome> {
    ensure!(
        accounts.len() >= plan.hosts * plan.group_size,
        "the fan-out needs {} accounts",
        plan.clients()
    );
    let (stop, stop_rx) = watch::channel(false);
    let mut listeners = Vec::new();
    let mut teams = Vec::new();
    for (t, team) in accounts
        .chunks_exact(plan.group_size)
        .take(plan.hosts)
        .enumerate()
    {
        let mut invitees = Vec::new();
        for (i, who) in team.iter().enumerate() {
            let place = t * plan.group_size + i;
            let transport = load::transport_of(place as u64, plan.websocket_share);
            let queue = api.register_for_group_calls(who).await?;
            // The host hears of its own call too (`created`, `ended`), as a live client would.
            let rang = if i == 0 {
                None
            } else {
                let (rang, rings) = mpsc::unbounded_channel();
                invitees.push(Invitee { transport, rings });
                Some(rang)
            };
            let listener = load::listen(api, who.clone(), queue, transport, rang, stop_rx.clone());
            listeners.push(listener.await?);
        }
        let user_ids = team[1..]
            .iter()
            .map(|who| who.id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        teams.push(Team {
            api: api.clone(),
            host: team[0].clone(),
            user_ids,
            invitees,
            last_call: None,
        });
    }

    let started = Instant::now();
    let deadline = started + plan.duration;
    let tasks: Vec<_> = teams
        .into_iter()
        .enumerate()
        .map(|(t, mut team)| {
            let mut schedule = Schedule::new(started, deadline, plan.rate, t, plan.hosts);
            tokio::spawn(async move {
                let mut outcome = FanoutOutcome::default();
                while schedule.next().await {
                    outcome.last_start = outcome.last_start.max(started.elapsed());
                    match team.call().await {
                        Ok(call) => call.add_to(&mut outcome),
                        Err(err) => {
                            outcome.failed(&err);
                            // The host can host again only once its call is over.
                            team.end_last().await;
                        }
                    }
                }
                outcome
            })
        })
        .collect();

    let mut total = FanoutOutcome::default();
    for task in tasks {
        let outcome = task.await?;
        total.calls += outcome.calls;
        total.failures += outcome.failures;
        if total.first_failure.is_none() {
            total.first_failure = outcome.first_failure;
        }
        total.last_start = total.last_start.max(outcome.last_start);
        total.create_answered.extend(outcome.create_answered);
        total.first_invitee.extend(outcome.first_invitee);
        total.last_invitee.extend(outcome.last_invitee);
        total.invitee_websocket.extend(outcome.invitee_websocket);
        total.invitee_long_poll.extend(outcome.invitee_long_poll);
    }
    total.elapsed = started.elapsed();
    for failure in load::stop_listeners(&stop, listeners).await {
        total.failures += 1;
        total.first_failure.get_or_insert(failure);
    }
    Ok(total)
}

/// A host and the teammates it invites.
struct Team {
    api: Api,
    host: Account,
    /// The teammates' ids, comma-separated, as `group/create` takes them.
    user_ids: String,
    invitees: Vec<Invitee>,
    /// The latest call, so a failed one can be ended.
    last_call: Option<String>,
}

/// A teammate's transport, and the invitations its listener saw.
struct Invitee {
    transport: Transport,
    rings: mpsc::UnboundedReceiver<Rang>,
}

/// One group call's times.
struct Call {
    create_answered: Duration,
    /// Each invitee's, with its transport.
    invitations: Vec<(Transport, Duration)>,
}

impl Call {
    fn add_to(self, outcome: &mut FanoutOutcome) {
        outcome.calls += 1;
        outcome.create_answered.push(self.create_answered);
        let took = || self.invitations.iter().map(|&(_, took)| took);
        if let (Some(first), Some(last)) = (took().min(), took().max()) {
            outcome.first_invitee.push(first);
            outcome.last_invitee.push(last);
        }
        for (transport, took) in self.invitations {
            match transport {
                Transport::WebSocket => outcome.invitee_websocket.push(took),
                Transport::LongPoll => outcome.invitee_long_poll.push(took),
            }
        }
    }
}

impl Team {
    /// Creates a group call inviting the whole team, waits for every invitation to arrive,
    /// and ends the call.
    async fn call(&mut self) -> anyhow::Result<Call> {
        let sent = Instant::now();
        let created = self
            .api
            .post(
                &self.host,
                "calls/group/create",
                &[
                    ("user_ids", self.user_ids.as_str()),
                    ("call_type", "video"),
                    ("title", "Fan-out"),
                ],
            )
            .await?;
        let create_answered = sent.elapsed();
        let call_id = created["call_id"]
            .as_str()
            .context("group/create: no call_id in the answer")?
            .to_owned();
        self.last_call = Some(call_id.clone());
        let invited = created["invited_count"].as_u64();
        ensure!(
            invited == Some(self.invitees.len() as u64),
            "group/create invited {invited:?} of {} teammates",
            self.invitees.len()
        );
        // Every listener notes its arrival time as the event comes, so waiting for them in
        // turn measures each one's.
        let give_up = Instant::now() + RING_PATIENCE;
        let mut invitations = Vec::with_capacity(self.invitees.len());
        for invitee in &mut self.invitees {
            let took = load::ring_of(&mut invitee.rings, &call_id, sent, give_up)
                .await
                .context("an invitee never saw its invitation")?;
            invitations.push((invitee.transport, took));
        }
        self.api
            .post(&self.host, &format!("calls/group/{call_id}/end"), &[])
            .await?;
        Ok(Call {
            create_answered,
            invitations,
        })
    }

    /// Ends the latest call, if any (ending an ended call changes nothing).
    async fn end_last(&self) {
        if let Some(call_id) = &self.last_call {
            let _ = self
                .api
                .post(&self.host, &format!("calls/group/{call_id}/end"), &[])
                .await;
        }
    }
}

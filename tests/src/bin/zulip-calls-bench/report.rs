//! The bench's results: one structure, printed as a table for people or JSON for machines,
//! with the targets checked against what was measured. A run measures either call
//! lifecycles (`load`) or the group call fan-out (`fanout`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::floor::Floor;
use crate::server::Held;
use crate::stats::{Ratios, Summary};

/// Server memory allowed with 10,000 idle clients connected.
pub const IDLE_MEMORY_TARGET_MB: f64 = 200.0;
pub const IDLE_CLIENTS_TARGET: u64 = 10_000;
pub const LIFECYCLES_TARGET: f64 = 1000.0;
pub const P99_RING_TARGET_MS: f64 = 25.0;
pub const P50_FLOOR_RATIO_TARGET: f64 = 3.0;
/// The fan-out's target: the last invitee of calls of 50 told within 25 ms (p99) at 10 group
/// calls a second, with 10,000 idle clients connected.
pub const GROUP_CALLS_TARGET: f64 = 10.0;
pub const GROUP_SIZE_TARGET: u64 = 50;
pub const P99_LAST_INVITEE_TARGET_MS: f64 = 25.0;

#[derive(Debug, Serialize)]
pub struct Report {
    pub command: String,
    /// The calls API dialect of the lifecycles (`design` or `1.1`).
    pub calls_api: &'static str,
    pub cores: usize,
    pub websocket_share: f64,
    pub target_rate: Option<f64>,
    pub floor: Floor,
    pub idle: Option<IdleFigures>,
    /// The call lifecycles, in a lifecycle run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadFigures>,
    /// The group call fan-out, in a `--group-fanout` run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fanout: Option<FanoutFigures>,
    pub server: ServerFigures,
    /// Ring latency percentiles as multiples of the floor's HTTP round trip.
    pub ring_vs_http_floor: Option<Ratios>,
    /// Ring latency percentiles as multiples of the floor's WebSocket echo.
    pub ring_vs_websocket_floor: Option<Ratios>,
    /// Ring latency percentiles as multiples of the HTTP round trip at the run's pace.
    pub ring_vs_paced_http_floor: Option<Ratios>,
    pub targets: Vec<Target>,
}

#[derive(Debug, Serialize)]
pub struct IdleFigures {
    pub clients: u64,
    pub connect_seconds: f64,
    pub held: Held,
    pub server_rss_mb: f64,
    pub server_rss_mb_per_1000: f64,
}

#[derive(Debug, Serialize)]
pub struct LoadFigures {
    pub pairs: u64,
    /// From the first lifecycle's start to the last one's end.
    pub seconds: f64,
    /// What `lifecycles_per_second` is over: for a paced run the window its lifecycles were
    /// due in, or up to the last one's start if that was later; else `seconds`.
    pub rate_seconds: f64,
    pub lifecycles: u64,
    pub lifecycles_per_second: f64,
    pub failures: u64,
    pub first_failure: Option<String>,
    pub ring_latency: Option<Summary>,
    pub ring_latency_websocket: Option<Summary>,
    pub ring_latency_long_poll: Option<Summary>,
    #[serde(flatten)]
    pub traffic: Traffic,
}

/// What a run cost beside its own figures, whichever it was.
#[derive(Debug, Serialize)]
pub struct Traffic {
    pub requests: u64,
    pub requests_per_second: f64,
    /// What the server held halfway through the load.
    pub held: Held,
    /// The load generator's own CPU time (it shares the machine with the server).
    pub bench_cpu_seconds: f64,
}

/// The group call fan-out: latencies from `group/create` sent to the invitees' events.
#[derive(Debug, Serialize)]
pub struct FanoutFigures {
    pub hosts: u64,
    /// Participants of each call: the host and `group_size - 1` invitees.
    pub group_size: u64,
    /// From the first call's start to the last one's end.
    pub seconds: f64,
    /// What `calls_per_second` is over (as `LoadFigures::rate_seconds`).
    pub rate_seconds: f64,
    /// Group calls whose every invitation arrived.
    pub calls: u64,
    pub calls_per_second: f64,
    /// `participant_invited` events measured (every invitee of every call counted).
    pub invitations: u64,
    pub failures: u64,
    pub first_failure: Option<String>,
    /// `group/create` sent → its answer received.
    pub create_answered: Option<Summary>,
    /// `group/create` sent → the first invitee's `participant_invited`, one sample per call.
    pub first_invitee: Option<Summary>,
    /// `group/create` sent → the last invitee's `participant_invited`, one sample per call.
    pub last_invitee: Option<Summary>,
    /// `group/create` sent → each invitee's `participant_invited`.
    pub any_invitee: Option<Summary>,
    pub invitee_websocket: Option<Summary>,
    pub invitee_long_poll: Option<Summary>,
    #[serde(flatten)]
    pub traffic: Traffic,
}

/// What a run measured.
#[derive(Debug)]
pub enum Measured {
    Lifecycles(LoadFigures),
    Fanout(FanoutFigures),
}

#[derive(Debug, Serialize)]
pub struct ServerFigures {
    pub rss_mb_at_start: f64,
    pub rss_mb_at_end: f64,
    pub peak_rss_mb: f64,
    pub cpu_seconds_during_load: f64,
    pub cpu_cores_busy: f64,
}

/// One target of the issue, and whether this run met it (`None`: this run does not test it).
#[derive(Debug, Serialize)]
pub struct Target {
    pub name: &'static str,
    pub target: String,
    pub measured: String,
    pub met: Option<bool>,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        command: String,
        calls_api: &'static str,
        websocket_share: f64,
        target_rate: Option<f64>,
        floor: Floor,
        idle: Option<IdleFigures>,
        measured: Measured,
        server: ServerFigures,
    ) -> Report {
        let (load, fanout) = match measured {
            Measured::Lifecycles(load) => (Some(load), None),
            Measured::Fanout(fanout) => (None, Some(fanout)),
        };
        let ring = load.as_ref().and_then(|load| load.ring_latency);
        let mut report = Report {
            command,
            calls_api,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            websocket_share,
            target_rate,
            ring_vs_http_floor: ring.map(|r| r.ratio_to(&floor.http_round_trip)),
            ring_vs_websocket_floor: ring.map(|r| r.ratio_to(&floor.websocket_echo)),
            ring_vs_paced_http_floor: ring
                .zip(floor.http_round_trip_paced)
                .map(|(r, paced)| r.ratio_to(&paced.round_trip)),
            floor,
            idle,
            load,
            fanout,
            server,
            targets: Vec::new(),
        };
        report.targets = report.check_targets();
        report
    }

    fn check_targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        targets.push(match &self.idle {
            Some(idle) => Target {
                name: "idle clients held",
                target: format!(
                    "{IDLE_CLIENTS_TARGET} clients, server < {IDLE_MEMORY_TARGET_MB} MB"
                ),
                measured: format!(
                    "{} clients ({} queues, {} WebSockets, {} long-polls), {:.1} MB",
                    idle.clients,
                    idle.held.event_queues,
                    idle.held.websocket_connections,
                    idle.held.long_polls,
                    idle.server_rss_mb
                ),
                met: (idle.clients >= IDLE_CLIENTS_TARGET)
                    .then_some(idle.server_rss_mb < IDLE_MEMORY_TARGET_MB),
            },
            None => Target {
                name: "idle clients held",
                target: format!(
                    "{IDLE_CLIENTS_TARGET} clients, server < {IDLE_MEMORY_TARGET_MB} MB"
                ),
                measured: "not run (--idle 10000)".to_owned(),
                met: None,
            },
        });
        if let Some(fanout) = &self.fanout {
            targets.extend(self.fanout_targets(fanout));
        }
        let Some(load) = &self.load else {
            return targets;
        };
        let fast_enough = self.target_rate.is_none_or(|r| r >= LIFECYCLES_TARGET);
        targets.push(Target {
            name: "lifecycles per second",
            target: format!(">= {LIFECYCLES_TARGET}"),
            measured: format!("{:.0}", load.lifecycles_per_second),
            met: fast_enough.then_some(load.lifecycles_per_second >= LIFECYCLES_TARGET),
        });
        if let (Some(ring), Some(ratios)) = (load.ring_latency, self.ring_vs_http_floor) {
            targets.push(Target {
                name: "ring latency p99",
                target: format!("< {P99_RING_TARGET_MS} ms"),
                measured: format!("{:.2} ms", ring.p99_ms),
                met: Some(ring.p99_ms < P99_RING_TARGET_MS),
            });
            targets.push(Target {
                name: "ring latency p50 / floor p50",
                target: format!("<= {P50_FLOOR_RATIO_TARGET}x the HTTP round trip"),
                measured: format!("{:.2}x", ratios.p50),
                met: Some(ratios.p50 <= P50_FLOOR_RATIO_TARGET),
            });
            let paced = format!("<= {P50_FLOOR_RATIO_TARGET}x it at the run's pace");
            targets.push(
                match (
                    self.ring_vs_paced_http_floor,
                    self.floor.http_round_trip_paced,
                ) {
                    (Some(paced_ratios), Some(floor)) => Target {
                        name: "ring latency p50 / paced floor",
                        target: paced,
                        measured: format!(
                            "{:.2}x (floor {:.3} ms, 1 per {:.1} ms)",
                            paced_ratios.p50, floor.round_trip.p50_ms, floor.interval_ms
                        ),
                        met: Some(paced_ratios.p50 <= P50_FLOOR_RATIO_TARGET),
                    },
                    _ => Target {
                        name: "ring latency p50 / paced floor",
                        target: paced,
                        measured: "not run (--rate)".to_owned(),
                        met: None,
                    },
                },
            );
        }
        targets
    }

    /// The fan-out's targets: the rate of group calls, and how soon the last invitee of a full
    /// call hears of it at that rate with the idle crowd connected.
    fn fanout_targets(&self, fanout: &FanoutFigures) -> Vec<Target> {
        let offered = self.target_rate.is_none_or(|r| r >= GROUP_CALLS_TARGET);
        let mut targets = vec![Target {
            name: "group calls per second",
            target: format!(">= {GROUP_CALLS_TARGET}"),
            measured: format!("{:.2}", fanout.calls_per_second),
            met: offered.then_some(fanout.calls_per_second >= GROUP_CALLS_TARGET),
        }];
        let idle = self.idle.as_ref().map_or(0, |idle| idle.clients);
        let conditions = format!("groups of {}, {} idle", fanout.group_size, idle);
        let full = fanout.group_size >= GROUP_SIZE_TARGET && idle >= IDLE_CLIENTS_TARGET;
        targets.push(Target {
            name: "last invitee p99",
            target: format!(
                "< {P99_LAST_INVITEE_TARGET_MS} ms (groups of {GROUP_SIZE_TARGET}, {GROUP_CALLS_TARGET}/s, {IDLE_CLIENTS_TARGET} idle)"
            ),
            measured: match fanout.last_invitee {
                Some(last) => format!("{:.2} ms ({conditions})", last.p99_ms),
                None => format!("no call completed ({conditions})"),
            },
            met: (offered && full).then(|| {
                fanout
                    .last_invitee
                    .is_some_and(|last| last.p99_ms < P99_LAST_INVITEE_TARGET_MS)
            }),
        });
        targets
    }

    /// The report as a table for people.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "zulip-calls-bench — {}", self.command);
        let _ = writeln!(out, "calls API dialect: {}", self.calls_api);
        let (who, per_second) = match (&self.load, &self.fanout) {
            (Some(load), _) => (format!("{} pairs", load.pairs), "lifecycles/s"),
            (None, Some(fanout)) => (
                format!(
                    "{} hosts, group calls of {} (the host and {} invitees)",
                    fanout.hosts,
                    fanout.group_size,
                    fanout.group_size.saturating_sub(1)
                ),
                "group calls/s",
            ),
            (None, None) => (String::new(), ""),
        };
        let _ = writeln!(
            out,
            "{} cores; {who}; {:.0}% WebSocket; {}",
            self.cores,
            self.websocket_share * 100.0,
            self.target_rate
                .map_or("as fast as possible".to_owned(), |r| format!(
                    "target {r} {per_second}"
                ))
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<32} {:>9} {:>9} {:>9} {:>9} {:>8}   p50/p90/p99 ÷ HTTP floor",
            "latency (ms)", "p50", "p90", "p99", "max", "n"
        );
        let http_floor = &self.floor.http_round_trip;
        let row = |out: &mut String, name: &str, s: Option<Summary>| {
            latency_row(out, name, s, Some(http_floor));
        };
        latency_row(&mut out, "floor: HTTP round trip", Some(*http_floor), None);
        row(
            &mut out,
            "floor: WebSocket echo",
            Some(self.floor.websocket_echo),
        );
        if let Some(paced) = self.floor.http_round_trip_paced {
            row(
                &mut out,
                &format!("floor: HTTP, 1 per {:.1} ms", paced.interval_ms),
                Some(paced.round_trip),
            );
        }
        if let Some(load) = &self.load {
            row(&mut out, "ring", load.ring_latency);
            row(
                &mut out,
                "ring, receiver on WebSocket",
                load.ring_latency_websocket,
            );
            row(
                &mut out,
                "ring, receiver long-polling",
                load.ring_latency_long_poll,
            );
        }
        if let Some(fanout) = &self.fanout {
            row(&mut out, "group/create answered", fanout.create_answered);
            row(&mut out, "invited, first invitee", fanout.first_invitee);
            row(
                &mut out,
                &format!(
                    "invited, last ({}) invitee",
                    ordinal(fanout.group_size.saturating_sub(1))
                ),
                fanout.last_invitee,
            );
            row(&mut out, "invited, any invitee", fanout.any_invitee);
            row(
                &mut out,
                "invited, invitee on WebSocket",
                fanout.invitee_websocket,
            );
            row(
                &mut out,
                "invited, invitee long-polling",
                fanout.invitee_long_poll,
            );
        }
        if let Some(r) = self.ring_vs_websocket_floor {
            let _ = writeln!(
                out,
                "ring ÷ WebSocket echo floor: {:.2}× / {:.2}× / {:.2}×",
                r.p50, r.p90, r.p99
            );
        }
        if let Some(r) = self.ring_vs_paced_http_floor {
            let _ = writeln!(
                out,
                "ring ÷ paced HTTP floor: {:.2}× / {:.2}× / {:.2}×",
                r.p50, r.p90, r.p99
            );
        }
        let _ = writeln!(out);
        if let Some(load) = &self.load {
            let _ = writeln!(
                out,
                "lifecycles      {} in {} = {:.0}/s ({} failed{})",
                load.lifecycles,
                over(load.seconds, load.rate_seconds),
                load.lifecycles_per_second,
                load.failures,
                first(load.first_failure.as_deref())
            );
            traffic_lines(&mut out, &load.traffic);
        }
        if let Some(fanout) = &self.fanout {
            let _ = writeln!(
                out,
                "group calls     {} in {} = {:.2}/s ({} failed{}); {} invitations",
                fanout.calls,
                over(fanout.seconds, fanout.rate_seconds),
                fanout.calls_per_second,
                fanout.failures,
                first(fanout.first_failure.as_deref()),
                fanout.invitations
            );
            traffic_lines(&mut out, &fanout.traffic);
        }
        let server = &self.server;
        let _ = writeln!(
            out,
            "server          {:.1} MB at start, {:.1} MB at end (peak {:.1} MB); {:.2} CPU s in the load = {:.2} cores",
            server.rss_mb_at_start,
            server.rss_mb_at_end,
            server.peak_rss_mb,
            server.cpu_seconds_during_load,
            server.cpu_cores_busy
        );
        let bench_cpu_seconds = self
            .load
            .as_ref()
            .map(|load| &load.traffic)
            .or(self.fanout.as_ref().map(|fanout| &fanout.traffic))
            .map_or(0.0, |traffic| traffic.bench_cpu_seconds);
        let _ = writeln!(
            out,
            "load generator  {bench_cpu_seconds:.2} CPU s in the load"
        );
        if let Some(idle) = &self.idle {
            let _ = writeln!(
                out,
                "idle clients    {} connected in {:.1} s: {} queues, {} WebSockets, {} long-polls; server {:.1} MB ({:.2} MB per 1000)",
                idle.clients,
                idle.connect_seconds,
                idle.held.event_queues,
                idle.held.websocket_connections,
                idle.held.long_polls,
                idle.server_rss_mb,
                idle.server_rss_mb_per_1000
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<30} {:<40} {:<50} result",
            "target", "wanted", "measured"
        );
        for t in &self.targets {
            let verdict = match t.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "not tested",
            };
            let _ = writeln!(
                out,
                "{:<30} {:<40} {:<50} {verdict}",
                t.name, t.target, t.measured
            );
        }
        out
    }
}

/// One latency's line, with its percentiles as multiples of `floor`'s when given.
fn latency_row(out: &mut String, name: &str, s: Option<Summary>, floor: Option<&Summary>) {
    match s {
        Some(s) => {
            let ratios = floor
                .map(|f| {
                    let r = s.ratio_to(f);
                    format!("{:.2}× / {:.2}× / {:.2}×", r.p50, r.p90, r.p99)
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{name:<32} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>8}   {ratios}",
                s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.samples
            );
        }
        None => {
            let _ = writeln!(out, "{name:<32} {:>9}", "-");
        }
    }
}

/// What a count is over: the wall time, or a paced run's window of starts, and how long after
/// it the last one ended when that was later.
fn over(seconds: f64, rate_seconds: f64) -> String {
    if rate_seconds < seconds {
        format!(
            "{rate_seconds:.1} s of starts (the last ended {:.3} s after)",
            seconds - rate_seconds
        )
    } else {
        format!("{rate_seconds:.1} s")
    }
}

fn first(failure: Option<&str>) -> String {
    failure.map(|f| format!("; first: {f}")).unwrap_or_default()
}

fn traffic_lines(out: &mut String, traffic: &Traffic) {
    let _ = writeln!(
        out,
        "HTTP requests   {} = {:.0}/s",
        traffic.requests, traffic.requests_per_second
    );
    let _ = writeln!(
        out,
        "held mid-load   {} queues, {} WebSockets, {} long-polls",
        traffic.held.event_queues, traffic.held.websocket_connections, traffic.held.long_polls
    );
}

/// `n` as an English ordinal: 1st, 2nd, 3rd, 4th, 11th, 21st, 49th.
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals() {
        let names: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 49, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            names,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "49th", "111th"
            ]
        );
    }
}

//! The bench's results: one structure, printed as a table for people or JSON for machines,
//! with the targets checked against what was measured.

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
    pub load: LoadFigures,
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
    pub requests: u64,
    pub requests_per_second: f64,
    pub failures: u64,
    pub first_failure: Option<String>,
    pub ring_latency: Option<Summary>,
    pub ring_latency_websocket: Option<Summary>,
    pub ring_latency_long_poll: Option<Summary>,
    /// What the server held halfway through the load.
    pub held: Held,
    /// The load generator's own CPU time (it shares the machine with the server).
    pub bench_cpu_seconds: f64,
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
        load: LoadFigures,
        server: ServerFigures,
    ) -> Report {
        let ring = load.ring_latency;
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
        let fast_enough = self.target_rate.is_none_or(|r| r >= LIFECYCLES_TARGET);
        targets.push(Target {
            name: "lifecycles per second",
            target: format!(">= {LIFECYCLES_TARGET}"),
            measured: format!("{:.0}", self.load.lifecycles_per_second),
            met: fast_enough.then_some(self.load.lifecycles_per_second >= LIFECYCLES_TARGET),
        });
        if let (Some(ring), Some(ratios)) = (self.load.ring_latency, self.ring_vs_http_floor) {
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

    /// The report as a table for people.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "zulip-calls-bench — {}", self.command);
        let _ = writeln!(out, "calls API dialect: {}", self.calls_api);
        let _ = writeln!(
            out,
            "{} cores; {} pairs; {:.0}% WebSocket; {}",
            self.cores,
            self.load.pairs,
            self.websocket_share * 100.0,
            self.target_rate
                .map_or("as fast as possible".to_owned(), |r| format!(
                    "target {r} lifecycles/s"
                ))
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<32} {:>9} {:>9} {:>9} {:>9} {:>8}   p50/p90/p99 ÷ HTTP floor",
            "latency (ms)", "p50", "p90", "p99", "max", "n"
        );
        let row =
            |out: &mut String, name: &str, s: Option<Summary>, floor: Option<&Summary>| match s {
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
            };
        let http_floor = &self.floor.http_round_trip;
        row(&mut out, "floor: HTTP round trip", Some(*http_floor), None);
        row(
            &mut out,
            "floor: WebSocket echo",
            Some(self.floor.websocket_echo),
            Some(http_floor),
        );
        if let Some(paced) = self.floor.http_round_trip_paced {
            row(
                &mut out,
                &format!("floor: HTTP, 1 per {:.1} ms", paced.interval_ms),
                Some(paced.round_trip),
                Some(http_floor),
            );
        }
        row(&mut out, "ring", self.load.ring_latency, Some(http_floor));
        row(
            &mut out,
            "ring, receiver on WebSocket",
            self.load.ring_latency_websocket,
            Some(http_floor),
        );
        row(
            &mut out,
            "ring, receiver long-polling",
            self.load.ring_latency_long_poll,
            Some(http_floor),
        );
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
        let load = &self.load;
        let _ = writeln!(
            out,
            "lifecycles      {} in {} = {:.0}/s ({} failed{})",
            load.lifecycles,
            if load.rate_seconds < load.seconds {
                format!(
                    "{:.1} s of starts (the last ended {:.3} s after)",
                    load.rate_seconds,
                    load.seconds - load.rate_seconds
                )
            } else {
                format!("{:.1} s", load.seconds)
            },
            load.lifecycles_per_second,
            load.failures,
            load.first_failure
                .as_deref()
                .map(|f| format!("; first: {f}"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "HTTP requests   {} = {:.0}/s",
            load.requests, load.requests_per_second
        );
        let _ = writeln!(
            out,
            "held mid-load   {} queues, {} WebSockets, {} long-polls",
            load.held.event_queues, load.held.websocket_connections, load.held.long_polls
        );
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
        let _ = writeln!(
            out,
            "load generator  {:.2} CPU s in the load",
            load.bench_cpu_seconds
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

//! `zulip-calls-bench` as a process: a short run against the real mock binary completes
//! lifecycles without failures, holds the idle clients it was asked for, and reports the floor,
//! the ratios and the targets in JSON and as a table; a short group call fan-out reports every
//! invitation and the last one of each call; bad flags are refused with a clear error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn bench() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zulip-calls-bench"))
}

/// The mock binary of the same build (`cargo test --workspace` builds every binary first).
fn mock() -> PathBuf {
    let path = bench().with_file_name("zulip-calls-mock");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p zulip-calls-mock` first",
        path.display()
    );
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(bench())
        .args(args)
        .arg("--server-bin")
        .arg(mock())
        .output()
        .unwrap()
}

/// A run that must succeed, and its JSON report (`--json` is added).
fn report_of(args: &[&str]) -> Value {
    let output = run(&[args, &["--json"]].concat());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_short_run_reports_lifecycles_floor_ratios_and_targets_in_json() {
    let report = report_of(&[
        "--clients",
        "4",
        "--idle",
        "6",
        "--duration",
        "1",
        "--floor-samples",
        "50",
    ]);
    let load = &report["load"];
    assert_eq!(load["pairs"], 2);
    assert!(load["lifecycles"].as_u64().unwrap() > 0, "{load}");
    assert_eq!(load["failures"], 0, "{load}");
    // As fast as possible, the rate is over the wall time.
    assert_eq!(load["rate_seconds"], load["seconds"], "{load}");
    // Five requests a lifecycle, plus the long-polls.
    assert!(load["requests"].as_u64().unwrap() >= 5 * load["lifecycles"].as_u64().unwrap());
    let ring = &load["ring_latency"];
    assert_eq!(ring["samples"], load["lifecycles"]);
    assert!(ring["p50_ms"].as_f64().unwrap() > 0.0);
    // Both transports were used by the receivers.
    assert!(load["ring_latency_websocket"]["samples"].as_u64().unwrap() > 0);
    assert!(load["ring_latency_long_poll"]["samples"].as_u64().unwrap() > 0);
    // The idle crowd: one queue each, half on the WebSocket.
    let idle = &report["idle"];
    assert_eq!(idle["clients"], 6);
    assert_eq!(idle["held"]["event_queues"], 6);
    assert_eq!(idle["held"]["websocket_connections"], 3);
    // Mid-load the server held the idle clients' queues and the pairs'.
    assert_eq!(load["held"]["event_queues"], 6 + 4);
    assert_eq!(report["floor"]["http_round_trip"]["samples"], 50);
    assert_eq!(report["floor"]["websocket_echo"]["samples"], 50);
    let ratio = report["ring_vs_http_floor"]["p50"].as_f64().unwrap();
    let expected = ring["p50_ms"].as_f64().unwrap()
        / report["floor"]["http_round_trip"]["p50_ms"]
            .as_f64()
            .unwrap();
    assert!((ratio - expected).abs() < 1e-9, "{ratio} vs {expected}");
    assert!(report["server"]["peak_rss_mb"].as_f64().unwrap() > 0.0);
    let targets: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "idle clients held",
            "lifecycles per second",
            "ring latency p99",
            "ring latency p50 / floor p50",
            "ring latency p50 / paced floor"
        ]
    );
    // Fewer than 10,000 idle clients: that target is not tested by this run; nor, without a
    // rate, the paced floor.
    assert!(report["targets"][0]["met"].is_null());
    assert!(report["floor"]["http_round_trip_paced"].is_null());
    assert!(report["targets"][4]["met"].is_null());
}

#[test]
fn the_1_1_lifecycle_runs_against_a_1_1_server() {
    let report = report_of(&[
        "--clients",
        "2",
        "--duration",
        "1",
        "--floor-samples",
        "50",
        "--calls-api",
        "1.1",
    ]);
    assert_eq!(report["calls_api"], "1.1");
    let load = &report["load"];
    assert!(load["lifecycles"].as_u64().unwrap() > 0, "{load}");
    assert_eq!(load["failures"], 0, "{load}");
    // Five requests a lifecycle (create, acknowledge, respond, heartbeat, end), plus polls.
    assert!(load["requests"].as_u64().unwrap() >= 5 * load["lifecycles"].as_u64().unwrap());
    // The ring was seen as the 1.1 dialect's `incoming_call`, once per lifecycle.
    assert_eq!(load["ring_latency"]["samples"], load["lifecycles"]);
}

#[test]
fn a_paced_run_measures_the_floor_at_its_pace_too() {
    let report = report_of(&[
        "--clients",
        "2",
        "--duration",
        "0.5",
        "--rate",
        "40",
        "--floor-samples",
        "30",
    ]);
    let paced = &report["floor"]["http_round_trip_paced"];
    // One round trip per ring: 40 a second; as many as the back-to-back floor (fewer than
    // five seconds' worth).
    assert_eq!(paced["interval_ms"], 25.0, "{paced}");
    assert_eq!(paced["round_trip"]["samples"], 30, "{paced}");
    let ratio = report["ring_vs_paced_http_floor"]["p50"].as_f64().unwrap();
    let expected = report["load"]["ring_latency"]["p50_ms"].as_f64().unwrap()
        / paced["round_trip"]["p50_ms"].as_f64().unwrap();
    assert!((ratio - expected).abs() < 1e-9, "{ratio} vs {expected}");
    // The rate is over the half-second window the lifecycles were due in (longer only if
    // they started late), not over the wall time, which ends with the last one's end (it
    // started at 475 ms).
    let load = &report["load"];
    let rate_seconds = load["rate_seconds"].as_f64().unwrap();
    assert!(rate_seconds >= 0.5, "{load}");
    assert!(load["seconds"].as_f64().unwrap() >= 0.475, "{load}");
    // 20 due: at 0, 25, …, 475 ms.
    assert_eq!(load["lifecycles"], 20, "{load}");
    assert_eq!(
        load["lifecycles_per_second"].as_f64(),
        Some(20.0 / rate_seconds),
        "{load}"
    );
    let target = &report["targets"][4];
    assert_eq!(target["name"], "ring latency p50 / paced floor");
    assert_eq!(target["met"], ratio <= 3.0, "{target}");
}

#[test]
fn a_paced_run_runs_every_lifecycle_due_in_its_window() {
    // One pair at 10 a second: lifecycles due at 0, 100, 200, 300 and 400 ms of a 400.1 ms
    // window. The last one's timer fires after the window has ended; it still counts.
    let report = report_of(&[
        "--clients",
        "2",
        "--duration",
        "0.4001",
        "--rate",
        "10",
        "--floor-samples",
        "20",
    ]);
    let load = &report["load"];
    assert_eq!(load["lifecycles"], 5, "{load}");
    assert_eq!(load["failures"], 0, "{load}");
}

#[test]
fn a_group_fanout_reports_every_invitation_and_the_last_of_each_call() {
    // Two hosts at 10 group calls a second over one second, each inviting its 4 teammates:
    // calls due at 0, 100, …, 900 ms, 40 invitations.
    let report = report_of(&[
        "--group-fanout",
        "--group-size",
        "5",
        "--group-hosts",
        "2",
        "--rate",
        "10",
        "--duration",
        "1",
        "--floor-samples",
        "20",
    ]);
    // Group calls are of the 1.1 dialect, and a fan-out run has no lifecycles.
    assert_eq!(report["calls_api"], "1.1");
    assert!(report["load"].is_null(), "{report}");
    let fanout = &report["fanout"];
    assert_eq!(fanout["hosts"], 2, "{fanout}");
    assert_eq!(fanout["group_size"], 5, "{fanout}");
    assert_eq!(fanout["failures"], 0, "{fanout}");
    assert_eq!(fanout["calls"], 10, "{fanout}");
    assert_eq!(fanout["invitations"], 40, "{fanout}");
    let rate_seconds = fanout["rate_seconds"].as_f64().unwrap();
    assert!(rate_seconds >= 1.0, "{fanout}");
    assert_eq!(
        fanout["calls_per_second"].as_f64(),
        Some(10.0 / rate_seconds),
        "{fanout}"
    );
    // One last invitee per call; every invitee counted once, on either transport.
    let last = &fanout["last_invitee"];
    let any = &fanout["any_invitee"];
    assert_eq!(last["samples"], 10, "{fanout}");
    assert_eq!(any["samples"], 40, "{fanout}");
    assert_eq!(fanout["create_answered"]["samples"], 10, "{fanout}");
    assert_eq!(fanout["first_invitee"]["samples"], 10, "{fanout}");
    let websocket = fanout["invitee_websocket"]["samples"].as_u64().unwrap();
    let long_poll = fanout["invitee_long_poll"]["samples"].as_u64().unwrap();
    assert!(websocket > 0 && long_poll > 0, "{fanout}");
    assert_eq!(websocket + long_poll, 40, "{fanout}");
    // The last invitee of a call is its slowest: never ahead of the others.
    let ms = |summary: &Value, key: &str| summary[key].as_f64().unwrap();
    assert!(ms(any, "p50_ms") > 0.0, "{fanout}");
    assert!(ms(last, "p50_ms") >= ms(any, "p50_ms"), "{fanout}");
    assert!(
        ms(&fanout["first_invitee"], "p50_ms") <= ms(any, "p50_ms"),
        "{fanout}"
    );
    assert_eq!(ms(last, "max_ms"), ms(any, "max_ms"), "{fanout}");
    for key in ["p50_ms", "p90_ms", "p99_ms"] {
        assert!(ms(last, key) <= ms(last, "max_ms"), "{fanout}");
    }
    // The hosts and their teams: ten queues, five of them on the WebSocket.
    assert_eq!(fanout["held"]["event_queues"], 10, "{fanout}");
    assert!(fanout["requests"].as_u64().unwrap() >= 2 * 10, "{fanout}");
    let targets: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "idle clients held",
            "group calls per second",
            "last invitee p99"
        ]
    );
    // Calls of 5 without the idle crowd do not test the latency target.
    assert!(report["targets"][2]["met"].is_null(), "{report}");
}

#[test]
fn the_table_shows_the_floor_and_the_ratios() {
    let output = run(&[
        "--clients",
        "2",
        "--duration",
        "0.5",
        "--floor-samples",
        "20",
        "--websocket-share",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let table = String::from_utf8(output.stdout).unwrap();
    for line in [
        "floor: HTTP round trip",
        "floor: WebSocket echo",
        "ring, receiver on WebSocket",
        "HTTP requests",
        "ring latency p99",
    ] {
        assert!(table.contains(line), "{line:?} missing from\n{table}");
    }
    assert!(table.contains("× /"), "ratios missing from\n{table}");
}

#[test]
fn bad_flags_are_refused_with_one_line() {
    for (args, message) in [
        (&["--clients", "3"][..], "--clients must be an even number"),
        (
            &["--websocket-share", "2"][..],
            "--websocket-share must be between 0 and 1",
        ),
        (
            &["--duration", "0"][..],
            "--duration must be a positive number",
        ),
        (
            &["--group-fanout", "--group-size", "51"][..],
            "--group-size must be between 2 and 50",
        ),
        (
            &["--group-fanout", "--calls-api", "design"][..],
            "--group-fanout needs the 1.1 dialect",
        ),
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with(&format!("error: {message}")), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

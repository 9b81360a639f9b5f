//! The binary as a process: its routes listing comes from the protocol's descriptors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn endpoints_json_lists_every_route_of_the_contract() {
    let output = Command::new(env!("CARGO_BIN_EXE_zulip-calls-mock"))
        .args(["endpoints", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let expected: Vec<_> = zulip_calls_protocol::endpoint::all_endpoints().collect();
    assert_eq!(rows.len(), expected.len());
    let start = rows.iter().find(|r| r["name"] == "calls.start").unwrap();
    assert_eq!(start["method"], "POST");
    assert_eq!(start["path"], "/api/v1/calls/start");
    assert_eq!(start["auth"], true);
    let settings = rows
        .iter()
        .find(|r| r["name"] == "zulip.server_settings")
        .unwrap();
    assert_eq!(settings["auth"], false);
}

#[test]
fn unknown_subcommands_fail_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_zulip-calls-mock"))
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Usage"));
}

//! The binary as a process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn help_lists_the_global_options() {
    let output = Command::new(env!("CARGO_BIN_EXE_zulip-calls"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in ["--site", "--email", "--api-key", "--config", "--no-browser"] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn running_says_plainly_that_calling_is_not_available_yet() {
    let output = Command::new(env!("CARGO_BIN_EXE_zulip-calls"))
        .env_remove("ZULIPRC")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not available"), "{stderr}");
}

//! The TUI as a person meets it: `zulip-calls demo` in a pseudo-terminal — it starts, shows
//! the teammates, places a call, cancels it, quits on `q`, and gives the terminal back.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use rexpect::session::spawn_command;

#[test]
fn demo_starts_places_a_call_and_restores_the_terminal_on_quit() {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new("sh");
    // A fresh pseudo-terminal has no size; give it one, as a terminal emulator would.
    command.arg("-c").arg(format!(
        "stty cols 100 rows 30 && exec {} demo --no-browser",
        env!("CARGO_BIN_EXE_zulip-calls")
    ));
    command
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("TERM", "xterm-256color")
        .env_remove("ZULIPRC")
        .env_remove("ZULIP_EMAIL")
        .env_remove("ZULIP_API_KEY")
        .env_remove("ZULIP_SITE");
    let mut session = spawn_command(command, Some(15_000)).unwrap();

    // Before the UI: how a second terminal joins the demo.
    session.exp_string("To call between two terminals").unwrap();
    // The UI: teammates from the demo realm. (The screen is drawn in runs between cursor
    // moves, and only cells that changed are written — "connecting…" becoming "connected"
    // writes just "ed" — so look for whole words that appear at once.)
    session.exp_string("othello@zulip.com").unwrap();

    for key in ["/", "O", "t", "h", "\r", "v"] {
        session.send(key).unwrap();
    }
    session.flush().unwrap();
    session.exp_string("Elapsed").unwrap();
    // Cancel the call (Esc); once it is over, quit: no call, so no question.
    session.send("\x1b").unwrap();
    session.flush().unwrap();
    session.exp_string("cancelled").unwrap();
    session.send("q").unwrap();
    session.flush().unwrap();

    let rest = session.exp_eof().unwrap();
    assert!(rest.contains("\u{1b}[?1049l"), "left the alternate screen");
    assert!(
        rest.contains("To call between two terminals"),
        "the join hint is printed again"
    );
    let status = session.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
}

//! Signing in without a zuliprc, against a real mock server: the form's effects one by one,
//! then the whole flow in a pseudo-terminal (wrong password, right password, zuliprc saved with
//! mode 0600, the main screen signed in).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use zulip_calls::app::login::{Account, LoginCommand, LoginMsg};
use zulip_calls::sign_in::{check_server, fetch_api_key, perform};

#[tokio::test]
async fn check_server_reports_the_realm_and_password_log_in() {
    let server = common::start_server().await;
    let info = check_server(&server.server().url()).await.unwrap();
    assert!(info.password_login);
    assert!(!info.zulip_version.is_empty());
    // Without a scheme, a local address is taken as http.
    let bare = server.server().url().replace("http://", "");
    assert_eq!(check_server(&bare).await.unwrap(), info);
}

#[tokio::test]
async fn check_server_failures_are_one_line() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = check_server(&format!("http://{addr}")).await.unwrap_err();
    assert!(err.starts_with("cannot reach"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let err = check_server("ftp://example.com").await.unwrap_err();
    assert!(err.contains("invalid server URL"), "{err}");
}

#[tokio::test]
async fn fetch_api_key_trades_the_password_for_the_key() {
    let server = common::start_server().await;
    let site = server.server().url();
    let account = fetch_api_key(&site, "hamlet@zulip.com".into(), "opensesame".into())
        .await
        .unwrap();
    let expected = server.credentials("hamlet@zulip.com");
    assert_eq!(account.email, expected.email);
    assert_eq!(account.api_key, expected.api_key);
    assert_eq!(account.site, site);

    let err = fetch_api_key(&site, "hamlet@zulip.com".into(), "wrong".into())
        .await
        .unwrap_err();
    assert_eq!(err, "Your username or password is incorrect");
}

#[tokio::test]
async fn saving_writes_a_private_zuliprc_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".zuliprc");
    let account = Account {
        site: "http://127.0.0.1:9".into(),
        email: "hamlet@zulip.com".into(),
        api_key: "KEY".into(),
    };
    let save = LoginCommand::SaveZuliprc {
        path: path.display().to_string(),
    };
    let msg = perform(save.clone(), Some(account.clone())).await;
    assert_eq!(msg, Some(LoginMsg::Saved(Ok(()))));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("email=hamlet@zulip.com") && text.contains("key=KEY"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // A second save never replaces the file.
    let Some(LoginMsg::Saved(Err(err))) = perform(save, Some(account)).await else {
        panic!("expected a failed save");
    };
    assert!(err.contains("exists"), "{err}");
}

#[cfg(unix)]
#[test]
fn signing_in_in_a_terminal_saves_a_zuliprc_and_opens_the_main_screen() {
    use std::process::Command;

    use rexpect::session::spawn_command;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(common::start_server());
    let site = server.server().url().replace("http://", "");

    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new("sh");
    command.arg("-c").arg(format!(
        "stty cols 100 rows 30 && exec {} --no-browser",
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
    session.exp_string("Sign in").unwrap();

    let mut send = |text: &str| {
        session.send(text).unwrap();
        session.flush().unwrap();
    };
    send(&site);
    send("\r");
    // The server answered: its name is shown and the focus moved on.
    send("hamlet@zulip.com\r");
    send("wrong\r");
    session.exp_string("incorrect").unwrap();
    session.send("opensesame\r").unwrap();
    session.flush().unwrap();
    // (The screen is redrawn in runs between cursor moves, so look for a few words.)
    session.exp_string("readable only by you").unwrap();
    session.send("y").unwrap();
    session.flush().unwrap();
    // The main screen, signed in as King Hamlet.
    session.exp_string("othello@zulip.com").unwrap();
    session.send("q").unwrap();
    session.flush().unwrap();
    let rest = session.exp_eof().unwrap();
    assert!(rest.contains("\u{1b}[?1049l"), "left the alternate screen");
    let status = session.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );

    let rc = home.path().join(".zuliprc");
    let text = std::fs::read_to_string(&rc).unwrap();
    let expected = server.credentials("hamlet@zulip.com");
    assert!(text.contains("email=hamlet@zulip.com"), "{text}");
    assert!(
        text.contains(&format!("key={}", expected.api_key)),
        "{text}"
    );
    assert!(
        text.contains(&format!("site={}", server.server().url())),
        "{text}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&rc).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    drop(server);
    drop(runtime);
}

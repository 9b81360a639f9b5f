//! `zulip-calls group ...` as a process, against a real mock server started in-process on port
//! 0: on a server of the 1.1 dialect, of both dialects (where the binary speaks the design
//! dialect for 1:1 calls and still has group calls), and of 1.1 as the released plugin
//! behaves; and on a design-only server, which has none. The other participants are played
//! over plain HTTP or by the binary itself; tests wait on the server's events (the mock's
//! `wait-for`, the binary's own output), never on the clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::process::{Run, command, exit_code, finish, next_json, spawn_lines};
use common::{Mode, TestServer, control};
use serde_json::{Value, json};
use zulip_calls_protocol::settings::Settings;

const HAMLET: &str = "hamlet@zulip.com";
const OTHELLO: &str = "othello@zulip.com";
const IAGO: &str = "iago@zulip.com";

/// A mock server and a home directory for the binary.
struct Group {
    server: TestServer,
    home: tempfile::TempDir,
}

impl Group {
    async fn start(mode: Mode) -> Group {
        Group::start_with(mode.settings(), false).await
    }

    async fn start_with(settings: Settings, virtual_clock: bool) -> Group {
        Group {
            server: common::start_server_on(settings, virtual_clock).await,
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn site(&self) -> String {
        self.server.server().url()
    }

    fn id(&self, email: &str) -> i64 {
        self.server.user_id(email).0
    }

    /// The binary signed in as `email` with `args`, not started yet.
    fn command(&self, email: &str, args: &[&str]) -> Command {
        let credentials = self.server.credentials(email);
        let mut command = command(self.home.path());
        command
            .args(args)
            .args(["--site", &self.site(), "--email", &credentials.email])
            .args(["--api-key", &credentials.api_key]);
        command
    }

    /// Runs the binary as `email` to its end.
    async fn run(&self, email: &str, args: &[&str]) -> Run {
        finish(self.command(email, args)).await
    }

    /// A plain HTTP request as `email`: the status and the body.
    async fn post(&self, email: &str, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let credentials = self.server.credentials(email);
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/{path}", self.site()))
            .basic_auth(&credentials.email, Some(&credentials.api_key))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// `action` (`join`, `decline`, ...) on group call `call_id` as `email`, over plain HTTP.
    async fn act(&self, email: &str, call_id: &str, action: &str) -> Value {
        let (status, body) = self
            .post(email, &format!("calls/group/{call_id}/{action}"), &[])
            .await;
        assert_eq!(status, 200, "{action} as {email}: {body}");
        body
    }

    /// `group participants CALL_ID --json` as `email`: each participant's email and state,
    /// and who hosts.
    /// `group participants --json` as `email`, in email order (the deployed plugin lists
    /// participants in no particular order).
    async fn participants(&self, email: &str, call_id: &str) -> Vec<(String, String, bool)> {
        let run = self
            .run(email, &["group", "participants", call_id, "--json"])
            .await;
        assert_eq!(run.code, 0, "{run:?}");
        run.json()["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["email"].as_str().unwrap().to_owned(),
                    p["state"].as_str().unwrap().to_owned(),
                    p["is_host"].as_bool().unwrap(),
                )
            })
            .collect::<Vec<_>>()
            .sorted()
    }

    /// `group start USERS... --json` as Hamlet: the call's id.
    async fn start_call(&self, users: &[&str]) -> String {
        let mut args = vec!["group", "start"];
        args.extend(users);
        args.extend(["--title", "Weekly sync", "--json"]);
        let run = self.run(HAMLET, &args).await;
        assert_eq!(run.code, 0, "{run:?}");
        run.json()["call_id"].as_str().unwrap().to_owned()
    }
}

fn row(email: &str, state: &str, host: bool) -> (String, String, bool) {
    (email.to_owned(), state.to_owned(), host)
}

/// Sorting in a chain.
trait Sorted {
    fn sorted(self) -> Self;
}

impl<T: Ord> Sorted for Vec<T> {
    fn sorted(mut self) -> Self {
        self.sort();
        self
    }
}

/// Hamlet starts a call with Othello and Iago by name and email; Othello joins with the
/// binary; the participants list shows everyone's state; Othello leaves; Iago may not end
/// it (exit 7); Hamlet ends it for everyone.
async fn start_join_participants_leave_and_end(mode: Mode) {
    let group = Group::start(mode).await;
    let started = group
        .run(
            HAMLET,
            &[
                "group",
                "start",
                "othello",
                IAGO,
                "--title",
                "Weekly sync",
                "--json",
            ],
        )
        .await;
    assert_eq!(started.code, 0, "{started:?}");
    let call = started.json();
    let call_id = call["call_id"].as_str().unwrap().to_owned();
    assert_eq!(call["title"], "Weekly sync");
    assert_eq!(call["call_type"], "video");
    assert_eq!(call["invited_count"], 2);
    assert_eq!(call["host"]["user_id"], group.id(HAMLET));
    let invited: Vec<_> = call["invited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert_eq!(invited, [OTHELLO, IAGO]);
    let room = call["jitsi_url"].as_str().unwrap();
    assert!(room.contains("zulip-group-call-"), "{call}");
    assert!(call["join_url"].as_str().unwrap().starts_with(room));

    let joined = group
        .run(OTHELLO, &["group", "join", &call_id, "--json"])
        .await;
    assert_eq!(joined.code, 0, "{joined:?}");
    let joined = joined.json();
    assert!(joined["join_url"].as_str().unwrap().starts_with(room));
    assert_eq!(joined["participant_count"], 2);
    assert_eq!(
        group.participants(HAMLET, &call_id).await,
        vec![
            row(HAMLET, "joined", true),
            row(OTHELLO, "joined", false),
            row(IAGO, "invited", false),
        ]
        .sorted()
    );

    let left = group
        .run(OTHELLO, &["group", "leave", &call_id, "--json"])
        .await;
    assert_eq!(left.code, 0, "{left:?}");
    assert_eq!(left.json()["action"], "left");
    assert_eq!(
        group.participants(IAGO, &call_id).await,
        vec![
            row(HAMLET, "joined", true),
            row(OTHELLO, "left", false),
            row(IAGO, "invited", false),
        ]
        .sorted()
    );

    let refused = group.run(IAGO, &["group", "end", &call_id]).await;
    assert_eq!(refused.code, 7, "{refused:?}");
    assert_eq!(refused.stderr, "error: Only the host can end the call\n");

    let ended = group.run(HAMLET, &["group", "end", &call_id]).await;
    assert_eq!(ended.code, 0, "{ended:?}");
    assert_eq!(
        ended.stdout,
        format!("Ended group call {call_id} for everyone\n")
    );
    let status = group
        .run(IAGO, &["group", "status", &call_id, "--json"])
        .await;
    assert_eq!(status.code, 0, "{status:?}");
    assert_eq!(status.json()["state"], "ended");
    assert_eq!(
        group.participants(HAMLET, &call_id).await,
        vec![
            row(HAMLET, "left", true),
            row(OTHELLO, "left", false),
            // The deployed plugin's end leaves an invitation open (spec 1.1 §9).
            row(
                IAGO,
                if mode.is_deployed_plugin() {
                    "invited"
                } else {
                    "missed"
                },
                false,
            ),
        ]
        .sorted()
    );
    // Someone else's call is not there for you (the deployed plugin says it exists, but
    // refuses: 403).
    let stranger = group
        .run("cordelia@zulip.com", &["group", "participants", &call_id])
        .await;
    let refused = if mode.is_deployed_plugin() { 7 } else { 5 };
    assert_eq!(stranger.code, refused, "{stranger:?}");
}

/// `group start --wait`: the call, then (once Othello joins over HTTP) `joined`, exit 0; the
/// host heartbeats the call meanwhile.
async fn start_wait_exits_0_when_someone_joins(mode: Mode) {
    let group = Group::start(mode).await;
    let since = control::latest_request(group.server.addr).await;
    let (child, mut lines) = spawn_lines(group.command(
        HAMLET,
        &[
            "group",
            "start",
            OTHELLO,
            IAGO,
            "--wait",
            "--json",
            "--heartbeat-interval",
            "0.5",
        ],
    ));
    let started = next_json(&mut lines).await;
    let call_id = started["call_id"].as_str().unwrap().to_owned();
    control::heartbeat_after(group.server.addr, HAMLET, &call_id, since).await;
    group.act(IAGO, &call_id, "decline").await;
    group.act(OTHELLO, &call_id, "join").await;
    let waited = next_json(&mut lines).await;
    assert_eq!(waited["outcome"], "joined", "{waited}");
    assert_eq!(waited["joined"], json!(["Othello, the Moor of Venice"]));
    assert_eq!(waited["declined"], json!(["Iago"]));
    assert_eq!(waited["join_url"], started["join_url"]);
    assert_eq!(exit_code(child).await, 0);
    // The call goes on without the command.
    let status = group.run(OTHELLO, &["group", "status", &call_id]).await;
    assert!(
        status
            .stdout
            .contains("  active  video  host King Hamlet  2 of 50 in"),
        "{status:?}"
    );
}

/// Every invitee declines: exit 10, and the call (where the host would wait alone) is ended.
async fn start_wait_exits_10_when_everyone_declines(mode: Mode) {
    let group = Group::start(mode).await;
    let (child, mut lines) = spawn_lines(group.command(
        HAMLET,
        &["group", "start", OTHELLO, IAGO, "--wait", "--json"],
    ));
    let call_id = next_json(&mut lines).await["call_id"]
        .as_str()
        .unwrap()
        .to_owned();
    group.act(OTHELLO, &call_id, "decline").await;
    group.act(IAGO, &call_id, "decline").await;
    let waited = next_json(&mut lines).await;
    assert_eq!(waited["outcome"], "declined", "{waited}");
    assert_eq!(exit_code(child).await, 10);
    let status = group
        .run(OTHELLO, &["group", "status", &call_id, "--json"])
        .await;
    assert_eq!(status.json()["state"], "ended", "{status:?}");
}

/// `group join --hold` stays in the call, heartbeating, until the host ends it; then prints
/// how it ended and exits 0.
async fn join_hold_stays_until_the_host_ends_it(mode: Mode) {
    let group = Group::start(mode).await;
    let call_id = group.start_call(&[OTHELLO]).await;
    let since = control::latest_request(group.server.addr).await;
    let (child, mut lines) = spawn_lines(group.command(
        OTHELLO,
        &[
            "group",
            "join",
            &call_id,
            "--hold",
            "--json",
            "--heartbeat-interval",
            "0.5",
        ],
    ));
    let joined = next_json(&mut lines).await;
    assert_eq!(joined["call_id"], call_id.as_str());
    assert!(joined.get("unkept").is_none(), "{joined}");
    let beat = control::heartbeat_after(group.server.addr, OTHELLO, &call_id, since).await;
    if !mode.is_deployed_plugin() {
        assert_eq!(beat["status"], 200, "{beat}");
    }
    // (The released plugin cannot heartbeat a group call and refuses it: its §9. The client
    // holds on without hammering it.)
    let ended = group.run(HAMLET, &["group", "end", &call_id]).await;
    assert_eq!(ended.code, 0, "{ended:?}");
    let over = next_json(&mut lines).await;
    assert_eq!(over["state"], "ended", "{over}");
    // The deployed plugin's `ended` has no reason (spec 1.1 §9).
    let reason = if mode.is_deployed_plugin() {
        serde_json::Value::Null
    } else {
        "host_ended".into()
    };
    assert_eq!(over["reason"], reason, "{over}");
    assert!(over["duration"].is_number(), "{over}");
    assert_eq!(exit_code(child).await, 0);
}

/// `watch` prints group events too, one JSON line each.
async fn watch_prints_group_events(mode: Mode) {
    let group = Group::start(mode).await;
    let (mut child, mut lines) = spawn_lines(group.command(OTHELLO, &["watch"]));
    assert_eq!(next_json(&mut lines).await["type"], "resync");
    let call_id = group.start_call(&[OTHELLO]).await;
    let invited = next_json(&mut lines).await;
    assert_eq!(invited["type"], "group_call", "{invited}");
    assert_eq!(invited["op"], "participant_invited", "{invited}");
    assert_eq!(invited["call_id"], call_id.as_str());
    assert_eq!(invited["title"], "Weekly sync");
    group.act(OTHELLO, &call_id, "join").await;
    let joined = next_json(&mut lines).await;
    assert_eq!(joined["op"], "participant_joined", "{joined}");
    let states: Vec<_> = joined["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["user_id"].as_i64().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [(group.id(HAMLET), "joined"), (group.id(OTHELLO), "joined")]
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Runs a test against each server with group calls: 1.1, both, and 1.1 as deployed.
macro_rules! where_group_calls_exist {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            use super::*;

            #[tokio::test(flavor = "multi_thread")]
            async fn v1_1() {
                super::$test(Mode::V1_1).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn both() {
                super::$test(Mode::Both).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn plugin_1_1_0() {
                super::$test(Mode::Plugin1_1_0).await;
            }
        }
    )*};
}

where_group_calls_exist!(
    start_join_participants_leave_and_end,
    start_wait_exits_0_when_someone_joins,
    start_wait_exits_10_when_everyone_declines,
    join_hold_stays_until_the_host_ends_it,
    watch_prints_group_events,
);

/// Nobody answers: once the invitations run out on the server's (virtual) clock, exit 11 and
/// the call is ended.
#[tokio::test(flavor = "multi_thread")]
async fn start_wait_exits_11_when_the_invitations_run_out() {
    let settings = Settings {
        // The host's heartbeats come by the wall clock: the jump must not drop the host.
        call_heartbeat_timeout: 0,
        ..Mode::V1_1.settings()
    };
    let group = Group::start_with(settings, true).await;
    let (child, mut lines) =
        spawn_lines(group.command(HAMLET, &["group", "start", OTHELLO, "--wait", "--json"]));
    let call_id = next_json(&mut lines).await["call_id"]
        .as_str()
        .unwrap()
        .to_owned();
    group
        .server
        .advance(group.server.settings.call_notification_timeout + 1)
        .await;
    let waited = next_json(&mut lines).await;
    assert_eq!(waited["outcome"], "missed", "{waited}");
    assert_eq!(waited["missed"], json!(["Othello, the Moor of Venice"]));
    assert_eq!(exit_code(child).await, 11);
    let status = group
        .run(HAMLET, &["group", "status", &call_id, "--json"])
        .await;
    assert_eq!(status.json()["state"], "ended", "{status:?}");
}

/// A design-only server has no group calls: each group command says so in one sentence and
/// exits 5, `--wait` without starting anything.
#[tokio::test(flavor = "multi_thread")]
async fn a_design_only_server_says_it_has_no_group_calls() {
    let group = Group::start(Mode::Design).await;
    let sentence = format!("error: this server ({}) has no group calls\n", group.site());
    for args in [
        &["group", "start", OTHELLO][..],
        &["group", "start", OTHELLO, "--wait"],
        &[
            "group",
            "participants",
            "6f1c1d52-32a4-4c5e-9d7a-3a0e2f6b8c11",
        ],
    ] {
        let run = group.run(HAMLET, args).await;
        assert_eq!(run.code, 5, "{args:?}: {run:?}");
        assert_eq!(run.stderr, sentence, "{args:?}");
        assert_eq!(run.stdout, "", "{args:?}");
    }
    // The dialect it remembered for 1:1 calls is still good.
    let active = group.run(HAMLET, &["active", "--json"]).await;
    assert_eq!(active.code, 0, "{active:?}");
    // A chosen dialect skips the probe: the 404 of the group route itself says it.
    let chosen = group
        .run(
            HAMLET,
            &["group", "start", OTHELLO, "--wait", "--calls-api", "design"],
        )
        .await;
    assert_eq!(chosen.code, 5, "{chosen:?}");
    assert_eq!(chosen.stderr, sentence);
}

/// What a 1.1 server is sent for a group call is what the deployed plugin reads: `user_ids`
/// comma-separated, plain values.
#[tokio::test(flavor = "multi_thread")]
async fn a_group_call_is_created_with_comma_separated_user_ids() {
    let group = Group::start(Mode::Plugin1_1_0).await;
    group.start_call(&[OTHELLO, IAGO]).await;
    let body: Value = reqwest::Client::new()
        .get(format!("{}/mock/v1/journal", group.site()))
        .query(&[("method", "POST"), ("path", "/api/v1/calls/group/create")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids = format!("{},{}", group.id(OTHELLO), group.id(IAGO));
    assert_eq!(
        body["requests"][0]["params"],
        json!({"call_type": "video", "title": "Weekly sync", "user_ids": ids}),
        "{body}"
    );
}

//! Group call requests racing over HTTP, `RACE_ROUNDS` rounds each (default 1000): two users
//! joining for the last seat, leave against end, decline against join, invite against end.
//! Each round has exactly one winner, the stored call agrees with the answers, and the
//! participants' queues heard each change once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Write as _;

use serde_json::Value;
use zulip_calls_protocol::CallsApi;
use zulip_calls_protocol::settings::Settings;

use common::{Account, Options, TestApp, race_rounds, spawn_with, t0};

/// Users 1 to 51 of one realm: a host, and enough to fill a call of 50 and want one more seat.
fn realm_of_51() -> String {
    let mut text = String::from("[[realm]]\nname = \"Crowd\"\nurl = \"http://localhost:9991\"\n");
    for id in 1..=51 {
        write!(
            text,
            "\n[[realm.user]]\nid = {id}\nemail = \"u{id}@crowd.test\"\nfull_name = \"User {id}\"\napi_key = \"crowdApiKeyxxxxxxxxxxxxxxxxx{id:03}\"\n"
        )
        .unwrap();
    }
    text
}

/// A server of [`realm_of_51`] serving the 1.1 dialect, on a manual clock (no deadline fires
/// during a race).
async fn server(dir: &tempfile::TempDir) -> TestApp {
    let realm_file = dir.path().join("crowd.toml");
    std::fs::write(&realm_file, realm_of_51()).unwrap();
    spawn_with(Options {
        settings: Settings {
            calls_api: CallsApi::V1_1,
            ..Settings::default()
        },
        manual_clock: Some(t0()),
        realm_file: Some(realm_file),
        ..Options::default()
    })
    .await
}

fn user(app: &TestApp, id: i64) -> Account {
    app.account(&format!("u{id}@crowd.test"))
}

fn path(call: &str, action: &str) -> String {
    format!("calls/group/{call}/{action}")
}

async fn create(app: &TestApp, host: &Account, ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let (status, body) = app
        .post(host, "calls/group/create", &[("user_ids", &ids.join(","))])
        .await;
    assert_eq!(status, 200, "{body}");
    body["call_id"].as_str().unwrap().to_owned()
}

async fn post_ok(app: &TestApp, who: &Account, call: &str, action: &str) -> Value {
    let (status, body) = app.post(who, &path(call, action), &[]).await;
    assert_eq!(status, 200, "{action} by {}: {body}", who.email);
    body
}

/// `user_id`'s state in the stored call.
async fn state_of(app: &TestApp, host: &Account, call: &str, user: &Account) -> String {
    let (status, body) = app.get(host, &path(call, "participants"), &[]).await;
    assert_eq!(status, 200, "{body}");
    body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == user.id)
        .map(|p| p["state"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| "none".to_owned())
}

/// The `op`s of the group events queued for `who` since `last`.
async fn group_ops(app: &TestApp, who: &Account, queue: &str, last: &mut i64) -> Vec<String> {
    app.drain_events(who, queue, last)
        .await
        .iter()
        .filter(|e| e["type"] == "group_call")
        .map(|e| e["op"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn two_users_joining_for_the_last_seat_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let app = server(&dir).await;
    let host = user(&app, 1);
    let invitees: Vec<i64> = (2..=51).collect();
    let call = create(&app, &host, &invitees).await;
    // 48 invitees join: with the host, 49 of the 50 seats are taken.
    for id in 2..=49 {
        post_ok(&app, &user(&app, id), &call, "join").await;
    }
    let (a, b) = (user(&app, 50), user(&app, 51));
    let (mut a_won, mut b_won) = (0, 0);
    for round in 0..race_rounds() {
        let join = path(&call, "join");
        let ((sa, ba), (sb, bb)) = tokio::join!(app.post(&a, &join, &[]), app.post(&b, &join, &[]));
        let (winner, loser_body) = match (sa, sb) {
            (200, 400) => (&a, bb),
            (400, 200) => (&b, ba),
            other => panic!("round {round}: {other:?} {ba} {bb}"),
        };
        assert!(
            loser_body["msg"].as_str().unwrap().contains("full"),
            "round {round}: {loser_body}"
        );
        if winner.id == a.id {
            a_won += 1;
        } else {
            b_won += 1;
        }
        let (_, status) = app.get(&host, &path(&call, "status"), &[]).await;
        assert_eq!(status["call"]["participant_count"], 50, "round {round}");
        // The winner gives the seat back for the next round.
        post_ok(&app, winner, &call, "leave").await;
    }
    assert_eq!(a_won + b_won, race_rounds());
}

#[tokio::test]
async fn leave_racing_end_ends_the_call_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = server(&dir).await;
    let (host, guest, watcher) = (user(&app, 1), user(&app, 2), user(&app, 3));
    let queue = app
        .post(
            &watcher,
            "register",
            &[("event_types", r#"["group_call"]"#)],
        )
        .await
        .1["queue_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut last = -1;
    for round in 0..race_rounds() {
        let call = create(&app, &host, &[2, 3]).await;
        post_ok(&app, &guest, &call, "join").await;
        post_ok(&app, &watcher, &call, "join").await;
        group_ops(&app, &watcher, &queue, &mut last).await;
        let (leave, end) = (path(&call, "leave"), path(&call, "end"));
        let ((sl, bl), (se, be)) =
            tokio::join!(app.post(&guest, &leave, &[]), app.post(&host, &end, &[]));
        // Both succeed: a leave after the end is a no-op.
        assert_eq!((sl, se), (200, 200), "round {round}: {bl} {be}");
        let heard = group_ops(&app, &watcher, &queue, &mut last).await;
        match heard.as_slice() {
            // The leave came first (and the watcher heard it), or the end did (the leave
            // was then a no-op): one end either way.
            [left, ended] if left == "participant_left" && ended == "ended" => {}
            [ended] if ended == "ended" => {}
            other => panic!("round {round}: {other:?}"),
        }
        assert_eq!(state_of(&app, &host, &call, &guest).await, "left");
    }
}

#[tokio::test]
async fn decline_racing_join_leaves_one_answer() {
    let dir = tempfile::tempdir().unwrap();
    let app = server(&dir).await;
    let (host, guest) = (user(&app, 1), user(&app, 2));
    let queue = app
        .post(&host, "register", &[("event_types", r#"["group_call"]"#)])
        .await
        .1["queue_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut last = -1;
    for round in 0..race_rounds() {
        let call = create(&app, &host, &[2]).await;
        group_ops(&app, &host, &queue, &mut last).await;
        let (decline, join) = (path(&call, "decline"), path(&call, "join"));
        let ((sd, bd), (sj, bj)) = tokio::join!(
            app.post(&guest, &decline, &[]),
            app.post(&guest, &join, &[])
        );
        // The join always stands: before the decline (which is then refused) or after it
        // (the guest changed their mind).
        assert_eq!(sj, 200, "round {round}: {bj}");
        let heard = group_ops(&app, &host, &queue, &mut last).await;
        let expected: &[&str] = if sd == 200 {
            &["participant_declined", "participant_joined"]
        } else {
            assert_eq!(sd, 400, "round {round}: {bd}");
            &["participant_joined"]
        };
        assert_eq!(heard, expected, "round {round}");
        assert_eq!(state_of(&app, &host, &call, &guest).await, "joined");
        post_ok(&app, &host, &call, "end").await;
        group_ops(&app, &host, &queue, &mut last).await;
    }
}

#[tokio::test]
async fn invite_racing_end_has_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let app = server(&dir).await;
    let (host, guest, invitee) = (user(&app, 1), user(&app, 2), user(&app, 3));
    let (mut invited_first, mut ended_first) = (0, 0);
    for round in 0..race_rounds() {
        let call = create(&app, &host, &[2]).await;
        post_ok(&app, &guest, &call, "join").await;
        let (invite, end) = (path(&call, "invite"), path(&call, "end"));
        let invitee_id = invitee.id.to_string();
        let form = [("user_ids", invitee_id.as_str())];
        let ((si, bi), (se, be)) =
            tokio::join!(app.post(&guest, &invite, &form), app.post(&host, &end, &[]));
        assert_eq!(se, 200, "round {round}: {be}");
        let state = state_of(&app, &host, &call, &invitee).await;
        match si {
            // The invitation came first: the end made it missed.
            200 => {
                invited_first += 1;
                assert_eq!(state, "missed", "round {round}");
            }
            // The end came first: the inviter is no longer joined.
            _ => {
                ended_first += 1;
                assert_eq!(
                    (si, bi["code"].as_str()),
                    (403, Some("NOT_A_PARTICIPANT")),
                    "round {round}: {bi}"
                );
                assert_eq!(state, "none", "round {round}");
            }
        }
    }
    assert_eq!(invited_first + ended_first, race_rounds());
}

//! Group calls over HTTP (spec 1.1 §6), in each `CALLS_API` mode that serves them: the
//! endpoints' answers, the `group_call` events each participant's queue gets, the pushes the
//! outbox records, heartbeats, and the deadlines on the virtual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::{Value, json};
use zulip_calls_protocol::CallsApi;
use zulip_calls_protocol::settings::Settings;

use common::{Account, TestApp, ops, spawn_virtual};

/// A server speaking `calls_api`, on a virtual clock.
async fn server(calls_api: CallsApi) -> TestApp {
    spawn_virtual(Settings {
        calls_api,
        ..Settings::default()
    })
    .await
}

/// A queue for group call events only.
async fn register_group(app: &TestApp, who: &Account) -> String {
    let (status, body) = app
        .post(who, "register", &[("event_types", r#"["group_call"]"#)])
        .await;
    assert_eq!(status, 200, "{body}");
    body["queue_id"].as_str().unwrap().to_owned()
}

/// One participant's queue and where they have read to.
struct Inbox {
    who: Account,
    queue: String,
    last: i64,
}

impl Inbox {
    async fn open(app: &TestApp, who: &Account) -> Inbox {
        Inbox {
            who: who.clone(),
            queue: register_group(app, who).await,
            last: -1,
        }
    }

    /// Every group event queued for this participant now.
    async fn take(&mut self, app: &TestApp) -> Vec<Value> {
        app.drain_events(&self.who, &self.queue, &mut self.last)
            .await
            .into_iter()
            .filter(|e| e["type"] == "group_call")
            .collect()
    }
}

async fn create(app: &TestApp, host: &Account, user_ids: &str, title: &str) -> (String, Value) {
    let (status, body) = app
        .post(
            host,
            "calls/group/create",
            &[
                ("user_ids", user_ids),
                ("title", title),
                ("call_type", "audio"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (body["call_id"].as_str().unwrap().to_owned(), body)
}

fn path(call: &str, action: &str) -> String {
    format!("calls/group/{call}/{action}")
}

/// `user_id: state` of every participant an event or answer lists.
fn states(participants: &Value) -> Vec<(i64, String)> {
    participants
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["user_id"].as_i64().unwrap(),
                p["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn pushes(app: &TestApp, event: &str) -> Vec<Value> {
    let response = app
        .http
        .get(app.control_url("pushes"))
        .query(&[("event", event)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["pushes"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_group_call_from_invitation_to_end_in_each_mode_that_serves_it() {
    for calls_api in [CallsApi::V1_1, CallsApi::Both] {
        let app = server(calls_api).await;
        let hamlet = app.account("hamlet@zulip.com");
        let othello = app.account("othello@zulip.com");
        let prospero = app.account("prospero@zulip.com");
        let polonius = app.account("polonius@zulip.com");
        let king = app.account("king@lear.org");
        let mut h = Inbox::open(&app, &hamlet).await;
        let mut o = Inbox::open(&app, &othello).await;
        let mut p = Inbox::open(&app, &prospero).await;
        // Polonius has no queue, only a phone.
        let (status, _) = app
            .post(
                &polonius,
                "users/me/android_gcm_reg_id",
                &[("token", "pol")],
            )
            .await;
        assert_eq!(status, 200);

        // The King is of another realm, and is left out.
        let ids = format!("{},{},{}", othello.id, prospero.id, king.id);
        let (call, created) = create(&app, &hamlet, &ids, "Stand-up").await;
        assert_eq!(created["invited_count"], 2, "{calls_api}: {created}");
        assert_eq!(created["call_type"], "audio");
        assert_eq!(created["host"]["user_id"], hamlet.id);
        assert!(
            created["room_name"]
                .as_str()
                .unwrap()
                .starts_with("zulip-group-call-")
        );
        let host_events = h.take(&app).await;
        assert_eq!(ops(&host_events), ["created"]);
        let invitation = o.take(&app).await;
        assert_eq!(ops(&invitation), ["participant_invited"]);
        assert_eq!(ops(&p.take(&app).await), ["participant_invited"]);
        assert_eq!(invitation[0]["inviter_id"], hamlet.id);
        assert_eq!(invitation[0]["was_offline"], false);
        assert_eq!(invitation[0]["title"], "Stand-up");
        // Reached through their queues, the invitees ring at once.
        assert_eq!(
            states(&invitation[0]["participants"]),
            [
                (hamlet.id, "joined".into()),
                (othello.id, "ringing".into()),
                (prospero.id, "ringing".into())
            ]
        );

        // Othello joins: everyone still in the call hears it.
        let (status, joined) = app.post(&othello, &path(&call, "join"), &[]).await;
        assert_eq!(status, 200, "{joined}");
        assert_eq!(joined["participant_count"], 2);
        assert!(
            joined["call_url"]
                .as_str()
                .unwrap()
                .contains("zulip-group-call-")
        );
        for inbox in [&mut h, &mut o, &mut p] {
            let events = inbox.take(&app).await;
            assert_eq!(ops(&events), ["participant_joined"], "{}", inbox.who.email);
            assert_eq!(events[0]["joined_user_id"], othello.id);
        }

        // A joined participant invites Polonius, who has no queue but a phone.
        let (status, invited) = app
            .post(
                &othello,
                &path(&call, "invite"),
                &[("user_ids", &format!("[{}]", polonius.id))],
            )
            .await;
        assert_eq!(status, 200, "{invited}");
        assert_eq!(
            invited,
            json!({"result": "success", "msg": "", "invited_count": 1, "online_count": 0, "offline_count": 1})
        );
        let told = h.take(&app).await;
        assert_eq!(ops(&told), ["participants_invited"]);
        assert_eq!(told[0]["new_participants"], json!([polonius.id]));
        assert_eq!(told[0]["inviter_id"], othello.id);
        assert_eq!(ops(&o.take(&app).await), ["participants_invited"]);
        // Invitees who have not joined are not told of each other.
        assert!(p.take(&app).await.is_empty());
        let invitations = pushes(&app, "group_call").await;
        let to_polonius: Vec<_> = invitations
            .iter()
            .filter(|push| push["user_id"] == polonius.id)
            .collect();
        assert_eq!(to_polonius.len(), 1, "{invitations:?}");
        let data = &to_polonius[0]["request"]["request"]["message"]["data"];
        assert_eq!(data["event"], "group_call");
        assert_eq!(data["sender_id"], othello.id.to_string());
        assert_eq!(data["title"], "Stand-up");

        // Prospero declines; the host and the joined hear it.
        let (status, body) = app.post(&prospero, &path(&call, "decline"), &[]).await;
        assert_eq!(
            (status, body["message"].clone()),
            (200, json!("Call declined"))
        );
        assert_eq!(ops(&h.take(&app).await), ["participant_declined"]);
        assert_eq!(ops(&o.take(&app).await), ["participant_declined"]);
        assert!(p.take(&app).await.is_empty());

        // A joined participant's heartbeat keeps them in.
        let (status, body) = app
            .post(&othello, "calls/heartbeat", &[("call_id", &call)])
            .await;
        assert_eq!(
            (status, body["call_state"].clone()),
            (200, json!("accepted"))
        );

        // Only the host ends the call for everyone.
        let (status, body) = app.post(&othello, &path(&call, "end"), &[]).await;
        assert_eq!(
            (status, body["code"].clone()),
            (403, json!("NOT_A_PARTICIPANT"))
        );
        let (status, body) = app.post(&hamlet, &path(&call, "end"), &[]).await;
        assert_eq!(status, 200, "{body}");
        let ended = o.take(&app).await;
        assert_eq!(ops(&ended), ["ended"]);
        assert_eq!(ended[0]["reason"], "host_ended");
        assert_eq!(ops(&h.take(&app).await), ["ended"]);
        // Polonius never answered: his phone stops ringing.
        let cancelled = pushes(&app, "group_call_cancelled").await;
        assert_eq!(cancelled.len(), 1, "{cancelled:?}");
        assert_eq!(cancelled[0]["user_id"], polonius.id);

        // The ended call is still there to look at; ending again changes nothing.
        let (status, body) = app.get(&prospero, &path(&call, "participants"), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            states(&body["participants"]),
            [
                (hamlet.id, "left".into()),
                (othello.id, "left".into()),
                (prospero.id, "declined".into()),
                (polonius.id, "missed".into())
            ]
        );
        assert_eq!(
            (body["total_count"].clone(), body["joined_count"].clone()),
            (json!(4), json!(0))
        );
        let (status, body) = app.get(&othello, &path(&call, "status"), &[]).await;
        assert_eq!(status, 200);
        assert_eq!(body["call"]["state"], "ended");
        let (status, _) = app.post(&hamlet, &path(&call, "end"), &[]).await;
        assert_eq!(status, 200);
        let (status, body) = app.post(&othello, &path(&call, "join"), &[]).await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = app
            .post(&othello, "calls/heartbeat", &[("call_id", &call)])
            .await;
        assert_eq!((status, body["call_state"].clone()), (200, json!("ended")));
        // Someone with no place in the call learns nothing of it.
        let (status, body) = app.get(&king, &path(&call, "status"), &[]).await;
        assert_eq!(
            (status, body["code"].clone()),
            (404, json!("CALL_NOT_FOUND"))
        );
    }
}

#[tokio::test]
async fn a_design_only_server_has_no_group_calls() {
    let app = server(CallsApi::Design).await;
    let hamlet = app.account("hamlet@zulip.com");
    let (status, _) = app
        .post(&hamlet, "calls/group/create", &[("user_ids", "6")])
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invitees_ring_out_and_a_silent_participant_is_dropped_then_the_empty_call_ends() {
    let app = server(CallsApi::V1_1).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let prospero = app.account("prospero@zulip.com");
    let mut h = Inbox::open(&app, &hamlet).await;
    let mut o = Inbox::open(&app, &othello).await;
    let ids = format!("{},{}", othello.id, prospero.id);
    let (call, _) = create(&app, &hamlet, &ids, "").await;
    h.take(&app).await;
    let (status, _) = app.post(&othello, &path(&call, "join"), &[]).await;
    assert_eq!(status, 200);
    h.take(&app).await;
    o.take(&app).await;

    // The host leaves; Othello stays and heartbeats.
    let (status, _) = app.post(&hamlet, &path(&call, "leave"), &[]).await;
    assert_eq!(status, 200);
    let left = o.take(&app).await;
    assert_eq!(ops(&left), ["participant_left"]);
    assert_eq!(left[0]["reason"], "left");

    let settings = Settings::default();
    let ring = settings.call_notification_timeout;
    let silence = settings.call_heartbeat_timeout;
    // Othello heartbeats well within the timeout while Prospero's invitation rings out.
    let mut elapsed = 0;
    while elapsed < ring {
        let step = (silence / 2).min(ring - elapsed);
        app.advance_virtual(step).await;
        elapsed += step;
        let (status, body) = app
            .post(&othello, "calls/heartbeat", &[("call_id", &call)])
            .await;
        assert_eq!(
            (status, body["call_state"].clone()),
            (200, json!("accepted"))
        );
    }
    // Prospero never answered: missed, and the joined hear it.
    assert_eq!(ops(&o.take(&app).await), ["participant_missed"]);

    // Othello falls silent: dropped for a network failure.
    app.advance_virtual(silence).await;
    let status_now = app.get(&othello, &path(&call, "participants"), &[]).await.1;
    assert_eq!(
        states(&status_now["participants"]),
        [
            (hamlet.id, "left".into()),
            (othello.id, "left".into()),
            (prospero.id, "missed".into())
        ]
    );
    // Nobody is joined: the call ends by itself after the ring timeout.
    app.advance_virtual(settings.call_ring_timeout).await;
    let (_, body) = app.get(&othello, &path(&call, "status"), &[]).await;
    assert_eq!(body["call"]["state"], "ended");
    let host_events = h.take(&app).await;
    assert_eq!(ops(&host_events), ["participant_missed"]);
}

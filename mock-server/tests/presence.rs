//! Zulip's presence and user status (spec §9, after Zulip's 2025 OpenAPI description), against
//! a real server on a virtual clock: shapes, timing, events, initial state, realms, restarts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::{Value, json};
use zulip_calls_protocol::settings::Settings;

use common::{Account, Options, TestApp, spawn_virtual, spawn_with, t0};

/// `date_joined` as the mock presents it: Zulip's `active_timestamp` for a user who never
/// reported active.
const DATE_JOINED: i64 = 1_704_067_200;

async fn report(app: &TestApp, who: &Account, form: &[(&str, &str)]) -> Value {
    let (status, body) = app.post(who, "users/me/presence", form).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A queue of `who` for `types`.
async fn queue_for(app: &TestApp, who: &Account, types: &str) -> String {
    let (status, body) = app.post(who, "register", &[("event_types", types)]).await;
    assert_eq!(status, 200, "{body}");
    body["queue_id"].as_str().unwrap().to_owned()
}

fn now() -> i64 {
    t0().unix_seconds()
}

#[tokio::test]
async fn reports_come_back_in_the_modern_and_the_legacy_format() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    report(&app, &othello, &[("status", "idle"), ("ping_only", "true")]).await;

    // `last_update_id` asks for the modern format, keyed by user id.
    let body = report(
        &app,
        &hamlet,
        &[("status", "active"), ("last_update_id", "-1")],
    )
    .await;
    assert_eq!(
        body["presences"]["10"],
        json!({"active_timestamp": now(), "idle_timestamp": now()}),
        "{body}"
    );
    // Never active: Zulip falls back to when the user joined.
    assert_eq!(
        body["presences"]["6"],
        json!({"active_timestamp": DATE_JOINED, "idle_timestamp": now()}),
        "{body}"
    );
    assert_eq!(body["server_timestamp"], json!(now() as f64));
    assert!(
        body["presence_last_update_id"].as_i64().unwrap() >= 2,
        "{body}"
    );

    // `slim_presence` too.
    let body = report(
        &app,
        &hamlet,
        &[("status", "active"), ("slim_presence", "true")],
    )
    .await;
    assert!(
        body["presences"]["10"]["active_timestamp"].is_i64(),
        "{body}"
    );

    // Neither: the legacy format, keyed by email, `website` and `aggregated` alike.
    let body = report(&app, &hamlet, &[("status", "active")]).await;
    let hamlet_legacy = &body["presences"]["hamlet@zulip.com"];
    assert_eq!(
        hamlet_legacy["website"],
        json!({"client": "website", "status": "active", "timestamp": now(), "pushable": false}),
        "{body}"
    );
    assert_eq!(
        hamlet_legacy["aggregated"],
        json!({"client": "website", "status": "active", "timestamp": now()}),
        "{body}"
    );
    assert_eq!(
        body["presences"]["othello@zulip.com"]["aggregated"]["status"], "idle",
        "{body}"
    );

    // `ping_only`: nothing but the envelope.
    let body = report(&app, &hamlet, &[("status", "idle"), ("ping_only", "true")]).await;
    assert_eq!(body, json!({"result": "success", "msg": ""}));

    let (status, body) = app.get(&othello, "realm/presence", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["presences"]["hamlet@zulip.com"]["website"]["status"], "active",
        "{body}"
    );
    assert_eq!(body["server_timestamp"], json!(now() as f64));
}

#[tokio::test]
async fn last_update_id_fetches_only_what_changed() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let body = report(
        &app,
        &hamlet,
        &[("status", "active"), ("last_update_id", "-1")],
    )
    .await;
    let seen = body["presence_last_update_id"].as_i64().unwrap();

    let body = report(
        &app,
        &othello,
        &[("status", "active"), ("last_update_id", &seen.to_string())],
    )
    .await;
    let keys: Vec<&String> = body["presences"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["6"], "only Othello's own report is new: {body}");
    let newest = body["presence_last_update_id"].as_i64().unwrap();
    assert!(newest > seen, "{body}");

    let body = report(
        &app,
        &othello,
        &[
            ("status", "active"),
            ("ping_only", "true"),
            ("last_update_id", &newest.to_string()),
        ],
    )
    .await;
    assert!(body.get("presences").is_none(), "{body}");
}

#[tokio::test]
async fn a_user_goes_offline_after_zulips_threshold() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    report(&app, &hamlet, &[("status", "active")]).await;

    app.advance_virtual(140).await;
    let (status, body) = app.get(&othello, "users/10/presence", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["presence"]["aggregated"],
        json!({"status": "active", "timestamp": now()}),
        "{body}"
    );
    assert_eq!(body["presence"]["website"]["status"], "active", "{body}");

    app.advance_virtual(1).await;
    let (_, body) = app
        .get(&othello, "users/hamlet@zulip.com/presence", &[])
        .await;
    assert_eq!(
        body["presence"]["aggregated"]["status"], "offline",
        "{body}"
    );
    // The raw entry keeps the last report: clients judge it themselves.
    assert_eq!(body["presence"]["website"]["status"], "active", "{body}");

    // An idle report more than 70 s after the last active one reads "idle".
    report(&app, &hamlet, &[("status", "idle")]).await;
    let (_, body) = app.get(&othello, "users/10/presence", &[]).await;
    assert_eq!(
        body["presence"]["aggregated"],
        json!({"status": "idle", "timestamp": now() + 141}),
        "{body}"
    );

    let (status, body) = app.get(&othello, "users/12/presence", &[]).await;
    assert_eq!(
        (status, &body["msg"]),
        (400, &json!("No presence data for 12"))
    );
}

#[tokio::test]
async fn coming_online_is_announced_to_the_realm_only() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let king = app.account("king@lear.org");
    let watching = queue_for(&app, &othello, r#"["presence"]"#).await;
    let calls_only = queue_for(&app, &othello, r#"["call_event"]"#).await;
    let elsewhere = queue_for(&app, &king, r#"["presence"]"#).await;
    let mut last = -1;

    report(&app, &hamlet, &[("status", "active")]).await;
    let events = app.drain_events(&othello, &watching, &mut last).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["type"], "presence");
    assert_eq!(event["user_id"], 10);
    assert_eq!(event["email"], "hamlet@zulip.com");
    assert_eq!(event["server_timestamp"], json!(now() as f64));
    assert_eq!(
        event["presence"],
        json!({"website": {"client": "website", "status": "active", "timestamp": now(), "pushable": false}})
    );

    // Still online: Zulip sends nothing for a refresh.
    app.advance_virtual(60).await;
    report(&app, &hamlet, &[("status", "active")]).await;
    assert!(
        app.drain_events(&othello, &watching, &mut last)
            .await
            .is_empty()
    );

    // Back after a while away: announced again.
    app.advance_virtual(71).await;
    report(&app, &hamlet, &[("status", "active")]).await;
    let events = app.drain_events(&othello, &watching, &mut last).await;
    assert_eq!(events.len(), 1, "{events:?}");

    let mut none = -1;
    assert!(
        app.drain_events(&othello, &calls_only, &mut none)
            .await
            .is_empty()
    );
    let mut none = -1;
    assert!(
        app.drain_events(&king, &elsewhere, &mut none)
            .await
            .is_empty()
    );
    let (_, body) = app.get(&king, "realm/presence", &[]).await;
    assert_eq!(body["presences"], json!({}), "{body}");
    let (status, body) = app.get(&king, "users/10/presence", &[]).await;
    assert_eq!((status, &body["msg"]), (400, &json!("No such user")));
}

#[tokio::test]
async fn register_hands_out_presence_and_statuses() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    report(&app, &hamlet, &[("status", "active")]).await;
    let (status, _) = app
        .post(&hamlet, "users/me/status", &[("status_text", "in a call")])
        .await;
    assert_eq!(status, 200);

    let (status, body) = app
        .post(
            &othello,
            "register",
            &[
                ("event_types", r#"["presence", "user_status"]"#),
                ("slim_presence", "true"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["presences"]["10"],
        json!({"active_timestamp": now(), "idle_timestamp": now()}),
        "{body}"
    );
    assert!(body["presence_last_update_id"].as_i64().unwrap() >= 1);
    assert_eq!(body["server_timestamp"], json!(now() as f64));
    assert_eq!(
        body["user_status"],
        json!({"10": {"status_text": "in a call"}})
    );

    // Legacy by default; nothing asked, nothing sent.
    let (_, body) = app
        .post(
            &othello,
            "register",
            &[("fetch_event_types", r#"["presence"]"#)],
        )
        .await;
    assert_eq!(
        body["presences"]["hamlet@zulip.com"]["aggregated"]["status"],
        "active"
    );
    assert!(body.get("user_status").is_none(), "{body}");
    let (_, body) = app
        .post(
            &othello,
            "register",
            &[("event_types", r#"["call_event"]"#)],
        )
        .await;
    assert!(body.get("presences").is_none(), "{body}");
}

#[tokio::test]
async fn a_status_is_set_read_and_announced() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let king = app.account("king@lear.org");
    let watching = queue_for(&app, &othello, r#"["user_status"]"#).await;
    let elsewhere = queue_for(&app, &king, r#"["user_status"]"#).await;

    let (status, body) = app
        .post(
            &hamlet,
            "users/me/status",
            &[("status_text", "  on a call  "), ("emoji_name", "car")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut last = -1;
    let events = app.drain_events(&othello, &watching, &mut last).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let mut event = events[0].clone();
    event.as_object_mut().unwrap().remove("id");
    assert_eq!(
        event,
        json!({
            "type": "user_status", "user_id": 10, "status_text": "on a call",
            "emoji_name": "car", "emoji_code": "1f697", "reaction_type": "unicode_emoji",
        })
    );
    let (status, body) = app.get(&othello, "users/10/status", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["status"],
        json!({"status_text": "on a call", "emoji_name": "car", "emoji_code": "1f697",
               "reaction_type": "unicode_emoji"})
    );

    // Only what is passed changes; the event names only that.
    app.post(&hamlet, "users/me/status", &[("away", "true")])
        .await;
    let events = app.drain_events(&othello, &watching, &mut last).await;
    assert_eq!(events[0]["away"], true);
    assert!(events[0].get("status_text").is_none(), "{events:?}");
    let (_, body) = app.get(&othello, "users/10/status", &[]).await;
    assert_eq!(body["status"]["status_text"], "on a call");
    assert_eq!(body["status"]["away"], true);

    // Clearing everything leaves `{}`.
    app.post(
        &hamlet,
        "users/me/status",
        &[("status_text", ""), ("emoji_name", ""), ("away", "false")],
    )
    .await;
    let (_, body) = app.get(&othello, "users/10/status", &[]).await;
    assert_eq!(body["status"], json!({}));

    let (_, body) = app.get(&othello, "users/11/status", &[]).await;
    assert_eq!(body["status"], json!({}), "nobody set one: {body}");
    let (status, body) = app.get(&king, "users/10/status", &[]).await;
    assert_eq!((status, &body["msg"]), (400, &json!("No such user")));
    let mut none = -1;
    assert!(
        app.drain_events(&king, &elsewhere, &mut none)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn bad_statuses_get_zulips_errors() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let long = "x".repeat(61);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "Client did not pass any new values."),
        (
            vec![("status_text", &long)],
            "status_text is too long (limit: 60 characters)",
        ),
        (
            vec![("status_text", "hi"), ("emoji_code", "1f697")],
            "Client must pass emoji_name if they pass either emoji_code or reaction_type.",
        ),
        (vec![("emoji_name", "nope")], "Emoji 'nope' does not exist"),
        (
            vec![
                ("emoji_name", "car"),
                ("emoji_code", "1f600"),
                ("reaction_type", "unicode_emoji"),
            ],
            "Invalid emoji name.",
        ),
        (
            vec![
                ("emoji_name", "car"),
                ("emoji_code", "zz"),
                ("reaction_type", "unicode_emoji"),
            ],
            "Invalid emoji code.",
        ),
        (
            vec![
                ("emoji_name", "party"),
                ("emoji_code", "1"),
                ("reaction_type", "realm_emoji"),
            ],
            "Invalid custom emoji.",
        ),
    ];
    for (form, msg) in cases {
        let (status, body) = app.post(&hamlet, "users/me/status", &form).await;
        assert_eq!(status, 400, "{form:?}: {body}");
        assert_eq!(body["code"], "BAD_REQUEST", "{form:?}: {body}");
        assert_eq!(body["msg"], msg, "{form:?}");
    }
    // Sixty characters, multibyte or not, are fine.
    let sixty = "é".repeat(60);
    let (status, body) = app
        .post(&hamlet, "users/me/status", &[("status_text", &sixty)])
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = app.post(&hamlet, "users/me/presence", &[]).await;
    assert_eq!(
        (status, &body["var_name"]),
        (400, &json!("status")),
        "{body}"
    );
    let (status, body) = app
        .post(&hamlet, "users/me/presence", &[("status", "away")])
        .await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("BAD_REQUEST")),
        "{body}"
    );
}

#[tokio::test]
async fn presence_and_statuses_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("presence.sqlite3");
    let options = || Options {
        db: Some(db.clone()),
        settings: Settings::default(),
        manual_clock: Some(t0()),
        virtual_clock: true,
        ..Options::default()
    };
    {
        let app = spawn_with(options()).await;
        let hamlet = app.account("hamlet@zulip.com");
        report(&app, &hamlet, &[("status", "active")]).await;
        app.post(&hamlet, "users/me/status", &[("status_text", "back soon")])
            .await;
    }
    let app = spawn_with(options()).await;
    let othello = app.account("othello@zulip.com");
    let (_, body) = app.get(&othello, "users/10/presence", &[]).await;
    assert_eq!(body["presence"]["website"]["timestamp"], now(), "{body}");
    let (_, body) = app.get(&othello, "users/10/status", &[]).await;
    assert_eq!(body["status"], json!({"status_text": "back soon"}));
}

/// The control API's reset forgets presence and statuses with the rest of the activity.
#[tokio::test]
async fn a_reset_forgets_presence_and_statuses() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    report(&app, &hamlet, &[("status", "active")]).await;
    let (status, _) = app
        .post(&hamlet, "users/me/status", &[("status_text", "busy")])
        .await;
    assert_eq!(status, 200);

    let response = app
        .http
        .post(app.control_url("reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let (status, body) = app.get(&hamlet, "users/10/presence", &[]).await;
    assert_eq!(
        (status, &body["msg"]),
        (400, &json!("No presence data for 10"))
    );
    let (_, body) = app.get(&hamlet, "users/10/status", &[]).await;
    assert_eq!(body["status"], json!({}));
    let body = report(
        &app,
        &hamlet,
        &[("status", "idle"), ("last_update_id", "-1")],
    )
    .await;
    assert_eq!(
        body["presence_last_update_id"], 1,
        "the sequence starts again: {body}"
    );
}

/// `away` is Zulip's `!presence_enabled`: an away user's presence is shared with nobody (left
/// out of fetches, no events) until they come back.
#[tokio::test]
async fn an_away_user_shares_no_presence() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let watching = queue_for(&app, &othello, r#"["presence"]"#).await;
    let (status, _) = app
        .post(&hamlet, "users/me/status", &[("away", "true")])
        .await;
    assert_eq!(status, 200);

    report(&app, &hamlet, &[("status", "active")]).await;
    let mut last = -1;
    assert!(
        app.drain_events(&othello, &watching, &mut last)
            .await
            .is_empty()
    );
    let body = report(
        &app,
        &othello,
        &[("status", "active"), ("last_update_id", "-1")],
    )
    .await;
    assert!(body["presences"].get("10").is_none(), "{body}");
    let (status, body) = app.get(&othello, "users/10/presence", &[]).await;
    assert_eq!(
        (status, &body["msg"]),
        (400, &json!("No presence data for 10"))
    );

    app.post(&hamlet, "users/me/status", &[("away", "false")])
        .await;
    let body = report(
        &app,
        &othello,
        &[("status", "active"), ("last_update_id", "-1")],
    )
    .await;
    assert_eq!(body["presences"]["10"]["active_timestamp"], now(), "{body}");
}

/// Zulip 11.0's `POST users/{user_id}/status`: an administrator sets another user's status,
/// checked as their own would be, and the realm hears it as if the user had set it.
#[tokio::test]
async fn an_administrator_sets_another_users_status() {
    let app = spawn_virtual(Settings::default()).await;
    let iago = app.account("iago@zulip.com");
    let othello = app.account("othello@zulip.com");
    let king = app.account("king@lear.org");
    let watching = queue_for(&app, &othello, r#"["user_status"]"#).await;
    let elsewhere = queue_for(&app, &king, r#"["user_status"]"#).await;

    let (status, body) = app
        .post(
            &iago,
            "users/10/status",
            &[
                ("status_text", " in a meeting "),
                ("emoji_name", "calendar"),
            ],
        )
        .await;
    assert_eq!(
        (status, &body),
        (200, &json!({"result": "success", "msg": ""}))
    );
    let mut last = -1;
    let events = app.drain_events(&othello, &watching, &mut last).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let mut event = events[0].clone();
    event.as_object_mut().unwrap().remove("id");
    assert_eq!(
        event,
        json!({
            "type": "user_status", "user_id": 10, "status_text": "in a meeting",
            "emoji_name": "calendar", "emoji_code": "1f4c6", "reaction_type": "unicode_emoji",
        })
    );
    let (_, body) = app.get(&othello, "users/10/status", &[]).await;
    assert_eq!(
        body["status"],
        json!({"status_text": "in a meeting", "emoji_name": "calendar",
               "emoji_code": "1f4c6", "reaction_type": "unicode_emoji"})
    );
    let mut none = -1;
    assert!(
        app.drain_events(&king, &elsewhere, &mut none)
            .await
            .is_empty()
    );

    // `away` is not among its parameters: it is the target's own setting, so it is ignored,
    // and a request with nothing else changes nothing.
    let (status, body) = app
        .post(&iago, "users/10/status", &[("away", "true")])
        .await;
    assert_eq!(
        (status, &body["msg"]),
        (400, &json!("Client did not pass any new values."))
    );
    let (_, body) = app.get(&othello, "users/10/status", &[]).await;
    assert!(body["status"].get("away").is_none(), "{body}");

    // The same checks as for one's own status.
    let (status, body) = app
        .post(
            &iago,
            "users/10/status",
            &[("status_text", &"x".repeat(61))],
        )
        .await;
    assert_eq!(
        (status, &body["code"], &body["msg"]),
        (
            400,
            &json!("BAD_REQUEST"),
            &json!("status_text is too long (limit: 60 characters)")
        )
    );
    // An administrator may use it on themselves.
    let (status, body) = app
        .post(&iago, "users/5/status", &[("status_text", "")])
        .await;
    assert_eq!(status, 200, "{body}");
    // Another realm's administrator cannot see the user at all.
    let (status, body) = app
        .post(&king, "users/10/status", &[("status_text", "hi")])
        .await;
    assert_eq!(
        (status, &body["code"], &body["msg"]),
        (400, &json!("BAD_REQUEST"), &json!("No such user"))
    );
}

/// Who may not use `POST users/{user_id}/status`, and who cannot be its target, with Zulip's
/// exact answers (`access_user_by_id` with `for_admin=True`).
#[tokio::test]
async fn setting_another_users_status_is_refused_with_zulips_errors() {
    let app = spawn_virtual(Settings::default()).await;
    let iago = app.account("iago@zulip.com");
    let hamlet = app.account("hamlet@zulip.com");
    let cases: Vec<(&Account, &str, &str)> = vec![
        (&hamlet, "users/6/status", "Insufficient permission"),
        // Non-administrators get it for themselves too.
        (&hamlet, "users/10/status", "Insufficient permission"),
        (&iago, "users/99999/status", "No such user"),
        (&iago, "users/abc/status", "No such user"),
        (&iago, "users/101/status", "No such user"),
        (&iago, "users/12/status", "User is deactivated"),
        // Bots are not users to `access_user_by_id`.
        (&hamlet, "users/99999/status", "No such user"),
    ];
    let bot = app.account("echo-bot@zulip.com");
    let bot_path = format!("users/{}/status", bot.id);
    let cases = cases
        .into_iter()
        .chain([(&iago, bot_path.as_str(), "No such user")]);
    for (who, path, msg) in cases {
        let (status, body) = app.post(who, path, &[("status_text", "busy")]).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["code"], "BAD_REQUEST", "{path}: {body}");
        assert_eq!(body["msg"], msg, "{} {path}", who.email);
    }
    let (_, body) = app.get(&hamlet, "users/6/status", &[]).await;
    assert_eq!(body["status"], json!({}), "nothing changed: {body}");
}

/// `PATCH settings` with `presence_enabled=false` is invisible mode: the user is left out of
/// others' presence fetches and events, and their status reads `away`. Turning it back on shows
/// them again at once. Each change reaches the user's own queues as a `user_settings` event.
#[tokio::test]
async fn invisible_mode_hides_presence_until_turned_off() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let watching = queue_for(&app, &othello, r#"["presence"]"#).await;
    let own = queue_for(&app, &hamlet, r#"["user_settings"]"#).await;
    let others_settings = queue_for(&app, &othello, r#"["user_settings"]"#).await;
    report(&app, &hamlet, &[("status", "active")]).await;
    let mut last = -1;
    assert_eq!(
        app.drain_events(&othello, &watching, &mut last).await.len(),
        1
    );

    let (status, body) = app
        .patch(&hamlet, "settings", &[("presence_enabled", "false")])
        .await;
    assert_eq!(
        (status, &body),
        (200, &json!({"result": "success", "msg": ""}))
    );
    let mut own_last = -1;
    let events = app.drain_events(&hamlet, &own, &mut own_last).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let mut event = events[0].clone();
    event.as_object_mut().unwrap().remove("id");
    assert_eq!(
        event,
        json!({"type": "user_settings", "op": "update", "property": "presence_enabled",
               "value": false})
    );
    let (_, body) = app.get(&othello, "users/10/status", &[]).await;
    assert_eq!(body["status"], json!({"away": true}), "{body}");

    // Hidden: no event for coming back online, and absent from fetches.
    app.advance_virtual(200).await;
    report(&app, &hamlet, &[("status", "active")]).await;
    assert!(
        app.drain_events(&othello, &watching, &mut last)
            .await
            .is_empty()
    );
    let body = report(
        &app,
        &othello,
        &[("status", "active"), ("last_update_id", "-1")],
    )
    .await;
    assert!(body["presences"].get("10").is_none(), "{body}");
    let body = report(&app, &othello, &[("status", "active")]).await;
    assert!(
        body["presences"].get("hamlet@zulip.com").is_none(),
        "{body}"
    );
    let (status, body) = app.get(&othello, "users/10/presence", &[]).await;
    assert_eq!(
        (status, &body["msg"]),
        (400, &json!("No presence data for 10"))
    );

    // Unchanged: no event.
    let (status, _) = app
        .patch(&hamlet, "settings", &[("presence_enabled", "false")])
        .await;
    assert_eq!(status, 200);
    assert!(
        app.drain_events(&hamlet, &own, &mut own_last)
            .await
            .is_empty()
    );

    // Back on: announced to the realm at once, and in fetches again.
    app.advance_virtual(10).await;
    let (status, _) = app
        .patch(&hamlet, "settings", &[("presence_enabled", "true")])
        .await;
    assert_eq!(status, 200);
    let events = app.drain_events(&hamlet, &own, &mut own_last).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["value"], true);
    // Othello's own coming online is in the queue too.
    let events: Vec<Value> = app
        .drain_events(&othello, &watching, &mut last)
        .await
        .into_iter()
        .filter(|e| e["user_id"] == 10)
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["presence"]["website"]["status"], "active");
    assert_eq!(events[0]["presence"]["website"]["timestamp"], now() + 210);
    let body = report(
        &app,
        &othello,
        &[("status", "active"), ("last_update_id", "-1")],
    )
    .await;
    assert_eq!(
        body["presences"]["10"]["active_timestamp"],
        now() + 210,
        "{body}"
    );
    let (_, body) = app.get(&othello, "users/10/status", &[]).await;
    assert_eq!(body["status"], json!({}), "{body}");

    // Settings events are the user's own.
    let mut none = -1;
    assert!(
        app.drain_events(&othello, &others_settings, &mut none)
            .await
            .is_empty()
    );
}

/// `away` and `presence_enabled` are one fact: setting either shows in the other, and a change
/// through `away` is a settings change too.
#[tokio::test]
async fn away_and_presence_enabled_are_the_same_setting() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let own = queue_for(&app, &hamlet, r#"["user_settings"]"#).await;
    let statuses = queue_for(&app, &othello, r#"["user_status"]"#).await;
    let mut own_last = -1;
    let mut status_last = -1;

    let (status, _) = app
        .post(&hamlet, "users/me/status", &[("away", "true")])
        .await;
    assert_eq!(status, 200);
    let events = app.drain_events(&hamlet, &own, &mut own_last).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (&events[0]["property"], &events[0]["value"]),
        (&json!("presence_enabled"), &json!(false))
    );
    let events = app
        .drain_events(&othello, &statuses, &mut status_last)
        .await;
    assert_eq!(events[0]["away"], true, "{events:?}");

    // Turned on by the setting: `away` is gone from the status.
    let (status, _) = app
        .patch(&hamlet, "settings", &[("presence_enabled", "true")])
        .await;
    assert_eq!(status, 200);
    let (_, body) = app.get(&othello, "users/10/status", &[]).await;
    assert_eq!(body["status"], json!({}), "{body}");

    // Text and emoji stay when the setting changes, and the reverse.
    app.post(&hamlet, "users/me/status", &[("status_text", "busy")])
        .await;
    app.patch(&hamlet, "settings", &[("presence_enabled", "false")])
        .await;
    let (_, body) = app.get(&othello, "users/10/status", &[]).await;
    assert_eq!(
        body["status"],
        json!({"status_text": "busy", "away": true}),
        "{body}"
    );
    // `away` as already set: no settings event.
    let events = app.drain_events(&hamlet, &own, &mut own_last).await;
    assert_eq!(events.len(), 2, "{events:?}");
    app.post(&hamlet, "users/me/status", &[("away", "true")])
        .await;
    assert!(
        app.drain_events(&hamlet, &own, &mut own_last)
            .await
            .is_empty()
    );

    // Other settings are not the mock's: ignored, as any unknown parameter.
    let (status, body) = app
        .patch(&hamlet, "settings", &[("full_name", "Hamlet")])
        .await;
    assert_eq!(
        (status, &body),
        (200, &json!({"result": "success", "msg": ""}))
    );
    let (status, body) = app
        .patch(&hamlet, "settings", &[("presence_enabled", "maybe")])
        .await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("BAD_REQUEST")),
        "{body}"
    );
}

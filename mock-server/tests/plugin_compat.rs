//! `CALLS_COMPAT=plugin-1.1.0`: the mock as the released plugin's code behaves on a
//! deployment (`plugin-1.1-dialect.md` §9), each test one or more of its rows, on a virtual
//! clock; and the same requests against the contract, where they differ, so that each test
//! fails with the quirk absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::{Value, json};
use zulip_calls_protocol::settings::Settings;
use zulip_calls_protocol::{CallsApi, Compat};

use common::{Account, TestApp, ops, spawn_virtual};

/// A 1.1 server as deployed (`plugin`) or as the contract has it, on a virtual clock.
async fn server(plugin: bool) -> TestApp {
    spawn_virtual(Settings {
        calls_api: CallsApi::V1_1,
        calls_compat: if plugin {
            Compat::Plugin1_1_0
        } else {
            Compat::Contract
        },
        ..Settings::default()
    })
    .await
}

async fn create(app: &TestApp, from: &Account, to: &Account) -> (u16, Value) {
    app.post(
        from,
        "calls/create",
        &[("user_id", &to.id.to_string()), ("is_video_call", "true")],
    )
    .await
}

async fn create_ok(app: &TestApp, from: &Account, to: &Account) -> String {
    let (status, body) = create(app, from, to).await;
    assert_eq!(status, 200, "{body}");
    body["call_id"].as_str().unwrap().to_owned()
}

async fn state_of(app: &TestApp, who: &Account, call: &str) -> String {
    let (status, body) = app.get(who, &format!("calls/{call}/status"), &[]).await;
    assert_eq!(status, 200, "{body}");
    body["call"]["state"].as_str().unwrap().to_owned()
}

/// Places, acknowledges and accepts a call; its id.
async fn accepted_call(app: &TestApp, from: &Account, to: &Account) -> String {
    let call = create_ok(app, from, to).await;
    let (status, body) = app
        .post(
            to,
            "calls/acknowledge",
            &[("call_id", &call), ("status", "ringing")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            to,
            &format!("calls/{call}/respond"),
            &[("response", "accept")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    call
}

/// §1, §3: the plugin's bodies: successes without `msg`, errors with `message` only and the
/// plugin's statuses and words.
#[tokio::test]
async fn answers_carry_the_plugins_bodies() {
    let app = server(true).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let iago = app.account("iago@zulip.com");

    let (status, body) = app.post(&hamlet, "calls/create", &[]).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"result": "error", "message": "user_id is required"})
    );
    let (status, body) = app
        .post(
            &hamlet,
            "calls/create",
            &[("user_id", &hamlet.id.to_string())],
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"result": "error", "message": "Cannot call yourself"})
        )
    );

    // §9 row 13: the plugin's room names and join URLs.
    let (status, created) = create(&app, &hamlet, &othello).await;
    assert_eq!(status, 200, "{created}");
    let room = created["room_name"].as_str().unwrap();
    assert!(
        room.starts_with("zulip-call-") && room.len() == 23,
        "{room}"
    );
    let url = created["call_url"].as_str().unwrap();
    assert!(
        url.contains(&format!("/{room}?userInfo.displayName=")),
        "{url}"
    );
    assert!(
        url.ends_with(
            "&interfaceConfig.SHOW_WATERMARK_FOR_GUESTS=false#config.prejoinPageEnabled=false"
        ),
        "{url}"
    );
    let call = created["call_id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post(&othello, "calls/acknowledge", &[("call_id", &call)])
        .await;
    assert_eq!(status, 400, "status is required: {body}");
    assert_eq!(body["message"], "Missing required parameter: status");
    let (status, body) = app
        .post(
            &hamlet,
            "calls/acknowledge",
            &[("call_id", &call), ("status", "ringing")],
        )
        .await;
    assert_eq!(status, 404, "only the receiver's call is found (§9 row 11)");
    assert_eq!(body["message"], "Call not found or you're not the receiver");
    let (status, body) = app
        .post(
            &iago,
            &format!("calls/{call}/respond"),
            &[("response", "accept")],
        )
        .await;
    assert_eq!(
        (status, &body["message"]),
        (403, &json!("Not authorized to respond to this call"))
    );
    assert!(
        body.get("code").is_none() && body.get("msg").is_none(),
        "{body}"
    );

    let (status, body) = app
        .post(
            &othello,
            &format!("calls/{call}/respond"),
            &[("response", "decline")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "result": "success",
            "action": "decline",
            "call_url": null,
            "message": "Call declineed successfully",
        })
    );

    let call = accepted_call(&app, &hamlet, &othello).await;
    let (status, body) = app
        .post(&hamlet, &format!("calls/{call}/cancel"), &[])
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"result": "error", "message": "Cannot cancel call in state: accepted"})
        )
    );
    let (status, body) = app.get(&hamlet, &format!("calls/{call}/status"), &[]).await;
    assert_eq!(status, 200);
    assert!(body.get("msg").is_none(), "{body}");
    assert_eq!(
        body["call"]["call_url"], body["call"]["jitsi_url"],
        "the bare room URL"
    );

    // The contract answers the same requests otherwise.
    let contract = server(false).await;
    let (status, body) = contract.post(&hamlet, "calls/create", &[]).await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("REQUEST_VARIABLE_MISSING")),
        "{body}"
    );
}

/// §1, §9 row 12: quoted values misread, malformed ids and limits are 500s.
#[tokio::test]
async fn quoted_and_malformed_values_fail_as_the_plugin_fails() {
    let app = server(true).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");

    let quoted_user = format!("\"{}\"", othello.id);
    let (status, body) = app
        .post(&hamlet, "calls/create", &[("user_id", &quoted_user)])
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["message"],
        format!("User not found with user_id: {quoted_user}")
    );
    let (status, body) = app
        .post(
            &hamlet,
            "calls/create",
            &[
                ("user_id", &othello.id.to_string()),
                ("is_video_call", "\"true\""),
            ],
        )
        .await;
    assert_eq!(
        (status, &body["call_type"]),
        (200, &json!("audio")),
        "quoted true is false"
    );
    let call = body["call_id"].as_str().unwrap().to_owned();

    let (status, body) = app
        .post(
            &hamlet,
            "calls/heartbeat",
            &[("call_id", &format!("\"{call}\""))],
        )
        .await;
    assert_eq!(
        (status, body),
        (
            500,
            json!({"result": "error", "msg": "Internal server error"})
        )
    );
    let (status, body) = app.get(&hamlet, "calls/not-a-uuid/status", &[]).await;
    assert_eq!(status, 500);
    assert_eq!(
        body["message"],
        "Failed to get call status: ['“not-a-uuid” is not a valid UUID.']"
    );
    let (status, body) = app.get(&hamlet, "calls/history", &[("limit", "ten")]).await;
    assert_eq!(status, 500);
    assert_eq!(
        body["message"],
        "Failed to get call history: invalid literal for int() with base 10: 'ten'"
    );
    let (status, body) = app
        .get(
            &hamlet,
            "calls/history",
            &[("cursor", "%%%"), ("limit", "1")],
        )
        .await;
    assert_eq!(status, 200, "a bad cursor is ignored: {body}");
    assert_eq!(body["calls"][0]["call_id"], call.as_str());

    // A JSON-quoted cursor pages on (Python's base64 drops the quotes).
    app.post(&hamlet, &format!("calls/{call}/end"), &[]).await;
    app.advance_virtual(6).await;
    let newer = create_ok(&app, &hamlet, &othello).await;
    let (_, page) = app.get(&hamlet, "calls/history", &[("limit", "1")]).await;
    assert_eq!(page["calls"][0]["call_id"], newer.as_str());
    let quoted = format!("\"{}\"", page["next_cursor"].as_str().unwrap());
    let (status, page) = app
        .get(
            &hamlet,
            "calls/history",
            &[("limit", "1"), ("cursor", &quoted)],
        )
        .await;
    assert_eq!(
        (status, &page["calls"][0]["call_id"]),
        (200, &json!(call)),
        "{page}"
    );

    // A deactivated user is called all the same.
    let desdemona = app.account("desdemona@zulip.com");
    let (status, body) = create(&app, &iago_of(&app), &desdemona).await;
    assert_eq!(status, 200, "{body}");

    let contract = server(false).await;
    let (status, body) = contract
        .get(&hamlet, "calls/history", &[("limit", "ten")])
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = create(&contract, &iago_of(&contract), &desdemona).await;
    assert_eq!(status, 404);
}

fn iago_of(app: &TestApp) -> Account {
    app.account("iago@zulip.com")
}

/// §9 row 1: five seconds after an ended call, a new one is refused with 429.
#[tokio::test]
async fn calling_again_right_after_a_hang_up_waits_five_seconds() {
    let app = server(true).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let iago = app.account("iago@zulip.com");

    let call = accepted_call(&app, &hamlet, &othello).await;
    let (status, _) = app.post(&othello, &format!("calls/{call}/end"), &[]).await;
    assert_eq!(status, 200);
    app.advance_virtual(4).await;
    let (status, body) = create(&app, &hamlet, &iago).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        body,
        json!({
            "result": "error",
            "message": "Please wait a moment before making another call",
            "existing_call_id": call,
        })
    );
    app.advance_virtual(2).await;
    create_ok(&app, &hamlet, &iago).await;

    // The contract has no cooldown unless asked for one.
    let contract = server(false).await;
    let call = accepted_call(&contract, &hamlet, &othello).await;
    contract
        .post(&othello, &format!("calls/{call}/end"), &[])
        .await;
    create_ok(&contract, &hamlet, &iago).await;
}

/// The cooldown as an option of the contract: `RATE_LIMIT_HIT` with `Retry-After`.
#[tokio::test]
async fn the_contract_offers_the_cooldown_as_an_option() {
    let app = spawn_virtual(Settings {
        call_redial_cooldown: 5,
        ..Settings::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let call = accepted_call(&app, &hamlet, &othello).await;
    app.post(&othello, &format!("calls/{call}/end"), &[]).await;
    app.advance_virtual(2).await;
    let response = app
        .http
        .post(app.url("calls/start"))
        .basic_auth(&hamlet.email, Some(&hamlet.key))
        .form(&[("user_id", othello.id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMIT_HIT");
    assert_eq!(body["existing_call_id"], call.as_str());
}

/// §9 rows 2, 10; §5: always "offline", `end` before an answer is `ended`, the plugin's
/// event payloads, `ringing` to the caller only.
#[tokio::test]
async fn events_and_offline_flags_are_the_plugins() {
    let app = server(true).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let (hq, oq) = (
        app.register_1_1(&hamlet).await,
        app.register_1_1(&othello).await,
    );
    let (mut hl, mut ol) = (-1, -1);

    let (status, body) = create(&app, &hamlet, &othello).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["receiver_online"], false,
        "othello has a queue, yet is offline"
    );
    let call = body["call_id"].as_str().unwrap().to_owned();
    let incoming = app.drain_events(&othello, &oq, &mut ol).await;
    assert_eq!(ops(&incoming), ["incoming_call"]);
    assert_eq!(incoming[0]["receiver_was_offline"], true);
    assert!(incoming[0].get("user_id").is_none(), "{}", incoming[0]);
    assert!(incoming[0].get("timeout_seconds").is_none());
    assert_eq!(
        ops(&app.drain_events(&hamlet, &hq, &mut hl).await),
        ["initiated"]
    );

    app.post(
        &othello,
        "calls/acknowledge",
        &[("call_id", &call), ("status", "ringing")],
    )
    .await;
    assert_eq!(
        ops(&app.drain_events(&hamlet, &hq, &mut hl).await),
        ["ringing"]
    );
    assert!(
        app.drain_events(&othello, &oq, &mut ol).await.is_empty(),
        "the caller only"
    );

    let (status, _) = app.post(&hamlet, &format!("calls/{call}/end"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        state_of(&app, &hamlet, &call).await,
        "ended",
        "not cancelled"
    );
    let ended = app.drain_events(&othello, &oq, &mut ol).await;
    assert_eq!(ops(&ended), ["ended"]);
    assert_eq!(ended[0]["reason"], "hangup");
    assert!(ended[0].get("duration").is_none());

    let contract = server(false).await;
    let (hq, _) = (
        contract.register_1_1(&hamlet).await,
        contract.register_1_1(&othello).await,
    );
    let call = create_ok(&contract, &hamlet, &othello).await;
    contract
        .post(&hamlet, &format!("calls/{call}/end"), &[])
        .await;
    assert_eq!(state_of(&contract, &hamlet, &call).await, "cancelled");
    let mut hl = -1;
    assert_eq!(
        contract.drain_events(&hamlet, &hq, &mut hl).await[0]["user_id"],
        hamlet.id
    );
}

/// §9 rows 3, 4 and §4: the plugin's timers, which fire only when a call is next created.
#[tokio::test]
async fn the_plugins_timers_fire_when_the_next_call_is_created() {
    let app = server(true).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let iago = app.account("iago@zulip.com");
    let cordelia = app.account("cordelia@zulip.com");

    // Unanswered: missed after 90 s (not the settings' 30/120 s), once someone calls.
    let unanswered = create_ok(&app, &hamlet, &othello).await;
    app.advance_virtual(200).await;
    assert_eq!(
        state_of(&app, &hamlet, &unanswered).await,
        "calling",
        "nothing fires on time"
    );
    create_ok(&app, &iago, &cordelia).await;
    assert_eq!(state_of(&app, &hamlet, &unanswered).await, "missed");

    // Accepted, nobody heartbeating: dropped at the first check, 90 s after the answer.
    let app = server(true).await;
    let silent = accepted_call(&app, &hamlet, &othello).await;
    app.advance_virtual(89).await;
    create_ok(&app, &iago, &cordelia).await;
    assert_eq!(state_of(&app, &hamlet, &silent).await, "accepted");
    app.advance_virtual(2).await;
    // Refused (iago's call still rings), yet the plugin's cleanup ran first.
    let (status, body) = create(&app, &iago, &cordelia).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(state_of(&app, &hamlet, &silent).await, "network_failure");

    // Both heartbeating every 30 s: alive past 150 s, until the stale cleanup at 10 min.
    let app = server(true).await;
    let kept = accepted_call(&app, &hamlet, &othello).await;
    for _ in 0..19 {
        app.advance_virtual(30).await;
        for who in [&hamlet, &othello] {
            app.post(who, "calls/heartbeat", &[("call_id", &kept)])
                .await;
        }
    }
    let (status, _) = create(&app, &iago, &cordelia).await;
    assert_eq!(status, 200);
    assert_eq!(state_of(&app, &hamlet, &kept).await, "accepted", "570 s in");
    app.advance_virtual(31).await;
    create(&app, &cordelia, &iago).await;
    assert_eq!(
        state_of(&app, &hamlet, &kept).await,
        "timeout",
        "stale at 10 min"
    );

    // The contract: on time, by its settings.
    let contract = server(false).await;
    let unanswered = create_ok(&contract, &hamlet, &othello).await;
    contract.advance_virtual(31).await;
    assert_eq!(state_of(&contract, &hamlet, &unanswered).await, "timeout");
}

/// The control API and `/metrics` say which mode runs.
#[tokio::test]
async fn the_control_api_and_metrics_name_the_mode() {
    for (plugin, compat, cooldown) in [
        (true, "plugin-1.1.0", json!(5)),
        (false, "contract", json!(null)),
    ] {
        let app = server(plugin).await;
        let body: Value = app
            .http
            .get(app.control_url("server"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["compat"], compat, "{body}");
        assert_eq!(body["calls_api"], "1.1");
        assert_eq!(body["event_dialect"], "1.1");
        assert_eq!(body["redial_cooldown"], cooldown);
        let metrics = app
            .http
            .get(app.url("").replace("/api/v1/", "/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let line = format!("server_mode{{calls_api=\"1.1\",compat=\"{compat}\"}} 1");
        assert!(metrics.contains(&line), "{metrics}");
    }
}

/// §7: the plugin's pushes — the Android pair (a legacy push whose `custom` is a Python repr,
/// then the flat FCM call push), the APNs legacy payload, the decline to the caller, the
/// missed call to the receiver, and nothing for a cancelled call.
#[tokio::test]
async fn pushes_are_the_plugins() {
    let app = server(true).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let iago = app.account("iago@zulip.com");
    let cordelia = app.account("cordelia@zulip.com");
    for who in [&hamlet, &othello] {
        let (status, _) = app
            .post(
                who,
                "users/me/android_gcm_reg_id",
                &[("token", "fcm-token")],
            )
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = app
        .post(
            &othello,
            "users/me/apns_device_token",
            &[("token", "abcdef0123"), ("appid", "org.zulip.Zulip")],
        )
        .await;
    assert_eq!(status, 200);
    let pushes = |user: &'static str| {
        let app = &app;
        async move {
            let body: Value = app
                .http
                .get(app.control_url("pushes"))
                .query(&[("user", user)])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["pushes"].as_array().unwrap().clone()
        }
    };

    let call = create_ok(&app, &hamlet, &othello).await;
    let sent = pushes("othello@zulip.com").await;
    assert_eq!(sent.len(), 3, "{sent:#?}");
    let legacy = &sent[0]["request"]["request"]["message"];
    assert_eq!(legacy["data"]["title"], "Incoming video call");
    let custom = legacy["data"]["custom"].as_str().unwrap();
    assert!(
        custom.starts_with(&format!(
            "{{'event': 'call', 'type': 'call', 'call_id': '{call}', 'sender_id': '{}'",
            hamlet.id
        )),
        "{custom}"
    );
    assert!(
        custom.contains("'timeout_seconds': 120, 'realm_uri': "),
        "{custom}"
    );
    assert_eq!(
        legacy["android"]["notification"]["channel_id"],
        "messages-4"
    );
    let apns = &sent[1]["request"]["request"]["body"];
    assert_eq!(apns["event"], "call");
    assert_eq!(apns["timeout_seconds"], 120);
    assert_eq!(apns["aps"]["alert"]["title"], "Incoming video call");
    let fcm_call = &sent[2]["request"]["request"]["message"];
    assert_eq!(fcm_call["data"]["event"], "call");
    assert_eq!(
        fcm_call["android"]["notification"]["tag"],
        format!("call:{call}")
    );

    app.post(
        &othello,
        &format!("calls/{call}/respond"),
        &[("response", "decline")],
    )
    .await;
    let declined = pushes("hamlet@zulip.com").await;
    assert_eq!(declined.len(), 1, "{declined:#?}");
    let custom = declined[0]["request"]["request"]["message"]["data"]["custom"]
        .as_str()
        .unwrap();
    assert!(custom.contains("'response': 'decline'"), "{custom}");
    assert!(
        custom.contains(&format!("'receiver_id': {}", othello.id)),
        "an int: {custom}"
    );

    // A cancelled call pushes nothing; a missed one tells the receiver.
    let call = create_ok(&app, &iago, &othello).await;
    app.post(&iago, &format!("calls/{call}/cancel"), &[]).await;
    assert_eq!(
        pushes("othello@zulip.com").await.len(),
        6,
        "the invitation only"
    );
    let call = create_ok(&app, &iago, &othello).await;
    app.advance_virtual(91).await;
    create_ok(&app, &cordelia, &hamlet).await;
    assert_eq!(state_of(&app, &iago, &call).await, "missed");
    let missed: Vec<Value> = pushes("othello@zulip.com")
        .await
        .into_iter()
        .filter(|p| p["event"] == "missed_call")
        .collect();
    assert_eq!(missed.len(), 2, "to each device: {missed:#?}");
    assert_eq!(
        missed[0]["request"]["request"]["message"]["data"]["title"],
        "Missed call"
    );
}

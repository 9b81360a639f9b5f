//! The push outbox over HTTP (`/mock/v1/pushes`): the exact provider requests of spec §6,
//! server-wide, behind the control API's token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Account, Options, TestApp, spawn_with, t0};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const APP_ID: &str = "org.zulip.Zulip";

const TOKEN: &str = "push-test-token";

/// Sends a control request, with the bearer `token` when given.
async fn send(builder: reqwest::RequestBuilder, token: Option<&str>) -> (u16, Value) {
    let builder = match token {
        Some(token) => builder.bearer_auth(token),
        None => builder,
    };
    let response = builder.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn pushes(app: &TestApp, query: &[(&str, &str)]) -> (u16, Value) {
    send(app.http.get(app.control_url("pushes")).query(query), None).await
}

/// The outbox entries of a successful listing.
async fn entries(app: &TestApp, query: &[(&str, &str)]) -> Vec<Value> {
    let (status, body) = pushes(app, query).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "success");
    assert_eq!(body["msg"], "");
    body["pushes"].as_array().unwrap().clone()
}

async fn register_fcm(app: &TestApp, who: &Account, token: &str) {
    let (status, body) = app
        .post(who, "users/me/android_gcm_reg_id", &[("token", token)])
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn register_apns(app: &TestApp, who: &Account, token: &str) {
    let (status, body) = app
        .post(
            who,
            "users/me/apns_device_token",
            &[("token", token), ("appid", APP_ID)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The data every push about `call_id` from Hamlet carries (spec §6), every value a string,
/// with the keys a server that also speaks the 1.1 dialect adds for its mobile app (spec 1.1
/// §7).
fn data(event: &str, recipient: &Account, call_id: &str) -> Value {
    json!({
        "type": event,
        "sender_name": "King Hamlet",
        "sender_avatar_url": "/avatar/10",
        "realm_uri": "http://localhost:9991",
        "realm_name": "Zulip Dev",
        "realm_id": "1",
        "event": event,
        "server": "localhost:9991",
        "realm_url": "http://localhost:9991",
        "user_id": recipient.id.to_string(),
        "call_id": call_id,
        "sender_id": "10",
        "sender_full_name": "King Hamlet",
        "call_type": "video",
        "jitsi_url": format!("https://meet.jit.si/zulip-call-{call_id}"),
        "timeout_seconds": "120",
        "time": "1704110400",
    })
}

fn provider(entry: &Value) -> &str {
    entry["request"]["provider"].as_str().unwrap()
}

#[tokio::test]
async fn the_outbox_holds_the_exact_provider_requests() {
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    register_fcm(&app, &othello, "fcm-othello").await;
    register_apns(&app, &othello, "apns-othello").await;
    register_fcm(&app, &hamlet, "fcm-hamlet").await;

    let call_id = app.call(&hamlet, &othello).await;
    let ring = entries(&app, &[]).await;
    assert_eq!(ring.len(), 2, "{ring:?}");
    for entry in &ring {
        assert_eq!(entry["event"], "call");
        assert_eq!(entry["user_id"], othello.id);
        assert_eq!(entry["call_id"], call_id.as_str());
        assert_eq!(entry["at"], "2024-01-01T12:00:00Z");
    }

    let fcm = ring.iter().find(|e| provider(e) == "fcm").unwrap();
    assert_eq!(
        fcm["request"]["request"],
        json!({
            "message": {
                "token": "fcm-othello",
                "data": data("call", &othello, &call_id),
                "android": {"priority": "HIGH", "ttl": "120s"},
            }
        })
    );
    let fcm_data = fcm["request"]["request"]["message"]["data"]
        .as_object()
        .unwrap();
    assert!(fcm_data.values().all(Value::is_string), "{fcm_data:?}");

    let apns = ring.iter().find(|e| provider(e) == "apns").unwrap();
    let mut body = data("call", &othello, &call_id);
    body["aps"] = json!({
        "alert": {"title": "Incoming video call", "body": "King Hamlet is calling you"},
        "sound": "call_ring.wav",
    });
    assert_eq!(
        apns["request"]["request"],
        json!({
            "device_token": "apns-othello",
            "headers": {
                "apns-push-type": "alert",
                "apns-priority": "10",
                // The call's ring-out time: t0 + 120 s.
                "apns-expiration": "1704110520",
                "apns-topic": APP_ID,
                "apns-collapse-id": call_id,
            },
            "body": body,
        })
    );

    // The answer goes to the caller's devices.
    let (status, rejected) = app
        .post(
            &othello,
            "calls/respond",
            &[("call_id", &call_id), ("response", "reject")],
        )
        .await;
    assert_eq!(status, 200, "{rejected}");
    let answer = entries(&app, &[("event", "call_response")]).await;
    assert_eq!(answer.len(), 1, "{answer:?}");
    assert_eq!(answer[0]["user_id"], hamlet.id);
    let mut expected = data("call_response", &hamlet, &call_id);
    expected["response"] = json!("reject");
    assert_eq!(
        answer[0]["request"],
        json!({
            "provider": "fcm",
            "request": {
                "message": {
                    "token": "fcm-hamlet",
                    "data": expected,
                    // No ttl: only a ring is pointless once late.
                    "android": {"priority": "HIGH"},
                }
            }
        })
    );
}

#[tokio::test]
async fn filters_narrow_the_listing() {
    let app = spawn_with(Options::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let cordelia = app.account("cordelia@zulip.com");
    register_fcm(&app, &othello, "fcm-othello").await;
    register_fcm(&app, &hamlet, "fcm-hamlet").await;
    register_fcm(&app, &cordelia, "fcm-cordelia").await;

    let first = app.call(&hamlet, &othello).await;
    let (status, _) = app.post(&hamlet, "calls/end", &[("call_id", &first)]).await;
    assert_eq!(status, 200);
    let second = app.call(&hamlet, &cordelia).await;

    let all = entries(&app, &[]).await;
    let events: Vec<&str> = all.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["call", "call_cancelled", "call"]);

    let to_othello = entries(&app, &[("user", &othello.id.to_string())]).await;
    assert_eq!(to_othello.len(), 2);
    // By email too, in any case.
    assert_eq!(
        entries(&app, &[("user", "OTHELLO@zulip.com")]).await,
        to_othello
    );
    let of_second = entries(&app, &[("call_id", &second)]).await;
    assert_eq!(of_second.len(), 1);
    assert_eq!(of_second[0]["user_id"], cordelia.id);
    let rings = entries(&app, &[("event", "call"), ("call_id", &first)]).await;
    assert_eq!(rings.len(), 1);

    // A misspelt event is an error, not an empty list.
    let (status, body) = pushes(&app, &[("event", "calls")]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("BAD_REQUEST")));
    // An unknown email names no user.
    let (status, body) = pushes(&app, &[("user", "nobody@zulip.com")]).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
}

#[tokio::test]
async fn the_token_guards_the_outbox_which_is_server_wide() {
    let app = spawn_with(Options {
        admin_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let king = app.account("king@lear.org");
    let goneril = app.account("goneril@lear.org");
    register_fcm(&app, &othello, "fcm-othello").await;
    register_fcm(&app, &goneril, "fcm-goneril").await;
    app.call(&hamlet, &othello).await;
    app.call(&king, &goneril).await;

    let url = app.control_url("pushes");
    let (status, body) = send(app.http.get(&url), None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("UNAUTHORIZED")));
    let (status, _) = send(app.http.get(&url), Some("wrong")).await;
    assert_eq!(status, 401);
    // A user's Basic auth is no substitute for the token.
    let (status, _) = send(
        app.http
            .get(&url)
            .basic_auth(&hamlet.email, Some(&hamlet.key)),
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = send(app.http.delete(&url), None).await;
    assert_eq!(status, 401);

    // Both realms' pushes, in one outbox.
    let (status, body) = send(app.http.get(&url), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let recipients: Vec<i64> = body["pushes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user_id"].as_i64().unwrap())
        .collect();
    assert_eq!(recipients, [othello.id, goneril.id]);

    let (status, body) = send(app.http.delete(&url), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"result": "success", "msg": "", "deleted": 2}));
    let (_, body) = send(app.http.get(&url), Some(TOKEN)).await;
    assert_eq!(body["pushes"], json!([]));
}

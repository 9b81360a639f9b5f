//! The push outbox over HTTP (`/mock/v1/pushes`): the exact provider requests of spec §6,
//! shown only to administrators, and only for their own realm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Account, Options, TestApp, spawn_with, t0};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const APP_ID: &str = "org.zulip.Zulip";

fn pushes_url(app: &TestApp) -> String {
    format!("{}/mock/v1/pushes", app.server.url())
}

async fn pushes(app: &TestApp, who: &Account, query: &[(&str, &str)]) -> (u16, Value) {
    let response = app
        .http
        .get(pushes_url(app))
        .basic_auth(&who.email, Some(&who.key))
        .query(query)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn clear(app: &TestApp, who: &Account) -> (u16, Value) {
    let response = app
        .http
        .delete(pushes_url(app))
        .basic_auth(&who.email, Some(&who.key))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The outbox entries of a successful listing.
async fn entries(app: &TestApp, who: &Account, query: &[(&str, &str)]) -> Vec<Value> {
    let (status, body) = pushes(app, who, query).await;
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

/// The data every push about `call_id` from Hamlet carries (spec §6), every value a string.
fn data(event: &str, recipient: &Account, call_id: &str) -> Value {
    json!({
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
async fn administrators_read_the_exact_provider_requests() {
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        ..Options::default()
    })
    .await;
    let iago = app.account("iago@zulip.com");
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    register_fcm(&app, &othello, "fcm-othello").await;
    register_apns(&app, &othello, "apns-othello").await;
    register_fcm(&app, &hamlet, "fcm-hamlet").await;

    let call_id = app.call(&hamlet, &othello).await;
    let ring = entries(&app, &iago, &[]).await;
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
    let answer = entries(&app, &iago, &[("event", "call_response")]).await;
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
    let iago = app.account("iago@zulip.com");
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

    let all = entries(&app, &iago, &[]).await;
    let events: Vec<&str> = all.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["call", "call_cancelled", "call"]);

    let to_othello = entries(&app, &iago, &[("user_id", &othello.id.to_string())]).await;
    assert_eq!(to_othello.len(), 2);
    let of_second = entries(&app, &iago, &[("call_id", &second)]).await;
    assert_eq!(of_second.len(), 1);
    assert_eq!(of_second[0]["user_id"], cordelia.id);
    let rings = entries(&app, &iago, &[("event", "call"), ("call_id", &first)]).await;
    assert_eq!(rings.len(), 1);

    // A misspelt event is an error, not an empty list.
    let (status, body) = pushes(&app, &iago, &[("event", "calls")]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("BAD_REQUEST")));
}

#[tokio::test]
async fn only_administrators_see_pushes_and_only_their_realms() {
    let app = spawn_with(Options::default()).await;
    let iago = app.account("iago@zulip.com");
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let king = app.account("king@lear.org");
    register_fcm(&app, &othello, "fcm-othello").await;
    app.call(&hamlet, &othello).await;

    let (status, body) = pushes(&app, &hamlet, &[]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "UNAUTHORIZED_PRINCIPAL");
    let (status, body) = clear(&app, &othello).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("UNAUTHORIZED_PRINCIPAL"))
    );

    let response = app.http.get(pushes_url(&app)).send().await.unwrap();
    assert_eq!(response.status(), 401);

    // Lear's administrator sees nothing of Zulip Dev's outbox.
    assert_eq!(entries(&app, &king, &[]).await, Vec::<Value>::new());
    let filtered = entries(&app, &king, &[("user_id", &othello.id.to_string())]).await;
    assert!(filtered.is_empty());

    assert_eq!(entries(&app, &iago, &[]).await.len(), 1);
    let (status, body) = clear(&app, &iago).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"result": "success", "msg": "", "deleted": 1}));
    assert!(entries(&app, &iago, &[]).await.is_empty());
}

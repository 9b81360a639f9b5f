//! The control API's view of group calls over HTTP (CONTROL-API.md, "Group calls"): the
//! listing with its filters, one call with its participants and audit log, bad input, and
//! group calls in the reset, the periodic pruning (on the virtual clock) and the
//! administrators' cleanup of old calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use zulip_calls_protocol::settings::Settings;

use common::{Account, Options, TestApp, spawn_virtual, spawn_with, t0};

/// A control request; the status and JSON body.
async fn control(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn cget(app: &TestApp, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    control(app.http.get(app.control_url(path)).query(query)).await
}

async fn cpost(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    control(app.http.post(app.control_url(path)).form(form)).await
}

/// A successful request's body.
fn ok(response: (u16, Value)) -> Value {
    let (status, body) = response;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "success", "{body}");
    body
}

/// The status and error code of a failed request.
fn failed(response: &(u16, Value)) -> (u16, &str) {
    (response.0, response.1["code"].as_str().unwrap_or_default())
}

/// `host` opens a group call of `call_type` inviting `invitees`; its id.
async fn create(app: &TestApp, host: &Account, invitees: &[&Account], call_type: &str) -> String {
    let ids: Vec<String> = invitees.iter().map(|a| a.id.to_string()).collect();
    let body = ok(app
        .post(
            host,
            "calls/group/create",
            &[("user_ids", &ids.join(",")), ("call_type", call_type)],
        )
        .await);
    body["call_id"].as_str().unwrap().to_owned()
}

/// `who` does `action` (`join`, `leave`, `decline`, `end`) on group call `call`.
async fn act(app: &TestApp, who: &Account, call: &str, action: &str) {
    ok(app
        .post(who, &format!("calls/group/{call}/{action}"), &[])
        .await);
}

/// The ids of a listing, in order.
fn ids(body: &Value) -> Vec<String> {
    body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_owned())
        .collect()
}

/// `user_id: state` of each participant of a listed call.
fn states(call: &Value) -> Vec<(i64, String)> {
    call["participants"]
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

/// Moves the virtual clock; what fired.
async fn advance(app: &TestApp, seconds: u64) -> Vec<Value> {
    let body = ok(cpost(app, "clock/advance", &[("seconds", &seconds.to_string())]).await);
    body["fired"].as_array().unwrap().clone()
}

/// Settings under which a group call stays active for days: nobody is dropped for silence
/// and the maximum duration is far off.
fn long_calls() -> Settings {
    Settings {
        call_heartbeat_timeout: 0,
        call_max_duration: 7 * 86_400,
        event_queue_lifespan: 30 * 86_400,
        ..Settings::default()
    }
}

#[tokio::test]
async fn group_calls_are_listed_newest_first_with_participants_and_filters() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let prospero = app.account("prospero@zulip.com");
    let cordelia = app.account("cordelia@zulip.com");
    let king = app.account("king@lear.org");
    let regan = app.account("regan@lear.org");

    let first = create(&app, &hamlet, &[&othello, &prospero], "video").await;
    act(&app, &othello, &first, "join").await;
    act(&app, &hamlet, &first, "end").await;
    advance(&app, 1).await;
    let second = create(&app, &cordelia, &[&othello], "audio").await;
    advance(&app, 1).await;
    let third = create(&app, &king, &[&regan], "video").await;
    let (first, second, third) = (first.as_str(), second.as_str(), third.as_str());

    let all = ok(cget(&app, "group-calls", &[]).await);
    assert_eq!(ids(&all), [third, second, first]);
    let ended = &all["calls"][2];
    assert_eq!(ended["state"], "ended");
    assert_eq!(ended["end_reason"], "host_ended");
    assert_eq!(ended["call_type"], "video");
    assert_eq!(ended["host"]["user_id"], hamlet.id);
    assert_eq!(ended["participant_count"], 0);
    assert_eq!(ended["ended_at"], "2024-01-01T12:00:00Z");
    assert_eq!(
        states(ended),
        [
            (hamlet.id, "left".into()),
            (othello.id, "left".into()),
            (prospero.id, "missed".into())
        ]
    );
    let active = &all["calls"][1];
    assert_eq!(active["state"], "active");
    assert!(active["end_reason"].is_null());
    assert_eq!(active["participant_count"], 1);
    assert_eq!(active["participants"][0]["is_host"], true);
    assert_eq!(active["participants"][0]["email"], "cordelia@zulip.com");
    // The host is watched from the start; an invitee is not until they join.
    assert_eq!(
        active["participants"][0]["heartbeat_at"],
        "2024-01-01T12:00:01Z"
    );
    assert!(active["participants"][1]["heartbeat_at"].is_null());
    // Group calls are not 1:1 calls.
    assert_eq!(ok(cget(&app, "calls", &[]).await)["calls"], json!([]));

    let listed = |query: &'static [(&'static str, &'static str)]| {
        let app = &app;
        async move { ids(&ok(cget(app, "group-calls", query).await)) }
    };
    assert_eq!(listed(&[("state", "ended")]).await, [first]);
    assert_eq!(listed(&[("state", "active")]).await, [third, second]);
    assert_eq!(listed(&[("call_type", "audio")]).await, [second]);
    assert_eq!(listed(&[("realm", "lear")]).await, [third]);
    assert_eq!(
        listed(&[("state", "active"), ("realm", "Zulip Dev")]).await,
        [second]
    );
    assert_eq!(listed(&[("limit", "2")]).await, [third, second]);
    // A participant in any state, by email or id; the host too.
    assert_eq!(
        listed(&[("user", "Prospero@zulip.com")]).await,
        [first],
        "a participant who missed the call"
    );
    let by_id = ok(cget(&app, "group-calls", &[("user", &othello.id.to_string())]).await);
    assert_eq!(ids(&by_id), [second, first]);
    let by_host = ok(cget(&app, "group-calls", &[("user", &king.id.to_string())]).await);
    assert_eq!(ids(&by_host), [third]);
    assert_eq!(
        listed(&[("user", "iago@zulip.com")]).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn bad_listing_and_lookup_input_gets_a_clear_error() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let one_to_one = app.call(&hamlet, &othello).await;

    for (query, expected) in [
        (("state", "ringing"), (400, "BAD_REQUEST")),
        (("call_type", "hologram"), (400, "BAD_REQUEST")),
        (("limit", "0"), (400, "BAD_REQUEST")),
        (("limit", "10001"), (400, "BAD_REQUEST")),
        (("limit", "many"), (400, "BAD_REQUEST")),
        (("user", "nobody@zulip.com"), (404, "NOT_FOUND")),
        (("realm", "atlantis"), (404, "NOT_FOUND")),
    ] {
        let answer = cget(&app, "group-calls", &[query]).await;
        assert_eq!(failed(&answer), expected, "{query:?}: {}", answer.1);
        assert_eq!(answer.1["result"], "error");
        assert!(!answer.1["msg"].as_str().unwrap().is_empty());
    }
    for id in [
        "00000000-0000-4000-8000-000000000000",
        "not-a-uuid",
        "%FF",
        one_to_one.as_str(),
    ] {
        let answer = cget(&app, &format!("group-calls/{id}"), &[]).await;
        assert_eq!(failed(&answer), (404, "NOT_FOUND"), "{id}: {}", answer.1);
        assert_eq!(answer.1["msg"], "No such group call");
    }
}

#[tokio::test]
async fn one_group_call_comes_with_its_participants_and_audit_log_oldest_first() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let prospero = app.account("prospero@zulip.com");

    let call = create(&app, &hamlet, &[&othello, &prospero], "video").await;
    advance(&app, 2).await;
    act(&app, &othello, &call, "join").await;
    let during = ok(cget(&app, &format!("group-calls/{call}"), &[]).await);
    assert_eq!(during["call"]["state"], "active");
    assert_eq!(during["call"]["participant_count"], 2);
    assert_eq!(
        during["call"]["participants"][1]["heartbeat_at"],
        "2024-01-01T12:00:02Z"
    );
    assert_eq!(
        during["call"]["participants"][1]["joined_at"],
        "2024-01-01T12:00:02Z"
    );
    advance(&app, 3).await;
    act(&app, &prospero, &call, "decline").await;
    advance(&app, 5).await;
    act(&app, &othello, &call, "leave").await;
    advance(&app, 10).await;
    act(&app, &hamlet, &call, "end").await;

    let body = ok(cget(&app, &format!("group-calls/{call}"), &[]).await);
    assert_eq!(body["call"]["call_id"], call.as_str());
    assert_eq!(body["call"]["state"], "ended");
    assert_eq!(body["call"]["end_reason"], "host_ended");
    assert_eq!(
        states(&body["call"]),
        [
            (hamlet.id, "left".into()),
            (othello.id, "left".into()),
            (prospero.id, "declined".into())
        ]
    );
    let line = |at: &str, action: &str, actor: Value, subject: Value, detail: Value| json!({"at": at, "action": action, "actor_id": actor, "subject_id": subject, "detail": detail});
    assert_eq!(
        body["audit"],
        json!([
            line(
                "2024-01-01T12:00:00Z",
                "created",
                json!(hamlet.id),
                Value::Null,
                json!({"call_type": "video", "invited": [othello.id, prospero.id]})
            ),
            line(
                "2024-01-01T12:00:02Z",
                "participant_joined",
                json!(othello.id),
                json!(othello.id),
                json!({})
            ),
            line(
                "2024-01-01T12:00:05Z",
                "participant_declined",
                json!(prospero.id),
                json!(prospero.id),
                json!({})
            ),
            line(
                "2024-01-01T12:00:10Z",
                "participant_left",
                json!(othello.id),
                json!(othello.id),
                json!({"reason": "left"})
            ),
            line(
                "2024-01-01T12:00:20Z",
                "ended",
                json!(hamlet.id),
                Value::Null,
                json!({"reason": "host_ended"})
            ),
        ])
    );

    // What the server's deadlines did has no actor: the silent host is dropped after the
    // heartbeat timeout, and the empty call ends after the ring timeout.
    let settings = Settings::default();
    let call = create(&app, &hamlet, &[&othello], "audio").await;
    advance(
        &app,
        settings.call_heartbeat_timeout + settings.call_ring_timeout,
    )
    .await;
    let body = ok(cget(&app, &format!("group-calls/{call}"), &[]).await);
    let audit: Vec<(Value, Value, Value, Value)> = body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["action"].clone(),
                l["actor_id"].clone(),
                l["subject_id"].clone(),
                l["detail"].clone(),
            )
        })
        .collect();
    assert_eq!(
        audit,
        [
            (
                json!("created"),
                json!(hamlet.id),
                Value::Null,
                json!({"call_type": "audio", "invited": [othello.id]})
            ),
            (
                json!("participant_left"),
                Value::Null,
                json!(hamlet.id),
                json!({"reason": "network_failure"})
            ),
            (
                json!("ended"),
                Value::Null,
                Value::Null,
                json!({"reason": "empty"})
            ),
        ]
    );
    assert_eq!(body["call"]["end_reason"], "empty");
    assert_eq!(
        states(&body["call"]),
        [(hamlet.id, "left".into()), (othello.id, "missed".into())]
    );
}

#[tokio::test]
async fn reset_deletes_group_calls_and_their_deadlines() {
    let app = spawn_virtual(Settings::default()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let cordelia = app.account("cordelia@zulip.com");
    let iago = app.account("iago@zulip.com");
    create(&app, &hamlet, &[&othello], "video").await;
    app.call(&cordelia, &iago).await;

    let summary = ok(cpost(&app, "reset", &[]).await);
    assert_eq!(
        (summary["calls"].clone(), summary["group_calls"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(ok(cget(&app, "group-calls", &[]).await)["calls"], json!([]));
    // No deadline of the deleted call is left to fire (its invitee would have missed it).
    assert_eq!(advance(&app, 3600).await, Vec::<Value>::new());
    // Nobody is busy in it any more.
    create(&app, &othello, &[&hamlet], "video").await;
}

#[tokio::test]
async fn ended_group_calls_are_pruned_with_the_old_calls_on_the_virtual_clock() {
    let app = spawn_with(Options {
        settings: long_calls(),
        manual_clock: Some(t0()),
        virtual_clock: true,
        prune_calls_after_days: Some(1),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let cordelia = app.account("cordelia@zulip.com");
    let iago = app.account("iago@zulip.com");
    let king = app.account("king@lear.org");
    let regan = app.account("regan@lear.org");

    let ended = create(&app, &hamlet, &[&othello], "video").await;
    act(&app, &othello, &ended, "join").await;
    act(&app, &hamlet, &ended, "end").await;
    let one_to_one = app.call(&cordelia, &iago).await;
    ok(app
        .post(&cordelia, "calls/end", &[("call_id", &one_to_one)])
        .await);
    // Active for days: never pruned, however old.
    let active = create(&app, &king, &[&regan], "audio").await;

    // A day is not more than a day: every prune so far deleted nothing.
    let fired = advance(&app, 86_400).await;
    assert!(fired.iter().all(|f| f["action"] != "prune"), "{fired:?}");
    assert_eq!(
        ids(&ok(cget(&app, "group-calls", &[]).await)),
        [active.as_str(), ended.as_str()]
    );

    // The next prune (every 300 s) deletes both ended calls, of either kind.
    let fired = advance(&app, 300).await;
    let prunes: Vec<&Value> = fired.iter().filter(|f| f["action"] == "prune").collect();
    assert_eq!(
        prunes,
        [&json!({"call_id": null, "action": "prune", "at": "2024-01-02T12:05:00Z", "deleted": 2})]
    );
    let gone = cget(&app, &format!("group-calls/{ended}"), &[]).await;
    assert_eq!(failed(&gone), (404, "NOT_FOUND"));
    assert_eq!(
        ids(&ok(cget(&app, "group-calls", &[]).await)),
        [active.as_str()]
    );
    assert_eq!(ok(cget(&app, "calls", &[]).await)["calls"], json!([]));
    // Its participants went with it: Othello's calls are gone from every listing.
    assert_eq!(
        ok(cget(&app, "group-calls", &[("user", "othello@zulip.com")]).await)["calls"],
        json!([])
    );
    let still = ok(cget(&app, &format!("group-calls/{active}"), &[]).await);
    assert_eq!(still["call"]["state"], "active");
    assert_eq!(still["audit"][0]["action"], "created");
}

#[tokio::test]
async fn the_administrators_cleanup_of_old_calls_deletes_their_realms_ended_group_calls() {
    let app = spawn_virtual(long_calls()).await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let cordelia = app.account("cordelia@zulip.com");
    let prospero = app.account("prospero@zulip.com");
    let iago = app.account("iago@zulip.com");
    let king = app.account("king@lear.org");
    let regan = app.account("regan@lear.org");

    let old = create(&app, &hamlet, &[&othello], "video").await;
    act(&app, &hamlet, &old, "end").await;
    let other_realm = create(&app, &king, &[&regan], "video").await;
    act(&app, &king, &other_realm, "end").await;
    let active = create(&app, &cordelia, &[&prospero], "video").await;
    advance(&app, 2 * 86_400).await;

    let params = [("cleanup_old_calls", "true"), ("old_calls_days", "1")];
    let done = ok(app.post(&iago, "calls/cleanup", &params).await);
    assert_eq!(done["calls_deleted"], 1, "{done}");
    assert_eq!(
        ids(&ok(cget(&app, "group-calls", &[]).await)),
        [active.as_str(), other_realm.as_str()]
    );
    let done = ok(app.post(&king, "calls/cleanup", &params).await);
    assert_eq!(done["calls_deleted"], 1, "{done}");
    assert_eq!(
        ids(&ok(cget(&app, "group-calls", &[]).await)),
        [active.as_str()]
    );
}
